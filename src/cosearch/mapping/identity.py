"""One identity per mapping: the rows the cost model cannot tell apart, and one 64-bit hash of them.

Every mapper dedupes with :func:`row_hashes` (auto, BO, GA, SA): two mappings with equal
:func:`canonical_rows` cost exactly the same, so evaluating both teaches a deterministic model nothing.
:func:`row_hashes` hashes the canonical rows in one compiled pass (:func:`_hash_rows`) without
building them; it equals hashing :func:`canonical_rows` (tests).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ..arch.spec import Arch
from ..dims import NUM_DATASPACES, NUM_DIMS
from .keep import effective_keep, keep_tables
from .mapping import Mappings
from .moves import to_slots


def canonical_order(temporal: np.ndarray, order: np.ndarray) -> np.ndarray:
    """Loop ranks ``[B, L, D]`` where dims with factor 1 (which do not affect costs) sit outermost in
    dim order and the others keep their relative order (``temporal``, ``order``: ``[B, L, D]``)."""
    key = np.where(temporal > 1, NUM_DIMS + order, np.arange(NUM_DIMS))
    perm = np.argsort(key, axis=-1, kind="stable")
    return np.argsort(perm, axis=-1, kind="stable")  # the rank of each dim: the inverse permutation


def canonical_rows(m: Mappings, arch: Arch) -> np.ndarray:
    """``[B, F]`` int64 rows equal exactly for mappings the cost model cannot tell apart by their
    parameters: factors (the slots of :func:`~cosearch.mapping.moves.to_slots`), loop orders with
    factor-1 loops put outermost, and the effective keep (fixed levels hold their set)."""
    B = len(m)
    slots = to_slots(m, arch.fanout_level).reshape(B, -1)
    order = canonical_order(m.temporal, m.order).reshape(B, -1)
    keep = effective_keep(arch, m.keep).reshape(B, -1).astype(np.int64)
    return np.concatenate([slots, order, keep], axis=1).astype(np.int64)


_HASH_MULT: dict[int, np.ndarray] = {}


def hash_multipliers(width: int) -> np.ndarray:
    """uint64 ``[width]``: the random odd multipliers of a canonical row of ``width`` entries (seeded
    by the width, so every process hashes alike)."""
    mult = _HASH_MULT.get(width)
    if mult is None:
        mult = np.random.default_rng(width).integers(1, 2**63, width, dtype=np.uint64) | np.uint64(1)
        _HASH_MULT[width] = mult
    return mult


@njit(cache=True, nogil=True)
def _mix(h: np.uint64) -> np.uint64:
    h ^= h >> np.uint64(29)
    h *= np.uint64(0xBF58476D1CE4E5B9)
    h ^= h >> np.uint64(32)
    return h


@njit(cache=True, nogil=True, _nrt=False)
def hash_row(temporal: np.ndarray, sx: np.ndarray, sy: np.ndarray, order: np.ndarray, keep: np.ndarray,
             fanout: int, allowed: np.ndarray, fixed: np.ndarray, mult: np.ndarray) -> np.uint64:
    """The hash of one mapping (``temporal``, ``sx``, ``sy``, ``order``: ``[L, D]``; ``keep``: ``[L, 3]``)
    from its canonical row, entry by entry in :func:`canonical_rows` order (``mult``: its multipliers)."""
    L, D = temporal.shape
    h = np.uint64(0)
    k = 0
    for lv in range(L):
        for d in range(D):
            h += np.uint64(temporal[lv, d]) * mult[k]
            k += 1
    for d in range(D):
        h += np.uint64(sx[fanout, d]) * mult[k]
        k += 1
    for d in range(D):
        h += np.uint64(sy[fanout, d]) * mult[k]
        k += 1
    for lv in range(L):  # a dim's key: d for a factor-1 dim, D + its order otherwise (all distinct)
        for d in range(D):  # the rank of d: how many keys are smaller
            kd = D + order[lv, d] if temporal[lv, d] > 1 else d
            rank = 0
            for e in range(D):
                rank += (D + order[lv, e] if temporal[lv, e] > 1 else e) < kd
            h += np.uint64(rank) * mult[k]
            k += 1
    for lv in range(L):
        for s in range(keep.shape[1]):
            kept = allowed[lv, s] if fixed[lv] else (keep[lv, s] and allowed[lv, s])
            if kept:
                h += mult[k]
            k += 1
    return _mix(h)


@njit(cache=True, nogil=True, _nrt=False)
def _hash_rows(temporal: np.ndarray, sx: np.ndarray, sy: np.ndarray, order: np.ndarray, keep: np.ndarray,
               fanout: int, allowed: np.ndarray, fixed: np.ndarray, mult: np.ndarray, out: np.ndarray) -> None:
    for b in range(temporal.shape[0]):
        out[b] = hash_row(temporal[b], sx[b], sy[b], order[b], keep[b], fanout, allowed, fixed, mult)


def row_width(num_levels: int) -> int:
    """Entries of a canonical row on an arch of ``num_levels`` levels (slots, orders, keep)."""
    return (num_levels + 2) * NUM_DIMS + num_levels * NUM_DIMS + num_levels * NUM_DATASPACES


def row_hashes(m: Mappings, arch: Arch) -> np.ndarray:
    """A 64-bit hash ``[B]`` uint64 of :func:`canonical_rows` (equal rows, equal hashes): a random
    odd-multiplier sum of the row (multipliers seeded by the row width), then a 64-bit mix."""
    t = keep_tables(arch)
    out = np.empty(len(m), dtype=np.uint64)
    if len(m):
        _hash_rows(np.ascontiguousarray(m.temporal, dtype=np.int64), np.ascontiguousarray(m.spatial_x, dtype=np.int64),
                   np.ascontiguousarray(m.spatial_y, dtype=np.int64), np.ascontiguousarray(m.order, dtype=np.int64),
                   np.ascontiguousarray(m.keep, dtype=np.bool_), arch.fanout_level, t.allowed, t.fixed,
                   hash_multipliers(row_width(arch.num_levels)), out)
    return out
