"""The claim/heartbeat/requeue protocol (``cosearch.study.worker``) on its own: SQLite stores (in memory and
in tmp_path), a fake in-process executor and fake units (no mapping, no hardware).

A trial's hw_params are ``{"x": X}``; it has two units ``L0``, ``L1`` whose energy is ``X * (i + 1)``; its
result's value is the sum of its layers' energies (``3 X``)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest

from cosearch.study import Storage, StudyStore
from cosearch.study.executor import Executor, LocalExecutor, UnitFailed, WorkResult, WorkUnit
from cosearch.study.worker import HeartbeatThread, HeldTrial, TrialWorker, holder_is_dead, new_worker_id

STUDY = "w"


def cost_unit(unit: WorkUnit) -> WorkResult:
    """A fake unit: energy X * (i + 1) for layer Li of a trial with hw {"x": X}; raises if told to."""
    if unit.settings.get("raise"):
        raise RuntimeError(f"boom in {unit.layer_name}")
    energy = float(unit.hw["x"] * (unit.seed + 1))
    return WorkResult(layer=unit.layer_name, energy_pj=energy, cycles=1.0, edp=energy, evaluations=1, seed=unit.seed)


class InlineExecutor(Executor):
    """Runs units in this process, one attempt each (a raising unit is reported as UnitFailed), and
    remembers what it ran; ``between(unit)`` runs before each unit (to act as another process would)."""

    def __init__(self, between: Callable[[WorkUnit], None] | None = None) -> None:
        self.ran: list[tuple[int, str]] = []
        self.between = between

    def map(self, fn: Callable[[WorkUnit], Any], units: Iterable[WorkUnit]) -> Iterator[tuple[WorkUnit, Any]]:
        for unit in units:
            if self.between is not None:
                self.between(unit)
            self.ran.append((unit.trial, unit.layer_name))
            try:
                out = fn(unit)
            except Exception as err:  # noqa: BLE001 - the unit's failure
                yield unit, UnitFailed(unit, 1, f"{type(err).__name__}: {err}")
            else:
                yield unit, out


class Calls:
    """What a worker's callbacks saw."""

    def __init__(self) -> None:
        self.finished: list[tuple[int, dict[str, Any]]] = []  # (trial number, result) per on_finished
        self.scored: list[HeldTrial] = []  # every finish_trial call
        self.reports = 0  # report_finished calls


def worker(store: StudyStore, holder: str, executor: Executor | None = None, *, calls: Calls | None = None,
           failing: set[tuple[int, str]] = frozenset(), run_unit: Callable[[WorkUnit], WorkResult] = cost_unit,
           n_units: int = 2, **kw: Any) -> TrialWorker:
    """A worker on STUDY whose trials have ``n_units`` units; ``failing`` (trial number, layer) units raise."""
    calls = calls if calls is not None else Calls()

    def make_units(trial: Any) -> list[WorkUnit]:
        return [WorkUnit(study=STUDY, trial=trial.number, hw=trial.hw_params, layer={"name": f"L{i}"}, seed=i,
                         settings={"raise": (trial.number, f"L{i}") in failing}, trial_id=trial.id)
                for i in range(n_units)]

    def finish_trial(held: HeldTrial) -> dict[str, Any]:
        calls.scored.append(held)
        energy = sum(r["energy_pj"] or 0.0 for r in held.results.values())
        return {"value": energy, "valid": not held.failures, "energy_pj": energy, "layers": sorted(held.results)}

    def report_finished() -> None:
        calls.reports += 1

    kw.setdefault("poll_s", 0.02)
    return TrialWorker(store, STUDY, executor or InlineExecutor(), run_unit, make_units=make_units,
                       finish_trial=finish_trial, on_finished=lambda held, r: calls.finished.append((held.trial.number, r)),
                       report_finished=report_finished, holder=holder, **kw)


def within(seconds: float, fn: Callable[[], Any]) -> Any:
    """``fn()`` run in a thread; fails the test if it has not returned after ``seconds`` (a loop that
    never ends is a failure, not a hang)."""
    out: list[Any] = []
    thread = threading.Thread(target=lambda: out.append(fn()), daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"still running after {seconds} s"
    assert out, "raised (see the thread's traceback above)"
    return out[0]


def deadline(seconds: float) -> Callable[[], bool]:
    """A ``stop`` for ``work`` that ends it after ``seconds``: a test fails on a loop that should have
    ended by itself rather than hang."""
    end = time.monotonic() + seconds
    return lambda: time.monotonic() > end


def study(store: StudyStore, xs: list[int]) -> StudyStore:
    store.create_study(STUDY, {"seed": 0})
    store.add_trials(STUDY, [(n, {"x": x}, {"batch": 0}) for n, x in enumerate(xs)])
    return store


@pytest.fixture(params=["memory", "file"])
def store(request, tmp_path: Path) -> Iterator[Storage]:
    with Storage("sqlite://" if request.param == "memory" else f"sqlite:///{tmp_path / 's.db'}") as s:
        yield s


def file_store(tmp_path: Path) -> Storage:
    return Storage(f"sqlite:///{tmp_path / 's.db'}")


def dead_local_holder() -> str:
    """The id a process of this host had that has exited."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return f"{socket.gethostname()}:{child.pid}:gone"


# ---------------------------------------------------------------------------------------------------
# claim -> units -> record -> finish


def test_every_trial_is_evaluated_recorded_and_finished_once(store: Storage) -> None:
    study(store, [1, 2, 5])
    calls = Calls()
    executor = InlineExecutor()
    w = worker(store, "here:1:a", executor, calls=calls)
    assert w.work_pending() == 3 and w.finished == 3
    assert executor.ran == [(n, f"L{i}") for n in range(3) for i in range(2)]
    assert [n for n, _ in calls.finished] == [0, 1, 2]
    for t, x in zip(store.trials(STUDY, layers=True), [1, 2, 5]):
        assert (t.state, t.value, t.attempts, t.worker_id) == ("complete", 3.0 * x, 1, "here:1:a")
        assert t.result["layers"] == ["L0", "L1"] and t.result["valid"] is True
        assert {r.layer: r.energy_pj for r in t.layers} == {"L0": 1.0 * x, "L1": 2.0 * x}
    assert w.work_pending() == 0  # nothing left to claim


def test_a_trial_with_no_units_is_finished_at_once(store: Storage) -> None:
    study(store, [1])
    calls = Calls()
    w = worker(store, "here:1:a", calls=calls)
    w.make_units = lambda trial: []
    assert w.work_pending() == 1
    assert calls.scored[0].results == {} and store.trial(STUDY, 0).value == 0.0


def test_units_must_carry_their_trial_id(store: Storage) -> None:
    study(store, [1])
    w = worker(store, "here:1:a")
    w.make_units = lambda trial: [WorkUnit(study=STUDY, trial=trial.number, hw={}, layer={"name": "L0"})]
    with pytest.raises(ValueError, match=r"units \['L0'\] of trial 0 do not carry its id"):
        w.work_pending()
    assert store.trial(STUDY, 0).state == "pending"  # claimed, never held, and handed back on the error
    assert w.requeue_lost() == []  # so nothing is left for the orphan rule


def test_claim_is_exclusive_between_interleaved_workers(tmp_path: Path) -> None:
    """Worker B works the whole study while worker A is between two units of its first trial: A keeps
    that trial, B takes every other one, and nothing is evaluated twice."""
    study(file_store(tmp_path), [1, 2, 3, 4])
    calls_a, calls_b = Calls(), Calls()
    b = worker(file_store(tmp_path), "host-b:2:b", calls=calls_b)
    started = []

    def let_b_work(unit: WorkUnit) -> None:
        if not started:
            started.append(unit)
            b.work_pending()

    executor_a = InlineExecutor(let_b_work)
    a = worker(file_store(tmp_path), "host-a:1:a", executor_a, calls=calls_a)
    assert a.work_pending() == 1
    assert [n for n, _ in calls_a.finished] == [0] and [n for n, _ in calls_b.finished] == [1, 2, 3]
    trials = file_store(tmp_path).trials(STUDY)
    assert [t.worker_id for t in trials] == ["host-a:1:a"] + ["host-b:2:b"] * 3
    assert all(t.state == "complete" and t.attempts == 1 for t in trials)


def test_claim_is_exclusive_between_threads(tmp_path: Path) -> None:
    n = 12
    study(file_store(tmp_path), list(range(1, n + 1)))
    calls = [Calls() for _ in range(3)]
    workers = [worker(file_store(tmp_path), f"host-{k}:1:t", calls=calls[k]) for k in range(3)]
    threads = [threading.Thread(target=w.work_pending) for w in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    numbers = sorted(num for c in calls for num, _ in c.finished)
    assert numbers == list(range(n))  # each trial finished by exactly one worker
    trials = file_store(tmp_path).trials(STUDY)
    assert all(t.state == "complete" and t.attempts == 1 for t in trials)
    assert sum(w.finished for w in workers) == n


# ---------------------------------------------------------------------------------------------------
# lost holders, heartbeats


def test_a_dead_holders_trial_is_requeued_and_finished_once(store: Storage) -> None:
    """Trial 0 was claimed by a process of this host that died after committing L0: drain requeues it
    at once, runs only L1, and finishes it once with both layers."""
    study(store, [2])
    dead = dead_local_holder()
    trial = store.claim_trial(STUDY, dead)
    store.record_layer_result(trial.id, "L0", energy_pj=2.0, cycles=1.0, edp=2.0)
    calls = Calls()
    executor = InlineExecutor()
    w = worker(store, new_worker_id(), executor, calls=calls, stale_after_s=3600)
    within(30, w.drain)
    assert executor.ran == [(0, "L1")]  # the committed layer is kept
    assert [n for n, _ in calls.finished] == [0] and calls.reports >= 1
    t = store.trial(STUDY, 0)
    assert (t.state, t.attempts, t.worker_id, t.value) == ("complete", 2, w.holder, 6.0)
    assert w.requeue_lost() == []


def test_a_silent_holder_of_another_host_is_requeued_after_stale_after_s(store: Storage) -> None:
    study(store, [1])
    store.claim_trial(STUDY, "far-away:1:x")
    w = worker(store, "here:1:a", stale_after_s=2.0)  # wide enough for a loaded machine between claim and check
    assert w.requeue_lost() == []  # alive as far as we know
    time.sleep(2.2)
    assert w.requeue_lost() == [0]
    assert store.trial(STUDY, 0).state == "pending"


def test_a_trial_lost_too_often_is_failed(store: Storage) -> None:
    study(store, [1])
    for _ in range(2):
        store.claim_trial(STUDY, dead_local_holder())
        requeued = worker(store, "here:1:a", lost_attempts=2).requeue_lost()
    assert requeued == []
    t = store.trial(STUDY, 0)
    assert t.state == "failed" and t.error == "worker lost 2 time(s); giving up"


def test_own_orphans_are_requeued_when_holding_nothing(store: Storage) -> None:
    study(store, [1])
    me = new_worker_id()
    store.claim_trial(STUDY, me)  # an interrupted earlier run of this very worker
    assert worker(store, me, stale_after_s=3600).requeue_lost() == [0]


@pytest.mark.parametrize("heartbeat_s", [0.1, 0.0])
def test_heartbeats_keep_a_live_holders_trial(tmp_path: Path, heartbeat_s: float) -> None:
    """A's one unit takes longer than stale_after_s; meanwhile B looks for lost trials (and works on what
    it requeued). With heartbeats, A keeps its trial. Without (heartbeat_s 0), B requeues and finishes
    it, and A's late result is refused: the trial is finished once."""
    study(file_store(tmp_path), [1])
    calls_a, calls_b = Calls(), Calls()
    b = worker(file_store(tmp_path), "host-b:2:b", calls=calls_b, stale_after_s=0.5)
    seen: list[list[int]] = []

    def slow(unit: WorkUnit) -> WorkResult:
        time.sleep(1.0)
        seen.append(b.requeue_lost())
        b.work_pending()
        return cost_unit(unit)

    a = worker(file_store(tmp_path), "host-a:1:a", calls=calls_a, run_unit=slow, n_units=1,
               heartbeat_s=heartbeat_s, stale_after_s=0.5)
    done_a = a.work_pending()
    t = file_store(tmp_path).trial(STUDY, 0)
    assert t.state == "complete"
    if heartbeat_s:
        assert seen == [[]] and (done_a, b.finished) == (1, 0)
        assert t.worker_id == "host-a:1:a" and t.attempts == 1 and [n for n, _ in calls_a.finished] == [0]
    else:
        assert seen == [[0]] and (done_a, b.finished) == (0, 1)  # A's late result is refused
        assert t.worker_id == "host-b:2:b" and t.attempts == 2
        assert calls_a.finished == [] and [n for n, _ in calls_b.finished] == [0]


class _CountingStore:
    """Just enough of a store for a heartbeat thread: counts beats."""

    def __init__(self, in_memory: bool) -> None:
        self.in_memory = in_memory
        self.beats: list[tuple[list[int], str]] = []

    def heartbeat(self, ids: list[int], holder: str) -> int:
        self.beats.append((ids, holder))
        if len(self.beats) == 2:
            raise RuntimeError("a missed beat")  # skipped; the thread goes on
        return len(ids)


@pytest.mark.parametrize("in_memory", [False, True])
def test_heartbeat_thread_beats_while_open(in_memory: bool) -> None:
    store = _CountingStore(in_memory)
    with HeartbeatThread(store, "me", lambda: [7, 8], 0.02):  # type: ignore[arg-type]
        time.sleep(0.3)
    n = len(store.beats)
    time.sleep(0.1)
    assert len(store.beats) == n  # stopped on exit
    if in_memory:
        assert n == 0  # nobody to tell
    else:
        assert n >= 3 and set(map(tuple, (ids for ids, _ in store.beats))) == {(7, 8)}
        assert {holder for _, holder in store.beats} == {"me"}


# ---------------------------------------------------------------------------------------------------
# failures and interruptions


def test_a_unit_failing_every_attempt_fails_its_trial_only(store: Storage) -> None:
    study(store, [1, 2, 3])
    calls = Calls()
    w = worker(store, "here:1:a", LocalExecutor(1, attempts=2), calls=calls, failing={(1, "L1")})
    assert w.work_pending() == 3
    trials = store.trials(STUDY, layers=True)
    assert [t.state for t in trials] == ["complete", "failed", "complete"]
    bad = trials[1]
    assert bad.error == "layer L1 failed after 2 attempt(s): RuntimeError: boom in L1"
    assert bad.result["reason"] == f"evaluation failed: {bad.error}" and bad.result["valid"] is False
    assert bad.value is None
    assert {r.layer: (r.state, r.error) for r in bad.layers} == {
        "L0": ("complete", None), "L1": ("failed", "failed: RuntimeError: boom in L1")}
    assert [h.failures for h in calls.scored] == [[], [bad.error], []]
    assert dict(calls.finished)[1]["reason"].startswith("evaluation failed")


def test_an_interrupted_worker_hands_its_trials_back(store: Storage) -> None:
    study(store, [1, 2])

    def interrupt(unit: WorkUnit) -> None:
        if unit.layer_name == "L1":
            raise KeyboardInterrupt

    w = worker(store, "here:1:a", InlineExecutor(interrupt))
    with pytest.raises(KeyboardInterrupt):
        w.work_pending()
    t = store.trial(STUDY, 0)
    assert (t.state, t.worker_id) == ("pending", None)
    assert [r.layer for r in t.layers] == ["L0"]  # the committed layer stays
    assert store.trial(STUDY, 1).state == "pending"  # never claimed


def test_an_interrupt_between_claim_and_holding_hands_the_trial_back(store: Storage) -> None:
    """A signal that lands after the store marked a trial running but before the worker registered it
    as held (while its units are made) still hands the trial back."""
    study(store, [1])
    w = worker(store, "here:1:a")

    def interrupted_make_units(trial: Any) -> list[WorkUnit]:
        raise KeyboardInterrupt

    w.make_units = interrupted_make_units
    with pytest.raises(KeyboardInterrupt):
        w.work_pending()
    t = store.trial(STUDY, 0)
    assert (t.state, t.worker_id) == ("pending", None)


# ---------------------------------------------------------------------------------------------------
# how work() ends


def test_work_ends_at_the_budget(store: Storage) -> None:
    study(store, [1, 2])
    start = time.monotonic()
    assert worker(store, "here:1:a").work(idle_timeout_s=60, budget=2, stop=deadline(10)) == 2
    assert time.monotonic() - start < 10  # ended by the budget, not the deadline


def test_work_ends_after_the_idle_timeout(store: Storage) -> None:
    study(store, [])
    start = time.monotonic()
    assert worker(store, "here:1:a").work(idle_timeout_s=0.3, budget=5, stop=deadline(10)) == 0
    assert 0.3 <= time.monotonic() - start < 10


def test_work_stops_when_asked(store: Storage) -> None:
    study(store, [1])
    assert worker(store, "here:1:a").work(idle_timeout_s=60, budget=1, stop=lambda: True) == 0
    assert store.trial(STUDY, 0).state == "pending"


def test_work_waits_for_running_trials_and_takes_over_lost_ones(store: Storage) -> None:
    """Another host's silent trial keeps the study alive past the idle timeout until it is stale; then
    this worker requeues it, finishes it and reaches the budget."""
    study(store, [4])
    store.claim_trial(STUDY, "far-away:1:x")
    w = worker(store, "here:1:a", stale_after_s=0.4)
    start = time.monotonic()
    assert w.work(idle_timeout_s=0.1, budget=1, stop=deadline(30)) == 1
    assert 0.4 <= time.monotonic() - start < 30
    t = store.trial(STUDY, 0)
    assert (t.state, t.worker_id, t.attempts, t.value) == ("complete", "here:1:a", 2, 12.0)


# ---------------------------------------------------------------------------------------------------
# worker ids


def test_holder_liveness() -> None:
    me = new_worker_id()
    host = socket.gethostname()
    assert me.startswith(f"{host}:{os.getpid()}:") and me != new_worker_id()
    assert not holder_is_dead(me, me)
    assert holder_is_dead(f"{host}:{os.getpid()}:other", me)  # an earlier run of this process
    assert holder_is_dead(dead_local_holder())  # that process is gone
    assert not holder_is_dead(f"{host}:1:abc")  # pid 1 lives
    assert not holder_is_dead("elsewhere.example:1:abc")  # other hosts: heartbeat only
    assert holder_is_dead("local")  # older versions' holder name
