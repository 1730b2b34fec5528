"""Build a report: collect the sources, draw the figures, write the page and the files.

:func:`build_report` writes into ``out_dir``::

    report.html            the page (self-contained: plotly.js inline, opens with no network)
    figures/<id>.png       each figure drawn with matplotlib (1100 × 620 px) ...
    figures/<id>.svg       ... and as SVG
    tables/<name>.json     every table as a JSON list of rows ...
    tables/<name>.csv      ... and as CSV (floats written exactly, empty cells for null)
    report.json            what was written: figures, tables (with row counts), sources, build seconds

:func:`report_from_args` is what ``cosearch report SOURCE...`` runs; ``cosearch map`` and ``cosearch
codesign`` call :func:`build_report` on their own results (``--no-report`` skips it).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from .._io import csv_text, to_plain, write_atomic
from .records import Source, StudySource
from .rows import report_tables
from .sources import resolve_sources

HTML_FILE = "report.html"
MANIFEST_FILE = "report.json"
REPORT_DIR = "report"
"""Sub-directory of a ``map``/``codesign`` out directory that receives its report."""


@dataclass
class ReportResult:
    """Where a report went: the page, each figure's files, each table's files, and the build time (s)."""

    out_dir: Path
    html: Path
    figures: dict[str, dict[str, Path]]  # id -> {"png": path, "svg": path}
    tables: dict[str, dict[str, Path]]  # name -> {"json": path, "csv": path}
    seconds: float
    sources: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"out": str(self.out_dir), "html": str(self.html),
                "figures": {k: {f: str(p) for f, p in v.items()} for k, v in self.figures.items()},
                "tables": {k: {f: str(p) for f, p in v.items()} for k, v in self.tables.items()},
                "sources": self.sources, "seconds": round(self.seconds, 3)}


def _write(path: Path, text: str) -> None:
    write_atomic(path, text, encoding="utf-8")


def build_report(sources: Sequence[Source], out_dir: str | Path, *, title: str | None = None) -> ReportResult:
    """Write the report of ``sources`` (from :func:`~cosearch.report.sources.resolve_sources`,
    :func:`~cosearch.report.sources.study_source` or :func:`~cosearch.report.sources.map_source`) into
    ``out_dir`` and return where everything went."""
    import plotly.offline

    from .figures import build_figures, save_matplotlib, shown_designs
    from .html import render_page

    start = time.perf_counter()
    out = Path(out_dir)
    (out / "figures").mkdir(parents=True, exist_ok=True)
    (out / "tables").mkdir(parents=True, exist_ok=True)

    tables = report_tables(sources)
    table_paths: dict[str, dict[str, Path]] = {}
    for name, rows in tables.items():
        plain = to_plain(rows)
        paths = {"json": out / "tables" / f"{name}.json", "csv": out / "tables" / f"{name}.csv"}
        _write(paths["json"], json.dumps(plain, indent=1, allow_nan=False) + "\n")
        _write(paths["csv"], csv_text(plain))
        table_paths[name] = paths

    figures = build_figures(sources)
    figure_paths: dict[str, dict[str, Path]] = {}
    for spec in figures:
        paths = {"png": out / "figures" / f"{spec.id}.png", "svg": out / "figures" / f"{spec.id}.svg"}
        save_matplotlib(spec, paths["png"], paths["svg"])
        figure_paths[spec.id] = paths

    rel = lambda p: p.relative_to(out).as_posix()  # noqa: E731 - links inside the page are relative
    page = render_page(
        sources, shown_designs(sources), figures,
        {k: {f: rel(p) for f, p in v.items()} for k, v in figure_paths.items()}, tables,
        {k: {f: rel(p) for f, p in v.items()} for k, v in table_paths.items()},
        plotly_js=plotly.offline.get_plotlyjs(), title=title,
    )
    html_path = out / HTML_FILE
    _write(html_path, page)
    result = ReportResult(out, html_path, figure_paths, table_paths, time.perf_counter() - start,
                          [s.label for s in sources])
    manifest = result.to_json()
    manifest["figures"] = {f.id: {"title": f.title, **{k: rel(p) for k, p in figure_paths[f.id].items()}}
                           for f in figures}
    manifest["tables"] = {k: {"rows": len(tables[k]), **{f: rel(p) for f, p in v.items()}}
                          for k, v in table_paths.items()}
    manifest["html"] = HTML_FILE
    manifest["sources"] = [{"label": s.label, "kind": s.kind,
                            **({"study": s.study, "storage": s.storage, "baselines": s.baseline_origin}
                               if isinstance(s, StudySource) else {"path": str(s.path)})} for s in sources]
    _write(out / MANIFEST_FILE, json.dumps(manifest, indent=1) + "\n")
    return result


def default_report_dir(items: Sequence[str]) -> Path:
    """Where ``cosearch report`` writes without ``--out``: ``<dir>/report`` for one results directory,
    else a new ``cosearch-out/report-<date>-<time>``."""
    from ..mappers.network import default_out_dir

    if len(items) == 1:
        path = Path(items[0])
        if path.is_file():
            path = path.parent
        if path.is_dir():
            return path / REPORT_DIR
    return default_out_dir(prefix="report")


def report_from_args(items: Sequence[str], *, storage: str | None = None, out: str | Path | None = None) -> ReportResult:
    """``cosearch report SOURCE... [--storage URL] [--out DIR]``: resolve the sources (one-line
    :class:`~cosearch.errors.CosearchError` for a missing or empty study, a directory without results,
    or an unreadable store) and build the report."""
    sources = resolve_sources(items, storage)
    return build_report(sources, Path(out) if out is not None else default_report_dir(items))
