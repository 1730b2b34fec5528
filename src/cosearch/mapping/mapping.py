"""Mappings: a readable per-level object (:class:`Mapping`, the JSON format) and a batch of integer
arrays (:class:`Mappings`, what the cost model and the searchers use).

Array shapes (``B`` mappings, ``L`` storage levels outer -> inner, ``D`` = 8 dims in
:data:`cosearch.dims.DIMS` order, 3 data spaces):

* ``temporal``  int64 ``[B, L, D]`` temporal factor of each dim at each level;
* ``spatial_x`` int64 ``[B, L, D]`` spatial factor over the mesh's X axis below each level (only the
  arch's fan-out level may have factors > 1), ``spatial_y`` likewise over Y;
* ``order``     int64 ``[B, L, D]`` loop rank of each dim at each level, 0 = outermost;
* ``keep``      bool  ``[B, L, 3]`` whether the level holds Weights / Inputs / Outputs;
* ``tags``      int64 ``[B]`` (optional) an optimizer's bookkeeping, e.g. which start a row came from.

The JSON format is the ``mapping`` object of ``shared/reference`` records (``G`` may be added to
``temporal`` and ``spatial``; missing dims default to 1; missing ``keep`` means the level keeps all
it may keep).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Iterator

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ..arch.spec import Arch
from ..dims import DATASPACES, DIM_INDEX, DIMS, NUM_DATASPACES, NUM_DIMS, parse_permutation
from ..errors import CosearchError
from ..limits import INT_MAX, int_limit_text, int_text


def _check_factors(value: dict[str, int]) -> dict[str, int]:
    for dim, factor in value.items():
        if dim not in DIM_INDEX:
            raise ValueError(f"unknown dimension {dim!r} (dimensions are {', '.join(DIMS)})")
        if not isinstance(factor, int) or isinstance(factor, bool) or factor < 1:
            raise ValueError(f"factor of {dim} must be a positive integer, got {factor!r}")
        if factor > INT_MAX:
            raise ValueError(f"factor of {dim} must be at most {int_limit_text()}, got {int_text(factor)}")
    return value


def _check_permutation(value: str) -> str:
    parse_permutation(value)  # ValueError naming the bad letters (a one-line validation error)
    return value


def _check_products(mapping: "Mapping", source: str) -> None:
    """Raise :class:`CosearchError` if the factors of one dimension (temporal × spatial, all levels)
    multiply to more than :data:`~cosearch.limits.INT_MAX` (the cost model multiplies them in int64)."""
    product = dict.fromkeys(DIMS, 1)
    for lm in mapping.levels:
        spatial = [lm.spatial.X, lm.spatial.Y] if lm.spatial is not None else []
        for factors in [lm.temporal, *spatial]:
            for dim, f in factors.items():
                product[dim] *= f
    for dim, p in product.items():
        if p > INT_MAX:
            raise CosearchError(f"{source}: the factors of {dim} multiply to {p:.3g}, more than {int_limit_text()}")


class SpatialMapping(BaseModel):
    """Spatial factors over the mesh below a level; ``permutation_*`` order the loops outer -> inner."""

    model_config = ConfigDict(extra="ignore")

    X: dict[str, int] = Field(default_factory=dict)
    Y: dict[str, int] = Field(default_factory=dict)
    permutation_X: str = ""
    permutation_Y: str = ""

    _factors = field_validator("X", "Y")(classmethod(lambda cls, v: _check_factors(v)))
    _orders = field_validator("permutation_X", "permutation_Y")(classmethod(lambda cls, v: _check_permutation(v)))


class LevelMapping(BaseModel):
    """One level: its temporal factors and loop order (outer -> inner), kept data spaces, spatial fan-out."""

    model_config = ConfigDict(extra="ignore")

    level: str
    temporal: dict[str, int] = Field(default_factory=dict)
    permutation: str = ""
    keep: list[str] | None = None
    spatial: SpatialMapping | None = None

    _factors = field_validator("temporal")(classmethod(lambda cls, v: _check_factors(v)))

    @field_validator("keep")
    @classmethod
    def _known_dataspaces(cls, value: list[str] | None) -> list[str] | None:
        if value is not None:
            bad = [d for d in value if d not in DATASPACES]
            if bad:
                raise ValueError(f"unknown data space(s) {bad} (data spaces are {', '.join(DATASPACES)})")
        return value

    _order = field_validator("permutation")(classmethod(lambda cls, v: _check_permutation(v)))


class Mapping(BaseModel):
    """A single mapping in readable form (the JSON file format)."""

    model_config = ConfigDict(extra="ignore")

    levels: list[LevelMapping]
    source: str = ""

    def to_arrays(self, arch: Arch) -> "Mappings":
        """Arrays for one mapping (``B`` = 1). Raises :class:`CosearchError` on level-name mismatches."""
        return Mappings.from_list([self], arch)


@dataclass
class Mappings:
    """A batch of mappings as integer arrays (see the module docstring for shapes)."""

    temporal: np.ndarray
    spatial_x: np.ndarray
    spatial_y: np.ndarray
    order: np.ndarray
    keep: np.ndarray
    order_x: np.ndarray | None = None
    order_y: np.ndarray | None = None
    tags: np.ndarray | None = None  # [B] int64, optional: an optimizer's note on each row's origin

    def __post_init__(self) -> None:
        shape = self.temporal.shape
        if len(shape) != 3 or shape[2] != NUM_DIMS:
            raise ValueError(f"temporal must have shape [B, L, {NUM_DIMS}], got {shape}")
        for name in ("spatial_x", "spatial_y", "order"):
            if getattr(self, name).shape != shape:
                raise ValueError(f"{name} must have shape {shape}, got {getattr(self, name).shape}")
        if self.keep.shape != shape[:2] + (NUM_DATASPACES,):
            raise ValueError(f"keep must have shape {shape[:2] + (NUM_DATASPACES,)}, got {self.keep.shape}")

    def __len__(self) -> int:
        return int(self.temporal.shape[0])

    @property
    def num_levels(self) -> int:
        return int(self.temporal.shape[1])

    def subset(self, index: Any) -> "Mappings":
        """Rows selected by ``index`` (a slice, boolean mask or integer array)."""
        return Mappings._trusted({name: None if (v := getattr(self, name)) is None else v[index]
                                  for name in _FIELDS})

    @staticmethod
    def concat(batches: list["Mappings"]) -> "Mappings":
        """The rows of ``batches`` in order (an optional field is kept only if every batch has it)."""
        if len(batches) == 1:  # a copy, as np.concatenate would make
            return Mappings._trusted({name: None if (v := getattr(batches[0], name)) is None else v.copy()
                                      for name in _FIELDS})
        kw = {}
        for name in _FIELDS:
            parts = [getattr(b, name) for b in batches]
            kw[name] = None if any(p is None for p in parts) else np.concatenate(parts)
        return Mappings._trusted(kw)

    @staticmethod
    def _trusted(fields_: dict[str, Any]) -> "Mappings":
        """A batch from arrays already shaped alike (rows of checked batches): skips the shape checks of
        ``__post_init__``, which the hot paths of the mappers would pay thousands of times a search."""
        m = object.__new__(Mappings)
        m.__dict__.update(fields_)
        return m

    @staticmethod
    def from_list(mappings: list[Mapping], arch: Arch, *, source: str = "mapping") -> "Mappings":
        """Stack readable mappings into arrays for ``arch``.

        Levels are matched by name; a level missing from a mapping has all factors 1 and keeps what
        the arch lets it keep. Unknown level names, or spatial factors on a level that does not fan
        out, raise :class:`CosearchError`.
        """
        B, L = len(mappings), arch.num_levels
        temporal = np.ones((B, L, NUM_DIMS), dtype=np.int64)
        sx = np.ones_like(temporal)
        sy = np.ones_like(temporal)
        order = np.tile(np.arange(NUM_DIMS, dtype=np.int64), (B, L, 1))
        ox = order.copy()
        oy = order.copy()
        keep = np.zeros((B, L, NUM_DATASPACES), dtype=bool)
        for li, lvl in enumerate(arch.levels):
            for di, ds in enumerate(DATASPACES):
                keep[:, li, di] = ds in lvl.keeps
        names = arch.level_names
        for b, mapping in enumerate(mappings):
            _check_products(mapping, source)
            seen: set[str] = set()
            for lm in mapping.levels:
                if lm.level not in names:
                    raise CosearchError(
                        f"{source}: unknown level {lm.level!r} (the arch {arch.name} has {', '.join(names)})"
                    )
                if lm.level in seen:
                    raise CosearchError(f"{source}: level {lm.level!r} appears twice")
                seen.add(lm.level)
                li = names.index(lm.level)
                for dim, f in lm.temporal.items():
                    temporal[b, li, DIM_INDEX[dim]] = f
                for rank, dim in enumerate(parse_permutation(lm.permutation)):
                    order[b, li, DIM_INDEX[dim]] = rank
                if lm.keep is not None:
                    lvl = arch.levels[li]
                    extra = [d for d in lm.keep if d not in lvl.keeps]
                    if extra:
                        raise CosearchError(f"{source}: level {lm.level} cannot keep {', '.join(extra)}")
                    if lvl.keeps_fixed and set(lm.keep) != set(lvl.keeps):
                        raise CosearchError(
                            f"{source}: level {lm.level} must keep exactly {', '.join(lvl.keeps)} (fixed by the arch)"
                        )
                    for di, ds in enumerate(DATASPACES):
                        keep[b, li, di] = ds in lm.keep
                if lm.spatial is not None:
                    has_factors = any(f > 1 for f in {**lm.spatial.X, **lm.spatial.Y}.values())
                    if has_factors and li != arch.fanout_level:
                        raise CosearchError(
                            f"{source}: level {lm.level} has spatial factors but the fan-out is below "
                            f"{arch.levels[arch.fanout_level].name}"
                        )
                    for dim, f in lm.spatial.X.items():
                        sx[b, li, DIM_INDEX[dim]] = f
                    for dim, f in lm.spatial.Y.items():
                        sy[b, li, DIM_INDEX[dim]] = f
                    for rank, dim in enumerate(parse_permutation(lm.spatial.permutation_X)):
                        ox[b, li, DIM_INDEX[dim]] = rank
                    for rank, dim in enumerate(parse_permutation(lm.spatial.permutation_Y)):
                        oy[b, li, DIM_INDEX[dim]] = rank
        return Mappings(temporal, sx, sy, order, keep, ox, oy)


    def to_mapping(self, i: int, arch: Arch, source: str = "") -> Mapping:
        """The ``i``-th mapping in readable form (loop orders list every dim, outer -> inner)."""
        levels = []
        for li, lvl in enumerate(arch.levels):
            perm = "".join(DIMS[d] for d in np.argsort(self.order[i, li], kind="stable"))
            entry: dict[str, Any] = {
                "level": lvl.name,
                "temporal": {d: int(self.temporal[i, li, k]) for k, d in enumerate(DIMS)},
                "permutation": perm,
                "keep": [ds for di, ds in enumerate(DATASPACES) if self.keep[i, li, di]],
            }
            if li == arch.fanout_level:
                ox = self.order_x[i, li] if self.order_x is not None else np.arange(NUM_DIMS)
                oy = self.order_y[i, li] if self.order_y is not None else np.arange(NUM_DIMS)
                entry["spatial"] = {
                    "X": {d: int(self.spatial_x[i, li, k]) for k, d in enumerate(DIMS)},
                    "Y": {d: int(self.spatial_y[i, li, k]) for k, d in enumerate(DIMS)},
                    "permutation_X": "".join(
                        DIMS[d] for d in np.argsort(ox, kind="stable") if self.spatial_x[i, li, d] > 1
                    ),
                    "permutation_Y": "".join(
                        DIMS[d] for d in np.argsort(oy, kind="stable") if self.spatial_y[i, li, d] > 1
                    ),
                }
            levels.append(entry)
        return Mapping.model_validate({"levels": levels, "source": source})

    def __iter__(self) -> Iterator[int]:
        return iter(range(len(self)))


def mapping_from_data(data: Any, source: str) -> Mapping:
    """Parse a mapping object (or a reference record holding one under ``mapping``)."""
    if isinstance(data, dict) and "mapping" in data and isinstance(data["mapping"], dict):
        data = data["mapping"]
    if not isinstance(data, dict) or "levels" not in data:
        raise CosearchError(f"{source}: expected a mapping object with a 'levels' list")
    try:
        return Mapping.model_validate(data)
    except ValidationError as err:
        from .._io import format_validation_error

        raise CosearchError(format_validation_error(err, source)) from None


def load_mapping(path: str | Path) -> Mapping:
    """Read a mapping JSON (or YAML) file."""
    from .._io import read_structured_file

    return mapping_from_data(read_structured_file(Path(path)), str(path))


def row_indices(rows: Any, n: int) -> np.ndarray:
    """Normalise ``rows`` (bool mask ``[n]``, integer indices, slice or None = all) to sorted unique int64 indices."""
    if rows is None:
        return np.arange(n, dtype=np.int64)
    if isinstance(rows, slice):
        return np.arange(n, dtype=np.int64)[rows]
    arr = np.asarray(rows)
    if arr.dtype == bool:
        if arr.shape != (n,):
            raise ValueError(f"row mask must have shape ({n},), got {arr.shape}")
        return np.flatnonzero(arr).astype(np.int64)
    arr = np.unique(arr.astype(np.int64).ravel())
    if arr.size and (arr[0] < 0 or arr[-1] >= n):
        raise IndexError(f"row index out of range for a batch of {n}")
    return arr


_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(Mappings))
"""The field names of :class:`Mappings`, in order."""
