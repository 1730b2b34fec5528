"""Block MACs (``mac.block``): the blocked view the map space and the cost model share, against a
hand-built scalar arch; real MACs and utilisation; padding; scalar archs untouched; bad blocks refused."""

from __future__ import annotations

import math

import numpy as np
import pytest

from conftest import assert_user_error, ok, run
from cosearch.arch.spec import Arch
from cosearch.errors import CosearchError
from cosearch.interop.timeloop.export import to_timeloop
from cosearch.mapping.constraints import load_constraints
from cosearch.mapping.space import MapSpace
from cosearch.mapping.vector import blocked_view, word_multipliers
from cosearch.model.evaluate import evaluate
from cosearch.model.validity import require_valid
from cosearch.workload.layer import Layer

LANES, WIDTH = 4, 8


def _levels(weights: int, inputs: int, outputs: int, *, widths: dict | None = None) -> list[dict]:
    """DRAM -> GLB (inputs, outputs; bypassable, bandwidth-limited) -> per-PE weight / input / output
    buffers of ``weights`` / ``inputs`` / ``outputs`` access words of 16 × the block's vector words;
    ``widths``: word widths per level (the hand-built view), else 16 bits."""
    pe = {"instances": 4, "mesh_x": 2, "mesh_y": 2}
    w = widths or {}
    return [
        {"name": "DRAM", "technology": "DRAM", "size_words": None, "energy_pj": {"read": 100, "fill": 100, "update": 100},
         "bandwidth": {"shared": 8}, **w.get("DRAM", {})},
        {"name": "GLB", "size_words": 8192, "keeps": ["Inputs", "Outputs"], "keeps_fixed": False,
         "energy_pj": {"read": 5, "fill": 6, "update": 6}, "bandwidth": {"read": 4, "write": 4}, **w.get("GLB", {})},
        {"name": "wbuf", "size_words": weights, "access_bits": 16 * LANES * WIDTH, "keeps": ["Weights"],
         "energy_pj": {"read": 20, "fill": 22, "update": 22}, **pe, **w.get("wbuf", {})},
        {"name": "ibuf", "size_words": inputs, "access_bits": 16 * WIDTH, "keeps": ["Inputs"],
         "energy_pj": {"read": 3, "fill": 4, "update": 4}, **pe, **w.get("ibuf", {})},
        {"name": "obuf", "size_words": outputs, "access_bits": 16 * LANES, "keeps": ["Outputs"],
         "energy_pj": {"read": 2, "fill": 2.5, "update": 2.5}, **pe, **w.get("obuf", {})},
    ]


VECTOR = Arch(name="vec", levels=_levels(16, 16, 16),
              mac={"instances": 4, "mesh_x": 2, "mesh_y": 2, "energy_pj": 0.5, "block": {"K": LANES, "C": WIDTH}})


def _hand_view() -> Arch:
    """The blocked view written out by hand: each kept data space's word LANES·WIDTH (Weights), WIDTH
    (Inputs) or LANES (Outputs) times 16 bits, access widths kept, MAC energy × LANES·WIDTH."""
    vec = {"Weights": 16 * LANES * WIDTH, "Inputs": 16 * WIDTH, "Outputs": 16 * LANES}
    widths = {
        "DRAM": {"word_bits": vec, "access_bits": 16},
        "GLB": {"word_bits": {**vec, "Weights": 16}, "access_bits": 16},
        "wbuf": {"word_bits": {"Weights": vec["Weights"], "Inputs": 16, "Outputs": 16}},
        "ibuf": {"word_bits": {"Weights": 16, "Inputs": vec["Inputs"], "Outputs": 16}},
        "obuf": {"word_bits": {"Weights": 16, "Inputs": 16, "Outputs": vec["Outputs"]}},
    }
    return Arch(name="vec", levels=_levels(16, 16, 16, widths=widths),
                mac={"instances": 4, "mesh_x": 2, "mesh_y": 2, "energy_pj": 0.5 * LANES * WIDTH})


def test_word_multipliers_follow_the_dims_each_data_space_depends_on() -> None:
    assert word_multipliers({"K": 4, "C": 8}) == {"Weights": 32, "Inputs": 8, "Outputs": 4}
    assert word_multipliers({"N": 2, "K": 4}) == {"Weights": 4, "Inputs": 2, "Outputs": 8}
    assert word_multipliers({"G": 3}) == {"Weights": 3, "Inputs": 3, "Outputs": 3}


@pytest.mark.parametrize("layer", [
    Layer(name="even", K=16, C=32, P=6, Q=6, R=3, S=3),
    Layer(name="padded", K=14, C=20, P=5, Q=7, R=3, S=1, Wstride=2),  # K % 4 and C % 8 != 0
])
def test_blocked_view_costs_what_the_hand_built_scalar_arch_costs(layer: Layer) -> None:
    view_layer = Layer(**{**layer.model_dump(), "K": math.ceil(layer.K / LANES), "C": math.ceil(layer.C / WIDTH)})
    arch_v, layer_v = blocked_view(VECTOR, layer)
    assert layer_v == view_layer and arch_v == _hand_view()

    space = MapSpace(VECTOR, layer)
    assert space.layer == view_layer and space.source_layer is layer and space.source_arch is VECTOR
    m = space.sample(300, seed=3)
    assert space.is_valid(m).all()
    got = evaluate(VECTOR, layer, m, breakdown=True)
    ref = evaluate(_hand_view(), view_layer, m, breakdown=True)
    assert got.valid.all() and ref.valid.all()
    np.testing.assert_array_equal(got.energy_pj, ref.energy_pj)
    np.testing.assert_array_equal(got.cycles, ref.cycles)
    np.testing.assert_array_equal(got.reads, ref.reads)  # counts in vector words
    assert got.mac_energy_pj == ref.mac_energy_pj == view_layer.macs * 0.5 * LANES * WIDTH
    # real MACs and utilisation: the layer's own MACs over cycles × every multiplier
    assert got.macs == layer.macs and ref.macs == view_layer.macs
    np.testing.assert_allclose(got.utilization, layer.macs / (got.cycles * 4 * LANES * WIDTH), rtol=1e-15)
    assert (got.utilization <= 1.0).all()
    np.testing.assert_allclose(got.utilization * view_layer.macs / layer.macs * LANES * WIDTH, ref.utilization)


def test_padding_a_block_lowers_utilisation_not_the_costs() -> None:
    full = Layer(name="full", K=16, C=32, P=4, Q=4)
    short = Layer(name="short", K=13, C=32, P=4, Q=4)  # 13 % 4 != 0: the last block runs 1 of 4 lanes
    assert blocked_view(VECTOR, short)[1].dims == blocked_view(VECTOR, full)[1].dims
    m = MapSpace(VECTOR, full).sample(50, seed=0)
    a, b = evaluate(VECTOR, full, m), evaluate(VECTOR, short, m)
    np.testing.assert_array_equal(a.energy_pj, b.energy_pj)  # idle lanes are not gated
    np.testing.assert_array_equal(a.cycles, b.cycles)
    np.testing.assert_allclose(b.utilization, a.utilization * 13 / 16, rtol=1e-15)
    assert a.utilization.max() <= 1.0 and b.utilization.max() < 13 / 16 + 1e-12


def test_a_scalar_arch_is_its_own_view_and_a_view_is_its_own_view() -> None:
    scalar = VECTOR.model_copy(update={"mac": VECTOR.mac.model_copy(update={"block": None})})
    layer = Layer(name="l", K=8, C=8)
    arch, view = blocked_view(scalar, layer)
    assert arch is scalar and view is layer
    arch_v, layer_v = blocked_view(VECTOR, layer)
    assert blocked_view(arch_v, layer_v) == (arch_v, layer_v)
    assert blocked_view(VECTOR, layer)[0] is arch_v  # cached by identity
    assert "block" not in scalar.model_dump()["mac"]
    assert Arch.model_validate(VECTOR.model_dump()) == VECTOR  # round-trips with its block


def test_block_of_ones_is_a_scalar_mac_and_counts_multipliers() -> None:
    data = VECTOR.model_dump()
    data["mac"]["block"] = {"K": 1, "C": 1}
    assert Arch.model_validate(data).mac.block is None
    assert VECTOR.mac.multipliers == LANES * WIDTH and VECTOR.num_multipliers == 4 * LANES * WIDTH


def test_user_mappings_factor_the_blocked_dims() -> None:
    layer = Layer(name="l", K=16, C=32, P=4, Q=4)
    m = MapSpace(VECTOR, layer).sample(1, seed=0)
    _, costs = require_valid(VECTOR, layer, m, "m.json")
    assert costs.valid[0]
    bad = m.subset(slice(0, 1))
    bad.temporal[0, 0, 2] *= LANES  # a factor over the real K: 4 times too many
    with pytest.raises(CosearchError, match="m.json"):
        require_valid(VECTOR, layer, bad, "m.json")


def test_a_named_dataflow_resolves_on_the_blocked_layer() -> None:
    layer = Layer(name="l", K=16, C=32, P=6, Q=6, R=3, S=3)
    space = MapSpace(VECTOR, layer, constraints=load_constraints("weight-stationary", VECTOR))
    m = space.sample(40, seed=1)
    costs = evaluate(VECTOR, layer, m)
    assert costs.valid.all() and space.allows(m).all()
    assert (m.temporal * m.spatial_x * m.spatial_y).prod(axis=1)[:, 2:4].tolist() == [[4, 4]] * 40  # K' and C'


def test_timeloop_export_refuses_a_block_mac() -> None:
    layer = Layer(name="l", K=16, C=32, P=4, Q=4)
    m = MapSpace(VECTOR, layer).sample(1, seed=0)
    with pytest.raises(CosearchError, match=r"^arch vec: a block MAC \(mac.block \{K: 4, C: 8\}\) has no Timeloop form"):
        to_timeloop(VECTOR, layer, m)


@pytest.mark.parametrize("block, needle", [
    ("{P: 2}", "a block over P is not supported (sliding windows)"),
    ("{K: 4, S: 3}", "a block over S is not supported"),
    ("{K: 0}", "mac.block.K"),
    ("{K: -2}", "mac.block.K"),
    ("{Z: 4}", "unknown dimension 'Z'"),
    ("{K: 2.5}", "mac.block.K"),
])
def test_bad_blocks_are_one_line_errors(tmp_path, block: str, needle: str) -> None:
    path = tmp_path / "arch.yaml"
    path.write_text("name: bad\nlevels:\n  - {name: DRAM, technology: DRAM, size_words: null}\n"
                    "  - {name: RF, size_words: 64, instances: 4, mesh_x: 2, mesh_y: 2}\n"
                    f"mac: {{instances: 4, mesh_x: 2, mesh_y: 2, block: {block}}}\n")
    assert_user_error(run("map", "--arch", path, "--shape", "K=8 C=8 P=4 Q=4", "--budget", "20"), "arch.yaml",
                      needle)


def test_cli_map_and_eval_report_the_real_macs(tmp_path) -> None:
    path = tmp_path / "arch.yaml"
    path.write_text("name: vec\nlevels:\n  - {name: DRAM, technology: DRAM, size_words: null}\n"
                    "  - {name: RF, size_words: 64, instances: 4, mesh_x: 2, mesh_y: 2}\n"
                    "mac: {instances: 4, mesh_x: 2, mesh_y: 2, block: {K: 4, C: 2}}\n")
    import json

    out = tmp_path / "out"
    result = ok(run("map", "--arch", path, "--shape", "K=6 C=8 P=4 Q=4", "--budget", "100", "--out", out, "--json"))
    data = json.loads(result.stdout.strip().splitlines()[-1])
    total = data["total"]
    assert total["macs"] == 6 * 8 * 16
    assert total["utilization"] == pytest.approx(total["macs"] / (total["cycles"] * 4 * 8))
    assert total["utilization"] <= 6 / 8


def test_loop_nest_of_a_block_mac_is_over_the_blocked_dims() -> None:
    from cosearch.mapping.loopnest import loop_nest_data

    layer = Layer(name="padded", K=14, C=20, P=4, Q=4)  # blocked: K' = 4, C' = 3
    m = MapSpace(VECTOR, layer).sample(20, seed=2)
    for i in range(len(m)):
        nest = loop_nest_data(VECTOR, m, i, dims=layer.dims)
        assert all("remainder_tiles" not in entry for entry in nest)  # a perfect mapping of the blocked layer
        bounds = {"K": 1, "C": 1}
        for entry in nest:
            for loop in entry["loops"]:
                if loop["dim"] in bounds:
                    bounds[loop["dim"]] *= loop["bound"]
        assert bounds == {"K": 4, "C": 3}


def test_the_report_re_evaluates_an_imperfect_mapping_of_the_blocked_layer() -> None:
    """A stored mapping over-covering a blocked dim (K' = 4 covered by 6 on a 14-channel layer) is an
    imperfect factorization of the blocked layer, not an under-cover of the real K = 14."""
    from cosearch.report.evaluation import evaluate_row
    from cosearch.report.records import LayerRow

    layer = Layer(name="padded", K=14, C=20, P=4, Q=4)
    space = MapSpace(VECTOR, layer, factorization="imperfect", max_padding=1.0)
    m = space.sample(400, seed=0)
    product = (m.temporal * m.spatial_x * m.spatial_y).prod(axis=1)
    past = product > np.asarray(space.layer.dims)  # [B, D]: over-covered dims of the blocked layer
    over = np.flatnonzero(past[:, 2:4].any(axis=1) & ~past[:, [0, 1, 4, 5, 6, 7]].any(axis=1))  # K' or C' only
    assert over.size
    i = int(over[0])
    row = LayerRow("padded", layer.shape_text(), 1, layer.macs, None, None, None,
                   mapping=m.to_mapping(i, VECTOR).model_dump(mode="json", exclude_none=True))
    evaluate_row(VECTOR, layer, row.mapping, row)
    assert row.error is None
    expected = evaluate(VECTOR, layer, m.subset(slice(i, i + 1)), factorization="imperfect")
    assert row.energy_pj == float(expected.energy_pj[0]) and row.utilization == float(expected.utilization[0])
