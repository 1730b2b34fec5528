"""``auto``: the default mapper, vectorised multi-start steepest descent with restarts.

1. Warm-up: ``n_init`` valid-by-construction random samples; the best distinct ones become the
   ``starts`` (search points) of the descent.
2. Descent: every round proposes the whole local neighborhood of every start (single prime-factor
   moves between levels and the array, loop-order swaps, bypass toggles; see
   :mod:`cosearch.search.neighbors`). Each start moves to its best neighbor if that improves it.
3. Restart: a start with no improving neighbor is a local optimum; its slot is refilled, either by
   a perturbation of one of the best mappings found (a few random moves, iterated local search) or by
   the best of a fresh random sample.

Candidates breaking a known constraint (capacity, fan-out, mapspace constraints), duplicates and
mappings evaluated before are removed by construction, so every proposal is a new evaluation. The
state (starts, elites, the set of seen mappings) changes only in ``_observe``; candidates carry
``tags`` saying which start (``>= 0``) they are a neighbor of, or which slot (``-1 - slot``) they
refill, so replaying the told batches rebuilds the state.
"""

from __future__ import annotations

import hashlib

import numpy as np

from ..mapping.mapping import Mappings
from ..model.evaluate import Costs, check_valid
from .base import Optimizer
from .neighbors import MoveSet, row_hashes


class AutoMapper(Optimizer):
    """Multi-start steepest descent with restarts (see module docstring)."""

    name = "auto"
    preferred_batch = 1 << 20  # one round (all neighborhoods) per ask

    def __init__(self, space, *, objective: str = "edp", seed: int = 0, n_init: int = 1000, starts: int = 16,
                 elites: int = 16, p_kick: float = 0.7, kick_moves: int = 3, restart_pool: int = 200,
                 exchanges: bool = True) -> None:
        super().__init__(space, objective=objective, seed=seed)
        self.n_init = int(n_init)
        self.n_starts = int(starts)
        self.n_elites = int(elites)
        self.p_kick = float(p_kick)
        self.kick_moves = int(kick_moves)
        self.restart_pool = int(restart_pool)
        self.moves = MoveSet(space.arch, space.layer, exchanges=exchanges)
        self.fanout = space.arch.fanout_level
        self.starts: Mappings | None = None
        self.start_values = np.full(self.n_starts, np.inf)
        self.active = np.zeros(self.n_starts, dtype=bool)  # slot holds a start still descending
        self.elites: Mappings | None = None
        self.elite_values = np.zeros(0)
        self.seen: set[int] = set()  # hashes of every told mapping

    # ---- proposals ---------------------------------------------------------------------------
    def _allowed(self, m: Mappings) -> np.ndarray:
        ok = check_valid(self.space.arch, self.space.layer, m) == 0
        allows = getattr(self.space, "allows", None)
        if allows is not None and ok.any():
            ok &= allows(m)
        return ok

    def _fresh(self, m: Mappings) -> Mappings:
        """Keep rows that are valid, not seen before, and first of their kind in the batch."""
        if not len(m):
            return m
        m = m.subset(self._allowed(m))
        if not len(m):
            return m
        h = row_hashes(m, self.fanout)
        _, first = np.unique(h, return_index=True)
        first.sort()
        seen = self.seen
        first = first[np.fromiter((x not in seen for x in h[first].tolist()), dtype=bool, count=len(first))]
        return m.subset(first)

    @staticmethod
    def _tagged(m: Mappings, tags: np.ndarray) -> Mappings:
        m.tags = np.asarray(tags, dtype=np.int64)
        return m

    def _refill(self, slots: np.ndarray, rng: np.random.Generator) -> list[Mappings]:
        """One candidate (or a small random pool) per empty slot, tagged ``-1 - slot``."""
        parts = []
        kick = rng.random(len(slots)) < self.p_kick if self.elites is not None else np.zeros(len(slots), bool)
        if kick.any():
            k_slots = slots[kick]
            # perturb mostly the best, sometimes another elite
            src = np.where(rng.random(len(k_slots)) < 0.5, 0, rng.integers(0, len(self.elites), len(k_slots)))
            kicked = self.moves.kick(self.elites.subset(src), rng, self.kick_moves)
            parts.append(self._tagged(kicked, -1 - k_slots))
        fresh_slots = slots[~kick]
        if len(fresh_slots):
            pool = self.space.sample(self.restart_pool * len(fresh_slots), seed=rng)
            parts.append(self._tagged(pool, np.repeat(-1 - fresh_slots, self.restart_pool)))
        return parts

    def _propose(self, n: int, rng: np.random.Generator) -> Mappings:
        if self.n_told < self.n_init or self.starts is None:
            m = self.space.sample(min(n, max(self.n_init - self.n_told, 1)), seed=rng)
            return self._tagged(m, np.full(len(m), -1 - self.n_starts))  # warm-up, no slot
        parts = []
        act = np.flatnonzero(self.active)
        if len(act):
            nb, owner = self.moves.all_neighbors(self.starts.subset(act))
            parts.append(self._tagged(nb, act[owner]))
        empty = np.flatnonzero(~self.active)
        if len(empty):
            parts.extend(self._refill(empty, rng))
        cands = self._fresh(Mappings.concat(parts)) if parts else None
        if cands is None or not len(cands):
            m = self.space.sample(self.restart_pool, seed=rng)
            cands = self._fresh(self._tagged(m, np.full(len(m), -1 - self.n_starts)))
            if not len(cands):
                cands = self._tagged(m.subset(slice(0, 1)), np.array([-1 - self.n_starts]))
        if len(cands) > n:
            cands = cands.subset(np.sort(rng.choice(len(cands), n, replace=False)))
        return cands

    # ---- state update ------------------------------------------------------------------------
    def _observe(self, candidates: Mappings, costs: Costs, values: np.ndarray) -> None:
        tags = candidates.tags if candidates.tags is not None else np.full(len(candidates), -1 - self.n_starts)
        self.seen.update(row_hashes(candidates, self.fanout).tolist())
        self._update_elites(candidates, values)
        if self.starts is None:
            if self.n_told >= self.n_init and self.elites is not None:
                k = min(self.n_starts, len(self.elites))
                self.starts = self.elites.subset(np.r_[np.arange(k), np.zeros(self.n_starts - k, dtype=np.int64)])
                self.start_values = np.r_[self.elite_values[:k], np.full(self.n_starts - k, np.inf)]
                self.active = np.arange(self.n_starts) < k
            return
        finite = np.isfinite(values)
        # neighbors: each active start moves to its best improving neighbor, or stops
        for s in np.flatnonzero(self.active):
            mine = np.flatnonzero((tags == s) & finite)
            if len(mine):
                j = mine[np.argmin(values[mine])]
                if values[j] < self.start_values[s]:
                    self._set_start(s, candidates, j, values[j])
                    continue
            self.active[s] = False
        # refills: the best candidate for each slot becomes its new start
        for s in range(self.n_starts):
            mine = np.flatnonzero((tags == -1 - s) & finite)
            if len(mine):
                j = mine[np.argmin(values[mine])]
                self._set_start(s, candidates, j, values[j])

    def _set_start(self, s: int, candidates: Mappings, j: int, value: float) -> None:
        row = candidates.subset(slice(j, j + 1))
        row.tags = None
        self.starts = self._replace_row(self.starts, s, row)
        self.start_values[s] = value
        self.active[s] = True

    @staticmethod
    def _replace_row(batch: Mappings, i: int, row: Mappings) -> Mappings:
        for name in ("temporal", "spatial_x", "spatial_y", "order", "keep"):
            arr = getattr(batch, name).copy()
            arr[i] = getattr(row, name)[0]
            setattr(batch, name, arr)
        batch.order_x = batch.order_y = batch.tags = None
        return batch

    def _update_elites(self, candidates: Mappings, values: np.ndarray) -> None:
        finite = np.isfinite(values)
        if not finite.any():
            return
        cand = candidates.subset(finite)
        cand.tags = None
        vals = values[finite]
        if self.elites is None:
            pool, pool_vals = cand, vals
        else:
            pool = Mappings.concat([self.elites, cand])
            pool_vals = np.concatenate([self.elite_values, vals])
        top = np.argsort(pool_vals, kind="stable")[: 4 * self.n_elites]
        h = row_hashes(pool.subset(top), self.fanout)
        _, first = np.unique(h, return_index=True)
        chosen = top[np.sort(first)][: self.n_elites]
        chosen = chosen[np.argsort(pool_vals[chosen], kind="stable")]
        self.elites = pool.subset(chosen)
        self.elite_values = pool_vals[chosen]

    def _digest_extra(self, h: "hashlib._Hash") -> None:
        h.update(self.start_values.tobytes())
        h.update(self.active.tobytes())
        h.update(self.elite_values.tobytes())
        h.update(np.array(sorted(self.seen), dtype=np.uint64).tobytes())
        if self.starts is not None:
            h.update(row_hashes(self.starts, self.fanout).tobytes())
