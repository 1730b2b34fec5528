"""A model of the *learned* constraint: ``P(feasible)`` from points found infeasible only when evaluated.

:class:`FeasibilityModel` is an L2-regularised logistic regression (fitted by IRLS) on standardised
features. The standardisation is one of :data:`STANDARDISATIONS`:

* ``"gp-box"``: the GP's own min-max scaling of its training set (:class:`~cosearch._gp.gp.InputScaling`),
  clipped to ``[-3, 4]`` so that candidates far outside the training box cannot dominate the linear model;
* ``"zscore"``: zero mean and unit standard deviation over the feasibility model's training rows.

The callers fit it only when their history holds both feasible and infeasible points (with one class
there is nothing to separate, and they leave the acquisition unweighted).
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from .gp import InputScaling

STANDARDISATIONS: tuple[str, ...] = ("gp-box", "zscore")
GP_BOX_CLIP = (-3.0, 4.0)  # range of the clipped "gp-box" inputs (the GP's training box is [0, 1])


def logistic_weights(X: np.ndarray, ok: np.ndarray, *, l2: float = 1.0, iters: int = 25) -> np.ndarray:
    """Weights ``[F + 1]`` (the last is the intercept, barely regularised) of an L2-regularised logistic
    regression of ``ok [N]`` (bool) on ``X [N, F]``, by at most ``iters`` Newton (IRLS) steps."""
    A = np.concatenate([X, np.ones((len(X), 1))], axis=1)
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
    return w


def logistic_log_prob(w: np.ndarray, X: np.ndarray) -> np.ndarray:
    """``log σ(X·w[:-1] + w[-1])`` ``[N]`` for ``X [N, F]`` (``≤ 0``, computed without overflow)."""
    z = np.concatenate([X, np.ones((len(X), 1))], axis=1) @ w
    return -np.logaddexp(0.0, -z)


def _standardiser(standardise: str, X: np.ndarray,
                  gp_scaling: InputScaling | None) -> Callable[[np.ndarray], np.ndarray]:
    """The map from features ``[N, F]`` to the logistic model's inputs (statistics from ``X``)."""
    if standardise == "gp-box":
        if gp_scaling is None:
            raise ValueError('the "gp-box" standardisation needs the GP\'s input scaling')
        lo, hi = GP_BOX_CLIP
        return lambda Z: np.clip(gp_scaling(Z), lo, hi)
    if standardise == "zscore":
        mu, sd = X.mean(axis=0), X.std(axis=0) + 1e-9
        return lambda Z: (Z - mu) / sd
    raise ValueError(f"unknown standardisation {standardise!r} (choose from {', '.join(STANDARDISATIONS)})")


class FeasibilityModel:
    """``log P(feasible)`` learned from features ``X [N, F]`` of evaluated points and ``feasible [N]``.

    ``standardise`` is one of :data:`STANDARDISATIONS`; ``"gp-box"`` needs ``gp_scaling`` (the
    surrogate's :class:`~cosearch._gp.gp.InputScaling`).
    """

    def __init__(self, X: np.ndarray, feasible: np.ndarray, *, standardise: str,
                 gp_scaling: InputScaling | None = None) -> None:
        self._standardise = _standardiser(standardise, X, gp_scaling)
        self._w = logistic_weights(self._standardise(X), np.asarray(feasible, dtype=bool))

    def log_prob(self, X: np.ndarray) -> np.ndarray:
        """``log P(feasible)`` ``[N]`` at features ``X [N, F]``."""
        return logistic_log_prob(self._w, self._standardise(X))
