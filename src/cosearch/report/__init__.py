"""Reporting: Rich tables and text views (loop nests) of workloads, costs and validation results.

The HTML report (``cosearch report``) lives in submodules imported on demand, since they need plotly
and matplotlib: :mod:`.data` collects studies and map runs, :mod:`.figures` draws, :mod:`.html`
assembles the page and :func:`cosearch.report.build.build_report` writes everything.
"""

from __future__ import annotations

from .tables import (
    breakdown_dict,
    fmt_energy,
    fmt_int,
    fmt_pct,
    fmt_sci,
    layer_results_table,
    level_breakdown_table,
    loop_nest,
    network_table,
    network_totals_table,
    summary_table,
    validation_cases_table,
    validation_summary_table,
    zoo_table,
)

__all__ = [
    "breakdown_dict",
    "fmt_energy",
    "fmt_int",
    "fmt_pct",
    "fmt_sci",
    "layer_results_table",
    "level_breakdown_table",
    "loop_nest",
    "network_table",
    "network_totals_table",
    "summary_table",
    "validation_cases_table",
    "validation_summary_table",
    "zoo_table",
]
