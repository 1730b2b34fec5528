"""``cosearch map``: the best mapping of one layer, or of every unique layer of a network."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import typer
from rich.text import Text

from ..errors import CosearchError
from ._common import (
    _arch_with_precision,
    _console,
    _factorization_option,
    _handle_errors,
    _input_shape_option,
    _input_shapes,
    _load_cli_workload,
    _map_report_sources,
    _max_padding_option,
    _precision_option,
    _print_json,
    _select_layer,
    _space_options,
    _stopped,
    _write_report,
    app,
)


def _select_layers(workload: Optional[str], layer_name: Optional[str], shape: Optional[str],
                   input_shapes: Optional[dict[str, tuple[int, ...]]] = None):
    """(layers, their indices in the workload, workload name, its phases or None): one layer
    (``--layer``/``--shape``) or all."""
    if shape is not None or workload is None or layer_name is not None:
        layer = _select_layer(workload, layer_name, shape, input_shapes)  # the same checks and messages as eval
        if shape is not None:
            return [layer], [0], layer.name, None
        net = _load_cli_workload(workload, input_shapes)
        return [layer], [[l.name for l in net].index(layer.name)], net.name, net.phases
    net = _load_cli_workload(workload, input_shapes)
    return list(net.layers), list(range(len(net))), net.name, net.phases


class _MapProgress:
    """Layers done on stderr: a Rich bar with ETA on a terminal, one line per layer otherwise, or nothing."""

    def __init__(self, total: int, description: str, *, quiet: bool) -> None:
        self.total = total
        self.description = description
        self.quiet = quiet
        self.done = 0
        self.console = _console(stderr=True)
        self.progress = None
        self.task = None
        if not quiet and self.console.is_terminal:
            from ._progress import progress_bar

            self.progress = progress_bar(self.console, "mapping", "layers")

    def __enter__(self) -> "_MapProgress":
        if self.progress is not None:
            self.progress.start()
            self.task = self.progress.add_task(self.description, total=self.total)
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.progress is not None:
            self.progress.stop()

    def note(self, text: str) -> None:
        if not self.quiet:
            self.console.print(Text(text), soft_wrap=True)

    def within_layer(self, index: int, fraction: float) -> None:
        if self.progress is not None:
            self.progress.update(self.task, completed=self.done + fraction)

    def layer_done(self, result: Any) -> None:
        from ..report.tables import fmt_sci

        self.done += 1
        if self.progress is not None:
            self.progress.update(self.task, completed=self.done)
        elif not self.quiet:
            what = (f"EDP {fmt_sci(result.edp)}, {result.evaluations:,} evaluations, {result.seconds:.2f} s"
                    if result.ok else f"failed: {result.error}")
            self.console.print(Text(f"[{self.done}/{self.total}] {result.name}: {what}"), soft_wrap=True)


@app.command("map")
@_handle_errors
def map_cmd(
    arch: str = typer.Option(..., "--arch", "-a", help="Preset name (eyeriss-168, eyeriss-256, simple-64) or arch YAML/JSON file."),
    workload: Optional[str] = typer.Option(None, "--workload", "-w", help="Zoo network name or workload file (all its unique layers unless --layer)."),
    layer: Optional[str] = typer.Option(None, "--layer", "-l", help="Map only this layer of --workload."),
    shape: Optional[str] = typer.Option(None, "--shape", help='Inline layer instead of --workload, e.g. "K=64 C=64 P=56 Q=56 R=3 S=3".'),
    input_shape: Optional[list[str]] = _input_shape_option(),
    optimizer: str = typer.Option("auto", "--optimizer", "-o", help="Mapper: auto, random, ga, sa, bo, vanilla-bo."),
    budget: Optional[int] = typer.Option(None, "--budget", "-n", help="Evaluations per layer (default 50,000 if no --time-limit)."),
    time_limit: Optional[float] = typer.Option(None, "--time-limit", "-t", help="Seconds of search per layer; with --budget, stop at whichever comes first."),
    objective: str = typer.Option("edp", "--objective", help="What to minimise per layer: edp, energy or cycles."),
    constraints: Optional[Path] = typer.Option(None, "--constraints", "-c", help="Mapping constraints file (format: docs/formats.md)."),
    dataflow: Optional[str] = typer.Option(None, "--dataflow", help="Named dataflow: row-stationary, weight-stationary, output-stationary, input-stationary."),
    seed: int = typer.Option(0, "--seed", "-s", help="Random seed (same seed and budget: same results, for any --jobs)."),
    jobs: int = typer.Option(1, "--jobs", "-j", help="Layers mapped in parallel (worker processes)."),
    out: Optional[Path] = typer.Option(None, "--out", help="Directory for <layer>.json mappings and results.json (default ./cosearch-out/map-<time>)."),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Print every layer's loop nest (always shown for a single layer)."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON line instead of tables."),
    no_report: bool = typer.Option(False, "--no-report", help="Do not write the HTML report (--out/report/)."),
    factorization: str = _factorization_option(),
    max_padding: Optional[float] = _max_padding_option(),
    precision: Optional[str] = _precision_option(),
) -> None:
    """Search the best mapping of one layer, or of every unique layer of a network, on an architecture.

    Prints per-layer results (energy, cycles, EDP, utilisation, evaluations, seconds), network totals
    (with repeat counts) and loop nests; writes each best mapping (loadable by `cosearch eval
    --mapping`) and results.json to --out as each layer finishes.
    """
    from ..arch.io import load_arch
    from ..mappers.network import default_out_dir, map_network

    # settings first (cheap, one clear message each)
    if constraints is not None and dataflow is not None:
        raise CosearchError("give either --constraints FILE or --dataflow NAME, not both")
    from ..mappers.settings import check_settings

    check_settings(optimizer=optimizer, objective=objective, budget=budget, time_limit=time_limit, jobs=jobs,
                   seed=seed, cli=True)
    opts = _space_options(factorization, max_padding)

    the_arch = _arch_with_precision(load_arch(arch), precision)
    layers, indices, name, phases = _select_layers(workload, layer, shape, _input_shapes(input_shape))
    cons: Any = None
    if dataflow is not None:
        cons = _dataflow_constraints(dataflow, the_arch)
    elif constraints is not None:
        cons = str(constraints)
    out_dir = out if out is not None else default_out_dir()
    header = _run_header(layers, name, the_arch.name, optimizer, objective, budget, time_limit, seed,
                         None if cons is None else (dataflow or constraints))

    with _MapProgress(len(layers), f"{name} on {the_arch.name}", quiet=as_json) as progress:
        try:
            run = map_network(
                the_arch, layers, optimizer=optimizer, budget=budget, time_limit=time_limit, objective=objective,
                constraints=cons, seed=seed, jobs=jobs, out_dir=out_dir, indices=indices, workload_name=name,
                phases=phases, **opts,
                on_layer_done=progress.layer_done, on_progress=progress.within_layer,
                on_start=lambda: progress.note(f"mapping {header}; writing to {out_dir}"),
            )
        except KeyboardInterrupt as err:  # Ctrl-C or SIGTERM: results.json says interrupted
            raise _stopped(err, f"finished layers are saved in {out_dir}") from None
    report_path = None if no_report else _write_report(lambda: _map_report_sources(out_dir), out_dir,
                                                           as_json=as_json)
    if as_json:
        data = run.to_json()
        typer.echo(f"results: {out_dir / 'results.json'}", err=True)
        _print_json(data)
    else:
        _print_run(run, header, out_dir, report_path, verbose=verbose)
    failed = run.failed
    if failed:
        raise CosearchError("no valid mapping found for " + "; ".join(f"{r.name} ({r.error})" for r in failed))


def _run_header(layers: list[Any], name: str, arch_name: str, optimizer: str, objective: str, budget: int | None,
                time_limit: float | None, seed: int, constraints: Any) -> str:
    """One line saying what is mapped, how and with which limits, e.g. ``layer conv1 on eyeriss-168:
    auto mapper, min edp, 50,000 evaluations per layer, seed 0`` (``, constraints NAME`` if any)."""
    what = (f"{len(layers)} layers of {name}" if len(layers) > 1 else f"layer {layers[0].name}") + f" on {arch_name}"
    limit = " and ".join(x for x in (f"{budget:,} evaluations" if budget is not None else "",
                                     f"{time_limit:g} s" if time_limit is not None else "") if x)
    if not limit:
        from ..mappers.layer import DEFAULT_BUDGET

        limit = f"{DEFAULT_BUDGET:,} evaluations"
    header = f"{what}: {optimizer} mapper, min {objective}, {limit} per layer, seed {seed}"
    if constraints is not None:
        header += f", constraints {constraints}"
    return header


def _print_run(run: Any, header: str, out_dir: Path, report_path: Path | None, *, verbose: bool) -> None:
    """The tables of a finished :func:`~cosearch.mappers.network.map_network` run: loop nests (of a
    single layer, or of every layer with ``verbose``), per-layer results, network totals (several layers
    or repeats), evaluations and time, and where the files are."""
    from ..report.tables import layer_results_table, loop_nest_text, network_totals_table, phase_totals_table

    console = _console()
    single = len(run.layers) == 1
    for r in run.layers:
        if r.ok and (single or verbose):
            console.print(Text(f"Loop nest of {r.name} (outer -> inner)", style="bold"))
            console.print(Text(loop_nest_text(r.loop_nest)))
    console.print(Text(header[0].upper() + header[1:], style="bold"))
    console.print(layer_results_table([r.table_row() for r in run.layers]))
    if not single or run.layers[0].count > 1:
        console.print(network_totals_table(run.totals))
    if run.phase_totals:
        console.print(phase_totals_table(run.phase_totals))
    evals = sum(r.evaluations for r in run.layers)
    console.print(Text(f"{evals:,} evaluations in {run.seconds:.1f} s; mappings and results.json in {out_dir}"))
    if report_path is not None:
        console.print(Text(f"report: {report_path}"), soft_wrap=True)


def _dataflow_constraints(name: str, arch: Any) -> Any:
    """The constraints of a named dataflow (``CosearchError`` naming the known ones if unknown)."""
    from ..mapping.constraints import dataflow_constraints

    try:
        return dataflow_constraints(name, arch)
    except CosearchError:
        raise
    except ValueError as err:  # unknown name
        raise CosearchError(f"--dataflow: {err}") from None
