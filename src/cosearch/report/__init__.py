"""Reporting: Rich tables and text views (loop nests) of workloads, costs and validation results.

The HTML report (``cosearch report``) lives in submodules whose names load on first use (the drawing
ones need plotly and matplotlib): :mod:`.sources` collects studies and map runs into the records of
:mod:`.records` (re-evaluated by :mod:`.evaluation`), :mod:`.rows` builds the tables, :mod:`.figures`
draws, :mod:`.html` assembles the page and :func:`~cosearch.report.build.build_report` writes everything.
"""

from __future__ import annotations

from .._lazy import lazy_getattr
from .tables import (
    breakdown_dict,
    fmt_energy,
    fmt_int,
    fmt_param,
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

_EXPORTS = {
    "build_report": "cosearch.report.build",
    "report_from_args": "cosearch.report.build",
    "ReportResult": "cosearch.report.build",
    "resolve_sources": "cosearch.report.sources",
    "study_source": "cosearch.report.sources",
    "map_source": "cosearch.report.sources",
    "open_store": "cosearch.report.sources",
    "report_tables": "cosearch.report.rows",
    "Design": "cosearch.report.records",
    "LayerRow": "cosearch.report.records",
    "MapSource": "cosearch.report.records",
    "Source": "cosearch.report.records",
    "StudySource": "cosearch.report.records",
}

__all__ = sorted(_EXPORTS) + [
    "breakdown_dict",
    "fmt_energy",
    "fmt_int",
    "fmt_param",
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


__getattr__ = lazy_getattr(__name__, _EXPORTS)
