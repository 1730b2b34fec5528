"""The contract every registered mapping optimizer keeps (``cosearch.mappers.layer.OPTIMIZERS``).

Each test runs once per registered name, so a new optimizer is held to the ask/tell discipline of
:mod:`cosearch.mappers.base` as soon as it is registered: ``ask(n)`` gives 1..n candidates, valid by
construction; ``map_layer`` spends its budget exactly and returns a valid best; a seed fixes the run;
replaying the told history into a fresh optimizer rebuilds its state and its next proposals.
Budgets are small: the whole suite is a few seconds once the model is compiled.
"""

from __future__ import annotations

import numpy as np
import pytest

from cosearch import Layer, MapSpace, evaluate, load_arch, map_layer
from cosearch.errors import CosearchError
from cosearch.mappers.layer import OPTIMIZERS, make_optimizer, optimizer_class

ARCH = load_arch("simple-64")
LAYER = Layer(name="contract", K=16, C=16, P=14, Q=14, R=3, S=3)
SEED = 3
BUDGET = 53  # not a multiple of any batch size below, so the last batch is cut
BATCHES = [9, 1, 17]  # sizes asked in turn when driving an optimizer by hand
ROUNDS = 5  # ask/tell rounds when driving by hand

NAMES = sorted(OPTIMIZERS)
UNCONSTRAINED = {"vanilla-bo"}  # the ablation samples the unconstrained space: invalid candidates are its point


@pytest.fixture(scope="module")
def space() -> MapSpace:
    return MapSpace(ARCH, LAYER)


def arrays(m) -> list[np.ndarray]:
    """The arrays that define a batch of mappings (tags excluded: they are bookkeeping)."""
    return [m.temporal, m.spatial_x, m.spatial_y, m.order, m.keep]


def assert_same_mappings(a, b) -> None:
    assert len(a) == len(b)
    for x, y in zip(arrays(a), arrays(b)):
        np.testing.assert_array_equal(x, y)


def drive(opt, rounds: int = ROUNDS) -> list:
    """Ask and tell ``rounds`` times with the sizes of :data:`BATCHES` in turn; every (candidates, costs) told."""
    told = []
    for i in range(rounds):
        cands = opt.ask(BATCHES[i % len(BATCHES)])
        costs = evaluate(ARCH, LAYER, cands)
        opt.tell(cands, costs)
        told.append((cands, costs))
    return told


@pytest.mark.parametrize("name", NAMES)
def test_registered_name_builds_its_class(name, space):
    opt = make_optimizer(name, space, seed=SEED)
    assert isinstance(opt, optimizer_class(name))
    assert opt.n_told == 0 and opt.best is None and opt.best_value == float("inf")


def test_unknown_name_is_a_user_error_listing_the_registry():
    with pytest.raises(CosearchError) as err:
        optimizer_class("no-such-optimizer")
    for name in OPTIMIZERS:
        assert name in str(err.value)


@pytest.mark.parametrize("name", NAMES)
def test_ask_gives_between_one_and_n_candidates_valid_by_construction(name, space):
    opt = make_optimizer(name, space, seed=SEED)
    asked = 0
    for i in range(ROUNDS):
        n = BATCHES[i % len(BATCHES)]
        cands = opt.ask(n)
        assert 1 <= len(cands) <= n
        if cands.tags is not None:  # an optimizer's bookkeeping: one int per row
            assert cands.tags.shape == (len(cands),) and cands.tags.dtype.kind == "i"
        costs = evaluate(ARCH, LAYER, cands)
        if name not in UNCONSTRAINED:
            reasons = [costs.reason_text(j) for j in range(len(cands))]
            assert costs.valid.all(), f"{name}: invalid candidates ({reasons})"
        opt.tell(cands, costs)
        asked += len(cands)
    assert opt.n_told == asked


@pytest.mark.parametrize("name", NAMES)
def test_ask_is_a_pure_function_of_the_state(name, space):
    opt = make_optimizer(name, space, seed=SEED)
    drive(opt, rounds=2)
    assert_same_mappings(opt.ask(5), opt.ask(5))


@pytest.mark.parametrize("name", NAMES)
def test_subset_of_candidates_keeps_rows_and_tags_aligned(name, space):
    cands = make_optimizer(name, space, seed=SEED).ask(6)
    rows = np.arange(len(cands))[::-1]
    part = cands.subset(rows)
    for whole, sub in zip(arrays(cands), arrays(part)):
        np.testing.assert_array_equal(whole[rows], sub)
    if cands.tags is not None:
        np.testing.assert_array_equal(cands.tags[rows], part.tags)


@pytest.mark.parametrize("name", NAMES)
def test_map_layer_spends_the_budget_exactly_and_returns_a_valid_best(name):
    res = map_layer(ARCH, LAYER, optimizer=name, budget=BUDGET, seed=SEED, batch=10)
    assert res.evaluations == BUDGET
    assert res.trace[-1][0] == BUDGET
    assert [done for done, _ in res.trace] == sorted({done for done, _ in res.trace})  # strictly increasing
    best = [value for _, value in res.trace]
    assert best == sorted(best, reverse=True)  # the best so far never gets worse
    again = evaluate(ARCH, LAYER, res.best)
    assert again.valid[0]
    assert again.edp[0] == res.edp == best[-1]


@pytest.mark.parametrize("name", NAMES)
def test_same_seed_same_run(name):
    a = map_layer(ARCH, LAYER, optimizer=name, budget=BUDGET, seed=SEED)
    b = map_layer(ARCH, LAYER, optimizer=name, budget=BUDGET, seed=SEED)
    assert a.trace == b.trace and a.edp == b.edp
    assert_same_mappings(a.best, b.best)


@pytest.mark.parametrize("name", NAMES)
def test_replaying_the_told_history_rebuilds_the_optimizer(name, space):
    opt = make_optimizer(name, space, seed=SEED)
    told = drive(opt)
    replica = make_optimizer(name, space, seed=SEED)
    for cands, costs in told:
        replica.tell(cands, costs)
    assert replica.n_told == opt.n_told
    assert replica.state_digest() == opt.state_digest()
    assert replica.best_value == opt.best_value
    for n in (BATCHES[0], 1):
        assert_same_mappings(replica.ask(n), opt.ask(n))
