"""Network totals from per-layer costs: a layer that occurs ``count`` times costs ``count`` times.

Every place that turns layer costs into network costs (``map_network``'s totals, the co-design
driver's per-workload costs, the report's rows) sums through :func:`repeat_totals`, so they count
repeats, order the additions and round the same way.
"""

from __future__ import annotations

from collections.abc import Iterable


def repeat_totals(layers: Iterable[tuple[int, float, float]]) -> tuple[float, float]:
    """``(Σ count · energy_pj, Σ count · cycles)`` over ``(count, energy_pj, cycles)`` per layer, in order
    (pJ, cycles). A network's EDP is the product of the two."""
    energy = cycles = 0.0
    for count, energy_pj, layer_cycles in layers:
        energy += count * energy_pj
        cycles += count * layer_cycles
    return energy, cycles
