"""One identity per mapping: the rows the cost model cannot tell apart, and one 64-bit hash of them.

Every mapper dedupes with :func:`row_hashes` (auto, BO, GA, SA): two mappings with equal
:func:`canonical_rows` cost exactly the same, so evaluating both teaches a deterministic model nothing.
"""

from __future__ import annotations

import numpy as np

from ..arch.spec import Arch
from ..dims import NUM_DIMS
from .keep import effective_keep
from .mapping import Mappings
from .moves import to_slots


def canonical_order(temporal: np.ndarray, order: np.ndarray) -> np.ndarray:
    """Loop ranks ``[B, L, D]`` where dims with factor 1 (which do not affect costs) sit outermost in
    dim order and the others keep their relative order (``temporal``, ``order``: ``[B, L, D]``)."""
    key = np.where(temporal > 1, NUM_DIMS + order, np.arange(NUM_DIMS))
    perm = np.argsort(key, axis=-1, kind="stable")
    ranks = np.empty_like(perm)
    np.put_along_axis(ranks, perm, np.arange(NUM_DIMS)[None, None, :].repeat(perm.shape[0], 0).repeat(perm.shape[1], 1), axis=-1)
    return ranks


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


def row_hashes(m: Mappings, arch: Arch) -> np.ndarray:
    """A 64-bit hash ``[B]`` uint64 of :func:`canonical_rows` (equal rows, equal hashes): a random
    odd-multiplier sum of the row (multipliers seeded by the row width), then a 64-bit mix."""
    flat = canonical_rows(m, arch).astype(np.uint64)
    width = flat.shape[1]
    mult = _HASH_MULT.get(width)
    if mult is None:
        mult = np.random.default_rng(width).integers(1, 2**63, width, dtype=np.uint64) | np.uint64(1)
        _HASH_MULT[width] = mult
    with np.errstate(over="ignore"):
        h = (flat * mult[None, :]).sum(axis=1, dtype=np.uint64)
        h ^= h >> np.uint64(29)
        h *= np.uint64(0xBF58476D1CE4E5B9)
        h ^= h >> np.uint64(32)
    return h
