"""The numeric limits of cosearch's arithmetic and the checks that hold every input to them.

The cost model counts words, MACs and cycles in int64 and energies in float64 (pJ). Every number a
spec (arch, workload, mapping, constraints, hardware space) or an option (``--budget``, ``--seed``,
...) holds is checked against the limits below where it enters, so nothing downstream overflows,
wraps or turns into ``inf``/``NaN``:

* every integer is at most :data:`INT_MAX` (2**62, half of int64's range);
* the *work* of a layer, :func:`layer_work` (its MACs times its sliding-window factor, times its
  repeat count), is at most :data:`INT_MAX`. Every count the kernel forms (tile words, fills, reads,
  updates over all instances, compute cycles) is bounded by it: a tile of inputs covering extents
  ``p, r`` spans ``(p-1)·Wstride + (r-1)·Wdilation + 1 <= p·r·(Wstride + Wdilation)`` columns, and
  a level refills at most its tile once per iteration of the loops above it;
* the factors of one dimension in a mapping multiply to at most :data:`INT_MAX` (so the kernel's
  factorization check cannot wrap);
* every float is finite; energies and areas lie in ``[0, FLOAT_MAX]``, bandwidths in
  ``[BANDWIDTH_MIN, FLOAT_MAX]`` words/cycle, so counts × energies and words / bandwidth stay far
  below float64's 1.8e308 (an EDP is at most about 1e65 pJ·cycles);
* a linear hardware-space grid has at most :data:`GRID_MAX` values.

Pydantic models use these constants in their ``Field`` bounds (``le=INT_MAX``); options and library
arguments go through :func:`check_int` and :func:`check_float`. Messages name the field and the limit.
"""

from __future__ import annotations

import math
from typing import Any

from .errors import CosearchError

INT_MAX = 2**62
"""Largest integer a spec or option may hold, and the largest work of a layer (4,611,686,018,427,387,904)."""

FLOAT_MAX = 1e15
"""Largest energy (pJ per access or MAC), area (mm²) or bandwidth (words/cycle) a spec may hold."""

BANDWIDTH_MIN = 1e-9
"""Smallest bandwidth a spec may give, words/cycle (``None`` means unlimited)."""

GRID_MAX = 1_000_000
"""Most values a linear hardware-space grid may have."""


def int_limit_text(limit: int = INT_MAX) -> str:
    """``2**62 = 4,611,686,018,427,387,904`` for :data:`INT_MAX`, else the number with separators."""
    return f"2**62 = {limit:,}" if limit == INT_MAX else f"{limit:,}"


def check_int(value: Any, what: str, *, low: int = 0, high: int = INT_MAX) -> int:
    """``value`` as an int in ``[low, high]``, else :class:`CosearchError` naming ``what`` and the bound.

    Booleans and non-integral numbers are refused."""
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        else:
            raise CosearchError(f"{what} must be an integer, got {value!r}")
    if value < low:
        raise CosearchError(f"{what} must be >= {low:,}, got {int_text(value)}")
    if value > high:
        raise CosearchError(f"{what} must be at most {int_limit_text(high)}, got {int_text(value)}")
    return value


def int_text(value: int) -> str:
    """``value`` with separators, or ``a 401-digit number`` when it is too long for a one-line message."""
    digits = len(str(abs(value)))
    if digits <= 30:
        return f"{value:,}"
    return f"{'a negative' if value < 0 else 'a'} {digits}-digit number"


def check_float(value: Any, what: str, *, low: float = 0.0, high: float = FLOAT_MAX,
                low_open: bool = False) -> float:
    """``value`` as a finite float in ``[low, high]`` (``(low, high]`` if ``low_open``), else
    :class:`CosearchError` naming ``what`` and the bound."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise CosearchError(f"{what} must be a number, got {value!r}")
    x = float(value)
    if not math.isfinite(x):
        raise CosearchError(f"{what} must be a finite number, got {x}")
    if x < low or (low_open and x == low):
        raise CosearchError(f"{what} must be {'>' if low_open else '>='} {low:g}, got {x:g}")
    if x > high:
        raise CosearchError(f"{what} must be at most {high:g}, got {x:g}")
    return x


def layer_work(dims: tuple[int, ...], wstride: int, wdilation: int, hstride: int, hdilation: int,
               count: int = 1) -> int:
    """The bound on every count the kernel forms for a layer: ``prod(dims) · (wstride + wdilation) ·
    (hstride + hdilation) · count`` (an exact Python int)."""
    return math.prod(dims) * (wstride + wdilation) * (hstride + hdilation) * count


def work_error(work: int) -> str | None:
    """The message for a layer whose :func:`layer_work` exceeds :data:`INT_MAX`, else ``None``."""
    if work <= INT_MAX:
        return None
    return (f"too large: N·G·K·C·P·Q·R·S × (Wstride+Wdilation) × (Hstride+Hdilation) × count = {work:.3g} "
            f"exceeds {int_limit_text()} (the cost model counts in int64)")
