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
