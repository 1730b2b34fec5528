"""A co-design study as a report source: its trials, its best design, its two baselines and its
EDP lower bound, collected from a study store (:func:`study_source`).

The designs are re-evaluated with the cost model (:func:`~..evaluation.evaluate_row`) from their
arch and stored mappings, since studies store no per-level breakdown.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any, Sequence

from ..._io import finite
from ...errors import CosearchError
from ...study import sqlite_missing
from ...workload.layer import Layer
from ..evaluation import design_phase_totals, evaluate_row, network_totals
from ..records import Design, LayerRow, StudySource
from .baselines import study_baselines


def open_store(url: str | None, *, missing_ok: bool = False) -> Any:
    """The study store at ``url`` (default ``sqlite:///cosearch-out/studies.db``), opened for reading.

    A SQLite file that does not exist is ``None`` with ``missing_ok``, else a :class:`CosearchError` (it
    is not created); so is any URL the store cannot open (the message names it)."""
    from ...study import Storage, storage_url

    text = storage_url(url)
    missing = sqlite_missing(text)
    if missing is not None:
        if missing_ok:
            return None
        raise CosearchError(f"no study store at {missing} (--storage {text})")
    return Storage(text)


def _study_layers(config: dict[str, Any], trials: Sequence[Any]) -> tuple[list[tuple[str, Any, int | None]], list[str]]:
    """``[(key, Layer, count)]`` for every unique layer shape of a study, and notes.

    Keys and shapes come from the stored layer results; counts (occurrences of the shape in the
    workloads) from the workloads stored in the config (``workload_data``), or else from the zoo or
    workload files it names, when they can still be loaded."""
    stored: dict[str, Any] = {}
    for t in trials:
        for rec in t.layers:
            if rec.layer not in stored and rec.shape_key:
                stored[rec.layer] = Layer.from_shape_key(rec.layer, rec.shape_key)
    notes: list[str] = []
    counts: dict[tuple[int, ...], int] = {}
    nets = _study_networks(config)
    for net in nets:
        for layer in net.layers:
            counts[layer.shape_key()] = counts.get(layer.shape_key(), 0) + layer.count
    if nets:  # the workloads as loaded now: their unique shapes, keyed as the study keyed them
        seen: dict[tuple[int, ...], tuple[str, Any]] = {}
        for net in nets:
            for layer in net.layers:
                if layer.shape_key() not in seen:
                    seen[layer.shape_key()] = (f"{net.name}/{layer.name}", layer.model_copy(update={"count": 1}))
        keyed = {key: layer for key, layer in seen.values()}
        if not stored or all(k in keyed and keyed[k].shape_key() == lay.shape_key() for k, lay in stored.items()):
            return [(k, lay, counts[lay.shape_key()]) for k, lay in keyed.items()], notes
    if nets or config.get("workloads"):
        notes.append("the workloads could not be loaded as they were when the study ran: each unique layer is "
                     "counted once in network totals")
    return [(k, lay, None) for k, lay in stored.items()], notes


def _study_networks(config: dict[str, Any]) -> list[Any]:
    """The study's workloads as stored with it (newer studies), else loaded by name; [] if they cannot be."""
    from ...workload.io import load_workload

    try:
        sources = config.get("workload_data") or config.get("workloads") or []
        return [load_workload(src) for src in sources]
    except (CosearchError, OSError, ValueError):
        return []


def _shape_keys(nets: Sequence[Any]) -> dict[tuple[int, ...], str]:
    """Layer shape -> the study's key for it (``workload/layer`` of its first occurrence)."""
    keys: dict[tuple[int, ...], str] = {}
    for net in nets:
        for layer in net.layers:
            keys.setdefault(layer.shape_key(), f"{net.name}/{layer.name}")
    return keys


def _element_ops(nets: Sequence[Any]) -> list[Any]:
    """The workloads' element ops, named ``workload/op`` when there are several workloads."""
    return [op.model_copy(update={"name": f"{net.name}/{op.name}"}) if len(nets) > 1 else op
            for net in nets for op in (net.ops or [])]


def _space_arch(config: dict[str, Any], values: dict[str, Any], name: str | None = None) -> Any:
    from ...arch.hwspace import HWSpace

    space = HWSpace.model_validate(config["hw_space"])
    return space.arch(dict(values), name=name)


def _design_from_layers(*, source: str, role: str, label: str, arch: Any, params: dict[str, Any],
                        area: float | None, layers: list[tuple[str, Any, int | None]],
                        results: dict[str, dict[str, Any]], workload_edp: dict[str, float],
                        totals: tuple[Any, Any, Any] | None, trial: int | None = None,
                        nets: Sequence[Any] = ()) -> Design:
    """A :class:`Design` whose layer ``results`` (key -> stored fields) are re-evaluated on ``arch``;
    per-phase totals for the workloads ``nets`` that have phases."""
    rows: list[LayerRow] = []
    for key, layer, count in layers:
        r = results.get(key) or {}
        extra = r.get("extra") or {}
        row = LayerRow(
            key=key, shape=layer.shape_text(), count=count, macs=layer.macs, energy_pj=finite(r.get("energy_pj")),
            cycles=finite(r.get("cycles")), edp=finite(r.get("edp")),
            utilization=finite(extra.get("utilization")) if isinstance(extra, dict) else None,
            evaluations=r.get("evaluations"), mapping=r.get("mapping"), error=r.get("error"),
        )
        if not r:
            row.error = "no result stored"
        evaluate_row(arch, layer, row.mapping, row)
        rows.append(row)
    energy, cycles, edp = totals if totals is not None else network_totals(rows)
    return Design(source=source, role=role, label=label, arch_name=arch.name, params=dict(params),
                  area_mm2=finite(area), energy_pj=finite(energy), cycles=finite(cycles), edp=finite(edp),
                  per_workload_edp={w: float(v) for w, v in workload_edp.items() if finite(v) is not None},
                  layers=rows, trial=trial,
                  phase_totals=design_phase_totals(rows, nets, _shape_keys(nets), arch.num_multipliers),
                  physical=_physical(arch, finite(energy), finite(cycles)))


def _physical(arch: Any, energy_pj: float | None, cycles: float | None) -> dict[str, Any] | None:
    """The network run on ``arch`` in physical units (:func:`~cosearch.arch.physical.arch_run_units`)."""
    from ...arch.physical import arch_run_units

    if energy_pj is None or cycles is None or cycles <= 0:
        return None
    return arch_run_units(arch, energy_pj, cycles)


def _physical_edp(arch: Any, per_workload: dict[str, Any]) -> dict[str, float] | None:
    """Per workload EDP in J·s with SRAM leakage of ``arch`` from ``{w: {energy_pj, cycles}}`` (``None``
    if one is missing)."""
    from ...arch.estimator import leakage_mw
    from ...arch.physical import clock_of, edp_js, run_units

    out = {}
    for w, v in per_workload.items():
        if not isinstance(v, dict) or finite(v.get("energy_pj")) is None or not finite(v.get("cycles")):
            return None
        u = run_units(float(v["energy_pj"]), float(v["cycles"]), clock_of(arch), leakage_mw(arch))
        out[w] = edp_js(u)
    return out or None


def study_source(store: Any, name: str, *, results_path: Path | None = None, label: str | None = None,
                 remap_baselines: bool = True) -> StudySource:
    """Collect a co-design study from ``store`` (a :class:`~cosearch.study.sql.Storage`).

    Baselines come from the run's ``results.json`` (``results_path``, else one found next to a SQLite
    store or in the default out directory) when its study and configuration match, else from the store
    (:func:`~.baselines.study_baselines`); a study of cosearch 0.1.0 or older, which stored none, has
    them mapped again with its mapper, budget and seeds (``remap_baselines``), which gives the same
    mappings as its run. A study without trials is a :class:`CosearchError`.
    """
    from ...arch.hwspace import HWSpace, payload_template, searched_physical
    from ...codesign.baselines import baseline_of

    st = store.load_study(name)
    trials = store.trials(st)  # without their layer results (only the best trial's are shown)
    if not trials:
        raise CosearchError(f"study {name!r} in {store.url} has no trials yet")
    config = dict(st.config or {})
    if not isinstance(config.get("hw_space"), dict):
        raise CosearchError(f"study {name!r}: its config has no hardware space (not a co-design study)")
    template = payload_template({"template": "eyeriss", **config["hw_space"]})
    label = label or name
    searched = searched_physical(config["hw_space"])
    best_trial = store.best_trial(st, layers=True)
    # the unique layers' keys and shapes: from the best trial, else from a few evaluated trials
    keyed = [best_trial] if best_trial is not None else \
        [store.trial(st, t.number, layers=True) for t in trials if t.state in ("complete", "failed")][:5]
    layers, notes = _study_layers(config, keyed)
    nets = _study_networks(config) if not notes else []

    best = None
    if best_trial is not None:
        res = best_trial.result or {}
        results = {rec.layer: rec.to_json() for rec in best_trial.layers}
        per_w = {w: (v.get("edp") if isinstance(v, dict) else v) for w, v in (res.get("per_workload") or {}).items()}
        best = _design_from_layers(
            source=label, role="best", label=f"{label}: best (trial {best_trial.number})",
            arch=_space_arch(config, best_trial.hw_params["values"]), params=best_trial.hw_params["values"],
            area=res.get("area_mm2"), layers=layers, results=results, workload_edp=per_w,
            totals=(res.get("energy_pj"), res.get("cycles"), res.get("edp")), trial=best_trial.number, nets=nets)
        best.notes.extend(notes)
        if searched:
            best.physical_edp = _physical_edp(_space_arch(config, best_trial.hw_params["values"]),
                                              res.get("per_workload") or {})

    # baselines
    base = baseline_of(template)
    summaries, origin = study_baselines(store, st, layers, results_path=results_path, remap=remap_baselines)
    base_arch = _space_arch(config, base.values, name=base.auto_label.split(" ")[0])
    baselines: list[Design] = []
    for role, lab, summary in summaries:
        design = _design_from_layers(
            source=label, role=role, label=lab, arch=base_arch, params=summary.get("arch") or base.values,
            area=summary.get("area_mm2", float(base_arch.area_mm2)), layers=layers,
            results=summary.get("layers") or {}, workload_edp=summary.get("per_workload") or {},
            totals=(summary.get("energy_pj"), summary.get("cycles"), summary.get("edp")), nets=nets)
        per = ((summary.get("physical") or {}).get("per_workload") or {}) if searched else {}
        if per:
            from ...arch.physical import edp_js

            design.physical_edp = {w: edp_js(u) for w, u in per.items()}
        baselines.append(design)
    names = list(HWSpace.model_validate(config["hw_space"]).names) if searched else list(template.names)
    return StudySource(label=label, study=name, storage=store.url, config=config, objective=st.objective,
                       trials=trials, best=best, baselines=baselines, baseline_origin=origin,
                       area_budget_mm2=finite(config.get("area_budget_mm2")), param_names=names,
                       edp_bound=study_edp_bound(config), element_ops=_element_ops(nets))


def study_edp_bound(config: dict[str, Any]) -> float | None:
    """The network EDP (pJ·cycles) below which no design of a single-workload study's hardware space and
    area budget can go (:func:`cosearch.codesign.bounds.network_edp_bound`); ``None`` for several
    workloads, for a space that searches precision, DRAM bandwidth or clock, or when the workload or space cannot be rebuilt from the stored configuration."""
    from ...arch.hwspace import searched_physical

    sources = config.get("workload_data") or config.get("workloads") or []
    if len(sources) != 1 or not isinstance(config.get("hw_space"), dict) or config.get("area_budget_mm2") is None:
        return None
    if searched_physical(config["hw_space"]):  # the bound is of pJ and cycles at fixed physical settings
        return None
    key = json.dumps([sources[0], config["hw_space"], config["area_budget_mm2"]], sort_keys=True)
    return _edp_bound_cached(key)


@lru_cache(maxsize=32)
def _edp_bound_cached(key: str) -> float | None:
    from ...arch.hwspace import HWSpace
    from ...codesign.bounds import network_edp_bound
    from ...workload.io import load_workload

    source, space, budget = json.loads(key)
    try:
        return network_edp_bound(load_workload(source), HWSpace.model_validate(space), float(budget)).edp
    except (CosearchError, OSError, ValueError):
        return None
