"""Where the report finds a study's two baselines (:mod:`cosearch.codesign.baselines`), in this order:

1. the run's ``results.json`` (:func:`~.results_file.find_study_results`), when it can be found and
   names the same study and configuration;
2. the study store, where the co-design driver keeps the baselines it mapped
   (:data:`~cosearch.codesign.driver.BASELINES_ATTR`);
3. only for a study of cosearch 0.1.0 or older (which stored no baselines) without its ``results.json``:
   mapped again with the study's own mapper, budget and unit seeds (:func:`remap_old_baselines`), which
   repeats the run's mappings at the cost of about two trials of mapping.

Each baseline is a *summary* as in ``results.json``: ``arch`` (the reference design's parameter values),
``energy_pj`` (pJ), ``cycles``, ``edp`` (pJ·cycles; network figures, repeats counted), ``area_mm2``
(mm², absent from re-mapped ones), ``per_workload`` (workload name -> EDP) and ``layers`` (layer key ->
stored fields: energy_pj, cycles, edp, evaluations, mapping, ...).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..._io import finite
from ...errors import CosearchError
from ...model.totals import repeat_totals
from ..evaluation import network_totals
from ..records import LayerRow
from .results_file import find_study_results

if TYPE_CHECKING:
    from ...codesign.baselines import Baseline

STORED_ORIGIN = "stored with the study by its co-design run"
REMAPPED_ORIGIN = "mapped again with the study's mapper, budget and seeds (no results.json of the run was found)"

Summary = tuple[str, str, dict[str, Any]]
"""``(role, label, summary)``: role ``baseline`` or ``baseline_rs``, the label tables show."""


def study_baselines(store: Any, study: Any, layers: list[tuple[str, Any, int | None]], *,
                    results_path: Path | None = None, remap: bool = True) -> tuple[list[Summary], str]:
    """The baseline summaries of ``study`` (a :class:`~cosearch.study.records.Study` in ``store``) and
    where they came from (``from <results.json>``, :data:`STORED_ORIGIN`, :data:`REMAPPED_ORIGIN` or
    ``not available`` when they would have to be mapped again and ``remap`` is false). ``layers`` are
    the study's unique layers ``(key, Layer, count)``; ``results_path`` the run's ``results.json`` if
    known. The second baseline is left out for a template without a named dataflow."""
    from ...arch.hwspace import payload_template
    from ...codesign.baselines import baseline_of
    from ...codesign.driver import BASELINES_ATTR

    config = dict(study.config or {})
    base = baseline_of(payload_template({"template": "eyeriss", **config["hw_space"]}))
    found = find_study_results(store.url, study.name, study.config_hash, results_path, config)
    if found is not None:
        stored, path = found
        origin = f"from {path}"
    else:
        stored, origin = store.get_study_attr(study, BASELINES_ATTR), STORED_ORIGIN
    if isinstance(stored, dict) and stored.get("baseline"):
        summaries = [("baseline", base.auto_label, stored["baseline"])]
        if base.dataflow and stored.get("baseline_rs"):
            summaries.append(("baseline_rs", base.dataflow_label, stored["baseline_rs"]))
        return summaries, origin
    if not remap:
        return [], "not available"
    return remap_old_baselines(config, study.name, layers, base), REMAPPED_ORIGIN


def remap_old_baselines(config: dict[str, Any], study: str, layers: list[tuple[str, Any, int | None]],
                        base: Baseline) -> list[Summary]:
    """Fallback for studies of cosearch 0.1.0 and older, which did not store their baselines: map them
    again exactly as the study's run did (same mapper, budget and unit seeds) and summarise them."""
    from ...codesign.driver import map_unit, unit_seed
    from ...study.executor import WorkUnit

    space = config["hw_space"]
    hw = {"template": space["template"], "values": base.values, "estimator": space["estimator"],
          "dram_bandwidth": space["dram_bandwidth"]}
    mapper = config.get("mapper") or "auto"
    budget = int(config.get("mapper_budget") or 5_000)
    seed = int(config.get("seed") or 0)

    def run(settings: dict[str, Any]) -> dict[str, dict[str, Any]]:
        out = {}
        for key, layer, _count in layers:
            unit = WorkUnit(study=study, trial=-1, hw=hw, layer={**layer.model_dump(), "name": key}, mapper=mapper,
                            settings=dict(settings), seed=unit_seed(seed, base.values, layer))
            out[key] = map_unit(unit).record()
        return out

    mapped = [("baseline", base.auto_label, run({"budget": budget}))]
    if base.dataflow:
        mapped.append(("baseline_rs", base.dataflow_label, run({"budget": budget, "dataflow": base.dataflow})))
    summaries = []
    for role, label, results in mapped:
        e, c, edp = network_totals([LayerRow(k, "", n, None, finite(results[k].get("energy_pj")),
                                             finite(results[k].get("cycles")), None) for k, _l, n in layers])
        summaries.append((role, label, {"arch": base.values, "energy_pj": e, "cycles": c, "edp": edp,
                                        "per_workload": _per_workload(config, layers, results),
                                        "layers": results}))
    return summaries


def _per_workload(config: dict[str, Any], layers: list[tuple[str, Any, int | None]],
                  results: dict[str, dict[str, Any]]) -> dict[str, float]:
    """EDP per workload of per-layer results (as the co-design run combines them)."""
    from ...workload.io import load_workload

    out: dict[str, float] = {}
    by_shape = {layer.shape_key(): results.get(key, {}) for key, layer, _ in layers}
    try:
        nets = [load_workload(name) for name in config.get("workloads") or []]
    except (CosearchError, OSError, ValueError):
        return out
    for net in nets:
        found = [(layer.count, by_shape.get(layer.shape_key(), {})) for layer in net.layers]
        if any(r.get("energy_pj") is None for _, r in found):
            return {}
        e, c = repeat_totals((n, r["energy_pj"], r["cycles"]) for n, r in found)
        out[net.name] = e * c
    return out
