"""Mapper quality: each optimizer's best EDP on six layers of eyeriss-168, at equal evaluations and
at equal wall time, over several seeds; and ``auto``'s gap to a long multi-start best per layer.

Prints one JSON object (also written to ``--out``, updated after every run so partial results are
never lost). Full protocol (issue #4): ``--seeds 10 --evals 1000 --seconds 10 --auto-seconds 30
--long-minutes 30``; smaller settings give a quicker, noisier picture.

    python benchmarks/mapper_quality.py [--seeds 10] [--evals 1000] [--seconds 10] \
        [--auto-seconds 30] [--long-minutes 30] [--optimizers random,ga,sa,bo,vanilla-bo,auto] \
        [--layers ...] [--jobs 2] [--out mapper_quality.json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import cosearch
from cosearch.errors import CosearchError
from cosearch.mappers.layer import map_layer

LAYERS = {
    "resnet18_conv1": dict(K=64, C=3, P=112, Q=112, R=7, S=7, Wstride=2, Hstride=2),
    "resnet18_conv3x3_64": dict(K=64, C=64, P=56, Q=56, R=3, S=3),
    "resnet18_conv3x3_s2_128_256": dict(K=256, C=128, P=14, Q=14, R=3, S=3, Wstride=2, Hstride=2),
    "dqn_conv1": dict(K=32, C=4, P=20, Q=20, R=8, S=8, Wstride=4, Hstride=4),
    "dqn_conv2": dict(K=64, C=32, P=9, Q=9, R=4, S=4, Wstride=2, Hstride=2),
    "bert_ffn1_768_3072": dict(K=3072, C=768, P=128),
}
ARCH = "eyeriss-168"


def run_one(task: tuple) -> dict:
    """One search: (layer name, optimizer, seed, budget or None, seconds or None)."""
    name, opt, seed, budget, seconds = task
    arch = cosearch.load_arch(ARCH)
    layer = cosearch.Layer(name=name, **LAYERS[name])
    t = time.perf_counter()
    try:
        res = map_layer(arch, layer, optimizer=opt, budget=budget, time_limit=seconds, seed=seed)
    except CosearchError as err:  # e.g. vanilla-bo found no valid mapping: a result (EDP = inf)
        return {"layer": name, "optimizer": opt, "seed": seed, "budget": budget, "seconds_limit": seconds,
                "edp": float("inf"), "evaluations": budget, "seconds": time.perf_counter() - t, "error": str(err)}
    return {"layer": name, "optimizer": opt, "seed": seed, "budget": budget, "seconds_limit": seconds,
            "edp": res.edp, "evaluations": res.evaluations, "seconds": time.perf_counter() - t}


def long_best(task: tuple) -> dict:
    """Multi-start best: ``auto`` restarted with new seeds until ``minutes`` have passed."""
    name, minutes, chunk = task
    arch = cosearch.load_arch(ARCH)
    layer = cosearch.Layer(name=name, **LAYERS[name])
    best, seed, evals, end = float("inf"), 10_000, 0, time.perf_counter() + 60 * minutes
    while time.perf_counter() < end:
        res = map_layer(arch, layer, optimizer="auto", time_limit=min(chunk, max(end - time.perf_counter(), 1)),
                        seed=seed)
        best, seed, evals = min(best, res.edp), seed + 1, evals + res.evaluations
    return {"layer": name, "edp": best, "restarts": seed - 10_000, "evaluations": evals, "minutes": minutes}


def summarize(values: list[float]) -> dict:
    values = sorted(values)
    return {"median": statistics.median(values), "min": values[0], "max": values[-1], "n": len(values)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--evals", type=int, default=1000)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--time-seeds", type=int, default=None, help="seeds for the equal-time runs (default --seeds)")
    ap.add_argument("--auto-seconds", type=float, default=30.0)
    ap.add_argument("--long-minutes", type=float, default=30.0)
    ap.add_argument("--long-chunk", type=float, default=60.0, help="seconds per restart of the long run")
    ap.add_argument("--optimizers", default="random,ga,sa,bo,vanilla-bo,auto")
    ap.add_argument("--layers", default=",".join(LAYERS))
    ap.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1))
    ap.add_argument("--out", default="mapper_quality.json")
    ap.add_argument("--runs-from", action="append", default=[],
                    help="reuse the runs (and long bests) of earlier outputs instead of running them again")
    args = ap.parse_args()
    opts = args.optimizers.split(",")
    layers = args.layers.split(",")
    out: dict = {"arch": ARCH, "settings": vars(args), "runs": [], "long_best": {}}
    path = Path(args.out)

    def save() -> None:
        path.write_text(json.dumps(out, indent=1))

    for prev in args.runs_from:
        old = json.loads(Path(prev).read_text())
        out["runs"].extend(old.get("runs", []))
        out["long_best"].update(old.get("long_best", {}))
    have = {(r["layer"], r["optimizer"], r["seed"], r["budget"], r["seconds_limit"]) for r in out["runs"]}
    time_seeds = args.seeds if args.time_seeds is None else args.time_seeds
    tasks = [(l, o, s, args.evals, None) for l in layers for o in opts for s in range(args.seeds)]
    if args.seconds > 0:
        tasks += [(l, o, s, None, args.seconds) for l in layers for o in opts for s in range(time_seeds)]
    if args.auto_seconds > 0:
        tasks += [(l, "auto", 100 + s, None, args.auto_seconds) for l in layers for s in range(time_seeds)]
    tasks = [t for t in tasks if t not in have]
    with ProcessPoolExecutor(args.jobs) as pool:
        for r in pool.map(run_one, tasks):
            out["runs"].append(r)
            save()
        if args.long_minutes > 0:
            todo = [(l, args.long_minutes, args.long_chunk) for l in layers if l not in out["long_best"]]
            for r in pool.map(long_best, todo):
                out["long_best"][r["layer"]] = r
                save()

    table: dict = {}
    for l in layers:
        row: dict = {}
        for o in opts:
            at_evals = [r["edp"] for r in out["runs"] if r["layer"] == l and r["optimizer"] == o and r["budget"] == args.evals]
            at_time = [r["edp"] for r in out["runs"] if r["layer"] == l and r["optimizer"] == o
                       and r["seconds_limit"] == args.seconds and r["seed"] < 100]
            row[o] = {"at_evals": summarize(at_evals) if at_evals else None,
                      "at_time": summarize(at_time) if at_time else None}
        auto30 = [r["edp"] for r in out["runs"] if r["layer"] == l and r["optimizer"] == "auto" and r["seed"] >= 100]
        best = out["long_best"].get(l, {}).get("edp")
        if auto30:
            row["auto_long"] = summarize(auto30)
            if best:
                ref = min(best, min(auto30))
                row["auto_gap_to_long_best"] = {"median": statistics.median(auto30) / ref - 1,
                                                "max": max(auto30) / ref - 1, "long_best_edp": ref}
        if "bo" in opts:
            others = [o for o in ("random", "ga", "vanilla-bo") if o in opts]
            med = lambda o: row[o]["at_evals"]["median"]  # noqa: E731
            row["bo_beats_at_evals"] = {o: med("bo") < med(o) for o in others}
        table[l] = row
    out["summary"] = table
    if "bo" in opts:
        out["bo_wins_layers"] = sum(all(t["bo_beats_at_evals"].values()) for t in table.values())
    save()
    print(json.dumps({"summary": table, "bo_wins_layers": out.get("bo_wins_layers")}))


if __name__ == "__main__":
    main()
