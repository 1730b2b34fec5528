"""The seed paper in its own setting (issue #17): co-design in the ``paper`` hardware space (Timeloop's
eyeriss-256 template, PAT-normalised energies, CACTI areas, eyeriss-256's area as the budget) against
eyeriss-256 mapped under row-stationary constraints, next to the paper's reported gains.

For every workload, outer optimizer and seed, one co-design study. Reported per workload and
optimizer: the best design's EDP ÷ the RS-mapped eyeriss-256's (``edp_ratio_rs``; the paper's
"hand-tuned" system is the reference design under its dataflow, mapped by the best constrained search
cosearch has: the study's inner mapper with the row-stationary constraints) and ÷ eyeriss-256 mapped
unconstrained (``edp_ratio``), median [min–max] over seeds; the lower bound of the space as a ratio to
the RS baseline; how many points ``bo`` needs to reach ``random``'s final best; and the
sample-efficiency curves (best EDP so far ÷ the RS baseline after each hardware point, median and
spread over seeds).

The inner mapper is ``auto`` (``--mapper-budget`` evaluations per layer, the fast default) or, with
``--nested``, the paper's nested configuration: ``--mapper bo`` with the authors' settings (30 random
warm-up mappings, a pool of 1,000 candidates, exploration 0.3, :mod:`cosearch.mappers._bo`) and 100
mapping evaluations per layer (Spotlight's public code: 100 valid mapping samples per layer per
hardware sample). Both baselines are mapped by the same inner mapper as the trials.

Prints the table, then one JSON object on the last line (also written to ``--out`` after every study).
Default = the full protocol (4 workloads × 4 optimizers × 10 seeds × 50 points):

    python benchmarks/paper_setting.py [--workloads resnet18,dqn] [--optimizers bo,random] [--seeds 3] \\
        [--hw-budget 50] [--mapper-budget 5000] [--nested] [--jobs 2] [--out paper_setting.json]
    python benchmarks/paper_setting.py --summary-of a.json b.json     # summarise earlier runs together
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np

from cosearch.arch.hwspace import load_hw_space

sys.path.insert(0, str(Path(__file__).resolve().parent))
from codesign import bo_vs_best_found, first_reaching, load_studies, median_ci, protocol_studies  # noqa: E402  (the sibling benchmark's)

PAPER_EDP_CHANGE = {"resnet18": -0.18, "dqn": -0.40}
"""The paper's reported EDP change against the hand-tuned Eyeriss (arXiv 2010.02075, abstract): −18%
on ResNet and −40% on DQN; MLPs and Transformers are reported without a figure."""
NESTED_MAPPER_BUDGET = 100
"""Mapping evaluations per layer in the nested configuration (Spotlight's public code)."""


def spread(values: list[float]) -> dict[str, float]:
    """``{median, min, max}`` of ``values``."""
    v = sorted(values)
    return {"median": statistics.median(v), "min": v[0], "max": v[-1]}


def best_so_far(history: list[float | None], reference: float) -> list[float | None]:
    """After each hardware point, the best value so far ÷ ``reference`` (``None`` until a valid point)."""
    out: list[float | None] = []
    best = float("inf")
    for value in history:
        if value is not None:
            best = min(best, value)
        out.append(best / reference if np.isfinite(best) else None)
    return out


def curve_summary(curves: list[list[float | None]]) -> dict[str, list[float | None]]:
    """Per hardware point: median, min and max over seeds of best-so-far ratios (``None`` while a seed
    has no valid point yet)."""
    out: dict[str, list[float | None]] = {"median": [], "min": [], "max": []}
    for i in range(min(len(c) for c in curves)):
        col = [c[i] for c in curves]
        if any(v is None for v in col):
            for k in out:
                out[k].append(None)
            continue
        s = spread([float(v) for v in col])  # type: ignore[arg-type]
        for k in out:
            out[k].append(s[k])
    return out


def summarize(studies: list[dict]) -> dict:
    """Per workload: per optimizer the ratios to both baselines and the sample-efficiency curve; the
    bound; ``bo``'s points to reach ``random``'s final best; the paper's figure and whether the median
    best design (over optimizers) meets it."""
    summary: dict = {}
    for w in dict.fromkeys(s["workload"] for s in studies):
        mine = [s for s in studies if s["workload"] == w]
        row: dict = {"optimizers": {}}
        for opt in dict.fromkeys(s["optimizer"] for s in mine):
            recs = [s for s in mine if s["optimizer"] == opt and s["edp_ratio_rs"] is not None]
            if recs:
                row["optimizers"][opt] = {
                    "edp_ratio_rs": spread([s["edp_ratio_rs"] for s in recs]),
                    "edp_ratio": spread([s["edp_ratio"] for s in recs]),
                    "n": len(recs),
                    "curve_vs_rs": curve_summary([best_so_far(s["history"], s["baseline_rs_edp"]) for s in recs]),
                }
        bounds = [s["bound_edp"] / s["baseline_rs_edp"] for s in mine if s.get("bound_edp")]
        if bounds:
            row["bound_vs_rs"] = spread(bounds)
        rnd = {s["seed"]: s for s in mine if s["optimizer"] == "random" and s["best_edp"] is not None}
        reach = [first_reaching(s["history"], rnd[s["seed"]]["best_edp"]) for s in mine
                 if s["optimizer"] == "bo" and s["seed"] in rnd]
        if reach:
            vals = [x if x is not None else float("inf") for x in reach]
            row["bo_points_to_reach_random_best"] = {"per_seed": reach, "median": statistics.median(vals),
                                                     "ci90_median": median_ci(vals)}
        if any(s["best_edp"] is not None for s in mine):  # how far each bo seed ends from the best found
            row["bo_vs_best_found"] = bo_vs_best_found(mine)
        if w in PAPER_EDP_CHANGE:
            target = 1 + PAPER_EDP_CHANGE[w]
            row["paper"] = {"edp_ratio": target,
                            "met_by": sorted(o for o, r in row["optimizers"].items()
                                             if r["edp_ratio_rs"]["median"] <= target)}
        summary[w] = row
    return summary


def table(summary: dict) -> str:
    """The acceptance table: per workload and optimizer, EDP ratio vs the RS-mapped eyeriss-256 (median
    [min–max]), the bound, and the paper's figure."""
    opts = list(dict.fromkeys(o for row in summary.values() for o in row["optimizers"]))
    head = ["workload", *opts, "bound", "paper"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for w, row in summary.items():
        cells = [w]
        for o in opts:
            r = row["optimizers"].get(o)
            cells.append("—" if r is None else "{median:.3f} [{min:.3f}–{max:.3f}]".format(**r["edp_ratio_rs"]))
        cells.append("{median:.3f}".format(**row["bound_vs_rs"]) if "bound_vs_rs" in row else "—")
        cells.append(f"{row['paper']['edp_ratio']:.2f}" if "paper" in row else "—")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> dict:
    space = load_hw_space(args.hw_space)
    mapper, mapper_budget = ("bo", NESTED_MAPPER_BUDGET) if args.nested else ("auto", args.mapper_budget)
    out: dict = {"settings": {**vars(args), "mapper": mapper, "mapper_budget": mapper_budget}, "studies": []}
    path = Path(args.out)
    for w, _net, opt, seed, cd, start in protocol_studies(args, space, "paper.db", mapper=mapper,
                                                          mapper_budget=mapper_budget):
        r = cd.run()
        out["studies"].append({
            "workload": w, "optimizer": opt, "seed": seed, "edp_ratio": r.edp_ratio,
            "edp_ratio_rs": r.edp_ratio_rs, "best_edp": r.best.edp if r.best else None,
            "best_arch": r.best.arch if r.best else None, "baseline_edp": r.baseline.edp,
            "baseline_rs_edp": r.baseline_rs.edp, "bound_edp": (r.bound or {}).get("edp"),
            "area_budget_mm2": cd.area_budget, "history": [h["value"] for h in r.history],
            "seconds": time.perf_counter() - start})
        path.write_text(json.dumps(out, indent=1))
    out["summary"] = summarize(out["studies"])
    path.write_text(json.dumps(out, indent=1))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workloads", default="resnet18,dqn,mlp,transformer")
    ap.add_argument("--optimizers", default="bo,vanilla-bo,random,ga")
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--hw-budget", type=int, default=50)
    ap.add_argument("--hw-batch", type=int, default=5)
    ap.add_argument("--mapper-budget", type=int, default=5000, help="auto's evaluations per layer (not --nested)")
    ap.add_argument("--nested", action="store_true", help="the paper's nested BO: --mapper bo, 100 evaluations")
    ap.add_argument("--hw-space", default="paper")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--out", default="paper_setting.json")
    ap.add_argument("--summary-of", metavar="FILE", nargs="+", help="only summarise the studies of earlier --out files")
    args = ap.parse_args()
    if args.summary_of:
        out = {"summary": summarize(load_studies(args.summary_of))}
    else:
        out = run(args)
    print(table(out["summary"]))
    print(json.dumps({"summary": out["summary"]}))


if __name__ == "__main__":
    main()
