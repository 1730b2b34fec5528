"""Inner-mapper accuracy on the designs co-design actually picks: the gap of ``auto`` at a small budget
to a 100,000-evaluation reference, per layer of every ``bo`` winner in a ``benchmarks/codesign.py``
output (and of eyeriss-168), over several seeds.

Each (design, layer) is mapped at ``--budget`` with seeds ``seed + unit_seed(study seed, design,
layer)`` for ``seed`` in ``range(--seeds)`` (seed 0 is what the study itself ran), and once at
100,000 evaluations (seed 12345; cached in ``--refs``). Gap = EDP / min(reference, EDP) − 1. Extra
``auto`` settings (e.g. ``--setting '{"probe": 64, "restart_pool": 200}'``) compare variants on the
same cases. Prints one JSON object: mean, 90th/99th percentile and max of the gaps, the share above
2%, and the mapping seconds.

    python benchmarks/inner_mapper_winners.py --studies codesign_bench.json [--workloads resnet18,transformer,dqn]
        [--budget 5000] [--seeds 4] [--setting JSON] [--refs refs.json] [--jobs 2]
"""

from __future__ import annotations

import argparse
import json
import time
from multiprocessing import Pool
from pathlib import Path

import numpy as np

import cosearch
from cosearch.arch.hwspace import load_hw_space
from cosearch.arch.templates.eyeriss import EYERISS_168
from cosearch.codesign.driver import unit_arch, unit_seed
from cosearch.errors import CosearchError
from cosearch.mappers.layer import map_layer

REF_BUDGET, REF_SEED = 100_000, 12345


def cases(studies_file: str, workloads: list[str]) -> list[tuple[str, int, dict]]:
    """(workload, study seed, design values): every bo winner, then eyeriss-168 per workload."""
    studies = json.loads(Path(studies_file).read_text())["studies"]
    out = [(s["workload"], s["seed"], s["best_arch"]) for s in studies
           if s["optimizer"] == "bo" and s["workload"] in workloads and s.get("best_arch")]
    return out + [(w, -1, dict(EYERISS_168)) for w in workloads]


def _map(task: tuple) -> tuple:
    key, workload, values, layer_index, budget, seed, setting = task
    space = load_hw_space("eyeriss-like")
    arch = unit_arch({"template": space.template, "values": values, "estimator": space.estimator,
                      "dram_bandwidth": space.dram_bandwidth})
    layer = cosearch.load_workload(workload).layers[layer_index]
    t = time.perf_counter()
    try:
        edp = map_layer(arch, layer, optimizer="auto", budget=budget, seed=seed, **setting).edp
    except CosearchError:
        edp = None
    return key, edp, time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--studies", required=True, help="a benchmarks/codesign.py --out file")
    ap.add_argument("--workloads", default="resnet18,transformer,dqn")
    ap.add_argument("--budget", type=int, default=5000)
    ap.add_argument("--seeds", type=int, default=4)
    ap.add_argument("--setting", default="{}", help="extra AutoMapper keyword arguments, as JSON")
    ap.add_argument("--refs", default="inner_mapper_refs.json", help="cache of the reference EDPs")
    ap.add_argument("--jobs", type=int, default=2)
    args = ap.parse_args()
    setting = json.loads(args.setting)
    todo = cases(args.studies, args.workloads.split(","))
    jobs = [(ci, li) for ci, (w, _s, _v) in enumerate(todo) for li in range(len(cosearch.load_workload(w).layers))]
    refs_path = Path(args.refs)
    refs = json.loads(refs_path.read_text()) if refs_path.exists() else {}
    with Pool(args.jobs) as pool:
        missing = [(f"{todo[ci][0]}|{json.dumps(todo[ci][2], sort_keys=True)}|{li}", todo[ci][0], todo[ci][2], li,
                    REF_BUDGET, REF_SEED, {}) for ci, li in jobs]
        missing = [t for t in missing if t[0] not in refs]
        for key, edp, _ in pool.map(_map, missing, chunksize=1):
            refs[key] = edp
        refs_path.write_text(json.dumps(refs))
        tasks = []
        for ci, li in jobs:
            w, study_seed, values = todo[ci]
            layer = cosearch.load_workload(w).layers[li]
            base = unit_seed(max(study_seed, 0), values, layer)
            key = f"{w}|{json.dumps(values, sort_keys=True)}|{li}"
            tasks += [(key, w, values, li, args.budget, s + base, setting) for s in range(args.seeds)]
        start = time.perf_counter()
        results = pool.map(_map, tasks, chunksize=4)
        wall = time.perf_counter() - start
    gaps = np.array([edp / min(refs[key], edp) - 1 for key, edp, _ in results
                     if edp is not None and refs.get(key) is not None])
    print(json.dumps({
        "budget": args.budget, "setting": setting, "cases": len(todo), "layer_runs": int(gaps.size),
        "gap_mean": float(gaps.mean()), "gap_p90": float(np.quantile(gaps, 0.9)),
        "gap_p99": float(np.quantile(gaps, 0.99)), "gap_max": float(gaps.max()),
        "share_above_2pct": float((gaps > 0.02).mean()),
        "mapping_seconds": float(sum(s for _, _, s in results)), "wall_seconds": wall,
    }))


if __name__ == "__main__":
    main()
