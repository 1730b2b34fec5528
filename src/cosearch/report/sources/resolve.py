"""The sources ``cosearch report SOURCE...`` names (:func:`resolve_sources`): results directories of
``cosearch map``/``codesign`` (or their ``results.json``), or study names in a study store."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

from ...codesign.outputs import STUDIES_FILE
from ...errors import CosearchError
from ...study import sqlite_missing
from ..records import Source
from .map_run import map_source
from .results_file import RESULTS_FILE, read_results_json
from .study import open_store, study_source


def _names_study(store_at: Any, storage: str | None, name: str) -> bool:
    """Whether ``name`` is a study in ``storage`` (``False`` if the store cannot be opened)."""
    try:
        return bool(store_at(storage).has_study(name))
    except CosearchError:
        return False


def resolve_sources(items: Sequence[str], storage: str | None = None) -> list[Source]:
    """Sources from ``cosearch report`` arguments: results directories (or their ``results.json``) of
    ``cosearch map``/``codesign``, or study names in ``storage``. One-line :class:`CosearchError`s for a
    directory without results, a missing or empty study, or a store that cannot be read."""
    if not items:
        raise CosearchError("give at least one SOURCE: a study name or a results directory")
    out: list[Source] = []
    stores: dict[str, Any] = {}

    def store_at(url: str | None) -> Any:
        from ...study import storage_url

        key = storage_url(url)
        if key not in stores:
            stores[key] = open_store(url)
        return stores[key]

    labels: set[str] = set()
    for item in items:
        path = Path(item)
        if path.is_file() and path.name == RESULTS_FILE:
            path = path.parent
        # a directory without results that shares its name with a study: the study
        as_dir = path.is_dir() and ((path / RESULTS_FILE).is_file() or not _names_study(store_at, storage, item))
        if as_dir:
            results = path / RESULTS_FILE
            if not results.is_file():
                raise CosearchError(f"{path}: no {RESULTS_FILE} (not a results directory of cosearch map or codesign)")
            data = read_results_json(results)
            if isinstance(data.get("study"), str) and "config" in data:
                url = storage if storage is not None else data.get("storage")
                local = path / STUDIES_FILE
                if storage is None and (url is None or sqlite_missing(str(url)) is not None) and local.is_file():
                    url = f"sqlite:///{local.absolute()}"
                src: Source = study_source(store_at(url), data["study"], results_path=results)
            else:
                src = map_source(path, data)
        elif path.exists() and not path.is_dir():
            raise CosearchError(f"{path}: not a results directory (give the directory that holds {RESULTS_FILE})")
        else:
            src = study_source(store_at(storage), item)
        if src.label in labels:  # the same name twice (e.g. two runs' dirs): keep labels distinct
            old, src.label = src.label, f"{src.label} ({len(labels) + 1})"
            for d in src.designs:
                d.source = src.label
                if d.label.startswith(f"{old}:"):
                    d.label = src.label + d.label[len(old):]
        labels.add(src.label)
        out.append(src)
    return out
