"""How long the report of a small co-design study takes to build (issue #7: under 10 s for 5 trials).

Runs a tiny study first (``cosearch codesign --workload dqn --hw-budget 5 --mapper-budget 200
--no-report``), then times ``cosearch report STUDY --storage URL`` twice:

* ``cli_seconds``: the whole command in a fresh process (Python start-up, imports, the cost model's
  compiled kernel loaded from its cache, data, figures, files), as a user runs it;
* ``build_seconds``: :func:`cosearch.report.build.report_from_args` in this process after a warm-up
  build, i.e. what ``cosearch codesign`` adds at the end of a run.

Prints one JSON object.

    python benchmarks/report_speed.py [--hw-budget 5] [--mapper-budget 200] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

LIMIT_S = 10.0


def cosearch(*args: str) -> subprocess.CompletedProcess:
    """Run the ``cosearch`` CLI of this Python in a fresh process (raises if it fails)."""
    cmd = [sys.executable, "-c", "from cosearch.cli import main; main()", *args]
    return subprocess.run(cmd, check=True, capture_output=True, text=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hw-budget", type=int, default=5)
    parser.add_argument("--mapper-budget", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    from cosearch.report.build import report_from_args

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "study"
        study = "report-speed"
        url = f"sqlite:///{out / 'studies.db'}"
        t = time.perf_counter()
        cosearch("codesign", "--workload", "dqn", "--hw-budget", str(args.hw_budget), "--hw-batch",
                 str(args.hw_budget), "--mapper-budget", str(args.mapper_budget), "--study", study,
                 "--out", str(out), "--no-report", "--json")
        study_seconds = time.perf_counter() - t

        cli = []
        for k in range(args.repeats):
            t = time.perf_counter()
            cosearch("report", study, "--storage", url, "--out", str(Path(tmp) / f"cli{k}"))
            cli.append(time.perf_counter() - t)

        report_from_args([study], storage=url, out=Path(tmp) / "warm")  # warm-up: imports, compiled kernel
        builds = []
        for k in range(args.repeats):
            t = time.perf_counter()
            res = report_from_args([study], storage=url, out=Path(tmp) / f"lib{k}")
            builds.append(time.perf_counter() - t)
        manifest = json.loads((res.out_dir / "report.json").read_text())
        html_bytes = res.html.stat().st_size

    worst = max(cli + builds)
    print(json.dumps({
        "trials": args.hw_budget, "mapper_budget": args.mapper_budget, "study_seconds": round(study_seconds, 2),
        "cli_seconds": [round(x, 3) for x in cli], "cli_median_seconds": round(statistics.median(cli), 3),
        "build_seconds": [round(x, 3) for x in builds], "build_median_seconds": round(statistics.median(builds), 3),
        "limit_seconds": LIMIT_S, "within_limit": worst < LIMIT_S, "figures": len(manifest["figures"]),
        "tables": len(manifest["tables"]), "html_bytes": html_bytes,
        "baselines": manifest["sources"][0].get("baselines"),
    }))


if __name__ == "__main__":
    main()
