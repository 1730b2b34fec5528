"""Outer (hardware) optimizers for co-design, with the same ask/tell discipline as the mappers.

A hardware point is a vector of grid indices ``[P]`` of an :class:`~cosearch.arch.hwspace.HWSpace`.
``ask(n)`` returns ``[n, P]`` points that satisfy the *known* constraints (area within budget, and with
a searched clock, SRAMs that meet the point's clock: :meth:`~cosearch.arch.hwspace.HWSpace.clock_feasible`) by
construction and were not proposed before; ``tell(points, values)`` reports their objective values
(``inf`` for a point found infeasible after evaluation, e.g. some layer has no valid mapping, which
is the *learned* constraint). Randomness comes from a generator seeded by ``(seed, told so far)``,
and state changes only in ``tell``, so replaying the told trials rebuilds an optimizer (resume).

Optimizers: ``random``; ``ga`` (crossover per parameter, mutation by grid steps); ``bo`` (the
paper's constrained BO: a GP on the log objective of feasible points over normalised grid indices and
derived features (log PE count, log area and, given the workloads, how well the mesh fits their dims:
:mod:`.mesh_fit`), a logistic feasibility model on all points, LCB or log-EI over a pool of
valid-by-construction candidates plus neighbours of the best); ``vanilla-bo`` (the same GP on raw
parameters over unconstrained candidates, points over budget penalised instead of avoided).

Multi-objective (``objectives=M > 1``, the ``pareto`` co-design objective: energy, cycles, area, all
minimised): ``tell`` takes ``[n, M]`` values and the scalar ``values`` become each point's
non-dominated rank (1 = on the Pareto front), which ``ga`` and ``bo``'s local candidates use as they
are. ``bo`` then scores candidates by expected hypervolume improvement (:mod:`cosearch._gp.pareto`):
one GP per unknown objective (log energy, log cycles), area known exactly, times the feasibility
model; a batch is chosen greedily, each pick's predicted mean joining the front before the next
(Kriging believer). ``vanilla-bo`` is single-objective only.

The GP, acquisition functions, feasibility model and pool optimisation are :mod:`cosearch._gp`,
shared with the mapping BO; :class:`BOHW` states how its feasibility model weights each acquisition
(``feasibility_weighting``) and standardises its inputs (``feasibility_standardise``).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Callable, ClassVar

import numpy as np

from .._gp.acquisition import ACQUISITIONS, PENALTY_WEIGHT, acquisition_values, weight_by_feasibility
from .._gp.feasibility import FeasibilityModel
from .._gp.gp import GPSurrogate, fit_hyper
from .._gp.optimize import PoolOps, fresh_rows, kriging_believer_batch, optimize_discrete
from .._gp.pareto import pareto_front_mask
from ..arch.area import AreaModel
from ..arch.hwspace import HWSpace
from ..errors import CosearchError
from ..workload.layer import Network
from .mesh_fit import MeshFit


class HWOptimizer(ABC):
    """Base class: history of told points and values, best so far, replayable randomness."""

    name: ClassVar[str] = "hw"
    constrained: ClassVar[bool] = True  # proposals satisfy the area budget by construction

    def __init__(self, space: HWSpace, *, area_budget_mm2: float, seed: int = 0, area: AreaModel | None = None,
                 objectives: int = 1, workloads: Sequence[Network] = ()) -> None:
        """``workloads``: the networks the study maps (optimizers that model the objective may use their
        layer shapes; the others ignore them)."""
        if objectives < 1:
            raise CosearchError(f"objectives must be at least 1, got {objectives}")
        self.space = space
        self.workloads = tuple(workloads)
        self.n_objectives = int(objectives)
        self.objective_values = np.zeros((0, self.n_objectives))  # [n, M] as told
        self.budget = float(area_budget_mm2)
        self.seed = int(seed)
        self.area = area or AreaModel(space)
        self.points = np.zeros((0, len(space.names)), dtype=np.int64)
        self.values = np.zeros(0)
        if self.area.smallest() > self.budget:
            raise CosearchError(
                f"area budget {self.budget:.3f} mm² is below the smallest design of hardware space "
                f"{space.name} ({self.area.smallest():.3f} mm²)"
            )

    @property
    def n_told(self) -> int:
        return len(self.values)

    def ask(self, n: int) -> np.ndarray:
        rng = np.random.default_rng([self.seed, self.n_told, 7])
        pts = self._propose(n, rng)
        return pts[:n]

    def tell(self, points: np.ndarray, values: np.ndarray) -> None:
        """``values``: ``[n]`` objective values, or ``[n, M]`` with ``M = objectives`` (``inf``: infeasible)."""
        self.points = np.concatenate([self.points, np.asarray(points, dtype=np.int64).reshape(-1, self.points.shape[1])])
        vals = np.asarray(values, dtype=np.float64).reshape(-1, self.n_objectives)
        self.objective_values = np.concatenate([self.objective_values, vals])
        if self.n_objectives == 1:
            self.values = np.concatenate([self.values, vals[:, 0]])  # (vanilla-bo rewrites its own copy)
        else:
            from .._gp.pareto import pareto_ranks

            self.values = pareto_ranks(self.objective_values)

    @property
    def best(self) -> tuple[np.ndarray | None, float]:
        if not len(self.values) or not np.isfinite(self.values).any():
            return None, float("inf")
        i = int(np.argmin(self.values))
        return self.points[i], float(self.values[i])

    # ---- helpers -----------------------------------------------------------------------------------
    def _seen(self, pts: np.ndarray) -> np.ndarray:
        if not len(self.points):
            return np.zeros(len(pts), dtype=bool)
        told = {tuple(p) for p in self.points.tolist()}
        return np.array([tuple(p) in told for p in pts.tolist()], dtype=bool)

    def _valid_new(self, pts: np.ndarray) -> np.ndarray:
        """Distinct rows within budget that were not told before."""
        if not len(pts):
            return pts
        pts = pts[self.area(pts) <= self.budget] if self.constrained else pts
        pts = pts[self.space.clock_feasible(pts)]  # a searched clock its SRAMs cannot meet: never a design
        pts = pts[~self._seen(pts)]
        _, first = np.unique(pts, axis=0, return_index=True)
        return pts[np.sort(first)]

    def _random_valid(self, n: int, rng: np.random.Generator, *, tries: int = 200) -> np.ndarray:
        out = np.zeros((0, len(self.space.names)), dtype=np.int64)
        for _ in range(tries):
            cand = self._valid_new(np.concatenate([out, self.space.random_points(max(4 * n, 64), rng)]))
            out = cand[:n]
            if len(out) >= n:
                break
        if not len(out):
            raise CosearchError(f"no new hardware point within {self.budget:.3f} mm² could be drawn "
                                f"(the space may be exhausted)")
        return out

    def _neighbours(self, pts: np.ndarray, rng: np.random.Generator, k: int) -> np.ndarray:
        """``k`` random grid neighbours (one or two parameters moved one or two steps) of each point."""
        sizes = self.space.sizes
        rep = np.repeat(pts, k, axis=0)
        for _ in range(2):
            j = rng.integers(0, len(sizes), len(rep))
            step = rng.choice([-2, -1, 1, 2], len(rep))
            moved = rng.random(len(rep)) < 0.7
            rep[np.arange(len(rep)), j] = np.clip(rep[np.arange(len(rep)), j] + step * moved, 0, sizes[j] - 1)
        return rep

    @abstractmethod
    def _propose(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """Up to ``n`` new points, valid by construction."""


class RandomHW(HWOptimizer):
    name = "random"

    def _propose(self, n: int, rng: np.random.Generator) -> np.ndarray:
        return self._random_valid(n, rng)


class GeneticHW(HWOptimizer):
    """Generational GA: tournament selection over told points, uniform crossover per parameter
    (probability 0.8), mutation by a grid step per parameter (probability 0.05, at least one)."""

    name = "ga"

    def __init__(self, space: HWSpace, *, population: int = 10, **kw) -> None:
        super().__init__(space, **kw)
        self.population = int(population)

    def _propose(self, n: int, rng: np.random.Generator) -> np.ndarray:
        feasible = np.isfinite(self.values)
        if feasible.sum() < 2:
            return self._random_valid(n, rng)
        pop = self.points[feasible]
        vals = self.values[feasible]
        order = np.argsort(vals, kind="stable")[: max(self.population, 2)]
        pop, vals = pop[order], vals[order]
        out = np.zeros((0, pop.shape[1]), dtype=np.int64)
        for _ in range(50):
            m = 4 * n
            a = np.minimum(rng.integers(0, len(pop), m), rng.integers(0, len(pop), m))  # tournament of 2 (sorted)
            b = np.minimum(rng.integers(0, len(pop), m), rng.integers(0, len(pop), m))
            cross = rng.random(m) < 0.8
            take_b = (rng.random(pop[a].shape) < 0.5) & cross[:, None]
            child = np.where(take_b, pop[b], pop[a])
            mut = rng.random(child.shape) < 0.05
            mut[np.arange(m), rng.integers(0, child.shape[1], m)] |= ~cross
            step = rng.choice([-1, 1], child.shape)
            child = np.clip(child + step * mut, 0, self.space.sizes[None, :] - 1)
            out = self._valid_new(np.concatenate([out, child]))[:n]
            if len(out) >= n:
                return out
        return np.concatenate([out, self._random_valid(n - len(out), rng)]) if len(out) < n else out


def _point_keys(pts: np.ndarray) -> np.ndarray:
    """``[n]`` keys of hardware points ``[n, P]`` (equal rows, equal keys; one opaque bytes value per row)."""
    pts = np.ascontiguousarray(pts, dtype=np.int64)
    return pts.view(np.dtype((np.void, 8 * pts.shape[1]))).ravel()


_POINT_OPS = PoolOps(keys=_point_keys, take=lambda pts, idx: pts[idx], join=lambda a, b: np.concatenate([a, b]))


class BOHW(HWOptimizer):
    """The paper's constrained BO over hardware (see module docstring).

    Settings: ``n_init`` random points first, a pool of ``pool`` valid-by-construction candidates
    plus ``pool // 10`` grid neighbours of each of the ``n_parents`` best told points, ``acquisition``
    (``"lcb"`` with ``kappa``, or ``"logei"``; EHVI for several objectives), and each chosen point
    replaced by a random one with probability ``explore``. Under LCB the ``i``-th point of a batch uses
    ``kappa · kappa_growth**i`` (:meth:`_kappa_batch`); under log-EI a batch is the top ``n``.
    """

    name = "bo"
    n_parents: ClassVar[int] = 5  # best told points whose neighbours join the candidate pool
    fit_maxiter: ClassVar[int] = 50  # L-BFGS iterations of each GP hyperparameter fit
    # How P(feasible) of the learned-constraint model weights each acquisition
    # (cosearch._gp.acquisition.weight_by_feasibility): -LCB loses PENALTY_WEIGHT · (1 - P), in units
    # of the log objective; log P is added to log-EI and to log-EHVI. (The mapping BO adds log P to both
    # of its acquisitions.)
    feasibility_weighting: ClassVar[dict[str, str]] = {"lcb": "penalty", "logei": "log", "ehvi": "log"}
    # How the feasibility model's inputs are standardised (cosearch._gp.feasibility.STANDARDISATIONS).
    feasibility_standardise: ClassVar[str] = "zscore"
    # LCB batches: the i-th point of a batch uses kappa · kappa_growth**i (1: the batch is the top n by
    # one LCB, as before)
    kappa_growth: ClassVar[float] = 2.0

    def __init__(self, space: HWSpace, *, n_init: int = 10, pool: int = 1000, acquisition: str = "lcb",
                 kappa: float = 1.0, explore: float = 0.1, **kw) -> None:
        super().__init__(space, **kw)
        if acquisition not in ACQUISITIONS:
            raise CosearchError(f"unknown acquisition {acquisition!r} (choose lcb or logei)")
        self.n_init, self.pool, self.acquisition = int(n_init), int(pool), acquisition
        self.kappa, self.explore = float(kappa), float(explore)
        self.mesh_fit = MeshFit(space, self.workloads) if self.workloads else None

    def features(self, pts: np.ndarray) -> np.ndarray:
        """Normalised grid indices plus log2 PE count and log2 area, ``[n, P + 2]``; given workloads, also
        the log compute-bound cycles floor of each point's mesh (:class:`~.mesh_fit.MeshFit`), ``[n, P + 3]``."""
        idx = pts / np.maximum(self.space.sizes[None, :] - 1, 1)
        pes = self.space.pe_counts(pts)
        cols = [idx, np.log2(pes)[:, None], np.log2(self.area(pts))[:, None]]
        if self.mesh_fit is not None:
            cols.append(self.mesh_fit(pts)[:, None])
        return np.concatenate(cols, axis=1)

    def _candidates(self, rng: np.random.Generator) -> np.ndarray:
        pool = self._random_valid(self.pool, rng)
        best, _ = self.best
        if best is not None:
            top = self.points[np.argsort(self.values, kind="stable")[: self.n_parents]]
            pool = np.concatenate([pool, self._valid_new(self._neighbours(top, rng, self.pool // 10))])
        return pool

    def _fit_gp(self, X: np.ndarray, y: np.ndarray, rng: np.random.Generator) -> GPSurrogate:
        """A GP on features ``X [n, F]`` and log objective ``y [n]``, hyperparameters fitted afresh."""
        hyper = fit_hyper(X, y, maxiter=self.fit_maxiter, seed=int(rng.integers(2**31)))
        return GPSurrogate(X, y, hyper)

    def _feasibility(self, X: np.ndarray, feasible: np.ndarray) -> FeasibilityModel | None:
        """The learned-constraint model on all told points, ``None`` while every one was feasible."""
        if feasible.all():
            return None
        return FeasibilityModel(X, feasible, standardise=self.feasibility_standardise)

    def _acquisition(self, gp: GPSurrogate, feasibility: FeasibilityModel | None) -> Callable[[np.ndarray], np.ndarray]:
        """Acquisition values ``[n]`` (higher is better) of points ``[n, P]``, weighted by P(feasible)."""
        weighting = self.feasibility_weighting[self.acquisition]

        def values(pts: np.ndarray) -> np.ndarray:
            Xc = self.features(pts)
            mu, sd = gp.mean_std(Xc)
            acq = acquisition_values(self.acquisition, mu, sd, best=gp.y_min, kappa=self.kappa)
            return acq if feasibility is None else weight_by_feasibility(acq, feasibility.log_prob(Xc), weighting)

        return values

    def _propose(self, n: int, rng: np.random.Generator) -> np.ndarray:
        feasible = np.isfinite(self.values)
        if self.n_told < self.n_init or feasible.sum() < 3:
            return self._random_valid(n, rng)
        if self.n_objectives > 1:
            return self._propose_pareto(n, rng)
        X = self.features(self.points)
        gp = self._fit_gp(X[feasible], np.log(self.values[feasible]), rng)
        feasibility = self._feasibility(X, feasible)
        if self.acquisition == "lcb" and self.kappa_growth != 1.0:
            pool, _ = fresh_rows(_POINT_OPS, self._candidates(rng), _point_keys(self.points))
            return self._explore(self._kappa_batch(gp, feasibility, pool, n), rng)
        chosen, _ = optimize_discrete(self._acquisition(gp, feasibility), self._candidates(rng), n, ops=_POINT_OPS,
                                      seen=_point_keys(self.points))
        return self._explore(chosen, rng)

    def _kappa_batch(self, gp: GPSurrogate, feasibility: FeasibilityModel | None, pool: np.ndarray,
                     n: int) -> np.ndarray:
        """``[<= n, P]`` points of ``pool [N, P]`` (new, distinct): the ``i``-th maximises -LCB with
        ``kappa · kappa_growth**i`` among those not chosen yet (ties: pool order), so a batch spans
        exploitation and exploration instead of being ``n`` neighbours of one optimum. The feasibility
        penalty grows alike, so exploring does not buy its way into a learned-infeasible region."""
        Xc = self.features(pool)
        mu, sd = gp.mean_std(Xc)
        log_p = feasibility.log_prob(Xc) if feasibility is not None else None
        taken = np.zeros(len(pool), dtype=bool)
        picks: list[int] = []
        for i in range(min(n, len(pool))):
            scale = self.kappa_growth**i
            acq = acquisition_values("lcb", mu, sd, best=gp.y_min, kappa=self.kappa * scale)
            if log_p is not None:
                acq = weight_by_feasibility(acq, log_p, self.feasibility_weighting["lcb"],
                                            penalty=PENALTY_WEIGHT * scale)
            acq = np.where(taken, -np.inf, acq)
            j = int(np.argmax(acq))
            taken[j] = True
            picks.append(j)
        return pool[np.array(picks, dtype=np.int64)]

    def _explore(self, chosen: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Replace each chosen point by a random valid one with probability ``explore`` (authors: 0.1)."""
        explore = rng.random(len(chosen)) < self.explore
        if explore.any():
            chosen = chosen.copy()
            chosen[explore] = self._random_valid(int(explore.sum()), rng)
            chosen = self._valid_new(chosen)
        return chosen

    def _propose_pareto(self, n: int, rng: np.random.Generator, samples: int = 64) -> np.ndarray:
        """Expected hypervolume improvement over the candidate pool, objectives ``(energy, cycles, area)``
        in log space normalised by the feasible points' range; area (the last) is computed, not modelled."""
        feasible = np.isfinite(self.values)
        X = self.features(self.points)
        logz = np.log(self.objective_values[feasible])
        lo, span = logz.min(axis=0), np.maximum(np.ptp(logz, axis=0), 1e-9)
        cand, _ = fresh_rows(_POINT_OPS, self._candidates(rng), _point_keys(self.points))
        Xc = self.features(cand)
        M = self.n_objectives
        mean, std = np.zeros((len(cand), M)), np.zeros((len(cand), M))
        for m in range(M - 1):
            mu, sd = self._fit_gp(X[feasible], logz[:, m], rng).mean_std(Xc)
            mean[:, m], std[:, m] = (mu - lo[m]) / span[m], sd / span[m]
        mean[:, M - 1] = (np.log(self.area(cand)) - lo[M - 1]) / span[M - 1]
        norm = (logz - lo) / span
        front = norm[pareto_front_mask(norm)]
        ref = np.full(M, 1.1)  # just beyond the worst feasible point in every objective
        eps = rng.standard_normal((samples, M))
        eps[:, M - 1] = 0.0
        feasibility = self._feasibility(X, feasible)
        log_p = np.zeros(len(cand)) if feasibility is None else feasibility.log_prob(Xc)
        picked = kriging_believer_batch(front, ref, mean, std, eps, n, log_p=log_p,
                                        weighting=self.feasibility_weighting["ehvi"])
        return self._explore(cand[picked], rng)


class VanillaBOHW(BOHW):
    """BO on raw parameter values over unconstrained candidates; over-budget points are evaluated
    as trials and penalised (the ablation the paper improves on)."""

    name = "vanilla-bo"
    constrained = False

    def __init__(self, space: HWSpace, **kw) -> None:
        super().__init__(space, **kw)
        if self.n_objectives > 1:
            raise CosearchError("vanilla-bo optimizes one objective; for pareto use bo, random or ga")

    def features(self, pts: np.ndarray) -> np.ndarray:
        grids = self.space.grids()
        return np.stack([grids[j][pts[:, j]] for j in range(pts.shape[1])], axis=1).astype(np.float64)

    def tell(self, points: np.ndarray, values: np.ndarray) -> None:
        super().tell(points, values)
        fin = np.isfinite(self.values)
        if fin.any() and (~fin).any():  # penalise: worst feasible value x 10
            self.values = np.where(fin, self.values, self.values[fin].max() * 10)

    def _propose(self, n: int, rng: np.random.Generator) -> np.ndarray:
        if self.n_told < self.n_init or np.isfinite(self.values).sum() < 3:
            # nothing to model yet (e.g. every point so far over the area budget): keep sampling
            return self._valid_new(self.space.random_points(n, rng))[:n]
        gp = self._fit_gp(self.features(self.points), np.log(self.values), rng)
        pool = self.space.random_points(self.pool, rng)
        pool = pool[self.space.clock_feasible(pool)]  # the area budget is ignored, a searched clock's limit not
        chosen, _ = optimize_discrete(self._acquisition(gp, None), pool, n,
                                      ops=_POINT_OPS, seen=_point_keys(self.points))
        return chosen


HW_OPTIMIZERS: dict[str, type[HWOptimizer]] = {
    "random": RandomHW, "ga": GeneticHW, "bo": BOHW, "vanilla-bo": VanillaBOHW,
}


def make_hw_optimizer(name: str, space: HWSpace, **kw) -> HWOptimizer:
    cls = HW_OPTIMIZERS.get(name)
    if cls is None:
        raise CosearchError(f"unknown hardware optimizer {name!r} (choose from {', '.join(HW_OPTIMIZERS)})")
    return cls(space, **kw)

