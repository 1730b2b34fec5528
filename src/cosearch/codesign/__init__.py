"""The outer loop: hardware search, objectives, baselines, bounds and the co-design driver.

:class:`Codesign` proposes hardware points with a hardware optimizer (:data:`HW_OPTIMIZERS`: ``bo``,
``random``, ``ga``, ``vanilla-bo``), maps every layer on each through :mod:`cosearch.mappers`,
records trials in a :mod:`cosearch.study` store and compares the best with the template's reference
design (:func:`baseline_of`); :func:`network_edp_bound` bounds what any design of a space can reach.
Submodules load lazily.
"""

from __future__ import annotations

from .._lazy import lazy_getattr

_EXPORTS = {
    "Codesign": "cosearch.codesign.driver",
    "CodesignResult": "cosearch.codesign.driver",
    "DEFAULT_MAPPER_BUDGET": "cosearch.codesign.driver",
    "HWOptimizer": "cosearch.codesign.hw_optimizers",
    "HW_OPTIMIZERS": "cosearch.codesign.hw_optimizers",
    "make_hw_optimizer": "cosearch.codesign.hw_optimizers",
    "Baseline": "cosearch.codesign.baselines",
    "baseline_of": "cosearch.codesign.baselines",
    "EDPBound": "cosearch.codesign.bounds",
    "network_edp_bound": "cosearch.codesign.bounds",
}

__all__ = sorted(_EXPORTS)


__getattr__ = lazy_getattr(__name__, _EXPORTS)
