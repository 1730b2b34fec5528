"""Valid inputs of every kind the fuzzer mutates: the seeds.

Each seed is a plain value of the kind's input (parsed YAML/JSON data, ONNX bytes, Timeloop file
texts), taken from what the package ships (arch presets, hardware spaces, the template registry),
from the repository's ``examples/`` when it is there, and from the Timeloop reference records
(``$COSEARCH_REFERENCE_DIR`` or ``shared/reference`` beside the repository) when they are found. What
is not found is left out; every kind keeps at least one seed built here from the package alone.
"""

from __future__ import annotations

import json
import os
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[3]
"""The repository root when the package is used from a checkout (``src/cosearch/fuzz`` three up)."""

EXAMPLES = REPO / "examples"

SMALL_LAYER = {"name": "small", "K": 8, "C": 4, "P": 6, "Q": 6, "R": 3, "S": 3}
"""A layer small enough that every arch seed can cost a few mappings of it quickly."""


def _reference_dir() -> Path:
    env = os.environ.get("COSEARCH_REFERENCE_DIR")
    return Path(env) / "timeloop" if env else REPO.parent / "shared" / "reference" / "timeloop"


def _read(path: Path) -> Any:
    text = path.read_text()
    return json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)


def _examples(folder: str) -> list[Any]:
    where = EXAMPLES / folder
    if not where.is_dir():
        return []
    return [_read(p) for p in sorted(where.iterdir()) if p.suffix in (".yaml", ".json")]


@cache
def arch_seeds() -> tuple[Any, ...]:
    """Arch files as data: the presets, then ``examples/arch`` (the cosearch and the reference format)."""
    presets = resources.files("cosearch.arch").joinpath("presets")
    shipped = [yaml.safe_load(presets.joinpath(name).read_text())
               for name in sorted(p.name for p in presets.iterdir() if p.name.endswith(".yaml"))]
    return tuple(shipped + _examples("arch"))


@cache
def workload_seeds() -> tuple[Any, ...]:
    """Workload files as data: ``examples/workloads`` and a two-layer network built here."""
    built = {"name": "fuzz-net", "layers": [SMALL_LAYER, {"name": "fc", "K": 10, "C": 32, "Wstride": 1}]}
    return tuple(_examples("workloads") + [built])


@cache
def mapping_seeds() -> tuple[tuple[str, dict[str, Any], Any], ...]:
    """``(arch preset or file, layer fields, mapping data)`` triples whose mapping is valid for the layer."""
    out: list[tuple[str, dict[str, Any], Any]] = []
    accel, tiny = EXAMPLES / "arch" / "my_accelerator.yaml", EXAMPLES / "mappings" / "my_accelerator_tiny_conv1.json"
    if accel.exists() and tiny.exists():
        out.append((str(accel), {"name": "conv1", "K": 16, "C": 3, "P": 32, "Q": 32, "R": 3, "S": 3}, _read(tiny)))
    # built here: every loop at the simple-64 preset's DRAM (valid for any layer on it)
    dims = {k: v for k, v in SMALL_LAYER.items() if k != "name"}
    out.append(("simple-64", SMALL_LAYER, {"levels": [{"level": "DRAM", "temporal": dims, "permutation": "KCPQRS"}]}))
    return tuple(out)


@cache
def constraints_seeds() -> tuple[tuple[str, Any], ...]:
    """``(arch preset, constraints data)`` pairs: ``examples/constraints`` and one built here."""
    out: list[tuple[str, Any]] = []
    where = EXAMPLES / "constraints"
    if where.is_dir():
        for path in sorted(where.glob("*.yaml")):
            out.append(("simple-64" if path.name.startswith("simple64") else "eyeriss-168", _read(path)))
    out.append(("simple-64", {"name": "fuzz", "constraints": [
        {"type": "spatial", "target": "GLB", "x_dims": ["K"], "y_dims": ["C"]},
        {"type": "temporal", "target": "RF", "factors": {"R": 0, "S": 0}, "permutation": "SR"},
        {"type": "utilization", "min": 0.1}]}))
    return tuple(out)


@cache
def hw_space_seeds() -> tuple[Any, ...]:
    """Hardware-space files as data: the built-in spaces."""
    spaces = resources.files("cosearch.arch").joinpath("hwspaces")
    return tuple(yaml.safe_load(spaces.joinpath(n).read_text())
                 for n in sorted(p.name for p in spaces.iterdir() if p.name.endswith(".yaml")))


@cache
def template_seeds() -> tuple[tuple[str, dict[str, float]], ...]:
    """``(template name, parameter values)``: every registered template's reference design."""
    from ..arch.templates import TEMPLATES

    return tuple((name, dict(t.reference.values)) for name, t in TEMPLATES.items())


@cache
def onnx_seeds() -> tuple[bytes, ...]:
    """Serialised ONNX models built here with ``onnx.helper``: a convolution then a matrix product,
    and a grouped, strided, padded convolution followed by Gemm."""
    from onnx import TensorProto, helper

    def model(nodes: list, inputs: list, outputs: list, inits: list) -> bytes:
        graph = helper.make_graph(nodes, "fuzz", inputs, outputs, initializer=inits)
        return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]).SerializeToString()

    def weights(name: str, dims: list[int]) -> Any:
        n = 1
        for d in dims:
            n *= d
        return helper.make_tensor(name, TensorProto.FLOAT, dims, [0.5] * n)

    f32 = TensorProto.FLOAT
    conv_matmul = model(
        [helper.make_node("Conv", ["x", "w"], ["y"], kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
         helper.make_node("Flatten", ["y"], ["f"]),
         helper.make_node("MatMul", ["f", "m"], ["z"])],
        [helper.make_tensor_value_info("x", f32, [1, 3, 8, 8])],
        [helper.make_tensor_value_info("z", f32, [1, 10])],
        [weights("w", [4, 3, 3, 3]), weights("m", [256, 10])],
    )
    grouped_gemm = model(
        [helper.make_node("Conv", ["x", "w"], ["y"], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1],
                          group=2, dilations=[1, 1]),
         helper.make_node("Flatten", ["y"], ["f"]),
         helper.make_node("Gemm", ["f", "g"], ["z"], transB=1)],
        [helper.make_tensor_value_info("x", f32, ["batch", 4, 8, 8])],
        [helper.make_tensor_value_info("z", f32, ["batch", 5])],
        [weights("w", [6, 2, 3, 3]), weights("g", [5, 96])],
    )
    return (conv_matmul, grouped_gemm)


@cache
def timeloop_seeds() -> tuple[dict[str, str], ...]:
    """Timeloop input texts (``arch``, ``problem``, ``mapping``, ``ERT``) exported from the mapping seeds."""
    from ..arch.io import load_arch
    from ..interop.timeloop.export import to_timeloop
    from ..mapping.mapping import mapping_from_data
    from ..workload.layer import Layer

    out = []
    for arch_name, layer_fields, data in mapping_seeds():
        arch = load_arch(arch_name)
        out.append(to_timeloop(arch, Layer(**layer_fields), mapping_from_data(data, "seed")))
    return tuple(out)


@cache
def reference_seeds() -> tuple[dict[str, Any], ...]:
    """Reference records: the first few of ``cases.jsonl`` and ``probes.jsonl`` when found, and one
    built here (the reference-format example arch, the built-in mapping, costs from the model)."""
    out: list[dict[str, Any]] = []
    for name in ("cases", "probes"):
        path = _reference_dir() / f"{name}.jsonl"
        if path.exists():
            lines = [line for line in path.read_text().splitlines() if line.strip()]
            out += [json.loads(line) for line in lines[:3]]
    ref_arch = EXAMPLES / "arch" / "reference_E_unified_16x16_bw.json"
    if ref_arch.exists():
        out.append(_built_record(_read(ref_arch)))
    return tuple(out)


@cache
def results_seeds() -> tuple[dict[str, Any], ...]:
    """``results.json`` of a ``cosearch map`` run: the small layer and a two-layer network on simple-64
    (20 random evaluations a layer, run here once)."""
    import tempfile

    from ..mappers.network import map_network
    from ..workload.layer import Layer, Network

    out = []
    networks = [Layer(**SMALL_LAYER), Network(name="fuzz-net", layers=[Layer(**SMALL_LAYER),
                                                                       Layer(name="fc", K=10, C=32)])]
    for network in networks:
        with tempfile.TemporaryDirectory(prefix="cosearch-fuzz-seed-") as tmp:
            map_network("simple-64", network, optimizer="random", budget=20, out_dir=tmp)
            out.append(json.loads((Path(tmp) / "results.json").read_text()))
    return tuple(out)


def _built_record(arch_data: dict[str, Any]) -> dict[str, Any]:
    from ..arch.io import arch_from_data
    from ..mapping.mapping import Mappings, mapping_from_data
    from ..mapping.vector import blocked_layer
    from ..model.evaluate import evaluate
    from ..workload.layer import Layer

    arch = arch_from_data(arch_data, "seed")
    layer = Layer(**SMALL_LAYER)
    view = blocked_layer(arch, layer)  # a block MAC's mapping factors the blocked dims
    dims = {k: getattr(view, k) for k in SMALL_LAYER if k != "name"}
    mapping = {"levels": [{"level": arch.levels[0].name, "temporal": dims, "permutation": "KCPQRS"}]}
    costs = evaluate(arch, layer, Mappings.from_list([mapping_from_data(mapping, "seed")], arch))
    expected = {"valid": bool(costs.valid[0]), "energy_pJ": float(costs.energy_pj[0]),
                "cycles": float(costs.cycles[0])}
    return {"id": "fuzz-built", "arch": arch_data, "layer": SMALL_LAYER, "mapping": mapping, "expected": expected}
