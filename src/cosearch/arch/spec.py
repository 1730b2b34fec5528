"""Accelerator specification: storage levels outer -> inner, a PE mesh, and a MAC.

Sizes are in words of a level's access width (:attr:`Level.access_width`, bits); energies in pJ per
access of that width; bandwidth in such words per cycle per instance; areas in mm² per instance. Each
data space's words may be narrower or wider (``word_bits`` per data space, e.g. INT8 weights and
inputs with 32-bit partial sums): capacities and bandwidths count bits, see ``docs/model.md``.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    field_validator,
    model_serializer,
    model_validator,
)

from ..dims import DATASPACES
from ..errors import CosearchError
from ..limits import BANDWIDTH_MIN, FLOAT_MAX, INT_MAX

DataSpaceName = Literal["Weights", "Inputs", "Outputs"]
Count = Annotated[int, Field(ge=1, le=INT_MAX)]
"""A positive integer within :data:`cosearch.limits.INT_MAX` (instances, mesh sizes, word bits)."""
Amount = Annotated[float, Field(ge=0, le=FLOAT_MAX)]
"""A finite non-negative float within :data:`cosearch.limits.FLOAT_MAX` (energies, areas)."""
BandwidthValue = Annotated[float, Field(ge=BANDWIDTH_MIN, le=FLOAT_MAX)]
"""Words per cycle within :data:`cosearch.limits.BANDWIDTH_MIN` .. :data:`~cosearch.limits.FLOAT_MAX`."""
ClockMHz = Annotated[float, Field(gt=0, le=1e6)]
"""A clock frequency in MHz (positive, at most 1 THz)."""
_SPEC_CONFIG = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class AccessEnergy(BaseModel):
    """Energy of one word access, pJ: ``read`` (out of the level), ``fill`` (from its parent),
    ``update`` (a partial or final sum written by its child or the MACs)."""

    model_config = _SPEC_CONFIG

    read: Amount = 0.0
    fill: Amount = 0.0
    update: Amount = 0.0


class Bandwidth(BaseModel):
    """Per-instance bandwidth limits in words/cycle; ``None`` means unlimited."""

    model_config = _SPEC_CONFIG

    read: BandwidthValue | None = None
    write: BandwidthValue | None = None
    shared: BandwidthValue | None = None

    @property
    def limited(self) -> bool:
        return any(v is not None for v in (self.read, self.write, self.shared))


def _fields_hash(model: BaseModel) -> int:
    """Hash of a frozen model's field values, a dict value hashed as its sorted items."""
    return hash(tuple(tuple(sorted(v.items())) if isinstance(v, dict) else v for v in model.__dict__.values()))


class Level(BaseModel):
    """One storage level (all its instances).

    ``keeps`` lists the data spaces the level may hold; if ``keeps_fixed`` the level holds exactly
    these in every mapping, otherwise a mapping may bypass any of them.
    """

    model_config = _SPEC_CONFIG

    name: str
    size_words: Count | None = Field(None, description="capacity in words; None = unbounded (DRAM)")
    word_bits: Count | dict[DataSpaceName, Count] = 16
    access_bits: Count | None = Field(None, description="width of one access (the unit of size_words, "
                                      "energy_pj and bandwidth); None = the widest word_bits")
    instances: Count = 1
    mesh_x: Count = Field(1, description="instances along the mesh's X axis (columns)")
    mesh_y: Count = Field(1, description="instances along the mesh's Y axis (rows)")
    keeps: tuple[DataSpaceName, ...] = DATASPACES  # type: ignore[assignment]
    keeps_fixed: bool = True
    energy_pj: AccessEnergy = AccessEnergy()
    bandwidth: Bandwidth = Bandwidth()
    area_mm2: Amount = Field(0.0, description="area of one instance")
    technology: Literal["DRAM", "SRAM", "regfile"] = "SRAM"

    @field_validator("keeps")
    @classmethod
    def _unique_keeps(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if len(set(value)) != len(value):
            raise ValueError("keeps lists a data space twice")
        return tuple(d for d in DATASPACES if d in value)

    @model_serializer(mode="wrap")
    def _dump(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        out = handler(self)
        if out.get("access_bits", 0) is None:  # levels written before it existed keep their form
            del out["access_bits"]
        return out

    def __hash__(self) -> int:  # per-data-space word_bits dicts hash as sorted item tuples
        return _fields_hash(self)

    def bits(self, ds: str) -> int:
        """Width (bits) of one word of data space ``ds`` at this level."""
        wb = self.word_bits
        return int(wb.get(ds, max(wb.values()))) if isinstance(wb, dict) else int(wb)  # type: ignore[call-overload]

    @property
    def access_width(self) -> int:
        """Bits of one access: ``access_bits``, else the widest ``word_bits``."""
        if self.access_bits is not None:
            return int(self.access_bits)
        wb = self.word_bits
        return int(max(wb.values())) if isinstance(wb, dict) else int(wb)

    @property
    def size_bits(self) -> int | None:
        """Capacity of one instance in bits (``size_words`` × :attr:`access_width`); None = unbounded."""
        return None if self.size_words is None else self.size_words * self.access_width

    @property
    def capacity_words(self) -> int | None:
        """Capacity in words of the widest data space (``size_bits // max bits``): tiles within it fit
        in bits whatever their widths; equal to ``size_words`` when every width is the access width."""
        if self.size_bits is None:
            return None
        return self.size_bits // max(self.bits(ds) for ds in DATASPACES)

    @model_validator(mode="after")
    def _mesh_fits(self) -> "Level":
        if self.mesh_x * self.mesh_y != self.instances:
            raise ValueError(
                f"mesh_x × mesh_y = {self.mesh_x}×{self.mesh_y} must equal instances = {self.instances}"
            )
        return self


BLOCK_DIMS: tuple[str, ...] = ("N", "G", "K", "C")
"""Dimensions a block MAC may unroll (:attr:`Mac.block`). ``P``, ``Q``, ``R`` and ``S`` may not: their
inputs overlap in sliding windows, so a block over them has no fixed vector word of inputs."""


class Mac(BaseModel):
    """The arithmetic units: one MAC per PE.

    ``block`` (optional) makes each MAC instance a *block MAC* of ``∏ block`` multipliers unrolled over
    those dims, e.g. ``{K: 8, C: 8}``: 8 lanes over output channels, each an 8-wide vector (dot product
    with an adder tree) over input channels. Absent or empty (or all ones): a scalar MAC. ``energy_pj`` is
    the energy of one *scalar* multiply-accumulate (a block operation costs ``∏ block`` times it, idle
    lanes included); ``area_mm2`` is the area of one MAC instance, the whole block (``docs/model.md``,
    "Block MACs").
    """

    model_config = _SPEC_CONFIG

    instances: Count = 1
    mesh_x: Count = 1
    mesh_y: Count = 1
    energy_pj: Amount = Field(1.0, description="energy of one (scalar) MAC")
    area_mm2: Amount = Field(0.0, description="area of one MAC instance (a whole block MAC)")
    word_bits: Count = Field(16, description="operand (multiplier) width in bits")
    number_format: Literal["int", "float"] = Field("int", description="integer or floating-point MACs")
    block: dict[str, Count] | None = Field(None, description="block MAC: multipliers unrolled per dim "
                                           "(N, G, K, C); None = a scalar MAC")

    @field_validator("block")
    @classmethod
    def _block_dims(cls, value: dict[str, int] | None) -> dict[str, int] | None:
        if value is None:
            return None
        from ..dims import DIMS

        for dim in value:
            if dim not in DIMS:
                raise ValueError(f"unknown dimension {dim!r} (block dims are {', '.join(BLOCK_DIMS)})")
            if dim not in BLOCK_DIMS:
                raise ValueError(f"a block over {dim} is not supported (sliding windows); block dims are "
                                 f"{', '.join(BLOCK_DIMS)}")
        kept = {d: int(value[d]) for d in BLOCK_DIMS if d in value and value[d] > 1}
        return kept or None

    @model_serializer(mode="wrap")
    def _dump(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        out = handler(self)
        if out.get("number_format") == "int":  # MACs written before it existed keep their form
            del out["number_format"]
        if out.get("block", 0) is None:  # scalar MACs keep their form
            del out["block"]
        return out

    def __hash__(self) -> int:  # a block dict hashes as its sorted items
        return _fields_hash(self)

    @property
    def multipliers(self) -> int:
        """Multipliers per MAC instance: ``∏ block`` (1 for a scalar MAC)."""
        return math.prod(self.block.values()) if self.block else 1


class Arch(BaseModel):
    """An accelerator: ``levels`` ordered outermost (DRAM) first, then the MACs.

    The PE array is the single fan-out point: the first level whose ``instances`` exceed its parent's
    sits below the fan-out, and the spatial factors of a mapping live on its parent (Timeloop style).
    ``estimator`` names where per-access energies and areas come from (``"table"``: as given here).
    """

    model_config = _SPEC_CONFIG

    name: str = "arch"
    levels: tuple[Level, ...]
    mac: Mac
    estimator: str = "table"
    description: str = ""
    dram: str | None = Field(None, description="DRAM type (LPDDR4, DDR3, DDR4, HBM2); None = LPDDR4")
    clock_mhz: ClockMHz | None = Field(None, description="clock frequency; None = the default 200 MHz")

    @field_validator("dram")
    @classmethod
    def _known_dram(cls, value: str | None) -> str | None:
        if value is None:
            return None
        from .dram import get_dram

        try:
            return get_dram(value).name
        except CosearchError as err:
            raise ValueError(str(err)) from None

    @model_validator(mode="after")
    def _check_structure(self) -> "Arch":
        if not self.levels:
            raise ValueError("an architecture needs at least one storage level")
        names = [lvl.name for lvl in self.levels]
        if len(set(names)) != len(names):
            raise ValueError(f"level names must be unique, got {names}")
        if self.levels[0].instances != 1:
            raise ValueError("the outermost level must have exactly 1 instance")
        fanouts = [i for i in range(1, len(self.levels)) if self.levels[i].instances != self.levels[i - 1].instances]
        if len(fanouts) > 1:
            raise ValueError("only one fan-out point (one change of instance count between levels) is supported")
        for i in fanouts:
            if self.levels[i].instances < self.levels[i - 1].instances:
                raise ValueError(f"level {self.levels[i].name} has fewer instances than its parent")
        last = self.levels[-1]
        if self.mac.instances != last.instances or (self.mac.mesh_x, self.mac.mesh_y) != (last.mesh_x, last.mesh_y):
            if last.instances != 1 or fanouts:
                raise ValueError("mac instances/mesh must equal the innermost level's (one MAC per PE)")
        for ds in DATASPACES:
            if not any(ds in lvl.keeps for lvl in self.levels[:1]):
                raise ValueError(f"the outermost level must keep {ds}")
        return self

    # ---- derived structure -------------------------------------------------------------------
    @property
    def num_levels(self) -> int:
        return len(self.levels)

    @property
    def level_names(self) -> list[str]:
        return [lvl.name for lvl in self.levels]

    @property
    def fanout_level(self) -> int:
        """Index of the level that carries the spatial factors (parent of the PE array).

        If no storage level fans out (all single-instance), the spatial fan-out sits between the
        innermost level and the MACs, and this is the innermost level's index.
        """
        for i in range(1, len(self.levels)):
            if self.levels[i].instances != self.levels[i - 1].instances:
                return i - 1
        return len(self.levels) - 1

    @property
    def fanout_child(self) -> "Level | Mac":
        """The component just below the fan-out point (its mesh is the PE array): the level after
        :attr:`fanout_level`, or the MACs when the fan-out sits between the innermost level and them."""
        f = self.fanout_level
        return self.levels[f + 1] if f + 1 < len(self.levels) else self.mac

    @property
    def mesh_x(self) -> int:
        return self.mac.mesh_x

    @property
    def mesh_y(self) -> int:
        return self.mac.mesh_y

    @property
    def num_pes(self) -> int:
        return self.mac.instances

    @property
    def num_multipliers(self) -> int:
        """Scalar multipliers of the whole array: PEs × :attr:`Mac.multipliers` (= :attr:`num_pes` for
        scalar MACs); the denominator of utilisation."""
        return self.mac.instances * self.mac.multipliers

    def innermost_keeper(self, ds: str) -> int | None:
        """Index of the innermost level that may keep data space ``ds`` (``None`` if none may)."""
        return max((li for li, lvl in enumerate(self.levels) if ds in lvl.keeps), default=None)

    def level_index(self, name: str) -> int:
        for i, lvl in enumerate(self.levels):
            if lvl.name == name:
                return i
        raise KeyError(f"unknown level {name!r}; levels are {', '.join(self.level_names)}")

    @property
    def area_mm2(self) -> float:
        """Total area: every level's instances plus the MACs."""
        return sum(lvl.area_mm2 * lvl.instances for lvl in self.levels) + self.mac.area_mm2 * self.mac.instances
