"""``cosearch report``: the HTML report of studies and results directories (and the report a
``map``/``codesign`` run writes when it finishes)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.text import Text

from ._common import (
    _STORAGE_HELP,
    _console,
    _handle_errors,
    _print_json,
    app,
)


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
    the same axes; two or more studies add energy vs latency with each study's non-dominated front.
    """
    from ..report.build import report_from_args

    res = report_from_args(sources, storage=storage, out=out)
    if as_json:
        _print_json(res.to_json())
        return
    _console().print(Text(
        f"report: {res.html} ({len(res.figures)} figures as PNG and SVG in {res.out_dir / 'figures'}, "
        f"{len(res.tables)} tables as JSON and CSV in {res.out_dir / 'tables'}; {res.seconds:.1f} s)"), soft_wrap=True)
