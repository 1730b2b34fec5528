"""Named estimators: where an :class:`~cosearch.arch.spec.Arch`'s per-access energies and areas come from.

``Arch.estimator`` names one entry of :data:`ESTIMATORS`:

* ``table``: the energies and areas written in the architecture are used as given (identity).
* ``cacti-65nm`` / ``cacti-45nm``: every level's read/fill/update energy per word and area per
  instance follow its size, word width and bandwidth (banking), from power laws fitted to CACTI
  tables shipped as package data (``cosearch/arch/data``); the MAC's energy and area come from the
  16-bit integer MAC of the same tables (a block MAC, ``mac.block``, as that many scalar MACs), DRAM
  from the arch's DRAM type (default LPDDR4, 8 pJ/bit, no
  on-chip area; :mod:`.dram`), and every PE carries a fixed control/network overhead area calibrated
  on Eyeriss v1 (12.25 mm² core at 65 nm). The same tables give each SRAM bank's leakage (mW) and
  access time (ns): :func:`level_estimates`, :func:`clock_limit_mhz`.
* ``cacti-32nm`` ... ``cacti-7nm``: the 45 nm numbers scaled by Stillmaker & Baas 2017
  (:mod:`.technology`: energy and leakage by its energy factor, areas by its area factor, access
  times by its delay factor); their estimators are marked ``scaled``.
* ``pat-normalised``: the normalised energies of Timeloop's PAT model as its authors describe it (per
  16-bit access: SRAM linear in capacity from 1.0 at 0.5 KB to 6.0 at 100 KB, DRAM 200, MAC 1), with
  the areas of ``cacti-65nm`` (:class:`PatNormalisedEstimator`).

The model, the fit and its error, and the calibration are described in ``docs/estimator.md``.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import numpy as np

from ..errors import CosearchError
from ..limits import FLOAT_MAX
from .dram import get_dram
from .spec import AccessEnergy, Arch, Level
from .technology import BASE_NODE, SCALED_NODES, SCALING_SOURCE, TABLE_NODES, is_scaled, scale_factors
from .technology import NODES as ALL_NODES

NODES: tuple[int, ...] = TABLE_NODES
"""Technology nodes (nm) the tables cover (:data:`~cosearch.arch.technology.NODES` adds the scaled ones)."""
SRAM_WIDTHS: tuple[int, ...] = (16, 64, 128)
"""Port widths (bits) of ``sram.csv``."""
QUANTITIES: tuple[str, ...] = ("read", "write", "area")
"""Fitted quantities: pJ per port-width read, pJ per port-width write, mm² per bank."""

DRAM_COMPONENT = "dram_lpddr4"
"""The DRAM row of ``components.csv`` every ``cacti-*`` estimator uses (LPDDR4: 512 pJ per 64-bit access)."""
EYERISS_CORE_MM2 = 12.25
"""Eyeriss v1's published core area at 65 nm (3.5 mm × 3.5 mm), the calibration target."""
PE_OVERHEAD_MM2_65NM = 0.0609
"""Per-PE control/network overhead area at 65 nm (mm²): ``(12.25 - modelled eyeriss-168 area) / 168``,
rounded; see :func:`calibrate_pe_overhead` and ``docs/estimator.md``."""


# ---- data ------------------------------------------------------------------------------------------
def _read_csv(name: str) -> list[dict[str, str]]:
    text = resources.files("cosearch.arch").joinpath("data", name).read_text()
    return list(csv.DictReader(text.splitlines()))


@dataclass(frozen=True)
class SramPoint:
    """One table configuration: energies per port-width access (pJ) and area (mm²) of one bank."""

    node: int
    width_bits: int
    size_bytes: float
    read_pj: float
    write_pj: float
    area_mm2: float
    source: str
    leak_mw: float | None = None  # sram.csv rows only
    access_ns: float | None = None

    def value(self, quantity: str) -> float:
        return {"read": self.read_pj, "write": self.write_pj, "area": self.area_mm2, "leak": self.leak_mw,
                "access": self.access_ns}[quantity]


@lru_cache(maxsize=None)
def components() -> tuple[dict[str, str], ...]:
    """Rows of ``components.csv`` (strings, as read)."""
    return tuple(_read_csv("components.csv"))


def _params(text: str) -> dict[str, int]:
    return {k: int(v) for k, v in (item.split("=") for item in text.split())}


@lru_cache(maxsize=None)
def sram_points() -> tuple[SramPoint, ...]:
    """The fitted data: every row of ``sram.csv`` plus, for 16-bit ports, the plain-CACTI register-file
    rows of ``components.csv`` smaller than 64 B (12 and 24 words), which extend the fit downwards."""
    pts = [
        SramPoint(int(r["tech_nm"]), int(r["width_bits"]), float(r["size_bytes"]), float(r["read_pJ"]),
                  float(r["write_pJ"]), float(r["area_mm2"]), "sram.csv", float(r["leak_mW"]), float(r["access_ns"]))
        for r in _read_csv("sram.csv")
    ]
    rf: dict[tuple[int, int], dict[str, float]] = {}
    for r in components():
        if r["model"] != "cacti_sram" or not r["component"].startswith("rf_"):
            continue
        p = _params(r["params"])
        entry = rf.setdefault((int(r["tech_nm"]), p["words"]), {"width": p["width"], "component": r["component"]})
        entry[r["action"]] = float(r["energy_pJ"])
        entry["area"] = float(r["area_um2"]) * 1e-6
    for (node, words), e in sorted(rf.items()):
        size = words * e["width"] / 8
        if size < 64:
            pts.append(SramPoint(node, int(e["width"]), size, e["read"], e["write"], e["area"],
                                 f"components.csv:{e['component']}"))
    return tuple(pts)


def rf_cross_check_points() -> tuple[SramPoint, ...]:
    """The plain-CACTI register-file rows of 64 B or more (192 and 224 words): not fitted, used to check
    the fit at the sizes of Eyeriss's weight scratchpad."""
    out = []
    rows: dict[tuple[int, int], dict[str, float]] = {}
    for r in components():
        if r["model"] != "cacti_sram" or not r["component"].startswith("rf_"):
            continue
        p = _params(r["params"])
        e = rows.setdefault((int(r["tech_nm"]), p["words"]), {"width": p["width"]})
        e[r["action"]] = float(r["energy_pJ"])
        e["area"] = float(r["area_um2"]) * 1e-6
    for (node, words), e in sorted(rows.items()):
        if words * e["width"] / 8 >= 64:
            out.append(SramPoint(node, int(e["width"]), words * e["width"] / 8, e["read"], e["write"], e["area"],
                                 f"components.csv:rf_{words}w"))
    return tuple(out)


# ---- the fit -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PowerLaw:
    """``coef · max(size, min_bytes) ** exponent``: a least-squares line in log-log space, constant
    (a floor) below the smallest fitted size and extrapolated as a power law above the largest."""

    coef: float
    exponent: float
    min_bytes: float
    max_bytes: float

    def __call__(self, size_bytes: float) -> float:
        return self.coef * max(float(size_bytes), self.min_bytes) ** self.exponent


TIMING_QUANTITIES: tuple[str, ...] = ("leak", "access")
"""Also fitted, on the ``sram.csv`` rows only (the register-file rows have neither): leakage mW and
access time ns of one bank."""


@dataclass(frozen=True)
class SramFit:
    """The power laws of one (node, port width): :data:`QUANTITIES` and :data:`TIMING_QUANTITIES`."""

    node: int
    width_bits: int
    read: PowerLaw
    write: PowerLaw
    area: PowerLaw
    points: tuple[SramPoint, ...]
    leak: PowerLaw
    access: PowerLaw

    def law(self, quantity: str) -> PowerLaw:
        return {"read": self.read, "write": self.write, "area": self.area, "leak": self.leak,
                "access": self.access}[quantity]


def _fit_power_law(sizes: np.ndarray, values: np.ndarray) -> PowerLaw:
    exponent, log_coef = np.polyfit(np.log(sizes), np.log(values), 1)
    if not exponent > 0:  # the data would have to be broken
        raise RuntimeError(f"non-increasing power-law fit (exponent {exponent:.3f})")
    return PowerLaw(float(math.exp(log_coef)), float(exponent), float(sizes.min()), float(sizes.max()))


@lru_cache(maxsize=None)
def sram_fits() -> dict[tuple[int, int], SramFit]:
    """Power laws per (node, port width), fitted by least squares on log(size) -> log(value)."""
    fits = {}
    pts = sram_points()
    for node in TABLE_NODES:
        for width in SRAM_WIDTHS:
            sel = tuple(p for p in pts if p.node == node and p.width_bits == width)
            sizes = np.array([p.size_bytes for p in sel])
            laws = {q: _fit_power_law(sizes, np.array([p.value(q) for p in sel])) for q in QUANTITIES}
            timed = [p for p in sel if p.leak_mw is not None]
            tsizes = np.array([p.size_bytes for p in timed])
            laws.update({q: _fit_power_law(tsizes, np.array([p.value(q) for p in timed])) for q in TIMING_QUANTITIES})
            fits[(node, width)] = SramFit(node, width, laws["read"], laws["write"], laws["area"], sel, laws["leak"],
                                          laws["access"])
    return fits


def fit_errors() -> list[dict[str, float | int | str]]:
    """Per (node, width, quantity): number of fitted rows, exponent, and the max and mean relative error
    ``|fit / table - 1|`` over those rows."""
    out = []
    for (node, width), fit in sorted(sram_fits().items()):
        for q in QUANTITIES:
            law = fit.law(q)
            rel = np.array([abs(law(p.size_bytes) / p.value(q) - 1) for p in fit.points])
            out.append({"node": node, "width_bits": width, "quantity": q, "points": len(fit.points),
                        "exponent": law.exponent, "max_rel_error": float(rel.max()),
                        "mean_rel_error": float(rel.mean())})
    return out


@dataclass(frozen=True)
class SramCost:
    """One bank: pJ per port-width read and write access, its area in mm², leakage in mW and access
    time in ns."""

    read_pj: float
    write_pj: float
    area_mm2: float
    leak_mw: float
    access_ns: float

    def scaled(self, node: int) -> SramCost:
        """This 45 nm bank at a scaled ``node`` (:func:`~cosearch.arch.technology.scale_factors`)."""
        f = scale_factors(node)
        return SramCost(self.read_pj * f.energy, self.write_pj * f.energy, self.area_mm2 * f.area,
                        self.leak_mw * f.energy, self.access_ns * f.delay)


def _check_node(node: int) -> None:
    if node not in ALL_NODES:
        raise CosearchError(f"no component data for {node} nm (available: {', '.join(map(str, ALL_NODES))} nm)")


def sram_cost(node: int, width_bits: float, size_bytes: float) -> SramCost:
    """Fitted cost of one SRAM bank with a ``width_bits`` port and ``size_bytes`` capacity.

    Port widths of the table (16, 64, 128) use their fit; widths in between interpolate the fits
    geometrically in log(width); narrower than 16 bits uses the 16-bit array with energy scaled by
    width/16; wider than 128 bits is ``ceil(width/128)`` side-by-side sub-arrays, each with its share
    of the width and capacity. Leakage follows area (the same array at a narrower port; ``k`` times
    for ``k`` sub-arrays); access time is the array's (sub-arrays work in parallel). A scaled node
    (:mod:`.technology`) is the 45 nm bank times its factors.
    """
    _check_node(node)
    if width_bits <= 0:
        raise CosearchError(f"port width must be positive, got {width_bits} bits")
    if is_scaled(node):
        return sram_cost(BASE_NODE, width_bits, size_bytes).scaled(node)
    fits = sram_fits()
    if width_bits in SRAM_WIDTHS:
        f = fits[(node, width_bits)]
        return SramCost(f.read(size_bytes), f.write(size_bytes), f.area(size_bytes), f.leak(size_bytes),
                        f.access(size_bytes))
    if width_bits < SRAM_WIDTHS[0]:
        c = sram_cost(node, SRAM_WIDTHS[0], size_bytes)
        scale = width_bits / SRAM_WIDTHS[0]
        return SramCost(c.read_pj * scale, c.write_pj * scale, c.area_mm2, c.leak_mw, c.access_ns)
    if width_bits > SRAM_WIDTHS[-1]:
        k = math.ceil(width_bits / SRAM_WIDTHS[-1])
        c = sram_cost(node, width_bits / k, size_bytes / k)
        return SramCost(c.read_pj * k, c.write_pj * k, c.area_mm2 * k, c.leak_mw * k, c.access_ns)
    lo = max(w for w in SRAM_WIDTHS if w < width_bits)
    hi = min(w for w in SRAM_WIDTHS if w > width_bits)
    t = math.log(width_bits / lo) / math.log(hi / lo)
    a, b = sram_cost(node, lo, size_bytes), sram_cost(node, hi, size_bytes)
    geo = lambda x, y: x ** (1 - t) * y**t  # noqa: E731
    return SramCost(geo(a.read_pj, b.read_pj), geo(a.write_pj, b.write_pj), geo(a.area_mm2, b.area_mm2),
                    geo(a.leak_mw, b.leak_mw), geo(a.access_ns, b.access_ns))


# ---- components -----------------------------------------------------------------------------------
def dram_pj_per_bit(component: str = DRAM_COMPONENT) -> float:
    """Energy per bit of a DRAM row of ``components.csv`` (LPDDR4: 512 pJ / 64 bit = 8 pJ/bit)."""
    for r in components():
        if r["component"] == component:
            return float(r["energy_pJ"]) / _params(r["params"])["width"]
    raise CosearchError(f"no DRAM component {component!r} in components.csv")


def dram_type_pj_per_bit(name: str | None = None) -> float:
    """Energy per bit of DRAM type ``name`` (:data:`cosearch.arch.dram.DRAM_TYPES`; default LPDDR4)."""
    dram = get_dram(name)
    return dram_pj_per_bit(dram.component) * dram.factor


HOROWITZ_FP_45NM: dict[str, dict[int, tuple[float, float]]] = {
    "mult": {16: (1.1, 1640.0), 32: (3.7, 7700.0)},
    "add": {16: (0.4, 1360.0), 32: (0.9, 4184.0)},
}
"""Floating-point multiplier and adder at 45 nm, ``bits -> (energy pJ, area µm²)``: Horowitz, "Computing's
energy problem (and what we can do about it)", ISSCC 2014 (FP16 and FP32 rows; BF16 is costed as FP16)."""


def float_mac_cost(node: int, mult_bits: int = 16, add_bits: int = 32) -> tuple[float, float]:
    """``(energy pJ, area mm²)`` of one floating-point MAC: Horowitz's 45 nm multiplier of ``mult_bits``
    plus adder of ``add_bits`` (each 16 or 32; :data:`HOROWITZ_FP_45NM`). Other nodes: the 45 nm figure
    times the tables' own integer-MAC ratio (16-bit Aladdin MAC at ``node`` over 45 nm) for the table
    nodes, or the scaling factors of :mod:`.technology` for the scaled ones. Other widths raise
    :class:`CosearchError`."""
    _check_node(node)
    for what, bits in (("multiplier", mult_bits), ("adder", add_bits)):
        if bits not in (16, 32):
            raise CosearchError(f"floating-point MAC: {what} width {bits} bits is not costed (16 or 32)")
    (em, am), (ea, aa) = HOROWITZ_FP_45NM["mult"][mult_bits], HOROWITZ_FP_45NM["add"][add_bits]
    energy, area = em + ea, (am + aa) * 1e-6
    if node == BASE_NODE:
        return energy, area
    if is_scaled(node):
        f = scale_factors(node)
        return energy * f.energy, area * f.area
    (e1, a1), (e0, a0) = mac_cost(node, 16, 16), mac_cost(BASE_NODE, 16, 16)
    return energy * e1 / e0, area * a1 / a0


def mac_cost(node: int, mult_bits: int = 16, add_bits: int = 16) -> tuple[float, float]:
    """``(energy pJ, area mm²)`` of one integer MAC (Aladdin model of ``components.csv``).

    The multiplier width picks the table's 8- or 16-bit rows (other widths scale the 16-bit rows by
    ``(mult_bits/16)²``); the adder is the narrowest tabulated one at least ``add_bits`` wide (else the
    widest). A scaled node is the 45 nm MAC times its energy and area factors.
    """
    _check_node(node)
    if is_scaled(node):
        energy, area = mac_cost(BASE_NODE, mult_bits, add_bits)
        f = scale_factors(node)
        return energy * f.energy, area * f.area
    rows = {}
    for r in components():
        if r["component"] == "mac" and r["tech_nm"] and int(r["tech_nm"]) == node:
            p = _params(r["params"])
            rows[(p["mult"], p["add"])] = (float(r["energy_pJ"]), float(r["area_um2"]) * 1e-6)
    base = mult_bits if mult_bits in {m for m, _ in rows} else 16
    adds = sorted(a for m, a in rows if m == base)
    add = next((a for a in adds if a >= add_bits), adds[-1])
    energy, area = rows[(base, add)]
    scale = (mult_bits / base) ** 2
    return energy * scale, area * scale


def pe_overhead_mm2(node: int) -> float:
    """Per-PE overhead area: the 65 nm calibration constant, scaled by (node/65)² for 45 nm, and from
    45 nm by the area factor of :mod:`.technology` for the scaled nodes."""
    _check_node(node)
    if is_scaled(node):
        return pe_overhead_mm2(BASE_NODE) * scale_factors(node).area
    return PE_OVERHEAD_MM2_65NM * (node / 65) ** 2


# ---- levels -----------------------------------------------------------------------------------------
def level_bandwidth(level: Level) -> float | None:
    """The largest of a level's read, write and shared limits (words/cycle per instance), or None."""
    bw = [v for v in (level.bandwidth.read, level.bandwidth.write, level.bandwidth.shared) if v is not None]
    return max(bw) if bw else None


@dataclass(frozen=True)
class LevelEstimate:
    """How a level is costed: ``kind`` DRAM or SRAM, its banks, per-word energies / per-instance area,
    per-instance leakage (mW, all banks) and one bank's access time (ns; 0 for DRAM)."""

    name: str
    kind: str
    word_bits: int
    banks: int
    bank_bytes: float
    read_pj: float
    write_pj: float
    area_mm2: float
    leak_mw: float = 0.0
    access_ns: float = 0.0


def estimate_level(level: Level, node: int, dram: str | None = None) -> LevelEstimate:
    """Cost of one level at ``node`` nm.

    DRAM (``technology: DRAM`` or an unbounded ``size_words``): the energy per word of DRAM type
    ``dram`` (default LPDDR4) for read, fill and update, no on-chip area. Otherwise (SRAM and regfile alike) the level is ``n = ceil(B)`` banks
    (``B`` = its largest bandwidth limit in words/cycle; 1 bank if unlimited; at most one bank per word),
    each with a one-word port (:attr:`~.spec.Level.access_width` bits wide) and ``size / n`` of the capacity: read energy = the
    fitted read energy of one bank, fill and update = its write energy, area and leakage = ``n`` banks.
    """
    bits = level.access_width
    if level.technology == "DRAM" or level.size_words is None:
        e = dram_type_pj_per_bit(dram) * bits
        return LevelEstimate(level.name, "DRAM", bits, 0, 0.0, e, e, 0.0)
    bw = level_bandwidth(level)
    banks = max(1, min(level.size_words, math.ceil(bw - 1e-9) if bw is not None else 1))
    bank_bytes = level.size_words * bits / 8 / banks
    c = sram_cost(node, bits, bank_bytes)
    return LevelEstimate(level.name, "SRAM", bits, banks, bank_bytes, c.read_pj, c.write_pj, c.area_mm2 * banks,
                         c.leak_mw * banks, c.access_ns)


def mac_widths(arch: Arch) -> tuple[int, int]:
    """``(multiplier, accumulator)`` bits of ``arch``'s MACs: ``mac.word_bits``, and the wider of it and the
    Outputs word of the innermost level that keeps Outputs."""
    mult = arch.mac.word_bits
    add = mult
    for lvl in reversed(arch.levels):
        if "Outputs" in lvl.keeps:
            add = max(add, lvl.bits("Outputs"))
            break
    return mult, add


# ---- estimators ---------------------------------------------------------------------------------------
def _check_estimate(value: float, component: str, what: str, estimator: str) -> None:
    """Raise :class:`CosearchError` if an estimated energy or area is not finite or above the limit."""
    if not (math.isfinite(value) and 0 <= value <= FLOAT_MAX):
        raise CosearchError(f"{component}: {estimator} estimates its {what} at {value:g}, outside 0..{FLOAT_MAX:g} "
                            "(its size_words or word_bits is too large)")


@dataclass(frozen=True)
class Estimator:
    """A named way of filling in an Arch's energies and areas. ``node`` None = the ``table`` identity.
    ``scaled``: its numbers are the 45 nm tables scaled to ``node`` (:mod:`.technology`)."""

    name: str
    description: str
    node: int | None = None
    pe_overhead_mm2: float = 0.0
    scaled: bool = False

    def apply(self, arch: Arch) -> Arch:
        """``arch`` with this estimator's energies and areas (DRAM of ``arch.dram``); a ``clock_mhz``
        above the SRAM limit (:func:`clock_limit_mhz`) raises :class:`CosearchError`."""
        if self.node is None:
            return arch if arch.estimator == self.name else arch.model_copy(update={"estimator": self.name})
        check_clock(arch, self.node)
        levels = []
        for lvl in arch.levels:
            est = estimate_level(lvl, self.node, arch.dram)
            for what, value in (("read energy", est.read_pj), ("write energy", est.write_pj), ("area", est.area_mm2)):
                _check_estimate(value, f"level {lvl.name}", what, self.name)
            levels.append(lvl.model_copy(update={
                "energy_pj": AccessEnergy(read=est.read_pj, fill=est.write_pj, update=est.write_pj),
                "area_mm2": est.area_mm2,
            }))
        cost = float_mac_cost if arch.mac.number_format == "float" else mac_cost
        mac_energy, mac_area = cost(self.node, *mac_widths(arch))
        for what, value in (("energy", mac_energy), ("area", mac_area)):
            _check_estimate(value, "mac", what, self.name)
        # a block MAC is costed as its multipliers' scalar MACs: energy per scalar MAC, area of the block
        mac = arch.mac.model_copy(update={"energy_pj": mac_energy,
                                          "area_mm2": mac_area * arch.mac.multipliers + self.pe_overhead_mm2})
        return arch.model_copy(update={"levels": tuple(levels), "mac": mac, "estimator": self.name})


PAT_SRAM_POINTS_KB: tuple[tuple[float, float], tuple[float, float]] = ((0.5, 1.0), (100.0, 6.0))
"""PAT's normalised SRAM energy per 16-bit access at two capacities (KB, energy): the line through them."""
PAT_DRAM_ENERGY = 200.0
"""PAT's normalised DRAM energy per 16-bit access."""
PAT_MAC_ENERGY = 1.0
"""PAT's normalised energy of one 16-bit MAC (the unit)."""


def pat_sram_energy(size_bytes: float, word_bits: int = 16) -> float:
    """PAT's normalised energy of one access to an SRAM of ``size_bytes`` (one instance) with
    ``word_bits``-bit words: linear in capacity through :data:`PAT_SRAM_POINTS_KB` (1 KB = 1024 B),
    extrapolated along the same line on both sides (so about 0.975 for a buffer of a few words), and
    scaled by ``word_bits / 16``."""
    (k0, e0), (k1, e1) = PAT_SRAM_POINTS_KB
    kb = float(size_bytes) / 1024
    return (e0 + (e1 - e0) * (kb - k0) / (k1 - k0)) * word_bits / 16


@dataclass(frozen=True)
class PatNormalisedEstimator(Estimator):
    """Energies from :func:`pat_sram_energy` (read, fill and update alike; DRAM :data:`PAT_DRAM_ENERGY`, MAC
    :data:`PAT_MAC_ENERGY`, both scaled by word width / 16), areas from ``cacti-65nm`` (banks, MAC and
    per-PE overhead as that estimator costs them). The energy depends on a level's capacity per instance,
    not on its banking: PAT as described has no bandwidth term."""

    def apply(self, arch: Arch) -> Arch:
        costed = super().apply(arch)  # cacti-65nm areas (and energies, replaced below)
        levels = []
        for lvl in costed.levels:
            bits = lvl.access_width
            if lvl.technology == "DRAM" or lvl.size_words is None:
                e = PAT_DRAM_ENERGY * bits / 16
            else:
                e = pat_sram_energy(lvl.size_words * bits / 8, bits)
            _check_estimate(e, f"level {lvl.name}", "energy", self.name)
            levels.append(lvl.model_copy(update={"energy_pj": AccessEnergy(read=e, fill=e, update=e)}))
        mac = costed.mac.model_copy(update={"energy_pj": PAT_MAC_ENERGY * costed.mac.word_bits / 16})
        return costed.model_copy(update={"levels": tuple(levels), "mac": mac})


def _cacti(node: int) -> Estimator:
    if is_scaled(node):
        return Estimator(
            name=f"cacti-{node}nm",
            description=(f"CACTI 45 nm SRAM power laws and 16-bit Aladdin MAC scaled to {node} nm (scaled: "
                         f"{SCALING_SOURCE}), LPDDR4 DRAM 8 pJ/bit unless the arch names another, per-PE "
                         f"overhead {pe_overhead_mm2(node):.4f} mm²"),
            node=node, pe_overhead_mm2=pe_overhead_mm2(node), scaled=True)
    return Estimator(
        name=f"cacti-{node}nm",
        description=(f"CACTI {node} nm SRAM power laws (size, width, banks), 16-bit Aladdin MAC, LPDDR4 DRAM "
                     f"8 pJ/bit, per-PE overhead {pe_overhead_mm2(node):.4f} mm²"),
        node=node,
        pe_overhead_mm2=pe_overhead_mm2(node),
    )


ESTIMATORS: dict[str, Estimator] = {
    "table": Estimator("table", "energies and areas as written in the architecture"),
    "cacti-65nm": _cacti(65),
    "cacti-45nm": _cacti(45),
    **{f"cacti-{n}nm": _cacti(n) for n in SCALED_NODES},
    "pat-normalised": PatNormalisedEstimator(
        name="pat-normalised",
        description=("Timeloop PAT normalised energies per 16-bit access (SRAM 1.0 at 0.5 KB to 6.0 at 100 KB, "
                     "linear; DRAM 200; MAC 1), cacti-65nm areas"),
        node=65, pe_overhead_mm2=pe_overhead_mm2(65)),
}
"""Estimator name -> :class:`Estimator`."""


def get_estimator(name: str, *, source: str | None = None) -> Estimator:
    """The estimator called ``name``; :class:`CosearchError` (one line) if there is none."""
    est = ESTIMATORS.get(name)
    if est is None:
        raise CosearchError(f"unknown estimator {name!r} (choose from {', '.join(ESTIMATORS)})", source=source)
    return est


def apply_estimator(arch: Arch, name: str | None = None, *, source: str | None = None) -> Arch:
    """A new Arch whose energies and areas come from estimator ``name`` (default: ``arch.estimator``);
    its ``estimator`` field is set to ``name``. ``table`` leaves every number as it is. ``source``
    (a file name) prefixes the error message of an unknown name."""
    estimator = get_estimator(arch.estimator if name is None else name, source=source)
    try:
        return estimator.apply(arch)
    except CosearchError as err:
        raise CosearchError(str(err), source=source) from None


# ---- leakage and clock ----------------------------------------------------------------------------------
def estimator_node(arch: Arch) -> int | None:
    """The technology node (nm) of ``arch``'s estimator, ``None`` for ``table`` (or an unknown name)."""
    est = ESTIMATORS.get(arch.estimator)
    return est.node if est is not None else None


def level_estimates(arch: Arch, node: int | None = None) -> list[LevelEstimate]:
    """Every level of ``arch`` as costed at ``node`` (default: its estimator's node); empty for an arch
    whose estimator has no node (``table``: no SRAM data, hence no leakage and no clock limit)."""
    node = estimator_node(arch) if node is None else node
    if node is None:
        return []
    return [estimate_level(lvl, node, arch.dram) for lvl in arch.levels]


def leakage_mw(arch: Arch) -> float:
    """Leakage power (mW) of all SRAM instances of ``arch`` (0 for a ``table`` arch): the tables' leakage
    of each bank (scaled nodes: times the energy factor), summed over banks and instances."""
    return float(sum(e.leak_mw * lvl.instances for e, lvl in zip(level_estimates(arch), arch.levels)))


def sram_access_ns(arch: Arch, node: int | None = None) -> list[tuple[float, str]]:
    """``(one bank's access time in ns, level name)`` of each SRAM level of ``arch`` with access-time data
    (scaled nodes: the 45 nm times scaled by the delay factor); empty for a ``table`` arch."""
    return [(e.access_ns, e.name) for e in level_estimates(arch, node) if e.kind == "SRAM" and e.access_ns > 0]


def clock_limit_mhz(arch: Arch, node: int | None = None) -> tuple[float | None, str | None]:
    """The highest clock (MHz) at which every SRAM bank of ``arch`` completes one access per cycle,
    ``1000 / slowest access time (ns)``, and the name of that slowest level; ``(None, None)`` without
    SRAM data. Scaled nodes scale the 45 nm access times by the delay factor."""
    slow = sram_access_ns(arch, node)
    if not slow:
        return None, None
    ns, name = max(slow)
    return 1000.0 / ns, name


def check_clock(arch: Arch, node: int) -> None:
    """:class:`CosearchError` (one line) if ``arch.clock_mhz`` is above :func:`clock_limit_mhz` at ``node``."""
    if arch.clock_mhz is None:
        return
    limit, level = clock_limit_mhz(arch, node)
    if limit is not None and arch.clock_mhz > limit:
        raise CosearchError(f"clock {arch.clock_mhz:g} MHz is above the SRAM limit of {arch.name}: level {level} "
                            f"allows at most {limit:.1f} MHz at {node} nm (one access per cycle)")


# ---- area ---------------------------------------------------------------------------------------------
def area_breakdown(arch: Arch) -> dict[str, float]:
    """Total area (mm², all instances) per level, then ``MAC`` and ``PE overhead`` (the latter 0 unless
    the arch was costed by a ``cacti-*`` estimator, which folds it into ``mac.area_mm2``)."""
    out = {lvl.name: lvl.area_mm2 * lvl.instances for lvl in arch.levels}
    est = ESTIMATORS.get(arch.estimator)
    overhead = min(est.pe_overhead_mm2 if est is not None else 0.0, arch.mac.area_mm2)
    out["MAC"] = (arch.mac.area_mm2 - overhead) * arch.mac.instances
    out["PE overhead"] = overhead * arch.mac.instances
    return out


def arch_area_mm2(arch: Arch) -> float:
    """Total area in mm² (equals ``arch.area_mm2``)."""
    return float(sum(area_breakdown(arch).values()))


def energy_table(arch: Arch) -> list[dict[str, float | str]]:
    """Per level (then ``MAC``): read/fill/update pJ per word and the same normalised to one MAC."""
    mac = arch.mac.energy_pj or 1.0
    rows: list[dict[str, float | str]] = []
    for lvl in arch.levels:
        e = lvl.energy_pj
        rows.append({"level": lvl.name, "read_pj": e.read, "fill_pj": e.fill, "update_pj": e.update,
                     "read_per_mac": e.read / mac, "fill_per_mac": e.fill / mac})
    rows.append({"level": "MAC", "read_pj": arch.mac.energy_pj, "fill_pj": 0.0, "update_pj": 0.0,
                 "read_per_mac": arch.mac.energy_pj / mac, "fill_per_mac": 0.0})
    return rows


def calibrate_pe_overhead(node: int = 65, preset: str = "eyeriss-168", target_mm2: float = EYERISS_CORE_MM2) -> float:
    """The per-PE overhead (mm²) that makes ``preset`` costed at ``node`` nm (without overhead) reach
    ``target_mm2``: ``(target - modelled area) / PEs``. :data:`PE_OVERHEAD_MM2_65NM` is this value for
    Eyeriss v1, rounded."""
    from .io import load_arch  # local: io may import this module

    arch = Estimator(f"cacti-{node}nm", "uncalibrated", node, 0.0).apply(load_arch(preset))
    return (target_mm2 - arch.area_mm2) / arch.num_pes
