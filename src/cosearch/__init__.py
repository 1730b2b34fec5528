"""cosearch: hardware/software co-design of DNN accelerators on a vectorised Timeloop-exact cost model.

Public API (stable): :func:`load_arch`, :func:`load_workload`, :class:`MapSpace`, :func:`evaluate`,
:func:`map_layer`, :func:`map_network`, :func:`load_constraints`,
plus the types :class:`Arch`, :class:`Layer`, :class:`Network`, :class:`Mapping`, :class:`Mappings`,
:class:`Costs`. Submodules are imported lazily so ``import cosearch`` stays cheap.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

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
}

__all__ = sorted(_EXPORTS) + ["__version__"]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'cosearch' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value
