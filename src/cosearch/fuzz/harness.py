"""Running a fuzz input and judging what came out.

An input ends in one of four outcomes (:class:`Outcome`):

* ``valid``: a result, every cost in it finite and non-negative;
* ``error``: a clean :class:`~cosearch.errors.CosearchError` (one line) from the library, or from
  the command line exit status 2 with exactly one ``error: ...`` line on stderr;
* ``non_finite``: a result holding a NaN, an infinity or a negative cost;
* ``unexpected``: anything else (another exception, a multi-line error, another exit status), with
  its message. Nothing is swallowed: every exception that is not a ``CosearchError`` is counted here.

:func:`run_case` runs a :class:`~.strategies.Case` through its library target (:mod:`.targets`);
:func:`run_cli` runs a command line in-process (Typer's ``CliRunner``); :class:`Tally` counts outcomes
per kind and :func:`fuzz_kind` fills it with N drawn inputs, for ``benchmarks/fuzz.py``.
"""

from __future__ import annotations

import json
import math
import tempfile
import traceback
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from ..errors import CosearchError
from .strategies import Case
from .targets import TARGETS

Status = Literal["valid", "error", "non_finite", "unexpected"]

COST_KEYS = ("energy_pj", "cycles", "edp", "area_mm2", "mac_energy_pj")
"""Keys whose values a command's JSON output must hold as finite numbers (JSON writes NaN and inf as null)."""


@dataclass(frozen=True)
class Outcome:
    """How one input ended (see the module docstring) and a one-line message."""

    status: Status
    message: str = ""

    @property
    def ok(self) -> bool:
        """A clean error or a valid result: what every input must end in."""
        return self.status in ("valid", "error")


def _short(text: str, limit: int = 300) -> str:
    return " ".join(str(text).split())[:limit]


def _where(err: BaseException) -> str:
    """`` (at cosearch/x/y.py:N)``: the innermost frame of the package that the exception passed through."""
    frames = [f for f in traceback.extract_tb(err.__traceback__) if "/cosearch/" in f.filename
              and "/cosearch/fuzz/" not in f.filename]
    if not frames:
        return ""
    name = frames[-1].filename
    return f" (at {name[name.rindex('/cosearch/') + 1:]}:{frames[-1].lineno})"


def write_files(case: Case, folder: Path) -> None:
    for name, data in case.files.items():
        (folder / name).write_bytes(data)


def judge_costs(values: Sequence[float]) -> Outcome:
    """``valid`` if every value is a finite number >= 0, else ``non_finite`` naming the first bad one."""
    for v in values:
        if not (isinstance(v, (int, float)) and math.isfinite(v) and v >= 0):
            return Outcome("non_finite", f"cost {v!r}")
    return Outcome("valid")


def run_case(case: Case) -> Outcome:
    """Write the case's files to a temporary folder and run its kind's library target."""
    with tempfile.TemporaryDirectory(prefix="cosearch-fuzz-") as tmp:
        folder = Path(tmp)
        write_files(case, folder)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # judged by the outcome, not by warnings along the way
                values = TARGETS[case.kind](case, folder)
        except CosearchError as err:
            text = str(err).replace(tmp, "{dir}")
            if "\n" in text or not text.strip():
                return Outcome("unexpected", f"CosearchError not on one line: {text!r}"[:300])
            return Outcome("error", _short(text))
        except Exception as err:  # counted as a failure with its type, never taken as a clean error
            return Outcome("unexpected", _short(f"{type(err).__name__}: {err}{_where(err)}".replace(tmp, "{dir}")))
    return judge_costs(values)


# ---- the command line ---------------------------------------------------------------------------------
def _runner() -> Any:
    from typer.testing import CliRunner

    try:
        return CliRunner(mix_stderr=False)  # type: ignore[call-arg]  (Click < 8.2)
    except TypeError:
        return CliRunner()


def _json_costs(data: Any) -> list[Any]:
    """Every value under a :data:`COST_KEYS` key anywhere in a command's JSON output."""
    out: list[Any] = []
    if isinstance(data, dict):
        for k, v in data.items():
            if k in COST_KEYS and not isinstance(v, (dict, list)):
                out.append(v)
            else:
                out += _json_costs(v)
    elif isinstance(data, list):
        for v in data:
            out += _json_costs(v)
    return out


def judge_cli(exit_code: int, stdout: str, stderr: str, exception: BaseException | None = None) -> Outcome:
    """Exit 2 with one ``error:`` line on stderr: ``error``; exit 0: the JSON costs on stdout's last
    line judged; anything else ``unexpected``."""
    lines = stderr.strip().splitlines()
    if exit_code == 2:
        if len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in stdout + stderr:
            return Outcome("error", lines[0])
        return Outcome("unexpected", _short(f"exit 2 without one error line: {stderr!r}"))
    if exit_code != 0:
        shown = lines[0] if lines else repr(exception)
        return Outcome("unexpected", _short(f"exit {exit_code}: {shown}"))
    out_lines = stdout.strip().splitlines()
    try:
        data = json.loads(out_lines[-1]) if out_lines else None
    except json.JSONDecodeError:
        data = None
    return judge_costs([float("nan") if v is None else v for v in _json_costs(data)])


def run_cli(args: Sequence[str], files: dict[str, bytes] | None = None) -> Outcome:
    """Run ``cosearch ARGS`` in-process in a temporary folder holding ``files``; ``{dir}`` in an argument
    stands for that folder."""
    from ..cli import app

    with tempfile.TemporaryDirectory(prefix="cosearch-fuzz-cli-") as tmp:
        for name, data in (files or {}).items():
            (Path(tmp) / name).parent.mkdir(parents=True, exist_ok=True)
            (Path(tmp) / name).write_bytes(data)
        argv = [a.replace("{dir}", tmp) for a in args]
        result = _runner().invoke(app, argv)
        stderr = result.stderr if result.stderr_bytes is not None else ""
        outcome = judge_cli(result.exit_code, result.stdout, stderr, result.exception)
        return Outcome(outcome.status, outcome.message.replace(tmp, "{dir}"))


def run_cli_case(case: Case) -> Outcome:
    """A ``cli`` case (:data:`~.strategies.cli_cases`) through :func:`run_cli`."""
    return run_cli(case.args["argv"], case.files)


# ---- counting -------------------------------------------------------------------------------------
@dataclass
class KindCounts:
    """Outcomes of one input kind."""

    inputs: int = 0
    valid: int = 0
    clean_errors: int = 0
    unexpected: int = 0
    non_finite: int = 0
    first_unexpected: list[str] = field(default_factory=list)
    first_non_finite: list[str] = field(default_factory=list)

    def add(self, outcome: Outcome, keep: int = 5) -> None:
        self.inputs += 1
        if outcome.status == "valid":
            self.valid += 1
        elif outcome.status == "error":
            self.clean_errors += 1
        elif outcome.status == "unexpected":
            self.unexpected += 1
            if len(self.first_unexpected) < keep and outcome.message not in self.first_unexpected:
                self.first_unexpected.append(outcome.message)
        else:
            self.non_finite += 1
            if len(self.first_non_finite) < keep and outcome.message not in self.first_non_finite:
                self.first_non_finite.append(outcome.message)


@dataclass
class Tally:
    """Outcomes per input kind, and their totals."""

    kinds: dict[str, KindCounts] = field(default_factory=dict)

    def add(self, kind: str, outcome: Outcome) -> None:
        self.kinds.setdefault(kind, KindCounts()).add(outcome)

    def to_json(self) -> dict[str, Any]:
        from dataclasses import asdict

        per_kind = {k: asdict(v) for k, v in self.kinds.items()}
        totals = {key: sum(v[key] for v in per_kind.values())
                  for key in ("inputs", "valid", "clean_errors", "unexpected", "non_finite")}
        return {"totals": totals, "kinds": per_kind}


def fuzz_kind(kind: str, n: int, seed: int, on_outcome: Callable[[Case, Outcome], None]) -> None:
    """Draw ``n`` inputs of ``kind`` (``"cli"``: command lines) with Hypothesis from ``seed``
    (generation only: no shrinking, no example database) and call ``on_outcome(case, outcome)`` for each."""
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import seed as hypothesis_seed

    from .strategies import cases

    run = run_cli_case if kind == "cli" else run_case

    @hypothesis_seed(seed)
    @settings(max_examples=n, phases=[Phase.generate], database=None, deadline=None,
              suppress_health_check=list(HealthCheck))
    @given(cases(kind))
    def one(case: Case) -> None:
        on_outcome(case, run(case))

    one()
