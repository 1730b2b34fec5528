"""The loop nest of a mapping as plain data: per storage level (outermost first) the data spaces it
keeps, their tile sizes and its loops, outer to inner. What ``cosearch map`` stores per layer and what
the report renders (:func:`cosearch.report.tables.loop_nest_text`)."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from ..arch.spec import Arch
from ..dims import DATASPACES, DIMS
from .mapping import Mapping, Mappings
from .vector import blocked_dims


def _ordered_dims(ranks: np.ndarray) -> list[int]:
    """Dim indices sorted outer -> inner by their loop rank (0 = outermost)."""
    return [int(d) for d in np.argsort(ranks, kind="stable")]


def remainder_tiles(factors: np.ndarray, dims: Sequence[int]) -> list[dict[str, dict[str, int]]]:
    """Per level (outermost first), the dims whose tiles there do not divide the dim under an
    imperfect factorization: ``{"P": {"tile": 14, "last": 6}}`` (tiles of 14 points along P, the last
    one 6; ``factors [L, D]`` = temporal × spatial per level). Empty dicts for a perfect factorization."""
    ext = np.cumprod(factors[::-1], axis=0)[::-1]  # [L, D] points a tile of each level spans
    out: list[dict[str, dict[str, int]]] = []
    for li in range(ext.shape[0]):
        entry = {}
        for d, size in enumerate(dims):
            e = int(ext[li, d])
            if e < int(size) and int(size) % e:
                entry[DIMS[d]] = {"tile": e, "last": int(size) % e}
        out.append(entry)
    return out


def loop_nest_data(arch: Arch, mapping: Mapping | Mappings, index: int = 0, *,
                   tile_words: np.ndarray | None = None, dims: Sequence[int] | None = None) -> list[dict[str, Any]]:
    """The loop nest of a mapping as plain data (JSON-able), outermost level first.

    One entry per storage level::

        {"level": "GLB", "keeps": ["Weights", "Outputs"],
         "tile_words": {"Weights": 9216, "Outputs": 25088},          # only if tile_words is given
         "loops": [{"dim": "P", "bound": 4, "kind": "temporal"},
                   {"dim": "R", "bound": 3, "kind": "spatial_y"}, ...]}

    ``loops`` run outer -> inner within the level: temporal loops in the level's order, then (at the
    fan-out level) all ``spatial_y`` loops, then all ``spatial_x`` loops. Loops with bound 1 are
    omitted, as Timeloop does. :func:`cosearch.report.tables.loop_nest` renders this as text.

    With the layer's ``dims`` given, a level whose tiles do not divide a dim (an imperfect
    factorization) also lists them: ``"remainder_tiles": {"P": {"tile": 14, "last": 6}}``
    (:func:`remainder_tiles`; absent where every tile is whole, so perfect mappings read as before).
    On an arch with a block MAC the loops and tiles are the blocked view's (factors of the blocked dims,
    vector words; :mod:`cosearch.mapping.vector`), and ``dims`` (the layer's own) are blocked here.
    """
    if dims is not None and arch.mac.block:
        dims = blocked_dims(arch.mac.block, dims)
    batch = mapping.to_arrays(arch) if isinstance(mapping, Mapping) else mapping
    i = 0 if isinstance(mapping, Mapping) else index
    default = np.broadcast_to(np.arange(len(DIMS)), batch.order.shape)  # DIMS order, as Mappings.to_mapping
    ox = batch.order_x if batch.order_x is not None else default
    oy = batch.order_y if batch.order_y is not None else default
    out: list[dict[str, Any]] = []
    factors = batch.temporal[i] * batch.spatial_x[i] * batch.spatial_y[i]
    remainders = remainder_tiles(factors, dims) if dims is not None else [{} for _ in arch.levels]
    for li, lvl in enumerate(arch.levels):
        kept = [ds for di, ds in enumerate(DATASPACES) if batch.keep[i, li, di] and ds in lvl.keeps]
        entry: dict[str, Any] = {"level": lvl.name, "keeps": kept}
        if tile_words is not None:
            entry["tile_words"] = {ds: int(tile_words[i, li, DATASPACES.index(ds)]) for ds in kept}
        loops: list[dict[str, Any]] = []
        for kind, factors, ranks in (("temporal", batch.temporal, batch.order),
                                     ("spatial_y", batch.spatial_y, oy),
                                     ("spatial_x", batch.spatial_x, ox)):
            for d in _ordered_dims(ranks[i, li]):
                n = int(factors[i, li, d])
                if n > 1:
                    loops.append({"dim": DIMS[d], "bound": n, "kind": kind})
        entry["loops"] = loops
        if remainders[li]:
            entry["remainder_tiles"] = remainders[li]
        out.append(entry)
    return out
