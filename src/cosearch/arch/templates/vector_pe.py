"""The vector-pe template: a Simba-like mesh of vector-MAC PEs (Shao et al., "Simba: Scaling Deep-Learning
Inference with Multi-Chip-Module-Based Architecture", MICRO 2019).

DRAM -> global buffer (``GLB``: inputs and outputs, either of which a mapping may bypass; weights never
enter it and go from DRAM straight to the PEs, as Simba's global buffer holds activations) -> per-PE
weight buffer (``weight_buf``: weights), input buffer (``input_buf``: inputs) and accumulation buffer
(``accum_buf``: outputs, the partial sums) -> a block MAC of ``lanes`` × ``vector_width`` multipliers
(``mac.block = {K: lanes, C: vector_width}``: each lane is a ``vector_width``-wide dot product over input
channels with an adder tree, the lanes compute different output channels from the same input vector).

Sizes: ``glb_kb``, ``weight_buf_kb``, ``input_buf_kb`` and ``accum_buf_kb`` are KiB of storage (16-bit
words unless a precision is applied); ``glb_bandwidth`` is the GLB's read and write bandwidth in 16-bit
words/cycle. Each per-PE buffer's port is one vector word wide (the weight buffer ``lanes ×
vector_width`` words, the input buffer ``vector_width``, the accumulation buffer ``lanes``), so it
delivers what the block MAC consumes each cycle; its capacity is rounded down to whole vector words, at
least one. The estimator costs such a wide port as side-by-side 128-bit sub-arrays
(:func:`~cosearch.arch.estimator.sram_cost`) and the block MAC as ``lanes × vector_width`` scalar MACs
plus one per-PE overhead. The map space and the cost model see layers in the blocked view
(:mod:`cosearch.mapping.vector`): K and C in blocks of ``lanes`` and ``vector_width``.

The named dataflow is ``weight-stationary`` (Simba's: weights held in the PE's weight buffer while
inputs stream past; C over the mesh's columns and K over its rows): the second baseline.

The reference design (:data:`SIMBA_SCALED`) is Simba's PE organisation scaled to the study's default
area budget (eyeriss-168 under ``cacti-65nm``, 12.25 mm²), the way the systolic template scales TPU v1:
every PE is Simba's (8 lanes × 8-wide vector MACs, a 32 KiB weight buffer, an 8 KiB input buffer and a
3 KiB accumulation buffer), the global buffer keeps Simba's share per PE (64 KiB for 16 PEs: 4 KiB per
PE), and the mesh is the largest square that fits the budget: 4 × 4 PEs (1024 multipliers, 64 KiB of
GLB, 11.17 mm²; 5 × 5 needs 17.4 mm², and no mesh with 17 to 20 PEs and sides within 2:1 fits: 6 × 3
needs 12.56 mm², 5 × 4 13.95 mm²). That is one Simba chiplet's PE array and global buffer. The GLB
bandwidth is 16 words/cycle, the eyeriss-like reference's (a choice, not Simba's NoC figure). Simba
computes in INT8 with 24-bit partial sums; here words stay 16 bits unless a precision is applied (as in
the other templates), and the per-PE overhead area is the estimator's Eyeriss calibration.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from . import Param, Reference, Template, dram_level, glb_level

SIMBA_SCALED = {"mesh_x": 4, "mesh_y": 4, "glb_kb": 64, "glb_bandwidth": 16, "weight_buf_kb": 32,
                "input_buf_kb": 8, "accum_buf_kb": 3, "lanes": 8, "vector_width": 8}
"""Simba's PE organisation scaled to eyeriss-168's area under ``cacti-65nm`` (module docstring)."""

WORD_BITS = 16
"""Bits of the template's words (the study's default precision)."""


def _block(values: Mapping[str, float]) -> dict[str, int]:
    """The block MAC: ``lanes`` over K, ``vector_width`` over C."""
    return {"K": int(values["lanes"]), "C": int(values["vector_width"])}


def _buffer(name: str, kib: float, words_per_access: int, keeps: str, pe: dict[str, int]) -> dict[str, Any]:
    """A per-PE buffer of ``kib`` KiB keeping ``keeps``, with a port of ``words_per_access`` words; its
    capacity in whole accesses (at least one)."""
    access = WORD_BITS * words_per_access
    return {"name": name, "size_words": max(1, int(float(kib) * 1024 * 8) // access), "access_bits": access,
            "word_bits": WORD_BITS, "keeps": [keeps], **pe}


def _levels(values: Mapping[str, float], pe: dict[str, int], dram_bandwidth: float | None) -> list[dict[str, Any]]:
    lanes, width = int(values["lanes"]), int(values["vector_width"])
    glb = {**glb_level(values["glb_kb"], values["glb_bandwidth"]), "keeps": ["Inputs", "Outputs"]}
    return [
        dram_level(dram_bandwidth),
        glb,
        _buffer("weight_buf", values["weight_buf_kb"], lanes * width, "Weights", pe),
        _buffer("input_buf", values["input_buf_kb"], width, "Inputs", pe),
        _buffer("accum_buf", values["accum_buf_kb"], lanes, "Outputs", pe),
    ]


TEMPLATE = Template(
    name="vector-pe",
    params=(
        Param("mesh_x", "mesh x", "mesh x"),
        Param("mesh_y", "mesh y", "mesh y"),
        Param("glb_kb", "GLB KiB", "GLB KiB", "glb{}k"),
        Param("glb_bandwidth", "GLB words/cycle", "GLB bw", "bw{}"),
        Param("weight_buf_kb", "weight buffer KiB", "W buf", "w{}k"),
        Param("input_buf_kb", "input buffer KiB", "I buf", "i{}k"),
        Param("accum_buf_kb", "accumulation buffer KiB", "A buf", "a{}k"),
        Param("lanes", "vector lanes (K)", "lanes", "l{}"),
        Param("vector_width", "vector width (C)", "vec", "v{}"),
    ),
    mesh=("mesh_x", "mesh_y"),
    levels=_levels,
    level_params={"GLB": ("glb_kb", "glb_bandwidth"),
                  "weight_buf": ("weight_buf_kb", "lanes", "vector_width"),
                  "input_buf": ("input_buf_kb", "vector_width"),
                  "accum_buf": ("accum_buf_kb", "lanes")},
    reference=Reference("simba-scaled", SIMBA_SCALED, dataflow="weight-stationary", dataflow_tag="WS"),
    mac_block=_block,
    mac_params=("lanes", "vector_width"),
)
