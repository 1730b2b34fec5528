"""Network totals count each layer's repeats."""

from __future__ import annotations

import math

from cosearch.model.totals import repeat_totals


def test_repeats_are_counted() -> None:
    assert repeat_totals([(2, 1.5, 10.0), (3, 0.5, 4.0)]) == (2 * 1.5 + 3 * 0.5, 2 * 10.0 + 3 * 4.0)


def test_a_layer_without_a_result_makes_the_totals_infinite() -> None:
    energy, cycles = repeat_totals([(1, 1.0, 1.0), (2, math.inf, math.inf)])
    assert math.isinf(energy) and math.isinf(cycles)


def test_no_layers_cost_nothing() -> None:
    assert repeat_totals([]) == (0.0, 0.0)


def test_phase_totals_split_per_phase_with_dram_share_and_per_token() -> None:
    from cosearch.model.totals import phase_totals
    from cosearch.workload.layer import Phase

    phases = [Phase(name="prefill", tokens=8, layers=["a", "b"]), Phase(name="decode", tokens=2, layers=["c"]),
              Phase(name="unmapped", tokens=1, layers=["z"])]
    layers = {"a": (2, 10.0, 4.0, 5.0, 100), "b": (1, 20.0, 8.0, 2.0, 50), "c": (3, 1.0, 2.0, 0.9, 10)}
    out = phase_totals(phases, layers, num_pes=10)
    assert list(out) == ["prefill", "decode"]
    pre = out["prefill"]
    assert (pre["energy_pj"], pre["cycles"], pre["macs"], pre["dram_energy_pj"]) == (40.0, 16.0, 250, 12.0)
    assert pre["dram_share"] == 12.0 / 40.0 and pre["edp"] == 40.0 * 16.0
    assert pre["utilization"] == 250 / (16.0 * 10)
    assert pre["per_token"] == {"energy_pj": 5.0, "cycles": 2.0}
    assert out["decode"]["per_token"] == {"energy_pj": 1.5, "cycles": 3.0}
