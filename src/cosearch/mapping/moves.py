"""Every local move on batches of mappings, for every mapper: one slot encoding, one set of tables.

A mapping's factors are viewed as *slots* ``F [B, L + 2, D]`` (:func:`to_slots`): the ``L`` temporal
levels, then the spatial X and Y factors of the fan-out level. The slots a factor may occupy on an
arch (:func:`factor_slots`) are the temporal ones and X / Y where the mesh below the fan-out level
has that axis. Move kinds:

* **factor**: one prime factor of one dim goes from one slot to another;
* **exchange**: a prime of one dim and a prime of another swap slots (tile sizes change little);
* **order**: two dims with factors > 1 swap places in one level's loop order;
* **keep**: one data space is toggled at one level whose kept set the mapping may choose
  (the bypassable pairs of :func:`~cosearch.mapping.keep.keep_tables`);
* **resize** (imperfect factorization only): one factor of one dim below the outermost level grows or
  shrinks by 1 and the outermost temporal factor becomes the outer iterations left,
  ``ceil(size / inner product)`` (this reaches the non-dividing factors no prime move can).

:class:`MoveSet` draws them in the ways the mappers need, each a named method (the distributions
differ on purpose and each fixes a mapper's random stream):

* every neighbor at once (``*_neighbors``; ``auto``'s descent, ``sa``'s factor move);
* a few random moves per row (``kick``, ``auto``'s restarts; ``mutate``, ``bo``'s local pools);
* one random move per selected row that keeps the row valid and within the map space's constraints
  (``swap_orders``, ``toggle_keep``; ``sa``).

Every move but resize keeps the product of a dim's factors; resize keeps it covering the dim (the
padding cap is the map space's check, :meth:`MapSpace.allows`). Re-splitting one dim afresh over all slots is a draw of the
sampler (it runs the sampler's constrained fill): :meth:`MapSpace.sample_dim_split`.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable

import numpy as np

from ..arch.spec import Arch
from ..dims import DATASPACES, NUM_DATASPACES, NUM_DIMS
from ..workload.geometry import tile_words
from . import _neighbors
from .factors import choose_uniform, prime_factors
from .keep import effective_keep, keep_tables
from .mapping import Mappings, row_indices
from .space import MapSpace
from .space.sampler import SeedLike, as_generator


def to_slots(m: Mappings, fanout: int) -> np.ndarray:
    """``[B, L + 2, D]`` factors: temporal levels, then spatial X and Y of the fan-out level."""
    return np.concatenate([m.temporal, m.spatial_x[:, fanout : fanout + 1], m.spatial_y[:, fanout : fanout + 1]], axis=1)


def from_slots(slots: np.ndarray, like: Mappings, fanout: int) -> Mappings:
    """Mappings with factors from ``slots [B, L + 2, D]`` and orders/keep from ``like`` (same batch
    size); spatial factors off the fan-out level are 1."""
    L = slots.shape[1] - 2
    sx = np.ones_like(slots[:, :L])
    sy = np.ones_like(sx)
    sx[:, fanout] = slots[:, L]
    sy[:, fanout] = slots[:, L + 1]
    return Mappings(slots[:, :L].copy(), sx, sy, like.order, like.keep, like.order_x, like.order_y)


def factor_slots(arch: Arch) -> np.ndarray:
    """int64 ``[S]``: the slots of :func:`to_slots` a factor may occupy on ``arch`` (every temporal
    level, then X and Y where the mesh below the fan-out level has more than one column / row)."""
    L = arch.num_levels
    child = arch.fanout_child
    slots = list(range(L))
    if child.mesh_x > 1:
        slots.append(L)
    if child.mesh_y > 1:
        slots.append(L + 1)
    return np.array(slots, dtype=np.int64)


def _with(m: Mappings, **changes: np.ndarray) -> Mappings:
    """Mappings with ``m``'s orders per axis and factors except ``changes`` (``tags`` dropped)."""
    fields = dict(temporal=m.temporal, spatial_x=m.spatial_x, spatial_y=m.spatial_y, order=m.order, keep=m.keep,
                  order_x=m.order_x, order_y=m.order_y)
    fields.update(changes)
    return Mappings(**fields)


def one_per_owner(owner: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """For candidate owners ``owner [C]``: ``(owners, candidate index)`` picking one candidate per
    owner uniformly (the largest random key within each owner group)."""
    u = rng.random(len(owner))
    srt = np.lexsort((u, owner))
    last = np.r_[owner[srt][1:] != owner[srt][:-1], True]
    return owner[srt][last], srt[last]


class MoveSet:
    """Every move kind for one map space (its arch, layer and constraints), applied to whole batches.

    ``exchanges``: include exchange moves in :meth:`all_neighbors`. ``accept``: the filter
    :meth:`mutate` applies to its results (``[B]`` bool for a batch; e.g. the mappers' ``known_valid``),
    ``None`` = keep every mutant.

    Tables (``M*`` moves each): ``factor_moves [Mf, 4]`` (dim, prime, from slot, to slot),
    ``exchange_moves [Mx, 6]`` (dim 1, prime 1, dim 2, prime 2, slot i, slot j: prime 1 goes i -> j,
    prime 2 goes j -> i), ``order_moves [Mo, 3]`` (level, dim a, dim b), ``keep_moves [Mk, 2]``
    (level, data space) for the bypassable pairs.
    """

    def __init__(self, space: MapSpace, *, exchanges: bool = True,
                 accept: Callable[[Mappings], np.ndarray] | None = None) -> None:
        arch, layer = space.arch, space.layer
        self.space = space
        self.arch = arch
        self.layer = layer
        self.use_exchanges = exchanges
        self.accept = accept
        self.fanout = arch.fanout_level
        L = arch.num_levels
        self.slots = factor_slots(arch)
        slots = self.slots.tolist()
        dim_primes = [(d, p) for d, size in enumerate(layer.dims) for p in prime_factors(int(size))]
        moves = [(d, p, i, j) for d, p in dim_primes for i in slots for j in slots if i != j]
        self.factor_moves = np.array(moves, dtype=np.int64).reshape(-1, 4)
        exchange = [
            (d1, p1, d2, p2, i, j)
            for (d1, p1) in dim_primes
            for (d2, p2) in dim_primes
            if d1 != d2
            for i in slots
            for j in slots
            if i < j
        ]
        self.exchange_moves = np.array(exchange, dtype=np.int64).reshape(-1, 6)
        pairs = [(l, a, b) for l in range(L) for a in range(NUM_DIMS) for b in range(a + 1, NUM_DIMS)]
        self.order_moves = np.array(pairs, dtype=np.int64).reshape(-1, 3)
        self.keep_moves = np.argwhere(keep_tables(arch).bypassable).astype(np.int64).reshape(-1, 2)
        dims = np.array(layer.dims, dtype=np.int64)
        self.active_dims = np.flatnonzero(dims > 1)  # [A] dims of size > 1
        self.primes = np.array(sorted({p for _, p in dim_primes}), dtype=np.int64)  # [P] primes of any dim
        self.dims = dims
        self.imperfect = bool(space.imperfect)
        # resize moves (imperfect only): (dim, slot, +1 or -1) for every active dim and non-outermost slot
        resize = [(d, s, step) for d in self.active_dims for s in slots if s != 0 for step in (1, -1)]
        self.resize_moves = np.array(resize if self.imperfect else [], dtype=np.int64).reshape(-1, 3)

    # ---- every neighbor: each returns (candidates, index of the start each came from) ------------
    def factor_neighbors(self, m: Mappings) -> tuple[Mappings, np.ndarray]:
        """Every applicable factor move of every row (then, under imperfect factorization, every
        resize: :meth:`resize_neighbors`)."""
        if self.imperfect:
            parts = [self._prime_neighbors(m), self.resize_neighbors(m)]
            parts = [p for p in parts if len(p[0])] or parts[:1]
            return Mappings.concat([p[0] for p in parts]), np.concatenate([p[1] for p in parts])
        return self._prime_neighbors(m)

    def _prime_neighbors(self, m: Mappings) -> tuple[Mappings, np.ndarray]:
        """Every applicable move of one prime of one dim from one slot to another, of every row."""
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
        """Every applicable exchange move of every row."""
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
        """Every swap of two loops with factors > 1 at one level, of every row."""
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
        """Every flip of one bypassable keep flag, of every row."""
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

    def _resized(self, F: np.ndarray, rows: np.ndarray, slot: np.ndarray, d: np.ndarray,
                 value: np.ndarray) -> np.ndarray:
        """Copy of slots ``F[rows]`` with factor ``(slot, d)`` set to ``value`` and the outermost temporal
        factor of ``d`` set to the outer iterations left, ``ceil(size / inner product)`` (all ``[R]``)."""
        G = F[rows].copy()
        r = np.arange(len(rows))
        G[r, slot, d] = value
        inner = G[r, 1:, d].prod(axis=1)  # [R] every slot but the outermost temporal one
        G[r, 0, d] = np.maximum(-(-self.dims[d] // inner), 1)
        return G

    def resize_neighbors(self, m: Mappings) -> tuple[Mappings, np.ndarray]:
        """Every applicable resize move of every row (none under perfect factorization)."""
        mv = self.resize_moves
        if not len(mv) or not len(m):
            return m.subset(slice(0, 0)), np.zeros(0, dtype=np.int64)
        F = to_slots(m, self.fanout)
        d, slot, step = mv.T
        new = F[:, slot, d] + step[None, :]  # [S, M]
        s_idx, m_idx = np.nonzero(new >= 1)
        G = self._resized(F, s_idx, slot[m_idx], d[m_idx], new[s_idx, m_idx])
        return from_slots(G, m.subset(s_idx), self.fanout), s_idx

    def all_neighbors(self, m: Mappings) -> tuple[Mappings, np.ndarray]:
        """Factor, order and keep neighbors (and exchanges when enabled) of every row, concatenated
        (under perfect factorization in one compiled pass, :func:`._neighbors.all_neighbors`)."""
        if not self.imperfect:
            return self._all_neighbors_compiled(m)
        parts = [self.factor_neighbors(m), self.order_neighbors(m), self.keep_neighbors(m)]
        if self.use_exchanges:
            parts.append(self.exchange_neighbors(m))
        parts = [p for p in parts if len(p[0])]
        return Mappings.concat([p[0] for p in parts]), np.concatenate([p[1] for p in parts])

    def _all_neighbors_compiled(self, m: Mappings) -> tuple[Mappings, np.ndarray]:
        temporal = np.ascontiguousarray(m.temporal, dtype=np.int64)
        t, sx, sy, order, keep, owner = _neighbors.all_neighbors(
            to_slots(m, self.fanout), temporal, np.ascontiguousarray(m.spatial_x, dtype=np.int64),
            np.ascontiguousarray(m.spatial_y, dtype=np.int64), np.ascontiguousarray(m.order, dtype=np.int64),
            np.ascontiguousarray(m.keep, dtype=np.bool_), self.fanout, self.factor_moves, self.order_moves,
            self.keep_moves, self.exchange_moves, self.use_exchanges)
        ox = None if m.order_x is None else m.order_x[owner]
        oy = None if m.order_y is None else m.order_y[owner]
        return Mappings(t, sx, sy, order, keep, ox, oy), owner

    # ---- a few random moves per row ---------------------------------------------------------------
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
            owners, pick = one_per_owner(owner, rng)
            rows = np.arange(len(out))  # index into [out rows..., candidates...]
            rows[owners] = len(out) + pick
            out = Mappings.concat([out, cands]).subset(rows)
        return out

    def move_factor(self, m: Mappings, rng: np.random.Generator) -> Mappings:
        """Per row: a random active dim, then one of its primes in a random slot holding it moves to
        another random slot (rows where the dim has no prime stay as they are)."""
        B = len(m)
        if B == 0 or self.active_dims.size == 0 or self.primes.size == 0:
            return m
        F = to_slots(m, self.fanout)
        S = self.slots.size
        ar = np.arange(B)
        d = self.active_dims[rng.integers(0, self.active_dims.size, size=B)]
        V = F[ar[:, None], self.slots[None, :], d[:, None]]  # [B, S]
        ok = (V[:, :, None] % self.primes[None, None, :]) == 0  # [B, S, P]
        ok &= V[:, :, None] > 1
        pick = choose_uniform(ok.reshape(B, -1), rng)
        src, pj = np.divmod(pick, self.primes.size)
        p = self.primes[pj]
        t = rng.integers(0, S - 1, size=B)
        dst = t + (t >= src)
        p = np.where(ok.reshape(B, -1).any(axis=1), p, 1)
        F[ar, self.slots[src], d] //= p
        F[ar, self.slots[dst], d] *= p
        if self.imperfect and len(self.resize_moves):
            # half the rows (and those with no prime to move) resize a random factor instead
            mv = self.resize_moves[rng.integers(0, len(self.resize_moves), size=B)]
            rows = np.flatnonzero((rng.random(B) < 0.5) | (p == 1))
            if rows.size:
                value = np.maximum(F[rows, mv[rows, 1], mv[rows, 0]] + mv[rows, 2], 1)
                F[rows] = self._resized(F, rows, mv[rows, 1], mv[rows, 0], value)
        return from_slots(F, m, self.fanout)

    def swap_order(self, m: Mappings, rng: np.random.Generator) -> Mappings:
        """Per row: swap two loops at one level, both with factors > 1 where the row has a level with
        two such loops (else any two loops of a random level)."""
        B, L = len(m), m.num_levels
        if B == 0:
            return m
        ar = np.arange(B)
        act = m.temporal > 1  # [B, L, D]
        two = act.sum(axis=2) >= 2
        lvl = np.where(two.any(axis=1), choose_uniform(two, rng), rng.integers(0, L, size=B))
        cand = act[ar, lvl]
        cand = np.where(cand.sum(axis=1, keepdims=True) >= 2, cand, True)
        i = choose_uniform(cand, rng)
        cand2 = cand.copy()
        cand2[ar, i] = False
        j = choose_uniform(cand2, rng)
        order = m.order.copy()
        oi = order[ar, lvl, i].copy()
        order[ar, lvl, i] = order[ar, lvl, j]
        order[ar, lvl, j] = oi
        return _with(m, order=order)

    def flip_keep(self, m: Mappings, rng: np.random.Generator) -> Mappings:
        """Per row: flip one uniformly random bypassable keep flag (``keep`` returned in effective form)."""
        B = len(m)
        if B == 0 or len(self.keep_moves) == 0:
            return m
        keep = effective_keep(self.arch, m.keep)
        pr = self.keep_moves[rng.integers(0, len(self.keep_moves), size=B)]
        keep[np.arange(B), pr[:, 0], pr[:, 1]] ^= True
        return _with(m, keep=keep)

    def mutate(self, parents: Mappings, n: int, rng: np.random.Generator) -> Mappings:
        """``n`` mutants of rows of ``parents`` (chosen uniformly), each 1-3 moves away (a factor move
        with probability 0.6, else an order swap, or a keep flip with probability 0.1 where the arch
        has bypassable levels); only those passing ``accept`` are returned (so possibly fewer)."""
        if n <= 0 or len(parents) == 0:
            return parents.subset(slice(0, 0))
        m = parents.subset(rng.integers(0, len(parents), size=n))
        m = Mappings(
            m.temporal.copy(), m.spatial_x.copy(), m.spatial_y.copy(), m.order.copy(), m.keep.copy(), m.order_x, m.order_y
        )
        steps = 1 + (rng.random(n) < 0.4) + (rng.random(n) < 0.15)
        p_keep = 0.1 if len(self.keep_moves) else 0.0
        for s in range(3):
            rows = np.flatnonzero(steps > s)
            if rows.size == 0:
                break
            u = rng.random(rows.size)
            for op, sel in (
                (self.move_factor, u < 0.6),
                (self.swap_order, (u >= 0.6) & (u < 1.0 - p_keep)),
                (self.flip_keep, u >= 1.0 - p_keep),
            ):
                r = rows[sel]
                if r.size:
                    sub = op(m.subset(r), rng)
                    m.temporal[r], m.spatial_x[r], m.spatial_y[r] = sub.temporal, sub.spatial_x, sub.spatial_y
                    m.order[r], m.keep[r] = sub.order, sub.keep
        return m if self.accept is None else m.subset(self.accept(m))

    # ---- one move per selected row that keeps the row valid and allowed ----------------------------
    def swap_orders(self, m: Mappings, rows: Any = None, rng: SeedLike = None) -> tuple[Mappings, np.ndarray]:
        """Swap the loop ranks of two dims at one level, in each selected row (``rows``: bool mask
        ``[B]``, indices, slice or None = all); chosen uniformly among levels with at least two
        temporal factors > 1, then among pairs of such dims there (swaps of factor-1 loops would change
        nothing). Loops a permutation constraint places stay where they are. Validity is unaffected.

        Returns ``(new mappings, changed [B] bool)``; rows with no such level are unchanged.
        """
        rng = as_generator(rng)
        idx = row_indices(rows, len(m))
        order = m.order.copy()
        changed = np.zeros(len(m), dtype=bool)
        if idx.size:
            big = m.temporal[idx] > 1  # [R, L, D]
            big &= ~self.space.plan.pinned_loops[None]
            nbig = big.sum(axis=2)  # [R, L]
            has = (nbig >= 2).any(axis=1)
            r = idx[has]
            big, nbig = big[has], nbig[has]
            if r.size:
                ar = np.arange(r.size)
                lvl = choose_uniform(nbig >= 2, rng)
                cand = big[ar, lvl]  # [R', D]
                i = choose_uniform(cand, rng)
                cand2 = cand.copy()
                cand2[ar, i] = False
                j = choose_uniform(cand2, rng)
                oi = order[r, lvl, i].copy()
                order[r, lvl, i] = order[r, lvl, j]
                order[r, lvl, j] = oi
                changed[r] = True
        return dataclasses.replace(m, order=order), changed

    def toggle_keep(self, m: Mappings, rows: Any = None, rng: SeedLike = None) -> tuple[Mappings, np.ndarray]:
        """Flip one bypass choice per selected row, chosen uniformly among the flips that keep the row
        valid and allowed: bypassing (always fine) or keeping a data space whose tile fits the level's
        free room, at keep choices the map space's constraints leave open.

        Returns ``(new mappings, changed [B] bool)``; rows (or archs) with no possible flip are unchanged.
        The returned ``keep`` of changed rows is in effective form (fixed levels hold their ``keeps``).
        """
        space = self.space
        rng = as_generator(rng)
        idx = row_indices(rows, len(m))
        keep = m.keep.copy()
        changed = np.zeros(len(m), dtype=bool)
        pairs = [
            (li, di)
            for li in range(1, space.num_levels)
            for di in range(NUM_DATASPACES)
            if space.bypassable[li, di] and not space.plan.keep_decided[li, di]
        ]
        if idx.size and pairs:
            factors = (m.temporal * m.spatial_x * m.spatial_y)[idx]
            ext = np.cumprod(factors[:, ::-1], axis=1)[:, ::-1]
            k = space.effective_keep(m.keep[idx])
            ok = np.zeros((idx.size, len(pairs)), dtype=bool)
            tiles = {}
            for li in {p[0] for p in pairs}:
                tiles[li] = np.stack([tile_words(ds, ext[:, li], self.layer) for ds in DATASPACES], axis=1)  # [R, 3]
            for j, (li, di) in enumerate(pairs):
                size = space.sizes[li]
                if size is None:
                    ok[:, j] = True
                    continue
                used = (tiles[li] * k[:, li]).sum(axis=1)
                ok[:, j] = k[:, li, di] | (used + tiles[li][:, di] <= size)
            has = ok.any(axis=1)
            r = idx[has]
            if r.size:
                pick = choose_uniform(ok[has], rng)
                pl = np.array([p[0] for p in pairs])[pick]
                pd = np.array([p[1] for p in pairs])[pick]
                keep[r, pl, pd] = ~space.effective_keep(m.keep[r])[np.arange(r.size), pl, pd]
                changed[r] = True
        return dataclasses.replace(m, keep=keep), changed
