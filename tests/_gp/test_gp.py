"""The shared GP / acquisition / feasibility / pool-optimisation package (``cosearch._gp``), on toy data."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest
from scipy.stats import norm

from cosearch._gp.acquisition import (
    PENALTY_WEIGHT,
    acquisition_values,
    lcb,
    log_ei,
    weight_by_feasibility,
)
from cosearch._gp.feasibility import FeasibilityModel
from cosearch._gp.gp import InputScaling
from cosearch._gp.optimize import PoolOps, fresh_rows, kriging_believer_batch, optimize_discrete

needs_torch = pytest.mark.skipif(
    not all(importlib.util.find_spec(m) is not None for m in ("torch", "botorch", "gpytorch")),
    reason="torch/botorch not installed",
)

# candidates of the toy problems: integer points [N, 1], keyed by their value
INT_OPS = PoolOps(keys=lambda c: c[:, 0], take=lambda c, idx: c[idx], join=lambda a, b: np.concatenate([a, b]))


def _peak(c: np.ndarray) -> np.ndarray:
    """A toy acquisition with its maximum at 73."""
    return -((c[:, 0] - 73.0) ** 2)


# ---- GP -------------------------------------------------------------------------------------------


@needs_torch
def test_posterior_interpolates_training_points_and_is_uncertain_away_from_them():
    from cosearch._gp.gp import GPSurrogate, fit_hyper

    rng = np.random.default_rng(0)
    X = np.column_stack([np.linspace(0.0, 4.0, 15), rng.random(15)])
    y = np.sin(2 * X[:, 0]) + 0.3 * X[:, 1]
    gp = GPSurrogate(X, y, fit_hyper(X, y, maxiter=50, seed=0))
    mu, sd = gp.mean_std(X)
    assert mu.shape == sd.shape == (15,)
    assert np.abs(mu - y).max() < 0.05 * np.ptp(y)  # within the (small) fitted noise
    _, sd_far = gp.mean_std(np.array([[12.0, 0.5]]))
    assert sd.max() < 0.5 * sd_far[0]
    assert gp.y_min == y.min()
    # the scaling is the training set's min-max box
    np.testing.assert_allclose(gp.hyper.scaling(X).min(axis=0), 0.0)
    np.testing.assert_allclose(gp.hyper.scaling(X).max(axis=0), 1.0)


@needs_torch
def test_fit_is_deterministic_for_a_seed():
    from cosearch._gp.gp import GPSurrogate, fit_hyper

    X = np.random.default_rng(1).random((20, 3))
    y = X @ np.array([1.0, -2.0, 0.5])
    Xc = np.random.default_rng(2).random((50, 3))
    a = GPSurrogate(X, y, fit_hyper(X, y, maxiter=30, seed=4)).mean_std(Xc)
    b = GPSurrogate(X, y, fit_hyper(X, y, maxiter=30, seed=4)).mean_std(Xc)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])


def test_input_scaling_drops_constant_columns():
    X = np.array([[1.0, 5.0, 0.0], [3.0, 5.0, 2.0], [2.0, 5.0, 1.0]])
    s = InputScaling.fit(X)
    assert s.cols.tolist() == [0, 2]
    np.testing.assert_allclose(s(X), [[0.0, 0.0], [1.0, 1.0], [0.5, 0.5]])


# ---- acquisition ----------------------------------------------------------------------------------


def test_lcb_and_log_ei_on_a_known_case():
    mu = np.array([0.0, 0.0, 1.0])
    sd = np.array([1.0, 0.1, 0.1])
    # -LCB with kappa 1: [1.0, 0.1, -0.9]: the uncertain point first
    np.testing.assert_allclose(lcb(mu, sd, 1.0), [-1.0, -0.1, 0.9])
    np.testing.assert_allclose(acquisition_values("lcb", mu, sd, best=0.5, kappa=1.0), [1.0, 0.1, -0.9])
    # with kappa 0 LCB is the mean: the two points at 0 tie
    np.testing.assert_allclose(acquisition_values("lcb", mu, sd, best=0.5, kappa=0.0), [0.0, 0.0, -1.0])
    # EI below 0.5 in closed form: sd * (u Phi(u) + phi(u)), u = (best - mu) / sd
    u = (0.5 - mu) / sd
    ei = sd * (u * norm.cdf(u) + norm.pdf(u))
    got = acquisition_values("logei", mu, sd, best=0.5, kappa=1.0)
    np.testing.assert_allclose(got, np.log(ei), rtol=1e-9)
    assert np.argsort(-got).tolist() == [0, 1, 2]
    with pytest.raises(ValueError, match="unknown acquisition"):
        acquisition_values("ucb", mu, sd, best=0.5, kappa=1.0)


def test_log_ei_tail_stays_finite_and_decreasing():
    far = log_ei(0.0, np.array([1.0, 10.0, 1e3, 1e7]), np.ones(4))
    assert np.isfinite(far).all() and (np.diff(far) < 0).all()


@needs_torch
def test_log_ei_matches_botorch():
    from cosearch._gp.gp import import_torch

    torch = import_torch()  # imports BoTorch with its import-time warnings silenced
    from botorch.acquisition.analytic import LogExpectedImprovement
    from botorch.models import SingleTaskGP

    torch.manual_seed(0)
    X = torch.rand(8, 2, dtype=torch.float64)
    Y = torch.sin(6 * X).sum(dim=1, keepdim=True)
    gp = SingleTaskGP(X, Y).eval()
    Xc = torch.rand(200, 2, dtype=torch.float64) * 3 - 1  # also far from the data
    best = float(Y.min())
    with torch.no_grad():
        ref = LogExpectedImprovement(gp, best_f=best, maximize=False)(Xc.unsqueeze(1)).numpy()
        post = gp.posterior(Xc.unsqueeze(1))
        mu = post.mean.reshape(-1).numpy()
        sd = post.variance.sqrt().reshape(-1).numpy()
    np.testing.assert_allclose(log_ei(best, mu, sd), ref, rtol=1e-6, atol=1e-6)


def test_feasibility_weighting_modes():
    values = np.array([0.0, 0.0, 0.0])
    log_p = np.log([1.0, 0.5, 0.01])
    np.testing.assert_allclose(weight_by_feasibility(values, log_p, "log"), log_p)
    np.testing.assert_allclose(weight_by_feasibility(values, log_p, "penalty"), [0.0, -5.0, -9.9])
    np.testing.assert_allclose(weight_by_feasibility(values, log_p, "penalty", penalty=1.0), [0.0, -0.5, -0.99])
    assert PENALTY_WEIGHT == 10.0
    # the two modes can rank differently: a better but doubtful candidate against a sure one
    values, log_p = np.array([1.0, 0.0]), np.log([0.5, 1.0])
    assert np.argmax(weight_by_feasibility(values, log_p, "log")) == 0  # 1 + log 0.5 > 0
    assert np.argmax(weight_by_feasibility(values, log_p, "penalty")) == 1  # 1 - 5 < 0
    with pytest.raises(ValueError, match="unknown feasibility weighting"):
        weight_by_feasibility(values, log_p, "product")


# ---- feasibility model ----------------------------------------------------------------------------


@pytest.mark.parametrize("standardise", ["zscore", "gp-box"])
def test_feasibility_model_separates_feasible_from_infeasible(standardise):
    rng = np.random.default_rng(0)
    X = rng.random((200, 3)) * np.array([10.0, 1.0, 1.0])
    ok = X[:, 0] < 5.0
    scaling = InputScaling.fit(X) if standardise == "gp-box" else None
    model = FeasibilityModel(X, ok, standardise=standardise, gp_scaling=scaling)
    logp = model.log_prob(np.array([[1.0, 0.5, 0.5], [9.0, 0.5, 0.5], [100.0, 0.5, 0.5]]))
    assert logp[0] > np.log(0.8) and logp[1] < np.log(0.2) and logp[2] <= logp[1]
    assert (logp <= 0).all()


def test_feasibility_model_standardisations_differ_and_gp_box_needs_a_scaling():
    rng = np.random.default_rng(0)
    X = rng.random((100, 2))
    ok = X[:, 0] + 0.3 * rng.standard_normal(100) < 0.5
    far = np.array([[30.0, 0.5]])  # outside the training box: clipped by "gp-box" only
    z = FeasibilityModel(X, ok, standardise="zscore").log_prob(far)
    box = FeasibilityModel(X, ok, standardise="gp-box", gp_scaling=InputScaling.fit(X)).log_prob(far)
    edge = FeasibilityModel(X, ok, standardise="gp-box", gp_scaling=InputScaling.fit(X))
    assert box[0] == pytest.approx(edge.log_prob(np.array([[X[:, 0].min() + 4 * np.ptp(X[:, 0]), 0.5]]))[0])
    assert z[0] < box[0]
    with pytest.raises(ValueError, match="needs the GP's input scaling"):
        FeasibilityModel(X, ok, standardise="gp-box")
    with pytest.raises(ValueError, match="unknown standardisation"):
        FeasibilityModel(X, ok, standardise="minmax")


# ---- pool optimisation ----------------------------------------------------------------------------


def test_fresh_rows_drops_seen_and_repeated_rows_in_order():
    pool = np.array([[5], [3], [5], [9], [3], [1]])
    rows, keys = fresh_rows(INT_OPS, pool, np.array([9]))
    assert rows[:, 0].tolist() == [5, 3, 1] and keys.tolist() == [5, 3, 1]


def test_optimize_discrete_returns_the_q_best_distinct_unseen_candidates():
    pool = np.array([[70], [73], [73], [75], [10], [72], [74], [71], [72]])
    chosen, values = optimize_discrete(_peak, pool, 4, ops=INT_OPS, seen=np.array([73, 74]))
    # 73 and 74 seen, 72 kept once; 75 and 71 tie (both 2 from 73): pool order decides
    assert chosen[:, 0].tolist() == [72, 75, 71, 70]
    np.testing.assert_array_equal(values, _peak(chosen))
    few, _ = optimize_discrete(_peak, pool[:3], 5, ops=INT_OPS, seen=np.array([73]))
    assert few[:, 0].tolist() == [70]  # fewer than q when the pool has fewer new candidates
    empty, v = optimize_discrete(_peak, pool[1:3], 5, ops=INT_OPS, seen=np.array([73]))
    assert len(empty) == 0 and len(v) == 0


def test_local_search_improves_the_pool_and_stays_new():
    pool = np.array([[0], [20], [40]])
    seen = np.array([55, 56])

    def neighbours(parents: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        return np.repeat(parents, 4, axis=0) + rng.integers(1, 6, size=(4 * len(parents), 1))

    plain, plain_v = optimize_discrete(_peak, pool, 3, ops=INT_OPS, seen=seen)
    local, local_v = optimize_discrete(_peak, pool, 3, ops=INT_OPS, seen=seen, neighbours=neighbours,
                                       rounds=25, n_parents=2, rng=np.random.default_rng(0))
    assert plain[:, 0].tolist() == [40, 20, 0]
    assert local_v[0] > plain_v[0] and local[0, 0] == 73
    assert len(set(local[:, 0].tolist())) == 3 and not set(local[:, 0].tolist()) & {55, 56}
    # no rounds: local search changes nothing
    same, _ = optimize_discrete(_peak, pool, 3, ops=INT_OPS, seen=seen, neighbours=neighbours, rounds=0,
                                rng=np.random.default_rng(0))
    np.testing.assert_array_equal(same, plain)
    with pytest.raises(ValueError, match="random generator"):
        optimize_discrete(_peak, pool, 3, ops=INT_OPS, seen=seen, neighbours=neighbours, rounds=1)


@needs_torch
def test_kriging_believer_does_not_pick_a_point_twice_in_effect():
    front = np.array([[0.5, 0.5]])
    ref = np.array([1.1, 1.1])
    mean = np.array([[0.2, 0.2], [0.2, 0.2], [0.3, 0.1], [0.9, 0.9]])  # a duplicate, a new corner, a dominated one
    std = np.zeros_like(mean)
    eps = np.zeros((4, 2))
    picked = kriging_believer_batch(front, ref, mean, std, eps, 2, log_p=np.zeros(4))
    assert picked.tolist() == [0, 2]  # once (0.2, 0.2) is believed observed, its copy adds nothing
    # an infeasible best candidate gives way under the "log" weighting
    log_p = np.log([1e-9, 1e-9, 1.0, 1.0])
    assert kriging_believer_batch(front, ref, mean, std, eps, 1, log_p=log_p).tolist() == [2]
