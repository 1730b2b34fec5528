"""Inner-loop accuracy of ``auto``: how far a small co-design budget lands from a 20x larger one.

Maps every unique layer of a network on eyeriss-168 and on random points of the eyeriss-like
hardware space, at ``--budget`` evaluations (two seeds) and at ``--ref-factor`` × that (reference),
and prints one JSON object: the per-layer gap (EDP / reference EDP − 1: mean, 90th percentile, max)
and, per architecture, the change of network EDP when every layer is re-mapped with 10× the budget.

    python benchmarks/inner_mapper.py [--workload resnet18] [--budget 5000] [--points 6] [--ref-factor 20]
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

import cosearch
from cosearch.arch.hwspace import load_hw_space
from cosearch.errors import CosearchError
from cosearch.mappers.layer import map_layer


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workload", default="resnet18")
    ap.add_argument("--budget", type=int, default=5000)
    ap.add_argument("--points", type=int, default=6, help="random eyeriss-like HW points besides eyeriss-168")
    ap.add_argument("--ref-factor", type=int, default=20)
    args = ap.parse_args()

    net = cosearch.load_workload(args.workload)
    space = load_hw_space("eyeriss-like")
    archs = [cosearch.load_arch("eyeriss-168")] + [
        space.arch(p) for p in space.random_points(args.points, np.random.default_rng(1))]
    start = time.perf_counter()
    gaps: list[float] = []
    per_arch = []
    for arch in archs:
        small = {7: [0.0, 0.0], 8: [0.0, 0.0]}  # seed -> [energy, cycles] network totals
        remap = [0.0, 0.0]
        try:
            for layer in net.layers:
                ref = map_layer(arch, layer, budget=args.ref_factor * args.budget, seed=12345)
                best_ref = ref.edp
                for seed, tot in small.items():
                    r = map_layer(arch, layer, budget=args.budget, seed=seed)
                    tot[0] += r.energy_pj * layer.count
                    tot[1] += r.cycles * layer.count
                    best_ref = min(best_ref, r.edp)
                    gaps.append(r.edp)
                gaps[-2:] = [g / best_ref - 1 for g in gaps[-2:]]
                r10 = map_layer(arch, layer, budget=10 * args.budget, seed=4242)
                remap[0] += r10.energy_pj * layer.count
                remap[1] += r10.cycles * layer.count
        except CosearchError:  # some layer has no valid mapping on this point
            continue
        e, c = small[7]
        per_arch.append({"arch": arch.name, "network_edp": e * c, "remap_10x_change": remap[0] * remap[1] / (e * c) - 1})
    g = np.array(gaps)
    print(json.dumps({
        "workload": args.workload, "budget": args.budget, "reference_budget": args.ref_factor * args.budget,
        "layer_gap": {"mean": float(g.mean()), "p90": float(np.quantile(g, 0.9)), "max": float(g.max()),
                      "share_above_2pct": float((g > 0.02).mean()), "n": int(g.size)},
        "max_abs_remap_10x_change": max(abs(a["remap_10x_change"]) for a in per_arch),
        "archs": per_arch, "seconds": time.perf_counter() - start,
    }))


if __name__ == "__main__":
    main()
