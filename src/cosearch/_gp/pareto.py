"""Multi-objective helpers for the ``pareto`` co-design objective (minimise energy, cycles and area).

- :func:`pareto_ranks`: non-dominated sorting (rank 1 = the Pareto front), which lets the scalar
  optimizers (``ga``'s tournaments, ``bo``'s local candidates) order points of a multi-objective study.
- :func:`expected_hv_improvement`: the expected hypervolume improvement (EHVI) of candidates whose
  objectives are independent Gaussians (GP posteriors) or known exactly (area), estimated by Monte
  Carlo over fixed normal draws against a box decomposition of the current front (BoTorch's
  ``FastNondominatedPartitioning``). It is the q = 1 case of BoTorch's qEHVI, computed over a discrete
  candidate pool with our own GP posteriors.

All objectives are minimised; arrays are ``[N, M]`` with ``M`` objectives.
"""

from __future__ import annotations

import numpy as np


def dominates(a: np.ndarray, b: np.ndarray) -> bool:
    """True if ``a`` is no worse than ``b`` in every objective and better in one (minimisation)."""
    return bool(np.all(a <= b) and np.any(a < b))


def pareto_ranks(values: np.ndarray) -> np.ndarray:
    """Non-dominated sorting rank of each row of ``values [N, M]``: 1 for the Pareto front, 2 for the
    front of the rest, ...; ``inf`` for rows with a non-finite objective (infeasible points)."""
    values = np.asarray(values, dtype=np.float64)
    ranks = np.full(len(values), np.inf)
    left = np.flatnonzero(np.isfinite(values).all(axis=1))
    rank = 1
    while len(left):
        v = values[left]
        # row i is dominated if some row j is <= everywhere and < somewhere
        le = (v[:, None, :] >= v[None, :, :]).all(axis=2)  # [i, j]: j <= i everywhere
        lt = (v[:, None, :] > v[None, :, :]).any(axis=2)  # [i, j]: j < i somewhere
        dominated = (le & lt).any(axis=1)
        ranks[left[~dominated]] = rank
        left = left[dominated]
        rank += 1
    return ranks


def pareto_front_mask(values: np.ndarray) -> np.ndarray:
    """Boolean ``[N]``: rows on the Pareto front (rank 1) of ``values [N, M]``."""
    return pareto_ranks(values) == 1


def expected_hv_improvement(front: np.ndarray, ref: np.ndarray, mean: np.ndarray, std: np.ndarray,
                            eps: np.ndarray, *, chunk: int = 256) -> np.ndarray:
    """Expected hypervolume improvement of each candidate over ``front`` (minimisation).

    ``front [F, M]``: the current non-dominated objective vectors (normalised). ``ref [M]``: the
    reference point (worse than every point that should count). ``mean, std [N, M]``: each
    candidate's objective distribution (``std`` 0 for a known objective). ``eps [S, M]``: standard
    normal draws shared by all candidates (common random numbers: the comparison between candidates
    is not noisy). Returns ``[N]`` (>= 0, in units of normalised volume).
    """
    import torch
    from botorch.utils.multi_objective.box_decompositions.non_dominated import FastNondominatedPartitioning

    # BoTorch maximises: negate everything
    ref_t = torch.as_tensor(-np.asarray(ref, dtype=np.float64))
    Y = torch.as_tensor(-np.asarray(front, dtype=np.float64)).reshape(-1, len(ref))
    Y = Y[(Y > ref_t).all(dim=1)]  # points beyond the reference add no volume
    cells = FastNondominatedPartitioning(ref_point=ref_t, Y=Y).get_hypercell_bounds().numpy()  # [2, C, M]
    lower, upper = cells[0], cells[1]
    out = np.zeros(len(mean))
    for a in range(0, len(mean), chunk):
        samples = -(mean[a:a + chunk, None, :] + std[a:a + chunk, None, :] * eps[None, :, :])  # [n, S, M]
        top = np.minimum(samples[:, :, None, :], upper[None, None, :, :])  # [n, S, C, M]
        vol = np.clip(top - lower[None, None, :, :], 0.0, None).prod(axis=3).sum(axis=2)  # [n, S]
        out[a:a + chunk] = vol.mean(axis=1)
    return out
