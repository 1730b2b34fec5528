"""User templates written in YAML: any number of storage levels, what each keeps, mesh placement, and
which sizes and bandwidths are parameters (the hardware space gives their grids).

A :class:`TemplateSpec` is plain data (it travels with a hardware space into a study's configuration
and into every work unit, so any process rebuilds the same :class:`~cosearch.arch.templates.Template`);
:meth:`TemplateSpec.template` turns it into one. The format is in ``docs/formats.md`` ("User
templates"). Levels go outer to inner: the first is DRAM (holds every data space, unbounded, the
space's ``dram_bandwidth``); each later level has a size (``size_words``, or ``size_kib`` of 16-bit
words) and an optional read/write ``bandwidth`` (words/cycle), each a number or the name of a
parameter, and either ``must_keep`` (it holds exactly these data spaces in every mapping) or
``may_keep`` (a mapping chooses which of these it holds). ``per_pe`` levels are replicated over the PE
mesh (its two parameters are ``mesh``); they form the inner end of the hierarchy (one fan-out point).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ...limits import FLOAT_MAX, INT_MAX
from ..spec import DataSpaceName
from . import Param, Reference, Template, dram_level

ParamName = Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$", max_length=64)]
"""A parameter's name: an identifier (it is a key of the space's ``params`` and part of point names)."""
Number = Annotated[int, Field(gt=0, le=INT_MAX)] | Annotated[float, Field(gt=0, le=FLOAT_MAX)]
"""A positive finite number (an integer stays an integer: point names and JSON show it as written)."""
Quantity = Number | ParamName
"""A fixed positive number, or the name of a parameter whose value it takes."""
_CONFIG = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class LevelSpec(BaseModel):
    """One storage level of a user template (see the module docstring)."""

    model_config = _CONFIG

    name: str = Field(min_length=1, max_length=64)
    technology: Literal["DRAM", "SRAM", "regfile"] = "SRAM"
    size_words: Quantity | None = None
    size_kib: Quantity | None = None
    bandwidth: Quantity | None = Field(None, description="read and write words/cycle per instance; none: unlimited")
    must_keep: tuple[DataSpaceName, ...] | None = None
    may_keep: tuple[DataSpaceName, ...] | None = None
    per_pe: bool = False

    def params(self) -> tuple[str, ...]:
        """The parameters this level's size and bandwidth take (in that order, each once)."""
        refs = [q for q in (self.size_words, self.size_kib, self.bandwidth) if isinstance(q, str)]
        return tuple(dict.fromkeys(refs))

    @property
    def keeps(self) -> tuple[str, ...]:
        return self.must_keep if self.must_keep is not None else (self.may_keep or ())


class ReferenceSpec(BaseModel):
    """A user template's reference design (its co-design baseline): ``values`` of every parameter; the
    named ``dataflow`` of the second baseline (none: the second is the first), named ``dataflow_tag`` in
    labels; ``sets_budget``: the default area budget is this design's area (else eyeriss-168's)."""

    model_config = _CONFIG

    label: str = Field(min_length=1, max_length=64)
    values: dict[ParamName, Number]
    dataflow: str | None = None
    dataflow_tag: str = Field("same", min_length=1, max_length=16)
    sets_budget: bool = False


class TemplateSpec(BaseModel):
    """A user template: ``levels`` outer to inner, the two ``mesh`` parameters (columns, rows), the
    ``reference`` design and optional table ``labels`` of parameters."""

    model_config = _CONFIG

    name: str = Field(min_length=1, max_length=64)
    description: str = ""
    mesh: tuple[ParamName, ParamName] = ("mesh_x", "mesh_y")
    levels: list[LevelSpec] = Field(min_length=2, max_length=16)
    reference: ReferenceSpec
    labels: dict[ParamName, str] = {}

    @model_validator(mode="after")
    def _check(self) -> TemplateSpec:
        dram, *inner = self.levels
        if dram.technology != "DRAM" or dram.size_words is not None or dram.size_kib is not None or dram.per_pe:
            raise ValueError(f"levels[0] ({dram.name}) must be the DRAM: technology: DRAM, no size, not per_pe")
        if dram.may_keep is not None or (dram.must_keep is not None and len(dram.must_keep) != 3):
            raise ValueError(f"levels[0] ({dram.name}) keeps every data space (leave out must_keep and may_keep)")
        if len({lvl.name for lvl in self.levels}) != len(self.levels):
            raise ValueError("level names must be unique")
        for i, lvl in enumerate(inner, start=1):
            where = f"levels[{i}] ({lvl.name})"
            if lvl.technology == "DRAM":
                raise ValueError(f"{where}: only levels[0] may be DRAM")
            if (lvl.size_words is None) == (lvl.size_kib is None):
                raise ValueError(f"{where}: give exactly one of size_words and size_kib")
            if (lvl.must_keep is None) == (lvl.may_keep is None):
                raise ValueError(f"{where}: give exactly one of must_keep and may_keep (a level either always "
                                 "holds its data spaces or lets every one of them be bypassed)")
            if not lvl.keeps:
                raise ValueError(f"{where}: keeps no data space")
            if len(set(lvl.keeps)) != len(lvl.keeps):
                raise ValueError(f"{where}: a data space is listed twice")
        per_pe = [lvl.per_pe for lvl in self.levels]
        if True in per_pe and not all(per_pe[per_pe.index(True):]):
            raise ValueError("per_pe levels must be the innermost ones (one fan-out point: every level below "
                             "the first per_pe level is per_pe too)")
        if self.mesh[0] == self.mesh[1]:
            raise ValueError("mesh names two different parameters (columns, rows)")
        names = self.param_names()
        unknown = sorted(set(self.labels) - set(names))
        if unknown:
            raise ValueError(f"labels: {', '.join(unknown)} are not parameters of the template")
        try:
            template = self._build()
        except ValueError as err:  # the reference does not set exactly the parameters
            raise ValueError(str(err).replace(f"template {self.name}: ", "")) from None
        _remember(self, template)
        return self

    def param_names(self) -> tuple[str, ...]:
        """The template's parameters in point order: the two mesh parameters, then those the levels
        name, in level order."""
        return tuple(dict.fromkeys([*self.mesh, *(p for lvl in self.levels for p in lvl.params())]))

    def template(self) -> Template:
        """The :class:`~cosearch.arch.templates.Template` this spec describes (built once per
        distinct definition)."""
        return _BUILT.get(self.model_dump_json()) or _remember(self, self._build())

    def _build(self) -> Template:
        names = self.param_names()
        params = tuple(Param(n, self.labels.get(n, n), self.labels.get(n, n), "" if n in self.mesh else n + "{}")
                       for n in names)
        levels = tuple(self.levels)

        def build_levels(values: Mapping[str, float], pe: dict[str, int],
                         dram_bandwidth: float | None) -> list[dict[str, Any]]:
            def value(q: float | str) -> float:
                return float(values[q]) if isinstance(q, str) else float(q)

            out = [{**dram_level(dram_bandwidth), "name": levels[0].name}]
            for lvl in levels[1:]:
                words = value(lvl.size_words) if lvl.size_words is not None else value(lvl.size_kib) * 1024 * 8 / 16
                level: dict[str, Any] = {"name": lvl.name, "technology": lvl.technology,
                                         "size_words": int(round(words)), "keeps": list(lvl.keeps),
                                         "keeps_fixed": lvl.must_keep is not None}
                if lvl.bandwidth is not None:
                    bw = value(lvl.bandwidth)
                    level["bandwidth"] = {"read": bw, "write": bw}
                out.append({**level, **(pe if lvl.per_pe else {})})
            return out

        ref = self.reference
        return Template(
            name=self.name, params=params, mesh=self.mesh, levels=build_levels,
            level_params={lvl.name: lvl.params() for lvl in levels[1:]},
            reference=Reference(ref.label, {**{n: ref.values[n] for n in names if n in ref.values}, **ref.values},
                                dataflow=ref.dataflow, dataflow_tag=ref.dataflow_tag, sets_budget=ref.sets_budget),
        )


_BUILT: dict[str, Template] = {}
"""Built templates by their spec's JSON (equal definitions share one; bounded by :data:`_BUILT_MAX`)."""
_BUILT_MAX = 64


def _remember(spec: TemplateSpec, template: Template) -> Template:
    if len(_BUILT) >= _BUILT_MAX:
        _BUILT.pop(next(iter(_BUILT)))
    _BUILT[spec.model_dump_json()] = template
    return template
