"""Hardware/software co-design: an outer optimizer over hardware points, the mapper inside.

Each hardware point (a *trial*) is scored by mapping every unique layer of the workload(s) on it with
the inner mapper (one :class:`~cosearch.study.executor.WorkUnit` per (trial, layer), run by an
executor, each result committed to storage as it finishes). Network costs count repeats:
energy = Σ count·energy, cycles = Σ count·cycles, EDP = energy × cycles. With several workloads the
objective is the geometric mean of each workload's ratio to the eyeriss-168 + ``auto`` baseline.

Trials are proposed in batches of ``hw_batch`` and told to the outer optimizer in trial order, so a
seed determines the study; ``resume`` replays committed trials, finishes pending ones and goes on,
giving the same trials as an uninterrupted run.

Trials are *claimed* from storage (``pending`` → ``running``, atomically) before they are evaluated, and
the units of every claimed trial go to the executor together, so a batch keeps all workers busy. Several
processes can therefore work on one study in a shared store (PostgreSQL): the driver (``run``) proposes
and tells, any number of workers (:meth:`Codesign.work`, ``cosearch study work``) claim pending trials,
and no trial is done twice or lost. Every process heartbeats the trials it holds; a trial whose holder
stopped (a dead process on this host at once, any other after ``stale_after_s`` seconds of silence) goes
back to ``pending`` for someone else, and after :data:`LOST_ATTEMPTS` losses it is marked ``failed``.
A unit that raises or kills its worker is retried by the executor, then its trial is recorded ``failed``
with the error (told to the optimizer as infeasible), and the study goes on.
"""

from __future__ import annotations

import math
import os
import socket
import threading
import time
import uuid
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import numpy as np

from .. import __version__
from ..arch.hwspace import HWSpace, build_arch, point_name
from ..errors import CosearchError
from ..study.executor import Executor, LocalExecutor, UnitFailed, WorkResult, WorkUnit
from ..workload.io import load_workload, network_to_data
from ..workload.layer import Layer, Network
from ..arch.area import AreaModel
from .hw_optimizers import make_hw_optimizer
from .objectives import (PARETO_OBJECTIVES, NetworkCost, edp_ratio, geomean_ratio, objective_value,
                         objective_vector, parse_objective)
from .settings import check_budgets

if TYPE_CHECKING:
    from .outputs import RunDirectory

EYERISS_168 = {"mesh_x": 14, "mesh_y": 12, "glb_kb": 108, "glb_bandwidth": 16, "weights_spad_words": 224,
               "ifmap_spad_words": 12, "psum_spad_words": 24}
"""Eyeriss v1 in the eyeriss template's parameters (GLB read/write bandwidth 16 words/cycle)."""

HEARTBEAT_S = 15.0
"""Seconds between heartbeats of the trials a process holds."""
STALE_AFTER_S = 120.0
"""A running trial without a heartbeat for this long (its holder on another machine stopped) is requeued."""
LOST_ATTEMPTS = 3
"""A trial whose holder was lost this many times is marked ``failed`` instead of requeued once more."""
POLL_S = 1.0
"""Seconds between looks at the store while other processes hold the remaining trials."""

DEFAULT_MAPPER_BUDGET = 5_000
"""Inner evaluations per (hardware point, layer): enough for ``auto`` to settle on small layers; the
whole of ResNet-50 at 100 hardware points stays within minutes."""


# ---- the work unit ---------------------------------------------------------------------------------
def unit_arch(hw: dict[str, Any]):
    """The :class:`Arch` of a unit's ``hw`` payload (template, values, estimator, DRAM bandwidth)."""
    return build_arch(hw["template"], hw["values"], dram_bandwidth=hw["dram_bandwidth"], estimator=hw["estimator"],
                      name=hw.get("name") or point_name(hw["values"]))


def map_unit(unit: WorkUnit) -> WorkResult:
    """Map one layer on one hardware point (runs in a worker; plain data in and out)."""
    from ..mapping.mapspace import MapSpace
    from ..mappers.layer import map_layer

    arch = unit_arch(unit.hw)
    layer = Layer(**unit.layer)
    settings = dict(unit.settings)
    dataflow = settings.pop("dataflow", None)
    t = time.perf_counter()
    try:
        space = None
        if dataflow:
            from ..mapping.constraints import load_constraints

            space = MapSpace(arch, layer, constraints=load_constraints(dataflow, arch))
        res = map_layer(arch, layer, optimizer=unit.mapper, seed=unit.seed, space=space, **settings)
    except CosearchError as err:  # no valid mapping: a result (the point is infeasible), not a failure
        return WorkResult(layer=layer.name, count=layer.count, optimizer=unit.mapper, seed=unit.seed,
                          seconds=time.perf_counter() - t, error=str(err))
    return WorkResult(
        layer=layer.name, shape_key=layer.shape_key_text(), count=layer.count,
        energy_pj=res.energy_pj, cycles=res.cycles, edp=res.edp, evaluations=res.evaluations, seconds=res.seconds,
        optimizer=unit.mapper, seed=unit.seed, mapping=res.mapping().model_dump(mode="json"),
        extra={"utilization": float(res.costs.utilization[0])},
    )


def worker_identity() -> str:
    """A process-unique worker id ``HOST:PID:TOKEN`` (recorded as the holder of the trials it claims)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def holder_is_dead(worker_id: str, me: str | None = None) -> bool:
    """True if ``worker_id`` names a process of this host that no longer runs (or another, finished run
    in this process), so its trials can be requeued at once. Ids of other hosts are judged by heartbeat
    only. ``local`` (the holder name of older versions, one process per study) counts as dead."""
    if worker_id == "local":
        return True
    parts = worker_id.split(":")
    if len(parts) != 3 or parts[0] != socket.gethostname() or not parts[1].isdigit():
        return False
    pid = int(parts[1])
    if pid == os.getpid():
        return worker_id != me
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:  # exists, owned by someone else
        return False
    return False


def unit_seed(seed: int, hw_values: dict[str, Any], layer: Layer) -> int:
    """A seed per (study seed, hardware point, layer shape), so equal work gets equal seeds."""
    text = f"{seed}|{sorted(hw_values.items())}|{layer.shape_key()}"
    return zlib.crc32(text.encode()) & 0x7FFFFFFF


# ---- the study -------------------------------------------------------------------------------------
@dataclass
class CodesignResult:
    study: str
    best: dict[str, Any] | None
    baseline: dict[str, Any]
    baseline_rs: dict[str, Any]
    edp_ratio: float | None
    edp_ratio_rs: float | None
    trials: int
    seconds: float
    history: list[dict[str, Any]] = field(default_factory=list)
    edp_ratio_bound: float | None = None  # no design within the area budget goes below this (bounds.py)
    bound: dict[str, float] | None = None  # that bound's energy_pj, cycles, edp (all workloads summed)
    pareto_front: list[dict[str, Any]] | None = None  # objective pareto: the non-dominated trials


@dataclass
class _Held:
    """A trial this process claimed and is evaluating."""

    id: int
    number: int
    point: np.ndarray
    values: dict[str, Any]
    area: float
    results: dict[str, dict[str, Any]]  # layer key -> recorded fields
    remaining: int  # units not yet back
    failures: list[str] = field(default_factory=list)
    started: float = field(default_factory=time.perf_counter)


class Codesign:
    """One co-design study: configuration, storage, executor; :meth:`run` does the work."""

    def __init__(
        self,
        workloads: list[Network],
        *,
        hw_space: HWSpace,
        area_budget_mm2: float | None = None,
        optimizer: str = "bo",
        objective: str = "edp",
        hw_budget: int = 50,
        hw_batch: int = 5,
        mapper: str = "auto",
        mapper_budget: int = DEFAULT_MAPPER_BUDGET,
        seed: int = 0,
        storage: Any = None,
        study: str | None = None,
        resume: bool = False,
        executor: Executor | None = None,
        on_trial: Callable[[dict[str, Any]], None] | None = None,
        join: bool = False,
        worker_id: str | None = None,
        stale_after_s: float = STALE_AFTER_S,
        heartbeat_s: float = HEARTBEAT_S,
        poll_s: float = POLL_S,
    ) -> None:
        """``join``: work on an existing study (it must exist; its settings are taken as given, nothing is
        requeued at start); :meth:`from_study` builds one from the stored configuration. ``worker_id``
        names this process as the holder of the trials it claims (default :func:`worker_identity`)."""
        if not workloads:
            raise CosearchError("no workload given")
        check_budgets(hw_budget=hw_budget, hw_batch=hw_batch, mapper_budget=mapper_budget)
        self.workloads = workloads
        self.space = hw_space
        self.objective = parse_objective(objective)
        self.optimizer_name = optimizer
        self.hw_budget, self.hw_batch = int(hw_budget), int(hw_batch)
        self.mapper, self.mapper_budget, self.seed = mapper, int(mapper_budget), int(seed)
        self.area = AreaModel(hw_space)
        self.baseline_values = dict(EYERISS_168) if hw_space.template == "eyeriss" else None
        base_area = self._hw_payload(self.baseline_values or self._simple_baseline())
        self.baseline_area = float(unit_arch(base_area).area_mm2)
        self.area_budget = float(area_budget_mm2) if area_budget_mm2 is not None else self.baseline_area
        self.opt = make_hw_optimizer(optimizer, hw_space, area_budget_mm2=self.area_budget, seed=seed, area=self.area,
                                     objectives=len(PARETO_OBJECTIVES) if self.objective == "pareto" else 1)
        self.layers = self._unique_layers()
        self.executor = executor or LocalExecutor(1)
        self.on_trial = on_trial
        self.output: RunDirectory | None = None  # the run's output files (open_output, run(out_dir))
        self.worker_id = worker_id or worker_identity()
        self.stale_after_s, self.heartbeat_s, self.poll_s = float(stale_after_s), float(heartbeat_s), float(poll_s)
        self._reported: set[int] = set()  # trial numbers passed to on_trial
        self._held: dict[int, _Held] = {}  # trial id -> trial being evaluated here
        self._held_lock = threading.Lock()
        self.finished_here = 0  # trials this object completed or failed
        from ..study.storage import Storage, StudyExistsError

        self.storage = storage if storage is not None and not isinstance(storage, str) else Storage(storage)
        self.config = {
            "workloads": [w.name for w in workloads], "hw_space": hw_space.model_dump(mode="json"),
            "area_budget_mm2": self.area_budget, "optimizer": optimizer, "objective": self.objective,
            "hw_budget": self.hw_budget, "hw_batch": self.hw_batch, "mapper": mapper,
            "mapper_budget": self.mapper_budget, "seed": self.seed,
            "workload_data": [network_to_data(w) for w in workloads],  # lets workers rebuild the study
        }
        self.study_name = study or f"codesign-{'+'.join(w.name for w in workloads)}-{optimizer}-s{seed}"
        if join:
            self.study = self.storage.load_study(self.study_name)
            return
        created = False
        if not (resume and self.storage.has_study(self.study_name)):
            try:
                self.study = self.storage.create_study(
                    self.study_name, self.config, objective=self.objective, estimator=hw_space.estimator,
                    estimator_hash=_config_hash(hw_space.model_dump(mode="json")), version=__version__)
                created = True
            except StudyExistsError:
                if not resume:
                    raise CosearchError(f"study {self.study_name!r} already exists; use --resume to continue it "
                                        "or --study NAME for a new one") from None
                # another process started it just now: resume (join) it
        if not created:
            self.study = self.storage.load_study(self.study_name)
            if _config_hash(_extendable(self.study.config)) != _config_hash(_extendable(self.config)):
                raise CosearchError(f"study {self.study_name!r} was created with different settings; "
                                    "resume it with the same options or start a new study")

    @classmethod
    def from_study(cls, storage: Any, study: str, *, executor: Executor | None = None, **kw: Any) -> Codesign:
        """Join an existing study as a worker: rebuild its settings (workloads, hardware space, budgets,
        seed) from the store alone. ``storage`` is a :class:`~cosearch.study.storage.Storage` or a URL."""
        from ..arch.hwspace import HWSpace
        from ..study.storage import Storage

        store = storage if storage is not None and not isinstance(storage, str) else Storage(storage)
        cfg = store.load_study(study).config or {}
        try:
            nets = [load_workload(d) for d in cfg["workload_data"]] if "workload_data" in cfg else \
                [load_workload(n) for n in cfg["workloads"]]
            space = HWSpace.model_validate(cfg["hw_space"])
            return cls(nets, hw_space=space, area_budget_mm2=cfg["area_budget_mm2"], optimizer=cfg["optimizer"],
                       objective=cfg["objective"], hw_budget=cfg["hw_budget"], hw_batch=cfg["hw_batch"],
                       mapper=cfg["mapper"], mapper_budget=cfg["mapper_budget"], seed=cfg["seed"], storage=store,
                       study=study, join=True, executor=executor, **kw)
        except KeyError as err:
            raise CosearchError(f"study {study!r} in {store.url} is not a co-design study (no {err} in its "
                                "configuration)") from None

    # ---- setup -------------------------------------------------------------------------------------
    def _simple_baseline(self) -> dict[str, Any]:
        return {"mesh_x": 8, "mesh_y": 8, "glb_kb": 64, "glb_bandwidth": 16, "rf_words": 64}

    def _hw_payload(self, values: dict[str, Any]) -> dict[str, Any]:
        return {"template": self.space.template, "values": values, "estimator": self.space.estimator,
                "dram_bandwidth": self.space.dram_bandwidth}

    def _unique_layers(self) -> list[tuple[str, Layer]]:
        """(key, layer) for every distinct layer shape over all workloads (count 1: counts are per workload)."""
        seen: dict[tuple, tuple[str, Layer]] = {}
        for w in self.workloads:
            for layer in w.layers:
                k = layer.shape_key()
                if k not in seen:
                    seen[k] = (f"{w.name}/{layer.name}", layer.model_copy(update={"count": 1}))
        return list(seen.values())

    # ---- evaluation ----------------------------------------------------------------------------------
    def _units(self, trial: int, values: dict[str, Any], settings: dict[str, Any], mapper: str,
               trial_id: int | None = None) -> list[WorkUnit]:
        hw = self._hw_payload(values)
        return [
            WorkUnit(study=self.study_name, trial=trial, hw=hw,
                     layer={**layer.model_dump(), "name": key}, mapper=mapper, settings=settings,
                     seed=unit_seed(self.seed, values, layer), trial_id=trial_id)
            for key, layer in self.layers
        ]

    def _run_units(self, units: list[WorkUnit], on_result: Callable[[WorkUnit, WorkResult], None]) -> None:
        for unit, out in self.executor.map(map_unit, units):
            if isinstance(out, UnitFailed):
                out = WorkResult(layer=unit.layer_name, error=f"failed: {out.error}", optimizer=unit.mapper,
                                 seed=unit.seed)
            on_result(unit, out)

    def network_cost(self, results: dict[str, dict[str, Any]]) -> NetworkCost:
        """Combine per-layer results (key -> fields) into per-workload network costs."""
        energy, cycles, edp = {}, {}, {}
        bad = [k for k, r in results.items() if r.get("error") or r.get("energy_pj") is None]
        by_shape = {layer.shape_key(): results.get(key, {}) for key, layer in self.layers}
        for w in self.workloads:
            e = c = 0.0
            for layer in w.layers:
                r = by_shape.get(layer.shape_key(), {})
                if r.get("energy_pj") is None:
                    continue
                e += layer.count * r["energy_pj"]
                c += layer.count * r["cycles"]
            energy[w.name], cycles[w.name], edp[w.name] = e, c, e * c
        reason = f"no valid mapping for {', '.join(sorted(bad))}" if bad else ""
        return NetworkCost(energy, cycles, edp, results, valid=not bad, reason=reason)

    def evaluate_values(self, values: dict[str, Any], *, mapper: str | None = None,
                        dataflow: str | None = None) -> NetworkCost:
        """Cost a hardware point outside the study (used for the baselines)."""
        settings = {"budget": self.mapper_budget, **({"dataflow": dataflow} if dataflow else {})}
        results: dict[str, dict[str, Any]] = {}
        self._run_units(self._units(-1, values, settings, mapper or self.mapper),
                        lambda u, r: results.__setitem__(u.layer_name, r.record()))
        return self.network_cost(results)

    def _baselines(self) -> tuple[NetworkCost, NetworkCost]:
        """The two baselines (auto, row-stationary), their units run together (the simple template has no
        row-stationary variant: both are the auto baseline)."""
        values = self.baseline_values or self._simple_baseline()
        flows = [None, "row-stationary"] if self.space.template == "eyeriss" else [None]
        units = []
        for flow in flows:
            settings = {"budget": self.mapper_budget, **({"dataflow": flow} if flow else {})}
            units += self._units(-1, values, settings, self.mapper)
        results: dict[Any, dict[str, dict[str, Any]]] = {flow: {} for flow in flows}
        self._run_units(units, lambda u, r: results[u.settings.get("dataflow")].__setitem__(u.layer_name, r.record()))
        costs = [self.network_cost(results[flow]) for flow in flows]
        self.baseline_cost, self.baseline_rs_cost = costs[0], costs[-1]
        return costs[0], costs[-1]

    # ---- the loop ------------------------------------------------------------------------------------
    def open_output(self, out_dir: str | Path) -> RunDirectory:
        """Write the run's files (:mod:`.outputs`: ``results.json``, ``best-arch.yaml``, ``mappings/``) into
        ``out_dir`` as :meth:`run` goes; a resumed study's best design is written at once."""
        from .outputs import RunDirectory

        self.output = RunDirectory(self, Path(out_dir))
        self.output.load_existing()
        return self.output

    def run(self, out_dir: str | Path | None = None) -> CodesignResult:
        """Drive the study: finish what the store holds, then propose, evaluate and tell batches until
        ``hw_budget`` trials are told. Other processes may work on (and drive) the same study meanwhile.

        With ``out_dir`` (or after :meth:`open_output`) the run's files are kept current there; their
        ``results.json`` says ``interrupted`` or ``failed`` if the run stops with an exception."""
        if out_dir is not None:
            self.open_output(out_dir)
        output = self.output
        if output is None:
            return self._drive()
        caller_on_trial = self.on_trial

        def on_trial(info: dict[str, Any]) -> None:
            output.on_trial(info)
            if caller_on_trial is not None:
                caller_on_trial(info)

        self.on_trial = on_trial
        output.write("running")
        try:
            res = self._drive()
        except KeyboardInterrupt:
            output.write("interrupted")
            raise
        except BaseException:
            try:
                output.write("failed")
            except Exception:  # noqa: BLE001 - keep the original error
                pass
            raise
        finally:
            self.on_trial = caller_on_trial
        output.complete(res)
        return res

    def _drive(self) -> CodesignResult:
        """:meth:`run` without output files."""
        from ..study.storage import TrialStateError

        start = time.perf_counter()
        baseline, baseline_rs = self._baselines()
        self._requeue_lost()
        self._reported = {t.number for t in self.storage.trials(self.study_name, ("complete", "failed"))}
        told = 0
        while True:
            self._drain()
            trials = self.storage.trials(self.study_name)
            told += self._tell(trials[told:])
            if told < len(trials):  # another driver proposed meanwhile: work on its trials first
                continue
            if self.opt.n_told >= self.hw_budget:
                break
            pts = self.opt.ask(min(self.hw_batch, self.hw_budget - self.opt.n_told))
            batch = [(told + k, {"point": p.tolist(), "values": self.space.values(p)},
                      {"optimizer": self.optimizer_name, "batch": told}) for k, p in enumerate(pts)]
            try:
                self.storage.add_trials(self.study_name, batch)  # the whole batch or nothing
            except TrialStateError:
                pass  # another process driving this study stored its batch first: evaluate and tell that one
        return self._result(baseline, baseline_rs, time.perf_counter() - start)

    def work(self, *, idle_timeout_s: float = 300.0, hw_budget: int | None = None,
             stop: Callable[[], bool] | None = None) -> int:
        """Work on the study without proposing (another process drives it): claim pending trials and
        evaluate them until the study has ``hw_budget`` (default: its configured budget) finished trials
        and none in flight, or for ``idle_timeout_s`` seconds nothing was pending or running anywhere
        (the driver maps its baselines and proposes in such gaps), or ``stop()`` is true. Returns the
        number of trials this process finished."""
        budget = self.hw_budget if hw_budget is None else int(hw_budget)
        done = 0
        idle_since = time.monotonic()
        self._reported = {t.number for t in self.storage.trials(self.study_name, ("complete", "failed"))}
        while not (stop is not None and stop()):
            n = self._work_pending()
            done += n
            if n:
                idle_since = time.monotonic()
            counts = self.storage.count_trials(self.study_name)
            if counts["pending"]:
                continue
            if counts["running"] == 0 and counts["complete"] + counts["failed"] >= budget:
                break
            if counts["running"]:  # others are busy on the study: it is alive
                idle_since = time.monotonic()
            elif time.monotonic() - idle_since > idle_timeout_s:
                break
            if not self._requeue_lost():
                time.sleep(self.poll_s)
        return done

    # ---- claiming and evaluating trials ----------------------------------------------------------------
    def _requeue_lost(self) -> list[int]:
        """Requeue running trials whose holder is gone: dead processes of this host at once, others after
        ``stale_after_s`` seconds without a heartbeat (marked failed after :data:`LOST_ATTEMPTS` losses)."""
        dead = [w for w in self.storage.running_workers(self.study_name)
                if holder_is_dead(w, self.worker_id) or (w == self.worker_id and not self._held)]  # ours, orphaned
        return self.storage.requeue_stale(self.study_name, self.stale_after_s, max_attempts=LOST_ATTEMPTS,
                                          worker_ids=dead)

    def _drain(self) -> None:
        """Evaluate pending trials until the study has none pending or running (waiting for trials other
        processes hold, and requeueing those whose holder is lost), reporting every finished trial."""
        while True:
            self._work_pending()
            counts = self.storage.count_trials(self.study_name)
            if counts["pending"]:
                continue
            self._report_finished()
            if not counts["running"]:
                return
            if not self._requeue_lost():
                time.sleep(self.poll_s)

    def _tell(self, trials: list[Any]) -> int:
        """Tell finished trials to the optimizer in trial order, a proposal batch at a time (as they were
        proposed); stops at the first unfinished one. Returns how many were told."""
        told = 0
        while told < len(trials):
            first = trials[told]
            batch = (first.proposal or {}).get("batch") if isinstance(first.proposal, dict) else None
            group = [first]
            if batch is not None:
                for t in trials[told + 1:]:
                    if not isinstance(t.proposal, dict) or t.proposal.get("batch") != batch:
                        break
                    group.append(t)
            if any(t.state not in ("complete", "failed") for t in group):
                break
            points = np.array([t.hw_params["point"] for t in group], dtype=np.int64)
            if self.objective == "pareto":  # invalid trials store no objectives: infeasible in all
                infeasible = [math.inf] * len(PARETO_OBJECTIVES)
                values = np.array([(t.result or {}).get("objectives") or infeasible if t.value is not None
                                   else infeasible for t in group], dtype=np.float64)
            else:
                values = np.array([math.inf if t.value is None else t.value for t in group], dtype=np.float64)
            self.opt.tell(points, values)
            told += len(group)
        return told

    def _report_finished(self) -> None:
        """``on_trial`` for trials finished by other processes (or before), in trial order."""
        if self.on_trial is None:
            return
        for t in self.storage.trials(self.study_name, ("complete", "failed")):
            if t.number not in self._reported:
                self._reported.add(t.number)
                result = dict(t.result or {})
                if t.state == "failed":
                    result.update(valid=False, reason=f"failed: {t.error}")
                result.setdefault("area_mm2", None)
                self.on_trial({"number": t.number, "values": t.hw_params.get("values"), **result})

    @contextmanager
    def _heartbeats(self) -> Iterator[None]:
        """Heartbeat the trials this process holds every ``heartbeat_s`` seconds, from a thread (not for an
        in-memory store: one connection, one process, nobody to tell)."""
        if self.storage.in_memory or self.heartbeat_s <= 0:
            yield
            return
        stop = threading.Event()

        def beat() -> None:
            while not stop.wait(self.heartbeat_s):
                with self._held_lock:
                    ids = list(self._held)
                try:
                    self.storage.heartbeat(ids, self.worker_id)
                except Exception:  # noqa: BLE001 - a missed beat is not fatal; the next may pass
                    pass

        thread = threading.Thread(target=beat, name="cosearch-heartbeat", daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join(timeout=5)

    def _claim_units(self, settings: dict[str, Any]) -> Iterator[WorkUnit]:
        """Units of pending trials, claiming one trial whenever the executor wants more work."""
        while True:
            trial = self.storage.claim_trial(self.study_name, self.worker_id)
            if trial is None:
                return
            point = np.array(trial.hw_params["point"], dtype=np.int64)
            values = self.space.values(point)
            area = float(self.area(point[None, :])[0])
            held = _Held(trial.id, trial.number, point, values, area, {}, 0)
            if area > self.area_budget:  # only unconstrained optimizers (vanilla-bo) propose these
                self._finish(held)
                continue
            held.results = {r.layer: dict(r.__dict__) for r in self.storage.layer_results(trial.id)
                            if r.state == "complete"}  # a resumed trial keeps its committed layers
            todo = [u for u in self._units(trial.number, values, settings, self.mapper, trial.id)
                    if u.layer_name not in held.results]
            if not todo:
                self._finish(held)
                continue
            held.remaining = len(todo)
            with self._held_lock:
                self._held[trial.id] = held
            yield from todo

    def _work_pending(self) -> int:
        """Claim and evaluate pending trials until none is left; commit each layer result as it finishes
        and each trial once its last layer is in. Returns the number of trials finished here."""
        settings = {"budget": self.mapper_budget, "objective": "edp"}
        before = self.finished_here
        clean = False
        with self._heartbeats():
            try:
                for unit, out in self.executor.map(map_unit, self._claim_units(settings)):
                    held = self._held[unit.trial_id]
                    if isinstance(out, UnitFailed):
                        held.failures.append(f"layer {unit.layer_name} failed after {out.attempts} attempt(s): "
                                             f"{out.error}")
                        out = WorkResult(layer=unit.layer_name, error=f"failed: {out.error}", optimizer=unit.mapper,
                                         seed=unit.seed)
                    self.storage.record_layer_result(held.id, **out.record())
                    held.results[unit.layer_name] = out.record()
                    held.remaining -= 1
                    if held.remaining == 0:
                        with self._held_lock:
                            del self._held[held.id]
                        self._finish(held)
                clean = True
            finally:
                with self._held_lock:
                    orphans = bool(self._held)
                    self._held.clear()
                if orphans and not clean:  # interrupted: hand the trials we hold back (best effort)
                    try:
                        self.storage.requeue_stale(self.study_name, 1e9, worker_ids=[self.worker_id])
                    except Exception:  # noqa: BLE001 - keep the original error; a resume requeues them
                        pass
        return self.finished_here - before

    def _value_baseline(self) -> NetworkCost | None:
        """The auto baseline, which values need with several workloads (a worker maps it on first use)."""
        if len(self.workloads) > 1 and getattr(self, "baseline_cost", None) is None:
            self._baselines()
        return getattr(self, "baseline_cost", None)

    def _finish(self, held: _Held) -> None:
        """Complete (or, if a unit failed, fail) a held trial with its network result; a trial that was
        requeued and taken over meanwhile is left to its new holder."""
        from ..study.storage import TrialStateError

        if held.area > self.area_budget:
            result = {"value": None, "valid": False,
                      "reason": f"area {held.area:.3f} mm² over the budget {self.area_budget:.3f} mm²",
                      "energy_pj": None, "cycles": None, "edp": None, "area_mm2": held.area, "per_workload": {},
                      "seconds": 0.0}
        else:
            cost = self.network_cost(held.results)
            value = objective_value(cost, self.objective, self._value_baseline()) if not held.failures else math.inf
            result = {"value": value if math.isfinite(value) else None, "valid": cost.valid and not held.failures,
                      "reason": cost.reason, "energy_pj": cost.total_energy_pj, "cycles": cost.total_cycles,
                      "edp": cost.total_energy_pj * cost.total_cycles, "area_mm2": held.area,
                      "per_workload": {w: {"energy_pj": cost.energy_pj[w], "cycles": cost.cycles[w],
                                           "edp": cost.edp[w]} for w in cost.edp},
                      "seconds": time.perf_counter() - held.started}
            if self.objective == "pareto":
                result["objectives"] = objective_vector(cost, held.area, self._value_baseline()) \
                    if result["valid"] and result["value"] is not None else None
        try:
            if held.failures:
                error = "; ".join(held.failures)
                result["reason"] = f"evaluation failed: {error}"
                self.storage.fail_trial(held.id, error, result=result, worker_id=self.worker_id)
            else:
                self.storage.complete_trial(held.id, result, worker_id=self.worker_id)
        except TrialStateError:
            return  # requeued (we were silent too long) and claimed by another process: theirs to finish
        self.finished_here += 1
        self._reported.add(held.number)
        if self.on_trial is not None:
            self.on_trial({"number": held.number, "values": held.values, **result})

    def _summary(self, values: dict[str, Any], cost: NetworkCost, area: float) -> dict[str, Any]:
        return {"arch": values, "energy_pj": cost.total_energy_pj, "cycles": cost.total_cycles,
                "edp": cost.total_energy_pj * cost.total_cycles, "area_mm2": area,
                "per_workload": {w: cost.edp[w] for w in cost.edp},
                "layers": {k: {f: r.get(f) for f in ("energy_pj", "cycles", "edp", "evaluations", "mapping")}
                           for k, r in cost.layers.items()}}

    def _result(self, baseline: NetworkCost, baseline_rs: NetworkCost, seconds: float) -> CodesignResult:
        base_values = self.baseline_values or self._simple_baseline()
        base = self._summary(base_values, baseline, self.baseline_area)
        base_rs = self._summary(base_values, baseline_rs, self.baseline_area)
        trials = self.storage.trials(self.study_name, layers=True)
        best_t = self.storage.best_trial(self.study_name)
        best = None
        ratio = ratio_rs = None
        if best_t is not None:
            results = {lr.layer: lr.__dict__ for lr in best_t.layers}
            cost = self.network_cost(results)
            best = self._summary(best_t.hw_params["values"], cost, best_t.result["area_mm2"])
            best["trial"] = best_t.number
            ratio = edp_ratio(cost, baseline)
            ratio_rs = edp_ratio(cost, baseline_rs)
        history = [{"number": t.number, "value": (t.result or {}).get("value"),
                    "area_mm2": (t.result or {}).get("area_mm2")} for t in trials]
        bound, bound_ratio = self.edp_bound(baseline)
        front = self._pareto_front(trials) if self.objective == "pareto" else None
        return CodesignResult(self.study_name, best, base, base_rs, ratio, ratio_rs, len(trials), seconds, history,
                              edp_ratio_bound=bound_ratio, bound=bound, pareto_front=front)

    @staticmethod
    def _pareto_front(trials: list[Any]) -> list[dict[str, Any]]:
        """``{"trial", "arch", "energy_pj", "cycles", "edp", "area_mm2", "objectives"}`` per front trial."""
        return [{"trial": t.number, "arch": t.hw_params["values"], "energy_pj": t.result["energy_pj"],
                 "cycles": t.result["cycles"], "edp": t.result["edp"], "area_mm2": t.result["area_mm2"],
                 "objectives": t.result["objectives"]} for t in pareto_front_trials(trials)]

    def edp_bound(self, baseline: NetworkCost) -> tuple[dict[str, float] | None, float | None]:
        """Lower bounds for any design of the space within the area budget (:mod:`.bounds`): network
        totals (energy_pj, cycles, edp, summed over workloads) and the EDP ratio to ``baseline``
        (geometric mean over workloads, like ``edp_ratio``). ``(None, None)`` if the baseline is invalid."""
        from .bounds import network_edp_bound

        if not baseline.valid or any(baseline.edp[w.name] <= 0 for w in self.workloads):
            return None, None
        bounds = {w.name: network_edp_bound(w, self.space, self.area_budget, self.area) for w in self.workloads}
        ratio = geomean_ratio({w: b.edp for w, b in bounds.items()}, baseline.edp)
        energy = sum(b.energy_pj for b in bounds.values())
        cycles = sum(b.cycles for b in bounds.values())
        return {"energy_pj": energy, "cycles": cycles, "edp": energy * cycles}, ratio


def pareto_front_trials(trials: list[Any]) -> list[Any]:
    """The complete, valid trials of a ``pareto`` study that no other trial dominates in their stored
    objectives (:data:`PARETO_OBJECTIVES`), ordered by the first objective (energy), then number."""
    from .._gp.pareto import pareto_front_mask

    done = [t for t in trials if t.state == "complete" and t.value is not None and (t.result or {}).get("objectives")]
    if not done:
        return []
    mask = pareto_front_mask(np.array([t.result["objectives"] for t in done], dtype=np.float64))
    return sorted((t for t, on in zip(done, mask) if on), key=lambda t: (t.result["objectives"][0], t.number))


def _extendable(config: dict[str, Any]) -> dict[str, Any]:
    """The settings a resumed study must share with its first run (the HW budget may grow; the stored
    workload definitions, absent from studies of older versions, are compared by name)."""
    return {k: v for k, v in config.items() if k not in ("hw_budget", "workload_data")}


def _config_hash(config: dict[str, Any]) -> str:
    from ..study.storage import config_hash

    return config_hash(config)
