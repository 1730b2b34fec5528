"""Network totals from per-layer costs: a layer that occurs ``count`` times costs ``count`` times.

Every place that turns layer costs into network costs (``map_network``'s totals, the co-design
driver's per-workload costs, the report's rows) sums through :func:`repeat_totals`, so they count
repeats, order the additions and round the same way.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any


def repeat_totals(layers: Iterable[tuple[int, float, float]]) -> tuple[float, float]:
    """``(Σ count · energy_pj, Σ count · cycles)`` over ``(count, energy_pj, cycles)`` per layer, in order
    (pJ, cycles). A network's EDP is the product of the two."""
    energy = cycles = 0.0
    for count, energy_pj, layer_cycles in layers:
        energy += count * energy_pj
        cycles += count * layer_cycles
    return energy, cycles


def phase_totals(phases: Iterable[Any], layers: Mapping[str, tuple[int, float, float, float, int]],
                 num_pes: int | None = None) -> dict[str, dict[str, Any]]:
    """Totals per phase of an LLM workload (:class:`~cosearch.workload.layer.Phase`: name, tokens, layer
    names) from ``layers``: name -> ``(count, energy_pj, cycles, dram_energy_pj, macs)`` of one instance.

    Each phase: ``tokens``, ``energy_pj``, ``cycles`` (through :func:`repeat_totals`), ``edp``, ``macs``,
    ``dram_energy_pj`` (energy at the outermost level, pJ) and ``dram_share`` (its fraction of the
    energy), ``utilization`` (MACs / (cycles × ``num_pes``), when given) and ``per_token``: energy (pJ)
    and cycles divided by the phase's tokens (a decode step makes one token per sequence, so these are
    the energy and the amortised cycles of one generated token). Layers not in ``layers`` (not mapped
    in this run) are left out; a phase with none of its layers is absent.
    """
    out: dict[str, dict[str, Any]] = {}
    for phase in phases:
        rows = [layers[name] for name in phase.layers if name in layers]
        if not rows:
            continue
        energy, cycles = repeat_totals((count, e, c) for count, e, c, _, _ in rows)
        dram = sum(count * d for count, _, _, d, _ in rows)
        macs = sum(count * m for count, _, _, _, m in rows)
        totals: dict[str, Any] = {"tokens": phase.tokens, "energy_pj": energy, "cycles": cycles,
                                  "edp": energy * cycles, "macs": macs, "dram_energy_pj": dram,
                                  "dram_share": dram / energy if energy > 0 and math.isfinite(energy) else None}
        if num_pes:
            totals["utilization"] = macs / (cycles * num_pes) if math.isfinite(cycles) and cycles > 0 else 0.0
        totals["per_token"] = {"energy_pj": energy / phase.tokens, "cycles": cycles / phase.tokens}
        out[phase.name] = totals
    return out
