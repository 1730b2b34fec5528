"""``cosearch study list|show|export|work``: co-design studies in a study store."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Optional

import typer
from rich.text import Text

from .._io import write_atomic
from ..errors import CosearchError
from ..limits import check_float
from ._common import (
    _ADDRESS_HELP,
    _EXECUTOR_HELP,
    _STORAGE_HELP,
    _console,
    _executor_options,
    _executor_text,
    _handle_errors,
    _print_json,
    app,
)

study_app = typer.Typer(
    name="study", help="Co-design studies in a study store: list, show, export; work on one (a worker process).", no_args_is_help=True,
    add_completion=False, context_settings={"help_option_names": ["-h", "--help"]},
)
app.add_typer(study_app, name="study")


def _fmt_time(value: Any) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value is not None else "-"


@study_app.command("list")
@_handle_errors
def study_list(
    storage: Optional[str] = typer.Option(None, "--storage", help=_STORAGE_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON line instead of a table."),
) -> None:
    """List the studies of a store: workloads, optimizer, objective, trials by state, best value."""
    from rich.table import Table

    from ..report.sources import open_store
    from ..report.tables import fmt_sci
    from ..study import storage_url

    store = open_store(storage, missing_ok=True)
    summaries = [] if store is None else store.list_studies()
    rows = []
    for s in summaries:
        cfg = s.study.config or {}
        rows.append({
            "name": s.name, "created": s.study.created.isoformat() if s.study.created else None,
            "version": s.study.version, "workloads": cfg.get("workloads"), "optimizer": cfg.get("optimizer"),
            "objective": s.study.objective, "hw_budget": cfg.get("hw_budget"), "trials": s.n_trials,
            "states": s.states, "best_value": s.best_value,
        })
    if as_json:
        _print_json(rows)
        return
    console = _console()
    where = store.url if store is not None else storage_url(storage)
    if not rows:
        console.print(Text(f"no studies in {where}"))
        return
    table = Table(title=f"Studies in {where}")
    for col in ("study", "created", "workloads", "optimizer", "objective", "trials", "states", "best value"):
        table.add_column(col, justify="right" if col in ("trials", "best value") else "left")
    for r, s in zip(rows, summaries):
        budget = r["hw_budget"]
        states = ", ".join(f"{n} {k}" for k, n in r["states"].items() if n and k != "complete") or "-"
        table.add_row(r["name"], _fmt_time(s.study.created), "+".join(r["workloads"] or []) or "-",
                      r["optimizer"] or "-", r["objective"],
                      f"{r['states']['complete']}/{budget}" if budget else str(r["trials"]), states,
                      fmt_sci(r["best_value"]))
    console.print(table)


@study_app.command("show")
@_handle_errors
def study_show(
    name: str = typer.Argument(..., help="Study name (cosearch study list)."),
    storage: Optional[str] = typer.Option(None, "--storage", help=_STORAGE_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON line instead of tables."),
) -> None:
    """One study: its configuration and its trials (state, parameters, area, costs, objective value; best marked)."""
    from ..report.sources import open_store

    store = open_store(storage)
    st = store.load_study(name)
    trials = store.trials(st)
    best = store.best_trial(st, layers=False)
    best_number = best.number if best is not None else None
    if as_json:
        _print_json({"study": st.to_json(), "states": store.count_trials(st), "best": best_number,
                     "trials": [t.to_json(layers=False) for t in trials]})
        return
    console = _console()
    console.print(_study_info_table(store, st, best))
    if not trials:
        return
    console.print(_trials_table(st, trials, best_number))


def _study_info_table(store: Any, st: Any, best: Any) -> Any:
    """A Rich table of the study's configuration: store, creation, workloads, hardware space, area
    budget, optimizer, mapper, objective, trial counts per state and the best trial (``best`` or ``None``)."""
    from rich.table import Table

    from ..report.tables import fmt_int, fmt_sci

    cfg = st.config or {}
    space = cfg.get("hw_space") or {}
    info = Table(title=f"Study {st.name}", show_header=False)
    info.add_column("key", style="bold")
    info.add_column("value")
    info.add_row("store", store.url)
    info.add_row("created", f"{_fmt_time(st.created)} UTC, cosearch {st.version}")
    if cfg.get("workloads"):
        info.add_row("workloads", ", ".join(cfg["workloads"]))
    if space:
        info.add_row("hardware space", f"{space.get('name')} (template {space.get('template')}, estimator "
                                       f"{space.get('estimator')}, DRAM {space.get('dram_bandwidth')} words/cycle)")
    if cfg.get("area_budget_mm2") is not None:
        info.add_row("area budget", f"{cfg['area_budget_mm2']:.4f} mm²")
    if cfg.get("optimizer"):
        info.add_row("optimizer", f"{cfg['optimizer']}, {cfg.get('hw_budget')} points in batches of "
                                  f"{cfg.get('hw_batch')}, seed {cfg.get('seed')}")
    if cfg.get("mapper"):
        info.add_row("mapper", f"{cfg['mapper']}, {fmt_int(cfg.get('mapper_budget'))} evaluations per layer")
    info.add_row("objective", f"{st.objective} ({st.direction})")
    counts = store.count_trials(st)
    info.add_row("trials", ", ".join(f"{n} {k}" for k, n in counts.items() if n) or "none")
    if best is not None:
        info.add_row("best", f"trial {best.number}: value {fmt_sci(best.value)}")
    return info


def _parameter_columns(space: dict[str, Any], trials: list[Any]) -> tuple[tuple[str, ...], list[str], dict[str, str]]:
    """``(mesh, cols, short)`` for the trials table: the two mesh parameters (shown as one ``PEs``
    column; ``()`` if none), the other hardware parameters in the template's order (else sorted), and
    the template's short column labels."""
    from ..arch.hwspace import PHYSICAL_SHORT, payload_template, searched_physical

    try:
        template = payload_template(space) if space.get("template") is not None else None
    except CosearchError:
        template = None
    searched = searched_physical(space)  # searched precision, DRAM bandwidth, clock: after the template's
    names = [*template.names, *searched] if template else \
        sorted({k for t in trials for k in (t.hw_params.get("values") or {})})
    mesh = template.mesh if template else (("mesh_x", "mesh_y") if {"mesh_x", "mesh_y"} <= set(names) else ())
    short = {**template.short_labels, **{n: PHYSICAL_SHORT[n] for n in searched}} if template else {}
    return mesh, [n for n in names if n not in mesh], short


def _trials_table(st: Any, trials: list[Any], best_number: int | None) -> Any:
    """A Rich table of the trials: state, hardware parameters, area, costs, objective value, the best
    trial marked ``*`` and (for a ``pareto`` study) the Pareto front of energy, cycles and area."""
    from rich.table import Table

    from ..report.tables import fmt_int, fmt_param, fmt_sci

    mesh, cols, short = _parameter_columns((st.config or {}).get("hw_space") or {}, trials)
    front: set[int] = set()
    if st.objective == "pareto":  # mark the Pareto front (energy, cycles, area)
        from ..codesign.driver import pareto_front_trials

        front = {t.number for t in pareto_front_trials(trials)}
    table = Table(title="Trials (sizes in words, bandwidth in words/cycle; * = best"
                        + (", front = on the Pareto front of energy, cycles and area)" if front else ")"))
    table.add_column("#", justify="right")
    table.add_column("state")
    if mesh:
        table.add_column("PEs", justify="right")
    for n in cols:
        table.add_column(short.get(n, n), justify="right")
    for col in ("area mm²", "energy pJ", "cycles", "EDP", "value"):
        table.add_column(col, justify="right", no_wrap=True)
    table.add_column("best")
    table.add_column("note")
    for t in trials:
        values = t.hw_params.get("values") or {}
        res = t.result or {}
        area = res.get("area_mm2")
        valid = res.get("valid", True)
        note = (t.error or "") if t.state == "failed" else ("" if valid else str(res.get("reason") or "invalid"))
        if t.number in front:
            note = "front"
        pes = [f"{fmt_param(values.get(mesh[0]))}×{fmt_param(values.get(mesh[1]))}"] if mesh else []
        table.add_row(
            str(t.number), t.state, *pes, *[fmt_param(values.get(n)) for n in cols],
            "-" if area is None else f"{area:.3f}",
            fmt_sci(res.get("energy_pj"), 3) if valid else "-", fmt_int(res.get("cycles")) if valid else "-",
            fmt_sci(res.get("edp"), 3) if valid else "-", fmt_sci(t.value, 3),
            "*" if t.number == best_number else "", Text(note),
        )
    return table


@study_app.command("export")
@_handle_errors
def study_export(
    name: str = typer.Argument(..., help="Study name (cosearch study list)."),
    fmt: str = typer.Option("json", "--format", "-f", help="json (the whole study with layer results) or csv (one row per trial)."),
    layers: bool = typer.Option(False, "--layers", help="csv: one row per (trial, layer) instead of per trial."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Write to this file instead of stdout."),
    storage: Optional[str] = typer.Option(None, "--storage", help=_STORAGE_HELP),
) -> None:
    """Export a study: JSON (config, trials, per-layer mappings) or CSV."""
    if fmt not in ("json", "csv"):
        raise CosearchError(f"unknown export format {fmt!r} (--format json or csv)")
    from ..report.sources import open_store

    store = open_store(storage)
    text = store.export(name, fmt, layers=layers)
    if out is None:
        typer.echo(text, nl=False)
        return
    write_atomic(out, text)
    typer.echo(f"wrote {out}", err=True)


@study_app.command("work")
@_handle_errors
def study_work(
    name: str = typer.Argument(..., help="The co-design study to work on (driven by a cosearch codesign elsewhere)."),
    storage: Optional[str] = typer.Option(None, "--storage", help="The study's store, shared with the driver (e.g. postgresql://USER:PASSWORD@HOST/DB)."),
    jobs: Optional[int] = typer.Option(None, "--jobs", "-j", help="Worker processes mapping layers in parallel (default 1; with --executor ray, the CPUs of a local Ray, default all)."),
    executor: str = typer.Option("local", "--executor", help=_EXECUTOR_HELP),
    address: Optional[str] = typer.Option(None, "--address", help=_ADDRESS_HELP),
    idle_timeout: float = typer.Option(300.0, "--idle-timeout", help="Stop after this many seconds with no trial pending or running anywhere."),
    wait: float = typer.Option(0.0, "--wait", help="Seconds to wait for the study to appear (a driver about to create it); default: fail at once if it does not exist."),
    hw_budget: Optional[int] = typer.Option(None, "--hw-budget", "-n", help="Stop once the study has this many finished trials (default: its own budget; give the larger one if the driver extended it with --resume)."),
    poll: float = typer.Option(1.0, "--poll", help="Seconds between looks at the store when there is nothing to claim."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON line at the end instead of text."),
) -> None:
    """Join a co-design study as a worker: claim its pending trials (atomically), map their layers, commit them.

    The driver (cosearch codesign --study NAME --storage URL) proposes batches of hardware points and
    tells the optimizer; any number of workers, on this machine or others, share the evaluation
    through the store (PostgreSQL for several machines; docs/scale-out.md). A worker never proposes.
    It stops when the study has its budget of finished trials, or after --idle-timeout seconds with
    no trial pending or running anywhere.
    """
    from ..codesign.driver import Codesign
    from ..study.executor import make_executor

    _executor_options(executor, address, jobs)
    _check_work_options(idle_timeout, poll, hw_budget, wait)
    console = _console(stderr=True)
    store = _open_when_ready(storage, name, wait, poll, console=None if as_json else console)
    work = None
    run_executor = None
    try:
        work = Codesign.from_study(store, name, poll_s=poll)
        run_executor = work.executor = make_executor(executor, jobs=jobs, address=address)
        if not as_json:
            console.print(Text(f"worker {work.worker_id} on study {name} in {store.url} "
                               f"({_executor_text(run_executor)}); waiting for trials ..."), soft_wrap=True)
        work.on_trial = _trial_printer(None if as_json else console)
        started = time.perf_counter()
        done = work.work(idle_timeout_s=idle_timeout, hw_budget=hw_budget)
        seconds = time.perf_counter() - started
    finally:
        if run_executor is not None:
            run_executor.close()
    states = store.count_trials(name)
    if as_json:
        _print_json({"study": name, "storage": store.url, "worker": work.worker_id, "trials_done": done,
                     "states": states, "seconds": round(seconds, 3)})
    else:
        console.print(Text(f"worker {work.worker_id} finished {done} trial(s) in {seconds:.1f} s; study {name} has "
                           + ", ".join(f"{n} {k}" for k, n in states.items() if n)), soft_wrap=True)


def _check_work_options(idle_timeout: float, poll: float, hw_budget: int | None, wait: float = 0.0) -> None:
    """``--idle-timeout`` >= 0 s, 0 < ``--poll`` <= 60 s, ``--hw-budget`` >= 1, ``--wait`` >= 0 s and finite
    (one message each)."""
    if not idle_timeout >= 0:
        raise CosearchError(f"--idle-timeout must be >= 0 seconds, got {idle_timeout}")
    check_float(wait, "--wait (seconds)")
    if not 0 < poll <= 60:
        raise CosearchError(f"--poll must be more than 0 and at most 60 seconds, got {poll}")
    if hw_budget is not None and hw_budget < 1:
        raise CosearchError(f"--hw-budget must be at least 1 hardware point, got {hw_budget}")


def _open_when_ready(storage: Optional[str], name: str, wait: float, poll: float, *, console: Any) -> Any:
    """The store at ``storage`` once it holds study ``name``, looking every ``poll`` s for at most ``wait``
    s (a driver may be about to create both). ``StudyNotFoundError`` (naming the studies there and
    ``--wait``) if the study is not there in time; the store's own error if the store never appears.
    ``console``: where to say that it waits (``None``: silent)."""
    from ..report.sources import open_store
    from ..study import StudyNotFoundError

    deadline = time.monotonic() + wait
    said = False
    while True:
        store = open_store(storage, missing_ok=time.monotonic() < deadline)
        if store is not None and store.has_study(name):
            return store
        if time.monotonic() >= deadline:
            break
        if console is not None and not said:
            where = store.url if store is not None else storage or "the default store"
            console.print(Text(f"waiting up to {wait:g} s for study {name} to appear in {where} ..."), soft_wrap=True)
            said = True
        time.sleep(min(poll, max(0.0, deadline - time.monotonic())))
    names = [summary.study.name for summary in store.list_studies()]
    listed = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
    there = f" (studies there: {listed})" if names else " (it holds no study)"
    hint = "" if wait > 0 else "; give --wait SECONDS to wait for a driver to create it"
    raise StudyNotFoundError(f"no study named {name!r} in {store.url}{there}{hint}")


def _trial_printer(console: Any) -> Callable[[dict[str, Any]], None]:
    """The worker's ``on_trial`` callback: one line per committed trial (EDP and area, or why it is
    invalid) on ``console``; ``None``: print nothing (``--json``)."""

    def on_trial(info: dict[str, Any]) -> None:
        if console is None:
            return
        from ..report.tables import fmt_sci

        what = (f"EDP {fmt_sci(info.get('edp'), 3)}, area {info['area_mm2']:.2f} mm²" if info.get("valid")
                else f"invalid ({info.get('reason')})")
        console.print(Text(f"trial {info['number']}: {what}"), soft_wrap=True)

    return on_trial
