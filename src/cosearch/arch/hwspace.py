"""The hardware design space searched by co-design: a template, parameter grids, an estimator.

A point is an integer vector of grid indices ``[P]`` (one per parameter, in the order of
``HWSpace.names``, the template's); :meth:`HWSpace.values` turns it into parameter values and
:meth:`HWSpace.arch` into an :class:`~cosearch.arch.spec.Arch` whose energies and areas come from the
space's estimator. The templates (``eyeriss``, ``simple``, ...) are the modules of
:mod:`cosearch.arch.templates`; a space names one in its ``template`` field and gives a grid for each
of its parameters. Built-in spaces are the YAML files of ``cosearch/arch/hwspaces``.

Sizes are 16-bit words (``glb_kb`` in KiB); bandwidths in words per cycle.

Three physical settings may be searched too (:data:`PHYSICAL_PARAMS`): ``precision`` as a list of
presets or widths (``{values: [int8, int16]}``), ``dram_gbps`` and ``clock_mhz`` as grids like a
template parameter's. Searched ones are extra parameters of the space, after the template's, in the
order ``precision``, ``dram_gbps``, ``clock_mhz``; a point's precision is the index into its list. A
scalar fixes the setting for every point, as before.
"""

from __future__ import annotations

import math
import re
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_serializer,
    model_validator,
)

from .._io import format_validation_error, read_structured_file
from ..errors import CosearchError
from ..limits import GRID_MAX, INT_MAX
from .spec import Arch, BandwidthValue, ClockMHz, Count
from .templates import TEMPLATES, Template, get_template, plain_number
from .templates._yaml import TemplateSpec

_SPACE_FILES = resources.files("cosearch.arch").joinpath("hwspaces")
HW_SPACES: dict[str, str] = {f.name.removesuffix(".yaml"): f.name
                             for f in sorted(_SPACE_FILES.iterdir(), key=lambda f: f.name) if f.name.endswith(".yaml")}
"""Built-in space name -> its file under ``cosearch/arch/hwspaces`` (every YAML file there)."""


class HWParam(BaseModel):
    """An integer parameter on a grid from ``low`` to ``high`` (inclusive)."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    low: float = Field(gt=0, le=INT_MAX)
    high: float = Field(gt=0, le=INT_MAX)
    scale: Literal["linear", "log2"] = "linear"
    steps_per_octave: int = Field(1, ge=1, le=8)

    @model_validator(mode="after")
    def _ordered(self) -> "HWParam":
        if self.high < self.low:
            raise ValueError(f"inverted range: low {self.low} > high {self.high}")
        if self.scale == "linear" and math.floor(self.high) - math.ceil(self.low) + 1 > GRID_MAX:
            raise ValueError(f"linear range {self.low:.15g}..{self.high:.15g} has more than {GRID_MAX:,} values "
                             "(use scale: log2)")
        grid = self.grid()
        if grid.size and grid[0] < 1:  # a log2 grid from below 1: its values are rounded to whole numbers
            raise ValueError(f"low {self.low:.15g} gives the grid value {grid[0]:.0f} (grid values are whole "
                             "numbers, at least 1)")
        return self

    def grid(self) -> np.ndarray:
        """Sorted distinct grid values (float64; integral for linear ranges), read-only: computed once
        per distinct range (hardware-space code asks for the grids thousands of times a study)."""
        return _grid_values(self.low, self.high, self.scale, self.steps_per_octave)


@lru_cache(maxsize=1024)
def _grid_values(low: float, high: float, scale: str, steps_per_octave: int) -> np.ndarray:
    """:meth:`HWParam.grid` of these settings (a read-only array, cached)."""
    if scale == "linear":
        vals = np.arange(math.ceil(low), math.floor(high) + 1, dtype=np.float64)
    else:
        lo, hi = math.log2(low), math.log2(high)
        k = np.arange(math.ceil(lo * steps_per_octave - 1e-9), math.floor(hi * steps_per_octave + 1e-9) + 1)
        octave, frac = np.divmod(k, steps_per_octave)
        vals = 2.0**octave * (1 + frac / steps_per_octave)  # x1, x1.5 (two steps), ...
        vals = np.unique(np.round(vals[(vals >= low - 1e-9) & (vals <= high + 1e-9)]))
    vals.setflags(write=False)
    return vals


def _normal_precision(value: str) -> str:
    """A precision as stored: a preset's name (lower case) or the label of explicit widths
    (``W8/I8/O24``); ``ValueError`` (one line) if it is neither (:func:`~.precision.parse_precision`)."""
    from .precision import PRECISIONS, parse_precision

    try:
        p = parse_precision(value)
    except CosearchError as err:
        raise ValueError(str(err)) from None
    key = str(value).strip().lower()
    return key if key in PRECISIONS else p.label


class PrecisionChoice(BaseModel):
    """A searched precision: the presets or widths a point may take, in the order given (a point stores
    the index into ``values``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    values: list[str]

    @field_validator("values")
    @classmethod
    def _known(cls, values: list[str]) -> list[str]:
        if not values:
            raise ValueError("empty list: give at least one precision")
        out = [_normal_precision(v) for v in values]
        dup = sorted({v for v in out if out.count(v) > 1})
        if dup:
            raise ValueError(f"precision {dup[0]} is listed twice")
        return out


def _searched_form(model: type[BaseModel], value: Any) -> Any:
    """``value`` validated as ``model`` if it is a mapping (``ValueError`` with the model's message),
    else as given."""
    if not isinstance(value, dict):
        return value
    try:
        return model.model_validate(value)
    except ValidationError as err:
        first = err.errors()[0]
        loc = ".".join(str(part) for part in first["loc"])
        msg = str(first["msg"]).removeprefix("Value error, ")
        raise ValueError(f"{loc}: {msg}" if loc else msg) from None


PHYSICAL_PARAMS = ("precision", "dram_gbps", "clock_mhz")
"""The physical settings a space may search, in the order they follow the template's parameters."""
PHYSICAL_LABELS = {"precision": "Precision", "dram_gbps": "DRAM bandwidth (GB/s)", "clock_mhz": "Clock (MHz)"}
PHYSICAL_SHORT = {"precision": "prec", "dram_gbps": "GB/s", "clock_mhz": "MHz"}
REFERENCE_PRECISION = "int16"
"""The reference design's precision when the space searches precision and lists it (else the first listed)."""


def searched_physical(space: Any) -> tuple[str, ...]:
    """The physical settings a space searches, from the space or its stored data (``hw_space`` of a
    study's configuration: a mapping where a setting is searched, a scalar or absent where not)."""
    if isinstance(space, HWSpace):
        return space.searched
    if not isinstance(space, dict):
        return ()
    return tuple(n for n in PHYSICAL_PARAMS if isinstance(space.get(n), dict))


_DERIVED: dict[str, dict[str, Any]] = {}
"""Tables derived from a space's fields (clock limits, the reference's settings), by the space's JSON:
no part of a space's identity, shared by equal spaces."""


class HWSpace(BaseModel):
    """A template plus parameter grids, an estimator and a DRAM bandwidth (words/cycle; or GB/s, fixed or searched).

    Optional, fixed for every point (``None``: as before they existed): ``technology`` (a node such as
    ``22nm``; sets ``estimator`` to ``cacti-<node>nm``, so it needs a ``cacti-*`` estimator), ``dram`` (a
    DRAM type, :mod:`.dram`; default LPDDR4), ``dram_gbps`` (DRAM bandwidth in GB/s, which then replaces
    ``dram_bandwidth``: converted to words/cycle at the clock) and ``clock_mhz`` (default 200 MHz; every
    point's SRAMs must meet it, :meth:`_clock_met`), ``precision`` (a preset or widths).

    Searched instead (:attr:`searched`): ``precision`` as a :class:`PrecisionChoice`, ``dram_gbps``
    (GB/s) and ``clock_mhz`` (MHz) as :class:`HWParam` grids. Each is then a parameter of the points,
    after the template's; a point's arch is built at its own settings (:meth:`build_options`), points
    whose SRAMs cannot meet their clock are excluded (:meth:`clock_feasible`), and the reference design
    is costed at :meth:`reference_physical`.

    ``template`` names a registered template, or, with ``user_template`` (a YAML template,
    :mod:`cosearch.arch.templates._yaml`), that template's name; ``user_template`` is left out of the
    dumped space when it is ``None``, so spaces on registered templates dump as they always did."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    name: str = "hw-space"
    user_template: TemplateSpec | None = None
    template: str
    estimator: str = "cacti-65nm"
    dram_bandwidth: BandwidthValue = 16.0
    word_bits: Count = 16
    params: dict[str, HWParam]
    technology: str | None = None
    dram: str | None = None
    dram_gbps: Annotated[float, Field(gt=0, le=1e6)] | HWParam | None = None
    clock_mhz: ClockMHz | HWParam | None = None
    precision: str | PrecisionChoice | None = None

    @field_validator("precision", mode="before")
    @classmethod
    def _precision_form(cls, value: Any) -> Any:
        """A mapping is a searched precision (a list is shorthand for ``{values: [...]}``), validated
        here so that an error names the problem rather than every member of the union."""
        if isinstance(value, list):
            value = {"values": value}
        return _searched_form(PrecisionChoice, value)

    @field_validator("dram_gbps", "clock_mhz", mode="before")
    @classmethod
    def _grid_form(cls, value: Any) -> Any:
        """A mapping is a searched grid (:class:`HWParam`)."""
        return _searched_form(HWParam, value)

    @field_validator("precision")
    @classmethod
    def _known_precision(cls, value: str | PrecisionChoice | None) -> str | PrecisionChoice | None:
        """A preset name (lower case) or explicit widths (``W8/I8/O24``), :mod:`.precision`."""
        if value is None or isinstance(value, PrecisionChoice):
            return value
        return _normal_precision(value)

    @field_validator("dram_gbps", "clock_mhz")
    @classmethod
    def _searched_grid(cls, value: Any, info: ValidationInfo) -> Any:
        if isinstance(value, HWParam) and value.high > 1e6:
            raise ValueError(f"{info.field_name}: high {value.high:g} is above 1e6")
        return value

    @model_validator(mode="before")
    @classmethod
    def _technology_sets_estimator(cls, data: Any) -> Any:
        """``technology: 22nm`` -> ``estimator: cacti-22nm`` (normalised ``technology: 22nm``)."""
        if not isinstance(data, dict) or data.get("technology") is None:
            return data
        from .technology import node_label, parse_node

        try:
            node = parse_node(data["technology"])
        except CosearchError as err:
            raise ValueError(str(err)) from None
        estimator = str(data.get("estimator", "cacti-65nm"))
        if not estimator.startswith("cacti-"):
            raise ValueError(f"technology {data['technology']} needs a cacti-* estimator, not {estimator}")
        return {**data, "technology": node_label(node), "estimator": f"cacti-{node}nm"}

    @field_validator("dram")
    @classmethod
    def _known_dram(cls, value: str | None) -> str | None:
        from .dram import get_dram

        try:
            return None if value is None else get_dram(value).name
        except CosearchError as err:
            raise ValueError(str(err)) from None

    @field_validator("template")
    @classmethod
    def _registered(cls, name: str, info: ValidationInfo) -> str:
        user = info.data.get("user_template")
        if user is None:
            get_template(name)
        elif name != user.name:
            raise ValueError(f"names user template {user.name!r} but says {name!r}")
        elif name in TEMPLATES:
            raise ValueError(f"user template {name!r} has the name of a built-in template; rename it")
        return name

    @model_serializer(mode="wrap")
    def _dump(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        out = handler(self)
        if out.get("user_template", 0) is None:
            del out["user_template"]
        return out

    @model_validator(mode="after")
    def _params_match_template(self) -> "HWSpace":
        want = set(self.template_names)
        have = set(self.params)
        if have != want:
            missing, extra = sorted(want - have), sorted(have - want)
            parts = ([f"missing {', '.join(missing)}"] if missing else []) + (
                [f"unknown {', '.join(extra)}"] if extra else [])
            raise ValueError(f"params for template {self.template}: {'; '.join(parts)}")
        for name, p in self._grid_params().items():
            if not len(p.grid()):
                raise ValueError(f"{'' if name in PHYSICAL_PARAMS else 'params.'}{name}: empty range {p.low}..{p.high}")
        self._largest_point_builds()
        if isinstance(self.clock_mhz, HWParam):
            self._check_clock_grid()
        self._clock_met()
        if self.searched:
            self.reference_physical()  # a reference clock its SRAMs meet, else ValueError
        return self

    def _clock_met(self) -> None:
        """With a fixed ``clock_mhz``: raise ``ValueError`` unless every point's SRAM banks meet it. A level's
        access time depends only on its own parameters (the template's ``level_params``), so each level's
        grid is walked with the other parameters at their lowest values. (A searched clock instead
        excludes the points whose SRAMs cannot meet theirs: :meth:`clock_feasible`.)"""
        if self.clock_mhz is None or isinstance(self.clock_mhz, HWParam):
            return
        from .estimator import clock_limit_mhz

        base = {n: plain_number(g[0]) for n, g in zip(self.template_names, self.grids())}
        grids = dict(zip(self.template_names, self.grids()))
        for level, params in self.template_spec.level_params.items():
            for combo in np.ndindex(*(len(grids[p]) for p in params)):
                vals = {**base, **{p: plain_number(grids[p][i]) for p, i in zip(params, combo)}}
                arch = self.template_spec.build(vals, dram_bandwidth=None, estimator=self.estimator,
                                                name=self.point_name(vals))
                limit, _ = clock_limit_mhz(arch)
                if limit is not None and self.clock_mhz > limit:
                    raise ValueError(f"clock {self.clock_mhz:g} MHz is above the SRAM limit: level {level} of point "
                                     f"{self.point_name(vals)} allows at most {limit:.1f} MHz under {self.estimator} "
                                     "(lower the clock or narrow its parameter ranges)")

    # ---- searched physical settings: the clock limit ----------------------------------------------
    def clock_limit_tables(self) -> list[tuple[tuple[int, ...], np.ndarray, str]]:
        """Per SRAM level of the template: ``(columns, table, level)``, the highest clock (MHz) its banks
        meet (one access per cycle, :func:`~.estimator.clock_limit_mhz`; ``inf`` without SRAM data) over
        the grid of its own parameters (the template's ``level_params``; a level's access time depends
        only on them, and not on precision, DRAM or clock). Built once per space."""
        if "clock_tables" not in self._cache:
            from .estimator import sram_access_ns

            def limit(arch: Arch, level: str) -> float:  # one level's part of clock_limit_mhz
                ns = [t for t, name in sram_access_ns(arch) if name == level]
                return 1000.0 / max(ns) if ns else np.inf

            names = self.names
            base = np.zeros(len(names), dtype=np.int64)
            arch0 = self.arch(base, clocked=False)
            level_params = self.template_spec.level_params
            # SRAM levels no parameter sizes (fixed by the template): one value each
            tables = [((), np.array(limit(arch0, lvl.name)), lvl.name) for lvl in arch0.levels
                      if lvl.name not in level_params and np.isfinite(limit(arch0, lvl.name))]
            for level, params in level_params.items():
                cols = tuple(names.index(p) for p in params)
                shape = tuple(int(self.sizes[c]) for c in cols)
                table = np.full(shape, np.inf)
                for idx in np.ndindex(*shape):
                    pt = base.copy()
                    pt[list(cols)] = idx
                    table[idx] = limit(self.arch(pt, clocked=False), level)
                tables.append((cols, table, level))
            self._cache["clock_tables"] = tables
        return self._cache["clock_tables"]

    def clock_limits(self, points: np.ndarray) -> np.ndarray:
        """``[n]`` highest clocks (MHz; ``inf``: no limit) the SRAMs of ``[n, P]`` points meet."""
        points = np.asarray(points, dtype=np.int64).reshape(-1, len(self.names))
        out = np.full(len(points), np.inf)
        for cols, table, _ in self.clock_limit_tables():
            out = np.minimum(out, table[tuple(points[:, c] for c in cols)] if cols else float(table))
        return out

    def clock_feasible(self, points: np.ndarray) -> np.ndarray:
        """``[n]`` bools: whether each of ``[n, P]`` points' SRAMs meet its clock. All true unless the clock
        is searched (a fixed clock is checked for every point when the space is loaded)."""
        points = np.asarray(points, dtype=np.int64).reshape(-1, len(self.names))
        if not isinstance(self.clock_mhz, HWParam):
            return np.ones(len(points), dtype=bool)
        clocks = self._grid("clock_mhz")[points[:, self.names.index("clock_mhz")]]
        return clocks <= self.clock_limits(points) * (1 + 1e-12)

    def _check_clock_grid(self) -> None:
        """``ValueError`` if no point of the space meets even the lowest clock of a searched clock grid:
        the fastest point's limit is the lowest over levels of each level's fastest grid value."""
        lows = [(float(table.max()), level) for _, table, level in self.clock_limit_tables()]
        if not lows:
            return
        best, level = min(lows)
        low = float(self._grid("clock_mhz")[0])
        if low > best * (1 + 1e-12):
            raise ValueError(f"clock_mhz: every clock of the grid ({low:g} MHz and up) is above the SRAM limit of "
                             f"every point: level {level} allows at most {best:.1f} MHz under {self.estimator} even "
                             "at its smallest (lower the clock range)")

    # ---- physical settings -------------------------------------------------------------------------
    @property
    def searched(self) -> tuple[str, ...]:
        """The physical settings this space searches (:data:`PHYSICAL_PARAMS` order)."""
        return tuple(n for n in PHYSICAL_PARAMS if isinstance(getattr(self, n), (HWParam, PrecisionChoice)))

    @property
    def _cache(self) -> dict[str, Any]:
        """This space's derived tables (:data:`_DERIVED`; a few spaces at most are kept)."""
        key = self.model_dump_json()
        if key not in _DERIVED:
            if len(_DERIVED) >= 32:
                _DERIVED.clear()
            _DERIVED[key] = {}
        return _DERIVED[key]

    @property
    def clock_searched(self) -> bool:
        """Whether the clock is searched (a grid, not one value)."""
        return isinstance(self.clock_mhz, HWParam)

    @property
    def effective_clock_mhz(self) -> float:
        """The clock (MHz) of every point: ``clock_mhz`` or the default (a searched clock: the reference
        design's, :meth:`reference_physical`)."""
        from .physical import DEFAULT_CLOCK_MHZ

        if isinstance(self.clock_mhz, HWParam):
            return float(self.reference_physical()["clock_mhz"])
        return DEFAULT_CLOCK_MHZ if self.clock_mhz is None else float(self.clock_mhz)

    @property
    def dram_words_per_cycle(self) -> float:
        """DRAM bandwidth in words/cycle: ``dram_gbps`` converted at the clock and word width, else
        ``dram_bandwidth`` (with searched settings: the reference design's, :meth:`reference_physical`)."""
        if not self.searched:
            if self.dram_gbps is None:
                return self.dram_bandwidth
            from .dram import gbps_to_words_per_cycle

            return gbps_to_words_per_cycle(float(self.dram_gbps), self.effective_clock_mhz, self.word_bits)
        return float(self.build_options()["dram_bandwidth"])

    def reference_physical(self) -> dict[str, Any]:
        """The values of the searched physical settings the reference design (the baseline) is costed at:
        precision ``int16`` if listed, else the first listed; DRAM bandwidth the grid value nearest (in
        log) to the space's ``dram_bandwidth`` words/cycle converted to GB/s at the reference clock and
        ``word_bits``; clock the grid value nearest to 200 MHz (in log) among those the reference design's
        SRAMs meet (``ValueError`` if none)."""
        if "reference" in self._cache:
            return dict(self._cache["reference"])
        from .dram import words_per_cycle_to_gbps
        from .estimator import clock_limit_mhz
        from .physical import DEFAULT_CLOCK_MHZ

        out: dict[str, Any] = {}
        if isinstance(self.precision, PrecisionChoice):
            vals = self.precision.values
            out["precision"] = REFERENCE_PRECISION if REFERENCE_PRECISION in vals else vals[0]
        clock = DEFAULT_CLOCK_MHZ if self.clock_mhz is None or isinstance(self.clock_mhz, HWParam) \
            else float(self.clock_mhz)
        if isinstance(self.clock_mhz, HWParam):
            ref = self.template_spec.reference
            arch = self.template_spec.build(dict(ref.values), dram_bandwidth=None, estimator=self.estimator,
                                            name=ref.label)
            limit, level = clock_limit_mhz(arch)
            grid = self._grid("clock_mhz")
            ok = grid[grid <= (np.inf if limit is None else limit) * (1 + 1e-12)]
            if not len(ok):
                raise ValueError(f"clock_mhz: no clock of the grid is met by the reference design {ref.label}: its "
                                 f"level {level} allows at most {limit:.1f} MHz under {self.estimator}")
            clock = float(ok[int(np.argmin(np.abs(np.log2(ok) - math.log2(DEFAULT_CLOCK_MHZ))))])
            out["clock_mhz"] = plain_number(clock)
        if isinstance(self.dram_gbps, HWParam):
            want = words_per_cycle_to_gbps(self.dram_bandwidth, clock, self.word_bits)
            grid = self._grid("dram_gbps")
            out["dram_gbps"] = plain_number(grid[int(np.argmin(np.abs(np.log2(grid) - math.log2(want))))])
        self._cache["reference"] = out
        return dict(out)

    def full_values(self, values: dict[str, Any]) -> dict[str, Any]:
        """``values`` with every searched physical setting it lacks at the reference design's value
        (:meth:`reference_physical`); ``values`` itself when the space searches none."""
        missing = [n for n in self.searched if n not in values]
        if not missing:
            return values
        ref = self.reference_physical()
        return {**values, **{n: ref[n] for n in missing}}

    def build_options(self, values: dict[str, Any] | None = None) -> dict[str, Any]:
        """The keyword arguments of :meth:`Template.build <cosearch.arch.templates.Template.build>` for
        this space's points: DRAM bandwidth (words/cycle), estimator, and DRAM type, clock and precision
        if set. With searched settings, those of the point ``values`` (those it lacks: the reference
        design's, :meth:`full_values`)."""
        vals = self.full_values(values or {}) if self.searched else {}
        precision = vals["precision"] if "precision" in self.searched else self.precision
        clock = vals["clock_mhz"] if "clock_mhz" in self.searched else self.clock_mhz
        gbps = vals["dram_gbps"] if "dram_gbps" in self.searched else self.dram_gbps
        if gbps is None:
            bandwidth = self.dram_bandwidth
        else:
            from .dram import gbps_to_words_per_cycle
            from .physical import DEFAULT_CLOCK_MHZ

            bandwidth = gbps_to_words_per_cycle(float(gbps), DEFAULT_CLOCK_MHZ if clock is None else float(clock),
                                                self.word_bits)
        opts: dict[str, Any] = {"dram_bandwidth": bandwidth, "estimator": self.estimator}
        if self.dram is not None:
            opts["dram"] = self.dram
        if clock is not None:
            opts["clock_mhz"] = clock
        if precision is not None:
            opts["precision"] = precision
        return opts

    def with_physical(self, *, technology: str | None = None, dram: str | None = None,
                      dram_gbps: float | None = None, clock_mhz: float | None = None,
                      precision: str | list[str] | None = None) -> HWSpace:
        """This space with the given physical settings replacing its own (``None``: keep); checked as a
        space file is (:class:`CosearchError`, one line, for an unknown node or DRAM type, a clock above
        the SRAM limit, ...). A ``precision`` list is searched (``{values: [...]}``)."""
        updates = {k: v for k, v in (("technology", technology), ("dram", dram), ("dram_gbps", dram_gbps),
                                     ("clock_mhz", clock_mhz), ("precision", precision)) if v is not None}
        if not updates:
            return self
        try:
            return HWSpace.model_validate({**self.config(), **updates})
        except ValidationError as err:
            raise CosearchError(format_validation_error(err, f"hw space {self.name}")) from None

    def config(self) -> dict[str, Any]:
        """The space as plain JSON data, without the optional physical settings that are not set (so a
        space written before they existed keeps its stored form and hash)."""
        data = self.model_dump(mode="json")
        for key in ("technology", "dram", "dram_gbps", "clock_mhz", "precision"):
            if data.get(key) is None:
                data.pop(key, None)
        return data

    def _largest_point_builds(self) -> None:
        """Raise ``ValueError`` if the point of every parameter's highest value is not a valid
        architecture (sizes, energies and areas grow with the parameters, so the largest point is the
        first to pass :mod:`cosearch.limits`); a search could otherwise propose it. With a searched
        precision every listed precision is built; a searched clock is left out (its SRAM limit is the
        clock constraint, :meth:`clock_feasible`) but the DRAM words/cycle are those of the lowest clock."""
        top = self.largest_values()
        precisions = self.precision.values if isinstance(self.precision, PrecisionChoice) else [None]
        try:
            for p in precisions:
                self.arch(top if p is None else {**top, "precision": p}, clocked=False)
        except ValidationError as err:
            raise ValueError(f"the largest point ({self.point_name(top)}) is not a valid architecture: "
                             f"{format_validation_error(err, 'its arch')}") from None
        except CosearchError as err:
            raise ValueError(f"the largest point ({self.point_name(top)}) is not a valid architecture: {err}") from None

    # ---- grids and points --------------------------------------------------------------------
    def largest_values(self) -> dict[str, Any]:
        """The values of the largest design: every template parameter at its highest grid value; of the
        searched physical settings the narrowest listed precision (the most words fit), the highest
        DRAM bandwidth and the lowest clock."""
        out: dict[str, Any] = {n: plain_number(self._grid(n)[-1]) for n in self.template_names}
        if isinstance(self.precision, PrecisionChoice):
            from .precision import parse_precision

            out["precision"] = min(self.precision.values, key=lambda v: max(parse_precision(v).bits.values()))
        if isinstance(self.dram_gbps, HWParam):
            out["dram_gbps"] = plain_number(self._grid("dram_gbps")[-1])
        if isinstance(self.clock_mhz, HWParam):
            out["clock_mhz"] = plain_number(self._grid("clock_mhz")[0])
        return out

    @property
    def template_spec(self) -> Template:
        """The :class:`~cosearch.arch.templates.Template` the space is on: the user template's, else the
        registered one."""
        return self.user_template.template() if self.user_template is not None else get_template(self.template)

    @property
    def template_names(self) -> tuple[str, ...]:
        """The template's parameter names, in point order."""
        return self.template_spec.names

    @property
    def names(self) -> tuple[str, ...]:
        """Parameter names, in point order: the template's, then the searched physical settings."""
        return self.template_spec.names + self.searched

    @property
    def labels(self) -> dict[str, str]:
        """Parameter name -> table label (the template's, and the physical settings')."""
        return {**self.template_spec.labels, **{n: PHYSICAL_LABELS[n] for n in self.searched}}

    @property
    def short_labels(self) -> dict[str, str]:
        """Parameter name -> narrow column header."""
        return {**self.template_spec.short_labels, **{n: PHYSICAL_SHORT[n] for n in self.searched}}

    @property
    def mesh_columns(self) -> tuple[int, int]:
        """Positions in a point of the template's two mesh parameters (columns, rows)."""
        return self.names.index(self.template_spec.mesh[0]), self.names.index(self.template_spec.mesh[1])

    def _grid_params(self) -> dict[str, HWParam]:
        """Every parameter on a numeric grid: the template's and a searched DRAM bandwidth and clock."""
        out = dict(self.params)
        for n in ("dram_gbps", "clock_mhz"):
            if isinstance(getattr(self, n), HWParam):
                out[n] = getattr(self, n)
        return out

    def _grid(self, name: str) -> np.ndarray:
        if name == "precision" and isinstance(self.precision, PrecisionChoice):
            return np.arange(len(self.precision.values), dtype=np.float64)
        return self._grid_params()[name].grid()

    def grids(self) -> list[np.ndarray]:
        """Each parameter's grid values (float64), in point order; a searched precision's is its indices
        ``0 .. len(values) - 1``."""
        return [self._grid(n) for n in self.names]

    @property
    def sizes(self) -> np.ndarray:
        return np.array([len(g) for g in self.grids()], dtype=np.int64)

    def values(self, point: np.ndarray) -> dict[str, Any]:
        """Parameter values of one point (grid indices ``[P]``); a searched precision as its name."""
        grids = self.grids()
        out: dict[str, Any] = {n: plain_number(grids[i][int(point[i])]) for i, n in enumerate(self.names)}
        if isinstance(self.precision, PrecisionChoice):
            out["precision"] = self.precision.values[int(out["precision"])]
        return out

    def point(self, values: dict[str, Any]) -> np.ndarray:
        """Grid indices of the grid values nearest to ``values`` (log distance for log2 params); a
        searched precision must be one listed."""
        out = []
        params = self._grid_params()
        for n, g in zip(self.names, self.grids()):
            if n == "precision":
                assert isinstance(self.precision, PrecisionChoice)
                key = _normal_precision(values[n])
                if key not in self.precision.values:
                    raise CosearchError(f"hw space {self.name}: precision {values[n]!r} is not one of "
                                        f"{', '.join(self.precision.values)}")
                out.append(self.precision.values.index(key))
                continue
            v = float(values[n])
            d = np.abs(np.log2(g) - math.log2(v)) if params[n].scale == "log2" else np.abs(g - v)
            out.append(int(np.argmin(d)))
        return np.array(out, dtype=np.int64)

    def pe_counts(self, points: np.ndarray) -> np.ndarray:
        """``[n]`` PEs (mesh columns × rows, float64) of ``[n, P]`` points."""
        grids = self.grids()
        cx, cy = self.mesh_columns
        return grids[cx][points[:, cx]] * grids[cy][points[:, cy]]

    def random_points(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """``[n, P]`` uniform grid indices (no constraint applied)."""
        return rng.integers(0, self.sizes[None, :], size=(n, len(self.names)))

    # ---- architectures -------------------------------------------------------------------------
    def arch(self, point: np.ndarray | dict[str, Any], name: str | None = None, *, clocked: bool = True) -> Arch:
        """The architecture of a point (grid indices or a values dict; searched settings it lacks at the
        reference design's), costed by the estimator. ``clocked=False`` leaves the clock out of the arch
        (no SRAM clock check; a DRAM bandwidth in GB/s is still converted at the point's clock)."""
        vals = point if isinstance(point, dict) else self.values(point)
        vals = self.full_values(vals)
        opts = self.build_options(vals)
        if not clocked:
            opts.pop("clock_mhz", None)
        tvals = {k: v for k, v in vals.items() if k not in self.searched} if self.searched else vals
        return self.template_spec.build(tvals, name=name or self.point_name(vals), **opts)

    def hw_payload(self, values: dict[str, Any]) -> dict[str, Any]:
        """The plain-data description of one point a work unit carries (:func:`payload_template` and
        :meth:`~cosearch.arch.templates.Template.build` rebuild its arch in any process): template name,
        the template's values, estimator, DRAM bandwidth (and type, clock and precision if set, the
        point's if searched: :meth:`build_options`; then also the point's name), and a user template's
        definition."""
        if self.searched:
            full = self.full_values(values)
            tvals = {k: v for k, v in full.items() if k not in self.searched}
            hw = {"template": self.template, "values": tvals, **self.build_options(full),
                  "name": self.point_name(full)}
        else:
            hw = {"template": self.template, "values": values, **self.build_options()}
        if self.user_template is not None:
            hw["user_template"] = self.user_template.model_dump(mode="json")
        return hw

    def point_name(self, values: dict[str, Any]) -> str:
        """A short readable name of a point's values, such as ``hw-14x12-glb108k-bw16-w224-i12-p24``
        (searched physical settings add ``-int8``, ``-d25gbs``, ``-400mhz``)."""
        tvals = {k: v for k, v in values.items() if k not in self.searched} if self.searched else values
        name = self.template_spec.point_name(tvals)
        for n in self.searched:
            if n not in values:
                continue
            v = values[n]
            if n == "precision":
                name += "-" + re.sub(r"[^a-z0-9]", "", str(v).lower().replace("float:", "f"))
            elif n == "dram_gbps":
                name += f"-d{plain_number(v)}gbs"
            else:
                name += f"-{plain_number(v)}mhz"
        return name


def payload_template(hw: dict[str, Any]) -> Template:
    """The template of a point's payload (:meth:`HWSpace.hw_payload`) or of a stored space's data
    (``hw_space`` of a study's configuration): its user template if it carries one, else the registered
    template it names (:class:`CosearchError` if none)."""
    user = hw.get("user_template")
    if user is None:
        return get_template(hw["template"])
    try:
        return TemplateSpec.model_validate(user).template()
    except ValidationError as err:
        raise CosearchError(format_validation_error(err, f"user template {hw.get('template')!r}")) from None


def _inline_template(data: dict[str, Any], base: Path | None, source: str) -> dict[str, Any]:
    """``data`` with a user template in place: a ``template:`` that is a mapping (the template inline) or
    a ``.yaml``/``.yml``/``.json`` path (relative to the space file's folder ``base``) becomes
    ``user_template`` plus its name."""
    spec = data.get("template")
    if isinstance(spec, str) and spec not in TEMPLATES and Path(spec).suffix.lower() in (".yaml", ".yml", ".json"):
        path = Path(spec) if Path(spec).is_absolute() or base is None else base / spec
        where = f"{source}: template {path}"
        spec = read_structured_file(path)
        if not isinstance(spec, dict):
            raise CosearchError(f"{where}: expected a mapping with name, levels and reference (a user template)")
    elif isinstance(spec, dict):
        where = f"{source}: template"
    else:
        return data
    try:
        TemplateSpec.model_validate(spec)
    except ValidationError as err:
        raise CosearchError(format_validation_error(err, where)) from None
    return {**data, "user_template": spec, "template": spec.get("name")}


def _builtin_space_data(name: str) -> Any:
    return yaml.safe_load(_SPACE_FILES.joinpath(HW_SPACES[name]).read_text())


def load_hw_space(name_or_path: str | Path | None = None, template: str = "eyeriss") -> HWSpace:
    """A built-in space (``eyeriss-like``, ``simple``) or a YAML file; default: the first built-in space
    on ``template``."""
    if name_or_path is None:
        on_template = [n for n in HW_SPACES if (_builtin_space_data(n) or {}).get("template") == template]
        if not on_template:
            raise CosearchError(f"no built-in hardware space on template {template!r} ({', '.join(HW_SPACES)})")
        name_or_path = on_template[0]
    text = str(name_or_path)
    base: Path | None = None
    if text in HW_SPACES:
        data = _builtin_space_data(text)
        source = f"hw space {text}"
    else:
        path = Path(text)
        if not path.exists() and path.suffix == "":
            raise CosearchError(f"unknown hardware space {text!r}: not built in ({', '.join(HW_SPACES)}) and no such file")
        data, source, base = read_structured_file(path), str(path), path.parent
    if not isinstance(data, dict):
        raise CosearchError(f"{source}: expected a mapping with template and params")
    data = _inline_template(data, base, source)
    try:
        return HWSpace.model_validate(data)
    except ValidationError as err:
        raise CosearchError(format_validation_error(err, source)) from None

