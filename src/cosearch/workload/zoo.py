"""Built-in networks ("the zoo"), each a :class:`~cosearch.workload.layer.Network` of conv-shaped layers.

Conventions (Timeloop naming, see :mod:`cosearch.dims`):

* ``P``/``Q`` output width/height, ``R``/``S`` filter width/height; ``Wstride`` pairs with ``P``/``R``,
  ``Hstride`` with ``Q``/``S``. Padding is implicit: layers state their output sizes.
* ``C``/``K`` are channels *per group*, ``G`` the number of groups. A depthwise conv over ``c`` channels
  is ``G=c, C=K=1``; multi-head attention matmuls put the heads in ``G``.
* A fully connected layer on a batch is ``N=batch, K=out_features, C=in_features, P=Q=R=S=1``.
  Transformer matmuls put the sequence length (tokens) in ``P`` with ``Q=R=S=1``.
* Pooling, normalisation, activations, softmax and residual additions are not layers (no MACs counted);
  the LLMs and ViTs (:mod:`cosearch.workload.transformer_zoo`) list them in ``Network.ops``.

Every builder takes ``batch`` (``N``) and returns a deduplicated network: identical layer shapes are
merged into one entry (the first occurrence's name) whose ``count`` is the number of occurrences.
Total MACs (``Network.macs``, counting repeats) are stated per builder for the default arguments.
"""

from __future__ import annotations

from typing import Callable

from .layer import Layer, Network, deduplicate
from .transformer_zoo import TRANSFORMER_ZOO

# ---------------------------------------------------------------------------------------------------
# layer helpers


def conv(
    name: str,
    c_in: int,
    c_out: int,
    out_size: int,
    kernel: int,
    stride: int = 1,
    *,
    batch: int = 1,
    groups: int = 1,
) -> Layer:
    """A square conv: ``kernel``×``kernel`` filter, ``out_size``×``out_size`` output (pixels).

    ``c_in``/``c_out`` are *total* channels; with ``groups`` > 1 each group sees ``c_in/groups`` inputs
    and produces ``c_out/groups`` outputs.
    """
    if c_in % groups or c_out % groups:
        raise ValueError(f"{name}: channels {c_in}->{c_out} not divisible by groups={groups}")
    return Layer(
        name=name,
        N=batch,
        G=groups,
        K=c_out // groups,
        C=c_in // groups,
        P=out_size,
        Q=out_size,
        R=kernel,
        S=kernel,
        Wstride=stride,
        Hstride=stride,
    )


def depthwise(name: str, channels: int, out_size: int, kernel: int = 3, stride: int = 1, *, batch: int = 1) -> Layer:
    """A depthwise conv over ``channels`` channels: ``G=channels, C=K=1``."""
    return conv(name, channels, channels, out_size, kernel, stride, batch=batch, groups=channels)


def fc(name: str, in_features: int, out_features: int, *, batch: int = 1) -> Layer:
    """A fully connected layer: ``N=batch, K=out_features, C=in_features``, all else 1."""
    return Layer(name=name, N=batch, K=out_features, C=in_features)


def matmul(name: str, tokens: int, in_features: int, out_features: int, *, batch: int = 1, groups: int = 1) -> Layer:
    """A (batched) matmul ``[tokens × in] · [in × out]`` per group: ``P=tokens, C=in, K=out, G=groups``."""
    return Layer(name=name, N=batch, G=groups, K=out_features, C=in_features, P=tokens)


# ---------------------------------------------------------------------------------------------------
# CNNs


def _resnet_stem(batch: int) -> Layer:
    """7×7/2 conv, 3→64 channels, 224→112 pixels (shared by all torchvision ResNets)."""
    return conv("conv1", 3, 64, 112, 7, 2, batch=batch)


RESNET_STAGES: tuple[tuple[int, int], ...] = ((64, 56), (128, 28), (256, 14), (512, 7))
"""(base width in channels, output size in pixels) of torchvision ResNet stages ``layer1..layer4``."""


def resnet18(batch: int = 1) -> Network:
    """ResNet-18 (torchvision), 224×224 input: 21 layers, 12 unique, 1,814,073,344 MACs at batch 1.

    ``conv1`` (7×7/2, 3→64, out 112); per stage ``layer1..layer4`` (= ``conv2_x..conv5_x`` in the paper)
    two basic blocks of two 3×3 convs; stages 2-4 start with a stride-2 3×3 conv
    (``layerN_conv3x3_s2``) and a 1×1/2 downsample (``layerN_downsample``); ``fc`` 512→1000.
    ``layer1_conv3x3`` is the 3×3 64→64 conv at 56×56 (count 4).
    """
    layers = [_resnet_stem(batch)]
    c_in = 64
    for stage, (width, size) in enumerate(RESNET_STAGES, start=1):
        first_stride = 1 if stage == 1 else 2
        for block in range(2):
            stride = first_stride if block == 0 else 1
            suffix = "_s2" if stride == 2 else ""
            layers.append(conv(f"layer{stage}_conv3x3{suffix}", c_in, width, size, 3, stride, batch=batch))
            layers.append(conv(f"layer{stage}_conv3x3", width, width, size, 3, batch=batch))
            if block == 0 and stride == 2:
                layers.append(conv(f"layer{stage}_downsample", c_in, width, size, 1, 2, batch=batch))
            c_in = width
    layers.append(fc("fc", 512, 1000, batch=batch))
    return deduplicate("resnet18", layers, "ResNet-18 (torchvision), 224x224, convs + fc")


def resnet50(batch: int = 1) -> Network:
    """ResNet-50 v1.5 (torchvision: stride in the bottleneck's 3×3), 224×224: 4,089,184,256 MACs at batch 1.

    54 layers (``conv1``, 16 bottlenecks of 1×1 reduce / 3×3 / 1×1 expand, 4 downsamples, ``fc``
    2048→1000), 24 unique. In each stage the first block differs (``_first`` reduce on the wider input,
    ``_s2`` strided 3×3 in stages 2-4) and the ``downsample`` 1×1 conv carries the stride. ``layer1``'s
    downsample (1×1 64→256 at 56, stride 1) has the shape of ``layer1_expand`` and merges into it (count 4).
    """
    layers = [_resnet_stem(batch)]
    c_in, in_size = 64, 56
    for stage, ((width, size), blocks) in enumerate(zip(RESNET_STAGES, (3, 4, 6, 3)), start=1):
        for block in range(blocks):
            stride = 2 if (block == 0 and stage > 1) else 1
            first = "_first" if block == 0 else ""
            suffix = "_s2" if stride == 2 else ""
            layers.append(conv(f"layer{stage}_reduce{first}", c_in, width, in_size, 1, batch=batch))
            layers.append(conv(f"layer{stage}_conv3x3{suffix}", width, width, size, 3, stride, batch=batch))
            layers.append(conv(f"layer{stage}_expand", width, 4 * width, size, 1, batch=batch))
            if block == 0:
                layers.append(conv(f"layer{stage}_downsample", c_in, 4 * width, size, 1, stride, batch=batch))
            c_in, in_size = 4 * width, size
    layers.append(fc("fc", 2048, 1000, batch=batch))
    return deduplicate("resnet50", layers, "ResNet-50 v1.5 (torchvision), 224x224, convs + fc")


VGG16_STAGES: tuple[tuple[int, int, int], ...] = ((64, 2, 224), (128, 2, 112), (256, 3, 56), (512, 3, 28), (512, 3, 14))
"""(channels, number of 3×3 convs, output size in pixels) per VGG-16 stage (max-pool between stages)."""


def vgg16(batch: int = 1) -> Network:
    """VGG-16 (configuration D), 224×224: 13 3×3 convs + 3 fc = 15,470,264,320 MACs at batch 1.

    Convs ``conv1_1..conv5_3`` (names as in the paper), then ``fc6`` 25088→4096, ``fc7`` 4096→4096,
    ``fc8`` 4096→1000. 16 layers, 12 unique (``conv3_3``, ``conv4_3``, ``conv5_2/3`` repeat a shape).
    """
    layers: list[Layer] = []
    c_in = 3
    for stage, (width, n_convs, size) in enumerate(VGG16_STAGES, start=1):
        for i in range(1, n_convs + 1):
            layers.append(conv(f"conv{stage}_{i}", c_in, width, size, 3, batch=batch))
            c_in = width
    layers.append(fc("fc6", 512 * 7 * 7, 4096, batch=batch))
    layers.append(fc("fc7", 4096, 4096, batch=batch))
    layers.append(fc("fc8", 4096, 1000, batch=batch))
    return deduplicate("vgg16", layers, "VGG-16, 224x224, 13 convs + 3 fc")


MOBILENET_V2_SETTINGS: tuple[tuple[int, int, int, int], ...] = (
    (1, 16, 1, 1),
    (6, 24, 2, 2),
    (6, 32, 3, 2),
    (6, 64, 4, 2),
    (6, 96, 3, 1),
    (6, 160, 3, 2),
    (6, 320, 1, 1),
)
"""Inverted-residual settings (expansion t, output channels c, repeats n, first stride s), torchvision."""


def _inverted_residual(
    index: int, c_in: int, c_out: int, expansion: int, in_size: int, stride: int, batch: int
) -> list[Layer]:
    """Layers of MobileNetV2 block ``features[index]``: [1×1 expand], 3×3 depthwise, 1×1 project."""
    hidden = c_in * expansion
    out_size = in_size // stride
    layers = []
    if expansion != 1:
        layers.append(conv(f"block{index}_expand", c_in, hidden, in_size, 1, batch=batch))
    layers.append(depthwise(f"block{index}_dw", hidden, out_size, 3, stride, batch=batch))
    layers.append(conv(f"block{index}_project", hidden, c_out, out_size, 1, batch=batch))
    return layers


def mobilenet_v2(batch: int = 1) -> Network:
    """MobileNetV2 (torchvision, width 1.0), 224×224: 300,774,272 MACs at batch 1 (torchvision: 0.30 G).

    ``conv_stem`` 3×3/2 3→32 (out 112); 17 inverted-residual blocks ``block1..block17`` (torchvision
    ``features[1..17]``), each ``_expand`` (1×1, absent in block1), ``_dw`` (3×3 depthwise, ``G`` =
    channels, ``C=K=1``) and ``_project`` (1×1); ``conv_head`` 1×1 320→1280 at 7×7; ``fc`` 1280→1000.
    53 layers, 31 unique: identical shapes merge under the first occurrence's name (e.g. ``block8_expand``
    count 4 covers blocks 8-11; ``block4_expand`` has the shape of ``block3_expand`` and merges into it).
    """
    layers = [conv("conv_stem", 3, 32, 112, 3, 2, batch=batch)]
    c_in, size, index = 32, 112, 1
    for expansion, c_out, repeats, first_stride in MOBILENET_V2_SETTINGS:
        for i in range(repeats):
            stride = first_stride if i == 0 else 1
            layers += _inverted_residual(index, c_in, c_out, expansion, size, stride, batch)
            c_in, size, index = c_out, size // stride, index + 1
    layers.append(conv("conv_head", 320, 1280, 7, 1, batch=batch))
    layers.append(fc("fc", 1280, 1000, batch=batch))
    return deduplicate("mobilenet_v2", layers, "MobileNetV2 1.0 (torchvision), 224x224, convs + fc")


DQN_ACTIONS = 18
"""Output size of the DQN head: the full Atari action set (18 actions)."""


def dqn(batch: int = 1, actions: int = DQN_ACTIONS) -> Network:
    """Nature DQN (Mnih et al. 2015) on 84×84×4 frames: 9,352,192 MACs at batch 1 with 18 actions.

    ``conv1`` 8×8/4 4→32 (out 20×20), ``conv2`` 4×4/2 32→64 (out 9×9), ``conv3`` 3×3/1 64→64 (out 7×7),
    ``fc`` 3136→512, ``fc_out`` 512→``actions`` (Q-values; 18 = full Atari action set).
    """
    layers = [
        conv("conv1", 4, 32, 20, 8, 4, batch=batch),
        conv("conv2", 32, 64, 9, 4, 2, batch=batch),
        conv("conv3", 64, 64, 7, 3, 1, batch=batch),
        fc("fc", 64 * 7 * 7, 512, batch=batch),
        fc("fc_out", 512, actions, batch=batch),
    ]
    return deduplicate("dqn", layers, f"Nature DQN, 84x84x4 input, {actions} actions")


# ---------------------------------------------------------------------------------------------------
# MLP and transformers


def mlp(batch: int = 16, sizes: tuple[int, ...] = (784, 1024, 1024, 1024, 10)) -> Network:
    """A multi-layer perceptron on a batch (default 16): 784→1024→1024→1024→10, 46,563,328 MACs.

    Layers ``fc1..fc4`` (``N=batch, K=out, C=in``); ``fc2`` and ``fc3`` share the shape
    ``N16 K1024 C1024`` (the reference layer ``mlp_b16_1024``) and merge into ``fc2`` with count 2.
    """
    layers = [fc(f"fc{i}", c_in, c_out, batch=batch) for i, (c_in, c_out) in enumerate(zip(sizes, sizes[1:]), start=1)]
    dims = "-".join(str(s) for s in sizes)
    return deduplicate("mlp", layers, f"MLP {dims}, batch {batch}")


def encoder_block_layers(d_model: int, heads: int, d_ff: int, tokens: int, batch: int = 1) -> list[Layer]:
    """The matmuls of one transformer encoder block (not deduplicated), tokens in ``P``.

    Q, K, V and output projections (``K=C=d_model``), attention scores ``QKᵀ`` (``G=heads``, per head
    ``K=tokens`` keys, ``C=d_model/heads``, ``P=tokens`` queries), attention-weighted values ``AV``
    (``G=heads``, ``K=d_model/heads``, ``C=tokens``), FFN ``d_model→d_ff→d_model``.
    The four projections share one shape and are all named ``qkv_out_proj``. The two attention
    products put the batch in ``G`` too (``G=batch·heads``, ``N=1``): each sequence attends to its own
    keys and values, which are the products' Weights, so they are not shared across the batch.
    """
    if d_model % heads:
        raise ValueError(f"d_model={d_model} not divisible by heads={heads}")
    head_dim = d_model // heads
    proj = matmul("qkv_out_proj", tokens, d_model, d_model, batch=batch)
    return [
        proj,  # Q
        proj,  # K
        proj,  # V
        matmul("attn_scores", tokens, head_dim, tokens, groups=batch * heads),
        matmul("attn_values", tokens, tokens, head_dim, groups=batch * heads),
        proj,  # output projection
        matmul("ffn1", tokens, d_model, d_ff, batch=batch),
        matmul("ffn2", tokens, d_ff, d_model, batch=batch),
    ]


def transformer(batch: int = 1, tokens: int = 128) -> Network:
    """One transformer encoder block, d_model 512, 8 heads, d_ff 2048, 128 tokens: 419,430,400 MACs.

    Unique layers: ``qkv_out_proj`` (``K=C=512, P=128``, count 4: Q, K, V and output projection),
    ``attn_scores`` (``G=8, K=128, C=64, P=128``), ``attn_values`` (``G=8, K=64, C=128, P=128``),
    ``ffn1`` (``K=2048, C=512``), ``ffn2`` (``K=512, C=2048``).
    """
    layers = encoder_block_layers(512, 8, 2048, tokens, batch)
    return deduplicate("transformer", layers, f"transformer encoder block 512/8 heads/2048, {tokens} tokens")


def bert_base(batch: int = 1, tokens: int = 128) -> Network:
    """One BERT-base encoder block, d_model 768, 12 heads, d_ff 3072, 128 tokens: 931,135,488 MACs.

    Same structure as :func:`transformer`: ``qkv_out_proj`` (``K=C=768, P=128``, count 4; reference
    ``bert_qkv_768``), ``attn_scores`` (``G=12, K=128, C=64``), ``attn_values`` (``G=12, K=64, C=128``),
    ``ffn1`` (``K=3072, C=768``; ``bert_ffn1_768_3072``), ``ffn2`` (``K=768, C=3072``; ``bert_ffn2_3072_768``).
    """
    layers = encoder_block_layers(768, 12, 3072, tokens, batch)
    return deduplicate("bert-base", layers, f"BERT-base encoder block 768/12 heads/3072, {tokens} tokens")


# ---------------------------------------------------------------------------------------------------
# registry

ZOO: dict[str, Callable[..., Network]] = {
    "resnet18": resnet18,
    "resnet50": resnet50,
    "vgg16": vgg16,
    "mobilenet_v2": mobilenet_v2,
    "dqn": dqn,
    "mlp": mlp,
    "transformer": transformer,
    "bert-base": bert_base,
    "bert_base": bert_base,
    **TRANSFORMER_ZOO,
}
"""Zoo name -> builder (called with optional ``batch``). Includes aliases; see :func:`zoo_names`.
The LLMs (``gpt2``, ``gpt2-medium``, ``llama2-7b``, ``llama3-8b``, ``mistral-7b``) and ViTs (``vit-b16``,
``vit-l16``) are built in :mod:`cosearch.workload.transformer_zoo`."""

ALIASES: dict[str, str] = {"bert_base": "bert-base"}
"""Alternative spellings registered in :data:`ZOO` -> canonical name."""


def zoo_names() -> list[str]:
    """Canonical zoo network names (aliases excluded), in registry order."""
    return [name for name in ZOO if name not in ALIASES]


def _normalize(name: str) -> str:
    return name.strip().lower().replace("-", "_")


def find_zoo_builder(name: str) -> Callable[..., Network] | None:
    """The builder registered under ``name`` (case-insensitive, ``-`` and ``_`` interchangeable) or None."""
    if name in ZOO:
        return ZOO[name]
    wanted = _normalize(name)
    for key, builder in ZOO.items():
        if _normalize(key) == wanted:
            return builder
    return None
