"""Loading architectures: built-in presets, cosearch YAML/JSON files, and reference-record ``arch`` objects."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from .._io import format_validation_error, read_structured_file
from ..errors import CosearchError
from .estimator import apply_estimator
from .spec import Arch

PRESETS: dict[str, str] = {
    "eyeriss-168": "eyeriss-168.yaml",
    "eyeriss-256": "eyeriss-256.yaml",
    "simple-64": "simple-64.yaml",
}
"""Preset name -> file under ``cosearch/arch/presets``."""


def _is_reference_arch(data: dict[str, Any]) -> bool:
    levels = data.get("levels")
    return isinstance(levels, list) and bool(levels) and isinstance(levels[0], dict) and "energy_pJ_per_access" in levels[0]


def _object(value: Any, where: str) -> dict[str, Any]:
    """``value`` if it is a JSON object, else :class:`CosearchError` naming ``where``."""
    if not isinstance(value, dict):
        raise CosearchError(f"{where} must be an object, got {type(value).__name__}")
    return value


def arch_from_reference(data: dict[str, Any], source: str = "arch") -> Arch:
    """Convert the ``arch`` object of a ``shared/reference`` record into an :class:`Arch`; a level,
    bandwidth or MAC entry that is not an object raises :class:`CosearchError` naming it."""
    levels = []
    data = _object(data, source)
    if not isinstance(data.get("levels"), list):
        raise CosearchError(f"{source}: levels must be a list of objects")
    for i, lvl in enumerate(data["levels"]):
        lvl = _object(lvl, f"{source}: levels[{i}]")
        bw = _object(lvl.get("bandwidth_words_per_cycle") or {}, f"{source}: levels[{i}].bandwidth_words_per_cycle")
        levels.append(
            {
                "name": lvl["name"],
                "size_words": lvl.get("size_words"),
                "word_bits": lvl.get("word_bits", 16),
                "instances": lvl.get("instances", 1),
                "mesh_x": lvl.get("meshX", 1),
                "mesh_y": lvl.get("meshY", 1),
                "keeps": lvl.get("keeps", ["Weights", "Inputs", "Outputs"]),
                "keeps_fixed": lvl.get("keeps_fixed_by_arch", True),
                "energy_pj": lvl.get("energy_pJ_per_access", {}),
                "bandwidth": {
                    "read": bw.get("read_bandwidth"),
                    "write": bw.get("write_bandwidth"),
                    "shared": bw.get("shared_bandwidth"),
                },
                "technology": lvl.get("technology", "SRAM"),
            }
        )
    mac = _object(data.get("mac", {}), f"{source}: mac")
    return Arch(
        name=data.get("name", "arch"),
        levels=levels,
        mac={
            "instances": mac.get("instances", 1),
            "mesh_x": mac.get("meshX", 1),
            "mesh_y": mac.get("meshY", 1),
            "energy_pj": mac.get("energy_pJ_per_mac", 1.0),
        },
    )


def arch_from_data(data: Any, source: str) -> Arch:
    """Build an :class:`Arch` from parsed YAML/JSON: a cosearch arch, a reference record or its ``arch``."""
    if not isinstance(data, dict):
        raise CosearchError(f"{source}: expected a mapping with 'levels' and 'mac', got {type(data).__name__}")
    if "arch" in data and isinstance(data["arch"], dict):
        data = data["arch"]
    try:
        if _is_reference_arch(data):
            return arch_from_reference(data, source)
        return apply_estimator(Arch.model_validate(data), source=source)
    except ValidationError as err:
        raise CosearchError(format_validation_error(err, source)) from None
    except (KeyError, TypeError) as err:
        raise CosearchError(f"{source}: malformed architecture ({err})") from None


def load_arch(name_or_path: str | Path | Arch | dict[str, Any]) -> Arch:
    """Load a preset by name (``eyeriss-168``, ``eyeriss-256``, ``simple-64``), a YAML/JSON file,
    or a dict; an :class:`Arch` is returned unchanged."""
    if isinstance(name_or_path, Arch):
        return name_or_path
    if isinstance(name_or_path, dict):
        return arch_from_data(name_or_path, "arch")
    text = str(name_or_path)
    if text in PRESETS:
        ref = resources.files("cosearch.arch").joinpath("presets", PRESETS[text])
        return arch_from_data(yaml.safe_load(ref.read_text()), f"preset {text}")
    path = Path(text)
    if not path.exists() and path.suffix == "":
        raise CosearchError(f"unknown architecture {text!r}: not a preset ({', '.join(PRESETS)}) and no such file")
    return arch_from_data(read_structured_file(path), str(path))
