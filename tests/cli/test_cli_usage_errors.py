"""Usage errors (an option value of the wrong type, an unknown or missing option) print one
``error: ...`` line on stderr and exit 2, like every other bad input; help pages are unchanged."""

from __future__ import annotations

import pytest

from conftest import assert_user_error, run


@pytest.mark.parametrize("args, needles", [
    (["map", "--arch", "simple-64", "--shape", "K=4", "--budget", "1e30"], ["'--budget'", "cosearch map --help"]),
    (["map", "--arch", "simple-64", "--shape", "K=4", "--time-limit", "soon"], ["'--time-limit'"]),
    (["codesign", "--workload", "dqn", "--hw-budget", "1.5"], ["'--hw-budget'"]),
    (["validate", "x.jsonl", "--limit", "-1"], ["'--limit'"]),
    (["map", "--bogus"], ["No such option: --bogus"]),
    (["eval", "--arch", "simple-64"], ["Missing option '--mapping'", "cosearch eval --help"]),
    (["study", "work"], ["Missing argument", "cosearch study work --help"]),
])
def test_usage_errors_are_one_line(args: list[str], needles: list[str]) -> None:
    assert_user_error(run(*args), *needles)


def test_help_and_bare_groups_still_print_help() -> None:
    result = run("map", "--help")
    assert result.exit_code == 0 and "--budget" in result.stdout
    bare = run("study")
    assert bare.exit_code == 2 and "work" in bare.stdout and "error:" not in bare.stderr



def test_an_exception_passes_through_the_usage_error_group() -> None:
    """An exception that is not Click's reaches the entry point's handler unchanged (it was an
    AttributeError: Typer's vendored Click has no ``Abort``)."""
    import typer
    from typer.testing import CliRunner

    from cosearch.cli._common import _OneLineUsageErrors

    app = typer.Typer(cls=_OneLineUsageErrors)

    @app.command()
    def boom() -> None:
        raise KeyError("Weights")

    @app.command()
    def other() -> None:
        pass

    result = CliRunner().invoke(app, ["boom"])
    assert isinstance(result.exception, KeyError), repr(result.exception)
