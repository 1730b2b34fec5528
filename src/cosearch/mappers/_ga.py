"""``ga``: a generational genetic algorithm, the classic mapping-search baseline.

Defaults follow the authors' baseline: population 100, crossover probability 0.8, mutation
probability 0.05 per gene, generational replacement with elitism. Selection is a tournament of
``tournament`` (default 5) random members, the best wins; ``elites`` (default 5) best mappings
survive each generation. (On ResNet-18 3x3 64->64 on eyeriss-168 at 1,000 evaluations, tournaments
of 5 beat tournaments of 2 and 3 clearly; 2 vs 5 elites made no measurable difference.)

Genes (how a mapping is a chromosome)
-------------------------------------
* one **factor gene per dim** (dims of size > 1): the dim's whole split, i.e. its temporal factor at
  every level *and* its spatial X/Y factors. A dim's factors always multiply to its size, so genes
  taken whole from either parent keep the factorization exact;
* one **order gene per level**: that level's loop order (a permutation of the 8 dims);
* one **bypass gene per bypassable level** (levels where the mapping may choose what to keep): that
  level's kept set.

Crossover (probability ``p_crossover`` per pair of parents) is uniform over genes: every gene of a
child comes from one parent chosen by a fair coin, the sibling gets the other parent's. Without
crossover the children copy their parents. Mutation then hits every gene independently with
probability ``p_mutation``, using :class:`~cosearch.mapping.space.MapSpace` operators:

* factor gene: :meth:`MapSpace.sample_dim_split` re-splits the dim over all levels and the mesh
  (uniform among the divisors that fit: a valid mapping stays valid);
* order gene: a fresh uniformly random permutation at that level (:meth:`MapSpace.random_orders`;
  reverted if it breaks a permutation constraint of the map space);
* bypass gene: one of the level's bypassable data spaces is flipped (reverted if keeping it would
  overflow the level, or if it breaks a bypass constraint).

Validity. Crossover can combine splits that together overflow a buffer or the PE mesh (loop orders
never affect validity). Such children are *repaired* before mutation: while a child is invalid
(:func:`~cosearch.model.evaluate.check_valid`, a construction-time check that is not an
evaluation), one of the dims responsible for its first violation (a dim with factors at or inside
the overflowing level, or with spatial factors when the mesh is over-subscribed) is re-split with
:meth:`MapSpace.sample_dim_split`, which never makes a violation worse; re-splitting every dim
amounts to a fresh sample, so repair always ends with a valid child. Children breaking a mapspace
constraint (:meth:`MapSpace.allows`) are dropped, as are duplicates of each other
or of the current population (re-evaluating a mapping teaches a deterministic model nothing).
``ask`` falls back to fresh samples if nothing is left, so it always returns at least one candidate.
``repair=False`` drops invalid children instead of repairing them (worse in our trials).

Generations. The first ``population`` evaluations are :meth:`MapSpace.sample` draws. After that,
each generation is ``population - elites`` children; once that many have been told, the next
population is the ``elites`` best of the current one plus the children. ``ask(n)`` with ``n`` smaller
than a generation proposes part of it (the rest comes from later asks). The population, the children
told so far and the generation counter change only in ``_observe``, so replaying the tells rebuilds
the optimizer; all randomness comes from the generator handed to ``_propose``.
"""

from __future__ import annotations

import hashlib

import numpy as np

from ..dims import DIMS, NUM_DATASPACES, NUM_DIMS
from ..mapping.identity import row_hashes
from ..mapping.mapping import Mappings
from ..mapping.space import MapSpace
from ..model.evaluate import REASON_CAPACITY, REASON_FACTORIZATION, REASON_FANOUT_TOTAL, Costs
from ..model.reasons import reason_windows
from .base import Optimizer, known_valid, reasons_in

_WINDOW_DIMS = np.array([d in "PQRS" for d in DIMS])
"""The sliding-window dims (output and filter extents): the culprits of an ``imperfect_windows`` row."""


def _take(a: np.ndarray | None, b: np.ndarray | None, mask: np.ndarray) -> np.ndarray | None:
    """``a`` where ``mask`` (broadcast over trailing axes) else ``b``; None if either is None."""
    if a is None or b is None:
        return None
    m = mask.reshape(mask.shape + (1,) * (a.ndim - mask.ndim))
    return np.where(m, a, b)


class GeneticSearch(Optimizer):
    """Generational GA with tournament selection, uniform gene crossover, repair and elitism."""

    name = "ga"

    def __init__(self, space: MapSpace, *, objective: str = "edp", seed: int = 0, population: int = 100,
                 p_crossover: float = 0.8, p_mutation: float = 0.05, tournament: int = 5, elites: int = 5,
                 repair: bool = True) -> None:
        super().__init__(space, objective=objective, seed=seed)
        if population < 2:
            raise ValueError("population must be >= 2")
        if not 0 <= elites < population:
            raise ValueError("elites must be in [0, population)")
        if tournament < 1:
            raise ValueError("tournament must be >= 1")
        self.pop_size = int(population)
        self.p_crossover = float(p_crossover)
        self.p_mutation = float(p_mutation)
        self.tournament = int(tournament)
        self.n_elites = int(elites)
        self.repair = bool(repair)
        self.preferred_batch = self.pop_size
        L = space.arch.num_levels
        self.dims = np.array(space.layer.dims, dtype=np.int64)
        self.gene_dims = np.array([d for d in range(NUM_DIMS) if self.dims[d] > 1], dtype=np.int64)
        self.bypassable = np.asarray(space.bypassable, dtype=bool)  # [L, 3]
        self.bypass_levels = np.flatnonzero(self.bypassable.any(axis=1))
        self.n_levels = L
        # generation state (changed in _observe only)
        self.population: Mappings | None = None
        self.pop_values = np.zeros(0)
        self.children: Mappings | None = None  # told members of the generation being built
        self.child_values = np.zeros(0)
        self.generation = 0

    # ---- helpers -----------------------------------------------------------------------------
    def _fits(self, m: Mappings) -> np.ndarray:
        """``[B]`` bool: factorization, fan-out and capacity hold (the map space's constraints aside)."""
        return reasons_in(self.space, m) == 0

    def _need(self) -> int:
        """Evaluations still missing from the current generation (or the initial population)."""
        have = 0 if self.children is None else len(self.children)
        target = self.pop_size if self.population is None else self.pop_size - self.n_elites
        return max(target - have, 1)

    # ---- genetic operators ---------------------------------------------------------------------
    def _select(self, k: int, rng: np.random.Generator) -> np.ndarray:
        """``k`` parent indices into the population by tournament (lower value wins, ties to lower rank)."""
        n = len(self.population)  # type: ignore[arg-type]
        rank = np.empty(n, dtype=np.int64)
        rank[np.lexsort((np.arange(n), self.pop_values))] = np.arange(n)
        entrants = rng.integers(0, n, size=(k, self.tournament))
        winner = np.argmin(rank[entrants], axis=1)
        return entrants[np.arange(k), winner]

    def _crossover(self, a: Mappings, b: Mappings, rng: np.random.Generator) -> tuple[Mappings, Mappings]:
        """Uniform gene crossover of parent pairs ``(a[i], b[i])``; returns both complementary children."""
        P, L = len(a), self.n_levels
        cross = rng.random(P) < self.p_crossover
        dim_mask = np.ones((P, NUM_DIMS), dtype=bool)  # True: gene from a
        dim_mask[:, self.gene_dims] = rng.random((P, len(self.gene_dims))) < 0.5
        ord_mask = rng.random((P, L)) < 0.5
        keep_mask = rng.random((P, L)) < 0.5
        dim_mask[~cross] = True
        ord_mask[~cross] = True
        keep_mask[~cross] = True
        dm = dim_mask[:, None, :]  # broadcast over levels

        def child(first: Mappings, second: Mappings, dmask, omask, kmask) -> Mappings:
            return Mappings(
                np.where(dmask, first.temporal, second.temporal),
                np.where(dmask, first.spatial_x, second.spatial_x),
                np.where(dmask, first.spatial_y, second.spatial_y),
                _take(first.order, second.order, omask),
                _take(first.keep, second.keep, kmask),
                _take(first.order_x, second.order_x, omask),
                _take(first.order_y, second.order_y, omask),
            )

        return child(a, b, dm, ord_mask, keep_mask), child(b, a, dm, ord_mask, keep_mask)

    def _repair(self, m: Mappings, rng: np.random.Generator) -> Mappings:
        """Re-split culprit dims of invalid rows until every row is valid (see the module docstring)."""
        if not len(m):
            return m
        done = np.zeros((len(m), NUM_DIMS), dtype=bool)  # dims already re-split per row
        done[:, self.dims <= 1] = True
        for _ in range(len(self.gene_dims) + 1):
            reason = reasons_in(self.space, m)
            bad = np.flatnonzero(reason != 0)
            if not bad.size:
                break
            sub = m.subset(bad)
            r = reason[bad].astype(np.int64)
            cap_level = np.clip(r - REASON_CAPACITY, 0, self.n_levels - 1)
            factors = sub.temporal * sub.spatial_x * sub.spatial_y  # [R, L, D]
            inner = np.cumprod(factors[:, ::-1], axis=1)[:, ::-1]  # product at and inside each level
            ext_at = np.take_along_axis(inner, cap_level[:, None, None], axis=1)[:, 0]  # [R, D]
            spatial = (sub.spatial_x * sub.spatial_y).prod(axis=1)  # [R, D]
            windows = (r == reason_windows(self.n_levels))[:, None]  # a window pair spread with a remainder
            culprit = np.where(
                windows, (spatial > 1) & _WINDOW_DIMS[None, :],
                np.where(
                    (r >= REASON_CAPACITY)[:, None], ext_at > 1,
                    np.where(((r > REASON_FACTORIZATION) & (r <= REASON_FANOUT_TOTAL))[:, None], spatial > 1, True),
                ),
            )
            culprit &= ~done[bad]
            none = ~culprit.any(axis=1)
            culprit[none] = ~done[bad][none]
            none = ~culprit.any(axis=1)
            culprit[none] = self.dims[None, :] > 1  # cannot happen for crossover children; be safe
            # one culprit dim per row, uniformly
            u = rng.random(culprit.shape) + (~culprit) * 2.0
            pick = np.argmin(u, axis=1)
            for d in np.unique(pick):
                rows = bad[pick == d]
                m = self.space.sample_dim_split(m, int(d), rows, rng)
                done[rows, d] = True
        return m

    def _mutate(self, m: Mappings, rng: np.random.Generator) -> Mappings:
        """Per-gene mutation with probability ``p_mutation`` (module docstring). Valid rows stay valid."""
        B, L = len(m), self.n_levels
        if not B or self.p_mutation <= 0:
            return m
        hit_dim = rng.random((B, len(self.gene_dims))) < self.p_mutation
        hit_ord = rng.random((B, L)) < self.p_mutation
        hit_keep = rng.random((B, len(self.bypass_levels))) < self.p_mutation
        for j, d in enumerate(self.gene_dims):
            if hit_dim[:, j].any():
                m = self.space.sample_dim_split(m, int(d), hit_dim[:, j], rng)
        if hit_ord.any():
            order = m.order.copy()
            fresh = self.space.random_orders(B, rng)
            order[hit_ord] = fresh[hit_ord]
            mutated = Mappings(m.temporal, m.spatial_x, m.spatial_y, order, m.keep, m.order_x, m.order_y)
            rows = np.flatnonzero(hit_ord.any(axis=1))
            bad = rows[~self.space.allows(mutated.subset(rows))]  # a permutation constraint was broken: revert
            order[bad] = m.order[bad]
            m = Mappings(m.temporal, m.spatial_x, m.spatial_y, order, m.keep, m.order_x, m.order_y)
        if hit_keep.any():
            keep = m.keep.copy()
            u = rng.random((B, len(self.bypass_levels), NUM_DATASPACES))
            for j, lvl in enumerate(self.bypass_levels):
                rows = np.flatnonzero(hit_keep[:, j])
                if not rows.size:
                    continue
                cand = np.where(self.bypassable[lvl][None, :], u[rows, j], 2.0)
                ds = np.argmin(cand, axis=1)
                eff = self.space.effective_keep(m.keep[rows])
                keep[rows, lvl, ds] = ~eff[np.arange(rows.size), lvl, ds]
            flipped = Mappings(m.temporal, m.spatial_x, m.spatial_y, m.order, keep, m.order_x, m.order_y)
            rows = np.flatnonzero(hit_keep.any(axis=1))
            sub = flipped.subset(rows)
            ok = known_valid(self.space, sub)
            keep[rows[~ok]] = m.keep[rows[~ok]]  # the flip overflows the level or breaks a constraint: revert
            m = Mappings(m.temporal, m.spatial_x, m.spatial_y, m.order, keep, m.order_x, m.order_y)
        return m

    def _unique(self, m: Mappings, seen: Mappings | None) -> Mappings:
        """Rows of ``m`` that are allowed, distinct, and not in ``seen`` (first occurrence kept)."""
        if not len(m):
            return m
        m = m.subset(self.space.allows(m))
        if not len(m):
            return m
        keys = row_hashes(m, self.space.arch)
        _, first = np.unique(keys, return_index=True)
        first.sort()
        m = m.subset(first)
        if seen is not None and len(seen) and len(m):
            m = m.subset(~np.isin(row_hashes(m, self.space.arch), row_hashes(seen, self.space.arch)))
        return m

    def _told_so_far(self) -> Mappings | None:
        parts = [p for p in (self.population, self.children) if p is not None and len(p)]
        return Mappings.concat(parts) if parts else None

    # ---- ask / tell ------------------------------------------------------------------------------
    def _propose(self, n: int, rng: np.random.Generator) -> Mappings:
        want = min(n, self._need())
        seen = self._told_so_far()
        if self.population is None or not len(self.population):
            cands = self._unique(self.space.sample(want, seed=rng), seen)
        else:
            pairs = (int(np.ceil(want * 1.25)) + 1) // 2 + 1  # a little extra for duplicates
            a = self.population.subset(self._select(pairs, rng))
            b = self.population.subset(self._select(pairs, rng))
            c1, c2 = self._crossover(a, b, rng)
            kids = Mappings.concat([c1, c2]).subset(np.arange(2 * pairs).reshape(2, pairs).T.ravel())
            if self.repair:
                kids = self._repair(kids, rng)
            else:
                kids = kids.subset(self._fits(kids))
            kids = self._mutate(kids, rng)
            kids = kids.subset(self._fits(kids))  # repair guarantees validity; never evaluate otherwise
            cands = self._unique(kids, seen)
        if not len(cands):  # everything was a duplicate (tiny space) or disallowed: fresh samples
            fresh = self.space.sample(max(want, 8), seed=rng)
            cands = self._unique(fresh, seen)
            if not len(cands):
                ok = self.space.allows(fresh)
                cands = fresh.subset(ok) if ok.any() else fresh
        return cands.subset(slice(0, want))

    def _observe(self, candidates: Mappings, costs: Costs, values: np.ndarray) -> None:
        if not len(candidates):
            return
        vals = np.where(np.isnan(values), np.inf, values).astype(np.float64)
        if self.children is None:
            self.children, self.child_values = candidates, vals
        else:
            self.children = Mappings.concat([self.children, candidates])
            self.child_values = np.concatenate([self.child_values, vals])
        have = len(self.children)
        if self.population is None:
            if have < self.pop_size:
                return
            order = np.lexsort((np.arange(have), self.child_values))[: self.pop_size]
            self.population, self.pop_values = self.children.subset(order), self.child_values[order]
        else:
            if have < self.pop_size - self.n_elites:
                return
            n_pop = len(self.population)
            elite = np.lexsort((np.arange(n_pop), self.pop_values))[: self.n_elites]
            kids = np.lexsort((np.arange(have), self.child_values))[: self.pop_size - self.n_elites]
            kids.sort()  # children keep their told order
            self.population = Mappings.concat([self.population.subset(elite), self.children.subset(kids)])
            self.pop_values = np.concatenate([self.pop_values[elite], self.child_values[kids]])
        self.children, self.child_values = None, np.zeros(0)
        self.generation += 1

    def _digest_extra(self, h: "hashlib._Hash") -> None:
        h.update(f"gen{self.generation}".encode())
        for m, v in ((self.population, self.pop_values), (self.children, self.child_values)):
            h.update(np.ascontiguousarray(v).tobytes())
            if m is not None and len(m):
                h.update(row_hashes(m, self.space.arch).tobytes())
                h.update(np.ascontiguousarray(m.order).tobytes())
