"""SQLAlchemy 2.0 ORM tables of a study store: studies, their trials, each trial's per-layer results, and
named per-study attributes.

One *study* is one co-design run (its config is stored whole, so a study is reproducible and resumable
from storage alone). One *trial* is one hardware point proposed by the outer optimizer; its result is
the network-level score. One *layer result* is the best mapping the inner mapper found for one unique
layer of the workload on that hardware point. A *study attribute* is a JSON value its writer stores under a
key (e.g. the co-design driver's baselines); the store does not interpret it.

These classes are the storage's private schema: :class:`cosearch.study.Storage` never hands them out
(it returns the plain dataclasses of :mod:`cosearch.study.records`), so sessions never leak.

JSON columns hold plain JSON only (no NaN/inf: the storage writes non-finite numbers as ``null``), so the
same schema works on SQLite and PostgreSQL. Timestamps are stored as naive UTC.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

#: Bump when the tables change incompatibly; stored in ``cosearch_meta`` and checked on open.
SCHEMA_VERSION = 1

#: Trial states, in lifecycle order. ``pending`` → ``running`` → ``complete`` | ``failed``;
#: a ``running`` trial whose worker died goes back to ``pending`` (:meth:`StudyStore.requeue_stale`).
TRIAL_STATES = ("pending", "running", "complete", "failed")
#: Layer-result states: a mapping was found (``complete``) or not (``failed``, with ``error``).
LAYER_STATES = ("complete", "failed")
DIRECTIONS = ("minimize", "maximize")

NAME_LENGTH = 255
SHORT = 64


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Base(DeclarativeBase):
    pass


class Meta(Base):
    """Key/value facts about the store itself (``schema_version``)."""

    __tablename__ = "cosearch_meta"

    key: Mapped[str] = mapped_column(String(SHORT), primary_key=True)
    value: Mapped[str] = mapped_column(String(NAME_LENGTH))


class StudyModel(Base):
    __tablename__ = "studies"
    __table_args__ = (CheckConstraint(_in("direction", DIRECTIONS), name="ck_studies_direction"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(NAME_LENGTH), unique=True, index=True)
    created: Mapped[datetime] = mapped_column(DateTime)
    version: Mapped[str] = mapped_column(String(SHORT))  # cosearch version that created the study
    config: Mapped[Any] = mapped_column(JSON)  # workloads, HW space, optimizer, objective, budgets, seed, ...
    config_hash: Mapped[str] = mapped_column(String(SHORT))  # sha256 of the canonical config JSON
    estimator: Mapped[str | None] = mapped_column(String(NAME_LENGTH), nullable=True)  # energy/area tables
    estimator_hash: Mapped[str | None] = mapped_column(String(SHORT), nullable=True)
    objective: Mapped[str] = mapped_column(String(SHORT), default="edp")
    direction: Mapped[str] = mapped_column(String(8), default="minimize")

    trials: Mapped[list[TrialModel]] = relationship(
        back_populates="study", cascade="all, delete-orphan", passive_deletes=True, order_by="TrialModel.number"
    )


class TrialModel(Base):
    __tablename__ = "trials"
    __table_args__ = (
        UniqueConstraint("study_id", "number", name="uq_trials_study_number"),
        CheckConstraint(_in("state", TRIAL_STATES), name="ck_trials_state"),
        Index("ix_trials_study_state_number", "study_id", "state", "number"),
        Index("ix_trials_state", "state"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("studies.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)  # 0, 1, 2, ... in proposal order within the study
    state: Mapped[str] = mapped_column(String(16), default="pending")
    hw_params: Mapped[Any] = mapped_column(JSON)  # the HW point (the outer optimizer's parameters)
    proposal: Mapped[Any | None] = mapped_column(JSON, nullable=True)  # e.g. {"tag": "ei", "batch": 3}
    result: Mapped[Any | None] = mapped_column(JSON, nullable=True)  # energy_pj, cycles, edp, area_mm2, ...
    value: Mapped[float | None] = mapped_column(Float, nullable=True)  # objective value (null: invalid/none)
    created: Mapped[datetime] = mapped_column(DateTime)
    started: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    finished: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    heartbeat: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)  # last sign of life
    worker_id: Mapped[str | None] = mapped_column(String(NAME_LENGTH), nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)  # times the trial was started (claimed)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)

    study: Mapped[StudyModel] = relationship(back_populates="trials")
    layers: Mapped[list[LayerResultModel]] = relationship(
        back_populates="trial", cascade="all, delete-orphan", passive_deletes=True, order_by="LayerResultModel.id"
    )


class LayerResultModel(Base):
    __tablename__ = "layer_results"
    __table_args__ = (
        UniqueConstraint("trial_id", "layer", name="uq_layer_results_trial_layer"),
        CheckConstraint(_in("state", LAYER_STATES), name="ck_layer_results_state"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    trial_id: Mapped[int] = mapped_column(ForeignKey("trials.id", ondelete="CASCADE"), index=True)
    layer: Mapped[str] = mapped_column(String(NAME_LENGTH))  # layer name
    shape_key: Mapped[str | None] = mapped_column(String(NAME_LENGTH), nullable=True)
    count: Mapped[int] = mapped_column(Integer, default=1)  # repeats of this shape in the network
    state: Mapped[str] = mapped_column(String(16), default="complete")
    mapping: Mapped[Any | None] = mapped_column(JSON, nullable=True)  # best mapping (cosearch mapping JSON)
    energy_pj: Mapped[float | None] = mapped_column(Float, nullable=True)  # of one instance of the layer
    cycles: Mapped[float | None] = mapped_column(Float, nullable=True)
    edp: Mapped[float | None] = mapped_column(Float, nullable=True)
    evaluations: Mapped[int] = mapped_column(Integer, default=0)
    seconds: Mapped[float] = mapped_column(Float, default=0.0)
    optimizer: Mapped[str | None] = mapped_column(String(SHORT), nullable=True)
    seed: Mapped[int | None] = mapped_column(BigInteger, nullable=True)  # 32-bit unsigned seeds fit
    extra: Mapped[Any | None] = mapped_column(JSON, nullable=True)  # anything else (utilization, loop nest, ...)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created: Mapped[datetime] = mapped_column(DateTime)

    trial: Mapped[TrialModel] = relationship(back_populates="layers")


class StudyAttrModel(Base):
    """One JSON value stored with a study under a key. Stores made before this table existed gain it
    (empty) when they are opened (``create_all`` adds missing tables)."""

    __tablename__ = "study_attrs"

    study_id: Mapped[int] = mapped_column(ForeignKey("studies.id", ondelete="CASCADE"), primary_key=True)
    key: Mapped[str] = mapped_column(String(SHORT), primary_key=True)
    value: Mapped[Any] = mapped_column(JSON)
