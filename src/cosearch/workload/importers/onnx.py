"""Import an ONNX model as a :class:`~cosearch.workload.layer.Network` of conv-shaped layers.

Only shapes are used (never weights): the model is loaded without external data, shapes are inferred
with ``onnx.shape_inference`` and each Conv / ConvTranspose (stride 1) / Gemm / MatMul node becomes a
layer in Timeloop's naming (see :mod:`cosearch.workload.zoo` for the conventions). Every other node is
returned in the ``not_costed`` list (op type, node name, reason): nothing is dropped silently.

Mapping rules (shared with :mod:`cosearch.workload.importers.torch`):

* Conv ``[N, Cin, H, W] -> [N, Cout, Q, P]``: ``G = group``, ``C = Cin/G``, ``K = Cout/G``, ``P``/``Q``
  output width/height (from the inferred output shape, so padding is accounted for), ``R``/``S`` kernel
  width/height, strides and dilations. 1-D convs put the length in ``P``/``R`` (``Q = S = 1``).
* ConvTranspose with all strides 1 and no output padding is the conv over the padded input
  (same ``P``, ``Q``, ``R``, ``S``); strided ones are not costed (not expressible as one conv nest).
* Gemm / MatMul with a 2-D right operand (a fully connected layer): ``[b, in] @ [in, out]`` is
  ``N = b, C = in, K = out``; ``[b, t, in] @ [in, out]`` is ``N = b, P = t`` (leading dims multiply
  into ``N``).
* Batched MatMul ``[.., m, k] @ [.., k, n]`` (right operand with > 2 dims): ``G`` = product of the
  (broadcast) leading dims, e.g. batch × heads, ``P = m, C = k, K = n``.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ...errors import CosearchError
from ...limits import check_int
from ..layer import Layer, Network, deduplicate

MIN_OPSET = 7
"""Oldest default-domain (``ai.onnx``) opset accepted (Gemm/MatMul broadcasting as today since 7)."""

KNOWN_DOMAINS = ("", "ai.onnx", "ai.onnx.ml", "ai.onnx.training", "ai.onnx.preview.training", "com.microsoft")
"""Operator domains whose nodes are accepted (non-default ones are listed as not costed)."""

Shape = list  # list[int | None]: None for an unknown dimension


# ---------------------------------------------------------------------------------------------------
# shared mapping rules (used by the torch importer too)


def safe_name(text: str, fallback: str) -> str:
    """A layer name usable as a file name: runs of other characters become ``_`` (``/a/b.0/Conv`` ->
    ``a_b.0_Conv``); ``fallback`` if nothing is left."""
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("_.")
    return name or fallback


def _known(shape: Sequence[Any] | None) -> bool:
    return shape is not None and all(isinstance(d, int) and d > 0 for d in shape)


def conv_layer(
    name: str,
    x: Sequence[int] | None,
    kernel: Sequence[int] | None,
    out: Sequence[int] | None,
    strides: Sequence[int] | None,
    dilations: Sequence[int] | None,
    groups: int,
) -> Layer | str:
    """The layer of a 1-D/2-D conv (``x``/``out`` = ``[N, C, (H,) W]``, ``kernel`` = spatial sizes in
    the same order), or a string saying why it cannot be costed."""
    if not (_known(x) and _known(out) and _known(kernel)):
        return "shape unknown after shape inference"
    spatial = len(kernel)
    if spatial not in (1, 2):
        return f"{spatial}-D convolution is not expressible (only 1-D and 2-D)"
    if len(x) != spatial + 2 or len(out) != spatial + 2:
        return f"unexpected ranks (input {len(x)}-D, output {len(out)}-D) for a {spatial}-D conv"
    strides = list(strides or [1] * spatial)
    dilations = list(dilations or [1] * spatial)
    if groups < 1 or x[1] % groups or out[1] % groups:
        return f"channels {x[1]}->{out[1]} not divisible by group={groups}"
    fields = dict(N=x[0], G=groups, C=x[1] // groups, K=out[1] // groups)
    if spatial == 1:
        fields.update(P=out[2], R=kernel[0], Wstride=strides[0], Wdilation=dilations[0])
    else:  # ONNX/torch order [H, W]; P/R/Wstride are the width
        fields.update(Q=out[2], P=out[3], S=kernel[0], R=kernel[1], Hstride=strides[0], Wstride=strides[1],
                      Hdilation=dilations[0], Wdilation=dilations[1])
    return _layer(name, **fields)


def _layer(name: str, **fields: int) -> Layer:
    """``Layer(name=name, **fields)``; a size beyond :mod:`cosearch.limits` is a :class:`CosearchError`
    naming the layer."""
    from pydantic import ValidationError

    from ..._io import format_validation_error

    try:
        return Layer(name=name, **fields)
    except ValidationError as err:
        raise CosearchError(format_validation_error(err, f"layer {name}")) from None


def matmul_layer(name: str, a: Sequence[int] | None, b: Sequence[int] | None) -> Layer | str:
    """The layer of ``a @ b`` (numpy matmul semantics), or a string saying why it cannot be costed.

    A 2-D (or 1-D) ``b`` is a fully connected layer on the rows of ``a`` (``N`` = leading dims of ``a``
    before the row dim, ``P`` = rows; a 2-D ``a`` has its rows in ``N``); a ``b`` with more dims is a
    batched matmul with the broadcast leading dims in ``G``.
    """
    if not (_known(a) and _known(b)):
        return "shape unknown after shape inference"
    a, b = list(a), list(b)
    if not a or not b:
        return "scalar operand"
    a2 = [1] + a if len(a) == 1 else a
    b2 = b + [1] if len(b) == 1 else b
    m, k, k2, n = a2[-2], a2[-1], b2[-2], b2[-1]
    if k != k2:
        return f"inner dims differ ({k} vs {k2})"
    if len(b2) == 2:
        if len(a2) == 2:
            return _layer(name, N=m, C=k, K=n)
        return _layer(name, N=math.prod(a2[:-2]), P=m, C=k, K=n)
    lead_a, lead_b = a2[:-2], b2[:-2]
    width = max(len(lead_a), len(lead_b))
    lead_a = [1] * (width - len(lead_a)) + lead_a
    lead_b = [1] * (width - len(lead_b)) + lead_b
    lead = []
    for da, db in zip(lead_a, lead_b):
        if da != db and 1 not in (da, db):
            return f"leading dims {a[:-2]} and {b[:-2]} do not broadcast"
        lead.append(max(da, db))
    return _layer(name, G=math.prod(lead), P=m, C=k, K=n)


def no_costed_error(source: str, not_costed: list[dict[str, str]]) -> CosearchError:
    ops = Counter(entry["op"] for entry in not_costed)
    listed = ", ".join(f"{op} x{n}" for op, n in ops.most_common(8)) or "none"
    unknown = [e for e in not_costed if e["reason"].startswith(("shape unknown", "weight shape unknown"))]
    hint = f"; {unknown[0]['op']} {unknown[0]['name']!r}: {unknown[0]['reason']}" if unknown else ""
    return CosearchError(f"{source}: no conv, gemm or matmul op to cost (ops: {listed}){hint}")


# ---------------------------------------------------------------------------------------------------
# ONNX


def _onnx():
    try:
        import onnx
    except ImportError:  # pragma: no cover - onnx is a dependency
        raise CosearchError("ONNX import needs the 'onnx' package: pip install onnx") from None
    return onnx


def _read_model(path: Path) -> Any:
    onnx = _onnx()
    from google.protobuf.message import DecodeError

    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise CosearchError(f"{path}: no such file") from None
    except OSError as exc:
        raise CosearchError(f"{path}: cannot read ({exc.strerror or exc})") from None
    if not data:
        raise CosearchError(f"{path}: empty file, not an ONNX model")
    try:
        model = onnx.load_model_from_string(data)
    except (DecodeError, ValueError, RuntimeError) as exc:
        raise CosearchError(f"{path}: truncated or corrupt ONNX file ({type(exc).__name__}: {exc})") from None
    if model.ir_version <= 0 or not model.HasField("graph"):
        raise CosearchError(f"{path}: truncated or corrupt ONNX file (no IR version or graph)")
    return model


def _check_opsets(model: Any, source: str) -> int:
    """The default-domain opset version; errors for an unsupported one or nodes in unknown domains."""
    onnx = _onnx()
    newest = onnx.defs.onnx_opset_version()
    versions = {entry.domain or "": entry.version for entry in model.opset_import}
    default = versions.get("", versions.get("ai.onnx"))
    if default is None:
        raise CosearchError(f"{source}: unsupported model: no ai.onnx opset imported")
    if not MIN_OPSET <= default <= newest:
        raise CosearchError(
            f"{source}: unsupported opset: ai.onnx version {default} (supported: {MIN_OPSET} to {newest})"
        )
    local = {f.domain for f in model.functions}
    for node in model.graph.node:
        domain = node.domain or ""
        if domain not in KNOWN_DOMAINS and domain not in local:
            version = versions.get(domain, "?")
            raise CosearchError(
                f"{source}: unsupported opset: domain {domain!r} version {version} (node {node.name or node.op_type!r}, "
                f"op {node.op_type}); only ai.onnx ops can be imported"
            )
    return default


def _graph_inputs(graph: Any) -> list[Any]:
    """Inputs that are not initializers (the model's real inputs)."""
    weights = {init.name for init in graph.initializer}
    return [value for value in graph.input if value.name not in weights]


def _dims(value: Any) -> list[Any] | None:
    """Dims of a value_info: int for known, the symbol (or None) for dynamic; None if no shape."""
    ttype = value.type
    if not ttype.HasField("tensor_type") or not ttype.tensor_type.HasField("shape"):
        return None
    dims = []
    for dim in ttype.tensor_type.shape.dim:
        if dim.HasField("dim_value") and dim.dim_value > 0:
            dims.append(int(dim.dim_value))
        else:
            dims.append(dim.dim_param or None)
    return dims


def _fix_inputs(model: Any, input_shapes: Mapping[str, Sequence[int]] | None, source: str) -> None:
    inputs = _graph_inputs(model.graph)
    by_name = {value.name: value for value in inputs}
    for name, shape in (input_shapes or {}).items():
        if name not in by_name:
            raise CosearchError(f"{source}: --input-shape {name}: no such input (inputs: {', '.join(by_name) or 'none'})")
        shape = [int(d) for d in shape]
        if any(d < 1 for d in shape):
            raise CosearchError(f"{source}: --input-shape {name}: dims must be >= 1, got {shape}")
        for d in shape:
            check_int(d, f"{source}: --input-shape {name}: a dim")
        ttype = by_name[name].type.tensor_type
        old = _dims(by_name[name])
        if old is not None and len(old) != len(shape):
            raise CosearchError(f"{source}: --input-shape {name}: input has {len(old)} dims, got {len(shape)} ({_fmt(shape)})")
        for d, known in zip(old or [], shape):
            if isinstance(d, int) and d != known:
                raise CosearchError(f"{source}: --input-shape {name}: {_fmt(shape)} disagrees with the model's {_fmt(old)}")
        ttype.shape.ClearField("dim")
        for d in shape:
            ttype.shape.dim.add().dim_value = d
    for value in inputs:
        dims = _dims(value)
        if dims is None or not _known(dims):
            shown = "unknown rank" if dims is None else _fmt(dims)
            example = "x".join(str(d) if isinstance(d, int) else "1" for d in (dims or [1, 3, 224, 224]))
            raise CosearchError(f"{source}: input {value.name!r} has dynamic dims ({shown}); "
                                f"give its shape, e.g. --input-shape {value.name}={example}")


def _declare_dangling(graph: Any) -> None:
    """Make tensors that no node produces and that are neither inputs nor initializers (weights
    stripped from the file, known only by a ``value_info`` shape) graph inputs, so that shape inference
    propagates through them."""
    defined = {v.name for v in graph.input} | {i.name for i in graph.initializer}
    defined |= {out for node in graph.node for out in node.output}
    infos = {v.name: v for v in graph.value_info}
    for node in graph.node:
        for name in node.input:
            if name and name not in defined and name in infos:
                graph.input.append(infos[name])
                defined.add(name)


def _fmt(dims: Sequence[Any]) -> str:
    return "x".join(str(d) if d is not None else "?" for d in dims)


def _shape_table(graph: Any) -> dict[str, list[Any] | None]:
    shapes: dict[str, list[Any] | None] = {}
    for init in graph.initializer:
        shapes[init.name] = [int(d) for d in init.dims]
    for value in list(graph.input) + list(graph.value_info) + list(graph.output):
        dims = _dims(value)
        if dims is not None or value.name not in shapes:
            shapes[value.name] = dims
    for node in graph.node:  # Constant nodes carry their shape in the attribute
        if node.op_type == "Constant":
            for attr in node.attribute:
                if attr.name == "value" and attr.HasField("t"):
                    shapes[node.output[0]] = [int(d) for d in attr.t.dims]
    return shapes


def _attrs(node: Any) -> dict[str, Any]:
    onnx = _onnx()
    return {attr.name: onnx.helper.get_attribute_value(attr) for attr in node.attribute}


def _node_layer(node: Any, shapes: dict[str, Any], name: str) -> Layer | str:
    op = node.op_type

    def shape(i: int, outputs: bool = False) -> Any:
        names = node.output if outputs else node.input
        return shapes.get(names[i]) if len(names) > i and names[i] else None

    attrs = _attrs(node)
    if op in ("Conv", "ConvTranspose"):
        x, w, y = shape(0), shape(1), shape(0, outputs=True)
        kernel = list(attrs.get("kernel_shape") or []) or (w[2:] if _known(w) else None)
        group = int(attrs.get("group", 1))
        if op == "ConvTranspose":
            strides = list(attrs.get("strides") or [])
            if any(s != 1 for s in strides):
                return f"strided ConvTranspose (strides {strides}) is not expressible as one conv loop nest"
            if any(p != 0 for p in attrs.get("output_padding") or []):
                return "ConvTranspose with output_padding is not expressible"
        return conv_layer(name, x, kernel, y, attrs.get("strides"), attrs.get("dilations"), group)
    if op == "Gemm":
        a, b = shape(0), shape(1)
        if not (_known(a) and _known(b)) or len(a) != 2 or len(b) != 2:
            return "shape unknown after shape inference"
        if attrs.get("transA", 0):
            a = a[::-1]
        if attrs.get("transB", 0):
            b = b[::-1]
        return matmul_layer(name, a, b)
    if op == "MatMul":
        return matmul_layer(name, shape(0), shape(1))
    if node.domain not in ("", "ai.onnx"):
        return f"op of domain {node.domain!r}: no MACs counted"
    if any(attr.type in (5, 10) for attr in node.attribute):  # GRAPH / GRAPHS: If, Loop, Scan
        return "control flow (subgraphs are not imported)"
    return "no MACs counted (not a conv, gemm or matmul)"


def load_onnx(
    path: str | Path, input_shapes: Mapping[str, Sequence[int]] | None = None
) -> tuple[Network, list[dict[str, str]]]:
    """Import the ONNX model at ``path``: its costed layers (deduplicated) and the ops not costed.

    ``input_shapes`` fixes dynamic input dims (``{"input": (1, 3, 224, 224)}``). Weights are never
    read (external or missing initializers are fine). Each not-costed entry is ``{"name", "op",
    "reason"}``. Raises :class:`CosearchError` (one line) for a truncated/corrupt file, an unsupported
    opset or domain, dynamic input dims not fixed by ``input_shapes``, or a graph with nothing to cost.
    """
    path = Path(path)
    source = str(path)
    onnx = _onnx()
    model = _read_model(path)
    opset = _check_opsets(model, source)
    _fix_inputs(model, input_shapes, source)
    _declare_dangling(model.graph)
    try:
        inferred = onnx.shape_inference.infer_shapes(model, check_type=False, strict_mode=False, data_prop=True)
    except Exception as exc:  # noqa: BLE001 - onnx raises several kinds; report one line
        raise CosearchError(f"{source}: shape inference failed ({type(exc).__name__}: {exc})") from None
    graph = inferred.graph
    shapes = _shape_table(graph)
    layers: list[Layer] = []
    not_costed: list[dict[str, str]] = []
    for index, node in enumerate(graph.node):
        raw = node.name or f"{node.op_type}_{index}"
        result = _node_layer(node, shapes, safe_name(raw, f"{node.op_type.lower()}{index}"))
        if isinstance(result, Layer):
            layers.append(result)
        else:
            not_costed.append({"name": raw, "op": node.op_type, "reason": result})
    if not layers:
        raise no_costed_error(source, not_costed)
    description = f"imported from {path.name} (ONNX, opset {opset}); {len(not_costed)} ops not costed"
    return deduplicate(path.stem or "onnx", layers, description), not_costed


def onnx_input_names(path: str | Path) -> list[str]:
    """Names of the real inputs (not initializers) of the ONNX model at ``path`` (no shape inference)."""
    return [value.name for value in _graph_inputs(_read_model(Path(path)).graph)]


def route_input_shapes(
    paths: Sequence[str | Path], input_shapes: Mapping[str, Sequence[int]] | None
) -> dict[str, dict[str, tuple[int, ...]]]:
    """Split ``input_shapes`` among several ONNX models: ``{str(path): the shapes of its inputs}``.

    With one model it gets all of them (unknown names are then reported by :func:`load_onnx`); with
    several, each gets the names among its inputs, and a name that is an input of none is an error.
    """
    shapes = {name: tuple(int(d) for d in dims) for name, dims in (input_shapes or {}).items()}
    if not shapes:
        return {str(p): {} for p in paths}
    if not paths:
        raise CosearchError(f"--input-shape {next(iter(shapes))}: applies only to ONNX models (.onnx files), and none is given")
    if len(paths) == 1:
        return {str(paths[0]): shapes}
    names = {str(p): onnx_input_names(p) for p in paths}
    for name in shapes:
        if not any(name in inputs for inputs in names.values()):
            listed = "; ".join(f"{p}: {', '.join(inputs) or 'none'}" for p, inputs in names.items())
            raise CosearchError(f"--input-shape {name}: no ONNX model has an input of that name (inputs: {listed})")
    return {p: {n: s for n, s in shapes.items() if n in inputs} for p, inputs in names.items()}


def parse_input_shapes(specs: Sequence[str] | str | None) -> dict[str, tuple[int, ...]]:
    """``["x=1x3x224x224", "mask=1x128"]`` (or one comma-separated string) -> ``{"x": (1, 3, 224, 224), ...}``."""
    if specs is None:
        return {}
    if isinstance(specs, str):
        specs = [specs]
    words = [w for spec in specs for w in re.split(r"[,;\s]+", spec.strip()) if w]
    result: dict[str, tuple[int, ...]] = {}
    for word in words:
        name, sep, dims = word.rpartition("=")
        if not sep or not name:
            raise CosearchError(f"--input-shape {word!r}: expected NAME=DIMS such as input=1x3x224x224")
        try:
            shape = tuple(int(d) for d in dims.lower().split("x"))
        except ValueError:
            raise CosearchError(f"--input-shape {word!r}: dims must be integers joined by 'x', e.g. 1x3x224x224") from None
        if not shape or any(d < 1 for d in shape):
            raise CosearchError(f"--input-shape {word!r}: dims must be >= 1")
        for d in shape:
            check_int(d, f"--input-shape {word!r}: a dim")
        if name in result:
            raise CosearchError(f"--input-shape: input {name!r} given twice")
        result[name] = shape
    return result
