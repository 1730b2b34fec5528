"""The fuzzer's input generators (Hypothesis strategies), one per input kind, shared by the test suite
(``tests/fuzz/``) and ``benchmarks/fuzz.py``.

Every strategy draws a :class:`Case`. A file input is mostly a valid seed (:mod:`.seeds`) changed in
one of two ways: one number replaced by an extreme one, the rest left valid (a third of the time), or
one to three mutations (a value replaced by an extreme one — 0, negatives, ``1e30``, ``2**63``, floats
where ints go, inf, NaN, empty or unicode strings, a wrong type —, a number scaled, a key dropped or
added, a list emptied or repeated, a subtree nested deeply or replaced by a random structure); it is
serialised as YAML or JSON and then, one time in four, damaged (truncated, bytes flipped, not UTF-8,
an unsafe YAML tag, emptied). Sometimes a random structure or random bytes come instead. ONNX models
are mutated as protobufs (dims, attributes, initialisers, opsets, op types, dropped nodes) or as
bytes; option values are extreme numbers or mutated option texts. :data:`KINDS` names the library
kinds; :data:`cli_cases` draws command lines over them; :func:`cases` gives either strategy.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from typing import Any

import yaml
from hypothesis import strategies as st

from . import seeds

# ---- values -------------------------------------------------------------------------------------
HUGE_INTS = (2**31, 2**53 + 1, 2**62, 2**63 - 1, 2**63, 2**64, 10**30, -(2**63) - 1)
EXTREME_NUMBERS: tuple[Any, ...] = (
    0, -1, 1, 2, 3, -(10**9), *HUGE_INTS, 0.0, -0.0, 0.5, 1.5, 3.0, 1e-300, 5e-324, 1e30, -1e30, 1e308,
    math.inf, -math.inf, math.nan, True, False,
)
EXTREME_OTHERS: tuple[Any, ...] = (None, "", " ", "x", "K", "Weights", "ünïcødé ✓", "\u202e\x00", "1e30", "NaN",
                                   "-1", [], {}, [1, 2], {"a": 1}, [None])

numbers = st.one_of(st.sampled_from(EXTREME_NUMBERS), st.integers(), st.floats(allow_nan=True, allow_infinity=True))
"""Numbers a spec field may meet: the extremes above, any integer, any float."""

leaves = st.one_of(numbers, st.sampled_from(EXTREME_OTHERS), st.text(max_size=12))

random_structures = st.recursive(
    leaves,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)),
    max_leaves=12,
)
"""Any JSON/YAML-like value: nested lists and dicts of the leaves."""


# ---- mutating a data tree -------------------------------------------------------------------------
TreePath = tuple[Any, ...]
"""A position in a tree of dicts and lists: the keys and indices from the root."""

MAX_PATH_DEPTH = 10
"""Mutations reach positions at most this deep (no recursion near the interpreter's limit while drawing)."""


def _paths(data: Any) -> list[TreePath]:
    """Positions in a tree of dicts and lists, the root ``()`` first, down to :data:`MAX_PATH_DEPTH`."""
    out: list[TreePath] = []
    stack: list[tuple[TreePath, Any]] = [((), data)]
    while stack:
        path, value = stack.pop()
        out.append(path)
        if len(path) >= MAX_PATH_DEPTH:
            continue
        items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
        stack += reversed([(path + (k,), v) for k, v in items])
    return out


def _get(data: Any, path: TreePath) -> Any:
    for p in path:
        data = data[p]
    return data


def _set(data: Any, path: TreePath, value: Any) -> Any:
    """``data`` with the value at ``path`` replaced (a copy along the path; the root replaced if empty)."""
    if not path:
        return value
    head, rest = path[0], path[1:]
    copy = dict(data) if isinstance(data, dict) else list(data)
    copy[head] = _set(data[head], rest, value)
    return copy


def _delete(data: Any, path: TreePath) -> Any:
    if not path:
        return None
    parent = _get(data, path[:-1])
    copy = dict(parent) if isinstance(parent, dict) else list(parent)
    del copy[path[-1]]
    return _set(data, path[:-1], copy)


def _nested(value: Any, depth: int) -> Any:
    for i in range(depth):
        value = [value] if i % 2 else {"x": value}
    return value


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


MUTATIONS = ("extreme", "extreme", "extreme", "number", "scale", "scale", "random", "delete", "add_key", "empty", "repeat",
             "stringify", "listify", "deep")


@st.composite
def mutated(draw: st.DrawFn, seed: Any) -> Any:
    """``seed`` with one number replaced by an extreme one (a third of the time: the rest of the input
    stays valid, so the one field's check is what is tried), or with one to three mutations at drawn
    positions."""
    data = seed
    numeric = [p for p in _paths(data) if _is_number(_get(data, p))]
    if numeric and draw(st.integers(0, 2)) == 0:
        return _set(data, draw(st.sampled_from(numeric)), draw(st.sampled_from(EXTREME_NUMBERS)))
    for _ in range(draw(st.integers(1, 3))):
        paths = _paths(data)
        numeric = [p for p in paths if _is_number(_get(data, p))]
        path = draw(st.sampled_from(numeric if numeric and draw(st.booleans()) else paths))
        value = _get(data, path)
        op = draw(st.sampled_from(MUTATIONS))
        if op == "extreme":
            data = _set(data, path, draw(st.sampled_from(EXTREME_NUMBERS + EXTREME_OTHERS)))
        elif op == "scale" and isinstance(value, (int, float)) and not isinstance(value, bool):
            factor = draw(st.sampled_from([2, 10, 1000, 10**6, 10**12]))
            scaled = value * factor if draw(st.booleans()) or isinstance(value, int) else value / factor
            data = _set(data, path, scaled)
        elif op == "number":
            data = _set(data, path, draw(numbers))
        elif op == "random":
            data = _set(data, path, draw(random_structures))
        elif op == "delete":
            data = _delete(data, path)
        elif op == "add_key" and isinstance(value, dict):
            data = _set(data, path, {**value, draw(st.sampled_from(["extra", "", "levels", "K", "ü"])): draw(leaves)})
        elif op == "empty" and isinstance(value, (dict, list)):
            data = _set(data, path, type(value)())
        elif op == "repeat" and isinstance(value, list):
            data = _set(data, path, value * draw(st.integers(2, 40)))
        elif op == "stringify":
            data = _set(data, path, str(value))
        elif op == "listify":
            data = _set(data, path, [value])
        elif op == "deep":
            data = _set(data, path, _nested(value, draw(st.sampled_from([30, 150, 400]))))
    return data


# ---- files ----------------------------------------------------------------------------------------
UNSAFE_YAML = b"!!python/object/apply:os.system ['echo fuzz']\n"


def _deeper_than(data: Any, limit: int) -> bool:
    stack = [(data, 0)]
    while stack:
        value, depth = stack.pop()
        if depth > limit:
            return True
        children = value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
        stack += [(c, depth + 1) for c in children]
    return False


def _dump(data: Any, as_json: bool) -> bytes:
    """``data`` as JSON or YAML text; deeply nested data always as JSON (also YAML), which the YAML
    emitter's recursion could not write (the choice must not depend on the stack: Hypothesis replays)."""
    if as_json or _deeper_than(data, 40):
        return json.dumps(data).encode()
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False).encode()


@st.composite
def damaged(draw: st.DrawFn, text: bytes) -> bytes:
    """``text`` as it is (three times in four), truncated, with bytes flipped, made non-UTF-8 or YAML-tagged."""
    how = draw(st.sampled_from(["keep"] * 15 + ["truncate", "flip", "not_utf8", "unsafe_tag", "empty"]))
    if how == "truncate" and text:
        return text[: draw(st.integers(0, len(text) - 1))]
    if how == "flip" and text:
        out = bytearray(text)
        for _ in range(draw(st.integers(1, 4))):
            out[draw(st.integers(0, len(out) - 1))] = draw(st.integers(0, 255))
        return bytes(out)
    if how == "not_utf8":
        return b"\xff\xfe\x80" + text
    if how == "unsafe_tag":
        return UNSAFE_YAML + text
    if how == "empty":
        return b""
    return text


@st.composite
def structured_file(draw: st.DrawFn, seed_data: st.SearchStrategy[Any]) -> tuple[str, bytes]:
    """``(suffix, bytes)`` of a YAML or JSON file: a mutated seed (mostly), a random structure or random bytes."""
    as_json = draw(st.booleans())
    suffix = ".json" if as_json else draw(st.sampled_from([".yaml", ".yml"]))
    source = draw(st.sampled_from(["mutated"] * 8 + ["random", "bytes"]))
    if source == "bytes":
        return suffix, draw(st.binary(max_size=200))
    data = draw(random_structures) if source == "random" else draw(seed_data.flatmap(mutated))
    return suffix, draw(damaged(_dump(data, as_json)))


# ---- cases of every kind --------------------------------------------------------------------------
@dataclass(frozen=True)
class Case:
    """One fuzz input: its ``kind``, the files to write (name -> bytes) and the other arguments of the
    entry point (``args``, kind-specific: an arch preset, a layer, a template name, option values)."""

    kind: str
    files: dict[str, bytes] = field(default_factory=dict)
    args: dict[str, Any] = field(default_factory=dict)


def _file_case(kind: str, seed_data: st.SearchStrategy[Any], **args: Any) -> st.SearchStrategy[Case]:
    return structured_file(seed_data).map(lambda f: Case(kind, {f"input{f[0]}": f[1]}, dict(args)))


@st.composite
def _mapping_cases(draw: st.DrawFn) -> Case:
    arch, layer, data = draw(st.sampled_from(seeds.mapping_seeds()))
    suffix, text = draw(structured_file(st.just(data)))
    return Case("mapping", {f"mapping{suffix}": text}, {"arch": arch, "layer": layer})


@st.composite
def _constraints_cases(draw: st.DrawFn) -> Case:
    arch, data = draw(st.sampled_from(seeds.constraints_seeds()))
    suffix, text = draw(structured_file(st.just(data)))
    return Case("constraints", {f"constraints{suffix}": text}, {"arch": arch})


@st.composite
def _template_cases(draw: st.DrawFn) -> Case:
    name, values = draw(st.sampled_from(seeds.template_seeds()))
    values = draw(mutated(values)) if draw(st.integers(0, 9)) else draw(random_structures)
    bandwidth = draw(st.one_of(st.none(), st.sampled_from([16.0, 1.0]), numbers))
    return Case("template", {}, {"template": name, "values": values, "dram_bandwidth": bandwidth})


@st.composite
def _onnx_cases(draw: st.DrawFn) -> Case:
    text = draw(st.sampled_from(seeds.onnx_seeds()))
    how = draw(st.sampled_from(["proto"] * 6 + ["bytes", "bytes", "random"]))
    if how == "proto":
        text = _mutated_onnx(text, draw)
    elif how == "bytes":
        text = draw(damaged(text))
    else:
        text = draw(st.binary(max_size=300))
    shapes = draw(st.one_of(st.none(), st.dictionaries(st.sampled_from(["x", "y", ""]),
                                                        st.lists(numbers.filter(lambda v: isinstance(v, int)),
                                                                 max_size=5), max_size=2)))
    return Case("onnx", {"model.onnx": text}, {"input_shapes": shapes})


def _mutated_onnx(text: bytes, draw: st.DrawFn) -> bytes:
    """An ONNX seed with a drawn dimension, attribute or opset set to an extreme value."""
    import onnx

    model = onnx.load_from_string(text)
    graph = model.graph
    extremes = [0, -1, -(2**40), 2**31, 2**62, 2**63 - 1]
    for _ in range(draw(st.integers(1, 3))):
        where = draw(st.sampled_from(["dim", "attr", "init", "opset", "op", "drop_node"]))
        if where == "dim":
            values = list(graph.input) + list(graph.output)
            dims = [d for v in values for d in v.type.tensor_type.shape.dim]
            if dims:
                d = draw(st.sampled_from(dims))
                if draw(st.booleans()):
                    d.dim_value = draw(st.sampled_from(extremes[1:] + [1, 3]))
                else:
                    d.dim_param = draw(st.sampled_from(["n", "", "ü"]))
        elif where == "attr":
            attrs = [a for n in graph.node for a in n.attribute]
            if attrs:
                a = draw(st.sampled_from(attrs))
                if a.ints:
                    a.ints[draw(st.integers(0, len(a.ints) - 1))] = draw(st.sampled_from(extremes))
                elif a.type == onnx.AttributeProto.INT:
                    a.i = draw(st.sampled_from(extremes))
        elif where == "init" and graph.initializer:
            init = draw(st.sampled_from(list(graph.initializer)))
            if init.dims:
                init.dims[draw(st.integers(0, len(init.dims) - 1))] = draw(st.sampled_from(extremes))
        elif where == "opset":
            model.opset_import[0].version = draw(st.sampled_from([0, 1, 7, 10**6, -1]))
        elif where == "op" and graph.node:
            node = draw(st.sampled_from(list(graph.node)))
            node.op_type = draw(st.sampled_from(["Conv", "MatMul", "Gemm", "ConvTranspose", "Relu", "", "Ünï"]))
        elif where == "drop_node" and graph.node:
            del graph.node[draw(st.integers(0, len(graph.node) - 1))]
    return model.SerializeToString()


@st.composite
def _timeloop_cases(draw: st.DrawFn) -> Case:
    """The four Timeloop files of a seed, one or two of them mutated (and maybe damaged), one time in ten
    one of them left out."""
    texts = {k: v.encode() for k, v in draw(st.sampled_from(seeds.timeloop_seeds())).items()}
    for key in draw(st.lists(st.sampled_from(sorted(texts)), min_size=1, max_size=2, unique=True)):
        texts[key] = draw(damaged(_dump(draw(mutated(yaml.safe_load(texts[key]))), False)))
    if draw(st.integers(0, 9)) == 0:
        del texts[draw(st.sampled_from(sorted(texts)))]
    return Case("timeloop", {f"{k}.yaml": v for k, v in texts.items()})


@st.composite
def _reference_cases(draw: st.DrawFn) -> Case:
    records = draw(st.lists(st.sampled_from(seeds.reference_seeds()).flatmap(
        lambda r: st.one_of(mutated(r), st.just(r))), min_size=1, max_size=3))
    lines = [json.dumps(r).encode() for r in records]
    if draw(st.integers(0, 4)) == 0:
        lines.append(draw(damaged(json.dumps(draw(random_structures)).encode())))
    return Case("reference", {"records.jsonl": draw(damaged(b"\n".join(lines) + b"\n"))})


# The numeric options of the commands, as (command, option).
NUMERIC_OPTIONS: tuple[tuple[str, str], ...] = (
    ("map", "budget"), ("map", "time-limit"), ("map", "seed"), ("map", "jobs"),
    ("codesign", "hw-budget"), ("codesign", "hw-batch"), ("codesign", "mapper-budget"), ("codesign", "seed"),
    ("codesign", "jobs"), ("validate", "limit"), ("study-work", "idle-timeout"), ("study-work", "poll"),
    ("study-work", "hw-budget"), ("study-work", "jobs"),
)


@st.composite
def _option_cases(draw: st.DrawFn) -> Case:
    command, option = draw(st.sampled_from(NUMERIC_OPTIONS))
    value = draw(st.one_of(numbers, st.integers(1, 64)))
    return Case("options", {}, {"command": command, "option": option, "value": value})


# Options whose value is text the library parses: (option, valid seed texts).
TEXT_OPTIONS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("shape", ("K=64 C=64 P=56 Q=56 R=3 S=3", "N=2 K=8 C=4 P=6 Q=6 R=3 S=3 Wstride=2 Hstride=2,Wdilation=1")),
    ("input-shape", ("x=1x3x224x224", "x=1x3x8x8,mask=2x4")),
    ("area-budget", ("12.5", "eyeriss-168", "simple-64")),
    ("objective", ("edp", "energy", "ednp:2", "pareto")),
)
EXTREME_TEXTS = ("0", "-1", "1e30", "1E3", "nan", "inf", "1.5", "", "9223372036854775808", "4611686018427387905",
                 "9" * 40, "\u0663", "\uff11", "0x10", "+3", "1_000", " ", "=", "x", ",", ":")


@st.composite
def _mutated_text(draw: st.DrawFn, text: str) -> str:
    """``text`` with a number replaced by an extreme word, or a character dropped, doubled or inserted."""
    how = draw(st.sampled_from(["number", "number", "number", "drop", "double", "insert", "random"]))
    numbers_at = [m.span() for m in re.finditer(r"[0-9.]+", text)]
    if how == "number" and numbers_at:
        a, b = draw(st.sampled_from(numbers_at))
        return text[:a] + draw(st.sampled_from(EXTREME_TEXTS)) + text[b:]
    if how in ("drop", "double", "insert") and text:
        i = draw(st.integers(0, len(text) - 1))
        if how == "drop":
            return text[:i] + text[i + 1:]
        extra = text[i] if how == "double" else draw(st.sampled_from(EXTREME_TEXTS + ("K=", "x", "*")))
        return text[:i] + extra + text[i:]
    return draw(st.text(max_size=30))


@st.composite
def _text_option_cases(draw: st.DrawFn) -> Case:
    option, texts = draw(st.sampled_from(TEXT_OPTIONS))
    text = draw(st.sampled_from(texts).flatmap(lambda t: st.one_of(_mutated_text(t), st.just(t))))
    return Case("text_options", {}, {"option": option, "value": text})


def option_text(value: Any) -> str:
    """How a drawn option value is typed on a command line (``1e+30``, ``nan``, ``9223372036854775808``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value) if isinstance(value, float) else str(value)


# ---- command lines ------------------------------------------------------------------------------
SMALL_SHAPE = "K=8 C=4 P=6 Q=6 R=3 S=3"
"""The small layer (:data:`.seeds.SMALL_LAYER`) as a ``--shape``."""

MAP_FLAGS = ["--optimizer", "random", "--no-report", "--json", "--out", "{dir}/out"]
"""The flags of every ``cosearch map`` of the CLI sample (``{dir}``: the case's folder)."""

QUICK_MAP = ["--budget", "20", *MAP_FLAGS]
"""A short ``cosearch map``: 20 random evaluations."""

QUICK_CODESIGN = ["codesign", "--workload", "{dir}/net.yaml", "--hw-space", "simple", "--optimizer", "random",
                  "--no-report", "--json", "--out", "{dir}/out"]
"""A ``cosearch codesign`` of the small layer on the simple space (with one point and 10 mapper
evaluations, about a second)."""

MALFORMED_OPTION_TEXTS = ("-1", "-9223372036854775809", "9223372036854775808", "4611686018427387905", "1e30",
                          "nan", "inf", "-inf", "1.5", "", "abc", "\uff11", "0x10")
"""Option values no numeric option takes (the CLI sample gives only these where a valid value could
start a long run: ``codesign``, ``study work``)."""


_SMALL_NET = json.dumps({"name": "fuzz-net", "layers": [seeds.SMALL_LAYER]}).encode()


def _shape_text(layer: dict[str, Any]) -> str:
    return " ".join(f"{k}={v}" for k, v in layer.items() if k != "name")


def _option_argv(command: str, option: str, value: str) -> list[str]:
    flag = [f"--{option}", value]
    if command == "map":  # a valid budget is cut short by a time limit, anything else by a budget
        bound = ["--time-limit", "0.05"] if option == "budget" else ["--budget", "20"]
        return ["map", "--arch", "simple-64", "--shape", SMALL_SHAPE, *MAP_FLAGS, *bound, *flag]
    if command == "codesign":
        quick = {"hw-budget": "1", "hw-batch": "1", "mapper-budget": "10"}
        quick.pop(option, None)
        return [*QUICK_CODESIGN, *[a for k, v in quick.items() for a in (f"--{k}", v)], *flag]
    if command == "validate":
        return ["validate", "{dir}/records.jsonl", "--json", *flag]
    return ["study", "work", "no-such-study", "--storage", "sqlite:///{dir}/studies.db", *flag]


@st.composite
def _cli_cases(draw: st.DrawFn) -> Case:
    """A command line over a drawn input of one kind (its files in ``{dir}``), or a numeric option."""
    kind = draw(st.sampled_from(["arch", "workload", "onnx", "mapping", "constraints", "timeloop", "reference",
                                 "hw_space", "results", "options", "options", "options", "text_options"]))
    if kind == "text_options":
        case = draw(KINDS[kind])
        option, text = case.args["option"], case.args["value"]
        files = {"net.yaml": _SMALL_NET, "model.onnx": seeds.onnx_seeds()[0]}
        argv = {"shape": ["map", "--arch", "simple-64", "--shape", text, *QUICK_MAP],
                "input-shape": ["workload", "show", "{dir}/model.onnx", "--input-shape", text, "--json"],
                }.get(option, [*QUICK_CODESIGN, "--hw-budget", "1", "--hw-batch", "1", "--mapper-budget", "10",
                               f"--{option}", text])
        return Case("cli", files, {"input": f"--{option}", "argv": argv})
    if kind == "options":
        command, option = draw(st.sampled_from(NUMERIC_OPTIONS))
        if command in ("codesign", "study-work"):
            value = draw(st.sampled_from(MALFORMED_OPTION_TEXTS))
        else:
            value = option_text(draw(st.one_of(numbers, st.integers(1, 64))))
        files = {"net.yaml": _SMALL_NET,
                 "records.jsonl": json.dumps(seeds.reference_seeds()[-1]).encode() + b"\n"}
        return Case("cli", files, {"input": f"{command} --{option}", "argv": _option_argv(command, option, value)})
    case = draw(KINDS[kind])
    (name,) = case.files if kind != "timeloop" else ("",)
    path = f"{{dir}}/{name}"
    if kind == "hw_space":
        space_file = [path if a == "simple" else a for a in QUICK_CODESIGN]  # --hw-space FILE
        argv = [*space_file, "--hw-budget", "1", "--mapper-budget", "10"]
        return Case("cli", {**case.files, "net.yaml": _SMALL_NET}, {"input": kind, "argv": argv})
    if kind == "results":
        files = {"run/results.json": case.files["results.json"]}
        return Case("cli", files, {"input": kind, "argv": ["report", "{dir}/run", "--out", "{dir}/report", "--json"]})
    argv = {
        "arch": ["map", "--arch", path, "--shape", SMALL_SHAPE, *QUICK_MAP],
        "workload": ["workload", "show", path, "--json"],
        "onnx": ["workload", "show", path, "--json"],
        "mapping": ["eval", "--arch", case.args.get("arch", ""), "--shape", _shape_text(case.args.get("layer", {})),
                    "--mapping", path, "--json"],
        "constraints": ["map", "--arch", case.args.get("arch", ""), "--shape", SMALL_SHAPE, "--constraints", path,
                        *QUICK_MAP],
        "timeloop": ["import", "timeloop", "{dir}", "--out", "{dir}/out", "--json"],
        "reference": ["validate", path, "--json"],
    }[kind]
    return Case("cli", case.files, {"input": kind, "argv": argv})


KINDS: dict[str, st.SearchStrategy[Case]] = {
    "arch": _file_case("arch", st.deferred(lambda: st.sampled_from(seeds.arch_seeds()))),
    "workload": _file_case("workload", st.deferred(lambda: st.sampled_from(seeds.workload_seeds()))),
    "mapping": _mapping_cases(),
    "constraints": _constraints_cases(),
    "hw_space": _file_case("hw_space", st.deferred(lambda: st.sampled_from(seeds.hw_space_seeds()))),
    "template": _template_cases(),
    "onnx": _onnx_cases(),
    "timeloop": _timeloop_cases(),
    "reference": _reference_cases(),
    "options": _option_cases(),
    "text_options": _text_option_cases(),
    "results": structured_file(st.deferred(lambda: st.sampled_from(seeds.results_seeds()))).map(
        lambda f: Case("results", {"results.json": f[1]})),
}
"""Every input kind and its strategy of :class:`Case` values."""


cli_cases = _cli_cases()
"""Command lines of the CLI sample: :class:`Case` values of kind ``cli`` with ``args["argv"]`` (``{dir}``
standing for the folder of ``files``) and ``args["input"]``, what the line fuzzes."""


def cases(kind: str) -> st.SearchStrategy[Case]:
    """The strategy of ``kind`` (one of :data:`KINDS`, or ``"cli"``)."""
    return cli_cases if kind == "cli" else KINDS[kind]
