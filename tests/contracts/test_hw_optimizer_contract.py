"""The contract every registered hardware optimizer keeps (``cosearch.codesign.hw_optimizers.HW_OPTIMIZERS``).

Each test runs once per registered name: ``ask(n)`` gives 1..n distinct grid points ``[n, P]`` inside
the space, never proposed before, within the area budget for the optimizers that promise it
(``constrained``); ``tell`` changes the next proposals; a seed fixes the run; replaying the told
trials into a fresh optimizer rebuilds its next proposals and its best. The objective is a smooth
stand-in (no mapping search), so the suite takes seconds.
"""

from __future__ import annotations

import numpy as np
import pytest

from cosearch.arch.hwspace import load_hw_space
from cosearch.codesign.hw_optimizers import HW_OPTIMIZERS, make_hw_optimizer
from cosearch.errors import CosearchError

SPACE = load_hw_space("eyeriss-like")
AREA_BUDGET_MM2 = 12.31  # about eyeriss-168's area: a budget that excludes part of the space
SEED = 5
BATCH = 4
ROUNDS = 4

NAMES = sorted(HW_OPTIMIZERS)


def stand_in_values(points: np.ndarray) -> np.ndarray:
    """``[n]`` objective values: smallest near 200 PEs and 64 KB of GLB; every other point infeasible (inf)."""
    grids = SPACE.grids()
    values = np.array([[grids[j][p[j]] for j in range(len(p))] for p in points], dtype=np.float64)
    names = list(SPACE.names)
    pes = values[:, names.index("mesh_x")] * values[:, names.index("mesh_y")]
    glb = values[:, names.index("glb_kb")]
    out = (np.log2(pes / 200) ** 2 + np.log2(glb / 64) ** 2 + 1.0) * 1e12
    out[1::2] = np.inf  # the learned constraint: some points turn out infeasible after evaluation
    return out


def drive(opt, rounds: int = ROUNDS) -> list[tuple[np.ndarray, np.ndarray]]:
    """Ask :data:`BATCH` points and tell their values ``rounds`` times; every (points, values) told."""
    told = []
    for _ in range(rounds):
        points = opt.ask(BATCH)
        values = stand_in_values(points)
        opt.tell(points, values)
        told.append((points, values))
    return told


def make(name: str, seed: int = SEED):
    return make_hw_optimizer(name, SPACE, area_budget_mm2=AREA_BUDGET_MM2, seed=seed)


def test_unknown_name_is_a_user_error_listing_the_registry():
    with pytest.raises(CosearchError) as err:
        make_hw_optimizer("no-such-optimizer", SPACE, area_budget_mm2=AREA_BUDGET_MM2)
    for name in HW_OPTIMIZERS:
        assert name in str(err.value)


@pytest.mark.parametrize("name", NAMES)
def test_ask_gives_new_distinct_points_in_the_space_and_budget(name):
    opt = make(name)
    seen: set[tuple[int, ...]] = set()
    for _ in range(ROUNDS):
        points = opt.ask(BATCH)
        assert points.ndim == 2 and points.shape[1] == len(SPACE.names)
        assert 1 <= len(points) <= BATCH
        assert ((points >= 0) & (points < SPACE.sizes)).all()
        keys = {tuple(p) for p in points.tolist()}
        assert len(keys) == len(points), "a batch repeats a point"
        assert not keys & seen, "a point proposed again"
        if opt.constrained:
            assert (opt.area(points) <= AREA_BUDGET_MM2).all()
        seen |= keys
        opt.tell(points, stand_in_values(points))
    assert opt.n_told == len(seen)


@pytest.mark.parametrize("name", NAMES)
def test_ask_is_a_pure_function_of_the_state(name):
    opt = make(name)
    drive(opt, rounds=2)
    np.testing.assert_array_equal(opt.ask(BATCH), opt.ask(BATCH))


@pytest.mark.parametrize("name", NAMES)
def test_tell_changes_the_next_proposals(name):
    opt = make(name)
    first = opt.ask(BATCH)
    opt.tell(first, stand_in_values(first))
    after = opt.ask(BATCH)
    assert not {tuple(p) for p in after.tolist()} & {tuple(p) for p in first.tolist()}


@pytest.mark.parametrize("name", NAMES)
def test_best_is_the_lowest_finite_value_told(name):
    opt = make(name)
    told = drive(opt)
    points = np.concatenate([p for p, _ in told])
    values = np.concatenate([v for _, v in told])
    best_point, best_value = opt.best
    assert np.isfinite(best_value) and best_value == values.min()
    np.testing.assert_array_equal(best_point, points[np.argmin(values)])


@pytest.mark.parametrize("name", NAMES)
def test_same_seed_same_run(name):
    a, b = drive(make(name)), drive(make(name))
    for (pa, va), (pb, vb) in zip(a, b):
        np.testing.assert_array_equal(pa, pb)
        np.testing.assert_array_equal(va, vb)


@pytest.mark.parametrize("name", NAMES)
def test_replaying_the_told_trials_rebuilds_the_optimizer(name):
    opt = make(name)
    told = drive(opt)
    replica = make(name)
    for points, values in told:
        replica.tell(points, values)
    assert replica.n_told == opt.n_told
    assert replica.best[1] == opt.best[1]
    np.testing.assert_array_equal(replica.ask(BATCH), opt.ask(BATCH))
