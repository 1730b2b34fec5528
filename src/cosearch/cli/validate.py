"""``cosearch validate``: the cost model against Timeloop reference records."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.text import Text

from ._common import (
    _console,
    _handle_errors,
    _print_json,
    app,
)


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
