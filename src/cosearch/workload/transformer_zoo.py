"""The zoo's transformers of today: LLM decoders in their prefill and decode phases, and vision transformers.

Layer layout (Timeloop naming, as in :mod:`cosearch.workload.zoo`):

* A linear layer (projection, MLP matrix, LM head) on ``batch`` sequences of ``q`` new tokens is
  ``N=batch, P=q, C=in, K=out`` (prefill: ``q`` = prompt length ``seq``; decode: ``q = 1``). Its
  weights are the layer's ``Weights`` data space, shared by every token.
* Attention is two batched matmuls per sequence and **KV head**, with grouped-query sharing expressed
  exactly: ``G = batch × kv_heads``, and the ``heads / kv_heads`` query heads of a group are folded
  into the token dimension, ``P = (heads / kv_heads) × q``. Scores ``Q·Kᵀ``: ``C = head_dim``,
  ``K = T`` keys; values ``A·V``: ``C = T``, ``K = head_dim``. The keys (values) are the layer's
  ``Weights``, indexed by ``G`` but not by ``P``: each KV head's keys and values are read once per
  group, not once per query head; the batch is in ``G`` because every sequence has its own cache.
  With ``kv_heads = heads`` (multi-head attention) this is ``G = batch × heads, P = q``, what a traced
  PyTorch ``[b, h, q, d] @ [b, h, d, T]`` gives.
* ``T``, the keys attended: prefill ``T = seq`` (the full causal score matrix, as a dense kernel
  computes it, masked afterwards); decode ``T = kv_len + 1`` (the ``kv_len`` cached tokens and the new
  one), capped by a sliding window where the model has one.
* Per block: ``q_proj``/``k_proj``/``v_proj`` (or GPT-2's fused ``qkv_proj``), ``attn_scores``,
  ``attn_values``, ``o_proj``; the MLP is ``gate_proj``, ``up_proj``, ``down_proj`` (gated, SwiGLU:
  three matrices) or ``fc_in``, ``fc_out``. Identical shapes merge under the first name (``o_proj``
  into ``q_proj``, ``up_proj`` into ``gate_proj``), so a block of L layers is mapped once per unique
  shape and counted L times. ``lm_head`` (optional) projects every new token to the vocabulary.
* Embedding tables are counted as weight words (:attr:`ElementOp.weight_words`, for parameter counts)
  but not as MACs: a lookup multiplies nothing. A tied LM head (GPT-2) reuses the token table.

Everything else is listed as :class:`~cosearch.workload.layer.ElementOp` (``Network.ops``): norms,
rotary embedding, softmax, activations, residual adds, embedding lookups, each with its element count
and the DRAM words it moves if it reads every input once and writes its output once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from ..errors import CosearchError
from .layer import ElementOp, Layer, Network, Phase, deduplicate

PHASES: tuple[str, ...] = ("prefill", "decode", "both")
"""Values of ``phase``: ``both`` is one prefill of ``seq`` tokens followed by one decode step."""
DEFAULT_SEQ = 128
"""Default prompt length (tokens) of the LLM zoo entries."""


@dataclass(frozen=True)
class DecoderConfig:
    """The shape of a decoder-only LLM (sizes in elements, counts in layers/heads/tokens).

    ``gated_mlp``: SwiGLU MLP of three matrices (LLaMA, Mistral) rather than two (GPT-2).
    ``fused_qkv``: one ``d_model → (heads + 2·kv_heads)·head_dim`` projection (GPT-2's ``c_attn``).
    ``tied_lm_head``: the LM head shares the token-embedding table. ``positions``: rows of a learned
    position-embedding table (GPT-2: 1,024), 0 for rotary embeddings. ``window``: sliding-window
    attention span in tokens (``None``: full attention).
    """

    layers: int
    d_model: int
    heads: int
    kv_heads: int
    ffn: int
    vocab: int
    gated_mlp: bool = True
    fused_qkv: bool = False
    tied_lm_head: bool = False
    positions: int = 0
    norm: str = "rmsnorm"
    activation: str = "silu"
    window: int | None = None

    @property
    def head_dim(self) -> int:
        return self.d_model // self.heads

    def check(self, source: str) -> DecoderConfig:
        """This config, or a one-line :class:`CosearchError` prefixed by ``source`` if it is inconsistent."""
        for key in ("layers", "d_model", "heads", "kv_heads", "ffn", "vocab"):
            value = getattr(self, key)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise CosearchError(f"{source}: {key} must be a positive integer, got {value!r}")
        if self.d_model % self.heads:
            raise CosearchError(f"{source}: heads={self.heads} does not divide d_model={self.d_model}")
        if self.heads % self.kv_heads:
            raise CosearchError(f"{source}: kv_heads={self.kv_heads} does not divide heads={self.heads}")
        return self


DECODERS: dict[str, DecoderConfig] = {
    # GPT-2 (Radford et al. 2019; Hugging Face "gpt2", "gpt2-medium"): 124M and 355M parameters
    "gpt2": DecoderConfig(12, 768, 12, 12, 3072, 50257, gated_mlp=False, fused_qkv=True, tied_lm_head=True,
                          positions=1024, norm="layernorm", activation="gelu"),
    "gpt2-medium": DecoderConfig(24, 1024, 16, 16, 4096, 50257, gated_mlp=False, fused_qkv=True,
                                 tied_lm_head=True, positions=1024, norm="layernorm", activation="gelu"),
    # LLaMA-2-7B (Touvron et al. 2023): 6.74B parameters, multi-head attention
    "llama2-7b": DecoderConfig(32, 4096, 32, 32, 11008, 32000),
    # LLaMA-3-8B (Meta 2024): 8.03B, grouped-query attention with 8 KV heads, 128,256-token vocabulary
    "llama3-8b": DecoderConfig(32, 4096, 32, 8, 14336, 128256),
    # Mistral-7B v0.1 (Jiang et al. 2023): 7.24B, GQA with 8 KV heads, 4,096-token sliding window
    "mistral-7b": DecoderConfig(32, 4096, 32, 8, 14336, 32000, window=4096),
}
"""The LLM zoo entries' shapes, from their papers and public Hugging Face configs."""

GENERIC_DECODER = "decoder"
"""Zoo name of the decoder given by its sizes (``decoder:layers=..,d_model=..,...``)."""


# ---------------------------------------------------------------------------------------------------
# one block


def _linear(name: str, tokens: int, c_in: int, c_out: int, batch: int, count: int) -> Layer:
    return Layer(name=name, N=batch, P=tokens, C=c_in, K=c_out, count=count)


def attention_layers(heads: int, kv_heads: int, head_dim: int, q_tokens: int, keys: int, batch: int,
                     count: int = 1) -> list[Layer]:
    """``attn_scores`` (``Q·Kᵀ``) and ``attn_values`` (``A·V``) of ``batch`` sequences in the grouped
    layout of the module docstring: ``G = batch·kv_heads``, ``P = (heads/kv_heads)·q_tokens``, ``keys``
    = T. MACs: ``batch · heads · q_tokens · head_dim · keys`` each."""
    group = heads // kv_heads
    return [
        Layer(name="attn_scores", G=batch * kv_heads, P=group * q_tokens, C=head_dim, K=keys, count=count),
        Layer(name="attn_values", G=batch * kv_heads, P=group * q_tokens, C=keys, K=head_dim, count=count),
    ]


def _op(name: str, op: str, elements: int, inputs: int, count: int, weight_words: int = 0) -> ElementOp:
    """An op computing ``elements`` outputs from ``inputs`` input words: DRAM words = inputs + outputs."""
    return ElementOp(name=name, op=op, elements=elements, dram_words=inputs + elements, count=count,
                     weight_words=weight_words)


def _block(cfg: DecoderConfig, q_tokens: int, keys: int, batch: int) -> tuple[list[Layer], list[ElementOp]]:
    """One decoder block's layers and ops, each with ``count = cfg.layers``."""
    d, hd, n = cfg.d_model, cfg.head_dim, cfg.layers
    kv_dim = cfg.kv_heads * hd
    tokens = batch * q_tokens
    if cfg.fused_qkv:
        layers = [_linear("qkv_proj", q_tokens, d, d + 2 * kv_dim, batch, n)]
    else:
        layers = [_linear("q_proj", q_tokens, d, d, batch, n), _linear("k_proj", q_tokens, d, kv_dim, batch, n),
                  _linear("v_proj", q_tokens, d, kv_dim, batch, n)]
    layers += attention_layers(cfg.heads, cfg.kv_heads, hd, q_tokens, keys, batch, n)
    layers.append(_linear("o_proj", q_tokens, d, d, batch, n))
    if cfg.gated_mlp:
        layers += [_linear("gate_proj", q_tokens, d, cfg.ffn, batch, n),
                   _linear("up_proj", q_tokens, d, cfg.ffn, batch, n),
                   _linear("down_proj", q_tokens, cfg.ffn, d, batch, n)]
    else:
        layers += [_linear("fc_in", q_tokens, d, cfg.ffn, batch, n), _linear("fc_out", q_tokens, cfg.ffn, d, batch, n)]
    scores = batch * cfg.heads * q_tokens * keys
    ops = [_op("attn_norm", cfg.norm, tokens * d, tokens * d, n)]
    if not cfg.positions:
        rotated = tokens * (cfg.heads + cfg.kv_heads) * hd
        ops.append(_op("rotary", "rotary", rotated, rotated, n))
    ops += [_op("softmax", "softmax", scores, scores, n),
            _op("attn_residual", "add", tokens * d, 2 * tokens * d, n),
            _op("mlp_norm", cfg.norm, tokens * d, tokens * d, n)]
    if cfg.gated_mlp:  # silu(gate) * up: two inputs, one output
        ops.append(_op("mlp_act", f"{cfg.activation}_mul", tokens * cfg.ffn, 2 * tokens * cfg.ffn, n))
    else:
        ops.append(_op("mlp_act", cfg.activation, tokens * cfg.ffn, tokens * cfg.ffn, n))
    ops.append(_op("mlp_residual", "add", tokens * d, 2 * tokens * d, n))
    return layers, ops


def _phase_network(cfg: DecoderConfig, phase: str, seq: int, batch: int, kv_len: int,
                   lm_head: bool) -> tuple[list[Layer], list[ElementOp], int]:
    """(layers, ops, tokens) of one phase, layers deduplicated by shape."""
    q_tokens = seq if phase == "prefill" else 1
    keys = seq if phase == "prefill" else kv_len + 1
    if cfg.window is not None and phase == "decode":
        keys = min(keys, cfg.window)
    layers, ops = _block(cfg, q_tokens, keys, batch)
    tokens = batch * q_tokens
    d = cfg.d_model
    ops.insert(0, _op("embed_tokens", "embedding", tokens * d, tokens + tokens * d, 1, cfg.vocab * d))
    if cfg.positions:
        ops.insert(1, _op("embed_positions", "embedding", tokens * d, tokens * d, 1, cfg.positions * d))
        ops.insert(2, _op("embed_add", "add", tokens * d, 2 * tokens * d, 1))
    ops.append(_op("final_norm", cfg.norm, tokens * d, tokens * d, 1))
    if lm_head:
        layers.append(_linear("lm_head", q_tokens, d, cfg.vocab, batch, 1))
    return deduplicate("phase", layers).layers, ops, tokens


def decoder_network(cfg: DecoderConfig, name: str, *, phase: str = "prefill", seq: int = DEFAULT_SEQ,
                    batch: int = 1, kv_len: int | None = None, lm_head: bool = True) -> Network:
    """A decoder-only LLM of shape ``cfg`` as a network with its ops and phases.

    ``phase``: ``prefill`` (``batch`` prompts of ``seq`` tokens), ``decode`` (one new token per sequence,
    ``kv_len`` tokens cached; default ``seq``) or ``both`` (prefill then one decode step; layer and op
    names prefixed ``prefill.`` / ``decode.``). ``lm_head``: include the vocabulary projection.
    """
    cfg.check(name)
    if phase not in PHASES:
        raise CosearchError(f"{name}: phase must be one of {', '.join(PHASES)}, got {phase!r}")
    kv = seq if kv_len is None else kv_len
    layers: list[Layer] = []
    ops: list[ElementOp] = []
    phases: list[Phase] = []
    for one in (("prefill", "decode") if phase == "both" else (phase,)):
        p_layers, p_ops, tokens = _phase_network(cfg, one, seq, batch, kv, lm_head)
        prefix = f"{one}." if phase == "both" else ""
        p_layers = [layer.model_copy(update={"name": prefix + layer.name}) for layer in p_layers]
        layers += p_layers
        ops += [op.model_copy(update={"name": prefix + op.name, "phase": one}) for op in p_ops]
        phases.append(Phase(name=one, tokens=tokens, layers=[layer.name for layer in p_layers]))
    head = "LM head" + (" (tied)" if cfg.tied_lm_head else "") if lm_head else "no LM head"
    description = (f"decoder {cfg.layers} layers, d_model {cfg.d_model}, {cfg.heads} heads / {cfg.kv_heads} KV heads, "
                   f"ffn {cfg.ffn}{' gated' if cfg.gated_mlp else ''}, vocab {cfg.vocab}, {head}"
                   f"{f', window {cfg.window}' if cfg.window else ''}; phase {phase}, "
                   f"seq {seq}, batch {batch}" + (f", kv_len {kv}" if phase != "prefill" else ""))
    return Network(name=name, layers=layers, description=description, ops=ops, phases=phases)


# ---------------------------------------------------------------------------------------------------
# vision transformers


@dataclass(frozen=True)
class VitConfig:
    """A ViT (Dosovitskiy et al. 2021) on square images: ``image`` pixels, ``patch`` pixels per side."""

    layers: int
    d_model: int
    heads: int
    ffn: int
    image: int = 224
    patch: int = 16
    classes: int = 1000


VITS: dict[str, VitConfig] = {
    "vit-b16": VitConfig(12, 768, 12, 3072),  # ViT-Base/16: 86.6M parameters, 17.6 GMACs at 224²
    "vit-l16": VitConfig(24, 1024, 16, 4096),  # ViT-Large/16: 304M parameters, 61.6 GMACs at 224²
}


def vit_network(cfg: VitConfig, name: str, batch: int = 1) -> Network:
    """A ViT at ``cfg.image``² pixels: ``patch_embed`` (a ``patch``×``patch``/``patch`` conv, 3 →
    ``d_model`` channels), ``layers`` encoder blocks over ``(image/patch)² + 1`` tokens (the class
    token included; fused ``qkv_proj``, ``attn_scores``/``attn_values`` in the layout of the module
    docstring, ``out_proj``, ``fc1``, ``fc2``) and the classifier ``head`` on the class token."""
    grid = cfg.image // cfg.patch
    tokens = grid * grid + 1
    d, n = cfg.d_model, cfg.layers
    layers = [Layer(name="patch_embed", N=batch, K=d, C=3, P=grid, Q=grid, R=cfg.patch, S=cfg.patch,
                    Wstride=cfg.patch, Hstride=cfg.patch),
              _linear("qkv_proj", tokens, d, 3 * d, batch, n)]
    layers += attention_layers(cfg.heads, cfg.heads, d // cfg.heads, tokens, tokens, batch, n)
    layers += [_linear("out_proj", tokens, d, d, batch, n), _linear("fc1", tokens, d, cfg.ffn, batch, n),
               _linear("fc2", tokens, cfg.ffn, d, batch, n), Layer(name="head", N=batch, C=d, K=cfg.classes)]
    act = batch * tokens * d
    scores = batch * cfg.heads * tokens * tokens
    embed_in = batch * (tokens - 1) * d + tokens * d + d  # patch outputs, position table, class token
    ops = [_op("embed_add", "add", act, embed_in, 1, tokens * d + d),
           _op("attn_norm", "layernorm", act, act, n), _op("softmax", "softmax", scores, scores, n),
           _op("attn_residual", "add", act, 2 * act, n), _op("mlp_norm", "layernorm", act, act, n),
           _op("mlp_act", "gelu", batch * tokens * cfg.ffn, batch * tokens * cfg.ffn, n),
           _op("mlp_residual", "add", act, 2 * act, n), _op("final_norm", "layernorm", act, act, 1)]
    net = deduplicate(name, layers, f"ViT {n} layers, d_model {d}, {cfg.heads} heads, ffn {cfg.ffn}, "
                                    f"{cfg.image}x{cfg.image} image, {cfg.patch}x{cfg.patch} patches, {tokens} tokens")
    return net.model_copy(update={"ops": ops})


# ---------------------------------------------------------------------------------------------------
# zoo builders


def _decoder_builder(name: str) -> Callable[..., Network]:
    def build(batch: int = 1, **params: object) -> Network:
        return decoder_network(DECODERS[name], name, batch=batch, **params)  # type: ignore[arg-type]

    build.__doc__ = f"{name}: {DECODERS[name]} (see :func:`decoder_network` for the parameters)."
    return build


def _vit_builder(name: str) -> Callable[..., Network]:
    def build(batch: int = 1) -> Network:
        return vit_network(VITS[name], name, batch)

    build.__doc__ = f"{name}: {VITS[name]} at 224x224."
    return build


TRANSFORMER_ZOO: dict[str, Callable[..., Network]] = {
    **{name: _decoder_builder(name) for name in DECODERS},
    **{name: _vit_builder(name) for name in VITS},
}
"""Zoo name -> builder of the networks of this module (merged into :data:`cosearch.workload.zoo.ZOO`)."""


def generic_decoder(sizes: dict[str, int], source: str) -> DecoderConfig:
    """The :class:`DecoderConfig` of ``decoder:layers=..,d_model=..,heads=..,kv_heads=..,ffn=..,vocab=..``
    (LLaMA-style: gated MLP, rotary, RMSNorm, untied LM head); ``kv_heads`` defaults to ``heads``."""
    missing = [key for key in ("layers", "d_model", "heads", "ffn", "vocab") if key not in sizes]
    if missing:
        raise CosearchError(f"{source}: missing {', '.join(missing)} (give layers, d_model, heads, ffn, vocab)")
    cfg = DecoderConfig(**{**sizes, "kv_heads": sizes.get("kv_heads", sizes["heads"])})
    return cfg.check(source)
