"""Import a Hugging Face ``transformers`` model from its config, never downloading anything.

``hf:NAME`` names a config shipped with cosearch (``src/cosearch/workload/hf_configs/NAME.json``: the
public ``config.json`` of ``gpt2``, ``llama3-8b``); ``hf:path/config.json`` reads a file. A suffix
``:seq=S,batch=B`` sets the traced input (``batch`` sequences of ``seq`` tokens, default 1 × 128).

The model is built from the config with random weights **on the meta device** (no memory, no
weights: LLaMA-3-8B costs nothing), with the eager attention implementation (plain ``torch.matmul``,
so the score and value products are visible), and run once on meta ``input_ids`` by the PyTorch
importer's eager trace (:func:`~cosearch.workload.importers.torch.torch_layers`). Costed: ``nn.Linear``,
Hugging Face's ``Conv1D`` (GPT-2's projections, ``x @ W`` with ``W = [in, out]``) and the attention
matmuls; the computing element ops (norms, softmax, activations, residual adds, embedding lookups,
rotary arithmetic) are listed in ``Network.ops`` with element counts and DRAM words (tensor arguments
read once, output written once; unfused: a GELU written as five arithmetic calls is five ops). The
network has one ``prefill`` phase of ``batch × seq`` tokens.

Hugging Face puts the batch and the heads of attention in leading dims (``[b, h, q, d] @ [b, h, d,
T]``: ``G = b·h``), so a multi-head model's layers equal the zoo's (:mod:`..transformer_zoo`); with
grouped-query attention transformers repeats each KV head for its query heads before the matmul
(``G = b·heads``), which is what it computes, not the zoo's grouped layout (same MACs).

Refused with a one-line :class:`CosearchError`: a config needing remote code (``auto_map``), a model
type transformers does not know, a config that does not build, a model that does not take
``input_ids``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from ...errors import CosearchError
from ..layer import Layer, Network, Phase

CONFIG_DIR = Path(__file__).resolve().parent.parent / "hf_configs"
"""The shipped configs: ``NAME.json`` for ``hf:NAME``."""
DEFAULT_SEQ = 128
"""Tokens per traced sequence unless ``:seq=`` is given."""
OFFLINE_ENV = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "HF_HUB_DISABLE_TELEMETRY": "1"}
"""Environment set (unless already set) before transformers is imported: it never goes online."""


def shipped_configs() -> list[str]:
    """Names of the configs shipped with cosearch (``hf:NAME``)."""
    return sorted(p.stem for p in CONFIG_DIR.glob("*.json"))


def _split(spec: str) -> tuple[str, dict[str, int]]:
    """``"gpt2:seq=64,batch=2"`` -> ``("gpt2", {"seq": 64, "batch": 2})``."""
    source, sep, rest = spec.rpartition(":")
    if not sep or "=" not in rest:
        return spec, {}
    values: dict[str, int] = {}
    for word in rest.split(","):
        key, eq, value = (part.strip() for part in word.partition("="))
        if key not in ("seq", "batch"):
            raise CosearchError(f"hf:{spec}: unknown parameter {key!r} (allowed: seq, batch)")
        try:
            number = int(value) if eq else 0
        except ValueError:
            number = 0
        if number < 1:
            raise CosearchError(f"hf:{spec}: {key} must be a positive integer, got {value!r}")
        values[key] = number
    return source, values


def read_config(source: str) -> tuple[dict[str, Any], str]:
    """The config mapping of a shipped name or a ``config.json`` path, and its label for messages."""
    path = Path(source)
    if not path.suffix and (CONFIG_DIR / f"{source}.json").is_file():
        path = CONFIG_DIR / f"{source}.json"
    elif not path.is_file():
        raise CosearchError(f"hf:{source}: no such config file and no shipped config of that name "
                            f"(shipped: {', '.join(shipped_configs())})")
    try:
        data = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError) as exc:
        raise CosearchError(f"{path}: cannot read ({exc})") from None
    except json.JSONDecodeError as exc:
        raise CosearchError(f"{path}: not JSON ({exc.msg} at line {exc.lineno})") from None
    if not isinstance(data, dict):
        raise CosearchError(f"{path}: expected a config mapping, got {type(data).__name__}")
    return data, str(path)


def _transformers() -> Any:
    for key, value in OFFLINE_ENV.items():
        os.environ.setdefault(key, value)
    try:
        import transformers
    except ImportError:  # pragma: no cover - a dependency
        raise CosearchError("Hugging Face import needs the 'transformers' package: pip install transformers") from None
    transformers.logging.set_verbosity_error()
    return transformers


def build_config(data: dict[str, Any], where: str) -> Any:
    """The transformers config object of ``data``; one-line errors for remote code or unknown types."""
    if data.get("auto_map") or data.get("trust_remote_code"):
        raise CosearchError(f"{where}: the config needs remote code (auto_map); cosearch never runs downloaded code")
    model_type = data.get("model_type")
    if not isinstance(model_type, str) or not model_type:
        raise CosearchError(f"{where}: model_type: missing (a transformers config names its model type)")
    transformers = _transformers()
    from transformers.models.auto.configuration_auto import CONFIG_MAPPING

    if model_type not in CONFIG_MAPPING:
        raise CosearchError(f"{where}: model_type: unknown model type {model_type!r} for transformers "
                            f"{transformers.__version__}")
    fields = {k: v for k, v in data.items() if k not in ("model_type", "transformers_version")}
    try:
        return transformers.AutoConfig.for_model(model_type, **fields)
    except (TypeError, ValueError, KeyError) as exc:
        raise CosearchError(f"{where}: not a valid {model_type} config ({type(exc).__name__}: {exc})") from None


def _conv1d_rule(module: Any, name: str, args: Any) -> Layer | None:
    """Hugging Face ``Conv1D`` (``x @ W + b``, ``W = [in, out]``) as the linear layer it is."""
    from transformers.pytorch_utils import Conv1D

    from .onnx import matmul_layer

    if not isinstance(module, Conv1D) or not args:
        return None
    shape = [int(d) for d in args[0].shape]
    layer = matmul_layer(name, shape, [int(d) for d in module.weight.shape])
    return layer if isinstance(layer, Layer) else None


def _build_model(config: Any, where: str) -> Any:
    transformers = _transformers()
    import torch

    try:
        config._attn_implementation = "eager"  # plain matmuls for the scores and values
    except (AttributeError, ValueError):  # pragma: no cover - every config has it
        pass
    errors = []
    for auto in (transformers.AutoModelForCausalLM, transformers.AutoModel):
        try:
            with torch.device("meta"):
                return auto.from_config(config, attn_implementation="eager")
        except (ValueError, KeyError, TypeError) as exc:
            errors.append(f"{type(exc).__name__}: {exc}")
    raise CosearchError(f"{where}: transformers cannot build this model ({errors[-1].splitlines()[0]})")


def load_hf(spec: str) -> tuple[Network, list[dict[str, str]]]:
    """The network of ``hf:SPEC`` (``SPEC`` = shipped name or config path, optionally ``:seq=..,batch=..``)
    and the ops not costed; see the module docstring."""
    from .torch import torch_layers

    source, values = _split(spec)
    data, where = read_config(source)
    config = build_config(data, where)
    model = _build_model(config, where)
    import torch

    seq, batch = values.get("seq", DEFAULT_SEQ), values.get("batch", 1)
    limit = getattr(config, "max_position_embeddings", None) or getattr(config, "n_positions", None)
    if isinstance(limit, int) and seq > limit:
        raise CosearchError(f"hf:{spec}: seq={seq} exceeds the model's {limit} positions")
    ids = torch.zeros((batch, seq), dtype=torch.long, device="meta")
    name = f"hf:{spec}"
    try:
        network, not_costed = torch_layers(model, (ids,), name=name, eager=True, module_rule=_conv1d_rule)
    except CosearchError:
        raise
    except Exception as exc:  # noqa: BLE001 - the model's forward on meta input_ids
        raise CosearchError(f"{where}: running the model on input_ids failed ({type(exc).__name__}: {exc})") from None
    phase = Phase(name="prefill", tokens=batch * seq, layers=[layer.name for layer in network.layers])
    ops = [op.model_copy(update={"phase": "prefill"}) for op in network.ops or []]
    description = (f"Hugging Face {data['model_type']} from {Path(where).name} (random weights on the meta device, "
                   f"eager trace), {batch} x {seq} tokens; {len(not_costed)} ops not costed")
    return network.model_copy(update={"description": description, "ops": ops, "phases": [phase]}), not_costed
