"""What reuse within a PE forces: a floor on a layer's scratchpad refills, partial-sum reads and the
parent reads that feed the refills, for templates whose Weights, Inputs and Outputs each have their
own fixed per-PE scratchpad (``eyeriss``, ``timeloop-eyeriss``). Used by :mod:`.bounds`.

**The argument.** Fix one PE and a mapping. Every MAC of the PE reads its weight and input from the
tiles its Weights and Inputs scratchpads hold at that moment and updates a partial sum held in its
Outputs scratchpad; the tiles hold at most ``Sw``, ``Si``, ``So`` words (the capacities). A word
*arrives* when it enters a tile that did not hold it; the cost model charges at least every arrival
(its delta rule charges the words new to a tile, or the whole tile), as a fill, or, for Outputs, as a
fill or a fresh partial sum (a word of the partition, which saves that MAC its read-modify-write read).
Cut the PE's time into stretches whose arrivals cost at most ``C*`` each (costs below); in a stretch
the MACs use at most ``Sw + Tw`` weights, ``Si + Ti`` inputs and ``So + To`` outputs (the words held at
its start and its arrivals), and a set of MACs with those operand sets has at most

* ``√(|W|·|I|·|O|)`` MACs for a layer without filter windows (``R = S = 1``: a batched matrix product,
  the Loomis–Whitney inequality), and
* ``min(|W|·|I|, |W|·|O|, |I|·|O|)`` MACs for any layer (two operands fix the MAC: a weight and an
  input fix the output, a weight and an output the input, an input and an output the filter tap),

so any product ``|W|^aw · |I|^ai · |O|^ao`` with those exponents (or a geometric mean of the pair
bounds) bounds the MACs of a stretch. With per-arrival costs ``cw, ci, co``, the most MACs a stretch of
cost ``C*`` can do is ``Π (aj·B / (s·cj))^aj`` with ``B = C* + Σ cj·Sj`` and ``s = Σ aj`` (the
weighted AM–GM maximum); so the PE spends at least ``MACs_pe · (C* − c_max) / M(C*) − (C* − c_max)``,
best at ``C* = (Σ cj·Sj + s·c_max) / (s − 1)``. Summed over the PEs (at most ``pes``) this is a floor on
what the arrivals cost.

**The costs.** A weight arrival costs the Weights scratchpad's fill plus a share of the parent read
that delivers it: one parent read (GLB or DRAM) serves the PEs holding the same tile, at most ``mw`` of
them (the product of the spatial factors of dims Weights does not depend on: N, P, Q); likewise an
input (``mi``: K's spatial factor, times the identical windows of P with R and Q with S spread
together). An output arrival that refills costs the Outputs scratchpad's fill; a fresh one costs
nothing, but the fresh ones are at most ``outputs × r`` over all PEs, where ``r`` (the spatial factors
of C, R, S) is how many PEs reduce into one output, and the read-modify-write reads are
``MACs − fresh``. A multiplier ``λ >= e_rmw`` prices that: the cost is at least ``e_rmw × MACs −
λ × outputs × r`` plus the arrivals at ``co' = min(co, λ − e_rmw)`` per output arrival. The fan-out's
spatial factors multiply to at most the PEs, so ``mw × r <= pes`` and ``mi × r <= pes`` (and
``mw × mi × r <= pes`` without filter windows). The floor is the least over ``r`` and the multicast
split of the best of these bounds over ``λ`` and the exponents; the grids over ``r`` and ``mi`` are cells
bounded at their cheapest corner, so the least over cells is a floor over every value.

**What it replaces.** The result bounds ``RMW reads × e_rmw + the three scratchpads' fills + the
parent reads of Weights and Inputs × e_parent − e_parent × (compulsory weights + inputs)``; the last
term is the part of the parent reads the compulsory DRAM (or fixed-GLB) traffic of :mod:`.bounds`
already counts, so the two add up without double counting.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..arch.spec import Arch
from ..workload.layer import Layer

# exponents (aw, ai, ao) of the operand-set products that bound a stretch's MACs
_NO_WINDOWS = ((0.5, 0.5, 0.5), (1.0, 1.0, 0.0), (1.0, 0.0, 1.0), (0.0, 1.0, 1.0))
_WINDOWS = ((1.0, 1.0, 0.0), (1.0, 0.0, 1.0), (0.0, 1.0, 1.0), (2 / 3, 2 / 3, 2 / 3))
_LAMBDA_STEPS = np.linspace(0.0, 1.0, 11)  # λ = e_rmw + t × co
_R_CELLS = 40  # geometric cells over r when r can exceed this
_M_CELLS = 8  # geometric cells over the inputs' multicast


@dataclass(frozen=True)
class ReuseFloor:
    """The per-PE scratchpads of one design size (module docstring).

    ``words``: (Sw, Si, So), the words of Weights, Inputs and Outputs their per-PE keepers hold.
    ``fill``: pJ of one word filled into each. ``rmw_read``: pJ of one partial-sum read at the Outputs
    keeper. ``parent_read``: pJ of one Weights or Inputs word read from the cheapest level that may
    feed their scratchpads (any outer level that may keep them, DRAM included)."""

    words: tuple[int, int, int]
    fill: tuple[float, float, float]
    rmw_read: float
    parent_read: float


def per_pe_keepers(arch: Arch) -> tuple[int, int, int] | None:
    """Levels of the innermost keepers of Weights, Inputs and Outputs if they are three different
    levels, each fixed and per PE (every MAC touches its own copy there), else ``None``."""
    pes = arch.mac.instances
    out = []
    for ds in ("Weights", "Inputs", "Outputs"):
        inner = arch.innermost_keeper(ds)
        if inner is None or inner == 0:
            return None
        lvl = arch.levels[inner]
        if not (lvl.keeps_fixed and lvl.instances == pes and len(lvl.keeps) == 1):
            return None
        out.append(inner)
    return out[0], out[1], out[2]


def reuse_extra(layer: Layer, reuse: ReuseFloor, pes: int, compulsory: tuple[int, int]) -> float:
    """Floor (pJ) on ``layer``'s partial-sum reads, scratchpad fills and Weights / Inputs parent reads
    beyond ``e_parent ×`` the ``compulsory`` (weights, inputs) words, on a design of at most ``pes``
    PEs with these scratchpads (module docstring)."""
    macs, outputs = float(layer.macs), float(layer.output_words)
    cw_words, ci_words = compulsory
    sw, si, so = (float(w) for w in reuse.words)
    fw, fi, fo = reuse.fill
    par, e_rmw = reuse.parent_read, reuse.rmw_read
    no_windows = layer.R == 1 and layer.S == 1
    r_max = max(1, min(layer.C * layer.R * layer.S, pes))
    if r_max <= _R_CELLS:  # every r exactly
        r_lo = r_hi = np.arange(1, r_max + 1, dtype=float)
    else:  # cells [r_lo, r_hi] covering every integer r: fewest fresh outputs at r_hi, multicast at r_lo
        edges = np.unique(np.round(np.geomspace(1, r_max, _R_CELLS + 1)))
        r_lo, r_hi = edges[:-1], edges[1:]
    q = pes / r_lo  # [Rc] the most PEs one parent read serves
    # multicast cells: mi in [g_j, g_j+1] of [1, q]; mw <= q / g_j without filter windows, else <= q
    g = q[:, None] ** np.linspace(0.0, 1.0, _M_CELLS + 1)[None, :]  # [Rc, Mc + 1] geometric, 1 to q
    mi_hi = g[:, 1:]
    mw_hi = q[:, None] / g[:, :-1] if no_windows else np.broadcast_to(q[:, None], mi_hi.shape)
    c_w = fw + par / mw_hi  # [Rc, Mc]
    c_i = fi + par / mi_hi
    rmw_plain = e_rmw * np.maximum(0.0, macs - outputs * r_hi)  # [Rc]
    comp = fw * cw_words + fi * ci_words
    best = (rmw_plain + comp)[:, None] + par * (cw_words / mw_hi + ci_words / mi_hi)  # [Rc, Mc]
    lam_t = _LAMBDA_STEPS[None, None, :]
    c_o = fo * lam_t  # [1, 1, L] co' = min(co, λ − e_rmw) with λ = e_rmw + t·co
    lam = e_rmw + c_o
    cw3, ci3 = c_w[:, :, None], c_i[:, :, None]
    base = e_rmw * macs - lam * outputs * r_hi[:, None, None]  # [Rc, 1, L]
    for aw, ai, ao in (_NO_WINDOWS if no_windows else _WINDOWS):
        s = aw + ai + ao
        terms = [(a, c, cap) for a, c, cap in ((aw, cw3, sw), (ai, ci3, si), (ao, c_o, so)) if a > 0]
        k0 = sum(c * cap for _, c, cap in terms)
        c_max = terms[0][1]
        for _, c, _ in terms[1:]:
            c_max = np.maximum(c_max, c)
        with np.errstate(divide="ignore", invalid="ignore"):
            c_star = (k0 + s * c_max) / (s - 1.0)
            budget = c_star + k0
            most = np.ones(())
            for a, c, _ in terms:
                most = most * (a * budget / (s * c)) ** a
            spent = np.where(np.isfinite(most) & (most > 0), macs * (c_star - c_max) / most, 0.0)
        stretch = np.maximum(0.0, spent - pes * (c_star - c_max))
        bound = (base + stretch).max(axis=2)  # [Rc, Mc]: best λ
        best = np.maximum(best, bound)
    return float(best.min() - par * (cw_words + ci_words))
