"""The hardware design space searched by co-design: a template, parameter grids, an estimator.

A point is an integer vector of grid indices ``[P]`` (one per parameter, in the order of
``HWSpace.names``); :meth:`HWSpace.values` turns it into parameter values and :meth:`HWSpace.arch`
into an :class:`~cosearch.arch.spec.Arch` whose energies and areas come from the space's estimator.
Templates:

* ``eyeriss``: DRAM -> GLB (bypassable) -> per-PE ifmap / weights / psum scratchpads -> MAC.
  Parameters ``mesh_x``, ``mesh_y``, ``glb_kb``, ``glb_bandwidth``, ``weights_spad_words``,
  ``ifmap_spad_words``, ``psum_spad_words``.
* ``simple``: DRAM -> GLB (bypassable) -> per-PE unified register file (bypassable) -> MAC.
  Parameters ``mesh_x``, ``mesh_y``, ``glb_kb``, ``glb_bandwidth``, ``rf_words``.

Sizes are 16-bit words (``glb_kb`` in KiB); bandwidths in words per cycle.
"""

from __future__ import annotations

import math
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import numpy as np
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from ..errors import CosearchError
from .._io import format_validation_error, read_structured_file
from .spec import Arch

TEMPLATE_PARAMS: dict[str, tuple[str, ...]] = {
    "eyeriss": ("mesh_x", "mesh_y", "glb_kb", "glb_bandwidth", "weights_spad_words", "ifmap_spad_words",
                "psum_spad_words"),
    "simple": ("mesh_x", "mesh_y", "glb_kb", "glb_bandwidth", "rf_words"),
}
HW_SPACES: dict[str, str] = {"eyeriss-like": "eyeriss-like.yaml", "simple": "simple.yaml"}


class HWParam(BaseModel):
    """An integer parameter on a grid from ``low`` to ``high`` (inclusive)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    low: float = Field(gt=0)
    high: float = Field(gt=0)
    scale: Literal["linear", "log2"] = "linear"
    steps_per_octave: int = Field(1, ge=1, le=8)

    @model_validator(mode="after")
    def _ordered(self) -> "HWParam":
        if self.high < self.low:
            raise ValueError(f"inverted range: low {self.low} > high {self.high}")
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
    """A template plus parameter grids, an estimator and a fixed DRAM bandwidth (words/cycle)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = "hw-space"
    template: Literal["eyeriss", "simple"]
    estimator: str = "cacti-65nm"
    dram_bandwidth: float = Field(16.0, gt=0)
    word_bits: int = 16
    params: dict[str, HWParam]

    @model_validator(mode="after")
    def _params_match_template(self) -> "HWSpace":
        want = set(TEMPLATE_PARAMS[self.template])
        have = set(self.params)
        if have != want:
            missing, extra = sorted(want - have), sorted(have - want)
            parts = ([f"missing {', '.join(missing)}"] if missing else []) + (
                [f"unknown {', '.join(extra)}"] if extra else [])
            raise ValueError(f"params for template {self.template}: {'; '.join(parts)}")
        for name, p in self.params.items():
            if not len(p.grid()):
                raise ValueError(f"params.{name}: empty range {p.low}..{p.high}")
        return self

    # ---- grids and points --------------------------------------------------------------------
    @property
    def names(self) -> tuple[str, ...]:
        return TEMPLATE_PARAMS[self.template]

    def grids(self) -> list[np.ndarray]:
        return [self.params[n].grid() for n in self.names]

    @property
    def sizes(self) -> np.ndarray:
        return np.array([len(g) for g in self.grids()], dtype=np.int64)

    def values(self, point: np.ndarray) -> dict[str, float]:
        """Parameter values of one point (grid indices ``[P]``)."""
        grids = self.grids()
        return {n: _num(grids[i][int(point[i])]) for i, n in enumerate(self.names)}

    def point(self, values: dict[str, float]) -> np.ndarray:
        """Grid indices of the grid values nearest to ``values`` (log distance for log2 params)."""
        out = []
        for n, g in zip(self.names, self.grids()):
            v = float(values[n])
            d = np.abs(np.log2(g) - math.log2(v)) if self.params[n].scale == "log2" else np.abs(g - v)
            out.append(int(np.argmin(d)))
        return np.array(out, dtype=np.int64)

    def random_points(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """``[n, P]`` uniform grid indices (no constraint applied)."""
        return rng.integers(0, self.sizes[None, :], size=(n, len(self.names)))

    # ---- architectures -------------------------------------------------------------------------
    def arch(self, point: np.ndarray | dict[str, float], name: str | None = None) -> Arch:
        """The architecture of a point (grid indices or a values dict), costed by the estimator."""
        vals = point if isinstance(point, dict) else self.values(point)
        return build_arch(self.template, vals, dram_bandwidth=self.dram_bandwidth, estimator=self.estimator,
                          name=name or point_name(vals))


def _num(x: float) -> float | int:
    return int(x) if float(x).is_integer() else float(x)


def point_name(values: dict[str, float]) -> str:
    """A short readable name such as ``hw-14x12-glb108k-bw16-w224-i12-p24``."""
    parts = [f"hw-{_num(values['mesh_x'])}x{_num(values['mesh_y'])}", f"glb{_num(values['glb_kb'])}k",
             f"bw{_num(values['glb_bandwidth'])}"]
    for key, tag in (("weights_spad_words", "w"), ("ifmap_spad_words", "i"), ("psum_spad_words", "p"),
                     ("rf_words", "rf")):
        if key in values:
            parts.append(f"{tag}{_num(values[key])}")
    return "-".join(parts)


def build_arch(template: str, values: dict[str, float], *, dram_bandwidth: float | None, estimator: str,
               name: str = "hw") -> Arch:
    """An :class:`Arch` of ``template`` with the given parameter values, costed by ``estimator``."""
    from .estimator import apply_estimator

    x, y = int(values["mesh_x"]), int(values["mesh_y"])
    pes = x * y
    glb_words = int(round(float(values["glb_kb"]) * 1024 * 8 / 16))
    bw = float(values["glb_bandwidth"])
    dram = {"name": "DRAM", "technology": "DRAM", "size_words": None,
            "keeps": ["Weights", "Inputs", "Outputs"], "bandwidth": {"shared": dram_bandwidth}}
    glb = {"name": "GLB", "size_words": glb_words, "keeps": ["Weights", "Inputs", "Outputs"],
           "keeps_fixed": False, "bandwidth": {"read": bw, "write": bw}}
    pe = {"instances": pes, "mesh_x": x, "mesh_y": y}
    if template == "eyeriss":
        inner = [
            {"name": "ifmap_spad", "size_words": int(values["ifmap_spad_words"]), "keeps": ["Inputs"], **pe},
            {"name": "weights_spad", "size_words": int(values["weights_spad_words"]), "keeps": ["Weights"], **pe},
            {"name": "psum_spad", "size_words": int(values["psum_spad_words"]), "keeps": ["Outputs"], **pe},
        ]
    elif template == "simple":
        inner = [{"name": "RF", "size_words": int(values["rf_words"]), "keeps": ["Weights", "Inputs", "Outputs"],
                  "keeps_fixed": False, **pe}]
    else:
        raise CosearchError(f"unknown hardware template {template!r} (choose from {', '.join(TEMPLATE_PARAMS)})")
    arch = Arch(name=name, levels=[dram, glb, *inner], mac={**pe, "energy_pj": 1.0}, estimator="table")
    return apply_estimator(arch, estimator)


def load_hw_space(name_or_path: str | Path | None = None, template: str = "eyeriss") -> HWSpace:
    """A built-in space (``eyeriss-like``, ``simple``) or a YAML file; default: the template's space."""
    if name_or_path is None:
        name_or_path = "eyeriss-like" if template == "eyeriss" else "simple"
    text = str(name_or_path)
    if text in HW_SPACES:
        data = yaml.safe_load(resources.files("cosearch.arch").joinpath("hwspaces", HW_SPACES[text]).read_text())
        source = f"hw space {text}"
    else:
        path = Path(text)
        if not path.exists() and path.suffix == "":
            raise CosearchError(f"unknown hardware space {text!r}: not built in ({', '.join(HW_SPACES)}) and no such file")
        data, source = read_structured_file(path), str(path)
    if not isinstance(data, dict):
        raise CosearchError(f"{source}: expected a mapping with template and params")
    try:
        return HWSpace.model_validate(data)
    except ValidationError as err:
        raise CosearchError(format_validation_error(err, source)) from None


def hw_space_data(space: HWSpace) -> dict[str, Any]:
    """JSON-able description of a space (stored with studies)."""
    return space.model_dump(mode="json")
