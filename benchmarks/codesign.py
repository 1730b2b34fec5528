"""Co-design quality: EDP ratio of the best design found against both eyeriss-168 baselines (same
estimator, equal area budget), per workload and outer optimizer over several seeds; how soon ``bo``
reaches ``random``'s final best; how much re-mapping the winner with 10x the inner budget changes it;
the lower bound on the EDP ratio that no design within the area budget can beat (codesign/bounds.py);
per workload, each ``bo`` seed's best EDP ÷ the best any study found (``bo_vs_best_found``) and ÷ the
bound (``bo_over_bound``), on the designs' own EDPs (each study maps its baseline with its own unit
seeds, so ratios of equally good designs differ by a few %).

Prints one JSON object (also written to ``--out`` after every study). Full protocol (issue #5):
``--workloads resnet18,dqn,mlp,transformer --optimizers bo,random,ga,vanilla-bo --seeds 10
--hw-budget 50``. ``--scale`` instead times ResNet-50 over 100 hardware points and reports peak RSS.

    python benchmarks/codesign.py [--workloads dqn] [--optimizers bo,random] [--seeds 3] \
        [--hw-budget 50] [--mapper-budget 5000] [--jobs 2] [--out codesign_bench.json]
    python benchmarks/codesign.py --scale [--jobs 2]
    python benchmarks/codesign.py --summary-of bo.json random.json     # summarise earlier runs together
    python benchmarks/codesign.py --pareto --workloads dqn,resnet18 --optimizers bo,random,ga --seeds 5

``--pareto`` runs the ``pareto`` objective (energy, cycles, area) instead and reports the hypervolume of
each study's front, in log space normalised over every point any study of the workload found (reference
point 1.1 in each objective; 1.0 would be a single point dominating everything found), and how many
points ``bo`` needs to reach ``random``'s final hypervolume.
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any, Iterator

import numpy as np

import cosearch
from cosearch.arch.hwspace import load_hw_space
from cosearch.codesign.driver import Codesign, unit_arch
from cosearch.codesign.settings import WARM_START_POINTS
from cosearch.mappers.layer import map_layer
from cosearch.study.executor import LocalExecutor


def first_reaching(history: list[float | None], target: float) -> int | None:
    """1-based number of HW points after which the best value is <= target (None if never)."""
    best = math.inf
    for i, value in enumerate(history, 1):
        if value is not None:
            best = min(best, value)
        if best <= target * (1 + 1e-12):
            return i
    return None


def remap_change(result, workload: cosearch.Network, hw_space, budget: int) -> float:
    """Relative EDP change of the winner when every layer is re-mapped with ``budget`` evaluations."""
    arch = unit_arch({"template": hw_space.template, "values": result.best.arch, "estimator": hw_space.estimator,
                      "dram_bandwidth": hw_space.dram_bandwidth})
    e = c = 0.0
    for layer in workload.layers:
        r = map_layer(arch, layer, optimizer="auto", budget=budget, seed=12345)
        e += r.energy_pj * layer.count
        c += r.cycles * layer.count
    return e * c / result.best.edp - 1


def median_ci(values: list[float], level: float = 0.9, draws: int = 10_000, seed: int = 0) -> list[float]:
    """Percentile-bootstrap confidence interval of the median of ``values`` (``inf`` allowed)."""
    rng = np.random.default_rng(seed)
    arr = np.asarray(values, dtype=float)
    meds = np.median(rng.choice(arr, size=(draws, arr.size), replace=True), axis=1)
    lo, hi = np.quantile(meds, [(1 - level) / 2, (1 + level) / 2], method="inverted_cdf")
    return [float(lo), float(hi)]


def load_studies(files: list[str]) -> list[dict]:
    """The study records of earlier ``--out`` files, in file order (to summarise runs together)."""
    return [s for f in files for s in json.loads(Path(f).read_text())["studies"]]


def bo_vs_best_found(studies: list[dict]) -> list[float]:
    """For the studies of one workload: each ``bo`` study's best EDP ÷ the lowest best EDP of any study
    (any optimizer), in study order; empty if none has a design. Compares the designs' own EDPs, not
    ratios: each study maps its baseline with its own unit seeds, so ratios of equally good designs
    differ by the baseline's mapping (a few % on MLP)."""
    found = [s["best_edp"] for s in studies if s.get("best_edp")]
    if not found:
        return []
    best = min(found)
    return [s["best_edp"] / best for s in studies if s["optimizer"] == "bo" and s.get("best_edp")]


def summarize(studies: list[dict]) -> dict:
    """Per workload and optimizer: EDP ratios (median, spread); bo's points to reach random's best
    (per seed, median, 90% bootstrap CI; ``inf`` = never); each bo seed's best EDP ÷ the best found
    (:func:`bo_vs_best_found`) and ÷ the bound; the winner's change when re-mapped at 10x."""
    summary: dict = {}
    for w in dict.fromkeys(s["workload"] for s in studies):
        row: dict = {}
        for opt in dict.fromkeys(s["optimizer"] for s in studies if s["workload"] == w):
            recs = [s for s in studies if s["workload"] == w and s["optimizer"] == opt and s["edp_ratio"]]
            if recs:
                r1 = sorted(s["edp_ratio"] for s in recs)
                r2 = sorted(s["edp_ratio_rs"] for s in recs)
                row[opt] = {"edp_ratio": {"median": statistics.median(r1), "min": r1[0], "max": r1[-1]},
                            "edp_ratio_rs": {"median": statistics.median(r2), "min": r2[0], "max": r2[-1]},
                            "n": len(recs)}
        bo = [s for s in studies if s["workload"] == w and s["optimizer"] == "bo"]
        rnd = {s["seed"]: s for s in studies if s["workload"] == w and s["optimizer"] == "random"}
        reach = [first_reaching(s["history"], rnd[s["seed"]]["best_edp"]) for s in bo
                 if s["seed"] in rnd and rnd[s["seed"]]["best_edp"] is not None]
        if reach:
            vals = [x if x is not None else math.inf for x in reach]
            row["bo_points_to_reach_random_best"] = {
                "per_seed": reach, "median": statistics.median(vals), "ci90_median": median_ci(vals)}
        bounds = sorted(s["edp_ratio_bound"] for s in studies if s["workload"] == w and s.get("edp_ratio_bound"))
        if bounds:  # no design within the budget can go below this (codesign/bounds.py); varies with the baseline's seed
            row["edp_ratio_bound"] = {"median": statistics.median(bounds), "min": bounds[0], "max": bounds[-1]}
        per_seed = bo_vs_best_found([s for s in studies if s["workload"] == w])
        if per_seed:
            row["bo_vs_best_found"] = {"per_seed": per_seed, "max": max(per_seed)}
        over = [s["best_edp"] / s["bound_edp"] for s in bo if s.get("best_edp") and s.get("bound_edp")]
        if over:
            row["bo_over_bound"] = {"median": statistics.median(over), "max": max(over)}
        changes = [s["remap_10x_change"] for s in bo if "remap_10x_change" in s]
        if changes:
            row["remap_10x_change"] = {"max_abs": max(abs(c) for c in changes), "values": changes}
        summary[w] = row
    return summary


def protocol_studies(args: argparse.Namespace, space, db: str, **codesign: Any) -> Iterator[tuple]:
    """The studies of the protocol, one per workload, optimizer and seed of ``args``, each built (not run)
    in one SQLite file ``db`` of a temporary directory and one executor of ``args.jobs`` workers.
    Yields ``(workload name, network, optimizer, seed, Codesign, start time)``; ``codesign`` adds or
    overrides :class:`Codesign` keywords (default mapper budget: ``args.mapper_budget``)."""
    settings = {"mapper_budget": args.mapper_budget, **codesign}
    with tempfile.TemporaryDirectory() as tmp, LocalExecutor(args.jobs) as ex:
        for w in args.workloads.split(","):
            net = cosearch.load_workload(w)
            for opt in args.optimizers.split(","):
                for seed in range(args.seeds):
                    t = time.perf_counter()
                    cd = Codesign([net], hw_space=space, optimizer=opt, hw_budget=args.hw_budget,
                                  hw_batch=args.hw_batch, seed=seed, storage=f"sqlite:///{tmp}/{db}",
                                  study=f"{w}-{opt}-{seed}", executor=ex, **settings)
                    yield w, net, opt, seed, cd, t


def quality(args: argparse.Namespace) -> dict:
    space = load_hw_space(args.hw_space)
    out: dict = {"settings": vars(args), "studies": []}
    path = Path(args.out)
    for w, net, opt, seed, cd, start in protocol_studies(args, space, "bench.db", warm_start=args.warm_start):
        r = cd.run()
        rec = {"workload": w, "optimizer": opt, "seed": seed, "edp_ratio": r.edp_ratio,
               "edp_ratio_rs": r.edp_ratio_rs, "edp_ratio_bound": r.edp_ratio_bound,
               "best_edp": r.best.edp if r.best else None, "bound_edp": (r.bound or {}).get("edp"),
               "baseline_edp": r.baseline.edp, "baseline_rs_edp": r.baseline_rs.edp,
               "area_budget_mm2": cd.area_budget, "best_area_mm2": r.best.area_mm2 if r.best else None,
               "best_arch": r.best.arch if r.best else None,
               "history": [h["value"] for h in r.history], "seconds": time.perf_counter() - start}
        if args.remap and r.best and opt == "bo":
            rec["remap_10x_change"] = remap_change(r, net, space, 10 * args.mapper_budget)
        out["studies"].append(rec)
        path.write_text(json.dumps(out, indent=1))
    summary = summarize(out["studies"])
    out["summary"] = summary
    path.write_text(json.dumps(out, indent=1))
    return {"summary": summary}


def hypervolume(objectives: np.ndarray, lo: np.ndarray, span: np.ndarray) -> float:
    """Hypervolume dominated by ``objectives [N, M]`` (minimised, > 0) in normalised log space, reference 1.1."""
    import torch
    from botorch.utils.multi_objective.box_decompositions.non_dominated import FastNondominatedPartitioning

    if not len(objectives):
        return 0.0
    y = -torch.as_tensor((np.log(objectives) - lo) / span)
    return float(FastNondominatedPartitioning(ref_point=torch.full((objectives.shape[1],), -1.1,
                                                                    dtype=torch.float64), Y=y).compute_hypervolume())


def pareto_quality(args: argparse.Namespace) -> dict:
    """Hypervolume of each ``pareto`` study's front and its growth over HW points, per workload and optimizer."""
    space = load_hw_space(args.hw_space)
    runs: list[dict] = []
    path = Path(args.out)
    for w, _net, opt, seed, cd, start in protocol_studies(args, space, "pareto.db", objective="pareto",
                                                          warm_start=args.warm_start):
        cd.run()
        trials = cd.storage.trials(cd.study_name)
        objs = [(t.result or {}).get("objectives") if t.value is not None else None for t in trials]
        runs.append({"workload": w, "optimizer": opt, "seed": seed, "objectives": objs,
                     "seconds": time.perf_counter() - start})
        path.write_text(json.dumps({"settings": vars(args), "runs": runs}, indent=1))
    summary: dict = {}
    for w in dict.fromkeys(r["workload"] for r in runs):
        mine = [r for r in runs if r["workload"] == w]
        allpts = np.array([o for r in mine for o in r["objectives"] if o], dtype=float)
        lo, span = np.log(allpts).min(axis=0), np.maximum(np.ptp(np.log(allpts), axis=0), 1e-12)
        for r in mine:
            pts = [np.array(o) for o in r["objectives"]]
            r["hv_curve"] = [hypervolume(np.array([p for p in pts[:i] if p is not None]).reshape(-1, 3), lo, span)
                             for i in range(1, len(pts) + 1)]
        row: dict = {}
        for opt in dict.fromkeys(r["optimizer"] for r in mine):
            hv = sorted(r["hv_curve"][-1] for r in mine if r["optimizer"] == opt)
            row[opt] = {"hypervolume": {"median": statistics.median(hv), "min": hv[0], "max": hv[-1]}, "n": len(hv)}
        rnd = {r["seed"]: r["hv_curve"][-1] for r in mine if r["optimizer"] == "random"}
        reach = [next((i for i, v in enumerate(r["hv_curve"], 1) if v >= rnd[r["seed"]] * (1 - 1e-12)), None)
                 for r in mine if r["optimizer"] == "bo" and r["seed"] in rnd]
        if reach:
            vals = [x if x is not None else math.inf for x in reach]
            row["bo_points_to_reach_random_hypervolume"] = {"per_seed": reach, "median": statistics.median(vals),
                                                           "ci90_median": median_ci(vals)}
        summary[w] = row
    path.write_text(json.dumps({"settings": vars(args), "runs": runs, "summary": summary}, indent=1))
    return {"summary": summary}


def scale(args: argparse.Namespace) -> dict:
    """ResNet-50, 100 HW points (random outer search: the work is the inner mapping), all layers mapped."""
    space = load_hw_space(args.hw_space)
    net = cosearch.load_workload("resnet50")
    t = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp, LocalExecutor(args.jobs) as ex:
        cd = Codesign([net], hw_space=space, warm_start=args.warm_start, optimizer=args.scale_optimizer, hw_budget=100, hw_batch=10,
                      mapper_budget=args.mapper_budget, seed=0, storage=f"sqlite:///{tmp}/scale.db",
                      study="resnet50", executor=ex)
        r = cd.run()
    secs = time.perf_counter() - t
    rss_self = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    rss_children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {"workload": "resnet50", "unique_layers": len(net.layers), "hw_points": r.trials, "jobs": args.jobs,
            "mapper_budget": args.mapper_budget, "warm_start": args.warm_start, "seconds": secs, "peak_rss_mb_main": rss_self,
            "peak_rss_mb_largest_worker": rss_children, "edp_ratio": r.edp_ratio}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workloads", default="resnet18,dqn,mlp,transformer")
    ap.add_argument("--optimizers", default="bo,random,ga,vanilla-bo")
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--hw-budget", type=int, default=50)
    ap.add_argument("--hw-batch", type=int, default=5)
    ap.add_argument("--mapper-budget", type=int, default=5000)
    ap.add_argument("--hw-space", default="eyeriss-like")
    ap.add_argument("--no-remap", dest="remap", action="store_false")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--out", default="codesign_bench.json")
    ap.add_argument("--scale", action="store_true", help="time ResNet-50 over 100 HW points instead")
    ap.add_argument("--scale-optimizer", default="bo")
    ap.add_argument("--warm-start", type=int, default=WARM_START_POINTS,
                    help="nearest earlier points seeding each layer's search (0: cold, as before warm starts)")
    ap.add_argument("--pareto", action="store_true", help="the pareto objective: hypervolume of each front")
    ap.add_argument("--summary-of", metavar="FILE", nargs="+",
                    help="only summarise the studies of earlier --out files, together")
    args = ap.parse_args()
    if args.summary_of:
        print(json.dumps({"summary": summarize(load_studies(args.summary_of))}))
        return
    print(json.dumps(scale(args) if args.scale else pareto_quality(args) if args.pareto else quality(args)))


if __name__ == "__main__":
    main()
