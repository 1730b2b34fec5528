"""ONNX import (issue #6): graphs built with onnx.helper and exported from plain-torch models
(torchvision is not used: ResNet-18 etc. are rebuilt here with torchvision's layer shapes)."""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path

import pytest

onnx = pytest.importorskip("onnx")
torch = pytest.importorskip("torch")

import numpy as np  # noqa: E402
from onnx import TensorProto, helper, numpy_helper  # noqa: E402
from torch import nn  # noqa: E402
from typer.testing import CliRunner  # noqa: E402

from conftest import assert_user_error  # noqa: E402
from cosearch import load_workload  # noqa: E402
from cosearch.cli import app  # noqa: E402
from cosearch.errors import CosearchError  # noqa: E402
from cosearch.workload.importers.onnx import load_onnx, parse_input_shapes  # noqa: E402
from cosearch.workload.zoo import bert_base, dqn, mobilenet_v2, resnet18  # noqa: E402

# ---------------------------------------------------------------------------------------------------
# plain-torch models (shared with test_torch_import.py)


class BasicBlock(nn.Module):
    def __init__(self, c_in: int, c_out: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = None
        if stride != 1 or c_in != c_out:
            self.downsample = nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride, bias=False), nn.BatchNorm2d(c_out))

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


class ResNet18(nn.Module):
    """torchvision's resnet18 layer shapes in plain torch.nn."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        stages, c_in = [], 64
        for i, width in enumerate((64, 128, 256, 512)):
            stride = 1 if i == 0 else 2
            stages.append(nn.Sequential(BasicBlock(c_in, width, stride), BasicBlock(width, width, 1)))
            c_in = width
        self.layer1, self.layer2, self.layer3, self.layer4 = stages
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(512, 1000)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


class InvertedResidual(nn.Module):
    """MobileNetV2 block 2 (torchvision features[2]): 16 -> 96 (expand) -> depthwise 3x3/2 -> 24."""

    def __init__(self, c_in: int = 16, c_out: int = 24, expansion: int = 6, stride: int = 2) -> None:
        super().__init__()
        hidden = c_in * expansion
        self.conv = nn.Sequential(
            nn.Conv2d(c_in, hidden, 1, bias=False), nn.BatchNorm2d(hidden), nn.ReLU6(inplace=True),
            nn.Conv2d(hidden, hidden, 3, stride, 1, groups=hidden, bias=False), nn.BatchNorm2d(hidden),
            nn.ReLU6(inplace=True),
            nn.Conv2d(hidden, c_out, 1, bias=False), nn.BatchNorm2d(c_out),
        )

    def forward(self, x):
        return self.conv(x)


class DQN(nn.Module):
    def __init__(self, actions: int = 18) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(4, 32, 8, 4), nn.ReLU(), nn.Conv2d(32, 64, 4, 2), nn.ReLU(), nn.Conv2d(64, 64, 3, 1), nn.ReLU(),
        )
        self.fc = nn.Linear(64 * 7 * 7, 512)
        self.out = nn.Linear(512, actions)

    def forward(self, x):
        x = torch.flatten(self.features(x), 1)
        return self.out(torch.relu(self.fc(x)))


class Conv1dNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv1d(16, 32, 5, stride=2, padding=4, dilation=2, groups=4)
        self.pool = nn.AdaptiveAvgPool1d(1)

    def forward(self, x):
        return self.pool(torch.relu(self.conv(x)))


class BertBlock(nn.Module):
    """A BERT-base encoder block (768, 12 heads, 3072); attention matmuls batched over heads."""

    def __init__(self, d: int = 768, heads: int = 12, d_ff: int = 3072) -> None:
        super().__init__()
        self.heads, self.head_dim = heads, d // heads
        self.q, self.k, self.v, self.o = (nn.Linear(d, d) for _ in range(4))
        self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.ffn1, self.ffn2 = nn.Linear(d, d_ff), nn.Linear(d_ff, d)

    def forward(self, x):
        b, t, d = x.shape
        q = self.q(x).view(b, t, self.heads, self.head_dim).transpose(1, 2)
        k = self.k(x).view(b, t, self.heads, self.head_dim).transpose(1, 2)
        v = self.v(x).view(b, t, self.heads, self.head_dim).transpose(1, 2)
        scores = q @ k.transpose(-2, -1) / math.sqrt(self.head_dim)
        context = torch.softmax(scores, dim=-1) @ v
        context = context.transpose(1, 2).reshape(b, t, d)
        x = self.ln1(x + self.o(context))
        return self.ln2(x + self.ffn2(torch.relu(self.ffn1(x))))


MODELS = {
    "resnet18": (ResNet18, (1, 3, 224, 224)),
    "inverted_residual": (InvertedResidual, (1, 16, 112, 112)),
    "dqn": (DQN, (1, 4, 84, 84)),
    "conv1d": (Conv1dNet, (1, 16, 100)),
    "bert_block": (BertBlock, (1, 128, 768)),
}


def build(name: str):
    """(module in eval mode, example inputs) of a test model."""
    torch.manual_seed(0)
    cls, shape = MODELS[name]
    return cls().eval(), (torch.randn(*shape),)


def export(module, inputs, path: Path) -> Path:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(module, inputs, str(path), dynamo=False)
    return path


def shape_counts(network) -> list[tuple]:
    """Layers as sorted (shape, count) pairs (names differ between importers)."""
    return sorted((layer.shape_key(), layer.count) for layer in network)


@pytest.fixture(scope="session")
def exported(tmp_path_factory):
    """name -> exported .onnx path (each model exported once per session)."""
    folder = tmp_path_factory.mktemp("onnx_models")
    cache: dict[str, Path] = {}

    def get(name: str) -> Path:
        if name not in cache:
            module, inputs = build(name)
            cache[name] = export(module, inputs, folder / f"{name}.onnx")
        return cache[name]

    return get


# ---------------------------------------------------------------------------------------------------
# exported torch models


def test_resnet18_matches_zoo(exported):
    net, not_costed = load_onnx(exported("resnet18"))
    zoo = resnet18()
    assert net.macs == zoo.macs == 1_814_073_344
    assert net.num_layers == 21 and len(net) == 12
    assert shape_counts(net) == shape_counts(zoo)
    ops = {entry["op"] for entry in not_costed}
    assert {"MaxPool", "Relu", "Add"} <= ops
    assert all(entry["reason"] and entry["name"] for entry in not_costed)


def test_load_workload_onnx(exported):
    net = load_workload(str(exported("resnet18")))
    assert net.name == "resnet18" and net.macs == 1_814_073_344
    assert "not costed" in net.description


def test_inverted_residual_depthwise(exported):
    net, _ = load_onnx(exported("inverted_residual"))
    zoo = mobilenet_v2()
    expected = [zoo.layer(name) for name in ("block2_expand", "block2_dw", "block2_project")]
    assert [layer.shape_key() for layer in net] == [layer.shape_key() for layer in expected]
    dw = net.layers[1]
    assert (dw.G, dw.C, dw.K, dw.P, dw.Q, dw.R, dw.S, dw.Wstride, dw.Hstride) == (96, 1, 1, 56, 56, 3, 3, 2, 2)


def test_dqn_matches_zoo(exported):
    net, _ = load_onnx(exported("dqn"))
    assert shape_counts(net) == shape_counts(dqn())
    assert net.macs == 9_352_192


def test_conv1d(exported):
    net, _ = load_onnx(exported("conv1d"))
    (layer,) = net.layers
    assert (layer.G, layer.C, layer.K, layer.P, layer.Q, layer.R, layer.S) == (4, 4, 8, 50, 1, 5, 1)
    assert (layer.Wstride, layer.Wdilation, layer.Hstride, layer.Hdilation) == (2, 2, 1, 1)


def test_bert_block_matches_zoo(exported):
    net, not_costed = load_onnx(exported("bert_block"))
    zoo = bert_base()
    assert shape_counts(net) == shape_counts(zoo)
    scores = next(l for l in net if l.G == 12 and l.K == 128)
    values = next(l for l in net if l.G == 12 and l.K == 64)
    assert scores.shape_key() == zoo.layer("attn_scores").shape_key()
    assert values.shape_key() == zoo.layer("attn_values").shape_key()
    assert {"Softmax", "LayerNormalization"} & {entry["op"] for entry in not_costed}


# ---------------------------------------------------------------------------------------------------
# onnx.helper graphs


def _value(name: str, dims=None) -> onnx.ValueInfoProto:
    """A float tensor's value info (``dims`` None: shape unknown, as for outputs left to inference)."""
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, None if dims is None else list(dims))


def _weight(name: str, dims) -> onnx.TensorProto:
    return numpy_helper.from_array(np.zeros(dims, dtype=np.float32), name)


def _save(tmp_path: Path, nodes, inputs, outputs, inits=(), value_info=(), opset=17, domain_opsets=(),
          name="net.onnx") -> Path:
    graph = helper.make_graph(nodes, "g", inputs, outputs, initializer=list(inits), value_info=list(value_info))
    opsets = [helper.make_opsetid("", opset)] + [helper.make_opsetid(d, v) for d, v in domain_opsets]
    model = helper.make_model(graph, opset_imports=opsets)
    path = tmp_path / name
    onnx.save_model(model, str(path))
    return path


def test_helper_grouped_conv_gemm_matmul(tmp_path):
    nodes = [
        helper.make_node("Conv", ["x", "w"], ["y"], name="dw", group=8, strides=[2, 1], dilations=[1, 2],
                         pads=[1, 2, 1, 2]),
        helper.make_node("Relu", ["y"], ["r"], name="act"),
        helper.make_node("Gemm", ["a", "b"], ["g"], name="fc", transB=1),
        helper.make_node("MatMul", ["q", "k"], ["s"], name="scores"),
    ]
    inputs = [_value("x", (2, 16, 20, 30)), _value("a", (4, 64)), _value("q", (2, 8, 10, 32)), _value("k", (2, 8, 32, 12))]
    outputs = [_value("r"), _value("g"), _value("s")]
    path = _save(tmp_path, nodes, [*inputs], outputs, inits=[_weight("w", (16, 2, 3, 3)), _weight("b", (100, 64))])
    net, not_costed = load_onnx(path)
    dw, fc, scores = net.layers
    assert (dw.N, dw.G, dw.C, dw.K, dw.Q, dw.P, dw.S, dw.R) == (2, 8, 2, 2, 10, 30, 3, 3)
    assert (dw.Hstride, dw.Wstride, dw.Hdilation, dw.Wdilation) == (2, 1, 1, 2)
    assert (fc.N, fc.C, fc.K) == (4, 64, 100)
    assert (scores.G, scores.P, scores.C, scores.K, scores.N) == (16, 10, 32, 12, 1)
    assert not_costed == [{"name": "act", "op": "Relu", "reason": not_costed[0]["reason"]}]


def test_conv_transpose(tmp_path):
    nodes = [
        helper.make_node("ConvTranspose", ["x", "w1"], ["y1"], name="up1"),
        helper.make_node("ConvTranspose", ["x", "w2"], ["y2"], name="up2", strides=[2, 2]),
    ]
    path = _save(tmp_path, nodes, [_value("x", (1, 8, 10, 10))], [_value("y1"), _value("y2")],
                 inits=[_weight("w1", (8, 4, 3, 3)), _weight("w2", (8, 4, 2, 2))])
    net, not_costed = load_onnx(path)
    (layer,) = net.layers
    assert (layer.C, layer.K, layer.P, layer.Q, layer.R, layer.S) == (8, 4, 12, 12, 3, 3)
    assert not_costed[0]["name"] == "up2" and "strided ConvTranspose" in not_costed[0]["reason"]


def test_weights_not_needed(tmp_path):
    """Weights known only by shape (value_info, no initializer) or stored externally and missing."""
    nodes = [helper.make_node("Conv", ["x", "w"], ["y"], name="c", kernel_shape=[3, 3], pads=[1, 1, 1, 1])]
    path = _save(tmp_path, nodes, [_value("x", (1, 3, 8, 8))], [_value("y")], value_info=[_value("w", (4, 3, 3, 3))])
    (layer,) = load_onnx(path)[0].layers
    assert (layer.C, layer.K, layer.P, layer.Q) == (3, 4, 8, 8)

    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["y"], name="mm")], "g", [_value("x", (3, 256))], [_value("y")],
        initializer=[_weight("w", (256, 128))])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    ext = tmp_path / "ext.onnx"
    onnx.save_model(model, str(ext), save_as_external_data=True, all_tensors_to_one_file=True,
                    location="ext.data", size_threshold=0)
    (tmp_path / "ext.data").unlink()
    (layer,) = load_onnx(ext)[0].layers
    assert (layer.N, layer.C, layer.K) == (3, 256, 128)


def test_dynamic_dims_need_input_shape(tmp_path):
    nodes = [helper.make_node("Gemm", ["x", "w"], ["y"], name="fc")]
    path = _save(tmp_path, nodes, [_value("x", ("batch", 64))], [_value("y")], inits=[_weight("w", (64, 10))])
    with pytest.raises(CosearchError, match=r"input 'x' has dynamic dims .*--input-shape x="):
        load_onnx(path)
    net, _ = load_onnx(path, {"x": (5, 64)})
    assert (net.layers[0].N, net.layers[0].C, net.layers[0].K) == (5, 64, 10)
    assert load_workload(str(path), input_shapes={"x": (5, 64)}).macs == 5 * 64 * 10
    with pytest.raises(CosearchError, match="no such input"):
        load_onnx(path, {"nope": (1, 64)})
    with pytest.raises(CosearchError, match="has 2 dims"):
        load_onnx(path, {"x": (1, 1, 64)})
    assert parse_input_shapes(["x=5x64", "m=1x128"]) == {"x": (5, 64), "m": (1, 128)}
    with pytest.raises(CosearchError):
        parse_input_shapes("x=5xa")


def _one_line(err: pytest.ExceptionInfo) -> str:
    text = str(err.value)
    assert "\n" not in text
    return text


def test_bad_files(tmp_path, exported):
    data = exported("dqn").read_bytes()
    truncated = tmp_path / "trunc.onnx"
    truncated.write_bytes(data[: len(data) // 2])
    with pytest.raises(CosearchError) as err:
        load_onnx(truncated)
    assert "truncated or corrupt" in _one_line(err) and "trunc.onnx" in str(err.value)
    garbage = tmp_path / "garbage.onnx"
    garbage.write_bytes(b"\xff\xfe not a protobuf \x00\x01" * 10)
    with pytest.raises(CosearchError, match="corrupt"):
        load_onnx(garbage)
    empty = tmp_path / "empty.onnx"
    empty.write_bytes(b"")
    with pytest.raises(CosearchError, match="empty"):
        load_onnx(empty)
    with pytest.raises(CosearchError, match="no such file"):
        load_onnx(tmp_path / "missing.onnx")

    relu = [helper.make_node("Relu", ["x"], ["y"], name="act")]
    old = _save(tmp_path, relu, [_value("x", (1, 4))], [_value("y")], opset=1, name="old.onnx")
    with pytest.raises(CosearchError) as err:
        load_onnx(old)
    assert "unsupported opset: ai.onnx version 1" in _one_line(err)

    bogus = [helper.make_node("Conv", ["x", "w"], ["y"], name="c", domain="com.bogus")]
    path = _save(tmp_path, bogus, [_value("x", (1, 3, 8, 8))], [_value("y")], inits=[_weight("w", (4, 3, 3, 3))],
                 domain_opsets=[("com.bogus", 1)], name="bogus.onnx")
    with pytest.raises(CosearchError) as err:
        load_onnx(path)
    assert "domain 'com.bogus'" in _one_line(err)

    only_relu = _save(tmp_path, relu, [_value("x", (1, 4))], [_value("y")], name="relu.onnx")
    with pytest.raises(CosearchError) as err:
        load_onnx(only_relu)
    assert "no conv, gemm or matmul op" in _one_line(err) and "Relu x1" in str(err.value)


# ---------------------------------------------------------------------------------------------------
# CLI


def _runner() -> CliRunner:
    try:
        return CliRunner(mix_stderr=False)  # type: ignore[call-arg]
    except TypeError:
        return CliRunner()


def test_cli_workload_show_json(exported):
    result = _runner().invoke(app, ["workload", "show", str(exported("dqn")), "--json"])
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout.strip().splitlines()[-1])
    assert data["totals"]["macs"] == 9_352_192 and data["totals"]["layers"] == 5
    first = data["layers"][0]
    assert {"name", "shape", "count", "macs", "weight_words", "input_words", "output_words"} <= set(first)
    assert first["weight_words"] == 32 * 4 * 8 * 8
    assert data["not_costed"] and {"name", "op", "reason"} == set(data["not_costed"][0])

    table = _runner().invoke(app, ["workload", "show", str(exported("dqn"))])
    assert table.exit_code == 0 and "not costed" in table.stdout and "9,352,192" in table.stdout
    zoo = _runner().invoke(app, ["workload", "show", "resnet18", "--json"])
    assert json.loads(zoo.stdout)["totals"]["macs"] == 1_814_073_344


def test_cli_workload_show_errors(tmp_path):
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"\x08\x07\x12\x05hello\x3a\xff\xff")
    assert_user_error(_runner().invoke(app, ["workload", "show", str(bad)]), "bad.onnx")
    nodes = [helper.make_node("Gemm", ["x", "w"], ["y"], name="fc")]
    dyn = _save(tmp_path, nodes, [_value("x", ("batch", 64))], [_value("y")], inits=[_weight("w", (64, 10))])
    assert_user_error(_runner().invoke(app, ["workload", "show", str(dyn), "--json"]), "dynamic dims", "--input-shape")
    ok = _runner().invoke(app, ["workload", "show", str(dyn), "--input-shape", "x=3x64", "--json"])
    assert ok.exit_code == 0 and json.loads(ok.stdout)["totals"]["macs"] == 3 * 64 * 10
    assert_user_error(_runner().invoke(app, ["workload", "show", "resnet18", "--input-shape", "x=1x3"]), "ONNX")


def test_a_layer_too_large_for_int64_is_refused(tmp_path):
    """Sizes an ONNX graph declares (here a MatMul of 2**40 × 2**20 by 2**20 × 2**10, by shape only)
    are held to cosearch.limits like any workload file: one CosearchError naming the layer."""
    nodes = [helper.make_node("MatMul", ["a", "b"], ["y"], name="huge")]
    path = _save(tmp_path, nodes, [_value("a", (2**40, 2**20)), _value("b", (2**20, 2**10))], [_value("y")])
    with pytest.raises(CosearchError, match=r"layer huge: too large: .* exceeds 2\*\*62"):
        load_onnx(path)
