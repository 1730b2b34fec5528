"""Problem dimensions and data spaces, in the order every array in cosearch uses.

Dimensions follow Timeloop's CNN naming, extended with ``G`` (groups / attention heads):

* ``N`` batch, ``G`` groups, ``K`` output channels per group, ``C`` input channels per group,
* ``P`` output width (paired with filter width ``R``, ``Wstride``, ``Wdilation``),
* ``Q`` output height (paired with filter height ``S``, ``Hstride``, ``Hdilation``).

Data spaces: ``Weights[G,K,C,S,R]``, ``Inputs[N,G,C,H,W]``, ``Outputs[N,G,K,Q,P]``.
"""

from __future__ import annotations

DIMS: tuple[str, ...] = ("N", "G", "K", "C", "P", "Q", "R", "S")
"""Problem dimensions; axis ``-1`` of every ``[..., D]`` array follows this order."""
NUM_DIMS = len(DIMS)
DIM_INDEX: dict[str, int] = {d: i for i, d in enumerate(DIMS)}

REFERENCE_DIMS: tuple[str, ...] = ("N", "K", "C", "P", "Q", "R", "S")
"""Timeloop's seven CNN dimensions (no ``G``), as in ``shared/reference``."""

DATASPACES: tuple[str, ...] = ("Weights", "Inputs", "Outputs")
NUM_DATASPACES = len(DATASPACES)
DS_INDEX: dict[str, int] = {d: i for i, d in enumerate(DATASPACES)}
WEIGHTS, INPUTS, OUTPUTS = 0, 1, 2

RELEVANT: dict[str, frozenset[str]] = {
    "Weights": frozenset("GKCRS"),
    "Inputs": frozenset("NGCPQRS"),
    "Outputs": frozenset("NGKPQ"),
}
"""Dimensions each data space depends on (a loop over any other dimension reuses the data)."""

REDUCTION_DIMS = frozenset("CRS")
"""Dimensions summed over into each output (partial sums)."""


def parse_permutation(text: str) -> list[str]:
    """Parse a loop-order string such as ``"NKCPQRS"`` (outer -> inner) into dimension names.

    Dimensions missing from the string are placed outermost, in :data:`DIMS` order; they matter
    only if their factor at that level is above 1.
    """
    letters = [ch for ch in text.strip() if not ch.isspace()]
    unknown = [ch for ch in letters if ch not in DIM_INDEX]
    if unknown:
        raise ValueError(f"unknown dimension(s) {''.join(unknown)!r} in loop order {text!r}")
    if len(set(letters)) != len(letters):
        raise ValueError(f"repeated dimension in loop order {text!r}")
    missing = [d for d in DIMS if d not in letters]
    return missing + letters
