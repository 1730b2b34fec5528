"""The loop nest of a mapping as plain data: per storage level (outermost first) the data spaces it
keeps, their tile sizes and its loops, outer to inner. What ``cosearch map`` stores per layer and what
the report renders (:func:`cosearch.report.tables.loop_nest_text`)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..arch.spec import Arch
from ..dims import DATASPACES, DIMS
from .mapping import Mapping, Mappings


def _ordered_dims(ranks: np.ndarray) -> list[int]:
    """Dim indices sorted outer -> inner by their loop rank (0 = outermost)."""
    return [int(d) for d in np.argsort(ranks, kind="stable")]


def loop_nest_data(arch: Arch, mapping: Mapping | Mappings, index: int = 0, *,
                   tile_words: np.ndarray | None = None) -> list[dict[str, Any]]:
    """The loop nest of a mapping as plain data (JSON-able), outermost level first.

    One entry per storage level::

        {"level": "GLB", "keeps": ["Weights", "Outputs"],
         "tile_words": {"Weights": 9216, "Outputs": 25088},          # only if tile_words is given
         "loops": [{"dim": "P", "bound": 4, "kind": "temporal"},
                   {"dim": "R", "bound": 3, "kind": "spatial_y"}, ...]}

    ``loops`` run outer -> inner within the level: temporal loops in the level's order, then (at the
    fan-out level) all ``spatial_y`` loops, then all ``spatial_x`` loops. Loops with bound 1 are
    omitted, as Timeloop does. :func:`cosearch.report.tables.loop_nest` renders this as text.
    """
    batch = mapping.to_arrays(arch) if isinstance(mapping, Mapping) else mapping
    i = 0 if isinstance(mapping, Mapping) else index
    default = np.broadcast_to(np.arange(len(DIMS)), batch.order.shape)  # DIMS order, as Mappings.to_mapping
    ox = batch.order_x if batch.order_x is not None else default
    oy = batch.order_y if batch.order_y is not None else default
    out: list[dict[str, Any]] = []
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
        out.append(entry)
    return out
