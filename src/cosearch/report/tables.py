"""Rich tables and text views of cosearch results (what the CLI prints; usable from notebooks too).

Every function returns a renderable (:class:`rich.table.Table`) or plain text; none prints.
Numbers are formatted for people: integers with thousands separators, energies in pJ, EDP in
scientific notation, utilisation in percent.
"""

from __future__ import annotations

import math
from typing import Any, Iterable, Sequence

import numpy as np
from rich.markup import escape
from rich.table import Table

from ..arch.spec import Arch
from ..dims import DATASPACES
from ..mapping.loopnest import loop_nest_data
from ..mapping.mapping import Mapping, Mappings
from ..workload.layer import Layer, Network

# ---------------------------------------------------------------------------------------------------
# number formatting


def fmt_param(value: Any) -> str:
    """A hardware parameter's value: ``-`` for none, an integer with thousands separators, else ``%g``;
    a string (a searched precision such as ``int8``) as it is."""
    if value is None:
        return "-"
    if isinstance(value, str):
        return value
    x = float(value)
    return f"{int(x):,}" if x.is_integer() else f"{x:g}"


def fmt_int(value: Any) -> str:
    """``1,814,073,344``; non-finite values as ``inf``/``nan``."""
    return _fmt_number(value, ",.0f")


def _fmt_number(value: Any, spec: str, scale: float = 1.0, suffix: str = "") -> str:
    """``-`` for None, ``inf``/``nan`` as such, else ``format(value * scale, spec) + suffix``."""
    if value is None:
        return "-"
    x = float(value)
    if not math.isfinite(x):
        return str(x)
    return f"{x * scale:{spec}}{suffix}"


def fmt_energy(value_pj: Any) -> str:
    """Energy in pJ with thousands separators and one decimal (``1,183,866,880.0``)."""
    return _fmt_number(value_pj, ",.1f")


def fmt_sci(value: Any, digits: int = 4) -> str:
    """Scientific notation for large products such as EDP (``8.1466e+14``)."""
    return _fmt_number(value, f".{digits}e")


def fmt_pct(fraction: Any, digits: int = 1) -> str:
    """A fraction as percent (``0.5`` -> ``50.0 %``)."""
    return _fmt_number(fraction, f".{digits}f", 100.0, " %")


# ---------------------------------------------------------------------------------------------------
# workloads


def zoo_table(networks: Iterable[Network]) -> Table:
    """One row per network: name, unique layers, total layers (with repeats), MACs."""
    table = Table(title="Workload zoo")
    table.add_column("network", style="bold")
    table.add_column("unique layers", justify="right")
    table.add_column("layers", justify="right")
    table.add_column("MACs", justify="right")
    table.add_column("description")
    for net in networks:
        table.add_row(escape(net.name), str(len(net)), str(net.num_layers), fmt_int(net.macs), escape(net.description))
    return table


def network_table(network: Network) -> Table:
    """The unique layers of a network: name, count, shape, MACs per instance."""
    table = Table(title=f"{escape(network.name)}: {len(network)} unique layers, {network.num_layers} layers, "
                  f"{fmt_int(network.macs)} MACs")
    table.add_column("layer", style="bold")
    table.add_column("count", justify="right")
    table.add_column("shape")
    table.add_column("MACs (each)", justify="right")
    for layer in network:
        table.add_row(escape(layer.name), str(layer.count), layer.shape_text(), fmt_int(layer.macs))
    return table


# ---------------------------------------------------------------------------------------------------
# one evaluated mapping


def summary_table(costs: Any, index: int = 0, *, title: str = "Costs") -> Table:
    """Energy, cycles, EDP, utilisation and MACs of mapping ``index`` of a :class:`~cosearch.Costs`."""
    table = Table(title=title, show_header=False)
    table.add_column("metric", style="bold")
    table.add_column("value", justify="right")
    table.add_row("energy (pJ)", fmt_energy(costs.energy_pj[index]))
    table.add_row("energy / MAC (pJ)", f"{float(costs.energy_pj[index]) / max(costs.macs, 1):.3f}")
    table.add_row("cycles", fmt_int(costs.cycles[index]))
    table.add_row("compute cycles", fmt_int(costs.compute_cycles[index]))
    table.add_row("EDP (pJ·cycles)", fmt_sci(costs.edp[index]))
    table.add_row("utilisation", fmt_pct(costs.utilization[index]))
    table.add_row("utilised PEs", fmt_int(costs.utilized_pes[index]))
    table.add_row("MACs", fmt_int(costs.macs))
    return table


def level_breakdown_table(arch: Arch, costs: Any, index: int = 0, *, title: str = "Per level") -> Table:
    """Per level × kept data space: utilised instances, tile words, reads, fills, updates, energy.

    ``costs`` must come from ``evaluate(..., breakdown=True)``. Counts are totals over all utilised
    instances; ``tile words`` is the largest tile one instance holds. Ends with the MAC row and the total.
    If a level has a bandwidth limit, a ``cycles`` column shows each limited level's cycles after its own
    throttling (the MAC row: compute cycles; the total: the layer's cycles).
    """
    if costs.reads is None:
        raise ValueError("level_breakdown_table needs costs from evaluate(..., breakdown=True)")
    total = float(costs.energy_pj[index])
    table = Table(title=title)
    show_cycles = costs.level_cycles is not None and any(lvl.bandwidth.limited for lvl in arch.levels)
    columns = [("level", "left"), ("data space", "left"), ("instances", "right"), ("tile words", "right"),
               ("reads", "right"), ("fills", "right"), ("updates", "right"), ("energy (pJ)", "right"),
               ("share", "right")]
    if show_cycles:
        columns.append(("cycles", "right"))
    for name, justify in columns:
        table.add_column(name, justify=justify, no_wrap=True)  # type: ignore[arg-type]
    keep = costs.keep if costs.keep is not None else np.ones_like(costs.reads, dtype=bool)
    for li, lvl in enumerate(arch.levels):
        first = True
        for di, ds in enumerate(DATASPACES):
            if not keep[index, li, di]:
                continue
            energy = float(costs.level_energy_pj[index, li, di])
            cycles = [fmt_int(costs.level_cycles[index, li]) if first and lvl.bandwidth.limited else ""] if show_cycles else []
            table.add_row(
                escape(lvl.name) if first else "",
                ds,
                fmt_int(costs.utilized_instances[index, li]),
                fmt_int(costs.tile_words[index, li, di]),
                fmt_int(costs.reads[index, li, di]),
                fmt_int(costs.fills[index, li, di]),
                fmt_int(costs.updates[index, li, di]),
                fmt_energy(energy),
                fmt_pct(energy / total if total else 0.0),
                *cycles,
            )
            first = False
        if not first:
            table.add_section()
    mac_energy = costs.macs * arch.mac.energy_pj
    mac_cycles = [fmt_int(costs.compute_cycles[index])] if show_cycles else []
    table.add_row("MAC", "", fmt_int(costs.utilized_pes[index]), "", "", "", "", fmt_energy(mac_energy),
                  fmt_pct(mac_energy / total if total else 0.0), *mac_cycles)
    table.add_section()
    total_cycles = [fmt_int(costs.cycles[index])] if show_cycles else []
    table.add_row("total", "", "", "", "", "", "", fmt_energy(total), fmt_pct(1.0), *total_cycles, style="bold")
    return table


def breakdown_dict(arch: Arch, costs: Any, index: int = 0) -> list[dict[str, Any]]:
    """The per-level breakdown as plain data (for JSON): one entry per level with its kept data spaces."""
    out = []
    keep = costs.keep if costs.keep is not None else np.ones_like(costs.reads, dtype=bool)
    for li, lvl in enumerate(arch.levels):
        spaces = {}
        for di, ds in enumerate(DATASPACES):
            if not keep[index, li, di]:
                continue
            spaces[ds] = {
                "reads": int(costs.reads[index, li, di]),
                "fills": int(costs.fills[index, li, di]),
                "updates": int(costs.updates[index, li, di]),
                "tile_words": int(costs.tile_words[index, li, di]),
                "energy_pj": float(costs.level_energy_pj[index, li, di]),
            }
        entry: dict[str, Any] = {
            "level": lvl.name,
            "utilized_instances": int(costs.utilized_instances[index, li]),
            "dataspaces": spaces,
        }
        if costs.level_cycles is not None:
            entry["cycles"] = float(costs.level_cycles[index, li])
        out.append(entry)
    return out


# ---------------------------------------------------------------------------------------------------
# loop nest


_LOOP_TAGS = {"temporal": "", "spatial_y": " (Spatial-Y)", "spatial_x": " (Spatial-X)"}


def loop_nest_text(levels: Sequence[dict[str, Any]]) -> str:
    """Render the output of :func:`loop_nest_data` as Timeloop-style text (see :func:`loop_nest`)."""
    lines: list[str] = []
    depth = 0
    for entry in levels:
        sizes = entry.get("tile_words")
        kept = [f"{ds}:{sizes[ds]}" for ds in entry["keeps"]] if sizes is not None else list(entry["keeps"])
        header = f"{entry['level']} [ {' '.join(kept)} ]" if kept else f"{entry['level']} [ ]"
        rem = entry.get("remainder_tiles")
        if rem:  # an imperfect factorization: tiles of this level along these dims end in a remainder
            header += "  remainder tiles: " + ", ".join(f"{d} {t['tile']} (last {t['last']})" for d, t in rem.items())
        lines.append(header)
        lines.append("-" * len(header))
        for lp in entry["loops"]:
            lines.append("|" + " " * (2 * depth + 1) + f"for {lp['dim']} in [0:{lp['bound']}){_LOOP_TAGS[lp['kind']]}")
            depth += 1
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def loop_nest(arch: Arch, mapping: Mapping | Mappings, index: int = 0, *,
              tile_words: np.ndarray | None = None, dims: Any = None) -> str:
    """Timeloop-style text view of a mapping, outermost level first.

    Each level prints a header with the data spaces it keeps (and their tile sizes in words if
    ``tile_words [B, L, 3]`` from ``evaluate(..., breakdown=True)`` is given), then its temporal loops
    outer -> inner; the fan-out level adds its spatial loops (all Y loops outside all X loops) marked
    ``(Spatial-Y)``/``(Spatial-X)``. Loops with factor 1 are omitted, as Timeloop does::

        GLB [ Weights:9216 Outputs:25088 ]
        ----------------------------------
        |       for P in [0:4)
        |         for R in [0:3) (Spatial-Y)

    With the layer's ``dims``, a level whose tiles end in a remainder tile along a dim (an imperfect
    factorization) says so in its header: ``remainder tiles: P 14 (last 6)``.

    The same nest as plain data: :func:`loop_nest_data`.
    """
    return loop_nest_text(loop_nest_data(arch, mapping, index, tile_words=tile_words, dims=dims))


# ---------------------------------------------------------------------------------------------------
# mapping a network


def layer_results_table(rows: Sequence[dict[str, Any]], *, title: str = "Best mapping per layer") -> Table:
    """One row per layer: name, count, energy, cycles, EDP, utilisation (and more columns if given).

    ``rows`` are dicts with keys ``layer``, ``count``, ``energy_pj``, ``cycles``, ``edp``,
    ``utilization`` and optionally ``valid`` / ``sampled`` (random sampling), ``evaluations`` and
    ``seconds`` (a mapper run). Missing results (``None``) show as ``-``.
    """
    table = Table(title=title)
    table.add_column("layer", style="bold")
    table.add_column("count", justify="right")
    table.add_column("energy (pJ)", justify="right")
    table.add_column("cycles", justify="right")
    table.add_column("EDP (pJ·cycles)", justify="right")
    table.add_column("utilisation", justify="right")
    with_counts = any("sampled" in r for r in rows)
    if with_counts:
        table.add_column("valid / sampled", justify="right")
    with_search = any("evaluations" in r for r in rows)
    if with_search:
        table.add_column("evaluations", justify="right")
        table.add_column("seconds", justify="right")
    for r in rows:
        cells = [escape(str(r["layer"])), str(r["count"]), fmt_energy(r["energy_pj"]), fmt_int(r["cycles"]),
                 fmt_sci(r["edp"]), fmt_pct(r["utilization"])]
        if with_counts:
            cells.append(f"{fmt_int(r.get('valid'))} / {fmt_int(r.get('sampled'))}")
        if with_search:
            secs = r.get("seconds")
            cells += [fmt_int(r.get("evaluations")), "-" if secs is None else f"{float(secs):.2f}"]
        table.add_row(*cells)
    return table


def network_totals_table(totals: dict[str, Any], *, title: str = "Network totals (with repeat counts)") -> Table:
    """Σ energy, Σ cycles, EDP = Σ energy × Σ cycles, utilisation, MACs."""
    table = Table(title=title, show_header=False)
    table.add_column("metric", style="bold")
    table.add_column("value", justify="right")
    table.add_row("energy (pJ)", fmt_energy(totals["energy_pj"]))
    table.add_row("cycles", fmt_int(totals["cycles"]))
    table.add_row("EDP (pJ·cycles)", fmt_sci(totals["edp"]))
    table.add_row("utilisation", fmt_pct(totals["utilization"]))
    table.add_row("MACs", fmt_int(totals["macs"]))
    return table


def phase_totals_table(phases: dict[str, dict[str, Any]], *, title: str = "Per phase (with repeat counts)") -> Table:
    """One row per phase (:func:`cosearch.model.totals.phase_totals`): tokens, energy, cycles, EDP,
    utilisation, the share of the energy spent in DRAM, and energy and cycles per token."""
    table = Table(title=title)
    for column in ("phase", "tokens", "energy (pJ)", "cycles", "EDP (pJ·cycles)", "utilisation", "DRAM share",
                   "energy / token (pJ)", "cycles / token"):
        table.add_column(column, justify="left" if column == "phase" else "right")
    for name, t in phases.items():
        per = t.get("per_token") or {}
        table.add_row(escape(name), fmt_int(t.get("tokens")), fmt_energy(t.get("energy_pj")), fmt_int(t.get("cycles")),
                      fmt_sci(t.get("edp")), fmt_pct(t.get("utilization")), fmt_pct(t.get("dram_share")),
                      fmt_energy(per.get("energy_pj")), _fmt_number(per.get("cycles"), ",.1f"))
    return table


def element_ops_table(ops: Sequence[Any], *, title: str | None = None) -> Table:
    """The operations that are not matrix products (:class:`~cosearch.workload.layer.ElementOp`): op,
    count, elements and DRAM words of one instance, and the totals counting repeats."""
    total_words = sum(op.dram_words * op.count for op in ops)
    table = Table(title=title or f"{len(ops)} element ops, not costed (DRAM words: inputs read once, output "
                                 f"written once; {total_words:,} words in all)")
    for column in ("op", "name", "phase", "count", "elements (each)", "DRAM words (each)", "weight words"):
        table.add_column(column, justify="left" if column in ("op", "name", "phase") else "right")
    for op in ops:
        table.add_row(escape(op.op), escape(op.name), escape(op.phase or "-"), str(op.count), f"{op.elements:,}",
                      f"{op.dram_words:,}", f"{op.weight_words:,}" if op.weight_words else "-")
    return table


# ---------------------------------------------------------------------------------------------------
# reference validation


SUMMARY_LABELS: dict[str, str] = {
    "cases": "cases",
    "valid_cases": "valid cases scored",
    "energy_within_1pct": "energy within 1 %",
    "cycles_within_1pct": "cycles within 1 %",
    "counts_exact": "all counts exact",
    "max_energy_rel_err": "max energy rel. error",
    "max_cycles_rel_err": "max cycles rel. error",
    "invalid_cases": "invalid cases",
    "invalid_agreement": "invalid cases rejected for the same reason",
    "skipped_link_transfer": "skipped (link transfers)",
}
_FRACTIONS = {"energy_within_1pct", "cycles_within_1pct", "counts_exact", "invalid_agreement"}


def validation_summary_table(summary: dict[str, Any], *, title: str = "Validation summary") -> Table:
    """The summary dict of :func:`cosearch.interop.reference.validate_records` as a two-column table."""
    table = Table(title=title, show_header=False)
    table.add_column("metric", style="bold")
    table.add_column("value", justify="right")
    for key, value in summary.items():
        if key in _FRACTIONS:
            text = fmt_pct(value, 2)
        elif isinstance(value, float):
            text = f"{value:.3g}"
        else:
            text = str(value)
        table.add_row(SUMMARY_LABELS.get(key, key), text)
    return table


def validation_cases_table(results: Sequence[Any], *, limit: int | None = None,
                           title: str = "Cases that disagree with Timeloop") -> Table:
    """One row per :class:`~cosearch.interop.reference.CaseResult`: id, expected/got validity, errors, first mismatches."""
    table = Table(title=title)
    table.add_column("case", style="bold", overflow="fold")
    table.add_column("Timeloop")
    table.add_column("cosearch")
    table.add_column("energy err", justify="right")
    table.add_column("cycles err", justify="right")
    table.add_column("mismatches", overflow="fold")
    shown = results if limit is None else results[:limit]
    for r in shown:
        expected = "valid" if r.expected_valid else f"invalid ({r.expected_reason})"
        got = "valid" if r.valid else f"invalid ({r.reason})"
        e_err = fmt_pct(r.energy_rel_err, 3) if r.energy_pj is not None else "-"
        c_err = fmt_pct(r.cycles_rel_err, 3) if r.cycles is not None else "-"
        detail = "; ".join(r.mismatches[:3]) + (f"; +{len(r.mismatches) - 3} more" if len(r.mismatches) > 3 else "")
        table.add_row(escape(r.id), escape(expected), escape(got), e_err, c_err, escape(detail))
    if limit is not None and len(results) > limit:
        table.caption = f"{len(results) - limit} more not shown"
    return table


def layer_shape_fields(layer: Layer) -> dict[str, int | str]:
    """Name plus every shape field (for JSON output)."""
    return {"name": layer.name, **layer.model_dump(exclude={"name", "count"})}
