"""Study storage (SQLite in tmp_path) and the local work-unit executor."""

from __future__ import annotations

import csv
import io
import json
import math
import multiprocessing
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from conftest import REPO
from cosearch.errors import CosearchError
from cosearch.study import (
    LocalExecutor,
    Storage,
    StorageError,
    StudyExistsError,
    StudyNotFoundError,
    TrialStateError,
    UnitFailed,
    WorkResult,
    WorkUnit,
    config_hash,
)

CONFIG = {"workloads": ["resnet18"], "hw_space": {"pe_x": [8, 16], "glb_kb": [64, 128]}, "optimizer": "bo",
          "objective": "edp", "budgets": {"trials": 10, "mapper": 2000}, "seed": 7}


def url(tmp_path: Path, name: str = "studies.db") -> str:
    return f"sqlite:///{tmp_path / name}"


@pytest.fixture
def store(tmp_path: Path) -> Storage:
    with Storage(url(tmp_path)) as storage:
        yield storage


def hw(n: int) -> dict:
    return {"pe_x": 8 + n, "glb": {"kb": 64 * (n + 1), "banks": [1, 2]}}


# ---------------------------------------------------------------------------------------------------
# studies


def test_create_load_list_delete(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "dir" / "s.db"  # parent folders are created
    store = Storage(f"sqlite:///{path}")
    study = store.create_study("alpha", CONFIG, estimator="accelergy-45nm", estimator_hash="abc")
    assert path.exists()
    assert study.name == "alpha" and study.config == CONFIG and study.direction == "minimize"
    assert study.config_hash == config_hash(CONFIG) == config_hash(json.loads(json.dumps(CONFIG)))
    assert study.version and study.created.tzinfo is not None
    store.create_study("beta", {"seed": 1}, objective="energy_pj")

    reopened = Storage(path)  # a bare path means SQLite
    assert reopened.load_study("alpha") == study
    assert reopened.has_study("beta") and not reopened.has_study("gamma")
    summaries = reopened.list_studies()
    assert [s.name for s in summaries] == ["alpha", "beta"]
    assert summaries[0].n_trials == 0
    assert summaries[0].states == {"pending": 0, "running": 0, "complete": 0, "failed": 0}
    assert summaries[0].best_value is None

    tid = reopened.add_trial("alpha", 0, hw(0))
    reopened.record_layer_result(tid, "conv1", energy_pj=1.0, cycles=2.0, edp=2.0)
    reopened.complete_trial(tid, {"edp": 2.0, "valid": True})
    reopened.delete_study("alpha")
    assert [s.name for s in reopened.list_studies()] == ["beta"]
    with pytest.raises(StudyNotFoundError, match="no study named 'alpha'"):
        reopened.load_study("alpha")
    with pytest.raises(StudyNotFoundError):
        reopened.delete_study("alpha")
    with sqlite3.connect(path) as con:  # nothing orphaned
        assert con.execute("select count(*) from trials").fetchone() == (0,)
        assert con.execute("select count(*) from layer_results").fetchone() == (0,)
        assert con.execute("pragma journal_mode").fetchone() == ("wal",)
    store.close()
    reopened.close()


def test_duplicate_study_name(store: Storage) -> None:
    store.create_study("s", CONFIG)
    with pytest.raises(StudyExistsError) as info:
        store.create_study("s", {"other": 1})
    assert isinstance(info.value, CosearchError)
    assert "study 's' already exists" in str(info.value) and "\n" not in str(info.value)
    assert store.load_study("s").config == CONFIG  # untouched


def test_config_json_is_sanitised(store: Storage) -> None:
    np = pytest.importorskip("numpy")
    study = store.create_study("np", {"a": np.int64(3), "b": np.arange(3), "c": (1.5, math.inf), "d": np.float32(0.5)})
    assert study.config == {"a": 3, "b": [0, 1, 2], "c": [1.5, None], "d": 0.5}
    with pytest.raises(StorageError, match="cannot store a object as JSON"):
        store.create_study("bad", {"x": object()})


# ---------------------------------------------------------------------------------------------------
# trials


def test_trial_lifecycle(store: Storage) -> None:
    study = store.create_study("s", CONFIG)
    ids = [store.add_trial(study, n, hw(n), {"tag": "init" if n < 2 else "ei"}) for n in range(3)]
    assert store.add_trial("s", None, hw(3)) != ids[-1]  # next free number
    with pytest.raises(TrialStateError, match="already has a trial number 1"):
        store.add_trial("s", 1, hw(9))
    assert [t.number for t in store.trials("s")] == [0, 1, 2, 3]
    assert store.count_trials("s") == {"pending": 4, "running": 0, "complete": 0, "failed": 0}

    t0 = store.claim_trial("s", "w0")
    t1 = store.claim_trial("s", "w1")
    assert (t0.number, t0.state, t0.worker_id, t0.attempts) == (0, "running", "w0", 1)
    assert t0.hw_params == hw(0) and t0.proposal == {"tag": "init"} and t0.started is not None
    assert t1.number == 1

    store.record_layer_result(t0.id, "conv1", shape_key=(1, 64, 3, 56, 56, 3, 3), count=1, energy_pj=10.0,
                              cycles=5.0, edp=50.0, evaluations=1000, seconds=0.5, optimizer="auto", seed=3,
                              mapping={"levels": [1, 2]}, extra={"utilization": 0.5})
    store.record_layer_result(t0.id, "fc", count=2, error="no valid mapping: too big", evaluations=10)
    store.record_layer_result(t0.id, "conv1", shape_key="1x64", energy_pj=9.0, cycles=5.0, edp=45.0,
                              mapping={"levels": [1, 2]})  # replaces the whole record
    layers = store.layer_results(t0.id)
    assert [(r.layer, r.state) for r in layers] == [("conv1", "complete"), ("fc", "failed")]
    assert layers[0].edp == 45.0 and layers[0].shape_key == "1x64" and layers[1].energy_pj is None

    store.complete_trial(t0.id, {"energy_pj": 9.0, "cycles": 5.0, "edp": 45.0, "area_mm2": 1.25, "valid": True},
                         worker_id="w0")
    store.complete_trial(t1.id, {"edp": 30.0, "valid": False, "reason": "glb too small"})  # invalid: no value
    with pytest.raises(TrialStateError, match="cannot complete trial 0: it is complete"):
        store.complete_trial(t0.id, {"edp": 1.0})
    t2 = store.claim_trial("s", "w2")
    with pytest.raises(TrialStateError, match="held by worker w2"):
        store.complete_trial(t2.id, {"edp": 1.0}, worker_id="someone-else")
    store.fail_trial(t2.id, "Traceback ...\nValueError: boom", worker_id="w2")
    store.complete_trial(ids[0] + 3, {"value": 60.0, "edp": 60.0, "valid": True})  # straight from pending

    trials = store.trials("s", layers=True)
    assert [t.state for t in trials] == ["complete", "complete", "failed", "complete"]
    assert trials[0].value == 45.0 and trials[0].get("area_mm2") == 1.25 and trials[0].valid is True
    assert len(trials[0].layers) == 2 and trials[0].finished >= trials[0].started
    assert trials[1].value is None and trials[1].valid is False
    assert trials[2].error.endswith("ValueError: boom") and trials[2].finished is not None
    assert trials[3].attempts == 1 and trials[3].started is not None
    assert [t.number for t in store.trials("s", states=["complete"])] == [0, 1, 3]
    assert [t.number for t in store.trials("s", states="failed")] == [2]
    with pytest.raises(StorageError, match="unknown trial state 'done'"):
        store.trials("s", states="done")

    best = store.best_trial("s")
    assert best.number == 0 and best.value == 45.0 and best.layers[0].mapping == {"levels": [1, 2]}
    assert store.trial("s", 0) == best
    summary = store.list_studies()[0]
    assert summary.n_trials == 4 and summary.states["complete"] == 3 and summary.best_value == 45.0
    assert store.claim_trial("s", "w3") is None


def test_maximize_and_objective_key(store: Storage) -> None:
    store.create_study("m", {}, objective="throughput", direction="maximize")
    for n, value in enumerate([3.0, 7.0, 5.0, math.nan]):
        tid = store.add_trial("m", n, {"n": n})
        store.complete_trial(tid, {"throughput": value, "valid": True})
    assert store.best_trial("m").number == 1
    assert store.trial("m", 3).value is None  # NaN is not a value
    assert store.list_studies()[0].best_value == 7.0
    with pytest.raises(StorageError, match="direction"):
        store.create_study("x", {}, direction="up")


def test_requeue_stale(store: Storage) -> None:
    store.create_study("s", {})
    for n in range(3):
        store.add_trial("s", n, hw(n))
    a = store.claim_trial("s", "dead")
    b = store.claim_trial("s", "alive")
    assert store.requeue_stale("s", older_than_s=60) == []  # both recently alive
    time.sleep(0.05)
    store.heartbeat(b.id)
    assert store.requeue_stale("s", older_than_s=0.03) == [a.number]
    again = store.claim_trial("s", "new")
    assert (again.number, again.attempts, again.worker_id) == (a.number, 2, "new")
    with pytest.raises(TrialStateError):  # the dead worker comes back late: it no longer holds the trial
        store.complete_trial(a.id, {"edp": 1.0}, worker_id="dead")
    time.sleep(0.05)
    assert store.requeue_stale("s", older_than_s=0.01, max_attempts=2) == [b.number]  # b: 1 attempt so far
    t = store.trial("s", a.number)
    assert t.state == "failed" and "worker lost 2 time(s)" in t.error


def test_layer_result_for_unknown_trial(store: Storage) -> None:
    with pytest.raises(TrialStateError, match="no trial with id 999"):
        store.record_layer_result(999, "conv1", edp=1.0)
    with pytest.raises(TrialStateError, match="no trial with id 999"):
        store.complete_trial(999, {"edp": 1.0})


# ---------------------------------------------------------------------------------------------------
# concurrency and crash safety


def _claim_all(db_url: str, study: str, worker: str) -> list[int]:
    storage = Storage(db_url)
    got = []
    while (trial := storage.claim_trial(study, worker)) is not None:
        got.append(trial.number)
        storage.complete_trial(trial.id, {"edp": float(trial.number), "valid": True}, worker_id=worker)
    storage.close()
    return got


def test_claim_is_atomic_across_threads(tmp_path: Path) -> None:
    db = url(tmp_path)
    shared = Storage(db)
    shared.create_study("s", {})
    for n in range(60):
        shared.add_trial("s", n, hw(n))
    results: dict[str, list[int]] = {}

    def worker(name: str, own: bool) -> None:
        storage = Storage(db) if own else shared
        got = []
        while (trial := storage.claim_trial("s", name)) is not None:
            got.append(trial.number)
        results[name] = got

    threads = [threading.Thread(target=worker, args=(f"t{i}", i % 2 == 0)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    claimed = [n for got in results.values() for n in got]
    assert sorted(claimed) == list(range(60))  # every trial exactly once
    assert all(got == sorted(got) for got in results.values())  # lowest number first
    assert {t.worker_id for t in shared.trials("s")} <= set(results)


def test_claim_is_atomic_across_processes(tmp_path: Path) -> None:
    db = url(tmp_path)
    storage = Storage(db)
    storage.create_study("s", {})
    for n in range(80):
        storage.add_trial("s", n, hw(n))
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(4) as pool:
        lists = pool.starmap(_claim_all, [(db, "s", f"p{i}") for i in range(4)])
    claimed = [n for got in lists for n in got]
    assert sorted(claimed) == list(range(80))
    trials = storage.trials("s")
    assert all(t.state == "complete" and t.attempts == 1 for t in trials)
    owner = {n: f"p{i}" for i, got in enumerate(lists) for n in got}
    assert all(t.worker_id == owner[t.number] for t in trials)


WRITER = textwrap.dedent(
    """
    import sys
    from cosearch.study import Storage
    storage = Storage(sys.argv[1])
    study = storage.create_study("crash", {"seed": 1})
    n = 0
    while True:
        tid = storage.add_trial(study, n, {"pe_x": n, "glb": {"kb": 2 * n}}, {"tag": "t%d" % n})
        storage.start_trial(tid, "writer")
        for k in range(3):
            storage.record_layer_result(tid, "layer%d" % k, energy_pj=n + k, cycles=1.0, edp=n + k,
                                        mapping={"n": n, "k": k})
        storage.complete_trial(tid, {"edp": float(n), "energy_pj": n + 0.5, "valid": True})
        print(n, flush=True)  # trial n is committed
        n += 1
    """
)


def test_committed_trials_survive_sigkill(tmp_path: Path) -> None:
    db = url(tmp_path)
    env = dict(os.environ, PYTHONPATH=str(REPO / "src") + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.Popen([sys.executable, "-c", WRITER, db], stdout=subprocess.PIPE, text=True, env=env)
    reported: list[int] = []
    try:
        deadline = time.monotonic() + 60
        while len(reported) < 25 and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            reported.append(int(line))
        os.kill(proc.pid, signal.SIGKILL)  # mid-study: it is writing trial len(reported) now
        proc.wait(timeout=10)
        reported += [int(line) for line in proc.stdout.read().split()]  # lines flushed before the kill
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.stdout.close()
    assert proc.returncode == -signal.SIGKILL
    assert len(reported) >= 25, "the writer did not get going"

    storage = Storage(db)
    trials = {t.number: t for t in storage.trials("crash", layers=True)}
    for n in reported:
        t = trials[n]
        assert t.state == "complete" and t.value == float(n) and t.result["energy_pj"] == n + 0.5
        assert t.hw_params == {"pe_x": n, "glb": {"kb": 2 * n}} and t.proposal == {"tag": f"t{n}"}
        assert [(r.layer, r.edp, r.mapping) for r in t.layers] == [(f"layer{k}", n + k, {"n": n, "k": k})
                                                                   for k in range(3)]
    assert set(trials) - set(reported) <= {max(reported) + 1}  # at most the trial in flight
    with sqlite3.connect(tmp_path / "studies.db") as con:
        assert con.execute("pragma integrity_check").fetchone() == ("ok",)
    # the run can go on: the in-flight trial (if any) is running and gets requeued
    storage.requeue_stale("crash", older_than_s=0)
    assert storage.count_trials("crash")["running"] == 0


# ---------------------------------------------------------------------------------------------------
# export / import


def _filled(store: Storage) -> None:
    store.create_study("e", CONFIG, estimator="table", estimator_hash="h1")
    for n in range(3):
        tid = store.add_trial("e", n, hw(n), {"tag": "sobol", "batch": n // 2})
        if n == 2:
            continue  # stays pending
        store.start_trial(tid, "w")
        store.record_layer_result(tid, "conv1", shape_key=(1, 2, 3), energy_pj=1.5 * (n + 1), cycles=10.0,
                                  edp=15.0 * (n + 1), evaluations=100, seconds=0.25, optimizer="auto", seed=n,
                                  mapping={"factors": [[1, 2], [3, 4]]})
        store.record_layer_result(tid, "fc, \"odd\" name", count=4, error="no valid mapping")
        store.complete_trial(tid, {"energy_pj": 1.5 * (n + 1), "cycles": 10.0, "edp": 15.0 * (n + 1),
                                   "area_mm2": 0.1 + n, "valid": n == 0, "reason": None if n == 0 else "too big",
                                   "per_level": {"glb": 1.0}})


def test_export_json_round_trip(store: Storage, tmp_path: Path) -> None:
    _filled(store)
    text = store.export("e")
    doc = json.loads(text)
    assert doc["study"]["config"] == CONFIG and len(doc["trials"]) == 3
    assert doc["trials"][0]["layers"][0]["mapping"] == {"factors": [[1, 2], [3, 4]]}
    other = Storage(url(tmp_path, "other.db"))
    imported = other.import_study(text)
    assert imported.config_hash == store.load_study("e").config_hash
    assert other.export("e") == text  # lossless
    assert other.best_trial("e").number == 0
    with pytest.raises(StudyExistsError):
        other.import_study(text)
    other.import_study(text, name="copy")
    assert json.loads(other.export("copy"))["trials"] == doc["trials"]
    with pytest.raises(StorageError, match="not a cosearch study export"):
        other.import_study("{}")


def test_study_attrs_are_stored_replaced_and_kept_out_of_exports(store: Storage) -> None:
    _filled(store)
    exported = store.export("e")
    assert store.get_study_attr("e", "baselines") is None
    assert store.get_study_attr("e", "baselines", {}) == {}
    store.set_study_attr("e", "baselines", {"edp": 2.5, "bad": math.inf, "layers": {"fc": [1, 2]}})
    assert store.get_study_attr("e", "baselines") == {"edp": 2.5, "bad": None, "layers": {"fc": [1, 2]}}
    store.set_study_attr(store.load_study("e"), "baselines", [3])  # a Study works as well as its name
    assert store.get_study_attr("e", "baselines") == [3]
    assert store.export("e") == exported and store.export("e", "csv", layers=True)
    store.create_study("other", CONFIG)
    assert store.get_study_attr("other", "baselines") is None  # per study
    with pytest.raises(StudyNotFoundError):
        store.set_study_attr("absent", "baselines", 1)
    with pytest.raises(StudyNotFoundError):
        store.get_study_attr("absent", "baselines")
    with pytest.raises(StorageError, match="key of 1 to 64 characters"):
        store.set_study_attr("e", "", 1)
    store.delete_study("e")
    store.create_study("e", CONFIG)  # a new study of the same name starts without attributes
    assert store.get_study_attr("e", "baselines") is None


def test_a_store_made_before_study_attrs_gains_the_table(tmp_path: Path) -> None:
    with Storage(url(tmp_path)) as store:
        store.create_study("old", CONFIG)
    with sqlite3.connect(tmp_path / "studies.db") as db:  # as a store of an older version left it
        db.execute("DROP TABLE study_attrs")
    with Storage(url(tmp_path)) as store:
        assert store.get_study_attr("old", "baselines") is None
        store.set_study_attr("old", "baselines", {"edp": 1.0})
        assert store.get_study_attr("old", "baselines") == {"edp": 1.0}


def test_export_csv_round_trip(store: Storage) -> None:
    _filled(store)
    rows = list(csv.DictReader(io.StringIO(store.export("e", "csv"))))
    trials = store.trials("e")
    assert len(rows) == 3
    for row, t in zip(rows, trials):
        assert int(row["number"]) == t.number and row["state"] == t.state
        assert int(row["hw.pe_x"]) == t.hw_params["pe_x"] and int(row["hw.glb.kb"]) == t.hw_params["glb"]["kb"]
        assert json.loads(row["hw.glb.banks"]) == [1, 2]
        assert row["proposal.tag"] == "sobol" and int(row["proposal.batch"]) == t.proposal["batch"]
        if t.result is None:
            assert row["edp"] == row["value"] == row["valid"] == ""
            continue
        assert float(row["edp"]) == t.result["edp"] and float(row["area_mm2"]) == t.result["area_mm2"]
        assert row["valid"] == ("true" if t.result["valid"] else "false")
        assert float(row["result.per_level.glb"]) == 1.0
        assert (float(row["value"]) if row["value"] else None) == t.value
    layer_rows = list(csv.DictReader(io.StringIO(store.export("e", "csv", layers=True))))
    assert len(layer_rows) == 4
    assert layer_rows[1]["layer"] == 'fc, "odd" name' and layer_rows[1]["state"] == "failed"
    assert layer_rows[1]["energy_pj"] == "" and layer_rows[1]["count"] == "4"
    assert json.loads(layer_rows[2]["mapping"]) == {"factors": [[1, 2], [3, 4]]}
    assert float(layer_rows[2]["edp"]) == 30.0 and layer_rows[2]["trial"] == "1"
    with pytest.raises(StorageError, match="unknown export format 'xml'"):
        store.export("e", "xml")


# ---------------------------------------------------------------------------------------------------
# bad URLs


@pytest.mark.parametrize(
    "bad, reason",
    [
        ("nosuchdb://host/db", "Can't load plugin"),
        ("postgresql://user:secret@127.0.0.1:1/db", ""),  # no driver installed, or nothing listening
        ("sqlite:///{file}/sub/x.db", ""),  # parent is a file
        ("sqlite:///{dir}", "unable to open database file"),  # a folder, not a file
        ("sqlite+nodriver:///x.db", "Can't load plugin"),
    ],
)
def test_bad_url_is_one_line_error(tmp_path: Path, bad: str, reason: str) -> None:
    (tmp_path / "afile").write_text("x")
    bad = bad.format(file=tmp_path / "afile", dir=tmp_path)
    with pytest.raises(CosearchError) as info:
        Storage(bad)
    message = str(info.value)
    assert message.startswith("cannot open storage URL ") and "\n" not in message
    assert reason in message and "secret" not in message


def test_a_server_that_never_answers_fails_within_the_connect_timeout() -> None:
    """A PostgreSQL URL whose server accepts the connection and then says nothing (a black hole) is a
    one-line error after ``timeout_s``, not a hang."""
    import importlib.util
    import socket

    if importlib.util.find_spec("psycopg") is None and importlib.util.find_spec("psycopg2") is None:
        pytest.skip("no PostgreSQL driver installed")
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        port = silent.getsockname()[1]
        started = time.monotonic()
        with pytest.raises(CosearchError, match=r"^cannot open storage URL postgresql://u:\*\*\*@127.0.0.1:\d+/db: .*timeout"):
            Storage(f"postgresql://u:secret@127.0.0.1:{port}/db", timeout_s=1)
        assert time.monotonic() - started < 10


def test_storage_text_rule(tmp_path: Path, monkeypatch) -> None:
    """A URL; an existing file; a new .db/.sqlite/.sqlite3 file in an existing directory; else refused."""
    from cosearch.study import storage_url

    monkeypatch.chdir(tmp_path)
    (tmp_path / "existing").write_text("")
    (tmp_path / "runs").mkdir()
    assert storage_url("postgresql://h/db") == "postgresql://h/db"
    assert storage_url("existing") == f"sqlite:///{tmp_path / 'existing'}"
    assert storage_url("runs/new.sqlite3") == f"sqlite:///{tmp_path / 'runs' / 'new.sqlite3'}"
    for bad, needle in (("not a url", f"sqlite:///{tmp_path / 'not a url'}"),
                        ("missing/new.db", f"sqlite:///{tmp_path / 'missing' / 'new.db'}"),
                        ("runs", f"is a directory; give a URL such as sqlite:///{tmp_path / 'runs' / 'studies.db'}"),
                        ("runs/new.txt", "not a URL and not an existing file")):
        with pytest.raises(CosearchError, match="^storage ") as err:
            storage_url(bad)
        assert needle in str(err.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["existing", "runs"]


# ---------------------------------------------------------------------------------------------------
# executor


def square_unit(unit: WorkUnit) -> WorkResult:
    if unit.layer.get("raise"):
        raise ValueError(f"bad layer {unit.layer_name}")
    marker = unit.settings.get("flaky")
    if marker and not os.path.exists(marker):  # fails on its first attempt only
        Path(marker).write_text("x")
        raise RuntimeError("transient")
    if unit.layer.get("crash") and os.getpid() != unit.settings.get("parent"):
        os._exit(3)  # the worker process dies
    x = unit.layer["x"]
    return WorkResult(layer=unit.layer_name, energy_pj=float(x * x), cycles=1.0, edp=float(x * x), seed=unit.seed,
                      optimizer=unit.mapper)


def units(n: int, **special: dict) -> list[WorkUnit]:
    out = []
    for i in range(n):
        layer = {"name": f"L{i}", "x": i, **special.get(f"L{i}", {})}
        out.append(WorkUnit(study="s", trial=i // 3, hw={"pe_x": 8}, layer=layer, seed=i,
                            settings=dict(special.get("settings", {}))))
    return out


@pytest.mark.parametrize("jobs", [1, 2])
def test_local_executor_results_and_failures(jobs: int, tmp_path: Path) -> None:
    work = units(7, L3={"raise": True})
    work[5] = WorkUnit(**{**work[5].__dict__, "settings": {"flaky": str(tmp_path / "flaky")}})
    with LocalExecutor(jobs=jobs, attempts=2) as executor:
        outcomes = list(executor.map(square_unit, work))
        again = dict((u.key, r) for u, r in executor.map(square_unit, work[:2]))  # the pool is reused
    assert sorted(u.key for u, _ in outcomes) == sorted(u.key for u in work)  # every unit exactly once
    by_name = {u.layer_name: r for u, r in outcomes}
    failed = by_name.pop("L3")
    assert isinstance(failed, UnitFailed) and failed.attempts == 2 and failed.unit.layer_name == "L3"
    assert "L3" in str(failed) and "ValueError: bad layer L3" in str(failed) and "\n" not in str(failed)
    assert "ValueError" in failed.details
    for name, result in by_name.items():  # L5 succeeded on its retry
        x = int(name[1:])
        assert isinstance(result, WorkResult) and result.edp == x * x and result.seed == x
    assert len(again) == 2


def test_local_executor_survives_a_dying_worker() -> None:
    work = units(6, L2={"crash": True}, settings={"parent": os.getpid()})
    with LocalExecutor(jobs=2, attempts=2) as executor:
        outcomes = {u.layer_name: r for u, r in executor.map(square_unit, work)}
    assert len(outcomes) == 6
    assert isinstance(outcomes["L2"], UnitFailed) and "worker process died" in str(outcomes["L2"])
    assert all(isinstance(r, WorkResult) for name, r in outcomes.items() if name != "L2")


def test_executor_results_go_to_storage(store: Storage) -> None:
    """The intended loop: commit each result as it finishes, in whatever order."""
    store.create_study("s", {})
    tid = store.add_trial("s", 0, {"pe_x": 8})
    store.start_trial(tid)
    work = [WorkUnit("s", 0, {"pe_x": 8}, {"name": f"L{i}", "x": i}, seed=i, trial_id=tid) for i in range(4)]
    for unit, result in LocalExecutor(jobs=1).map(square_unit, work):
        store.record_layer_result(unit.trial_id, **result.record())
    assert sorted(r.edp for r in store.layer_results(tid)) == [0.0, 1.0, 4.0, 9.0]
    with pytest.raises(CosearchError, match="attempts must be at least 1"):
        LocalExecutor(attempts=0)
