"""Typed records of co-design results, passed between the driver, the run directory and the CLI.

Each has ``to_json()``, the exact JSON ``results.json``, ``cosearch codesign --json`` and the study
store hold (:func:`cosearch._io.to_plain` uses it), and ``from_json`` for reading it back.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any


@dataclass(frozen=True)
class LayerSummary:
    """One unique layer of a design: its best mapping's costs."""

    energy_pj: float | None  # pJ, one instance of the layer
    cycles: float | None
    edp: float | None  # pJ·cycles
    evaluations: int | None  # mapper evaluations spent on it
    mapping: dict[str, Any] | None  # the mapping (mapping JSON format)

    FIELDS = ("energy_pj", "cycles", "edp", "evaluations", "mapping")

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> LayerSummary:
        """From a layer result record (missing fields are ``None``)."""
        return cls(**{f: record.get(f) for f in cls.FIELDS})

    def to_json(self) -> dict[str, Any]:
        return {f: getattr(self, f) for f in self.FIELDS}


@dataclass(frozen=True)
class DesignSummary:
    """A hardware design and its costs over the study's workloads (repeats counted).

    ``per_workload`` maps each workload to its EDP (pJ·cycles); ``energy_pj``/``cycles``/``edp`` are the
    totals over all workloads; ``layers`` maps each unique layer's shape key to its summary; ``trial`` is
    the trial number of a searched design (``None`` for a baseline); ``per_phase`` the per-phase totals
    of workloads with phases (``workload/phase`` with several workloads; absent without phases);
    ``physical`` the design in physical units (latency s, throughput, energy µJ/mJ, power mW, area mm²,
    technology node and whether it is scaled, DRAM type, clock: :func:`cosearch.arch.physical.design_units`).
    """

    arch: dict[str, Any]  # the template's parameter values
    energy_pj: float
    cycles: float
    edp: float
    area_mm2: float
    per_workload: dict[str, float]
    layers: dict[str, LayerSummary] = field(default_factory=dict)
    trial: int | None = None
    per_phase: dict[str, dict[str, Any]] | None = None  # LLM workloads: phase -> model.totals.phase_totals
    physical: dict[str, Any] | None = None  # cosearch.arch.physical.design_units: s, µJ, mW, node, clock, DRAM

    def with_trial(self, number: int) -> DesignSummary:
        """This summary as trial ``number``'s."""
        return replace(self, trial=int(number))

    def to_json(self) -> dict[str, Any]:
        data = {"arch": self.arch, "energy_pj": self.energy_pj, "cycles": self.cycles, "edp": self.edp,
                "area_mm2": self.area_mm2, "per_workload": self.per_workload,
                "layers": {k: v.to_json() for k, v in self.layers.items()}}
        if self.trial is not None:
            data["trial"] = self.trial
        if self.per_phase is not None:
            data["per_phase"] = self.per_phase
        if self.physical is not None:
            data["physical"] = self.physical
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> DesignSummary:
        return cls(arch=dict(data["arch"]), energy_pj=data["energy_pj"], cycles=data["cycles"], edp=data["edp"],
                   area_mm2=data["area_mm2"], per_workload=dict(data["per_workload"]),
                   layers={k: LayerSummary.from_record(v) for k, v in (data.get("layers") or {}).items()},
                   trial=data.get("trial"), per_phase=data.get("per_phase"), physical=data.get("physical"))
