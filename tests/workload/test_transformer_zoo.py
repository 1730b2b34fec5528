"""LLM decoders and ViTs of the zoo: MACs against independent formulas, parameter counts against the
published ones, the grouped-query layout, phases, element ops, parametric names and their errors."""

from __future__ import annotations

import pytest

from cosearch.errors import CosearchError
from cosearch.workload.io import load_workload, save_workload, split_workload_list
from cosearch.workload.transformer_zoo import DECODERS, VITS

ATTENTION = ("attn_scores", "attn_values")

# (layers, d_model, heads, kv_heads, ffn, vocab, gated, fused qkv (irrelevant to MACs), tied) from the papers
SIZES = {
    "gpt2": (12, 768, 12, 12, 3072, 50257, False, True),
    "gpt2-medium": (24, 1024, 16, 16, 4096, 50257, False, True),
    "llama2-7b": (32, 4096, 32, 32, 11008, 32000, True, False),
    "llama3-8b": (32, 4096, 32, 8, 14336, 128256, True, False),
    "mistral-7b": (32, 4096, 32, 8, 14336, 32000, True, False),
}

PUBLISHED_PARAMETERS = {  # Hugging Face model cards / papers
    "gpt2": 124_439_808,
    "gpt2-medium": 354_823_168,
    "llama2-7b": 6_738_415_616,
    "llama3-8b": 8_030_261_248,
    "mistral-7b": 7_241_732_096,
}


def block_linear_weights(name: str) -> int:
    """Σ weights of one block's linear layers (projections + MLP), from the model's sizes."""
    _, d, heads, kv, ffn, _, gated, _ = SIZES[name]
    kv_dim = kv * d // heads
    attention = d * d + 2 * d * kv_dim + d * d  # q, k, v, o
    mlp = (3 if gated else 2) * d * ffn
    return attention + mlp


def base(layer_name: str) -> str:
    return layer_name.split(".")[-1]


@pytest.mark.parametrize("name", list(SIZES))
@pytest.mark.parametrize("batch", [1, 16])
def test_decode_macs_follow_the_formulas(name: str, batch: int) -> None:
    """Decode with T keys: linear layers = batch × Σ linear weights; attention = batch·heads·head_dim·T·2."""
    layers, d, heads, _, _, vocab, _, _ = SIZES[name]
    kv_len = 2048
    net = load_workload(f"{name}:phase=decode,kv_len={kv_len},batch={batch}")
    keys = kv_len + 1  # the cached tokens and the new one
    linear = sum(l.macs * l.count for l in net if base(l.name) not in ATTENTION and base(l.name) != "lm_head")
    attention = sum(l.macs * l.count for l in net if base(l.name) in ATTENTION)
    head = sum(l.macs * l.count for l in net if base(l.name) == "lm_head")
    assert linear == batch * layers * block_linear_weights(name)
    assert attention == layers * batch * heads * (d // heads) * keys * 2
    assert head == batch * d * vocab
    assert net.macs == linear + attention + head


@pytest.mark.parametrize("name", list(SIZES))
def test_prefill_macs_follow_the_formulas(name: str) -> None:
    layers, d, heads, _, _, vocab, _, _ = SIZES[name]
    seq, batch = 256, 2
    net = load_workload(f"{name}:seq={seq},batch={batch}")
    tokens = batch * seq
    expected = (tokens * layers * block_linear_weights(name) + layers * 2 * batch * heads * seq * seq * (d // heads)
                + tokens * d * vocab)
    assert net.macs == expected


def test_sliding_window_caps_the_keys_of_mistral() -> None:
    net = load_workload("mistral-7b:phase=decode,kv_len=8000")
    assert net.layer("attn_scores").K == 4096
    assert load_workload("llama3-8b:phase=decode,kv_len=8000").layer("attn_scores").K == 8001


def test_grouped_query_attention_reads_each_kv_head_once_per_group() -> None:
    """LLaMA-3-8B decode: KV heads (× batch) in G, the 4 query heads of a group in P; the keys are the
    layer's weights: batch × kv_heads × T × head_dim words, not batch × heads × T × head_dim."""
    batch, kv_len = 16, 2048
    scores = load_workload(f"llama3-8b:phase=decode,kv_len={kv_len},batch={batch}").layer("attn_scores")
    assert (scores.N, scores.G, scores.P, scores.C, scores.K) == (1, batch * 8, 4, 128, kv_len + 1)
    assert scores.weight_words == batch * 8 * (kv_len + 1) * 128
    values = load_workload(f"llama3-8b:phase=decode,kv_len={kv_len},batch={batch}").layer("attn_values")
    assert (values.G, values.P, values.C, values.K) == (batch * 8, 4, kv_len + 1, 128)


def test_gated_mlp_has_three_matrices_and_gpt2_two() -> None:
    llama = load_workload("llama3-8b")
    mlp = [l for l in llama if l.C == 14336 or l.K == 14336]
    assert sum(l.count for l in mlp) == 3 * 32  # gate and up merged (same shape), down
    gpt2 = load_workload("gpt2")
    assert sum(l.count for l in gpt2 if l.C == 3072 or l.K == 3072) == 2 * 12


@pytest.mark.parametrize("name", list(PUBLISHED_PARAMETERS))
def test_parameter_counts_match_the_published_ones(name: str) -> None:
    """Linear weights + embedding tables (norm scales and biases left out) within 0.5 %."""
    net = load_workload(name)
    tied = DECODERS[name].tied_lm_head
    linear = sum(l.weight_words * l.count for l in net
                 if base(l.name) not in ATTENTION and not (tied and base(l.name) == "lm_head"))
    embeddings = sum(op.weight_words * op.count for op in net.ops)
    assert embeddings == DECODERS[name].vocab * DECODERS[name].d_model + DECODERS[name].positions * DECODERS[name].d_model
    assert abs(linear + embeddings - PUBLISHED_PARAMETERS[name]) / PUBLISHED_PARAMETERS[name] < 0.005


def test_lm_head_is_optional() -> None:
    with_head = load_workload("llama2-7b:phase=decode")
    without = load_workload("llama2-7b:phase=decode,lm_head=false")
    assert "lm_head" in [l.name for l in with_head] and "lm_head" not in [l.name for l in without]
    assert with_head.macs - without.macs == 4096 * 32000


@pytest.mark.parametrize("name, layers, d, heads, ffn, params, gmacs", [
    ("vit-b16", 12, 768, 12, 3072, 86_567_656, 17.56),
    ("vit-l16", 24, 1024, 16, 4096, 304_326_632, 61.55),
])
def test_vits_at_224(name: str, layers: int, d: int, heads: int, ffn: int, params: int, gmacs: float) -> None:
    net = load_workload(name)
    tokens = 14 * 14 + 1
    expected = (196 * d * 3 * 16 * 16 + layers * (tokens * (4 * d * d + 2 * d * ffn) + 2 * tokens * tokens * d)
                + d * 1000)
    assert net.macs == expected
    assert abs(net.macs / 1e9 - gmacs) < 0.01
    weights = sum(l.weight_words * l.count for l in net if l.name not in ATTENTION)
    weights += sum(op.weight_words * op.count for op in net.ops)
    assert abs(weights - params) / params < 0.005
    assert net.layer("patch_embed").shape_text() == f"K={d} C=3 P=14 Q=14 R=16 S=16 Wstride=16 Hstride=16"
    assert net.phases is None


def test_phase_both_prefixes_and_splits_the_layers() -> None:
    net = load_workload("llama3-8b:phase=both,seq=64,batch=2")
    assert [p.name for p in net.phases] == ["prefill", "decode"]
    assert [p.tokens for p in net.phases] == [128, 2]
    prefill, decode = (load_workload(f"llama3-8b:phase={p},seq=64,batch=2") for p in ("prefill", "decode"))
    assert net.macs == prefill.macs + decode.macs
    assert net.phases[1].layers == [f"decode.{l.name}" for l in decode]
    assert all(net.phase_of(l.name) == l.name.split(".")[0] for l in net)
    assert {op.phase for op in net.ops} == {"prefill", "decode"}


def test_element_ops_count_elements_and_dram_words() -> None:
    """Decode of llama2-7b, batch 1, T keys: softmax over heads × T scores (read and written once),
    a gated activation reading two ffn vectors and writing one, rotary on q and k."""
    kv_len = 100
    net = load_workload(f"llama2-7b:phase=decode,kv_len={kv_len}")
    ops = {op.name: op for op in net.ops}
    assert (ops["softmax"].elements, ops["softmax"].dram_words, ops["softmax"].count) == (32 * 101, 2 * 32 * 101, 32)
    assert (ops["mlp_act"].op, ops["mlp_act"].elements, ops["mlp_act"].dram_words) == ("silu_mul", 11008, 3 * 11008)
    assert ops["rotary"].elements == 2 * 4096
    assert ops["attn_residual"].dram_words == 3 * 4096
    assert ops["attn_norm"].op == "rmsnorm" and load_workload("gpt2").ops[3].op == "layernorm"


def test_existing_zoo_networks_have_no_ops_or_phases() -> None:
    for name in ("resnet18", "transformer", "bert-base", "dqn"):
        net = load_workload(name)
        assert net.ops is None and net.phases is None


def test_generic_decoder_equals_the_preset_of_the_same_sizes() -> None:
    generic = load_workload("decoder:layers=32,d_model=4096,heads=32,kv_heads=8,ffn=14336,vocab=128256,"
                            "phase=decode,kv_len=512")
    preset = load_workload("llama3-8b:phase=decode,kv_len=512")
    assert [(l.shape_key(), l.count) for l in generic] == [(l.shape_key(), l.count) for l in preset]
    assert generic.name.startswith("decoder:")


def test_other_zoo_networks_take_a_batch() -> None:
    assert load_workload("resnet18:batch=4").macs == 4 * load_workload("resnet18").macs


@pytest.mark.parametrize("text, needle", [
    ("llama3-8b:foo=1", "unknown parameter 'foo'"),
    ("llama3-8b:phase=train", "phase must be one of"),
    ("llama3-8b:seq=0", "seq: must be >= 1"),
    ("llama3-8b:seq=x", "seq: must be an integer"),
    ("llama3-8b:lm_head=maybe", "lm_head must be true or false"),
    ("llama3-8b:seq", "is not key=value"),
    ("llama3-8b:seq=4,seq=5", "given twice"),
    ("resnet18:seq=3", "unknown parameter 'seq' (allowed: batch)"),
    ("decoder:layers=2,d_model=100,heads=3,ffn=64,vocab=10", "heads=3 does not divide d_model=100"),
    ("decoder:layers=2,d_model=96,heads=4,kv_heads=3,ffn=64,vocab=10", "kv_heads=3 does not divide heads=4"),
    ("decoder:layers=2,d_model=96", "missing heads, ffn, vocab"),
])
def test_bad_parameters_are_one_line_errors(text: str, needle: str) -> None:
    with pytest.raises(CosearchError) as info:
        load_workload(text)
    message = str(info.value)
    assert needle in message and "\n" not in message


def test_workload_files_keep_ops_and_phases(tmp_path) -> None:
    net = load_workload("decoder:layers=2,d_model=64,heads=4,kv_heads=2,ffn=128,vocab=100,phase=both,seq=8")
    for suffix in ("json", "yaml"):
        again = load_workload(save_workload(net, tmp_path / f"net.{suffix}"))
        assert again.layers == net.layers and again.ops == net.ops and again.phases == net.phases


def test_a_phase_naming_a_missing_layer_is_an_error(tmp_path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("layers:\n  - {name: a, K: 4}\nphases:\n  - {name: decode, tokens: 1, layers: [b]}\n")
    with pytest.raises(CosearchError, match="phase 'decode' names no layer 'b'"):
        load_workload(path)


def test_workload_lists_keep_parametric_names_whole() -> None:
    assert split_workload_list("dqn, llama3-8b:phase=decode,batch=16,kv_len=8,mlp") == \
        ["dqn", "llama3-8b:phase=decode,batch=16,kv_len=8", "mlp"]
    assert split_workload_list("a.yaml,b.yaml") == ["a.yaml", "b.yaml"]


def test_every_new_zoo_entry_is_listed() -> None:
    from cosearch.workload.zoo import zoo_names

    names = zoo_names()
    for name in [*DECODERS, *VITS]:
        assert name in names
