"""The simple template: DRAM -> GLB (bypassable) -> per-PE unified register file (bypassable) -> MAC.

The register file may hold any of weights, inputs and outputs (a mapping chooses). Sizes are 16-bit
words (``glb_kb`` in KiB); the GLB's read and write bandwidths are ``glb_bandwidth`` words/cycle. The
reference design is an 8 × 8 mesh with a 64 KiB GLB and 64-word register files; the template has no
named dataflow, so both baselines are that design under the study's mapper.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from . import Param, Reference, Template, dram_level, glb_level


def _levels(values: Mapping[str, float], pe: dict[str, int], dram_bandwidth: float | None) -> list[dict[str, Any]]:
    return [
        dram_level(dram_bandwidth),
        glb_level(values["glb_kb"], values["glb_bandwidth"]),
        {"name": "RF", "size_words": int(values["rf_words"]), "keeps": ["Weights", "Inputs", "Outputs"],
         "keeps_fixed": False, **pe},
    ]


TEMPLATE = Template(
    name="simple",
    params=(
        Param("mesh_x", "mesh x", "mesh x"),
        Param("mesh_y", "mesh y", "mesh y"),
        Param("glb_kb", "GLB KiB", "GLB KiB", "glb{}k"),
        Param("glb_bandwidth", "GLB words/cycle", "GLB bw", "bw{}"),
        Param("rf_words", "RF words", "RF", "rf{}"),
    ),
    mesh=("mesh_x", "mesh_y"),
    levels=_levels,
    level_params={"GLB": ("glb_kb", "glb_bandwidth"), "RF": ("rf_words",)},
    reference=Reference("simple-8x8", {"mesh_x": 8, "mesh_y": 8, "glb_kb": 64, "glb_bandwidth": 16, "rf_words": 64}),
)
