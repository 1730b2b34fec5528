"""The ``results.json`` a ``cosearch map`` or ``cosearch codesign`` run leaves in its out directory: reading
one, and finding the one of a co-design study's run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ...codesign.outputs import RESULTS_FILE, default_run_dir
from ...errors import CosearchError


def read_results_json(path: Path) -> dict[str, Any]:
    """The JSON object in ``path``; a one-line :class:`CosearchError` naming the file if it cannot be
    read, is not JSON or holds something else."""
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise CosearchError(f"{path}: malformed JSON at line {err.lineno} column {err.colno}: {err.msg}") from None
    except OSError as err:
        raise CosearchError(f"{path}: {err.strerror or err}") from None
    except UnicodeDecodeError:
        raise CosearchError(f"{path}: not a text file (cannot decode as UTF-8)") from None
    if not isinstance(data, dict):
        raise CosearchError(f"{path}: expected a JSON object")
    return data


def _same_settings(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Equal study configurations apart from ``hw_budget`` (a resumed study may have grown it)."""
    from ...study import canonical_json

    strip = lambda c: {k: v for k, v in c.items() if k != "hw_budget"}  # noqa: E731
    return canonical_json(strip(a)) == canonical_json(strip(b))


def find_study_results(store_url: str, study: str, config_hash: str, given: Path | None,
                       stored_config: dict[str, Any]) -> tuple[dict[str, Any], Path] | None:
    """The ``results.json`` of a study's run: ``given``, else next to a SQLite store, else in the
    default out directory ``cosearch-out/<study>`` (with a ``codesign-`` prefix). Only a complete run
    of the same study and configuration counts."""
    from sqlalchemy.engine import make_url

    from ...study import config_hash as hash_of

    candidates: list[Path] = []
    if given is not None:
        candidates.append(given)
    try:
        parsed = make_url(store_url)
        if parsed.get_backend_name() == "sqlite" and parsed.database and parsed.database != ":memory:":
            candidates.append(Path(parsed.database).expanduser().parent / RESULTS_FILE)
    except Exception:  # noqa: BLE001 - not a URL we can place
        pass
    candidates.append(default_run_dir(study) / RESULTS_FILE)
    for path in candidates:
        if not path.is_file():
            continue
        try:
            data = read_results_json(path)
        except CosearchError:
            continue
        if data.get("study") != study or not data.get("baseline") or not isinstance(data.get("config"), dict):
            continue
        if hash_of(data["config"]) != config_hash and not _same_settings(data["config"], stored_config):
            continue
        return data, path
    return None
