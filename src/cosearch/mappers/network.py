"""Map a whole network (or a few layers) on a fixed accelerator: one :func:`map_layer` per unique layer.

:func:`map_network` is what ``cosearch map`` runs:

* every layer gets its own seed, derived from ``(seed, layer index)`` (:func:`layer_seed`), so a
  layer's result depends neither on ``jobs`` nor on which other layers are mapped in the same run
  (pass ``indices`` = positions in the network when mapping a subset);
* with ``jobs > 1`` layers run in parallel over a process pool (``spawn`` workers, which ignore
  Ctrl-C: the parent stops them); with ``jobs = 1`` everything runs in this process;
* with ``out_dir`` each layer's best mapping is written as ``<layer>.json`` (the mapping format,
  loadable by ``cosearch eval --mapping``) and ``results.json`` (the run so far) is rewritten
  atomically as each layer finishes, so an interrupted run keeps its finished layers; a
  ``KeyboardInterrupt`` leaves its status ``interrupted``, another exception ``failed`` (if it can
  still be written: a full disk may not let it);
* network totals count repeats: ``energy = Σ energy·count``, ``cycles = Σ cycles·count``,
  ``EDP = energy × cycles``.

With a budget and no time limit the results are deterministic for a seed (``seconds`` aside).
"""

from __future__ import annotations

import json
import math
import re
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from .._io import RESULTS_FILE, to_plain, write_atomic
from ..arch.spec import Arch
from ..errors import CosearchError
from ..mapping.mapping import Mapping
from ..model.totals import phase_totals, repeat_totals
from ..workload.layer import Layer, Network, Phase
from .settings import check_settings

# ---------------------------------------------------------------------------------------------------
# results


@dataclass
class LayerResult:
    """The best mapping found for one unique layer (plain data: picklable, JSON-able via :meth:`to_json`)."""

    index: int  # position in the network (seed derivation)
    name: str
    count: int
    macs: int
    seed: int  # the layer's own seed (derived from the run's seed and ``index``)
    energy_pj: float = math.inf
    cycles: float = math.inf
    edp: float = math.inf
    utilization: float = 0.0
    evaluations: int = 0
    seconds: float = 0.0
    mapping: Mapping | None = None
    loop_nest: list[dict[str, Any]] = field(default_factory=list)  # mapping.loopnest.loop_nest_data
    error: str | None = None  # why no mapping was found (then the costs are inf)
    file: str | None = None  # the mapping file's name inside the run's out_dir
    dram_energy_pj: float = math.inf  # energy at the outermost level (in the phase totals, not the layer JSON)

    @property
    def ok(self) -> bool:
        return self.error is None and self.mapping is not None

    def to_json(self) -> dict[str, Any]:
        """Plain JSON data (non-finite numbers as ``None``)."""
        data: dict[str, Any] = {
            "name": self.name,
            "index": self.index,
            "count": self.count,
            "macs": self.macs,
            "seed": self.seed,
            "energy_pj": to_plain(self.energy_pj),
            "cycles": to_plain(self.cycles),
            "edp": to_plain(self.edp),
            "utilization": to_plain(self.utilization),
            "evaluations": self.evaluations,
            "seconds": round(self.seconds, 4),
            "mapping": self.mapping.model_dump(mode="json", exclude_none=True) if self.mapping is not None else None,
            "loop_nest": self.loop_nest,
        }
        if self.file is not None:
            data["file"] = self.file
        if self.error is not None:
            data["error"] = self.error
        return data

    def table_row(self) -> dict[str, Any]:
        """A row for :func:`cosearch.report.tables.layer_results_table`."""
        return {"layer": self.name, "count": self.count, "macs": self.macs, "energy_pj": self.energy_pj,
                "cycles": self.cycles, "edp": self.edp, "utilization": self.utilization,
                "evaluations": self.evaluations, "seconds": self.seconds}


def network_totals(rows: Sequence[Any], num_pes: int) -> dict[str, Any]:
    """Σ energy × count, Σ cycles × count, EDP = Σ energy × Σ cycles, utilisation and MACs.

    ``rows`` are :class:`LayerResult` or dicts with ``energy_pj``, ``cycles``, ``macs``, ``count``.
    A layer without a result (``inf``) makes the totals ``inf``.
    """
    def get(r: Any, key: str) -> Any:
        return r[key] if isinstance(r, dict) else getattr(r, key)

    energy, cycles = repeat_totals((get(r, "count"), get(r, "energy_pj"), get(r, "cycles")) for r in rows)
    macs = sum(get(r, "macs") * get(r, "count") for r in rows)
    util = macs / (cycles * num_pes) if math.isfinite(cycles) and cycles > 0 else 0.0
    return {"energy_pj": energy, "cycles": cycles, "edp": energy * cycles, "utilization": util, "macs": macs}


@dataclass
class NetworkMapResult:
    """The outcome of :func:`map_network`: one :class:`LayerResult` per layer, in network order."""

    arch: Arch
    workload: str
    optimizer: str
    objective: str
    seed: int
    budget: int | None
    time_limit: float | None
    constraints: str | None
    jobs: int
    layers: list[LayerResult]
    seconds: float  # wall time of the whole run
    out_dir: Path | None = None
    status: str = "complete"  # "running", "complete", "interrupted", "failed"
    phases: list[Phase] | None = None  # the workload's phases (LLMs), else None
    space_options: dict = field(default_factory=dict)  # factorization, max_padding (empty: perfect)

    @property
    def totals(self) -> dict[str, Any]:
        return network_totals(self.layers, self.arch.num_multipliers)

    @property
    def phase_totals(self) -> dict[str, dict[str, Any]] | None:
        """Per-phase totals of the finished layers (:func:`~cosearch.model.totals.phase_totals`), or None
        for a workload without phases."""
        if self.phases is None:
            return None
        rows = {r.name: (r.count, r.energy_pj, r.cycles, r.dram_energy_pj, r.macs) for r in self.layers}
        return phase_totals(self.phases, rows, self.arch.num_multipliers)

    @property
    def failed(self) -> list[LayerResult]:
        return [r for r in self.layers if not r.ok]

    def _factorization_json(self) -> dict[str, Any]:
        """``{"factorization": "imperfect", "max_padding": cap}`` for an imperfect run, else ``{}``
        (perfect runs write the JSON they always did)."""
        if self.space_options.get("factorization", "perfect") == "perfect":
            return {}
        return {"factorization": "imperfect", "max_padding": self.space_options["max_padding"]}

    def to_json(self) -> dict[str, Any]:
        """``{"arch", ..., "layers": [...], "total": {"energy_pj", "cycles", "edp", ...}, "seconds"}``
        (with ``factorization`` and ``max_padding`` after ``constraints`` for an imperfect run)."""
        return {
            "arch": self.arch.name,
            "workload": self.workload,
            "optimizer": self.optimizer,
            "objective": self.objective,
            "seed": self.seed,
            "budget": self.budget,
            "time_limit": self.time_limit,
            "constraints": self.constraints,
            **self._factorization_json(),
            "layers": [r.to_json() for r in self.layers],
            "total": {k: to_plain(v) for k, v in self.totals.items()},
            **({"phases": to_plain(self.phase_totals)} if self.phases is not None else {}),
            "seconds": round(self.seconds, 3),
        }


# ---------------------------------------------------------------------------------------------------
# seeds, names, files


def layer_seed(seed: int, index: int) -> int:
    """The seed of layer ``index`` in a run seeded with ``seed`` (32-bit, from ``SeedSequence([seed, index])``)."""
    return int(np.random.SeedSequence([int(seed), int(index)]).generate_state(1, np.uint32)[0])


def mapping_file_names(names: Sequence[str]) -> list[str]:
    """File names for layers' mappings: the name with unsafe characters replaced, unique, ``.json``."""
    out: list[str] = []
    used = {RESULTS_FILE.lower()}
    for i, name in enumerate(names):
        stem = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or f"layer{i}"
        candidate = f"{stem}.json"
        k = 2
        while candidate.lower() in used:
            candidate = f"{stem}-{k}.json"
            k += 1
        used.add(candidate.lower())
        out.append(candidate)
    return out


def default_out_dir(base: str | Path = "cosearch-out", prefix: str = "map") -> Path:
    """``base/<prefix>-YYYYmmdd-HHMMSS`` (with ``-2``, ``-3``, ... if that exists already)."""
    stem = Path(base) / f"{prefix}-{time.strftime('%Y%m%d-%H%M%S')}"
    path, k = stem, 2
    while path.exists():
        path = stem.with_name(f"{stem.name}-{k}")
        k += 1
    return path


# ---------------------------------------------------------------------------------------------------
# one layer (in this process or in a worker)


@dataclass
class _Task:
    arch: Arch
    layer: Layer
    index: int
    optimizer: str
    budget: int | None
    time_limit: float | None
    objective: str
    seed: int
    constraints: Any
    space_options: dict = field(default_factory=dict)  # MapSpace's factorization and max_padding


def _space(arch: Arch, layer: Layer, constraints: Any, space_options: dict) -> Any:
    """The layer's map space on ``arch`` under ``constraints`` (``None``: unconstrained) with
    ``space_options`` (``factorization``, ``max_padding``)."""
    from ..mapping.space import MapSpace

    return MapSpace(arch, layer, constraints=constraints, **space_options)


def _run_task(task: _Task, space: Any = None,
              on_progress: Callable[[int, float], None] | None = None) -> LayerResult:
    """Map one layer; a :class:`CosearchError` (no valid mapping) becomes a failed result."""
    from ..mapping.loopnest import loop_nest_data
    from .layer import map_layer

    layer = task.layer
    result = LayerResult(index=task.index, name=layer.name, count=layer.count, macs=layer.macs, seed=task.seed)
    start = time.perf_counter()
    try:
        if space is None:
            space = _space(task.arch, layer, task.constraints, task.space_options)
        res = map_layer(task.arch, layer, optimizer=task.optimizer, budget=task.budget, time_limit=task.time_limit,
                        objective=task.objective, seed=task.seed, space=space, on_progress=on_progress)
    except CosearchError as err:
        result.error = str(err)
        result.seconds = time.perf_counter() - start
        return result
    result.energy_pj = res.energy_pj
    result.cycles = res.cycles
    result.edp = res.edp
    result.utilization = float(res.costs.utilization[0])
    result.evaluations = int(res.evaluations)
    result.seconds = float(res.seconds)
    result.mapping = res.mapping()
    result.loop_nest = loop_nest_data(task.arch, res.best, 0, tile_words=res.costs.tile_words, dims=layer.dims)
    result.dram_energy_pj = float(res.costs.level_energy_pj[0, 0].sum())
    return result


def _worker_init() -> None:
    """Pool workers ignore Ctrl-C (the parent cancels and stops them), so no tracebacks are printed."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _load_constraints(constraints: Any, arch: Arch) -> tuple[Any, str | None]:
    """(constraints object or None, a label for reports)."""
    if constraints is None:
        return None, None
    if isinstance(constraints, (str, Path)):
        from ..mapping.constraints import load_constraints

        return load_constraints(str(constraints), arch), str(constraints)
    label = getattr(constraints, "source", None) or getattr(constraints, "name", None) or type(constraints).__name__
    return constraints, str(label)


# ---------------------------------------------------------------------------------------------------
# the driver


def map_network(
    arch: Arch | str,
    network_or_layers: Network | Layer | Sequence[Layer] | str,
    *,
    optimizer: str = "auto",
    budget: int | None = None,
    time_limit: float | None = None,
    objective: str = "edp",
    constraints: Any = None,
    seed: int = 0,
    jobs: int = 1,
    out_dir: str | Path | None = None,
    on_layer_done: Callable[[LayerResult], None] | None = None,
    on_progress: Callable[[int, float], None] | None = None,
    on_start: Callable[[], None] | None = None,
    indices: Sequence[int] | None = None,
    workload_name: str | None = None,
    phases: Sequence[Phase] | None = None,
    factorization: str = "perfect",
    max_padding: float | None = None,
) -> NetworkMapResult:
    """Map every layer of ``network_or_layers`` on ``arch`` and return the best mapping of each.

    ``arch``: an :class:`Arch` or a preset name / arch file. ``network_or_layers``: a :class:`Network`
    (its unique layers), one :class:`Layer`, a list of layers, or a zoo name / workload file.
    ``budget`` (evaluations) and ``time_limit`` (seconds) apply to each layer; with both, a layer stops
    at whichever comes first; with neither, :data:`cosearch.mappers.layer.DEFAULT_BUDGET`.
    ``constraints``: ``None``, a dataflow name or constraints file (``load_constraints``), or a loaded
    constraints object. ``seed``: layer ``i`` uses :func:`layer_seed(seed, indices[i])
    <layer_seed>` (``indices`` default to positions in the list). ``jobs``: worker processes
    (1 = this process). ``out_dir``: where mapping files and ``results.json`` go (``None``: nothing
    is written). ``on_layer_done(result)`` is called in this process as each layer finishes (in
    completion order); ``on_progress(i, fraction)`` reports progress within layer ``i`` (``jobs=1`` only);
    ``on_start()`` is called once the input is checked, just before the search starts. ``phases``
    (default: the network's) makes the results carry per-phase totals (``NetworkMapResult.phase_totals``).
    ``factorization`` (``"perfect"`` or ``"imperfect"``) and ``max_padding`` (the padding cap, default
    :data:`~cosearch.mapping.factors.DEFAULT_MAX_PADDING`) shape every layer's map space; an imperfect
    run's JSON records both (a perfect run's JSON is unchanged).

    Worker processes are started with ``spawn``: a script that calls this with ``jobs > 1`` needs the
    usual ``if __name__ == "__main__":`` guard.

    Bad input raises :class:`CosearchError` before any search starts: unknown optimizer or objective,
    ``budget``/``time_limit``/``jobs`` out of range, a negative seed, or constraints some layer cannot
    satisfy (the message names the layer). A layer for which no valid mapping is found is reported in
    its :class:`LayerResult` (``error``), not raised; the other layers still run.
    """
    from ..arch.io import load_arch

    start = time.perf_counter()
    the_arch = load_arch(arch) if isinstance(arch, str) else arch
    layers, name, network_phases = _layers_of(network_or_layers, workload_name)
    phases = list(phases) if phases is not None else network_phases
    idx = list(range(len(layers))) if indices is None else [int(i) for i in indices]
    if len(idx) != len(layers):
        raise ValueError("indices must give one index per layer")
    check_settings(optimizer=optimizer, objective=objective, budget=budget, time_limit=time_limit, jobs=jobs,
                   seed=seed)
    if budget is None and time_limit is None:
        from .layer import DEFAULT_BUDGET

        budget = DEFAULT_BUDGET
    cons, cons_label = _load_constraints(constraints, the_arch)
    opts = space_options(factorization, max_padding)
    spaces = _checked_spaces(the_arch, layers, cons, cons_label, opts)
    tasks = [_Task(the_arch, layer, i, optimizer, None if budget is None else int(budget),
                   None if time_limit is None else float(time_limit), objective, layer_seed(seed, i), cons, opts)
             for layer, i in zip(layers, idx)]
    out = Path(out_dir) if out_dir is not None else None
    run = NetworkMapResult(the_arch, name, optimizer, objective, int(seed), budget, time_limit, cons_label,
                           int(jobs), [], 0.0, out, status="running", phases=phases, space_options=opts)
    recorder = _RunRecorder(run, layers, start, on_layer_done)
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
    recorder.save("running")
    if on_start is not None:
        on_start()
    try:
        _run_tasks(tasks, spaces, jobs, recorder.finish, on_progress)
    except KeyboardInterrupt:  # Ctrl-C (or SIGTERM, which the CLI raises as one)
        recorder.save("interrupted")
        raise
    except BaseException:  # an error (e.g. a file that cannot be written): say so if the disk lets us
        try:
            recorder.save("failed")
        except Exception:  # noqa: BLE001 - keep the original error
            pass
        raise
    recorder.save("complete" if all(r.ok for r in recorder.done.values()) else "failed")
    return run


def _layers_of(network_or_layers: Network | Layer | Sequence[Layer] | str,
               workload_name: str | None) -> tuple[list[Layer], str, list[Phase] | None]:
    """The layers to map, the workload's name (``workload_name``, else the network's or layer's
    name, else ``"layers"``) and its phases (a network's, else None); a string is a zoo name or
    workload file. No layers is an error."""
    from ..workload.io import load_workload

    if isinstance(network_or_layers, str):
        network_or_layers = load_workload(network_or_layers)
    phases = None
    if isinstance(network_or_layers, Network):
        layers = list(network_or_layers.layers)
        name = workload_name or network_or_layers.name
        phases = network_or_layers.phases
    elif isinstance(network_or_layers, Layer):
        layers = [network_or_layers]
        name = workload_name or network_or_layers.name
    else:
        layers = list(network_or_layers)
        name = workload_name or "layers"
    if not layers:
        raise CosearchError("nothing to map: no layers given")
    return layers, name, phases


def space_options(factorization: str = "perfect", max_padding: float | None = None) -> dict[str, Any]:
    """MapSpace keywords for a factorization mode and padding cap, checked (one-line
    :class:`CosearchError`); ``max_padding`` ``None`` = the default cap."""
    from ..limits import check_float
    from ..mapping.factors import DEFAULT_MAX_PADDING, FACTORIZATIONS

    if factorization not in FACTORIZATIONS:
        raise CosearchError(f"factorization must be one of {', '.join(FACTORIZATIONS)}, got {factorization!r}")
    cap = DEFAULT_MAX_PADDING if max_padding is None else check_float(max_padding, "max padding", high=1.0)
    return {"factorization": factorization, "max_padding": cap}


def _checked_spaces(arch: Arch, layers: list[Layer], cons: Any, cons_label: str | None,
                    opts: dict[str, Any]) -> list[Any]:
    """The map space of every layer under the constraints, so that a layer without a valid mapping
    fails before any search starts (the message names the layer and the constraints)."""
    spaces = []
    for layer in layers:
        try:
            spaces.append(_space(arch, layer, cons, opts))
        except CosearchError as err:
            msg = str(err)
            if f"layer {layer.name}" not in msg:
                msg = f"layer {layer.name}: {msg}"
            if cons_label is not None and cons_label not in msg:
                msg = f"{cons_label}: {msg}"
            raise CosearchError(msg) from None
    return spaces


class _RunRecorder:
    """Collects the layer results of a :func:`map_network` run into ``run`` and, when the run has an
    output directory, writes each layer's mapping file as it finishes and rewrites ``results.json``
    (with the run's status) after every change."""

    def __init__(self, run: NetworkMapResult, layers: list[Layer], start: float,
                 on_layer_done: Callable[[LayerResult], None] | None) -> None:
        self.run = run
        self.start = start  # time.perf_counter() at the start of the run
        self.on_layer_done = on_layer_done
        self.files = mapping_file_names([layer.name for layer in layers])
        self.done: dict[int, LayerResult] = {}  # position in the layer list -> result
        # what a report needs to re-evaluate the mappings: the arch as costed, and every layer's shape
        self.arch_spec = run.arch.model_dump(mode="json", exclude_none=True)
        self.layer_shapes = {layer.name: layer.model_dump(mode="json", exclude={"name", "count"}) for layer in layers}

    def save(self, status: str) -> None:
        """Update the run (layers in list order, seconds, ``status``) and write ``results.json``."""
        run = self.run
        run.layers = [self.done[k] for k in sorted(self.done)]
        run.seconds = time.perf_counter() - self.start
        run.status = status
        if run.out_dir is None:
            return
        data = run.to_json()
        data["status"] = status
        data["jobs"] = run.jobs
        data["layers_total"] = len(self.files)
        data["arch_spec"] = self.arch_spec
        data["layer_shapes"] = self.layer_shapes
        write_atomic(run.out_dir / RESULTS_FILE, json.dumps(data, indent=1) + "\n")

    def finish(self, pos: int, result: LayerResult) -> None:
        """Record the result of the layer at ``pos`` (writing its mapping file), then tell the caller."""
        out = self.run.out_dir
        if out is not None and result.mapping is not None:
            result.file = self.files[pos]
            write_atomic(out / self.files[pos], result.mapping.model_dump_json(indent=1, exclude_none=True) + "\n")
        self.done[pos] = result
        self.save("running")
        if self.on_layer_done is not None:
            self.on_layer_done(result)


def _run_tasks(tasks: list[_Task], spaces: list[Any], jobs: int, finish: Callable[[int, LayerResult], None],
               on_progress: Callable[[int, float], None] | None) -> None:
    """Run the layer tasks in this process (``jobs == 1`` or one task; with progress) or in a pool of
    ``min(jobs, len(tasks))`` worker processes; ``finish(pos, result)`` as each one ends."""
    if jobs == 1 or len(tasks) == 1:
        for pos, (task, space) in enumerate(zip(tasks, spaces)):
            progress = None
            if on_progress is not None:
                progress = _fraction_reporter(pos, task, on_progress)
            finish(pos, _run_task(task, space, progress))
    else:
        _run_pool(tasks, min(jobs, len(tasks)), finish)


def _fraction_reporter(pos: int, task: _Task, report: Callable[[int, float], None]) -> Callable[[int, float], None]:
    start = time.perf_counter()

    def on_progress(evaluations: int, best: float) -> None:
        fractions = []
        if task.budget is not None:
            fractions.append(evaluations / task.budget)
        if task.time_limit is not None:
            fractions.append((time.perf_counter() - start) / task.time_limit)
        if task.budget is None and task.time_limit is None:
            from .layer import DEFAULT_BUDGET

            fractions.append(evaluations / DEFAULT_BUDGET)
        report(pos, min(1.0, max(fractions)))

    return on_progress


def _run_pool(tasks: list[_Task], workers: int, finish: Callable[[int, LayerResult], None]) -> None:
    """Run ``tasks`` over a ``spawn`` process pool, biggest layers first; ``finish`` as each completes."""
    import multiprocessing
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    pool = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                               initializer=_worker_init)
    order = sorted(range(len(tasks)), key=lambda k: -tasks[k].layer.macs)
    clean = False
    try:
        pending = {pool.submit(_run_task, tasks[k]): k for k in order}
        while pending:
            finished, _ = wait(pending, return_when=FIRST_COMPLETED)
            for fut in sorted(finished, key=lambda f: pending[f]):
                pos = pending.pop(fut)
                finish(pos, fut.result())
        clean = True
    finally:
        if clean:
            pool.shutdown(wait=True)
        else:  # interrupted or a worker failed: stop now, do not wait for running layers
            processes = list((getattr(pool, "_processes", None) or {}).values())
            pool.shutdown(wait=False, cancel_futures=True)
            for proc in processes:
                if proc.is_alive():
                    proc.terminate()
