"""``auto``: the default mapper, vectorised multi-start steepest descent with restarts.

1. Warm-up: the warm-start ``seeds`` if given (valid ones, within the warm-up's size), then
   ``n_init`` valid-by-construction random samples in all; the best distinct ones become the
   ``starts`` (search points) of the descent (8; 32 for budgets from :data:`LARGE_BUDGET`, the
   slots the 16 elites do not fill being refilled at once as in step 3). When the space is
   unconstrained, a share (``dataflow_share``) of the warm-up is drawn from the subspaces of the named dataflows
   (row-, weight-, output-, input-stationary) that apply to the arch, and a share
   (``utilization_share``) from the subspace of mappings that keep at least ``utilization_floor`` of
   the most PEs the layer can use busy: small, structured subspaces whose good points are rare in
   uniform samples of the whole space (on a 9×14 mesh, say, few random spatial splits fill it).
2. Descent: every round each start probes up to ``probe`` (64; 32 for budgets up to
   :data:`SMALL_BUDGET`) of its not yet evaluated neighbors, drawn
   at random from its whole local neighborhood (single prime-factor moves between levels and the
   array, exchanges of factors between two dims, loop-order swaps, bypass toggles; see
   :mod:`cosearch.mapping.moves`), and moves to the best of them if that improves it.
3. Restart: a start whose neighbors have all been evaluated without improvement is a local optimum;
   its slot is refilled, either by
   a perturbation of one of the best mappings found (a few random moves, iterated local search) or by
   the best of a fresh random sample (``restart_utilization_share`` of it from the high-utilisation
   subspace). The fresh samples are the next rows of a *restart stream*: samples drawn in chunks of
   :data:`RESTART_CHUNKS` pools, each chunk from a generator seeded by the mapper's seed and the chunk's
   number, so a restart costs a slice of a large draw rather than a small draw of its own (measured on
   ResNet-50 layers: a draw of 50 rows costs 1.4x more per row than one of 1,000, 2.3x from the
   high-utilisation subspace) and the rows at a stream position depend on the seed alone.

Candidates breaking a known constraint (capacity, fan-out, mapspace constraints), duplicates and
mappings evaluated before are removed by construction, so every proposal is a new evaluation. The
state (starts, elites, the set of seen mappings) changes only in ``_observe``; candidates carry
``tags`` saying which start (``>= 0``) they are a neighbor of, or which slot they refill (``-1 - slot``
by a perturbation, ``-2 - starts - slot`` from the restart stream; ``-1 - starts``: the warm-up), so
replaying the told batches rebuilds the state, the restart stream's position included (it moves on by
a pool for every slot refilled from it).

Under imperfect factorization with a known budget, the first ``perfect_phase`` share of it searches
the perfect factorizations only (a subset of the space: samples, dataflow and high-utilisation
subspaces and moves all perfect), exactly as ``auto`` does under perfect factorization with the same
budget; then every start resumes descending with the resize moves and the imperfect samples added.
So a layer whose best mappings divide its dims keeps the perfect search's density there, and the
remainder tiles refine what it found.
"""

from __future__ import annotations

import hashlib

import numpy as np

from ..mapping.identity import row_hashes
from ..mapping.mapping import Mappings
from ..mapping.moves import MoveSet
from ..mapping.space import MapSpace
from ..model.evaluate import Costs
from .base import Optimizer, known_valid

PERFECT_PHASE = (0.5, 0.9)
"""Under imperfect factorization, the share of a known budget ``auto`` spends first on perfect
factorizations only (see the module docstring): the first value when remainders let the layer keep
more PEs busy than any perfect factorization can, the second when they do not (measured: docs/mapper.md,
"Imperfect factorization")."""

SMALL_BUDGET = 10_000
"""Budgets (evaluations) up to which ``auto`` probes 32 neighbors per start and round (else 64) and
draws fresh restarts from pools of 100 (else 200). Measured on the layers of 33 co-design winners at
5,000 evaluations: mean gap to a 100k-evaluation reference 0.43% instead of 0.57%, layers more than
2% off 6.3% instead of 9.0%, for 35-40% more time per evaluation (benchmarks/inner_mapper_winners.py)."""


LARGE_BUDGET = 50_000
"""Budgets (evaluations) from which ``auto`` descends from 32 starts (else 8): a round then holds four
times the candidates for the same per-round work, and at such budgets the searches settle on the same
mappings. Measured at 50,000 evaluations: six mapper-quality layers on eyeriss-168 (3 seeds each) and
ResNet-50's layers on eyeriss-168 (2 seeds) and on three random eyeriss-like points (2 seeds), best EDP
equal or within 0.05%, 0.75-0.83x the time; at 20,000, 32 starts ended 0.3% higher (16: 0.06%)."""

RESTART_CHUNKS = 4
"""Restart pools per chunk of the restart stream (see the module docstring)."""


class AutoMapper(Optimizer):
    """Multi-start steepest descent with restarts (see module docstring)."""

    name = "auto"
    preferred_batch = 1 << 20  # one round (all neighborhoods) per ask

    def __init__(self, space: MapSpace, *, objective: str = "edp", seed: int = 0, n_init: int = 1000,
                 starts: int | None = None,
                 probe: int | None = None,
                 elites: int = 16, p_kick: float = 0.7, kick_moves: int = 3, restart_pool: int | None = None,
                 exchanges: bool = True, budget_hint: int | None = None, dataflow_share: float = 0.25,
                 utilization_share: float = 0.5, utilization_floor: float = 0.9,
                 restart_utilization_share: float = 0.5, seeds: Mappings | None = None,
                 perfect_phase: float | None = None) -> None:
        super().__init__(space, objective=objective, seed=seed)
        # warm-start mappings (e.g. this layer's best on nearby hardware points, mappers.warm_start),
        # evaluated first, within the warm-up
        self.seeds = None if seeds is None or not len(seeds) else self._plain(seeds)
        if budget_hint is not None:  # spend about a tenth of a known budget on the warm-up
            n_init = int(min(n_init, max(100, budget_hint // 10)))
        # small budgets (co-design's inner loop): more, smaller descent steps and cheaper fresh restarts
        small = budget_hint is not None and budget_hint <= SMALL_BUDGET
        probe = (32 if small else 64) if probe is None else probe
        large = budget_hint is not None and budget_hint >= LARGE_BUDGET
        starts = (32 if large else 8) if starts is None else starts
        restart_pool = (100 if small else 200) if restart_pool is None else restart_pool
        self.n_init = int(n_init)
        self.n_starts = int(starts)
        self.probe = int(probe)
        self.n_elites = int(elites)
        self.p_kick = float(p_kick)
        self.kick_moves = int(kick_moves)
        self.restart_pool = int(restart_pool)
        self.exchanges = bool(exchanges)
        self.starts: Mappings | None = None
        self.start_values = np.full(self.n_starts, np.inf)
        self.active = np.zeros(self.n_starts, dtype=bool)  # slot holds a start still descending
        self.elites: Mappings | None = None
        self.elite_values = np.zeros(0)
        self.elite_hashes = np.zeros(0, dtype=np.uint64)  # their row hashes
        self.seen = np.zeros(0, dtype=np.uint64)  # sorted hashes of every told mapping
        self.restart_cursor = 0  # the restart stream's next row
        self._stream: dict[int, Mappings] = {}  # chunks of the restart stream (a function of the seed)
        self._proposed: tuple[Mappings, np.ndarray] | None = None  # the last proposal and its row hashes
        self._shares = (float(dataflow_share), float(utilization_share), float(utilization_floor),
                        float(restart_utilization_share))
        # the evaluation count at which a perfect-first phase hands over to the whole space (0: none)
        perfect = _perfect_subspace(space) if budget_hint is not None and perfect_phase != 0 else None
        if perfect is not None and perfect_phase is None:
            more = space.max_busy_pes() > perfect.max_utilized_pes()  # remainders keep more PEs busy
            perfect_phase = PERFECT_PHASE[0] if more else PERFECT_PHASE[1]
        self.switch_at = int(perfect_phase * budget_hint) if perfect is not None else 0
        self._enter(perfect if perfect is not None else space, warmup=True)

    def _enter(self, space: MapSpace, *, warmup: bool) -> None:
        """Search ``space`` (the whole map space or its perfect subset) from now on: its samples, moves,
        and (``warmup``: the warm-up is still to come) dataflow subspaces."""
        dataflow_share, utilization_share, utilization_floor, restart_share = self._shares
        self.search_space = space
        self.moves = MoveSet(space, exchanges=self.exchanges)
        self.seed_spaces = self._dataflow_spaces() if dataflow_share > 0 and warmup else []
        self.dataflow_share = dataflow_share if self.seed_spaces else 0.0
        self.busy_space = self._utilization_space(utilization_floor) if utilization_share > 0 else None
        self.utilization_share = utilization_share if self.busy_space is not None else 0.0
        self.restart_utilization_share = restart_share if self.busy_space is not None else 0.0
        self._stream = {}  # another space, another stream

    def _dataflow_spaces(self) -> list:
        """MapSpaces of the named dataflows that apply (none if the user constrained the space)."""
        if self.search_space.constraints is not None:
            return []
        from ..errors import CosearchError
        from ..mapping.constraints import DATAFLOWS, load_constraints
        spaces = []
        for name in DATAFLOWS:
            try:
                spaces.append(self.search_space.with_constraints(load_constraints(name, self.space.arch)))
            except (CosearchError, ValueError):
                continue  # this dataflow does not fit the arch or layer
        return spaces

    def _utilization_space(self, floor: float):
        """The subspace of mappings that keep at least ``floor`` × the most PEs this layer can use busy
        (``None`` if the user constrained the space, or no such mapping fits the buffers). On odd
        meshes few uniform samples come near full use of the array, yet the best mappings mostly do."""
        space = self.search_space
        if space.constraints is not None or space.mesh_instances <= 1:
            return None
        from ..errors import CosearchError
        from ..mapping.constraints import load_constraints
        need = int(np.ceil(floor * space.max_utilized_pes()))
        if need <= 1:
            return None
        util = need / space.mesh_instances
        spec = {"constraints": [{"type": "utilization", "min": float(util)}]}
        try:
            busy = space.with_constraints(load_constraints(spec, space.arch))
            busy.sample(1, seed=0)  # may find the floor unreachable under the buffer capacities
        except (CosearchError, ValueError):
            return None
        return busy

    @staticmethod
    def _plain(m: Mappings) -> Mappings:
        return Mappings(m.temporal, m.spatial_x, m.spatial_y, m.order, m.keep)

    def _busy_sample(self, n: int, rng: np.random.Generator) -> Mappings:
        """``n`` samples of the high-utilisation subspace; uniform ones if its rejection sampler gives
        up (a floor that buffer capacities make rare), so a search never fails on it."""
        from ..errors import CosearchError

        try:
            return self._plain(self.busy_space.sample(n, seed=rng))
        except CosearchError:
            return self.search_space.sample(n, seed=rng)

    def _warmup_sample(self, n: int, rng: np.random.Generator) -> Mappings:
        """``n`` samples: shares from the dataflow subspaces and the high-utilisation subspace, the
        rest from the whole space."""
        k = len(self.seed_spaces)
        n_seed = int(n * self.dataflow_share) // k * k if k else 0
        n_busy = int(n * self.utilization_share)
        parts = [self.search_space.sample(n - n_seed - n_busy, seed=rng)] if n - n_seed - n_busy > 0 else []
        for sp in self.seed_spaces if n_seed else []:
            parts.append(self._plain(sp.sample(n_seed // k, seed=rng)))
        if n_busy:
            parts.append(self._busy_sample(n_busy, rng))
        return Mappings.concat(parts)

    # ---- proposals ---------------------------------------------------------------------------
    def _fresh(self, m: Mappings) -> tuple[Mappings, np.ndarray]:
        """Keep rows that are valid, not seen before, and first of their kind in the batch; returns
        them with their row hashes ``[B']``."""
        idx, h = self._fresh_rows(m)
        return m.subset(idx), h

    def _fresh_rows(self, m: Mappings) -> tuple[np.ndarray, np.ndarray]:
        """Indices ``[B']`` of the rows :meth:`_fresh` keeps, and their row hashes."""
        if not len(m):
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.uint64)
        # equal hashes mean equal canonical rows, which are valid alike: dedupe first, check the rest
        h = row_hashes(m, self.space.arch)
        _, idx = np.unique(h, return_index=True)
        idx.sort()
        idx = idx[~_is_in(h[idx], self.seen)]
        if len(idx):
            idx = idx[known_valid(self.space, m.subset(idx))]
        return idx, h[idx]

    def _pool_tag(self, slots: np.ndarray | int) -> np.ndarray | int:
        """The tag of a row refilling ``slots`` from the restart stream (below every other tag)."""
        return -2 - self.n_starts - slots

    @staticmethod
    def _tagged(m: Mappings, tags: np.ndarray) -> Mappings:
        m.tags = np.asarray(tags, dtype=np.int64)
        return m

    def _restart_rows(self, start: int, n: int) -> Mappings:
        """Rows ``[start, start + n)`` of the restart stream of the space searched now (chunks below
        ``start`` are dropped: the stream is read forwards)."""
        size = RESTART_CHUNKS * self.restart_pool
        first, last = start // size, (start + n - 1) // size
        for c in [c for c in self._stream if c < first]:
            del self._stream[c]
        for c in range(first, last + 1):
            if c not in self._stream:
                self._stream[c] = self._restart_chunk(c, size)
        rows = Mappings.concat([self._stream[c] for c in range(first, last + 1)])
        return rows.subset(slice(start - first * size, start - first * size + n))

    def _restart_chunk(self, c: int, size: int) -> Mappings:
        """Chunk ``c`` of the restart stream: ``size`` samples in random order, the
        ``restart_utilization_share`` of them from the high-utilisation subspace."""
        imperfect = int(self.search_space.imperfect)  # a perfect-first phase draws what a perfect space does
        rng = np.random.default_rng([self.seed, 0x7E57A27, imperfect, c])
        n_busy = int(size * self.restart_utilization_share)
        parts = [self.search_space.sample(size - n_busy, seed=rng)]
        if n_busy:
            parts.append(self._busy_sample(n_busy, rng))
        return Mappings.concat(parts).subset(rng.permutation(size))

    def _refill(self, slots: np.ndarray, rng: np.random.Generator) -> list[Mappings]:
        """One candidate per empty slot by a perturbation (tagged ``-1 - slot``) or a pool of
        ``restart_pool`` from the restart stream (tagged ``-2 - starts - slot``)."""
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
            pool = self._restart_rows(self.restart_cursor, self.restart_pool * len(fresh_slots))
            parts.append(self._tagged(pool, np.repeat(self._pool_tag(fresh_slots), self.restart_pool)))
        return parts

    def _propose(self, n: int, rng: np.random.Generator) -> Mappings:
        if self.n_told < self.n_init or self.starts is None:
            want = min(n, max(self.n_init - self.n_told, 1))
            seeds = self._fresh(self.seeds)[0] if self.n_told == 0 and self.seeds is not None else None
            seeds = seeds.subset(slice(0, want)) if seeds is not None and len(seeds) else None
            k = 0 if seeds is None else len(seeds)
            m = self._warmup_sample(want - k, rng) if want > k else None
            m = Mappings.concat([p for p in (seeds, m) if p is not None])
            return self._tagged(m, np.full(len(m), -1 - self.n_starts))  # warm-up, no slot
        parts = []
        act = np.flatnonzero(self.active)
        if len(act):
            nb, owner = self.moves.all_neighbors(self.starts.subset(act))
            idx, nh = self._fresh_rows(nb)
            probe = self._probe_rows(act[owner[idx]], rng)
            parts.append((self._tagged(nb.subset(idx[probe]), act[owner[idx[probe]]]), nh[probe]))
        empty = np.flatnonzero(~self.active)
        if len(empty):
            parts.append(self._fresh(Mappings.concat(self._refill(empty, rng))))
        cands = Mappings.concat([p[0] for p in parts]) if parts else None
        hashes = np.concatenate([p[1] for p in parts]) if parts else None
        if cands is None or not len(cands):
            m = self.search_space.sample(self.restart_pool, seed=rng)
            cands, hashes = self._fresh(self._tagged(m, np.full(len(m), -1 - self.n_starts)))
            if not len(cands):
                cands = self._tagged(m.subset(slice(0, 1)), np.array([-1 - self.n_starts]))
                hashes = row_hashes(cands, self.space.arch)
        if len(cands) > n:
            keep = np.sort(rng.choice(len(cands), n, replace=False))
            cands, hashes = cands.subset(keep), hashes[keep]
        self._proposed = (cands, hashes)
        return cands

    def _probe_rows(self, owner: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Indices of at most ``probe`` random rows per owner, in their original order."""
        key = rng.random(len(owner))
        order = np.lexsort((key, owner))
        grp = owner[order]
        start = np.r_[0, np.flatnonzero(grp[1:] != grp[:-1]) + 1]
        rank = np.arange(len(order)) - np.repeat(start, np.diff(np.r_[start, len(order)]))
        return np.sort(order[rank < self.probe])

    # ---- state update ------------------------------------------------------------------------
    def _observe(self, candidates: Mappings, costs: Costs, values: np.ndarray) -> None:
        tags = candidates.tags if candidates.tags is not None else np.full(len(candidates), -1 - self.n_starts)
        known = self._proposed
        hashes = known[1] if known is not None and known[0] is candidates else row_hashes(candidates, self.space.arch)
        self._proposed = None
        self.seen = _sorted_union(self.seen, hashes)
        self._update_elites(candidates, values, hashes)
        if self.switch_at and self.n_told >= self.switch_at and self.search_space is not self.space:
            # the perfect-first phase ends: every start descends again, now with resize moves
            self._enter(self.space, warmup=self.starts is None)
            if self.starts is not None:
                self.active = np.isfinite(self.start_values)
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
            probed = tags == s
            if not probed.any():  # no unevaluated neighbor was left: a local optimum
                self.active[s] = False
                continue
            mine = np.flatnonzero(probed & finite)
            if len(mine):
                j = mine[np.argmin(values[mine])]
                if values[j] < self.start_values[s]:
                    self._set_start(s, candidates, j, values[j])
        # refills: the best candidate for each slot becomes its new start; the restart stream moves on
        # by a pool for each slot refilled from it
        pooled = np.unique(tags[tags <= self._pool_tag(0)])
        self.restart_cursor += self.restart_pool * len(pooled)
        for s in range(self.n_starts):
            mine = np.flatnonzero(((tags == -1 - s) | (tags == self._pool_tag(s))) & finite)
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

    def _update_elites(self, candidates: Mappings, values: np.ndarray, hashes: np.ndarray) -> None:
        """The ``n_elites`` best distinct mappings of the elites and the told ``candidates`` (with their
        row ``hashes [B]``): only the rows chosen are copied."""
        finite = np.flatnonzero(np.isfinite(values))
        if not len(finite):
            return
        n_old = len(self.elite_values)
        pool_vals = np.concatenate([self.elite_values, values[finite]])
        pool_hashes = np.concatenate([self.elite_hashes, hashes[finite]])
        top = np.argsort(pool_vals, kind="stable")[: 4 * self.n_elites]
        _, first = np.unique(pool_hashes[top], return_index=True)
        chosen = top[np.sort(first)][: self.n_elites]
        chosen = chosen[np.argsort(pool_vals[chosen], kind="stable")]
        new = chosen >= n_old  # rows from the candidates, the others are elites already
        rows = candidates.subset(finite[chosen[new] - n_old])
        rows.tags = None
        gathered = Mappings.concat([self.elites, rows]) if self.elites is not None else rows
        # positions in ``gathered``: the old elites first, then the new rows in chosen order
        self.elites = gathered.subset(np.where(new, n_old + np.cumsum(new) - 1, chosen))
        self.elite_values = pool_vals[chosen]
        self.elite_hashes = pool_hashes[chosen]

    def _digest_extra(self, h: "hashlib._Hash") -> None:
        h.update(b"whole" if self.search_space is self.space else b"perfect")
        h.update(self.start_values.tobytes())
        h.update(self.active.tobytes())
        h.update(self.elite_values.tobytes())
        h.update(self.seen.tobytes())
        h.update(str(self.restart_cursor).encode())
        if self.starts is not None:
            h.update(row_hashes(self.starts, self.space.arch).tobytes())


def _perfect_subspace(space: MapSpace) -> MapSpace | None:
    """The perfect factorizations of an imperfect ``space`` (same arch, layer, constraints and sampling
    settings), or ``None`` if ``space`` is perfect or its constraints need a remainder."""
    if not space.imperfect:
        return None
    from ..errors import CosearchError

    try:
        return MapSpace(space.source_arch, space.source_layer, keep_prob=space.keep_prob,
                        slot_order=space.slot_order, constraints=space.constraints)
    except (CosearchError, ValueError):
        return None


def _is_in(values: np.ndarray, sorted_set: np.ndarray) -> np.ndarray:
    """``[N]`` bool: which of ``values`` occur in the sorted unique array ``sorted_set``."""
    if not len(sorted_set):
        return np.zeros(len(values), dtype=bool)
    pos = np.minimum(np.searchsorted(sorted_set, values), len(sorted_set) - 1)
    return sorted_set[pos] == values


def _sorted_union(sorted_set: np.ndarray, values: np.ndarray) -> np.ndarray:
    """The sorted unique union of the sorted unique ``sorted_set`` and ``values`` (as ``np.union1d``,
    without re-sorting the set: new values are inserted where they belong)."""
    new = np.unique(values)
    new = new[~_is_in(new, sorted_set)]
    return np.insert(sorted_set, np.searchsorted(sorted_set, new), new) if len(new) else sorted_set
