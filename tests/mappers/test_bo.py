"""Bayesian optimization searchers (``bo``, ``vanilla-bo``) and their features.

Fast: small layers and budgets of at most a few hundred evaluations; torch is needed for the model
tests (skipped without it), not for the import test.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest

from cosearch.arch.io import load_arch
from cosearch.mappers._features import domain_feature_names, domain_features, raw_feature_names, raw_features
from cosearch.mappers.layer import make_optimizer, map_layer
from cosearch.mapping.space import MapSpace
from cosearch.model.evaluate import check_valid, evaluate
from cosearch.workload.layer import Layer

SMALL = Layer(name="small", K=16, C=16, P=8, Q=8, R=3, S=3)
DQN2 = Layer(name="dqn_conv2", K=64, C=32, P=9, Q=9, R=4, S=4, Wstride=2, Hstride=2)


@pytest.fixture(scope="module")
def simple():
    return load_arch("simple-64")


@pytest.fixture(scope="module")
def eyeriss():
    return load_arch("eyeriss-168")


def _torch_available() -> bool:
    import importlib.util

    return all(importlib.util.find_spec(m) is not None for m in ("torch", "botorch", "gpytorch"))


needs_torch = pytest.mark.skipif(not _torch_available(), reason="torch/botorch not installed")


def _run(opt, space, budget: int, batch: int = 10):
    """Ask/tell loop; returns the list of (candidates, costs) batches."""
    history = []
    done = 0
    while done < budget:
        cands = opt.ask(min(batch, budget - done))
        costs = evaluate(space.arch, space.layer, cands)
        opt.tell(cands, costs)
        history.append((cands, costs))
        done += len(cands)
    return history


def _same_mappings(a, b) -> bool:
    fields = ("temporal", "spatial_x", "spatial_y", "order", "keep")
    return all(np.array_equal(getattr(a, f), getattr(b, f)) for f in fields)


# ---- features -------------------------------------------------------------------------------------


@pytest.mark.parametrize("arch_name", ["simple-64", "eyeriss-168"])
def test_features_shapes_and_values(arch_name):
    arch = load_arch(arch_name)
    space = MapSpace(arch, DQN2)
    m = space.sample(64, seed=3)
    X = domain_features(arch, DQN2, m)
    R = raw_features(arch, DQN2, m)
    assert X.shape == (64, len(domain_feature_names(arch))) and X.dtype == np.float64
    assert R.shape == (64, len(raw_feature_names(arch))) and R.dtype == np.float64
    assert np.isfinite(X).all() and np.isfinite(R).all()
    names = domain_feature_names(arch)
    util = X[:, names.index("pe_util")]
    assert ((util > 0) & (util <= 1)).all()
    # compute cycles: log2 of the product of all temporal factors
    np.testing.assert_allclose(X[:, names.index("compute_cycles")], np.log2(m.temporal.prod(axis=(1, 2))))
    # row-wise: features of a subset are the subset of the features (no cross-row state)
    np.testing.assert_array_equal(domain_features(arch, DQN2, m.subset(slice(5, 9))), X[5:9])


def test_reuse_feature_counts_loops_inside_innermost_relevant(simple):
    space = MapSpace(simple, SMALL)
    m = space.sample(1, seed=0)
    t = np.ones_like(m.temporal)
    t[0, 0] = np.array(SMALL.dims)  # everything at DRAM: N G K C P Q R S
    m.temporal[:] = t
    m.spatial_x[:] = 1
    m.spatial_y[:] = 1
    # DRAM order outer -> inner: K C P Q R S (N, G = 1): innermost Weights-relevant loop is S, so
    # nothing is inside it; for Outputs (N G K P Q) the innermost relevant is Q, inside it R, S: 3*3.
    m.order[0, 0] = [0, 1, 2, 3, 4, 5, 6, 7]
    X = domain_features(simple, SMALL, m)
    names = domain_feature_names(simple)
    lv = simple.level_names[0]
    assert X[0, names.index(f"reuse[{lv}][Weights]")] == 0
    assert X[0, names.index(f"reuse[{lv}][Outputs]")] == pytest.approx(np.log2(9))
    # C innermost (N G K P Q R S C): Outputs are reused across R, S and C (3*3*16), Inputs not at all
    m.order[0, 0] = [0, 1, 2, 7, 3, 4, 5, 6]
    X = domain_features(simple, SMALL, m)
    assert X[0, names.index(f"reuse[{lv}][Outputs]")] == pytest.approx(np.log2(144))
    assert X[0, names.index(f"reuse[{lv}][Inputs]")] == 0
    assert X[0, names.index(f"stationary[{lv}][Weights]")] == 0


def test_fill_feature_counts_capacity_in_bits(eyeriss):
    """Under INT8 (8-bit weights and inputs, 32-bit partial sums) a level's fill is the bits its kept
    tiles take of its capacity: the same mapping fills a psum scratchpad twice as much as in 16-bit,
    and a weights scratchpad half as much."""
    from cosearch.arch.precision import apply_precision, parse_precision

    int8 = apply_precision(eyeriss, parse_precision("int8"))
    m = MapSpace(eyeriss, SMALL).sample(20, seed=3)
    names = domain_feature_names(eyeriss)
    x16, x8 = domain_features(eyeriss, SMALL, m), domain_features(int8, SMALL, m)
    for level, ratio in (("psum_spad", 2.0), ("weights_spad", 0.5), ("ifmap_spad", 0.5)):
        col = names.index(f"fill[{level}]")
        np.testing.assert_allclose(x8[:, col], ratio * x16[:, col])


def test_features_are_torch_free_and_bo_import_is_lazy():
    code = textwrap.dedent(
        """
        import sys
        import cosearch.mappers.layer, cosearch.mappers._features, cosearch.mappers._bo
        from cosearch.mappers.layer import optimizer_class
        optimizer_class("bo"); optimizer_class("vanilla-bo")
        bad = sorted(m for m in sys.modules if m.split(".")[0] in ("torch", "botorch", "gpytorch"))
        print("LOADED", bad)
        sys.exit(1 if bad else 0)
        """
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr


# ---- constrained BO -------------------------------------------------------------------------------


@needs_torch
def test_bo_proposals_are_valid_by_construction(simple):
    space = MapSpace(simple, SMALL)
    opt = make_optimizer("bo", space, seed=1)
    assert opt.preferred_batch == 10
    history = _run(opt, space, 70)
    for cands, costs in history:
        assert (check_valid(simple, SMALL, cands) == 0).all()
        assert costs.valid.all()
    # after the warm-up, proposals are new mappings (no re-evaluation of a told one)
    from cosearch.mapping.identity import row_hashes

    keys = np.concatenate([row_hashes(c, simple) for c, _ in history])
    assert len(np.unique(keys)) == len(keys)


@needs_torch
def test_bo_local_moves_keep_mappings_valid(eyeriss):
    from functools import partial

    from cosearch.mappers.base import known_valid
    from cosearch.mapping.moves import MoveSet

    space = MapSpace(eyeriss, DQN2)
    parents = space.sample(20, seed=2)
    kids = MoveSet(space, accept=partial(known_valid, space)).mutate(parents, 400, np.random.default_rng(0))
    assert len(kids) > 100
    assert (check_valid(eyeriss, DQN2, kids) == 0).all()
    factors = kids.temporal * kids.spatial_x * kids.spatial_y
    assert (factors.prod(axis=1) == np.array(DQN2.dims)).all()


@needs_torch
def test_bo_is_deterministic_for_a_seed(simple):
    a = map_layer(simple, SMALL, optimizer="bo", budget=60, seed=7)
    b = map_layer(simple, SMALL, optimizer="bo", budget=60, seed=7)
    assert a.edp == b.edp
    assert _same_mappings(a.best, b.best)
    assert a.trace == b.trace


@needs_torch
@pytest.mark.parametrize(
    "name,settings", [("bo", {}), ("bo", {"acquisition": "logei", "refit_every": 20}), ("vanilla-bo", {})]
)
def test_replay_rebuilds_state_and_next_ask(simple, name, settings):
    space = MapSpace(simple, SMALL)
    first = make_optimizer(name, space, seed=3, **settings)
    history = _run(first, space, 70)
    nxt = first.ask(10)
    replayed = make_optimizer(name, space, seed=3, **settings)
    for cands, costs in history:
        replayed.tell(cands, costs)
    assert replayed.state_digest() == first.state_digest()
    assert _same_mappings(replayed.ask(10), nxt)


@needs_torch
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_bo_improves_over_its_warmup(simple, seed):
    res = map_layer(simple, SMALL, optimizer="bo", budget=100, seed=seed)
    trace = dict(res.trace)
    assert res.evaluations == 100
    assert res.edp < trace[30]


def test_bo_declares_its_feasibility_weighting_per_acquisition():
    from cosearch._gp.acquisition import ACQUISITIONS
    from cosearch._gp.feasibility import STANDARDISATIONS
    from cosearch.mappers._bo import ConstrainedBO

    assert set(ConstrainedBO.feasibility_weighting) == set(ACQUISITIONS)
    assert set(ConstrainedBO.feasibility_weighting.values()) == {"log"}  # log P added to -LCB and log-EI
    assert ConstrainedBO.feasibility_standardise == "gp-box" and "gp-box" in STANDARDISATIONS


@needs_torch
def test_vanilla_bo_reports_a_valid_best(simple):
    res = map_layer(simple, SMALL, optimizer="vanilla-bo", budget=60, seed=0)
    assert res.costs.valid[0] and np.isfinite(res.edp)
    assert res.evaluations == 60


@needs_torch
def test_bo_rejects_bad_settings(simple):
    from cosearch.errors import CosearchError

    space = MapSpace(simple, SMALL)
    with pytest.raises(CosearchError):
        make_optimizer("bo", space, acquisition="ucb")
    with pytest.raises(CosearchError):
        make_optimizer("bo", space, explore_prob=1.5)


def test_unconstrained_pool_factorizes_exactly(eyeriss):
    space = MapSpace(eyeriss, DQN2)
    m = space.uniform_unconstrained(200, seed=0)  # vanilla BO's candidates
    factors = m.temporal * m.spatial_x * m.spatial_y
    assert (factors.prod(axis=1) == np.array(DQN2.dims)).all()
    f = eyeriss.fanout_level
    off = [li for li in range(eyeriss.num_levels) if li != f]
    assert (m.spatial_x[:, off] == 1).all() and (m.spatial_y[:, off] == 1).all()
    assert (check_valid(eyeriss, DQN2, m) != 0).any()  # unconstrained: some break capacity or fan-out
