"""cosearch: hardware/software co-design of DNN accelerators on a vectorised Timeloop-exact cost model.

The public API (stable) is the names below, by stage of the data path (docs/architecture.md):

* specs: :func:`load_arch`, :class:`Arch`, :class:`Level`, :func:`load_workload`, :func:`parse_shape`,
  :func:`from_torch`, :class:`Layer`, :class:`Network`, :func:`load_hw_space`, :class:`HWSpace`,
  :data:`TEMPLATES` (the hardware templates);
* mappings and costs: :class:`Mapping`, :class:`Mappings`, :func:`load_mapping`, :class:`MapSpace`,
  :func:`load_constraints`, :func:`evaluate`, :class:`Costs`;
* the inner loop: :func:`map_layer`, :class:`MapResult`, :func:`map_network`, :data:`OPTIMIZERS`;
* the outer loop: :class:`Codesign`, :class:`CodesignResult`, :data:`HW_OPTIMIZERS`;
* studies and executors: :class:`Storage`, :class:`LocalExecutor`, :func:`make_executor`;
* reports: :func:`build_report`, :func:`report_from_args`;
* :class:`CosearchError`, the one error type of bad input.

Modules whose names start with ``_`` are implementation details. Submodules are imported lazily, so
``import cosearch`` stays cheap.
"""

from __future__ import annotations

from ._lazy import lazy_getattr

__version__ = "0.1.0"

_EXPORTS = {
    "load_arch": "cosearch.arch.io",
    "Arch": "cosearch.arch.spec",
    "Level": "cosearch.arch.spec",
    "load_workload": "cosearch.workload.io",
    "parse_shape": "cosearch.workload.io",
    "Layer": "cosearch.workload.layer",
    "Network": "cosearch.workload.layer",
    "Mapping": "cosearch.mapping.mapping",
    "Mappings": "cosearch.mapping.mapping",
    "load_mapping": "cosearch.mapping.mapping",
    "MapSpace": "cosearch.mapping.space",
    "evaluate": "cosearch.model.evaluate",
    "Costs": "cosearch.model.evaluate",
    "CosearchError": "cosearch.errors",
    "from_torch": "cosearch.workload.importers.torch",
    "map_layer": "cosearch.mappers.layer",
    "MapResult": "cosearch.mappers.layer",
    "map_network": "cosearch.mappers.network",
    "load_constraints": "cosearch.mapping.constraints",
    "OPTIMIZERS": "cosearch.mappers.layer",
    "load_hw_space": "cosearch.arch.hwspace",
    "HWSpace": "cosearch.arch.hwspace",
    "TEMPLATES": "cosearch.arch.templates",
    "Codesign": "cosearch.codesign.driver",
    "CodesignResult": "cosearch.codesign.driver",
    "HW_OPTIMIZERS": "cosearch.codesign.hw_optimizers",
    "Storage": "cosearch.study",
    "LocalExecutor": "cosearch.study",
    "make_executor": "cosearch.study",
    "build_report": "cosearch.report.build",
    "report_from_args": "cosearch.report.build",
}

__all__ = sorted(_EXPORTS) + ["__version__"]


__getattr__ = lazy_getattr(__name__, _EXPORTS)
