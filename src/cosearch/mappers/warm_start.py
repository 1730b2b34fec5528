"""Warm starts: mappings found for a layer on other hardware points, repaired to fit this map space.

Co-design maps every layer again on every hardware point; the best mapping of a layer on a nearby point
(same template, so the same storage levels) is usually a few factor moves from a good mapping here, but
it may not fit: the mesh may be smaller (spatial factors over the mesh) or a buffer smaller (tiles over
its capacity). :func:`repair` moves prime factors until the mapping fits:

* **fan-out** (``fanout_x``, ``fanout_y``, ``fanout_total``): the smallest prime of the largest spatial
  factor on the offending axis (for the total, the axis with the larger product) becomes a temporal
  factor of the fan-out level (that level's tile keeps its size; fewer PEs work in parallel);
* **capacity at level l**: the smallest prime of the largest temporal factor at level ``l`` (else of the
  innermost deeper level that has one, else of a spatial factor below ``l``) moves to the temporal
  loops of level ``l - 1``, which shrinks the tiles level ``l`` keeps.

Moves never change a dimension's product, so the factorization stays exact. A mapping that still does
not fit after :data:`MAX_REPAIR_MOVES` moves, or breaks a constraint of the map space, is dropped.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import CosearchError
from ..mapping.factors import prime_factors
from ..mapping.mapping import Mappings, mapping_from_data
from ..mapping.space import MapSpace
from ..model.reasons import REASON_CAPACITY, REASON_FANOUT_TOTAL, REASON_FANOUT_X, REASON_FANOUT_Y
from .base import known_valid, reasons_in

MAX_REPAIR_MOVES = 64
"""Prime-factor moves :func:`repair` tries per mapping before it gives the mapping up."""


def _smallest_prime(n: int) -> int:
    return min(prime_factors(int(n)))


def _move_spatial(m: Mappings, fanout: int, axis: str) -> bool:
    """One prime of the largest spatial factor on ``axis`` ("x" or "y") to the fan-out level's temporal
    loops; False if the axis has no factor > 1."""
    spatial = m.spatial_x if axis == "x" else m.spatial_y
    d = int(np.argmax(spatial[0, fanout]))
    if spatial[0, fanout, d] <= 1:
        return False
    p = _smallest_prime(spatial[0, fanout, d])
    spatial[0, fanout, d] //= p
    m.temporal[0, fanout, d] *= p
    return True


def _shrink_level(m: Mappings, level: int, fanout: int) -> bool:
    """One prime from level ``level`` (or the innermost deeper level with a factor, or a spatial factor
    below it) to the temporal loops of ``level - 1``; False if nothing can move."""
    if level == 0:
        return False
    L = m.temporal.shape[1]
    for src in [level, *range(L - 1, level, -1)]:
        row = m.temporal[0, src]
        d = int(np.argmax(row))
        if row[d] > 1:
            p = _smallest_prime(row[d])
            row[d] //= p
            m.temporal[0, level - 1, d] *= p
            return True
    if fanout >= level:  # the spatial factors of the fan-out level are part of the tiles at and above it
        for spatial in (m.spatial_x, m.spatial_y):
            d = int(np.argmax(spatial[0, fanout]))
            if spatial[0, fanout, d] > 1:
                p = _smallest_prime(spatial[0, fanout, d])
                spatial[0, fanout, d] //= p
                m.temporal[0, level - 1, d] *= p
                return True
    return False


def repair_row(space: MapSpace, m: Mappings) -> Mappings | None:
    """One mapping (``B`` = 1) moved until it fits ``space`` (see the module docstring), or ``None``."""
    fanout = space.arch.fanout_level
    m = Mappings(m.temporal.copy(), m.spatial_x.copy(), m.spatial_y.copy(), m.order.copy(), m.keep.copy())
    for _ in range(MAX_REPAIR_MOVES):
        reason = int(reasons_in(space, m)[0])
        if reason == 0:
            return m if bool(known_valid(space, m)[0]) else None
        if reason == REASON_FANOUT_X:
            moved = _move_spatial(m, fanout, "x")
        elif reason == REASON_FANOUT_Y:
            moved = _move_spatial(m, fanout, "y")
        elif reason == REASON_FANOUT_TOTAL:
            x, y = int(m.spatial_x[0, fanout].prod()), int(m.spatial_y[0, fanout].prod())
            moved = _move_spatial(m, fanout, "x" if x >= y else "y")
        elif REASON_CAPACITY <= reason < REASON_CAPACITY + space.arch.num_levels:
            moved = _shrink_level(m, reason - REASON_CAPACITY, fanout)
        else:  # factorization or a case no move fixes
            return None
        if not moved:
            return None
    return None


def repair(space: MapSpace, m: Mappings) -> Mappings:
    """The rows of ``m`` that fit ``space`` after repair (``[B' <= B]``, in order; tags dropped)."""
    rows = [r for i in range(len(m)) if (r := repair_row(space, m.subset(slice(i, i + 1)))) is not None]
    if not rows:
        return m.subset(slice(0, 0))
    return Mappings.concat(rows)  # repair_row's rows carry no spatial orders or tags


def seeds_from_data(space: MapSpace, mappings: list[Any]) -> Mappings | None:
    """Warm-start seeds for ``space`` from mapping JSON objects (the ``mapping`` of stored layer results
    on other hardware points of the same template), repaired to fit; ``None`` if none fits. Mappings
    that do not read on this arch (another template's levels) are skipped."""
    rows = []
    for data in mappings:
        try:
            rows.append(mapping_from_data(data, "warm-start mapping").to_arrays(space.arch))
        except CosearchError:
            continue
    if not rows:
        return None
    fitted = repair(space, Mappings.concat(rows))
    return fitted if len(fitted) else None
