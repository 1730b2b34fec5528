"""The distributed trial protocol: claim a pending trial, run its units, record each result, finish it.

Any number of processes, on any number of hosts sharing a store (PostgreSQL), can work on one study: a
trial is *claimed* (``pending`` → ``running``, atomically, :meth:`StudyStore.claim_trial`) before it is
evaluated, so no trial is done twice. The units of every claimed trial go to the executor together (a
batch keeps all its workers busy), and each unit's result is committed as it arrives (a resumed trial
keeps the layers already done). Every process heartbeats the trials it holds (:class:`HeartbeatThread`);
a trial whose holder stopped — a dead process of this host at once (:func:`holder_is_dead`), any other
after ``stale_after_s`` seconds of silence — goes back to ``pending`` for someone else, and after
``lost_attempts`` losses it is marked ``failed``. A unit the executor reports as
:class:`~cosearch.study.executor.UnitFailed` is recorded as a failed layer and fails its trial, with the
error; the study goes on.

:class:`TrialWorker` is the protocol and nothing else: what a trial's units are and what its result is
come from its caller's callbacks (the co-design driver maps layers on hardware points; this module knows
nothing of either).
"""

from __future__ import annotations

import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from types import TracebackType
from typing import Any

from ._base import StudyStore
from .errors import TrialStateError
from .executor import Executor, UnitFailed, WorkResult, WorkUnit
from .records import Trial

HEARTBEAT_S = 15.0
"""Seconds between heartbeats of the trials a process holds."""
STALE_AFTER_S = 120.0
"""A running trial without a heartbeat for this long (its holder on another machine stopped) is requeued."""
LOST_ATTEMPTS = 3
"""A trial whose holder was lost this many times is marked ``failed`` instead of requeued once more."""
POLL_S = 1.0
"""Seconds between looks at the store while other processes hold the remaining trials."""


def new_worker_id() -> str:
    """A process-unique worker id ``HOST:PID:TOKEN`` (recorded as the holder of the trials it claims)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def holder_is_dead(holder: str, me: str | None = None) -> bool:
    """True if ``holder`` names a process of this host that no longer runs (or another, finished run
    in this process than ``me``), so its trials can be requeued at once. Ids of other hosts are judged by
    heartbeat only. ``local`` (the holder name of older versions, one process per study) counts as dead."""
    if holder == "local":
        return True
    parts = holder.split(":")
    if len(parts) != 3 or parts[0] != socket.gethostname() or not parts[1].isdigit():
        return False
    pid = int(parts[1])
    if pid == os.getpid():
        return holder != me
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:  # exists, owned by someone else
        return False
    return False


class HeartbeatThread:
    """While open (a context manager), a daemon thread marks the trials ``held()`` returns alive every
    ``interval_s`` seconds, as held by ``holder``. Nothing runs for an in-memory store (one connection,
    one process, nobody to tell) or ``interval_s <= 0``. A failed beat is skipped; the next may pass."""

    def __init__(self, store: StudyStore, holder: str, held: Callable[[], list[int]], interval_s: float) -> None:
        self.store, self.holder, self.held, self.interval_s = store, holder, held, float(interval_s)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> HeartbeatThread:
        if not self.store.in_memory and self.interval_s > 0:
            self._thread = threading.Thread(target=self._beat, name="cosearch-heartbeat", daemon=True)
            self._thread.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._thread is not None:
            self._stop.set()
            self._thread.join(timeout=5)
            self._thread = None

    def _beat(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                self.store.heartbeat(self.held(), self.holder)
            except Exception:  # noqa: BLE001 - a missed beat is not fatal; the next may pass
                pass


@dataclass
class HeldTrial:
    """A trial this worker claimed and is evaluating."""

    trial: Trial  # as claimed
    results: dict[str, dict[str, Any]] = field(default_factory=dict)  # unit (layer) name -> recorded fields
    remaining: int = 0  # units not yet back
    failures: list[str] = field(default_factory=list)  # one line per unit that failed every attempt
    started: float = field(default_factory=time.perf_counter)  # perf_counter seconds at the claim


class TrialWorker:
    """Claims trials of ``study`` in ``store`` as ``holder``, runs their units with ``run_unit`` on
    ``executor``, records every unit's result and finishes each trial once its last unit is in.

    Callbacks of the caller:

    * ``make_units(trial)``: the units of a claimed trial, each with ``trial_id == trial.id``; units whose
      layer already has a complete result stored (a resumed trial) are skipped. An empty list finishes the
      trial at once (e.g. a point that needs no evaluation).
    * ``finish_trial(held)``: the trial's result dict for :meth:`StudyStore.complete_trial` from
      ``held.results`` (layer name -> recorded fields) and ``held.failures``. If a unit failed, the
      worker sets ``result["reason"]`` to ``"evaluation failed: <errors>"`` and fails the trial instead.
    * ``on_finished(held, result)``: after a trial this worker finished is stored.
    * ``report_finished()``: called by :meth:`drain` whenever nothing is pending, so the caller can
      report trials finished by other processes.

    A trial requeued meanwhile (this holder was silent too long) and claimed by another process is left
    to its new holder: storing it raises :class:`TrialStateError`, which the worker takes as "not mine".
    """

    def __init__(
        self,
        store: StudyStore,
        study: str,
        executor: Executor,
        run_unit: Callable[[WorkUnit], WorkResult],
        *,
        make_units: Callable[[Trial], list[WorkUnit]],
        finish_trial: Callable[[HeldTrial], dict[str, Any]],
        on_finished: Callable[[HeldTrial, dict[str, Any]], None] | None = None,
        report_finished: Callable[[], None] | None = None,
        holder: str | None = None,
        stale_after_s: float = STALE_AFTER_S,
        heartbeat_s: float = HEARTBEAT_S,
        poll_s: float = POLL_S,
        lost_attempts: int = LOST_ATTEMPTS,
    ) -> None:
        self.store, self.study, self.executor, self.run_unit = store, study, executor, run_unit
        self.make_units, self.finish_trial = make_units, finish_trial
        self.on_finished, self.report_finished = on_finished, report_finished
        self.holder = holder or new_worker_id()
        self.stale_after_s, self.heartbeat_s, self.poll_s = float(stale_after_s), float(heartbeat_s), float(poll_s)
        self.lost_attempts = int(lost_attempts)
        self.finished = 0  # trials this worker completed or failed
        self._held: dict[int, HeldTrial] = {}  # trial id -> trial being evaluated here
        self._held_lock = threading.Lock()

    # ---- the loops ---------------------------------------------------------------------------------
    def work(self, *, idle_timeout_s: float, budget: int, stop: Callable[[], bool] | None = None) -> int:
        """Evaluate pending trials until the study has ``budget`` finished trials and none in flight, or
        for ``idle_timeout_s`` seconds nothing was pending or running anywhere (a driver may be proposing
        in such gaps), or ``stop()`` is true. Returns the number of trials this worker finished."""
        done = 0
        idle_since = time.monotonic()
        while not (stop is not None and stop()):
            n = self.work_pending()
            done += n
            if n:
                idle_since = time.monotonic()
            counts = self.store.count_trials(self.study)
            if counts["pending"]:
                continue
            if counts["running"] == 0 and counts["complete"] + counts["failed"] >= budget:
                break
            if counts["running"]:  # others are busy on the study: it is alive
                idle_since = time.monotonic()
            elif time.monotonic() - idle_since > idle_timeout_s:
                break
            if not self.requeue_lost():
                time.sleep(self.poll_s)
        return done

    def drain(self) -> None:
        """Evaluate pending trials until the study has none pending or running (waiting for trials other
        processes hold, and requeueing those whose holder is lost)."""
        while True:
            self.work_pending()
            counts = self.store.count_trials(self.study)
            if counts["pending"]:
                continue
            if self.report_finished is not None:
                self.report_finished()
            if not counts["running"]:
                return
            if not self.requeue_lost():
                time.sleep(self.poll_s)

    def requeue_lost(self) -> list[int]:
        """Requeue running trials whose holder is gone: dead processes of this host at once (and this
        holder's own if it holds nothing now: orphans of an interrupted run), others after
        ``stale_after_s`` seconds without a heartbeat (marked failed after ``lost_attempts`` losses).
        Returns the requeued trial numbers."""
        with self._held_lock:
            holding = bool(self._held)
        dead = [w for w in self.store.running_workers(self.study)
                if holder_is_dead(w, self.holder) or (w == self.holder and not holding)]
        return self.store.requeue_stale(self.study, self.stale_after_s, max_attempts=self.lost_attempts,
                                        worker_ids=dead)

    def work_pending(self) -> int:
        """Claim and evaluate pending trials until none is left; commit each unit's result as it finishes
        and each trial once its last unit is in. If interrupted, the trials held are handed back
        (best effort; a later :meth:`requeue_lost` does it otherwise). Returns the trials finished here."""
        before = self.finished
        clean = False
        with HeartbeatThread(self.store, self.holder, self._held_ids, self.heartbeat_s):
            try:
                for unit, out in self.executor.map(self.run_unit, self._claim_units()):
                    self._record(unit, out)
                clean = True
            finally:
                with self._held_lock:
                    self._held.clear()
                # hand back every trial this holder runs, not only those registered as held: an interrupt
                # between the store's claim and the registration would otherwise leave one running
                if not clean:
                    try:
                        self.store.requeue_stale(self.study, 1e9, worker_ids=[self.holder])
                    except Exception:  # noqa: BLE001 - keep the original error; a resume requeues them
                        pass
        return self.finished - before

    # ---- one trial ---------------------------------------------------------------------------------
    def _held_ids(self) -> list[int]:
        with self._held_lock:
            return list(self._held)

    def _claim_units(self) -> Iterator[WorkUnit]:
        """Units of pending trials, claiming one trial whenever the executor wants more work."""
        while True:
            trial = self.store.claim_trial(self.study, self.holder)
            if trial is None:
                return
            held = HeldTrial(trial)
            units = self.make_units(trial)
            strays = [u.layer_name for u in units if u.trial_id != trial.id]
            if strays:
                raise ValueError(f"units {strays} of trial {trial.number} do not carry its id {trial.id}")
            todo: list[WorkUnit] = []
            if units:
                held.results = {r.layer: asdict(r) for r in self.store.layer_results(trial.id)
                                if r.state == "complete"}  # a resumed trial keeps its committed layers
                todo = [u for u in units if u.layer_name not in held.results]
            if not todo:
                self._finish(held)
                continue
            held.remaining = len(todo)
            with self._held_lock:
                self._held[trial.id] = held
            yield from todo

    def _record(self, unit: WorkUnit, out: WorkResult | UnitFailed) -> None:
        """Commit one unit's outcome (a unit that failed every attempt as a failed layer result) and
        finish its trial if it was the last one out."""
        held = self._held[unit.trial_id]
        if isinstance(out, UnitFailed):
            held.failures.append(f"layer {unit.layer_name} failed after {out.attempts} attempt(s): {out.error}")
            out = WorkResult(layer=unit.layer_name, error=f"failed: {out.error}", optimizer=unit.mapper,
                             seed=unit.seed)
        self.store.record_layer_result(held.trial.id, **out.record())
        held.results[unit.layer_name] = out.record()
        held.remaining -= 1
        if held.remaining == 0:
            with self._held_lock:
                del self._held[held.trial.id]
            self._finish(held)

    def _finish(self, held: HeldTrial) -> None:
        """Complete (or, if a unit failed, fail) a held trial with its result; a trial that was requeued
        and taken over meanwhile is left to its new holder."""
        result = self.finish_trial(held)
        try:
            if held.failures:
                error = "; ".join(held.failures)
                result["reason"] = f"evaluation failed: {error}"
                self.store.fail_trial(held.trial.id, error, result=result, worker_id=self.holder)
            else:
                self.store.complete_trial(held.trial.id, result, worker_id=self.holder)
        except TrialStateError:
            return  # requeued (we were silent too long) and claimed by another process: theirs to finish
        self.finished += 1
        if self.on_finished is not None:
            self.on_finished(held, result)
