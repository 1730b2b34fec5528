"""Co-design objectives: ``ednp:N`` takes a finite exponent 0 < N <= 10, so energy × cycles^N stays
a finite float for any design within cosearch.limits (an OverflowError mid-run before; found by the
fuzz harness)."""

from __future__ import annotations

import math

import pytest

from cosearch.codesign.objectives import EDNP_MAX, NetworkCost, objective_value, parse_objective
from cosearch.errors import CosearchError
from cosearch.limits import INT_MAX


@pytest.mark.parametrize("text", ["ednp:inf", "ednp:nan", "ednp:1e30", "ednp:11", "ednp:0", "ednp:-2"])
def test_ednp_exponent_out_of_range_is_refused(text: str) -> None:
    with pytest.raises(CosearchError, match=f"ednp:N needs 0 < N <= {EDNP_MAX}"):
        parse_objective(text)


def test_ednp_not_a_number_is_an_unknown_objective() -> None:
    with pytest.raises(CosearchError, match="unknown objective 'ednp:x'"):
        parse_objective("ednp:x")


@pytest.mark.parametrize("text", ["ednp:2", "ednp:0.5", f"ednp:{EDNP_MAX}", "edp", "pareto"])
def test_accepted_objectives_give_finite_values_at_the_limits(text: str) -> None:
    assert parse_objective(text) == text
    cost = NetworkCost(energy_pj={"w": 1e34}, cycles={"w": float(INT_MAX)}, edp={"w": 1e34 * INT_MAX}, layers={},
                       valid=True)
    assert math.isfinite(objective_value(cost, text, None))


def test_latency_and_power_objectives_use_the_clock_and_leakage() -> None:
    cost = NetworkCost(energy_pj={"w": 4e6}, cycles={"w": 2e5}, edp={"w": 8e11}, layers={}, valid=True,
                       clock_mhz=100.0, leakage_mw=5.0)
    assert objective_value(cost, "latency", None) == pytest.approx(2e-3)  # 2e5 cycles at 100 MHz
    # 4 µJ dynamic + 5 mW × 2 ms = 10 µJ static, over 2 ms: 7 mW
    assert objective_value(cost, "power", None) == pytest.approx(7.0)
    faster = NetworkCost(energy_pj={"w": 4e6}, cycles={"w": 2e5}, edp={"w": 8e11}, layers={}, valid=True,
                         clock_mhz=200.0, leakage_mw=5.0)
    assert objective_value(faster, "latency", None) == pytest.approx(1e-3)
    two = NetworkCost(energy_pj={"a": 4e6, "b": 8e6}, cycles={"a": 2e5, "b": 2e5}, edp={"a": 1.0, "b": 1.0},
                      layers={}, valid=True)
    # several workloads: geometric mean of the ratios to the baseline
    assert objective_value(two, "latency", two) == pytest.approx(1.0)
    assert parse_objective("latency") == "latency" and parse_objective("power") == "power"
