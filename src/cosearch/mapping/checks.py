"""Checks that explain *why* a mapping is invalid, in one line with the numbers (for users)."""

from __future__ import annotations

from typing import Any

from ..dims import DATASPACES, DIMS
from ..errors import CosearchError
from ..workload.geometry import tile_words


def check_factors(mappings: Any, layer: Any, source: str, *, factorization: str = "perfect",
                  max_padding: float | None = None) -> None:
    """Raise :class:`CosearchError` naming ``source`` and the first dimension whose factors (temporal
    × spatial over all levels) don't multiply to the layer's size; checks mapping 0 of the batch.
    Under ``"imperfect"`` factorization they may multiply to more, up to the padding cap
    (``max_padding``, default :data:`~cosearch.mapping.factors.DEFAULT_MAX_PADDING`), not to less."""
    from .factors import DEFAULT_MAX_PADDING, padding_limits

    product = (mappings.temporal * mappings.spatial_x * mappings.spatial_y).prod(axis=1)[0]
    if factorization == "imperfect":
        cap = DEFAULT_MAX_PADDING if max_padding is None else float(max_padding)
        limit = padding_limits(layer.dims, cap)
        for d, dim in enumerate(DIMS):
            if int(product[d]) < int(layer.dims[d]):
                raise CosearchError(f"{source}: factors of {dim} multiply to {int(product[d])}, less than the "
                                    f"layer's {layer.dims[d]} (they must cover it)")
            if int(product[d]) > int(limit[d]):
                raise CosearchError(f"{source}: factors of {dim} multiply to {int(product[d])}, more than the padding "
                                    f"cap {cap:g} allows for the layer's {layer.dims[d]} (at most {int(limit[d])})")
        return
    for d, dim in enumerate(DIMS):
        if int(product[d]) != int(layer.dims[d]):
            raise CosearchError(f"{source}: factors of {dim} multiply to {int(product[d])}, layer has {layer.dims[d]}")


def _tiles_kept(arch: Any, layer: Any, mappings: Any, li: int, index: int) -> tuple[list[str], int]:
    """Tile words of the data spaces level ``li`` keeps in mapping ``index`` (``["Weights 72", ...]``, sum)."""
    factors = (mappings.temporal * mappings.spatial_x * mappings.spatial_y)[index]  # [L, D]
    ext = factors[li:].prod(axis=0)  # extents covered by the level's tile: its loops and all below
    lvl = arch.levels[li]
    parts, used = [], 0
    for di, ds in enumerate(DATASPACES):
        kept = ds in lvl.keeps and (lvl.keeps_fixed or li == 0 or bool(mappings.keep[index, li, di]))
        if kept:
            words = int(tile_words(ds, ext, layer))
            parts.append(f"{ds} {words:,}")
            used += words * lvl.bits(ds)
    return parts, used


def explain_invalid(arch: Any, layer: Any, mappings: Any, costs: Any, source: str, index: int = 0) -> str:
    """One line saying why mapping ``index`` is invalid (capacity or fan-out), with the numbers."""
    reason = costs.reason_text(index)
    f = arch.fanout_level
    child = arch.fanout_child
    sx = int(mappings.spatial_x[index, f].prod())
    sy = int(mappings.spatial_y[index, f].prod())
    if reason.startswith("capacity:"):
        name = reason.split(":", 1)[1]
        li = arch.level_index(name)
        parts, used = _tiles_kept(arch, layer, mappings, li, index)
        lvl = arch.levels[li]
        if all(lvl.bits(ds) == lvl.access_width for ds in DATASPACES):  # one width: in words, as always
            return (f"{source}: invalid mapping: the tiles kept at {name} need {used // lvl.access_width:,} words "
                    f"({', '.join(parts)}), it holds {lvl.size_words:,}")
        return (f"{source}: invalid mapping: the tiles kept at {name} need {used:,} bits "
                f"({', '.join(parts)} words), it holds {lvl.size_bits:,}")
    if reason == "fanout_x":
        return f"{source}: invalid mapping: spatial X factors multiply to {sx}, the mesh has {child.mesh_x} columns"
    if reason == "fanout_y":
        return f"{source}: invalid mapping: spatial Y factors multiply to {sy}, the mesh has {child.mesh_y} rows"
    if reason == "fanout_total":
        spatial = mappings.spatial_x[index] * mappings.spatial_y[index]
        elsewhere = [arch.levels[li].name for li in range(arch.num_levels) if li != f and (spatial[li] > 1).any()]
        if elsewhere:
            return (f"{source}: invalid mapping: spatial factors on {', '.join(elsewhere)}; only "
                    f"{arch.levels[f].name} (the fan-out level) may have them")
        return (f"{source}: invalid mapping: spatial factors X×Y = {sx}×{sy} = {sx * sy} exceed the "
                f"{child.instances} instances below {arch.levels[f].name}")
    if reason == "imperfect_windows":
        return (f"{source}: invalid mapping: an output dimension and its filter dimension (P and R, or Q and "
                f"S) are spread together over the PE array with a remainder, which the cost model does not "
                f"count exactly; make their factors divide them or spread only one of the pair")
    return f"{source}: invalid mapping ({reason or 'unknown reason'})"
