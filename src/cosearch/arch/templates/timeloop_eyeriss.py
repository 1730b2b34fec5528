"""The timeloop-eyeriss template: Timeloop's eyeriss-256 architecture as a family, the setting of the
seed paper (arXiv 2010.02075, which searched Timeloop's Eyeriss template).

DRAM -> GLB holding inputs and outputs (weights bypass it, fixed by the template) -> per-PE ifmap,
weights and psum scratchpads (one data space each) -> MAC. Sizes are 16-bit words (``glb_kb`` in KiB);
the GLB's read and write bandwidths are ``glb_bandwidth`` words/cycle. It differs from the ``eyeriss``
template only in the GLB, which there may keep any data space. The reference design is Timeloop's
eyeriss-256 (:data:`EYERISS_256`: 16 × 16 PEs, 128 KiB GLB at 16 words/cycle, scratchpads of 192
weights, 12 inputs and 16 psums), whose second baseline is mapped under the row-stationary dataflow.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from . import Reference, Template, glb_level
from .eyeriss import TEMPLATE as EYERISS

EYERISS_256 = {"mesh_x": 16, "mesh_y": 16, "glb_kb": 128, "glb_bandwidth": 16, "weights_spad_words": 192,
               "ifmap_spad_words": 12, "psum_spad_words": 16}
"""Timeloop's eyeriss-256 in this template's parameters (the preset ``eyeriss-256``)."""


def _levels(values: Mapping[str, float], pe: dict[str, int], dram_bandwidth: float | None) -> list[dict[str, Any]]:
    levels = EYERISS.levels(values, pe, dram_bandwidth)  # DRAM, GLB, the three scratchpads
    glb = glb_level(values["glb_kb"], values["glb_bandwidth"])
    levels[1] = {**glb, "keeps": ["Inputs", "Outputs"], "keeps_fixed": True}
    return levels


TEMPLATE = Template(
    name="timeloop-eyeriss",
    params=EYERISS.params,
    mesh=EYERISS.mesh,
    levels=_levels,
    level_params=EYERISS.level_params,
    reference=Reference("eyeriss-256", EYERISS_256, dataflow="row-stationary", dataflow_tag="RS",
                        sets_budget=True),
)
