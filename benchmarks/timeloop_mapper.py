"""``auto`` against Timeloop's own mapper on the reference cases whose mapping came from
``timeloop-mapper``: EDP found within min(1 s, 0.1 × Timeloop's mapper wall time), per case.

Prints one JSON object: cases, how many ``auto`` matched or beat, the EDP ratios (auto / Timeloop).

    python benchmarks/timeloop_mapper.py [--reference ../shared/reference/timeloop/cases.jsonl] [--seed 0]
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

import cosearch
from cosearch.arch.io import arch_from_reference
from cosearch.mappers.layer import map_layer

DEFAULT = Path(__file__).resolve().parents[1].parent / "shared" / "reference" / "timeloop" / "cases.jsonl"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reference", default=str(DEFAULT))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--optimizer", default="auto")
    args = ap.parse_args()
    records = [json.loads(line) for line in Path(args.reference).read_text().splitlines() if line.strip()]
    cases = [r for r in records if r["mapping"]["source"].startswith("timeloop-mapper") and "mapper_wall_s" in r]
    # compile the model and warm caches outside the timed searches
    map_layer(arch_from_reference(cases[0]["arch"]), cosearch.Layer(K=4, C=4, P=4), optimizer=args.optimizer,
              budget=300)
    rows = []
    for r in cases:
        limit = min(1.0, 0.1 * r["mapper_wall_s"])
        res = map_layer(arch_from_reference(r["arch"]), cosearch.Layer(**r["layer"]), optimizer=args.optimizer,
                        time_limit=limit, seed=args.seed)
        rows.append({"id": r["id"], "time_limit_s": limit, "evaluations": res.evaluations,
                     "edp_ratio": res.edp / r["expected"]["edp_pJ_cycles"]})
    ratios = [x["edp_ratio"] for x in rows]
    print(json.dumps({"cases": len(rows), "optimizer": args.optimizer,
                      "at_most_timeloop": sum(x <= 1 for x in ratios), "median_ratio": statistics.median(ratios),
                      "max_ratio": max(ratios), "min_ratio": min(ratios), "per_case": rows}))


if __name__ == "__main__":
    main()
