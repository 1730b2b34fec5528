"""The cost model under imperfect factorization (``factorization="imperfect"``) against the brute-force
loop-nest simulator (``loopnest_simulator.py``), on random small layers whose prime dims (5, 7, 11, 13)
are spread over meshes they do not divide, with strides, dilations and bypassed levels; and the
validity rules of the flag (under-cover invalid, over-cover valid only when asked)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

from conftest import reference_records, requires_reference
from cosearch import Layer, Mappings, MapSpace, load_arch
from cosearch.dims import DIM_INDEX, NUM_DIMS
from cosearch.errors import CosearchError
from cosearch.model.evaluate import evaluate
from loopnest_simulator import simulate

COUNTS = ("reads", "fills", "updates", "tile_words")

LAYERS = [
    Layer(name="k5c3p7r3", K=5, C=3, P=7, R=3),
    Layer(name="k11c2p5", K=11, C=2, P=5),
    Layer(name="p13r2_s2", K=2, P=13, R=2, Wstride=2),
    Layer(name="q5s3_d2", K=3, C=2, P=2, Q=5, S=3, Hdilation=2),
    Layer(name="n2g3k2c2p5", N=2, G=3, K=2, C=2, P=5),
    Layer(name="k7c7", K=7, C=7),
    Layer(name="k2c5p3q3r3s3_s2", K=2, C=5, P=3, Q=3, R=3, S=3, Wstride=2, Hstride=2),
]


def _arch(tmp: Path, name: str, mesh_x: int, mesh_y: int, levels_below: int):
    """DRAM, a GLB (the fan-out level) and ``levels_below`` per-PE levels, all of unbounded size and
    free to bypass any data space."""
    def level(lname: str, e: float, pe: bool) -> dict:
        out = {"name": lname, "size_words": None, "keeps": ["Weights", "Inputs", "Outputs"], "keeps_fixed": False,
               "energy_pj": {"read": e, "fill": e * 1.5, "update": e * 2}}
        if pe:
            out.update(instances=mesh_x * mesh_y, mesh_x=mesh_x, mesh_y=mesh_y)
        return out
    levels = [{"name": "DRAM", "technology": "DRAM", "size_words": None, "keeps": ["Weights", "Inputs", "Outputs"],
               "energy_pj": {"read": 200, "fill": 200, "update": 200}}, level("GLB", 6.0, False)]
    levels += [level(f"L{i}", 1.0 / (i + 1), True) for i in range(levels_below)]
    spec = {"name": name, "estimator": "table", "levels": levels,
            "mac": {"instances": mesh_x * mesh_y, "mesh_x": mesh_x, "mesh_y": mesh_y, "energy_pj": 1.0}}
    path = tmp / f"{name}.yaml"
    path.write_text(yaml.safe_dump(spec))
    return load_arch(str(path))


@pytest.fixture(scope="module")
def archs(tmp_path_factory) -> list:
    tmp = tmp_path_factory.mktemp("archs")
    return [_arch(tmp, "mesh4x4", 4, 4, 2), _arch(tmp, "mesh3x5", 3, 5, 1), _arch(tmp, "mesh6x2", 6, 2, 2)]


def random_imperfect(arch, layer: Layer, rng: np.random.Generator, n: int) -> Mappings:
    """``n`` random mappings whose inner factors are drawn freely (1-4 per level, spatial factors up to
    what is left of the mesh) and whose DRAM factor is the ceiling of what is left (sometimes one more:
    a whole empty tile of padding); random loop orders and keep sets."""
    L, f = arch.num_levels, arch.fanout_level
    mx, my = arch.fanout_child.mesh_x, arch.fanout_child.mesh_y
    t = np.ones((n, L, NUM_DIMS), np.int64)
    sx, sy = np.ones_like(t), np.ones_like(t)
    for b in range(n):
        x_left, y_left = mx, my
        for d in rng.permutation(NUM_DIMS):
            size = layer.dims[d]
            if size == 1:
                continue
            inner = 1
            for li in range(L - 1, 0, -1):
                if rng.random() < 0.5:
                    t[b, li, d] = rng.integers(1, min(size, 4) + 1)
                    inner *= int(t[b, li, d])
            if rng.random() < 0.6 and x_left > 1:
                sx[b, f, d] = rng.integers(1, x_left + 1)
                x_left //= int(sx[b, f, d])
                inner *= int(sx[b, f, d])
            if rng.random() < 0.4 and y_left > 1:
                sy[b, f, d] = rng.integers(1, y_left + 1)
                y_left //= int(sy[b, f, d])
                inner *= int(sy[b, f, d])
            t[b, 0, d] = -(-size // inner) + (1 if rng.random() < 0.1 else 0)
    order = np.stack([np.stack([rng.permutation(NUM_DIMS) for _ in range(L)]) for _ in range(n)])
    return Mappings(t, sx, sy, order, rng.random((n, L, 3)) < 0.7)


def _assert_matches(arch, layer: Layer, m: Mappings, costs, i: int) -> None:
    sim = simulate(arch, layer, m, i)
    kept = costs.keep[i]
    where = f"{arch.name} {layer.name} mapping {i}"
    for name in COUNTS:
        np.testing.assert_array_equal(getattr(costs, name)[i][kept], sim[name][kept], err_msg=f"{where}: {name}")
    assert costs.compute_cycles[i] == sim["compute_cycles"], where
    assert costs.utilized_pes[i] == sim["busy_pes"], where


def test_simulator_reproduces_the_perfect_model(archs) -> None:
    compared = 0
    for ai, arch in enumerate(archs):
        for li, layer in enumerate(LAYERS):
            m = MapSpace(arch, layer).sample(6, seed=100 * ai + li)
            costs = evaluate(arch, layer, m, breakdown=True)
            for i in np.flatnonzero(costs.valid):
                _assert_matches(arch, layer, m, costs, int(i))
                compared += 1
    assert compared >= 100


def test_imperfect_model_matches_the_simulator_on_2000_random_cases(archs) -> None:
    compared = refused = 0
    remainders = 0
    for ai, arch in enumerate(archs):
        for li, layer in enumerate(LAYERS):
            rng = np.random.default_rng(1000 * ai + li)
            m = random_imperfect(arch, layer, rng, 110)
            costs = evaluate(arch, layer, m, breakdown=True, factorization="imperfect")
            covered = (m.temporal * m.spatial_x * m.spatial_y).prod(axis=1)
            for i in range(len(m)):
                if not costs.valid[i]:
                    assert costs.reason_text(i) in ("imperfect_windows", "fanout_total"), costs.reason_text(i)
                    refused += 1
                    continue
                _assert_matches(arch, layer, m, costs, i)
                compared += 1
                remainders += bool((covered[i] != np.array(layer.dims)).any())
    assert compared >= 2000 and remainders >= 1800, (compared, remainders)
    assert refused < compared // 10


def test_perfect_mappings_cost_the_same_under_either_flag() -> None:
    arch = load_arch("eyeriss-168")
    layer = Layer(name="conv", K=64, C=32, P=14, Q=14, R=3, S=3)
    m = MapSpace(arch, layer).sample(500, seed=3)
    a = evaluate(arch, layer, m, breakdown=True)
    b = evaluate(arch, layer, m, breakdown=True, factorization="imperfect")
    for name in ("energy_pj", "cycles", "reason", "reads", "fills", "updates", "tile_words", "partition_words"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)


def _one(arch, layer: Layer, temporal: dict, spatial_x: dict | None = None) -> Mappings:
    L, f = arch.num_levels, arch.fanout_level
    t = np.ones((1, L, NUM_DIMS), np.int64)
    sx = np.ones_like(t)
    for (li, dim), v in temporal.items():
        t[0, li, DIM_INDEX[dim]] = v
    for dim, v in (spatial_x or {}).items():
        sx[0, f, DIM_INDEX[dim]] = v
    order = np.tile(np.arange(NUM_DIMS), (1, L, 1))
    return Mappings(t, sx, np.ones_like(t), order, np.ones((1, L, 3), bool))


def test_cover_rules_and_the_flag(archs) -> None:
    arch = archs[0]
    layer = Layer(name="p7", K=2, P=7)
    over = _one(arch, layer, {(0, "P"): 2, (0, "K"): 2}, {"P": 4})  # 8 >= 7
    under = _one(arch, layer, {(0, "P"): 1, (0, "K"): 2}, {"P": 4})  # 4 < 7
    assert evaluate(arch, layer, over).reason_text(0) == "factorization"
    assert evaluate(arch, layer, under).reason_text(0) == "factorization"
    assert evaluate(arch, layer, under, factorization="imperfect").reason_text(0) == "factorization"
    c = evaluate(arch, layer, over, factorization="imperfect", breakdown=True)
    assert c.valid[0]
    # P in 2 steps over 4 PEs: the second step has 3 busy PEs; 16 PEs, 2 cycles, 14 MACs
    assert c.compute_cycles[0] == 4 and c.utilized_pes[0] == 4
    assert c.utilization[0] == pytest.approx(14 / (c.cycles[0] * 16))
    # energy is the sum of the per-level energies and the MACs'
    assert c.energy_pj[0] == pytest.approx(c.level_energy_pj[0].sum() + 14 * arch.mac.energy_pj, rel=1e-12)
    with pytest.raises(CosearchError, match="factorization must be one of perfect, imperfect"):
        evaluate(arch, layer, over, factorization="ceil")


def test_sliding_windows_spread_together_with_a_remainder_are_refused(archs) -> None:
    arch = archs[0]
    layer = Layer(name="p7r3", P=7, R=3)
    m = _one(arch, layer, {(0, "P"): 4, (0, "R"): 2}, {"P": 2, "R": 2})  # P: 8 >= 7, R: 4 >= 3
    assert evaluate(arch, layer, m, factorization="imperfect").reason_text(0) == "imperfect_windows"
    from cosearch.model.evaluate import check_valid
    assert check_valid(arch, layer, m, factorization="imperfect")[0] == evaluate(
        arch, layer, m, factorization="imperfect").reason[0]


def test_refused_windows_are_explained_in_one_line(archs) -> None:
    from cosearch.mapping.checks import explain_invalid

    arch = archs[0]
    layer = Layer(name="p7r3", P=7, R=3)
    m = _one(arch, layer, {(0, "P"): 4, (0, "R"): 2}, {"P": 2, "R": 2})
    text = explain_invalid(arch, layer, m, evaluate(arch, layer, m, factorization="imperfect"), "m.json")
    assert text.startswith("m.json: invalid mapping: an output dimension and its filter dimension") and "\n" not in text


SMALL_REFERENCE_MACS = 20_000  # the brute-force walk is for small layers only


@requires_reference
def test_simulator_matches_timeloop_on_the_small_reference_cases() -> None:
    """The simulator's semantics on perfect factorizations are Timeloop's: its counts equal Timeloop's
    own on every valid reference case small enough to walk (no link transfers)."""
    from cosearch.arch.io import arch_from_reference
    from cosearch.dims import DATASPACES
    from cosearch.mapping.mapping import mapping_from_data

    records = [r for r in reference_records("probes") + reference_records("cases")
               if r["expected"]["valid"] and not r["expected"].get("link_transfers_total", 0)
               and r["expected"]["macs"] <= SMALL_REFERENCE_MACS]
    assert len(records) >= 10
    for rec in records:
        arch = arch_from_reference(rec["arch"])
        layer = Layer(**rec["layer"])
        m = Mappings.from_list([mapping_from_data(rec["mapping"], rec["id"])], arch)
        sim = simulate(arch, layer, m, 0)
        assert sim["compute_cycles"] == rec["expected"]["mac"]["compute_cycles"], rec["id"]
        for li, lvl in enumerate(arch.levels):
            per_ds = rec["expected"]["per_level"].get(lvl.name, {}).get("dataspaces", {})
            for di, ds in enumerate(DATASPACES):
                if ds in per_ds:
                    for name in ("reads", "fills", "updates"):
                        assert sim[name][li, di] == per_ds[ds][name], (rec["id"], lvl.name, ds, name)


ORACLE_FIELDS = ("energy_pj", "cycles", "reason")
ORACLE_COUNTS = ("compute_cycles", "utilized_pes", "reads", "fills", "updates", "tile_words", "partition_words", "utilized_instances", "level_cycles")


def test_numpy_oracle_matches_the_kernel_and_the_simulator_on_imperfect_cases(archs) -> None:
    """The NumPy oracle (``tests/numpy_oracle.py``, remainders from explicit per-dim contexts) agrees with
    the kernel on every field of random imperfect mappings, and with the brute-force simulator."""
    from numpy_oracle import evaluate_numpy

    compared = remainders = simulated = 0
    for ai, arch in enumerate(archs):
        for li, layer in enumerate(LAYERS):
            rng = np.random.default_rng(7000 + 100 * ai + li)
            m = random_imperfect(arch, layer, rng, 30)
            a = evaluate(arch, layer, m, breakdown=True, factorization="imperfect")
            b = evaluate_numpy(arch, layer, m, breakdown=True, factorization="imperfect")
            for name in ORACLE_FIELDS:
                np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=f"{arch.name} {layer.name} {name}")
            for name in ORACLE_COUNTS:
                x, y = getattr(a, name)[a.valid], getattr(b, name)[a.valid]
                if x.ndim == 3:
                    kept = a.keep[a.valid].copy()
                    if name == "partition_words":  # Inputs: the kernel's is a box of the counts, not exact
                        kept[:, :, 1] = False
                    x, y = x[kept], y[kept]
                np.testing.assert_array_equal(x, y, err_msg=f"{arch.name} {layer.name} {name}")
            covered = (m.temporal * m.spatial_x * m.spatial_y).prod(axis=1)
            rem = (covered != np.array(layer.dims)).any(axis=1) & a.valid
            compared += int(a.valid.sum())
            remainders += int(rem.sum())
            for i in np.flatnonzero(rem)[:3]:
                sim = simulate(arch, layer, m, int(i))
                kept = b.keep[i]
                for name in COUNTS:
                    np.testing.assert_array_equal(getattr(b, name)[i][kept], sim[name][kept], err_msg=name)
                assert b.compute_cycles[i] == sim["compute_cycles"] and b.utilized_pes[i] == sim["busy_pes"]
                simulated += 1
    assert compared >= 500 and remainders >= 450 and simulated >= 50, (compared, remainders, simulated)
