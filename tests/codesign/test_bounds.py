"""Lower bounds on co-design EDP (search/bounds.py): every evaluated mapping on every design within the
budget respects them, and the pieces count what they claim."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

import cosearch
from cosearch.arch.area import AreaModel
from cosearch.arch.hwspace import load_hw_space
from cosearch.codesign.bounds import (
    compulsory_dram_words,
    design_floors,
    energy_floors,
    feasible_meshes,
    layer_cycles_floor,
    layer_energy_floor,
    network_edp_bound,
    output_rmw_reads,
)
from cosearch.mappers.layer import map_layer
from cosearch.mapping.space import MapSpace
from cosearch.model.evaluate import evaluate
from cosearch.workload.layer import Layer

BUDGET = 12.32  # just above eyeriss-168's area under cacti-65nm (12.3135 mm²)
SPACES = {name: load_hw_space(name) for name in ("eyeriss-like", "simple", "paper")}
BUDGETS = {"eyeriss-like": BUDGET, "simple": BUDGET, "paper": 18.35}  # paper: just above eyeriss-256's 18.343 mm²
LAYERS = [
    Layer(name="conv3x3", K=32, C=16, P=14, Q=14, R=3, S=3),
    Layer(name="strided1x1", K=32, C=16, P=7, Q=7, R=1, S=1, Wstride=2, Hstride=2),
    Layer(name="fc", N=4, K=64, C=128, P=1, Q=1, R=1, S=1),
]


def test_compulsory_dram_words_skip_inputs_a_stride_jumps_over() -> None:
    w, i, o = compulsory_dram_words(LAYERS[1])
    assert (w, o) == (32 * 16, 32 * 7 * 7)
    assert i == 16 * 7 * 7  # a 1x1 filter at stride 2 reads a quarter of the 13x13 input
    assert LAYERS[1].input_words == 16 * 13 * 13
    assert compulsory_dram_words(LAYERS[0])[1] == LAYERS[0].input_words


def test_eyeriss_floors_charge_each_mac_its_three_scratchpads() -> None:
    space = SPACES["eyeriss-like"]
    f = energy_floors(space)
    smallest = space.arch(np.zeros(len(space.names), dtype=np.int64))
    spad = {lvl.name: lvl.energy_pj for lvl in smallest.levels}
    assert f.per_mac == pytest.approx(spad["weights_spad"].read + spad["ifmap_spad"].read
                                      + spad["psum_spad"].update)
    assert f.mac == smallest.mac.energy_pj and f.dram_read == smallest.levels[0].energy_pj.read
    # every weight and used input is filled into some PE's scratchpad at least once; outputs only
    # update psum scratchpads, which the per-MAC term counts; the GLB may be bypassed
    assert f.per_word == pytest.approx((spad["weights_spad"].fill, spad["ifmap_spad"].fill, 0.0))
    # the psum scratchpad's read-modify-write reads, at its cheapest read over its own grid
    psum_col = space.names.index("psum_spad_words")
    reads = []
    for i in range(int(space.sizes[psum_col])):
        pt = np.zeros(len(space.names), dtype=np.int64)
        pt[psum_col] = i
        reads.append(next(lv for lv in space.arch(pt).levels if lv.name == "psum_spad").energy_pj.read)
    assert f.output_rmw_read == pytest.approx(min(reads)) and f.output_rmw_read > 0
    # the simple template's register file may be bypassed: no per-MAC storage floor, no per-word one
    assert energy_floors(SPACES["simple"]).per_mac == 0.0
    assert energy_floors(SPACES["simple"]).per_word == (0.0, 0.0, 0.0)
    assert energy_floors(SPACES["simple"]).output_rmw_read == 0.0


def test_paper_floors_add_the_glb_traffic_of_inputs_and_outputs() -> None:
    """The timeloop-eyeriss GLB always keeps inputs and outputs: each used input is filled and read there,
    each output updated there, at the cheapest GLB of the grid (the smallest, under PAT)."""
    space = SPACES["paper"]
    f = energy_floors(space)
    smallest = {lvl.name: lvl.energy_pj for lvl in space.arch(np.zeros(len(space.names), dtype=np.int64)).levels}
    glb = smallest["GLB"]
    assert f.per_word == pytest.approx((smallest["weights_spad"].fill, glb.fill + glb.read + smallest["ifmap_spad"].fill,
                                        glb.update))
    assert f.mac == 1.0 and f.dram_read == f.dram_update == 200.0


@pytest.mark.parametrize("name", ["eyeriss-like", "paper"])
def test_the_on_chip_word_traffic_is_reached_by_some_sampled_mapping(name: str) -> None:
    """The per-word counts are tight: among sampled mappings, the fewest fills / reads / updates of each
    always-keeping level equal the compulsory words exactly (the bound assumes no fewer, and no more)."""
    from cosearch.codesign.bounds import compulsory_dram_words

    space = SPACES[name]
    arch = space.arch(space.random_points(1, np.random.default_rng(2))[0])
    layer = LAYERS[1]  # strided: the used inputs are fewer than the input tensor
    costs = evaluate(arch, layer, MapSpace(arch, layer).sample(2000, seed=4), breakdown=True)
    ok = costs.valid
    words = np.array(compulsory_dram_words(layer))
    names = [lvl.name for lvl in arch.levels]
    w_spad, i_spad = names.index("weights_spad"), names.index("ifmap_spad")
    assert costs.fills[ok][:, w_spad, 0].min() == words[0]
    assert costs.fills[ok][:, i_spad, 1].min() == words[1]
    if name == "paper":
        g = names.index("GLB")
        assert costs.fills[ok][:, g, 1].min() == costs.reads[ok][:, g, 1].min() == words[1]
        assert costs.updates[ok][:, g, 2].min() == words[2]


@pytest.mark.parametrize("name", list(SPACES))
def test_feasible_meshes_are_the_largest_that_fit(name: str) -> None:
    space, budget = SPACES[name], BUDGETS[name]
    area = AreaModel(space)
    grids = space.grids()
    meshes = feasible_meshes(space, budget)
    assert meshes
    for x, y in meshes:
        pt = np.zeros((1, len(space.names)), dtype=np.int64)
        pt[0, 0] = list(grids[0]).index(x)
        pt[0, 1] = list(grids[1]).index(y)
        assert area(pt)[0] <= budget
        if pt[0, 1] + 1 < len(grids[1]):
            pt[0, 1] += 1
            assert area(pt)[0] > budget


def _assert_floors_hold(arch, layer: Layer, e_min: float, c_min: float):
    """500 sampled mappings (some valid) and a 3,000-evaluation search of ``layer`` on ``arch`` all cost
    at least ``e_min`` pJ and take at least ``c_min`` cycles; returns the search's result."""
    costs = evaluate(arch, layer, MapSpace(arch, layer).sample(500, seed=1))
    ok = costs.valid
    assert ok.any()
    assert (costs.energy_pj[ok] >= e_min * (1 - 1e-9)).all()
    assert (costs.cycles[ok] >= c_min * (1 - 1e-9)).all()
    best = map_layer(arch, layer, budget=3000, seed=0)
    assert best.energy_pj >= e_min * (1 - 1e-9) and best.cycles >= c_min * (1 - 1e-9)
    return best


@pytest.mark.parametrize("name", list(SPACES))
def test_no_sampled_or_searched_mapping_beats_the_layer_floors(name: str) -> None:
    space = SPACES[name]
    floors = energy_floors(space)
    area = AreaModel(space)
    rng = np.random.default_rng(3)
    pts = space.random_points(200, rng)
    pts = pts[area(pts) <= BUDGETS[name]][:4]
    assert len(pts) == 4
    for p in pts:
        arch = space.arch(p)
        for layer in LAYERS:
            e_min = layer_energy_floor(layer, floors, arch.mac.instances)
            assert e_min >= layer_energy_floor(layer, floors)
            c_min = layer_cycles_floor(arch, layer, space.dram_bandwidth)
            _assert_floors_hold(arch, layer, e_min, c_min)


@pytest.mark.parametrize("name", ["eyeriss-like", "paper"])
def test_partial_sum_reads_at_the_psum_spad_are_never_fewer_than_the_floor(name: str) -> None:
    """The kernel's Outputs reads at the per-PE psum scratchpad, for sampled mappings on random meshes,
    are at least output_rmw_reads (and some mapping comes within a factor of 2 of it: it is not vacuous)."""
    space = SPACES[name]
    rng = np.random.default_rng(5)
    for p in space.random_points(3, rng):
        arch = space.arch(p)
        psum = [lv.name for lv in arch.levels].index("psum_spad")
        for layer in LAYERS:
            costs = evaluate(arch, layer, MapSpace(arch, layer).sample(1000, seed=2), breakdown=True)
            ok = costs.valid
            floor = output_rmw_reads(layer, arch.mac.instances)
            reads = costs.reads[ok][:, psum, 2]
            assert (reads >= floor).all()
            assert output_rmw_reads(layer, None) == 0 <= floor < layer.macs
            if floor:
                assert reads.min() <= 2 * floor


def test_energy_floor_is_not_vacuous() -> None:
    """The floor is a real fraction of what the best mapping spends (it would pass trivially at 0)."""
    space = SPACES["eyeriss-like"]
    floors = energy_floors(space)
    arch = space.arch({"mesh_x": 8, "mesh_y": 8, "glb_kb": 64, "glb_bandwidth": 16, "weights_spad_words": 16,
                       "ifmap_spad_words": 4, "psum_spad_words": 4})
    layer = LAYERS[0]
    best = map_layer(arch, layer, budget=5000, seed=0)
    assert layer_energy_floor(layer, floors) > 0.5 * best.energy_pj
    assert layer_energy_floor(layer, floors) > layer.macs * (floors.mac + floors.per_mac)


def test_network_bound_is_below_designs_and_consistent() -> None:
    space = SPACES["eyeriss-like"]
    net = cosearch.load_workload("dqn")
    b = network_edp_bound(net, space, BUDGET)
    assert b.edp == pytest.approx(b.energy_pj * b.cycles)
    assert b.mesh in feasible_meshes(space, BUDGET)
    # a smaller budget cannot lower the bound
    assert network_edp_bound(net, space, 6.0).cycles >= b.cycles
    for values in ({"mesh_x": 9, "mesh_y": 20, "glb_kb": 64, "glb_bandwidth": 32, "weights_spad_words": 16,
                    "ifmap_spad_words": 8, "psum_spad_words": 8},
                   {"mesh_x": 14, "mesh_y": 12, "glb_kb": 108, "glb_bandwidth": 16, "weights_spad_words": 224,
                    "ifmap_spad_words": 12, "psum_spad_words": 24}):
        arch = space.arch(values)
        assert arch.area_mm2 <= BUDGET
        e = c = 0.0
        for layer in net.layers:
            r = map_layer(arch, layer, budget=3000, seed=0)
            e += layer.count * r.energy_pj
            c += layer.count * r.cycles
        assert e >= b.energy_pj and c >= b.cycles and e * c >= b.edp
    with pytest.raises(ValueError, match="fits"):
        network_edp_bound(net, space, 0.1)


REUSE_LAYERS = [
    *LAYERS,
    Layer(name="matmul", N=1, K=64, C=96, P=32, Q=1, R=1, S=1),  # no filter windows: Loomis-Whitney
    Layer(name="heads", G=4, N=1, K=32, C=16, P=24, Q=1, R=1, S=1),
    Layer(name="conv5x5s2", K=16, C=8, P=9, Q=9, R=5, S=5, Wstride=2, Hstride=2),
]


@pytest.mark.parametrize("name", ["eyeriss-like", "paper"])
def test_no_sampled_or_searched_mapping_beats_a_designs_reuse_floor(name: str) -> None:
    """The floor with reuse within a PE (codesign/reuse_floor.py), at a design's own scratchpads and PEs,
    holds for sampled mappings of both factorizations and for searched ones, on random designs."""
    space = SPACES[name]
    rng = np.random.default_rng(11)
    for p in space.random_points(3, rng):
        arch = space.arch(p)
        floors = design_floors(space, p)
        levels = {lvl.name: lvl for lvl in arch.levels}
        assert floors.reuse is not None
        assert floors.reuse.words == (levels["weights_spad"].size_words, levels["ifmap_spad"].size_words,
                                      levels["psum_spad"].size_words)
        for layer in REUSE_LAYERS:
            e_min = layer_energy_floor(layer, floors, arch.mac.instances)
            assert e_min >= layer_energy_floor(layer, replace(floors, reuse=None), arch.mac.instances)
            for factorization in ("perfect", "imperfect"):
                space_of = MapSpace(arch, layer, factorization=factorization)
                costs = evaluate(arch, layer, space_of.sample(1500, seed=3))
                ok = costs.valid
                assert ok.any()
                assert (costs.energy_pj[ok] >= e_min * (1 - 1e-9)).all()
            best = map_layer(arch, layer, budget=3000, seed=0, objective="energy")
            assert best.energy_pj >= e_min * (1 - 1e-9)


def test_the_reuse_floor_counts_what_small_scratchpads_force() -> None:
    """On a matrix product with 16/4/4-word scratchpads the floor with reuse within a PE is well above the
    plain one (partial sums must be refilled or re-read, refills fed from the GLB), and an energy search
    does not beat it."""
    space = SPACES["eyeriss-like"]
    values = {"mesh_x": 16, "mesh_y": 8, "glb_kb": 64, "glb_bandwidth": 64, "weights_spad_words": 16,
              "ifmap_spad_words": 4, "psum_spad_words": 4}
    arch = space.arch(values)
    point = np.array([list(space.grids()[i]).index(values[n]) for i, n in enumerate(space.names)])
    floors = design_floors(space, point)
    layer = Layer(name="ffn", N=1, K=512, C=512, P=128, Q=1, R=1, S=1)
    plain = layer_energy_floor(layer, replace(floors, reuse=None), arch.mac.instances)
    reuse = layer_energy_floor(layer, floors, arch.mac.instances)
    assert reuse > 1.02 * plain
    best = map_layer(arch, layer, budget=5000, seed=0, objective="energy")
    assert reuse <= best.energy_pj


FC = Layer(name="fc-dram-bound", N=1, K=512, C=512, P=1, Q=1, R=1, S=1)  # a matrix-vector product: DRAM-bound


@pytest.mark.parametrize("precision", ["int8", "fp32", "W8/I8/O16"])
def test_the_floors_follow_the_word_widths(precision: str) -> None:
    """Under a precision each word costs its width's share of an access and of the DRAM port, as in the
    cost model: the floors hold for sampled and searched mappings, and on a DRAM-bound layer they are
    tight (a bound that charged every word as a 16-bit access would be twice too high for INT8 words,
    and twice too low for FP32 ones)."""
    space = SPACES["eyeriss-like"].with_physical(precision=precision)
    plain = energy_floors(SPACES["eyeriss-like"])
    floors = energy_floors(space)
    bits = space.arch(np.zeros(len(space.names), dtype=np.int64)).levels[0]
    share = [bits.bits(ds) / bits.access_width for ds in ("Weights", "Inputs", "Outputs")]
    assert floors.dram_per_word == pytest.approx((plain.dram_read * share[0], plain.dram_read * share[1],
                                                  plain.dram_update * share[2]))
    arch = space.arch({"mesh_x": 12, "mesh_y": 10, "glb_kb": 32, "glb_bandwidth": 12, "weights_spad_words": 32,
                       "ifmap_spad_words": 8, "psum_spad_words": 8})
    for layer in [*LAYERS, FC]:
        e_min = layer_energy_floor(layer, floors)
        c_min = layer_cycles_floor(arch, layer, space.dram_words_per_cycle)
        best = _assert_floors_hold(arch, layer, e_min, c_min)
        if layer is FC:  # every weight crosses DRAM once: the floors are reached within a few percent
            assert best.cycles <= c_min * 1.01
            assert best.energy_pj <= e_min * 1.05


def test_network_bound_refuses_a_space_that_searches_physical_settings() -> None:
    """The bound is of pJ and cycles at one precision, clock and bandwidth: a space searching any of
    them has none (the driver reports ``None``), and asking for one is an error, not a wrong number."""
    from cosearch.arch.hwspace import HWSpace

    data = SPACES["eyeriss-like"].model_dump(exclude_none=True)
    searched = HWSpace.model_validate({**data, "precision": {"values": ["int16", "int8"]}})
    with pytest.raises(ValueError, match="searches precision"):
        network_edp_bound(cosearch.load_workload("dqn"), searched, BUDGET)
