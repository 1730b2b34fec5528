"""Import a PyTorch module as a :class:`~cosearch.workload.layer.Network` of conv-shaped layers.

:func:`from_torch` traces the module with ``torch.fx.symbolic_trace`` and propagates the example
inputs' shapes (``ShapeProp``); if tracing fails (data-dependent control flow, ...) it runs the module
once instead, recording every torch function call (``TorchFunctionMode``) under the name of the
module that made it (forward hooks). Costed: ``nn.Conv1d``/``nn.Conv2d`` and ``F.conv1d``/``F.conv2d``
(groups, stride, dilation; output size from the actual output, so padding is handled),
``nn.Linear``/``F.linear`` (on ``[b, in]``: ``N=b``; on ``[b, t, in]``: ``N=b, P=t``),
``torch.matmul``/``@``/``torch.bmm``/``torch.mm`` (batched: leading dims in ``G``). The mapping rules
are those of :mod:`cosearch.workload.importers.onnx`, so the same module imported via ONNX export gives
the same layers. Every other op is listed as not costed (op, name, reason).

A workload file ``model.py:factory`` (see :func:`load_factory`) names a Python file and a function in
it returning ``(module, example_inputs)``.
"""

from __future__ import annotations

import importlib.util
import math
import operator
import sys
from pathlib import Path
from typing import Any, Callable, Sequence

from ...errors import CosearchError
from ..layer import ElementOp, Layer, Network, deduplicate
from .onnx import conv_layer, matmul_layer, no_costed_error, safe_name

_NO_MACS = "no MACs counted (not a conv, linear or matmul)"


def _torch():
    import torch

    return torch


def _as_tuple(inputs: Any) -> tuple[Any, ...]:
    return tuple(inputs) if isinstance(inputs, (tuple, list)) else (inputs,)


def _shape(value: Any) -> list[int] | None:
    torch = _torch()
    if isinstance(value, torch.Tensor):
        return [int(d) for d in value.shape]
    meta = getattr(value, "meta", None)  # an fx Node after ShapeProp
    if meta is not None:
        tm = meta.get("tensor_meta")
        if tm is not None and hasattr(tm, "shape"):
            return [int(d) for d in tm.shape]
    return None


def _pair(value: Any, n: int) -> list[int]:
    if isinstance(value, int):
        return [value] * n
    return [int(v) for v in value]


def _conv(name: str, x: Any, weight: Any, out: Any, stride: Any, dilation: Any, groups: int) -> Layer | str:
    xs, ws, ys = _shape(x), _shape(weight), _shape(out)
    if ws is None or len(ws) < 3:
        return "weight shape unknown"
    spatial = len(ws) - 2
    if xs is not None and len(xs) == spatial + 1:  # unbatched input
        xs, ys = [1] + xs, ([1] + ys if ys is not None else None)
    return conv_layer(name, xs, ws[2:], ys, _pair(stride, spatial), _pair(dilation, spatial), int(groups))


def _linear(name: str, x: Any, weight: Any) -> Layer | str:
    ws = _shape(weight)
    if ws is None or len(ws) != 2:
        return "weight shape unknown"
    return matmul_layer(name, _shape(x), [ws[1], ws[0]])


def _arg(args: Sequence[Any], kwargs: dict[str, Any], index: int, key: str, default: Any) -> Any:
    if len(args) > index:
        return args[index]
    return kwargs.get(key, default)


def _function_layer(fn: Any, name: str, args: Sequence[Any], kwargs: dict[str, Any], out: Any) -> Layer | str | None:
    """Layer of a functional call (``None`` if ``fn`` is not a costed function)."""
    torch = _torch()
    F = torch.nn.functional
    if fn in (F.conv1d, F.conv2d, torch.conv1d, torch.conv2d):
        return _conv(name, args[0], _arg(args, kwargs, 1, "weight", None), out, _arg(args, kwargs, 3, "stride", 1),
                     _arg(args, kwargs, 5, "dilation", 1), _arg(args, kwargs, 6, "groups", 1))
    if fn is F.linear:
        return _linear(name, args[0], _arg(args, kwargs, 1, "weight", None))
    if fn in (torch.matmul, operator.matmul, torch.bmm, torch.mm, torch.Tensor.matmul, torch.Tensor.__matmul__,
              torch.Tensor.bmm, torch.Tensor.mm):
        return matmul_layer(name, _shape(args[0]), _shape(_arg(args, kwargs, 1, "other", None)))
    return None


def _fn_name(fn: Any) -> str:
    return getattr(fn, "__name__", None) or type(fn).__name__


ELEMENT_OPS: frozenset[str] = frozenset({
    "add", "sub", "mul", "div", "neg", "pow", "sqrt", "rsqrt", "exp", "tanh", "sigmoid", "mean",
    "softmax", "log_softmax", "layer_norm", "rms_norm", "group_norm", "gelu", "silu", "relu", "embedding",
})
"""Functions listed as element ops (:class:`~cosearch.workload.layer.ElementOp`) by an eager trace with
``element_ops=True``: they compute values (views, copies, dropout at inference and queries do not)."""

ModuleRule = Callable[[Any, str, Sequence[Any]], "Layer | None"]
"""``(module, name, args) -> Layer | None``: the layer of a module the default rules do not know (e.g.
Hugging Face's ``Conv1D``); the ops inside a module it costs are not recorded."""


def _numel(value: Any) -> int:
    shape = _shape(value)
    return math.prod(shape) if shape is not None else 0


def _tensor_words(args: Sequence[Any], kwargs: dict[str, Any]) -> int:
    """Elements of the tensor arguments (weights and tables included: words a kernel reads)."""
    return sum(_numel(a) for a in (*args, *kwargs.values()) if _shape(a) is not None)


class _Collector:
    def __init__(self) -> None:
        self.layers: list[Layer] = []
        self.not_costed: list[dict[str, str]] = []
        self.ops: list[ElementOp] = []

    def add(self, result: Layer | str, name: str, op: str) -> None:
        if isinstance(result, Layer):
            self.layers.append(result)
        else:
            self.not_costed.append({"name": name, "op": op, "reason": result})


def _module_layer(module: Any, name: str, args: Sequence[Any], out: Any) -> Layer | str | None:
    torch = _torch()
    nn = torch.nn
    if isinstance(module, (nn.Conv1d, nn.Conv2d)):
        return _conv(name, args[0], module.weight, out, module.stride, module.dilation, module.groups)
    if isinstance(module, (nn.Conv3d, nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d)):
        return f"{type(module).__name__} is not imported from torch (export to ONNX to cost stride-1 transposed convs)"
    if isinstance(module, nn.Linear):
        return _linear(name, args[0], module.weight)
    return None


def _trace_fx(module: Any, inputs: tuple[Any, ...]) -> _Collector:
    torch = _torch()
    from torch.fx import symbolic_trace
    from torch.fx.passes.shape_prop import ShapeProp

    gm = symbolic_trace(module)
    ShapeProp(gm).propagate(*inputs)
    found = _Collector()
    for index, node in enumerate(gm.graph.nodes):
        if node.op in ("placeholder", "output", "get_attr"):
            continue
        if node.op == "call_module":
            sub = gm.get_submodule(node.target)
            result = _module_layer(sub, safe_name(str(node.target), f"layer{index}"), node.args, node)
            found.add(result if result is not None else _NO_MACS, str(node.target), type(sub).__name__)
            continue
        if node.op == "call_method":
            fn = getattr(torch.Tensor, node.target, None)
            op = f"Tensor.{node.target}"
        else:
            fn, op = node.target, _fn_name(node.target)
        result = _function_layer(fn, safe_name(node.name, f"op{index}"), node.args, dict(node.kwargs), node) if fn else None
        found.add(result if result is not None else _NO_MACS, node.name, op)
    return found


def _trace_eager(module: Any, inputs: tuple[Any, ...], module_rule: ModuleRule | None = None,
                 element_ops: bool = False) -> _Collector:
    """Run the module once, recording torch function calls under the calling module's name.

    ``module_rule`` costs extra module types as a whole; with ``element_ops`` the calls of
    :data:`ELEMENT_OPS` are also listed as element ops (output elements; DRAM words = tensor arguments
    read once + output written once)."""
    torch = _torch()
    from torch.overrides import TorchFunctionMode

    found = _Collector()
    stack: list[str] = []
    names = {id(m): n for n, m in module.named_modules()}
    counter: dict[str, int] = {}
    costed: list[bool] = []  # per open module: costed as a whole by module_rule (its ops not recorded)

    def pre(mod: Any, args: Any) -> None:
        name = names.get(id(mod), type(mod).__name__) or "model"
        stack.append(name)
        layer = module_rule(mod, safe_name(name, "layer"), args) if module_rule is not None and not any(costed) else None
        if layer is not None:
            found.add(layer, name, type(mod).__name__)
        costed.append(layer is not None)

    def post(_mod: Any, _args: Any, _out: Any) -> None:
        if stack:
            stack.pop()
        if costed:
            costed.pop()

    skip = {"__get__", "__set__", "size", "dim", "numel", "item", "__len__", "__bool__", "__index__", "__int__",
            "__float__", "__format__", "__repr__", "__hash__", "__iter__", "__contains__"}  # queries, not ops

    class Recorder(TorchFunctionMode):
        def __torch_function__(self, func, types, args=(), kwargs=None):  # noqa: ANN001
            kwargs = kwargs or {}
            out = func(*args, **kwargs)
            fname = _fn_name(func)
            if fname in skip or any(costed):
                return out
            if fname == "__rmatmul__":  # other @ self
                func, args, fname = torch.matmul, (args[1], args[0]), "__matmul__"
            fname = fname.strip("_") or fname
            where = stack[-1] if stack else "model"
            key = f"{where}.{fname}"
            counter[key] = counter.get(key, 0) + 1
            name = key if counter[key] == 1 else f"{key}_{counter[key]}"
            result = _function_layer(func, safe_name(name, "op"), args, kwargs, out)
            found.add(result if result is not None else _NO_MACS, name, fname)
            if result is None and element_ops and fname in ELEMENT_OPS and _shape(out) is not None:
                elements = _numel(out)
                found.ops.append(ElementOp(name=name, op=fname, elements=elements,
                                           dram_words=_tensor_words(args, kwargs) + elements))
            return out

    handles = []
    for sub in module.modules():
        handles.append(sub.register_forward_pre_hook(pre))
        handles.append(sub.register_forward_hook(post))
    try:
        with torch.no_grad(), Recorder():
            module(*inputs)
    finally:
        for handle in handles:
            handle.remove()
    return found


def merge_ops(ops: Sequence[ElementOp]) -> list[ElementOp]:
    """Element ops of identical ``(op, elements, dram_words, weight_words)`` merged into the first
    one's entry, counts added (as :func:`~cosearch.workload.layer.deduplicate` merges layers)."""
    merged: dict[tuple[Any, ...], ElementOp] = {}
    for op in ops:
        key = (op.op, op.elements, op.dram_words, op.weight_words, op.phase)
        first = merged.get(key)
        merged[key] = op if first is None else first.model_copy(update={"count": first.count + op.count})
    return list(merged.values())


def torch_layers(module: Any, example_inputs: Any, name: str | None = None, *, eager: bool = False,
                 module_rule: ModuleRule | None = None) -> tuple[Network, list[dict[str, str]]]:
    """Like :func:`from_torch` but also returns the not-costed ops (``{"name", "op", "reason"}``).

    ``eager`` runs the module once (the fallback when fx fails) instead of tracing it with fx, with
    ``module_rule`` for extra module types, and lists the element ops in ``Network.ops`` (merged by
    :func:`merge_ops`); the inputs may be meta tensors."""
    torch = _torch()
    if not isinstance(module, torch.nn.Module):
        raise CosearchError(f"from_torch: expected a torch.nn.Module, got {type(module).__name__}")
    inputs = _as_tuple(example_inputs)
    source = name or type(module).__name__
    was_training = module.training
    module.eval()
    try:
        try:
            if eager:
                found = _trace_eager(module, inputs, module_rule, element_ops=True)
                how = "an eager run"
            else:
                found = _trace_fx(module, inputs)
                how = "torch.fx"
        except CosearchError:
            raise
        except Exception:  # noqa: BLE001 - untraceable module: run it eagerly instead
            if eager:
                raise
            found = _trace_eager(module, inputs)
            how = "eager run (fx tracing failed)"
    except CosearchError:
        raise
    except Exception as exc:  # noqa: BLE001
        raise CosearchError(f"{source}: running the module on the example inputs failed ({type(exc).__name__}: {exc})") from None
    finally:
        module.train(was_training)
    if not found.layers:
        raise no_costed_error(source, found.not_costed)
    description = f"imported from torch module {type(module).__name__} via {how}; {len(found.not_costed)} ops not costed"
    network = deduplicate(source, found.layers, description)
    if eager:
        network = network.model_copy(update={"ops": merge_ops(found.ops)})
    return network, found.not_costed


def from_torch(module: Any, example_inputs: Any, name: str | None = None) -> Network:
    """The conv/linear/matmul layers of ``module`` run on ``example_inputs`` (a tensor or a tuple),
    deduplicated. Shapes only: weights are never read. Raises :class:`CosearchError` if nothing is costed."""
    return torch_layers(module, example_inputs, name)[0]


def split_factory_spec(text: str) -> tuple[Path, str] | None:
    """``"path/model.py:factory"`` -> ``(Path("path/model.py"), "factory")``; None if not of that form."""
    path, sep, factory = str(text).rpartition(":")
    if sep and path.endswith(".py") and factory.isidentifier():
        return Path(path), factory
    return None


def load_factory(path: str | Path, factory: str) -> tuple[Network, list[dict[str, str]]]:
    """Import ``path`` as a module, call ``factory()`` -> ``(module, example_inputs)`` and import it."""
    path = Path(path)
    source = f"{path}:{factory}"
    if not path.is_file():
        raise CosearchError(f"{source}: no such file {path}")
    mod_name = f"_cosearch_workload_{abs(hash(str(path.resolve())))}"
    spec = importlib.util.spec_from_file_location(mod_name, path)
    if spec is None or spec.loader is None:
        raise CosearchError(f"{source}: cannot import {path} as Python")
    pymod = importlib.util.module_from_spec(spec)
    sys.modules[mod_name] = pymod
    try:
        spec.loader.exec_module(pymod)
    except Exception as exc:  # noqa: BLE001
        sys.modules.pop(mod_name, None)
        raise CosearchError(f"{source}: importing {path.name} failed ({type(exc).__name__}: {exc})") from None
    fn = getattr(pymod, factory, None)
    if not callable(fn):
        raise CosearchError(f"{source}: {path.name} has no function {factory!r}")
    try:
        result = fn()
    except Exception as exc:  # noqa: BLE001
        raise CosearchError(f"{source}: {factory}() failed ({type(exc).__name__}: {exc})") from None
    if not (isinstance(result, (tuple, list)) and len(result) == 2):
        raise CosearchError(f"{source}: {factory}() must return (module, example_inputs)")
    return torch_layers(result[0], result[1], name=path.stem)
