"""Hardware templates: the families of architectures a hardware space can search, one module each.

A :class:`Template` declares everything that is particular to one family: its parameters (in the
order of a point's grid indices) with their labels, which two parameters shape the PE mesh, how
parameter values become an :class:`~cosearch.arch.spec.Arch`, which parameters set each level's
per-instance area, and its reference design (the co-design baseline, with the named dataflow of its
second baseline, if any).

Every public module of this package defines ``TEMPLATE``; on import they are all found
(:func:`discover`) and registered in :data:`TEMPLATES` under their names. Adding a template is adding
one module here; a hardware space names it in its ``template:`` field.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType, ModuleType
from typing import Any

from pydantic import ValidationError

from ..._io import format_validation_error
from ...errors import CosearchError
from ...limits import BANDWIDTH_MIN, INT_MAX, check_float, check_int
from ..estimator import apply_estimator
from ..precision import apply_precision, parse_precision
from ..spec import Arch

LevelBuilder = Callable[[Mapping[str, float], dict[str, int], float | None], list[dict[str, Any]]]
"""``levels(values, pe, dram_bandwidth)``: the storage levels, outer to inner, as :class:`Arch` level
dicts with placeholder energies (the estimator sets them). ``pe`` is ``{"instances", "mesh_x",
"mesh_y"}`` of the PE mesh, to spread on every per-PE level; ``dram_bandwidth`` in words/cycle."""


@dataclass(frozen=True)
class Param:
    """One template parameter.

    ``label``: its name in a parameter table (``"GLB KiB"``); ``short``: its narrow column header
    (``"GLB bw"``); ``tag``: its part of a point's name, ``{}`` standing for the value (``"glb{}k"``),
    empty for the two mesh parameters (the name starts with ``hw-XxY``).
    """

    name: str
    label: str
    short: str
    tag: str = ""


@dataclass(frozen=True)
class Reference:
    """A template's reference design, the baseline a co-design study is compared with.

    ``values``: its parameter values (template order; integers stay integers in JSON). ``dataflow``:
    the named dataflow (:mod:`cosearch.mapping.constraints`) of the second baseline, the same design
    mapped under that dataflow; ``None`` if the template has none, and the second baseline is the
    first. ``dataflow_tag`` names the second baseline in labels (``"eyeriss-168 (RS)"``).
    ``sets_budget``: the default area budget of a space on the template is this design's area under the
    space's estimator (otherwise it is eyeriss-168's, :func:`cosearch.codesign.budget.parse_area_budget`).
    """

    label: str
    values: Mapping[str, float]
    dataflow: str | None = None
    dataflow_tag: str = "same"
    sets_budget: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "values", MappingProxyType(dict(self.values)))


@dataclass(frozen=True)
class Template:
    """A family of architectures (see the module docstring).

    ``mesh``: the names of the (columns, rows) parameters; a design has their product of PEs.
    ``level_params``: for each level whose area the area model counts, the parameters its
    per-instance area depends on (in level order; other levels, such as DRAM, have no on-chip area).
    ``mac_block``: for a template of block MACs (vector PEs), ``mac_block(values)`` is the MAC's
    ``block`` (``{dim: multipliers}``, :attr:`~cosearch.arch.spec.Mac.block`); ``None``: scalar MACs.
    ``mac_params``: the parameters the MAC's block (hence its area) depends on; empty for scalar MACs.
    """

    name: str
    params: tuple[Param, ...]
    mesh: tuple[str, str]
    levels: LevelBuilder = field(repr=False)
    level_params: Mapping[str, tuple[str, ...]]
    reference: Reference
    mac_block: Callable[[Mapping[str, float]], dict[str, int]] | None = field(default=None, repr=False)
    mac_params: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "level_params", MappingProxyType(dict(self.level_params)))
        known = set(self.names)
        if len(known) != len(self.params):
            raise ValueError(f"template {self.name}: a parameter is declared twice")
        if bool(self.mac_params) != (self.mac_block is not None):
            raise ValueError(f"template {self.name}: mac_block and mac_params go together")
        unknown = sorted(({*self.mesh} | {p for ps in self.level_params.values() for p in ps} | {*self.mac_params})
                         - known)
        if unknown:
            raise ValueError(f"template {self.name}: mesh or level parameters {', '.join(unknown)} are not parameters")
        if set(self.reference.values) != known:
            missing, extra = sorted(known - set(self.reference.values)), sorted(set(self.reference.values) - known)
            parts = ([f"missing {', '.join(missing)}"] if missing else []) + (
                [f"unknown {', '.join(extra)}"] if extra else [])
            raise ValueError(f"template {self.name}: reference {self.reference.label} does not set exactly the "
                             f"template's parameters ({'; '.join(parts)})")

    @property
    def names(self) -> tuple[str, ...]:
        """Parameter names, in point order."""
        return tuple(p.name for p in self.params)

    @property
    def labels(self) -> dict[str, str]:
        """Parameter name -> table label."""
        return {p.name: p.label for p in self.params}

    @property
    def short_labels(self) -> dict[str, str]:
        """Parameter name -> narrow column header."""
        return {p.name: p.short for p in self.params}

    def build(self, values: Mapping[str, float], *, dram_bandwidth: float | None, estimator: str,
              name: str = "hw", dram: str | None = None, clock_mhz: float | None = None,
              precision: str | None = None) -> Arch:
        """The :class:`Arch` of one point (parameter values), costed by estimator ``estimator``;
        ``dram_bandwidth`` in words/cycle (``None``: unlimited); ``dram`` the DRAM type and ``clock_mhz``
        the clock (``None``: LPDDR4, 200 MHz; neither is written into the arch then); ``precision`` a
        preset or widths (:func:`~cosearch.arch.precision.parse_precision`; ``None``: 16-bit). Values that are
        not exactly the template's parameters as positive finite numbers (the mesh's as integers), or
        a point that is not a valid architecture, raise :class:`CosearchError` naming the template and
        the parameter."""
        values = self.checked_values(values)
        if dram_bandwidth is not None:
            check_float(dram_bandwidth, f"template {self.name}: dram_bandwidth", low=BANDWIDTH_MIN)
        x, y = int(values[self.mesh[0]]), int(values[self.mesh[1]])
        pe = {"instances": x * y, "mesh_x": x, "mesh_y": y}
        mac: dict[str, Any] = {**pe, "energy_pj": 1.0}
        if self.mac_block is not None:
            mac["block"] = self.mac_block(values)
        try:
            arch = Arch(name=name, levels=self.levels(values, pe, dram_bandwidth), mac=mac,
                        estimator="table", dram=dram, clock_mhz=clock_mhz)
        except ValidationError as err:
            raise CosearchError(format_validation_error(err, f"template {self.name} point {self.point_name(values)}")) from None
        costed = apply_estimator(arch, estimator)
        if precision is None:
            return costed
        return apply_precision(costed, parse_precision(precision))

    def checked_values(self, values: Any) -> dict[str, float]:
        """``values`` as a dict, checked: exactly the template's parameters, each a positive finite
        number (the two mesh parameters integral, >= 1); else :class:`CosearchError` naming the template and the parameter."""
        if not isinstance(values, Mapping):
            raise CosearchError(f"template {self.name}: parameter values must be a mapping of "
                                f"{', '.join(self.names)}, got {type(values).__name__}")
        missing = [n for n in self.names if n not in values]
        unknown = sorted(str(k) for k in values if k not in self.names)
        if missing or unknown:
            parts = ([f"missing {', '.join(missing)}"] if missing else []) + (
                [f"unknown {', '.join(unknown)}"] if unknown else [])
            raise CosearchError(f"template {self.name}: parameter values: {'; '.join(parts)}")
        out: dict[str, float] = {}
        for n in self.names:
            what = f"template {self.name}: parameter {n}"
            if n in self.mesh:
                check_int(values[n], what, low=1)
            else:
                # at most 2**62 as the arch's counts; what a value makes of a level, the arch's limits say
                check_float(values[n], what, low=0.0, low_open=True, high=float(INT_MAX))
            out[n] = values[n]  # as given (an int stays an int: names and JSON unchanged)
        return out

    def point_name(self, values: Mapping[str, float]) -> str:
        """A short readable name of a point, such as ``hw-14x12-glb108k-bw16-w224-i12-p24``."""
        x, y = (plain_number(values[n]) for n in self.mesh)
        return "-".join([f"hw-{x}x{y}", *(p.tag.format(plain_number(values[p.name])) for p in self.params if p.tag)])


def plain_number(x: float) -> float | int:
    """``x`` as an ``int`` if it is integral, else as a ``float`` (how parameter values are shown and stored)."""
    return int(x) if float(x).is_integer() else float(x)


# ---- levels several templates share ---------------------------------------------------------------
def dram_level(bandwidth: float | None) -> dict[str, Any]:
    """Off-chip DRAM holding every data space, unbounded; ``bandwidth`` shared, words/cycle."""
    return {"name": "DRAM", "technology": "DRAM", "size_words": None, "keeps": ["Weights", "Inputs", "Outputs"],
            "bandwidth": {"shared": bandwidth}}


def glb_level(kib: float, bandwidth: float) -> dict[str, Any]:
    """A global buffer of ``kib`` KiB (16-bit words) that a mapping may bypass for any data space;
    ``bandwidth`` words/cycle for reads and for writes."""
    bw = float(bandwidth)
    return {"name": "GLB", "size_words": int(round(float(kib) * 1024 * 8 / 16)),
            "keeps": ["Weights", "Inputs", "Outputs"], "keeps_fixed": False, "bandwidth": {"read": bw, "write": bw}}


# ---- the registry ----------------------------------------------------------------------------------
TEMPLATES: dict[str, Template] = {}
"""Every registered template by name, in discovery order (module names, alphabetically)."""


def register_module(module: ModuleType) -> Template:
    """Register the ``TEMPLATE`` a template module defines (a name may be registered once)."""
    template = getattr(module, "TEMPLATE", None)
    if not isinstance(template, Template):
        raise TypeError(f"template module {module.__name__} defines no TEMPLATE (a Template)")
    if template.name in TEMPLATES:
        raise ValueError(f"hardware template {template.name!r} of {module.__name__} is already registered")
    TEMPLATES[template.name] = template
    return template


def discover(path: Iterable[str], package: str) -> list[Template]:
    """Import every public module of the package ``package`` (found on ``path``) and register its
    template; returns them in module-name order."""
    return [register_module(importlib.import_module(f"{package}.{info.name}"))
            for info in sorted(pkgutil.iter_modules(list(path)), key=lambda info: info.name)
            if not info.name.startswith("_")]


def get_template(name: str) -> Template:
    """The registered template ``name``; :class:`CosearchError` naming the registered ones otherwise."""
    try:
        return TEMPLATES[name]
    except KeyError:
        raise CosearchError(f"unknown hardware template {name!r} (choose from {', '.join(TEMPLATES)})") from None


def param_label(name: str) -> str:
    """The table label of parameter ``name`` in the first template declaring it (else ``name``)."""
    return next((t.labels[name] for t in TEMPLATES.values() if name in t.labels), name)


discover(__path__, __name__)
