"""The eyeriss template: DRAM -> GLB (bypassable) -> per-PE ifmap / weights / psum scratchpads -> MAC.

Each scratchpad holds one data space, fixed by the template. Sizes are 16-bit words (``glb_kb`` in
KiB); the GLB's read and write bandwidths are ``glb_bandwidth`` words/cycle. The reference design is
Eyeriss v1 (:data:`EYERISS_168`), whose second baseline is mapped under the row-stationary dataflow.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from . import Param, Reference, Template, dram_level, glb_level

EYERISS_168 = {"mesh_x": 14, "mesh_y": 12, "glb_kb": 108, "glb_bandwidth": 16, "weights_spad_words": 224,
               "ifmap_spad_words": 12, "psum_spad_words": 24}
"""Eyeriss v1 in the eyeriss template's parameters (GLB read/write bandwidth 16 words/cycle)."""


def _levels(values: Mapping[str, float], pe: dict[str, int], dram_bandwidth: float | None) -> list[dict[str, Any]]:
    return [
        dram_level(dram_bandwidth),
        glb_level(values["glb_kb"], values["glb_bandwidth"]),
        {"name": "ifmap_spad", "size_words": int(values["ifmap_spad_words"]), "keeps": ["Inputs"], **pe},
        {"name": "weights_spad", "size_words": int(values["weights_spad_words"]), "keeps": ["Weights"], **pe},
        {"name": "psum_spad", "size_words": int(values["psum_spad_words"]), "keeps": ["Outputs"], **pe},
    ]


TEMPLATE = Template(
    name="eyeriss",
    params=(
        Param("mesh_x", "mesh x", "mesh x"),
        Param("mesh_y", "mesh y", "mesh y"),
        Param("glb_kb", "GLB KiB", "GLB KiB", "glb{}k"),
        Param("glb_bandwidth", "GLB words/cycle", "GLB bw", "bw{}"),
        Param("weights_spad_words", "weights spad", "W spad", "w{}"),
        Param("ifmap_spad_words", "ifmap spad", "I spad", "i{}"),
        Param("psum_spad_words", "psum spad", "P spad", "p{}"),
    ),
    mesh=("mesh_x", "mesh_y"),
    levels=_levels,
    level_params={"GLB": ("glb_kb", "glb_bandwidth"), "ifmap_spad": ("ifmap_spad_words",),
                  "weights_spad": ("weights_spad_words",), "psum_spad": ("psum_spad_words",)},
    reference=Reference("eyeriss-168", EYERISS_168, dataflow="row-stationary", dataflow_tag="RS", sets_budget=True),
)
