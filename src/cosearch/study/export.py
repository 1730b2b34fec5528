"""A study as text: the JSON export (read back by ``Storage.import_study``) and the CSV tables.

JSON: ``{"format": "cosearch-study", "schema_version", "study": {..., "config"}, "trials": [{..., "layers":
[...]}]}``, always with layer results. CSV: one row per trial (``number, state, value``, the result fields,
``hw.<param>`` flattened with dots, ``proposal.<key>``, bookkeeping), or one row per (trial, layer).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from .._io import csv_text
from .errors import StorageError, one_line
from .models import SCHEMA_VERSION
from .records import Study, Trial, iso_time

FORMAT = "cosearch-study"
#: Result keys shown first (as their own columns) in exports; others follow as ``result.<key>``.
RESULT_KEYS = ("valid", "energy_pj", "cycles", "edp", "area_mm2", "reason")


def study_json(study: Study, trials: list[Trial]) -> str:
    """The JSON export of ``study`` and its ``trials`` (with their layer results)."""
    doc = {"format": FORMAT, "schema_version": SCHEMA_VERSION, "study": study.to_json(),
           "trials": [t.to_json() for t in trials]}
    return json.dumps(doc, indent=2, allow_nan=False) + "\n"


def read_study_json(text: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """``(study fields, trial records)`` of a JSON export; :class:`StorageError` if ``text`` is not one.
    The records are checked only as far as their container; their fields are read when stored."""
    try:
        doc = json.loads(text)
        meta = doc["study"]
        trials = doc["trials"]
    except (ValueError, KeyError, TypeError) as err:
        raise StorageError(f"not a cosearch study export: {one_line(err)}") from None
    if doc.get("format") != FORMAT:
        raise StorageError(f"not a cosearch study export: missing format '{FORMAT}'")
    return meta, trials


def flatten(data: Any, prefix: str) -> dict[str, Any]:
    """Nested dicts → ``{"prefix.a.b": value}``; a non-dict → ``{prefix: value}``."""
    if not isinstance(data, Mapping):
        return {prefix: data}
    out: dict[str, Any] = {}
    for key, value in data.items():
        out.update(flatten(value, f"{prefix}.{key}"))
    return out


def trials_csv(trials: list[Trial]) -> str:
    """One row per trial: fixed columns, then ``result.*``, ``hw.*`` and ``proposal.*`` in first-seen order."""
    fixed, results, hws, proposals = [], [], [], []
    for t in trials:
        result = dict(t.result or {})
        result.pop("value", None)
        fixed.append({"number": t.number, "state": t.state, "value": t.value,
                      **{key: result.pop(key, None) for key in RESULT_KEYS},
                      "attempts": t.attempts, "worker_id": t.worker_id, "created": iso_time(t.created),
                      "started": iso_time(t.started), "finished": iso_time(t.finished), "error": t.error})
        results.append(flatten(result, "result") if result else {})
        hws.append(flatten(t.hw_params, "hw"))
        proposals.append(flatten(t.proposal, "proposal") if t.proposal is not None else {})
    columns = ["number", "state", "value", *RESULT_KEYS, *_ordered_keys(results), *_ordered_keys(hws),
               *_ordered_keys(proposals), "attempts", "worker_id", "created", "started", "finished", "error"]
    rows = [{**f, **r, **h, **p} for f, r, h, p in zip(fixed, results, hws, proposals)]
    return csv_text(rows, columns)


def layers_csv(trials: list[Trial]) -> str:
    """One row per (trial, layer result), the mapping as JSON text."""
    columns = ["trial", "layer", "shape_key", "count", "state", "energy_pj", "cycles", "edp", "evaluations", "seconds",
               "optimizer", "seed", "error", "mapping"]
    rows = [{"trial": t.number, **{k: getattr(r, k) for k in columns[1:]}} for t in trials for r in t.layers]
    return csv_text(rows, columns)


def _ordered_keys(rows: Iterable[dict[str, Any]]) -> list[str]:
    seen: dict[str, None] = {}
    for row in rows:
        for key in row:
            seen.setdefault(key, None)
    return list(seen)
