"""Timeloop import: Timeloop input files (YAML text, parsed data, or files sorted by their top-level
keys) read back into ``(Arch, Layer, Mapping)``.

Timeloop's arch has no notion of which data spaces a level *may* hold; cosearch takes it from the
optional ``mapspace_constraints`` (``type: datatype`` entries fix a level's set), else from the rules in
:func:`_infer_keeps`. Unknown or unsupported constructs raise :class:`~cosearch.errors.CosearchError`
with one line naming the file and the key.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any, Iterable

import yaml
from pydantic import ValidationError

from ..._io import format_validation_error, read_structured_file
from ...arch.spec import Arch
from ...dims import DATASPACES, REFERENCE_DIMS
from ...errors import CosearchError
from ...limits import INT_MAX, int_limit_text
from ...mapping.mapping import Mapping, Mappings
from ...workload.layer import Layer
from ._format import FILE_KEYS, LAYER_PARAMS, NO_LINK_TRANSFER, TECHNOLOGIES


def _load(text: Any, source: str) -> Any:
    if not isinstance(text, str):
        return text
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1} column {mark.column + 1}" if mark else ""
        raise CosearchError(f"{source}: malformed YAML{where}: {getattr(exc, 'problem', None) or 'syntax error'}") \
            from None


def _section(data: Any, key: str, source: str) -> Any:
    if not isinstance(data, dict) or key not in data:
        found = ", ".join(map(str, data)) if isinstance(data, dict) else type(data).__name__
        raise CosearchError(f"{source}: key '{key}' missing (found {found or 'nothing'})")
    return data[key]


def _int(value: Any, source: str, key: str, *, low: int = 1) -> int:
    integral = isinstance(value, int) or (isinstance(value, float) and value.is_integer())
    if isinstance(value, bool) or not integral or value < low:
        raise CosearchError(f"{source}: key '{key}': expected an integer >= {low}, got {value!r}")
    if value > INT_MAX:
        raise CosearchError(f"{source}: key '{key}': at most {int_limit_text()} (cosearch counts in int64), "
                            f"got {value:.3g}")
    return int(value)


def _number(value: Any, source: str, key: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < math.inf:
        raise CosearchError(f"{source}: key '{key}': expected a finite number >= 0, got {value!r}")
    return float(value)


def _check_keys(entry: dict, allowed: Iterable[str], source: str, where: str) -> None:
    for key in entry:
        if key not in allowed:
            raise CosearchError(f"{source}: key '{where}.{key}' is not supported by cosearch's Timeloop import "
                                f"(supported: {', '.join(allowed)})")


STORAGE_KEYS = ("name", "technology", "entries", "instances", "meshX", "meshY", "word-bits", "block-size",
                "read_bandwidth", "write_bandwidth", "shared_bandwidth")
ARITH_KEYS = ("name", "instances", "meshX", "meshY", "word-bits")


def _mesh(entry: dict, instances: int, source: str, where: str) -> tuple[int, int]:
    mx = entry.get("meshX")
    my = entry.get("meshY")
    if mx is None and my is None:
        return (instances, 1) if instances > 1 else (1, 1)
    if mx is None:
        my = _int(my, source, f"{where}.meshY")
        mx = instances // my
    else:
        mx = _int(mx, source, f"{where}.meshX")
        my = _int(my, source, f"{where}.meshY") if my is not None else instances // mx
    if mx * my != instances:
        raise CosearchError(f"{source}: key '{where}.meshX': meshX × meshY = {mx}×{my} must equal instances {instances}")
    return mx, my


def _ert_tables(data: Any, source: str) -> dict[str, dict[str, float]]:
    ert = _section(data, "ERT", source)
    tables = _section(ert, "tables", source) if isinstance(ert, dict) else None
    if not isinstance(tables, list):
        raise CosearchError(f"{source}: key 'ERT.tables': expected a list of tables")
    out: dict[str, dict[str, float]] = {}
    for i, table in enumerate(tables):
        where = f"ERT.tables[{i}]"
        if not isinstance(table, dict) or "name" not in table or not isinstance(table.get("actions"), list):
            raise CosearchError(f"{source}: key '{where}': expected a table with 'name' and 'actions'")
        # "System.PE[0..167].RF" -> "RF": the component's own name
        comp = re.sub(r"\[[^\]]*\]", "", str(table["name"])).split(".")[-1]
        actions: dict[str, float] = {}
        for j, act in enumerate(table["actions"]):
            if not isinstance(act, dict) or "name" not in act or "energy" not in act:
                raise CosearchError(f"{source}: key '{where}.actions[{j}]': expected {{name, energy}}")
            if act.get("arguments"):
                raise CosearchError(f"{source}: key '{where}.actions[{j}].arguments': actions with arguments "
                                    "are not supported")
            actions[str(act["name"])] = _number(act["energy"], source, f"{where}.actions[{j}].energy")
        out[comp] = actions
    return out


def _energy(tables: dict[str, dict[str, float]], comp: str, action: str, source: str) -> float:
    if comp not in tables:
        raise CosearchError(f"{source}: key 'ERT.tables': no table for component {comp!r} "
                            f"(tables: {', '.join(tables) or 'none'})")
    if action not in tables[comp]:
        raise CosearchError(f"{source}: key 'ERT.tables.{comp}.{action}': action missing")
    return tables[comp][action]


def _datatype_entries(entries: list, source: str, key: str) -> dict[str, list[str]]:
    """``target -> kept data spaces`` of the ``datatype``/``bypass`` entries of a mapping or constraints list."""
    out: dict[str, list[str]] = {}
    for i, e in enumerate(entries):
        if not isinstance(e, dict) or e.get("type") not in ("datatype", "bypass"):
            continue
        where = f"{key}[{i}]"
        target = e.get("target")
        keep, bypass = e.get("keep"), e.get("bypass")
        for name, lst in (("keep", keep), ("bypass", bypass)):
            if lst is not None and (not isinstance(lst, list) or any(d not in DATASPACES for d in lst)):
                raise CosearchError(f"{source}: key '{where}.{name}': expected a list of {', '.join(DATASPACES)}")
        if keep is None and bypass is None:
            raise CosearchError(f"{source}: key '{where}': a datatype entry needs 'keep' or 'bypass'")
        if keep is not None:
            kept = [d for d in DATASPACES if d in keep]
        else:
            kept = [d for d in DATASPACES if d not in bypass]
        if keep is not None and bypass is not None and set(keep) & set(bypass):
            raise CosearchError(f"{source}: key '{where}': {', '.join(set(keep) & set(bypass))} both kept and bypassed")
        out[str(target)] = kept
    return out


_NAME_HINTS = {"Inputs": ("ifmap", "input", "iact"), "Weights": ("weight", "filter"),
               "Outputs": ("psum", "output", "ofmap")}


def _infer_keeps(name: str, index: int, mapped: list[str] | None) -> tuple[list[str], bool]:
    """``(keeps, keeps_fixed)`` of a level without a datatype constraint (see docs/timeloop.md):

    * the outermost level keeps everything, fixed (Timeloop's backing store);
    * a level the mapping restricts to exactly one data space that its name names (``ifmap_spad``,
      ``weights_spad``, ``psum_spad``, ...) is fixed to it (Eyeriss-style scratchpads);
    * any other level may keep every data space and a mapping may bypass any (Timeloop's default).
    """
    if index == 0:
        return list(DATASPACES), True
    if mapped is not None and len(mapped) == 1:
        lower = name.lower()
        if any(h in lower for h in _NAME_HINTS[mapped[0]]):
            return list(mapped), True
    return list(DATASPACES), False


def _arch_from(data: Any, ert: dict[str, dict[str, float]], kept: dict[str, list[str]],
               fixed: dict[str, list[str]], source: str, ert_source: str, name: str) -> tuple[Arch, str]:
    if isinstance(data, dict) and "architecture" in data and "arch" not in data:
        raise CosearchError(f"{source}: key 'architecture': hierarchical Timeloop architectures are not "
                            "supported; use the flat 'arch: {arithmetic, storage}' form")
    arch = _section(data, "arch", source)
    if not isinstance(arch, dict):
        raise CosearchError(f"{source}: key 'arch': expected a mapping with 'arithmetic' and 'storage'")
    _check_keys(arch, ("arithmetic", "storage"), source, "arch")
    arith = _section(arch, "arithmetic", source)
    storage = _section(arch, "storage", source)
    if not isinstance(arith, dict):
        raise CosearchError(f"{source}: key 'arch.arithmetic': expected a mapping")
    if not isinstance(storage, list) or not storage:
        raise CosearchError(f"{source}: key 'arch.storage': expected a non-empty list of levels")
    _check_keys(arith, ARITH_KEYS, source, "arch.arithmetic")
    mac_name = str(arith.get("name", "mac"))
    mac_inst = _int(arith.get("instances", 1), source, "arch.arithmetic.instances")
    mx, my = _mesh(arith, mac_inst, source, "arch.arithmetic")
    mac = {"instances": mac_inst, "mesh_x": mx, "mesh_y": my,
           "energy_pj": _energy(ert, mac_name, "mac_random", ert_source),
           "word_bits": _int(arith.get("word-bits", 16), source, "arch.arithmetic.word-bits")}
    levels = []
    outer_first = list(reversed(storage))
    for i, entry in enumerate(outer_first):
        where = f"arch.storage[{len(storage) - 1 - i}]"
        if not isinstance(entry, dict) or "name" not in entry:
            raise CosearchError(f"{source}: key '{where}': expected a level with a 'name'")
        _check_keys(entry, STORAGE_KEYS, source, where)
        lname = str(entry["name"])
        if _int(entry.get("block-size", 1), source, f"{where}.block-size") != 1:
            raise CosearchError(f"{source}: key '{where}.block-size': only block-size 1 is supported")
        tech = str(entry.get("technology", "SRAM"))
        if tech.upper() not in TECHNOLOGIES:
            raise CosearchError(f"{source}: key '{where}.technology': {tech!r} is not supported (DRAM, SRAM, regfile)")
        inst = _int(entry.get("instances", 1), source, f"{where}.instances")
        lx, ly = _mesh(entry, inst, source, where)
        if lname in fixed:
            keeps, keeps_fixed = fixed[lname], True
        else:
            keeps, keeps_fixed = _infer_keeps(lname, i, kept.get(lname))
        levels.append({
            "name": lname,
            "size_words": _int(entry["entries"], source, f"{where}.entries") if "entries" in entry else None,
            "word_bits": _int(entry.get("word-bits", 16), source, f"{where}.word-bits"),
            "instances": inst, "mesh_x": lx, "mesh_y": ly, "keeps": keeps, "keeps_fixed": keeps_fixed,
            "energy_pj": {a: _energy(ert, lname, f"random_{a}", ert_source) for a in ("read", "fill", "update")},
            "bandwidth": {k: (_number(entry[f"{k}_bandwidth"], source, f"{where}.{k}_bandwidth")
                              if f"{k}_bandwidth" in entry else None) for k in ("read", "write", "shared")},
            "technology": TECHNOLOGIES[tech.upper()],
        })
    try:
        return Arch(name=name, levels=levels, mac=mac), mac_name
    except ValidationError as err:
        raise CosearchError(format_validation_error(err, source)) from None


def _layer_from(data: Any, source: str, name: str) -> Layer:
    prob = _section(data, "problem", source)
    if not isinstance(prob, dict):
        raise CosearchError(f"{source}: key 'problem': expected a mapping with 'shape' and 'instance'")
    _check_keys(prob, ("shape", "instance"), source, "problem")
    shape = prob.get("shape", "cnn-layer")
    if shape != "cnn-layer":
        raise CosearchError(f"{source}: key 'problem.shape': only the built-in 'cnn-layer' shape is supported, "
                            f"got {shape if isinstance(shape, str) else 'a custom shape'}")
    inst = _section(prob, "instance", source)
    if not isinstance(inst, dict):
        raise CosearchError(f"{source}: key 'problem.instance': expected a mapping of dimension sizes")
    _check_keys(inst, REFERENCE_DIMS + LAYER_PARAMS, source, "problem.instance")
    fields = {k: _int(v, source, f"problem.instance.{k}") for k, v in inst.items()}
    try:
        return Layer(name=name, **fields)
    except ValidationError as err:
        raise CosearchError(format_validation_error(err, f"{source}: key 'problem.instance'")) from None


def _factor_string(text: Any, source: str, where: str) -> dict[str, int]:
    if not isinstance(text, str):
        raise CosearchError(f"{source}: key '{where}': expected a string such as 'N1 K2 C3 ...'")
    out = {d: 1 for d in REFERENCE_DIMS}
    for word in text.split():
        m = re.fullmatch(r"([A-Za-z]+)=?(\d+)", word)
        if not m or m.group(1) not in REFERENCE_DIMS:
            raise CosearchError(f"{source}: key '{where}': cannot read factor {word!r} "
                                f"(dimensions {' '.join(REFERENCE_DIMS)})")
        out[m.group(1)] = int(m.group(2))
        if out[m.group(1)] < 1:
            raise CosearchError(f"{source}: key '{where}': factor {word!r} must be >= 1")
    return out


def _perm(text: Any, source: str, where: str) -> list[str]:
    """Timeloop permutation (inner -> outer) as a list, checked."""
    letters = list(str(text or "").replace(" ", ""))
    bad = [c for c in letters if c not in REFERENCE_DIMS]
    if bad or len(set(letters)) != len(letters):
        raise CosearchError(f"{source}: key '{where}': {text!r} is not a permutation of {''.join(REFERENCE_DIMS)}")
    return letters


def _mapping_entries(data: Any, source: str) -> list:
    entries = _section(data, "mapping", source)
    if isinstance(entries, dict):
        raise CosearchError(f"{source}: key 'mapping': expected the list form (entries with target, type, factors)")
    if not isinstance(entries, list):
        raise CosearchError(f"{source}: key 'mapping': expected a list of entries")
    return entries


def _mapping_from(entries: list, arch: Arch, source: str, name: str) -> Mapping:
    names = arch.level_names
    levels: dict[str, dict[str, Any]] = {n: {"level": n} for n in names}
    nlt: list[str] = []
    kept = _datatype_entries(entries, source, "mapping")
    for i, e in enumerate(entries):
        where = f"mapping[{i}]"
        if not isinstance(e, dict):
            raise CosearchError(f"{source}: key '{where}': expected a mapping entry")
        kind = e.get("type")
        if kind not in ("temporal", "spatial", "datatype", "bypass"):
            raise CosearchError(f"{source}: key '{where}.type': {kind!r} is not supported "
                                "(temporal, spatial, datatype)")
        target = e.get("target")
        if target not in levels:
            raise CosearchError(f"{source}: key '{where}.target': unknown level {target!r} (levels: {', '.join(names)})")
        if kind in ("datatype", "bypass"):
            _check_keys(e, ("target", "type", "keep", "bypass"), source, where)
            levels[target]["keep"] = kept[target]
            continue
        allowed = ("target", "type", "factors", "permutation") + (("split", "no_link_transfer") if kind == "spatial" else ())
        _check_keys(e, allowed, source, where)
        factors = _factor_string(e.get("factors", ""), source, f"{where}.factors")
        perm = _perm(e.get("permutation", ""), source, f"{where}.permutation")
        if kind == "temporal":
            if "temporal" in levels[target]:
                raise CosearchError(f"{source}: key '{where}': a second temporal entry for {target}")
            levels[target]["temporal"] = factors
            levels[target]["permutation"] = "".join(reversed(perm))
            continue
        if "spatial" in levels[target]:
            raise CosearchError(f"{source}: key '{where}': a second spatial entry for {target}")
        full = perm + [d for d in REFERENCE_DIMS if d not in perm]
        split = _int(e.get("split", len(full)), source, f"{where}.split", low=0)
        xs, ys = full[:split], full[split:]
        levels[target]["spatial"] = {
            "X": {d: (factors[d] if d in xs else 1) for d in REFERENCE_DIMS},
            "Y": {d: (factors[d] if d in ys else 1) for d in REFERENCE_DIMS},
            "permutation_X": "".join(d for d in reversed(xs) if factors[d] > 1),
            "permutation_Y": "".join(d for d in reversed(ys) if factors[d] > 1),
        }
        lt = e.get("no_link_transfer")
        if lt is not None:
            if not isinstance(lt, list) or any(d not in DATASPACES for d in lt):
                raise CosearchError(f"{source}: key '{where}.no_link_transfer': expected a list of data spaces")
            nlt = [d for d in DATASPACES if d in lt]
    suffix = ""
    if nlt:
        suffix = NO_LINK_TRANSFER if len(nlt) == len(DATASPACES) else f"{NO_LINK_TRANSFER}={','.join(nlt)}"
    try:
        mapping = Mapping.model_validate({"levels": [levels[n] for n in names], "source": f"{name}{suffix}"})
    except ValidationError as err:
        raise CosearchError(format_validation_error(err, source)) from None
    Mappings.from_list([mapping], arch, source=source)  # level/fan-out/keep checks, one line on failure
    return mapping


def from_timeloop(arch_yaml: str | dict, problem_yaml: str | dict, mapping_yaml: str | dict, ert_yaml: str | dict,
                  constraints_yaml: str | dict | None = None, *, name: str = "timeloop",
                  layer_name: str = "layer", sources: dict[str, str] | None = None) -> tuple[Arch, Layer, Mapping]:
    """Read Timeloop inputs (YAML text or parsed data) into ``(Arch, Layer, Mapping)``.

    ``constraints_yaml`` (optional ``mapspace_constraints``) fixes the data spaces of the levels its
    ``datatype`` entries name; ``sources`` names the files in error messages (keys ``arch``, ``problem``,
    ``mapping``, ``ERT``, ``constraints``).
    """
    src = {"arch": "arch.yaml", "problem": "problem.yaml", "mapping": "mapping.yaml", "ERT": "ERT.yaml",
           "constraints": "constraints.yaml", **(sources or {})}
    arch_data = _load(arch_yaml, src["arch"])
    entries = _mapping_entries(_load(mapping_yaml, src["mapping"]), src["mapping"])
    ert = _ert_tables(_load(ert_yaml, src["ERT"]), src["ERT"])
    fixed: dict[str, list[str]] = {}
    if constraints_yaml is not None:
        cdata = _load(constraints_yaml, src["constraints"])
        if isinstance(cdata, dict) and "mapspace" in cdata and "mapspace_constraints" not in cdata:
            cdata = {"mapspace_constraints": (cdata["mapspace"] or {}).get("constraints")
                     if isinstance(cdata["mapspace"], dict) else cdata["mapspace"]}
        clist = _section(cdata, "mapspace_constraints", src["constraints"])
        if clist is not None and not isinstance(clist, list):
            raise CosearchError(f"{src['constraints']}: key 'mapspace_constraints': expected a list")
        fixed = _datatype_entries(clist or [], src["constraints"], "mapspace_constraints")
    kept = _datatype_entries(entries, src["mapping"], "mapping")
    arch, _ = _arch_from(arch_data, ert, kept, fixed, src["arch"], src["ERT"], name)
    layer = _layer_from(_load(problem_yaml, src["problem"]), src["problem"], layer_name)
    mapping = _mapping_from(entries, arch, src["mapping"], "timeloop")
    return arch, layer, mapping


def read_timeloop_files(paths: Iterable[str | Path]) -> dict[str, tuple[Any, str]]:
    """Parse Timeloop input files (or every ``*.yaml``/``*.yml`` of a directory) and sort them by their
    top-level keys: ``{"arch"|"problem"|"mapping"|"ERT"|"constraints": (data, file name)}``.
    Files with other top-level keys (e.g. a mapper config) are ignored; a key found twice is an error."""
    files: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            found = sorted(q for q in p.iterdir() if q.suffix.lower() in (".yaml", ".yml") and q.is_file())
            if not found:
                raise CosearchError(f"{p}: no .yaml files in this directory")
            files += found
        else:
            files.append(p)
    out: dict[str, tuple[Any, str]] = {}
    for f in files:
        data = read_structured_file(f)
        if not isinstance(data, dict):
            continue
        for key, kind in FILE_KEYS.items():
            if key in data:
                if kind in out:
                    raise CosearchError(f"{f}: key '{key}' also given in {out[kind][1]}")
                out[kind] = ({key: data[key]}, str(f))
    for kind, key in (("arch", "arch"), ("problem", "problem"), ("mapping", "mapping"), ("ERT", "ERT")):
        if kind not in out:
            raise CosearchError(f"{', '.join(map(str, files))}: no file has the top-level key '{key}' "
                                "(need arch, problem, mapping and ERT)")
    return out


def import_timeloop_files(paths: Iterable[str | Path], *, name: str = "timeloop",
                          layer_name: str = "layer") -> tuple[Arch, Layer, Mapping]:
    """:func:`from_timeloop` on files (see :func:`read_timeloop_files`)."""
    found = read_timeloop_files(paths)
    constraints = found.get("constraints")
    return from_timeloop(found["arch"][0], found["problem"][0], found["mapping"][0], found["ERT"][0],
                         constraints[0] if constraints else None, name=name, layer_name=layer_name,
                         sources={k: v[1] for k, v in found.items()})


__all__ = ["from_timeloop", "read_timeloop_files", "import_timeloop_files"]
