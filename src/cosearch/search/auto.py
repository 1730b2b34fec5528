"""``auto``: the default mapper, a beam of steepest-descent searches with restarts on the fast model.

1. Warm-up: ``n_init`` valid-by-construction random samples.
2. Descent: the ``beam`` best distinct mappings so far are the starts; every round proposes *all*
   their local neighbors (single prime-factor moves between levels and the array, loop-order swaps,
   bypass toggles, see :mod:`cosearch.search.neighbors`), removing by construction those that break
   a known constraint (capacity, fan-out, mapspace constraints) and duplicates. The beam becomes the
   best distinct mappings among the starts and the told candidates.
3. Restart: when a round improves no start, the next round proposes perturbations of the beam (a few
   random moves each) and fresh random samples, and the descent continues from the best of those
   (iterated local search). The overall best is kept throughout.

State is a function of the told history (replayable): the beam and the phase are updated in
``_observe`` only.
"""

from __future__ import annotations

import hashlib

import numpy as np

from ..mapping.mapping import Mappings
from ..model.evaluate import Costs, check_valid
from .base import Optimizer
from .neighbors import MoveSet, row_keys


class AutoMapper(Optimizer):
    """Beam local search with restarts (see module docstring)."""

    name = "auto"
    preferred_batch = 1 << 20  # a whole neighborhood per round

    def __init__(self, space, *, objective: str = "edp", seed: int = 0, n_init: int = 500, beam: int = 4,
                 kick_moves: int = 3, restart_pool: int = 64) -> None:
        super().__init__(space, objective=objective, seed=seed)
        self.n_init = int(n_init)
        self.beam_size = int(beam)
        self.kick_moves = int(kick_moves)
        self.restart_pool = int(restart_pool)
        self.moves = MoveSet(space.arch, space.layer)
        self.fanout = space.arch.fanout_level
        self.beam: Mappings | None = None
        self.beam_values = np.zeros(0)
        self.restart = False  # the next proposal is a restart round
        self.rounds = 0

    # ---- proposals ---------------------------------------------------------------------------
    def _allowed(self, m: Mappings) -> np.ndarray:
        ok = check_valid(self.space.arch, self.space.layer, m) == 0
        allows = getattr(self.space, "allows", None)
        if allows is not None and ok.any():
            ok &= allows(m)
        return ok

    def _fresh(self, m: Mappings) -> Mappings:
        """Drop invalid rows, duplicates within the batch and mappings already in the beam."""
        if not len(m):
            return m
        m = m.subset(self._allowed(m))
        keys = row_keys(m, self.fanout)
        _, first = np.unique(keys, return_index=True)
        first.sort()
        m = m.subset(first)
        if self.beam is not None and len(m):
            seen = np.isin(row_keys(m, self.fanout), row_keys(self.beam, self.fanout))
            m = m.subset(~seen)
        return m

    def _propose(self, n: int, rng: np.random.Generator) -> Mappings:
        if self.n_told < self.n_init or self.beam is None:
            return self.space.sample(min(n, max(self.n_init - self.n_told, 1)), seed=rng)
        if self.restart:
            kicked = self.moves.kick(self.beam.subset(rng.integers(0, len(self.beam), self.restart_pool)), rng,
                                     self.kick_moves)
            cands = Mappings.concat([self._fresh(kicked), self.space.sample(self.restart_pool, seed=rng)])
        else:
            cands = self._fresh(self.moves.all_neighbors(self.beam)[0])
            if not len(cands):  # nothing new around the beam: restart instead
                cands = self.space.sample(self.restart_pool, seed=rng)
        if len(cands) > n:
            cands = cands.subset(np.sort(rng.choice(len(cands), n, replace=False)))
        return cands

    # ---- state update ------------------------------------------------------------------------
    def _observe(self, candidates: Mappings, costs: Costs, values: np.ndarray) -> None:
        if self.n_told < self.n_init and self.beam is None:
            # still warming up: accumulate into the beam without the restart logic
            self._merge(candidates, values, replace=False)
            return
        was_restart = self.restart
        improved = self._merge(candidates, values, replace=was_restart)
        self.restart = not was_restart and not improved
        self.rounds += 1

    def _merge(self, candidates: Mappings, values: np.ndarray, *, replace: bool) -> bool:
        """Beam <- best distinct of (beam ∪ candidates), or of the candidates alone if ``replace``.
        Returns whether the beam changed."""
        finite = np.isfinite(values)
        cand = candidates.subset(finite)
        vals = values[finite]
        if self.beam is None or replace:
            pool, pool_vals = cand, vals
        else:
            pool = Mappings.concat([self.beam, cand])
            pool_vals = np.concatenate([self.beam_values, vals])
        if not len(pool):
            return False
        keys = row_keys(pool, self.fanout)
        order = np.lexsort((np.arange(len(pool_vals)), pool_vals))
        _, first = np.unique(keys[order], return_index=True)
        chosen = order[np.sort(first)][: self.beam_size]
        chosen = chosen[np.argsort(pool_vals[chosen], kind="stable")]
        new_vals = pool_vals[chosen]
        changed = self.beam is None or len(new_vals) != len(self.beam_values) or bool(
            (new_vals < self.beam_values - 1e-12 * np.abs(self.beam_values)).any()
            if len(new_vals) == len(self.beam_values) else True
        )
        self.beam = pool.subset(chosen)
        self.beam_values = new_vals
        return changed

    def _digest_extra(self, h: "hashlib._Hash") -> None:
        h.update(f"{self.restart}|{self.rounds}".encode())
        h.update(self.beam_values.tobytes())
        if self.beam is not None:
            h.update(b"".join(row_keys(self.beam, self.fanout).tolist()))
