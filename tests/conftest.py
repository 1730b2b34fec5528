"""Shared test fixtures: where the Timeloop reference data lives (read in place, never copied)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

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


def _runner() -> CliRunner:
    """A runner that keeps stderr apart from stdout (Click < 8.2 needs ``mix_stderr=False``)."""
    try:
        return CliRunner(mix_stderr=False)  # type: ignore[call-arg]
    except TypeError:
        return CliRunner()


def run(*args):
    """Invoke the ``cosearch`` CLI in-process with string arguments."""
    from cosearch.cli import app

    return _runner().invoke(app, [str(a) for a in args])


def last_json(stdout: str):
    """The JSON object on the last line of a command's output."""
    return json.loads(stdout.strip().splitlines()[-1])


def ok(result):
    """Assert exit status 0 (showing the outputs otherwise) and return the result."""
    assert result.exit_code == 0, f"exit {result.exit_code}\nstdout: {result.stdout}\nstderr: {result.stderr}\n{result.exception!r}"
    return result


class FullDisk:
    """A disk that fills up: after ``room`` more atomic writes (their ``.<name>.tmp`` files) succeed, each
    further one writes half its data and fails with ENOSPC, as a full disk does. ``room = None``: room
    for everything (the disk was cleared); ``once``: room again after the first failure (the one file
    was too big). Counts the writes that failed."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        import errno
        import pathlib

        self.room: int | None = None
        self.once = False
        self.failed = 0
        original = {"write_text": pathlib.Path.write_text, "write_bytes": pathlib.Path.write_bytes}

        def patched(kind: str):
            def write(path: Path, data, *args, **kwargs):
                if path.name.endswith(".tmp") and self.room is not None:
                    if self.room <= 0:
                        original[kind](path, data[: len(data) // 2], *args, **kwargs)
                        self.failed += 1
                        if self.once:
                            self.room = None
                        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
                    self.room -= 1
                return original[kind](path, data, *args, **kwargs)

            return write

        for kind in original:
            monkeypatch.setattr(pathlib.Path, kind, patched(kind))


@pytest.fixture()
def full_disk(monkeypatch: pytest.MonkeyPatch) -> FullDisk:
    """A :class:`FullDisk` with room for everything until a test sets ``full_disk.room``."""
    return FullDisk(monkeypatch)
