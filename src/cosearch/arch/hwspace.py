"""The hardware design space searched by co-design: a template, parameter grids, an estimator.

A point is an integer vector of grid indices ``[P]`` (one per parameter, in the order of
``HWSpace.names``, the template's); :meth:`HWSpace.values` turns it into parameter values and
:meth:`HWSpace.arch` into an :class:`~cosearch.arch.spec.Arch` whose energies and areas come from the
space's estimator. The templates (``eyeriss``, ``simple``, ...) are the modules of
:mod:`cosearch.arch.templates`; a space names one in its ``template`` field and gives a grid for each
of its parameters. Built-in spaces are the YAML files of ``cosearch/arch/hwspaces``.

Sizes are 16-bit words (``glb_kb`` in KiB); bandwidths in words per cycle.
"""

from __future__ import annotations

import math
from importlib import resources
from pathlib import Path
from typing import Any, Literal

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
        return self

    def grid(self) -> np.ndarray:
        """Sorted distinct grid values (float64; integral for linear ranges)."""
        if self.scale == "linear":
            return np.arange(math.ceil(self.low), math.floor(self.high) + 1, dtype=np.float64)
        lo, hi = math.log2(self.low), math.log2(self.high)
        k = np.arange(math.ceil(lo * self.steps_per_octave - 1e-9), math.floor(hi * self.steps_per_octave + 1e-9) + 1)
        octave, frac = np.divmod(k, self.steps_per_octave)
        vals = 2.0**octave * (1 + frac / self.steps_per_octave)  # x1, x1.5 (two steps), ...
        vals = np.unique(np.round(vals[(vals >= self.low - 1e-9) & (vals <= self.high + 1e-9)]))
        return vals


class HWSpace(BaseModel):
    """A template plus parameter grids, an estimator and a fixed DRAM bandwidth (words/cycle).

    Optional, fixed for every point (``None``: as before they existed): ``technology`` (a node such as
    ``22nm``; sets ``estimator`` to ``cacti-<node>nm``, so it needs a ``cacti-*`` estimator), ``dram`` (a
    DRAM type, :mod:`.dram`; default LPDDR4), ``dram_gbps`` (DRAM bandwidth in GB/s, which then replaces
    ``dram_bandwidth``: converted to words/cycle at the clock) and ``clock_mhz`` (default 200 MHz; every
    point's SRAMs must meet it, :meth:`_clock_met`).

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
    dram_gbps: float | None = Field(None, gt=0, le=1e6)
    clock_mhz: ClockMHz | None = None
    precision: str | None = None

    @field_validator("precision")
    @classmethod
    def _known_precision(cls, value: str | None) -> str | None:
        """A preset name (lower case) or explicit widths (``W8/I8/O24``), :mod:`.precision`."""
        if value is None:
            return None
        from .precision import PRECISIONS, parse_precision

        try:
            p = parse_precision(value)
        except CosearchError as err:
            raise ValueError(str(err)) from None
        key = value.strip().lower()
        return key if key in PRECISIONS else p.label

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
        want = set(self.names)
        have = set(self.params)
        if have != want:
            missing, extra = sorted(want - have), sorted(have - want)
            parts = ([f"missing {', '.join(missing)}"] if missing else []) + (
                [f"unknown {', '.join(extra)}"] if extra else [])
            raise ValueError(f"params for template {self.template}: {'; '.join(parts)}")
        for name, p in self.params.items():
            if not len(p.grid()):
                raise ValueError(f"params.{name}: empty range {p.low}..{p.high}")
        self._largest_point_builds()
        self._clock_met()
        return self

    def _clock_met(self) -> None:
        """With a ``clock_mhz``: raise ``ValueError`` unless every point's SRAM banks meet it. A level's
        access time depends only on its own parameters (the template's ``level_params``), so each level's
        grid is walked with the other parameters at their lowest values."""
        if self.clock_mhz is None:
            return
        from .estimator import clock_limit_mhz

        base = {n: plain_number(g[0]) for n, g in zip(self.names, self.grids())}
        grids = dict(zip(self.names, self.grids()))
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

    # ---- physical settings -------------------------------------------------------------------------
    @property
    def effective_clock_mhz(self) -> float:
        """The clock (MHz) of every point: ``clock_mhz`` or the default."""
        from .physical import DEFAULT_CLOCK_MHZ

        return DEFAULT_CLOCK_MHZ if self.clock_mhz is None else float(self.clock_mhz)

    @property
    def dram_words_per_cycle(self) -> float:
        """DRAM bandwidth in words/cycle: ``dram_gbps`` converted at the clock and word width, else
        ``dram_bandwidth``."""
        if self.dram_gbps is None:
            return self.dram_bandwidth
        from .dram import gbps_to_words_per_cycle

        return gbps_to_words_per_cycle(self.dram_gbps, self.effective_clock_mhz, self.word_bits)

    def build_options(self) -> dict[str, Any]:
        """The keyword arguments of :meth:`Template.build <cosearch.arch.templates.Template.build>` for
        this space's points: DRAM bandwidth (words/cycle), estimator, and DRAM type and clock if set."""
        opts: dict[str, Any] = {"dram_bandwidth": self.dram_words_per_cycle, "estimator": self.estimator}
        if self.dram is not None:
            opts["dram"] = self.dram
        if self.clock_mhz is not None:
            opts["clock_mhz"] = self.clock_mhz
        if self.precision is not None:
            opts["precision"] = self.precision
        return opts

    def with_physical(self, *, technology: str | None = None, dram: str | None = None,
                      dram_gbps: float | None = None, clock_mhz: float | None = None,
                      precision: str | None = None) -> HWSpace:
        """This space with the given physical settings replacing its own (``None``: keep); checked as a
        space file is (:class:`CosearchError`, one line, for an unknown node or DRAM type, a clock above
        the SRAM limit, ...)."""
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
        first to pass :mod:`cosearch.limits`); a search could otherwise propose it."""
        top = self.largest_values()
        try:
            self.arch(top)
        except ValidationError as err:
            raise ValueError(f"the largest point ({self.point_name(top)}) is not a valid architecture: "
                             f"{format_validation_error(err, 'its arch')}") from None
        except CosearchError as err:
            raise ValueError(f"the largest point ({self.point_name(top)}) is not a valid architecture: {err}") from None

    # ---- grids and points --------------------------------------------------------------------
    def largest_values(self) -> dict[str, float]:
        """The values of the point of every parameter's highest grid value (the largest design)."""
        return {n: plain_number(g[-1]) for n, g in zip(self.names, self.grids())}

    @property
    def template_spec(self) -> Template:
        """The :class:`~cosearch.arch.templates.Template` the space is on: the user template's, else the
        registered one."""
        return self.user_template.template() if self.user_template is not None else get_template(self.template)

    @property
    def names(self) -> tuple[str, ...]:
        """Parameter names, in point order (the template's)."""
        return self.template_spec.names

    @property
    def mesh_columns(self) -> tuple[int, int]:
        """Positions in a point of the template's two mesh parameters (columns, rows)."""
        return self.names.index(self.template_spec.mesh[0]), self.names.index(self.template_spec.mesh[1])

    def grids(self) -> list[np.ndarray]:
        return [self.params[n].grid() for n in self.names]

    @property
    def sizes(self) -> np.ndarray:
        return np.array([len(g) for g in self.grids()], dtype=np.int64)

    def values(self, point: np.ndarray) -> dict[str, float]:
        """Parameter values of one point (grid indices ``[P]``)."""
        grids = self.grids()
        return {n: plain_number(grids[i][int(point[i])]) for i, n in enumerate(self.names)}

    def point(self, values: dict[str, float]) -> np.ndarray:
        """Grid indices of the grid values nearest to ``values`` (log distance for log2 params)."""
        out = []
        for n, g in zip(self.names, self.grids()):
            v = float(values[n])
            d = np.abs(np.log2(g) - math.log2(v)) if self.params[n].scale == "log2" else np.abs(g - v)
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
    def arch(self, point: np.ndarray | dict[str, float], name: str | None = None) -> Arch:
        """The architecture of a point (grid indices or a values dict), costed by the estimator."""
        vals = point if isinstance(point, dict) else self.values(point)
        return self.template_spec.build(vals, name=name or self.point_name(vals), **self.build_options())

    def hw_payload(self, values: dict[str, Any]) -> dict[str, Any]:
        """The plain-data description of one point a work unit carries (:func:`payload_template` and
        :meth:`~cosearch.arch.templates.Template.build` rebuild its arch in any process): template name,
        values, estimator, DRAM bandwidth (and type and clock if set, :meth:`build_options`), and a user
        template's definition."""
        hw = {"template": self.template, "values": values, **self.build_options()}
        if self.user_template is not None:
            hw["user_template"] = self.user_template.model_dump(mode="json")
        return hw

    def point_name(self, values: dict[str, float]) -> str:
        """A short readable name of a point's values, such as ``hw-14x12-glb108k-bw16-w224-i12-p24``."""
        return self.template_spec.point_name(values)


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

