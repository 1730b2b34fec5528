"""Hardware/software co-design: an outer optimizer over hardware points, the mapper inside.

Each hardware point (a *trial*) is scored by mapping every unique layer of the workload(s) on it with
the inner mapper (one :class:`~cosearch.study.executor.WorkUnit` per (trial, layer), run by an
executor, each result committed to storage as it finishes). Network costs count repeats:
energy = Σ count·energy, cycles = Σ count·cycles, EDP = energy × cycles. With several workloads the
objective is the geometric mean of each workload's ratio to the eyeriss-168 + ``auto`` baseline.

Trials are proposed in batches of ``hw_batch`` and told to the outer optimizer in trial order, so a
seed determines the study; ``resume`` replays committed trials, finishes pending ones and goes on,
giving the same trials as an uninterrupted run.
"""

from __future__ import annotations

import math
import time
import zlib
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from .. import __version__
from ..arch.hwspace import HWSpace, build_arch, point_name
from ..errors import CosearchError
from ..study.executor import Executor, LocalExecutor, UnitFailed, WorkResult, WorkUnit
from ..workload.layer import Layer, Network
from .hw_search import AreaModel, make_hw_optimizer

OBJECTIVES = ("edp", "energy", "cycles")  # plus "ednp:N"

EYERISS_168 = {"mesh_x": 14, "mesh_y": 12, "glb_kb": 108, "glb_bandwidth": 16, "weights_spad_words": 224,
               "ifmap_spad_words": 12, "psum_spad_words": 24}
"""Eyeriss v1 in the eyeriss template's parameters (GLB read/write bandwidth 16 words/cycle)."""

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
    from .mapper import map_layer

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
        layer=layer.name, shape_key="x".join(map(str, layer.shape_key())), count=layer.count,
        energy_pj=res.energy_pj, cycles=res.cycles, edp=res.edp, evaluations=res.evaluations, seconds=res.seconds,
        optimizer=unit.mapper, seed=unit.seed, mapping=res.mapping().model_dump(mode="json"),
        extra={"utilization": float(res.costs.utilization[0])},
    )


def unit_seed(seed: int, hw_values: dict[str, Any], layer: Layer) -> int:
    """A seed per (study seed, hardware point, layer shape), so equal work gets equal seeds."""
    text = f"{seed}|{sorted(hw_values.items())}|{layer.shape_key()}"
    return zlib.crc32(text.encode()) & 0x7FFFFFFF


# ---- network costs ---------------------------------------------------------------------------------
@dataclass
class NetworkCost:
    """Costs of one hardware point on the workloads (per workload and combined)."""

    energy_pj: dict[str, float]
    cycles: dict[str, float]
    edp: dict[str, float]
    layers: dict[str, dict[str, Any]]  # layer key -> result fields
    valid: bool
    reason: str = ""

    @property
    def total_energy_pj(self) -> float:
        return sum(self.energy_pj.values())

    @property
    def total_cycles(self) -> float:
        return sum(self.cycles.values())


def objective_value(cost: NetworkCost, objective: str, baseline: NetworkCost | None) -> float:
    """Value to minimise: for one workload its metric, for several the geometric mean of ratios to
    the baseline. ``ednp:N`` is energy × cycles^N."""
    if not cost.valid:
        return math.inf

    def metric(c: NetworkCost, w: str) -> float:
        if objective == "edp":
            return c.edp[w]
        if objective == "energy":
            return c.energy_pj[w]
        if objective == "cycles":
            return c.cycles[w]
        n = float(objective.split(":", 1)[1])
        return c.energy_pj[w] * c.cycles[w] ** n

    names = list(cost.edp)
    if len(names) == 1:
        return metric(cost, names[0])
    assert baseline is not None
    return math.exp(sum(math.log(metric(cost, w) / metric(baseline, w)) for w in names) / len(names))


def check_budgets(*, hw_budget: int, hw_batch: int, mapper_budget: int, cli: bool = False) -> None:
    """Raise :class:`CosearchError` for a bad budget; ``cli`` words messages by flag (``--hw-budget``)."""
    def name(flag: str) -> str:
        return f"--{flag}" if cli else flag.replace("-", " ")

    if hw_budget < 1:
        raise CosearchError(f"{name('hw-budget')} must be at least 1 hardware point, got {hw_budget}")
    if hw_batch < 1:
        raise CosearchError(f"{name('hw-batch')} must be at least 1, got {hw_batch}")
    if mapper_budget < 1:
        raise CosearchError(f"{name('mapper-budget')} must be a positive number of evaluations, got {mapper_budget}")


def parse_objective(objective: str) -> str:
    if objective in OBJECTIVES:
        return objective
    if objective.startswith("ednp:"):
        try:
            if float(objective.split(":", 1)[1]) > 0:
                return objective
        except ValueError:
            pass
    raise CosearchError(f"unknown objective {objective!r} (choose from edp, energy, cycles, ednp:N with N > 0)")


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
    ) -> None:
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
        self.opt = make_hw_optimizer(optimizer, hw_space, area_budget_mm2=self.area_budget, seed=seed, area=self.area)
        self.layers = self._unique_layers()
        self.executor = executor or LocalExecutor(1)
        self.on_trial = on_trial
        from ..study.storage import Storage, StudyExistsError

        self.storage = storage if storage is not None and not isinstance(storage, str) else Storage(storage)
        self.config = {
            "workloads": [w.name for w in workloads], "hw_space": hw_space.model_dump(mode="json"),
            "area_budget_mm2": self.area_budget, "optimizer": optimizer, "objective": self.objective,
            "hw_budget": self.hw_budget, "hw_batch": self.hw_batch, "mapper": mapper,
            "mapper_budget": self.mapper_budget, "seed": self.seed,
        }
        self.study_name = study or f"codesign-{'+'.join(w.name for w in workloads)}-{optimizer}-s{seed}"
        if resume and self.storage.has_study(self.study_name):
            self.study = self.storage.load_study(self.study_name)
            # one local run owns a study: trials still "running" belonged to a run that died
            self.storage.requeue_stale(self.study_name, 0)
            if _config_hash(_extendable(self.study.config)) != _config_hash(_extendable(self.config)):
                raise CosearchError(f"study {self.study_name!r} was created with different settings; "
                                    "resume it with the same options or start a new study")
        else:
            try:
                self.study = self.storage.create_study(
                    self.study_name, self.config, objective=self.objective, estimator=hw_space.estimator,
                    estimator_hash=_config_hash(hw_space.model_dump(mode="json")), version=__version__)
            except StudyExistsError:
                raise CosearchError(f"study {self.study_name!r} already exists; use --resume to continue it "
                                    "or --study NAME for a new one") from None

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
    def _units(self, trial: int, values: dict[str, Any], settings: dict[str, Any], mapper: str) -> list[WorkUnit]:
        hw = self._hw_payload(values)
        return [
            WorkUnit(study=self.study_name, trial=trial, hw=hw,
                     layer={**layer.model_dump(), "name": key}, mapper=mapper, settings=settings,
                     seed=unit_seed(self.seed, values, layer))
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

    # ---- the loop ------------------------------------------------------------------------------------
    def run(self) -> CodesignResult:
        start = time.perf_counter()
        base_values = self.baseline_values or self._simple_baseline()
        baseline = self.evaluate_values(base_values)
        baseline_rs = self.evaluate_values(base_values, dataflow="row-stationary") if self.space.template == "eyeriss" \
            else baseline
        self.baseline_cost, self.baseline_rs_cost = baseline, baseline_rs
        settings = {"budget": self.mapper_budget, "objective": "edp"}

        # replay what the storage already holds (resume), in trial order
        existing = self.storage.trials(self.study_name, layers=True)
        for trial in existing:
            point = np.array(trial.hw_params["point"], dtype=np.int64)
            if trial.state != "complete":
                self._evaluate_trial(trial.number, point, settings, trial_id=trial.id,
                                     done={lr.layer: lr.__dict__ for lr in trial.layers or []})
                trial = self.storage.trial(self.study_name, trial.number)
            value = trial.result.get("value") if trial.result else None
            self.opt.tell(point[None, :], np.array([math.inf if value is None else value]))
        number = len(existing)
        while self.opt.n_told < self.hw_budget:
            pts = self.opt.ask(min(self.hw_batch, self.hw_budget - self.opt.n_told))
            batch = [(number + k, {"point": p.tolist(), "values": self.space.values(p)},
                      {"optimizer": self.optimizer_name}) for k, p in enumerate(pts)]
            ids = self.storage.add_trials(self.study_name, batch)  # the whole batch or nothing
            number += len(pts)
            vals = []
            for k, (p, tid) in enumerate(zip(pts, ids)):
                vals.append(self._evaluate_trial(number - len(pts) + k, p, settings, trial_id=tid, done={}))
            self.opt.tell(pts, np.array(vals))
        return self._result(baseline, baseline_rs, time.perf_counter() - start)

    def _evaluate_trial(self, number: int, point: np.ndarray, settings: dict[str, Any], *, trial_id: int,
                        done: dict[str, dict[str, Any]]) -> float:
        """Map every layer not yet recorded, commit each result, then complete the trial."""
        values = self.space.values(point)
        self.storage.start_trial(trial_id, "local")
        area = float(self.area(point[None, :])[0])
        if area > self.area_budget:  # only unconstrained optimizers (vanilla-bo) propose these: invalid, not mapped
            result = {"value": None, "valid": False,
                      "reason": f"area {area:.3f} mm² over the budget {self.area_budget:.3f} mm²",
                      "energy_pj": None, "cycles": None, "edp": None, "area_mm2": area, "per_workload": {},
                      "seconds": 0.0}
            self.storage.complete_trial(trial_id, result)
            if self.on_trial is not None:
                self.on_trial({"number": number, "values": values, **result})
            return math.inf
        results = {k: v for k, v in done.items() if v.get("state", "complete") == "complete"}
        todo = [u for u in self._units(number, values, settings, self.mapper) if u.layer_name not in results]

        def record(unit: WorkUnit, res: WorkResult) -> None:
            self.storage.record_layer_result(trial_id, **res.record())
            results[unit.layer_name] = res.record()

        t = time.perf_counter()
        self._run_units(todo, record)
        cost = self.network_cost(results)
        value = objective_value(cost, self.objective, self.baseline_cost)
        result = {"value": value if math.isfinite(value) else None, "valid": cost.valid, "reason": cost.reason,
                  "energy_pj": cost.total_energy_pj, "cycles": cost.total_cycles,
                  "edp": cost.total_energy_pj * cost.total_cycles, "area_mm2": area,
                  "per_workload": {w: {"energy_pj": cost.energy_pj[w], "cycles": cost.cycles[w], "edp": cost.edp[w]}
                                   for w in cost.edp},
                  "seconds": time.perf_counter() - t}
        self.storage.complete_trial(trial_id, result)
        if self.on_trial is not None:
            self.on_trial({"number": number, "values": values, **result})
        return value

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
            ratio = _ratio(cost, baseline)
            ratio_rs = _ratio(cost, baseline_rs)
        history = [{"number": t.number, "value": (t.result or {}).get("value"),
                    "area_mm2": (t.result or {}).get("area_mm2")} for t in trials]
        return CodesignResult(self.study_name, best, base, base_rs, ratio, ratio_rs, len(trials), seconds, history)


def _ratio(cost: NetworkCost, base: NetworkCost) -> float:
    """Geometric mean over workloads of EDP(design) / EDP(baseline)."""
    names = list(cost.edp)
    return math.exp(sum(math.log(cost.edp[w] / base.edp[w]) for w in names) / len(names))


def _extendable(config: dict[str, Any]) -> dict[str, Any]:
    """The settings a resumed study must share with its first run (the HW budget may grow)."""
    return {k: v for k, v in config.items() if k != "hw_budget"}


def _config_hash(config: dict[str, Any]) -> str:
    from ..study.storage import config_hash

    return config_hash(config)
