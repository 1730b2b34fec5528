"""What every ``cosearch`` command shares: the Typer app, consoles, one-line errors, ``--json`` printing,
and the options and checks several commands take (``--input-shape``, a layer given by ``--layer`` or
``--shape``, ``--executor``/``--address``/``--jobs``, ``--storage``).

Conventions: bad input (a :class:`~cosearch.errors.CosearchError`, or a pydantic/YAML/JSON/OS error
the library lets through) prints one line ``error: <message>`` on stderr and exits with status 2,
never a traceback; usage errors (an unknown or missing option, a value of the wrong type) are one
such line too, exit 2. With ``--json`` a command prints exactly one line on stdout, a JSON object (or list) that is also the last line.
Progress bars go to stderr. Set ``COSEARCH_DEBUG=1`` to see tracebacks of internal errors.
"""

from __future__ import annotations

import functools
import json
import os
import sys
from pathlib import Path
from typing import Any, Callable, Optional, TypeVar

import typer
from rich.console import Console
from typer.core import TyperGroup

from .. import __version__
from .._io import to_plain
from ..errors import CosearchError
from ..limits import check_int

F = TypeVar("F", bound=Callable[..., Any])

EXIT_BAD_INPUT = 2
EXIT_INTERNAL = 1

def _click_exceptions() -> Any:
    """Click's exception classes: Typer's vendored copy (Typer >= 0.2x), else Click's own."""
    try:
        from typer._click import exceptions
    except ImportError:
        from click import exceptions
    return exceptions


class _OneLineUsageErrors(TyperGroup):
    """The top-level command group, with Click's usage errors (an option value of the wrong type, a
    missing or unknown option) printed as one ``error: ...`` line on stderr, exit status 2, like every
    other bad input, instead of Click's usage box. Help pages and exit codes are unchanged."""

    def main(self, *args: Any, standalone_mode: bool = True, **kwargs: Any) -> Any:
        click = _click_exceptions()
        if not standalone_mode:
            return super().main(*args, standalone_mode=False, **kwargs)
        try:
            rv = super().main(*args, standalone_mode=False, **kwargs)
        except click.NoArgsIsHelpError as err:  # a bare command group: its help, as before
            try:
                from typer import rich_utils
            except ImportError:
                err.show()
            else:
                rich_utils.rich_format_error(err)
            sys.exit(err.exit_code)
        except click.UsageError as err:
            where = f" (see '{err.ctx.command_path} --help')" if err.ctx is not None else ""
            typer.echo(f"error: {_one_line(err.format_message())}{where}", err=True)
            sys.exit(err.exit_code)
        except click.ClickException as err:
            typer.echo(f"error: {_one_line(err.format_message())}", err=True)
            sys.exit(err.exit_code)
        except typer.Abort:
            typer.echo("error: aborted", err=True)
            sys.exit(EXIT_INTERNAL)
        sys.exit(rv if isinstance(rv, int) and not isinstance(rv, bool) else 0)


app = typer.Typer(
    name="cosearch",
    cls=_OneLineUsageErrors,
    help="Co-design DNN accelerators on a vectorised, Timeloop-exact cost model.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


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


def _stopped(err: KeyboardInterrupt, saved: str) -> typer.Exit:
    """Print ``error: interrupted`` (Ctrl-C) or ``error: terminated`` (SIGTERM), then ``; <saved>`` if
    given, on one line, and return the exit to raise: status 130 or 143 (:mod:`._signals`)."""
    from ._signals import exit_status, stop_word

    typer.echo(f"error: {stop_word(err)}" + (f"; {_one_line(saved)}" if saved else ""), err=True)
    return typer.Exit(exit_status(err))


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
        import yaml
        from pydantic import ValidationError

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
        except KeyboardInterrupt as err:  # Ctrl-C, or SIGTERM (_signals.Terminated)
            raise _stopped(err, "") from None
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


_INPUT_SHAPE_HELP = "Fix a dynamic input of an ONNX workload: NAME=1x3x224x224 (repeatable)."


def _input_shape_option() -> Any:
    """The ``--input-shape NAME=DIMS`` option (repeatable) of every command that takes a workload."""
    return typer.Option(None, "--input-shape", help=_INPUT_SHAPE_HELP)


_PRECISION_HELP = ("Word widths per data space: int16 (default), int8 (W8/I8/O32), int4 (W4/I4/O16), bf16 and fp16 "
                   "(16/16/32, float), fp32, or W8/I8/O24 (prefix float: for floating point).")


def _precision_option() -> Any:
    """The ``--precision`` option of the commands that choose an architecture."""
    return typer.Option(None, "--precision", help=_PRECISION_HELP)


def _arch_with_precision(arch: Any, precision: Optional[str]) -> Any:
    """``arch`` with ``--precision`` applied (:mod:`cosearch.arch.precision`; ``None``: as it is)."""
    if precision is None:
        return arch
    from ..arch.precision import apply_precision, parse_precision

    return apply_precision(arch, parse_precision(precision))


def _factorization_option() -> Any:
    """The ``--factorization perfect|imperfect`` option of the commands that map or cost mappings."""
    return typer.Option("perfect", "--factorization",
                        help="perfect: every dim's factors multiply to its size (Timeloop's rule); imperfect: they "
                             "may over-cover it (remainder tiles), up to --max-padding.")


def _max_padding_option() -> Any:
    """The ``--max-padding CAP`` option: a dim's factors multiply to at most (1 + CAP) × its size."""
    return typer.Option(None, "--max-padding", help="With --factorization imperfect: a dim's factors multiply to "
                                                    "at most (1 + CAP) x its size, CAP in [0, 1] (default 0.25).")


def _space_options(factorization: str, max_padding: Optional[float]) -> dict[str, Any]:
    """``{"factorization", "max_padding"}`` checked (one-line errors); ``--max-padding`` needs imperfect."""
    from ..mappers.network import space_options

    if max_padding is not None and factorization != "imperfect":
        raise CosearchError("--max-padding needs --factorization imperfect")
    return space_options(factorization, max_padding)


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
    if jobs is not None:
        check_int(jobs, "--jobs")
    if address is not None and executor != "ray":
        raise CosearchError("--address is the Ray cluster to use; it needs --executor ray")
    if address is not None and not address.strip():
        raise CosearchError("--address needs a value: auto, HOST:PORT or ray://HOST:PORT")
    if address is not None and jobs is not None:
        raise CosearchError("--jobs sets the CPUs of a local Ray instance; with --address the cluster's CPUs are used")


_EXECUTOR_HELP = "Where layers are mapped: local (worker processes, --jobs) or ray (a Ray cluster; pip install 'cosearch\\[ray]')."


_ADDRESS_HELP = "With --executor ray: the cluster, auto (started with ray start --head on this machine), HOST:PORT or ray://HOST:PORT; default: a local Ray with --jobs CPUs."


_STORAGE_HELP = "Study store URL (default sqlite:///cosearch-out/studies.db)."


def _map_report_sources(out_dir: Path) -> list[Any]:
    """The report source of a ``cosearch map`` run: its out directory."""
    from ..report.sources import map_source

    return [map_source(out_dir)]


def _study_report_sources(store: Any, study: str, out_dir: Path) -> list[Any]:
    """The report source of a co-design run: its study, with the baselines of its ``results.json``."""
    from .._io import RESULTS_FILE
    from ..report.sources import study_source

    return [study_source(store, study, results_path=out_dir / RESULTS_FILE)]


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
