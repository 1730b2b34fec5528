"""Tests of the genetic-algorithm (``ga``) and simulated-annealing (``sa``) mappers: every proposal is
valid, runs are deterministic for a seed, tells replay into a fresh optimizer, and both improve on
their own starting points."""

from __future__ import annotations

import numpy as np
import pytest

from cosearch.arch.io import load_arch
from cosearch.dims import DIM_INDEX
from cosearch.mappers._ga import GeneticSearch
from cosearch.mappers._sa import SimulatedAnnealing
from cosearch.mappers.layer import make_optimizer, map_layer
from cosearch.mapping.mapping import Mappings
from cosearch.mapping.space import MapSpace
from cosearch.model.evaluate import check_valid, evaluate
from cosearch.workload.layer import Layer

SMALL = Layer(name="small", K=16, C=16, P=14, Q=14, R=3, S=3)
OPTS = ["ga", "sa"]


@pytest.fixture(scope="module")
def eyeriss():
    return load_arch("eyeriss-168")


@pytest.fixture(scope="module")
def space(eyeriss):
    return MapSpace(eyeriss, SMALL)


def _run(opt, arch, layer, budget, batches=None):
    """Drive ``opt`` like ``map_layer`` (optionally with a cycle of batch sizes); returns every
    (candidates, costs) pair told."""
    told = []
    sizes = batches or [getattr(opt, "preferred_batch", 256)]
    i = 0
    while opt.n_told < budget:
        n = min(sizes[i % len(sizes)], budget - opt.n_told)
        i += 1
        cands = opt.ask(n)
        assert 1 <= len(cands) <= n
        costs = evaluate(arch, layer, cands)
        opt.tell(cands, costs)
        told.append((cands, costs))
    return told


def _same(a: Mappings, b: Mappings) -> bool:
    return len(a) == len(b) and all(
        np.array_equal(getattr(a, f), getattr(b, f)) for f in ("temporal", "spatial_x", "spatial_y", "order", "keep")
    )


# ---- validity -----------------------------------------------------------------------------------
@pytest.mark.parametrize("name", OPTS)
@pytest.mark.parametrize(
    "arch_name,layer",
    [
        ("eyeriss-168", SMALL),
        ("eyeriss-168", Layer(name="fc", N=4, K=100, C=128)),
        ("simple-64", Layer(name="odd", N=2, K=7, C=11, P=13, Q=13, R=5, S=5, Wdilation=2)),
    ],
)
def test_every_proposal_is_valid(name, arch_name, layer):
    arch = load_arch(arch_name)
    opt = make_optimizer(name, MapSpace(arch, layer), seed=3)
    for cands, costs in _run(opt, arch, layer, 600, batches=[opt.preferred_batch, 37, 1, 64]):
        assert (check_valid(arch, layer, cands) == 0).all()
        assert costs.valid.all()


@pytest.mark.parametrize("name", OPTS)
def test_tiny_space_still_proposes(name, eyeriss):
    """A layer with every dim 1: almost everything is a duplicate, ask must still return candidates."""
    layer = Layer(name="unit")
    opt = make_optimizer(name, MapSpace(eyeriss, layer), seed=0)
    for cands, _ in _run(opt, eyeriss, layer, 300):
        assert (check_valid(eyeriss, layer, cands) == 0).all()


@pytest.mark.parametrize("name", OPTS)
def test_respects_space_constraints(name, eyeriss):
    """With a space that has ``allows`` (mapspace constraints), every proposal is allowed."""

    class NoSpatialK(MapSpace):
        def allows(self, m):
            f = self.fanout_level
            k = DIM_INDEX["K"]
            return (m.spatial_x[:, f, k] == 1) & (m.spatial_y[:, f, k] == 1)

    sp = NoSpatialK(eyeriss, SMALL)
    opt = make_optimizer(name, sp, seed=1)
    told = _run(opt, eyeriss, SMALL, 500)
    allowed = np.concatenate([sp.allows(c) for c, _ in told])
    # warm-up draws come from ``space.sample``; nearly all must pass, and every later proposal does
    assert allowed[-300:].all()
    assert allowed.mean() > 0.9


@pytest.mark.parametrize("name", OPTS)
def test_constrained_space(name, eyeriss):
    """Under a dataflow's mapspace constraints every proposal is valid and satisfies them."""
    sp = MapSpace(eyeriss, SMALL, constraints="row-stationary")
    opt = make_optimizer(name, sp, seed=2)
    for cands, costs in _run(opt, eyeriss, SMALL, 500):
        assert costs.valid.all() and sp.allows(cands).all()


def test_ga_crossover_repair_keeps_validity(space):
    ga = GeneticSearch(space, seed=0)
    rng = np.random.default_rng(0)
    a, b = space.sample(400, seed=1), space.sample(400, seed=2)
    c1, c2 = ga._crossover(a, b, rng)
    dims = np.array(SMALL.dims)
    for c in (c1, c2):
        prod = (c.temporal * c.spatial_x * c.spatial_y).prod(axis=1)
        assert (prod == dims).all()  # whole-dim genes keep the factorization exact
    bad = check_valid(space.arch, SMALL, c1) != 0
    assert bad.any()  # the test exercises the repair
    fixed = ga._repair(c1, rng)
    assert (check_valid(space.arch, SMALL, fixed) == 0).all()
    assert _same(fixed.subset(~bad), c1.subset(~bad))  # valid children are left alone
    mutated = ga._mutate(fixed, rng)
    assert (check_valid(space.arch, SMALL, mutated) == 0).all()
    assert len(ga.gene_dims) == 6 and len(ga.bypass_levels) == 1  # K C P Q R S; the GLB bypass set


# ---- determinism and replay ---------------------------------------------------------------------
@pytest.mark.parametrize("name", OPTS)
def test_deterministic_for_a_seed(name, eyeriss):
    r1 = map_layer(eyeriss, SMALL, optimizer=name, budget=700, seed=5)
    r2 = map_layer(eyeriss, SMALL, optimizer=name, budget=700, seed=5)
    assert r1.edp == r2.edp and _same(r1.best, r2.best) and r1.trace == r2.trace
    r3 = map_layer(eyeriss, SMALL, optimizer=name, budget=700, seed=6)
    assert r3.trace != r1.trace


@pytest.mark.parametrize("name", OPTS)
@pytest.mark.parametrize("batches", [None, [45, 1, 100]])
def test_replay_rebuilds_state(name, batches, eyeriss, space):
    opt = make_optimizer(name, space, seed=11)
    told = _run(opt, eyeriss, SMALL, 450, batches=batches)
    fresh = make_optimizer(name, space, seed=11)
    for cands, costs in told:
        fresh.tell(cands, costs)
    assert fresh.state_digest() == opt.state_digest()
    for n in (opt.preferred_batch, 7):
        assert _same(fresh.ask(n), opt.ask(n))


# ---- improvement ------------------------------------------------------------------------------
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_ga_beats_its_first_generation(seed, eyeriss, space):
    ga = GeneticSearch(space, seed=seed)
    _run(ga, eyeriss, SMALL, 1000)
    first = np.concatenate(ga.history_values)[: ga.pop_size]
    assert ga.generation >= 9
    assert ga.best_value < first.min()
    assert np.median(ga.pop_values) < np.median(first)  # the whole population moved, not just the best


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_sa_beats_its_initial_states(seed, eyeriss, space):
    sa = SimulatedAnnealing(space, seed=seed)
    _run(sa, eyeriss, SMALL, 1000)
    start = sa.warm_values  # the chains start from the best of these
    assert sa.best_value < start.min()
    assert np.median(sa.chain_values) < np.median(np.sort(start)[: sa.n_chains])
    assert sa.steps.sum() == 1000 - sa.n_warmup and sa.steps.max() - sa.steps.min() <= 1  # chains take turns


def test_sa_schedule(space):
    sa = SimulatedAnnealing(space, seed=0, chains=10, budget_hint=2000, warmup=100, t_end_ratio=0.01)
    assert sa.preferred_batch == 10 and sa.steps_planned == 190
    sa.t0 = 2.0
    t = sa.temperature(np.arange(sa.steps_planned))
    assert t[0] == pytest.approx(2.0) and t[-1] == pytest.approx(0.02)
    assert np.allclose(t[1:] / t[:-1], t[1] / t[0])  # geometric
    c = sa.ask(1000)
    assert len(c) == 100  # the warm-up
    sa.tell(c, evaluate(space.arch, SMALL, c))
    logs = np.log(sa.warm_values)
    assert sa.t0 == pytest.approx(0.1 * logs.std())
    assert len(sa.ask(1000)) == 10  # one neighbor per chain
