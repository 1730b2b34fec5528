"""Co-design across templates, precisions, technology nodes and DRAM at equal area (issue #14).

For each workload and each named configuration (a built-in hardware space with fixed ``precision``,
``technology``, ``dram`` and ``dram_gbps``; :data:`CONFIGS`), one ``bo`` study searches the space within
the same area budget in mm² (default: eyeriss-168's area at 65 nm, 16-bit, 12.31 mm²). Reported per
(workload, configuration): the best design's energy (mJ, dynamic + SRAM leakage), latency (ms), average
power (mW), area (mm²) and throughput (inferences/s); its EDP ratio to the template's reference design
(same node, precision and DRAM: the study's own baseline) and to the common base reference
(eyeriss-168 at 65 nm, int16, LPDDR4); the space's EDP lower bound (``cosearch.codesign.bounds``) as a
ratio to the reference, and the best design's gap to it, with a flag for the goal of being within 10%.

A node of 22 nm at the same mm² holds far more hardware than 65 nm (the eyeriss-like grid caps the
mesh at 32 x 32 and the GLB at 1 MiB): that is what an equal-area comparison asks.

Prints one JSON object on stdout and a readable table on stderr. ``--out DIR`` receives one run
directory per study (``runs/<workload>/<config>``: ``results.json``, ``studies.db``, best design and
mappings; ``cosearch report DIR1 DIR2 ...`` compares them), the JSON as ``codesign_world.json``, and per
workload the energy–latency figure (every evaluated point, one colour per configuration, each one's
non-dominated front as a step line) as ``energy_latency-<workload>.png`` and ``.svg``. An existing
``--out`` is resumed: finished studies are read back, not run again (same options required).

    python benchmarks/codesign_world.py [--workloads resnet50,bert-base,llama3-8b:phase=decode,kv_len=1024]
        [--configs base,int8,22nm,hbm2,systolic,vector-pe] [--hw-budget 24] [--mapper-budget 1500]
        [--jobs 2] [--seed 0] [--area-budget MM2] [--out codesign_world_out] [--report]
    python benchmarks/codesign_world.py --quick        # a small smoke run (about a minute)
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cosearch
from cosearch.arch.hwspace import HW_SPACES, load_hw_space
from cosearch.codesign.budget import eyeriss168_area
from cosearch.codesign.driver import Codesign, CodesignResult
from cosearch.codesign.outputs import STUDIES_FILE, safe_file_name
from cosearch.errors import CosearchError
from cosearch.study.executor import LocalExecutor
from cosearch.workload.io import split_workload_list

GOAL = 1.10
"""The goal of issue #14: the best design's EDP within 10% of its space's lower bound."""
HBM2_GBPS = 256.0
"""HBM2 bandwidth of the ``hbm2`` configuration: one HBM2 stack (1024-bit interface at 2 Gb/s per pin,
JEDEC JESD235A), against LPDDR4's 6.4 GB/s default (16 words/cycle at 200 MHz, one x16 channel)."""


@dataclass(frozen=True)
class Config:
    """One compared configuration: a built-in hardware space and its fixed physical settings
    (:meth:`cosearch.arch.hwspace.HWSpace.with_physical`; ``None``: the space's own)."""

    key: str
    space: str
    label: str
    settings: dict[str, Any] = field(default_factory=dict)

    def hw_space(self):
        return load_hw_space(self.space).with_physical(**self.settings)


CONFIGS: list[Config] = [
    Config("base", "eyeriss-like", "eyeriss-like int16 65nm LPDDR4"),
    Config("int8", "eyeriss-like", "eyeriss-like int8", {"precision": "int8"}),
    Config("22nm", "eyeriss-like", "eyeriss-like 22nm", {"technology": "22nm"}),
    Config("hbm2", "eyeriss-like", f"eyeriss-like HBM2 {HBM2_GBPS:g} GB/s", {"dram": "HBM2", "dram_gbps": HBM2_GBPS}),
    Config("systolic", "systolic", "systolic int16 65nm LPDDR4"),
    Config("vector-pe", "vector-pe", "vector-pe int16 65nm LPDDR4"),
]
"""The configurations, the first the common base. A space not registered (``HW_SPACES``) is skipped
with a message, so a template added later slots in by name."""
BASE = CONFIGS[0].key

DEFAULT_WORKLOADS = "resnet50,bert-base,llama3-8b:phase=decode,kv_len=1024,batch=1"
QUICK = {"workloads": "mlp,gpt2:phase=decode,kv_len=128", "hw_budget": 5, "hw_batch": 5, "mapper_budget": 150}


def workload_key(name: str) -> str:
    """A short file-name form of a workload name (``llama3-8b:phase=decode,...`` -> ``llama3-8b_phase_decode...``)."""
    return safe_file_name(name.replace(":", "_").replace("=", "_").replace(",", "_"))


def design_fields(summary: Any) -> dict[str, Any] | None:
    """A design summary (:class:`~cosearch.codesign.records.DesignSummary`) in the units reported:
    energy mJ (dynamic + leakage) and its dynamic part, latency ms, power mW, area mm², throughput
    (inferences/s), EDP in mJ·ms (with leakage) and in pJ·cycles (the cost model's, dynamic)."""
    if summary is None or summary.physical is None:
        return None
    ph = summary.physical
    return {"arch": summary.arch, "energy_mj": ph["total_energy_mj"], "dynamic_energy_mj": summary.energy_pj * 1e-9,
            "latency_ms": ph["latency_ms"], "power_mw": ph["power_mw"], "area_mm2": summary.area_mm2,
            "throughput_ips": ph["throughput_ips"], "edp_mj_ms": ph["total_energy_mj"] * ph["latency_ms"],
            "edp": summary.edp, "clock_mhz": ph["clock_mhz"], "technology": ph.get("technology"),
            "scaled": ph.get("scaled"), "dram": ph.get("dram"), "dram_gbps": ph.get("dram_gbps"),
            **({"trial": summary.trial} if summary.trial is not None else {})}


def study_record(cd: Codesign, r: CodesignResult, cfg: Config, workload: str, seconds: float,
                 run_dir: Path) -> dict[str, Any]:
    """What the benchmark reports of one finished study (before the ratios to the base reference)."""
    best, ref = design_fields(r.best), design_fields(r.baseline)
    clock = cd.space.effective_clock_mhz
    bound = None
    if r.bound is not None:
        bound = {**r.bound, "dynamic_energy_mj": r.bound["energy_pj"] * 1e-9,
                 "latency_ms": r.bound["cycles"] / (clock * 1e6) * 1e3}
    gap = best["edp"] / r.bound["edp"] if best is not None and r.bound else None
    return {
        "workload": workload, "config": cfg.key, "label": cfg.label, "space": cfg.space,
        "template": cd.space.template, "settings": cfg.settings, "status": "ok",
        "area_budget_mm2": cd.area_budget, "reference_name": cd.baseline.label, "best": best, "reference": ref,
        "edp_ratio": r.edp_ratio, "edp_ratio_mj_ms": best["edp_mj_ms"] / ref["edp_mj_ms"] if best and ref else None,
        "bound": bound, "edp_ratio_bound": r.edp_ratio_bound, "bound_gap": gap,
        "within_goal": gap is not None and gap <= GOAL, "trials": r.trials, "seconds": seconds,
        "run_dir": str(run_dir),
    }


def run_study(args: argparse.Namespace, cfg: Config, workload: str, net: cosearch.Network, area_budget: float,
              executor: Any, out: Path) -> dict[str, Any]:
    run_dir = out / "runs" / workload_key(workload) / cfg.key
    run_dir.mkdir(parents=True, exist_ok=True)
    t = time.perf_counter()
    cd = Codesign([net], hw_space=cfg.hw_space(), area_budget_mm2=area_budget, optimizer="bo",
                  hw_budget=args.hw_budget, hw_batch=args.hw_batch, mapper_budget=args.mapper_budget,
                  seed=args.seed, storage=f"sqlite:///{(run_dir / STUDIES_FILE).absolute()}",
                  study=f"{workload_key(workload)}-{cfg.key}", resume=True, executor=executor)
    r = cd.run(run_dir)
    return study_record(cd, r, cfg, workload, time.perf_counter() - t, run_dir)


def add_base_ratios(records: list[dict[str, Any]]) -> None:
    """``edp_ratio_base``: each best design's EDP (mJ·ms, with leakage) over the common base reference's
    (eyeriss-168, 65 nm, int16, LPDDR4: the ``base`` configuration's reference) on the same workload;
    ``None`` when the base configuration was not run."""
    base = {r["workload"]: r["reference"] for r in records if r["config"] == BASE and r.get("reference")}
    for r in records:
        if r["status"] != "ok":
            continue
        ref = base.get(r["workload"])
        r["edp_ratio_base"] = r["best"]["edp_mj_ms"] / ref["edp_mj_ms"] if r["best"] and ref else None
        r["reference_vs_base"] = r["reference"]["edp_mj_ms"] / ref["edp_mj_ms"] if r["reference"] and ref else None


def goal_summary(records: list[dict[str, Any]]) -> dict[str, Any]:
    """Per configuration: the best/bound gap on each workload and whether every one is within the goal."""
    out: dict[str, Any] = {}
    for r in records:
        if r["status"] != "ok":
            out.setdefault(r["config"], {"status": r["status"], "reason": r.get("reason")})
            continue
        row = out.setdefault(r["config"], {"label": r["label"], "gaps": {}, "within_goal": {}})
        row["gaps"][r["workload"]] = r["bound_gap"]
        row["within_goal"][r["workload"]] = r["within_goal"]
    for row in out.values():
        if "within_goal" in row:
            row["all_within_goal"] = all(row["within_goal"].values())
    return out


def figures(records: list[dict[str, Any]], out: Path, area_budget: float, report: bool) -> dict[str, Any]:
    """Per workload, the energy–latency figure of its studies (PNG and SVG in ``out``) and, with
    ``report``, the full ``cosearch report`` of them (``report-<workload>/``)."""
    from cosearch.report.build import build_report
    from cosearch.report.figures import energy_latency_figure, save_matplotlib
    from cosearch.report.sources import open_store, study_source

    files: dict[str, Any] = {}
    for w in dict.fromkeys(r["workload"] for r in records if r["status"] == "ok"):
        mine = [r for r in records if r["workload"] == w and r["status"] == "ok" and r["best"]]
        sources = []
        for r in mine:
            run_dir = Path(r["run_dir"])
            store = open_store(f"sqlite:///{(run_dir / STUDIES_FILE).absolute()}")
            sources.append(study_source(store, f"{workload_key(w)}-{r['config']}",
                                        results_path=run_dir / "results.json", label=r["label"]))
        bounds = {r["label"]: (r["bound"]["latency_ms"], r["bound"]["dynamic_energy_mj"]) for r in mine if r["bound"]}
        spec = energy_latency_figure(sources, bounds=bounds,
                                     title=f"{w}\nenergy vs latency at {area_budget:.2f} mm², one front per configuration")
        entry: dict[str, Any] = {}
        if spec is not None:
            stem = out / f"energy_latency-{workload_key(w)}"
            save_matplotlib(spec, stem.with_suffix(".png"), stem.with_suffix(".svg"))
            entry = {"png": str(stem.with_suffix(".png")), "svg": str(stem.with_suffix(".svg"))}
        if report and len(sources) > 1:
            entry["report"] = str(build_report(sources, out / f"report-{workload_key(w)}",
                                               title=f"codesign_world: {w}").html)
        files[w] = entry
    return files


def fmt(x: Any, spec: str = ".4g") -> str:
    return "-" if x is None else format(x, spec) if isinstance(x, (int, float)) else str(x)


def print_table(records: list[dict[str, Any]], area_budget: float) -> None:
    """The readable table (stderr)."""
    err = sys.stderr
    print(f"\nequal area budget {area_budget:.3f} mm²; energy = dynamic + SRAM leakage; EDP ratios in mJ·ms "
          "(ref: the template's reference at the same node/precision/DRAM; base: eyeriss-168 65nm int16 LPDDR4); "
          f"bound and best/bound in pJ·cycles (dynamic); goal best/bound <= {GOAL:.2f}", file=err)
    head = ("workload", "config", "E mJ", "lat ms", "P mW", "mm²", "inf/s", "EDP/ref", "EDP/base", "bound/ref",
            "best/bound", "goal")
    rows = [head]
    for r in records:
        if r["status"] != "ok":
            rows.append((r["workload"], r["config"], "skipped: " + str(r.get("reason")), *[""] * (len(head) - 3)))
            continue
        b = r["best"] or {}
        rows.append((r["workload"], r["config"], fmt(b.get("energy_mj")), fmt(b.get("latency_ms")),
                     fmt(b.get("power_mw")), fmt(b.get("area_mm2"), ".2f"), fmt(b.get("throughput_ips")),
                     fmt(r["edp_ratio_mj_ms"], ".3f"), fmt(r.get("edp_ratio_base"), ".3g"),
                     fmt(r["edp_ratio_bound"], ".3f"), fmt(r["bound_gap"], ".3f"),
                     "yes" if r["within_goal"] else "no"))
    widths = [max(len(str(row[i])) for row in rows if not str(row[2]).startswith("skipped") or i < 2)
              for i in range(len(head))]
    for row in rows:
        if str(row[2]).startswith("skipped"):
            print(f"{row[0]:<{widths[0]}}  {row[1]:<{widths[1]}}  {row[2]}", file=err)
        else:
            print("  ".join(f"{str(c):<{w}}" if i < 2 else f"{str(c):>{w}}" for i, (c, w) in enumerate(zip(row, widths))),
                  file=err)


def select_configs(text: str | None) -> list[Config]:
    if not text:
        return list(CONFIGS)
    keys = [k.strip() for k in text.split(",") if k.strip()]
    known = {c.key: c for c in CONFIGS}
    bad = [k for k in keys if k not in known]
    if bad:
        raise CosearchError(f"--configs: unknown {', '.join(bad)} (choose from {', '.join(known)})")
    return [known[k] for k in keys]


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workloads", default=None, help=f"comma-separated zoo names (default {DEFAULT_WORKLOADS})")
    ap.add_argument("--configs", default=None, help=f"subset of {', '.join(c.key for c in CONFIGS)}")
    ap.add_argument("--hw-budget", type=int, default=None, help="HW points per study (default 24)")
    ap.add_argument("--hw-batch", type=int, default=None, help="proposals per batch (default 4)")
    ap.add_argument("--mapper-budget", type=int, default=None, help="evaluations per layer (default 1500)")
    ap.add_argument("--area-budget", type=float, default=None,
                    help="mm² for every configuration (default eyeriss-168's at 65 nm, 16-bit)")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default="codesign_world_out")
    ap.add_argument("--report", action="store_true", help="also a full cosearch report per workload")
    ap.add_argument("--no-figures", dest="figures", action="store_false")
    ap.add_argument("--quick", action="store_true", help=f"small smoke run: {QUICK}")
    args = ap.parse_args(argv)
    defaults = QUICK if args.quick else {"workloads": DEFAULT_WORKLOADS, "hw_budget": 24, "hw_batch": 4,
                                         "mapper_budget": 1500}
    for k, v in defaults.items():
        if getattr(args, k) is None:
            setattr(args, k, v)
    configs = select_configs(args.configs)
    workloads = split_workload_list(args.workloads)
    area_budget = args.area_budget if args.area_budget is not None else eyeriss168_area(load_hw_space("eyeriss-like"))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    records: list[dict[str, Any]] = []
    with LocalExecutor(args.jobs) as ex:
        for w in workloads:
            net = cosearch.load_workload(w)
            for cfg in configs:
                if cfg.space not in HW_SPACES:
                    reason = (f"hardware space {cfg.space!r} is not registered (built-in spaces: "
                              f"{', '.join(HW_SPACES)})")
                    print(f"codesign_world: skipping {cfg.key} on {w}: {reason}", file=sys.stderr)
                    records.append({"workload": w, "config": cfg.key, "label": cfg.label, "space": cfg.space,
                                    "status": "skipped", "reason": reason})
                    continue
                rec = run_study(args, cfg, w, net, area_budget, ex, out)
                print(f"codesign_world: {w} / {cfg.key}: best/bound {fmt(rec['bound_gap'], '.3f')}, "
                      f"{rec['seconds']:.0f} s", file=sys.stderr)
                records.append(rec)
    add_base_ratios(records)
    result: dict[str, Any] = {
        "settings": {k: v for k, v in vars(args).items()}, "area_budget_mm2": area_budget, "goal": GOAL,
        "configs": [{"key": c.key, "space": c.space, "label": c.label, "settings": c.settings} for c in configs],
        "results": records, "summary": goal_summary(records),
        "seconds": time.perf_counter() - start,
    }
    if args.figures:
        result["figures"] = figures(records, out, area_budget, args.report)
    (out / "codesign_world.json").write_text(json.dumps(result, indent=1))
    print_table(records, area_budget)
    return result


if __name__ == "__main__":
    try:
        res = main()
    except CosearchError as e:
        print(f"error: {e}", file=sys.stderr)
        raise SystemExit(2) from None
    print(json.dumps(res, allow_nan=False))
