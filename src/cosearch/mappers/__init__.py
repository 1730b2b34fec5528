"""The inner loop: search the mappings of one layer on one arch.

Every mapper is an ask/tell :class:`Optimizer` registered by name in :data:`OPTIMIZERS` (``auto``,
``random``, ``ga``, ``sa``, ``bo``, ``vanilla-bo``); :func:`map_layer` runs one on one layer and
:func:`map_network` on every unique layer of a network. Submodules load lazily.
"""

from __future__ import annotations

from .._lazy import lazy_getattr

_EXPORTS = {
    "Optimizer": "cosearch.mappers.base",
    "OBJECTIVES": "cosearch.mappers.base",
    "known_valid": "cosearch.mappers.base",
    "OPTIMIZERS": "cosearch.mappers.layer",
    "DEFAULT_BUDGET": "cosearch.mappers.layer",
    "optimizer_class": "cosearch.mappers.layer",
    "make_optimizer": "cosearch.mappers.layer",
    "MapResult": "cosearch.mappers.layer",
    "map_layer": "cosearch.mappers.layer",
    "LayerResult": "cosearch.mappers.network",
    "NetworkMapResult": "cosearch.mappers.network",
    "map_network": "cosearch.mappers.network",
}

__all__ = sorted(_EXPORTS)


__getattr__ = lazy_getattr(__name__, _EXPORTS)
