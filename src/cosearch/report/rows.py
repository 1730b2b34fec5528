"""The report's tables, as flat rows (JSON-able; one CSV each), built from its sources
(:func:`report_tables`): designs, layers, energy breakdowns, loop nests and, for studies, trials,
convergence, constraint statistics and the Pareto front."""

from __future__ import annotations

import math
from typing import Any, Sequence

from .._io import finite
from .records import MAC_LEVEL, Design, Source, StudySource

PHYSICAL_KEYS = ("clock_mhz", "latency_ms", "total_energy_uj", "power_mw")
"""The physical units a designs row of a study that searches physical settings adds."""


def _ratio(design: Design, base: Design | None) -> float | None:
    """Geometric mean over workloads of EDP(design) / EDP(base); the network EDP ratio without them. In
    J·s with leakage when both have :attr:`~.records.Design.physical_edp` (a study that searches
    physical settings)."""
    if base is None or design.edp is None or base.edp is None:
        return None
    if design.physical_edp and base.physical_edp and set(design.physical_edp) == set(base.physical_edp):
        from ..codesign.objectives import geomean_ratio

        return geomean_ratio(design.physical_edp, base.physical_edp)
    common = [w for w in design.per_workload_edp if w in base.per_workload_edp]
    if common and len(common) == len(design.per_workload_edp):
        from ..codesign.objectives import geomean_ratio

        return geomean_ratio(design.per_workload_edp, base.per_workload_edp)
    return design.edp / base.edp


def _trial_row(src: StudySource, t: Any) -> dict[str, Any]:
    res = t.result or {}
    valid = res.get("valid") if t.state == "complete" else None
    row: dict[str, Any] = {
        "source": src.label, "study": src.study, "optimizer": src.optimizer, "seed": src.seed, "number": t.number,
        "state": t.state, "valid": valid, "reason": (res.get("reason") or None) if valid is False else None,
        "value": t.value, "area_mm2": finite(res.get("area_mm2")), "energy_pj": finite(res.get("energy_pj")),
        "cycles": finite(res.get("cycles")), "edp": finite(res.get("edp")) if valid else None, "error": t.error,
    }
    for name in src.param_names:
        row[f"hw.{name}"] = (t.hw_params.get("values") or {}).get(name)
    return row


def pareto_rows(src: StudySource) -> list[dict[str, Any]]:
    """A ``pareto`` study's front: its valid trials that no other beats in energy, cycles and area (the
    stored objectives), by energy; each trial's row as in the trials table plus the three objectives."""
    from ..codesign.driver import pareto_front_trials

    if src.objective != "pareto":
        return []
    front = pareto_front_trials(src.trials)
    rows = []
    for t in front:
        energy, cycles, area = t.result["objectives"]
        rows.append({**_trial_row(src, t), "objective_energy": energy, "objective_cycles": cycles,
                     "objective_area_mm2": area})
    return rows


def trial_energy_latency(result: dict[str, Any] | None) -> tuple[float, float] | None:
    """``(latency ms, energy mJ)`` of a trial's result: latency ``latency_s`` and energy ``power_mw`` ×
    ``latency_s`` (mW·s = mJ: the dynamic energy plus the SRAM leakage over the run, as the average power
    counts it); ``None`` for an invalid result or one without those fields (studies of older versions)."""
    res = result or {}
    lat, power = res.get("latency_s"), res.get("power_mw")
    if not res.get("valid") or not isinstance(lat, (int, float)) or not isinstance(power, (int, float)):
        return None
    if not (math.isfinite(lat) and math.isfinite(power) and lat > 0 and power >= 0):
        return None
    return float(lat) * 1e3, float(power) * float(lat)


def trial_edp_js(result: dict[str, Any] | None) -> float | None:
    """A trial's network EDP in J·s with leakage (energy ``power_mw`` × ``latency_s`` times the latency:
    what a study that searches physical settings ranks by), ``None`` as for :func:`trial_energy_latency`."""
    xy = trial_energy_latency(result)
    return None if xy is None else xy[0] * 1e-3 * xy[1] * 1e-3


def convergence_rows(src: StudySource) -> list[dict[str, Any]]:
    """Best EDP so far after each HW sample (trial) of a study, in trial order (``None`` until the
    first valid point). Only finished trials count as samples. A study that searches physical settings
    adds the same in J·s with leakage (``edp_js``, ``best_edp_js``), which it ranks by."""
    rows = []
    best: float | None = None
    best_js: float | None = None
    physical = src.searches_physical
    sample = 0
    for t in src.trials:
        if t.state not in ("complete", "failed"):
            continue
        sample += 1
        res = t.result or {}
        edp = finite(res.get("edp")) if t.state == "complete" and res.get("valid") else None
        if edp is not None and (best is None or edp < best):
            best = edp
        row = {"source": src.label, "optimizer": src.optimizer, "seed": src.seed, "sample": sample,
               "trial": t.number, "edp": edp, "best_edp": best}
        if physical:
            js = trial_edp_js(res) if t.state == "complete" else None
            if js is not None and (best_js is None or js < best_js):
                best_js = js
            row.update(edp_js=js, best_edp_js=best_js)
        rows.append(row)
    return rows


def constraint_rows(src: StudySource) -> list[dict[str, Any]]:
    """Constraint statistics of a study: candidates removed by construction (not stored by a study:
    reported as not recorded), evaluated HW points by outcome, and invalid points by reason."""
    budget = src.area_budget_mm2
    opt = src.optimizer
    constructed = "bo/random/ga propose only points within the area budget" if opt != "vanilla-bo" else \
        "vanilla-bo ignores the area budget when proposing: points over it are evaluated as invalid"
    rows = [{"source": src.label, "statistic": "candidates removed by construction (area filter)", "count": None,
             "note": f"not recorded (the study does not store how many candidates were filtered); {constructed}"}]
    states: dict[str, int] = {}
    for t in src.trials:
        states[t.state] = states.get(t.state, 0) + 1
    complete = [t for t in src.trials if t.state == "complete"]
    valid = [t for t in complete if (t.result or {}).get("valid")]
    invalid = [t for t in complete if not (t.result or {}).get("valid")]
    rows.append({"source": src.label, "statistic": "HW points evaluated", "count": len(complete) + states.get("failed", 0),
                 "note": f"area budget {budget:.4f} mm²" if budget is not None else ""})
    if src.edp_bound:
        base = next((d for d in src.baselines if d.role == "baseline" and d.edp), None)
        rows.append({"source": src.label, "statistic": "network EDP lower bound, any design within the budget",
                     "count": None, "note": f"{src.edp_bound:.4e} pJ·cycles"
                     + (f" = {src.edp_bound / base.edp:.3f}× {base.label}" if base is not None else "")
                     + " (energy and cycles bounded separately; docs/codesign.md)"})
    rows.append({"source": src.label, "statistic": "valid", "count": len(valid), "note": ""})
    rows.append({"source": src.label, "statistic": "invalid", "count": len(invalid),
                 "note": "complete but infeasible: no value, never the best"})
    reasons: dict[str, int] = {}
    for t in invalid:
        text = str((t.result or {}).get("reason") or "no reason stored")
        if text.startswith("area ") and "over the budget" in text:
            text = "area over the budget"
        reasons[text] = reasons.get(text, 0) + 1
    for text, n in sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0])):
        rows.append({"source": src.label, "statistic": f"invalid: {text}", "count": n, "note": ""})
    if states.get("failed"):
        rows.append({"source": src.label, "statistic": "failed (the evaluation itself broke)",
                     "count": states["failed"], "note": ""})
    for state in ("pending", "running"):
        if states.get(state):
            rows.append({"source": src.label, "statistic": f"not finished ({state})", "count": states[state],
                         "note": "the study is still running or was stopped"})
    return rows


def phase_rows(sources: Sequence[Source]) -> list[dict[str, Any]]:
    """Per design and phase of an LLM workload: tokens, energy (pJ), cycles, EDP, MACs, utilisation,
    DRAM energy (pJ) and its share of the energy, energy and cycles per token."""
    rows = []
    for src in sources:
        for d in src.designs:
            for phase, t in (d.phase_totals or {}).items():
                per = t.get("per_token") or {}
                rows.append({"source": d.source, "design": d.label, "role": d.role, "phase": phase,
                             "tokens": t.get("tokens"), "energy_pj": finite(t.get("energy_pj")),
                             "cycles": finite(t.get("cycles")), "edp": finite(t.get("edp")), "macs": t.get("macs"),
                             "utilization": finite(t.get("utilization")),
                             "dram_energy_pj": finite(t.get("dram_energy_pj")), "dram_share": finite(t.get("dram_share")),
                             "energy_per_token_pj": finite(per.get("energy_pj")),
                             "cycles_per_token": finite(per.get("cycles"))})
    return rows


def report_tables(sources: Sequence[Source]) -> dict[str, list[dict[str, Any]]]:
    """Every table of the report as flat rows (JSON-able; one CSV each).

    * ``designs``: each design (best, baselines, map runs): parameters ``hw.<name>``, area (mm²),
      network energy (pJ), cycles, EDP (pJ·cycles) and EDP ratios to its study's baselines;
    * ``layers``: per design and unique layer: count, energy/cycles/EDP of one instance, utilisation;
    * ``breakdown``: per design, layer, level and data space: reads, fills, updates (words), tile words
      and energy (pJ) of one instance of the layer (the MAC as level ``MAC``);
    * ``loop_nests``: per design, layer, level and loop: dim, bound, kind (outer -> inner);
    * studies only: ``trials`` (every trial as stored), ``convergence`` (best EDP vs HW samples),
      ``constraints`` (constraint statistics); ``pareto_front`` when a study has the ``pareto`` objective;
    * LLM workloads only: ``phases`` (:func:`phase_rows`); workloads with element ops: ``element_ops``
      (op, name, phase, count, elements, DRAM words and weight words of one instance).
    """
    designs, layers, breakdown, nests = [], [], [], []
    trials, convergence, constraints, front = [], [], [], []
    for src in sources:
        base = next((d for d in src.designs if d.role == "baseline"), None)
        base_rs = next((d for d in src.designs if d.role == "baseline_rs"), None)
        names = src.param_names if isinstance(src, StudySource) else []
        for d in src.designs:
            row: dict[str, Any] = {"source": d.source, "design": d.label, "role": d.role, "trial": d.trial,
                                   "arch": d.arch_name}
            for name in names:
                row[f"hw.{name}"] = d.params.get(name)
            row.update({"area_mm2": d.area_mm2, "energy_pj": d.energy_pj, "cycles": d.cycles, "edp": d.edp,
                        "edp_ratio": _ratio(d, base) if isinstance(src, StudySource) else None,
                        "edp_ratio_rs": _ratio(d, base_rs) if isinstance(src, StudySource) else None})
            if d.physical_edp is not None and d.physical:  # searched physical settings: new keys, physical units
                row.update({k: d.physical.get(k) for k in PHYSICAL_KEYS})
            designs.append(row)
            for lr in d.layers:
                layers.append({"source": d.source, "design": d.label, "role": d.role, "layer": lr.key,
                               "shape": lr.shape, "count": lr.count, "macs": lr.macs, "energy_pj": lr.energy_pj,
                               "cycles": lr.cycles, "edp": lr.edp, "utilization": lr.utilization,
                               "evaluations": lr.evaluations, "error": lr.error})
                for b in lr.breakdown:
                    breakdown.append({"source": d.source, "design": d.label, "role": d.role, "layer": lr.key,
                                      "count": lr.count, **b})
                if lr.mac_energy_pj is not None:
                    breakdown.append({"source": d.source, "design": d.label, "role": d.role, "layer": lr.key,
                                      "count": lr.count, "level": MAC_LEVEL, "dataspace": "-", "reads": None,
                                      "fills": None, "updates": None, "tile_words": None,
                                      "energy_pj": lr.mac_energy_pj})
                for depth, lvl in enumerate(lr.loop_nest or []):
                    if not lvl["loops"]:
                        nests.append({"source": d.source, "design": d.label, "role": d.role, "layer": lr.key,
                                      "level": lvl["level"], "keeps": " ".join(lvl["keeps"]), "loop": None,
                                      "dim": None, "bound": None, "kind": None})
                    for i, lp in enumerate(lvl["loops"]):
                        nests.append({"source": d.source, "design": d.label, "role": d.role, "layer": lr.key,
                                      "level": lvl["level"], "keeps": " ".join(lvl["keeps"]), "loop": i,
                                      "dim": lp["dim"], "bound": lp["bound"], "kind": lp["kind"]})
        if isinstance(src, StudySource):
            trials.extend(_trial_row(src, t) for t in src.trials)
            convergence.extend(convergence_rows(src))
            constraints.extend(constraint_rows(src))
            front.extend(pareto_rows(src))
    tables = {"designs": designs, "layers": layers, "breakdown": breakdown, "loop_nests": nests}
    phases = phase_rows(sources)
    if phases:
        tables["phases"] = phases
    ops = [{"source": src.label, **op.model_dump()} for src in sources for op in src.element_ops]
    if ops:
        tables["element_ops"] = ops
    if any(isinstance(s, StudySource) for s in sources):
        tables.update({"trials": trials, "convergence": convergence, "constraints": constraints})
    if any(isinstance(s, StudySource) and s.objective == "pareto" for s in sources):
        tables["pareto_front"] = front
    return tables
