"""The fuzz harness at scale (issue #19): N malformed and extreme inputs through the library entry
points and a sample of command lines; prints one JSON object of counts per input kind.

Each kind of :data:`cosearch.fuzz.strategies.KINDS` gets an equal share of the library inputs; the
command-line sample (``--cli``, default N/20) runs in-process (Typer's ``CliRunner``) and is counted
as kind ``cli``, and also per what it fuzzes under ``cli_inputs``. Per kind: ``inputs``, ``valid``
results (finite, non-negative costs), ``clean_errors`` (one-line ``CosearchError``; CLI: one
``error:`` line, exit 2), ``unexpected`` (any other exception or exit, the first few messages in
``first_unexpected``) and ``non_finite`` (a NaN, infinite or negative cost, in ``first_non_finite``).
The counts are a function of ``--n``, ``--cli`` and ``--seed``; ``seconds`` are timings. Exits 1 if
any input ended unexpected or non-finite. Needs Hypothesis (``pip install -e ".[test]"``).

    python benchmarks/fuzz.py --n 10000 [--cli 200] [--seed 0] [--kinds arch,onnx]
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from cosearch.fuzz.harness import Tally, fuzz_kind
from cosearch.fuzz.strategies import KINDS


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000, help="inputs in all, command lines included")
    parser.add_argument("--cli", type=int, default=None, help="command lines among them (default n/20)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--kinds", default=",".join(KINDS), help="library input kinds, comma-separated")
    args = parser.parse_args()
    kinds = [k for k in args.kinds.split(",") if k]
    unknown = sorted(set(kinds) - set(KINDS))
    if unknown:
        parser.error(f"unknown kinds {', '.join(unknown)} (choose from {', '.join(KINDS)})")
    n_cli = args.n // 20 if args.cli is None else args.cli
    n_lib = max(args.n - n_cli, 0)
    shares = {k: n_lib // len(kinds) + (i < n_lib % len(kinds)) for i, k in enumerate(kinds)} if kinds else {}

    tally, by_input, seconds = Tally(), Tally(), {}
    start = time.perf_counter()
    for kind, n in shares.items():
        t0 = time.perf_counter()
        if n:
            fuzz_kind(kind, n, args.seed, lambda case, outcome: tally.add(case.kind, outcome))
        seconds[kind] = round(time.perf_counter() - t0, 2)
    if n_cli:
        t0 = time.perf_counter()

        def count_cli(case, outcome) -> None:
            tally.add("cli", outcome)
            by_input.add(case.args["input"], outcome)

        fuzz_kind("cli", n_cli, args.seed, count_cli)
        seconds["cli"] = round(time.perf_counter() - t0, 2)
    report = {"n": args.n, "seed": args.seed, **tally.to_json(),
              "cli_inputs": {k: {key: v[key] for key in ("inputs", "valid", "clean_errors", "unexpected", "non_finite")}
                             for k, v in by_input.to_json()["kinds"].items()},
              "seconds": {"total": round(time.perf_counter() - start, 2), **seconds}}
    print(json.dumps(report))
    totals = report["totals"]
    return 1 if totals["unexpected"] or totals["non_finite"] else 0


if __name__ == "__main__":
    sys.exit(main())
