"""Hugging Face import (``hf:``): built on the meta device from shipped or local configs, never
downloaded; GPT-2 equals the zoo entry layer for layer; bad configs are one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cosearch.errors import CosearchError
from cosearch.workload.importers.hf import load_hf, shipped_configs
from cosearch.workload.io import load_workload

pytest.importorskip("transformers")

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "hf" / "tiny_llama.json"


def shapes(net) -> list[tuple]:
    return [(layer.shape_key(), layer.count) for layer in net]


def test_shipped_configs() -> None:
    assert {"gpt2", "llama3-8b"} <= set(shipped_configs())


@pytest.mark.parametrize("params", ["", ":seq=64,batch=2"])
def test_gpt2_equals_the_zoo_entry_layer_for_layer(params: str) -> None:
    imported = load_workload(f"hf:gpt2{params}")
    zoo = load_workload(f"gpt2{params}")
    assert shapes(imported) == shapes(zoo)
    assert imported.macs == zoo.macs
    assert imported.phases[0].name == "prefill" and imported.phases[0].tokens == zoo.phases[0].tokens


def test_gpt2_element_ops_are_listed_with_sizes() -> None:
    net, not_costed = load_hf("gpt2:seq=32")
    ops = {op.op: op for op in net.ops}
    assert ops["softmax"].count == 12 and ops["softmax"].elements == 12 * 32 * 32
    assert ops["softmax"].dram_words == 2 * 12 * 32 * 32  # read the scores once, write once
    assert ops["layer_norm"].count == 25  # two per block and the final one
    assert ops["layer_norm"].elements == 32 * 768
    assert not_costed  # reshapes, dropout, ... stay listed as not costed


def test_the_example_config_matches_the_generic_decoder() -> None:
    """A tiny LLaMA (GQA 8 query heads / 2 KV heads): the same linear layers as the zoo's decoder of
    its sizes; transformers repeats the KV heads, so attention has the heads in G, with the same MACs."""
    imported = load_workload(f"hf:{EXAMPLE}:seq=16")
    cfg = json.loads(EXAMPLE.read_text())
    zoo = load_workload(f"decoder:layers={cfg['num_hidden_layers']},d_model={cfg['hidden_size']},"
                        f"heads={cfg['num_attention_heads']},kv_heads={cfg['num_key_value_heads']},"
                        f"ffn={cfg['intermediate_size']},vocab={cfg['vocab_size']},seq=16")
    attention = {"attn_scores", "attn_values"}
    linear = [(l.shape_key(), l.count) for l in zoo if l.name not in attention]
    imported_linear = [(l.shape_key(), l.count) for l in imported if l.G == 1]
    assert imported_linear == linear
    assert sum(l.macs * l.count for l in imported if l.G > 1) == sum(l.macs * l.count for l in zoo if l.name in attention)
    scores = next(l for l in imported if l.G > 1)
    assert scores.G == cfg["num_attention_heads"]  # one matmul per query head, as transformers computes it
    assert {"softmax", "silu", "rsqrt"} <= {op.op for op in imported.ops}


def test_large_models_build_on_the_meta_device() -> None:
    net = load_workload("hf:llama3-8b:seq=8")
    assert net.macs == load_workload("llama3-8b:seq=8").macs


def write(tmp_path: Path, data: dict) -> Path:
    path = tmp_path / "config.json"
    path.write_text(json.dumps(data))
    return path


@pytest.mark.parametrize("data, needle", [
    ({"model_type": "llama", "auto_map": {"AutoModel": "x.Model"}}, "needs remote code"),
    ({"model_type": "not-a-model"}, "unknown model type 'not-a-model'"),
    ({"hidden_size": 8}, "model_type: missing"),
])
def test_bad_configs_are_one_line_errors(tmp_path: Path, data: dict, needle: str) -> None:
    with pytest.raises(CosearchError) as info:
        load_workload(f"hf:{write(tmp_path, data)}")
    assert needle in str(info.value) and "\n" not in str(info.value)


@pytest.mark.parametrize("spec, needle", [
    ("no-such-model", "no such config file"),
    ("gpt2:seq=0", "seq must be a positive integer"),
    ("gpt2:depth=3", "unknown parameter 'depth'"),
    ("gpt2:seq=4096", "exceeds the model's 1024 positions"),
])
def test_bad_specs_are_one_line_errors(spec: str, needle: str) -> None:
    with pytest.raises(CosearchError) as info:
        load_workload(f"hf:{spec}")
    assert needle in str(info.value) and "\n" not in str(info.value)


def test_not_json_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_text("{not json")
    with pytest.raises(CosearchError, match="not JSON"):
        load_workload(f"hf:{path}")
