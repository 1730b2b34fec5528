"""The ``cosearch`` command line: a thin Typer app that parses, calls the library and renders with Rich.

Commands: ``zoo``, ``eval``, ``validate``, ``map``, ``demo`` (``cosearch COMMAND --help`` for details).

Conventions: bad input (a :class:`~cosearch.errors.CosearchError`, or a pydantic/YAML/JSON/OS error
the library lets through) prints one line ``error: <message>`` on stderr and exits with status 2,
never a traceback; usage errors (unknown options) are Typer's and exit 2 as well. With ``--json`` a
command prints exactly one line on stdout, a JSON object (or list) that is also the last line.
Progress bars go to stderr. Set ``COSEARCH_DEBUG=1`` to see tracebacks of internal errors.
"""

from __future__ import annotations

import functools
import json
import math
import os
import sys
import time
from pathlib import Path
from typing import Any, Callable, Optional, TypeVar

import numpy as np
import typer
from rich.console import Console
from rich.text import Text

from . import __version__
from .errors import CosearchError

F = TypeVar("F", bound=Callable[..., Any])

EXIT_BAD_INPUT = 2
EXIT_INTERNAL = 1

app = typer.Typer(
    name="cosearch",
    help="Co-design DNN accelerators on a vectorised, Timeloop-exact cost model.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


# ---------------------------------------------------------------------------------------------------
# plumbing: consoles, errors, JSON


def _console(*, stderr: bool = False) -> Console:
    """A Rich console on stdout (or stderr); wide when not a terminal so tables are not squeezed."""
    stream = sys.stderr if stderr else sys.stdout
    try:
        tty = stream.isatty()
    except (AttributeError, ValueError):
        tty = False
    return Console(file=stream, width=None if tty else 160, highlight=False, soft_wrap=False)


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def _fail(message: str, code: int = EXIT_BAD_INPUT) -> None:
    """Print ``error: <message>`` (one line) on stderr and exit with ``code``."""
    typer.echo(f"error: {_one_line(message)}", err=True)
    raise typer.Exit(code)


def _passthrough_exceptions() -> tuple[type[BaseException], ...]:
    """Typer's own exits and usage errors (Typer >= 0.2x vendors Click; older versions use Click)."""
    kinds: list[type[BaseException]] = [typer.Exit, typer.Abort]
    if hasattr(typer, "TyperException"):
        kinds.append(typer.TyperException)
    try:
        import click

        kinds.append(click.ClickException)
    except ImportError:
        pass
    return tuple(kinds)


_PASSTHROUGH = _passthrough_exceptions()


def _handle_errors(fn: F) -> F:
    """Turn user errors into one ``error:`` line and exit status 2 (never a traceback)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from pydantic import ValidationError
        import yaml

        try:
            return fn(*args, **kwargs)
        except _PASSTHROUGH:
            raise
        except CosearchError as err:
            _fail(str(err))
        except ValidationError as err:
            from .arch.io import format_validation_error

            _fail(format_validation_error(err, err.title or "input"))
        except yaml.YAMLError as err:
            _fail(f"malformed YAML: {err}")
        except json.JSONDecodeError as err:
            _fail(f"malformed JSON at line {err.lineno} column {err.colno}: {err.msg}")
        except UnicodeDecodeError as err:
            _fail(f"a file is not UTF-8 text ({err.reason} at byte {err.start})")
        except OSError as err:
            where = f"{err.filename}: " if err.filename else ""
            _fail(f"{where}{err.strerror or err}")
        except KeyboardInterrupt:
            typer.echo("error: interrupted", err=True)
            raise typer.Exit(130)
        except Exception as err:  # a bug, not bad input: still one line unless debugging
            if os.environ.get("COSEARCH_DEBUG"):
                raise
            _fail(
                f"internal error ({type(err).__name__}: {err}); rerun with COSEARCH_DEBUG=1 for the traceback",
                EXIT_INTERNAL,
            )

    return wrapper  # type: ignore[return-value]


def _jsonable(value: Any) -> Any:
    """Plain JSON data: numpy scalars/arrays converted, non-finite floats as ``null``."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return _jsonable(value.tolist())
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        x = float(value)
        return x if math.isfinite(x) else None
    return value


def _print_json(data: Any) -> None:
    """One line of JSON on stdout."""
    typer.echo(json.dumps(_jsonable(data), separators=(",", ":")))


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"cosearch {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version_callback, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """Co-design DNN accelerators on a vectorised, Timeloop-exact cost model."""


# ---------------------------------------------------------------------------------------------------
# zoo


@app.command()
@_handle_errors
def zoo(
    network: Optional[str] = typer.Argument(
        None, help="Show the layers of this zoo network or workload file instead of the list."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON line instead of tables."),
) -> None:
    """List the built-in networks (name, unique layers, layers with repeats, MACs), or one network's layers."""
    from .report.tables import layer_shape_fields, network_table, zoo_table
    from .workload.io import load_workload
    from .workload.zoo import zoo_names

    if network is not None:
        net = load_workload(network)
        if as_json:
            _print_json({
                "name": net.name,
                "description": net.description,
                "unique_layers": len(net),
                "layers": net.num_layers,
                "macs": net.macs,
                "layer_list": [{**layer_shape_fields(l), "count": l.count, "macs": l.macs} for l in net],
            })
        else:
            _console().print(network_table(net))
        return
    nets = [load_workload(name) for name in zoo_names()]
    if as_json:
        _print_json([
            {"name": n.name, "unique_layers": len(n), "layers": n.num_layers, "macs": n.macs,
             "description": n.description}
            for n in nets
        ])
        return
    _console().print(zoo_table(nets))


# ---------------------------------------------------------------------------------------------------
# eval


def _select_layer(workload: Optional[str], layer_name: Optional[str], shape: Optional[str]):
    """The layer to evaluate: from ``--shape``, or from ``--workload`` (``--layer`` if it has several)."""
    from .workload.io import load_workload, parse_shape

    if shape is not None:
        if workload is not None:
            raise CosearchError("give either --workload or --shape, not both")
        if layer_name is not None:
            raise CosearchError("--layer selects a layer of --workload; it cannot be used with --shape")
        return parse_shape(shape)
    if workload is None:
        raise CosearchError("give the layer: --workload NAME|FILE [--layer NAME] or --shape \"K=64 C=64 ...\"")
    net = load_workload(workload)
    names = [l.name for l in net]
    if layer_name is None:
        if len(net) == 1:
            return net.layers[0]
        raise CosearchError(
            f"{workload}: {len(net)} layers, choose one with --layer: {', '.join(names)}"
        )
    for layer in net:
        if layer.name == layer_name:
            return layer
    raise CosearchError(f"{workload}: no layer {layer_name!r} (--layer); layers: {', '.join(names)}")


@app.command("eval")
@_handle_errors
def eval_cmd(
    arch: str = typer.Option(..., "--arch", "-a", help="Preset name (eyeriss-168, eyeriss-256, simple-64) or arch YAML/JSON file."),
    mapping: Path = typer.Option(..., "--mapping", "-m", help="Mapping JSON file (format: docs/formats.md)."),
    workload: Optional[str] = typer.Option(None, "--workload", "-w", help="Zoo network name or workload file."),
    layer: Optional[str] = typer.Option(None, "--layer", "-l", help="Layer of --workload (needed if it has several)."),
    shape: Optional[str] = typer.Option(None, "--shape", help='Inline layer instead of --workload, e.g. "K=64 C=64 P=56 Q=56 R=3 S=3".'),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON line instead of tables."),
) -> None:
    """Evaluate one mapping of one layer on an architecture: costs, per-level breakdown, loop nest."""
    from .arch.io import load_arch
    from .mapping.mapping import Mappings, load_mapping
    from .model.evaluate import evaluate
    from .report.tables import breakdown_dict, layer_shape_fields, level_breakdown_table, loop_nest, summary_table

    the_arch = load_arch(arch)
    the_layer = _select_layer(workload, layer, shape)
    source = str(mapping)
    readable = load_mapping(mapping)
    batch = Mappings.from_list([readable], the_arch, source=source)
    from .mapping.checks import check_factors, explain_invalid

    check_factors(batch, the_layer, source)
    costs = evaluate(the_arch, the_layer, batch, breakdown=True)
    if not bool(costs.valid[0]):
        raise CosearchError(explain_invalid(the_arch, the_layer, batch, costs, source))
    if as_json:
        _print_json({
            "arch": the_arch.name,
            "layer": layer_shape_fields(the_layer),
            "mapping": source,
            "valid": True,
            "energy_pj": float(costs.energy_pj[0]),
            "cycles": float(costs.cycles[0]),
            "edp": float(costs.edp[0]),
            "utilization": float(costs.utilization[0]),
            "macs": int(costs.macs),
            "compute_cycles": int(costs.compute_cycles[0]),
            "utilized_pes": int(costs.utilized_pes[0]),
            "mac_energy_pj": float(costs.macs * the_arch.mac.energy_pj),
            "levels": breakdown_dict(the_arch, costs),
        })
        return
    console = _console()
    console.print(Text(f"arch {the_arch.name}, layer {the_layer.name} ({the_layer.shape_text()}), mapping {source}",
                       style="bold"))
    console.print(summary_table(costs))
    console.print(level_breakdown_table(the_arch, costs))
    console.print(Text("Loop nest (outer -> inner)", style="bold"))
    console.print(Text(loop_nest(the_arch, batch, tile_words=costs.tile_words)))


# ---------------------------------------------------------------------------------------------------
# validate


@app.command()
@_handle_errors
def validate(
    records: Path = typer.Argument(..., help="JSON-lines file of reference records (shared/reference schema)."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as one JSON line."),
    limit: int = typer.Option(30, "--limit", min=0, help="Show at most this many disagreeing cases."),
) -> None:
    """Compare the cost model with Timeloop reference records: per-case disagreements and a summary.

    A report: exits 0 even if cases disagree; 2 only if the file cannot be read.
    """
    from .reference import validate_records
    from .report.tables import validation_cases_table, validation_summary_table

    results, summary = validate_records(records)
    if as_json:
        _print_json(summary)
        return
    console = _console()
    scored = [r for r in results if not r.skipped]
    bad = [r for r in scored if not r.agrees]
    if bad:
        console.print(validation_cases_table(bad, limit=limit))
    skipped = len(results) - len(scored)
    console.print(Text(
        f"{len(scored) - len(bad)} of {len(scored)} cases agree with Timeloop "
        f"(valid: every count exact; invalid: rejected for the same reason)"
        + (f"; {skipped} skipped (link transfers, not modelled)" if skipped else ""),
        style="bold",
    ))
    console.print(validation_summary_table(summary))


# ---------------------------------------------------------------------------------------------------
# map


def _select_layers(workload: Optional[str], layer_name: Optional[str], shape: Optional[str]):
    """(layers, their indices in the workload, workload name): one layer (``--layer``/``--shape``) or all."""
    from .workload.io import load_workload

    if shape is not None or workload is None or layer_name is not None:
        layer = _select_layer(workload, layer_name, shape)  # the same checks and messages as eval
        if shape is not None:
            return [layer], [0], layer.name
        net = load_workload(workload)
        return [layer], [[l.name for l in net].index(layer.name)], net.name
    net = load_workload(workload)
    return list(net.layers), list(range(len(net))), net.name


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
            from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn,
                                       TimeRemainingColumn)

            self.progress = Progress(
                TextColumn("[bold]mapping {task.description}"), BarColumn(), MofNCompleteColumn(),
                TextColumn("layers"), TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
                console=self.console, transient=False,
            )

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
        from .report.tables import fmt_sci

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
    optimizer: str = typer.Option("auto", "--optimizer", "-o", help="Mapper: auto, random, ga, sa, bo, vanilla-bo."),
    budget: Optional[int] = typer.Option(None, "--budget", "-n", help="Evaluations per layer (default 20,000 if no --time-limit)."),
    time_limit: Optional[float] = typer.Option(None, "--time-limit", "-t", help="Seconds of search per layer; with --budget, stop at whichever comes first."),
    objective: str = typer.Option("edp", "--objective", help="What to minimise per layer: edp, energy or cycles."),
    constraints: Optional[Path] = typer.Option(None, "--constraints", "-c", help="Mapping constraints file (format: docs/formats.md)."),
    dataflow: Optional[str] = typer.Option(None, "--dataflow", help="Named dataflow: row-stationary, weight-stationary, output-stationary, input-stationary."),
    seed: int = typer.Option(0, "--seed", "-s", help="Random seed (same seed and budget: same results, for any --jobs)."),
    jobs: int = typer.Option(1, "--jobs", "-j", help="Layers mapped in parallel (worker processes)."),
    out: Optional[Path] = typer.Option(None, "--out", help="Directory for <layer>.json mappings and results.json (default ./cosearch-out/map-<time>)."),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Print every layer's loop nest (always shown for a single layer)."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON line instead of tables."),
) -> None:
    """Search the best mapping of one layer, or of every unique layer of a network, on an architecture.

    Prints per-layer results (energy, cycles, EDP, utilisation, evaluations, seconds), network totals
    (with repeat counts) and loop nests; writes each best mapping (loadable by `cosearch eval
    --mapping`) and results.json to --out as each layer finishes.
    """
    from .arch.io import load_arch
    from .report.tables import layer_results_table, loop_nest_text, network_totals_table
    from .search.run import default_out_dir, map_network

    # settings first (cheap, one clear message each)
    if constraints is not None and dataflow is not None:
        raise CosearchError("give either --constraints FILE or --dataflow NAME, not both")
    from .search.run import check_settings

    check_settings(optimizer=optimizer, objective=objective, budget=budget, time_limit=time_limit, jobs=jobs,
                   seed=seed, cli=True)

    the_arch = load_arch(arch)
    layers, indices, name = _select_layers(workload, layer, shape)
    cons: Any = None
    if dataflow is not None:
        cons = _dataflow_constraints(dataflow, the_arch)
    elif constraints is not None:
        cons = str(constraints)
    out_dir = out if out is not None else default_out_dir()
    what = (f"{len(layers)} layers of {name}" if len(layers) > 1 else f"layer {layers[0].name}") + f" on {the_arch.name}"
    limit = " and ".join(x for x in (f"{budget:,} evaluations" if budget is not None else "",
                                     f"{time_limit:g} s" if time_limit is not None else "") if x)
    if not limit:
        from .search.mapper import DEFAULT_BUDGET

        limit = f"{DEFAULT_BUDGET:,} evaluations"
    header = f"{what}: {optimizer} mapper, min {objective}, {limit} per layer, seed {seed}"
    if cons is not None:
        header += f", constraints {dataflow or constraints}"

    with _MapProgress(len(layers), f"{name} on {the_arch.name}", quiet=as_json) as progress:
        try:
            run = map_network(
                the_arch, layers, optimizer=optimizer, budget=budget, time_limit=time_limit, objective=objective,
                constraints=cons, seed=seed, jobs=jobs, out_dir=out_dir, indices=indices, workload_name=name,
                on_layer_done=progress.layer_done, on_progress=progress.within_layer,
                on_start=lambda: progress.note(f"mapping {header}; writing to {out_dir}"),
            )
        except KeyboardInterrupt:
            typer.echo(f"error: interrupted; finished layers are saved in {out_dir}", err=True)
            raise typer.Exit(130) from None
    if as_json:
        data = run.to_json()
        typer.echo(f"results: {out_dir / 'results.json'}", err=True)
        _print_json(data)
    else:
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
        evals = sum(r.evaluations for r in run.layers)
        console.print(Text(f"{evals:,} evaluations in {run.seconds:.1f} s; mappings and results.json in {out_dir}"))
    failed = run.failed
    if failed:
        raise CosearchError("no valid mapping found for " + "; ".join(f"{r.name} ({r.error})" for r in failed))


def _dataflow_constraints(name: str, arch: Any) -> Any:
    """The constraints of a named dataflow (``CosearchError`` naming the known ones if unknown)."""
    try:
        from .mapping.constraints import dataflow_constraints
    except ImportError as err:
        raise CosearchError(f"--dataflow: mapping constraints are not available in this version ({err})") from None
    try:
        return dataflow_constraints(name, arch)
    except CosearchError:
        raise
    except ValueError as err:  # unknown name
        raise CosearchError(f"--dataflow: {err}") from None


# ---------------------------------------------------------------------------------------------------
# demo


@app.command()
@_handle_errors
def demo(
    budget: int = typer.Option(20_000, "--budget", "-n", min=1, help="Evaluations per layer."),
    seed: int = typer.Option(0, "--seed", "-s", min=0, help="Random seed (results are deterministic for a seed)."),
    arch: str = typer.Option("eyeriss-168", "--arch", "-a", help="Preset name or arch file."),
    workload: str = typer.Option("resnet18", "--workload", "-w", help="Zoo network name or workload file."),
    save: Optional[Path] = typer.Option(None, "--save", help="Write each layer's best mapping as DIR/<layer>.json (and DIR/results.json)."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON line instead of tables."),
) -> None:
    """Map every unique layer of a network (default ResNet-18 on eyeriss-168) with the auto mapper, min EDP; print per-layer results and network totals.

    A quick `cosearch map` with fixed settings: --budget evaluations per layer, in this process.
    """
    from .arch.io import load_arch
    from .report.tables import layer_results_table, network_totals_table
    from .search.run import map_network
    from .workload.io import load_workload

    the_arch = load_arch(arch)
    net = load_workload(workload)
    with _MapProgress(len(net), f"{net.name} on {the_arch.name}", quiet=as_json) as progress:
        run = map_network(the_arch, net, optimizer="auto", budget=budget, seed=seed, out_dir=save,
                          on_layer_done=progress.layer_done, on_progress=progress.within_layer)
    rows = [r.table_row() for r in run.layers]
    totals = run.totals
    if as_json:
        _print_json({
            "arch": the_arch.name,
            "workload": net.name,
            "optimizer": "auto",
            "budget": budget,
            "seed": seed,
            "seconds": round(run.seconds, 3),
            "layers": rows,
            "totals": totals,
        })
    else:
        console = _console()
        console.print(layer_results_table(rows, title=f"{net.name} on {the_arch.name}: auto mapper, {budget:,} "
                                                      f"evaluations per layer (min EDP), seed {seed}"))
        console.print(network_totals_table(totals))
        evals = sum(r.evaluations for r in run.layers)
        rate = evals / run.seconds if run.seconds > 0 else float("inf")
        console.print(Text(f"{evals:,} mappings evaluated in {run.seconds:.1f} s ({rate:,.0f}/s)"))
    if run.failed:
        raise CosearchError(f"no valid mapping found for {', '.join(r.name for r in run.failed)} within --budget {budget}; raise it")


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point (``cosearch``)."""
    app(args=argv, prog_name="cosearch")


if __name__ == "__main__":  # pragma: no cover
    main()
