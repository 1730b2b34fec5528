"""An exact GP on numeric features: hyperparameter fitting and the posterior mean and standard deviation.

The GP is BoTorch's ``SingleTaskGP`` in float64 (RBF kernel with ARD and BoTorch's dimension-scaled
priors, the outcome standardised by the model) on inputs min-max scaled over the training set, columns
constant there dropped. :func:`fit_hyper` fits the hyperparameters once; :class:`GPSurrogate`
conditions a GP with those hyperparameters on a (possibly newer) training set and predicts pools of
thousands of candidates cheaply. torch, BoTorch and GPyTorch are imported on first use only.
"""

from __future__ import annotations

import warnings
from contextlib import contextmanager
from dataclasses import dataclass
from types import ModuleType
from typing import Any, Iterator

import numpy as np

PREDICT_CHUNK = 4096  # candidates per posterior batch (bounds the [chunk, N_train] covariance block)


@dataclass
class InputScaling:
    """Min-max scaling of feature columns over a training set: ``(X[:, cols] - lo) / span``."""

    cols: np.ndarray  # [F'] indices of the feature columns used (those not constant on the training set)
    lo: np.ndarray  # [F'] min over the training set
    span: np.ndarray  # [F'] max - min (> 0)

    @classmethod
    def fit(cls, X: np.ndarray) -> InputScaling:
        """The scaling of ``X [N, F]`` onto ``[0, 1]`` per column (column 0 kept if every column is constant)."""
        lo, hi = X.min(axis=0), X.max(axis=0)
        cols = np.flatnonzero(hi - lo > 1e-9)
        if cols.size == 0:
            cols = np.array([0])
        return cls(cols, lo[cols], np.maximum(hi[cols] - lo[cols], 1e-9))

    def __call__(self, X: np.ndarray) -> np.ndarray:
        """``X [N, F]`` scaled, ``[N, F']`` (values outside ``[0, 1]`` for rows outside the training box)."""
        return (X[:, self.cols] - self.lo) / self.span


@dataclass
class GPHyper:
    """Hyperparameters fitted once, and the input scaling they belong to."""

    scaling: InputScaling
    state: dict[str, Any]  # the GP's state dict without the outcome transform's buffers


def import_torch() -> ModuleType:
    """torch, with BoTorch and GPyTorch imported once (their import-time deprecation warnings silenced)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import botorch  # noqa: F401
        import gpytorch  # noqa: F401
        import torch
    return torch


@contextmanager
def torch_settings() -> Iterator[None]:
    """One intra-op thread (GPs of a few hundred points gain nothing from more, the cost model's threads
    compete for the cores, and one thread keeps floating-point sums in a fixed order), exact
    Cholesky-based computations, warnings from BoTorch's input checks silenced."""
    torch = import_torch()
    import gpytorch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with gpytorch.settings.fast_computations(False, False, False), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        torch.set_num_threads(threads)


def _build_gp(Xs: np.ndarray, y: np.ndarray) -> Any:
    """A ``SingleTaskGP`` on scaled inputs ``Xs [N, F']`` and targets ``y [N]`` (priors' initial values)."""
    torch = import_torch()
    from botorch.models import SingleTaskGP
    from botorch.models.transforms.outcome import Standardize

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return SingleTaskGP(
            torch.as_tensor(Xs, dtype=torch.float64),
            torch.as_tensor(y[:, None], dtype=torch.float64),
            outcome_transform=Standardize(m=1),
        )


def fit_hyper(X: np.ndarray, y: np.ndarray, *, maxiter: int, seed: int) -> GPHyper:
    """Fit GP hyperparameters on features ``X [N, F]`` and targets ``y [N]``.

    L-BFGS (``maxiter`` iterations, none when 0) on the exact marginal likelihood from BoTorch's
    default initialisation, no random restarts; on numerical failure the priors' initial values are
    kept. torch is seeded with ``seed`` inside a forked RNG state, so the result is a function of
    ``(X, y, maxiter, seed)`` and the caller's torch RNG is untouched.
    """
    torch = import_torch()
    from botorch.optim.fit import fit_gpytorch_mll_scipy
    from gpytorch.mlls import ExactMarginalLogLikelihood

    scaling = InputScaling.fit(X)
    with torch_settings(), torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        gp = _build_gp(scaling(X), y)
        if maxiter > 0:
            mll = ExactMarginalLogLikelihood(gp.likelihood, gp)
            mll.train()
            try:
                fit_gpytorch_mll_scipy(mll, options={"maxiter": int(maxiter)})
            except Exception:  # numerical trouble: keep the priors' initial values
                gp = _build_gp(scaling(X), y)
    state = {k: v.detach().clone() for k, v in gp.state_dict().items() if not k.startswith("outcome_transform")}
    return GPHyper(scaling, state)


class GPSurrogate:
    """A GP with fixed hyperparameters conditioned on a training set ``X [N, F]``, ``y [N]``.

    Predictions use the GP's own mean and kernel modules and one Cholesky factor of the training
    covariance (plus noise, with growing jitter if it is not positive definite), computing only the
    marginal variances.

    Attributes: ``hyper`` (the :class:`GPHyper` used, whose ``scaling`` maps features to GP inputs)
    and ``y_min`` (the smallest training target, the incumbent for expected improvement).
    """

    def __init__(self, X: np.ndarray, y: np.ndarray, hyper: GPHyper) -> None:
        torch = import_torch()
        self.hyper = hyper
        self.y_min = float(y.min())
        with torch.no_grad(), torch_settings():
            gp = _build_gp(hyper.scaling(X), y)
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
            self._gp, self._chol, self._xtr = gp, chol, Xtr
            self._alpha = torch.cholesky_solve((ytr - gp.mean_module(Xtr))[:, None], chol)
            tf = gp.outcome_transform
            self._y_mean = float(tf.means.reshape(-1)[0])
            self._y_std = float(tf.stdvs.reshape(-1)[0])

    def mean_std(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Posterior mean ``[N]`` and standard deviation ``[N]`` of the latent function at ``X [N, F]``,
        in the units of the training targets."""
        torch = import_torch()
        Xt = torch.as_tensor(self.hyper.scaling(X), dtype=torch.float64)
        mus, sds = [], []
        with torch.no_grad(), torch_settings():
            for a in range(0, Xt.shape[0], PREDICT_CHUNK):
                x = Xt[a : a + PREDICT_CHUNK]
                ks = self._gp.covar_module(x, self._xtr).to_dense()  # [n, N_train]
                mu = self._gp.mean_module(x) + (ks @ self._alpha).squeeze(-1)
                v = torch.linalg.solve_triangular(self._chol, ks.T, upper=False)
                var = self._gp.covar_module(x, diag=True) - (v * v).sum(dim=0)
                mus.append(mu.numpy() * self._y_std + self._y_mean)
                sds.append(var.clamp_min(1e-12).sqrt().numpy() * self._y_std)
        if not mus:
            return np.zeros(0), np.zeros(0)
        return np.concatenate(mus), np.concatenate(sds)
