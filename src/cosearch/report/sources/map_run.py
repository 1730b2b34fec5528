"""A ``cosearch map`` results directory as a report source (:func:`map_source`): its arch, its layers
and the best mapping of each, re-evaluated with the cost model for the breakdowns."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..._io import finite
from ...errors import CosearchError
from ...workload.layer import Layer
from ..evaluation import evaluate_row, network_totals
from ..records import Design, LayerRow, MapSource
from .results_file import RESULTS_FILE, read_results_json


def map_source(directory: Path, data: dict[str, Any] | None = None, *, label: str | None = None) -> MapSource:
    """Collect a ``cosearch map`` results directory (its ``results.json``).

    The arch and layer shapes are read from ``results.json`` (``arch_spec``, ``layer_shapes``); results
    written before those were stored fall back to the preset and zoo names they give."""
    from ...arch.spec import Arch

    path = Path(directory)
    data = data if data is not None else read_results_json(path / RESULTS_FILE)
    layers_data = data.get("layers")
    if not isinstance(layers_data, list) or not isinstance(data.get("arch"), str):
        raise CosearchError(f"{path / RESULTS_FILE}: not the results of cosearch map or cosearch codesign")
    if not layers_data:
        raise CosearchError(f"{path / RESULTS_FILE}: no layer has finished yet (status {data.get('status', '?')})")
    label = label or path.name
    notes: list[str] = []
    arch = None
    if isinstance(data.get("arch_spec"), dict):
        arch = Arch.model_validate(data["arch_spec"])
    else:
        from ...arch.io import load_arch

        try:
            arch = load_arch(data["arch"])
            notes.append(f"arch {data['arch']} loaded by name (results.json does not store it)")
        except (CosearchError, OSError, ValueError):
            notes.append(f"arch {data['arch']} is not stored in results.json and cannot be loaded: no breakdown")
    shapes = data.get("layer_shapes") if isinstance(data.get("layer_shapes"), dict) else {}
    if not shapes:
        from ...workload.io import load_workload

        try:
            net = load_workload(str(data.get("workload")))
            shapes = {l.name: l.model_dump(exclude={"name", "count"}) for l in net.layers}
        except (CosearchError, OSError, ValueError):
            shapes = {}
    rows: list[LayerRow] = []
    for entry in layers_data:
        shape = shapes.get(entry["name"])
        layer = Layer(name=entry["name"], **shape) if shape else None
        row = LayerRow(key=entry["name"], shape=layer.shape_text() if layer is not None else "?",
                       count=int(entry.get("count") or 1), macs=entry.get("macs"),
                       energy_pj=finite(entry.get("energy_pj")), cycles=finite(entry.get("cycles")),
                       edp=finite(entry.get("edp")), utilization=finite(entry.get("utilization")),
                       evaluations=entry.get("evaluations"), mapping=entry.get("mapping"), error=entry.get("error"),
                       loop_nest=entry.get("loop_nest") or None)
        if arch is not None and layer is not None:
            stored_nest = row.loop_nest
            evaluate_row(arch, layer, row.mapping, row)
            row.loop_nest = row.loop_nest or stored_nest
        rows.append(row)
    total = data.get("total") or {}
    design = Design(source=label, role="map", label=f"{label}: {data['arch']}", arch_name=str(data["arch"]),
                    params={}, area_mm2=finite(arch.area_mm2) if arch is not None and arch.area_mm2 > 0 else None,
                    energy_pj=finite(total.get("energy_pj")), cycles=finite(total.get("cycles")),
                    edp=finite(total.get("edp")), per_workload_edp={}, layers=rows, notes=notes)
    if design.energy_pj is None:
        design.energy_pj, design.cycles, design.edp = network_totals(rows)
    if isinstance(data.get("phases"), dict):
        design.phase_totals = data["phases"]
    return MapSource(label=label, path=path, results=data, design=design, element_ops=_element_ops(data))


def _element_ops(data: dict[str, Any]) -> list[Any]:
    """The element ops of the run's workload when it has phases (LLMs) and can be loaded again, else []."""
    from ...workload.io import load_workload

    if "phases" not in data:
        return []
    try:
        return list(load_workload(str(data.get("workload"))).ops or [])
    except (CosearchError, OSError, ValueError):
        return []
