"""Technology nodes: which exist, and how the 45 nm tables scale to 32–7 nm.

65 and 45 nm come straight from the CACTI tables of ``cosearch/arch/data``. The smaller nodes (32, 28,
22, 16, 14, 10 and 7 nm) are the 45 nm numbers multiplied by the scaling factors of

    A. Stillmaker and B. Baas, "Scaling equations for the accurate prediction of CMOS device
    performance from 180 nm to 7 nm", Integration, the VLSI Journal 58 (2017) 74–81,
    doi:10.1016/j.vlsi.2017.02.002 (with its corrigendum for equations 12–14).

The paper fits, per node, a cubic in the supply voltage for gate delay and a quadratic for energy per
operation (HSpice on PTM models for 45/32 nm, ITRS-based models for 20–7 nm), and tabulates area
scaling factors between nodes. cosearch uses:

* **energy**: ``E(node, V) / E(45 nm, V)`` with the paper's high-performance (HP) energy polynomials
  (``a·V² + b·V + c``) evaluated at one common supply :data:`SCALING_VDD` = 0.8 V for every node (the
  convention of the ``hwcomponents`` package that produced the CACTI tables; the paper's nominal
  voltages per node are not used, so voltage scaling is not mixed into node scaling);
* **delay**: the same ratio of the paper's HP delay polynomials (``a·V³ + b·V² + c·V + d``) at 0.8 V,
  applied to SRAM access times (the clock limit);
* **area**: the paper's area scaling factors from 45 nm (its table of node-to-node factors, row 45 nm).

The paper has no 28 or 22 nm entries (its nodes are 45, 32, 20, 16, 14, 10, 7): those two nodes
interpolate each factor linearly in the node size between 32 and 20 nm, and are marked ``interpolated``.
Leakage power scales with the energy factor (the paper's static-power fit is not used; the same
choice ``hwcomponents`` makes). Every scaled node is reported as scaled (``scaled: true``).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from ..errors import CosearchError

TABLE_NODES: tuple[int, ...] = (45, 65)
"""Nodes (nm) the CACTI tables cover directly."""
SCALED_NODES: tuple[int, ...] = (32, 28, 22, 16, 14, 10, 7)
"""Nodes (nm) derived from 45 nm by :func:`scale_factors`."""
NODES: tuple[int, ...] = tuple(sorted(TABLE_NODES + SCALED_NODES, reverse=True))
"""Every node cosearch can cost, largest first: 65, 45, 32, 28, 22, 16, 14, 10, 7."""
BASE_NODE = 45
"""The node the scaled nodes are derived from."""
SCALING_VDD = 0.8
"""Supply voltage (V) at which the polynomials are evaluated for every node."""
SCALING_SOURCE = ("Stillmaker & Baas 2017 (Integration 58:74-81), HP fits at 0.8 V, from 45 nm")
"""How scaled numbers were obtained, as outputs state it."""

# Stillmaker & Baas 2017, fitted coefficients per node (PTM HP for 45 and 32 nm; the paper's 20-7 nm
# models): delay polynomial (a, b, c, d) of a·V³ + b·V² + c·V + d, energy polynomial (a, b, c) of
# a·V² + b·V + c. Units cancel in the ratios.
_DELAY_POLY: dict[int, tuple[float, float, float, float]] = {
    45: (-501.6, 1567.0, -1619.0, 566.1),
    32: (-1047.0, 2982.0, -2797.0, 873.5),
    20: (0.0, 34.63, -66.37, 41.15),
    16: (0.0, 24.8, -47.52, 28.87),
    14: (-40.66, 109.2, -100.6, 35.92),
    10: (-34.95, 93.65, -85.99, 30.4),
    7: (-28.58, 76.6, -70.26, 24.69),
}
_ENERGY_POLY: dict[int, tuple[float, float, float]] = {
    45: (1.018, -0.3107, 0.1539),
    32: (0.8367, -0.4341, 0.1701),
    20: (0.373, -0.1582, 0.04104),
    16: (0.2958, -0.1241, 0.03024),
    14: (0.2363, -0.09675, 0.02239),
    10: (0.2068, -0.09311, 0.02375),
    7: (0.1776, -0.09097, 0.02447),
}
# the paper's area scaling factors from 45 nm to each node
_AREA_FROM_45: dict[int, float] = {45: 1.0, 32: 0.46, 20: 0.21, 16: 0.19, 14: 0.17, 10: 0.1, 7: 0.059}
_PAPER_NODES = tuple(sorted(_AREA_FROM_45, reverse=True))  # 45, 32, 20, 16, 14, 10, 7


@dataclass(frozen=True)
class ScaleFactors:
    """Multipliers from 45 nm to ``node``: dynamic energy (and leakage), delay, area."""

    node: int
    energy: float
    delay: float
    area: float
    interpolated: bool


def _delay(node: int, v: float = SCALING_VDD) -> float:
    a, b, c, d = _DELAY_POLY[node]
    return a * v**3 + b * v**2 + c * v + d


def _energy(node: int, v: float = SCALING_VDD) -> float:
    a, b, c = _ENERGY_POLY[node]
    return a * v**2 + b * v + c


def _paper_factors(node: int) -> tuple[float, float, float]:
    return (_energy(node) / _energy(BASE_NODE), _delay(node) / _delay(BASE_NODE), _AREA_FROM_45[node])


def scale_factors(node: int) -> ScaleFactors:
    """The factors from 45 nm to ``node`` (one of :data:`SCALED_NODES`, or 45 itself: all 1).

    Nodes of the paper use its fits directly; 28 and 22 nm interpolate every factor linearly in the
    node size between the paper's 32 and 20 nm."""
    if node == BASE_NODE:
        return ScaleFactors(node, 1.0, 1.0, 1.0, False)
    if node not in SCALED_NODES:
        raise CosearchError(f"no scaling from {BASE_NODE} nm to {node} nm "
                            f"(scaled nodes: {', '.join(map(str, SCALED_NODES))} nm)")
    if node in _AREA_FROM_45:
        return ScaleFactors(node, *_paper_factors(node), False)
    hi = min(n for n in _PAPER_NODES if n > node)
    lo = max(n for n in _PAPER_NODES if n < node)
    t = (node - lo) / (hi - lo)
    fl, fh = _paper_factors(lo), _paper_factors(hi)
    e, d, a = (x + (y - x) * t for x, y in zip(fl, fh))
    return ScaleFactors(node, e, d, a, True)


def is_scaled(node: int) -> bool:
    """True for nodes derived by scaling (not in the tables)."""
    return node in SCALED_NODES


def parse_node(text: object, *, what: str = "technology") -> int:
    """A node given as ``22nm``, ``22 nm``, ``22`` (or an int): its size in nm, if cosearch has it;
    else :class:`CosearchError` (one line) listing the nodes."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(nm)?\s*", str(text), flags=re.IGNORECASE)
    value = float(m.group(1)) if m else math.nan
    if not (math.isfinite(value) and value.is_integer() and int(value) in NODES):
        raise CosearchError(f"{what}: unknown technology node {text!r} "
                            f"(choose from {', '.join(f'{n}nm' for n in NODES)})")
    return int(value)


def node_label(node: int) -> str:
    """``"22nm"``."""
    return f"{node}nm"
