"""``cosearch codesign`` and ``cosearch demo``: hardware search with the mapper inside, the best design
against the baseline(s)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Callable, Optional

import typer
from rich.text import Text

from ..codesign.outputs import STUDIES_FILE, default_run_dir
from ..codesign.settings import WARM_START_POINTS
from ..errors import CosearchError
from ..limits import check_int
from ._common import (
    _ADDRESS_HELP,
    _EXECUTOR_HELP,
    _console,
    _executor_options,
    _executor_text,
    _factorization_option,
    _handle_errors,
    _input_shape_option,
    _input_shapes,
    _load_cli_workload,
    _max_padding_option,
    _precision_option,
    _print_json,
    _space_options,
    _stopped,
    _study_report_sources,
    _write_report,
    app,
)

CODESIGN_OPTIMIZERS = ("bo", "random", "ga", "vanilla-bo")


def _load_workloads(text: str, input_shapes: Optional[dict[str, tuple[int, ...]]] = None) -> list[Any]:
    """``--workload W[,W2,...]``: zoo names or workload files, distinct. ``--input-shape`` values go
    to the ONNX models among them (each gets those naming one of its inputs)."""
    from ..workload.importers.onnx import route_input_shapes
    from ..workload.io import split_workload_list

    names = split_workload_list(text)
    if not text.strip() or any(not n for n in names):
        raise CosearchError(f"--workload: expected NAME or NAME,NAME,... (zoo names or files), got {text!r}")
    routed = route_input_shapes([n for n in names if Path(n).suffix.lower() == ".onnx"], input_shapes)
    nets = [_load_cli_workload(n, routed.get(n)) for n in names]
    seen: set[str] = set()
    for n in nets:
        if n.name in seen:
            raise CosearchError(f"--workload names workload {n.name!r} twice")
        seen.add(n.name)
    return nets


class _CodesignProgress:
    """HW trials on stderr: a Rich bar (done / budget, best EDP so far, ETA) on a terminal, one line per
    trial otherwise, nothing when quiet."""

    def __init__(self, total: int, done: int, description: str, *, quiet: bool) -> None:
        self.total, self.done, self.quiet = total, done, quiet
        self.best_edp: float | None = None
        self.best_value = math.inf
        self.console = _console(stderr=True)
        self.progress = None
        self.task = None
        self.description = description
        if not quiet and self.console.is_terminal:
            from ._progress import progress_bar

            self.progress = progress_bar(self.console, "co-design", "HW points, best design's EDP {task.fields[best]}")

    def __enter__(self) -> "_CodesignProgress":
        if self.progress is not None:
            self.progress.start()
            self.task = self.progress.add_task(self.description, total=self.total, completed=self.done,
                                               best=self._best_text())
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.progress is not None:
            self.progress.stop()

    def _best_text(self) -> str:
        from ..report.tables import fmt_sci

        return fmt_sci(self.best_edp, 3) if self.best_edp is not None else "-"

    def note(self, text: str) -> None:
        if self.quiet:
            return
        if self.progress is not None:
            self.progress.console.print(Text(text), soft_wrap=True)
        else:
            self.console.print(Text(text), soft_wrap=True)

    def seed_best(self, value: float, edp: float | None) -> None:
        self.best_value, self.best_edp = value, edp

    def trial(self, info: dict[str, Any]) -> None:
        from ..report.tables import fmt_sci

        self.done += 1
        value = info.get("value")
        if info.get("valid") and value is not None and float(value) < self.best_value:
            self.best_value, self.best_edp = float(value), info.get("edp")
        if self.progress is not None:
            self.progress.update(self.task, completed=self.done, best=self._best_text())
        elif not self.quiet:
            what = (f"EDP {fmt_sci(info.get('edp'), 3)}, area {info['area_mm2']:.2f} mm²" if info.get("valid")
                    else f"invalid ({info.get('reason')})")
            self.console.print(Text(f"[{self.done}/{self.total}] trial {info['number']}: {what}; "
                                    f"best design's EDP {self._best_text()}"), soft_wrap=True)


def _baseline_names(cd: Any) -> tuple[str, str]:
    """Labels of the two baselines (the study's mapper; the template's named dataflow, e.g. eyeriss-168
    (RS), or the same again for a template without one)."""
    return cd.baseline.auto_label, cd.baseline.dataflow_label


def _codesign_summary(data: dict[str, Any], cd: Any) -> list[Any]:
    """Renderables: design parameters (best vs the baseline), costs, ratios, the Pareto front (objective
    pareto), per-workload EDP."""
    from rich.table import Table

    from ..arch.templates import param_label
    from ..report.tables import fmt_int, fmt_param, fmt_sci

    best, base, base_rs = data["best"], data["baseline"], data["baseline_rs"]
    label, label_rs = _baseline_names(cd)
    short = label.split(" ")[0]
    out: list[Any] = []
    params = Table(title=f"Best design (trial {best.trial}) vs the {short}")
    params.add_column("parameter", style="bold")
    params.add_column("best", justify="right")
    params.add_column(short, justify="right")
    labels = cd.space.labels  # the space's own template's (a user template's included) and searched settings'
    for name in cd.space.names:
        params.add_row(labels.get(name) or param_label(name), fmt_param(best.arch.get(name)),
                       fmt_param(base.arch.get(name)))
    out.append(params)

    phys = best.physical or {}
    ref = cd.space.template_spec.reference
    flow = f", {ref.dataflow_tag}: {ref.dataflow} dataflow" if ref.dataflow else ""
    ratio_text = ("ratio = best EDP ÷ this in J·s with leakage (the space searches "
                  f"{', '.join(cd.space.searched)})" if cd.space.searched else "ratio = best EDP ÷ this")
    costs = Table(title=f"Costs of the whole network(s): EDP in pJ·cycles, {ratio_text}; "
                        f"auto: the study's mapper{flow}; "
                        f"{_physical_text(phys)}; energy mJ and power include SRAM leakage")
    for col, just in (("design", "left"), ("area mm²", "right"), ("energy pJ", "right"), ("cycles", "right"),
                      ("EDP", "right"), ("ratio", "right"), ("latency ms", "right"), ("energy mJ", "right"),
                      ("power mW", "right")):
        costs.add_column(col, justify=just, no_wrap=True)  # type: ignore[arg-type]
    rows = [("best design", best, 1.0), (label, base, data["edp_ratio"]), (label_rs, base_rs, data["edp_ratio_rs"])]
    for name, s, ratio in rows:
        p = s.physical or {}
        costs.add_row(name, f"{s.area_mm2:.3f}", fmt_sci(s.energy_pj), fmt_int(s.cycles),
                      fmt_sci(s.edp), "-" if ratio is None else f"{ratio:.3f}", _fmt_opt(p.get("latency_ms")),
                      _fmt_opt(p.get("total_energy_mj")), _fmt_opt(p.get("power_mw")))
    bound = data.get("bound")
    if bound:  # what no design under the budget can beat (energy and cycles bounded separately)
        costs.add_row("lower bound, any design", f"≤ {cd.area_budget:.3f}", fmt_sci(bound["energy_pj"]),
                      fmt_int(bound["cycles"]), fmt_sci(bound["edp"]), f"{best.edp / bound['edp']:.3f}",
                      _fmt_opt(bound["cycles"] / phys["clock_mhz"] / 1e3 if phys else None), "-", "-")
    out.append(costs)

    front = data.get("pareto_front")
    if front:
        several = len(best.per_workload) > 1
        par = Table(title=f"Pareto front: {len(front)} designs no other trial beats in energy, cycles and area"
                          + (" (energy and cycles: geometric means of the ratios to the baseline)" if several else ""))
        for col in ("trial", "design", "area mm²", "energy" if several else "energy pJ", "cycles", "EDP"):
            par.add_column(col, justify="left" if col == "design" else "right", no_wrap=True)
        for p in front:
            energy, cycles, _area = p["objectives"]
            par.add_row(str(p["trial"]), cd.space.point_name(p["arch"]), f"{p['area_mm2']:.3f}",
                        f"{energy:.4f}" if several else fmt_sci(energy), f"{cycles:.4f}" if several else fmt_int(cycles),
                        fmt_sci(p["edp"]))
        out.append(par)

    if len(best.per_workload) > 1:
        per = Table(title="EDP per workload (the ratios' geometric mean is the ratio above)")
        for col in ("workload", "best", label, "ratio", label_rs, "ratio"):
            per.add_column(col, justify="left" if col == "workload" else "right")
        for w, e in best.per_workload.items():
            b, r = base.per_workload[w], base_rs.per_workload[w]
            per.add_row(w, fmt_sci(e), fmt_sci(b), f"{e / b:.3f}", fmt_sci(r), f"{e / r:.3f}")
        out.append(per)
    return out


def _constraints_text(constraints: Optional[dict[str, Any]]) -> str:
    c = constraints or {}
    return "".join([f", power <= {c['power_budget_w']:g} W" if c.get("power_budget_w") is not None else "",
                    f", latency <= {c['latency_target_s']:g} s" if c.get("latency_target_s") is not None else ""])


def _fmt_opt(value: Optional[float]) -> str:
    return "-" if value is None else f"{value:.4g}"


def _physical_text(phys: dict[str, Any]) -> str:
    """``22nm (scaled from 45 nm), HBM2, 200 MHz`` for a design's ``physical`` object."""
    if not phys:
        return "no physical units"
    node = phys.get("technology") or "table energies"
    scaled = " (scaled from 45 nm, Stillmaker & Baas 2017)" if phys.get("scaled") else ""
    clock = f"{phys['clock_mhz']:g} MHz" + (" (default)" if phys.get("clock_default") else "")
    return f"{node}{scaled}, {phys['dram'] or 'table'} DRAM, {clock}"


def _space_physical_text(space: Any) -> str:
    """The physical settings a space sets, for the run's first line ("" if none)."""
    def setting(name: str, unit: str) -> Optional[str]:
        value = getattr(space, name)
        if name in space.searched:
            grid = [str(v) for v in space.precision.values] if name == "precision" else \
                [f"{v:g}" for v in space.grids()[space.names.index(name)]]
            return f"{name} searched over {', '.join(grid)}{unit}"
        return None if not value else f"{value:g}{unit}" if unit else str(value)

    parts = [f"{space.technology} (scaled)" if space.technology and space.estimator in _scaled_estimators()
             else space.technology, space.dram, setting("dram_gbps", " GB/s"), setting("clock_mhz", " MHz"),
             setting("precision", "")]
    text = ", ".join(p for p in parts if p)
    return f", {text}" if text else ""


def _scaled_estimators() -> set[str]:
    from ..arch.estimator import ESTIMATORS

    return {name for name, est in ESTIMATORS.items() if est.scaled}


def _run_codesign(
    *, workloads: list[Any], space: Any, area_budget: float, optimizer: str, objective: str, hw_budget: int,
    hw_batch: int, mapper: str, mapper_budget: int, seed: int, storage: str, study: Optional[str], resume: bool,
    jobs: Optional[int], out: Optional[Path], as_json: bool, default_out: Callable[[str], Path], title: str,
    executor_name: str = "local", address: Optional[str] = None, report: bool = True,
    space_options: Optional[dict[str, Any]] = None, constraints: Optional[dict[str, Any]] = None,
) -> None:
    """Build the study, run it with a progress bar and live output files, print the summary or JSON;
    with ``report``, write the HTML report into ``out/report/``."""
    from ..codesign.driver import Codesign
    from ..study.executor import make_executor

    # the executor first: a Ray cluster that cannot be reached must not leave an empty study behind
    executor = make_executor(executor_name, jobs=jobs, address=address)
    try:
        cd = Codesign(workloads, hw_space=space, area_budget_mm2=area_budget, optimizer=optimizer,
                      objective=objective, hw_budget=hw_budget, hw_batch=hw_batch, mapper=mapper,
                      mapper_budget=mapper_budget, seed=seed, storage=storage, study=study, resume=resume,
                      executor=executor, **(space_options or {}), **(constraints or {}))
        out_dir = out if out is not None else default_out(cd.study_name)
        output = cd.open_output(out_dir)
        names = "+".join(w.name for w in workloads)
        with _CodesignProgress(hw_budget, min(output.done, hw_budget), f"{names} ({optimizer})",
                               quiet=as_json) as progress:
            if output.best is not None:
                progress.seed_best(output.best_value, output.best.edp)
            cd.on_trial = progress.trial
            resumed = f"resuming study {cd.study_name} ({output.done} trials done)" if output.done else \
                f"study {cd.study_name}"
            progress.note(
                f"{title}: {names} on {space.name} ({space.template}, {space.estimator}{_space_physical_text(space)}), "
                f"area <= {area_budget:.3f} mm²{_constraints_text(constraints)}, "
                f"{optimizer} over {hw_budget} HW points (batches of {hw_batch}), {mapper} mapper with "
                f"{mapper_budget:,} evaluations per layer, min {cd.objective}, seed {seed}; {resumed} in "
                f"{cd.storage.url}; {_executor_text(executor)}; writing to {out_dir}")
            progress.note("mapping the baselines: " + " and ".join(dict.fromkeys(_baseline_names(cd))) + " ...")
            try:
                res = cd.run()
            except KeyboardInterrupt as err:  # Ctrl-C or SIGTERM: results.json says interrupted
                raise _stopped(err, f"{output.done} trials are saved in study {cd.study_name} ({cd.storage.url}); "
                                    "rerun with --resume to continue") from None
        data = output.document(res)
    finally:
        if executor is not None:
            executor.close()

    report_path = None
    if report:
        report_path = _write_report(lambda: _study_report_sources(cd.storage, cd.study_name, out_dir), out_dir,
                                    as_json=as_json)
    if as_json:
        typer.echo(f"results: {out_dir / 'results.json'}", err=True)
        _print_json(data)
    else:
        _print_codesign_result(data, cd, out_dir, report_path)
    if data["best"] is None:
        raise CosearchError(f"no valid hardware point found in {data['trials']} trials of study {data['study']} "
                            "(every point had a layer without a valid mapping, or exceeded the area budget"
                            + (", the power budget" if (constraints or {}).get("power_budget_w") else "")
                            + (", the latency target" if (constraints or {}).get("latency_target_s") else "") + ")")


def _print_codesign_result(data: dict[str, Any], cd: Any, out_dir: Path, report_path: Optional[Path]) -> None:
    """The finished run on stdout: the summary tables (if a design was valid) and where its files are."""
    from ..codesign.outputs import BEST_ARCH_FILE, RESULTS_FILE
    from ..study import DEFAULT_URL

    console = _console()
    if data["best"] is not None:
        for renderable in _codesign_summary(data, cd):
            console.print(renderable)
        per_phase = getattr(data["best"], "per_phase", None)
        if per_phase:
            from ..report.tables import phase_totals_table

            console.print(phase_totals_table(per_phase, title="Best design per phase"))
    console.print(Text(
        f"{data['trials']} HW points in {data['seconds']:.1f} s. Study {data['study']} in {data['storage']} "
        f"(cosearch study show {data['study']}"
        + ("" if data["storage"] == DEFAULT_URL else f" --storage {data['storage']}")
        + f"); {RESULTS_FILE}, {BEST_ARCH_FILE} and mappings/ in {out_dir}"), soft_wrap=True)
    if report_path is not None:
        console.print(Text(f"report: {report_path}"), soft_wrap=True)


@app.command("codesign")
@_handle_errors
def codesign_cmd(
    workload: str = typer.Option(..., "--workload", "-w", help="Zoo network(s) or workload file(s), comma-separated (several: geometric mean of ratios to the baseline)."),
    input_shape: Optional[list[str]] = _input_shape_option(),
    area_budget: Optional[str] = typer.Option(None, "--area-budget", help="Area budget: mm², or a preset whose area under the space's estimator is the budget (default: eyeriss-168's area; eyeriss-256's for the paper space)."),
    optimizer: str = typer.Option("bo", "--optimizer", "-o", help="Hardware optimizer: bo, random, ga, vanilla-bo."),
    objective: str = typer.Option("edp", "--objective", help="edp, energy, cycles, latency (s), power (mW, with "
                                  "SRAM leakage), ednp:N (energy × cycles^N), or "
                                  "pareto (energy, cycles and area together: the result lists the Pareto front)."),
    power_budget: Optional[float] = typer.Option(None, "--power-budget", help="Average power budget in W: designs above it on some workload are infeasible."),
    latency_target: Optional[float] = typer.Option(None, "--latency-target", help="Latency target in s per workload: designs slower on some workload are infeasible."),
    technology: Optional[str] = typer.Option(None, "--technology", help="Technology node: 65nm, 45nm (CACTI tables) or 32/28/22/16/14/10/7nm (scaled from 45 nm, Stillmaker & Baas 2017); needs a cacti-* space."),
    dram: Optional[str] = typer.Option(None, "--dram", help="DRAM type: LPDDR4 (default), DDR3, DDR4, HBM2."),
    dram_gbps: Optional[float] = typer.Option(None, "--dram-gbps", help="DRAM bandwidth in GB/s (replaces the space's dram_bandwidth in words/cycle)."),
    clock_mhz: Optional[float] = typer.Option(None, "--clock-mhz", help="Clock in MHz (default 200); must not exceed what the space's slowest SRAM allows."),
    precision: Optional[str] = _precision_option(),
    hw_budget: int = typer.Option(50, "--hw-budget", "-n", help="Hardware points (trials) to evaluate."),
    hw_batch: int = typer.Option(5, "--hw-batch", help="Points proposed per batch (results are a function of it)."),
    hw_space: str = typer.Option("eyeriss-like", "--hw-space", help="Hardware space: eyeriss-like, simple, paper, systolic, vector-pe, or a YAML file (docs/codesign.md)."),
    mapper: str = typer.Option("auto", "--mapper", help="Inner mapper: auto, random, ga, sa, bo, vanilla-bo."),
    mapper_budget: Optional[int] = typer.Option(None, "--mapper-budget", help="Mapper evaluations per (HW point, layer) (default 5,000)."),
    seed: int = typer.Option(0, "--seed", "-s", help="Random seed (same seed and budgets: same trials)."),
    storage: Optional[str] = typer.Option(None, "--storage", help="Study store URL (default sqlite:///<out>/studies.db with --out, else sqlite:///cosearch-out/studies.db)."),
    study: Optional[str] = typer.Option(None, "--study", help="Study name (default codesign-<workloads>-<optimizer>-s<seed>)."),
    resume: bool = typer.Option(False, "--resume", help="Continue the study if it exists (same options), else start it."),
    jobs: Optional[int] = typer.Option(None, "--jobs", "-j", help="Worker processes mapping layers in parallel (default 1: this process; with --executor ray, the CPUs of a local Ray, default all)."),
    executor: str = typer.Option("local", "--executor", help=_EXECUTOR_HELP),
    address: Optional[str] = typer.Option(None, "--address", help=_ADDRESS_HELP),
    out: Optional[Path] = typer.Option(None, "--out", help="Output directory (default ./cosearch-out/<study>, with a codesign- prefix)."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON line instead of tables."),
    no_report: bool = typer.Option(False, "--no-report", help="Do not write the HTML report (--out/report/)."),
    factorization: str = _factorization_option(),
    max_padding: Optional[float] = _max_padding_option(),
    warm_start: int = typer.Option(WARM_START_POINTS, "--warm-start", help="Seed each layer's search with its best mappings on this many nearest hardware points of earlier batches (0: cold searches)."),
) -> None:
    """Co-design: search hardware within an area budget, mapping every layer on each point; best design vs eyeriss-168.

    The best design is compared with eyeriss-168 mapped by the same mapper and under row-stationary.
    Every trial is committed to the study store as it finishes (--resume continues a stopped run);
    results.json, the best design's arch file and its mappings are written to --out as the run goes.
    """
    from ..arch.hwspace import load_hw_space
    from ..codesign.budget import parse_area_budget
    from ..codesign.driver import DEFAULT_MAPPER_BUDGET, parse_objective
    from ..codesign.settings import check_budgets
    from ..mappers.settings import check_optimizer
    from ..study import DEFAULT_URL, sqlite_url

    if optimizer not in CODESIGN_OPTIMIZERS:
        raise CosearchError(f"unknown hardware optimizer {optimizer!r} (--optimizer; choose from "
                            f"{', '.join(CODESIGN_OPTIMIZERS)})")
    parse_objective(objective)
    mapper_budget = DEFAULT_MAPPER_BUDGET if mapper_budget is None else mapper_budget
    check_budgets(hw_budget=hw_budget, hw_batch=hw_batch, mapper_budget=mapper_budget, seed=seed, cli=True)
    _executor_options(executor, address, jobs)
    if study is not None and not study.strip():
        raise CosearchError("--study needs a non-empty name")
    try:
        check_optimizer(mapper)
    except CosearchError as err:
        raise CosearchError(f"--mapper: {err}") from None

    opts = {**_space_options(factorization, max_padding),
            "warm_start": check_int(warm_start, "--warm-start", low=0)}
    nets = _load_workloads(workload, _input_shapes(input_shape))
    for flag, value in (("--power-budget", power_budget), ("--latency-target", latency_target),
                        ("--dram-gbps", dram_gbps), ("--clock-mhz", clock_mhz)):
        if value is not None and not (math.isfinite(value) and value > 0):
            raise CosearchError(f"{flag} must be a positive number, got {value:g}")
    # --precision a,b: searched over those (as a space file's precision: {values: [a, b]})
    precisions = [p.strip() for p in precision.split(",")] if precision is not None and "," in precision else precision
    space = load_hw_space(hw_space).with_physical(technology=technology, dram=dram, dram_gbps=dram_gbps,
                                                  clock_mhz=clock_mhz, precision=precisions)
    budget = parse_area_budget(area_budget, space)
    constraints = {k: v for k, v in (("power_budget_w", power_budget), ("latency_target_s", latency_target))
                   if v is not None}
    url = storage if storage is not None else (sqlite_url(out / STUDIES_FILE) if out is not None else DEFAULT_URL)

    _run_codesign(workloads=nets, space=space, area_budget=budget, optimizer=optimizer, objective=objective,
                  hw_budget=hw_budget, hw_batch=hw_batch, mapper=mapper, mapper_budget=mapper_budget, seed=seed,
                  storage=url, study=study, resume=resume, jobs=jobs, out=out, as_json=as_json,
                  default_out=default_run_dir, title="co-design", executor_name=executor, address=address,
                  report=not no_report, space_options=opts, constraints=constraints)


DEMO_HW_BUDGET = 24
DEMO_MAPPER_BUDGET = 2_000
DEMO_HW_BATCH = 4


@_handle_errors
def demo(
    hw_budget: int = typer.Option(DEMO_HW_BUDGET, "--hw-budget", "-n", help="Hardware points to evaluate."),
    mapper_budget: int = typer.Option(DEMO_MAPPER_BUDGET, "--mapper-budget", "--budget", help="Mapper evaluations per (HW point, layer)."),
    seed: int = typer.Option(0, "--seed", "-s", help="Random seed (results are deterministic for a seed)."),
    jobs: Optional[int] = typer.Option(None, "--jobs", "-j", help="Worker processes mapping layers in parallel (default 1; with --executor ray, the CPUs of a local Ray, default all)."),
    executor: str = typer.Option("local", "--executor", help=_EXECUTOR_HELP),
    address: Optional[str] = typer.Option(None, "--address", help=_ADDRESS_HELP),
    out: Optional[Path] = typer.Option(None, "--out", help="Output directory (default ./cosearch-out/demo-<time>; the study store is cosearch-out/studies.db, or DIR/studies.db with --out)."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON line instead of tables."),
) -> None:
    """A small co-design (DQN, BO over 24 hardware points within eyeriss-168's area); prints where its results are.

    DQN on the eyeriss-like space, constrained BO over --hw-budget points in batches of 4, the auto
    mapper with --mapper-budget evaluations per layer. Prints the best design against eyeriss-168,
    the output directory and the study (cosearch study show NAME).
    """
    from ..arch.hwspace import load_hw_space
    from ..codesign.budget import eyeriss168_area
    from ..codesign.settings import check_budgets
    from ..mappers.network import default_out_dir
    from ..study import DEFAULT_URL, sqlite_url
    from ..workload.io import load_workload

    check_budgets(hw_budget=hw_budget, hw_batch=DEMO_HW_BATCH, mapper_budget=mapper_budget, seed=seed, cli=True)
    _executor_options(executor, address, jobs)
    stamped = default_out_dir(prefix="demo")  # cosearch-out/demo-<date>-<time>: a new study each run
    out_dir = out if out is not None else stamped
    study_name = stamped.name
    url = sqlite_url(out_dir / STUDIES_FILE) if out is not None else DEFAULT_URL
    space = load_hw_space("eyeriss-like")
    _run_codesign(workloads=[load_workload("dqn")], space=space, area_budget=eyeriss168_area(space),
                  optimizer="bo", objective="edp", hw_budget=hw_budget, hw_batch=DEMO_HW_BATCH, mapper="auto",
                  mapper_budget=mapper_budget, seed=seed, storage=url, study=study_name, resume=False,
                  jobs=jobs, out=out_dir, as_json=as_json, default_out=lambda _name: out_dir,
                  title="demo co-design", executor_name=executor, address=address)
