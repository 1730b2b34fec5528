"""Loading workloads: zoo names, cosearch workload YAML/JSON files, reference records and inline shapes.

Workload file format
====================

A workload file is YAML (``.yaml``/``.yml``, or any other suffix) or JSON (``.json``) describing a
network as a list of conv-shaped layers in Timeloop's naming::

    name: my-net                 # optional; defaults to the file name without suffix
    description: two layers      # optional free text
    layers:
      - {name: conv1, K: 64, C: 3, P: 112, Q: 112, R: 7, S: 7, Wstride: 2, Hstride: 2}
      - {name: fc, K: 1000, C: 512, count: 1}

Layer fields (all optional; every dimension defaults to 1):

=============  ==========================================================================
``name``       layer name (default ``layer<i>``, ``i`` = 0-based position in ``layers``)
``N``          batch size
``G``          groups (depthwise conv: ``G`` = channels with ``C=K=1``; attention: heads)
``K``          output channels per group
``C``          input channels per group
``P``, ``Q``   output width, output height (pixels; tokens of a matmul go in ``P``)
``R``, ``S``   filter width, filter height
``Wstride``    horizontal stride (pairs with ``P``/``R``); ``Hstride``: vertical (``Q``/``S``)
``Wdilation``  horizontal dilation; ``Hdilation``: vertical
``count``      how many times the layer occurs in the network
=============  ==========================================================================

Values are positive integers. Padding is implicit: give output sizes; the input size is
``W = (P-1)·Wstride + (R-1)·Wdilation + 1`` (likewise ``H`` from ``Q``, ``Hstride``, ``S``, ``Hdilation``).
A fully connected layer is ``K=out, C=in`` (``N`` = batch); a matmul ``[M×C]·[C×K]`` is ``P=M, C, K``.
Layers of identical shape are merged into one entry (first name kept, counts added).

Also accepted:

* a top-level list of layer mappings (the ``layers`` list alone);
* a single-layer file: a mapping with ``layer: {...}`` (other top-level keys, e.g. a ``shared/reference``
  record's ``arch``/``mapping``, are ignored), or with the layer fields at top level (such as the
  ``layer`` object of a reference record: ``name, N, K, C, P, Q, R, S, Hstride, Wstride, Hdilation,
  Wdilation``).

Inline shapes (:func:`parse_shape`) use the same fields as ``KEY=VALUE`` words, e.g.
``"N=1 K=64 C=64 P=56 Q=56 R=3 S=3 Wstride=1 Hstride=1"``.

Errors raise :class:`~cosearch.errors.CosearchError` with one line naming the file and the field,
e.g. ``net.yaml: layers[2].K: must be >= 1, got 0``.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from .._io import format_validation_error, read_structured_file
from ..dims import DIMS
from ..errors import CosearchError
from ..limits import check_int
from .layer import ElementOp, Layer, Network, Phase, deduplicate
from .zoo import find_zoo_builder, zoo_names

INT_FIELDS: tuple[str, ...] = DIMS + ("Wstride", "Hstride", "Wdilation", "Hdilation", "count")
"""Integer layer fields accepted in files (all >= 1, default 1)."""
LAYER_FIELDS: tuple[str, ...] = ("name",) + INT_FIELDS
SHAPE_FIELDS: tuple[str, ...] = DIMS + ("Wstride", "Hstride", "Wdilation", "Hdilation")
"""Fields accepted by :func:`parse_shape`."""
NETWORK_FIELDS: tuple[str, ...] = ("name", "description", "layers", "ops", "phases")


# ---------------------------------------------------------------------------------------------------
# layers


def _positive_int(value: Any, where: str) -> int:
    """``value`` as an int >= 1, else :class:`CosearchError` naming ``where`` (e.g. ``f.yaml: layers[2].K``)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise CosearchError(f"{where}: must be an integer, got {_short(value)}")
    if value < 1:
        raise CosearchError(f"{where}: must be >= 1, got {value}")
    return check_int(value, f"{where}:", low=1)


def _where(source: str, loc: str, key: str = "") -> str:
    """Message prefix: ``source: loc.key``, e.g. ``net.yaml: layers[2].K`` (``loc`` may be empty)."""
    path = ".".join(part for part in (loc, key) if part)
    return f"{source}: {path}" if path else source


def layer_from_mapping(entry: Any, source: str, loc: str = "", default_name: str = "layer") -> Layer:
    """Validate one layer mapping (fields of :data:`LAYER_FIELDS`) into a :class:`Layer`.

    ``source`` (file name) and ``loc`` (position in the file, e.g. ``layers[2]``; empty for a
    top-level layer) locate the entry in error messages.
    """
    if not isinstance(entry, Mapping):
        raise CosearchError(f"{_where(source, loc)}: expected a mapping of layer fields, got {_describe(entry)}")
    unknown = [str(key) for key in entry if key not in LAYER_FIELDS]
    if unknown:
        allowed = ", ".join(LAYER_FIELDS)
        raise CosearchError(f"{_where(source, loc)}: unknown field {unknown[0]!r} (allowed: {allowed})")
    fields = {key: _positive_int(entry[key], _where(source, loc, key)) for key in INT_FIELDS if key in entry}
    name = _name(entry.get("name", default_name), _where(source, loc, "name"))
    try:
        return Layer(name=name, **fields)
    except ValidationError as err:
        raise CosearchError(format_validation_error(err, _where(source, loc))) from None


def _name(value: Any, where: str) -> str:
    """A non-empty name (numbers are accepted and converted, as YAML reads ``name: 1`` as an int)."""
    if isinstance(value, bool) or not isinstance(value, (str, int)) or not str(value).strip():
        raise CosearchError(f"{where}: must be a non-empty string, got {_short(value)}")
    return str(value)


def parse_shape(text: str, name: str = "layer") -> Layer:
    """Parse an inline shape such as ``"N=1 K=64 C=64 P=56 Q=56 R=3 S=3 Wstride=1 Hstride=1"``.

    Words are ``KEY=VALUE`` separated by spaces or commas; keys are :data:`SHAPE_FIELDS`, values
    positive integers; missing fields default to 1. Raises :class:`CosearchError` on an unknown or
    repeated key, a malformed word, a non-integer or a value below 1.
    """
    source = f"shape {text.strip()!r}"
    words = text.replace(",", " ").split()
    if not words:
        raise CosearchError(f"{source}: empty shape; expected KEY=VALUE words such as 'K=64 C=64 P=56'")
    fields: dict[str, int] = {}
    for word in words:
        key, sep, value = word.partition("=")
        if not sep or not key:
            raise CosearchError(f"{source}: {word!r} is not KEY=VALUE")
        if key not in SHAPE_FIELDS:
            raise CosearchError(f"{source}: unknown field {key!r} (allowed: {', '.join(SHAPE_FIELDS)})")
        if key in fields:
            raise CosearchError(f"{source}: field {key} given twice")
        fields[key] = _positive_int(_to_int(value), f"{source}: {key}")
    layer_name = _name(name, f"{source}: name")
    try:
        return Layer(name=layer_name, **fields)
    except ValidationError as err:
        raise CosearchError(format_validation_error(err, source)) from None


def _to_int(text: str) -> int | str:
    """``text`` as an int if it is a (signed) decimal integer, else unchanged (reported by the caller)."""
    try:
        return int(text)
    except ValueError:
        return text


# ---------------------------------------------------------------------------------------------------
# networks


def network_from_data(data: Any, source: str, default_name: str = "workload") -> Network:
    """Build a deduplicated :class:`Network` from parsed YAML/JSON (see the module docstring for forms).

    ``source`` prefixes every error message (normally the file name).
    """
    if isinstance(data, list):
        return _network_from_layers(data, source, default_name, "", loc="")
    if not isinstance(data, Mapping):
        raise CosearchError(f"{source}: expected a mapping with 'layers' (or one layer), got {_describe(data)}")
    if "layers" in data:
        return _network_from_mapping(data, source, default_name)
    if "layer" in data:
        layer = layer_from_mapping(data["layer"], source, "layer", default_name)
        return deduplicate(layer.name, [layer])
    if not any(key in INT_FIELDS for key in data):
        raise CosearchError(f"{source}: {_no_layers_problem(data)}")
    layer = layer_from_mapping(data, source, "", default_name)
    return deduplicate(layer.name, [layer])


def _no_layers_problem(data: Mapping[str, Any]) -> str:
    """Why a mapping without ``layers``, ``layer`` or any dimension is not a workload."""
    expected = "expected 'layers' (a network), 'layer' or layer fields such as K, C"
    unknown = [str(key) for key in data if key not in NETWORK_FIELDS and key not in LAYER_FIELDS]
    if unknown:
        return f"unknown field {unknown[0]!r} ({expected})"
    return f"no layers given ({expected})"


def _network_from_mapping(data: Mapping[str, Any], source: str, default_name: str) -> Network:
    unknown = [str(key) for key in data if key not in NETWORK_FIELDS]
    if unknown:
        raise CosearchError(f"{source}: unknown field {unknown[0]!r} (allowed: {', '.join(NETWORK_FIELDS)})")
    name = _name(data.get("name", default_name), _where(source, "name"))
    description = data.get("description") or ""
    if not isinstance(description, str):
        raise CosearchError(f"{source}: description: must be a string, got {_describe(description)}")
    network = _network_from_layers(data["layers"], source, name, description, loc="layers")
    extra: dict[str, Any] = {}
    for key, model in (("ops", ElementOp), ("phases", Phase)):
        if data.get(key) is None:
            continue
        if not isinstance(data[key], list):
            raise CosearchError(f"{source}: {key}: expected a list, got {_describe(data[key])}")
        try:
            extra[key] = [model.model_validate(entry) for entry in data[key]]
        except ValidationError as err:
            raise CosearchError(format_validation_error(err, _where(source, key))) from None
    names = {layer.name for layer in network.layers}
    for phase in extra.get("phases", ()):
        unknown = [n for n in phase.layers if n not in names]
        if unknown:
            raise CosearchError(f"{source}: phases: phase {phase.name!r} names no layer {unknown[0]!r}")
    return network.model_copy(update=extra) if extra else network


def _network_from_layers(entries: Any, source: str, name: str, description: str, *, loc: str) -> Network:
    """Validate a list of layer mappings (at ``loc`` in ``source``) and deduplicate them."""
    if not isinstance(entries, list):
        raise CosearchError(f"{_where(source, loc)}: expected a list of layers, got {_describe(entries)}")
    if not entries:
        raise CosearchError(f"{_where(source, loc)}: no layers given")
    layers = [layer_from_mapping(entry, source, f"{loc}[{i}]", f"layer{i}") for i, entry in enumerate(entries)]
    return deduplicate(name, layers, description)


def _describe(value: Any) -> str:
    """Short type description for messages (``nothing (empty file)`` for None)."""
    if value is None:
        return "nothing (empty file or value)"
    return f"{type(value).__name__} {_short(value)}" if isinstance(value, (str, int, float)) else type(value).__name__


def _short(value: Any, limit: int = 40) -> str:
    """``repr(value)``, cut to ``limit`` characters for one-line messages."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


# ---------------------------------------------------------------------------------------------------
# files and names


def _load_structured(path: Path) -> Network:
    return network_from_data(read_structured_file(path), str(path), default_name=path.stem)


def _load_onnx(path: Path, input_shapes: Mapping[str, tuple[int, ...]] | None = None) -> Network:
    """An ONNX model's costed layers (see :mod:`cosearch.workload.importers.onnx`; shapes only)."""
    from .importers.onnx import load_onnx

    return load_onnx(path, input_shapes)[0]


def _load_torch_factory(text: str) -> Network | None:
    """``path/model.py:factory`` -> the torch module it builds, imported; None if ``text`` is not that form."""
    from .importers.torch import load_factory, split_factory_spec

    spec = split_factory_spec(text)
    return None if spec is None else load_factory(*spec)[0]


IMPORTERS: dict[str, Callable[[Path], Network]] = {
    ".yaml": _load_structured,
    ".yml": _load_structured,
    ".json": _load_structured,
    ".onnx": _load_onnx,
}
"""File suffix (lower case) -> loader. Files with other suffixes are parsed as YAML."""


def load_workload(
    name_or_path: str | Path | Network | Mapping[str, Any],
    input_shapes: Mapping[str, tuple[int, ...]] | None = None,
) -> Network:
    """Load a workload: a zoo name (see :func:`~cosearch.workload.zoo.zoo_names`), a workload file
    (YAML/JSON, format in the module docstring), an ONNX model (``.onnx``, see docs/import.md), a
    PyTorch factory ``path/model.py:factory`` (returning ``(module, example_inputs)``), or an
    already-parsed mapping. A :class:`Network` is returned unchanged. ``input_shapes`` fixes dynamic
    input dims of an ONNX model (``{"input": (1, 3, 224, 224)}``). Raises :class:`CosearchError`
    with a one-line message on bad input.
    """
    if isinstance(name_or_path, Network):
        return name_or_path
    if isinstance(name_or_path, Mapping):
        return network_from_data(name_or_path, "workload")
    text = str(name_or_path)
    path = Path(text)
    if input_shapes:
        if path.suffix.lower() != ".onnx":
            raise CosearchError(f"{text}: input shapes apply only to ONNX models (.onnx files)")
        return _load_onnx(path, input_shapes)
    if ".py:" in text and not path.exists():
        network = _load_torch_factory(text)
        if network is not None:
            return network
    if not isinstance(name_or_path, Path) and not path.exists():
        if text.startswith(HF_PREFIX):
            from .importers.hf import load_hf

            return load_hf(text[len(HF_PREFIX):])[0]
        network = parametric_workload(text)
        if network is not None:
            return network
    builder = find_zoo_builder(text) if not isinstance(name_or_path, Path) else None
    if builder is not None and not path.is_file():
        return builder()
    if not path.exists() and path.suffix == "":
        known = ", ".join(zoo_names())
        raise CosearchError(f"unknown workload {text!r}{_suggestion(text)}: not a zoo network ({known}) and no such file")
    loader = IMPORTERS.get(path.suffix.lower(), _load_structured)
    return loader(path)


HF_PREFIX = "hf:"
"""``hf:NAME`` (a config shipped with cosearch) or ``hf:path/config.json``: a Hugging Face model."""
LLM_PARAMETERS: tuple[str, ...] = ("phase", "seq", "batch", "kv_len", "lm_head")
"""Parameters of an LLM zoo name (``llama3-8b:phase=decode,kv_len=2048,batch=16``)."""
DECODER_SIZES: tuple[str, ...] = ("layers", "d_model", "heads", "kv_heads", "ffn", "vocab")
"""Sizes of the generic ``decoder:...`` zoo name (all but ``kv_heads`` required)."""


def parametric_workload(text: str) -> Network | None:
    """The zoo network of a parametric name ``BASE:key=value,key=value`` (None if ``BASE`` is no zoo name).

    LLMs (``gpt2``, ``llama3-8b``, ...) take :data:`LLM_PARAMETERS` (``phase=prefill|decode|both``,
    ``seq``, ``batch``, ``kv_len`` positive integers, ``lm_head=true|false``); ``decoder`` takes them
    and :data:`DECODER_SIZES`; every other zoo network takes ``batch``. The network is named ``text``.
    Raises a one-line :class:`CosearchError` for an unknown key or a bad value.
    """
    from .transformer_zoo import DECODERS, GENERIC_DECODER, decoder_network, generic_decoder

    base, sep, rest = text.partition(":")
    if not sep:
        return None
    generic = base.strip().lower() == GENERIC_DECODER
    builder = find_zoo_builder(base) if not generic else None
    if builder is None and not generic:
        return None
    llm = generic or builder in {find_zoo_builder(name) for name in DECODERS}
    allowed = (DECODER_SIZES + LLM_PARAMETERS) if generic else LLM_PARAMETERS if llm else ("batch",)
    source = f"workload {text!r}"
    values: dict[str, Any] = {}
    for word in (w.strip() for w in rest.split(",")):
        key, eq, value = word.partition("=")
        key, value = key.strip(), value.strip()
        if not eq or not key:
            raise CosearchError(f"{source}: {word!r} is not key=value")
        if key not in allowed:
            raise CosearchError(f"{source}: unknown parameter {key!r} (allowed: {', '.join(allowed)})")
        if key in values:
            raise CosearchError(f"{source}: parameter {key} given twice")
        values[key] = _parameter_value(key, value, source)
    if generic:
        sizes = {key: values.pop(key) for key in DECODER_SIZES if key in values}
        return decoder_network(generic_decoder(sizes, source), text, **values)
    return _renamed(builder(**values), text)  # type: ignore[misc]


def split_workload_list(text: str) -> list[str]:
    """``W[,W2,...]`` split at commas, where a ``key=value`` piece after a parametric name continues it:
    ``"dqn,llama3-8b:phase=decode,batch=16"`` -> ``["dqn", "llama3-8b:phase=decode,batch=16"]``."""
    names: list[str] = []
    for piece in (t.strip() for t in text.split(",")):
        key, eq, _ = piece.partition("=")
        if eq and key.isidentifier() and names and ":" in names[-1] and "=" in names[-1]:
            names[-1] += f",{piece}"
        else:
            names.append(piece)
    return names


def _parameter_value(key: str, value: str, source: str) -> Any:
    if key == "phase":
        from .transformer_zoo import PHASES

        if value not in PHASES:
            raise CosearchError(f"{source}: phase must be one of {', '.join(PHASES)}, got {value!r}")
        return value
    if key == "lm_head":
        if value.lower() not in ("true", "false"):
            raise CosearchError(f"{source}: lm_head must be true or false, got {value!r}")
        return value.lower() == "true"
    return _positive_int(_to_int(value), f"{source}: {key}")


def _renamed(network: Network, name: str) -> Network:
    return network.model_copy(update={"name": name})


def _suggestion(text: str) -> str:
    close = difflib.get_close_matches(text.lower(), zoo_names(), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def network_to_data(network: Network) -> dict[str, Any]:
    """The workload-file mapping of ``network`` (fields equal to their default 1 are omitted)."""
    data: dict[str, Any] = {"name": network.name}
    if network.description:
        data["description"] = network.description
    data["layers"] = [_layer_to_data(layer) for layer in network.layers]
    if network.ops is not None:
        data["ops"] = [op.model_dump(exclude_none=True) for op in network.ops]
    if network.phases is not None:
        data["phases"] = [phase.model_dump() for phase in network.phases]
    return data


def _layer_to_data(layer: Layer) -> dict[str, Any]:
    entry: dict[str, Any] = {"name": layer.name}
    entry.update({key: getattr(layer, key) for key in INT_FIELDS if getattr(layer, key) != 1})
    return entry


def save_workload(network: Network, path: str | Path) -> Path:
    """Write ``network`` as a workload file: JSON for a ``.json`` suffix, else YAML with one
    flow-style line per layer. Returns the path."""
    path = Path(path)
    data = network_to_data(network)
    text = json.dumps(data, indent=2) + "\n" if path.suffix.lower() == ".json" else _yaml_text(data)
    try:
        path.write_text(text)
    except OSError as exc:
        raise CosearchError(f"{path}: cannot write ({exc.strerror})") from None
    return path


def _yaml_text(data: dict[str, Any]) -> str:
    """YAML with the header fields in block style and each layer as one flow-style line."""
    header = {key: value for key, value in data.items() if key != "layers"}
    lines = [f"  - {yaml.safe_dump(entry, default_flow_style=True, sort_keys=False, width=1000).strip()}\n"
             for entry in data["layers"]]
    return yaml.safe_dump(header, sort_keys=False) + "layers:\n" + "".join(lines)
