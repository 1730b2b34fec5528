"""Tests of the map space: valid-by-construction sampling, diversity, determinism, sizes, mutations."""

from __future__ import annotations

import itertools
import math
import time

import numpy as np
import pytest

from cosearch.arch.io import load_arch
from cosearch.arch.spec import Arch
from cosearch.dims import DIM_INDEX, DIMS, NUM_DIMS
from cosearch.errors import CosearchError
from cosearch.mapping.factors import (
    count_ordered_factorizations,
    divisors,
    prime_factors,
    random_factorizations,
)
from cosearch.mapping.mapping import Mappings
from cosearch.mapping.moves import MoveSet
from cosearch.mapping.space import MapSpace
from cosearch.model.evaluate import evaluate
from cosearch.workload.layer import Layer

PRESETS = ["eyeriss-168", "eyeriss-256", "simple-64"]
RESNET = Layer(name="res3x3", K=64, C=64, P=56, Q=56, R=3, S=3)
LAYERS = {
    "resnet3x3": RESNET,
    "strided8x8": Layer(name="strided", K=32, C=4, P=20, Q=20, R=8, S=8, Wstride=4, Hstride=4),
    "depthwise": Layer(name="dw", G=32, C=1, K=1, P=112, Q=112, R=3, S=3),
    "fc": Layer(name="fc", N=4, K=1000, C=2048),
    "odd_dilated": Layer(name="odd", N=2, K=7, C=11, P=13, Q=13, R=5, S=5, Wdilation=2, Hdilation=3),
    "pointwise": Layer(name="pw", K=256, C=128, P=28, Q=28),
}


@pytest.fixture(scope="module")
def archs() -> dict[str, Arch]:
    return {name: load_arch(name) for name in PRESETS}


def _arch(levels: list[dict], mac: dict, name: str = "custom") -> Arch:
    return Arch.model_validate({"name": name, "levels": levels, "mac": mac})


def _child_mesh(arch: Arch) -> tuple[int, int, int]:
    f = arch.fanout_level
    child = arch.levels[f + 1] if f + 1 < arch.num_levels else arch.mac
    return child.mesh_x, child.mesh_y, child.instances


def _check_structure(arch: Arch, layer: Layer, m: Mappings) -> None:
    """Factor products, spatial placement and mesh limits, checked directly on the arrays."""
    dims = np.array(layer.dims)
    total = (m.temporal * m.spatial_x * m.spatial_y).prod(axis=1)
    assert (total == dims[None]).all()
    assert (m.temporal >= 1).all() and (m.spatial_x >= 1).all() and (m.spatial_y >= 1).all()
    f = arch.fanout_level
    others = [li for li in range(arch.num_levels) if li != f]
    assert (m.spatial_x[:, others] == 1).all() and (m.spatial_y[:, others] == 1).all()
    mx, my, inst = _child_mesh(arch)
    px = m.spatial_x[:, f].prod(axis=1)
    py = m.spatial_y[:, f].prod(axis=1)
    assert (px <= mx).all() and (py <= my).all() and (px * py <= inst).all()
    assert (np.sort(m.order, axis=-1) == np.arange(NUM_DIMS)).all(), "orders must be permutations"


# ---- validity -------------------------------------------------------------------------------


@pytest.mark.parametrize("preset", PRESETS)
@pytest.mark.parametrize("layer_name", list(LAYERS))
def test_all_samples_valid(archs: dict[str, Arch], preset: str, layer_name: str) -> None:
    arch, layer = archs[preset], LAYERS[layer_name]
    ms = MapSpace(arch, layer)
    m = ms.sample(3000, seed=11)
    assert len(m) == 3000 and m.num_levels == arch.num_levels
    costs = evaluate(arch, layer, m)
    bad = np.flatnonzero(~costs.valid)
    assert bad.size == 0, f"{bad.size} invalid, first reason {costs.reason_text(int(bad[0])) if bad.size else ''}"
    assert np.isfinite(costs.edp).all()
    _check_structure(arch, layer, m)
    assert ms.is_valid(m).all()


@pytest.mark.parametrize("preset", PRESETS)
def test_random_slot_order_also_valid(archs: dict[str, Arch], preset: str) -> None:
    arch = archs[preset]
    for layer in (RESNET, LAYERS["strided8x8"], LAYERS["depthwise"]):
        ms = MapSpace(arch, layer, slot_order="random")
        m = ms.sample(2000, seed=3)
        assert evaluate(arch, layer, m).valid.all()
        _check_structure(arch, layer, m)


def test_unusual_fanouts_valid() -> None:
    """No storage fan-out (spatial below the innermost level) and fan-out right under DRAM."""
    no_fanout = _arch(
        [{"name": "DRAM"}, {"name": "buf", "size_words": 512, "keeps_fixed": False}],
        {"instances": 16, "mesh_x": 4, "mesh_y": 4},
    )
    fanout0 = _arch(
        [{"name": "DRAM"}, {"name": "rf", "size_words": 32, "instances": 16, "mesh_x": 4, "mesh_y": 4}],
        {"instances": 16, "mesh_x": 4, "mesh_y": 4},
    )
    assert no_fanout.fanout_level == 1 and fanout0.fanout_level == 0
    for arch in (no_fanout, fanout0):
        for layer in (RESNET, LAYERS["strided8x8"], LAYERS["odd_dilated"]):
            m = MapSpace(arch, layer).sample(2000, seed=5)
            assert evaluate(arch, layer, m).valid.all()
            _check_structure(arch, layer, m)
        m = MapSpace(arch, RESNET).sample(2000, seed=5)
        assert ((m.spatial_x * m.spatial_y).prod(axis=(1, 2)) == 16).any(), "the whole mesh should get used"


def test_bounded_outermost_level_that_fits() -> None:
    arch = _arch(
        [
            {"name": "DRAM", "size_words": 10**7},
            {"name": "rf", "size_words": 64, "instances": 4, "mesh_x": 2, "mesh_y": 2},
        ],
        {"instances": 4, "mesh_x": 2, "mesh_y": 2},
    )
    m = MapSpace(arch, RESNET).sample(1000, seed=0)
    assert evaluate(arch, RESNET, m).valid.all()


def test_is_valid_matches_evaluate_on_mixed_batches(archs: dict[str, Arch]) -> None:
    for preset in PRESETS:
        for layer in (RESNET, LAYERS["strided8x8"]):
            ms = MapSpace(archs[preset], layer)
            m = ms.uniform_unconstrained(5000, seed=1)
            costs = evaluate(archs[preset], layer, m)
            assert 0 < costs.valid.sum() < len(m)
            np.testing.assert_array_equal(ms.is_valid(m), costs.valid)


def test_naive_sampling_is_mostly_invalid_but_ours_is_not(archs: dict[str, Arch]) -> None:
    ms = MapSpace(archs["eyeriss-168"], RESNET)
    assert ms.valid_fraction(50_000, seed=0) < 0.02
    assert ms.is_valid(ms.sample(50_000, seed=0)).all()


# ---- unmappable -------------------------------------------------------------------------------


def test_unmappable_fixed_level_raises() -> None:
    arch = _arch(
        [{"name": "DRAM"}, {"name": "rf", "size_words": 2, "instances": 4, "mesh_x": 2, "mesh_y": 2}],
        {"instances": 4, "mesh_x": 2, "mesh_y": 2},
    )
    with pytest.raises(CosearchError, match="rf"):
        MapSpace(arch, RESNET)
    # the same level may bypass instead, so then the layer is mappable
    bypassing = _arch(
        [
            {"name": "DRAM"},
            {"name": "rf", "size_words": 2, "keeps_fixed": False, "instances": 4, "mesh_x": 2, "mesh_y": 2},
        ],
        {"instances": 4, "mesh_x": 2, "mesh_y": 2},
    )
    ms = MapSpace(bypassing, RESNET)
    m = ms.sample(2000, seed=1)
    assert evaluate(bypassing, RESNET, m).valid.all()
    assert (m.keep[:, 1].sum(axis=1) <= 2).all()


def test_unmappable_bounded_outermost_raises() -> None:
    arch = _arch(
        [{"name": "DRAM", "size_words": 1000}, {"name": "rf", "size_words": 64, "instances": 4, "mesh_x": 2, "mesh_y": 2}],
        {"instances": 4, "mesh_x": 2, "mesh_y": 2},
    )
    with pytest.raises(CosearchError, match="outermost"):
        MapSpace(arch, RESNET)
    assert "\n" not in str(pytest.raises(CosearchError, MapSpace, arch, RESNET).value)


# ---- determinism ------------------------------------------------------------------------------


def _same(a: Mappings, b: Mappings) -> bool:
    return all(
        np.array_equal(getattr(a, k), getattr(b, k)) for k in ("temporal", "spatial_x", "spatial_y", "order", "keep")
    )


def test_determinism(archs: dict[str, Arch]) -> None:
    ms = MapSpace(archs["eyeriss-168"], RESNET)
    assert _same(ms.sample(20_000, seed=7), ms.sample(20_000, seed=7))  # crosses a chunk boundary
    assert _same(ms.sample(500, seed=np.random.default_rng(3)), ms.sample(500, seed=np.random.default_rng(3)))
    a, b = ms.sample(500, seed=1), ms.sample(500, seed=2)
    assert not np.array_equal(a.temporal, b.temporal)
    assert not np.array_equal(a.order, b.order)
    assert not np.array_equal(a.keep, b.keep)
    # a fresh MapSpace gives the same stream
    assert _same(MapSpace(archs["eyeriss-168"], RESNET).sample(500, seed=1), a)


def test_zero_and_trivial() -> None:
    arch = load_arch("simple-64")
    ms = MapSpace(arch, RESNET)
    m = ms.sample(0, seed=0)
    assert len(m) == 0 and m.temporal.shape == (0, arch.num_levels, NUM_DIMS)
    ones = Layer(name="one")
    m1 = MapSpace(arch, ones).sample(10, seed=0)
    assert (m1.temporal == 1).all() and evaluate(arch, ones, m1).valid.all()


# ---- diversity --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def eyeriss_batch(archs: dict[str, Arch]) -> tuple[MapSpace, Mappings]:
    ms = MapSpace(archs["eyeriss-168"], RESNET)
    return ms, ms.sample(20_000, seed=2024)


def test_every_level_gets_big_dims(eyeriss_batch: tuple[MapSpace, Mappings]) -> None:
    ms, m = eyeriss_batch
    for dim in ("K", "P"):
        d = DIM_INDEX[dim]
        share = (m.temporal[:, :, d] > 1).mean(axis=0)
        assert (share > 0.005).all(), f"{dim} temporal>1 share per level {share}"
        assert (share < 0.995).all(), f"{dim} temporal>1 share per level {share}"
        f = ms.fanout_level
        assert 0.02 < (m.spatial_x[:, f, d] > 1).mean() < 0.98
        assert 0.02 < (m.spatial_y[:, f, d] > 1).mean() < 0.98
    util = (m.spatial_x * m.spatial_y).prod(axis=(1, 2))
    assert util.max() == 168 and util.min() == 1
    assert len(np.unique(util)) > 20


def test_many_distinct_mappings(eyeriss_batch: tuple[MapSpace, Mappings]) -> None:
    _, m = eyeriss_batch
    factors = np.concatenate([m.temporal, m.spatial_x, m.spatial_y], axis=1).reshape(len(m), -1)
    assert len(np.unique(factors, axis=0)) > 0.9 * len(m)


def test_orders_uniform(eyeriss_batch: tuple[MapSpace, Mappings]) -> None:
    _, m = eyeriss_batch
    # rank of each dim at each level: each of 8 ranks with frequency ~1/8
    for li in range(m.num_levels):
        for d in range(NUM_DIMS):
            freq = np.bincount(m.order[:, li, d], minlength=NUM_DIMS) / len(m)
            assert np.abs(freq - 1 / NUM_DIMS).max() < 0.02


def test_bypass_varies_only_where_allowed(archs: dict[str, Arch]) -> None:
    for preset in PRESETS:
        arch = archs[preset]
        ms = MapSpace(arch, RESNET)
        m = ms.sample(4000, seed=9)
        for li, lvl in enumerate(arch.levels):
            allowed = np.array([ds in lvl.keeps for ds in ("Weights", "Inputs", "Outputs")])
            if li == 0 or lvl.keeps_fixed:
                assert (m.keep[:, li] == allowed[None]).all(), lvl.name
            else:
                assert not m.keep[:, li, ~allowed].any()
                for di in np.flatnonzero(allowed):
                    frac = m.keep[:, li, di].mean()
                    assert 0.3 < frac < 0.7, (lvl.name, di, frac)
                # every subset of the kept data spaces occurs
                combos = {tuple(r) for r in m.keep[:, li, allowed]}
                assert len(combos) == 2 ** int(allowed.sum()), lvl.name


def test_keep_prob_biases_bypass(archs: dict[str, Arch]) -> None:
    arch = archs["simple-64"]
    m = MapSpace(arch, RESNET, keep_prob=0.9).sample(4000, seed=1)
    assert m.keep[:, 1:].mean() > 0.8
    assert evaluate(arch, RESNET, m).valid.all()
    with pytest.raises(ValueError):
        MapSpace(arch, RESNET, keep_prob=1.5)


def test_every_valid_mapping_reachable() -> None:
    """On a tiny space, enumerate every valid (factors, keep) and check the sampler hits each one."""
    arch = _arch(
        [
            {"name": "DRAM"},
            {"name": "GLB", "size_words": 12, "keeps_fixed": False},
            {"name": "RF", "size_words": 6, "instances": 2, "mesh_x": 2, "mesh_y": 1, "keeps": ["Weights", "Outputs"]},
        ],
        {"instances": 2, "mesh_x": 2, "mesh_y": 1},
        name="tiny",
    )
    layer = Layer(name="tiny", K=4, C=2, P=3, R=2)
    ms = MapSpace(arch, layer)
    L, f = arch.num_levels, arch.fanout_level
    active = [d for d in range(NUM_DIMS) if layer.dims[d] > 1]
    slots = L + 1  # temporal at each level + X (mesh_y is 1)

    def splits(n: int) -> list[tuple[int, ...]]:
        return [c for c in itertools.product(divisors(n).tolist(), repeat=slots) if math.prod(c) == n]

    per_dim = [splits(layer.dims[d]) for d in active]
    keep_options = list(itertools.product([False, True], repeat=3))
    rows = []
    for combo in itertools.product(*per_dim):
        for kp in keep_options:
            rows.append((combo, kp))
    B = len(rows)
    temporal = np.ones((B, L, NUM_DIMS), dtype=np.int64)
    sx = np.ones_like(temporal)
    keep = np.zeros((B, L, 3), dtype=bool)
    keep[:, 0] = True
    keep[:, 2] = [True, False, True]
    for b, (combo, kp) in enumerate(rows):
        for d, split in zip(active, combo):
            temporal[b, :, d] = split[:L]
            sx[b, f, d] = split[L]
        keep[b, 1] = kp
    every = Mappings(temporal, sx, np.ones_like(temporal), np.tile(np.arange(NUM_DIMS), (B, L, 1)), keep)
    valid = evaluate(arch, layer, every).valid
    assert 10 < valid.sum() < B
    want = {every.temporal[b].tobytes() + every.spatial_x[b].tobytes() + every.keep[b].tobytes() for b in np.flatnonzero(valid)}

    m = ms.sample(200_000, seed=0)
    got = {m.temporal[b].tobytes() + m.spatial_x[b].tobytes() + m.keep[b].tobytes() for b in range(len(m))}
    assert got <= want, "sampled an invalid mapping"
    assert got == want, f"{len(want - got)} of {len(want)} valid mappings never sampled"


# ---- size -------------------------------------------------------------------------------------


def test_size(archs: dict[str, Arch]) -> None:
    arch = archs["eyeriss-168"]
    ms = MapSpace(arch, RESNET)
    s = ms.size()
    L = arch.num_levels
    assert ms.num_levels == L == 5
    assert s["orders"] == math.factorial(8) ** L
    assert s["bypass"] == 8  # only the GLB may bypass
    slots = L + 2
    expect = 1
    for n in RESNET.dims:
        expect *= count_ordered_factorizations(n, slots)
    assert s["factorizations"] == expect
    # 64 = 2^6 over 7 slots: C(12, 6) ways
    assert count_ordered_factorizations(64, 7) == math.comb(12, 6)
    assert s["total"] == s["factorizations"] * s["orders"] * s["bypass"]
    assert s["log10_total"] == pytest.approx(math.log10(s["total"]))
    assert MapSpace(archs["simple-64"], RESNET).size()["bypass"] == 64  # GLB and RF, 3 each
    est = ms.size(valid_samples=50_000, seed=1)
    assert 0 < est["valid_fraction"] < 0.05
    assert est["log10_valid_estimate"] < est["log10_total"]


def test_factor_helpers() -> None:
    assert prime_factors(1) == {} and prime_factors(360) == {2: 3, 3: 2, 5: 1}
    assert divisors(56).tolist() == [1, 2, 4, 7, 8, 14, 28, 56]
    rng = np.random.default_rng(0)
    fz = random_factorizations(30_000, 12, 3, rng)
    assert (fz.prod(axis=1) == 12).all()
    counts = np.unique(fz, axis=0, return_counts=True)[1]
    assert len(counts) == count_ordered_factorizations(12, 3) == 18
    assert counts.min() > 0.7 * counts.mean()  # roughly uniform


# ---- mutation building blocks -----------------------------------------------------------------


@pytest.mark.parametrize("preset", PRESETS)
def test_sample_dim_split(archs: dict[str, Arch], preset: str) -> None:
    arch = archs[preset]
    ms = MapSpace(arch, RESNET)
    m = ms.sample(4000, seed=4)
    rng = np.random.default_rng(0)
    rows = rng.random(len(m)) < 0.5
    for dim in DIMS:
        d = DIM_INDEX[dim]
        m2 = ms.sample_dim_split(m, dim, rows, rng)
        assert evaluate(arch, RESNET, m2).valid.all()
        _check_structure(arch, RESNET, m2)
        other = np.arange(NUM_DIMS) != d
        for name in ("temporal", "spatial_x", "spatial_y"):
            a, b = getattr(m, name), getattr(m2, name)
            assert np.array_equal(a[~rows], b[~rows]), "unselected rows must not change"
            assert np.array_equal(a[:, :, other], b[:, :, other]), "other dims must not change"
        assert np.array_equal(m.order, m2.order) and np.array_equal(m.keep, m2.keep)
        if RESNET.dims[d] > 1:
            changed = (m.temporal[:, :, d] != m2.temporal[:, :, d]).any(axis=1)
            assert changed[rows].mean() > 0.2 and not changed[~rows].any()
    # the input is not modified
    assert _same(m, ms.sample(4000, seed=4))


def test_swap_orders(archs: dict[str, Arch]) -> None:
    arch = archs["eyeriss-168"]
    ms = MapSpace(arch, RESNET)
    m = ms.sample(3000, seed=5)
    m2, changed = MoveSet(ms).swap_orders(m, None, 1)
    assert changed.mean() > 0.9
    diff = m.order != m2.order  # [B, L, D]
    assert (diff.sum(axis=(1, 2)) == 2 * changed).all(), "exactly two ranks at one level change"
    assert ((diff.sum(axis=2) > 0).sum(axis=1) == changed).all()
    assert (np.sort(m2.order, axis=-1) == np.arange(NUM_DIMS)).all()
    # swapped loops both have factors > 1
    b, li, d = np.nonzero(diff)
    assert (m.temporal[b, li, d] > 1).all()
    assert evaluate(arch, RESNET, m2).valid.all()


@pytest.mark.parametrize("preset", PRESETS)
def test_toggle_keep(archs: dict[str, Arch], preset: str) -> None:
    arch = archs[preset]
    ms = MapSpace(arch, RESNET)
    m = ms.sample(3000, seed=6)
    m2, changed = MoveSet(ms).toggle_keep(m, None, 3)
    assert changed.mean() > 0.9
    assert evaluate(arch, RESNET, m2).valid.all()
    diff = ms.effective_keep(m.keep) != ms.effective_keep(m2.keep)
    assert (diff.sum(axis=(1, 2)) == changed).all()
    assert not diff[:, ~ms.bypassable.any(axis=1)].any(), "only bypassable levels change"
    # turning a keep on happens too, not only bypassing
    assert (m2.keep & ~m.keep).any() and (m.keep & ~m2.keep).any()


# ---- speed ------------------------------------------------------------------------------------


def test_speed(archs: dict[str, Arch]) -> None:
    ms = MapSpace(archs["eyeriss-168"], RESNET)
    ms.sample(1000, seed=0)
    t0 = time.perf_counter()
    m = ms.sample(100_000, seed=1)
    elapsed = time.perf_counter() - t0
    assert len(m) == 100_000
    assert elapsed < 15.0, f"100k samples took {elapsed:.1f}s (about 1s expected)"


def test_mac_with_fewer_instances_than_its_mesh() -> None:
    """The total fan-out limit (instances) binds on its own when it is below mesh_x × mesh_y."""
    arch = _arch([{"name": "DRAM"}, {"name": "buf", "size_words": 4096}], {"instances": 6, "mesh_x": 4, "mesh_y": 4})
    layer = Layer(name="l", K=16, C=16, P=8, Q=8)
    m = MapSpace(arch, layer).sample(3000, seed=0)
    assert evaluate(arch, layer, m).valid.all()
    used = (m.spatial_x * m.spatial_y).prod(axis=(1, 2))
    assert used.max() <= 6 and (used == 4).any()
