"""Mapspace constraints (Timeloop's ``mapspace_constraints`` / ``architecture_constraints``) and named
dataflows.

A :class:`Constraints` object is a list of items, each one of:

* ``temporal`` at a level: fixed temporal ``factors`` per dim (``0`` = the *residual*: all of the dim
  that the other fixed factors leave, so every unconstrained slot of that dim is 1; a missing dim is
  free) and a loop ``permutation`` (outer -> inner; a partial one lists the innermost loops);
* ``spatial`` at the fan-out level: ``x_dims`` / ``y_dims`` (the only dims that may be spread over the
  mesh's X / Y axis) and fixed ``x_factors`` / ``y_factors`` (``0`` = residual, as above);
* ``bypass`` at a level: data spaces it must ``keep`` and data spaces it must ``bypass``;
* ``utilization``: ``min``, the smallest fraction of the PEs a mapping must use (product of its
  spatial factors / PEs).

The file format and the dataflows are documented in ``docs/formats.md`` ("Mapspace constraints").
:func:`load_constraints` reads a YAML/JSON file or builds a named dataflow for an architecture;
:func:`resolve_constraints` turns constraints into per-slot requirements for one layer (used by
:class:`~cosearch.mapping.space.MapSpace`), raising :class:`CosearchError` naming the constraint a
layer cannot satisfy.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal, Union

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from ..arch.spec import Arch
from ..dims import DATASPACES, DIM_INDEX, DIMS, DS_INDEX, NUM_DATASPACES, NUM_DIMS
from ..errors import CosearchError

DIM_ALIASES = {"M": "K"}
"""Timeloop writes output channels as ``M``; constraints accept it as an alias of ``K``."""

_TYPES = ("temporal", "spatial", "bypass", "utilization")


# ---- parsing helpers ---------------------------------------------------------------------------
def _dim_name(name: Any) -> str:
    text = str(name).strip()
    text = DIM_ALIASES.get(text, text)
    if text not in DIM_INDEX:
        raise ValueError(f"unknown dimension {name!r} (dimensions are {', '.join(DIMS)}; M = K)")
    return text


def _parse_factors(value: Any) -> dict[str, int]:
    """``{dim: factor}`` from a dict or a Timeloop string such as ``"R=3 S=1"`` / ``"R=3,S=1"``."""
    if value is None:
        return {}
    if isinstance(value, str):
        out: dict[str, int] = {}
        for word in re.split(r"[\s,]+", value.strip()):
            if not word:
                continue
            m = re.fullmatch(r"([A-Za-z])\s*=\s*(\d+)", word)
            if m is None:
                raise ValueError(f"expected DIM=FACTOR words such as 'R=3 S=0', got {word!r}")
            dim = _dim_name(m.group(1))
            if dim in out:
                raise ValueError(f"dimension {dim} given twice")
            out[dim] = int(m.group(2))
        return out
    if isinstance(value, dict):
        out = {}
        for key, factor in value.items():
            dim = _dim_name(key)
            if dim in out:
                raise ValueError(f"dimension {dim} given twice")
            if isinstance(factor, bool) or not isinstance(factor, int) or factor < 0:
                raise ValueError(f"factor of {dim} must be an integer >= 0 (0 = all that is left), got {factor!r}")
            out[dim] = factor
        return out
    raise ValueError(f"expected a mapping {{DIM: factor}} or a string 'R=3 S=0', got {type(value).__name__}")


def _parse_dims(value: Any) -> list[str] | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = [ch for ch in value if not ch.isspace() and ch != ","]
    if not isinstance(value, (list, tuple)):
        raise ValueError(f"expected a list of dimensions such as [Q, K], got {type(value).__name__}")
    dims = [_dim_name(v) for v in value]
    if len(set(dims)) != len(dims):
        raise ValueError(f"a dimension is listed twice in {value}")
    return dims


def _parse_permutation(value: Any) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ValueError(f"expected a loop order string such as 'RC' (outer -> inner), got {type(value).__name__}")
    dims = [_dim_name(ch) for ch in value if not ch.isspace()]
    if len(set(dims)) != len(dims):
        raise ValueError(f"a dimension appears twice in the loop order {value!r}")
    return "".join(dims)


def _parse_dataspaces(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, (list, tuple)):
        raise ValueError(f"expected a list of data spaces, got {type(value).__name__}")
    bad = [v for v in value if v not in DATASPACES]
    if bad:
        raise ValueError(f"unknown data space(s) {bad} (data spaces are {', '.join(DATASPACES)})")
    if len(set(value)) != len(value):
        raise ValueError(f"a data space is listed twice in {list(value)}")
    return list(value)


# ---- the model ---------------------------------------------------------------------------------
class _Item(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    note: str = Field("", description="free text, shown in messages")


class TemporalConstraint(_Item):
    """Temporal factors and loop order at one level."""

    type: Literal["temporal"]
    target: str
    factors: dict[str, int] = Field(default_factory=dict)
    permutation: str = ""

    _f = field_validator("factors", mode="before")(classmethod(lambda cls, v: _parse_factors(v)))
    _p = field_validator("permutation", mode="before")(classmethod(lambda cls, v: _parse_permutation(v)))


class SpatialConstraint(_Item):
    """Which dims may be spread over the mesh below the fan-out level, and fixed spatial factors."""

    type: Literal["spatial"]
    target: str | None = None
    x_dims: list[str] | None = None
    y_dims: list[str] | None = None
    x_factors: dict[str, int] = Field(default_factory=dict)
    y_factors: dict[str, int] = Field(default_factory=dict)

    _f = field_validator("x_factors", "y_factors", mode="before")(classmethod(lambda cls, v: _parse_factors(v)))
    _d = field_validator("x_dims", "y_dims", mode="before")(classmethod(lambda cls, v: _parse_dims(v)))

    @model_validator(mode="before")
    @classmethod
    def _no_timeloop_spatial_keys(cls, data: Any) -> Any:
        if isinstance(data, dict):
            for key in ("permutation", "split", "factors"):
                if key in data:
                    raise ValueError(
                        f"spatial items take x_dims/y_dims and x_factors/y_factors, not Timeloop's '{key}' "
                        "(the order of spatial loops is not constrained)"
                    )
        return data

    @model_validator(mode="after")
    def _factors_on_allowed_dims(self) -> "SpatialConstraint":
        for axis in ("x", "y"):
            dims = getattr(self, f"{axis}_dims")
            if dims is None:
                continue
            for dim, f in getattr(self, f"{axis}_factors").items():
                if f != 1 and dim not in dims:
                    raise ValueError(f"{axis}_factors fixes {dim}={f} but {axis}_dims does not list {dim}")
        return self


class BypassConstraint(_Item):
    """Data spaces a level must keep and data spaces it must bypass (others: the mapping chooses)."""

    type: Literal["bypass"]
    target: str
    keep: list[str] = Field(default_factory=list)
    bypass: list[str] = Field(default_factory=list)

    _d = field_validator("keep", "bypass", mode="before")(classmethod(lambda cls, v: _parse_dataspaces(v)))

    @model_validator(mode="after")
    def _disjoint(self) -> "BypassConstraint":
        both = [d for d in self.keep if d in self.bypass]
        if both:
            raise ValueError(f"{', '.join(both)} is both kept and bypassed")
        return self


class UtilizationConstraint(_Item):
    """At least ``min`` of the PEs must be used (product of the spatial factors / PEs)."""

    type: Literal["utilization"]
    min: float = Field(gt=0.0, le=1.0)


Constraint = Annotated[
    Union[TemporalConstraint, SpatialConstraint, BypassConstraint, UtilizationConstraint], Field(discriminator="type")
]


class Constraints(BaseModel):
    """Mapspace constraints: a list of items (see the module docstring), optionally on top of a named
    ``dataflow`` (its items come first). ``source`` names where they came from (a file, or
    ``dataflow <name>``) and prefixes every message about them."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = ""
    description: str = ""
    dataflow: str | None = None
    permutation_order: Literal["outer_to_inner", "inner_to_outer"] = "outer_to_inner"
    constraints: list[Constraint] = Field(default_factory=list)
    source: str = ""

    @model_validator(mode="before")
    @classmethod
    def _normalise_permutations(cls, data: Any) -> Any:
        """``permutation_order: inner_to_outer`` (Timeloop's way of writing loop orders): reverse every
        temporal ``permutation`` so that the stored items read outer -> inner."""
        if isinstance(data, dict) and data.get("permutation_order") == "inner_to_outer":
            items = data.get("constraints")
            if isinstance(items, list):
                fixed = []
                for item in items:
                    if isinstance(item, dict) and item.get("type") == "temporal" and isinstance(
                        item.get("permutation"), str
                    ):
                        perm = item["permutation"]
                        item = {**item, "permutation": "".join(ch for ch in reversed(perm) if not ch.isspace())}
                    fixed.append(item)
                data = {**data, "constraints": fixed, "permutation_order": "outer_to_inner"}
        return data

    @field_validator("constraints", mode="before")
    @classmethod
    def _items(cls, value: Any) -> Any:
        if value is None:
            return []
        if isinstance(value, list):
            for i, item in enumerate(value):
                if isinstance(item, dict) and item.get("type") not in _TYPES:
                    what = f"unknown type {item['type']!r}" if "type" in item else "no 'type'"
                    raise ValueError(f"item [{i}] has {what} (types are {', '.join(_TYPES)})")
        return value

    @field_validator("dataflow")
    @classmethod
    def _known_dataflow(cls, value: str | None) -> str | None:
        if value is not None:
            return dataflow_name(value)
        return value

    @property
    def label(self) -> str:
        """Short name for reports: the ``name``, else the source."""
        return self.name or self.source or (f"dataflow {self.dataflow}" if self.dataflow else "constraints")

    def item_label(self, i: int) -> str:
        """``<source>: constraints[i] (<type> at <target>)`` for messages."""
        item = self.constraints[i]
        where = getattr(item, "target", None)
        kind = item.type + (f" at {where}" if where else "")
        prefix = f"{self.source}: " if self.source else ""
        return f"{prefix}constraints[{i}] ({kind})"

    # ---- architecture checks -----------------------------------------------------------------
    def expand(self, arch: Arch) -> "Constraints":
        """These constraints with the items of ``dataflow`` (if any) prepended, checked against ``arch``."""
        if self.dataflow is None:
            self.check(arch)
            return self
        base = dataflow_constraints(self.dataflow, arch)
        merged = Constraints(
            name=self.name or base.name,
            description=self.description or base.description,
            dataflow=None,
            constraints=list(base.constraints) + list(self.constraints),
            source=self.source or base.source,
        )
        merged.check(arch)
        return merged

    def check(self, arch: Arch) -> None:
        """Raise :class:`CosearchError` (naming the item and field) if an item does not fit ``arch``
        or contradicts another item. Layer-independent; :func:`resolve_constraints` does the rest."""
        names = arch.level_names
        f = arch.fanout_level
        prefix = f"{self.source}: " if self.source else ""
        seen_t: dict[tuple[str, int, str], tuple[int, int]] = {}  # (slot kind, level, dim) -> (item, value)
        seen_k: dict[tuple[int, str], tuple[int, bool]] = {}
        seen_p: dict[int, tuple[int, str]] = {}
        residual: dict[str, tuple[int, tuple[str, int]]] = {}
        for i, item in enumerate(self.constraints):
            at = f"{prefix}constraints[{i}]"
            level = None
            if isinstance(item, UtilizationConstraint):
                continue
            if item.target is not None:
                if item.target not in names:
                    raise CosearchError(
                        f"{at}.target: unknown level {item.target!r} (the arch {arch.name} has {', '.join(names)})"
                    )
                level = names.index(item.target)
            if isinstance(item, SpatialConstraint):
                if level is not None and level != f:
                    raise CosearchError(
                        f"{at}.target: spatial constraints go on the fan-out level {names[f]} (the parent of the "
                        f"PE array), not {item.target}"
                    )
                slots = [("X", item.x_factors), ("Y", item.y_factors)]
                level = f
            elif isinstance(item, TemporalConstraint):
                slots = [("T", item.factors)]
                if item.permutation:
                    prev = seen_p.get(level)
                    if prev is not None and prev[1] != item.permutation:
                        raise CosearchError(
                            f"{at}.permutation: {item.permutation!r} contradicts {prefix}constraints[{prev[0]}] "
                            f"({prev[1]!r}) at level {item.target}"
                        )
                    seen_p[level] = (i, item.permutation)
            else:  # bypass
                lvl = arch.levels[level]
                for ds in item.keep:
                    if ds not in lvl.keeps:
                        raise CosearchError(
                            f"{at}.keep: level {lvl.name} cannot keep {ds} (it may keep {', '.join(lvl.keeps) or 'nothing'})"
                        )
                for ds in item.bypass:
                    if ds in lvl.keeps and (lvl.keeps_fixed or level == 0):
                        raise CosearchError(
                            f"{at}.bypass: level {lvl.name} always keeps {ds} (its data spaces are fixed by the arch)"
                        )
                for ds, kept in [(d, True) for d in item.keep] + [(d, False) for d in item.bypass]:
                    prev = seen_k.get((level, ds))
                    if prev is not None and prev[1] != kept:
                        raise CosearchError(
                            f"{at}: {ds} at {lvl.name} is {'kept' if kept else 'bypassed'} here but "
                            f"{'kept' if prev[1] else 'bypassed'} by {prefix}constraints[{prev[0]}]"
                        )
                    seen_k[(level, ds)] = (i, kept)
                continue
            for kind, factors in slots:
                for dim, value in factors.items():
                    key = (kind, level, dim)
                    prev = seen_t.get(key)
                    if prev is not None and prev[1] != value:
                        raise CosearchError(
                            f"{at}: {dim}={value} contradicts {dim}={prev[1]} in {prefix}constraints[{prev[0]}]"
                        )
                    seen_t[key] = (i, value)
                    if value == 0:
                        prev_r = residual.get(dim)
                        if prev_r is not None and prev_r[1] != (kind, level):
                            raise CosearchError(
                                f"{at}: {dim}=0 (all that is left) is also given by {prefix}constraints[{prev_r[0]}]; "
                                "a dimension can have only one residual factor"
                            )
                        residual[dim] = (i, (kind, level))


def dataflow_name(name: str) -> str:
    """Canonical dataflow name (``rs`` -> ``row-stationary``...); ``ValueError`` if unknown."""
    key = str(name).strip().lower().replace("_", "-")
    key = _DATAFLOW_ALIASES.get(key, key)
    if key not in DATAFLOWS:
        raise ValueError(f"unknown dataflow {name!r} (dataflows are {', '.join(DATAFLOWS)})")
    return key


# ---- loading -----------------------------------------------------------------------------------
def _format_error(err: ValidationError, source: str) -> str:
    first = err.errors()[0]
    parts: list[str] = []
    loc = list(first.get("loc", ()))
    for j, p in enumerate(loc):
        if isinstance(p, int):
            parts.append(f"[{p}]")
        elif p in _TYPES and j > 0 and isinstance(loc[j - 1], int):
            continue  # the discriminator tag pydantic inserts
        else:
            parts.append(("." if parts else "") + str(p))
    where = "".join(parts) or "(top level)"
    msg = first.get("msg", "invalid")
    msg = re.sub(r"^(Value|Assertion) error, ", "", msg)
    more = f" (+{err.error_count() - 1} more)" if err.error_count() > 1 else ""
    return f"{source}: {where}: {msg}{more}"


def constraints_from_data(data: Any, source: str) -> Constraints:
    """Parse a constraints object: ``{constraints: [...], name?, description?, dataflow?}``, a bare list
    of items, or Timeloop's ``{targets: [...]}`` / ``{mapspace_constraints: ...}`` nesting."""
    if isinstance(data, dict):
        for key in ("mapspace_constraints", "architecture_constraints", "mapspace"):
            if key in data and isinstance(data[key], (dict, list)) and len(data) == 1:
                data = data[key]
                break
    if isinstance(data, list):
        data = {"constraints": data}
    if isinstance(data, dict) and "targets" in data and "constraints" not in data:
        data = {**{k: v for k, v in data.items() if k != "targets"}, "constraints": data["targets"]}
    if not isinstance(data, dict):
        raise CosearchError(f"{source}: expected a mapping with a 'constraints' list, got {type(data).__name__}")
    data = {**data, "source": source}
    try:
        return Constraints.model_validate(data)
    except ValidationError as err:
        raise CosearchError(_format_error(err, source)) from None


def load_constraints(name_or_path: str | Path | Constraints | dict, arch: Arch) -> Constraints:
    """Constraints for ``arch`` from a dataflow name (:data:`DATAFLOWS`), a YAML/JSON file, a dict or a
    :class:`Constraints` object; checked against the arch (dataflow items expanded). Raises
    :class:`CosearchError` with one line naming the file and field on bad input."""
    if isinstance(name_or_path, Constraints):
        return name_or_path.expand(arch)
    if isinstance(name_or_path, dict):
        return constraints_from_data(name_or_path, "constraints").expand(arch)
    text = str(name_or_path)
    try:
        key = dataflow_name(text)
    except ValueError:
        key = None
    if key is not None:
        return dataflow_constraints(key, arch)
    path = Path(text)
    if not path.exists() and path.suffix == "":
        raise CosearchError(
            f"unknown constraints {text!r}: not a dataflow ({', '.join(DATAFLOWS)}) and no such file"
        )
    from .._io import read_structured_file

    return constraints_from_data(read_structured_file(path), str(path)).expand(arch)


# ---- resolution for one layer ------------------------------------------------------------------
@dataclass
class ResolvedConstraints:
    """Per-slot requirements of constraints for one (arch, layer); ``-1`` = free.

    ``req [3, L, D]``: the required factor of each slot (kind ``0`` temporal, ``1`` spatial X, ``2``
    spatial Y; spatial slots exist only at the fan-out level, elsewhere they are 1), after residuals
    are resolved (a dim with a residual is fully fixed). ``perm[l]``: dim indices of level ``l``'s
    required innermost loops (outer -> inner), or ``None``. ``keep``/``bypass [L, 3]``: forced choices.
    ``min_util``: the utilisation floor (0 = none). ``labels`` tell which item set what.
    """

    req: np.ndarray
    perm: list[list[int] | None]
    keep: np.ndarray
    bypass: np.ndarray
    min_util: float
    slot_label: dict[tuple[int, int, int], str] = field(default_factory=dict)
    perm_label: dict[int, str] = field(default_factory=dict)
    keep_label: dict[tuple[int, int], str] = field(default_factory=dict)
    util_label: str = ""

    def dim_labels(self, d: int) -> list[str]:
        return sorted({lab for (k, l, dd), lab in self.slot_label.items() if dd == d})


def resolve_constraints(constraints: Constraints, arch: Arch, layer: Any) -> ResolvedConstraints:
    """Per-slot requirements of ``constraints`` (already :meth:`~Constraints.expand`-ed) for ``layer``.

    Raises :class:`CosearchError` naming the item when the layer cannot satisfy a fixed factor (it does
    not divide the dim, or the fixed factors of a dim multiply to more than its size)."""
    L = arch.num_levels
    f = arch.fanout_level
    dims = [int(x) for x in layer.dims]
    # -1 = free, 0 = residual (until resolved below), > 0 = fixed
    req = np.full((3, L, NUM_DIMS), -1, dtype=np.int64)
    req[1:] = 1
    req[1:, f] = -1
    keep = np.zeros((L, NUM_DATASPACES), dtype=bool)
    bypass = np.zeros((L, NUM_DATASPACES), dtype=bool)
    perm: list[list[int] | None] = [None] * L
    out = ResolvedConstraints(req, perm, keep, bypass, 0.0)
    names = arch.level_names
    kinds = ("temporal", "X", "Y")

    def fix(key: tuple[int, int, int], value: int, lab: str) -> None:
        prev = int(req[key])
        if prev != -1 and prev != value:
            what = lambda v: "0 (all that is left)" if v == 0 else str(v)  # noqa: E731
            raise CosearchError(
                f"{lab}: {kinds[key[0]]} factor {DIMS[key[2]]}={what(value)} at {names[key[1]]} contradicts "
                f"{DIMS[key[2]]}={what(prev)} from {out.slot_label.get(key, 'the arch')}"
            )
        req[key] = value
        out.slot_label[key] = lab

    for i, item in enumerate(constraints.constraints):
        lab = constraints.item_label(i)
        if isinstance(item, UtilizationConstraint):
            if item.min > out.min_util:
                out.min_util = float(item.min)
                out.util_label = lab
            continue
        if isinstance(item, BypassConstraint):
            li = names.index(item.target)
            for ds in item.keep:
                keep[li, DS_INDEX[ds]] = True
                out.keep_label[(li, DS_INDEX[ds])] = lab
            for ds in item.bypass:
                if ds in arch.levels[li].keeps:  # bypassing what the level cannot hold is a no-op
                    bypass[li, DS_INDEX[ds]] = True
                    out.keep_label[(li, DS_INDEX[ds])] = lab
            continue
        if isinstance(item, TemporalConstraint):
            li = names.index(item.target)
            for dim, value in item.factors.items():
                fix((0, li, DIM_INDEX[dim]), value, lab)
            if item.permutation:
                perm[li] = [DIM_INDEX[c] for c in item.permutation]
                out.perm_label[li] = lab
            continue
        for kind, axis in ((1, "x"), (2, "y")):
            allowed = getattr(item, f"{axis}_dims")
            for dim, value in getattr(item, f"{axis}_factors").items():
                fix((kind, f, DIM_INDEX[dim]), value, lab)
            if allowed is not None:
                for d in range(NUM_DIMS):
                    if DIMS[d] not in allowed:
                        fix((kind, f, d), 1, f"{lab} ({axis}_dims)")
    where = f"layer {layer.name} ({layer.shape_text()}) on {arch.name}"
    for d in range(NUM_DIMS):
        name = DIMS[d]
        fixed = req[:, :, d]
        prod = int(np.prod(fixed[fixed > 0]))
        res = np.argwhere(fixed == 0)
        if len(res):
            key = (int(res[0][0]), int(res[0][1]), d)
            if dims[d] % prod:
                raise CosearchError(
                    f"{where}: {out.slot_label[key]}: {name}=0 (all that is left) is impossible: the other fixed "
                    f"factors of {name} ({', '.join(_others(out, d, key))}) multiply to {prod}, which does not "
                    f"divide the layer's {name}={dims[d]}"
                )
            fixed[fixed == -1] = 1  # every unconstrained slot of the dim gets 1
            fixed[key[0], key[1]] = dims[d] // prod
        elif dims[d] % prod:
            raise CosearchError(
                f"{where}: {' and '.join(out.dim_labels(d))}: fixed factors of {name} multiply to {prod}, which "
                f"does not divide the layer's {name}={dims[d]}"
            )
    return out


def _others(out: ResolvedConstraints, d: int, key: tuple[int, int, int]) -> list[str]:
    kinds = ("temporal", "X", "Y")
    res = []
    for (k, l, dd), lab in sorted(out.slot_label.items()):
        if dd == d and (k, l, dd) != key and out.req[k, l, d] > 1:
            res.append(f"{kinds[k]} {DIMS[d]}={int(out.req[k, l, d])} by {lab}")
    return res or ["none"]


# ---- named dataflows ---------------------------------------------------------------------------
def _pe_levels(arch: Arch, name: str) -> tuple[int, list[int]]:
    f = arch.fanout_level
    pe = list(range(f + 1, arch.num_levels))
    if not pe:
        raise CosearchError(
            f"dataflow {name}: the arch {arch.name} has no storage level inside the PEs (below the fan-out level "
            f"{arch.levels[f].name}), so there is nothing to keep stationary"
        )
    return f, pe


def _keeper(arch: Arch, pe: list[int], ds: str, name: str) -> int:
    """Innermost PE level that may keep ``ds``."""
    for li in reversed(pe):
        if ds in arch.levels[li].keeps:
            return li
    raise CosearchError(f"dataflow {name}: no level inside the PEs of {arch.name} can keep {ds}")


def _keep_item(arch: Arch, level: int, ds: str) -> list[dict]:
    """A ``keep`` item for ``ds`` at ``level`` unless the arch already fixes what the level holds."""
    if arch.levels[level].keeps_fixed:
        return []
    return [{"type": "bypass", "target": arch.level_names[level], "keep": [ds]}]


def _ones(dims: str) -> dict[str, int]:
    return {d: 1 for d in dims}


def _row_stationary(arch: Arch) -> list[dict]:
    name = "row-stationary"
    f, pe = _pe_levels(arch, name)
    w = _keeper(arch, pe, "Weights", name)
    o = _keeper(arch, pe, "Outputs", name)
    names = arch.level_names
    items: list[dict] = [
        {"type": "spatial", "target": names[f], "x_dims": ["Q", "K"], "y_dims": ["S", "C", "K"],
         "y_factors": {"S": 0}, "note": "filter rows (S) on PE rows, output rows (Q) across columns"},
        {"type": "temporal", "target": names[w], "factors": {**_ones("NGKPQS"), "R": 0}, "permutation": "RC",
         "note": "a filter row (all of R) and channels C stay in the weight scratchpad"},
        *_keep_item(arch, w, "Weights"),
    ]
    if o != w:
        items += [
            {"type": "temporal", "target": names[o], "factors": _ones("NGCPQRS"), "permutation": "K",
             "note": "psums of K output channels of one output position"},
            *_keep_item(arch, o, "Outputs"),
        ]
    for li in pe:
        if li not in (w, o):
            items.append({"type": "temporal", "target": names[li], "factors": _ones(DIMS), "note": "no loops here"})
    return items


def _stationary(arch: Arch, name: str, ds: str, moving: str, innermost: str, x_dims: list[str],
                y_dims: list[str]) -> list[dict]:
    """``ds`` stays in its innermost PE keeper: levels below it loop only over ``moving`` dims (those
    ``ds`` does not depend on), and from the fan-out level down to the keeper the ``innermost`` dims are
    the innermost loops, so the PE array's tile of ``ds`` changes only in the outer loops."""
    f, pe = _pe_levels(arch, name)
    k = _keeper(arch, pe, ds, name)
    names = arch.level_names
    fixed_dims = "".join(d for d in DIMS if d not in moving)
    items: list[dict] = [
        {"type": "spatial", "target": names[f], "x_dims": x_dims, "y_dims": y_dims},
        *_keep_item(arch, k, ds),
    ]
    for li in range(f, k + 1):
        items.append({"type": "temporal", "target": names[li], "permutation": innermost})
    for li in pe:
        if li > k:
            items.append({"type": "temporal", "target": names[li], "factors": _ones(fixed_dims),
                          "note": f"below the {ds} keeper only {', '.join(moving)} loops"})
    return items


def _weight_stationary(arch: Arch) -> list[dict]:
    return _stationary(arch, "weight-stationary", "Weights", "NPQ", "NQP", ["C"], ["K"])


def _output_stationary(arch: Arch) -> list[dict]:
    items = _stationary(arch, "output-stationary", "Outputs", "CRS", "CSR", ["P", "K"], ["Q", "K"])
    # the keeper itself accumulates one output in place: only reduction loops there too
    f, pe = _pe_levels(arch, "output-stationary")
    k = _keeper(arch, pe, "Outputs", "output-stationary")
    items.append({"type": "temporal", "target": arch.level_names[k], "factors": _ones("NGKPQ"),
                  "note": "one output accumulates in place"})
    return items


def _input_stationary(arch: Arch) -> list[dict]:
    return _stationary(arch, "input-stationary", "Inputs", "K", "K", ["P", "C"], ["Q", "C"])


DATAFLOWS: dict[str, Any] = {
    "row-stationary": _row_stationary,
    "weight-stationary": _weight_stationary,
    "output-stationary": _output_stationary,
    "input-stationary": _input_stationary,
}
"""Dataflow name -> function building its constraint items for an arch (see docs/formats.md)."""

_DATAFLOW_ALIASES = {
    "rs": "row-stationary", "ws": "weight-stationary", "os": "output-stationary", "is": "input-stationary",
    "eyeriss": "row-stationary", "nvdla": "weight-stationary",
}

_DESCRIPTIONS = {
    "row-stationary": "Eyeriss row-stationary (after Timeloop's eyeriss_like constraints)",
    "weight-stationary": "weights stay in the PEs (NVDLA-like: C over X, K over Y)",
    "output-stationary": "outputs accumulate in place in the PEs (P/Q/K over the array)",
    "input-stationary": "inputs stay in the PEs (C/P/Q over the array)",
}


def dataflow_constraints(name: str, arch: Arch) -> Constraints:
    """The constraints of dataflow ``name`` (:data:`DATAFLOWS`) on ``arch``, checked against it."""
    key = dataflow_name(name)
    items = DATAFLOWS[key](arch)
    cons = Constraints(name=key, description=_DESCRIPTIONS[key], constraints=items, source=f"dataflow {key}")
    cons.check(arch)
    return cons


def max_spatial_product(
    options: list[list[tuple[int, int]]], cap_x: int, cap_y: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Dynamic programme over subsets of dims for the utilisation floor.

    ``options[j]``: the ``(x, y)`` spatial factor pairs dim ``j`` may take. Caps are remaining mesh
    room; after a factor ``v`` the room is ``cap // v``, so room values are in ``{cap // k}``.
    Returns ``best [2^J, nx, ny]`` (largest product of ``x·y`` over the dims of a subset given the room
    with index ``ix``/``iy``), the room values ``vx``, ``vy``, and index lookups ``ix_of [cap_x+1]``,
    ``iy_of [cap_y+1]``. Results are cached (co-design asks for the same mesh and layer often) and
    read-only.
    """
    return _max_spatial_product(tuple(tuple(map(tuple, o)) for o in options), int(cap_x), int(cap_y))


@lru_cache(maxsize=512)
def _max_spatial_product(
    options: tuple[tuple[tuple[int, int], ...], ...], cap_x: int, cap_y: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    vx = np.array(sorted({cap_x // k for k in range(1, cap_x + 1)}), dtype=np.int64)
    vy = np.array(sorted({cap_y // k for k in range(1, cap_y + 1)}), dtype=np.int64)
    ix_of = np.zeros(cap_x + 1, dtype=np.int64)
    iy_of = np.zeros(cap_y + 1, dtype=np.int64)
    ix_of[vx] = np.arange(vx.size)
    iy_of[vy] = np.arange(vy.size)
    J = len(options)
    best = np.zeros((1 << J, vx.size, vy.size), dtype=np.int64)
    best[0] = 1
    for mask in range(1, 1 << J):
        j = (mask & -mask).bit_length() - 1
        rest = best[mask ^ (1 << j)]
        cur = np.zeros((vx.size, vy.size), dtype=np.int64)
        for x, y in options[j]:
            okx = vx >= x
            oky = vy >= y
            nxt = rest[ix_of[vx // x]][:, iy_of[vy // y]] * (x * y)
            cur = np.maximum(cur, np.where(okx[:, None] & oky[None, :], nxt, 0))
        best[mask] = cur
    for arr in (best, vx, vy, ix_of, iy_of):
        arr.setflags(write=False)
    return best, vx, vy, ix_of, iy_of


__all__ = [
    "Constraints",
    "TemporalConstraint",
    "SpatialConstraint",
    "BypassConstraint",
    "UtilizationConstraint",
    "ResolvedConstraints",
    "DATAFLOWS",
    "dataflow_constraints",
    "dataflow_name",
    "load_constraints",
    "constraints_from_data",
    "resolve_constraints",
    "max_spatial_product",
]
