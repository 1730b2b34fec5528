"""DRAM technologies: energy per bit, and bandwidth in GB/s as words per cycle.

Energies per bit come from the DRAM rows of ``components.csv`` (``hwcomponents``' CACTI-based DRAM
models): LPDDR4 512 pJ per 64-bit access (8.0 pJ/bit), DDR3 4480 pJ per 64-bit access (70 pJ/bit),
HBM2 12800 pJ per 2048-bit access (6.25 pJ/bit). The tables have no DDR4 row: DDR4 is the DDR3 row
scaled by the square of the supply-voltage ratio, (1.2 V / 1.5 V)² = 0.64 (JEDEC JESD79-4 DDR4 at
1.2 V, JESD79-3 DDR3 at 1.5 V; dynamic energy ∝ V²), i.e. 44.8 pJ/bit, and is marked ``derived``.
DRAM is off chip: its energy does not scale with the accelerator's technology node.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..errors import CosearchError

DEFAULT_DRAM = "LPDDR4"
"""The DRAM of every design that names none (the only one before DRAM types existed)."""
DDR4_FROM_DDR3 = (1.2 / 1.5) ** 2
"""DDR4's energy per bit relative to the tables' DDR3 row (supply voltage ratio squared)."""


@dataclass(frozen=True)
class DramType:
    """One DRAM technology: its ``components.csv`` row, and a factor on that row's energy."""

    name: str
    component: str
    factor: float = 1.0
    note: str = "components.csv"

    @property
    def derived(self) -> bool:
        return self.factor != 1.0


DRAM_TYPES: dict[str, DramType] = {
    "LPDDR4": DramType("LPDDR4", "dram_lpddr4"),
    "DDR3": DramType("DDR3", "dram_ddr3"),
    "DDR4": DramType("DDR4", "dram_ddr3", DDR4_FROM_DDR3, "components.csv DDR3 × (1.2 V / 1.5 V)²"),
    "HBM2": DramType("HBM2", "dram_hbm2"),
}
"""DRAM name (upper case) -> :class:`DramType`."""


def get_dram(name: str | None, *, what: str = "dram") -> DramType:
    """The DRAM type called ``name`` (case-insensitive; ``None``: :data:`DEFAULT_DRAM`), else a one-line
    :class:`CosearchError` listing the types."""
    key = DEFAULT_DRAM if name is None else str(name).strip().upper()
    dram = DRAM_TYPES.get(key)
    if dram is None:
        raise CosearchError(f"{what}: unknown DRAM type {name!r} (choose from {', '.join(DRAM_TYPES)})")
    return dram


def gbps_to_words_per_cycle(gbps: float, clock_mhz: float, word_bits: int) -> float:
    """A DRAM bandwidth of ``gbps`` GB/s (10⁹ bytes per second) as ``word_bits``-bit words per cycle of
    a ``clock_mhz`` clock."""
    if not (math.isfinite(gbps) and gbps > 0):
        raise CosearchError(f"DRAM bandwidth must be a positive number of GB/s, got {gbps}")
    return gbps * 1e9 / (clock_mhz * 1e6) / (word_bits / 8)


def words_per_cycle_to_gbps(words: float, clock_mhz: float, word_bits: int) -> float:
    """The inverse of :func:`gbps_to_words_per_cycle`."""
    return words * (word_bits / 8) * clock_mhz * 1e6 / 1e9
