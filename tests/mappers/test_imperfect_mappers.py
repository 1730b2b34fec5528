"""Every mapper under imperfect factorization: valid best mappings that may over-cover a dim within the cap,
deterministic per seed, with and without constraints; map_network the same for any --jobs."""

from __future__ import annotations

import inspect

import numpy as np
import pytest

from cosearch.arch.io import load_arch
from cosearch.mappers.layer import OPTIMIZERS, map_layer
from cosearch.mappers.network import map_network
from cosearch.mapping.constraints import load_constraints
from cosearch.mapping.factors import padding_limits
from cosearch.mapping.space import MapSpace
from cosearch.model.evaluate import evaluate
from cosearch.workload.layer import Layer

pytestmark = pytest.mark.skipif(
    "factorization" not in inspect.signature(evaluate).parameters,
    reason="needs the cost model's imperfect factorization (evaluate(..., factorization=))")

ODD = Layer(name="odd", K=13, C=7, P=20, Q=20, R=3, S=3)
BUDGETS = {"auto": 600, "random": 600, "ga": 600, "sa": 600, "bo": 120, "vanilla-bo": 120}


def _products(m) -> np.ndarray:
    return (m.temporal * m.spatial_x * m.spatial_y).prod(axis=1)


@pytest.mark.parametrize("optimizer", list(OPTIMIZERS))
def test_every_mapper_finds_valid_imperfect_mappings(optimizer: str) -> None:
    arch = load_arch("eyeriss-168")
    res = map_layer(arch, ODD, optimizer=optimizer, budget=BUDGETS[optimizer], seed=1, factorization="imperfect")
    space = MapSpace(arch, ODD, factorization="imperfect")
    assert bool(space.is_valid(res.best)[0])
    prod = _products(res.best)[0]
    assert (prod >= np.array(ODD.dims)).all() and (prod <= padding_limits(ODD.dims, 0.25)).all()
    again = evaluate(arch, ODD, res.best, factorization="imperfect")
    assert again.edp[0] == res.edp
    twin = map_layer(arch, ODD, optimizer=optimizer, budget=BUDGETS[optimizer], seed=1, factorization="imperfect")
    assert twin.edp == res.edp and np.array_equal(twin.best.temporal, res.best.temporal)


@pytest.mark.parametrize("optimizer", ["auto", "sa", "ga", "bo"])
def test_mappers_under_a_dataflow_and_imperfect(optimizer: str) -> None:
    arch = load_arch("eyeriss-168")
    base = MapSpace(arch, ODD, factorization="imperfect")
    space = base.with_constraints(load_constraints("row-stationary", arch))
    res = map_layer(arch, ODD, optimizer=optimizer, budget=BUDGETS[optimizer], seed=0, space=space)
    assert bool(space.is_valid(res.best)[0]) and bool(space.allows(res.best)[0])


def test_the_cap_is_held_by_every_candidate() -> None:
    """Every candidate the search evaluates keeps the cap (a tight one: mappers' moves may not leave it)."""
    arch = load_arch("eyeriss-168")
    space = MapSpace(arch, ODD, factorization="imperfect", max_padding=0.05)
    seen = []
    from cosearch.mappers.layer import make_optimizer

    for name in OPTIMIZERS:
        opt = make_optimizer(name, space, seed=0)
        for _ in range(3):
            cands = opt.ask(64)
            seen.append(_products(cands))
            opt.tell(cands, evaluate(arch, ODD, cands, factorization="imperfect"))
    prod = np.concatenate(seen)
    assert (prod <= space.pad_limit).all()


def test_map_network_imperfect_same_for_any_jobs() -> None:
    arch = load_arch("eyeriss-168")
    layers = [ODD, Layer(name="fc", K=50, C=29)]
    a = map_network(arch, layers, budget=300, factorization="imperfect", jobs=1)
    b = map_network(arch, layers, budget=300, factorization="imperfect", jobs=2)
    ja, jb = a.to_json(), b.to_json()
    for j in (ja, jb):
        j.pop("seconds")
        j.pop("jobs", None)
        for r in j["layers"]:
            r.pop("seconds", None)
    assert ja == jb and ja["factorization"] == "imperfect"
    assert all(r["loop_nest"] for r in ja["layers"])


def test_auto_perfect_first_phase_is_the_perfect_search() -> None:
    """Until its switch, imperfect `auto` proposes exactly what `auto` proposes under perfect
    factorization with the same budget and seed (so a whole-budget phase gives the perfect result)."""
    arch = load_arch("eyeriss-168")
    perfect = map_layer(arch, ODD, budget=1500, seed=2)
    whole = map_layer(arch, ODD, budget=1500, seed=2, factorization="imperfect", perfect_phase=1.0)
    assert whole.edp == perfect.edp and whole.trace == perfect.trace
    assert np.array_equal(whole.best.temporal, perfect.best.temporal)


def test_auto_switches_to_remainders_and_replays() -> None:
    """Before the switch every candidate divides the dims; after it, remainder tiles are proposed; a
    replay of the told batches rebuilds the state across the switch."""
    from cosearch.mappers.layer import make_optimizer

    arch = load_arch("eyeriss-168")
    space = MapSpace(arch, ODD, factorization="imperfect")
    opt = make_optimizer("auto", space, seed=4, budget_hint=2000, perfect_phase=0.5)
    assert opt.switch_at == 1000
    told, over = [], []
    while opt.n_told < 2000:
        before = opt.n_told
        cands = opt.ask(2000 - opt.n_told)
        costs = evaluate(arch, ODD, cands, factorization="imperfect")
        opt.tell(cands, costs)
        told.append((cands, costs))
        covers = (_products(cands) != np.array(ODD.dims)).any(axis=1)
        if before < opt.switch_at:
            assert not covers.any()
        else:
            over.append(covers.any())
    assert any(over)
    replica = make_optimizer("auto", space, seed=4, budget_hint=2000, perfect_phase=0.5)
    for cands, costs in told:
        replica.tell(cands, costs)
    assert replica.state_digest() == opt.state_digest()


def test_auto_phase_follows_what_remainders_buy() -> None:
    """The default perfect-first share is the short one when remainders keep more PEs busy (a 50x29
    matmul: 50 of eyeriss-168's 168 PEs perfectly, all 168 with remainders), the long one when perfect
    factorizations already fill as many (ODD on eyeriss-168, 16x16 on simple-64's 8x8)."""
    from cosearch.mappers._auto import PERFECT_PHASE
    from cosearch.mappers.layer import make_optimizer

    arch = load_arch("eyeriss-168")
    fc = Layer(name="fc", K=50, C=29)
    short = make_optimizer("auto", MapSpace(arch, fc, factorization="imperfect"), budget_hint=1000)
    fills = make_optimizer("auto", MapSpace(arch, ODD, factorization="imperfect"), budget_hint=1000)
    even = Layer(name="even", K=16, C=16, P=8, Q=8)
    fits = make_optimizer("auto", MapSpace(load_arch("simple-64"), even, factorization="imperfect"), budget_hint=1000)
    assert short.switch_at == int(PERFECT_PHASE[0] * 1000)
    assert fills.switch_at == fits.switch_at == int(PERFECT_PHASE[1] * 1000)
    perfect = make_optimizer("auto", MapSpace(arch, ODD), budget_hint=1000)
    assert perfect.switch_at == 0
