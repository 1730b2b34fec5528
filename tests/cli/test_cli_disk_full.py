"""A full disk or an output directory that cannot be written: ``map``, ``codesign``, ``report`` and ``study
export`` end with one ``error:`` line and exit 2, every file they leave is whole (the previous version,
never half of a new one, no temporary files), and a co-design study stopped so resumes to the same end.
The full disk is simulated (``conftest.FullDisk``): tests may run as root, where permissions do not stop
writes."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from conftest import assert_user_error, last_json, ok, run

SMALL_MAP = ["map", "-a", "eyeriss-168", "-w", "dqn", "-n", "100", "--no-report", "--json"]
SMALL_CODESIGN = ["codesign", "-w", "dqn", "--optimizer", "ga", "--hw-budget", "4", "--hw-batch", "2",
                  "--mapper-budget", "100", "--study", "full", "--no-report", "--json"]


def assert_whole_files(out: Path) -> None:
    """No temporary file, and every JSON file parses (none is half-written)."""
    assert not [p for p in out.rglob("*") if p.name.endswith(".tmp")]
    for path in out.rglob("*.json"):
        json.loads(path.read_text())


def test_map_on_a_full_disk(tmp_path: Path, full_disk) -> None:
    full_disk.room = 3  # results.json (running), conv1.json, results.json; then conv2.json fails
    out = tmp_path / "out"
    line = assert_user_error(run(*SMALL_MAP, "--out", out), "conv2.json: cannot write (No space left on device)")
    assert str(out) in line
    assert full_disk.failed == 2  # conv2.json, then the results.json that would have said "failed"
    data = json.loads((out / "results.json").read_text())
    assert data["status"] == "running" and [layer["name"] for layer in data["layers"]] == ["conv1"]
    assert sorted(p.name for p in out.iterdir()) == ["conv1.json", "results.json"]
    assert_whole_files(out)


def test_map_says_failed_when_the_disk_lets_it(tmp_path: Path, full_disk) -> None:
    """Only the layer file fails (it is the one too big): results.json then records the stop as failed."""
    out = tmp_path / "out"
    full_disk.room, full_disk.once = 3, True
    assert_user_error(run(*SMALL_MAP, "--out", out), "conv2.json: cannot write (No space left on device)")
    data = json.loads((out / "results.json").read_text())
    assert data["status"] == "failed" and [layer["name"] for layer in data["layers"]] == ["conv1"]
    assert_whole_files(out)


@pytest.mark.parametrize("command", [SMALL_MAP, SMALL_CODESIGN], ids=["map", "codesign"])
def test_an_out_directory_that_cannot_be_made(tmp_path: Path, command: list[str]) -> None:
    (tmp_path / "file").write_text("not a directory")
    assert_user_error(run(*command, "--out", tmp_path / "file" / "out"), "Not a directory")
    assert (tmp_path / "file").read_text() == "not a directory"


@pytest.mark.parametrize("command", [SMALL_MAP, SMALL_CODESIGN], ids=["map", "codesign"])
def test_a_read_only_out_directory(tmp_path: Path, command: list[str]) -> None:
    out = tmp_path / "out"
    out.mkdir()
    out.chmod(0o555)
    try:
        probe = out / "probe"
        try:
            probe.write_text("")
        except OSError:
            pass
        else:  # root (or a file system that ignores modes): permissions do not stop writes here
            probe.unlink()
            pytest.skip("this user can write into a read-only directory")
        assert_user_error(run(*command, "--out", out), "Permission denied")
        assert list(out.iterdir()) == []
    finally:
        out.chmod(0o755)


def test_codesign_on_a_full_disk_then_resumed(tmp_path: Path, full_disk) -> None:
    """The disk fills after the first trial's files; the trials committed to the study stay, and once
    there is room again ``--resume`` ends where an uninterrupted run ends."""
    whole = last_json(ok(run(*SMALL_CODESIGN, "--out", tmp_path / "whole")).stdout)
    out = tmp_path / "out"
    full_disk.room = 1  # results.json (running); the first trial's best-arch.yaml fails
    assert_user_error(run(*SMALL_CODESIGN, "--out", out), "best-arch.yaml: cannot write (No space left on device)")
    data = json.loads((out / "results.json").read_text())
    assert data["status"] == "running" and data["trials"] == 0  # the previous version, whole
    assert not (out / "best-arch.yaml").exists()
    assert_whole_files(out)
    shown = last_json(ok(run("study", "show", "full", "--storage", f"sqlite:///{out / 'studies.db'}",
                             "--json")).stdout)
    assert shown["states"]["complete"] >= 1  # committed before its files were written

    full_disk.room = None  # room again
    resumed = last_json(ok(run(*SMALL_CODESIGN, "--out", out, "--resume")).stdout)
    drop = ("seconds", "out", "storage")
    assert {k: v for k, v in resumed.items() if k not in drop} == {k: v for k, v in whole.items() if k not in drop}
    assert json.loads((out / "results.json").read_text())["status"] == "complete"


@pytest.mark.parametrize(("room", "fails"), [(4, "tables/breakdown.json"), (8, "figures/energy_breakdown.png"),
                                             (9, "figures/energy_breakdown.svg"), (14, "report.html")])
def test_report_on_a_full_disk(tmp_path: Path, full_disk, room: int, fails: str) -> None:
    """``room``: the report's writes that pass (tables, then figures, then the page) before ``fails``."""
    out = tmp_path / "run"
    ok(run(*SMALL_MAP, "--out", out))
    full_disk.room = room
    assert_user_error(run("report", out, "--out", tmp_path / "report", "--json"),
                      f"{fails}: cannot write (No space left on device)")
    assert not (tmp_path / "report" / fails).exists()
    assert_whole_files(tmp_path / "report")
    for figure in (tmp_path / "report").rglob("*.png"):
        assert figure.read_bytes().startswith(b"\x89PNG")


def test_study_export_on_a_full_disk(tmp_path: Path, full_disk) -> None:
    out = tmp_path / "run"
    ok(run(*SMALL_CODESIGN, "--hw-budget", "2", "--out", out))
    target = tmp_path / "export.json"
    target.write_text("previous export")
    full_disk.room = 0
    assert_user_error(run("study", "export", "full", "--storage", f"sqlite:///{out / 'studies.db'}", "--out", target),
                      "export.json: cannot write (No space left on device)")
    assert target.read_text() == "previous export"
    assert sorted(os.listdir(tmp_path)) == ["export.json", "run"]
