"""Work units and executors: how the jobs of a study's trials are run, in this process, a process pool
or on a Ray cluster.

A study scores each trial by running one job per unit of it; a co-design study, for example, maps every
unique layer of the workload on the trial's hardware point. One :class:`WorkUnit` is one such job: plain,
picklable data naming everything the job needs (the point, the layer, the mapper and its settings, the
seed), so a unit runs the same anywhere. The function that runs a unit is the caller's.

An :class:`Executor` runs a function over units and yields ``(unit, outcome)`` pairs **as they
finish**, so the caller can commit each result to storage at once (a killed run then loses only the
units in flight). ``outcome`` is whatever the function returned (by convention a :class:`WorkResult`),
or a :class:`UnitFailed` exception once the unit has raised ``attempts`` times.

Completion order is not deterministic. Determinism is the caller's job: seeds live in the units (not in
worker state), and the caller tells the optimizer results in trial order (e.g. it buffers outcomes and
tells trial ``n`` only after trials ``0..n-1``), never in completion order.

:class:`LocalExecutor` is the default: ``jobs=1`` runs units in this process (no pool, easiest to debug);
``jobs>1`` uses a ``concurrent.futures.ProcessPoolExecutor`` (``spawn`` start method, workers ignore
Ctrl-C). :class:`~cosearch.study.ray_executor.RayExecutor` implements the same :meth:`Executor.map` on
a Ray cluster; :func:`make_executor` builds either by name.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import traceback
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from ..errors import CosearchError

Outcome = Any  # the function's return value, or a UnitFailed


@dataclass(frozen=True)
class WorkUnit:
    """One (HW point, layer) mapping job of a study. Plain data: picklable, JSON-able."""

    study: str  # study name
    trial: int  # trial number within the study
    hw: dict[str, Any]  # the HW point: the outer optimizer's parameters and/or a full arch dict
    layer: dict[str, Any]  # the layer (e.g. ``Layer.model_dump()``); its name under "name"
    mapper: str = "auto"  # inner mapper (optimizer) name
    settings: dict[str, Any] = field(default_factory=dict)  # mapper settings: budget, time_limit, objective, ...
    seed: int = 0  # the unit's own seed (derive it from the study seed, trial and layer; never from the worker)
    trial_id: int | None = None  # the trial's storage id, for the caller's bookkeeping

    @property
    def layer_name(self) -> str:
        return str(self.layer.get("name", "?"))

    @property
    def key(self) -> tuple[str, int, str]:
        """(study, trial number, layer name): unique within a run."""
        return (self.study, self.trial, self.layer_name)

    def describe(self) -> str:
        return f"study {self.study!r} trial {self.trial} layer {self.layer_name!r}"

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class WorkResult:
    """What a mapping job returns: the best mapping of one layer on one HW point (plain data).

    ``error`` set (and costs ``None``) means the mapper ran but found no valid mapping; that is a result,
    not a failure. :meth:`record` gives the keyword arguments of :meth:`StudyStore.record_layer_result`.
    """

    layer: str
    shape_key: str | None = None
    count: int = 1
    energy_pj: float | None = None  # one instance of the layer
    cycles: float | None = None
    edp: float | None = None
    evaluations: int = 0
    seconds: float = 0.0
    optimizer: str | None = None
    seed: int | None = None
    mapping: Any = None  # cosearch mapping JSON
    extra: dict[str, Any] | None = None  # utilization, loop nest, ...
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    def record(self) -> dict[str, Any]:
        """``storage.record_layer_result(trial_id, **result.record())``: the fields as they are (the
        mapping and extra JSON are stored, not copied: a deep copy per unit cost the driver more than
        writing the row)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


class UnitFailed(Exception):
    """A unit raised on every attempt (or its worker process died): the outcome the executor reports.

    ``str(err)`` is one line; ``details`` holds the last traceback."""

    def __init__(self, unit: WorkUnit, attempts: int, error: str, details: str = "") -> None:
        super().__init__(f"{unit.describe()} failed after {attempts} attempt(s): {error}")
        self.unit = unit
        self.attempts = attempts
        self.error = error  # one line
        self.details = details  # the last traceback, if known

    def __reduce__(self) -> tuple[Any, ...]:
        return (UnitFailed, (self.unit, self.attempts, self.error, self.details))


def _describe_error(err: BaseException) -> tuple[str, str]:
    line = " ".join(str(err).split())
    one = f"{type(err).__name__}: {line}" if line else type(err).__name__
    cause = err.__cause__  # a worker's exception carries its remote traceback as __cause__
    if cause is not None and type(cause).__name__ == "_RemoteTraceback":
        details = str(cause).strip()
    else:
        details = "".join(traceback.format_exception(type(err), err, err.__traceback__)).strip()
    return one, details


class UnitFeed:
    """The units an executor submits next: units to run again first, then fresh ones in order."""

    def __init__(self, units: Iterable[WorkUnit]) -> None:
        self._source = iter(units)
        self._again: deque[tuple[WorkUnit, int]] = deque()

    def again(self, unit: WorkUnit, failed: int) -> None:
        """Queue ``unit`` to run again after ``failed`` failed attempts."""
        self._again.append((unit, failed))

    def next(self) -> tuple[WorkUnit, int] | None:
        """``(unit, failed attempts so far)`` to submit next, or ``None`` when nothing is left now."""
        if self._again:
            return self._again.popleft()
        unit = next(self._source, None)
        return None if unit is None else (unit, 0)


class Executor(ABC):
    """Runs a function over work units; see the module docstring for the contract."""

    jobs: int = 1

    @abstractmethod
    def map(self, fn: Callable[[WorkUnit], Any], units: Iterable[WorkUnit]) -> Iterator[tuple[WorkUnit, Outcome]]:
        """Yield ``(unit, fn(unit))`` for every unit as each finishes (any order), or ``(unit, UnitFailed)``
        once a unit has raised on every allowed attempt. ``units`` may be a lazy iterable. ``fn`` must be
        picklable (a module-level function) for executors that run it in other processes."""

    def close(self) -> None:
        """Release workers (idempotent)."""

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def _ignore_sigint(initializer: Callable[[], None] | None) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C and stops the pool
    if initializer is not None:
        initializer()


class LocalExecutor(Executor):
    """Units on this machine: in this process (``jobs=1``) or over a process pool (``jobs>1``).

    A unit that raises is retried until it has run ``attempts`` times, then reported as
    :class:`UnitFailed`. If a worker process dies (crash, out of memory), the pool is rebuilt and the
    units that were in flight are rerun one at a time, so only the unit that kills its worker is charged
    an attempt. The pool is kept between :meth:`map` calls (workers stay warm: imports and JIT caches) and
    stopped by :meth:`close`. ``jobs <= 0`` means one job per CPU.
    """

    def __init__(self, jobs: int = 1, attempts: int = 2, *, mp_context: str = "spawn",
                 initializer: Callable[[], None] | None = None) -> None:
        if attempts < 1:
            raise CosearchError(f"attempts must be at least 1, not {attempts}")
        self.jobs = int(jobs) if jobs and jobs > 0 else (os.cpu_count() or 1)
        self.attempts = int(attempts)
        self._context = multiprocessing.get_context(mp_context)
        self._initializer = initializer
        self._pool: ProcessPoolExecutor | None = None

    def __repr__(self) -> str:
        return f"LocalExecutor(jobs={self.jobs}, attempts={self.attempts})"

    def map(self, fn: Callable[[WorkUnit], Any], units: Iterable[WorkUnit]) -> Iterator[tuple[WorkUnit, Outcome]]:
        if self.jobs == 1:
            return self._map_inline(fn, units)
        return self._map_pool(fn, units)

    def close(self) -> None:
        self._discard_pool(graceful=True)

    # -- in process ----------------------------------------------------------------------------------

    def _map_inline(self, fn: Callable[[WorkUnit], Any],
                    units: Iterable[WorkUnit]) -> Iterator[tuple[WorkUnit, Outcome]]:
        for unit in units:
            for attempt in range(1, self.attempts + 1):
                try:
                    value = fn(unit)
                except Exception as err:  # noqa: BLE001 - any error of the job is the unit's failure
                    if attempt == self.attempts:
                        one, details = _describe_error(err)
                        yield unit, UnitFailed(unit, attempt, one, details)
                else:
                    yield unit, value
                    break

    # -- process pool --------------------------------------------------------------------------------

    def _get_pool(self) -> ProcessPoolExecutor:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(max_workers=self.jobs, mp_context=self._context,
                                             initializer=_ignore_sigint, initargs=(self._initializer,))
        return self._pool

    def _discard_pool(self, graceful: bool = False) -> None:
        pool, self._pool = self._pool, None
        if pool is None:
            return
        if graceful:
            pool.shutdown(wait=True, cancel_futures=True)
            return
        processes = list((getattr(pool, "_processes", None) or {}).values())
        pool.shutdown(wait=False, cancel_futures=True)
        for proc in processes:
            if proc.is_alive():
                proc.terminate()
        for proc in processes:
            proc.join(timeout=5)

    def _submit(self, fn: Callable[[WorkUnit], Any], unit: WorkUnit) -> Future[Any]:
        try:
            return self._get_pool().submit(fn, unit)
        except BrokenProcessPool:
            self._discard_pool()
            return self._get_pool().submit(fn, unit)

    def _map_pool(self, fn: Callable[[WorkUnit], Any], units: Iterable[WorkUnit]) -> Iterator[tuple[WorkUnit, Outcome]]:
        feed = UnitFeed(units)  # raised units run again through it
        suspects: deque[tuple[WorkUnit, int]] = deque()  # in flight when a worker died: rerun one at a time
        inflight: dict[Future[Any], tuple[int, WorkUnit, int, bool]] = {}  # future → (seq, unit, failed, alone)
        seq = 0
        clean = False
        try:
            while True:
                if suspects:
                    if not inflight:
                        unit, failed = suspects.popleft()
                        inflight[self._submit(fn, unit)] = (seq, unit, failed, True)
                        seq += 1
                else:
                    while len(inflight) < self.jobs and (item := feed.next()) is not None:
                        unit, failed = item
                        inflight[self._submit(fn, unit)] = (seq, unit, failed, False)
                        seq += 1
                if not inflight:
                    break
                done, _ = wait(inflight, return_when=FIRST_COMPLETED)
                crashed = False
                for fut in sorted(done, key=lambda f: inflight[f][0]):
                    _, unit, failed, alone = inflight.pop(fut)
                    try:
                        value = fut.result()
                    except BrokenProcessPool as err:
                        crashed = True
                        if not alone:  # cannot tell which unit killed the worker: rerun each alone
                            suspects.append((unit, failed))
                        elif failed + 1 < self.attempts:
                            suspects.append((unit, failed + 1))
                        else:
                            yield unit, UnitFailed(unit, failed + 1, "its worker process died", _describe_error(err)[1])
                    except Exception as err:  # noqa: BLE001
                        if failed + 1 < self.attempts:
                            feed.again(unit, failed + 1)
                        else:
                            one, details = _describe_error(err)
                            yield unit, UnitFailed(unit, failed + 1, one, details)
                    else:
                        yield unit, value
                if crashed:  # every other future of the broken pool is lost too
                    for _, unit, failed, _alone in sorted(inflight.values(), key=lambda v: v[0]):
                        suspects.append((unit, failed))
                    inflight.clear()
                    self._discard_pool()
            clean = True
        finally:
            if not clean:  # interrupted (Ctrl-C, consumer stopped early, error): stop now
                for fut in inflight:
                    fut.cancel()
                self._discard_pool()


EXECUTORS = ("local", "ray")


def make_executor(kind: str = "local", *, jobs: int | None = None, address: str | None = None,
                  attempts: int = 2) -> Executor:
    """An executor by name: ``local`` (``jobs`` worker processes, default 1: this process) or ``ray``
    (the cluster at ``address``: ``auto``, ``HOST:PORT`` or ``ray://HOST:PORT``; without one, a local
    Ray instance with ``jobs`` CPUs, default all). Bad combinations are a one-line :class:`CosearchError`."""
    if kind not in EXECUTORS:
        raise CosearchError(f"unknown executor {kind!r} (choose from {', '.join(EXECUTORS)})")
    if jobs is not None and jobs < 1:
        raise CosearchError(f"jobs must be at least 1, got {jobs}")
    if kind == "local":
        if address:
            raise CosearchError("an address is for the Ray executor only (--executor ray --address ...)")
        return LocalExecutor(jobs or 1, attempts)
    from .ray_executor import RayExecutor

    return RayExecutor(address=address or None, num_cpus=None if address else jobs, attempts=attempts)
