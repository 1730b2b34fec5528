"""The systolic template: its levels and keeps, the scaled TPU v1 reference (how it is scaled), its
weight-stationary second baseline and its built-in space."""

from __future__ import annotations

import pytest

from cosearch.arch.hwspace import load_hw_space
from cosearch.arch.templates import TEMPLATES
from cosearch.arch.templates.systolic import TPU_SCALED
from cosearch.codesign.baselines import baseline_of
from cosearch.codesign.budget import eyeriss168_area
from cosearch.dims import DIMS
from cosearch.mapping.constraints import load_constraints
from cosearch.mapping.space import MapSpace
from cosearch.model.evaluate import evaluate
from cosearch.workload.layer import Layer

SYSTOLIC = TEMPLATES["systolic"]


def _arch(values: dict, estimator: str = "cacti-65nm"):
    return SYSTOLIC.build(values, dram_bandwidth=16.0, estimator=estimator)


def test_levels_hold_what_a_tpu_holds() -> None:
    arch = _arch(TPU_SCALED)
    shape = [(lvl.name, lvl.keeps, lvl.keeps_fixed, lvl.instances, lvl.size_words) for lvl in arch.levels]
    assert shape == [
        ("DRAM", ("Weights", "Inputs", "Outputs"), True, 1, None),
        ("UB", ("Inputs", "Outputs"), True, 1, 32448),      # 63.375 KiB of 16-bit words; weights bypass it
        ("ACC", ("Outputs",), True, 1, 5408),               # 10.5625 KiB
        ("weight_reg", ("Weights",), True, 169, 2),
        ("input_reg", ("Inputs",), True, 169, 1),
        ("psum_reg", ("Outputs",), True, 169, 1),
    ]
    assert (arch.mac.mesh_x, arch.mac.mesh_y) == (13, 13)
    ub, acc = arch.levels[1], arch.levels[2]
    assert (ub.bandwidth.read, ub.bandwidth.write, acc.bandwidth.read, acc.bandwidth.write) == (13, 13, 13, 13)


def test_reference_is_tpu_v1_scaled_to_eyeriss168s_area() -> None:
    """TPU v1's storage per MAC (384 B of UB, 64 B of accumulators) on the largest square array that fits
    eyeriss-168's area under cacti-65nm."""
    assert TPU_SCALED["ub_kb"] * 1024 / 169 == 24 * 2**20 / 65536 == 384
    assert TPU_SCALED["acc_kb"] * 1024 / 169 == 4 * 2**20 / 65536 == 64
    budget = eyeriss168_area(load_hw_space("systolic"))

    def scaled(n: int) -> dict:
        return {**TPU_SCALED, "mesh_x": n, "mesh_y": n, "ub_kb": n * n * 384 / 1024, "acc_kb": n * n * 64 / 1024,
                "ub_bandwidth": n, "acc_bandwidth": n}

    assert scaled(13) == TPU_SCALED
    assert _arch(scaled(13)).area_mm2 == pytest.approx(11.573, abs=1e-3) and _arch(scaled(13)).area_mm2 <= budget
    assert _arch(scaled(14)).area_mm2 > budget


def test_second_baseline_is_weight_stationary_and_maps() -> None:
    base = baseline_of("systolic")
    assert (base.auto_label, base.dataflow_label, base.dataflows) == (
        "tpu-v1-scaled (auto)", "tpu-v1-scaled (WS)", (None, "weight-stationary"))
    arch = _arch(TPU_SCALED)
    layer = Layer(name="conv", K=32, C=16, P=14, Q=14, R=3, S=3)
    space = MapSpace(arch, layer, constraints=load_constraints("weight-stationary", arch))
    m = space.sample(64, seed=0)
    costs = evaluate(arch, layer, m)
    assert costs.valid.any()
    # under WS the PE array spreads C over its columns and K over its rows, nothing else
    sx, sy = m.spatial_x[costs.valid], m.spatial_y[costs.valid]
    assert (sx.prod(axis=(1, 2)) <= 13).all() and (sy.prod(axis=(1, 2)) <= 13).all()
    others_x = [i for i, d in enumerate(DIMS) if d != "C"]
    others_y = [i for i, d in enumerate(DIMS) if d != "K"]
    assert (sx[:, :, others_x] == 1).all() and (sy[:, :, others_y] == 1).all()
    assert (sx[:, :, DIMS.index("C")].prod(axis=1) > 1).any()


def test_builtin_space_contains_the_reference_neighbourhood() -> None:
    space = load_hw_space("systolic")
    assert space.template == "systolic" and space.names == SYSTOLIC.names
    for name, value in TPU_SCALED.items():
        grid = space.params[name].grid()
        assert grid[0] <= value <= grid[-1], name
