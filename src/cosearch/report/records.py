"""The records a report is made of: designs with their layer rows, and the sources that hold them.

A *source* is a co-design study (:class:`StudySource`) or a ``cosearch map`` results directory
(:class:`MapSource`); a *design* (:class:`Design`) is one accelerator with the mapping of each unique
layer (:class:`LayerRow`). Units: energy in pJ, cycles in clock cycles, EDP in pJ·cycles, areas in mm²,
sizes in 16-bit words. Per-layer figures are for *one* instance of the layer; network figures count
repeats (energy = Σ count·energy, cycles = Σ count·cycles, EDP = energy × cycles).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

MAC_LEVEL = "MAC"
"""Level name of the MAC (compute) energy in breakdowns; its data space is ``-``."""


@dataclass
class LayerRow:
    """One unique layer of a design: its best mapping and costs (one instance of the layer).

    ``count`` is how often the layer's shape occurs in the workload(s) (``None``: unknown, counted
    once). ``energy_pj``/``cycles``/``edp`` are the stored figures; ``breakdown`` rows come from
    re-evaluating ``mapping`` on the design's arch.
    """

    key: str  # e.g. "dqn/conv1" (studies) or "conv1" (map runs)
    shape: str  # "K=64 C=64 P=56 ..."
    count: int | None
    macs: int | None
    energy_pj: float | None
    cycles: float | None
    edp: float | None
    utilization: float | None = None
    evaluations: int | None = None
    mapping: dict[str, Any] | None = None
    loop_nest: list[dict[str, Any]] | None = None
    breakdown: list[dict[str, Any]] = field(default_factory=list)  # level, dataspace, reads, fills, updates, energy_pj
    mac_energy_pj: float | None = None
    dram_energy_pj: float | None = None  # energy at the outermost level (from the re-evaluation)
    error: str | None = None


@dataclass
class Design:
    """One accelerator with the mappings of its layers: a study's best point, a baseline or a map run.

    ``role`` is ``best``, ``baseline`` (eyeriss-168 with the study's mapper), ``baseline_rs``
    (row-stationary) or ``map``. Totals are network figures (repeats counted).
    """

    source: str
    role: str
    label: str
    arch_name: str
    params: dict[str, float]
    area_mm2: float | None
    energy_pj: float | None
    cycles: float | None
    edp: float | None
    per_workload_edp: dict[str, float]
    layers: list[LayerRow]
    trial: int | None = None
    notes: list[str] = field(default_factory=list)
    phase_totals: dict[str, dict[str, Any]] | None = None  # LLM workloads: model.totals.phase_totals per phase
    # the network run in physical units (cosearch.arch.physical.arch_run_units: latency_ms, total_energy_uj,
    # power_mw, clock_mhz, ...), when the arch and the totals are known
    physical: dict[str, Any] | None = None
    # per workload EDP in J·s with SRAM leakage: a study whose space searches precision, DRAM bandwidth or
    # clock ranks (and compares with its baselines) by it; None otherwise
    physical_edp: dict[str, float] | None = None

    def network_breakdown(self) -> dict[tuple[str, str], float]:
        """Network energy (pJ, repeats counted) per (level, data space), the MAC as ``("MAC", "-")``."""
        out: dict[tuple[str, str], float] = {}
        for row in self.layers:
            n = row.count or 1
            for b in row.breakdown:
                key = (b["level"], b["dataspace"])
                out[key] = out.get(key, 0.0) + n * b["energy_pj"]
            if row.mac_energy_pj is not None:
                out[(MAC_LEVEL, "-")] = out.get((MAC_LEVEL, "-"), 0.0) + n * row.mac_energy_pj
        return out


@dataclass
class StudySource:
    """A co-design study and what the report shows of it."""

    label: str
    study: str
    storage: str
    config: dict[str, Any]
    objective: str
    trials: list[Any]  # cosearch.study.records.Trial, ordered by number (without layer results)
    best: Design | None
    baselines: list[Design]  # [baseline] or [baseline, baseline_rs]
    baseline_origin: str  # where the baselines come from (a results.json, the store, or "mapped again")
    area_budget_mm2: float | None
    param_names: list[str]
    kind: str = "study"
    edp_bound: float | None = None  # network EDP no design of the space within the budget can beat
    element_ops: list[Any] = field(default_factory=list)  # the workloads' ElementOps (names prefixed by workload)

    @property
    def optimizer(self) -> str:
        return str(self.config.get("optimizer") or "?")

    @property
    def seed(self) -> Any:
        return self.config.get("seed")

    @property
    def designs(self) -> list[Design]:
        return ([self.best] if self.best is not None else []) + self.baselines

    @property
    def searches_physical(self) -> bool:
        """The study's space searches precision, DRAM bandwidth or clock: it ranks designs by EDP in J·s
        with leakage, not in pJ·cycles (docs/codesign.md, "Objectives in physical units")."""
        from ..arch.hwspace import searched_physical

        return bool(searched_physical(self.config.get("hw_space")))


@dataclass
class MapSource:
    """A ``cosearch map`` results directory."""

    label: str
    path: Path
    results: dict[str, Any]
    design: Design
    kind: str = "map"
    element_ops: list[Any] = field(default_factory=list)  # the workload's ElementOps, when it can be loaded

    @property
    def designs(self) -> list[Design]:
        return [self.design]


Source = StudySource | MapSource
