"""The systolic template: a TPU-like weight-stationary array (Jouppi et al., ISCA 2017).

DRAM -> unified buffer (``UB``: inputs and outputs, fixed; weights bypass it and stream from DRAM
straight into the array, as through the TPU's weight FIFO) -> accumulators (``ACC``: outputs, fixed;
the partial sums leaving the array's columns) -> per-PE weight register (``weight_reg``: weights),
input register (``input_reg``: one input word, passed along the row) and partial-sum register
(``psum_reg``: one output word, passed down the column) -> MAC.

Sizes are 16-bit words (``ub_kb`` and ``acc_kb`` in KiB, ``weight_reg_words`` in words); the UB's and
the accumulators' read and write bandwidths are ``ub_bandwidth`` and ``acc_bandwidth`` words/cycle. The
one-word input and psum registers are fixed by the template (a systolic PE forwards its operands every
cycle); the weight register holds one weight per slot (the TPU has two, double-buffered).

The named dataflow is ``weight-stationary`` (weights' reduction dim C and output channels K spread over
the two mesh axes, weights held in the PE while N, P, Q stream past): the second baseline.

The reference design (:data:`TPU_SCALED`) is TPU v1's organisation (256 × 256 MACs, 24 MiB unified
buffer, 4 MiB accumulators, one input word per row and one partial sum per column each cycle) scaled
to the study's default area budget (eyeriss-168 under ``cacti-65nm``, 12.31 mm²): the array stays
square, the on-chip storage per MAC stays TPU v1's (24 MiB / 65 536 MACs = 384 B of UB, 4 MiB / 65 536
= 64 B of accumulators per MAC, here in 16-bit words: 192 and 32 words per MAC), and the side is the
largest whose design fits that budget: 13 × 13 (11.57 mm²; 14 × 14 needs 13.42 mm²). This gives
169 × 384 B = 63.375 KiB of UB and 169 × 64 B = 10.5625 KiB of accumulators, bandwidths of 13
words/cycle (one input word per row into the array, one partial sum per column out of it) and TPU
v1's two weight slots per PE. Word widths stay 16 bits (the estimator's; the TPU's INT8 operands are
not modelled here), and every PE carries the estimator's per-PE overhead area (calibrated on Eyeriss,
whose PEs are larger than a systolic cell), so the scaled array is smaller than a TPU-style cell
count per mm² would give.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from . import Param, Reference, Template, dram_level, glb_level

TPU_SCALED = {"mesh_x": 13, "mesh_y": 13, "ub_kb": 63.375, "ub_bandwidth": 13, "acc_kb": 10.5625,
              "acc_bandwidth": 13, "weight_reg_words": 2}
"""TPU v1's organisation scaled to eyeriss-168's area under ``cacti-65nm`` (module docstring)."""


def _buffer(name: str, kib: float, bandwidth: float, keeps: list[str]) -> dict[str, Any]:
    """A global buffer of ``kib`` KiB at ``bandwidth`` words/cycle that always keeps ``keeps``."""
    return {**glb_level(kib, bandwidth), "name": name, "keeps": keeps, "keeps_fixed": True}


def _levels(values: Mapping[str, float], pe: dict[str, int], dram_bandwidth: float | None) -> list[dict[str, Any]]:
    return [
        dram_level(dram_bandwidth),
        _buffer("UB", values["ub_kb"], values["ub_bandwidth"], ["Inputs", "Outputs"]),
        _buffer("ACC", values["acc_kb"], values["acc_bandwidth"], ["Outputs"]),
        {"name": "weight_reg", "size_words": int(values["weight_reg_words"]), "keeps": ["Weights"], **pe},
        {"name": "input_reg", "size_words": 1, "keeps": ["Inputs"], **pe},
        {"name": "psum_reg", "size_words": 1, "keeps": ["Outputs"], **pe},
    ]


TEMPLATE = Template(
    name="systolic",
    params=(
        Param("mesh_x", "array columns", "cols"),
        Param("mesh_y", "array rows", "rows"),
        Param("ub_kb", "UB KiB", "UB KiB", "ub{}k"),
        Param("ub_bandwidth", "UB words/cycle", "UB bw", "ubw{}"),
        Param("acc_kb", "accumulator KiB", "ACC KiB", "acc{}k"),
        Param("acc_bandwidth", "accumulator words/cycle", "ACC bw", "accbw{}"),
        Param("weight_reg_words", "weight registers", "W reg", "w{}"),
    ),
    mesh=("mesh_x", "mesh_y"),
    levels=_levels,
    level_params={"UB": ("ub_kb", "ub_bandwidth"), "ACC": ("acc_kb", "acc_bandwidth"),
                  "weight_reg": ("weight_reg_words",), "input_reg": (), "psum_reg": ()},
    reference=Reference("tpu-v1-scaled", TPU_SCALED, dataflow="weight-stationary", dataflow_tag="WS"),
)
