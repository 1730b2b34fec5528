"""The mesh-fit feature of the hardware BO (codesign/mesh_fit.py): the all-meshes table equals the
bound's compute-bound cycles floor mesh by mesh, and ``bo`` models it when it knows the workloads."""

from __future__ import annotations

import math

import numpy as np
import pytest

import cosearch
from cosearch.arch.hwspace import load_hw_space
from cosearch.codesign.bounds import layer_cycles_floor
from cosearch.codesign.hw_optimizers import make_hw_optimizer
from cosearch.codesign.mesh_fit import MeshFit, busy_pes_table, network_cycles_floor_table
from cosearch.workload.layer import Layer, Network

LAYERS = [
    Layer(name="conv3x3", K=32, C=16, P=14, Q=14, R=3, S=3),
    Layer(name="prime", K=7, C=13, P=11, Q=5, R=1, S=1),
    Layer(name="depthwise", G=24, K=1, C=1, P=28, Q=28, R=3, S=3),
    Layer(name="batched", N=3, G=8, K=128, C=64, P=1, Q=1, R=1, S=1),
]


@pytest.mark.parametrize("space_name", ["eyeriss-like", "paper"])
@pytest.mark.parametrize("layer", LAYERS, ids=lambda layer: layer.name)
def test_busy_pes_table_is_max_utilized_pes(space_name: str, layer: Layer) -> None:
    space = load_hw_space(space_name)
    smallest = space.values(np.zeros(len(space.names), dtype=np.int64))
    table = busy_pes_table(layer, 32, 32)
    rng = np.random.default_rng(5)
    meshes = [(2, 2), (32, 32), (14, 12), (5, 7)] + [tuple(int(v) for v in rng.integers(4, 33, 2)) for _ in range(12)]
    for x, y in meshes:
        arch = space.arch({**smallest, "mesh_x": x, "mesh_y": y})
        assert layer.macs / table[x, y] == layer_cycles_floor(arch, layer, None), (x, y)
        assert table[x, y] <= x * y


def test_network_table_counts_repeats_and_feature_averages_logs_over_workloads() -> None:
    a = Network(name="a", layers=[LAYERS[0].model_copy(update={"count": 3}), LAYERS[1]])
    b = Network(name="b", layers=[LAYERS[2]])
    tab = network_cycles_floor_table(a, 32, 32)
    x, y = 14, 12
    want = 3 * LAYERS[0].macs / busy_pes_table(LAYERS[0], 32, 32)[x, y] + LAYERS[1].macs / busy_pes_table(
        LAYERS[1], 32, 32)[x, y]
    assert tab[x, y] == pytest.approx(want, rel=1e-12)
    space = load_hw_space("eyeriss-like")
    pt = space.point({**space.values(np.zeros(7, dtype=np.int64)), "mesh_x": x, "mesh_y": y})[None]
    both = MeshFit(space, [a, b])(pt)[0]
    tb = network_cycles_floor_table(b, 32, 32)[x, y]
    assert both == pytest.approx((math.log(want) + math.log(tb)) / 2, rel=1e-12)


def test_mesh_fit_sees_what_the_pe_count_does_not() -> None:
    """13 × 13 has one PE more than eyeriss-168's 14 × 12, but 13 divides none of ResNet-18's dims, so
    its compute-bound floor is higher (worse)."""
    space = load_hw_space("eyeriss-like")
    fit = MeshFit(space, [cosearch.load_workload("resnet18")])
    base = space.values(np.zeros(7, dtype=np.int64))
    pts = np.stack([space.point({**base, "mesh_x": x, "mesh_y": y}) for x, y in [(14, 12), (13, 13)]])
    assert space.pe_counts(pts).tolist() == [168, 169]
    eyeriss, thirteen = fit(pts)
    assert thirteen > eyeriss + 0.05


def test_bo_adds_the_feature_only_when_it_knows_the_workloads() -> None:
    space = load_hw_space("eyeriss-like")
    net = cosearch.load_workload("dqn")
    pts = space.random_points(20, np.random.default_rng(0))
    plain = make_hw_optimizer("bo", space, area_budget_mm2=12.31, seed=0)
    aware = make_hw_optimizer("bo", space, area_budget_mm2=12.31, seed=0, workloads=[net])
    assert plain.features(pts).shape == (20, len(space.names) + 2)
    fa = aware.features(pts)
    assert fa.shape == (20, len(space.names) + 3)
    np.testing.assert_array_equal(fa[:, :-1], plain.features(pts))
    np.testing.assert_array_equal(fa[:, -1], MeshFit(space, [net])(pts))
    vanilla = make_hw_optimizer("vanilla-bo", space, area_budget_mm2=12.31, seed=0, workloads=[net])
    assert vanilla.features(pts).shape == (20, len(space.names))  # the ablation stays on raw parameters
