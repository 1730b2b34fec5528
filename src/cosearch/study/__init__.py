"""Persistent studies: SQL storage of trials (HW points) and per-layer results, and work-unit executors.

``Storage(url)`` is the store (SQLite file by default, any SQLAlchemy URL, PostgreSQL for several
processes); :class:`LocalExecutor` runs (HW point, layer) :class:`WorkUnit` jobs in this process or a
process pool, :class:`RayExecutor` on a Ray cluster (Ray is imported only when one is made). Submodules load lazily:
``import cosearch.study`` does not import SQLAlchemy until a storage name is used.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_EXPORTS = {
    "Storage": "cosearch.study.storage",
    "Study": "cosearch.study.storage",
    "Trial": "cosearch.study.storage",
    "LayerRecord": "cosearch.study.storage",
    "StudySummary": "cosearch.study.storage",
    "StorageError": "cosearch.study.storage",
    "StudyExistsError": "cosearch.study.storage",
    "StudyNotFoundError": "cosearch.study.storage",
    "TrialStateError": "cosearch.study.storage",
    "DEFAULT_URL": "cosearch.study.storage",
    "storage_url": "cosearch.study.storage",
    "config_hash": "cosearch.study.storage",
    "TRIAL_STATES": "cosearch.study.models",
    "WorkUnit": "cosearch.study.executor",
    "WorkResult": "cosearch.study.executor",
    "UnitFailed": "cosearch.study.executor",
    "Executor": "cosearch.study.executor",
    "LocalExecutor": "cosearch.study.executor",
    "make_executor": "cosearch.study.executor",
    "RayExecutor": "cosearch.study.ray_executor",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'cosearch.study' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value
