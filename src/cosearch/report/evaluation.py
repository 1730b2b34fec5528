"""Re-evaluating a design's stored mappings with the cost model, and network totals of layer rows.

Studies and map runs store each layer's mapping and costs but no per-level breakdown:
:func:`evaluate_row` evaluates the mapping again (:func:`~cosearch.model.evaluate.evaluate` with
``breakdown=True``) to get the energy per level and data space (pJ), the utilisation and the loop nest.
A stored mapping whose factors over-cover a dim came from an imperfect run and is evaluated as one.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from ..dims import DATASPACES
from ..errors import CosearchError
from ..model.totals import phase_totals, repeat_totals
from .records import LayerRow


def evaluate_row(arch: Any, layer: Any, mapping: dict[str, Any] | None, row: LayerRow) -> None:
    """Fill ``row``'s breakdown, MAC energy, utilisation and loop nest by evaluating ``mapping``."""
    from ..mapping.loopnest import loop_nest_data
    from ..mapping.mapping import Mappings, mapping_from_data
    from ..mapping.vector import blocked_view
    from ..model.evaluate import evaluate

    if not mapping:
        return
    try:
        readable = mapping_from_data(mapping, f"layer {row.key}")
        batch = Mappings.from_list([readable], arch)
        product = (batch.temporal[0] * batch.spatial_x[0] * batch.spatial_y[0]).prod(axis=0)
        over = bool((product > np.asarray(blocked_view(arch, layer)[1].dims)).any())  # a block MAC's blocked dims
        costs = evaluate(arch, layer, batch, breakdown=True, **({"factorization": "imperfect"} if over else {}))
    except (CosearchError, ValueError) as err:
        row.error = row.error or f"cannot re-evaluate the stored mapping: {err}"
        return
    if not bool(costs.valid[0]):
        row.error = row.error or f"stored mapping is invalid on this arch ({costs.reason_text(0)})"
        return
    keep = costs.keep
    for li, lvl in enumerate(arch.levels):
        for di, ds in enumerate(DATASPACES):
            if keep is not None and not keep[0, li, di]:
                continue
            row.breakdown.append({
                "level": lvl.name, "dataspace": ds,
                "reads": int(costs.reads[0, li, di]), "fills": int(costs.fills[0, li, di]),
                "updates": int(costs.updates[0, li, di]), "tile_words": int(costs.tile_words[0, li, di]),
                "energy_pj": float(costs.level_energy_pj[0, li, di]),
            })
    row.mac_energy_pj = costs.mac_energy_pj
    row.dram_energy_pj = float(costs.level_energy_pj[0, 0].sum())
    row.utilization = float(costs.utilization[0]) if row.utilization is None else row.utilization
    row.loop_nest = loop_nest_data(arch, batch, 0, tile_words=costs.tile_words, dims=layer.dims)
    if row.energy_pj is None:
        row.energy_pj, row.cycles, row.edp = float(costs.energy_pj[0]), float(costs.cycles[0]), float(costs.edp[0])


def network_totals(rows: Sequence[LayerRow]) -> tuple[float | None, float | None, float | None]:
    """Network energy, cycles and EDP of layer rows (``None`` if a layer has no result)."""
    if not rows or any(r.energy_pj is None or r.cycles is None for r in rows):
        return None, None, None
    e, c = repeat_totals((r.count or 1, r.energy_pj, r.cycles) for r in rows)  # type: ignore[misc]
    return e, c, e * c



def design_phase_totals(rows: Sequence[LayerRow], nets: Sequence[Any], keys: dict[tuple[int, ...], str],
                        num_pes: int | None) -> dict[str, dict[str, Any]] | None:
    """Per-phase totals (:func:`~cosearch.model.totals.phase_totals`) of a design's layer ``rows`` for the
    workloads ``nets`` that have phases; ``keys`` gives the row key of each layer shape. A phase is named
    ``workload/phase`` when there are several workloads. ``None`` if no workload has phases or a row
    lacks its figures."""
    by_key = {row.key: row for row in rows}
    out: dict[str, dict[str, Any]] = {}
    for net in nets:
        if not net.phases:
            continue
        figures = {}
        for layer in net.layers:
            row = by_key.get(keys.get(layer.shape_key(), ""))
            if row is None or row.energy_pj is None or row.cycles is None or row.dram_energy_pj is None:
                return None
            figures[layer.name] = (layer.count, row.energy_pj, row.cycles, row.dram_energy_pj, layer.macs)
        for name, totals in phase_totals(net.phases, figures, num_pes).items():
            out[f"{net.name}/{name}" if len(nets) > 1 else name] = totals
    return out or None
