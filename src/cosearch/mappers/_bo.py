"""Bayesian optimization of mappings: the paper's constrained BO (``"bo"``) and the vanilla ablation.

:class:`ConstrainedBO` follows Shi et al., "Learned Hardware/Software Co-Design of Neural Accelerators"
(arXiv 2010.02075, 2020), and the settings of the authors' public code. The GP, the acquisition
functions, the feasibility model and the pool optimisation are :mod:`cosearch._gp`, shared with the
hardware BO (:mod:`cosearch.codesign.hw_optimizers`); this module chooses their settings:

* **Warm-up:** ``n_init = 30`` random valid-by-construction samples (``MapSpace.sample``).
* **Surrogate:** an exact GP (:mod:`cosearch._gp.gp`: BoTorch ``SingleTaskGP``, float64, RBF kernel
  with ARD and BoTorch's dimension-scaled priors) on :func:`~cosearch.mappers._features.domain_features`,
  min-max scaled on the training set (columns constant there are dropped); the outcome is the natural
  log of the objective (EDP by default) of the **valid** evaluated points only, standardised by the model.
* **Training set:** the ``max_best = 200`` best valid points plus the ``max_recent = 100`` most
  recently evaluated valid ones (their union, at most 300 rows), so each step stays cheap whatever
  the budget.
* **Hyperparameters** are fitted (L-BFGS on the marginal likelihood, ``fit_maxiter`` iterations from
  BoTorch's default initialisation, no random restarts) at checkpoints ``n_init, n_init +
  refit_every, ...`` evaluations, each from the history up to that checkpoint; between checkpoints
  the GP is rebuilt on the current training set with the last checkpoint's hyperparameters and
  scaling, which costs a Cholesky of at most 300 points. Because each checkpoint's fit is a function
  of a prefix of the told history (and of the seed), the model is rebuilt identically on replay.
* **Feasibility:** points that turn out invalid only when evaluated (a constraint the sampler does
  not know) train an L2-regularised logistic model (:mod:`cosearch._gp.feasibility`) on the latest
  ``FEASIBILITY_ROWS = 2000`` evaluations, with the GP's scaled features clipped to ``[-3, 4]``
  (``feasibility_standardise = "gp-box"``); acquisition values are multiplied by its
  ``P(feasible)``, i.e. ``log P`` is added (``feasibility_weighting``: ``"log"`` for both
  acquisitions). With MapSpace's valid-by-construction samples and known-constraint checks no
  evaluated point is invalid, and the model is not used.
* **Acquisition:** ``"lcb"`` (default, as the authors: ``μ − κσ`` of the log objective, ``κ = 1``;
  scored as ``−LCB + log P(feasible)``, i.e. the log of ``P(feasible) / exp(LCB)``) or ``"logei"``
  (BoTorch's ``LogExpectedImprovement`` below the best training value, plus ``log P(feasible)``).
* **Acquisition optimisation:** a pool of ``pool_size = 1000`` fresh valid-by-construction samples
  plus ``local_size = 1000`` local mutations of the ``n_parents = 10`` best evaluated mappings (a
  prime factor moved between two slots of one dim, two loops swapped at one level, a bypass
  flipped; one to three moves, kept only when they satisfy the known constraints: mesh fan-out and
  buffer capacity, checked by :func:`~cosearch.model.evaluate.check_valid`, and the map space's own
  ``allows``) is scored; then ``acq_rounds = 2`` rounds of local search on the acquisition function
  mutate the ``n_parents`` best-scoring candidates into ``acq_size = 500`` more each
  (:func:`cosearch._gp.optimize.optimize_discrete`). Candidates
  already evaluated (or repeated in the pool, up to loop orders that cannot matter) are removed,
  and the top ``batch_size = 10`` are proposed per model rebuild (the driver asks
  ``preferred_batch = 10`` at a time). With ``local_size = 0, acq_rounds = 0`` this is the
  authors' pure random-pool scheme.
* **Exploration:** each proposal slot is, with probability ``explore_prob = 0.3`` (the authors'
  software-level setting), a fresh random sample instead.

:class:`VanillaBO` (``"vanilla-bo"``) is the ablation the paper beats: the same GP and LCB on
:func:`~cosearch.mappers._features.raw_features`, candidates drawn from the *unconstrained* space
(``MapSpace.uniform_unconstrained``: random factorizations that may break capacity or fan-out),
invalid evaluations given the target ``worst valid log value + 1`` (they count as evaluations), no
feasibility model and no local moves.

Replay: all randomness comes from the generator handed to :meth:`_propose` (seeded by ``(seed,
evaluations told)``), and torch is seeded from ``(seed, checkpoint)`` inside a forked RNG state for
each hyperparameter fit; the model is a function of the told history, so a replayed optimizer makes
the same proposals. torch and BoTorch are imported lazily (by :mod:`cosearch._gp.gp`), on the first
model fit.
"""

from __future__ import annotations

import hashlib
from functools import partial
from typing import Any, Callable, ClassVar

import numpy as np

from .._gp.acquisition import ACQUISITIONS, acquisition_values, weight_by_feasibility
from .._gp.feasibility import FeasibilityModel
from .._gp.gp import GPHyper, GPSurrogate, fit_hyper
from .._gp.optimize import PoolOps, optimize_discrete
from ..errors import CosearchError
from ..mapping.identity import row_hashes
from ..mapping.mapping import Mappings
from ..mapping.moves import MoveSet
from ..model.evaluate import Costs
from ._features import domain_features, raw_features
from .base import Optimizer, known_valid

FEASIBILITY_ROWS = 2000  # the feasibility model trains on at most this many most recent evaluations


# ---------------------------------------------------------------------------------------------------
# the optimizers


class _GPSearch(Optimizer):
    """Shared machinery: history of features, training-set selection, checkpointed hyperparameters.

    Settings (keyword arguments; the module docstring explains each): ``n_init``, ``pool_size``,
    ``local_size``, ``n_parents``, ``batch_size``, ``acquisition`` (``"lcb"`` or ``"logei"``),
    ``kappa``, ``explore_prob``, ``max_best``, ``max_recent``, ``refit_every``, ``fit_maxiter``,
    ``acq_rounds``, ``acq_size``. ``ask(n)`` returns at most ``batch_size`` candidates (fewer during
    the last warm-up batch, so the model starts exactly after ``n_init`` evaluations).
    """

    preferred_batch = 10
    features: Callable[[Any, Any, Mappings], np.ndarray] = staticmethod(domain_features)
    # How P(feasible) of the learned-constraint model weights the acquisition, for each acquisition
    # (see cosearch._gp.acquisition.weight_by_feasibility): log P is added to -LCB and to log-EI alike.
    feasibility_weighting: ClassVar[dict[str, str]] = {"lcb": "log", "logei": "log"}
    # How the feasibility model's inputs are standardised (cosearch._gp.feasibility.STANDARDISATIONS).
    feasibility_standardise: ClassVar[str] = "gp-box"

    def __init__(
        self,
        space,
        *,
        objective: str = "edp",
        seed: int = 0,
        n_init: int = 30,
        pool_size: int = 1000,
        local_size: int = 1000,
        n_parents: int = 10,
        batch_size: int = 10,
        acquisition: str = "lcb",
        kappa: float = 1.0,
        explore_prob: float = 0.3,
        max_best: int = 200,
        max_recent: int = 100,
        refit_every: int = 50,
        fit_maxiter: int = 40,
        acq_rounds: int = 2,
        acq_size: int = 500,
    ) -> None:
        super().__init__(space, objective=objective, seed=seed)
        if acquisition not in ACQUISITIONS:
            raise CosearchError(f"unknown acquisition {acquisition!r} (choose from {', '.join(ACQUISITIONS)})")
        if not 0.0 <= explore_prob <= 1.0:
            raise CosearchError(f"explore_prob must be in [0, 1], got {explore_prob}")
        if min(n_init, pool_size, batch_size, max_best, refit_every) < 1:
            raise CosearchError("n_init, pool_size, batch_size, max_best and refit_every must be at least 1")
        if min(local_size, max_recent, fit_maxiter, n_parents, acq_rounds, acq_size) < 0:
            raise CosearchError("local_size, max_recent, fit_maxiter, n_parents, acq_rounds and acq_size must be >= 0")
        self.n_init = int(n_init)
        self.pool_size = int(pool_size)
        self.local_size = int(local_size)
        self.n_parents = int(n_parents)
        self.batch_size = int(batch_size)
        self.acquisition = acquisition
        self.kappa = float(kappa)
        self.explore_prob = float(explore_prob)
        self.max_best = int(max_best)
        self.max_recent = int(max_recent)
        self.refit_every = int(refit_every)
        self.fit_maxiter = int(fit_maxiter)
        self.acq_rounds = int(acq_rounds)
        self.acq_size = int(acq_size)
        self._moves: MoveSet | None = None
        self._X: list[np.ndarray] = []  # features of every told candidate
        self._keys: list[np.ndarray] = []  # canonical keys
        self._told: list[Mappings] = []
        self._hyper: dict[int, GPHyper] = {}  # checkpoint -> fitted hyperparameters (a cache)
        self._cat: tuple[int, np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None = None

    # ---- history -------------------------------------------------------------------------------
    def _observe(self, candidates: Mappings, costs: Costs, values: np.ndarray) -> None:
        self._X.append(self.features(self.space.arch, self.space.layer, candidates))
        self._keys.append(row_hashes(candidates, self.space.arch))
        self._told.append(candidates)

    def _history(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """All told ``X [N, F]``, ``log values [N]`` (inf where invalid), ``valid [N]``, ``keys [N]``."""
        if self._cat is None or self._cat[0] != self.n_told:
            if self._X:
                X = np.concatenate(self._X)
                v = np.concatenate(self.history_values)
                keys = np.concatenate(self._keys)
            else:
                X, v, keys = np.zeros((0, 1)), np.zeros(0), np.zeros(0, dtype=np.uint64)
            valid = np.isfinite(v) & (v > 0)
            with np.errstate(divide="ignore"):
                logv = np.where(valid, np.log(np.where(valid, v, 1.0)), np.inf)
            self._cat = (self.n_told, X, logv, valid, keys)
        return self._cat[1], self._cat[2], self._cat[3], self._cat[4]

    def _told_rows(self, idx: np.ndarray) -> Mappings:
        allm = Mappings.concat(self._told) if len(self._told) > 1 else self._told[0]
        return allm.subset(idx)

    def _targets(self, logv: np.ndarray, valid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Indices usable as GP training rows and their targets (valid points only, here)."""
        idx = np.flatnonzero(valid)
        return idx, logv[idx]

    def _select(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        """Training rows among the first ``n`` told: the best ``max_best`` and the latest ``max_recent``."""
        _, logv, valid, _ = self._history()
        idx, y = self._targets(logv[:n], valid[:n])
        if idx.size > self.max_best + self.max_recent:
            best = idx[np.argsort(y, kind="stable")[: self.max_best]]
            recent = idx[-self.max_recent :] if self.max_recent else idx[:0]
            sel = np.union1d(best, recent)
            y = y[np.searchsorted(idx, sel)]
            idx = sel
        return idx, y

    def _checkpoint(self) -> int:
        return self.n_init + ((self.n_told - self.n_init) // self.refit_every) * self.refit_every

    def _surrogate(self) -> GPSurrogate | None:
        X, _, _, _ = self._history()
        c = self._checkpoint()
        hyper = self._hyper.get(c)
        if hyper is None:
            idx, y = self._select(c)
            if idx.size < 2 or np.ptp(y) <= 0:
                return None
            seed = int(np.random.default_rng([self.seed, c]).integers(2**31))
            hyper = fit_hyper(X[idx], y, maxiter=self.fit_maxiter, seed=seed)
            self._hyper = {c: hyper}
        idx, y = self._select(self.n_told)
        if idx.size < 2 or np.ptp(y) <= 0:
            return None
        return GPSurrogate(X[idx], y, hyper)

    def _digest_extra(self, h: "hashlib._Hash") -> None:
        h.update(repr((self.n_init, self.pool_size, self.local_size, self.n_parents, self.batch_size, self.acquisition,
                       self.kappa, self.explore_prob, self.max_best, self.max_recent, self.refit_every,
                       self.fit_maxiter, self.acq_rounds, self.acq_size)).encode())
        for X, k in zip(self._X, self._keys):
            h.update(np.ascontiguousarray(X).tobytes())
            h.update(np.ascontiguousarray(k).tobytes())

    # ---- proposals -----------------------------------------------------------------------------
    def _random(self, n: int, rng: np.random.Generator) -> Mappings:
        return self.space.sample(n, seed=rng)

    def _pool(self, rng: np.random.Generator) -> Mappings:
        return self._random(self.pool_size, rng)

    def _feasibility(self, surrogate: GPSurrogate) -> FeasibilityModel | None:
        """The model of the learned constraint for this proposal (``None``: the acquisition is unweighted)."""
        return None

    def _acquisition(self, surrogate: GPSurrogate) -> Callable[[Mappings], np.ndarray]:
        """Acquisition values ``[B]`` (higher is better) of a batch of mappings, weighted by P(feasible)."""
        arch, layer = self.space.arch, self.space.layer
        feasibility = self._feasibility(surrogate)
        weighting = self.feasibility_weighting[self.acquisition]

        def values(m: Mappings) -> np.ndarray:
            X = self.features(arch, layer, m)
            mu, sd = surrogate.mean_std(X)
            acq = acquisition_values(self.acquisition, mu, sd, best=surrogate.y_min, kappa=self.kappa)
            return acq if feasibility is None else weight_by_feasibility(acq, feasibility.log_prob(X), weighting)

        return values

    def _best_new(self, surrogate: GPSurrogate, q: int, rng: np.random.Generator) -> Mappings:
        """The ``q`` best new mappings by the acquisition: the pool (:meth:`_pool`) is scored, then
        ``acq_rounds`` rounds of local search on the acquisition follow when the searcher has local
        moves (the ``n_parents`` best-scoring candidates mutated into ``acq_size`` new ones each round)."""
        arch = self.space.arch
        ops = PoolOps(keys=lambda m: row_hashes(m, arch), take=lambda m, idx: m.subset(idx),
                      join=lambda a, b: Mappings.concat([a, _strip(b, a)]))
        moves = self._moves
        neighbours = None if moves is None else (lambda parents, r: moves.mutate(parents, self.acq_size, r))
        _, _, _, told = self._history()
        chosen, _ = optimize_discrete(self._acquisition(surrogate), self._pool(rng), q, ops=ops, seen=told,
                                      neighbours=neighbours, rounds=self.acq_rounds, n_parents=self.n_parents, rng=rng)
        return chosen

    def _propose(self, n: int, rng: np.random.Generator) -> Mappings:
        if self.n_told < self.n_init:
            return self._random(min(n, self.n_init - self.n_told), rng)
        n = min(n, self.batch_size)
        n_explore = int(rng.binomial(n, self.explore_prob)) if self.explore_prob > 0 else 0
        parts: list[Mappings] = []
        if n > n_explore:
            surrogate = self._surrogate()
            if surrogate is not None:
                chosen = self._best_new(surrogate, n - n_explore, rng)
                if len(chosen):
                    parts.append(chosen)
        n_explore = n - sum(len(p) for p in parts)
        if n_explore:
            parts.append(self._random(n_explore, rng))
        return Mappings.concat([_strip(p, parts[0]) for p in parts]) if len(parts) > 1 else parts[0]


class ConstrainedBO(_GPSearch):
    """The paper's constrained BO over valid-by-construction mappings (see the module docstring)."""

    name = "bo"

    def __init__(self, space, **kwargs: Any) -> None:
        super().__init__(space, **kwargs)
        self._moves = MoveSet(space, accept=partial(known_valid, space))

    def _pool(self, rng: np.random.Generator) -> Mappings:
        fresh = self._random(self.pool_size, rng)
        if self.local_size <= 0 or self.n_parents <= 0:
            return fresh
        _, logv, valid, _ = self._history()
        idx = np.flatnonzero(valid)
        if idx.size == 0:
            return fresh
        parents = self._told_rows(idx[np.argsort(logv[idx], kind="stable")[: self.n_parents]])
        local = self._moves.mutate(parents, self.local_size, rng)
        return Mappings.concat([local, _strip(fresh, local)]) if len(local) else fresh

    def _feasibility(self, surrogate: GPSurrogate) -> FeasibilityModel | None:
        X, _, valid, _ = self._history()
        if valid.all() or not valid.any():
            return None
        rows = slice(max(0, len(valid) - FEASIBILITY_ROWS), None)
        return FeasibilityModel(X[rows], valid[rows], standardise=self.feasibility_standardise,
                                gp_scaling=surrogate.hyper.scaling)


def _strip(m: Mappings, like: Mappings) -> Mappings:
    """``m`` with its optional per-axis orders dropped when ``like`` lacks them (so the two concat)."""
    if (m.order_x is None) == (like.order_x is None) and (m.order_y is None) == (like.order_y is None):
        return m
    return Mappings(m.temporal, m.spatial_x, m.spatial_y, m.order, m.keep)


class VanillaBO(_GPSearch):
    """BO on the raw parameters over the unconstrained space, invalid points penalised (the ablation)."""

    name = "vanilla-bo"
    features = staticmethod(raw_features)

    def __init__(self, space, **kwargs: Any) -> None:
        kwargs.setdefault("local_size", 0)
        super().__init__(space, **kwargs)

    def _random(self, n: int, rng: np.random.Generator) -> Mappings:
        return self.space.uniform_unconstrained(n, seed=rng)

    def _targets(self, logv: np.ndarray, valid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if not valid.any():
            return np.zeros(0, dtype=np.int64), np.zeros(0)
        worst = float(logv[valid].max())
        return np.arange(len(logv)), np.where(valid, logv, worst + 1.0)


__all__ = [
    "ConstrainedBO",
    "VanillaBO",
]
