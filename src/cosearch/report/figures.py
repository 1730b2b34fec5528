"""The report's figures, each drawn twice from the same series: plotly (interactive, for the HTML page)
and matplotlib (Agg backend: PNG and SVG files, no display or network needed).

Figures (ids):

* ``convergence`` (studies): best EDP so far (pJ·cycles, log scale) against HW samples, one curve per
  outer optimizer; with several studies of one optimizer (seeds), the median and the min–max band;
  the baselines' EDP as dashed lines;
* ``area_edp`` (studies): area (mm²) against network EDP of every valid evaluated HW point, the Pareto
  front over all of them, the area budget (vertical line) and the baselines;
  both in J·s with SRAM leakage instead when every study searches precision, DRAM bandwidth or clock
  (what such a study ranks by), without the pJ·cycles lower bound;
* ``energy_breakdown``: network energy (µJ, repeats counted) of each design, stacked by level and data
  space (plus the MACs);
* ``layer_edp``: EDP of one instance of each layer (pJ·cycles, log scale), one bar per design;
* ``layer_energy``: energy of one instance of each layer (µJ), stacked by level and data space, one bar
  per (layer, design);
* ``energy_latency`` (two or more studies whose trials store ``latency_s`` and ``power_mw``): energy
  (mJ, dynamic plus SRAM leakage) against latency (ms) of every valid evaluated HW point, one colour
  per study, each study's non-dominated front as a step line, its best design and its reference
  design (the baseline) marked.
"""

from __future__ import annotations

import io
import math
import statistics
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

from .._io import finite, write_atomic
from ..arch.physical import edp_js
from ..dims import DATASPACES
from .records import MAC_LEVEL, Design, Source, StudySource
from .rows import convergence_rows, trial_edp_js, trial_energy_latency

PJ_PER_UJ = 1e6
WIDTH_IN, HEIGHT_IN, DPI = 11.0, 6.2, 100  # PNG: 1100 × 620 pixels
PLOTLY_HEIGHT = 520

# tab20-like palette (hex): the same colours in plotly and matplotlib
PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22",
           "#7f7f7f", "#aec7e8", "#ffbb78", "#98df8a", "#ff9896", "#c5b0d5", "#c49c94", "#f7b6d2", "#9edae5",
           "#dbdb8d", "#393b79", "#637939", "#8c6d31", "#843c39", "#7b4173"]
BASELINE_COLOURS = ["#4d4d4d", "#a6a6a6", "#6b6b6b", "#c7c7c7"]
BOUND_COLOUR = "#000000"
BOUND_LABEL = "lower bound, any design within the budget"


@dataclass
class FigureSpec:
    """One figure: its id (file and element names), title, caption and both renderings."""

    id: str
    title: str
    caption: str
    plotly: Any  # plotly.graph_objects.Figure
    draw: Callable[[Any], None]  # draws on a matplotlib Figure
    notes: list[str] = field(default_factory=list)


# ---------------------------------------------------------------------------------------------------
# which designs are drawn, and their labels and colours


@dataclass
class ShownDesign:
    label: str
    design: Design
    colour: str


def _edp_axis(studies: Sequence[StudySource]) -> tuple[bool, str]:
    """Whether the EDP figures of ``studies`` are drawn in J·s with leakage (every study searches physical
    settings and ranks by it) or in pJ·cycles, and the axis unit."""
    physical = bool(studies) and all(s.searches_physical for s in studies)
    return physical, ("J·s, with leakage" if physical else "pJ·cycles")


def _design_edp(design: Design, physical: bool) -> float | None:
    """A design's network EDP on the figures' axis (:func:`_edp_axis`)."""
    if not physical:
        return design.edp
    units = design.physical or {}
    if finite(units.get("total_energy_uj")) is None or finite(units.get("latency_s")) is None:
        return None
    return edp_js(units)


def pareto_front(points: Iterable[tuple[float, float]]) -> list[tuple[float, float]]:
    """The (area, EDP) points no other point beats on both (smaller area and smaller EDP), by area."""
    front: list[tuple[float, float]] = []
    best = math.inf
    for area, edp in sorted(points):
        if edp < best:
            front.append((area, edp))
            best = edp
    return front


def _workload_set(src: Source) -> tuple[str, ...]:
    return tuple(src.config.get("workloads") or ()) if isinstance(src, StudySource) else ()


def shown_designs(sources: Sequence[Source]) -> list[ShownDesign]:
    """The designs to draw, labelled for the legend: every study's best, every map run, and the
    baselines of the first study of each set of workloads (studies of other seeds map the baselines
    with other seeds: their baselines are in the tables, not drawn again)."""
    several = len(sources) > 1
    out: list[ShownDesign] = []
    bases: list[ShownDesign] = []
    k = 0
    sets = list(dict.fromkeys(_workload_set(s) for s in sources if isinstance(s, StudySource)))
    drawn_sets: set[tuple[str, ...]] = set()
    first_of_set = False
    for src in sources:
        if isinstance(src, StudySource):
            first_of_set = _workload_set(src) not in drawn_sets
            drawn_sets.add(_workload_set(src))
        for d in src.designs:
            if d.role == "best":
                label = f"{src.label}: best (trial {d.trial})" if several else f"best design (trial {d.trial})"
                out.append(ShownDesign(label, d, PALETTE[k % len(PALETTE)]))
                k += 1
            elif d.role == "map":
                out.append(ShownDesign(d.label if several else f"{d.arch_name} ({src.label})", d,
                                       PALETTE[k % len(PALETTE)]))
                k += 1
            elif first_of_set:
                label = d.label if len(sets) == 1 else f"{d.label} on {'+'.join(_workload_set(src))}"
                bases.append(ShownDesign(label, d, BASELINE_COLOURS[len(bases) % len(BASELINE_COLOURS)]))
    return out + bases


def _components(designs: Sequence[ShownDesign]) -> list[tuple[str, str]]:
    """(level, data space) stack components: levels outer first (in the order the designs' archs list
    them), data spaces in Weights, Inputs, Outputs order; the MACs last."""
    levels: dict[str, None] = {}
    seen: set[tuple[str, str]] = set()
    for s in designs:
        for row in s.design.layers:
            for b in row.breakdown:
                levels.setdefault(b["level"], None)
                seen.add((b["level"], b["dataspace"]))
    keys = [(lvl, ds) for lvl in levels for ds in DATASPACES if (lvl, ds) in seen]
    return keys + [(MAC_LEVEL, "-")]


def _shade(colour: str, amount: float) -> str:
    """``colour`` (``#rrggbb``) mixed with white by ``amount`` (0: unchanged, 1: white)."""
    r, g, b = (int(colour[i:i + 2], 16) for i in (1, 3, 5))
    mix = lambda c: round(c + (255 - c) * amount)  # noqa: E731
    return f"#{mix(r):02x}{mix(g):02x}{mix(b):02x}"


def _component_colours(comps: Sequence[tuple[str, str]]) -> list[str]:
    """One hue per level, lighter for Inputs and lighter still for Outputs; the MACs grey."""
    hues = ["#1f77b4", "#2ca02c", "#ff7f0e", "#9467bd", "#d62728", "#8c564b", "#e377c2", "#17becf", "#bcbd22"]
    levels = list(dict.fromkeys(c[0] for c in comps if c[0] != MAC_LEVEL))
    out = []
    for lvl, ds in comps:
        if lvl == MAC_LEVEL:
            out.append("#7f7f7f")
            continue
        hue = hues[levels.index(lvl) % len(hues)]
        out.append(_shade(hue, {"Weights": 0.0, "Inputs": 0.35, "Outputs": 0.6}.get(ds, 0.0)))
    return out


def _component_label(key: tuple[str, str]) -> str:
    return "MAC" if key[0] == MAC_LEVEL else f"{key[0]} · {key[1]}"


def _axes_style(ax: Any, title: str, xlabel: str, ylabel: str) -> None:
    ax.set_title(title, fontsize=12)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(True, which="major", alpha=0.3)


def _plotly_layout(fig: Any, title: str, xlabel: str, ylabel: str, *, logy: bool = False, **kw: Any) -> None:
    fig.update_layout(title=title, height=PLOTLY_HEIGHT, template="plotly_white", margin=dict(l=70, r=30, t=60, b=60),
                      legend=dict(orientation="v"), **kw)
    fig.update_xaxes(title_text=xlabel)
    fig.update_yaxes(title_text=ylabel, type="log" if logy else "linear")


# ---------------------------------------------------------------------------------------------------
# convergence


def _steps(xs: Sequence[float], ys: Sequence[float]) -> tuple[list[float], list[float]]:
    """The vertices of a step curve that holds each value until the next x (plotly's ``hv`` shape)."""
    px: list[float] = []
    py: list[float] = []
    for i, (x, y) in enumerate(zip(xs, ys)):
        if i:
            px.append(x)
            py.append(ys[i - 1])
        px.append(x)
        py.append(y)
    return px, py


def _convergence(sources: Sequence[Source], shown: Sequence[ShownDesign]) -> FigureSpec | None:
    import plotly.graph_objects as go

    studies = [s for s in sources if isinstance(s, StudySource)]
    if not studies:
        return None
    groups: dict[str, list[StudySource]] = {}
    for s in studies:
        groups.setdefault(s.optimizer, []).append(s)
    series = []  # (label, colour, xs, median/ys, lo, hi)
    physical, unit = _edp_axis(studies)
    for i, (opt, members) in enumerate(groups.items()):
        curves = [[r["best_edp_js" if physical else "best_edp"] for r in convergence_rows(s)] for s in members]
        n = max((len(c) for c in curves), default=0)
        xs, mid, lo, hi = [], [], [], []
        for j in range(n):
            vals = [c[j] for c in curves if j < len(c) and c[j] is not None]
            if not vals:
                continue
            xs.append(j + 1)
            mid.append(statistics.median(vals))
            lo.append(min(vals))
            hi.append(max(vals))
        seeds = ", ".join(str(s.seed) for s in members)
        if len(members) == 1:
            label = f"{opt} (seed {seeds})"
        else:
            label = f"{opt}: median of {len(members)} studies (seeds {seeds}), band min–max"
        series.append((label, PALETTE[i % len(PALETTE)], xs, mid, lo, hi, len(members) > 1))
    baselines = [(s, v) for s in shown if s.design.role in ("baseline", "baseline_rs")
                 and (v := _design_edp(s.design, physical)) is not None]
    # the lower bound for any design of the first study's space and budget (single workload only; in
    # pJ·cycles, and none for a space that searches physical settings)
    bound = None if physical else next((s.edp_bound for s in studies if s.edp_bound), None)

    fig = go.Figure()
    for label, colour, xs, mid, lo, hi, band in series:
        if band:  # the min–max band, stepped like the curves
            sx, shi = _steps(xs, hi)
            _, slo = _steps(xs, lo)
            fig.add_trace(go.Scatter(x=sx + sx[::-1], y=shi + slo[::-1], fill="toself", fillcolor=colour, opacity=0.2,
                                     line=dict(width=0), hoverinfo="skip", showlegend=False, name=f"{label} band"))
        fig.add_trace(go.Scatter(x=xs, y=mid, mode="lines+markers", name=label, line=dict(color=colour, width=2,
                                 shape="hv"), marker=dict(size=5)))
    for b, v in baselines:
        fig.add_hline(y=v, line=dict(color=b.colour, dash="dash"), annotation_text=b.label,
                      annotation_position="top left")
    if bound:
        fig.add_hline(y=bound, line=dict(color=BOUND_COLOUR, dash="dot"), annotation_text=BOUND_LABEL,
                      annotation_position="bottom left")
    title = "Convergence: best EDP so far vs HW samples"
    _plotly_layout(fig, title, "HW samples (trials evaluated)", f"best EDP so far ({unit})", logy=True)

    def draw(f: Any) -> None:
        ax = f.add_subplot(111)
        for label, colour, xs, mid, lo, hi, band in series:
            if band:
                ax.fill_between(xs, lo, hi, step="post", color=colour, alpha=0.2, linewidth=0)
            ax.step(xs, mid, where="post", color=colour, linewidth=2, label=label)
            ax.plot(xs, mid, "o", color=colour, markersize=3)
        for b, v in baselines:
            ax.axhline(v, color=b.colour, linestyle="--", linewidth=1.2, label=b.label)
        if bound:
            ax.axhline(bound, color=BOUND_COLOUR, linestyle=":", linewidth=1.5, label=BOUND_LABEL)
        ax.set_yscale("log")
        _axes_style(ax, title, "HW samples (trials evaluated)", f"best EDP so far ({unit})")
        ax.legend(fontsize=8, loc="best")

    caption = ("Best network EDP among the valid HW points evaluated so far, per outer optimizer"
               + (" (in J·s with SRAM leakage, as the studies rank designs: their spaces search precision, "
                  "DRAM bandwidth or clock)" if physical else "")
               + ("; several studies of one optimizer (seeds) are drawn as their median with the min–max band"
                  if any(s[6] for s in series) else "") + ". Dashed: the baselines (mapped with the first study's seed; the tables list every study's)."
               + (" Dotted: the lower bound no design of the space within the area budget can beat (energy and "
                  "cycles bounded separately; see docs/codesign.md)." if bound else ""))
    return FigureSpec("convergence", title, caption, fig, draw)


# ---------------------------------------------------------------------------------------------------
# area vs EDP


def _area_edp(sources: Sequence[Source], shown: Sequence[ShownDesign]) -> FigureSpec | None:
    import plotly.graph_objects as go

    studies = [s for s in sources if isinstance(s, StudySource)]
    if not studies:
        return None
    physical, unit = _edp_axis(studies)
    per_study = []
    allpts: list[tuple[float, float]] = []
    for i, s in enumerate(studies):
        pts, text = [], []
        for t in s.trials:
            res = t.result or {}
            edp = trial_edp_js(res) if physical else res.get("edp")
            if t.state == "complete" and res.get("valid") and edp is not None and res.get("area_mm2") is not None:
                pts.append((float(res["area_mm2"]), float(edp)))
                vals = t.hw_params.get("values") or {}
                text.append(f"trial {t.number}<br>" + "<br>".join(f"{k} = {v}" for k, v in vals.items()))
        allpts += pts
        per_study.append((s.label, PALETTE[i % len(PALETTE)], pts, text))
    front = pareto_front(allpts)
    budgets = sorted({s.area_budget_mm2 for s in studies if s.area_budget_mm2 is not None})
    baselines = [(b, v) for b in shown if b.design.role in ("baseline", "baseline_rs")
                 and (v := _design_edp(b.design, physical)) is not None and b.design.area_mm2 is not None]

    fig = go.Figure()
    for label, colour, pts, text in per_study:
        fig.add_trace(go.Scatter(x=[p[0] for p in pts], y=[p[1] for p in pts], mode="markers", name=label,
                                 marker=dict(color=colour, size=8, opacity=0.8), text=text,
                                 hovertemplate="%{text}<br>area %{x:.3f} mm²<br>EDP %{y:.4e}<extra></extra>"))
    if front:
        fig.add_trace(go.Scatter(x=[p[0] for p in front], y=[p[1] for p in front], mode="lines", name="Pareto front",
                                 line=dict(color="#000000", width=1.5, shape="hv")))
    for b, v in baselines:
        fig.add_trace(go.Scatter(x=[b.design.area_mm2], y=[v], mode="markers", name=b.label,
                                 marker=dict(symbol="star", size=16, color=b.colour, line=dict(color="#000", width=1))))
    for v in budgets:
        fig.add_vline(x=v, line=dict(color="#d62728", dash="dot"), annotation_text=f"area budget {v:.2f} mm²",
                      annotation_position="top right")
    title = "Area vs EDP of every evaluated HW point"
    _plotly_layout(fig, title, "area (mm²)", f"network EDP ({unit})", logy=True)

    def draw(f: Any) -> None:
        ax = f.add_subplot(111)
        for label, colour, pts, _ in per_study:
            ax.scatter([p[0] for p in pts], [p[1] for p in pts], s=30, color=colour, alpha=0.8, label=label)
        if front:
            ax.step([p[0] for p in front], [p[1] for p in front], where="post", color="black", linewidth=1.5,
                    label="Pareto front")
        for b, v in baselines:
            ax.scatter([b.design.area_mm2], [v], marker="*", s=250, color=b.colour, edgecolors="black",
                       label=b.label, zorder=5)
        for v in budgets:
            ax.axvline(v, color="#d62728", linestyle=":", linewidth=1.5, label=f"area budget {v:.2f} mm²")
        ax.set_yscale("log")
        _axes_style(ax, title, "area (mm²)", f"network EDP ({unit})")
        ax.legend(fontsize=8, loc="best")

    caption = ("Every valid HW point evaluated (invalid points have no EDP: see the constraint statistics), "
               "the Pareto front over all of them (no point has both less area and less EDP), the area budget "
               "(dotted) and the baselines (stars).")
    return FigureSpec("area_edp", title, caption, fig, draw)


# ---------------------------------------------------------------------------------------------------
# energy vs latency, one front per study


def design_energy_latency(physical: dict[str, Any] | None) -> tuple[float, float] | None:
    """``(latency ms, energy mJ)`` of a design's stored ``physical`` units
    (:func:`cosearch.arch.physical.design_units`), ``None`` without them."""
    if not isinstance(physical, dict):
        return None
    lat, energy = physical.get("latency_ms"), physical.get("total_energy_mj")
    if not isinstance(lat, (int, float)) or not isinstance(energy, (int, float)):
        return None
    return float(lat), float(energy)


@dataclass
class EnergyLatencySeries:
    """One study's points for the energy–latency figure: ``points`` (latency ms, energy mJ, trial number)
    of every valid trial, its non-dominated ``front`` (by latency), its ``best`` design's point (the
    study's best by its objective) and its ``reference`` design's (the baseline), when known."""

    label: str
    colour: str
    points: list[tuple[float, float, int]]
    front: list[tuple[float, float]]
    best: tuple[float, float] | None = None
    reference: tuple[float, float] | None = None
    reference_label: str = "reference"


def energy_latency_series(studies: Sequence[StudySource]) -> list[EnergyLatencySeries]:
    """:class:`EnergyLatencySeries` of each study with at least one valid trial in physical units, in
    the given order (colours from :data:`PALETTE` by position)."""
    out: list[EnergyLatencySeries] = []
    for i, s in enumerate(studies):
        pts: list[tuple[float, float, int]] = []
        best = None
        best_trial = s.best.trial if s.best is not None else None
        for t in s.trials:
            if t.state != "complete":
                continue
            xy = trial_energy_latency(t.result)
            if xy is None:
                continue
            pts.append((xy[0], xy[1], int(t.number)))
            if t.number == best_trial:
                best = xy
        if not pts:
            continue
        ref = next((d for d in s.baselines if d.role == "baseline"), None)
        out.append(EnergyLatencySeries(
            s.label, PALETTE[i % len(PALETTE)], pts, pareto_front((x, y) for x, y, _ in pts), best,
            design_energy_latency(ref.physical) if ref is not None else None,
            ref.label if ref is not None else "reference"))
    return out


def _front_line(s: EnergyLatencySeries) -> tuple[list[float], list[float]]:
    """The step line of a series' front, held at its last (lowest) energy out to the series' slowest
    point, so a front of one point still shows as a line."""
    xs, ys = [p[0] for p in s.front], [p[1] for p in s.front]
    slowest = max(p[0] for p in s.points)
    if xs and slowest > xs[-1]:
        xs.append(slowest)
        ys.append(ys[-1])
    return xs, ys


def energy_latency_figure(studies: Sequence[StudySource], *, title: str | None = None,
                          bounds: dict[str, tuple[float, float]] | None = None) -> FigureSpec | None:
    """The ``energy_latency`` figure of ``studies`` (``None`` if fewer than two have points): every
    valid point, each study's front (step line), best (circled) and reference (star). ``bounds`` adds,
    per study label, the ``(latency ms, energy mJ)`` corner of its space's lower bounds (cycles and
    dynamic energy bounded separately: no design of the space reaches below or left of it)."""
    import plotly.graph_objects as go

    series = energy_latency_series(studies)
    if len(series) < 2:
        return None
    bounds = bounds or {}
    title = title or "Energy vs latency of every evaluated HW point, one front per study"
    xlabel, ylabel = "latency (ms)", "energy (mJ, dynamic + SRAM leakage)"
    fig = go.Figure()
    for s in series:
        fig.add_trace(go.Scatter(x=[p[0] for p in s.points], y=[p[1] for p in s.points], mode="markers",
                                 name=s.label, legendgroup=s.label, text=[f"trial {p[2]}" for p in s.points],
                                 marker=dict(color=s.colour, size=6, opacity=0.45),
                                 hovertemplate=s.label + "<br>%{text}<br>%{x:.4g} ms<br>%{y:.4g} mJ<extra></extra>"))
        fx, fy = _front_line(s)
        fig.add_trace(go.Scatter(x=fx, y=fy, mode="lines", name=f"{s.label}: front", legendgroup=s.label,
                                 showlegend=False, line=dict(color=s.colour, width=2, shape="hv")))
        if s.best is not None:
            fig.add_trace(go.Scatter(x=[s.best[0]], y=[s.best[1]], mode="markers", name=f"{s.label}: best",
                                     legendgroup=s.label, showlegend=False,
                                     marker=dict(color=s.colour, size=13, line=dict(color="#000", width=1.5))))
        if s.reference is not None:
            fig.add_trace(go.Scatter(x=[s.reference[0]], y=[s.reference[1]], mode="markers",
                                     name=f"{s.label}: {s.reference_label}", legendgroup=s.label, showlegend=False,
                                     marker=dict(symbol="star", color=s.colour, size=15, line=dict(color="#000", width=1))))
        if s.label in bounds:
            b = bounds[s.label]
            fig.add_trace(go.Scatter(x=[b[0]], y=[b[1]], mode="markers", name=f"{s.label}: lower bound",
                                     legendgroup=s.label, showlegend=False,
                                     marker=dict(symbol="x", color=s.colour, size=12, line=dict(color="#000", width=1))))
    _plotly_layout(fig, title.replace("\n", "<br>"), xlabel, ylabel, logy=True)
    fig.update_xaxes(type="log")

    def draw(f: Any) -> None:
        ax = f.add_subplot(111)
        for s in series:
            ax.scatter([p[0] for p in s.points], [p[1] for p in s.points], s=14, color=s.colour, alpha=0.45,
                       linewidths=0, label=s.label)
            ax.step(*_front_line(s), where="post", color=s.colour, linewidth=1.8)
            if s.best is not None:
                ax.scatter([s.best[0]], [s.best[1]], s=90, color=s.colour, edgecolors="black", linewidths=1.2,
                           zorder=5)
            if s.reference is not None:
                ax.scatter([s.reference[0]], [s.reference[1]], marker="*", s=220, color=s.colour,
                           edgecolors="black", linewidths=0.8, zorder=6)
            if s.label in bounds:
                ax.scatter([bounds[s.label][0]], [bounds[s.label][1]], marker="X", s=90, color=s.colour,
                           edgecolors="black", linewidths=0.8, zorder=6)
        from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

        ax.set_xscale("log")
        ax.set_yscale("log")
        for axis in (ax.xaxis, ax.yaxis):  # 1, 2, 5 per decade, as plain numbers: labels even within a decade
            axis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
            axis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:g}"))
            axis.set_minor_formatter(NullFormatter())
        _axes_style(ax, title, xlabel, ylabel)
        ax.grid(True, which="minor", alpha=0.1)
        ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0),
                  title="circle: best, star: reference" + (", X: lower bound" if bounds else ""),
                  title_fontsize=7)
        f.subplots_adjust(left=0.08, right=0.74)

    caption = ("Energy of one pass over the workload(s) (dynamic energy plus SRAM leakage over the run, mJ) "
               "against its latency (ms) at each design's clock, for every valid HW point evaluated; one "
               "colour per study, each study's non-dominated points (no other point of that study has both "
               "less energy and less latency) joined as a step line. Circled: the study's best design by its "
               "objective; star: its reference design (the baseline)"
               + ("; X: the lower bounds of its space within its area budget, cycles and dynamic energy "
                  "bounded separately (docs/codesign.md)." if bounds else "."))
    return FigureSpec("energy_latency", title, caption, fig, draw)


# ---------------------------------------------------------------------------------------------------
# energy breakdowns


def _energy_breakdown(shown: Sequence[ShownDesign]) -> FigureSpec:
    import plotly.graph_objects as go

    designs = [s for s in shown if any(r.breakdown for r in s.design.layers)]
    comps = _components(designs)
    colours = _component_colours(comps)
    labels = [s.label for s in designs]
    values = {c: [s.design.network_breakdown().get(c, 0.0) / PJ_PER_UJ for s in designs] for c in comps}
    fig = go.Figure()
    for i, c in enumerate(comps):
        fig.add_trace(go.Bar(x=labels, y=values[c], name=_component_label(c), marker_color=colours[i],
                             hovertemplate="%{x}<br>" + _component_label(c) + ": %{y:.4g} µJ<extra></extra>"))
    title = "Network energy by level and data space"
    _plotly_layout(fig, title, "design", "network energy (µJ, repeats counted)", barmode="stack")

    def draw(f: Any) -> None:
        ax = f.add_subplot(111)
        bottom = [0.0] * len(designs)
        for i, c in enumerate(comps):
            ax.bar(range(len(designs)), values[c], bottom=bottom, color=colours[i],
                   label=_component_label(c), width=0.6)
            bottom = [b + v for b, v in zip(bottom, values[c])]
        tilt = len(designs) > 3 or max((len(x) for x in labels), default=0) > 24
        ax.set_xticks(range(len(designs)), labels, rotation=25 if tilt else 0, ha="right" if tilt else "center",
                      fontsize=8)
        _axes_style(ax, title, "design", "network energy (µJ, repeats counted)")
        ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
        f.subplots_adjust(left=0.12 if tilt else 0.08, right=0.78, bottom=0.32 if tilt else 0.12)

    caption = ("Energy of one inference of the whole workload, re-evaluated with the cost model from each "
               "design's arch and stored mappings: per storage level and data space (reads, fills and updates "
               "times the per-access energies) and the MACs.")
    return FigureSpec("energy_breakdown", title, caption, fig, draw)


def _layer_keys(shown: Sequence[ShownDesign]) -> list[str]:
    seen: dict[str, None] = {}
    for s in shown:
        for r in s.design.layers:
            seen.setdefault(r.key, None)
    return list(seen)


def _layer_edp(shown: Sequence[ShownDesign]) -> FigureSpec:
    import plotly.graph_objects as go

    keys = _layer_keys(shown)
    series = []
    for s in shown:
        by_key = {r.key: r.edp for r in s.design.layers}
        series.append((s.label, s.colour, [by_key.get(k) for k in keys]))
    fig = go.Figure()
    for label, colour, ys in series:
        fig.add_trace(go.Bar(x=keys, y=ys, name=label, marker_color=colour,
                             hovertemplate="%{x}<br>" + label + ": %{y:.4e}<extra></extra>"))
    title = "EDP per layer (one instance)"
    _plotly_layout(fig, title, "layer", "EDP (pJ·cycles)", logy=True, barmode="group")

    def draw(f: Any) -> None:
        ax = f.add_subplot(111)
        n = max(len(series), 1)
        width = 0.8 / n
        for j, (label, colour, ys) in enumerate(series):
            xs = [i + (j - (n - 1) / 2) * width for i in range(len(keys))]
            pairs = [(x, y) for x, y in zip(xs, ys) if y is not None and y > 0]
            ax.bar([p[0] for p in pairs], [p[1] for p in pairs], width=width, color=colour, label=label)
        ax.set_yscale("log")
        ax.set_xticks(range(len(keys)), keys, rotation=30 if len(keys) > 6 else 0,
                      ha="right" if len(keys) > 6 else "center", fontsize=8)
        _axes_style(ax, title, "layer", "EDP (pJ·cycles)")
        ax.legend(fontsize=8, loc="best")
        f.subplots_adjust(bottom=0.2)

    caption = "Energy × cycles of one instance of each unique layer under each design's best mapping of it."
    return FigureSpec("layer_edp", title, caption, fig, draw)


def _layer_energy(shown: Sequence[ShownDesign]) -> FigureSpec:
    import plotly.graph_objects as go

    designs = [s for s in shown if any(r.breakdown for r in s.design.layers)]
    comps = _components(designs)
    colours = _component_colours(comps)
    keys = _layer_keys(designs)
    number = {s.label: str(n) for n, s in enumerate(designs, 1)}  # designs numbered within each layer's group
    key_text = "; ".join(f"{number[s.label]} = {s.label}" for s in designs)
    cats: list[tuple[str, str]] = []  # (layer, design label)
    pos: list[float] = []  # matplotlib bar positions: one group per layer, a gap between groups
    values: dict[tuple[str, str], list[float]] = {c: [] for c in comps}
    for g, k in enumerate(keys):
        for j, s in enumerate(designs):
            row = next((r for r in s.design.layers if r.key == k and r.breakdown), None)
            if row is None:
                continue
            cats.append((k, s.label))
            pos.append(g * (len(designs) + 1) + j)
            energy = {(b["level"], b["dataspace"]): b["energy_pj"] for b in row.breakdown}
            energy[(MAC_LEVEL, "-")] = row.mac_energy_pj or 0.0
            for c in comps:
                values[c].append(energy.get(c, 0.0) / PJ_PER_UJ)
    fig = go.Figure()
    x = [[c[0] for c in cats], [number[c[1]] for c in cats]]
    hover = [c[1] for c in cats]
    for i, c in enumerate(comps):
        fig.add_trace(go.Bar(x=x, y=values[c], name=_component_label(c), marker_color=colours[i], customdata=hover,
                             hovertemplate="%{customdata}<br>" + _component_label(c) + ": %{y:.4g} µJ<extra></extra>"))
    title = "Energy per layer (one instance) by level and data space"
    _plotly_layout(fig, title, f"layer / design ({key_text})", "energy (µJ)", barmode="stack")

    def draw(f: Any) -> None:
        ax = f.add_subplot(111)
        bottom = [0.0] * len(cats)
        for i, c in enumerate(comps):
            ax.bar(pos, values[c], bottom=bottom, color=colours[i], label=_component_label(c), width=0.8)
            bottom = [b + v for b, v in zip(bottom, values[c])]
        ax.set_xticks(pos, [number[d] for _, d in cats], fontsize=7)
        for g, k in enumerate(keys):
            centre = g * (len(designs) + 1) + (len(designs) - 1) / 2
            ax.annotate(k, xy=(centre, 0), xycoords=("data", "axes fraction"), xytext=(0, -18),
                        textcoords="offset points", ha="center", va="top", fontsize=8,
                        rotation=20 if len(keys) > 8 else 0)
        _axes_style(ax, title, "", "energy (µJ)")
        ax.grid(False, axis="x")
        ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
        f.text(0.01, 0.015, "designs: " + key_text, fontsize=7, wrap=True)
        f.subplots_adjust(right=0.78, bottom=0.2)

    caption = (f"Energy of one instance of each layer under each design ({key_text}), per storage level and data "
               "space and the MACs.")
    return FigureSpec("layer_energy", title, caption, fig, draw)


# ---------------------------------------------------------------------------------------------------
# all figures, and the matplotlib files


def build_figures(sources: Sequence[Source]) -> list[FigureSpec]:
    """Every figure of a report on ``sources`` (studies first add convergence and area vs EDP; two or more
    studies with physical units also energy vs latency)."""
    shown = shown_designs(sources)
    studies = [s for s in sources if isinstance(s, StudySource)]
    figs = [_convergence(sources, shown), _area_edp(sources, shown),
            energy_latency_figure(studies) if len(studies) > 1 else None, _energy_breakdown(shown),
            _layer_edp(shown), _layer_energy(shown)]
    return [f for f in figs if f is not None]


def save_matplotlib(spec: FigureSpec, png: Path, svg: Path) -> None:
    """Draw ``spec`` with matplotlib (Agg, no display) and write it as PNG (1100 × 620 px) and SVG
    (each rendered in memory, then written atomically: an interrupted report leaves no half image)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(WIDTH_IN, HEIGHT_IN), dpi=DPI)
    FigureCanvasAgg(fig)  # the Agg canvas: no display, no pyplot state
    spec.draw(fig)
    for path, fmt in ((png, "png"), (svg, "svg")):
        buffer = io.BytesIO()
        fig.savefig(buffer, dpi=DPI, format=fmt)
        write_atomic(path, buffer.getvalue())
