"""Vectorised local moves on batches of mappings, used by local-search optimizers.

A mapping's factors are viewed as *slots* ``F [B, L + 2, D]``: the ``L`` temporal levels, then the
spatial X and Y factors of the fan-out level. Moves:

* factor moves: one prime factor of one dim goes from one slot to another;
* order moves: two dims with factors > 1 swap places in one level's loop order;
* bypass moves: one data space is toggled at one level whose kept set the mapping may choose.

Every move keeps the factorization exact; capacity and fan-out are checked by the caller.
"""

from __future__ import annotations

import numpy as np

from ..arch.spec import Arch
from ..dims import DATASPACES, NUM_DIMS
from .mapping import Mappings
from ..workload.layer import Layer


def prime_set(n: int) -> list[int]:
    """Distinct primes of ``n``."""
    out, p = [], 2
    while p * p <= n:
        if n % p == 0:
            out.append(p)
            while n % p == 0:
                n //= p
        p += 1
    if n > 1:
        out.append(n)
    return out


def to_slots(m: Mappings, fanout: int) -> np.ndarray:
    """``[B, L + 2, D]`` factors: temporal levels, then spatial X and Y of the fan-out level."""
    return np.concatenate([m.temporal, m.spatial_x[:, fanout : fanout + 1], m.spatial_y[:, fanout : fanout + 1]], axis=1)


def from_slots(slots: np.ndarray, like: Mappings, fanout: int) -> Mappings:
    """Mappings with factors from ``slots`` and orders/keep from ``like`` (same batch size)."""
    L = slots.shape[1] - 2
    sx = np.ones_like(slots[:, :L])
    sy = np.ones_like(sx)
    sx[:, fanout] = slots[:, L]
    sy[:, fanout] = slots[:, L + 1]
    return Mappings(slots[:, :L].copy(), sx, sy, like.order, like.keep, like.order_x, like.order_y)


def canonical_order(temporal: np.ndarray, order: np.ndarray) -> np.ndarray:
    """Loop ranks where dims with factor 1 (which do not affect costs) sit outermost in dim order."""
    key = np.where(temporal > 1, NUM_DIMS + order, np.arange(NUM_DIMS))
    perm = np.argsort(key, axis=-1, kind="stable")
    ranks = np.empty_like(perm)
    np.put_along_axis(ranks, perm, np.arange(NUM_DIMS)[None, None, :].repeat(perm.shape[0], 0).repeat(perm.shape[1], 1), axis=-1)
    return ranks


def canonical_rows(m: Mappings, arch: Arch) -> np.ndarray:
    """``[B, F]`` int64 rows equal exactly for mappings the cost model cannot tell apart by their
    parameters: factors (temporal and spatial slots), loop orders with factor-1 loops put outermost,
    and the effective keep (fixed levels hold their set)."""
    from .keep import effective_keep

    B = len(m)
    slots = to_slots(m, arch.fanout_level).reshape(B, -1)
    order = canonical_order(m.temporal, m.order).reshape(B, -1)
    keep = effective_keep(arch, m.keep).reshape(B, -1).astype(np.int64)
    return np.concatenate([slots, order, keep], axis=1).astype(np.int64)


def row_keys(m: Mappings, arch: Arch) -> np.ndarray:
    """A hashable byte key per mapping (``[B]`` void), equal iff :func:`canonical_rows` are equal."""
    flat = np.ascontiguousarray(canonical_rows(m, arch))
    return flat.view(np.dtype((np.void, flat.shape[1] * 8))).ravel()


class MoveSet:
    """All local moves for one (arch, layer), applied to a batch of start mappings at once."""

    def __init__(self, arch: Arch, layer: Layer, *, exchanges: bool = True) -> None:
        self.use_exchanges = exchanges
        self.arch = arch
        self.layer = layer
        self.fanout = arch.fanout_level
        L = arch.num_levels
        child = arch.fanout_child
        slots = list(range(L))
        if child.mesh_x > 1:
            slots.append(L)
        if child.mesh_y > 1:
            slots.append(L + 1)
        moves = []
        for d, size in enumerate(layer.dims):
            for p in prime_set(size):
                for i in slots:
                    for j in slots:
                        if i != j:
                            moves.append((d, p, i, j))
        self.factor_moves = np.array(moves, dtype=np.int64).reshape(-1, 4)
        dp = [(d, p) for d, size in enumerate(layer.dims) for p in prime_set(size)]
        exchanges = [
            (d1, p1, d2, p2, i, j)
            for (d1, p1) in dp
            for (d2, p2) in dp
            if d1 != d2
            for i in slots
            for j in slots
            if i < j
        ]
        # move p1 of d1 from slot i to j and p2 of d2 from j to i (tile sizes change little)
        self.exchange_moves = np.array(exchanges, dtype=np.int64).reshape(-1, 6)
        pairs = [(l, a, b) for l in range(L) for a in range(NUM_DIMS) for b in range(a + 1, NUM_DIMS)]
        self.order_moves = np.array(pairs, dtype=np.int64).reshape(-1, 3)
        flexible = [
            (l, di)
            for l, lvl in enumerate(arch.levels)
            if l > 0 and not lvl.keeps_fixed
            for di, ds in enumerate(DATASPACES)
            if ds in lvl.keeps
        ]
        self.keep_moves = np.array(flexible, dtype=np.int64).reshape(-1, 2)

    # -- each returns (candidates, index of the start each came from) --------------------------
    def factor_neighbors(self, m: Mappings) -> tuple[Mappings, np.ndarray]:
        F = to_slots(m, self.fanout)
        mv = self.factor_moves
        if not len(mv):
            return m.subset(slice(0, 0)), np.zeros(0, dtype=np.int64)
        d, p, i, j = mv.T
        ok = F[:, i, d] % p[None, :] == 0  # [S, M]
        s_idx, m_idx = np.nonzero(ok)
        G = F[s_idx].copy()
        r = np.arange(len(s_idx))
        G[r, i[m_idx], d[m_idx]] //= p[m_idx]
        G[r, j[m_idx], d[m_idx]] *= p[m_idx]
        return from_slots(G, m.subset(s_idx), self.fanout), s_idx

    def exchange_neighbors(self, m: Mappings) -> tuple[Mappings, np.ndarray]:
        F = to_slots(m, self.fanout)
        mv = self.exchange_moves
        if not len(mv):
            return m.subset(slice(0, 0)), np.zeros(0, dtype=np.int64)
        d1, p1, d2, p2, i, j = mv.T
        ok = (F[:, i, d1] % p1[None, :] == 0) & (F[:, j, d2] % p2[None, :] == 0)
        s_idx, m_idx = np.nonzero(ok)
        G = F[s_idx].copy()
        r = np.arange(len(s_idx))
        a1, q1, a2, q2, si, sj = (x[m_idx] for x in (d1, p1, d2, p2, i, j))
        G[r, si, a1] //= q1
        G[r, sj, a1] *= q1
        G[r, sj, a2] //= q2
        G[r, si, a2] *= q2
        return from_slots(G, m.subset(s_idx), self.fanout), s_idx

    def order_neighbors(self, m: Mappings) -> tuple[Mappings, np.ndarray]:
        mv = self.order_moves
        l, a, b = mv.T
        act = m.temporal > 1
        ok = act[:, l, a] & act[:, l, b]
        s_idx, m_idx = np.nonzero(ok)
        sub = m.subset(s_idx)
        order = sub.order.copy()
        r = np.arange(len(s_idx))
        la, aa, bb = l[m_idx], a[m_idx], b[m_idx]
        tmp = order[r, la, aa].copy()
        order[r, la, aa] = order[r, la, bb]
        order[r, la, bb] = tmp
        return Mappings(sub.temporal, sub.spatial_x, sub.spatial_y, order, sub.keep, sub.order_x, sub.order_y), s_idx

    def keep_neighbors(self, m: Mappings) -> tuple[Mappings, np.ndarray]:
        mv = self.keep_moves
        S = len(m)
        if not len(mv):
            return m.subset(slice(0, 0)), np.zeros(0, dtype=np.int64)
        s_idx = np.repeat(np.arange(S), len(mv))
        k_idx = np.tile(np.arange(len(mv)), S)
        sub = m.subset(s_idx)
        keep = sub.keep.copy()
        r = np.arange(len(s_idx))
        keep[r, mv[k_idx, 0], mv[k_idx, 1]] ^= True
        return Mappings(sub.temporal, sub.spatial_x, sub.spatial_y, sub.order, keep, sub.order_x, sub.order_y), s_idx

    def all_neighbors(self, m: Mappings) -> tuple[Mappings, np.ndarray]:
        parts = [self.factor_neighbors(m), self.order_neighbors(m), self.keep_neighbors(m)]
        if self.use_exchanges:
            parts.append(self.exchange_neighbors(m))
        parts = [p for p in parts if len(p[0])]
        return Mappings.concat([p[0] for p in parts]), np.concatenate([p[1] for p in parts])

    def kick(self, m: Mappings, rng: np.random.Generator, moves: int = 3) -> Mappings:
        """Apply ``moves`` random factor or order moves to every row (a perturbation for restarts).

        Rows with no applicable move stay as they are; the result may violate capacity.
        """
        out = m
        for _ in range(moves):
            make = self.factor_neighbors if rng.random() < 0.7 else self.order_neighbors
            cands, owner = make(out)
            if not len(cands):
                continue
            # one uniformly random neighbor per row: the largest random key within each owner group
            u = rng.random(len(owner))
            sort = np.lexsort((u, owner))
            last = np.r_[owner[sort][1:] != owner[sort][:-1], True]
            pick = np.arange(len(out))  # index into [out rows..., candidates...]
            pick[owner[sort][last]] = len(out) + sort[last]
            out = Mappings.concat([out, cands]).subset(pick)
        return out


_HASH_MULT: dict[int, np.ndarray] = {}


def row_hashes(m: Mappings, arch: Arch) -> np.ndarray:
    """A 64-bit hash ``[B]`` uint64 of :func:`canonical_rows` (equal rows, equal hashes)."""
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
