"""``auto``: the default mapper, an evolutionary search with local polishing on the fast model.

1. Warm-up: ``n_init`` valid-by-construction random samples.
2. Generations: ``children`` offspring of the ``elites`` best distinct mappings so far, each with one
   or two validity-preserving mutations from :class:`~cosearch.mapping.mapspace.MapSpace`: re-split
   one dim over all levels and the array, swap two loops of a level, toggle one bypass choice.
3. Polish: each generation also proposes the full local neighborhood of the best mapping (single
   prime-factor moves, loop swaps, bypass toggles; :mod:`cosearch.search.neighbors`) until that
   mapping is a local optimum; neighborhoods already explored are not proposed again.

Candidates breaking a known constraint (capacity, fan-out, mapspace constraints) and duplicates are
removed by construction, so every proposal is an evaluation worth spending. The elites and the set of
polished mappings are updated in ``_observe`` only, so the state is a function of the told history.
"""

from __future__ import annotations

import hashlib

import numpy as np

from ..dims import NUM_DIMS
from ..mapping.mapping import Mappings
from ..model.evaluate import Costs, check_valid
from .base import Optimizer
from .neighbors import MoveSet, row_keys


class AutoMapper(Optimizer):
    """Evolutionary search with local polishing (see module docstring)."""

    name = "auto"
    preferred_batch = 1 << 20  # one generation per round

    def __init__(self, space, *, objective: str = "edp", seed: int = 0, n_init: int = 1000, elites: int = 64,
                 children: int = 2048, p_split: float = 0.55, p_swap: float = 0.3) -> None:
        super().__init__(space, objective=objective, seed=seed)
        self.n_init = int(n_init)
        self.n_elites = int(elites)
        self.n_children = int(children)
        self.p_split = float(p_split)
        self.p_swap = float(p_swap)
        self.moves = MoveSet(space.arch, space.layer)
        self.fanout = space.arch.fanout_level
        self.elites: Mappings | None = None
        self.elite_values = np.zeros(0)
        self.polished: set[bytes] = set()  # keys of mappings whose neighborhood was proposed

    # ---- proposals ---------------------------------------------------------------------------
    def _allowed(self, m: Mappings) -> np.ndarray:
        ok = check_valid(self.space.arch, self.space.layer, m) == 0
        allows = getattr(self.space, "allows", None)
        if allows is not None and ok.any():
            ok &= allows(m)
        return ok

    def _fresh(self, m: Mappings) -> Mappings:
        """Drop invalid rows, duplicates within the batch and mappings already among the elites."""
        if not len(m):
            return m
        m = m.subset(self._allowed(m))
        keys = row_keys(m, self.fanout)
        _, first = np.unique(keys, return_index=True)
        first.sort()
        m = m.subset(first)
        if self.elites is not None and len(m):
            seen = np.isin(row_keys(m, self.fanout), row_keys(self.elites, self.fanout))
            m = m.subset(~seen)
        return m

    def _mutate(self, parents: Mappings, rng: np.random.Generator) -> Mappings:
        kind = rng.random(len(parents))
        split = kind < self.p_split
        swap = (kind >= self.p_split) & (kind < self.p_split + self.p_swap)
        toggle = kind >= self.p_split + self.p_swap
        out = parents
        dims = np.array([d for d in range(NUM_DIMS) if self.space.layer.dims[d] > 1])
        if split.any() and len(dims):
            which = dims[rng.integers(0, len(dims), len(parents))]
            for d in dims:
                rows = np.flatnonzero(split & (which == d))
                if len(rows):
                    out = self.space.sample_dim_split(out, int(d), rows, rng)
        if swap.any():
            out, _ = self.space.swap_orders(out, swap, rng)
        if toggle.any():
            out, _ = self.space.toggle_keep(out, toggle, rng)
        return out

    def _propose(self, n: int, rng: np.random.Generator) -> Mappings:
        if self.n_told < self.n_init or self.elites is None:
            return self.space.sample(min(n, max(self.n_init - self.n_told, 1)), seed=rng)
        parts = []
        best = self.elites.subset(slice(0, 1))
        best_key = row_keys(best, self.fanout)[0].tobytes()
        if best_key not in self.polished:
            parts.append(self.moves.all_neighbors(best)[0])
        parents = self.elites.subset(rng.integers(0, len(self.elites), self.n_children))
        children = self._mutate(parents, rng)
        twice = rng.random(len(children)) < 0.3
        if twice.any():
            children = Mappings.concat([children.subset(~twice), self._mutate(children.subset(twice), rng)])
        parts.append(children)
        cands = self._fresh(Mappings.concat(parts))
        if not len(cands):
            cands = self.space.sample(self.n_children, seed=rng)
        if len(cands) > n:
            cands = cands.subset(np.sort(rng.choice(len(cands), n, replace=False)))
        return cands

    # ---- state update ------------------------------------------------------------------------
    def _observe(self, candidates: Mappings, costs: Costs, values: np.ndarray) -> None:
        if self.elites is not None and self.n_told - len(values) >= self.n_init:
            self.polished.add(row_keys(self.elites.subset(slice(0, 1)), self.fanout)[0].tobytes())
        finite = np.isfinite(values)
        cand = candidates.subset(finite)
        vals = values[finite]
        if self.elites is None:
            pool, pool_vals = cand, vals
        else:
            pool = Mappings.concat([self.elites, cand])
            pool_vals = np.concatenate([self.elite_values, vals])
        if not len(pool):
            return
        keys = row_keys(pool, self.fanout)
        order = np.lexsort((np.arange(len(pool_vals)), pool_vals))
        _, first = np.unique(keys[order], return_index=True)
        chosen = np.sort(order[first])
        chosen = chosen[np.lexsort((chosen, pool_vals[chosen]))][: self.n_elites]
        self.elites = pool.subset(chosen)
        self.elite_values = pool_vals[chosen]

    def _digest_extra(self, h: "hashlib._Hash") -> None:
        h.update(self.elite_values.tobytes())
        h.update(b"".join(sorted(self.polished)))
        if self.elites is not None:
            h.update(b"".join(row_keys(self.elites, self.fanout).tolist()))
