"""What a report shows, collected from its sources: co-design studies and ``cosearch map`` results.

A *source* is one of

* a co-design study, named in a study store (:func:`study_source`): its trials, its best design, the
  two baselines (from the run's ``results.json`` when it can be found, otherwise mapped again with the
  study's own mapper, budget and seeds, which reproduces them), and its constraint statistics;
* a results directory written by ``cosearch map`` (:func:`map_source`): the arch, the layers, the best
  mapping of each;
* a results directory written by ``cosearch codesign``: the study it names (its store is the one in
  ``results.json``, or ``studies.db`` next to it).

Every design (a study's best point, a baseline, a mapped network) is re-evaluated with the cost model
(:func:`~cosearch.model.evaluate.evaluate` with ``breakdown=True``) from its arch and stored mappings,
since studies store no per-level breakdown: this gives the energy per level and data space, the
utilisation and the loop nests. Units: energy in pJ, cycles in clock cycles, EDP in pJ·cycles, areas
in mm², sizes in 16-bit words. Per-layer figures are for *one* instance of the layer; network figures
count repeats (energy = Σ count·energy, cycles = Σ count·cycles, EDP = energy × cycles).

:func:`report_tables` turns the collected data into the report's tables (lists of flat rows).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable, Sequence

from ..dims import DATASPACES
from ..errors import CosearchError
from ..study import sqlite_missing
from ..workload.layer import Layer

RESULTS_FILE = "results.json"
MAC_LEVEL = "MAC"
"""Level name of the MAC (compute) energy in breakdowns; its data space is ``-``."""


# ---------------------------------------------------------------------------------------------------
# records


@dataclass
class LayerRow:
    """One unique layer of a design: its best mapping and costs (one instance of the layer).

    ``count`` is how often the layer's shape occurs in the workload(s) (``None``: unknown, counted
    once). ``energy_pj``/``cycles``/``edp`` are the stored figures; ``breakdown`` rows come from
    re-evaluating ``mapping`` on the design's arch.
    """

    key: str  # e.g. "dqn/conv1" (studies) or "conv1" (map runs)
    shape: str  # "K=64 C=64 P=56 ..."
    count: int | None
    macs: int | None
    energy_pj: float | None
    cycles: float | None
    edp: float | None
    utilization: float | None = None
    evaluations: int | None = None
    mapping: dict[str, Any] | None = None
    loop_nest: list[dict[str, Any]] | None = None
    breakdown: list[dict[str, Any]] = field(default_factory=list)  # level, dataspace, reads, fills, updates, energy_pj
    mac_energy_pj: float | None = None
    error: str | None = None


@dataclass
class Design:
    """One accelerator with the mappings of its layers: a study's best point, a baseline or a map run.

    ``role`` is ``best``, ``baseline`` (eyeriss-168 with the study's mapper), ``baseline_rs``
    (row-stationary) or ``map``. Totals are network figures (repeats counted).
    """

    source: str
    role: str
    label: str
    arch_name: str
    params: dict[str, float]
    area_mm2: float | None
    energy_pj: float | None
    cycles: float | None
    edp: float | None
    per_workload_edp: dict[str, float]
    layers: list[LayerRow]
    trial: int | None = None
    notes: list[str] = field(default_factory=list)

    def network_breakdown(self) -> dict[tuple[str, str], float]:
        """Network energy (pJ, repeats counted) per (level, data space), the MAC as ``("MAC", "-")``."""
        out: dict[tuple[str, str], float] = {}
        for row in self.layers:
            n = row.count or 1
            for b in row.breakdown:
                key = (b["level"], b["dataspace"])
                out[key] = out.get(key, 0.0) + n * b["energy_pj"]
            if row.mac_energy_pj is not None:
                out[(MAC_LEVEL, "-")] = out.get((MAC_LEVEL, "-"), 0.0) + n * row.mac_energy_pj
        return out


@dataclass
class StudySource:
    """A co-design study and what the report shows of it."""

    label: str
    study: str
    storage: str
    config: dict[str, Any]
    objective: str
    trials: list[Any]  # cosearch.study.records.Trial, ordered by number (without layer results)
    best: Design | None
    baselines: list[Design]  # [baseline] or [baseline, baseline_rs]
    baseline_origin: str  # where the baselines come from (a results.json, or "mapped again")
    area_budget_mm2: float | None
    param_names: list[str]
    kind: str = "study"
    edp_bound: float | None = None  # network EDP no design of the space within the budget can beat

    @property
    def optimizer(self) -> str:
        return str(self.config.get("optimizer") or "?")

    @property
    def seed(self) -> Any:
        return self.config.get("seed")

    @property
    def designs(self) -> list[Design]:
        return ([self.best] if self.best is not None else []) + self.baselines


@dataclass
class MapSource:
    """A ``cosearch map`` results directory."""

    label: str
    path: Path
    results: dict[str, Any]
    design: Design
    kind: str = "map"

    @property
    def designs(self) -> list[Design]:
        return [self.design]


Source = StudySource | MapSource


# ---------------------------------------------------------------------------------------------------
# small helpers


def _finite(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        x = float(value)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise CosearchError(f"{path}: malformed JSON at line {err.lineno} column {err.colno}: {err.msg}") from None
    except OSError as err:
        raise CosearchError(f"{path}: {err.strerror or err}") from None
    if not isinstance(data, dict):
        raise CosearchError(f"{path}: expected a JSON object")
    return data


def _evaluate_layer(arch: Any, layer: Any, mapping: dict[str, Any] | None, row: LayerRow) -> None:
    """Fill ``row``'s breakdown, MAC energy, utilisation and loop nest by evaluating ``mapping``."""
    from ..mapping.loopnest import loop_nest_data
    from ..mapping.mapping import Mappings, mapping_from_data
    from ..model.evaluate import evaluate

    if not mapping:
        return
    try:
        readable = mapping_from_data(mapping, f"layer {row.key}")
        batch = Mappings.from_list([readable], arch)
        costs = evaluate(arch, layer, batch, breakdown=True)
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
    row.mac_energy_pj = float(costs.macs * arch.mac.energy_pj)
    row.utilization = float(costs.utilization[0]) if row.utilization is None else row.utilization
    row.loop_nest = loop_nest_data(arch, batch, 0, tile_words=costs.tile_words)
    if row.energy_pj is None:
        row.energy_pj, row.cycles, row.edp = float(costs.energy_pj[0]), float(costs.cycles[0]), float(costs.edp[0])


def _totals(rows: Sequence[LayerRow]) -> tuple[float | None, float | None, float | None]:
    """Network energy, cycles and EDP of layer rows (``None`` if a layer has no result)."""
    if not rows or any(r.energy_pj is None or r.cycles is None for r in rows):
        return None, None, None
    e = sum((r.count or 1) * r.energy_pj for r in rows)  # type: ignore[operator]
    c = sum((r.count or 1) * r.cycles for r in rows)  # type: ignore[operator]
    return e, c, e * c


# ---------------------------------------------------------------------------------------------------
# stores


def open_store(url: str | None, *, missing_ok: bool = False) -> Any:
    """The study store at ``url`` (default ``sqlite:///cosearch-out/studies.db``), opened for reading.

    A SQLite file that does not exist is ``None`` with ``missing_ok``, else a :class:`CosearchError` (it
    is not created); so is any URL the store cannot open (the message names it)."""
    from ..study import Storage, storage_url

    text = storage_url(url)
    missing = sqlite_missing(text)
    if missing is not None:
        if missing_ok:
            return None
        raise CosearchError(f"no study store at {missing} (--storage {text})")
    return Storage(text)


# ---------------------------------------------------------------------------------------------------
# studies


def _study_layers(config: dict[str, Any], trials: Sequence[Any]) -> tuple[list[tuple[str, Any, int | None]], list[str]]:
    """``[(key, Layer, count)]`` for every unique layer shape of a study, and notes.

    Keys and shapes come from the stored layer results; counts (occurrences of the shape in the
    workloads) from the workloads stored in the config (``workload_data``), or else from the zoo or
    workload files it names, when they can still be loaded."""
    from ..workload.io import load_workload

    stored: dict[str, Any] = {}
    for t in trials:
        for rec in t.layers:
            if rec.layer not in stored and rec.shape_key:
                stored[rec.layer] = Layer.from_shape_key(rec.layer, rec.shape_key)
    notes: list[str] = []
    counts: dict[tuple[int, ...], int] = {}
    try:  # the workloads as stored with the study (newer studies), else by name
        sources = config.get("workload_data") or config.get("workloads") or []
        nets = [load_workload(src) for src in sources]
    except (CosearchError, OSError, ValueError):
        nets = []
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


def _space_arch(config: dict[str, Any], values: dict[str, Any], name: str | None = None) -> Any:
    from ..arch.hwspace import HWSpace

    space = HWSpace.model_validate(config["hw_space"])
    return space.arch(dict(values), name=name)


def _design_from_layers(*, source: str, role: str, label: str, arch: Any, params: dict[str, Any],
                        area: float | None, layers: list[tuple[str, Any, int | None]],
                        results: dict[str, dict[str, Any]], workload_edp: dict[str, float],
                        totals: tuple[Any, Any, Any] | None, trial: int | None = None) -> Design:
    """A :class:`Design` whose layer ``results`` (key -> stored fields) are re-evaluated on ``arch``."""
    rows: list[LayerRow] = []
    for key, layer, count in layers:
        r = results.get(key) or {}
        extra = r.get("extra") or {}
        row = LayerRow(
            key=key, shape=layer.shape_text(), count=count, macs=layer.macs, energy_pj=_finite(r.get("energy_pj")),
            cycles=_finite(r.get("cycles")), edp=_finite(r.get("edp")),
            utilization=_finite(extra.get("utilization")) if isinstance(extra, dict) else None,
            evaluations=r.get("evaluations"), mapping=r.get("mapping"), error=r.get("error"),
        )
        if not r:
            row.error = "no result stored"
        _evaluate_layer(arch, layer, row.mapping, row)
        rows.append(row)
    energy, cycles, edp = totals if totals is not None else _totals(rows)
    return Design(source=source, role=role, label=label, arch_name=arch.name, params=dict(params),
                  area_mm2=_finite(area), energy_pj=_finite(energy), cycles=_finite(cycles), edp=_finite(edp),
                  per_workload_edp={w: float(v) for w, v in workload_edp.items() if _finite(v) is not None},
                  layers=rows, trial=trial)


def _same_settings(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Equal study configurations apart from ``hw_budget`` (a resumed study may have grown it)."""
    from ..study import canonical_json

    strip = lambda c: {k: v for k, v in c.items() if k != "hw_budget"}  # noqa: E731
    return canonical_json(strip(a)) == canonical_json(strip(b))


def _find_results(store_url: str, study: str, config_hash: str, given: Path | None,
                  stored_config: dict[str, Any]) -> tuple[dict[str, Any], Path] | None:
    """The ``results.json`` of a study's run: ``given``, else next to a SQLite store, else in the
    default out directory ``cosearch-out/<study>`` (with a ``codesign-`` prefix). Only a complete run
    of the same study and configuration counts."""
    from sqlalchemy.engine import make_url

    from ..study import config_hash as hash_of

    candidates: list[Path] = []
    if given is not None:
        candidates.append(given)
    try:
        parsed = make_url(store_url)
        if parsed.get_backend_name() == "sqlite" and parsed.database and parsed.database != ":memory:":
            candidates.append(Path(parsed.database).expanduser().parent / RESULTS_FILE)
    except Exception:  # noqa: BLE001 - not a URL we can place
        pass
    from ..codesign.outputs import safe_file_name

    safe = safe_file_name(study)
    candidates.append(Path("cosearch-out") / (safe if safe.startswith("codesign-") else f"codesign-{safe}") / RESULTS_FILE)
    for path in candidates:
        if not path.is_file():
            continue
        try:
            data = _read_json(path)
        except CosearchError:
            continue
        if data.get("study") != study or not data.get("baseline") or not isinstance(data.get("config"), dict):
            continue
        if hash_of(data["config"]) != config_hash and not _same_settings(data["config"], stored_config):
            continue
        return data, path
    return None


def _remap_baselines(config: dict[str, Any], study: str, layers: list[tuple[str, Any, int | None]],
                     values: dict[str, Any]) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]] | None]:
    """Map the baseline(s) again exactly as the study's run did: same mapper, budget and unit seeds.

    Returns (auto results, row-stationary results or ``None`` for templates without one), each
    layer key -> stored fields."""
    from ..codesign.baselines import baseline_of
    from ..codesign.driver import map_unit, unit_seed
    from ..study.executor import WorkUnit

    space = config["hw_space"]
    hw = {"template": space["template"], "values": values, "estimator": space["estimator"],
          "dram_bandwidth": space["dram_bandwidth"]}
    mapper = config.get("mapper") or "auto"
    budget = int(config.get("mapper_budget") or 5_000)
    seed = int(config.get("seed") or 0)

    def run(settings: dict[str, Any]) -> dict[str, dict[str, Any]]:
        out = {}
        for key, layer, _count in layers:
            unit = WorkUnit(study=study, trial=-1, hw=hw, layer={**layer.model_dump(), "name": key}, mapper=mapper,
                            settings=dict(settings), seed=unit_seed(seed, values, layer))
            out[key] = map_unit(unit).record()
        return out

    auto = run({"budget": budget})
    dataflow = baseline_of(space["template"]).dataflow
    rs = run({"budget": budget, "dataflow": dataflow}) if dataflow else None
    return auto, rs


def _per_workload(config: dict[str, Any], layers: list[tuple[str, Any, int | None]],
                  results: dict[str, dict[str, Any]]) -> dict[str, float]:
    """EDP per workload of per-layer results (as the co-design run combines them)."""
    from ..workload.io import load_workload

    out: dict[str, float] = {}
    by_shape = {layer.shape_key(): results.get(key, {}) for key, layer, _ in layers}
    try:
        nets = [load_workload(name) for name in config.get("workloads") or []]
    except (CosearchError, OSError, ValueError):
        return out
    for net in nets:
        e = c = 0.0
        for layer in net.layers:
            r = by_shape.get(layer.shape_key(), {})
            if r.get("energy_pj") is None:
                return {}
            e += layer.count * r["energy_pj"]
            c += layer.count * r["cycles"]
        out[net.name] = e * c
    return out


def study_source(store: Any, name: str, *, results_path: Path | None = None, label: str | None = None,
                 remap_baselines: bool = True) -> StudySource:
    """Collect a co-design study from ``store`` (a :class:`~cosearch.study.sql.Storage`).

    Baselines come from the run's ``results.json`` (``results_path``, else one found next to a SQLite
    store or in the default out directory) when its study and configuration match; otherwise they are
    mapped again with the study's mapper, budget and seeds (``remap_baselines``), which gives the same
    mappings as the run. A study without trials is a :class:`CosearchError`.
    """
    from ..arch.templates import TEMPLATES
    from ..codesign.baselines import baseline_of

    st = store.load_study(name)
    trials = store.trials(st)  # without their layer results (only the best trial's are shown)
    if not trials:
        raise CosearchError(f"study {name!r} in {store.url} has no trials yet")
    config = dict(st.config or {})
    if not isinstance(config.get("hw_space"), dict):
        raise CosearchError(f"study {name!r}: its config has no hardware space (not a co-design study)")
    template = config["hw_space"].get("template", "eyeriss")
    label = label or name
    best_trial = store.best_trial(st, layers=True)
    # the unique layers' keys and shapes: from the best trial, else from a few evaluated trials
    keyed = [best_trial] if best_trial is not None else \
        [store.trial(st, t.number, layers=True) for t in trials if t.state in ("complete", "failed")][:5]
    layers, notes = _study_layers(config, keyed)

    best = None
    if best_trial is not None:
        res = best_trial.result or {}
        results = {rec.layer: rec.to_json() for rec in best_trial.layers}
        per_w = {w: (v.get("edp") if isinstance(v, dict) else v) for w, v in (res.get("per_workload") or {}).items()}
        best = _design_from_layers(
            source=label, role="best", label=f"{label}: best (trial {best_trial.number})",
            arch=_space_arch(config, best_trial.hw_params["values"]), params=best_trial.hw_params["values"],
            area=res.get("area_mm2"), layers=layers, results=results, workload_edp=per_w,
            totals=(res.get("energy_pj"), res.get("cycles"), res.get("edp")), trial=best_trial.number)
        best.notes.extend(notes)

    # baselines
    base = baseline_of(template)
    base_values, auto_label, rs_label = base.values, base.auto_label, base.dataflow_label
    found = _find_results(store.url, name, st.config_hash, results_path, config)
    summaries: list[tuple[str, str, dict[str, Any]]] = []
    if found is not None:
        data, path = found
        origin = f"from {path}"
        summaries.append(("baseline", auto_label, data["baseline"]))
        if base.dataflow and data.get("baseline_rs"):
            summaries.append(("baseline_rs", rs_label, data["baseline_rs"]))
    elif remap_baselines:
        auto, rs = _remap_baselines(config, name, layers, base_values)
        origin = "mapped again with the study's mapper, budget and seeds (no results.json of the run was found)"
        for role, lab, results in (("baseline", auto_label, auto), ("baseline_rs", rs_label, rs)):
            if results is None:
                continue
            e, c, edp = _totals([LayerRow(k, "", n, None, _finite(results[k].get("energy_pj")),
                                          _finite(results[k].get("cycles")), None) for k, _l, n in layers])
            summaries.append((role, lab, {"arch": base_values, "energy_pj": e, "cycles": c, "edp": edp,
                                          "per_workload": _per_workload(config, layers, results),
                                          "layers": results}))
    else:
        origin = "not available"
    base_arch = _space_arch(config, base_values, name=auto_label.split(" ")[0])
    baselines: list[Design] = []
    for role, lab, summary in summaries:
        design = _design_from_layers(
            source=label, role=role, label=lab, arch=base_arch, params=summary.get("arch") or base_values,
            area=summary.get("area_mm2", float(base_arch.area_mm2)), layers=layers,
            results=summary.get("layers") or {}, workload_edp=summary.get("per_workload") or {},
            totals=(summary.get("energy_pj"), summary.get("cycles"), summary.get("edp")))
        baselines.append(design)
    names = list(TEMPLATES[template].names) if template in TEMPLATES else \
        sorted(config["hw_space"].get("params", {}))
    return StudySource(label=label, study=name, storage=store.url, config=config, objective=st.objective,
                       trials=trials, best=best, baselines=baselines, baseline_origin=origin,
                       area_budget_mm2=_finite(config.get("area_budget_mm2")), param_names=names,
                       edp_bound=study_edp_bound(config))


def study_edp_bound(config: dict[str, Any]) -> float | None:
    """The network EDP (pJ·cycles) below which no design of a single-workload study's hardware space and
    area budget can go (:func:`cosearch.codesign.bounds.network_edp_bound`); ``None`` for several
    workloads, or when the workload or space cannot be rebuilt from the stored configuration."""
    sources = config.get("workload_data") or config.get("workloads") or []
    if len(sources) != 1 or not isinstance(config.get("hw_space"), dict) or config.get("area_budget_mm2") is None:
        return None
    key = json.dumps([sources[0], config["hw_space"], config["area_budget_mm2"]], sort_keys=True)
    return _edp_bound_cached(key)


@lru_cache(maxsize=32)
def _edp_bound_cached(key: str) -> float | None:
    from ..arch.hwspace import HWSpace
    from ..codesign.bounds import network_edp_bound
    from ..workload.io import load_workload

    source, space, budget = json.loads(key)
    try:
        return network_edp_bound(load_workload(source), HWSpace.model_validate(space), float(budget)).edp
    except (CosearchError, OSError, ValueError):
        return None


# ---------------------------------------------------------------------------------------------------
# map runs


def map_source(directory: Path, data: dict[str, Any] | None = None, *, label: str | None = None) -> MapSource:
    """Collect a ``cosearch map`` results directory (its ``results.json``).

    The arch and layer shapes are read from ``results.json`` (``arch_spec``, ``layer_shapes``); results
    written before those were stored fall back to the preset and zoo names they give."""
    from ..arch.spec import Arch

    path = Path(directory)
    data = data if data is not None else _read_json(path / RESULTS_FILE)
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
        from ..arch.io import load_arch

        try:
            arch = load_arch(data["arch"])
            notes.append(f"arch {data['arch']} loaded by name (results.json does not store it)")
        except (CosearchError, OSError, ValueError):
            notes.append(f"arch {data['arch']} is not stored in results.json and cannot be loaded: no breakdown")
    shapes = data.get("layer_shapes") if isinstance(data.get("layer_shapes"), dict) else {}
    if not shapes:
        from ..workload.io import load_workload

        try:
            net = load_workload(str(data.get("workload")))
            shapes = {l.name: l.model_dump(exclude={"name", "count"}) for l in net.layers}
        except (CosearchError, OSError, ValueError):
            shapes = {}
    from ..workload.layer import Layer

    rows: list[LayerRow] = []
    for entry in layers_data:
        shape = shapes.get(entry["name"])
        layer = Layer(name=entry["name"], **shape) if shape else None
        row = LayerRow(key=entry["name"], shape=layer.shape_text() if layer is not None else "?",
                       count=int(entry.get("count") or 1), macs=entry.get("macs"),
                       energy_pj=_finite(entry.get("energy_pj")), cycles=_finite(entry.get("cycles")),
                       edp=_finite(entry.get("edp")), utilization=_finite(entry.get("utilization")),
                       evaluations=entry.get("evaluations"), mapping=entry.get("mapping"), error=entry.get("error"),
                       loop_nest=entry.get("loop_nest") or None)
        if arch is not None and layer is not None:
            stored_nest = row.loop_nest
            _evaluate_layer(arch, layer, row.mapping, row)
            row.loop_nest = row.loop_nest or stored_nest
        rows.append(row)
    total = data.get("total") or {}
    design = Design(source=label, role="map", label=f"{label}: {data['arch']}", arch_name=str(data["arch"]),
                    params={}, area_mm2=_finite(arch.area_mm2) if arch is not None and arch.area_mm2 > 0 else None,
                    energy_pj=_finite(total.get("energy_pj")), cycles=_finite(total.get("cycles")),
                    edp=_finite(total.get("edp")), per_workload_edp={}, layers=rows, notes=notes)
    if design.energy_pj is None:
        design.energy_pj, design.cycles, design.edp = _totals(rows)
    return MapSource(label=label, path=path, results=data, design=design)


# ---------------------------------------------------------------------------------------------------
# resolving command-line sources


def _names_study(store_at: Any, storage: str | None, name: str) -> bool:
    """Whether ``name`` is a study in ``storage`` (``False`` if the store cannot be opened)."""
    try:
        return bool(store_at(storage).has_study(name))
    except CosearchError:
        return False


def resolve_sources(items: Sequence[str], storage: str | None = None) -> list[Source]:
    """Sources from ``cosearch report`` arguments: results directories (or their ``results.json``) of
    ``cosearch map``/``codesign``, or study names in ``storage``. One-line :class:`CosearchError`s for a
    directory without results, a missing or empty study, or a store that cannot be read."""
    if not items:
        raise CosearchError("give at least one SOURCE: a study name or a results directory")
    out: list[Source] = []
    stores: dict[str, Any] = {}

    def store_at(url: str | None) -> Any:
        from ..study import storage_url

        key = storage_url(url)
        if key not in stores:
            stores[key] = open_store(url)
        return stores[key]

    labels: set[str] = set()
    for item in items:
        path = Path(item)
        if path.is_file() and path.name == RESULTS_FILE:
            path = path.parent
        # a directory without results that shares its name with a study: the study
        as_dir = path.is_dir() and ((path / RESULTS_FILE).is_file() or not _names_study(store_at, storage, item))
        if as_dir:
            results = path / RESULTS_FILE
            if not results.is_file():
                raise CosearchError(f"{path}: no {RESULTS_FILE} (not a results directory of cosearch map or codesign)")
            data = _read_json(results)
            if isinstance(data.get("study"), str) and "config" in data:
                url = storage if storage is not None else data.get("storage")
                local = path / "studies.db"
                if storage is None and (url is None or sqlite_missing(str(url)) is not None) and local.is_file():
                    url = f"sqlite:///{local.absolute()}"
                src: Source = study_source(store_at(url), data["study"], results_path=results)
            else:
                src = map_source(path, data)
        elif path.exists() and not path.is_dir():
            raise CosearchError(f"{path}: not a results directory (give the directory that holds {RESULTS_FILE})")
        else:
            src = study_source(store_at(storage), item)
        if src.label in labels:  # the same name twice (e.g. two runs' dirs): keep labels distinct
            old, src.label = src.label, f"{src.label} ({len(labels) + 1})"
            for d in src.designs:
                d.source = src.label
                if d.label.startswith(f"{old}:"):
                    d.label = src.label + d.label[len(old):]
        labels.add(src.label)
        out.append(src)
    return out


# ---------------------------------------------------------------------------------------------------
# tables


def _ratio(design: Design, base: Design | None) -> float | None:
    """Geometric mean over workloads of EDP(design) / EDP(base); the network EDP ratio without them."""
    if base is None or design.edp is None or base.edp is None:
        return None
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
        "value": t.value, "area_mm2": _finite(res.get("area_mm2")), "energy_pj": _finite(res.get("energy_pj")),
        "cycles": _finite(res.get("cycles")), "edp": _finite(res.get("edp")) if valid else None, "error": t.error,
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


def convergence_rows(src: StudySource) -> list[dict[str, Any]]:
    """Best EDP so far after each HW sample (trial) of a study, in trial order (``None`` until the
    first valid point). Only finished trials count as samples."""
    rows = []
    best: float | None = None
    sample = 0
    for t in src.trials:
        if t.state not in ("complete", "failed"):
            continue
        sample += 1
        res = t.result or {}
        edp = _finite(res.get("edp")) if t.state == "complete" and res.get("valid") else None
        if edp is not None and (best is None or edp < best):
            best = edp
        rows.append({"source": src.label, "optimizer": src.optimizer, "seed": src.seed, "sample": sample,
                     "trial": t.number, "edp": edp, "best_edp": best})
    return rows


def pareto_front(points: Iterable[tuple[float, float]]) -> list[tuple[float, float]]:
    """The (area, EDP) points no other point beats on both (smaller area and smaller EDP), by area."""
    front: list[tuple[float, float]] = []
    best = math.inf
    for area, edp in sorted(points):
        if edp < best:
            front.append((area, edp))
            best = edp
    return front


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


def report_tables(sources: Sequence[Source]) -> dict[str, list[dict[str, Any]]]:
    """Every table of the report as flat rows (JSON-able; one CSV each).

    * ``designs``: each design (best, baselines, map runs): parameters ``hw.<name>``, area (mm²),
      network energy (pJ), cycles, EDP (pJ·cycles) and EDP ratios to its study's baselines;
    * ``layers``: per design and unique layer: count, energy/cycles/EDP of one instance, utilisation;
    * ``breakdown``: per design, layer, level and data space: reads, fills, updates (words), tile words
      and energy (pJ) of one instance of the layer (the MAC as level ``MAC``);
    * ``loop_nests``: per design, layer, level and loop: dim, bound, kind (outer -> inner);
    * studies only: ``trials`` (every trial as stored), ``convergence`` (best EDP vs HW samples),
      ``constraints`` (constraint statistics); ``pareto_front`` when a study has the ``pareto`` objective.
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
    if any(isinstance(s, StudySource) for s in sources):
        tables.update({"trials": trials, "convergence": convergence, "constraints": constraints})
    if any(isinstance(s, StudySource) and s.objective == "pareto" for s in sources):
        tables["pareto_front"] = front
    return tables
