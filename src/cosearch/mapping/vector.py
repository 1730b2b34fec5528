"""The blocked view of a layer on an architecture with a block MAC (``Mac.block``, e.g. a vector PE).

A block MAC of ``b_d`` multipliers per dim ``d`` (lanes over ``K``, vector width over ``C``) consumes,
per operation, a *vector word* of each data space: ``Π b_d`` weights over the block dims that index
Weights, the inputs over those that index Inputs, the outputs over those that index Outputs. The map
space and the cost model therefore see every layer through the block (:func:`blocked_view`):

* the layer's blocked dims become ``ceil(d / b_d)`` (a dim that the block does not divide is padded:
  the last block operation runs with idle multipliers);
* every level's word of data space ``ds`` is ``Π_{d in block, d indexes ds} b_d`` times wider (its
  access width, hence its capacity in bits and its access energy, is kept: a vector word costs as many
  access widths as it spans); a data space the level cannot keep keeps its width (no word of it is
  ever there, and the sampler counts a level's capacity in words of its widest data space);
* the MAC is a scalar MAC of the blocked layer whose energy is ``Π b_d`` times the scalar MAC's (idle
  multipliers of a padded block are not gated).

The view of an arch without a block is the arch and layer themselves, so the view is idempotent: the
view's arch has no block. Both halves are cached by identity (as :mod:`cosearch.arch._cache`), so the
inner loop pays a dict lookup per call.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from ..arch._cache import identity_cache, identity_get, per_arch_cache
from ..arch.spec import Arch
from ..dims import DATASPACES, DIMS, RELEVANT
from ..workload.layer import Layer
from .factors import ceil_div

__all__ = ["block_of", "blocked_arch", "blocked_dims", "blocked_layer", "blocked_view", "word_multipliers"]


def block_of(arch: Arch) -> dict[str, int]:
    """``{dim: multipliers}`` of ``arch``'s MAC block (empty for a scalar MAC)."""
    return dict(arch.mac.block or {})


def word_multipliers(block: dict[str, int]) -> dict[str, int]:
    """Data space -> how many scalar words one vector word of it holds under ``block``."""
    return {ds: math.prod(b for d, b in block.items() if d in RELEVANT[ds]) for ds in DATASPACES}


def _blocked_arch(arch: Arch) -> Arch:
    block = block_of(arch)
    if not block:
        return arch
    scale = word_multipliers(block)
    levels = []
    for lvl in arch.levels:
        widths = {ds: lvl.bits(ds) * (scale[ds] if ds in lvl.keeps else 1) for ds in DATASPACES}
        levels.append(lvl.model_copy(update={"word_bits": widths, "access_bits": lvl.access_width}))
    mac = arch.mac.model_copy(update={"block": None, "energy_pj": arch.mac.energy_pj * arch.mac.multipliers})
    return arch.model_copy(update={"levels": tuple(levels), "mac": mac})


blocked_arch = per_arch_cache(_blocked_arch)
"""``arch`` seen through its MAC block (module docstring); ``arch`` itself for a scalar MAC."""

_RECENT = identity_cache()


def blocked_dims(block: Mapping[str, int], dims: Sequence[int]) -> list[int]:
    """``dims`` (``[8]`` sizes in DIMS order) with each dim ``d`` of ``block`` as ``ceil(d / b_d)``."""
    return [int(ceil_div(int(n), block.get(d, 1))) for d, n in zip(DIMS, dims)]


def _blocked_layer(block: tuple[tuple[str, int], ...], layer: Layer) -> Layer:
    """The layer with each block dim ``d`` as ``ceil(d / b_d)`` (within every limit the layer met)."""
    sizes = blocked_dims(dict(block), layer.dims)
    return type(layer).model_validate({**layer.model_dump(), **{d: sizes[DIMS.index(d)] for d, _ in block}})


def blocked_layer(arch: Arch, layer: Layer) -> Layer:
    """``layer`` with each dim of ``arch``'s MAC block ``d`` replaced by ``ceil(d / b_d)``; ``layer``
    itself for a scalar MAC."""
    block = tuple(sorted(block_of(arch).items()))
    if not block:
        return layer
    cache = identity_get(_RECENT, layer, identity_cache, size=16)
    return identity_get(cache, arch, lambda: _blocked_layer(block, layer))  # type: ignore[arg-type]


def blocked_view(arch: Arch, layer: Layer) -> tuple[Arch, Layer]:
    """``(arch', layer')``: what the map space and the cost model see (module docstring). For a scalar
    MAC this is ``(arch, layer)``; the view of a view is itself."""
    if not arch.mac.block:
        return arch, layer
    return blocked_arch(arch), blocked_layer(arch, layer)
