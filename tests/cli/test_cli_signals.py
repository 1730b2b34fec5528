"""Long runs stopped by a signal: the real CLI in a subprocess, stopped once its first layer or trial is on
disk. SIGINT and SIGTERM stop ``map`` and ``codesign`` in order (exit 130 / 143, one ``error:`` line,
``results.json`` ``interrupted``, every finished layer or trial kept, no trial left held); SIGKILL keeps
what was committed; a resumed ``codesign`` ends with the JSON of an uninterrupted run; a second signal
exits at once. Both the in-process (``--jobs 1``) and the pool (``--jobs 2``) paths. Small budgets."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable

import pytest

import cosearch
from cosearch.cli._signals import Interrupted, Terminated, exit_status, install_stop_handlers, stop_word
from cosearch.study import Storage

SRC = Path(cosearch.__file__).resolve().parents[1]  # the package under test, for the subprocesses
WAIT_S = 180.0  # generous: CI has two cores shared with other jobs

MAP_ARGS = ["map", "-a", "eyeriss-168", "-w", "resnet18", "-n", "3000", "--no-report", "--json"]
CODESIGN_ARGS = ["codesign", "-w", "dqn", "--optimizer", "ga", "--hw-budget", "6", "--hw-batch", "2",
                 "--mapper-budget", "200", "--seed", "2", "--study", "sig", "--no-report", "--json"]
EXIT = {signal.SIGINT: 130, signal.SIGTERM: 143, signal.SIGKILL: -signal.SIGKILL}
WORD = {signal.SIGINT: "interrupted", signal.SIGTERM: "terminated"}


class Cli:
    """One ``cosearch`` process (``python -m cosearch.cli`` or a ``-c`` script), stdout and stderr in files
    (worker processes a killed parent leaves behind cannot hold a pipe open)."""

    def __init__(self, tmp: Path, args: list[str], *, script: str | None = None, name: str = "run") -> None:
        self.stdout, self.stderr = tmp / f"{name}.out", tmp / f"{name}.err"
        command = [sys.executable, "-c", script, *args] if script else [sys.executable, "-m", "cosearch.cli", *args]
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")])}
        with self.stdout.open("w") as out, self.stderr.open("w") as err:
            self.proc = subprocess.Popen(command, stdout=out, stderr=err, env=env)

    def wait_for(self, ready: Callable[[], bool], what: str) -> None:
        deadline = time.monotonic() + WAIT_S
        while not ready():
            if self.proc.poll() is not None:
                pytest.fail(f"the run ended (exit {self.proc.returncode}) before {what}:\n{self.stderr.read_text()[-3000:]}")
            if time.monotonic() > deadline:
                self.proc.kill()
                pytest.fail(f"timed out waiting for {what}")
            time.sleep(0.02)

    def send(self, signum: int) -> None:
        os.kill(self.proc.pid, signum)

    def finish(self, timeout: float = WAIT_S) -> int:
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise

    def error_line(self) -> str:
        """The one line on stderr: ``error: ...``, no traceback."""
        text = self.stderr.read_text()
        assert "Traceback" not in text, text
        lines = text.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), text
        return lines[0]


def results(out: Path) -> dict[str, Any] | None:
    """``out/results.json`` if it is there (it is always whole: written atomically)."""
    path = out / "results.json"
    return json.loads(path.read_text()) if path.exists() else None


def layers_done(out: Path) -> int:
    data = results(out)
    return len(data["layers"]) if data else 0


def trials_done(out: Path) -> int:
    data = results(out)
    return data["trials"] if data else 0


def assert_no_temporary_files(out: Path) -> None:
    assert not [p for p in out.rglob("*") if p.name.endswith(".tmp")]


def without_timing(data: Any) -> Any:
    """JSON data without ``seconds`` fields and without where the run was (``out``, ``storage``)."""
    if isinstance(data, dict):
        return {k: without_timing(v) for k, v in data.items() if k not in ("seconds", "out", "storage")}
    if isinstance(data, list):
        return [without_timing(v) for v in data]
    return data


def stop_after_first(tmp_path: Path, command: list[str], jobs: str, signum: int) -> tuple[Cli, Path]:
    """Run ``command`` with ``--jobs`` into ``tmp_path/out``, send ``signum`` once its first layer or trial
    is saved, and check its exit status (130, 143, or killed). Returns the process and the out dir."""
    out = tmp_path / "out"
    done = layers_done if command[0] == "map" else trials_done
    cli = Cli(tmp_path, [*command, "--jobs", jobs, "--out", str(out)])
    cli.wait_for(lambda: done(out) >= 1, "the first result was saved")
    cli.send(signum)
    assert cli.finish() == EXIT[signum]
    return cli, out


# ---------------------------------------------------------------------------------------------------
# the handler, in this process (first signal only: a second one would end the test run)


@pytest.mark.parametrize(("signum", "raised", "status"), [(signal.SIGINT, Interrupted, 130),
                                                         (signal.SIGTERM, Terminated, 143)], ids=["SIGINT", "SIGTERM"])
def test_the_first_signal_raises_a_keyboard_interrupt(signum: int, raised: type, status: int) -> None:
    previous = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        assert install_stop_handlers()
        with pytest.raises(KeyboardInterrupt) as caught:
            os.kill(os.getpid(), signum)
            time.sleep(5)  # the handler raises in this thread before the sleep ends
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
    assert type(caught.value) is raised  # a subclass: see cli/_signals.py
    assert exit_status(caught.value) == status and stop_word(caught.value) == WORD[signum]
    assert exit_status(KeyboardInterrupt()) == 130 and stop_word(KeyboardInterrupt()) == "interrupted"


# ---------------------------------------------------------------------------------------------------
# map


def assert_finished_layers_on_disk(out: Path, data: dict[str, Any]) -> None:
    """Every layer results.json lists has its mapping file, equal to the mapping in results.json."""
    assert data["layers"] and data["layers_total"] > len(data["layers"])  # stopped part way
    for layer in data["layers"]:
        mapping = json.loads((out / layer["file"]).read_text())
        assert mapping == layer["mapping"] and layer["edp"] > 0
    listed = {layer["file"] for layer in data["layers"]} | {"results.json"}
    assert {p.name for p in out.glob("*.json")} == listed  # no file of an unfinished layer
    assert_no_temporary_files(out)


@pytest.mark.parametrize("jobs", ["1", "2"])
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_map_stops_in_order(tmp_path: Path, signum: int, jobs: str) -> None:
    cli, out = stop_after_first(tmp_path, MAP_ARGS, jobs, signum)
    assert cli.error_line() == f"error: {WORD[signum]}; finished layers are saved in {out}"
    assert cli.stdout.read_text() == ""
    data = results(out)
    assert data["status"] == "interrupted"
    assert_finished_layers_on_disk(out, data)


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_map_killed_keeps_its_finished_layers(tmp_path: Path, jobs: str) -> None:
    _, out = stop_after_first(tmp_path, MAP_ARGS, jobs, signal.SIGKILL)
    data = results(out)
    assert data["status"] == "running"  # nobody was left to say otherwise
    assert_finished_layers_on_disk(out, data)


# ---------------------------------------------------------------------------------------------------
# codesign


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory) -> tuple[dict[str, Any], dict[str, Any]]:
    """The reference: the same study run to its end (the final ``--json`` document, results.json)."""
    tmp = tmp_path_factory.mktemp("whole")
    cli = Cli(tmp, [*CODESIGN_ARGS, "--out", str(tmp / "out")])
    assert cli.finish() == 0, cli.stderr.read_text()
    return json.loads(cli.stdout.read_text().splitlines()[-1]), results(tmp / "out")


def resume_and_compare(tmp_path: Path, out: Path, jobs: str, uninterrupted: tuple[dict, dict]) -> None:
    """``--resume`` the stopped study: it ends with the document and trial history of the uninterrupted run."""
    whole, whole_results = uninterrupted
    again = Cli(tmp_path, [*CODESIGN_ARGS, "--jobs", jobs, "--out", str(out), "--resume"], name="resume")
    assert again.finish() == 0, again.stderr.read_text()
    resumed = json.loads(again.stdout.read_text().splitlines()[-1])
    assert without_timing(resumed) == without_timing(whole)
    final = results(out)
    assert final["status"] == "complete"
    assert without_timing(final["history"]) == without_timing(whole_results["history"])
    assert_no_temporary_files(out)


@pytest.mark.parametrize("jobs", ["1", "2"])
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_codesign_stops_in_order_then_resumes(tmp_path: Path, signum: int, jobs: str, uninterrupted) -> None:
    cli, out = stop_after_first(tmp_path, CODESIGN_ARGS, jobs, signum)
    line = cli.error_line()
    data = results(out)
    assert line == (f"error: {WORD[signum]}; {data['trials']} trials are saved in study sig "
                    f"(sqlite:///{out / 'studies.db'}); rerun with --resume to continue")
    assert data["status"] == "interrupted" and data["best"] is not None
    store = Storage(f"sqlite:///{out / 'studies.db'}")
    states = store.count_trials("sig")
    assert states["complete"] == data["trials"] and 1 <= data["trials"] < 6
    assert states["running"] == 0  # the trials it held were handed back
    assert (out / "best-arch.yaml").exists() and (out / "mappings").is_dir()
    assert_no_temporary_files(out)
    store.close()
    resume_and_compare(tmp_path, out, jobs, uninterrupted)


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_codesign_killed_then_resumed(tmp_path: Path, jobs: str, uninterrupted) -> None:
    _, out = stop_after_first(tmp_path, CODESIGN_ARGS, jobs, signal.SIGKILL)
    data = results(out)
    assert data["status"] == "running" and data["trials"] >= 1
    store = Storage(f"sqlite:///{out / 'studies.db'}")
    assert store.count_trials("sig")["complete"] >= data["trials"]
    store.close()
    resume_and_compare(tmp_path, out, jobs, uninterrupted)


# ---------------------------------------------------------------------------------------------------
# a second signal: at once

_SLOW_CLEANUP = """
import sys, time
from pathlib import Path
import cosearch.{module} as target

marker = Path(sys.argv[1])
original = target.{cls}.{method}

def slow(self, status, *args, **kwargs):  # the orderly stop takes a minute: only a second signal ends it
    if status == "interrupted":
        marker.write_text("stopping")
        time.sleep(60)
    return original(self, status, *args, **kwargs)

setattr(target.{cls}, "{method}", slow)
from cosearch.cli import main
main(sys.argv[2:])
"""


def child_pids(pid: int) -> list[int]:
    """The children of ``pid`` (Linux ``/proc``), [] where that is not available."""
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().split(") ")[-1].startswith("Z"))  # a zombie is gone


@pytest.mark.parametrize(("command", "jobs", "signum"), [("map", "1", signal.SIGTERM), ("codesign", "2", signal.SIGINT)])
def test_a_second_signal_exits_at_once(tmp_path: Path, command: str, jobs: str, signum: int) -> None:
    out, marker = tmp_path / "out", tmp_path / "stopping"
    if command == "map":
        args, done = MAP_ARGS, layers_done
        script = _SLOW_CLEANUP.format(module="mappers.network", cls="_RunRecorder", method="save")
    else:
        args, done = CODESIGN_ARGS, trials_done
        script = _SLOW_CLEANUP.format(module="codesign.outputs", cls="RunDirectory", method="write")
    cli = Cli(tmp_path, [str(marker), *args, "--jobs", jobs, "--out", str(out)], script=script)
    cli.wait_for(lambda: done(out) >= 1, "the first result was saved")
    before = results(out)
    workers = child_pids(cli.proc.pid)
    cli.send(signum)
    cli.wait_for(marker.exists, "the orderly stop began")
    start = time.monotonic()
    cli.send(signum)
    assert cli.finish(timeout=30) == EXIT[signum]
    assert time.monotonic() - start < 10  # not the minute the orderly stop would take
    assert cli.error_line() == f"error: {WORD[signum]} again; stopped at once (finished layers and trials are saved)"
    after = results(out)
    assert after["status"] == "running" and done(out) >= (len(before["layers"]) if command == "map" else before["trials"])
    time.sleep(0.5)
    assert not [p for p in workers if pid_alive(p)]  # its worker processes went with it
