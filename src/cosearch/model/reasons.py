"""Why a mapping is invalid: the reason codes the cost model reports, and their text."""

from __future__ import annotations

from ..arch.spec import Arch
from ..mapping.factors import FACTORIZATIONS  # noqa: F401  (the modes, defined once with the map space)

REASON_VALID = 0
REASON_FACTORIZATION = 1
REASON_FANOUT_X = 2
REASON_FANOUT_Y = 3
REASON_FANOUT_TOTAL = 4
REASON_CAPACITY = 5
"""Reason codes; ``REASON_CAPACITY + level`` means the tiles kept at ``level`` exceed its size.
When several apply, the first in this order is reported (as Timeloop does): factorization, total
fan-out, X, Y, then capacity from the innermost level out, then (imperfect factorization only)
:func:`reason_windows`."""



def reason_windows(num_levels: int) -> int:
    """Code of ``imperfect_windows`` for an arch of ``num_levels`` levels (after its capacity codes): a
    sliding-window pair (P and R, or Q and S) spread together over the PE array while one of them has a
    remainder, a case the model does not count exactly and so refuses."""
    return REASON_CAPACITY + num_levels


def reason_names(arch: Arch) -> list[str]:
    """Text of every reason code for ``arch``: ``""``, ``factorization``, ``fanout_x``, ``fanout_y``,
    ``fanout_total``, then ``capacity:<level>`` for each level, then ``imperfect_windows``."""
    return ["", "factorization", "fanout_x", "fanout_y", "fanout_total"] + [
        f"capacity:{lvl.name}" for lvl in arch.levels
    ] + ["imperfect_windows"]
