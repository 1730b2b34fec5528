"""Lower bounds on co-design EDP (search/bounds.py): every evaluated mapping on every design within the
budget respects them, and the pieces count what they claim."""

from __future__ import annotations

import numpy as np
import pytest

import cosearch
from cosearch.arch.area import AreaModel
from cosearch.arch.hwspace import load_hw_space
from cosearch.codesign.bounds import (
    compulsory_dram_words,
    energy_floors,
    feasible_meshes,
    layer_cycles_floor,
    layer_energy_floor,
    network_edp_bound,
)
from cosearch.mappers.layer import map_layer
from cosearch.mapping.space import MapSpace
from cosearch.model.evaluate import evaluate
from cosearch.workload.layer import Layer

BUDGET = 12.32  # just above eyeriss-168's area under cacti-65nm (12.3135 mm²)
SPACES = {name: load_hw_space(name) for name in ("eyeriss-like", "simple")}
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
    # the simple template's register file may be bypassed: no per-MAC storage floor
    assert energy_floors(SPACES["simple"]).per_mac == 0.0


@pytest.mark.parametrize("name", list(SPACES))
def test_feasible_meshes_are_the_largest_that_fit(name: str) -> None:
    space = SPACES[name]
    area = AreaModel(space)
    grids = space.grids()
    meshes = feasible_meshes(space, BUDGET)
    assert meshes
    for x, y in meshes:
        pt = np.zeros((1, len(space.names)), dtype=np.int64)
        pt[0, 0] = list(grids[0]).index(x)
        pt[0, 1] = list(grids[1]).index(y)
        assert area(pt)[0] <= BUDGET
        if pt[0, 1] + 1 < len(grids[1]):
            pt[0, 1] += 1
            assert area(pt)[0] > BUDGET


@pytest.mark.parametrize("name", list(SPACES))
def test_no_sampled_or_searched_mapping_beats_the_layer_floors(name: str) -> None:
    space = SPACES[name]
    floors = energy_floors(space)
    area = AreaModel(space)
    rng = np.random.default_rng(3)
    pts = space.random_points(200, rng)
    pts = pts[area(pts) <= BUDGET][:4]
    assert len(pts) == 4
    for p in pts:
        arch = space.arch(p)
        for layer in LAYERS:
            e_min = layer_energy_floor(layer, floors)
            c_min = layer_cycles_floor(arch, layer, space.dram_bandwidth)
            costs = evaluate(arch, layer, MapSpace(arch, layer).sample(500, seed=1))
            ok = costs.valid
            assert ok.any()
            assert (costs.energy_pj[ok] >= e_min * (1 - 1e-9)).all()
            assert (costs.cycles[ok] >= c_min * (1 - 1e-9)).all()
            best = map_layer(arch, layer, budget=3000, seed=0)
            assert best.energy_pj >= e_min * (1 - 1e-9) and best.cycles >= c_min * (1 - 1e-9)


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
