"""Record the JSON a fixed set of CLI runs prints and writes, to compare two versions of cosearch.

Runs ``cosearch map`` (every mapper), ``cosearch codesign`` (every hardware optimizer; ``edp`` and
``pareto``), ``cosearch study export`` (JSON and CSV) and ``cosearch report --json`` with small budgets
and fixed seeds, in a scratch directory, and writes one normalised JSON file per output to ``OUT``:
the ``--json`` line of each command, and every ``.json``/``.csv``/``.yaml`` file the command wrote.
Timing fields (``seconds``, wall times, timestamps) and the scratch directory's path are blanked, so
two versions that behave the same write byte-identical files.

    python benchmarks/golden_outputs.py record OUT          # e.g. before a refactor
    python benchmarks/golden_outputs.py compare OLD NEW     # prints {"same": [...], "differ": [...]}

The commands run in one process through Typer's test runner (the console script's entry point), so
the whole set takes about two minutes on two cores.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import re
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

# key names whose values are timings or clock times (blanked before comparing)
TIMING_KEYS = re.compile(
    r"(^|[._])(seconds|worker_id|holder|wall_s|wall|elapsed|elapsed_s|time_s|created|started|finished|updated|heartbeat"
    r"|timestamp|datetime|date|started_at|finished_at|created_at|updated_at|heartbeat_at|duration"
    r"|duration_s|eta)$|_at$|_time$")
BLANK = "<blank>"

# (name, argv) pairs; {tmp} is the scratch directory. Budgets are small so the set runs quickly.
LAYER = "K=32 C=16 P=14 Q=14 R=3 S=3"
COMMANDS: list[tuple[str, list[str]]] = [
    ("map-dqn-auto", ["map", "--arch", "eyeriss-168", "--workload", "dqn", "--budget", "1500",
                      "--seed", "3", "--json", "--out", "map-dqn-auto"]),
    ("map-dqn-auto-rs", ["map", "--arch", "eyeriss-168", "--workload", "dqn", "--budget", "1500",
                         "--dataflow", "row-stationary", "--seed", "1", "--json", "--no-report",
                         "--out", "map-dqn-rs"]),
    *[(f"map-shape-{opt}", ["map", "--arch", "simple-64", "--shape", LAYER, "--optimizer", opt,
                            "--budget", budget, "--seed", "5", "--json", "--no-report",
                            "--out", f"map-shape-{opt}"])
      for opt, budget in [("auto", "2000"), ("random", "800"), ("ga", "800"), ("sa", "800"),
                          ("bo", "150"), ("vanilla-bo", "120")]],
    *[(f"codesign-{opt}", ["codesign", "--workload", "dqn", "--optimizer", opt, "--hw-budget", "6",
                           "--hw-batch", "3", "--mapper-budget", "300", "--seed", "2", "--json",
                           "--out", f"cd-{opt}", "--study", f"cd-{opt}"])
      for opt in ["bo", "random", "ga", "vanilla-bo"]],
    ("codesign-bo-pareto", ["codesign", "--workload", "mlp", "--optimizer", "bo", "--objective", "pareto",
                            "--hw-budget", "6", "--hw-batch", "3", "--mapper-budget", "300", "--seed", "4",
                            "--json", "--out", "cd-pareto", "--study", "cd-pareto"]),
    ("codesign-ga-pareto", ["codesign", "--workload", "mlp", "--optimizer", "ga", "--objective", "pareto",
                            "--hw-budget", "6", "--hw-batch", "3", "--mapper-budget", "300", "--seed", "4",
                            "--json", "--no-report", "--out", "cd-ga-pareto", "--study", "cd-ga-pareto"]),
    ("codesign-simple-random", ["codesign", "--workload", "mlp,dqn", "--hw-space", "simple",
                                "--optimizer", "random", "--hw-budget", "4", "--hw-batch", "2",
                                "--mapper-budget", "300", "--seed", "7", "--json", "--no-report",
                                "--out", "cd-simple", "--study", "cd-simple"]),
    # past the hardware BO's warm-up (10 points), so its GP, acquisition and feasibility model run
    *[(f"codesign-{label}-gp", ["codesign", "--workload", "dqn", "--optimizer", opt, "--objective", objective,
                                "--hw-budget", "16", "--hw-batch", "4", "--mapper-budget", "200", "--seed", "3",
                                "--json", "--no-report", "--out", f"cd-{label}-gp", "--study", f"cd-{label}-gp"])
      for label, opt, objective in [("bo", "bo", "edp"), ("vanilla-bo", "vanilla-bo", "edp"),
                                    ("bo-pareto", "bo", "pareto")]],
    ("study-list", ["study", "list", "--storage", "sqlite:///cd-bo/studies.db", "--json"]),
    ("study-show", ["study", "show", "cd-bo", "--storage", "sqlite:///cd-bo/studies.db", "--json"]),
    ("study-export-json", ["study", "export", "cd-bo", "--storage", "sqlite:///cd-bo/studies.db",
                           "--out", "export/cd-bo.json"]),
    ("study-export-csv", ["study", "export", "cd-bo", "--storage", "sqlite:///cd-bo/studies.db",
                          "--format", "csv", "--out", "export/cd-bo.csv"]),
    ("report-study", ["report", "cd-ga", "--storage", "sqlite:///cd-ga/studies.db", "--out", "rep-study",
                      "--json"]),
    ("report-dirs", ["report", "cd-random", "map-dqn-auto", "--out", "rep-dirs", "--json"]),
    ("report-pareto", ["report", "cd-pareto", "--out", "rep-pareto", "--json"]),
]


def blank_timing(value: Any, tmp: str) -> Any:
    """``value`` with timing fields blanked and the scratch path replaced (recursively)."""
    if isinstance(value, dict):
        return {k: (BLANK if TIMING_KEYS.search(str(k)) else blank_timing(v, tmp)) for k, v in value.items()}
    if isinstance(value, list):
        return [blank_timing(v, tmp) for v in value]
    if isinstance(value, str):
        return value.replace(tmp, "<tmp>")
    return value


def normalise_csv(text: str, tmp: str) -> str:
    rows = list(csv.reader(io.StringIO(text)))
    if not rows:
        return ""
    header = rows[0]
    timing = {i for i, h in enumerate(header) if TIMING_KEYS.search(h)}
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(header)
    for r in rows[1:]:
        w.writerow([BLANK if i in timing else c.replace(tmp, "<tmp>") for i, c in enumerate(r)])
    return out.getvalue()


def normalise_file(path: Path, tmp: str) -> str:
    text = path.read_text()
    if path.suffix == ".json":
        return json.dumps(blank_timing(json.loads(text), tmp), indent=1, sort_keys=True)
    if path.suffix == ".csv":
        return normalise_csv(text, tmp)
    return text.replace(tmp, "<tmp>")


def record(out: Path) -> None:
    from typer.testing import CliRunner

    from cosearch.cli import app

    out.mkdir(parents=True, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix="cosearch-golden-")
    cwd = os.getcwd()
    os.chdir(tmp)
    runner = CliRunner()
    try:
        for name, argv in COMMANDS:
            before = {p for p in Path(".").rglob("*") if p.is_file()}
            res = runner.invoke(app, argv, catch_exceptions=False)
            if res.exit_code != 0:
                raise SystemExit(f"{name}: exit {res.exit_code}\n{res.output[-2000:]}")
            lines = [ln for ln in res.stdout.splitlines() if ln.startswith(("{", "["))]
            if "--json" in argv:
                (out / f"{name}.stdout.json").write_text(
                    json.dumps(blank_timing(json.loads(lines[-1]), tmp), indent=1, sort_keys=True))
            written = sorted(p for p in Path(".").rglob("*") if p.is_file() and p not in before
                             and p.suffix in (".json", ".csv", ".yaml"))
            for p in written:
                dest = out / name / p
                dest.parent.mkdir(parents=True, exist_ok=True)
                dest.write_text(normalise_file(p, tmp))
            print(f"{name}: {len(written)} files", file=sys.stderr)
    finally:
        os.chdir(cwd)
        shutil.rmtree(tmp, ignore_errors=True)


def compare(old: Path, new: Path) -> dict:
    files_old = {p.relative_to(old) for p in old.rglob("*") if p.is_file()}
    files_new = {p.relative_to(new) for p in new.rglob("*") if p.is_file()}
    same, differ = [], []
    for rel in sorted(files_old & files_new):
        (same if (old / rel).read_bytes() == (new / rel).read_bytes() else differ).append(str(rel))
    return {"same": len(same), "differ": differ,
            "only_old": sorted(map(str, files_old - files_new)),
            "only_new": sorted(map(str, files_new - files_old))}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("record")
    r.add_argument("out", type=Path)
    c = sub.add_parser("compare")
    c.add_argument("old", type=Path)
    c.add_argument("new", type=Path)
    args = ap.parse_args()
    if args.cmd == "record":
        record(args.out.resolve())
    else:
        result = compare(args.old, args.new)
        print(json.dumps(result))
        sys.exit(0 if not (result["differ"] or result["only_old"] or result["only_new"]) else 1)


if __name__ == "__main__":
    main()
