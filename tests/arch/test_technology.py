"""Technology nodes, DRAM types, leakage, the clock limit and physical units: the scaled nodes follow
Stillmaker & Baas 2017, the 45 nm tables are checked against Horowitz (ISSCC 2014), Eyeriss-168 keeps
its 12.25 mm² at 65 nm, and bad input is a one-line CosearchError."""

from __future__ import annotations

import math

import pytest

from cosearch.arch.dram import DRAM_TYPES, gbps_to_words_per_cycle, get_dram, words_per_cycle_to_gbps
from cosearch.arch.estimator import (
    ESTIMATORS,
    apply_estimator,
    clock_limit_mhz,
    dram_type_pj_per_bit,
    leakage_mw,
    mac_cost,
    pe_overhead_mm2,
    sram_cost,
)
from cosearch.arch.hwspace import HWSpace, load_hw_space
from cosearch.arch.io import load_arch
from cosearch.arch.physical import DEFAULT_CLOCK_MHZ, design_units, run_units
from cosearch.arch.technology import SCALED_NODES, parse_node, scale_factors
from cosearch.errors import CosearchError

SHRINKING = (45, 32, 28, 22, 16, 14, 10, 7)


def _poly_energy(a: float, b: float, c: float, v: float = 0.8) -> float:
    return a * v * v + b * v + c


# ---- Stillmaker & Baas scaling -------------------------------------------------------------------------
def test_scale_factors_are_the_published_fits_at_0v8():
    """Energy = ratio of the paper's HP energy polynomials at 0.8 V; area = its table's row 45 nm."""
    hp45 = _poly_energy(1.018, -0.3107, 0.1539)
    assert scale_factors(7).energy == pytest.approx(_poly_energy(0.1776, -0.09097, 0.02447) / hp45)
    assert scale_factors(32).energy == pytest.approx(_poly_energy(0.8367, -0.4341, 0.1701) / hp45)
    published_area = {32: 0.46, 16: 0.19, 14: 0.17, 10: 0.1, 7: 0.059}
    for node, area in published_area.items():
        assert scale_factors(node).area == area
        assert not scale_factors(node).interpolated


def test_28_and_22_nm_interpolate_between_32_and_20_nm():
    f32, f28, f22, f16 = (scale_factors(n) for n in (32, 28, 22, 16))
    assert f28.interpolated and f22.interpolated
    assert f32.area > f28.area > f22.area > 0.21  # 0.21: the paper's 20 nm area factor
    assert f32.energy > f28.energy > f22.energy > f16.energy
    assert f28.area == pytest.approx(0.21 + (28 - 20) / 12 * (0.46 - 0.21))


@pytest.mark.parametrize("size_bytes", [64, 4096, 262144])
def test_scaled_energies_and_areas_shrink_monotonically_from_45_to_7_nm(size_bytes):
    srams = [sram_cost(n, 64, size_bytes) for n in SHRINKING]
    macs = [mac_cost(n, 16, 16) for n in SHRINKING]
    for quantity in ("read_pj", "write_pj", "area_mm2", "leak_mw"):
        values = [getattr(c, quantity) for c in srams]
        assert all(a > b for a, b in zip(values, values[1:])), (quantity, values)
    for i in (0, 1):
        values = [m[i] for m in macs]
        assert all(a > b for a, b in zip(values, values[1:])), values
    overheads = [pe_overhead_mm2(n) for n in SHRINKING]
    assert all(a > b for a, b in zip(overheads, overheads[1:]))
    # and each scaled number is exactly the 45 nm one times the node's factors
    for node, c in zip(SHRINKING, srams):
        f = scale_factors(node)
        assert c.read_pj == pytest.approx(srams[0].read_pj * f.energy)
        assert c.area_mm2 == pytest.approx(srams[0].area_mm2 * f.area)
        assert c.access_ns == pytest.approx(srams[0].access_ns * f.delay)


def test_every_scaled_estimator_is_registered_and_marked_scaled():
    for node in SCALED_NODES:
        est = ESTIMATORS[f"cacti-{node}nm"]
        assert est.scaled and est.node == node and "Stillmaker" in est.description
    assert not ESTIMATORS["cacti-45nm"].scaled and not ESTIMATORS["cacti-65nm"].scaled


def test_eyeriss_168_area_is_unchanged_at_65_nm_and_shrinks_when_scaled():
    arch = load_arch("eyeriss-168")
    assert apply_estimator(arch, "cacti-65nm").area_mm2 == pytest.approx(12.25, abs=0.01)
    areas = [apply_estimator(arch, f"cacti-{n}nm").area_mm2 for n in SHRINKING]
    assert all(a > b for a, b in zip(areas, areas[1:]))


# ---- Horowitz, "Computing's energy problem", ISSCC 2014 (45 nm) -----------------------------------------
HOROWITZ_SRAM_64B_READ_PJ = {8 * 1024: 10.0, 32 * 1024: 20.0, 1024 * 1024: 100.0}
HOROWITZ_INT8_MAC_PJ = 0.2 + 0.03  # 8-bit multiply + 8-bit add


@pytest.mark.parametrize("size_bytes", sorted(HOROWITZ_SRAM_64B_READ_PJ))
def test_45nm_sram_read_is_within_2x_of_horowitz(size_bytes):
    ratio = sram_cost(45, 64, size_bytes).read_pj / HOROWITZ_SRAM_64B_READ_PJ[size_bytes]
    assert 0.5 <= ratio <= 2.0, ratio


def test_45nm_int8_mac_is_within_5x_of_horowitz():
    """The tables' Aladdin 8-bit MAC (16-bit adder) costs 1.03 pJ, 4.5x Horowitz's 0.23 pJ; the tables
    have no floating-point MACs, so FP16/FP32 cannot be checked (docs/estimator.md)."""
    ratio = mac_cost(45, 8, 16)[0] / HOROWITZ_INT8_MAC_PJ
    assert 1.0 <= ratio <= 5.0, ratio


# ---- DRAM, leakage, clock ---------------------------------------------------------------------------------
def test_dram_types_energy_per_bit():
    assert dram_type_pj_per_bit("LPDDR4") == 8.0
    assert dram_type_pj_per_bit("hbm2") == 6.25
    assert dram_type_pj_per_bit("DDR3") == 70.0
    assert dram_type_pj_per_bit("DDR4") == pytest.approx(70.0 * (1.2 / 1.5) ** 2)
    assert get_dram("ddr4").derived and not get_dram("HBM2").derived
    assert set(DRAM_TYPES) == {"LPDDR4", "DDR3", "DDR4", "HBM2"}
    arch = load_arch("eyeriss-168").model_copy(update={"dram": "HBM2"})
    assert apply_estimator(arch, "cacti-65nm").levels[0].energy_pj.read == 6.25 * 16


def test_gbps_conversion_round_trips():
    words = gbps_to_words_per_cycle(6.4, 200, 16)
    assert words == pytest.approx(16.0)
    assert words_per_cycle_to_gbps(words, 200, 16) == pytest.approx(6.4)


def test_leakage_and_clock_limit_of_eyeriss_168():
    costed = apply_estimator(load_arch("eyeriss-168"), "cacti-65nm")
    assert leakage_mw(costed) > 0
    limit, level = clock_limit_mhz(costed)
    assert level == "GLB" and DEFAULT_CLOCK_MHZ < limit < 1000  # the 108 KB GLB is the slowest bank
    assert leakage_mw(load_arch("eyeriss-168")) == 0 and clock_limit_mhz(load_arch("eyeriss-168")) == (None, None)


def test_clock_above_the_sram_limit_is_an_error():
    fast = load_arch("eyeriss-168").model_copy(update={"clock_mhz": 5000.0})
    with pytest.raises(CosearchError, match="above the SRAM limit"):
        apply_estimator(fast, "cacti-65nm")
    slow = load_arch("eyeriss-168").model_copy(update={"clock_mhz": 100.0})
    assert apply_estimator(slow, "cacti-65nm").clock_mhz == 100.0


def test_physical_units_follow_cycles_clock_and_leakage():
    u = run_units(energy_pj=2e6, cycles=4e5, clock_mhz=200.0, leak_mw=10.0)
    assert u["latency_s"] == pytest.approx(2e-3) and u["latency_ms"] == pytest.approx(2.0)
    assert u["throughput_ips"] == pytest.approx(500.0)
    assert u["static_energy_uj"] == pytest.approx(10e-3 * 2e-3 * 1e6)  # 10 mW for 2 ms = 20 µJ
    assert u["total_energy_uj"] == pytest.approx(2.0 + 20.0)
    assert u["power_mw"] == pytest.approx(22e-6 / 2e-3 * 1e3)
    arch = apply_estimator(load_arch("eyeriss-168").model_copy(update={"clock_mhz": 100.0}), "cacti-22nm")
    d = design_units(arch, {"w": 1e6}, {"w": 1e5})
    assert d["technology"] == "22nm" and d["scaled"] and d["scaling"]["interpolated"]
    assert d["clock_mhz"] == 100.0 and not d["clock_default"] and d["latency_s"] == pytest.approx(1e-3)


# ---- spaces and bad input ---------------------------------------------------------------------------------
def test_hw_space_technology_field_sets_the_estimator():
    space = load_hw_space("eyeriss-like")
    assert space.config() == {k: v for k, v in space.model_dump(mode="json").items() if v is not None}
    scaled = space.with_physical(technology="22 nm", dram="hbm2", dram_gbps=256.0)
    assert scaled.estimator == "cacti-22nm" and scaled.technology == "22nm" and scaled.dram == "HBM2"
    assert scaled.dram_words_per_cycle == pytest.approx(256e9 / 200e6 / 2)
    assert scaled.arch(scaled.point({n: 8 for n in scaled.names})).estimator == "cacti-22nm"
    assert space.with_physical() is space


@pytest.mark.parametrize("text", ["5nm", "22.5nm", "big", "0"])
def test_unknown_node_is_a_one_line_error(text):
    with pytest.raises(CosearchError, match="unknown technology node") as err:
        parse_node(text)
    assert "\n" not in str(err.value)
    with pytest.raises(CosearchError, match="unknown technology node"):
        load_hw_space("eyeriss-like").with_physical(technology=text)


def test_bad_dram_clock_and_estimator_are_one_line_errors():
    space = load_hw_space("eyeriss-like")
    for kwargs, needle in (({"dram": "GDDR6"}, "unknown DRAM type"), ({"clock_mhz": 5000.0}, "above the SRAM limit")):
        with pytest.raises(CosearchError, match=needle) as err:
            space.with_physical(**kwargs)
        assert "\n" not in str(err.value)
    with pytest.raises(CosearchError, match="needs a cacti"):
        load_hw_space("paper").with_physical(technology="22nm")
    data = space.config()
    data["clock_mhz"] = 1e9
    with pytest.raises(Exception):
        HWSpace.model_validate(data)
    assert math.isfinite(space.dram_words_per_cycle)
