"""Tests of the imperfect map space: factors that over-cover a dim, drawn valid by construction with the
largest tiles within capacity, the padding cap, constraints, counting and uniform draws."""

from __future__ import annotations

import inspect
import itertools
import math

import numpy as np
import pytest

from cosearch.arch.io import load_arch
from cosearch.dims import DATASPACES, DIM_INDEX, DIMS, NUM_DIMS
from cosearch.errors import CosearchError
from cosearch.mapping.constraints import load_constraints
from cosearch.mapping.factors import (
    count_ordered_factorizations,
    efficient_factors,
    padding_limits,
)
from cosearch.mapping.moves import MoveSet
from cosearch.mapping.space import MapSpace
from cosearch.mapping.space.counting import covering_factorizations
from cosearch.mapping.space.sampler import PERFECT_SHARE
from cosearch.model.evaluate import evaluate
from cosearch.workload.geometry import tile_words
from cosearch.workload.layer import Layer

ODD = Layer(name="odd", K=13, C=7, P=20, Q=20, R=3, S=3)
STRIDED = Layer(name="strided", N=2, K=5, C=11, P=9, Q=7, R=3, S=2, Wstride=2, Hstride=3, Wdilation=2)
DQN_LIKE = Layer(name="dqn2", K=64, C=32, P=9, Q=9, R=4, S=4, Wstride=2, Hstride=2)
PRESETS = ["eyeriss-168", "eyeriss-256", "simple-64"]


def products(m) -> np.ndarray:
    """``[B, D]``: the product of every dim's factors over all levels and the mesh."""
    return (m.temporal * m.spatial_x * m.spatial_y).prod(axis=1)


# ---- integer helpers -------------------------------------------------------------------------------
@pytest.mark.parametrize("rest", [1, 2, 7, 12, 20, 97, 360, 1001])
def test_efficient_factors_are_the_smallest_per_outer_count(rest: int) -> None:
    got = efficient_factors(rest).tolist()
    want = sorted({min(v for v in range(1, rest + 1) if -(-rest // v) == q)
                   for q in {-(-rest // v) for v in range(1, rest + 1)}})
    assert got == want
    assert set(v for v in range(1, rest + 1) if rest % v == 0) <= set(got)  # every divisor is one


def test_padding_limits() -> None:
    assert padding_limits([7, 20, 1, 100], 0.25).tolist() == [8, 25, 1, 125]
    assert padding_limits([7, 20], 0.0).tolist() == [7, 20]
    assert padding_limits([10], 0.1).tolist() == [11]  # 1.1 · 10 is 11.000000000000002 in floats


# ---- sampling -------------------------------------------------------------------------------------
@pytest.mark.parametrize("preset", PRESETS)
@pytest.mark.parametrize("layer", [ODD, STRIDED, DQN_LIKE], ids=lambda x: x.name)
def test_samples_are_valid_cover_and_respect_the_cap(preset: str, layer: Layer) -> None:
    arch = load_arch(preset)
    space = MapSpace(arch, layer, factorization="imperfect")
    m = space.sample(3000, seed=5)
    assert space.is_valid(m).all()
    prod = products(m)
    dims = np.array(layer.dims)
    assert (prod >= dims).all()
    assert (prod <= padding_limits(dims, 0.25)).all()
    perfect = (prod == dims).all(axis=1).mean()
    # PERFECT_SHARE of the rows are drawn with divisors only; most of the others use the freedom
    assert PERFECT_SHARE - 0.05 < perfect < 1 - (1 - PERFECT_SHARE) * 0.6


@pytest.mark.parametrize("cap", [0.0, 0.1, 0.5, 1.0])
def test_padding_cap_bounds_every_product(cap: float) -> None:
    space = MapSpace(load_arch("eyeriss-168"), ODD, factorization="imperfect", max_padding=cap)
    m = space.sample(2000, seed=1)
    prod = products(m)
    limit = padding_limits(ODD.dims, cap)
    assert space.is_valid(m).all()
    assert (prod <= limit).all() and (prod >= np.array(ODD.dims)).all()
    if cap == 0.0:
        assert (prod == np.array(ODD.dims)).all()  # no padding at all: perfect factorizations
    else:
        assert (prod > np.array(ODD.dims)).any()


def _points(ds: str, layer: Layer, ranges: list[range]) -> int:
    """Words of ``ds``'s bounding box over the iteration box ``ranges [D]`` (walked point by point;
    tiles are bounding boxes, as in Timeloop, so strided Inputs axes count their gaps)."""
    r = dict(zip(DIMS, ranges))
    if ds == "Weights":
        return len(r["G"]) * len(r["K"]) * len(r["C"]) * len(r["R"]) * len(r["S"])
    if ds == "Outputs":
        return len(r["N"]) * len(r["G"]) * len(r["K"]) * len(r["P"]) * len(r["Q"])
    w = [p * layer.Wstride + s * layer.Wdilation for p in r["P"] for s in r["R"]]
    h = [q * layer.Hstride + s * layer.Hdilation for q in r["Q"] for s in r["S"]]
    return len(r["N"]) * len(r["G"]) * len(r["C"]) * (max(w) - min(w) + 1) * (max(h) - min(h) + 1)


def test_capacity_holds_for_every_tile_including_remainders() -> None:
    """Walk every tile of every bounded level (all offsets along each dim, the last ones partial):
    each fits, and the largest is the one the capacity check uses."""
    arch = load_arch("simple-64")
    space = MapSpace(arch, STRIDED, factorization="imperfect")
    m = space.sample(60, seed=3)
    keep = space.effective_keep(m.keep)
    factors = m.temporal * m.spatial_x * m.spatial_y
    ext = np.cumprod(factors[:, ::-1], axis=1)[:, ::-1]
    dims = STRIDED.dims
    checked = 0
    for b, li in itertools.product(range(len(m)), range(1, arch.num_levels)):
        size = arch.levels[li].size_words
        if size is None:
            continue
        e = [int(x) for x in ext[b, li]]
        starts = [range(0, dims[d], e[d]) for d in range(NUM_DIMS)]
        largest = 0
        for offs in itertools.product(*[s if len(s) <= 3 else [s[0], s[-1]] for s in starts]):
            box = [range(o, min(o + e[d], dims[d])) for d, o in enumerate(offs)]
            words = sum(_points(ds, STRIDED, box) for di, ds in enumerate(DATASPACES) if keep[b, li, di])
            largest = max(largest, words)
        clamped = np.minimum(ext[b, li], dims)
        formula = sum(int(tile_words(ds, clamped, STRIDED)) for di, ds in enumerate(DATASPACES) if keep[b, li, di])
        assert largest == formula <= size
        checked += 1
    assert checked > 50


def test_non_dividing_factors_are_drawn() -> None:
    space = MapSpace(load_arch("eyeriss-168"), ODD, factorization="imperfect", max_padding=0.5)
    m = space.sample(4000, seed=2)
    f = space.fanout_level
    px = m.spatial_x[:, f, DIM_INDEX["P"]]
    assert set(np.unique(px).tolist()) - {1, 2, 4, 5, 10, 20}  # P = 20: some X factors divide nothing
    seen = set(np.unique(m.temporal[:, 1:, DIM_INDEX["C"]]).tolist())
    assert seen - {1, 7}  # C = 7 is prime: only an imperfect space splits it


def test_deterministic_and_seed_dependent() -> None:
    space = MapSpace(load_arch("eyeriss-168"), ODD, factorization="imperfect")
    a, b, c = space.sample(200, seed=9), space.sample(200, seed=9), space.sample(200, seed=10)
    assert np.array_equal(a.temporal, b.temporal) and np.array_equal(a.spatial_x, b.spatial_x)
    assert not np.array_equal(a.temporal, c.temporal)


def test_perfect_space_ignores_the_cap() -> None:
    arch = load_arch("eyeriss-168")
    a = MapSpace(arch, ODD).sample(300, seed=4)
    b = MapSpace(arch, ODD, factorization="perfect", max_padding=1.0).sample(300, seed=4)
    assert np.array_equal(a.temporal, b.temporal) and np.array_equal(a.keep, b.keep)
    assert (products(a) == np.array(ODD.dims)).all()


def test_sample_dim_split_keeps_rows_valid() -> None:
    space = MapSpace(load_arch("eyeriss-168"), ODD, factorization="imperfect")
    m = space.sample(500, seed=1)
    for dim in ("P", "C", "K"):
        m = space.sample_dim_split(m, dim, rng=3)
        assert space.is_valid(m).all()


def test_violations_name_under_cover_and_padding() -> None:
    space = MapSpace(load_arch("eyeriss-168"), ODD, factorization="imperfect")
    m = space.sample(3, seed=0)
    P = DIM_INDEX["P"]
    under = m.subset(slice(0, 1))
    under.temporal[0, 0, P] = 1
    under.temporal[0, 1:, P] = 1
    under.spatial_x[0, :, P] = 1
    under.spatial_y[0, :, P] = 1
    under.temporal[0, 0, P] = 19
    assert space.violations(under)["factorization"][0]
    over = under.subset(slice(0, 1))
    over.temporal[0, 0, P] = 26  # 26 > 1.25 · 20
    v = space.violations(over)
    assert not v["factorization"][0] and v["padding"][0] and not space.allows(over)[0]
    over.temporal[0, 0, P] = 25
    assert not space.violations(over)["padding"][0]


@pytest.mark.parametrize("bad", [{"factorization": "ceil"}, {"max_padding": -0.1}, {"max_padding": 1.5},
                                 {"max_padding": float("nan")}])
def test_bad_settings_are_one_line_errors(bad: dict) -> None:
    with pytest.raises(CosearchError) as err:
        MapSpace(load_arch("eyeriss-168"), ODD, **bad)
    assert "\n" not in str(err.value)


# ---- constraints ----------------------------------------------------------------------------------
@pytest.mark.parametrize("flow", ["row-stationary", "weight-stationary", "output-stationary", "input-stationary"])
def test_dataflows_under_imperfect(flow: str) -> None:
    arch = load_arch("eyeriss-168")
    base = MapSpace(arch, ODD, factorization="imperfect")
    space = base.with_constraints(load_constraints(flow, arch))
    assert space.imperfect and space.max_padding == base.max_padding
    m = space.sample(1000, seed=2)
    assert space.is_valid(m).all() and space.allows(m).all()
    assert (products(m) > np.array(ODD.dims)).any()


def _cons(arch, items: list[dict]):
    return load_constraints({"constraints": items}, arch)


def test_every_constraint_kind_under_imperfect() -> None:
    arch = load_arch("eyeriss-168")
    glb = arch.levels[1].name
    items = [
        {"type": "temporal", "target": glb, "factors": "C=3", "permutation": "CK"},  # 3 does not divide 7
        {"type": "spatial", "target": arch.levels[arch.fanout_level].name, "y_factors": "Q=5"},
        {"type": "utilization", "min": 0.3},
    ]
    bypassable = [(lvl.name, ds) for li, lvl in enumerate(arch.levels[1:], 1) if not lvl.keeps_fixed
                  for ds in lvl.keeps]
    if bypassable:
        items.append({"type": "bypass", "target": bypassable[0][0], "bypass": [bypassable[0][1]]})
    # C = 7 with a fixed 3 needs at least 3 · ceil(7 / 3) = 9 points: within a cap of 0.5 (10), not 0.25 (8)
    space = MapSpace(arch, ODD, constraints=_cons(arch, items), factorization="imperfect", max_padding=0.5)
    m = space.sample(400, seed=1)
    assert space.is_valid(m).all() and space.allows(m).all()
    assert (m.temporal[:, 1, DIM_INDEX["C"]] == 3).all()
    assert (m.spatial_y[:, arch.fanout_level, DIM_INDEX["Q"]] == 5).all()
    assert (products(m)[:, DIM_INDEX["C"]] == 9).all()
    f = arch.fanout_level
    assert ((m.spatial_x[:, f] * m.spatial_y[:, f]).prod(axis=1) >= 0.3 * arch.fanout_child.instances).all()
    with pytest.raises(CosearchError, match="padding cap"):
        MapSpace(arch, ODD, constraints=_cons(arch, items), factorization="imperfect")


def test_fixed_factors_beyond_the_cap_are_refused() -> None:
    arch = load_arch("eyeriss-168")
    glb = arch.levels[1].name
    with pytest.raises(CosearchError, match="padding cap") as err:
        MapSpace(arch, ODD, constraints=_cons(arch, [{"type": "temporal", "target": glb, "factors": "C=4"}]),
                 factorization="imperfect", max_padding=0.1)  # 4 · ceil(7 / 4) = 8 > 7.7
    assert "\n" not in str(err.value)
    # under perfect factorization the same constraint is refused for not dividing
    with pytest.raises(CosearchError, match="divide"):
        MapSpace(arch, ODD, constraints=_cons(arch, [{"type": "temporal", "target": glb, "factors": "C=4"}]))


# ---- busy PEs and counting ------------------------------------------------------------------------
def test_more_pes_busy_under_imperfect() -> None:
    arch = load_arch("eyeriss-168")  # 14 x 12
    layer = Layer(name="primes", K=13, C=11, P=7, Q=7)
    perfect = MapSpace(arch, layer).max_busy_pes()
    imperfect = MapSpace(arch, layer, factorization="imperfect").max_busy_pes()
    assert perfect == MapSpace(arch, layer).max_utilized_pes()
    assert perfect <= 13 * 11  # divisors only: 13, 11, 7 fit at most as 13 · 11 or 11 · 7 · ...
    assert imperfect == arch.fanout_child.instances > perfect


def test_covering_counts_match_brute_force() -> None:
    k = 3
    for size, limit in [(7, 8), (10, 12), (12, 15)]:
        prods, counts = covering_factorizations(size, limit, k)
        brute = {n: 0 for n in range(size, limit + 1)}
        for t in itertools.product(range(1, limit + 1), repeat=k):
            n = math.prod(t)
            if size <= n <= limit:
                brute[n] += 1
        assert dict(zip(prods.tolist(), counts.tolist())) == brute
        assert all(brute[n] == count_ordered_factorizations(n, k) for n in brute)


def test_size_and_uniform_draws_under_imperfect() -> None:
    arch = load_arch("eyeriss-168")
    perfect, imperfect = MapSpace(arch, ODD), MapSpace(arch, ODD, factorization="imperfect")
    assert imperfect.size()["factorizations"] > perfect.size()["factorizations"]
    u = imperfect.uniform_unconstrained(2000, seed=1)
    prod = products(u)
    assert (prod >= np.array(ODD.dims)).all() and (prod <= imperfect.pad_limit).all()
    assert (prod > np.array(ODD.dims)).any()
    assert 0 < imperfect.valid_fraction(2000, seed=1) < 1


def test_uniform_space_of_a_huge_dim_is_refused() -> None:
    space = MapSpace(load_arch("eyeriss-168"), Layer(name="vocab", K=50257 * 16, C=8), factorization="imperfect")
    with pytest.raises(CosearchError, match="max-padding"):
        space.size()
    assert space.is_valid(space.sample(50, seed=0)).all()  # the sampler needs no such table


# ---- agreement with the cost model ----------------------------------------------------------------
needs_imperfect_model = pytest.mark.skipif(
    "factorization" not in inspect.signature(evaluate).parameters,
    reason="needs the cost model's imperfect factorization (evaluate(..., factorization=))")


@needs_imperfect_model
@pytest.mark.parametrize("preset", PRESETS)
@pytest.mark.parametrize("layer", [ODD, STRIDED, DQN_LIKE], ids=lambda x: x.name)
def test_samples_are_valid_for_the_model(preset: str, layer: Layer) -> None:
    arch = load_arch(preset)
    space = MapSpace(arch, layer, factorization="imperfect", max_padding=0.5)
    m = space.sample(3000, seed=7)
    costs = evaluate(arch, layer, m, factorization="imperfect")
    assert costs.valid.all(), {costs.reason_text(i) for i in np.flatnonzero(~costs.valid)}
    # and the space's own check says what the model says on mappings that break things
    moves = MoveSet(space)
    near, _ = moves.all_neighbors(m.subset(slice(0, 40)))
    model_ok = evaluate(arch, layer, near, factorization="imperfect").valid
    space_v = space.violations(near)
    space_ok = ~np.any([v for k, v in space_v.items() if k != "padding"], axis=0)
    assert np.array_equal(model_ok, space_ok)
    assert (~model_ok).any() and model_ok.any()
