"""What a co-design study minimises, and how a design compares with the baseline.

With several workloads a design is scored by the geometric mean over workloads of its ratio to the
baseline (so no workload dominates by its size).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..arch.physical import DEFAULT_CLOCK_MHZ, edp_js, run_units
from ..errors import CosearchError
from .records import DesignSummary

OBJECTIVES = ("edp", "energy", "cycles", "latency", "power", "pareto")  # plus "ednp:N"
PARETO_OBJECTIVES = ("energy_pj", "cycles", "area_mm2")
"""What ``pareto`` minimises jointly (with several workloads: geometric means of the ratios to the
baseline for energy and cycles, and area in mm²)."""


@dataclass
class NetworkCost:
    """Costs of one hardware point on the workloads (per workload and combined); ``clock_mhz`` and
    ``leakage_mw`` (SRAM leakage) turn them into seconds and milliwatts (:mod:`cosearch.arch.physical`)."""

    energy_pj: dict[str, float]
    cycles: dict[str, float]
    edp: dict[str, float]
    layers: dict[str, dict[str, Any]]  # layer key -> result fields
    valid: bool
    reason: str = ""
    clock_mhz: float = DEFAULT_CLOCK_MHZ
    leakage_mw: float = 0.0
    physical: bool = False  # rank in physical units (the space searches precision, DRAM bandwidth or clock)

    def edp_of(self, workload: str) -> float:
        """The EDP a study ranks by: pJ × cycles, or with :attr:`physical` J × s with SRAM leakage
        (total energy including leakage × latency)."""
        if not self.physical:
            return self.edp[workload]
        return edp_js(self.units(workload))

    def units(self, workload: str | None = None) -> dict[str, float]:
        """:func:`~cosearch.arch.physical.run_units` of one workload (``None``: all, each run once)."""
        e = self.total_energy_pj if workload is None else self.energy_pj[workload]
        c = self.total_cycles if workload is None else self.cycles[workload]
        return run_units(e, c, self.clock_mhz, self.leakage_mw)

    @property
    def total_energy_pj(self) -> float:
        return sum(self.energy_pj.values())

    @property
    def total_cycles(self) -> float:
        return sum(self.cycles.values())


def objective_value(cost: NetworkCost, objective: str, baseline: NetworkCost | None) -> float:
    """Value to minimise: for one workload its metric, for several the geometric mean of ratios to
    the baseline. ``ednp:N`` is energy × cycles^N; ``latency`` is seconds at the design's clock,
    ``power`` average milliwatts with SRAM leakage (:meth:`NetworkCost.units`). ``pareto`` has EDP as
    its scalar value (which design is "best"); its objectives are :func:`objective_vector`.

    With :attr:`NetworkCost.physical` (a space that searches precision, DRAM bandwidth or clock, whose
    points differ in clock: pJ × cycles would not rank them) energy is the total in J with SRAM leakage
    over the run, cycles are replaced by the latency in s: ``edp`` is J·s, ``energy`` J, ``cycles`` and
    ``latency`` s, ``ednp:N`` J·s^N."""
    if not cost.valid:
        return math.inf

    def metric(c: NetworkCost, w: str) -> float:
        if c.physical and objective not in ("latency", "power"):
            u = c.units(w)
            energy_j, seconds = u["total_energy_uj"] * 1e-6, u["latency_s"]
            if objective in ("edp", "pareto"):
                return edp_js(u)
            if objective == "energy":
                return energy_j
            if objective == "cycles":
                return seconds
            return energy_j * seconds ** float(objective.split(":", 1)[1])
        if objective in ("edp", "pareto"):
            return c.edp[w]
        if objective == "energy":
            return c.energy_pj[w]
        if objective == "cycles":
            return c.cycles[w]
        if objective == "latency":
            return c.units(w)["latency_s"]
        if objective == "power":
            return c.units(w)["power_mw"]
        n = float(objective.split(":", 1)[1])
        return c.energy_pj[w] * c.cycles[w] ** n

    names = list(cost.edp)
    if len(names) == 1:
        return metric(cost, names[0])
    assert baseline is not None
    return geomean_ratio({w: metric(cost, w) for w in names}, {w: metric(baseline, w) for w in names})


def objective_vector(cost: NetworkCost, area_mm2: float, baseline: NetworkCost | None) -> list[float] | None:
    """The ``pareto`` objectives of a design (:data:`PARETO_OBJECTIVES`), ``None`` if it is invalid."""
    if not cost.valid:
        return None
    energy, cycles = (objective_value(cost, name, baseline) for name in ("energy", "cycles"))
    return [energy, cycles, float(area_mm2)]


EDNP_MAX = 10
"""Largest exponent N of ``ednp:N``: within cosearch.limits (cycles below 2**62, energies below about
1e34 pJ) energy × cycles^N stays below float64's 1.8e308 for N <= 14; 10 leaves a margin."""


def parse_objective(objective: str) -> str:
    """``objective`` if it names one (``edp``, ``energy``, ``cycles``, ``latency``, ``power``, ``pareto``, ``ednp:N`` with a
    finite ``0 < N <= EDNP_MAX``), else :class:`CosearchError`."""
    if objective in OBJECTIVES:
        return objective
    if objective.startswith("ednp:"):
        try:
            n = float(objective.split(":", 1)[1])
        except ValueError:
            n = None
        if n is not None and 0 < n <= EDNP_MAX:  # False for NaN and infinity
            return objective
        if n is not None:
            raise CosearchError(f"objective {objective!r}: ednp:N needs 0 < N <= {EDNP_MAX}, got {n:g}")
    raise CosearchError(f"unknown objective {objective!r} (choose from edp, energy, cycles, latency, power, "
                        f"ednp:N with 0 < N <= {EDNP_MAX}, pareto)")


def edp_ratio(cost: NetworkCost, base: NetworkCost) -> float:
    """Geometric mean over workloads of EDP(design) / EDP(baseline) (both valid, EDPs positive; in
    physical units with leakage when the costs are :attr:`~NetworkCost.physical`)."""
    return geomean_ratio({w: cost.edp_of(w) for w in cost.edp}, {w: base.edp_of(w) for w in base.edp})


def geomean_edp_ratio(best: DesignSummary | None, base: DesignSummary | None) -> float | None:
    """Geometric mean over workloads of best EDP / baseline EDP, from the ``per_workload`` EDPs
    (pJ·cycles) of two design summaries; ``None`` if either is missing or an EDP is missing or zero."""
    if best is None or base is None:
        return None
    pairs = [(best.per_workload.get(w), base.per_workload.get(w)) for w in best.per_workload]
    if not pairs or any(not a or not b for a, b in pairs):
        return None
    return geomean_ratio(best.per_workload, base.per_workload)


def geomean_ratio(values: Mapping[str, float], base: Mapping[str, float]) -> float:
    """Geometric mean over the keys of ``values`` (workload names) of ``values[k] / base[k]``: how a
    design compares with the baseline over several workloads. Every ratio must be positive."""
    return math.exp(sum(math.log(values[k] / base[k]) for k in values) / len(values))
