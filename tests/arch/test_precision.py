"""Precision as hardware (issue #14): per-data-space word widths cost the same mapping on the same array
by the bits it moves and stores; access counts stay in words."""

from __future__ import annotations

import numpy as np
import pytest

from cosearch import Layer, MapSpace, evaluate, load_arch
from cosearch.arch.estimator import HOROWITZ_FP_45NM, apply_estimator, float_mac_cost, mac_cost
from cosearch.arch.precision import PRECISIONS, Precision, apply_precision, parse_precision
from cosearch.arch.spec import Bandwidth
from cosearch.errors import CosearchError
from cosearch.interop.timeloop.export import arch_yaml

LAYER = Layer(name="conv", K=64, C=64, P=14, Q=14, R=3, S=3)


@pytest.fixture(scope="module")
def cacti_arch():
    return apply_estimator(load_arch("eyeriss-168"), "cacti-65nm")


@pytest.fixture(scope="module")
def mappings(cacti_arch):
    return MapSpace(cacti_arch, LAYER).sample(64, seed=3)


def test_presets_and_explicit_widths() -> None:
    assert parse_precision("int8") == Precision(8, 8, 32)
    assert parse_precision("INT16") == Precision(16, 16, 16)
    assert parse_precision("W8/I8/O24") == Precision(8, 8, 24)
    assert parse_precision("4/4/16") == PRECISIONS["int4"]
    assert parse_precision("float:16/16/32") == PRECISIONS["bf16"]
    assert parse_precision("W8/I8/O24").label == "W8/I8/O24"


@pytest.mark.parametrize("text, needle", [("int7", "unknown precision"), ("W8/I8", "unknown precision"),
                                          ("W0/I8/O32", "Weights width 0"), ("8/8/128", "Outputs width 128")])
def test_bad_widths_are_one_line_errors(text, needle) -> None:
    with pytest.raises(CosearchError, match=needle) as err:
        parse_precision(text)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("name", ["eyeriss-168", "simple-64"])
def test_int16_is_the_default_array(name) -> None:
    arch = load_arch(name)
    assert apply_precision(arch, PRECISIONS["int16"]) == arch
    costed = apply_estimator(arch, "cacti-65nm")
    assert apply_precision(costed, PRECISIONS["int16"]) == costed


def test_int8_costs_less_with_the_same_word_counts_and_scaled_bits(cacti_arch, mappings) -> None:
    int8 = apply_precision(cacti_arch, parse_precision("W8/I8/O16"))  # psums keep 16 bits: every mapping fits
    assert int8.area_mm2 < cacti_arch.area_mm2  # the MACs shrink; the SRAMs keep their bits
    a = evaluate(cacti_arch, LAYER, mappings, breakdown=True)
    b = evaluate(int8, LAYER, mappings, breakdown=True)
    assert a.valid.all() and b.valid.all()
    assert (b.energy_pj < a.energy_pj).all()
    for field in ("reads", "fills", "updates", "tile_words"):
        np.testing.assert_array_equal(getattr(a, field), getattr(b, field))
    words = a.reads + a.fills + a.updates
    np.testing.assert_array_equal(a.traffic_bits(), words * 16)
    np.testing.assert_array_equal(b.traffic_bits(), words * np.array([8, 8, 16]))
    # per-access energy follows the width moved: half for 8-bit words on a 16-bit port, the same for psums
    np.testing.assert_allclose(b.level_energy_pj[..., :2], a.level_energy_pj[..., :2] / 2, rtol=1e-12)
    np.testing.assert_allclose(b.level_energy_pj[..., 2], a.level_energy_pj[..., 2], rtol=1e-12)
    mac_a, mac_b = a.macs * cacti_arch.mac.energy_pj, b.macs * int8.mac.energy_pj
    assert mac_b == pytest.approx(a.macs * mac_cost(65, 8, 16)[0]) and mac_b < mac_a
    np.testing.assert_allclose(b.energy_pj, b.level_energy_pj.sum(axis=(1, 2)) + mac_b, rtol=1e-12)


def test_int8_preset_with_32_bit_psums_doubles_psum_energy(cacti_arch, mappings) -> None:
    """W8/I8/O32: operand traffic costs half, partial-sum traffic twice the 16-bit figure, so a mapping
    whose energy is mostly partial sums can cost more than in 16-bit (that is the model, not a bug)."""
    int8 = apply_precision(cacti_arch, PRECISIONS["int8"])
    a = evaluate(cacti_arch, LAYER, mappings, breakdown=True)
    b = evaluate(int8, LAYER, mappings, breakdown=True)
    both = b.valid
    assert both.any()
    np.testing.assert_allclose(b.level_energy_pj[both], a.level_energy_pj[both] * np.array([0.5, 0.5, 2.0]),
                               rtol=1e-12)
    mac_b = b.macs * mac_cost(65, 8, 32)[0]
    np.testing.assert_allclose(b.energy_pj[both], b.level_energy_pj[both].sum(axis=(1, 2)) + mac_b, rtol=1e-12)
    assert (b.energy_pj[both] < a.energy_pj[both]).any()


def test_capacity_counts_bits_and_rejects_what_no_longer_fits(cacti_arch, mappings) -> None:
    wide_psums = apply_precision(cacti_arch, parse_precision("W16/I16/O32"))
    a = evaluate(cacti_arch, LAYER, mappings, breakdown=True)
    b = evaluate(wide_psums, LAYER, mappings)
    assert a.valid.all()
    rejected = ~b.valid
    assert rejected.any()
    assert all(b.reason_text(i).startswith("capacity") for i in np.flatnonzero(rejected))
    # a rejected mapping really overflows some bounded level in bits, a kept one fits everywhere
    bits = np.array([16, 16, 32])
    for i in range(len(mappings)):
        over = False
        for li, lvl in enumerate(wide_psums.levels):
            if lvl.size_bits is not None:
                used = int((a.tile_words[i, li] * a.keep[i, li] * bits).sum())
                over |= used > lvl.size_bits
        assert over == bool(rejected[i])
    # the sampler of the wider array still builds valid mappings only
    assert evaluate(wide_psums, LAYER, MapSpace(wide_psums, LAYER).sample(64, seed=4)).valid.all()


def test_bandwidth_counts_bits() -> None:
    arch = load_arch("simple-64")
    limited = [lvl.model_copy(update={"bandwidth": Bandwidth(read=1.0, write=1.0)}) if i == 1 else lvl
               for i, lvl in enumerate(arch.levels)]
    arch = arch.model_copy(update={"levels": tuple(limited)})
    wide = apply_precision(arch, parse_precision("32/32/32"))  # 32-bit words on the 16-bit ports
    m = MapSpace(wide, LAYER).sample(32, seed=5)
    a = evaluate(arch, LAYER, m, breakdown=True)
    b = evaluate(wide, LAYER, m, breakdown=True)
    assert a.valid.all() and b.valid.all()
    np.testing.assert_array_equal(a.reads, b.reads)
    slowed = a.level_cycles[:, 1] > a.compute_cycles
    assert slowed.any()
    assert (b.level_cycles[slowed, 1] >= 2 * a.level_cycles[slowed, 1] - 1).all()


def test_float_macs_follow_horowitz() -> None:
    e, area = float_mac_cost(45, 16, 32)
    assert e == pytest.approx(HOROWITZ_FP_45NM["mult"][16][0] + HOROWITZ_FP_45NM["add"][32][0]) == pytest.approx(2.0)
    assert area == pytest.approx((1640 + 4184) * 1e-6)
    assert float_mac_cost(45, 32, 32)[0] == pytest.approx(4.6)
    assert float_mac_cost(65, 16, 32)[0] > e > float_mac_cost(22, 16, 32)[0]
    with pytest.raises(CosearchError, match="multiplier width 8"):
        float_mac_cost(45, 8, 32)
    bf16 = apply_precision(apply_estimator(load_arch("eyeriss-168"), "cacti-45nm"), PRECISIONS["bf16"])
    assert bf16.mac.number_format == "float" and bf16.mac.energy_pj == pytest.approx(2.0)


def test_timeloop_export_writes_word_widths(cacti_arch) -> None:
    text = arch_yaml(apply_precision(cacti_arch, PRECISIONS["int8"]))
    assert "    word-bits: 8\n  storage:" in text  # the MACs' operands
    assert "# cosearch word bits per data space: Weights 8, Inputs 8, Outputs 32" in text
    assert "# cosearch word bits per data space: Outputs 32 (word-bits below is the access width)" in text
    assert arch_yaml(cacti_arch) == arch_yaml(apply_precision(cacti_arch, PRECISIONS["int16"]))
    assert "# cosearch" not in arch_yaml(cacti_arch)


def test_huge_widths_do_not_wrap_the_capacity_check() -> None:
    """Tiles of 2**60-bit words: the bits of a tile exceed int64, and the check still rejects it (capacities
    are counted up to 2**61 bits, a tile beyond that is over any of them)."""
    arch = load_arch("simple-64")
    m = MapSpace(arch, LAYER).sample(32, seed=6)
    tiles = evaluate(arch, LAYER, m, breakdown=True)
    huge = arch.model_copy(update={"levels": (arch.levels[0], arch.levels[1],
                                              arch.levels[2].model_copy(update={"word_bits": 2**60, "size_words": 2}))})
    c = evaluate(huge, LAYER, m)
    used = (tiles.tile_words[:, 2] * tiles.keep[:, 2]).sum(axis=1)
    assert (used > 2).any() and (used == 0).any()  # some keep big tiles there, some bypass it
    np.testing.assert_array_equal(c.valid, used <= 2)
    assert all(c.reason_text(i) == "capacity:RF" for i in np.flatnonzero(used > 2))
