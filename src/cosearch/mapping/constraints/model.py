"""The constraint model: the four item types (``temporal``, ``spatial``, ``bypass``, ``utilization``),
the parsing of their fields, and :class:`Constraints` (a list of items, optionally on top of a named
dataflow) with its layer-independent checks against an architecture.

* ``temporal`` at a level: fixed temporal ``factors`` per dim (``0`` = the *residual*: all of the dim
  that the other fixed factors leave, so every unconstrained slot of that dim is 1; a missing dim is
  free) and a loop ``permutation`` (outer -> inner; a partial one lists the innermost loops);
* ``spatial`` at the fan-out level: ``x_dims`` / ``y_dims`` (the only dims that may be spread over the
  mesh's X / Y axis) and fixed ``x_factors`` / ``y_factors`` (``0`` = residual, as above);
* ``bypass`` at a level: data spaces it must ``keep`` and data spaces it must ``bypass``;
* ``utilization``: ``min``, the smallest fraction of the PEs a mapping must use (product of its
  spatial factors / PEs).
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ...arch.spec import Arch
from ...dims import DATASPACES, DIM_INDEX, DIMS
from ...errors import CosearchError
from ...limits import INT_MAX, int_limit_text, int_text
from .dataflows import DATAFLOW_DESCRIPTIONS, DATAFLOWS, dataflow_name

DIM_ALIASES = {"M": "K"}
"""Timeloop writes output channels as ``M``; constraints accept it as an alias of ``K``."""

ITEM_TYPES = ("temporal", "spatial", "bypass", "utilization")
"""The ``type`` of each item kind (pydantic's discriminator tags)."""


# ---- parsing helpers ---------------------------------------------------------------------------
def _dim_name(name: Any) -> str:
    text = str(name).strip()
    text = DIM_ALIASES.get(text, text)
    if text not in DIM_INDEX:
        raise ValueError(f"unknown dimension {name!r} (dimensions are {', '.join(DIMS)}; M = K)")
    return text


def _factor_in_range(dim: str, factor: int) -> int:
    if factor > INT_MAX:
        raise ValueError(f"factor of {dim} must be at most {int_limit_text()}, got {int_text(factor)}")
    return factor


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
            out[dim] = _factor_in_range(dim, int(m.group(2)))
        return out
    if isinstance(value, dict):
        out = {}
        for key, factor in value.items():
            dim = _dim_name(key)
            if dim in out:
                raise ValueError(f"dimension {dim} given twice")
            if isinstance(factor, bool) or not isinstance(factor, int) or factor < 0:
                raise ValueError(f"factor of {dim} must be an integer >= 0 (0 = all that is left), got {factor!r}")
            out[dim] = _factor_in_range(dim, factor)
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
                if isinstance(item, dict) and item.get("type") not in ITEM_TYPES:
                    what = f"unknown type {item['type']!r}" if "type" in item else "no 'type'"
                    raise ValueError(f"item [{i}] has {what} (types are {', '.join(ITEM_TYPES)})")
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
        checker = _Checker(arch, f"{self.source}: " if self.source else "")
        for i, item in enumerate(self.constraints):
            if not isinstance(item, UtilizationConstraint):
                checker.item(i, item)


class _Checker:
    """The checks of :meth:`Constraints.check`, item by item, remembering what earlier items fixed so
    that a contradiction names both items. ``prefix`` (``"<source>: "`` or ``""``) starts messages."""

    def __init__(self, arch: Arch, prefix: str) -> None:
        self.arch = arch
        self.prefix = prefix
        self.factors: dict[tuple[str, int, str], tuple[int, int]] = {}  # (slot kind, level, dim) -> (item, value)
        self.kept: dict[tuple[int, str], tuple[int, bool]] = {}  # (level, data space) -> (item, kept?)
        self.permutations: dict[int, tuple[int, str]] = {}  # level -> (item, permutation)
        self.residuals: dict[str, tuple[int, tuple[str, int]]] = {}  # dim -> (item, (slot kind, level))

    def item(self, i: int, item: TemporalConstraint | SpatialConstraint | BypassConstraint) -> None:
        """Check item ``i`` against the arch and the items before it."""
        at = f"{self.prefix}constraints[{i}]"
        level = self._target_level(at, item)
        if isinstance(item, BypassConstraint):
            self._bypass(i, at, item, level)
            return
        if isinstance(item, SpatialConstraint):
            slots = [("X", item.x_factors), ("Y", item.y_factors)]
            level = self.arch.fanout_level
        else:
            slots = [("T", item.factors)]
            self._permutation(i, at, item, level)
        for kind, factors in slots:
            self._factors(i, at, kind, level, factors)

    def _target_level(self, at: str, item: Any) -> int | None:
        """Index of the item's target level (``None`` for a spatial item without one)."""
        names = self.arch.level_names
        if item.target is None:
            return None
        if item.target not in names:
            raise CosearchError(
                f"{at}.target: unknown level {item.target!r} (the arch {self.arch.name} has {', '.join(names)})"
            )
        level = names.index(item.target)
        f = self.arch.fanout_level
        if isinstance(item, SpatialConstraint) and level != f:
            raise CosearchError(
                f"{at}.target: spatial constraints go on the fan-out level {names[f]} (the parent of the "
                f"PE array), not {item.target}"
            )
        return level

    def _permutation(self, i: int, at: str, item: TemporalConstraint, level: int) -> None:
        """One loop order per level."""
        if not item.permutation:
            return
        prev = self.permutations.get(level)
        if prev is not None and prev[1] != item.permutation:
            raise CosearchError(
                f"{at}.permutation: {item.permutation!r} contradicts {self.prefix}constraints[{prev[0]}] "
                f"({prev[1]!r}) at level {item.target}"
            )
        self.permutations[level] = (i, item.permutation)

    def _bypass(self, i: int, at: str, item: BypassConstraint, level: int) -> None:
        """Kept data spaces the level may hold, bypassed ones it need not hold, no data space both."""
        lvl = self.arch.levels[level]
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
            prev = self.kept.get((level, ds))
            if prev is not None and prev[1] != kept:
                raise CosearchError(
                    f"{at}: {ds} at {lvl.name} is {'kept' if kept else 'bypassed'} here but "
                    f"{'kept' if prev[1] else 'bypassed'} by {self.prefix}constraints[{prev[0]}]"
                )
            self.kept[(level, ds)] = (i, kept)

    def _factors(self, i: int, at: str, kind: str, level: int, factors: dict[str, int]) -> None:
        """One value per slot, and at most one residual (``0``) per dim."""
        for dim, value in factors.items():
            key = (kind, level, dim)
            prev = self.factors.get(key)
            if prev is not None and prev[1] != value:
                raise CosearchError(
                    f"{at}: {dim}={value} contradicts {dim}={prev[1]} in {self.prefix}constraints[{prev[0]}]"
                )
            self.factors[key] = (i, value)
            if value == 0:
                prev_r = self.residuals.get(dim)
                if prev_r is not None and prev_r[1] != (kind, level):
                    raise CosearchError(
                        f"{at}: {dim}=0 (all that is left) is also given by {self.prefix}constraints[{prev_r[0]}]; "
                        "a dimension can have only one residual factor"
                    )
                self.residuals[dim] = (i, (kind, level))


def dataflow_constraints(name: str, arch: Arch) -> Constraints:
    """The constraints of dataflow ``name`` (:data:`DATAFLOWS`) on ``arch``, checked against it."""
    key = dataflow_name(name)
    items = DATAFLOWS[key](arch)
    cons = Constraints(name=key, description=DATAFLOW_DESCRIPTIONS[key], constraints=items, source=f"dataflow {key}")
    cons.check(arch)
    return cons


__all__ = [
    "DIM_ALIASES",
    "ITEM_TYPES",
    "Constraint",
    "Constraints",
    "TemporalConstraint",
    "SpatialConstraint",
    "BypassConstraint",
    "UtilizationConstraint",
    "dataflow_constraints",
]
