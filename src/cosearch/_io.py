"""Reading and writing files: one structured-file reader, one validation-error formatter, one
atomic writer, one JSON cleaner and one CSV cell rule.

Every spec loader (arch, workload, mapping, constraints, hardware space, Timeloop files) reads
through :func:`read_structured_file` and words pydantic errors with :func:`format_validation_error`,
so every bad file gets the same one-line message shape: ``<file>: <what is wrong>``.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import asdict, is_dataclass
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import CosearchError

RESULTS_FILE = "results.json"
"""The file every run directory (``cosearch map``/``codesign --out``) holds its results in, kept current."""

if TYPE_CHECKING:  # pydantic and yaml load only when a file is read or an error is worded
    from pydantic import ValidationError


def format_validation_error(
    err: ValidationError, source: str, *, indexed: bool = False, tags: Collection[str] = ()
) -> str:
    """One line naming the first offending field of a pydantic error: ``<source>: field a.0.b: <msg>``
    (``<source>: <msg>`` for a check of the whole model).

    ``indexed``: write the field path with list indices, ``<source>: a[0].b: <msg>``, leave out the
    discriminator tags (``tags``: the values of a tagged union's discriminator) pydantic inserts after
    an index, and drop pydantic's ``Value error, `` prefix of the message. A ``(+N more)`` suffix counts
    the other errors."""
    first = err.errors()[0]
    loc = list(first.get("loc", ()))
    msg = first.get("msg", "invalid")
    more = f" (+{err.error_count() - 1} more)" if err.error_count() > 1 else ""
    if not loc:  # a model-wide check: its own words, no field path
        return f"{source}: {re.sub(r'^(Value|Assertion) error, ', '', msg)}{more}"
    if not indexed:
        where = ".".join(str(p) for p in loc) or "(top level)"
        return f"{source}: field {where}: {msg}{more}"
    parts: list[str] = []
    for j, p in enumerate(loc):
        if isinstance(p, int):
            parts.append(f"[{p}]")
        elif p in tags and j > 0 and isinstance(loc[j - 1], int):
            continue
        else:
            parts.append(("." if parts else "") + str(p))
    where = "".join(parts) or "(top level)"
    msg = re.sub(r"^(Value|Assertion) error, ", "", msg)
    return f"{source}: {where}: {msg}{more}"


def read_structured_file(path: Path) -> Any:
    """Parse a YAML or JSON file, raising :class:`CosearchError` with the file name on failure."""
    import yaml

    if not path.exists():
        raise CosearchError(f"{path}: file not found")
    if path.is_dir():
        raise CosearchError(f"{path}: is a directory, expected a file")
    try:
        text = path.read_text()
    except OSError as exc:
        raise CosearchError(f"{path}: cannot read ({exc.strerror})") from None
    except UnicodeDecodeError:
        raise CosearchError(f"{path}: not a text file (cannot decode as UTF-8)") from None
    try:
        if path.suffix.lower() == ".json":
            return json.loads(text)
        return yaml.safe_load(text)
    except json.JSONDecodeError as exc:
        raise CosearchError(f"{path}: malformed JSON at line {exc.lineno} column {exc.colno}: {exc.msg}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1} column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or "syntax error"
        raise CosearchError(f"{path}: malformed YAML{where}: {problem}") from None


def write_atomic(path: Path, data: str | bytes, *, encoding: str | None = None) -> None:
    """Write ``data`` (text, or bytes written as they are) to ``path`` (parents created) through a
    temporary file ``.<name>.tmp`` beside it and a rename, so a reader never sees a half-written file
    and a crash or interrupt leaves the previous version.

    A write that fails (disk full, read-only or missing directory) removes the temporary file and
    raises :class:`CosearchError` ``<path>: cannot write (<reason>)``; ``path`` is left as it was."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(data, bytes):
            tmp.write_bytes(data)
        else:
            tmp.write_text(data, encoding=encoding)
        os.replace(tmp, path)
    except BaseException as exc:
        try:
            tmp.unlink(missing_ok=True)
        except OSError:
            pass
        if isinstance(exc, OSError):
            raise CosearchError(f"{path}: cannot write ({exc.strerror or exc})") from None
        raise


def to_plain(obj: Any) -> Any:
    """``obj`` as plain JSON data: numpy → Python, pydantic/dataclass → dicts, sets sorted, dates as
    ISO text, paths as text, non-finite floats → ``None``. Raises :class:`CosearchError` for other types."""
    if obj is None or isinstance(obj, (bool, str)):
        return obj
    if isinstance(obj, int):
        return int(obj)
    if isinstance(obj, float):
        return float(obj) if math.isfinite(obj) else None
    if isinstance(obj, Mapping):
        return {str(k): to_plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_plain(v) for v in obj]
    if isinstance(obj, (set, frozenset)):
        return sorted((to_plain(v) for v in obj), key=repr)
    if hasattr(obj, "to_json"):  # cosearch records: their own JSON form
        return to_plain(obj.to_json())
    if hasattr(obj, "model_dump"):  # pydantic
        return to_plain(obj.model_dump(mode="json"))
    if is_dataclass(obj) and not isinstance(obj, type):
        return to_plain(asdict(obj))
    if hasattr(obj, "tolist"):  # numpy arrays and scalars
        return to_plain(obj.tolist())
    if isinstance(obj, (datetime, date)):
        return obj.isoformat()
    if isinstance(obj, Path):
        return str(obj)
    raise CosearchError(f"cannot write a {type(obj).__name__} as JSON")


def finite(value: Any) -> float | None:
    """``value`` as a finite float, else ``None`` (also for booleans and non-numbers)."""
    if value is None or isinstance(value, bool):
        return None
    try:
        x = float(value)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None


def csv_cell(value: Any) -> str:
    """One CSV cell: ``""`` for None and non-finite floats, ``true``/``false``, ``repr`` of finite
    floats (exact round trip), sorted-key JSON for lists and dicts, ``str`` otherwise."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else ""
    if isinstance(value, (list, dict)):
        return json.dumps(value, sort_keys=True)
    return str(value)


def csv_text(rows: Iterable[Mapping[str, Any]], columns: Sequence[str] | None = None) -> str:
    """``rows`` as CSV text: a header line of ``columns`` (default: every key, in order of first
    appearance), then one line per row of :func:`csv_cell` cells (missing keys are empty)."""
    rows = list(rows)
    if columns is None:
        seen: dict[str, None] = {}
        for row in rows:
            for key in row:
                seen.setdefault(key, None)
        columns = list(seen)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(list(columns))
    for row in rows:
        writer.writerow([csv_cell(row.get(c)) for c in columns])
    return buffer.getvalue()
