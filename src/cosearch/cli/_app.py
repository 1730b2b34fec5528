"""The ``cosearch`` command line: a thin Typer app that parses, calls the library and renders with Rich.

Commands: ``zoo``, ``eval``, ``validate``, ``map``, ``codesign``, ``study list|show|export|work``,
``workload show``, ``demo``
(``cosearch COMMAND --help`` for details).

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

import typer
from rich.console import Console
from rich.text import Text

from .. import __version__
from .._io import to_plain, write_atomic
from ..errors import CosearchError

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
            from .._io import format_validation_error

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


def _print_json(data: Any) -> None:
    """One line of JSON on stdout."""
    typer.echo(json.dumps(to_plain(data), separators=(",", ":")))


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
# workloads given on the command line (shared by zoo, eval, map, codesign, export, workload show)


_INPUT_SHAPE_HELP = "Fix a dynamic input of an ONNX workload: NAME=1x3x224x224 (repeatable)."


def _input_shape_option() -> Any:
    """The ``--input-shape NAME=DIMS`` option (repeatable) of every command that takes a workload."""
    return typer.Option(None, "--input-shape", help=_INPUT_SHAPE_HELP)


def _input_shapes(specs: Optional[list[str]]) -> dict[str, tuple[int, ...]]:
    """Parsed ``--input-shape`` values: ``{input name: dims}`` (empty if none given)."""
    from ..workload.importers.onnx import parse_input_shapes

    return parse_input_shapes(specs)


def _load_cli_workload(source: str, input_shapes: Optional[dict[str, tuple[int, ...]]] = None) -> Any:
    """One workload (zoo name, file, model.onnx or model.py:factory) with its ``--input-shape`` values."""
    from ..workload.io import load_workload

    if input_shapes and Path(source).suffix.lower() != ".onnx":
        raise CosearchError(f"{source}: --input-shape applies only to ONNX models (.onnx files)")
    return load_workload(source, input_shapes=input_shapes or None)


# ---------------------------------------------------------------------------------------------------
# zoo


@app.command()
@_handle_errors
def zoo(
    network: Optional[str] = typer.Argument(
        None, help="Show the layers of this zoo network or workload file instead of the list."
    ),
    input_shape: Optional[list[str]] = _input_shape_option(),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON line instead of tables."),
) -> None:
    """List the built-in networks (name, unique layers, layers with repeats, MACs), or one network's layers."""
    from ..report.tables import layer_shape_fields, network_table, zoo_table
    from ..workload.io import load_workload
    from ..workload.zoo import zoo_names

    shapes = _input_shapes(input_shape)
    if shapes and network is None:
        raise CosearchError("--input-shape fixes the inputs of an ONNX model; give the model (cosearch zoo MODEL.onnx)")
    if network is not None:
        net = _load_cli_workload(network, shapes)
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


def _select_layer(workload: Optional[str], layer_name: Optional[str], shape: Optional[str],
                  input_shapes: Optional[dict[str, tuple[int, ...]]] = None):
    """The layer to evaluate: from ``--shape``, or from ``--workload`` (``--layer`` if it has several)."""
    from ..workload.io import parse_shape

    if shape is not None:
        if workload is not None:
            raise CosearchError("give either --workload or --shape, not both")
        if layer_name is not None:
            raise CosearchError("--layer selects a layer of --workload; it cannot be used with --shape")
        if input_shapes:
            raise CosearchError("--input-shape fixes the inputs of an ONNX --workload; it cannot be used with --shape")
        return parse_shape(shape)
    if workload is None:
        raise CosearchError("give the layer: --workload NAME|FILE [--layer NAME] or --shape \"K=64 C=64 ...\"")
    net = _load_cli_workload(workload, input_shapes)
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
    input_shape: Optional[list[str]] = _input_shape_option(),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON line instead of tables."),
) -> None:
    """Evaluate one mapping of one layer on an architecture: costs, per-level breakdown, loop nest."""
    from ..arch.io import load_arch
    from ..mapping.mapping import Mappings, load_mapping
    from ..model.evaluate import evaluate
    from ..report.tables import breakdown_dict, layer_shape_fields, level_breakdown_table, loop_nest, summary_table

    the_arch = load_arch(arch)
    the_layer = _select_layer(workload, layer, shape, _input_shapes(input_shape))
    source = str(mapping)
    readable = load_mapping(mapping)
    batch = Mappings.from_list([readable], the_arch, source=source)
    from ..mapping.checks import check_factors, explain_invalid

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
    from ..interop.reference import validate_records
    from ..report.tables import validation_cases_table, validation_summary_table

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


def _select_layers(workload: Optional[str], layer_name: Optional[str], shape: Optional[str],
                   input_shapes: Optional[dict[str, tuple[int, ...]]] = None):
    """(layers, their indices in the workload, workload name): one layer (``--layer``/``--shape``) or all."""
    if shape is not None or workload is None or layer_name is not None:
        layer = _select_layer(workload, layer_name, shape, input_shapes)  # the same checks and messages as eval
        if shape is not None:
            return [layer], [0], layer.name
        net = _load_cli_workload(workload, input_shapes)
        return [layer], [[l.name for l in net].index(layer.name)], net.name
    net = _load_cli_workload(workload, input_shapes)
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
) -> None:
    """Search the best mapping of one layer, or of every unique layer of a network, on an architecture.

    Prints per-layer results (energy, cycles, EDP, utilisation, evaluations, seconds), network totals
    (with repeat counts) and loop nests; writes each best mapping (loadable by `cosearch eval
    --mapping`) and results.json to --out as each layer finishes.
    """
    from ..arch.io import load_arch
    from ..report.tables import layer_results_table, loop_nest_text, network_totals_table
    from ..mappers.network import default_out_dir, map_network

    # settings first (cheap, one clear message each)
    if constraints is not None and dataflow is not None:
        raise CosearchError("give either --constraints FILE or --dataflow NAME, not both")
    from ..mappers.network import check_settings

    check_settings(optimizer=optimizer, objective=objective, budget=budget, time_limit=time_limit, jobs=jobs,
                   seed=seed, cli=True)

    the_arch = load_arch(arch)
    layers, indices, name = _select_layers(workload, layer, shape, _input_shapes(input_shape))
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
        from ..mappers.layer import DEFAULT_BUDGET

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
    report_path = None if no_report else _write_report(lambda: _map_report_sources(out_dir), out_dir,
                                                           as_json=as_json)
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
        if report_path is not None:
            console.print(Text(f"report: {report_path}"), soft_wrap=True)
    failed = run.failed
    if failed:
        raise CosearchError("no valid mapping found for " + "; ".join(f"{r.name} ({r.error})" for r in failed))


def _dataflow_constraints(name: str, arch: Any) -> Any:
    """The constraints of a named dataflow (``CosearchError`` naming the known ones if unknown)."""
    try:
        from ..mapping.constraints import dataflow_constraints
    except ImportError as err:
        raise CosearchError(f"--dataflow: mapping constraints are not available in this version ({err})") from None
    try:
        return dataflow_constraints(name, arch)
    except CosearchError:
        raise
    except ValueError as err:  # unknown name
        raise CosearchError(f"--dataflow: {err}") from None


# ---------------------------------------------------------------------------------------------------
# codesign


CODESIGN_OPTIMIZERS = ("bo", "random", "ga", "vanilla-bo")


def _load_workloads(text: str, input_shapes: Optional[dict[str, tuple[int, ...]]] = None) -> list[Any]:
    """``--workload W[,W2,...]``: zoo names or workload files, distinct. ``--input-shape`` values go
    to the ONNX models among them (each gets those naming one of its inputs)."""
    from ..workload.importers.onnx import route_input_shapes

    names = [t.strip() for t in text.split(",")]
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


def _safe_name(text: str) -> str:
    import re

    return re.sub(r"[^A-Za-z0-9._+-]+", "_", str(text)).strip("._") or "x"


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
            from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn,
                                       TimeRemainingColumn)

            self.progress = Progress(
                TextColumn("[bold]co-design {task.description}"), BarColumn(), MofNCompleteColumn(),
                TextColumn("HW points, best design's EDP {task.fields[best]}"), TimeElapsedColumn(), TextColumn("ETA"),
                TimeRemainingColumn(), console=self.console, transient=False,
            )

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


def _param_label(name: str) -> str:
    return {"glb_kb": "GLB KiB", "glb_bandwidth": "GLB words/cycle", "weights_spad_words": "weights spad",
            "ifmap_spad_words": "ifmap spad", "psum_spad_words": "psum spad", "rf_words": "RF words",
            "mesh_x": "mesh x", "mesh_y": "mesh y"}.get(name, name)


def _fmt_param(value: Any) -> str:
    if value is None:
        return "-"
    x = float(value)
    return f"{int(x):,}" if x.is_integer() else f"{x:g}"


def _baseline_names(cd: Any) -> tuple[str, str]:
    """Labels of the two baselines: eyeriss-168 (auto mapper, row-stationary), or the simple template's
    8×8 baseline (auto mapper; no row-stationary variant)."""
    if cd.space.template == "eyeriss":
        return "eyeriss-168 (auto)", "eyeriss-168 (RS)"
    return "simple-8x8 (auto)", "simple-8x8 (same)"


def _codesign_summary(data: dict[str, Any], cd: Any) -> list[Any]:
    """Renderables: design parameters (best vs the baseline), costs, ratios, the Pareto front (objective
    pareto), per-workload EDP."""
    from rich.table import Table

    from ..arch.hwspace import point_name
    from ..report.tables import fmt_int, fmt_sci

    best, base, base_rs = data["best"], data["baseline"], data["baseline_rs"]
    label, label_rs = _baseline_names(cd)
    short = label.split(" ")[0]
    out: list[Any] = []
    params = Table(title=f"Best design (trial {best['trial']}) vs the {short}")
    params.add_column("parameter", style="bold")
    params.add_column("best", justify="right")
    params.add_column(short, justify="right")
    for name in cd.space.names:
        params.add_row(_param_label(name), _fmt_param(best["arch"].get(name)), _fmt_param(base["arch"].get(name)))
    out.append(params)

    costs = Table(title="Costs of the whole network(s): EDP in pJ·cycles, ratio = best EDP ÷ this; "
                        "auto: the study's mapper, RS: row-stationary dataflow")
    for col, just in (("design", "left"), ("area mm²", "right"), ("energy pJ", "right"), ("cycles", "right"),
                      ("EDP", "right"), ("ratio", "right")):
        costs.add_column(col, justify=just, no_wrap=True)  # type: ignore[arg-type]
    rows = [("best design", best, 1.0), (label, base, data["edp_ratio"]), (label_rs, base_rs, data["edp_ratio_rs"])]
    for name, s, ratio in rows:
        costs.add_row(name, f"{s['area_mm2']:.3f}", fmt_sci(s["energy_pj"]), fmt_int(s["cycles"]),
                      fmt_sci(s["edp"]), "-" if ratio is None else f"{ratio:.3f}")
    bound = data.get("bound")
    if bound:  # what no design under the budget can beat (energy and cycles bounded separately)
        costs.add_row("lower bound, any design", f"≤ {cd.area_budget:.3f}", fmt_sci(bound["energy_pj"]),
                      fmt_int(bound["cycles"]), fmt_sci(bound["edp"]), f"{best['edp'] / bound['edp']:.3f}")
    out.append(costs)

    front = data.get("pareto_front")
    if front:
        several = len(best["per_workload"]) > 1
        par = Table(title=f"Pareto front: {len(front)} designs no other trial beats in energy, cycles and area"
                          + (" (energy and cycles: geometric means of the ratios to the baseline)" if several else ""))
        for col in ("trial", "design", "area mm²", "energy" if several else "energy pJ", "cycles", "EDP"):
            par.add_column(col, justify="left" if col == "design" else "right", no_wrap=True)
        for p in front:
            energy, cycles, _area = p["objectives"]
            par.add_row(str(p["trial"]), point_name(p["arch"]), f"{p['area_mm2']:.3f}",
                        f"{energy:.4f}" if several else fmt_sci(energy), f"{cycles:.4f}" if several else fmt_int(cycles),
                        fmt_sci(p["edp"]))
        out.append(par)

    if len(best["per_workload"]) > 1:
        per = Table(title="EDP per workload (the ratios' geometric mean is the ratio above)")
        for col in ("workload", "best", label, "ratio", label_rs, "ratio"):
            per.add_column(col, justify="left" if col == "workload" else "right")
        for w, e in best["per_workload"].items():
            b, r = base["per_workload"][w], base_rs["per_workload"][w]
            per.add_row(w, fmt_sci(e), fmt_sci(b), f"{e / b:.3f}", fmt_sci(r), f"{e / r:.3f}")
        out.append(per)
    return out


def _executor_text(executor: Any) -> str:
    """How units run, for the progress notes: ``mapping in this process``, ``2 worker processes``, ``Ray (4 CPUs, at auto)``."""
    if type(executor).__name__ == "RayExecutor":
        where = f", at {executor.address}" if executor.address else ""
        return f"Ray ({executor.jobs} CPUs{where})"
    return "mapping in this process" if executor.jobs == 1 else f"{executor.jobs} worker processes"


def _executor_options(executor: str, address: Optional[str], jobs: Optional[int]) -> None:
    """Check ``--executor``, ``--address`` and ``--jobs`` together (one-line errors)."""
    from ..study.executor import EXECUTORS

    if executor not in EXECUTORS:
        raise CosearchError(f"unknown executor {executor!r} (--executor; choose from {', '.join(EXECUTORS)})")
    if jobs is not None and jobs < 1:
        raise CosearchError(f"--jobs must be at least 1, got {jobs}")
    if address is not None and executor != "ray":
        raise CosearchError("--address is the Ray cluster to use; it needs --executor ray")
    if address is not None and not address.strip():
        raise CosearchError("--address needs a value: auto, HOST:PORT or ray://HOST:PORT")
    if address is not None and jobs is not None:
        raise CosearchError("--jobs sets the CPUs of a local Ray instance; with --address the cluster's CPUs are used")


_EXECUTOR_HELP = "Where layers are mapped: local (worker processes, --jobs) or ray (a Ray cluster; pip install 'cosearch\\[ray]')."
_ADDRESS_HELP = "With --executor ray: the cluster, auto (started with ray start --head on this machine), HOST:PORT or ray://HOST:PORT; default: a local Ray with --jobs CPUs."


def _run_codesign(
    *, workloads: list[Any], space: Any, area_budget: float, optimizer: str, objective: str, hw_budget: int,
    hw_batch: int, mapper: str, mapper_budget: int, seed: int, storage: str, study: Optional[str], resume: bool,
    jobs: Optional[int], out: Optional[Path], as_json: bool, default_out: Callable[[str], Path], title: str,
    executor_name: str = "local", address: Optional[str] = None, report: bool = True,
) -> None:
    """Build the study, run it with a progress bar and live output files, print the summary or JSON;
    with ``report``, write the HTML report into ``out/report/``."""
    from ..codesign.driver import Codesign
    from ..codesign.outputs import BEST_ARCH_FILE, RESULTS_FILE
    from ..study.executor import make_executor
    from ..study.storage import DEFAULT_URL

    # the executor first: a Ray cluster that cannot be reached must not leave an empty study behind
    executor = make_executor(executor_name, jobs=jobs, address=address)
    try:
        cd = Codesign(workloads, hw_space=space, area_budget_mm2=area_budget, optimizer=optimizer,
                      objective=objective, hw_budget=hw_budget, hw_batch=hw_batch, mapper=mapper,
                      mapper_budget=mapper_budget, seed=seed, storage=storage, study=study, resume=resume,
                      executor=executor)
        out_dir = out if out is not None else default_out(cd.study_name)
        output = cd.open_output(out_dir)
        names = "+".join(w.name for w in workloads)
        with _CodesignProgress(hw_budget, min(output.done, hw_budget), f"{names} ({optimizer})",
                               quiet=as_json) as progress:
            if output.best is not None:
                progress.seed_best(output.best_value, output.best["edp"])
            cd.on_trial = progress.trial
            resumed = f"resuming study {cd.study_name} ({output.done} trials done)" if output.done else \
                f"study {cd.study_name}"
            progress.note(
                f"{title}: {names} on {space.name} ({space.template}, {space.estimator}), area <= {area_budget:.3f} mm², "
                f"{optimizer} over {hw_budget} HW points (batches of {hw_batch}), {mapper} mapper with "
                f"{mapper_budget:,} evaluations per layer, min {cd.objective}, seed {seed}; {resumed} in "
                f"{cd.storage.url}; {_executor_text(executor)}; writing to {out_dir}")
            progress.note("mapping the baselines: " + " and ".join(dict.fromkeys(_baseline_names(cd))) + " ...")
            try:
                res = cd.run()
            except KeyboardInterrupt:
                typer.echo(f"error: interrupted; {output.done} trials are saved in study {cd.study_name} "
                           f"({cd.storage.url}); rerun with --resume to continue", err=True)
                raise typer.Exit(130) from None
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
        console = _console()
        if data["best"] is not None:
            for renderable in _codesign_summary(data, cd):
                console.print(renderable)
        console.print(Text(
            f"{data['trials']} HW points in {data['seconds']:.1f} s. Study {data['study']} in {data['storage']} "
            f"(cosearch study show {data['study']}"
            + ("" if data["storage"] == DEFAULT_URL else f" --storage {data['storage']}")
            + f"); {RESULTS_FILE}, {BEST_ARCH_FILE} and mappings/ in {out_dir}"), soft_wrap=True)
        if report_path is not None:
            console.print(Text(f"report: {report_path}"), soft_wrap=True)
    if data["best"] is None:
        raise CosearchError(f"no valid hardware point found in {data['trials']} trials of study {data['study']} "
                            "(every point had a layer without a valid mapping, or exceeded the area budget)")


@app.command("codesign")
@_handle_errors
def codesign_cmd(
    workload: str = typer.Option(..., "--workload", "-w", help="Zoo network(s) or workload file(s), comma-separated (several: geometric mean of ratios to the baseline)."),
    input_shape: Optional[list[str]] = _input_shape_option(),
    area_budget: Optional[str] = typer.Option(None, "--area-budget", help="Area budget: mm², or a preset whose area under the space's estimator is the budget (default eyeriss-168)."),
    optimizer: str = typer.Option("bo", "--optimizer", "-o", help="Hardware optimizer: bo, random, ga, vanilla-bo."),
    objective: str = typer.Option("edp", "--objective", help="edp, energy, cycles, ednp:N (energy × cycles^N), or "
                                  "pareto (energy, cycles and area together: the result lists the Pareto front)."),
    hw_budget: int = typer.Option(50, "--hw-budget", "-n", help="Hardware points (trials) to evaluate."),
    hw_batch: int = typer.Option(5, "--hw-batch", help="Points proposed per batch (results are a function of it)."),
    hw_space: str = typer.Option("eyeriss-like", "--hw-space", help="Hardware space: eyeriss-like, simple, or a YAML file (docs/codesign.md)."),
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
) -> None:
    """Co-design: search hardware within an area budget, mapping every layer on each point; best design vs eyeriss-168.

    The best design is compared with eyeriss-168 mapped by the same mapper and under row-stationary.
    Every trial is committed to the study store as it finishes (--resume continues a stopped run);
    results.json, the best design's arch file and its mappings are written to --out as the run goes.
    """
    from ..arch.hwspace import load_hw_space
    from ..codesign.budget import parse_area_budget
    from ..codesign.driver import DEFAULT_MAPPER_BUDGET, check_budgets, parse_objective
    from ..mappers.network import check_optimizer
    from ..study.storage import DEFAULT_URL, storage_url

    if optimizer not in CODESIGN_OPTIMIZERS:
        raise CosearchError(f"unknown hardware optimizer {optimizer!r} (--optimizer; choose from "
                            f"{', '.join(CODESIGN_OPTIMIZERS)})")
    parse_objective(objective)
    mapper_budget = DEFAULT_MAPPER_BUDGET if mapper_budget is None else mapper_budget
    check_budgets(hw_budget=hw_budget, hw_batch=hw_batch, mapper_budget=mapper_budget, cli=True)
    _executor_options(executor, address, jobs)
    if seed < 0:
        raise CosearchError(f"--seed must be >= 0, got {seed}")
    if study is not None and not study.strip():
        raise CosearchError("--study needs a non-empty name")
    try:
        check_optimizer(mapper)
    except CosearchError as err:
        raise CosearchError(f"--mapper: {err}") from None

    nets = _load_workloads(workload, _input_shapes(input_shape))
    space = load_hw_space(hw_space)
    budget = parse_area_budget(area_budget, space)
    url = storage if storage is not None else (storage_url(out / "studies.db") if out is not None else DEFAULT_URL)

    def default_out(name: str) -> Path:
        name = _safe_name(name)
        return Path("cosearch-out") / (name if name.startswith("codesign-") else f"codesign-{name}")

    _run_codesign(workloads=nets, space=space, area_budget=budget, optimizer=optimizer, objective=objective,
                  hw_budget=hw_budget, hw_batch=hw_batch, mapper=mapper, mapper_budget=mapper_budget, seed=seed,
                  storage=url, study=study, resume=resume, jobs=jobs, out=out, as_json=as_json,
                  default_out=default_out, title="co-design", executor_name=executor, address=address,
                  report=not no_report)


# ---------------------------------------------------------------------------------------------------
# workload


workload_app = typer.Typer(
    name="workload", help="Inspect workloads: zoo networks, workload files, ONNX models, torch factories.",
    no_args_is_help=True, add_completion=False, context_settings={"help_option_names": ["-h", "--help"]},
)
app.add_typer(workload_app, name="workload")


def _load_with_not_costed(source: str, input_shapes: dict[str, tuple[int, ...]]) -> tuple[Any, list[dict[str, str]]]:
    """The network of ``source`` plus the ops it does not cost (ONNX models and torch factories)."""
    from ..workload.io import load_workload
    from ..workload.importers.onnx import load_onnx
    from ..workload.importers.torch import load_factory, split_factory_spec

    path = Path(source)
    if path.suffix.lower() == ".onnx":
        return load_onnx(path, input_shapes or None)
    if input_shapes:
        raise CosearchError(f"{source}: --input-shape applies only to ONNX models (.onnx files)")
    spec = split_factory_spec(source) if not path.exists() else None
    if spec is not None:
        return load_factory(*spec)
    return load_workload(source), []


@workload_app.command("show")
@_handle_errors
def workload_show(
    source: str = typer.Argument(..., help="Zoo name, workload YAML/JSON, model.onnx, or model.py:factory."),
    input_shape: Optional[list[str]] = _input_shape_option(),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON line instead of tables."),
) -> None:
    """Show a workload's layers (shape, count, MACs, weight/input/output words), totals and the ops not costed."""
    from rich.markup import escape
    from rich.table import Table

    from ..report.tables import layer_shape_fields

    net, not_costed = _load_with_not_costed(source, _input_shapes(input_shape))
    rows = [{**layer_shape_fields(l), "shape": l.shape_text(), "count": l.count, "macs": l.macs,
             "weight_words": l.weight_words, "input_words": l.input_words, "output_words": l.output_words}
            for l in net]
    totals = {"unique_layers": len(net), "layers": net.num_layers, "macs": net.macs,
              "weight_words": sum(l.weight_words * l.count for l in net),
              "input_words": sum(l.input_words * l.count for l in net),
              "output_words": sum(l.output_words * l.count for l in net),
              "not_costed": len(not_costed)}
    if as_json:
        _print_json({"name": net.name, "description": net.description, "totals": totals,
                     "layers": rows, "not_costed": not_costed})
        return
    console = _console()
    table = Table(title=f"{escape(net.name)}: {len(net)} unique layers, {net.num_layers} layers, {totals['macs']:,} MACs")
    for column, justify in (("layer", "left"), ("shape", "left"), ("count", "right"), ("MACs (each)", "right"),
                            ("weights", "right"), ("inputs", "right"), ("outputs", "right")):
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    for row in rows:
        table.add_row(escape(row["name"]), row["shape"], str(row["count"]), f"{row['macs']:,}",
                      f"{row['weight_words']:,}", f"{row['input_words']:,}", f"{row['output_words']:,}")
    table.add_section()
    table.add_row("total", "", str(totals["layers"]), f"{totals['macs']:,}", f"{totals['weight_words']:,}",
                  f"{totals['input_words']:,}", f"{totals['output_words']:,}")
    console.print(table)
    if net.description:
        console.print(escape(net.description))
    if not_costed:
        # one row per (op, reason), in order of first appearance; --json lists every op
        groups: dict[tuple[str, str], list[str]] = {}
        for entry in not_costed:
            groups.setdefault((entry["op"], entry["reason"]), []).append(entry["name"])
        skipped = Table(title=f"{len(not_costed)} ops not costed (no MACs counted; --json lists each one)")
        for column, justify in (("op", "left"), ("count", "right"), ("names", "left"), ("reason", "left")):
            skipped.add_column(column, justify=justify)  # type: ignore[arg-type]
        for (op, reason), names in groups.items():
            shown = ", ".join(names[:3]) + (f", ... (+{len(names) - 3})" if len(names) > 3 else "")
            skipped.add_row(escape(op), str(len(names)), escape(shown), escape(reason))
        console.print(skipped)


# ---------------------------------------------------------------------------------------------------
# study


study_app = typer.Typer(
    name="study", help="Co-design studies in a study store: list, show, export; work on one (a worker process).", no_args_is_help=True,
    add_completion=False, context_settings={"help_option_names": ["-h", "--help"]},
)
app.add_typer(study_app, name="study")

_STORAGE_HELP = "Study store URL (default sqlite:///cosearch-out/studies.db)."


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

    from ..report.tables import fmt_sci
    from ..study.storage import storage_url

    from ..report.data import open_store

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
    from rich.table import Table

    from ..arch.hwspace import TEMPLATE_PARAMS
    from ..report.tables import fmt_int, fmt_sci

    from ..report.data import open_store

    store = open_store(storage)
    st = store.load_study(name)
    trials = store.trials(st)
    best = store.best_trial(st, layers=False)
    best_number = best.number if best is not None else None
    if as_json:
        _print_json({"study": st.to_json(), "states": store.count_trials(st), "best": best_number,
                     "trials": [t.to_json(layers=False) for t in trials]})
        return
    cfg = st.config or {}
    space = cfg.get("hw_space") or {}
    console = _console()
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
    console.print(info)
    if not trials:
        return
    names = list(TEMPLATE_PARAMS.get(space.get("template"), ()))
    if not names:
        names = sorted({k for t in trials for k in (t.hw_params.get("values") or {})})
    mesh = "mesh_x" in names and "mesh_y" in names
    short = {"glb_kb": "GLB KiB", "glb_bandwidth": "GLB bw", "weights_spad_words": "W spad",
             "ifmap_spad_words": "I spad", "psum_spad_words": "P spad", "rf_words": "RF"}
    cols = [n for n in names if not (mesh and n in ("mesh_x", "mesh_y"))]
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
        pes = [f"{_fmt_param(values.get('mesh_x'))}×{_fmt_param(values.get('mesh_y'))}"] if mesh else []
        table.add_row(
            str(t.number), t.state, *pes, *[_fmt_param(values.get(n)) for n in cols],
            "-" if area is None else f"{area:.3f}",
            fmt_sci(res.get("energy_pj"), 3) if valid else "-", fmt_int(res.get("cycles")) if valid else "-",
            fmt_sci(res.get("edp"), 3) if valid else "-", fmt_sci(t.value, 3),
            "*" if t.number == best_number else "", Text(note),
        )
    console.print(table)


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
    from ..report.data import open_store

    store = open_store(storage)
    text = store.export(name, fmt, layers=layers)
    if out is None:
        typer.echo(text, nl=False)
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    typer.echo(f"wrote {out}", err=True)


@study_app.command("work")
@_handle_errors
def study_work(
    name: str = typer.Argument(..., help="The co-design study to work on (driven by a cosearch codesign elsewhere)."),
    storage: Optional[str] = typer.Option(None, "--storage", help="The study's store, shared with the driver (e.g. postgresql://USER:PASSWORD@HOST/DB)."),
    jobs: Optional[int] = typer.Option(None, "--jobs", "-j", help="Worker processes mapping layers in parallel (default 1; with --executor ray, the CPUs of a local Ray, default all)."),
    executor: str = typer.Option("local", "--executor", help=_EXECUTOR_HELP),
    address: Optional[str] = typer.Option(None, "--address", help=_ADDRESS_HELP),
    idle_timeout: float = typer.Option(300.0, "--idle-timeout", help="Stop after this many seconds with no trial pending or running anywhere (also: how long to wait for the study to appear)."),
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
    from ..codesign.outputs import BEST_ARCH_FILE, RESULTS_FILE
    from ..study.executor import make_executor
    from ..study.storage import StudyNotFoundError

    _executor_options(executor, address, jobs)
    if not idle_timeout >= 0:
        raise CosearchError(f"--idle-timeout must be >= 0 seconds, got {idle_timeout}")
    if not 0 < poll <= 60:
        raise CosearchError(f"--poll must be more than 0 and at most 60 seconds, got {poll}")
    if hw_budget is not None and hw_budget < 1:
        raise CosearchError(f"--hw-budget must be at least 1 hardware point, got {hw_budget}")
    from ..report.data import open_store

    store = open_store(storage)
    console = _console(stderr=True)
    deadline = time.monotonic() + idle_timeout
    if not store.has_study(name) and not as_json and idle_timeout > 0:
        console.print(Text(f"waiting for study {name} to appear in {store.url} ..."), soft_wrap=True)
    while not store.has_study(name):  # the driver may not have created it yet
        if time.monotonic() >= deadline:
            raise StudyNotFoundError(f"no study named {name!r} in {store.url}")
        time.sleep(min(poll, max(0.0, deadline - time.monotonic())))
    work = None
    run_executor = None
    try:
        work = Codesign.from_study(store, name, poll_s=poll)
        run_executor = work.executor = make_executor(executor, jobs=jobs, address=address)
        if not as_json:
            console.print(Text(f"worker {work.worker_id} on study {name} in {store.url} "
                               f"({_executor_text(run_executor)}); waiting for trials ..."), soft_wrap=True)

        def on_trial(info: dict[str, Any]) -> None:
            if as_json:
                return
            from ..report.tables import fmt_sci

            what = (f"EDP {fmt_sci(info.get('edp'), 3)}, area {info['area_mm2']:.2f} mm²" if info.get("valid")
                    else f"invalid ({info.get('reason')})")
            console.print(Text(f"trial {info['number']}: {what}"), soft_wrap=True)

        work.on_trial = on_trial
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


# ---------------------------------------------------------------------------------------------------
# export / import timeloop

export_app = typer.Typer(
    name="export", help="Write cosearch designs in other tools' formats (timeloop).", no_args_is_help=True,
    add_completion=False, context_settings={"help_option_names": ["-h", "--help"]},
)
import_app = typer.Typer(
    name="import", help="Read other tools' set-ups into cosearch files (timeloop).", no_args_is_help=True,
    add_completion=False, context_settings={"help_option_names": ["-h", "--help"]},
)
app.add_typer(export_app, name="export")
app.add_typer(import_app, name="import")

TIMELOOP_FILES = ("arch", "problem", "mapping", "ERT")


def _write_timeloop(out: Path, files: dict[str, str], constraints: Optional[str] = None) -> list[str]:
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for key in TIMELOOP_FILES:
        write_atomic(out / f"{key}.yaml", files[key])
        written.append(str(out / f"{key}.yaml"))
    if constraints is not None:
        write_atomic(out / "constraints.yaml", constraints)
        written.append(str(out / "constraints.yaml"))
    return written


@export_app.command("timeloop")
@_handle_errors
def export_timeloop(
    out: Path = typer.Option(..., "--out", "-o", help="Output directory."),
    arch: Optional[str] = typer.Option(None, "--arch", "-a", help="Preset name or arch YAML/JSON file."),
    mapping: Optional[Path] = typer.Option(None, "--mapping", "-m", help="Mapping JSON/YAML file."),
    workload: Optional[str] = typer.Option(None, "--workload", "-w", help="Zoo network name or workload file."),
    layer: Optional[str] = typer.Option(None, "--layer", "-l", help="Layer of --workload (needed if it has several)."),
    shape: Optional[str] = typer.Option(None, "--shape", help='Inline layer instead of --workload, e.g. "K=64 C=64 P=56".'),
    input_shape: Optional[list[str]] = _input_shape_option(),
    study: Optional[str] = typer.Option(None, "--study", help="Export this co-design study's best design instead."),
    storage: Optional[str] = typer.Option(None, "--storage", help=_STORAGE_HELP),
    no_link_transfer: bool = typer.Option(False, "--no-link-transfer", help="Forbid Timeloop's link transfers (cosearch never models them)."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON line listing the files written."),
) -> None:
    """Timeloop inputs: arch.yaml, problem.yaml, mapping.yaml, ERT.yaml (+ constraints.yaml with the
    arch's fixed data spaces) for one mapping, or with --study for every layer of a study's best design
    (OUT/<layer>/...). Run them with timeloop-model OUT/arch.yaml OUT/problem.yaml OUT/mapping.yaml OUT/ERT.yaml."""
    from ..interop.timeloop import constraints_yaml, to_timeloop

    nlt = True if no_link_transfer else None
    written: list[str] = []
    if study is not None:
        if any(v is not None for v in (arch, mapping, workload, layer, shape)) or input_shape:
            raise CosearchError("--study exports a study's own arch and mappings; drop --arch/--mapping/--workload/--layer/--shape/--input-shape")
        from ..arch.hwspace import HWSpace
        from ..mapping.mapping import mapping_from_data
        from ..workload.layer import Layer

        from ..report.data import open_store

        store = open_store(storage)
        st = store.load_study(study)
        best = store.best_trial(st)
        if best is None:
            raise CosearchError(f"study {study!r} has no complete trial with a value yet")
        space = (st.config or {}).get("hw_space")
        if not space:
            raise CosearchError(f"study {study!r}: its config has no hw_space")
        the_arch = HWSpace.model_validate(space).arch(dict(best.hw_params["values"]))
        arch_text = None
        skipped: list[str] = []
        for rec in best.layers:
            if rec.state != "complete" or not rec.mapping:
                continue
            the_layer = Layer.from_shape_key(rec.layer, rec.shape_key)
            readable = mapping_from_data(rec.mapping, f"study {study} layer {rec.layer}")
            try:
                files = to_timeloop(the_arch, the_layer, readable, no_link_transfer=nlt)
            except CosearchError as err:  # e.g. a dim spread over both mesh axes: no Timeloop form
                skipped.append(f"{rec.layer}: {err}")
                continue
            written += _write_timeloop(out / _safe_name(rec.layer), files, constraints_yaml(the_arch))
            arch_text = files
        if arch_text is None:
            reason = f" ({skipped[0]})" if skipped else ""
            raise CosearchError(f"study {study!r}: no layer of the best trial ({best.number}) can be exported{reason}")
        for note in skipped:
            typer.echo(f"warning: skipped layer {_one_line(note)}", err=True)
        write_atomic(out / "arch.yaml", arch_text["arch"])
        write_atomic(out / "ERT.yaml", arch_text["ERT"])
        write_atomic(out / "constraints.yaml", constraints_yaml(the_arch))
        written = [str(out / "arch.yaml"), str(out / "ERT.yaml"), str(out / "constraints.yaml")] + written
    else:
        if arch is None or mapping is None:
            raise CosearchError("give --arch, --mapping and the layer (--workload [--layer] or --shape), or --study NAME")
        from ..arch.io import load_arch
        from ..mapping.mapping import load_mapping

        the_arch = load_arch(arch)
        the_layer = _select_layer(workload, layer, shape, _input_shapes(input_shape))
        files = to_timeloop(the_arch, the_layer, load_mapping(mapping), no_link_transfer=nlt)
        written = _write_timeloop(out, files, constraints_yaml(the_arch))
    if as_json:
        _print_json({"out": str(out), "files": written})
        return
    for f in written:
        typer.echo(f"wrote {f}", err=True)


@import_app.command("timeloop")
@_handle_errors
def import_timeloop(
    inputs: list[Path] = typer.Argument(..., help="A directory of Timeloop YAML files, or the files (arch, problem, mapping, ERT; optional mapspace constraints)."),
    out: Path = typer.Option(Path("cosearch-out/timeloop-import"), "--out", "-o", help="Output directory."),
    name: Optional[str] = typer.Option(None, "--name", help="Arch name (default: the first input's name)."),
    layer_name: str = typer.Option("layer", "--layer-name", help="Name of the imported layer."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON line listing the files written."),
) -> None:
    """cosearch files from Timeloop inputs: OUT/arch.yaml, OUT/layer.yaml, OUT/mapping.json
    (then: cosearch eval --arch OUT/arch.yaml --workload OUT/layer.yaml --mapping OUT/mapping.json)."""
    import yaml

    from ..interop.timeloop import import_timeloop_files

    arch_name = name or (inputs[0].name if inputs[0].is_dir() else inputs[0].parent.name) or "timeloop"
    the_arch, the_layer, readable = import_timeloop_files(inputs, name=arch_name, layer_name=layer_name)
    out.mkdir(parents=True, exist_ok=True)
    files = {"arch": out / "arch.yaml", "workload": out / "layer.yaml", "mapping": out / "mapping.json"}
    header = f"# Imported from Timeloop inputs {', '.join(map(str, inputs))}\n"
    write_atomic(files["arch"], header + yaml.safe_dump(the_arch.model_dump(mode="json", exclude_none=True), sort_keys=False))
    layer_doc = {"name": the_layer.name, "layers": [the_layer.model_dump(mode="json", exclude={"count"})]}
    write_atomic(files["workload"], header + yaml.safe_dump(layer_doc, sort_keys=False))
    write_atomic(files["mapping"], readable.model_dump_json(indent=1, exclude_none=True) + "\n")
    command = (f"cosearch eval --arch {files['arch']} --workload {files['workload']} --mapping {files['mapping']}")
    if as_json:
        _print_json({"out": str(out), "files": {k: str(v) for k, v in files.items()}, "eval": command})
        return
    for f in files.values():
        typer.echo(f"wrote {f}", err=True)
    typer.echo(command)


# ---------------------------------------------------------------------------------------------------
# report


def _map_report_sources(out_dir: Path) -> list[Any]:
    """The report source of a ``cosearch map`` run: its out directory."""
    from ..report.data import map_source

    return [map_source(out_dir)]


def _study_report_sources(store: Any, study: str, out_dir: Path) -> list[Any]:
    """The report source of a co-design run: its study, with the baselines of its ``results.json``."""
    from ..report.data import study_source

    return [study_source(store, study, results_path=out_dir / "results.json")]


def _write_report(make_sources: Callable[[], list[Any]], out_dir: Path, *, as_json: bool) -> Optional[Path]:
    """Write the report of a finished ``map``/``codesign`` run into ``out_dir/report`` and return the
    page's path (printed on stderr with ``--json``). A report that cannot be built is a warning: the
    run's own results are already saved."""
    from ..report.build import REPORT_DIR, build_report

    try:
        res = build_report(make_sources(), out_dir / REPORT_DIR)
    except Exception as err:  # noqa: BLE001 - the run succeeded; its report is an extra
        if os.environ.get("COSEARCH_DEBUG"):
            raise
        what = str(err) if isinstance(err, CosearchError) else f"{type(err).__name__}: {err}"
        typer.echo(f"warning: no report written ({_one_line(what)}); cosearch report {out_dir} retries", err=True)
        return None
    if as_json:
        typer.echo(f"report: {res.html}", err=True)
    return res.html


@app.command("report")
@_handle_errors
def report_cmd(
    sources: list[str] = typer.Argument(..., help="Study names (in --storage) or results directories of cosearch map / codesign; several are compared."),
    storage: Optional[str] = typer.Option(None, "--storage", help=_STORAGE_HELP + " For study names, and for codesign directories whose store moved."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Output directory (default DIR/report for one results directory, else ./cosearch-out/report-<time>)."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON line listing the files written."),
) -> None:
    """An HTML report (self-contained, plotly) with PNG/SVG figures (matplotlib) and JSON/CSV tables.

    For a co-design study: the chosen design next to both baselines, convergence per optimizer, area vs
    EDP with the Pareto front and the budget, energy breakdowns, per-layer EDP, loop nests and constraint
    statistics. For a map run: per-layer tables, breakdowns and loop nests. Several sources are drawn on
    the same axes.
    """
    from ..report.build import report_from_args

    res = report_from_args(sources, storage=storage, out=out)
    if as_json:
        _print_json(res.to_json())
        return
    _console().print(Text(
        f"report: {res.html} ({len(res.figures)} figures as PNG and SVG in {res.out_dir / 'figures'}, "
        f"{len(res.tables)} tables as JSON and CSV in {res.out_dir / 'tables'}; {res.seconds:.1f} s)"), soft_wrap=True)


# ---------------------------------------------------------------------------------------------------
# demo


DEMO_HW_BUDGET = 24
DEMO_MAPPER_BUDGET = 2_000


@app.command()
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
    from ..mappers.network import default_out_dir
    from ..study.storage import DEFAULT_URL, storage_url
    from ..workload.io import load_workload

    if hw_budget < 1:
        raise CosearchError(f"--hw-budget must be at least 1 hardware point, got {hw_budget}")
    if mapper_budget < 1:
        raise CosearchError(f"--mapper-budget must be a positive number of evaluations, got {mapper_budget}")
    _executor_options(executor, address, jobs)
    if seed < 0:
        raise CosearchError(f"--seed must be >= 0, got {seed}")
    stamped = default_out_dir(prefix="demo")  # cosearch-out/demo-<date>-<time>: a new study each run
    out_dir = out if out is not None else stamped
    study_name = stamped.name
    url = storage_url(out_dir / "studies.db") if out is not None else DEFAULT_URL
    space = load_hw_space("eyeriss-like")
    _run_codesign(workloads=[load_workload("dqn")], space=space, area_budget=eyeriss168_area(space),
                  optimizer="bo", objective="edp", hw_budget=hw_budget, hw_batch=4, mapper="auto",
                  mapper_budget=mapper_budget, seed=seed, storage=url, study=study_name, resume=False,
                  jobs=jobs, out=out_dir, as_json=as_json, default_out=lambda _name: out_dir,
                  title="demo co-design", executor_name=executor, address=address)


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point (``cosearch``)."""
    app(args=argv, prog_name="cosearch")


if __name__ == "__main__":  # pragma: no cover
    main()
