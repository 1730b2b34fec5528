"""Shared test fixtures: where the Timeloop reference data lives (read in place, never copied)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
REFERENCE_DIR = Path(os.environ.get("COSEARCH_REFERENCE_DIR", REPO.parent / "shared" / "reference")) / "timeloop"


def reference_records(name: str) -> list[dict]:
    """Records of ``shared/reference/timeloop/<name>.jsonl`` ([] if the folder is absent)."""
    path = REFERENCE_DIR / f"{name}.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


requires_reference = pytest.mark.skipif(
    not (REFERENCE_DIR / "cases.jsonl").exists(), reason=f"reference data not found at {REFERENCE_DIR}"
)


def assert_user_error(result, *needles: str) -> str:
    """Exit 2, exactly one ``error: ...`` line on stderr naming every needle, no traceback anywhere."""
    out, err = result.stdout, result.stderr
    assert result.exit_code == 2, f"exit {result.exit_code}\nstdout: {out}\nstderr: {err}\nexc: {result.exception!r}"
    assert "Traceback" not in out + err
    assert result.exception is None or isinstance(result.exception, SystemExit)
    lines = err.strip().splitlines()
    assert len(lines) == 1, f"expected one line on stderr, got: {err!r}"
    assert lines[0].startswith("error: ")
    for needle in needles:
        assert needle in lines[0], f"{needle!r} not in {lines[0]!r}"
    return lines[0]
