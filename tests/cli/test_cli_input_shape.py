"""``--input-shape NAME=DIMS`` wherever the CLI takes a workload (issue #6): ``map``, ``eval``,
``codesign`` (comma-separated workloads), ``export timeloop``, ``zoo`` and ``workload show``, on small
dynamic-batch ONNX models built with onnx.helper. Without it a dynamic model is a one-line error (exit 2)
naming the input and the option."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

onnx = pytest.importorskip("onnx")

import numpy as np  # noqa: E402
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from conftest import assert_user_error, last_json, ok, run  # noqa: E402
from cosearch.errors import CosearchError  # noqa: E402
from cosearch.workload.importers.onnx import route_input_shapes  # noqa: E402

# The conv net below, per image: conv 4 <- 3 channels, 3x3, "same" padding on 8x8 (4*3*3*3*8*8 MACs);
# fc 10 <- 4*8*8 = 256 features (256*10 MACs).
CONV_MACS_PER_IMAGE = 4 * 3 * 3 * 3 * 8 * 8
FC_MACS_PER_IMAGE = (4 * 8 * 8) * 10


def _value(name: str, dims=None):
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, None if dims is None else list(dims))


def _weight(name: str, dims):
    return numpy_helper.from_array(np.zeros(dims, dtype=np.float32), name)


def _save(path: Path, nodes, inputs, outputs, inits) -> Path:
    graph = helper.make_graph(nodes, path.stem, inputs, outputs, initializer=inits)
    onnx.save_model(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    return path


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> dict[str, Path]:
    """``conv``: input ``x`` = [batch, 3, 8, 8] (batch dynamic) -> Conv -> Relu -> Flatten -> Gemm;
    ``seq``: input ``tokens`` = [batch, 16, 32] -> MatMul with a [32, 24] weight."""
    d = tmp_path_factory.mktemp("dyn")
    conv = _save(
        d / "conv.onnx",
        [helper.make_node("Conv", ["x", "w"], ["c"], name="conv", pads=[1, 1, 1, 1]),
         helper.make_node("Relu", ["c"], ["r"], name="relu"),
         helper.make_node("Flatten", ["r"], ["f"], name="flat"),
         helper.make_node("Gemm", ["f", "w2"], ["y"], name="fc", transB=1)],
        [_value("x", ("batch", 3, 8, 8))], [_value("y")], [_weight("w", (4, 3, 3, 3)), _weight("w2", (10, 256))])
    seq = _save(
        d / "seq.onnx", [helper.make_node("MatMul", ["tokens", "w"], ["y"], name="proj")],
        [_value("tokens", ("batch", 16, 32))], [_value("y")], [_weight("w", (32, 24))])
    return {"conv": conv, "seq": seq}


def _dim_product(mapping: dict, dim: str) -> int:
    """Product of a dim's temporal and spatial factors over every level of a readable mapping."""
    total = 1
    for level in mapping["levels"]:
        total *= (level.get("temporal") or {}).get(dim, 1)
        for axis in ("X", "Y"):
            total *= ((level.get("spatial") or {}).get(axis) or {}).get(dim, 1)
    return total


def _fc_mapping(path: Path, n: int) -> Path:
    """A mapping of the fc layer (batch ``n``) with every loop at DRAM (exportable to Timeloop)."""
    path.write_text('{"levels": [{"level": "DRAM", "temporal": {"N": %d, "K": 10, "C": 256}, "permutation": "NKC"}]}' % n)
    return path


# ---------------------------------------------------------------------------------------------------
# map


def test_map_input_shape(models, tmp_path) -> None:
    data = last_json(ok(run("map", "-a", "simple-64", "-w", models["conv"], "--input-shape", "x=3x3x8x8",
                            "-n", "60", "--out", tmp_path / "o", "--json")).stdout)
    layers = {entry["name"]: entry for entry in data["layers"]}
    assert set(layers) == {"conv", "fc"}
    assert layers["conv"]["macs"] == 3 * CONV_MACS_PER_IMAGE
    assert layers["fc"]["macs"] == 3 * FC_MACS_PER_IMAGE
    for entry in layers.values():  # the mapper searched the batch-3 layer: its N factors multiply to 3
        assert _dim_product(entry["mapping"], "N") == 3


def test_map_dynamic_without_input_shape(models, tmp_path) -> None:
    line = assert_user_error(run("map", "-a", "simple-64", "-w", models["conv"], "-n", "10", "--out", tmp_path),
                             "'x'", "--input-shape x=", "conv.onnx")
    assert "dynamic" in line
    assert not any(tmp_path.iterdir())  # nothing mapped


def test_map_input_shape_misuse(models, tmp_path) -> None:
    assert_user_error(run("map", "-a", "simple-64", "-w", "dqn", "--input-shape", "x=1x3x8x8", "--out", tmp_path),
                      "--input-shape", "ONNX")
    assert_user_error(run("map", "-a", "simple-64", "--shape", "K=4 C=3", "--input-shape", "x=1x3x8x8",
                          "--out", tmp_path), "--input-shape", "--shape")
    assert_user_error(run("map", "-a", "simple-64", "-w", models["conv"], "--input-shape", "y=1x3x8x8",
                          "--out", tmp_path), "no such input", "y")
    assert_user_error(run("map", "-a", "simple-64", "-w", models["conv"], "--input-shape", "x=1x3xfoo",
                          "--out", tmp_path), "--input-shape")


# ---------------------------------------------------------------------------------------------------
# eval


def test_eval_input_shape(models, tmp_path) -> None:
    mapping = _fc_mapping(tmp_path / "fc.json", 2)
    data = last_json(ok(run("eval", "-a", "simple-64", "-w", models["conv"], "-l", "fc", "--input-shape",
                            "x=2x3x8x8", "-m", mapping, "--json")).stdout)
    assert (data["layer"]["N"], data["layer"]["C"], data["layer"]["K"]) == (2, 256, 10)
    assert data["macs"] == 2 * FC_MACS_PER_IMAGE
    # the same mapping on the batch-1 graph does not fit: the option really reached the importer
    assert_user_error(run("eval", "-a", "simple-64", "-w", models["conv"], "-l", "fc", "--input-shape",
                          "x=1x3x8x8", "-m", mapping), "factors of N")
    assert_user_error(run("eval", "-a", "simple-64", "-w", models["conv"], "-l", "fc", "-m", mapping),
                      "'x'", "--input-shape x=")


# ---------------------------------------------------------------------------------------------------
# export timeloop


def test_export_timeloop_input_shape(models, tmp_path) -> None:
    mapping = _fc_mapping(tmp_path / "fc.json", 4)
    out = tmp_path / "tl"
    ok(run("export", "timeloop", "-a", "simple-64", "-w", models["conv"], "-l", "fc", "--input-shape", "x=4x3x8x8",
           "-m", mapping, "--out", out))
    instance = yaml.safe_load((out / "problem.yaml").read_text())["problem"]["instance"]
    assert (instance["N"], instance["C"], instance["K"]) == (4, 256, 10)
    assert_user_error(run("export", "timeloop", "-a", "simple-64", "-w", models["conv"], "-l", "fc", "-m", mapping,
                          "--out", tmp_path / "tl2"), "'x'", "--input-shape")
    assert not (tmp_path / "tl2").exists()
    assert_user_error(run("export", "timeloop", "--study", "s", "--input-shape", "x=4x3x8x8", "--out", tmp_path / "x"),
                      "--input-shape")


# ---------------------------------------------------------------------------------------------------
# codesign (comma-separated workloads)


def test_codesign_input_shapes_routed(models, tmp_path) -> None:
    workloads = f"{models['conv']},{models['seq']}"
    out = tmp_path / "cd"
    data = last_json(ok(run("codesign", "-w", workloads, "--input-shape", "x=2x3x8x8", "--input-shape",
                            "tokens=3x16x32", "--hw-budget", "2", "--hw-batch", "2", "--mapper-budget", "40",
                            "--out", out, "--json")).stdout)
    layers = data["best"]["layers"]
    assert set(layers) == {"conv/conv", "conv/fc", "seq/proj"}
    assert _dim_product(layers["conv/conv"]["mapping"], "N") == 2
    assert _dim_product(layers["conv/fc"]["mapping"], "N") == 2
    # [3, 16, 32] @ [32, 24]: N = 3 (batch), P = 16 (tokens), C = 32, K = 24
    proj = layers["seq/proj"]["mapping"]
    assert [_dim_product(proj, d) for d in "NPCK"] == [3, 16, 32, 24]


def test_codesign_input_shape_errors(models, tmp_path) -> None:
    both = f"{models['conv']},{models['seq']}"
    small = ["--hw-budget", "2", "--hw-batch", "2", "--mapper-budget", "40", "--out", tmp_path / "cd"]
    assert_user_error(run("codesign", "-w", models["conv"], *small), "'x'", "--input-shape x=")
    # one model fixed, the other still dynamic: the error names the other one's input
    assert_user_error(run("codesign", "-w", both, "--input-shape", "x=2x3x8x8", *small),
                      "seq.onnx", "'tokens'", "--input-shape tokens=")
    line = assert_user_error(run("codesign", "-w", both, "--input-shape", "x=2x3x8x8", "--input-shape",
                                 "nope=1x2", *small), "--input-shape nope")
    assert "x" in line and "tokens" in line  # the inputs there are
    assert_user_error(run("codesign", "-w", "dqn", "--input-shape", "x=2x3x8x8", *small), "ONNX")
    assert not (tmp_path / "cd").exists()


def test_route_input_shapes(models) -> None:
    conv, seq = str(models["conv"]), str(models["seq"])
    assert route_input_shapes([conv, seq], {"x": (2, 3, 8, 8), "tokens": (1, 16, 32)}) == {
        conv: {"x": (2, 3, 8, 8)}, seq: {"tokens": (1, 16, 32)}}
    assert route_input_shapes([conv], {"anything": (1,)}) == {conv: {"anything": (1,)}}  # load_onnx reports it
    assert route_input_shapes([conv, seq], None) == {conv: {}, seq: {}}
    with pytest.raises(CosearchError, match="no ONNX model has an input"):
        route_input_shapes([conv, seq], {"zz": (1,)})
    with pytest.raises(CosearchError, match="only to ONNX"):
        route_input_shapes([], {"x": (1,)})


# ---------------------------------------------------------------------------------------------------
# zoo NETWORK and workload show share the option


def test_zoo_and_workload_show_input_shape(models) -> None:
    zoo = last_json(ok(run("zoo", models["seq"], "--input-shape", "tokens=5x16x32", "--json")).stdout)
    assert zoo["macs"] == 5 * 16 * 32 * 24
    show = last_json(ok(run("workload", "show", models["seq"], "--input-shape", "tokens=5x16x32", "--json")).stdout)
    assert show["totals"]["macs"] == zoo["macs"]
    assert_user_error(run("zoo", models["seq"]), "'tokens'", "--input-shape")
    assert_user_error(run("zoo", "--input-shape", "tokens=5x16x32"), "--input-shape")


def test_input_shape_dims_beyond_int64_are_refused() -> None:
    from cosearch.workload.importers.onnx import parse_input_shapes

    with pytest.raises(CosearchError, match=r"--input-shape 'x=1x99999999999999999999': a dim must be at most 2\*\*62"):
        parse_input_shapes(["x=1x99999999999999999999"])
