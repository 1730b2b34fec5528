"""Imperfect factorization (issue #15): what it buys per layer and in co-design, at equal budgets.

**Layers.** Every unique layer of the workloads is mapped on eyeriss-168 (14×12 PEs) and on odd meshes
(eyeriss-168 with its PE mesh changed: 13×11, 16×10, 12×12) by the ``auto`` mapper with the same budget
and seed under ``--factorization perfect`` and ``imperfect`` (``--max-padding`` default 0.25). Reported
per (mesh, layer): best EDP and utilisation of both and their ratio; summarised per mesh: the geometric
mean EDP ratio (imperfect ÷ perfect), the share of layers better / worse by more than 0.1 %, and the
worst ratio.

**Co-design.** The protocol of ``benchmarks/codesign.py`` (``bo``, seeds, 50 hardware points, mapper
budget 5,000) per workload with both factorizations. The EDP ratio is the study's own (the best design
over eyeriss-168 mapped by the same mapper, so under imperfect the baseline is mapped imperfectly too);
``vs_perfect_baseline`` divides the imperfect study's best EDP by the perfect study's baseline EDP (the
same baseline hardware mapped as today), the gain a user sees over today's tool.

Prints one JSON object (also written to ``--out`` after every step)::

    python benchmarks/imperfect.py [--workloads dqn,resnet18,mobilenet_v2,bert_base] [--budget 5000]
        [--codesign dqn,resnet18] [--seeds 10] [--hw-budget 50] [--jobs 2] [--out imperfect_bench.json]
        [--factorizations perfect,imperfect]
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import tempfile
import time
from pathlib import Path

import cosearch
from cosearch.arch.hwspace import load_hw_space
from cosearch.codesign.baselines import baseline_of
from cosearch.codesign.driver import Codesign
from cosearch.mappers.layer import map_layer
from cosearch.study.executor import LocalExecutor

MESHES = [(14, 12), (13, 11), (16, 10), (12, 12)]
"""PE meshes (columns × rows): eyeriss-168's own, then the odd ones."""


def mesh_archs(space_name: str = "eyeriss-like") -> dict[str, object]:
    """eyeriss-168 (the eyeriss-like space's reference design) with each mesh of :data:`MESHES`."""
    space = load_hw_space(space_name)
    base = baseline_of(space.template)
    mx, my = space.template_spec.mesh
    return {f"{x}x{y}": space.arch({**base.values, mx: x, my: y}) for x, y in MESHES}


def layer_study(args: argparse.Namespace, out: dict, path: Path) -> None:
    """Best EDP and utilisation per (mesh, unique layer) under both factorizations at equal budget."""
    archs = mesh_archs()
    rows = []
    for w in args.workloads.split(","):
        net = cosearch.load_workload(w)
        for mesh, arch in archs.items():
            for layer in net.layers:
                rec = {"workload": w, "mesh": mesh, "layer": layer.name, "shape": layer.shape_text()}
                for fz in ("perfect", "imperfect"):
                    t = time.perf_counter()
                    try:
                        r = map_layer(arch, layer, budget=args.budget, seed=args.seed, factorization=fz,
                                      max_padding=args.max_padding if fz == "imperfect" else None)
                        rec[fz] = {"edp": r.edp, "utilization": float(r.costs.utilization[0]),
                                   "seconds": time.perf_counter() - t}
                    except cosearch.CosearchError as err:
                        rec[fz] = {"error": str(err)}
                p, i = rec["perfect"].get("edp"), rec["imperfect"].get("edp")
                rec["edp_ratio"] = i / p if p and i else None
                rows.append(rec)
        out["layers"] = rows
        out["layer_summary"] = summarize_layers(rows)
        path.write_text(json.dumps(out, indent=1))


def summarize_layers(rows: list[dict]) -> dict:
    """Per mesh: layers, geometric-mean EDP ratio, share better / worse (> 0.1 %), worst ratio, mean
    utilisation of both."""
    summary = {}
    for mesh in dict.fromkeys(r["mesh"] for r in rows):
        rs = [r for r in rows if r["mesh"] == mesh and r["edp_ratio"]]
        ratios = [r["edp_ratio"] for r in rs]
        if not ratios:
            continue
        summary[mesh] = {
            "layers": len(ratios),
            "geomean_edp_ratio": math.exp(statistics.fmean(math.log(x) for x in ratios)),
            "better": sum(x < 0.999 for x in ratios) / len(ratios),
            "worse": sum(x > 1.001 for x in ratios) / len(ratios),
            "worst_ratio": max(ratios),
            "worst_layer": max(rs, key=lambda r: r["edp_ratio"])["layer"],
            "mean_utilization_perfect": statistics.fmean(r["perfect"]["utilization"] for r in rs),
            "mean_utilization_imperfect": statistics.fmean(r["imperfect"]["utilization"] for r in rs),
        }
    return summary


def codesign_study(args: argparse.Namespace, out: dict, path: Path) -> None:
    """The co-design protocol per workload, seed and factorization."""
    space = load_hw_space("eyeriss-like")
    studies = []
    with tempfile.TemporaryDirectory() as tmp, LocalExecutor(args.jobs) as ex:
        url = f"sqlite:///{tmp}/bench.db"
        for w in args.codesign.split(","):
            net = cosearch.load_workload(w)
            for seed in range(args.seeds):
                for fz in args.factorizations.split(","):
                    t = time.perf_counter()
                    cd = Codesign([net], hw_space=space, optimizer="bo", hw_budget=args.hw_budget,
                                  mapper_budget=args.mapper_budget, seed=seed, storage=url,
                                  study=f"{w}-{fz}-{seed}", executor=ex, factorization=fz,
                                  max_padding=args.max_padding if fz == "imperfect" else None)
                    r = cd.run()
                    studies.append({"workload": w, "seed": seed, "factorization": fz, "edp_ratio": r.edp_ratio,
                                    "edp_ratio_bound": r.edp_ratio_bound,
                                    "best_edp": r.best.edp if r.best else None, "baseline_edp": r.baseline.edp,
                                    "best_arch": r.best.arch if r.best else None,
                                    "seconds": time.perf_counter() - t})
                out["codesign"] = studies
                out["codesign_summary"] = summarize_codesign(studies)
                path.write_text(json.dumps(out, indent=1))


def summarize_codesign(studies: list[dict]) -> dict:
    """Per workload and factorization: median and range of the EDP ratio and of its bound; for imperfect
    also the median of best EDP over the perfect study's baseline EDP (same seed)."""
    summary: dict = {}
    for w in dict.fromkeys(s["workload"] for s in studies):
        row = {}
        for fz in ("perfect", "imperfect"):
            rs = [s for s in studies if s["workload"] == w and s["factorization"] == fz and s["edp_ratio"]]
            if not rs:
                continue
            ratios = [s["edp_ratio"] for s in rs]
            row[fz] = {"seeds": len(rs), "median_edp_ratio": statistics.median(ratios),
                       "min": min(ratios), "max": max(ratios),
                       "median_bound": statistics.median(s["edp_ratio_bound"] for s in rs if s["edp_ratio_bound"])}
        base = {s["seed"]: s["baseline_edp"] for s in studies if s["workload"] == w and s["factorization"] == "perfect"}
        vs = [s["best_edp"] / base[s["seed"]] for s in studies if s["workload"] == w
              and s["factorization"] == "imperfect" and s["best_edp"] and s["seed"] in base]
        if vs and "imperfect" in row:
            row["imperfect"]["median_vs_perfect_baseline"] = statistics.median(vs)
        summary[w] = row
    return summary


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--workloads", default="dqn,resnet18,mobilenet_v2,bert_base")
    ap.add_argument("--budget", type=int, default=5000, help="mapper evaluations per layer")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--max-padding", type=float, default=None)
    ap.add_argument("--codesign", default="dqn,resnet18", help="workloads of the co-design protocol ('' = none)")
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--hw-budget", type=int, default=50)
    ap.add_argument("--mapper-budget", type=int, default=5000)
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--factorizations", default="perfect,imperfect",
                    help="the co-design protocol's factorizations (its perfect studies are today's)")
    ap.add_argument("--out", default="imperfect_bench.json")
    args = ap.parse_args()
    out: dict = {"settings": vars(args)}
    path = Path(args.out)
    if args.workloads:
        layer_study(args, out, path)
    if args.codesign:
        codesign_study(args, out, path)
    print(json.dumps({k: v for k, v in out.items() if k.endswith("summary") or k == "settings"}))


if __name__ == "__main__":
    main()
