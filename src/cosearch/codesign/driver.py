"""Hardware/software co-design: an outer optimizer over hardware points, the mapper inside.

Each hardware point (a *trial*) is scored by mapping every unique layer of the workload(s) on it with
the inner mapper (one :class:`~cosearch.study.executor.WorkUnit` per (trial, layer), run by an
executor, each result committed to storage as it finishes). Network costs count repeats:
energy = Σ count·energy, cycles = Σ count·cycles, EDP = energy × cycles. With several workloads the
objective is the geometric mean of each workload's ratio to the ``auto`` baseline (the template's
reference design, e.g. eyeriss-168, mapped by the study's mapper: :mod:`.baselines`).

Trials are proposed in batches of ``hw_batch`` and told to the outer optimizer in trial order, so a
seed determines the study; ``resume`` replays committed trials, finishes pending ones and goes on,
giving the same trials as an uninterrupted run.

Trials are *claimed* from storage (``pending`` → ``running``, atomically) before they are evaluated, and
the units of every claimed trial go to the executor together, so a batch keeps all workers busy. Several
processes can therefore work on one study in a shared store (PostgreSQL): the driver (``run``) proposes
and tells, any number of workers (:meth:`Codesign.work`, ``cosearch study work``) claim pending trials,
and no trial is done twice or lost. Every process heartbeats the trials it holds; a trial whose holder
stopped (a dead process on this host at once, any other after ``stale_after_s`` seconds of silence) goes
back to ``pending`` for someone else, and after :data:`LOST_ATTEMPTS` losses it is marked ``failed``
(the protocol is :class:`~cosearch.study.worker.TrialWorker`; this module gives it units and results).
A unit that raises or kills its worker is retried by the executor, then its trial is recorded ``failed``
with the error (told to the optimizer as infeasible), and the study goes on.
"""

from __future__ import annotations

import math
import time
import zlib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import numpy as np

from .. import __version__
from ..arch.area import AreaModel
from ..arch.hwspace import HWSpace, payload_template
from ..errors import CosearchError
from ..limits import check_float, check_int
from ..model.totals import phase_totals, repeat_totals
from ..study.executor import Executor, LocalExecutor, UnitFailed, WorkResult, WorkUnit
from ..study.records import Trial
from ..study.worker import HEARTBEAT_S, LOST_ATTEMPTS, POLL_S, STALE_AFTER_S, HeldTrial, TrialWorker, new_worker_id
from ..workload.io import load_workload, network_to_data
from ..workload.layer import Layer, Network
from .baselines import baseline_of
from .hw_optimizers import make_hw_optimizer
from .objectives import (
    PARETO_OBJECTIVES,
    NetworkCost,
    edp_ratio,
    geomean_ratio,
    objective_value,
    objective_vector,
    parse_objective,
)
from .records import DesignSummary, LayerSummary
from .settings import WARM_START_POINTS, check_budgets

if TYPE_CHECKING:
    from .outputs import RunDirectory

DEFAULT_MAPPER_BUDGET = 5_000
"""Inner evaluations per (hardware point, layer): enough for ``auto`` to settle on small layers; the
whole of ResNet-50 at 100 hardware points stays within minutes."""


# ---- the work unit ---------------------------------------------------------------------------------
def unit_arch(hw: dict[str, Any]):
    """The :class:`Arch` of a unit's ``hw`` payload (template, values, estimator, DRAM bandwidth, the
    DRAM type, clock and precision if the space sets them, and a user template's definition)."""
    template = payload_template(hw)
    return template.build(hw["values"], dram_bandwidth=hw["dram_bandwidth"], estimator=hw["estimator"],
                          name=hw.get("name") or template.point_name(hw["values"]), dram=hw.get("dram"),
                          clock_mhz=hw.get("clock_mhz"), precision=hw.get("precision"))


def map_unit(unit: WorkUnit) -> WorkResult:
    """Map one layer on one hardware point (runs in a worker; plain data in and out)."""
    from ..mappers.layer import accepts_seeds, map_layer, map_space
    from ..mapping.space import MapSpace

    arch = unit_arch(unit.hw)
    layer = Layer(**unit.layer)
    settings = dict(unit.settings)
    dataflow = settings.pop("dataflow", None)
    warm = settings.pop("warm_start", None)
    space_options = {k: settings.pop(k) for k in ("factorization", "max_padding") if k in settings}
    t = time.perf_counter()
    try:
        space = None
        if dataflow:
            from ..mapping.constraints import load_constraints

            space = MapSpace(arch, layer, constraints=load_constraints(dataflow, arch), **space_options)
        if warm and accepts_seeds(unit.mapper):
            from ..mappers.warm_start import seeds_from_data

            if space is None:
                space = map_space(arch, layer, **space_options)
            seeds = seeds_from_data(space, warm)
            if seeds is not None:
                settings["seeds"] = seeds
        res = map_layer(arch, layer, optimizer=unit.mapper, seed=unit.seed, space=space, **space_options, **settings)
    except CosearchError as err:  # no valid mapping: a result (the point is infeasible), not a failure
        return WorkResult(layer=layer.name, count=layer.count, optimizer=unit.mapper, seed=unit.seed,
                          seconds=time.perf_counter() - t, error=str(err))
    return WorkResult(
        layer=layer.name, shape_key=layer.shape_key_text(), count=layer.count,
        energy_pj=res.energy_pj, cycles=res.cycles, edp=res.edp, evaluations=res.evaluations, seconds=res.seconds,
        optimizer=unit.mapper, seed=unit.seed, mapping=res.mapping().model_dump(mode="json"),
        extra={"utilization": float(res.costs.utilization[0])},
    )


def unit_seed(seed: int, hw_values: dict[str, Any], layer: Layer) -> int:
    """A seed per (study seed, hardware point, layer shape), so equal work gets equal seeds."""
    text = f"{seed}|{sorted(hw_values.items())}|{layer.shape_key()}"
    return zlib.crc32(text.encode()) & 0x7FFFFFFF


BASELINES_ATTR = "baselines"
"""Study attribute (:meth:`~cosearch.study.StudyStore.set_study_attr`) that holds the study's baselines as
its driver mapped them: ``{"baseline": summary, "baseline_rs": summary}``, each summary as in
``results.json`` (``arch``, ``energy_pj``, ``cycles``, ``edp``, ``area_mm2``, ``per_workload``, ``layers``).
Studies of cosearch 0.1.0 and older have none."""


# ---- the study -------------------------------------------------------------------------------------
@dataclass
class CodesignResult:
    """A finished co-design run: the best design (``None`` if no trial was valid), both baselines, the
    EDP ratios of the best to them (geometric means over workloads), the trial count and history."""

    study: str
    best: DesignSummary | None
    baseline: DesignSummary
    baseline_rs: DesignSummary
    edp_ratio: float | None
    edp_ratio_rs: float | None
    trials: int
    seconds: float
    history: list[dict[str, Any]] = field(default_factory=list)
    edp_ratio_bound: float | None = None  # no design within the area budget goes below this (bounds.py)
    bound: dict[str, float] | None = None  # that bound's energy_pj, cycles, edp (all workloads summed)
    pareto_front: list[dict[str, Any]] | None = None  # objective pareto: the non-dominated trials


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
        factorization: str = "perfect",
        max_padding: float | None = None,
        warm_start: int = WARM_START_POINTS,
        power_budget_w: float | None = None,
        latency_target_s: float | None = None,
    ) -> None:
        """``join``: work on an existing study (it must exist; its settings are taken as given, nothing is
        requeued at start); :meth:`from_study` builds one from the stored configuration. ``worker_id``
        names this process as the holder of the trials it claims (default
        :func:`~cosearch.study.worker.new_worker_id`). ``factorization`` and ``max_padding`` shape the
        inner mapper's map spaces (baselines included; :class:`~cosearch.mapping.space.MapSpace`); an
        imperfect study stores both in its configuration and its EDP lower bound lets non-dividing
        spatial factors keep more PEs busy. ``warm_start``: how many of the nearest hardware points of
        earlier proposal batches seed each layer's search with their best mapping of it
        (:data:`WARM_START_POINTS`; 0 = cold searches; :meth:`_warm_mappings`).
        ``power_budget_w`` (W) and ``latency_target_s`` (s): a trial
        whose average power or latency on some workload exceeds them is invalid (told to the optimizer
        as infeasible, so it learns where they hold); both are stored in the configuration when set."""
        if not workloads:
            raise CosearchError("no workload given")
        check_budgets(hw_budget=hw_budget, hw_batch=hw_batch, mapper_budget=mapper_budget, seed=seed)
        self.workloads = workloads
        self.space = hw_space
        self.objective = parse_objective(objective)
        self.optimizer_name = optimizer
        self.hw_budget, self.hw_batch = int(hw_budget), int(hw_batch)
        self.mapper, self.mapper_budget, self.seed = mapper, int(mapper_budget), int(seed)
        self.warm_start = check_int(warm_start, "warm start points", low=0)
        self._warm_pool: tuple[int, list[Trial]] | None = None  # (batch, its warm-start trials): _warm_mappings
        from ..mappers.network import space_options

        opts = space_options(factorization, max_padding)
        # what every work unit's settings carry (nothing under perfect: its units are as they were)
        self.space_settings: dict[str, Any] = opts if opts["factorization"] != "perfect" else {}
        self.power_budget_w = (check_float(power_budget_w, "power budget (W)", low_open=True)
                               if power_budget_w is not None else None)
        self.latency_target_s = (check_float(latency_target_s, "latency target (s)", low_open=True)
                                 if latency_target_s is not None else None)
        self._physics: dict[tuple, tuple[float, float]] = {}  # point -> (clock MHz, leakage mW)
        self.area = AreaModel(hw_space)
        base = baseline_of(hw_space.template_spec)  # searched physical settings at the reference's
        self.baseline = replace(base, values=hw_space.full_values(base.values))
        base_area = self._hw_payload(self.baseline.values)
        self.baseline_area = float(unit_arch(base_area).area_mm2)
        self.area_budget = (check_float(area_budget_mm2, "area budget (mm²)", low_open=True)
                            if area_budget_mm2 is not None else self.baseline_area)
        self.opt = make_hw_optimizer(optimizer, hw_space, area_budget_mm2=self.area_budget, seed=seed, area=self.area,
                                     workloads=workloads,
                                     objectives=len(PARETO_OBJECTIVES) if self.objective == "pareto" else 1)
        self.layers = self._unique_layers()
        self._check_mappable(opts)
        self.executor = executor or LocalExecutor(1)
        self.on_trial = on_trial
        self.output: RunDirectory | None = None  # the run's output files (open_output, run(out_dir))
        # the two baselines once mapped (_baselines): network costs and their summaries
        self.baseline_cost: NetworkCost | None = None
        self.baseline_rs_cost: NetworkCost | None = None
        self.baseline_summaries: tuple[DesignSummary, DesignSummary] | None = None
        self.worker_id = worker_id or new_worker_id()
        self.stale_after_s, self.heartbeat_s, self.poll_s = float(stale_after_s), float(heartbeat_s), float(poll_s)
        self._reported: set[int] = set()  # trial numbers passed to on_trial
        self.finished_here = 0  # trials this object completed or failed
        from ..study import Storage

        self.storage = storage if storage is not None and not isinstance(storage, str) else Storage(storage)
        self.config = self._study_config()
        self.study_name = study or f"codesign-{'+'.join(w.name for w in workloads)}-{optimizer}-s{seed}"
        self._open_study(resume=resume, join=join)

    def _study_config(self) -> dict[str, Any]:
        """The settings stored with the study: workloads (names and data, so workers can rebuild the
        study), hardware space, area budget, optimizer, objective, budgets, mapper and seed."""
        return {
            "workloads": [w.name for w in self.workloads], "hw_space": self.space.config(),
            "area_budget_mm2": self.area_budget, "optimizer": self.optimizer_name, "objective": self.objective,
            "hw_budget": self.hw_budget, "hw_batch": self.hw_batch, "mapper": self.mapper,
            "mapper_budget": self.mapper_budget, "seed": self.seed,
            "workload_data": [network_to_data(w) for w in self.workloads],  # lets workers rebuild the study
            **self.space_settings,
            **({"warm_start": self.warm_start} if self.warm_start else {}),
            **({"power_budget_w": self.power_budget_w} if self.power_budget_w is not None else {}),
            **({"latency_target_s": self.latency_target_s} if self.latency_target_s is not None else {}),
        }

    def _open_study(self, *, resume: bool, join: bool) -> None:
        """Set ``self.study``: load it (``join``, or ``resume`` of an existing one, whose settings must
        match), else create it (an existing study without ``resume`` is an error; one created by
        another process in the meantime is resumed)."""
        from ..study import StudyExistsError

        if join:
            self.study = self.storage.load_study(self.study_name)
            return
        created = False
        if not (resume and self.storage.has_study(self.study_name)):
            try:
                self.study = self.storage.create_study(
                    self.study_name, self.config, objective=self.objective, estimator=self.space.estimator,
                    estimator_hash=_config_hash(self.space.config()), version=__version__)
                created = True
            except StudyExistsError:
                if not resume:
                    raise CosearchError(f"study {self.study_name!r} already exists; use --resume to continue it "
                                        "or --study NAME for a new one") from None
                # another process started it just now: resume (join) it
        if not created:
            self.study = self.storage.load_study(self.study_name)
            if "warm_start" not in (self.study.config or {}):  # cold searches (and older versions' studies)
                self.warm_start = 0
                self.config.pop("warm_start", None)
            if _config_hash(_extendable(self.study.config)) != _config_hash(_extendable(self.config)):
                raise CosearchError(f"study {self.study_name!r} was created with different settings; "
                                    "resume it with the same options or start a new study")

    @classmethod
    def from_study(cls, storage: Any, study: str, *, executor: Executor | None = None, **kw: Any) -> Codesign:
        """Join an existing study as a worker: rebuild its settings (workloads, hardware space, budgets,
        seed) from the store alone. ``storage`` is a :class:`~cosearch.study.sql.Storage` or a URL."""
        from ..arch.hwspace import HWSpace
        from ..study import Storage

        store = storage if storage is not None and not isinstance(storage, str) else Storage(storage)
        cfg = store.load_study(study).config or {}
        try:
            nets = [load_workload(d) for d in cfg["workload_data"]] if "workload_data" in cfg else \
                [load_workload(n) for n in cfg["workloads"]]
            space = HWSpace.model_validate(cfg["hw_space"])
            return cls(nets, hw_space=space, area_budget_mm2=cfg["area_budget_mm2"], optimizer=cfg["optimizer"],
                       objective=cfg["objective"], hw_budget=cfg["hw_budget"], hw_batch=cfg["hw_batch"],
                       mapper=cfg["mapper"], mapper_budget=cfg["mapper_budget"], seed=cfg["seed"], storage=store,
                       factorization=cfg.get("factorization", "perfect"), max_padding=cfg.get("max_padding"),
                       warm_start=cfg.get("warm_start", 0),
                       power_budget_w=cfg.get("power_budget_w"), latency_target_s=cfg.get("latency_target_s"),
                       study=study, join=True, executor=executor, **kw)
        except KeyError as err:
            raise CosearchError(f"study {study!r} in {store.url} is not a co-design study (no {err} in its "
                                "configuration)") from None

    # ---- setup -------------------------------------------------------------------------------------
    def _hw_payload(self, values: dict[str, Any]) -> dict[str, Any]:
        return self.space.hw_payload(values)

    def point_physics(self, values: dict[str, Any]) -> tuple[float, float]:
        """``(clock MHz, SRAM leakage mW)`` of the design with parameter ``values`` (remembered)."""
        from ..arch.estimator import leakage_mw
        from ..arch.physical import clock_of

        key = tuple(sorted(values.items()))
        if key not in self._physics:
            arch = unit_arch(self._hw_payload(values))
            self._physics[key] = (clock_of(arch), leakage_mw(arch))
        return self._physics[key]

    def _check_mappable(self, space_options: dict[str, Any]) -> None:
        """One-line :class:`CosearchError` if the space's largest design or the reference design cannot
        hold any mapping of some layer (a level is too small for what it must keep: then no design of the
        space can, sizes being at their largest), or the template's named dataflow does not apply to its
        reference design."""
        from ..mapping.constraints import load_constraints
        from ..mapping.space import MapSpace

        tmpl = self.space.template_spec
        designs = [("its largest design", self.space.largest_values()),
                   (f"its reference design {self.baseline.label}", self.baseline.values)]
        for what, values in designs:  # (a searched clock is no part of what a level can hold)
            arch = self.space.arch(dict(values), clocked=not self.space.clock_searched)
            for key, layer in self.layers:
                try:
                    MapSpace(arch, layer, **space_options)
                except CosearchError as err:
                    raise CosearchError(f"hardware space {self.space.name} (template {tmpl.name}): {what} cannot "
                                        f"hold any mapping of {key}: {err}") from None
        if self.baseline.dataflow is not None:
            try:
                load_constraints(self.baseline.dataflow, self.space.arch(dict(self.baseline.values)))
            except CosearchError as err:
                raise CosearchError(f"hardware space {self.space.name} (template {tmpl.name}): dataflow "
                                    f"{self.baseline.dataflow!r} of its reference design: {err}") from None

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
               trial_id: int | None = None, warm: dict[str, list[Any]] | None = None) -> list[WorkUnit]:
        """One unit per unique layer; ``warm``: warm-start mappings by layer shape key text."""
        hw = self._hw_payload(values)
        warm = warm or {}
        return [
            WorkUnit(study=self.study_name, trial=trial, hw=hw,
                     layer={**layer.model_dump(), "name": key}, mapper=mapper,
                     settings={**settings, **self.space_settings,
                               **({"warm_start": warm[k]} if (k := layer.shape_key_text()) in warm else {})},
                     seed=unit_seed(self.seed, values, layer), trial_id=trial_id)
            for key, layer in self.layers
        ]

    def _warm_mappings(self, trial: Trial) -> dict[str, list[Any]]:
        """Warm starts of a trial's units: for each layer (by shape key text), the best mappings found on
        the :attr:`warm_start` hardware points nearest to the trial's (Euclidean distance of the grid
        indices, each parameter scaled to [0, 1]; ties to the lower trial number) among the finished
        trials of *earlier* proposal batches. Those batches are all finished and told before a batch is
        proposed, whichever worker or executor ran them, so the seeds, like the results, depend only
        on the study's seed and settings."""
        batch = trial.proposal.get("batch") if isinstance(trial.proposal, dict) else None
        if not self.warm_start or batch is None:
            return {}
        if self._warm_pool is None or self._warm_pool[0] != batch:  # the same for every trial of a batch
            self._warm_pool = (batch, [t for t in self.storage.trials(self.study_name, "complete")
                                       if isinstance(t.proposal, dict) and isinstance(t.proposal.get("batch"), int)
                                       and t.proposal["batch"] < batch and t.result and t.result.get("valid")])
        done = self._warm_pool[1]
        if not done:
            return {}
        scale = np.maximum(np.asarray(self.space.sizes, dtype=np.float64) - 1, 1)
        here = np.asarray(trial.hw_params["point"], dtype=np.float64) / scale
        dist = (((np.array([t.hw_params["point"] for t in done], dtype=np.float64) / scale - here) ** 2).sum(axis=1))
        nearest = np.lexsort((np.array([t.number for t in done]), dist))[: self.warm_start]
        warm: dict[str, list[Any]] = {}
        for i in nearest:
            for rec in self.storage.layer_results(done[i].id):
                if rec.state == "complete" and rec.mapping and rec.shape_key:
                    warm.setdefault(rec.shape_key, []).append(rec.mapping)
        return warm

    def _run_units(self, units: list[WorkUnit], on_result: Callable[[WorkUnit, WorkResult], None]) -> None:
        for unit, out in self.executor.map(map_unit, units):
            if isinstance(out, UnitFailed):
                out = WorkResult(layer=unit.layer_name, error=f"failed: {out.error}", optimizer=unit.mapper,
                                 seed=unit.seed)
            on_result(unit, out)

    def network_cost(self, results: dict[str, dict[str, Any]], values: dict[str, Any] | None = None) -> NetworkCost:
        """Combine per-layer results (key -> fields) into per-workload network costs; with the point's
        parameter ``values`` its clock and leakage too (:meth:`point_physics`; else the defaults)."""
        energy, cycles, edp = {}, {}, {}
        bad = [k for k, r in results.items() if r.get("error") or r.get("energy_pj") is None]
        by_shape = {layer.shape_key(): results.get(key, {}) for key, layer in self.layers}
        for w in self.workloads:
            found = [(layer.count, by_shape.get(layer.shape_key(), {})) for layer in w.layers]
            e, c = repeat_totals((n, r["energy_pj"], r["cycles"]) for n, r in found if r.get("energy_pj") is not None)
            energy[w.name], cycles[w.name], edp[w.name] = e, c, e * c
        reason = f"no valid mapping for {', '.join(sorted(bad))}" if bad else ""
        cost = NetworkCost(energy, cycles, edp, results, valid=not bad, reason=reason,
                           physical=bool(self.space.searched))
        if values is not None:
            cost.clock_mhz, cost.leakage_mw = self.point_physics(values)
        return cost

    def constraint_violation(self, cost: NetworkCost) -> str:
        """Why a valid cost breaks ``--power-budget`` or ``--latency-target`` on some workload ("" if not)."""
        for w in cost.edp:
            u = cost.units(w)
            if self.power_budget_w is not None and u["power_mw"] > self.power_budget_w * 1e3:
                return f"power {u['power_mw']:.4g} mW on {w} over the budget {self.power_budget_w * 1e3:.4g} mW"
            if self.latency_target_s is not None and u["latency_s"] > self.latency_target_s:
                return f"latency {u['latency_s']:.4g} s on {w} over the target {self.latency_target_s:.4g} s"
        return ""

    def _baselines(self) -> tuple[NetworkCost, NetworkCost]:
        """The two baselines (:mod:`.baselines`: the study's mapper, the template's named dataflow), their
        units run together (for a template without a named dataflow both are the first). Their summaries
        are stored with the study (:data:`BASELINES_ATTR`), so a report of the study never maps them again."""
        values = self.baseline.values
        flows = self.baseline.dataflows
        units = []
        for flow in flows:
            settings = {"budget": self.mapper_budget, **({"dataflow": flow} if flow else {})}
            units += self._units(-1, values, settings, self.mapper)
        results: dict[Any, dict[str, dict[str, Any]]] = {flow: {} for flow in flows}
        self._run_units(units, lambda u, r: results[u.settings.get("dataflow")].__setitem__(u.layer_name, r.record()))
        costs = [self.network_cost(results[flow], values) for flow in flows]
        self.baseline_cost, self.baseline_rs_cost = costs[0], costs[-1]
        self.baseline_summaries = (self._summary(values, costs[0], self.baseline_area),
                                   self._summary(values, costs[-1], self.baseline_area))
        base, base_rs = self.baseline_summaries
        self.storage.set_study_attr(self.study_name, BASELINES_ATTR, {"baseline": base, "baseline_rs": base_rs})
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
        except BaseException as err:  # Ctrl-C (or SIGTERM, which the CLI raises as one), or an error
            try:
                output.write("interrupted" if isinstance(err, KeyboardInterrupt) else "failed")
            except Exception:  # noqa: BLE001 - keep the original error (a full disk may refuse this write)
                pass
            raise
        finally:
            self.on_trial = caller_on_trial
        output.complete(res)
        return res

    def _drive(self) -> CodesignResult:
        """:meth:`run` without output files."""
        from ..study import TrialStateError

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
        self._reported = {t.number for t in self.storage.trials(self.study_name, ("complete", "failed"))}
        return self._trial_worker().work(idle_timeout_s=idle_timeout_s, budget=budget, stop=stop)

    # ---- claiming and evaluating trials ----------------------------------------------------------------
    def _trial_worker(self) -> TrialWorker:
        """The claim/heartbeat/requeue protocol on this study with this object's executor and callbacks
        (made for each use: the CLI sets ``executor`` and ``on_trial`` after construction)."""
        return TrialWorker(self.storage, self.study_name, self.executor, map_unit, make_units=self._trial_units,
                           finish_trial=self._trial_result, on_finished=self._trial_finished,
                           report_finished=self._report_finished, holder=self.worker_id,
                           stale_after_s=self.stale_after_s, heartbeat_s=self.heartbeat_s, poll_s=self.poll_s,
                           lost_attempts=LOST_ATTEMPTS)

    def _requeue_lost(self) -> list[int]:
        """Requeue running trials whose holder is gone (:meth:`TrialWorker.requeue_lost`)."""
        return self._trial_worker().requeue_lost()

    def _drain(self) -> None:
        """Evaluate pending trials until the study has none pending or running, reporting every finished
        trial (:meth:`TrialWorker.drain`)."""
        self._trial_worker().drain()

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

    def _trial_point(self, trial: Trial) -> tuple[dict[str, Any], float]:
        """The hardware values and area (mm²) of a stored trial's point."""
        point = np.array(trial.hw_params["point"], dtype=np.int64)
        return self.space.values(point), float(self.area(point[None, :])[0])

    def _trial_units(self, trial: Trial) -> list[WorkUnit]:
        """One unit per unique layer on the trial's point; none for a point over the area budget (only
        unconstrained optimizers, vanilla-bo, propose these): it is finished at once as invalid."""
        values, area = self._trial_point(trial)
        if area > self.area_budget:
            return []
        return self._units(trial.number, values, {"budget": self.mapper_budget, "objective": "edp"}, self.mapper,
                           trial.id, warm=self._warm_mappings(trial))

    def _value_baseline(self) -> NetworkCost | None:
        """The auto baseline, which values need with several workloads (a worker maps it on first use)."""
        if len(self.workloads) > 1 and self.baseline_cost is None:
            self._baselines()
        return self.baseline_cost

    def _trial_result(self, held: HeldTrial) -> dict[str, Any]:
        """The network result of a held trial from its layer results (invalid if a unit failed or the
        point is over the area budget)."""
        _, area = self._trial_point(held.trial)
        if area > self.area_budget:
            result = {"value": None, "valid": False,
                      "reason": f"area {area:.3f} mm² over the budget {self.area_budget:.3f} mm²",
                      "energy_pj": None, "cycles": None, "edp": None, "area_mm2": area, "per_workload": {},
                      "seconds": 0.0}
        else:
            values, _ = self._trial_point(held.trial)
            cost = self.network_cost(held.results, values)
            value = objective_value(cost, self.objective, self._value_baseline()) if not held.failures else math.inf
            broken = self.constraint_violation(cost) if cost.valid and not held.failures else ""
            if broken:
                value = math.inf
            result = {"value": value if math.isfinite(value) else None,
                      "valid": cost.valid and not held.failures and not broken,
                      "reason": broken or cost.reason, "energy_pj": cost.total_energy_pj, "cycles": cost.total_cycles,
                      "edp": cost.total_energy_pj * cost.total_cycles, "area_mm2": area,
                      "per_workload": {w: {"energy_pj": cost.energy_pj[w], "cycles": cost.cycles[w],
                                           "edp": cost.edp[w]} for w in cost.edp},
                      "seconds": time.perf_counter() - held.started}
            if cost.valid:
                units = cost.units()
                result.update(latency_s=units["latency_s"], power_mw=units["power_mw"])
                if cost.physical:
                    result["total_energy_uj"] = units["total_energy_uj"]
            if self.objective == "pareto":
                result["objectives"] = objective_vector(cost, area, self._value_baseline()) \
                    if result["valid"] and result["value"] is not None else None
        return result

    def _trial_finished(self, held: HeldTrial, result: dict[str, Any]) -> None:
        """Count and report a trial this object finished (:attr:`on_trial`)."""
        self.finished_here += 1
        self._reported.add(held.trial.number)
        if self.on_trial is not None:
            values, _ = self._trial_point(held.trial)
            self.on_trial({"number": held.trial.number, "values": values, **result})

    def _summary(self, values: dict[str, Any], cost: NetworkCost, area: float) -> DesignSummary:
        from ..arch.physical import design_units, edp_js

        physical = design_units(unit_arch(self._hw_payload(values)), cost.energy_pj, cost.cycles) if cost.valid else None
        if physical is not None and cost.physical:  # what a physical-units objective ranks by
            physical["edp_js"] = edp_js(physical)
        return DesignSummary(arch=values, energy_pj=cost.total_energy_pj, cycles=cost.total_cycles,
                             edp=cost.total_energy_pj * cost.total_cycles, area_mm2=area,
                             per_workload={w: cost.edp[w] for w in cost.edp},
                             layers={k: LayerSummary.from_record(r) for k, r in cost.layers.items()},
                             per_phase=self._phase_totals(values, cost), physical=physical)

    def _phase_totals(self, values: dict[str, Any], cost: NetworkCost) -> dict[str, dict[str, Any]] | None:
        """Per-phase totals of the workloads with phases on the point ``values`` (None without phases or
        when a layer has no mapping); each layer's DRAM energy comes from evaluating its mapping again."""
        phased = [w for w in self.workloads if w.phases]
        if not phased or not cost.valid:
            return None
        from ..mapping.mapping import Mappings, mapping_from_data
        from ..model.evaluate import evaluate

        arch = unit_arch(self._hw_payload(values))
        by_shape: dict[tuple[int, ...], tuple[float, float, float]] = {}
        for key, layer in self.layers:
            r = cost.layers[key]
            batch = Mappings.from_list([mapping_from_data(r["mapping"], f"layer {key}")], arch)
            dram = float(evaluate(arch, layer, batch, breakdown=True).level_energy_pj[0, 0].sum())
            by_shape[layer.shape_key()] = (r["energy_pj"], r["cycles"], dram)
        out: dict[str, dict[str, Any]] = {}
        for w in phased:
            rows = {layer.name: (layer.count, *by_shape[layer.shape_key()], layer.macs) for layer in w.layers}
            for name, totals in phase_totals(w.phases or [], rows, arch.num_multipliers).items():
                out[f"{w.name}/{name}" if len(self.workloads) > 1 else name] = totals
        return out

    def _result(self, baseline: NetworkCost, baseline_rs: NetworkCost, seconds: float) -> CodesignResult:
        assert self.baseline_summaries is not None  # set by _baselines, which gave baseline and baseline_rs
        base, base_rs = self.baseline_summaries
        trials = self.storage.trials(self.study_name, layers=True)
        best_t = self.storage.best_trial(self.study_name)
        best = None
        ratio = ratio_rs = None
        if best_t is not None:
            results = {lr.layer: lr.__dict__ for lr in best_t.layers}
            cost = self.network_cost(results, best_t.hw_params["values"])
            best = self._summary(best_t.hw_params["values"], cost, best_t.result["area_mm2"]).with_trial(best_t.number)
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

        if self.space.searched:  # the bound is of pJ and cycles at fixed physical settings
            return None, None
        if not baseline.valid or any(baseline.edp[w.name] <= 0 for w in self.workloads):
            return None, None
        fz = self.space_settings.get("factorization", "perfect")
        bounds = {w.name: network_edp_bound(w, self.space, self.area_budget, self.area, factorization=fz)
                  for w in self.workloads}
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
    from ..study import config_hash

    return config_hash(config)
