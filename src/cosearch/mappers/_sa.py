"""``sa``: simulated annealing with a batch of independent chains.

1. Warm-up: ``warmup`` (default: four per chain) valid-by-construction samples of the map space.
   The chains start from the best ``chains`` of them. The initial temperature is calibrated from
   their spread: ``T0 = t0_scale · std(log value)`` (natural log; random samples spread far more
   than a single move changes the value, hence the default ``t0_scale = 0.1``, which makes a move
   that worsens the value by a tenth of the warm-up spread accepted with probability 1/e at first).
2. Steps: every chain proposes one neighbor per step, so a full step is a batch of ``chains``
   candidates. A neighbor is one random move of a kind drawn per chain:

   * ``factor`` (``p_factor``): one prime factor of one dim moves between two levels or the mesh
     (:class:`~cosearch.mapping.moves.MoveSet`, uniform among the applicable moves);
   * ``split`` (``p_split``): one dim re-split over all levels and the mesh
     (:meth:`MapSpace.sample_dim_split`, a larger jump);
   * ``swap`` (``p_swap``): two loops of one level swap places (:meth:`MoveSet.swap_orders`);
   * ``keep`` (the rest, 0.2 by default): one bypass choice flips (:meth:`MoveSet.toggle_keep`).

   Neighbors that break capacity or fan-out (:func:`~cosearch.model.evaluate.check_valid`, not an
   evaluation), a mapspace constraint (:meth:`MapSpace.allows`) or equal the chain's state are rejected
   before evaluation; each chain tries ``tries`` neighbors and proposes the first acceptable one (if
   none is, it re-proposes its state, which is always valid).
3. Acceptance: Metropolis on the log objective, ``accept if u < exp(-(log v' - log v) / T)``.
   The temperature of a chain after ``k`` steps follows a geometric schedule from ``T0`` down to
   ``T0 · t_end_ratio`` over the steps the budget allows, ``(budget_hint - warmup) / chains``
   (``budget_hint`` defaults to 1000 evaluations); past that it keeps decaying at the same rate.

Replay. Chain states, values, step counts and ``T0`` change only in ``_observe``. All randomness
comes from the generator handed to ``_propose``: its first draws are the ``chains`` acceptance
uniforms of the step, which ``_observe`` regenerates from the same seeded stream (the base class's
``(seed, evaluations told)`` generator). Candidates of a step are listed in chain order (chains that
have taken the fewest steps first, ties by index) and tagged with their chain (``Mappings.tags``);
``_observe`` assigns told rows to chains by their tags, or without tags (e.g. tells replayed from
stored mappings) by that same order, so a truncated batch (a prefix) still lines up.
"""

from __future__ import annotations

import hashlib
import math

import numpy as np

from ..mapping.identity import row_hashes
from ..mapping.mapping import Mappings
from ..mapping.moves import MoveSet, one_per_owner
from ..mapping.space import MapSpace
from ..model.evaluate import Costs
from .base import Optimizer, known_valid


class SimulatedAnnealing(Optimizer):
    """Batch of independent Metropolis chains with a geometric temperature schedule (module docstring)."""

    name = "sa"

    def __init__(self, space: MapSpace, *, objective: str = "edp", seed: int = 0, chains: int = 32,
                 budget_hint: int | None = 1000, warmup: int | None = None, t0_scale: float = 0.1,
                 t_end_ratio: float = 0.01, p_factor: float = 0.4, p_split: float = 0.2, p_swap: float = 0.2,
                 tries: int = 3) -> None:
        super().__init__(space, objective=objective, seed=seed)
        if chains < 1:
            raise ValueError("chains must be >= 1")
        self.n_chains = int(chains)
        self.n_warmup = max(int(warmup) if warmup is not None else 4 * self.n_chains, self.n_chains)
        self.budget_hint = int(budget_hint) if budget_hint else 1000
        if not 0 < t_end_ratio <= 1:
            raise ValueError("t_end_ratio must be in (0, 1]")
        if min(p_factor, p_split, p_swap) < 0 or p_factor + p_split + p_swap > 1:
            raise ValueError("move probabilities must be >= 0 and sum to <= 1")
        self.t0_scale = float(t0_scale)
        self.t_end_ratio = float(t_end_ratio)
        self.p_factor, self.p_split, self.p_swap = float(p_factor), float(p_split), float(p_swap)
        self.tries = max(int(tries), 1)
        self.preferred_batch = self.n_chains
        self.steps_planned = max(1, math.ceil((self.budget_hint - self.n_warmup) / self.n_chains))
        self.moves = MoveSet(space)
        self.active_dims = np.array([d for d, n in enumerate(space.layer.dims) if n > 1], dtype=np.int64)
        # state (changed in _observe only)
        self.warm: Mappings | None = None
        self.warm_values = np.zeros(0)
        self.chains: Mappings | None = None
        self.chain_values = np.zeros(0)
        self.steps = np.zeros(0, dtype=np.int64)
        self.t0 = float("nan")
        self.accepted = 0

    # ---- schedule ------------------------------------------------------------------------------
    def temperature(self, steps: np.ndarray | int) -> np.ndarray:
        """Temperature of a chain that has taken ``steps`` steps."""
        frac = np.asarray(steps, dtype=np.float64) / max(self.steps_planned - 1, 1)
        return self.t0 * self.t_end_ratio**frac

    def _chain_order(self) -> np.ndarray:
        return np.lexsort((np.arange(self.n_chains), self.steps))

    # ---- proposals -----------------------------------------------------------------------------
    def _acceptable(self, m: Mappings, cur_keys: np.ndarray) -> np.ndarray:
        """``[B]`` bool: known valid and allowed, and not the chain's state (hashes ``cur_keys [B]``)."""
        return known_valid(self.space, m) & (row_hashes(m, self.space.arch) != cur_keys)

    def _neighbor(self, cur: Mappings, rng: np.random.Generator) -> Mappings:
        """One random neighbor per row of ``cur`` (may be invalid or unchanged; the caller filters)."""
        R = len(cur)
        kind = rng.random(R)
        f_end = self.p_factor
        s_end = f_end + self.p_split
        w_end = s_end + self.p_swap
        out = cur
        rows = np.flatnonzero(kind < f_end)
        if rows.size:
            cands, owner = self.moves.factor_neighbors(cur.subset(rows))
            if len(cands):
                owners, chosen = one_per_owner(owner, rng)
                pick = np.arange(R)  # index into [cur rows..., cands...]
                pick[rows[owners]] = R + chosen
                out = Mappings.concat([cur, cands]).subset(pick)
        rows = np.flatnonzero((kind >= f_end) & (kind < s_end))
        if rows.size and self.active_dims.size:
            dims = self.active_dims[rng.integers(0, self.active_dims.size, rows.size)]
            for d in np.unique(dims):
                out = self.space.sample_dim_split(out, int(d), rows[dims == d], rng)
        swap = (kind >= s_end) & (kind < w_end)
        if swap.any():
            out, _ = self.moves.swap_orders(out, swap, rng)
        keep = kind >= w_end
        if keep.any():
            out, _ = self.moves.toggle_keep(out, keep, rng)
        return out

    def _propose(self, n: int, rng: np.random.Generator) -> Mappings:
        rng.random(self.n_chains)  # the step's acceptance uniforms (regenerated in _observe)
        if self.chains is None:
            have = 0 if self.warm is None else len(self.warm)
            fresh = self.space.sample(min(n, max(self.n_warmup - have, 1)), seed=rng)
            ok = self.space.allows(fresh)
            return fresh.subset(ok) if ok.any() else fresh
        idx = self._chain_order()[: min(n, self.n_chains)]
        cur = self.chains.subset(idx)
        cur_keys = row_hashes(cur, self.space.arch)
        out = cur
        pending = np.ones(len(idx), dtype=bool)
        for _ in range(self.tries):
            rows = np.flatnonzero(pending)
            if not rows.size:
                break
            sub = cur.subset(rows)
            nb = self._neighbor(sub, rng)
            ok = self._acceptable(nb, cur_keys[rows])
            if ok.any():
                take = rows[ok]
                out = Mappings.concat([out, nb.subset(ok)])
                pick = np.arange(len(idx))
                pick[take] = len(idx) + np.arange(take.size)
                out = out.subset(pick)
                pending[take] = False
        out.tags = idx.astype(np.int64)  # the chain of each row (also implied by the row order)
        return out

    # ---- state update ------------------------------------------------------------------------
    def _uniforms_at(self, n_told: int) -> np.random.Generator:
        """The generator ``_propose`` received when ``n_told`` evaluations had been told."""
        saved = self.n_told
        try:
            self.n_told = n_told
            return self._rng()
        finally:
            self.n_told = saved

    def _observe(self, candidates: Mappings, costs: Costs, values: np.ndarray) -> None:
        if not len(candidates):
            return
        vals = np.where(np.isnan(values), np.inf, values).astype(np.float64)
        if self.chains is None:
            self.warm = candidates if self.warm is None else Mappings.concat([self.warm, candidates])
            self.warm_values = np.concatenate([self.warm_values, vals])
            if len(self.warm) >= self.n_warmup:
                self._start_chains()
            return
        rng = self._uniforms_at(self.n_told - len(vals))
        for start in range(0, len(vals), self.n_chains):
            u = rng.random(self.n_chains)
            v = vals[start : start + self.n_chains]
            idx = self._chain_order()[: len(v)]
            tags = None if candidates.tags is None else np.asarray(candidates.tags)[start : start + len(v)]
            if tags is not None and len(np.unique(tags)) == len(v) and tags.min() >= 0 and tags.max() < self.n_chains:
                idx = tags.astype(np.int64)  # as proposed (equal to the order rule unless rows were reordered)
            with np.errstate(divide="ignore", invalid="ignore"):
                delta = np.log(v) - np.log(self.chain_values[idx])
                temp = self.temperature(self.steps[idx])
                prob = np.where(np.isfinite(delta), np.exp(-np.maximum(delta, 0.0) / temp), 0.0)
            acc = np.isfinite(v) & ((delta <= 0) | (u[: len(v)] < prob))
            rows = start + np.flatnonzero(acc)
            if rows.size:
                chains = Mappings.concat([self.chains, candidates.subset(rows)])
                pick = np.arange(self.n_chains)
                pick[idx[acc]] = self.n_chains + np.arange(rows.size)
                self.chains = chains.subset(pick)
                self.chain_values = self.chain_values.copy()
                self.chain_values[idx[acc]] = v[acc]
                self.accepted += int(rows.size)
            self.steps[idx] += 1

    def _start_chains(self) -> None:
        assert self.warm is not None
        n = len(self.warm)
        best = np.lexsort((np.arange(n), self.warm_values))[: self.n_chains]
        if len(best) < self.n_chains:  # fewer warm-up samples than chains (cannot happen via ask)
            best = np.resize(best, self.n_chains)
        self.chains = self.warm.subset(np.sort(best))
        self.chain_values = self.warm_values[np.sort(best)]
        logs = np.log(self.warm_values[np.isfinite(self.warm_values) & (self.warm_values > 0)])
        spread = float(np.std(logs)) if logs.size >= 2 else 0.0
        self.t0 = self.t0_scale * (spread if spread > 0 else 1.0)
        self.steps = np.zeros(self.n_chains, dtype=np.int64)

    def _digest_extra(self, h: "hashlib._Hash") -> None:
        h.update(f"T0={self.t0!r}|acc={self.accepted}".encode())
        h.update(self.warm_values.tobytes())
        h.update(self.chain_values.tobytes())
        h.update(self.steps.tobytes())
        if self.chains is not None:
            h.update(row_hashes(self.chains, self.space.arch).tobytes())
            h.update(np.ascontiguousarray(self.chains.order).tobytes())
