"""Physical units of a design's run: latency (s), throughput (inferences/s), energy (µJ, mJ), average
power (mW) and area (mm²), from its cycles and pJ, its clock and its SRAM leakage.

* **clock**: ``Arch.clock_mhz``, or :data:`DEFAULT_CLOCK_MHZ` (200 MHz, Eyeriss v1's nominal clock,
  the one ``dram_bandwidth: 16`` words/cycle = 6.4 GB/s was stated at) when none is given;
  ``clock_limit_mhz`` is what the slowest SRAM bank allows (:func:`~cosearch.arch.estimator.clock_limit_mhz`).
* **latency** = cycles / clock; **throughput** = 1 / latency (one inference = one pass over the
  workload as defined, batch included).
* **static energy** = SRAM leakage power (:func:`~cosearch.arch.estimator.leakage_mw`) × latency;
  **total energy** = the model's dynamic energy (``energy_pj``, unchanged) + static energy;
  **average power** = total energy / latency.

``energy_pj``, ``cycles`` and ``edp`` elsewhere stay the dynamic energy and cycles of the cost model.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .dram import get_dram, words_per_cycle_to_gbps
from .estimator import ESTIMATORS, clock_limit_mhz, dram_type_pj_per_bit, leakage_mw, level_bandwidth
from .spec import Arch
from .technology import SCALING_SOURCE, node_label, scale_factors

DEFAULT_CLOCK_MHZ = 200.0
"""The clock of a design that names none (MHz)."""


def clock_of(arch: Arch) -> float:
    """``arch``'s clock in MHz (:data:`DEFAULT_CLOCK_MHZ` if it names none)."""
    return DEFAULT_CLOCK_MHZ if arch.clock_mhz is None else float(arch.clock_mhz)


def run_units(energy_pj: float, cycles: float, clock_mhz: float, leak_mw: float) -> dict[str, float]:
    """One run of ``cycles`` cycles and ``energy_pj`` pJ of dynamic energy at ``clock_mhz`` with
    ``leak_mw`` mW of leakage: latency (s, ms), throughput (1/s), dynamic/static/total energy (µJ; total
    also in mJ), average power (mW). A run of 0 cycles has no throughput or power (``None``-free: 0)."""
    latency = cycles / (clock_mhz * 1e6)
    static_pj = leak_mw * 1e-3 * latency * 1e12
    total_pj = energy_pj + static_pj
    return {
        "latency_s": latency,
        "latency_ms": latency * 1e3,
        "throughput_ips": 1.0 / latency if latency > 0 else 0.0,
        "energy_uj": energy_pj * 1e-6,
        "static_energy_uj": static_pj * 1e-6,
        "total_energy_uj": total_pj * 1e-6,
        "total_energy_mj": total_pj * 1e-9,
        "power_mw": total_pj * 1e-12 / latency * 1e3 if latency > 0 else 0.0,
    }


def edp_js(units: Mapping[str, float]) -> float:
    """EDP in J·s of a run in physical units (:func:`run_units`): total energy (dynamic + leakage) ×
    latency."""
    return units["total_energy_uj"] * 1e-6 * units["latency_s"]


def technology_info(arch: Arch) -> dict[str, Any]:
    """Where ``arch``'s numbers come from: node (``None`` for ``table``), whether it is scaled (and how),
    DRAM type, its pJ/bit and bandwidth in GB/s (``None``: unlimited), clock (given or default), the SRAM
    clock limit and SRAM leakage."""
    est = ESTIMATORS.get(arch.estimator)
    node = est.node if est is not None else None
    dram = get_dram(arch.dram)
    limit, level = clock_limit_mhz(arch)
    dram_level = next((lvl for lvl in arch.levels if lvl.technology == "DRAM" or lvl.size_words is None), None)
    words = level_bandwidth(dram_level) if dram_level is not None else None
    bits = dram_level.access_width if dram_level is not None else 16
    info: dict[str, Any] = {
        "estimator": arch.estimator,
        "technology": node_label(node) if node is not None else None,
        "scaled": bool(est is not None and est.scaled),
        # a table arch's DRAM energy is as written, not a DRAM type's
        "dram": dram.name if node is not None else arch.dram,
        "dram_pj_per_bit": dram_type_pj_per_bit(dram.name) if node is not None else None,
        "dram_derived": dram.derived and node is not None,
        "dram_gbps": words_per_cycle_to_gbps(words, clock_of(arch), bits) if words is not None else None,
        "clock_mhz": clock_of(arch),
        "clock_default": arch.clock_mhz is None,
        "clock_limit_mhz": limit,
        "clock_limit_level": level,
        "leakage_mw": leakage_mw(arch),
    }
    if info["scaled"]:
        f = scale_factors(node)  # type: ignore[arg-type]
        info["scaling"] = {"source": SCALING_SOURCE, "energy": f.energy, "delay": f.delay, "area": f.area,
                           "interpolated": f.interpolated}
    return info


def arch_run_units(arch: Arch, energy_pj: float, cycles: float) -> dict[str, Any]:
    """One run on ``arch`` (``energy_pj`` dynamic pJ, ``cycles``) in physical units, with
    :func:`technology_info` and ``area_mm2``: the ``physical`` object of ``cosearch eval --json``."""
    return {**technology_info(arch), "area_mm2": arch.area_mm2,
            **run_units(energy_pj, cycles, clock_of(arch), leakage_mw(arch))}


def design_units(arch: Arch, energy_pj: Mapping[str, float], cycles: Mapping[str, float]) -> dict[str, Any]:
    """The ``physical`` object of a design in co-design outputs: :func:`arch_run_units` of all workloads
    run once each (their sums), and ``per_workload`` :func:`run_units`."""
    clock, leak = clock_of(arch), leakage_mw(arch)
    per = {w: run_units(energy_pj[w], cycles[w], clock, leak) for w in energy_pj}
    return {**arch_run_units(arch, sum(energy_pj.values()), sum(cycles.values())), "per_workload": per}
