"""Precision as hardware: word widths per data space (Weights, Inputs, Outputs) and the MACs' number
format, as named presets (``int8`` = W8/I8/O32, ...) or explicit widths, applied to an architecture.

Applying a precision keeps the array: every level keeps its capacity and port in bits (its access
width, the unit of ``size_words``, ``energy_pj`` and ``bandwidth``) and only the width of each data
space's words changes; the MACs take the widest operand as multiplier width, the Outputs width as
accumulator, and the preset's number format. The estimator then re-costs the MACs (``docs/model.md``,
"Word widths").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from ..dims import DATASPACES
from ..errors import CosearchError
from .spec import Arch

WIDTH_MAX = 64
"""Widest word (bits) a data space may have."""


@dataclass(frozen=True)
class Precision:
    """Word widths in bits of Weights, Inputs and Outputs (partial sums), and the MAC number format."""

    weights: int
    inputs: int
    outputs: int
    number_format: Literal["int", "float"] = "int"

    @property
    def bits(self) -> dict[str, int]:
        """Data space name -> bits."""
        return dict(zip(DATASPACES, (self.weights, self.inputs, self.outputs)))

    @property
    def label(self) -> str:
        """``W8/I8/O32`` (``float:`` prefixed for floating point)."""
        text = f"W{self.weights}/I{self.inputs}/O{self.outputs}"
        return f"float:{text}" if self.number_format == "float" else text


PRECISIONS: dict[str, Precision] = {
    "int16": Precision(16, 16, 16),
    "int8": Precision(8, 8, 32),
    "int4": Precision(4, 4, 16),
    "bf16": Precision(16, 16, 32, "float"),
    "fp16": Precision(16, 16, 32, "float"),
    "fp32": Precision(32, 32, 32, "float"),
}
"""Named presets: ``int16`` is the default 16-bit array; ``bf16`` is costed as FP16 (its MAC figures)."""

_EXPLICIT = re.compile(r"^(?:(int|float):)?W?(\d+)/I?(\d+)/O?(\d+)$", re.IGNORECASE)


def parse_precision(text: str) -> Precision:
    """A preset name (:data:`PRECISIONS`) or explicit widths ``W8/I8/O24`` (also ``8/8/24``; prefix
    ``float:`` for floating-point MACs). Anything else, or a width outside 1..:data:`WIDTH_MAX`, raises
    :class:`CosearchError` (one line)."""
    key = str(text).strip().lower()
    if key in PRECISIONS:
        return PRECISIONS[key]
    m = _EXPLICIT.match(key)
    if m is None:
        raise CosearchError(f"unknown precision {text!r}: use one of {', '.join(PRECISIONS)} or widths such as "
                            "W8/I8/O24 (prefix float: for floating point)")
    widths = [int(g) for g in m.groups()[1:]]
    for ds, w in zip(DATASPACES, widths):
        if not 1 <= w <= WIDTH_MAX:
            raise CosearchError(f"precision {text!r}: {ds} width {w} bits is outside 1..{WIDTH_MAX}")
    return Precision(*widths, number_format="float" if (m.group(1) or "int").lower() == "float" else "int")


def apply_precision(arch: Arch, precision: Precision) -> Arch:
    """``arch`` with ``precision``'s word widths at every level (capacities, ports, access energies and
    bandwidths kept in bits) and its MACs (multiplier = the wider of Weights and Inputs, format), re-costed
    by ``arch.estimator``. A level whose widths all equal its access width keeps the plain form
    (``word_bits: 16``), so ``int16`` on a 16-bit arch returns an equal arch."""
    from .estimator import apply_estimator

    levels = []
    for lvl in arch.levels:
        access = lvl.access_width
        widths = precision.bits
        same = len(set(widths.values())) == 1
        word_bits: int | dict[str, int] = next(iter(widths.values())) if same else widths
        plain = same and word_bits == access and lvl.access_bits is None
        levels.append(lvl.model_copy(update={"word_bits": word_bits, "access_bits": None if plain else access}))
    mac = arch.mac.model_copy(update={"word_bits": max(precision.weights, precision.inputs),
                                      "number_format": precision.number_format})
    try:
        out = Arch.model_validate({**arch.model_dump(), "levels": [lv.model_dump() for lv in levels],
                                   "mac": mac.model_dump()})
    except ValueError as err:
        raise CosearchError(f"precision {precision.label} on {arch.name}: {err}") from None
    if arch.estimator == "table":
        return _table_mac_scaled(arch, out)
    return apply_estimator(out, arch.estimator)


def _table_mac_scaled(old: Arch, new: Arch) -> Arch:
    """A ``table`` arch's MAC energy and area as given, times the 45 nm table ratio of the new MAC to the
    old (:func:`~.estimator.mac_cost`, :func:`~.estimator.float_mac_cost`): the given numbers are for the
    given operand widths and format."""
    from .estimator import BASE_NODE, float_mac_cost, mac_cost, mac_widths

    def cost(arch: Arch) -> tuple[float, float]:
        fn = float_mac_cost if arch.mac.number_format == "float" else mac_cost
        return fn(BASE_NODE, *mac_widths(arch))

    (e0, a0), (e1, a1) = cost(old), cost(new)
    if (e0, a0) == (e1, a1):
        return new
    mac = new.mac.model_copy(update={"energy_pj": old.mac.energy_pj * e1 / e0, "area_mm2": old.mac.area_mm2 * a1 / a0})
    return new.model_copy(update={"mac": mac})
