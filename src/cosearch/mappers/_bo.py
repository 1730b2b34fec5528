"""Bayesian optimization of mappings: the paper's constrained BO (``"bo"``) and the vanilla ablation.

:class:`ConstrainedBO` follows Shi et al. (2020) and the settings of the authors' public code
(``docs/method.md``):

* **Warm-up:** ``n_init = 30`` random valid-by-construction samples (``MapSpace.sample``).
* **Surrogate:** an exact GP (BoTorch ``SingleTaskGP``, float64, RBF kernel with ARD and BoTorch's
  dimension-scaled priors) on :func:`~cosearch.mappers._features.domain_features`, min-max scaled
  on the training set (columns constant there are dropped); the outcome is the natural log of the
  objective (EDP by default) of the **valid** evaluated points only, standardised by the model.
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
  not know) train an L2-regularised logistic model on the same scaled features; acquisition values
  are multiplied by its ``P(feasible)`` (added in log space). With MapSpace's valid-by-construction
  samples and known-constraint checks no evaluated point is invalid, and the model is a no-op.
* **Acquisition:** ``"lcb"`` (default, as the authors: ``μ − κσ`` of the log objective, ``κ = 1``;
  scored as ``−LCB + log P(feasible)``, i.e. the log of ``P(feasible) / exp(LCB)``) or ``"logei"``
  (BoTorch's ``LogExpectedImprovement`` below the best training value, plus ``log P(feasible)``).
* **Acquisition optimisation:** a pool of ``pool_size = 1000`` fresh valid-by-construction samples
  plus ``local_size = 1000`` local mutations of the ``n_parents = 10`` best evaluated mappings (a
  prime factor moved between two slots of one dim, two loops swapped at one level, a bypass
  flipped; one to three moves, kept only when they satisfy the known constraints: mesh fan-out and
  buffer capacity, checked by :func:`~cosearch.model.evaluate.check_valid`, and the map space's own
  ``allows``) is scored; then ``acq_rounds = 2`` rounds of local search on the acquisition function
  mutate the ``n_parents`` best-scoring candidates into ``acq_size = 500`` more each. Candidates
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
the same proposals. torch and BoTorch are imported lazily, on the first model fit.
"""

from __future__ import annotations

import hashlib
import warnings
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from typing import Any, Callable, Iterator

import numpy as np

from ..errors import CosearchError
from ..mapping.identity import row_hashes
from ..mapping.mapping import Mappings
from ..mapping.moves import MoveSet
from ..model.evaluate import Costs
from .base import Optimizer, known_valid
from ._features import domain_features, raw_features

ACQUISITIONS: tuple[str, ...] = ("lcb", "logei")



# ---------------------------------------------------------------------------------------------------
# the GP surrogate (torch / BoTorch imported here only)


@dataclass
class _Hyper:
    """Hyperparameters fitted at one checkpoint, and the input scaling they belong to."""

    cols: np.ndarray  # [F'] indices of the feature columns used
    lo: np.ndarray  # [F'] min over the training set
    span: np.ndarray  # [F'] max - min (> 0)
    state: dict  # the GP's state dict without the outcome transform's buffers


def _torch():
    """torch, with BoTorch and GPyTorch imported once (their import-time deprecation warnings silenced)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import botorch  # noqa: F401
        import gpytorch  # noqa: F401
        import torch
    return torch


@contextmanager
def _torch_settings() -> Iterator[None]:
    """One intra-op thread (GPs of <= 300 points gain nothing from more, the cost model's threads
    compete for the cores, and one thread keeps floating-point sums in a fixed order), exact
    Cholesky-based computations, warnings from BoTorch's input checks silenced."""
    torch = _torch()
    import gpytorch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with gpytorch.settings.fast_computations(False, False, False), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        torch.set_num_threads(threads)


def _scale(X: np.ndarray, h: _Hyper) -> np.ndarray:
    return (X[:, h.cols] - h.lo) / h.span


def _build_gp(Xs: np.ndarray, y: np.ndarray):
    torch = _torch()
    from botorch.models import SingleTaskGP
    from botorch.models.transforms.outcome import Standardize

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return SingleTaskGP(
            torch.as_tensor(Xs, dtype=torch.float64),
            torch.as_tensor(y[:, None], dtype=torch.float64),
            outcome_transform=Standardize(m=1),
        )


def fit_hyper(X: np.ndarray, y: np.ndarray, *, maxiter: int, seed: int) -> _Hyper:
    """Fit GP hyperparameters on features ``X [N, F]`` and targets ``y [N]`` (deterministic for a seed)."""
    torch = _torch()
    from botorch.optim.fit import fit_gpytorch_mll_scipy
    from gpytorch.mlls import ExactMarginalLogLikelihood

    lo, hi = X.min(axis=0), X.max(axis=0)
    cols = np.flatnonzero(hi - lo > 1e-9)
    if cols.size == 0:
        cols = np.array([0])
    h = _Hyper(cols, lo[cols], np.maximum(hi[cols] - lo[cols], 1e-9), {})
    with _torch_settings(), torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        gp = _build_gp(_scale(X, h), y)
        if maxiter > 0:
            mll = ExactMarginalLogLikelihood(gp.likelihood, gp)
            mll.train()
            try:
                fit_gpytorch_mll_scipy(mll, options={"maxiter": int(maxiter)})
            except Exception:  # numerical trouble: keep the priors' initial values
                gp = _build_gp(_scale(X, h), y)
    h.state = {k: v.detach().clone() for k, v in gp.state_dict().items() if not k.startswith("outcome_transform")}
    return h


class GPSurrogate:
    """A GP with fixed hyperparameters conditioned on a training set, for scoring candidates.

    Predictions use the GP's own mean and kernel modules and one Cholesky factor of the training
    covariance, computing only the marginal variances (pools of thousands of candidates stay cheap).
    """

    def __init__(self, X: np.ndarray, y: np.ndarray, hyper: _Hyper) -> None:
        torch = _torch()
        self.hyper = hyper
        self.best = float(y.min())
        with torch.no_grad(), _torch_settings():
            gp = _build_gp(_scale(X, hyper), y)
            gp.load_state_dict(hyper.state, strict=False)
            gp.eval()
            Xtr = gp.train_inputs[0]
            ytr = gp.train_targets  # standardised by the outcome transform
            K = gp.covar_module(Xtr).to_dense()
            K = K + gp.likelihood.noise.reshape(()) * torch.eye(K.shape[0], dtype=K.dtype)
            jitter = 0.0
            for _ in range(6):
                chol, info = torch.linalg.cholesky_ex(K + jitter * torch.eye(K.shape[0], dtype=K.dtype))
                if int(info) == 0:
                    break
                jitter = max(1e-8, jitter * 10)
            self.gp, self.chol, self.xtr = gp, chol, Xtr
            self.alpha = torch.cholesky_solve((ytr - gp.mean_module(Xtr))[:, None], chol)
            tf = gp.outcome_transform
            self.y_mean = float(tf.means.reshape(-1)[0])
            self.y_std = float(tf.stdvs.reshape(-1)[0])

    def mean_std(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Posterior mean and standard deviation of the latent log objective at ``X [N, F]``."""
        torch = _torch()
        Xt = torch.as_tensor(_scale(X, self.hyper), dtype=torch.float64)
        mus, sds = [], []
        with torch.no_grad(), _torch_settings():
            for a in range(0, Xt.shape[0], 4096):
                x = Xt[a : a + 4096]
                ks = self.gp.covar_module(x, self.xtr).to_dense()  # [n, N_train]
                mu = self.gp.mean_module(x) + (ks @ self.alpha).squeeze(-1)
                v = torch.linalg.solve_triangular(self.chol, ks.T, upper=False)
                var = self.gp.covar_module(x, diag=True) - (v * v).sum(dim=0)
                mus.append(mu.numpy() * self.y_std + self.y_mean)
                sds.append(var.clamp_min(1e-12).sqrt().numpy() * self.y_std)
        if not mus:
            return np.zeros(0), np.zeros(0)
        return np.concatenate(mus), np.concatenate(sds)

    def score(self, X: np.ndarray, acquisition: str, kappa: float) -> np.ndarray:
        """Acquisition values (higher is better) for minimising the log objective."""
        mu, sd = self.mean_std(X)
        if acquisition == "lcb":
            return -(mu - kappa * sd)
        return log_ei(self.best, mu, sd)


def log_ei(best: float, mu: np.ndarray, sd: np.ndarray) -> np.ndarray:
    """log of the expected improvement below ``best`` for Gaussian ``(mu, sd)``: the formula of
    BoTorch's ``LogExpectedImprovement`` (``log h(u) + log sd``, ``u = (best - mu) / sd``,
    ``h(u) = φ(u) + u·Φ(u)``, with the same asymptotic branch for very negative ``u``), in NumPy.
    (BoTorch's torch version hits denormal exponentials on CPU and was ~10x slower per pool.)"""
    from scipy.special import erfcx, ndtr

    u = (best - mu) / sd
    out = np.empty_like(u)
    hi = u > -1.0
    uh = u[hi]
    out[hi] = np.log(np.exp(-0.5 * uh * uh) / np.sqrt(2 * np.pi) + uh * ndtr(uh))
    ul = u[~hi]
    log_phi = -0.5 * ul * ul - 0.5 * np.log(2 * np.pi)
    with np.errstate(divide="ignore", invalid="ignore"):
        w = 1.0 + ul * np.sqrt(np.pi / 2) * erfcx(-ul / np.sqrt(2))  # = h(u) / φ(u), > 0
        tail = np.where(ul < -1e6, -2.0 * np.log(-ul), np.log(np.maximum(w, 1e-300)))
    out[~hi] = log_phi + tail
    return out + np.log(sd)


def logistic_logp(Xtr: np.ndarray, ok: np.ndarray, Xc: np.ndarray, l2: float = 1.0, iters: int = 25) -> np.ndarray:
    """``log P(feasible)`` for ``Xc`` from an L2-regularised logistic regression on ``(Xtr, ok)`` (IRLS)."""
    A = np.concatenate([Xtr, np.ones((len(Xtr), 1))], axis=1)
    t = ok.astype(np.float64)
    w = np.zeros(A.shape[1])
    reg = l2 * np.eye(A.shape[1])
    reg[-1, -1] = 1e-6
    for _ in range(iters):
        z = A @ w
        p = 1.0 / (1.0 + np.exp(-z))
        g = A.T @ (p - t) + reg @ w
        H = (A * (p * (1 - p))[:, None]).T @ A + reg
        step = np.linalg.solve(H, g)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    z = np.concatenate([Xc, np.ones((len(Xc), 1))], axis=1) @ w
    return -np.logaddexp(0.0, -z)


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
        self._hyper: dict[int, _Hyper] = {}  # checkpoint -> fitted hyperparameters (a cache)
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

    def _feasibility(self, surrogate: GPSurrogate, Xc: np.ndarray) -> np.ndarray:
        return np.zeros(len(Xc))

    def _fresh(self, m: Mappings, seen: np.ndarray) -> tuple[Mappings, np.ndarray]:
        """Rows of ``m`` whose canonical key is neither in ``seen`` nor repeated earlier in ``m``, and their keys."""
        keys = row_hashes(m, self.space.arch)
        _, first = np.unique(keys, return_index=True)
        ok = np.zeros(len(m), dtype=bool)
        ok[first] = True
        ok &= ~np.isin(keys, seen)
        return m.subset(ok), keys[ok]

    def _acq(self, surrogate: GPSurrogate, X: np.ndarray) -> np.ndarray:
        return surrogate.score(X, self.acquisition, self.kappa) + self._feasibility(surrogate, X)

    def _scored_pool(self, surrogate: GPSurrogate, rng: np.random.Generator) -> tuple[Mappings, np.ndarray]:
        """The candidate pool (new mappings only) and its acquisition values.

        After scoring the initial pool, ``acq_rounds`` rounds of local search on the acquisition
        function follow (when the searcher has local moves): the ``n_parents`` best-scoring
        candidates are mutated into ``acq_size`` new ones, which are scored and join the pool.
        """
        _, _, _, told = self._history()
        pool, keys = self._fresh(self._pool(rng), told)
        if len(pool) == 0:
            return pool, np.zeros(0)
        arch, layer = self.space.arch, self.space.layer
        score = self._acq(surrogate, self.features(arch, layer, pool))
        if self._moves is None:
            return pool, score
        for _ in range(self.acq_rounds):
            top = np.argsort(-score, kind="stable")[: max(1, self.n_parents)]
            kids = self._moves.mutate(pool.subset(top), self.acq_size, rng)
            kids, kkeys = self._fresh(kids, np.concatenate([told, keys]))
            if len(kids) == 0:
                break
            pool = Mappings.concat([pool, _strip(kids, pool)])
            keys = np.concatenate([keys, kkeys])
            score = np.concatenate([score, self._acq(surrogate, self.features(arch, layer, kids))])
        return pool, score

    def _propose(self, n: int, rng: np.random.Generator) -> Mappings:
        if self.n_told < self.n_init:
            return self._random(min(n, self.n_init - self.n_told), rng)
        n = min(n, self.batch_size)
        n_explore = int(rng.binomial(n, self.explore_prob)) if self.explore_prob > 0 else 0
        parts: list[Mappings] = []
        if n > n_explore:
            surrogate = self._surrogate()
            if surrogate is not None:
                pool, score = self._scored_pool(surrogate, rng)
                top = np.argsort(-score, kind="stable")[: n - n_explore]
                if len(top):
                    parts.append(pool.subset(top))
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

    def _feasibility(self, surrogate: GPSurrogate, Xc: np.ndarray) -> np.ndarray:
        X, _, valid, _ = self._history()
        if valid.all() or not valid.any():
            return np.zeros(len(Xc))
        rows = np.arange(max(0, len(valid) - 2000), len(valid))
        h = surrogate.hyper
        return logistic_logp(np.clip(_scale(X[rows], h), -3, 4), valid[rows], np.clip(_scale(Xc, h), -3, 4))


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
    "ACQUISITIONS",
    "ConstrainedBO",
    "GPSurrogate",
    "VanillaBO",
    "fit_hyper",
    "log_ei",
    "logistic_logp",
]
