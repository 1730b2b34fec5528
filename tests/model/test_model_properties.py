"""Properties of the cost model over random mappings (Hypothesis), and agreement of the compiled
kernel with the independent NumPy oracle in ``numpy_oracle.py``."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cosearch import Layer, Mappings, MapSpace, evaluate, load_arch
from cosearch.dims import DIM_INDEX, NUM_DIMS
from cosearch.workload.geometry import distinct_windows
from numpy_oracle import evaluate_numpy

ARCHS = {name: load_arch(name) for name in ("eyeriss-168", "eyeriss-256", "simple-64")}
LAYERS = [
    Layer(name="conv3x3", K=64, C=64, P=56, Q=56, R=3, S=3),
    Layer(name="conv1_s2", K=64, C=3, P=112, Q=112, R=7, S=7, Wstride=2, Hstride=2),
    Layer(name="dqn_conv1", K=32, C=4, P=20, Q=20, R=8, S=8, Wstride=4, Hstride=4),
    Layer(name="ds1x1_s2", K=256, C=128, P=14, Q=14, Wstride=2, Hstride=2),
    Layer(name="depthwise", G=32, P=28, Q=28, R=3, S=3),
    Layer(name="dilated", K=16, C=8, P=12, Q=10, R=3, S=3, Wdilation=2, Hdilation=3),
    Layer(name="fc_batch", N=16, K=1024, C=1024),
    Layer(name="attention_qk", G=8, K=128, C=64, P=128),
]

arch_names = st.sampled_from(sorted(ARCHS))
layer_index = st.integers(0, len(LAYERS) - 1)
seeds = st.integers(0, 2**31 - 1)


def _sample(arch_name: str, li: int, seed: int, n: int = 64):
    arch, layer = ARCHS[arch_name], LAYERS[li]
    return arch, layer, MapSpace(arch, layer).sample(n, seed=seed)


def _used_words(layer: Layer) -> np.ndarray:
    """Words of each data space that some MAC actually touches (strided inputs skip some)."""
    w = distinct_windows(np.int64(layer.P), np.int64(layer.R), np.int64(layer.Wstride), np.int64(layer.Wdilation))
    h = distinct_windows(np.int64(layer.Q), np.int64(layer.S), np.int64(layer.Hstride), np.int64(layer.Hdilation))
    return np.array([layer.weight_words, layer.N * layer.G * layer.C * int(w) * int(h), layer.output_words])


@settings(max_examples=40, deadline=None)
@given(arch_names, layer_index, seeds)
def test_basic_invariants(arch_name: str, li: int, seed: int) -> None:
    arch, layer, m = _sample(arch_name, li, seed)
    c = evaluate(arch, layer, m, breakdown=True)
    assert c.valid.all()
    # every datum that is used is read from DRAM (outputs: written to DRAM) at least once
    used = _used_words(layer)
    assert (c.reads[:, 0, 0] >= used[0]).all()
    assert (c.reads[:, 0, 1] >= used[1]).all()
    assert (c.updates[:, 0, 2] >= used[2]).all()
    # MACs exact; compute cycles × PEs used = MACs (perfect factorization)
    assert c.macs == layer.macs
    assert (c.compute_cycles * c.utilized_pes == layer.macs).all()
    # cycles bounded below by compute on the PEs used, and by the whole array
    assert (c.cycles >= layer.macs / c.utilized_pes).all()
    assert (c.cycles >= layer.macs / arch.num_pes).all()
    assert (c.utilization <= 1 + 1e-12).all()
    # energy at least the MACs', and equal to the per-level sum plus MACs
    assert (c.energy_pj >= layer.macs * arch.mac.energy_pj).all()
    np.testing.assert_allclose(
        c.energy_pj, c.level_energy_pj.sum(axis=(1, 2)) + layer.macs * arch.mac.energy_pj, rtol=1e-12
    )
    # outputs: reads = updates - partition, per instance, at every keeper
    kept_o = c.keep[:, :, 2]
    lhs = c.reads[:, :, 2]
    rhs = c.updates[:, :, 2] - c.partition_words[:, :, 2] * c.utilized_instances
    assert (lhs[kept_o] == rhs[kept_o]).all()
    assert c.edp == pytest.approx(c.energy_pj * c.cycles)


@settings(max_examples=25, deadline=None)
@given(arch_names, layer_index, seeds, st.integers(1, 63))
def test_invariant_to_batch_size_and_order(arch_name: str, li: int, seed: int, cut: int) -> None:
    arch, layer, m = _sample(arch_name, li, seed)
    whole = evaluate(arch, layer, m, breakdown=True)
    perm = np.random.default_rng(seed).permutation(len(m))
    shuffled = evaluate(arch, layer, m.subset(perm), breakdown=True)
    for name in ("energy_pj", "cycles", "reads", "fills", "updates"):
        np.testing.assert_array_equal(getattr(shuffled, name), getattr(whole, name)[perm])
    head = evaluate(arch, layer, m.subset(slice(0, cut)))
    tail = evaluate(arch, layer, m.subset(slice(cut, None)))
    np.testing.assert_array_equal(np.concatenate([head.energy_pj, tail.energy_pj]), whole.energy_pj)
    np.testing.assert_array_equal(np.concatenate([head.cycles, tail.cycles]), whole.cycles)


def _scrambled(m: Mappings, rng: np.random.Generator) -> Mappings:
    """Perturb valid mappings into a mix of valid and invalid ones (all reason kinds)."""
    t, sx, sy = m.temporal.copy(), m.spatial_x.copy(), m.spatial_y.copy()
    B = len(m)
    rows = rng.random(B) < 0.3  # break the factorization
    t[rows, 0, rng.integers(0, NUM_DIMS)] *= 2
    rows = rng.random(B) < 0.3  # move factors inward: capacity overflows
    d = rng.integers(0, NUM_DIMS)
    t[rows, -1, d] *= t[rows, 0, d]
    t[rows, 0, d] = 1
    rows = rng.random(B) < 0.3  # move a factor to the array: fan-out overflows
    d = rng.integers(0, NUM_DIMS)
    f = 1
    sx[rows, f, d] *= t[rows, 0, d]
    t[rows, 0, d] = 1
    keep = m.keep.copy() ^ (rng.random(m.keep.shape) < 0.2)
    return Mappings(t, sx, sy, m.order, keep)


@settings(max_examples=30, deadline=None)
@given(arch_names, layer_index, seeds)
def test_kernel_matches_numpy_oracle(arch_name: str, li: int, seed: int) -> None:
    arch, layer, m = _sample(arch_name, li, seed)
    m = Mappings.concat([m, _scrambled(m, np.random.default_rng(seed))])
    fast = evaluate(arch, layer, m, breakdown=True)
    ref = evaluate_numpy(arch, layer, m, breakdown=True)
    np.testing.assert_array_equal(fast.reason, ref.reason)
    assert 0 < fast.valid.sum() <= len(m)
    v = fast.valid
    np.testing.assert_array_equal(fast.cycles[v], ref.cycles[v])
    np.testing.assert_allclose(fast.energy_pj[v], ref.energy_pj[v], rtol=1e-12)
    for name in ("reads", "fills", "updates", "tile_words", "utilized_instances"):
        np.testing.assert_array_equal(getattr(fast, name)[v], getattr(ref, name)[v], err_msg=name)
    assert np.isinf(fast.energy_pj[~v]).all()


def test_distinct_windows_brute_force() -> None:
    for na in range(1, 7):
        for nb in range(1, 7):
            for a in range(1, 6):
                for b in range(1, 6):
                    want = len({x * a + y * b for x in range(na) for y in range(nb)})
                    got = distinct_windows(np.int64(na), np.int64(nb), np.int64(a), np.int64(b))
                    assert got == want, (na, nb, a, b)


def test_invalid_reasons_are_reported() -> None:
    arch, layer = ARCHS["eyeriss-168"], LAYERS[0]
    B, L = 6, arch.num_levels
    t = np.ones((B, L, NUM_DIMS), dtype=np.int64)
    t[:, 0] = layer.dims  # everything in DRAM loops: valid
    sx, sy = np.ones_like(t), np.ones_like(t)
    order = np.tile(np.arange(NUM_DIMS), (B, L, 1))
    keep = np.ones((B, L, 3), dtype=bool)
    k = DIM_INDEX["K"]
    t[1, 0, k] *= 2  # factors of K multiply to 128
    for row, level, (x, y) in ((2, 1, (16, 1)), (3, 1, (1, 16)), (4, 0, (2, 1))):
        sx[row, level, k], sy[row, level, k] = x, y  # X > 14, Y > 12, spatial off the fan-out level
        t[row, 0, k] = 64 // (x * y)
    t[5, 0, k], t[5, -1, k] = 1, 64  # all of K in the psum spad: 64 outputs > 24 words
    c = evaluate(arch, layer, Mappings(t, sx, sy, order, keep))
    assert [c.reason_text(i) for i in range(B)] == [
        "", "factorization", "fanout_x", "fanout_y", "fanout_total", "capacity:psum_spad"
    ]
    assert c.valid[0] and not c.valid[1:].any() and np.isinf(c.edp[1:]).all()
