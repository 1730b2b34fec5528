"""Workload zoo, workload files and inline shapes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import REPO
from cosearch.errors import CosearchError
from cosearch.workload import ZOO, Layer, Network, load_workload, parse_shape, save_workload, zoo_names

EXAMPLES = REPO / "examples" / "workloads"

EXPECTED_MACS = {
    "resnet18": 1_814_073_344,
    "resnet50": 4_089_184_256,
    "vgg16": 15_470_264_320,
    "mobilenet_v2": 300_774_272,
    "dqn": 9_352_192,
    "mlp": 46_563_328,
    "transformer": 419_430_400,
    "bert-base": 931_135_488,
    # 128 tokens, batch 1, LM head on every token (formulas: tests/workload/test_transformer_zoo.py)
    "gpt2": 16_114_089_984,
    "gpt2-medium": 46_047_297_536,
    "llama2-7b": 850_000_871_424,
    "llama3-8b": 964_891_246_592,
    "mistral-7b": 914_425_380_864,
    "vit-b16": 17_563_828_224,
    "vit-l16": 61_554_712_576,
}


def shape(layer: Layer) -> dict[str, int]:
    """All integer shape fields of a layer (name and count excluded)."""
    return layer.model_dump(exclude={"name", "count"})


def full(**dims: int) -> dict[str, int]:
    """A complete shape dict with unspecified fields at 1."""
    return shape(Layer(**dims))


def find_shape(net: Network, **dims: int) -> Layer:
    """The unique layer of ``net`` with exactly this shape."""
    matches = [layer for layer in net if shape(layer) == full(**dims)]
    assert len(matches) == 1, f"{net.name}: {len(matches)} layers with shape {dims}"
    return matches[0]


def write(tmp_path: Path, text: str, name: str = "net.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


# --------------------------------------------------------------------------------------------- zoo


def test_zoo_names_are_canonical_and_buildable() -> None:
    assert zoo_names() == list(EXPECTED_MACS)
    assert "bert_base" in ZOO and "bert_base" not in zoo_names()


@pytest.mark.parametrize("name", list(EXPECTED_MACS))
def test_zoo_total_macs(name: str) -> None:
    net = ZOO[name]()
    assert net.macs == EXPECTED_MACS[name]
    assert sum(layer.macs * layer.count for layer in net) == net.macs


@pytest.mark.parametrize("name", list(EXPECTED_MACS))
def test_zoo_layers_are_unique_and_named(name: str) -> None:
    net = ZOO[name]()
    keys = [layer.shape_key() for layer in net]
    names = [layer.name for layer in net]
    assert len(set(keys)) == len(keys), "identical shapes must be merged"
    assert len(set(names)) == len(names), "layer names must be unique"


@pytest.mark.parametrize("name", ["resnet18", "resnet50", "vgg16", "mobilenet_v2", "dqn", "transformer"])
def test_zoo_batch_scales_macs(name: str) -> None:
    assert ZOO[name](batch=4).macs == 4 * ZOO[name]().macs
    attention = {"attn_scores", "attn_values"}
    assert all(layer.N == 4 for layer in ZOO[name](batch=4) if layer.name not in attention)


@pytest.mark.parametrize("name", ["transformer", "bert-base"])
def test_encoder_attention_keys_are_per_sequence(name: str) -> None:
    """QKᵀ and AV hold each sequence's own keys/values as Weights: batch b has b times the weight words."""
    one, four = ZOO[name](), ZOO[name](batch=4)
    for product in ("attn_scores", "attn_values"):
        a, b = one.layer(product), four.layer(product)
        assert b.N == 1 and b.G == 4 * a.G
        assert b.weight_words == 4 * a.weight_words and b.macs == 4 * a.macs


def test_resnet18_dedup_counts() -> None:
    net = ZOO["resnet18"]()
    assert net.num_layers == 21
    assert len(net) == 12
    counts = {layer.name: layer.count for layer in net}
    assert counts["conv1"] == 1 and counts["fc"] == 1
    assert counts["layer1_conv3x3"] == 4
    for stage in (2, 3, 4):
        assert counts[f"layer{stage}_conv3x3"] == 3
        assert counts[f"layer{stage}_conv3x3_s2"] == 1
        assert counts[f"layer{stage}_downsample"] == 1


def test_resnet18_reference_shapes() -> None:
    net = ZOO["resnet18"]()
    assert shape(net.layer("conv1")) == full(K=64, C=3, P=112, Q=112, R=7, S=7, Wstride=2, Hstride=2)
    assert shape(net.layer("layer1_conv3x3")) == full(K=64, C=64, P=56, Q=56, R=3, S=3)
    assert shape(net.layer("layer3_conv3x3_s2")) == full(K=256, C=128, P=14, Q=14, R=3, S=3, Wstride=2, Hstride=2)
    assert shape(net.layer("layer3_downsample")) == full(K=256, C=128, P=14, Q=14, Wstride=2, Hstride=2)
    assert shape(net.layer("fc")) == full(K=1000, C=512)


def test_resnet50_structure() -> None:
    net = ZOO["resnet50"]()
    assert net.num_layers == 1 + 16 * 3 + 4 + 1
    # v1.5: the stride sits in the 3x3 conv; the first 1x1 of the block runs at the input resolution
    assert shape(net.layer("layer2_reduce_first")) == full(K=128, C=256, P=56, Q=56)
    assert shape(net.layer("layer2_conv3x3_s2")) == full(K=128, C=128, P=28, Q=28, R=3, S=3, Wstride=2, Hstride=2)
    assert net.layer("layer3_conv3x3").count == 5
    assert shape(net.layer("fc")) == full(K=1000, C=2048)


def test_vgg16_structure() -> None:
    net = ZOO["vgg16"]()
    assert net.num_layers == 16
    assert sum(layer.count for layer in net if layer.R == 3) == 13
    assert shape(net.layer("fc6")) == full(K=4096, C=25088)


def test_mobilenet_v2_depthwise_and_ends() -> None:
    net = ZOO["mobilenet_v2"]()
    assert shape(net.layer("conv_stem")) == full(K=32, C=3, P=112, Q=112, R=3, S=3, Wstride=2, Hstride=2)
    depthwise = [layer for layer in net if layer.G > 1]
    assert depthwise and all(layer.C == 1 and layer.K == 1 and layer.R == layer.S == 3 for layer in depthwise)
    assert sum(layer.count for layer in depthwise) == 17
    assert shape(net.layer("conv_head")) == full(K=1280, C=320, P=7, Q=7)
    assert shape(net.layer("fc")) == full(K=1000, C=1280)


def test_dqn_reference_shapes() -> None:
    net = ZOO["dqn"]()
    assert [layer.name for layer in net] == ["conv1", "conv2", "conv3", "fc", "fc_out"]
    assert shape(net.layer("conv1")) == full(K=32, C=4, P=20, Q=20, R=8, S=8, Wstride=4, Hstride=4)
    assert shape(net.layer("conv2")) == full(K=64, C=32, P=9, Q=9, R=4, S=4, Wstride=2, Hstride=2)
    assert shape(net.layer("conv3")) == full(K=64, C=64, P=7, Q=7, R=3, S=3)
    assert shape(net.layer("fc")) == full(K=512, C=3136)
    assert shape(net.layer("fc_out")) == full(K=18, C=512)
    # conv3's output (64 x 7 x 7) feeds fc
    conv3 = net.layer("conv3")
    assert conv3.K * conv3.P * conv3.Q == net.layer("fc").C


def test_mlp_contains_reference_layer() -> None:
    net = ZOO["mlp"]()
    assert find_shape(net, N=16, K=1024, C=1024).count == 2
    assert all(layer.N == 16 for layer in net)
    assert net.num_layers == 4


@pytest.mark.parametrize(
    ("name", "d_model", "heads", "d_ff"), [("transformer", 512, 8, 2048), ("bert-base", 768, 12, 3072)]
)
def test_transformer_block_shapes(name: str, d_model: int, heads: int, d_ff: int) -> None:
    net = ZOO[name]()
    head = d_model // heads
    assert net.num_layers == 8
    # Q, K, V and output projections share one shape
    assert find_shape(net, K=d_model, C=d_model, P=128).count == 4
    assert find_shape(net, G=heads, K=128, C=head, P=128).name == "attn_scores"
    assert find_shape(net, G=heads, K=head, C=128, P=128).name == "attn_values"
    assert find_shape(net, K=d_ff, C=d_model, P=128).name == "ffn1"
    assert find_shape(net, K=d_model, C=d_ff, P=128).name == "ffn2"
    assert all(layer.Q == layer.R == layer.S == 1 for layer in net)


def test_bert_aliases() -> None:
    assert load_workload("bert_base").macs == load_workload("bert-base").macs == EXPECTED_MACS["bert-base"]
    assert load_workload("BERT-Base").name == "bert-base"


# --------------------------------------------------------------------------------------------- files


def test_load_zoo_by_name() -> None:
    net = load_workload("resnet18")
    assert net.name == "resnet18" and net.macs == EXPECTED_MACS["resnet18"]


def test_examples_load() -> None:
    tiny = load_workload(EXAMPLES / "tiny_net.yaml")
    assert tiny.name == "tiny-net"
    assert [layer.name for layer in tiny] == ["conv1", "conv2", "fc"]
    assert shape(tiny.layer("conv2")) == full(K=32, C=16, P=16, Q=16, Wstride=2, Hstride=2)
    single = load_workload(str(EXAMPLES / "single_layer.yaml"))
    assert len(single) == 1
    assert shape(single.layers[0]) == full(K=64, C=64, P=56, Q=56, R=3, S=3)


def test_file_format_defaults_and_dedup(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
name: my-net
layers:
  - {name: conv1, K: 64, C: 3, P: 112, Q: 112, R: 7, S: 7, Wstride: 2, Hstride: 2}
  - {name: fc, K: 1000, C: 512, count: 2}
  - {name: fc_again, K: 1000, C: 512}
  - {K: 10}
""",
    )
    net = load_workload(path)
    assert net.name == "my-net"
    assert [layer.name for layer in net] == ["conv1", "fc", "layer3"]
    assert net.layer("fc").count == 3
    assert shape(net.layer("fc")) == full(K=1000, C=512)
    assert net.macs == 64 * 3 * 112 * 112 * 49 + 3 * 512_000 + 10


@pytest.mark.parametrize("suffix", [".yaml", ".json"])
def test_round_trip(tmp_path: Path, suffix: str) -> None:
    for name in ("resnet50", "mobilenet_v2", "transformer"):
        original = ZOO[name]()
        path = save_workload(original, tmp_path / f"{name}{suffix}")
        loaded = load_workload(path)
        assert loaded == original


def test_json_workload(tmp_path: Path) -> None:
    path = write(tmp_path, json.dumps({"layers": [{"name": "mm", "K": 8, "C": 4, "P": 2}]}), "w.json")
    net = load_workload(path)
    assert net.name == "w" and net.macs == 64


def test_single_layer_forms(tmp_path: Path) -> None:
    top = load_workload(write(tmp_path, "{K: 64, C: 32, P: 7, Q: 7}", "top.yaml"))
    assert top.name == "top" and shape(top.layers[0]) == full(K=64, C=32, P=7, Q=7)
    reference = {
        "id": "A|dqn_conv2|x|T1",
        "arch": {"name": "A"},
        "mapping": {},
        "layer": {"name": "dqn_conv2", "N": 1, "K": 64, "C": 32, "P": 9, "Q": 9, "R": 4, "S": 4,
                  "Hstride": 2, "Wstride": 2, "Hdilation": 1, "Wdilation": 1},
    }
    record = load_workload(write(tmp_path, json.dumps(reference), "record.json"))
    assert record.layers[0].name == "dqn_conv2"
    assert shape(record.layers[0]) == shape(ZOO["dqn"]().layer("conv2"))
    layer_object = load_workload(reference["layer"])
    assert layer_object.layers[0] == record.layers[0]


def test_top_level_list(tmp_path: Path) -> None:
    net = load_workload(write(tmp_path, "- {K: 2}\n- {K: 3}\n", "list.yaml"))
    assert net.name == "list" and net.macs == 5


def test_network_passthrough() -> None:
    net = ZOO["dqn"]()
    assert load_workload(net) is net


# --------------------------------------------------------------------------------------------- parse_shape


def test_parse_shape() -> None:
    layer = parse_shape("N=1 K=64 C=64 P=56 Q=56 R=3 S=3 Wstride=1 Hstride=1")
    assert shape(layer) == full(K=64, C=64, P=56, Q=56, R=3, S=3)
    assert shape(parse_shape("K=8, C=4, Wstride=2")) == full(K=8, C=4, Wstride=2)
    assert parse_shape("G=8 K=128 C=64 P=128", name="scores").name == "scores"


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("K=0", "K: must be >= 1, got 0"),
        ("K=64 C=-2", "C: must be >= 1, got -2"),
        ("K=1.5", "K: must be an integer, got '1.5'"),
        ("K=abc", "K: must be an integer"),
        ("K=64 X=2", "unknown field 'X'"),
        ("k=64", "unknown field 'k'"),
        ("K64", "'K64' is not KEY=VALUE"),
        ("K=1 K=2", "K given twice"),
        ("   ", "empty shape"),
    ],
)
def test_parse_shape_errors(text: str, fragment: str) -> None:
    with pytest.raises(CosearchError) as info:
        parse_shape(text)
    message = str(info.value)
    assert fragment in message
    assert message.startswith("shape ")
    assert "\n" not in message


# --------------------------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("layers:\n  - {K: 1}\n  - {K: 2}\n  - {K: 0}\n", "net.yaml: layers[2].K: must be >= 1, got 0"),
        ("layers:\n  - {K: 64, C: -1}\n", "net.yaml: layers[0].C: must be >= 1, got -1"),
        ("layers:\n  - {K: 2.5}\n", "net.yaml: layers[0].K: must be an integer, got 2.5"),
        ("layers:\n  - {K: '64'}\n", "net.yaml: layers[0].K: must be an integer, got '64'"),
        ("layers:\n  - {K: 4, Kk: 4}\n", "net.yaml: layers[0]: unknown field 'Kk'"),
        ("layers:\n  - {K: 4, name: ''}\n", "net.yaml: layers[0].name: must be a non-empty string"),
        ("layers:\n  - 7\n", "net.yaml: layers[0]: expected a mapping of layer fields, got int 7"),
        ("name: x\nlayer_list: []\n", "net.yaml: unknown field 'layer_list'"),
        ("layers: {K: 4}\n", "net.yaml: layers: expected a list of layers"),
        ("layers: []\n", "net.yaml: layers: no layers given"),
        ("", "net.yaml: expected a mapping with 'layers'"),
        ("just text\n", "net.yaml: expected a mapping with 'layers'"),
        ("{K: 0}\n", "net.yaml: K: must be >= 1, got 0"),
        ("layer: {K: 4, stride: 2}\n", "net.yaml: layer: unknown field 'stride'"),
        ("title: nothing\n", "net.yaml: unknown field 'title' (expected 'layers' (a network), 'layer' or"),
        ("name: x\n", "net.yaml: no layers given"),
        ("layers:\n  - {K: 4\n  - {K: 5}\n", "net.yaml: malformed YAML at line"),
    ],
)
def test_bad_files(tmp_path: Path, text: str, fragment: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(CosearchError) as info:
        load_workload(path)
    message = str(info.value)
    assert fragment in message
    assert str(path) in message
    assert "\n" not in message


def test_malformed_yaml_reports_line(tmp_path: Path) -> None:
    path = write(tmp_path, "name: x\nlayers:\n  - {K: 4\n  - {K: 5}\n")
    with pytest.raises(CosearchError, match=r"net\.yaml: malformed YAML at line \d+"):
        load_workload(path)


def test_malformed_json(tmp_path: Path) -> None:
    path = write(tmp_path, '{"layers": [', "bad.json")
    with pytest.raises(CosearchError, match=r"bad\.json: malformed JSON at line 1"):
        load_workload(path)


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "absent.yaml"
    with pytest.raises(CosearchError, match="absent.yaml: file not found"):
        load_workload(path)


def test_unknown_zoo_name_lists_known_names() -> None:
    with pytest.raises(CosearchError) as info:
        load_workload("resnet19")
    message = str(info.value)
    assert "unknown workload 'resnet19'" in message
    assert all(name in message for name in zoo_names())
    assert "did you mean 'resnet18'" in message


def test_corrupt_onnx_file_is_a_user_error(tmp_path: Path) -> None:
    path = write(tmp_path, "not really onnx", "model.onnx")
    with pytest.raises(CosearchError, match="model.onnx: truncated or corrupt ONNX file"):
        load_workload(path)


def test_errors_are_value_errors_without_chained_traceback(tmp_path: Path) -> None:
    path = write(tmp_path, "layers:\n  - {K: 0}\n")
    with pytest.raises(ValueError) as info:
        load_workload(path)
    assert info.value.__cause__ is None
    assert info.value.__context__ is None or info.value.__suppress_context__
