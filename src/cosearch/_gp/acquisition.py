"""Acquisition functions of a GP posterior, and their weighting by a feasibility model.

Every function here takes posterior summaries (arrays), not a model, and returns values where
**higher is better** for *minimising* the modelled quantity:

* :func:`acquisition_values` dispatches on the name: ``"lcb"`` gives ``-LCB = -(μ - κσ)``,
  ``"logei"`` gives :func:`log_ei`.
* :func:`log_ehvi`: the log of the expected hypervolume improvement (:mod:`.pareto`) for several
  objectives.
* :func:`weight_by_feasibility` folds in ``log P(feasible)`` from a feasibility model
  (:mod:`.feasibility`), in one of two ways (:data:`FEASIBILITY_WEIGHTINGS`): ``"log"`` adds it (the
  log of ``P(feasible)`` times the exponentiated acquisition, e.g. EI·P), ``"penalty"`` subtracts
  ``penalty · (1 - P(feasible))``, in the acquisition's own units.
"""

from __future__ import annotations

import numpy as np

from .pareto import expected_hv_improvement

ACQUISITIONS: tuple[str, ...] = ("lcb", "logei")
FEASIBILITY_WEIGHTINGS: tuple[str, ...] = ("log", "penalty")
PENALTY_WEIGHT = 10.0  # default ``penalty`` of the "penalty" weighting (units of the acquisition)
EHVI_FLOOR = 1e-12  # added to the EHVI before its log (candidates that cannot improve the front)


def lcb(mu: np.ndarray, sd: np.ndarray, kappa: float) -> np.ndarray:
    """The lower confidence bound ``μ - κσ`` (``[N]``; lower is more promising)."""
    return mu - kappa * sd


def log_ei(best: float, mu: np.ndarray, sd: np.ndarray) -> np.ndarray:
    """log of the expected improvement below ``best`` for Gaussian ``(mu, sd)`` (each ``[N]``).

    The formula of BoTorch's ``LogExpectedImprovement`` (``log h(u) + log sd``, ``u = (best - mu) / sd``,
    ``h(u) = φ(u) + u·Φ(u)``, with the same asymptotic branch for very negative ``u``), in NumPy
    (BoTorch's torch version hits denormal exponentials on CPU and is much slower per pool).
    """
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


def acquisition_values(name: str, mu: np.ndarray, sd: np.ndarray, *, best: float, kappa: float) -> np.ndarray:
    """Acquisition ``name`` (one of :data:`ACQUISITIONS`) of posteriors ``(mu, sd)`` ``[N]``, higher is
    better for minimisation: ``-LCB`` with ``kappa``, or log-EI below ``best``."""
    if name == "lcb":
        return -lcb(mu, sd, kappa)
    if name == "logei":
        return log_ei(best, mu, sd)
    raise ValueError(f"unknown acquisition {name!r} (choose from {', '.join(ACQUISITIONS)})")


def log_ehvi(front: np.ndarray, ref: np.ndarray, mean: np.ndarray, std: np.ndarray, eps: np.ndarray) -> np.ndarray:
    """``log(EHVI + EHVI_FLOOR)`` ``[N]`` of candidates with objective distributions ``mean, std [N, M]``
    against ``front [F, M]`` and reference point ``ref [M]``, over shared normal draws ``eps [S, M]``
    (see :func:`~cosearch._gp.pareto.expected_hv_improvement`)."""
    return np.log(expected_hv_improvement(front, ref, mean, std, eps) + EHVI_FLOOR)


def weight_by_feasibility(values: np.ndarray, log_p: np.ndarray, weighting: str, *,
                          penalty: float = PENALTY_WEIGHT) -> np.ndarray:
    """Acquisition ``values [N]`` weighted by ``log_p [N] = log P(feasible)``.

    ``weighting="log"``: ``values + log_p`` (for acquisitions that are logs, e.g. log-EI: the log of
    ``EI · P``). ``weighting="penalty"``: ``values - penalty · (1 - P)``. Both leave ``values``
    unchanged where ``P = 1``.
    """
    if weighting == "log":
        return values + log_p
    if weighting == "penalty":
        return values - penalty * (1 - np.exp(log_p))
    raise ValueError(f"unknown feasibility weighting {weighting!r} (choose from {', '.join(FEASIBILITY_WEIGHTINGS)})")
