"""Third-party ONNX files (issue #6): the ONNX model-zoo graphs that the ``onnx`` package ships under
``onnx/backend/test/data/light/`` (weights replaced by ``ConstantOfShape`` nodes fed by shape
initialisers, so only shapes are present). Each is imported and checked against figures derived here
independently:

* a walk of the graph after ``onnx.shape_inference`` that computes each Conv/Gemm/MatMul's MACs from its
  weight and output shapes (``prod(Y) * prod(W[1:])`` for a conv, ``prod(Y) * inner`` for a gemm), and
  counts the other nodes (which must all be listed as not costed);
* for five of them, the MAC total derived from the published architecture (layer widths, kernels,
  strides) in plain arithmetic, with the published figure in a comment.
"""

from __future__ import annotations

import math
from collections import Counter
from pathlib import Path

import pytest

onnx = pytest.importorskip("onnx")

from conftest import last_json, ok, run  # noqa: E402
from cosearch import load_workload  # noqa: E402
from cosearch.workload.importers.onnx import load_onnx  # noqa: E402

LIGHT = Path(onnx.__file__).parent / "backend" / "test" / "data" / "light"
MODELS = ("bvlc_alexnet", "densenet121", "inception_v1", "inception_v2", "resnet50", "shufflenet", "squeezenet",
          "vgg19", "zfnet512")
COSTED = ("Conv", "Gemm", "MatMul")


def light(name: str) -> Path:
    path = LIGHT / f"light_{name}.onnx"
    assert path.is_file(), f"{path} missing: the installed onnx package no longer ships the light model-zoo graphs"
    return path


# ---------------------------------------------------------------------------------------------------
# the independent graph walk


def graph_walk(path: Path) -> tuple[list[tuple], Counter]:
    """(one (key, MACs) per Conv/Gemm/MatMul node, Counter of the other nodes' op types), from
    onnx's own shape inference on the unmodified file. The key identifies the layer shape from the
    weight and output shapes, so equal keys are the layers cosearch merges."""
    model = onnx.shape_inference.infer_shapes(onnx.load(str(path)), data_prop=True)
    graph = model.graph
    shapes = {t.name: list(t.dims) for t in graph.initializer}
    for value in list(graph.input) + list(graph.value_info) + list(graph.output):
        dims = [d.dim_value for d in value.type.tensor_type.shape.dim]
        if dims and all(d > 0 for d in dims):
            shapes[value.name] = dims
    costed, others = [], Counter()
    for node in graph.node:
        attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
        if node.op_type not in COSTED:
            others[node.op_type] += 1
            continue
        y = shapes[node.output[0]]
        if node.op_type == "Conv":
            w = shapes[node.input[1]]  # [groups * K, C / groups, kh, kw]
            macs = math.prod(y) * math.prod(w[1:])
            ones = [1] * (len(w) - 2)
            key = ("conv", tuple(w), tuple(y), int(attrs.get("group", 1)), tuple(attrs.get("strides") or ones),
                   tuple(attrs.get("dilations") or ones))
        elif node.op_type == "Gemm":
            a = shapes[node.input[0]]
            inner = a[0] if attrs.get("transA", 0) else a[1]
            macs = math.prod(y) * inner
            key = ("fc", y[0], inner, y[1])
        else:
            a = shapes[node.input[0]]
            macs = math.prod(y) * a[-1]
            key = ("matmul", tuple(a), tuple(y))
        costed.append((key, macs))
    return costed, others


@pytest.fixture(scope="module")
def imported() -> dict[str, tuple]:
    return {name: load_onnx(light(name)) for name in MODELS}


@pytest.mark.parametrize("name", MODELS)
def test_light_model_matches_graph_walk(name, imported) -> None:
    net, not_costed = imported[name]
    costed, others = graph_walk(light(name))
    assert costed, name
    assert net.num_layers == len(costed)  # every Conv/Gemm/MatMul became a layer
    assert len(net) == len({key for key, _ in costed})  # merged exactly where the shapes are equal
    assert net.macs == sum(macs for _, macs in costed)
    per_layer = sorted(layer.macs for layer in net for _ in range(layer.count))
    assert per_layer == sorted(macs for _, macs in costed)
    assert Counter(entry["op"] for entry in not_costed) == others  # every other op listed, none dropped
    assert all(entry["reason"] for entry in not_costed)
    assert load_workload(light(name)).macs == net.macs  # the library entry point agrees


def test_light_model_op_coverage(imported) -> None:
    """The ops these graphs exercise: grouped and depthwise convs, Gemm with transB after Reshape,
    and LRN / Concat / Dropout / Sum / BatchNormalization / ConstantOfShape (weights) listed as not costed."""
    alexnet = imported["bvlc_alexnet"][0]
    assert sorted(layer.G for layer in alexnet) == [1, 1, 1, 1, 1, 2, 2, 2]  # conv2, conv4, conv5 in two groups
    shufflenet = imported["shufflenet"][0]
    depthwise = [layer for layer in shufflenet if layer.G > 1 and layer.C == layer.K == 1]
    assert depthwise and all(layer.R == layer.S == 3 for layer in depthwise)
    assert any(layer.G == 4 and layer.C > 1 for layer in shufflenet)  # grouped 1x1 convs
    listed = {entry["op"] for name in MODELS for entry in imported[name][1]}
    assert {"LRN", "Concat", "Dropout", "Sum", "BatchNormalization", "ConstantOfShape", "Reshape", "MaxPool",
            "AveragePool", "GlobalAveragePool", "Softmax", "Transpose"} <= listed


# ---------------------------------------------------------------------------------------------------
# totals from the published architectures (plain arithmetic, no ONNX)


def conv(k: int, c: int, out: int, r: int, groups: int = 1) -> int:
    """MACs of a square r x r conv with c -> k channels and an out x out output (batch 1)."""
    return k * (c // groups) * r * r * out * out


def vgg19_macs() -> int:
    """VGG-19 (configuration E): 3x3 convs with padding 1, 2x2 max pools, three FC layers, 224x224."""
    cfg = [64, 64, "M", 128, 128, "M", *[256] * 4, "M", *[512] * 4, "M", *[512] * 4, "M"]
    macs, c, hw = 0, 3, 224
    for v in cfg:
        if v == "M":
            hw //= 2
        else:
            macs, c = macs + conv(v, c, hw, 3), v
    return macs + c * hw * hw * 4096 + 4096 * 4096 + 4096 * 1000


def resnet50_macs() -> int:
    """ResNet-50 with the stride on the bottlenecks' 3x3 conv (as in this Caffe2 graph and torchvision)."""
    macs, c, hw = conv(64, 3, 112, 7), 64, 56
    for stage, (blocks, width) in enumerate(zip((3, 4, 6, 3), (64, 128, 256, 512))):
        for block in range(blocks):
            out = hw // 2 if block == 0 and stage > 0 else hw
            macs += conv(width, c, hw, 1) + conv(width, width, out, 3) + conv(4 * width, width, out, 1)
            if block == 0:
                macs += conv(4 * width, c, out, 1)  # projection shortcut
            c, hw = 4 * width, out
    return macs + c * 1000


def densenet121_macs() -> int:
    """DenseNet-121: growth 32, bottleneck 4x32, blocks of 6/12/24/16 layers, transitions halve the
    channels; the classifier is a 1x1 conv after global pooling."""
    macs, c, hw = conv(64, 3, 112, 7), 64, 56
    for block, layers in enumerate((6, 12, 24, 16)):
        for _ in range(layers):
            macs += conv(128, c, hw, 1) + conv(32, 128, hw, 3)
            c += 32
        if block < 3:
            macs += conv(c // 2, c, hw, 1)
            c, hw = c // 2, hw // 2
    return macs + c * 1000


def squeezenet11_macs() -> int:
    """SqueezeNet 1.1: 3x3/2 conv of 64, fire modules (squeeze, expand 1x1 + 3x3), conv10 1x1 -> 1000."""
    macs, c, hw = conv(64, 3, 111, 3), 64, 55
    for fire in [(16, 64), (16, 64), "pool", (32, 128), (32, 128), "pool", (48, 192), (48, 192), (64, 256), (64, 256)]:
        if fire == "pool":
            hw = (hw - 3) // 2 + 1
            continue
        squeeze, expand = fire
        macs += conv(squeeze, c, hw, 1) + conv(expand, squeeze, hw, 1) + conv(expand, squeeze, hw, 3)
        c = 2 * expand
    return macs + conv(1000, c, hw, 1)


def alexnet_macs(size: int) -> int:
    """BVLC AlexNet (conv2/4/5 in two groups) on a size x size input, pools 3x3/2 (the last one padded
    to 6x6 as in this graph)."""
    o1 = (size - 11) // 4 + 1
    p1 = (o1 - 3) // 2 + 1
    p2 = (p1 - 3) // 2 + 1
    convs = (conv(96, 3, o1, 11) + conv(256, 96, p1, 5, 2) + conv(384, 256, p2, 3) + conv(384, 384, p2, 3, 2)
             + conv(256, 384, p2, 3, 2))
    return convs + 256 * 6 * 6 * 4096 + 4096 * 4096 + 4096 * 1000


@pytest.mark.parametrize(
    ("name", "derived", "layers", "published"),
    [
        # VGG-19: 19.6 G multiply-adds (torchvision documents 19.63 "GFLOPS", counted as MACs)
        ("vgg19", vgg19_macs(), 19, 19.63e9),
        # ResNet-50 with the stride on the 3x3 conv: torchvision documents 4.09 GFLOPS (MACs); the paper's
        # 3.8e9 is the variant with the stride on the first 1x1 conv
        ("resnet50", resnet50_macs(), 54, 4.09e9),
        # DenseNet-121: torchvision documents 2.83 GFLOPS (MACs)
        ("densenet121", densenet121_macs(), 121, 2.83e9),
        # SqueezeNet 1.1: torchvision documents 0.35 GFLOPS (MACs)
        ("squeezenet", squeezenet11_macs(), 26, 0.35e9),
        # AlexNet: the published 724 M MACs (e.g. Sze et al., 2017) is for a 227x227 input; this graph
        # declares 224x224, which shrinks the conv outputs to 54/26/12
        ("bvlc_alexnet", alexnet_macs(224), 8, None),
    ],
)
def test_light_model_matches_architecture(name, derived, layers, published, imported) -> None:
    net = imported[name][0]
    assert net.macs == derived
    assert net.num_layers == layers
    if published is not None:
        assert net.macs == pytest.approx(published, rel=0.01)


def test_alexnet_227_is_the_published_figure() -> None:
    """The arithmetic above reproduces the published AlexNet figure (724 M MACs) at 227x227."""
    assert alexnet_macs(227) == 724_406_816


# ---------------------------------------------------------------------------------------------------
# CLI


def test_workload_show_light_resnet50() -> None:
    path = light("resnet50")
    data = last_json(ok(run("workload", "show", path, "--json")).stdout)
    assert data["totals"]["macs"] == resnet50_macs()
    assert data["totals"]["layers"] == 54 and data["totals"]["unique_layers"] == len(data["layers"]) == 24
    # ResNet-50 has 25.5 M parameters; the conv and fc weights are all of them but biases and BN
    assert data["totals"]["weight_words"] == sum(row["weight_words"] * row["count"] for row in data["layers"])
    assert 25.4e6 < data["totals"]["weight_words"] < 25.6e6
    ops = Counter(entry["op"] for entry in data["not_costed"])
    assert ops["BatchNormalization"] == 53 and ops["Sum"] == 16 and data["totals"]["not_costed"] == sum(ops.values())

    text = ok(run("workload", "show", path)).stdout
    assert f"{resnet50_macs():,}" in text
    assert "ops not costed" in text
    # the not-costed ops are grouped (one row per op and reason), not 361 rows
    assert "BatchNormalization" in text and len(text.splitlines()) < 60
