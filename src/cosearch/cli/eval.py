"""``cosearch eval``: the costs of one mapping of one layer on an architecture."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import typer
from rich.text import Text

from ._common import (
    _arch_with_precision,
    _console,
    _factorization_option,
    _handle_errors,
    _input_shape_option,
    _input_shapes,
    _max_padding_option,
    _precision_option,
    _print_json,
    _select_layer,
    _space_options,
    app,
)


def _physical(arch: Any, energy_pj: float, cycles: float) -> dict[str, Any]:
    """The layer's run in physical units (:mod:`cosearch.arch.physical`) with where its numbers come from."""
    from ..arch.physical import arch_run_units

    return arch_run_units(arch, energy_pj, cycles)


@app.command("eval")
@_handle_errors
def eval_cmd(
    arch: str = typer.Option(..., "--arch", "-a", help="Preset name (eyeriss-168, eyeriss-256, simple-64) or arch YAML/JSON file."),
    mapping: Path = typer.Option(..., "--mapping", "-m", help="Mapping JSON file (format: docs/formats.md)."),
    workload: Optional[str] = typer.Option(None, "--workload", "-w", help="Zoo network name or workload file."),
    layer: Optional[str] = typer.Option(None, "--layer", "-l", help="Layer of --workload (needed if it has several)."),
    shape: Optional[str] = typer.Option(None, "--shape", help='Inline layer instead of --workload, e.g. "K=64 C=64 P=56 Q=56 R=3 S=3".'),
    input_shape: Optional[list[str]] = _input_shape_option(),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON line instead of tables."),
    factorization: str = _factorization_option(),
    max_padding: Optional[float] = _max_padding_option(),
    precision: Optional[str] = _precision_option(),
) -> None:
    """Evaluate one mapping of one layer on an architecture: costs, per-level breakdown, loop nest."""
    from ..arch.io import load_arch
    from ..mapping.mapping import load_mapping
    from ..model.validity import require_valid
    from ..report.tables import breakdown_dict, layer_shape_fields, level_breakdown_table, loop_nest, summary_table

    opts = _space_options(factorization, max_padding)
    the_arch = _arch_with_precision(load_arch(arch), precision)
    the_layer = _select_layer(workload, layer, shape, _input_shapes(input_shape))
    source = str(mapping)
    batch, costs = require_valid(the_arch, the_layer, load_mapping(mapping), source, breakdown=True, **opts)
    if as_json:
        _print_json({
            "arch": the_arch.name,
            "layer": layer_shape_fields(the_layer),
            "mapping": source,
            "valid": True,
            "energy_pj": float(costs.energy_pj[0]),
            "cycles": float(costs.cycles[0]),
            "edp": float(costs.edp[0]),
            "utilization": float(costs.utilization[0]),
            "macs": int(costs.macs),
            "compute_cycles": int(costs.compute_cycles[0]),
            "utilized_pes": int(costs.utilized_pes[0]),
            "mac_energy_pj": costs.mac_energy_pj,
            "levels": breakdown_dict(the_arch, costs),
            "physical": _physical(the_arch, float(costs.energy_pj[0]), float(costs.cycles[0])),
        })
        return
    console = _console()
    console.print(Text(f"arch {the_arch.name}, layer {the_layer.name} ({the_layer.shape_text()}), mapping {source}",
                       style="bold"))
    console.print(summary_table(costs))
    phys = _physical(the_arch, float(costs.energy_pj[0]), float(costs.cycles[0]))
    node = phys["technology"] or "table energies"
    console.print(Text(
        f"{node}{' (scaled from 45 nm, Stillmaker & Baas 2017)' if phys['scaled'] else ''}, "
        f"{phys['clock_mhz']:g} MHz{' (default)' if phys['clock_default'] else ''}: latency {phys['latency_ms']:.4g} ms, "
        f"energy {phys['total_energy_uj']:.4g} µJ (leakage {phys['static_energy_uj']:.3g} µJ), "
        f"power {phys['power_mw']:.4g} mW, area {phys['area_mm2']:.4g} mm²"))
    console.print(level_breakdown_table(the_arch, costs))
    console.print(Text("Loop nest (outer -> inner)", style="bold"))
    console.print(Text(loop_nest(the_arch, batch, tile_words=costs.tile_words, dims=the_layer.dims)))
