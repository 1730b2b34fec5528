"""Hardware spaces and outer (hardware) optimizers."""

from __future__ import annotations

import numpy as np
import pytest

from cosearch.arch.area import AreaModel
from cosearch.arch.hwspace import HWSpace, load_hw_space
from cosearch.codesign.hw_optimizers import HW_OPTIMIZERS, make_hw_optimizer
from cosearch.errors import CosearchError

EYERISS = load_hw_space("eyeriss-like")
BUDGET = 12.31  # about eyeriss-168's area under cacti-65nm


@pytest.mark.parametrize("name", ["eyeriss-like", "simple"])
def test_area_model_equals_the_estimator(name: str) -> None:
    space = load_hw_space(name)
    pts = space.random_points(200, np.random.default_rng(1))
    want = np.array([space.arch(p).area_mm2 for p in pts])
    np.testing.assert_allclose(AreaModel(space)(pts), want, rtol=1e-12)


def test_grids_follow_the_ranges() -> None:
    g = dict(zip(EYERISS.names, EYERISS.grids()))
    assert g["mesh_x"][0] == 2 and g["mesh_x"][-1] == 32 and len(g["mesh_x"]) == 31
    assert list(g["glb_kb"][:4]) == [8, 12, 16, 24] and g["glb_kb"][-1] == 1024
    assert list(g["ifmap_spad_words"]) == [4, 6, 8, 12, 16, 24, 32, 48, 64]


def _fake_value(space: HWSpace, pts: np.ndarray) -> np.ndarray:
    """A smooth stand-in objective: prefers ~200 PEs and 64 KB of GLB."""
    v = np.array([[space.grids()[j][p[j]] for j in range(len(p))] for p in pts])
    return (np.log2(v[:, 0] * v[:, 1] / 200) ** 2 + np.log2(v[:, 2] / 64) ** 2 + 1.0) * 1e12


@pytest.mark.parametrize("name", sorted(HW_OPTIMIZERS))
def test_proposals_are_new_and_within_budget(name: str) -> None:
    opt = make_hw_optimizer(name, EYERISS, area_budget_mm2=BUDGET, seed=3)
    seen: set[tuple[int, ...]] = set()
    for _ in range(4):
        pts = opt.ask(5)
        assert 1 <= len(pts) <= 5
        keys = {tuple(p) for p in pts.tolist()}
        assert len(keys) == len(pts) and not keys & seen
        seen |= keys
        if opt.constrained:
            assert (opt.area(pts) <= BUDGET).all()
        opt.tell(pts, _fake_value(EYERISS, pts))


@pytest.mark.parametrize("name", sorted(HW_OPTIMIZERS))
def test_deterministic_and_replayable(name: str) -> None:
    def run(seed: int):
        opt = make_hw_optimizer(name, EYERISS, area_budget_mm2=BUDGET, seed=seed)
        for _ in range(4):
            pts = opt.ask(4)
            opt.tell(pts, _fake_value(EYERISS, pts))
        return opt

    a, b = run(7), run(7)
    np.testing.assert_array_equal(a.points, b.points)
    replica = make_hw_optimizer(name, EYERISS, area_budget_mm2=BUDGET, seed=7)
    replica.tell(a.points, a.values)
    np.testing.assert_array_equal(replica.ask(4), a.ask(4))


def test_infeasible_points_are_never_best() -> None:
    opt = make_hw_optimizer("bo", EYERISS, area_budget_mm2=BUDGET, seed=0)
    pts = opt.ask(5)
    vals = _fake_value(EYERISS, pts)
    vals[0] = np.inf
    opt.tell(pts, vals)
    best, value = opt.best
    assert np.isfinite(value) and not np.array_equal(best, pts[0])


def test_budget_below_smallest_design_is_a_user_error() -> None:
    with pytest.raises(CosearchError, match="below the smallest design"):
        make_hw_optimizer("random", EYERISS, area_budget_mm2=0.01)
    with pytest.raises(CosearchError, match="unknown hardware optimizer"):
        make_hw_optimizer("nope", EYERISS, area_budget_mm2=BUDGET)


def test_hw_space_validation_errors() -> None:
    data = EYERISS.model_dump()
    data["params"]["glb_kb"] = {"low": 64, "high": 8, "scale": "log2"}
    with pytest.raises(ValueError, match="inverted range"):
        HWSpace.model_validate(data)
    data = EYERISS.model_dump()
    del data["params"]["mesh_x"]
    with pytest.raises(ValueError, match="missing mesh_x"):
        HWSpace.model_validate(data)


@pytest.mark.parametrize("name", list(HW_OPTIMIZERS))
def test_every_point_infeasible_so_far(name: str) -> None:
    """After a warm-up in which no point was feasible (all over the budget or unmappable: inf), every
    optimizer still proposes new points instead of fitting a model to nothing (vanilla-bo fitted a GP
    to log(inf) and failed with NaNs)."""
    opt = make_hw_optimizer(name, EYERISS, area_budget_mm2=BUDGET, seed=5)
    for _ in range(4):
        pts = opt.ask(5)
        assert len(pts) > 0
        opt.tell(pts, np.full(len(pts), np.inf))
    assert len(opt.ask(5)) > 0


def test_bo_declares_its_feasibility_weighting_per_acquisition() -> None:
    from cosearch._gp.acquisition import ACQUISITIONS, FEASIBILITY_WEIGHTINGS
    from cosearch._gp.feasibility import STANDARDISATIONS
    from cosearch.codesign.hw_optimizers import BOHW

    assert set(BOHW.feasibility_weighting) == {*ACQUISITIONS, "ehvi"}
    assert set(BOHW.feasibility_weighting.values()) <= set(FEASIBILITY_WEIGHTINGS)
    assert BOHW.feasibility_weighting["lcb"] == "penalty" and BOHW.feasibility_standardise in STANDARDISATIONS


def test_bo_steers_away_from_a_learned_infeasible_region() -> None:
    """Points with a small global buffer are infeasible (a constraint only evaluation reveals): once the
    feasibility model has seen some, ``bo`` proposes fewer of them than random sampling does."""
    glb = EYERISS.names.index("glb_kb")
    opt = make_hw_optimizer("bo", EYERISS, area_budget_mm2=BUDGET, seed=1, explore=0.0)
    for _ in range(6):
        pts = opt.ask(5)
        vals = _fake_value(EYERISS, pts)
        vals[pts[:, glb] < 7] = np.inf
        opt.tell(pts, vals)
    proposed = opt.points[opt.n_init:]
    random = EYERISS.random_points(2000, np.random.default_rng(0))
    assert (proposed[:, glb] < 7).mean() < 0.5 * (random[:, glb] < 7).mean()


def test_bo_batches_span_exploitation_and_exploration() -> None:
    """A ``bo`` batch under LCB takes its i-th point with kappa · kappa_growth**i: the first is the top
    LCB point, as a top-n batch's is, and the batch is more uncertain (larger posterior sd) than the
    top-n batch of one LCB (kappa_growth 1), whose points crowd around one optimum."""
    from cosearch.codesign.hw_optimizers import BOHW

    def trained(growth: float) -> BOHW:
        opt = make_hw_optimizer("bo", EYERISS, area_budget_mm2=BUDGET, seed=5, explore=0.0)
        opt.kappa_growth = growth
        for _ in range(2):  # the random warm-up (n_init 10)
            pts = opt.ask(5)
            opt.tell(pts, _fake_value(EYERISS, pts))
        return opt

    def posterior_sd(opt: BOHW, pts: np.ndarray) -> np.ndarray:
        rng = np.random.default_rng([opt.seed, opt.n_told, 7])  # ask's generator: the GP it fits
        X = opt.features(opt.points)
        gp = opt._fit_gp(X, np.log(opt.values), rng)
        return gp.mean_std(opt.features(pts))[1]

    assert BOHW.kappa_growth > 1
    spread, top = trained(BOHW.kappa_growth), trained(1.0)
    np.testing.assert_array_equal(spread.points, top.points)  # the same warm-up
    a, b = spread.ask(5), top.ask(5)
    assert len({tuple(p) for p in a}) == 5 and len({tuple(p) for p in b}) == 5
    np.testing.assert_array_equal(a[0], b[0])
    assert not np.array_equal(a, b)
    assert posterior_sd(spread, a).mean() > posterior_sd(top, b).mean()
