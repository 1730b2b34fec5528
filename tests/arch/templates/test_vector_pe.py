"""The vector-pe template: its levels, block MAC and ports, the scaled Simba reference (how it is
scaled), its weight-stationary second baseline, its built-in space, the area model and the estimator
costing a block MAC as its scalar MACs, and a small co-design with its bound."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import ok, run
from cosearch.arch.area import AreaModel
from cosearch.arch.estimator import area_breakdown, mac_cost, pe_overhead_mm2
from cosearch.arch.hwspace import load_hw_space
from cosearch.arch.templates import TEMPLATES
from cosearch.arch.templates.vector_pe import SIMBA_SCALED
from cosearch.codesign.baselines import baseline_of
from cosearch.codesign.bounds import network_edp_bound
from cosearch.codesign.budget import eyeriss168_area
from cosearch.codesign.driver import Codesign
from cosearch.codesign.mesh_fit import MeshFit
from cosearch.mapping.constraints import load_constraints
from cosearch.mapping.space import MapSpace
from cosearch.model.evaluate import evaluate
from cosearch.workload.layer import Layer, Network

VECTOR_PE = TEMPLATES["vector-pe"]
TINY = Network(name="tiny", layers=[Layer(name="conv", K=24, C=20, P=6, Q=6, R=3, S=3),
                                    Layer(name="fc", N=2, K=40, C=64, count=2)])


def _arch(values: dict, estimator: str = "cacti-65nm"):
    return VECTOR_PE.build(values, dram_bandwidth=16.0, estimator=estimator)


def test_levels_ports_and_block_mac_are_simbas() -> None:
    arch = _arch(SIMBA_SCALED)
    shape = [(lvl.name, lvl.keeps, lvl.keeps_fixed, lvl.instances, lvl.size_words, lvl.access_width)
             for lvl in arch.levels]
    assert shape == [
        ("DRAM", ("Weights", "Inputs", "Outputs"), True, 1, None, 16),
        ("GLB", ("Inputs", "Outputs"), False, 1, 32768, 16),       # 64 KiB; weights bypass it
        ("weight_buf", ("Weights",), True, 16, 256, 1024),         # 32 KiB, an 8 x 8 weight block per access
        ("input_buf", ("Inputs",), True, 16, 512, 128),            # 8 KiB, an 8-wide input vector per access
        ("accum_buf", ("Outputs",), True, 16, 192, 128),           # 3 KiB, 8 lanes of partial sums
    ]
    assert arch.mac.block == {"K": 8, "C": 8} and arch.mac.multipliers == 64 and arch.num_multipliers == 1024
    assert (arch.mac.mesh_x, arch.mac.mesh_y) == (4, 4)
    # the estimator: energy per scalar MAC, the area of 64 of them plus one per-PE overhead
    energy, area = mac_cost(65, 16, 16)
    assert arch.mac.energy_pj == energy
    assert arch.mac.area_mm2 == pytest.approx(64 * area + pe_overhead_mm2(65), rel=1e-12)
    assert area_breakdown(arch)["MAC"] == pytest.approx(16 * 64 * area, rel=1e-12)


def test_reference_is_simbas_pe_on_the_largest_square_mesh_within_eyeriss168s_area() -> None:
    """Simba's PE (8 x 8 MACs, 32 / 8 / 3 KiB buffers) and its 4 KiB of global buffer per PE (64 KiB for
    16 PEs) on the largest square mesh whose design fits eyeriss-168's area under cacti-65nm."""
    budget = eyeriss168_area(load_hw_space("vector-pe"))

    def scaled(n: int) -> dict:
        return {**SIMBA_SCALED, "mesh_x": n, "mesh_y": n, "glb_kb": 64 * n * n / 16}

    assert scaled(4) == SIMBA_SCALED
    assert _arch(scaled(4)).area_mm2 == pytest.approx(11.1666, abs=1e-3) and _arch(scaled(4)).area_mm2 <= budget
    assert _arch(scaled(5)).area_mm2 > budget


def test_second_baseline_is_weight_stationary_and_maps_the_blocked_layer() -> None:
    base = baseline_of("vector-pe")
    assert (base.auto_label, base.dataflow_label, base.dataflows) == (
        "simba-scaled (auto)", "simba-scaled (WS)", (None, "weight-stationary"))
    arch = _arch(SIMBA_SCALED)
    layer = Layer(name="conv", K=64, C=60, P=7, Q=7, R=3, S=3)
    space = MapSpace(arch, layer, constraints=load_constraints("weight-stationary", arch))
    assert (space.layer.K, space.layer.C) == (8, 8)  # ceil(64 / 8), ceil(60 / 8)
    m = space.sample(32, seed=0)
    costs = evaluate(arch, layer, m)
    assert costs.valid.all()
    # C pads from 60 to 64: at most 15/16 of the multipliers do useful work
    assert costs.utilization.max() <= 60 / 64 + 1e-12


def test_builtin_space_contains_the_reference_on_its_grid() -> None:
    space = load_hw_space("vector-pe")
    assert space.template == "vector-pe" and space.names == VECTOR_PE.names
    grids = dict(zip(space.names, space.grids()))
    for name, value in SIMBA_SCALED.items():
        assert value in grids[name], name
    assert grids["lanes"].tolist() == grids["vector_width"].tolist() == [1, 2, 4, 8, 16, 32]


def test_area_model_costs_each_block_as_its_points_arch() -> None:
    space = load_hw_space("vector-pe")
    points = space.random_points(60, np.random.default_rng(2))
    area = AreaModel(space)
    np.testing.assert_allclose(area(points), [space.arch(p).area_mm2 for p in points], rtol=1e-12)
    # more multipliers per PE, more area, all else equal
    p = space.point(SIMBA_SCALED)
    wider = p.copy()
    wider[space.names.index("lanes")] += 1
    assert area(wider[None])[0] > area(p[None])[0]


def test_mesh_fit_counts_block_operations() -> None:
    space = load_hw_space("vector-pe")
    fit = MeshFit(space, [TINY])
    p = space.point(SIMBA_SCALED)
    one = p.copy()
    one[space.names.index("lanes")] = 0
    one[space.names.index("vector_width")] = 0  # a 1 x 1 block: 64 times the operations of an 8 x 8 one
    assert fit(one[None])[0] > fit(p[None])[0]


def test_a_small_codesign_runs_with_its_bound_and_baselines() -> None:
    space = load_hw_space("vector-pe")
    cd = Codesign([TINY], hw_space=space, optimizer="random", hw_budget=2, hw_batch=2, mapper_budget=150, seed=1,
                  storage="sqlite://", study="vec")
    res = cd.run()
    assert res.trials == 2 and res.best is not None
    assert res.baseline.arch == SIMBA_SCALED and res.baseline_rs.arch == SIMBA_SCALED
    assert np.isfinite(res.baseline.edp) and np.isfinite(res.baseline_rs.edp)  # both mapped and costed
    assert res.best.area_mm2 <= cd.area_budget
    bound = network_edp_bound(TINY, space, cd.area_budget, cd.area)
    assert res.bound["edp"] == pytest.approx(bound.edp)
    for design in (res.best, res.baseline, res.baseline_rs):  # no design goes below the bound
        assert design.energy_pj >= bound.energy_pj and design.cycles >= bound.cycles
    assert res.edp_ratio_bound is not None and res.edp_ratio_bound <= res.edp_ratio


def test_cli_codesign_on_the_vector_pe_space(tmp_path) -> None:
    import json

    out = tmp_path / "out"
    result = ok(run("codesign", "--workload", "dqn", "--hw-space", "vector-pe", "--hw-budget", "2", "--hw-batch", "2",
                    "--mapper-budget", "100", "--seed", "1", "--out", out, "--json"))
    data = json.loads(result.stdout.strip().splitlines()[-1])
    assert data["baseline"]["arch"] == SIMBA_SCALED and data["bound"]["edp"] > 0
    assert data["edp_ratio_bound"] <= data["edp_ratio"]


def test_no_sampled_or_searched_mapping_beats_its_blocks_floors() -> None:
    """On random designs (and the reference), every valid sampled mapping and a searched one of each layer
    cost at least the layer's energy floor of the design's block, and take at least the block operations
    over the most PEs the mesh keeps busy and the DRAM vector words over the DRAM bandwidth."""
    from cosearch.codesign.bounds import block_floors, compulsory_dram_words, layer_energy_floor
    from cosearch.mappers.layer import map_layer
    from cosearch.mapping.vector import blocked_view

    space = load_hw_space("vector-pe")
    mac_cols = [space.names.index(p) for p in ("lanes", "vector_width")]
    points = [space.point(SIMBA_SCALED), *space.random_points(3, np.random.default_rng(5))]
    layers = [Layer(name="conv", K=20, C=12, P=7, Q=7, R=3, S=3), Layer(name="fc", N=4, K=48, C=100)]
    checked = 0
    for p in points:
        arch = space.arch(p)
        floors, dram_scale = block_floors(space, tuple(int(p[c]) for c in mac_cols))
        for layer in layers:
            view_arch, view = blocked_view(arch, layer)
            space_l = MapSpace(arch, layer)
            costs = evaluate(arch, layer, space_l.sample(300, seed=1))
            best = map_layer(arch, layer, budget=300, seed=0).costs
            energy = np.concatenate([costs.energy_pj[costs.valid], best.energy_pj])
            cycles = np.concatenate([costs.cycles[costs.valid], best.cycles])
            assert len(energy) > 1
            assert energy.min() >= layer_energy_floor(view, floors, arch.mac.instances) * (1 - 1e-12)
            compute = view.macs / space_l.max_busy_pes()
            dram = sum(n * s for n, s in zip(compulsory_dram_words(view), dram_scale)) / space.dram_words_per_cycle
            assert cycles.min() >= max(compute, dram) * (1 - 1e-12)
            checked += len(energy)
    assert checked > 8
