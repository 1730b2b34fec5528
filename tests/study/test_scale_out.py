"""Scale-out (issue 8): the Ray executor, fault tolerance, PostgreSQL studies shared by several processes.

* Same seed and settings give the same best design and trial history (timing fields excluded) with the
  in-process executor, the local process pool, Ray (a local cluster started here, 2 CPUs), SQLite and
  PostgreSQL.
* A Ray worker killed mid-study (SIGKILL from inside the task) is retried and the study completes; a
  unit that always fails is recorded as a failed trial with its error and the study still completes.
* Two cosearch processes on one PostgreSQL study (a driver and a ``cosearch study work`` worker; two
  drivers) finish it without a duplicate or lost trial; kill -9 then resume works on PostgreSQL.

PostgreSQL tests need ``COSEARCH_TEST_POSTGRES_URL`` (e.g. ``postgresql://USER:PW@127.0.0.1:5432/DB``;
``.ci/run`` starts a server and sets it). Without it they skip, except under ``CI=true`` where they fail.
Budgets are tiny: DQN, 6 hardware points in batches of 3, 200 mapper evaluations per layer.
"""

from __future__ import annotations

import functools
import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path

import pytest

from conftest import REPO, assert_user_error, run
from cosearch._io import to_plain
from cosearch.arch.hwspace import load_hw_space
from cosearch.codesign import driver as codesign_mod
from cosearch.codesign.driver import Codesign
from cosearch.errors import CosearchError
from cosearch.study import Storage
from cosearch.study.executor import LocalExecutor, UnitFailed, WorkResult, WorkUnit, make_executor
from cosearch.workload.io import load_workload

IN_CI = os.environ.get("CI", "").lower() == "true"
PG_ENV = "COSEARCH_TEST_POSTGRES_URL"
SPACE = load_hw_space("eyeriss-like")
DQN = load_workload("dqn")
SETTINGS = dict(optimizer="ga", hw_budget=6, hw_batch=3, mapper_budget=200, seed=4)
CLI_SETTINGS = ["--workload", "dqn", "--optimizer", "ga", "--hw-budget", "6", "--hw-batch", "3",
                "--mapper-budget", "200", "--seed", "4"]
ORIGINAL_MAP_UNIT = codesign_mod.map_unit  # captured at import: Ray workers import this module afresh
CHILD_ENV = dict(os.environ, PYTHONPATH=str(REPO / "src") + os.pathsep + os.environ.get("PYTHONPATH", ""))


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def study_run(storage, study: str, executor=None, **kw) -> tuple[Codesign, object]:
    cd = Codesign([DQN], hw_space=SPACE, storage=storage, study=study, executor=executor, **{**SETTINGS, **kw})
    return cd, cd.run()


def history(storage: Storage, study: str) -> list[dict]:
    """Every trial with its layer results, without timing and bookkeeping (worker, attempts) fields."""
    out = []
    for t in storage.trials(study, layers=True):
        result = {k: v for k, v in (t.result or {}).items() if k != "seconds"}
        layers = sorted((r.layer, r.state, r.energy_pj, r.cycles, r.edp, r.evaluations, r.seed, r.optimizer,
                         json.dumps(r.mapping, sort_keys=True), r.error) for r in t.layers)
        out.append({"number": t.number, "state": t.state, "hw": t.hw_params, "value": t.value, "result": result,
                    "error": t.error, "layers": layers})
    return out


def outcome(res) -> dict:
    """A run's result without timing fields, as plain JSON data (what the CLI's --json prints)."""
    return to_plain({"best": res.best, "baseline": res.baseline, "baseline_rs": res.baseline_rs, "edp_ratio": res.edp_ratio,
            "edp_ratio_rs": res.edp_ratio_rs, "trials": res.trials, "history": res.history})


def assert_accounted(storage: Storage, study: str, n: int) -> list:
    """Trials 0..n-1, each once, none pending or running, each with one result per layer of DQN."""
    trials = storage.trials(study, layers=True)
    assert [t.number for t in trials] == list(range(n))
    assert all(t.state in ("complete", "failed") for t in trials), [t.state for t in trials]
    for t in trials:
        assert sorted(r.layer for r in t.layers) == sorted(f"dqn/{layer.name}" for layer in DQN.layers)
    return trials


# ---------------------------------------------------------------------------------------------------
# fixtures: the reference run, a local Ray cluster, the PostgreSQL server


@pytest.fixture(scope="module")
def reference():
    """The in-process, in-memory SQLite run every other configuration must reproduce."""
    cd, res = study_run("sqlite://", "ref")
    return history(cd.storage, "ref"), outcome(res)


def _need(module: str):
    try:
        return __import__(module)
    except ImportError as err:
        if IN_CI:
            pytest.fail(f"{module} is not installed but CI=true (pip install -e '.[test]' installs it): {err}")
        pytest.skip(f"{module} is not installed (pip install 'cosearch[ray]')")


@pytest.fixture(scope="module")
def ray_cluster():
    """A local Ray cluster with 2 CPUs for this module (RayExecutor() uses it and leaves it running)."""
    ray = _need("ray")
    if ray.is_initialized():
        ray.shutdown()
    # workers import this module (the tasks' functions live here, some in test_storage next to it) and its
    # conftest: put this folder and tests/ on their path
    path = os.pathsep.join([str(Path(__file__).parent), str(REPO / "tests"), str(REPO / "src"), os.environ.get("PYTHONPATH", "")])
    saved = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = path  # the cluster's processes inherit it
    try:
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, object_store_memory=100 * 2**20,
                 logging_level="ERROR")
    finally:
        if saved is None:
            del os.environ["PYTHONPATH"]
        else:
            os.environ["PYTHONPATH"] = saved
    yield ray
    ray.shutdown()


@pytest.fixture(scope="module")
def pg_url() -> str:
    url = os.environ.get(PG_ENV)
    if not url:
        if IN_CI:
            pytest.fail(f"{PG_ENV} is not set but CI=true: .ci/run must start PostgreSQL and export it")
        pytest.skip(f"{PG_ENV} is not set (a PostgreSQL URL for tests; .ci/run starts a server and sets it)")
    _need("psycopg")
    return url


# ---------------------------------------------------------------------------------------------------
# the same study whatever runs it and wherever it is stored


def test_process_pool_reproduces_the_reference(reference, tmp_path: Path) -> None:
    with LocalExecutor(jobs=2) as pool:
        cd, res = study_run(f"sqlite:///{tmp_path / 's.db'}", "pool", pool)
    assert history(cd.storage, "pool") == reference[0]
    assert outcome(res) == reference[1]
    assert res.best is not None and res.trials == 6


def test_ray_reproduces_the_reference(reference, ray_cluster, tmp_path: Path) -> None:
    from cosearch.study.ray_executor import RayExecutor

    with RayExecutor() as executor:
        assert executor.jobs == 2  # the test's cluster, not a new one
        cd, res = study_run(f"sqlite:///{tmp_path / 's.db'}", "ray", executor)
    assert ray_cluster.is_initialized()  # a runtime it did not start is left running
    assert history(cd.storage, "ray") == reference[0]
    assert outcome(res) == reference[1]
    workers = {t.worker_id for t in cd.storage.trials("ray")}
    assert workers == {cd.worker_id}  # one driver claimed every trial


def test_postgres_reproduces_the_reference(reference, pg_url: str) -> None:
    study = unique("pg")
    cd, res = study_run(pg_url, study)
    assert cd.storage.url.startswith("postgresql://")  # the URL as given; the psycopg driver underneath
    assert cd.storage._engine.dialect.driver in ("psycopg", "psycopg2")
    assert history(cd.storage, study) == reference[0]
    assert outcome(res) == reference[1]
    cd.storage.delete_study(study)


def test_ray_on_postgres_cli(reference, ray_cluster, pg_url: str, tmp_path: Path) -> None:
    """The CLI with --executor ray (a runtime already up in this process) and --storage postgresql://."""
    study = unique("cli")
    result = run("codesign", *CLI_SETTINGS, "--study", study, "--storage", pg_url, "--executor", "ray",
                 "--out", tmp_path / "out", "--json", "--no-report")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout.strip().splitlines()[-1])
    assert data["best"] == reference[1]["best"] and data["trials"] == 6
    assert "secret" not in data["storage"] and data["storage"].startswith("postgresql://")
    store = Storage(pg_url)
    assert history(store, study) == reference[0]
    store.delete_study(study)


# ---------------------------------------------------------------------------------------------------
# fault tolerance


def crash_once(marker: str, unit: WorkUnit) -> WorkResult:
    """Kill this worker process (SIGKILL) on the first attempt of trial 1's conv2, then map normally."""
    if unit.trial == 1 and unit.layer_name == "dqn/conv2" and not os.path.exists(marker):
        Path(marker).write_text(str(os.getpid()))
        os.kill(os.getpid(), signal.SIGKILL)
    return ORIGINAL_MAP_UNIT(unit)


def crash_always(unit: WorkUnit) -> WorkResult:
    """Trial 2's conv2 kills its worker on every attempt."""
    if unit.trial == 2 and unit.layer_name == "dqn/conv2":
        os.kill(os.getpid(), signal.SIGKILL)
    return ORIGINAL_MAP_UNIT(unit)


def raise_always(unit: WorkUnit) -> WorkResult:
    if unit.trial == 2 and unit.layer_name == "dqn/conv2":
        raise RuntimeError("mapper exploded")
    return ORIGINAL_MAP_UNIT(unit)


def test_ray_worker_killed_mid_study_is_retried(reference, ray_cluster, tmp_path: Path, monkeypatch) -> None:
    from cosearch.study.ray_executor import RayExecutor

    marker = tmp_path / "killed"
    monkeypatch.setattr(codesign_mod, "map_unit", functools.partial(crash_once, str(marker)))
    with RayExecutor(attempts=2) as executor:
        cd, res = study_run(f"sqlite:///{tmp_path / 's.db'}", "kill", executor)
    assert marker.exists(), "the worker was never killed"
    killed_pid = int(marker.read_text())
    assert killed_pid != os.getpid()
    with pytest.raises(ProcessLookupError):  # that worker process is really gone
        os.kill(killed_pid, 0)
    trials = assert_accounted(cd.storage, "kill", 6)
    assert all(t.state == "complete" for t in trials)
    assert history(cd.storage, "kill") == reference[0]  # the retry gave the same mapping
    assert outcome(res) == reference[1]


@pytest.mark.parametrize("where", ["ray", "local"])
def test_unit_failing_every_attempt_fails_its_trial_only(where: str, request, tmp_path: Path, monkeypatch) -> None:
    """A unit that kills its Ray worker (or raises, in process) on every attempt: after 2 attempts its
    trial is recorded failed with the error, told as infeasible, and the study completes."""
    if where == "ray":
        request.getfixturevalue("ray_cluster")
        from cosearch.study.ray_executor import RayExecutor

        executor, fn, error = RayExecutor(attempts=2), crash_always, "worker process died"
    else:
        executor, fn, error = LocalExecutor(1, attempts=2), raise_always, "RuntimeError: mapper exploded"
    monkeypatch.setattr(codesign_mod, "map_unit", fn)
    with executor:
        cd, res = study_run(f"sqlite:///{tmp_path / 's.db'}", "fail", executor)
    trials = assert_accounted(cd.storage, "fail", 6)
    assert [t.state for t in trials] == ["complete", "complete", "failed", "complete", "complete", "complete"]
    bad = trials[2]
    assert error in bad.error and "dqn/conv2" in bad.error and "after 2 attempt(s)" in bad.error
    assert bad.value is None and bad.result["valid"] is False and "evaluation failed" in bad.result["reason"]
    assert {r.layer: r.state for r in bad.layers}["dqn/conv2"] == "failed"
    assert res.best is not None and res.best.trial != 2 and res.trials == 6


def test_ray_executor_retries_and_reports_like_the_local_one(ray_cluster, tmp_path: Path) -> None:
    from cosearch.study.ray_executor import RayExecutor
    from test_storage import square_unit, units

    work = units(7, L3={"raise": True})
    work[5] = WorkUnit(**{**work[5].__dict__, "settings": {"flaky": str(tmp_path / "flaky")}})
    with RayExecutor(attempts=2) as executor:
        outcomes = {u.layer_name: r for u, r in executor.map(square_unit, iter(work))}  # a lazy source
    assert sorted(outcomes) == sorted(u.layer_name for u in work)
    failed = outcomes.pop("L3")
    assert isinstance(failed, UnitFailed) and failed.attempts == 2
    assert "ValueError: bad layer L3" in str(failed) and "\n" not in str(failed)
    assert all(isinstance(r, WorkResult) and r.edp == int(n[1:]) ** 2 for n, r in outcomes.items())


# ---------------------------------------------------------------------------------------------------
# several processes on one PostgreSQL study


def _cosearch(*args: str) -> list[str]:
    return [sys.executable, "-c", "from cosearch.cli import main; main()", *args]


def _wait(proc: subprocess.Popen, timeout: float = 240) -> tuple[str, str]:
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        pytest.fail(f"{proc.args[3:]} timed out\n{err[-3000:]}")
    assert proc.returncode == 0, f"{proc.args[3:]} exited {proc.returncode}\n{err[-3000:]}"
    return out, err


def test_driver_and_worker_share_a_postgres_study(reference, pg_url: str, tmp_path: Path) -> None:
    study = unique("shared")
    worker = subprocess.Popen(_cosearch("study", "work", study, "--storage", pg_url, "--idle-timeout", "120", "--wait", "120",
                                        "--poll", "0.1", "--json"),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=CHILD_ENV)
    time.sleep(1.0)  # let the worker import and start polling for the study
    driver = subprocess.Popen(_cosearch("codesign", *CLI_SETTINGS, "--study", study, "--storage", pg_url,
                                        "--out", str(tmp_path / "out"), "--json", "--no-report"),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=CHILD_ENV)
    d_out, _ = _wait(driver)
    w_out, _ = _wait(worker)
    data, work = json.loads(d_out.strip().splitlines()[-1]), json.loads(w_out.strip().splitlines()[-1])

    store = Storage(pg_url)
    trials = assert_accounted(store, study, 6)
    assert all(t.state == "complete" and t.attempts == 1 for t in trials)  # none done twice
    holders = {t.worker_id for t in trials}
    assert work["worker"] in holders and len(holders) == 2, holders  # both processes evaluated trials
    assert work["trials_done"] == sum(t.worker_id == work["worker"] for t in trials) >= 1
    assert work["states"]["complete"] == 6
    assert history(store, study) == reference[0]  # and the study is still the seed's study
    assert data["best"] == reference[1]["best"]
    store.delete_study(study)


def test_two_drivers_share_a_postgres_study(reference, pg_url: str, tmp_path: Path) -> None:
    """Two ``codesign --resume`` processes on one study: one creates it, both evaluate, each batch is
    proposed once (the second proposal of a batch is refused by the store and adopted)."""
    study = unique("drivers")
    procs = [subprocess.Popen(_cosearch("codesign", *CLI_SETTINGS, "--study", study, "--storage", pg_url,
                                        "--resume", "--out", str(tmp_path / f"out{i}"), "--json", "--no-report"),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=CHILD_ENV)
             for i in range(2)]
    outs = [json.loads(_wait(p)[0].strip().splitlines()[-1]) for p in procs]
    store = Storage(pg_url)
    trials = assert_accounted(store, study, 6)
    assert all(t.state == "complete" and t.attempts == 1 for t in trials)
    assert history(store, study) == reference[0]
    assert outs[0]["best"] == outs[1]["best"] == reference[1]["best"]
    store.delete_study(study)


_CHILD = textwrap.dedent("""
    import sys, time
    from cosearch.arch.hwspace import load_hw_space
    from cosearch.codesign import driver as cm
    from cosearch.workload.io import load_workload

    original = cm.map_unit

    def slow(unit):  # widen the window in which the parent kills us
        if unit.trial >= 0:
            time.sleep(0.25)
        return original(unit)

    cm.map_unit = slow
    cm.Codesign([load_workload("dqn")], hw_space=load_hw_space("eyeriss-like"), optimizer="ga", hw_budget=6,
                hw_batch=3, mapper_budget=200, seed=4, storage=sys.argv[1], study=sys.argv[2]).run()
""")


def test_kill_9_then_resume_on_postgres(reference, pg_url: str, tmp_path: Path) -> None:
    study = unique("kill")
    script = tmp_path / "child.py"
    script.write_text(_CHILD)
    proc = subprocess.Popen([sys.executable, str(script), pg_url, study], stderr=subprocess.PIPE, env=CHILD_ENV)
    store = Storage(pg_url)
    deadline = time.monotonic() + 120
    try:
        while True:
            if store.has_study(study):
                trials = store.trials(study, layers=True)
                running = [t for t in trials if t.state == "running"]
                complete = sum(t.state == "complete" for t in trials)
                if complete >= 2 and running and 1 <= len(running[0].layers) <= 2:
                    break  # mid-trial: some of its layers are committed, at least 3 × 0.25 s of work left
            if proc.poll() is not None:
                pytest.fail(f"the run ended before it could be killed: {proc.stderr.read().decode()[-2000:]}")
            assert time.monotonic() < deadline, "timed out waiting for committed trials"
            time.sleep(0.02)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    killed = running[0].number
    assert store.trial(study, killed).state == "running"  # killed mid-trial
    assert store.count_trials(study)["complete"] < 6
    cd, res = study_run(pg_url, study, resume=True)
    assert_accounted(cd.storage, study, 6)
    for got, want in zip(history(cd.storage, study), reference[0]):
        assert got == want, f"trial {want['number']} differs"
    assert history(cd.storage, study) == reference[0]
    assert outcome(res) == reference[1]
    assert cd.storage.trial(study, killed).attempts == 2  # requeued (its holder is dead) and run again
    store.delete_study(study)


# ---------------------------------------------------------------------------------------------------
# small pieces: URLs, stale holders, errors


def test_postgresql_url_gets_the_installed_driver() -> None:
    from sqlalchemy.engine import make_url

    from cosearch.study._engine import postgres_driver

    _need("psycopg")
    assert postgres_driver(make_url("postgresql://u:p@h/db")).drivername == "postgresql+psycopg"
    assert postgres_driver(make_url("postgresql+psycopg2://u:p@h/db")).drivername == "postgresql+psycopg2"
    assert postgres_driver(make_url("sqlite:///x.db")).drivername == "sqlite"


def test_stale_trials_of_other_hosts_are_requeued(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A holder on another machine that stops heartbeating loses its trial after stale_after_s. The
    store's clock is moved on instead of sleeping, so a loaded machine cannot make the claim look stale
    before the first check."""
    from datetime import timedelta

    from cosearch.study import sql as sql_store

    store = Storage(f"sqlite:///{tmp_path / 's.db'}")
    cd = Codesign([DQN], hw_space=SPACE, storage=store, study="st", stale_after_s=60.0, **SETTINGS)
    store.add_trials("st", [(0, {"point": [0] * 7, "values": {}}, {"batch": 0})])
    assert store.claim_trial("st", "far-away-host:123:abc").number == 0
    assert cd._requeue_lost() == []  # alive as far as we know
    real_now = sql_store._now
    monkeypatch.setattr(sql_store, "_now", lambda: real_now() + timedelta(seconds=59))
    assert cd._requeue_lost() == []  # still within stale_after_s
    monkeypatch.setattr(sql_store, "_now", lambda: real_now() + timedelta(seconds=61))
    assert cd._requeue_lost() == [0]
    assert store.trials("st")[0].state == "pending"


def test_storage_holders_heartbeats_and_dead_workers(tmp_path: Path) -> None:
    store = Storage(f"sqlite:///{tmp_path / 's.db'}")
    store.create_study("h", {})
    store.add_trials("h", [(n, {"n": n}, None) for n in range(4)])
    a, b = store.claim_trial("h", "host:1:a"), store.claim_trial("h", "host:2:b")
    store.claim_trial("h", "host:2:b")
    assert (a.number, b.number) == (0, 1)
    assert store.running_workers("h") == {"host:1:a": 1, "host:2:b": 2}
    assert store.heartbeat([a.id, b.id], "host:1:a") == 1  # only what that worker holds
    assert store.heartbeat(b.id) == 1
    assert store.requeue_stale("h", 3600) == []  # all fresh
    assert store.requeue_stale("h", 3600, worker_ids=["host:2:b"]) == [1, 2]  # a dead worker's, whatever the age
    assert store.running_workers("h") == {"host:1:a": 1}
    assert [t.state for t in store.trials("h")] == ["running", "pending", "pending", "pending"]
    again = store.claim_trial("h", "host:3:c")
    assert again.number == 1 and again.attempts == 2
    with pytest.raises(Exception, match="held by worker host:3:c"):  # the lost holder cannot finish it
        store.complete_trial(again.id, {"valid": True}, worker_id="host:2:b")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_ray_errors_are_one_line(tmp_path: Path, monkeypatch) -> None:
    port = _free_port()
    for address in (f"ray://127.0.0.1:{port}", f"127.0.0.1:{port}"):
        if __import__("importlib").util.find_spec("ray") is not None:
            with pytest.raises(CosearchError, match="cannot reach the Ray cluster at"):
                make_executor("ray", address=address)
        result = run("codesign", *CLI_SETTINGS, "--executor", "ray", "--address", address,
                     "--out", tmp_path / "x", "--json")
        assert_user_error(result, "Ray", address)
    assert not (tmp_path / "x").exists()  # nothing was created
    monkeypatch.setitem(sys.modules, "ray", None)  # as if Ray were not installed
    with pytest.raises(CosearchError, match=r"pip install 'cosearch\[ray\]'"):
        make_executor("ray")
    assert_user_error(run("codesign", *CLI_SETTINGS, "--executor", "ray", "--out", tmp_path / "y"),
                      "cosearch[ray]")


def test_executor_options_are_checked() -> None:
    assert_user_error(run("codesign", *CLI_SETTINGS, "--address", "auto"), "--address", "--executor ray")
    assert_user_error(run("codesign", *CLI_SETTINGS, "--executor", "spark"), "unknown executor 'spark'")
    assert_user_error(run("codesign", *CLI_SETTINGS, "--jobs", "0"), "--jobs must be at least 1")
    assert_user_error(run("demo", "--executor", "nope"), "unknown executor")
    with pytest.raises(CosearchError, match="Ray executor only"):
        make_executor("local", address="auto")


def test_study_work_errors(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 's.db'}"
    Storage(url).create_study("other", {"seed": 0})
    assert_user_error(run("study", "work", "nope", "--storage", url, "--idle-timeout", "0"), "no study named 'nope'")
    assert_user_error(run("study", "work", "other", "--storage", url), "not a co-design study")
    assert_user_error(run("study", "work", "other", "--storage", url, "--poll", "0"), "--poll")
