"""Scale-out speed-up: one ResNet-18 co-design run with one worker, with ``--jobs 2`` (a local process
pool) and with ``--executor ray --jobs 2`` (a local Ray instance with 2 CPUs), each as a fresh
``cosearch codesign`` process, as a user would run it.

Prints one JSON object: per configuration the wall time of the whole command (start-up, imports, pool
or Ray start, JIT warm-up, the baselines and the trials) and the ``seconds`` the command reports (its
co-design run, after set-up); the speed-ups over one worker on both; and whether all configurations
found the same best design and trials (they must: results do not depend on the executor).

    python benchmarks/scale_out.py [--hw-budget 6] [--hw-batch 6] [--mapper-budget 20000] [--seed 0]
        [--repeats 1] [--out scale_out.json]

Defaults: 6 hardware points proposed in one batch, so each worker has 6 × 12 trial units plus the
2 × 12 baseline units to share. At 20,000 mapper evaluations per unit, one worker needs about 40 s
on this project's 2-core machine. Timings on a shared machine are noisy: use ``--repeats`` (the
median is reported) and look at ``cpus_available``, the CPUs two busy processes actually got just
before and after the runs: the speed-up cannot exceed it.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CONFIGS = {
    "one_worker": ["--jobs", "1"],
    "jobs_2": ["--jobs", "2"],
    "ray_2cpus": ["--executor", "ray", "--jobs", "2"],
}


def _spin(seconds: float) -> float:
    start, cpu = time.perf_counter(), time.process_time()
    while time.perf_counter() - start < seconds:
        pass
    return time.process_time() - cpu


def cpus_available(seconds: float = 2.0) -> float:
    """CPUs this benchmark actually gets now: CPU seconds that two busy processes obtain per wall-clock
    second (2.0 on an idle 2-core machine; less when other work shares the cores)."""
    import multiprocessing

    with multiprocessing.get_context("spawn").Pool(2) as pool:
        start = time.perf_counter()
        cpu = sum(pool.map(_spin, [seconds, seconds]))
        return round(cpu / (time.perf_counter() - start), 2)


def run_once(name: str, extra: list[str], args: argparse.Namespace, root: Path) -> dict:
    out = root / f"{name}-{time.monotonic_ns()}"
    cmd = [sys.executable, "-c", "from cosearch.cli import main; main()", "codesign", "--workload", "resnet18",
           "--optimizer", "bo", "--hw-budget", str(args.hw_budget), "--hw-batch", str(args.hw_batch),
           "--mapper-budget", str(args.mapper_budget), "--seed", str(args.seed), "--out", str(out),
           "--json", "--no-report", *extra]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if proc.returncode != 0:
        raise SystemExit(f"{name} failed (exit {proc.returncode}):\n{proc.stderr[-3000:]}")
    data = json.loads(proc.stdout.strip().splitlines()[-1])
    history = json.loads((out / "results.json").read_text()).get("history")
    return {"wall_s": wall, "run_s": float(data["seconds"]), "cpu_s": cpu, "best_edp": data["best"]["edp"],
            "best_trial": data["best"]["trial"], "history": history}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hw-budget", type=int, default=6)
    parser.add_argument("--hw-batch", type=int, default=6)
    parser.add_argument("--mapper-budget", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=1, help="runs per configuration (median reported)")
    parser.add_argument("--configs", default=",".join(CONFIGS), help="comma-separated subset of " + ", ".join(CONFIGS))
    parser.add_argument("--out", type=Path, default=None, help="also write the JSON here")
    args = parser.parse_args()
    names = [n.strip() for n in args.configs.split(",") if n.strip()]
    unknown = [n for n in names if n not in CONFIGS]
    if unknown or "one_worker" not in names:
        raise SystemExit(f"--configs: unknown {unknown} or missing one_worker (choose from {', '.join(CONFIGS)})")

    load_before = os.getloadavg()
    available_before = cpus_available()
    runs: dict[str, list[dict]] = {n: [] for n in names}
    with tempfile.TemporaryDirectory(prefix="cosearch-scale-out-") as tmp:
        for _ in range(args.repeats):
            for name in names:  # interleaved, so slow drifts in machine load hit every configuration
                runs[name].append(run_once(name, CONFIGS[name], args, Path(tmp)))

    summary = {}
    for name, rs in runs.items():
        summary[name] = {"wall_s": round(statistics.median(r["wall_s"] for r in rs), 2),
                         "run_s": round(statistics.median(r["run_s"] for r in rs), 2),
                         "cpu_s": round(statistics.median(r["cpu_s"] for r in rs), 2),
                         "all_wall_s": [round(r["wall_s"], 2) for r in rs]}
    base = summary["one_worker"]
    speedup = {name: {"wall": round(base["wall_s"] / s["wall_s"], 3), "run": round(base["run_s"] / s["run_s"], 3)}
               for name, s in summary.items() if name != "one_worker"}
    reference = runs["one_worker"][0]
    matches = {name: [(r["best_edp"], r["best_trial"], r["history"]) ==
                      (reference["best_edp"], reference["best_trial"], reference["history"]) for r in rs]
               for name, rs in runs.items()}
    same = all(all(m) for m in matches.values())
    doc = {
        "benchmark": "scale_out", "workload": "resnet18", "optimizer": "bo", "hw_budget": args.hw_budget,
        "hw_batch": args.hw_batch, "mapper_budget": args.mapper_budget, "seed": args.seed,
        "repeats": args.repeats, "cpus": os.cpu_count(), "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
        "cpus_available_before": available_before, "cpus_available_after": cpus_available(),
        "configs": summary, "speedup_over_one_worker": speedup, "same_result": same,
        "matches_first_run": matches,
        "note": "wall: the whole command (start-up, pool or Ray start, JIT warm-up included); run: the "
                "co-design run it reports; cpu: user+sys seconds of the command and the processes it waited "
                "for (Ray's workers are not counted). cpus_available: CPU seconds two busy processes got "
                "per second (2 on an idle 2-core machine). The ideal speed-up is min(2, cpus_available).",
    }
    text = json.dumps(doc)
    if args.out is not None:
        args.out.write_text(json.dumps(doc, indent=1) + "\n")
    print(text)


if __name__ == "__main__":
    main()
