"""The report page: one self-contained HTML file (plotly.js inlined once, no network needed to open it).

Sections: the sources; the designs side by side (parameters, area, energy, cycles, EDP, ratios to the
baselines); every figure (an interactive plotly chart, with links to its PNG and SVG); per-layer
results; constraint statistics; each layer's best mapping as a loop nest; the trials; the tables'
JSON/CSV files. Every figure sits in ``<div class="cosearch-figure" id="fig-<id>">``.
"""

from __future__ import annotations

import html
import time
from typing import Any, Sequence

from .. import __version__
from ..arch.physical import edp_js
from .figures import FigureSpec, ShownDesign
from .records import Source, StudySource
from .tables import fmt_energy, fmt_int, fmt_param, fmt_pct, fmt_sci, loop_nest_text

CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 0 auto; max-width: 1280px;
       padding: 1em 2em 4em; color: #1a1a1a; background: #fff; }
h1 { margin-bottom: 0.2em; } h2 { margin-top: 1.8em; border-bottom: 1px solid #ddd; padding-bottom: 0.2em; }
p.meta, p.caption, p.note { color: #555; font-size: 0.92em; }
table { border-collapse: collapse; margin: 0.6em 0 1em; font-size: 0.88em; }
th, td { border: 1px solid #ddd; padding: 0.25em 0.6em; text-align: right; white-space: nowrap; }
th { background: #f3f5f8; white-space: normal; max-width: 16em; } .table-wrap { overflow-x: auto; max-width: 100%; } td.l, th.l { text-align: left; } td.l { white-space: normal; max-width: 44em; }
tr.best td { background: #eef7ee; }
.cosearch-figure { width: 100%; min-height: 520px; }
pre { background: #f7f7f9; padding: 0.6em 1em; border: 1px solid #e3e3e8; overflow-x: auto; font-size: 0.85em; }
details { margin: 0.4em 0; } summary { cursor: pointer; }
.files a { margin-right: 1em; }
"""


def _e(text: Any) -> str:
    return html.escape("" if text is None else str(text))


def _ratio(value: Any) -> str:
    return "-" if value is None else f"{float(value):.3f}"


def _table(headers: Sequence[str], rows: Sequence[Sequence[Any]], *, left: int = 1,
           row_classes: Sequence[str] | None = None, table_id: str | None = None) -> str:
    """An HTML table; the first ``left`` columns are left-aligned. Cells are escaped."""
    head = "".join(f'<th class="l">{_e(h)}</th>' if i < left else f"<th>{_e(h)}</th>" for i, h in enumerate(headers))
    body = []
    for k, row in enumerate(rows):
        cls = f' class="{row_classes[k]}"' if row_classes and row_classes[k] else ""
        cells = "".join(f'<td class="l">{_e(c)}</td>' if i < left else f"<td>{_e(c)}</td>" for i, c in enumerate(row))
        body.append(f"<tr{cls}>{cells}</tr>")
    ident = f' id="{_e(table_id)}"' if table_id else ""
    return (f'<div class="table-wrap"><table{ident}><thead><tr>{head}</tr></thead>'
            f"<tbody>{''.join(body)}</tbody></table></div>")


def _sources_section(sources: Sequence[Source]) -> str:
    rows = []
    for s in sources:
        if isinstance(s, StudySource):
            c = s.config
            what = (f"co-design study in {s.storage}: {'+'.join(c.get('workloads') or [])}, "
                    f"{s.optimizer} over {c.get('hw_budget')} HW points (seed {s.seed}), "
                    f"{c.get('mapper')} mapper with {fmt_int(c.get('mapper_budget'))} evaluations per layer, "
                    f"min {s.objective}; baselines {s.baseline_origin}")
            rows.append((s.label, "study", what, len(s.trials)))
        else:
            r = s.results
            what = (f"cosearch map results in {s.path}: {r.get('workload')} on {r.get('arch')}, {r.get('optimizer')} "
                    f"mapper, min {r.get('objective')}, seed {r.get('seed')}, status {r.get('status', '?')}")
            rows.append((s.label, "map", what, len(s.design.layers)))
    return "<h2>Sources</h2>" + _table(["source", "kind", "what", "trials / layers"], rows, left=3)


def _designs_section(sources: Sequence[Source], shown: Sequence[ShownDesign],
                     tables: dict[str, list[dict[str, Any]]]) -> str:
    """The designs as columns: parameters, then area, energy, cycles, EDP and the ratios."""
    ratios = {(r["source"], r["design"]): r for r in tables["designs"]}
    names: list[str] = []
    for s in sources:
        if isinstance(s, StudySource):
            names += [n for n in s.param_names if n not in names]
    headers = ["", *[d.label for d in shown]]
    rows: list[list[Any]] = []
    for n in names:
        rows.append([n, *[fmt_param(d.design.params.get(n)) if d.design.params else "-" for d in shown]])
    rows.append(["arch", *[d.design.arch_name for d in shown]])
    rows.append(["area (mm²)", *["-" if d.design.area_mm2 is None else f"{d.design.area_mm2:.3f}" for d in shown]])
    rows.append(["energy (pJ)", *[fmt_energy(d.design.energy_pj) for d in shown]])
    rows.append(["cycles", *[fmt_int(d.design.cycles) for d in shown]])
    rows.append(["EDP (pJ·cycles)", *[fmt_sci(d.design.edp) for d in shown]])
    if any(d.design.physical for d in shown):  # the same run in physical units (cosearch.arch.physical)
        phys = [d.design.physical or {} for d in shown]
        for label, key, fmt in (("clock (MHz)", "clock_mhz", "{:g}"), ("latency (ms)", "latency_ms", "{:.4g}"),
                                ("energy with leakage (µJ)", "total_energy_uj", "{:.4g}"),
                                ("power (mW)", "power_mw", "{:.4g}")):
            rows.append([label, *[fmt.format(p[key]) if p.get(key) is not None else "-" for p in phys]])
        if any(d.design.physical_edp for d in shown):
            rows.append(["EDP with leakage (J·s)", *[fmt_sci(edp_js(p))
                                                     if p.get("latency_s") is not None else "-" for p in phys]])
    has_study = any(isinstance(s, StudySource) for s in sources)
    if has_study:
        rows.append(["EDP ÷ baseline (auto)", *[_ratio(ratios.get((d.design.source, d.design.label), {}).get("edp_ratio"))
                                                for d in shown]])
        rows.append(["EDP ÷ baseline (RS)", *[_ratio(ratios.get((d.design.source, d.design.label), {}).get("edp_ratio_rs"))
                                              for d in shown]])
    text = ("<h2>Designs</h2><p class=\"meta\">The chosen accelerator of each study next to the baselines "
            "(auto: eyeriss-168 mapped by the study's mapper; RS: eyeriss-168 under the row-stationary dataflow), "
            "and any mapped networks. Network totals count repeated layers; EDP = energy × cycles. A ratio below 1 "
            "means the design beats that baseline (with several workloads: the geometric mean of the per-workload "
            "ratios); for a study whose space searches precision, DRAM bandwidth or clock, the ratios are of the EDP "
            "with SRAM leakage in J·s (its designs differ in clock). Latency, energy with leakage and power are "
            "the network run once at the design's clock.</p>")
    text += _table(headers, rows, table_id="designs")
    notes = [n for s in sources for d in s.designs for n in d.notes]
    for n in dict.fromkeys(notes):
        text += f'<p class="note">Note: {_e(n)}</p>'
    return text


def _figure_section(spec: FigureSpec, files: dict[str, str]) -> str:
    div = spec.plotly.to_html(full_html=False, include_plotlyjs=False, div_id=f"fig-{spec.id}",
                              config={"displaylogo": False, "responsive": True})
    links = " ".join(f'<a href="{_e(path)}">{_e(kind.upper())}</a>' for kind, path in files.items())
    return (f'<h2>{_e(spec.title)}</h2><div class="cosearch-figure" data-figure="{_e(spec.id)}">{div}</div>'
            f'<p class="caption">{_e(spec.caption)} <span class="files">{links}</span></p>')


def _layers_section(tables: dict[str, list[dict[str, Any]]]) -> str:
    rows, classes = [], []
    for r in tables["layers"]:
        rows.append([r["design"], r["layer"], r["shape"], "?" if r["count"] is None else r["count"],
                     fmt_energy(r["energy_pj"]), fmt_int(r["cycles"]), fmt_sci(r["edp"]), fmt_pct(r["utilization"]),
                     fmt_int(r["evaluations"]), r["error"] or ""])
        classes.append("best" if r["role"] in ("best", "map") else "")
    return ("<h2>Per-layer results</h2><p class=\"meta\">One instance of each unique layer (count: how often its "
            "shape occurs in the workload); utilisation = MACs ÷ (cycles × PEs).</p>"
            + _table(["design", "layer", "shape", "count", "energy (pJ)", "cycles", "EDP (pJ·cycles)", "utilisation",
                      "evaluations", "error"], rows, left=3, row_classes=classes, table_id="layers"))


def _phases_section(tables: dict[str, list[dict[str, Any]]]) -> str:
    rows = [[r["design"], r["phase"], fmt_int(r["tokens"]), fmt_energy(r["energy_pj"]), fmt_int(r["cycles"]),
             fmt_sci(r["edp"]), fmt_pct(r["utilization"]), fmt_pct(r["dram_share"]),
             fmt_energy(r["energy_per_token_pj"]), fmt_int(r["cycles_per_token"])]
            for r in tables.get("phases", [])]
    if not rows:
        return ""
    return ("<h2>Phases</h2><p class=\"meta\">Per phase of the LLM workload (repeats counted): the share of the "
            "energy spent at the outermost level (DRAM), and energy and cycles per token (a decode step makes "
            "one token per sequence).</p>"
            + _table(["design", "phase", "tokens", "energy (pJ)", "cycles", "EDP (pJ·cycles)", "utilisation",
                      "DRAM share", "energy / token (pJ)", "cycles / token"], rows, left=2, table_id="phases"))


def _element_ops_section(tables: dict[str, list[dict[str, Any]]]) -> str:
    ops = tables.get("element_ops", [])
    if not ops:
        return ""
    rows = [[r["source"], r["op"], r["name"], r["phase"] or "-", r["count"], fmt_int(r["elements"]),
             fmt_int(r["dram_words"]), fmt_int(r["weight_words"])] for r in ops]
    words = sum(r["dram_words"] * r["count"] for r in ops)
    return ("<h2>Element ops (not costed)</h2><p class=\"meta\">Operations that are not matrix products: elements "
            "computed and DRAM words moved by one instance if it reads its inputs once and writes its output once "
            f"({words:,} words in all, repeats counted); no MACs, no energy in the totals.</p>"
            f"<details><summary>{len(rows)} ops</summary>"
            + _table(["source", "op", "name", "phase", "count", "elements", "DRAM words", "weight words"], rows,
                     left=4, table_id="element-ops") + "</details>")


def _constraints_section(tables: dict[str, list[dict[str, Any]]]) -> str:
    if "constraints" not in tables:
        return ""
    rows = [[r["source"], r["statistic"], "not recorded" if r["count"] is None else r["count"], r["note"]]
            for r in tables["constraints"]]
    return ("<h2>Constraint statistics</h2><p class=\"meta\">The known constraint (area) is applied when points are "
            "proposed; the learned one (every layer must have a valid mapping) only shows once a point is evaluated."
            "</p>" + _table(["source", "statistic", "count", "note"], rows, left=2, table_id="constraints"))


def _loop_nests_section(sources: Sequence[Source]) -> str:
    parts = ["<h2>Loop nests of the best mappings</h2><p class=\"meta\">Outer → inner; each level lists the data "
             "spaces it keeps with their tile sizes (words); loops of bound 1 are omitted.</p>"]
    first = True
    for s in sources:
        design = s.best if isinstance(s, StudySource) else s.design
        if design is None:
            continue
        parts.append(f"<h3>{_e(design.label)}</h3>")
        for row in design.layers:
            if not row.loop_nest:
                parts.append(f"<p class=\"note\">{_e(row.key)}: no loop nest ({_e(row.error or 'no mapping')})</p>")
                continue
            opened = " open" if first else ""
            first = False
            parts.append(f'<details class="loop-nest"{opened}><summary>{_e(row.key)} ({_e(row.shape)})</summary>'
                         f"<pre>{_e(loop_nest_text(row.loop_nest))}</pre></details>")
    return "".join(parts)


def _trials_section(tables: dict[str, list[dict[str, Any]]]) -> str:
    if "trials" not in tables:
        return ""
    hw = [k for k in dict.fromkeys(k for r in tables["trials"] for k in r) if k.startswith("hw.")]
    rows = []
    for r in tables["trials"]:
        rows.append([r["source"], r["number"], r["state"], {True: "yes", False: "no", None: "-"}[r["valid"]],
                     *[fmt_param(r.get(k)) for k in hw], "-" if r["area_mm2"] is None else f"{r['area_mm2']:.3f}",
                     fmt_sci(r["energy_pj"]), fmt_int(r["cycles"]), fmt_sci(r["edp"]), r["reason"] or r["error"] or ""])
    table = _table(["source", "#", "state", "valid", *[k[3:] for k in hw], "area (mm²)", "energy (pJ)", "cycles",
                    "EDP (pJ·cycles)", "reason"], rows, left=3, table_id="trials")
    return f"<h2>Trials</h2><details><summary>{len(rows)} trials</summary>{table}</details>"


def _pareto_section(tables: dict[str, list[dict[str, Any]]]) -> str:
    if "pareto_front" not in tables:
        return ""
    hw = [k for k in dict.fromkeys(k for r in tables["pareto_front"] for k in r) if k.startswith("hw.")]
    rows = [[r["source"], r["number"], *[fmt_param(r.get(k)) for k in hw], f"{r['area_mm2']:.3f}",
             fmt_sci(r["objective_energy"]), fmt_sci(r["objective_cycles"]), fmt_sci(r["edp"])]
            for r in tables["pareto_front"]]
    return ("<h2>Pareto front</h2><p class=\"meta\">Studies with the pareto objective: the valid trials that no "
            "other trial beats in energy, cycles and area, by energy (with several workloads, energy and cycles are "
            "geometric means of the ratios to the baseline).</p>"
            + _table(["source", "#", *[k[3:] for k in hw], "area (mm²)", "energy", "cycles", "EDP (pJ·cycles)"],
                     rows, left=2, table_id="pareto_front"))


def _files_section(table_files: dict[str, dict[str, str]]) -> str:
    items = "".join(f"<li>{_e(name)}: " + " ".join(f'<a href="{_e(p)}">{_e(k.upper())}</a>' for k, p in files.items())
                    + "</li>" for name, files in table_files.items())
    return f"<h2>Tables as files</h2><ul class=\"files\">{items}</ul>"


def render_page(sources: Sequence[Source], shown: Sequence[ShownDesign], figures: Sequence[FigureSpec],
                figure_files: dict[str, dict[str, str]], tables: dict[str, list[dict[str, Any]]],
                table_files: dict[str, dict[str, str]], *, plotly_js: str, title: str | None = None) -> str:
    """The whole page as text. ``figure_files``/``table_files`` map ids to relative file paths."""
    title = title or "cosearch report: " + ", ".join(s.label for s in sources)
    kinds = {"study" if isinstance(s, StudySource) else "map" for s in sources}
    body = [f"<h1>{_e(title)}</h1>",
            f'<p class="meta">cosearch {__version__}, {time.strftime("%Y-%m-%d %H:%M:%S")}; '
            f"{len(sources)} source(s). Energies in pJ (figures: µJ), EDP in pJ·cycles, areas in mm².</p>",
            _sources_section(sources), _designs_section(sources, shown, tables)]
    body += [_figure_section(f, figure_files.get(f.id, {})) for f in figures]
    body += [_phases_section(tables), _layers_section(tables), _element_ops_section(tables)]
    if "study" in kinds:
        body.append(_constraints_section(tables))
        body.append(_pareto_section(tables))
    body += [_loop_nests_section(sources), _trials_section(tables), _files_section(table_files)]
    # plotly.js goes in the head, inline: the page needs no network
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{_e(title)}</title><style>{CSS}</style>"
            f"<script type=\"text/javascript\">{plotly_js}</script></head>"
            f"<body>{''.join(body)}</body></html>\n")

