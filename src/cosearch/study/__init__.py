"""Persistent studies: stored trials and their per-unit results, the executors that run units, and the
claim/heartbeat/requeue protocol by which any number of processes work on one study.

``Storage(url)`` (:mod:`.sql`) is the store (SQLite file by default, any SQLAlchemy URL, PostgreSQL for
several processes); :class:`StudyStore` (:mod:`._base`) states what every store promises; the records it
returns are in :mod:`.records`, its errors in :mod:`.errors`, JSON/CSV export in :mod:`.export`.
:class:`LocalExecutor` runs :class:`WorkUnit` jobs in this process or a process pool, :class:`RayExecutor`
on a Ray cluster (Ray is imported only when one is made). :class:`TrialWorker` (:mod:`.worker`) claims
trials, runs their units on an executor, records the results and finishes the trials, through callbacks
of its caller: this package knows nothing of hardware. Submodules load lazily: ``import cosearch.study``
does not import SQLAlchemy until a storage name is used.
"""

from __future__ import annotations

from .._lazy import lazy_getattr

_EXPORTS = {
    "StudyStore": "cosearch.study._base",
    "Storage": "cosearch.study.sql",
    "Study": "cosearch.study.records",
    "Trial": "cosearch.study.records",
    "LayerRecord": "cosearch.study.records",
    "StudySummary": "cosearch.study.records",
    "StorageError": "cosearch.study.errors",
    "StudyExistsError": "cosearch.study.errors",
    "StudyNotFoundError": "cosearch.study.errors",
    "TrialStateError": "cosearch.study.errors",
    "DEFAULT_URL": "cosearch.study._engine",
    "storage_url": "cosearch.study._engine",
    "sqlite_url": "cosearch.study._engine",
    "sqlite_missing": "cosearch.study._engine",
    "canonical_json": "cosearch.study.canonical",
    "config_hash": "cosearch.study.canonical",
    "TRIAL_STATES": "cosearch.study.models",
    "WorkUnit": "cosearch.study.executor",
    "WorkResult": "cosearch.study.executor",
    "UnitFailed": "cosearch.study.executor",
    "Executor": "cosearch.study.executor",
    "LocalExecutor": "cosearch.study.executor",
    "make_executor": "cosearch.study.executor",
    "RayExecutor": "cosearch.study.ray_executor",
    "TrialWorker": "cosearch.study.worker",
    "HeldTrial": "cosearch.study.worker",
    "new_worker_id": "cosearch.study.worker",
    "holder_is_dead": "cosearch.study.worker",
}

__all__ = sorted(_EXPORTS)


__getattr__ = lazy_getattr(__name__, _EXPORTS)
