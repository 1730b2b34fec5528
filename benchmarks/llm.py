"""LLaMA-3-8B prefill and decode mapped on eyeriss-168 and a 32×32 simple array (issue #16).

Maps every unique layer of ``llama3-8b:phase=prefill,seq=2048``, ``llama3-8b:phase=decode,kv_len=2048``
(batch 1) and the same decode at batch 16 with :func:`cosearch.mappers.network.map_network` (what
``cosearch map`` runs), and prints one JSON object with, per run: wall time, network energy, cycles,
utilisation, the share of the energy spent in DRAM, the DRAM words moved per MAC, the DRAM bandwidth
(words/cycle) the mapping needs to run at its cycle count, and per-token energy and cycles.

The presets give DRAM no bandwidth limit, so cycles are set by the PEs and on-chip buffers; a phase
is *DRAM-bound* in energy when DRAM dominates its energy (``dram_share`` > 0.5), and
``required_dram_bandwidth`` says what bandwidth a real memory would need to keep up. With
``--dram-bandwidth W`` both arches get a DRAM of W words/cycle (the hardware spaces use 16), so the
cycles show it too: ``dram_bandwidth_use`` = ``required_dram_bandwidth`` ÷ W is 1.0 when every layer
waits for DRAM (bandwidth-bound throughout), less when the PEs or buffers set the pace.

    python benchmarks/llm.py [--budget 50000] [--jobs 2] [--seed 0] [--dram-bandwidth W] [--out llm_bench.json]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from cosearch import load_arch, load_workload
from cosearch.arch.spec import Arch
from cosearch.mappers.network import map_network
from cosearch.mapping.mapping import Mappings
from cosearch.model.evaluate import evaluate

WORKLOADS = (
    "llama3-8b:phase=prefill,seq=2048",
    "llama3-8b:phase=decode,kv_len=2048,batch=1",
    "llama3-8b:phase=decode,kv_len=2048,batch=16",
)


def simple_32x32() -> Arch:
    """simple-64 (T1 energies, unified 64-word RF per PE) with a 32 × 32 PE array and a 512 KB GLB."""
    data = load_arch("simple-64").model_dump(mode="json", exclude_none=True)
    data["name"] = "simple-32x32"
    glb, rf = data["levels"][1], data["levels"][2]
    glb["size_words"] = 262144
    rf.update(instances=1024, mesh_x=32, mesh_y=32)
    data["mac"].update(instances=1024, mesh_x=32, mesh_y=32)
    return Arch.model_validate(data)


def with_dram_bandwidth(arch: Arch, words_per_cycle: float | None) -> Arch:
    """``arch`` with its DRAM (outermost level) limited to ``words_per_cycle`` (None: unchanged)."""
    if words_per_cycle is None:
        return arch
    data = arch.model_dump(mode="json", exclude_none=True)
    data["name"] = f"{arch.name}-dram{words_per_cycle:g}"
    data["levels"][0]["bandwidth"] = {"shared": words_per_cycle}
    return Arch.model_validate(data)


def dram_words(arch: Arch, layer, mapping) -> int:
    """Words read from and written to the outermost level by ``mapping`` (one layer instance)."""
    costs = evaluate(arch, layer, Mappings.from_list([mapping], arch), breakdown=True)
    return int(costs.reads[0, 0].sum() + costs.updates[0, 0].sum())


def run_one(arch: Arch, workload: str, budget: int, jobs: int, seed: int, bandwidth: float | None) -> dict:
    net = load_workload(workload)
    start = time.perf_counter()
    run = map_network(arch, net, budget=budget, jobs=jobs, seed=seed)
    seconds = time.perf_counter() - start
    total = run.totals
    phase_name, phase = next(iter(run.phase_totals.items()))
    words = sum(r.count * dram_words(arch, net.layer(r.name), r.mapping) for r in run.layers)
    return {
        "arch": arch.name, "workload": workload, "phase": phase_name, "seconds": round(seconds, 2),
        "energy_pj": total["energy_pj"], "cycles": total["cycles"], "utilization": total["utilization"],
        "dram_share": phase["dram_share"], "dram_words_per_mac": words / total["macs"],
        "required_dram_bandwidth": words / total["cycles"], "dram_bound": phase["dram_share"] > 0.5,
        "dram_bandwidth_use": words / total["cycles"] / bandwidth if bandwidth else None,
        "tokens": phase["tokens"], "energy_per_token_pj": phase["per_token"]["energy_pj"],
        "cycles_per_token": phase["per_token"]["cycles"], "macs": total["macs"],
        "layers": [{"name": r.name, "count": r.count, "utilization": r.utilization,
                    "dram_share": r.dram_energy_pj / r.energy_pj} for r in run.layers],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--budget", type=int, default=50_000, help="mapper evaluations per layer (cosearch map's default)")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--dram-bandwidth", type=float, default=None, help="DRAM words/cycle (default: unlimited)")
    parser.add_argument("--out", type=Path, default=None, help="also write the JSON here")
    args = parser.parse_args()
    start = time.perf_counter()
    arches = [with_dram_bandwidth(a, args.dram_bandwidth) for a in (load_arch("eyeriss-168"), simple_32x32())]
    runs = [run_one(arch, w, args.budget, args.jobs, args.seed, args.dram_bandwidth) for arch in arches for w in WORKLOADS]
    result = {"budget": args.budget, "jobs": args.jobs, "seed": args.seed, "dram_bandwidth": args.dram_bandwidth,
              "runs": runs, "seconds": round(time.perf_counter() - start, 1)}
    text = json.dumps(result)
    if args.out is not None:
        args.out.write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
