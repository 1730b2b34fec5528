"""The plain records a study store returns: frozen dataclasses, never ORM objects or sessions.

Timestamps are timezone-aware UTC; ``to_json`` gives them as ISO 8601 text.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from datetime import datetime
from typing import Any


def iso_time(value: datetime | None) -> str | None:
    """ISO 8601 text of a timestamp, ``None`` for none."""
    return value.isoformat() if value is not None else None


@dataclass(frozen=True)
class Study:
    """One co-design study: its name, whole config (reproducible from storage alone) and objective."""

    id: int
    name: str
    created: datetime
    version: str  # cosearch version that created it
    config: dict[str, Any]
    config_hash: str
    estimator: str | None
    estimator_hash: str | None
    objective: str  # e.g. "edp"
    direction: str  # "minimize" | "maximize"

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("id")
        data["created"] = iso_time(self.created)
        return data


@dataclass(frozen=True)
class LayerRecord:
    """The best mapping found for one unique layer on one trial's HW point."""

    trial_id: int
    layer: str
    shape_key: str | None
    count: int
    state: str  # "complete" | "failed"
    mapping: Any
    energy_pj: float | None  # one instance of the layer (multiply by count for the network)
    cycles: float | None
    edp: float | None
    evaluations: int
    seconds: float
    optimizer: str | None
    seed: int | None
    extra: Any
    error: str | None
    created: datetime

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("trial_id")
        data["created"] = iso_time(self.created)
        return data


@dataclass(frozen=True)
class Trial:
    """One HW point of a study: its parameters, how it was proposed, its state and result."""

    id: int
    study_id: int
    number: int  # 0, 1, 2, ... within the study (proposal order)
    state: str  # pending | running | complete | failed
    hw_params: dict[str, Any]
    proposal: Any  # e.g. {"tag": "ei"}; None if not given
    result: dict[str, Any] | None  # energy_pj, cycles, edp, area_mm2, value, valid, reason, ...
    value: float | None  # the objective value (None: not complete, invalid, or non-finite)
    created: datetime
    started: datetime | None
    finished: datetime | None
    heartbeat: datetime | None
    worker_id: str | None
    attempts: int  # times the trial was started (claimed); > 1 means it was requeued
    error: str | None
    layers: tuple[LayerRecord, ...] = field(default=())  # filled only when asked for

    @property
    def valid(self) -> bool | None:
        return None if self.result is None else self.result.get("valid")

    def get(self, key: str, default: Any = None) -> Any:
        """A result field (``energy_pj``, ``cycles``, ``edp``, ``area_mm2``, ...)."""
        return default if self.result is None else self.result.get(key, default)

    def to_json(self, layers: bool = True) -> dict[str, Any]:
        data = {f.name: getattr(self, f.name) for f in fields(self) if f.name not in ("id", "study_id", "layers")}
        for key in ("created", "started", "finished", "heartbeat"):
            data[key] = iso_time(data[key])
        if layers:
            data["layers"] = [layer.to_json() for layer in self.layers]
        return data


@dataclass(frozen=True)
class StudySummary:
    """A study with its trial counts by state and best objective value (for ``list_studies``)."""

    study: Study
    n_trials: int
    states: dict[str, int]  # every state, zero if none
    best_value: float | None

    @property
    def name(self) -> str:
        return self.study.name
