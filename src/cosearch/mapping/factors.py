"""Integer helpers for map spaces: prime factors, divisor tables, counting and sampling factorizations,
and a vectorised "pick one allowed column per row" draw.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np


def prime_factors(n: int) -> dict[int, int]:
    """``{prime: exponent}`` of ``n >= 1`` (empty for 1), by trial division."""
    if n < 1:
        raise ValueError(f"prime_factors needs n >= 1, got {n}")
    out: dict[int, int] = {}
    p = 2
    while p * p <= n:
        while n % p == 0:
            out[p] = out.get(p, 0) + 1
            n //= p
        p += 1 if p == 2 else 2
    if n > 1:
        out[n] = out.get(n, 0) + 1
    return out


def divisors(n: int) -> np.ndarray:
    """Sorted divisors of ``n >= 1`` as int64 ``[num_divisors]`` (starts with 1, ends with ``n``)."""
    divs = [1]
    for p, a in prime_factors(n).items():
        divs = [d * p**e for d in divs for e in range(a + 1)]
    return np.array(sorted(divs), dtype=np.int64)


def divisor_table(sizes: Sequence[int]) -> np.ndarray:
    """``[len(sizes), max_divisors]`` int64: row ``i`` lists the divisors of ``sizes[i]`` ascending,
    padded on the right with 0 (column 0 is always 1)."""
    rows = [divisors(int(s)) for s in sizes]
    width = max(len(r) for r in rows)
    out = np.zeros((len(rows), width), dtype=np.int64)
    for i, r in enumerate(rows):
        out[i, : len(r)] = r
    return out


def count_ordered_factorizations(n: int, k: int) -> int:
    """Number of ways to write ``n`` as an ordered product of ``k`` positive integers
    (``Π_p C(a_p + k - 1, k - 1)`` over the prime powers ``p^a_p`` of ``n``)."""
    if k < 1:
        return 1 if n == 1 else 0
    return math.prod(math.comb(a + k - 1, k - 1) for a in prime_factors(n).values())


def random_factorizations(count: int, n: int, k: int, rng: np.random.Generator) -> np.ndarray:
    """``[count, k]`` int64, each row an ordered factorization of ``n`` into ``k`` factors drawn
    uniformly among all :func:`count_ordered_factorizations` ``(n, k)`` of them (stars and bars per prime)."""
    out = np.ones((count, k), dtype=np.int64)
    if k == 1:
        out[:, 0] = n
        return out
    for p, a in prime_factors(n).items():
        # a stars and k-1 bars in a+k-1 positions: choose the bar positions uniformly
        pos = np.argsort(rng.random((count, a + k - 1)), axis=1)[:, : k - 1]
        pos.sort(axis=1)
        edges = np.concatenate(
            [np.full((count, 1), -1), pos, np.full((count, 1), a + k - 1)], axis=1
        )
        exps = np.diff(edges, axis=1) - 1  # stars between consecutive bars, [count, k]
        out *= np.power(p, exps)
    return out


def choose_uniform(ok: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """For a bool ``ok [R, n]`` with at least one True per row, the column index ``[R]`` of one True
    entry per row, uniformly at random. Rows with no True get index 0."""
    cs = np.cumsum(ok, axis=1)
    cnt = cs[:, -1]
    k = (rng.random(ok.shape[0]) * cnt).astype(np.int64)  # 0 <= k < cnt
    return np.argmax(cs > k[:, None], axis=1)



FACTORIZATIONS: tuple[str, ...] = ("perfect", "imperfect")
"""The map space's factorization modes: ``perfect`` (every dim's factors multiply to its size) or
``imperfect`` (they may multiply to more; the last tile along a dim is then a remainder tile)."""

DEFAULT_MAX_PADDING = 0.25
"""Default cap on padding under imperfect factorization: a dim's factors multiply to at most
``(1 + 0.25) × size``."""


def padding_limits(dims: Sequence[int] | np.ndarray, max_padding: float) -> np.ndarray:
    """``[D]`` int64: the largest product of a dim's factors the padding cap allows,
    ``floor((1 + max_padding) · size)`` (never below the size; exact for sizes up to 2**52)."""
    sizes = np.asarray(dims, dtype=np.int64)
    raw = np.floor((1.0 + float(max_padding)) * sizes.astype(np.float64) * (1.0 + 1e-12))
    return np.maximum(raw.astype(np.int64), sizes)


def ceil_div(a: int | np.ndarray, b: int | np.ndarray) -> int | np.ndarray:
    """``ceil(a / b)`` in integers (``b >= 1``)."""
    return -(-a // b)


def efficient_factors(rest: int) -> np.ndarray:
    """int64 ``[n]`` ascending: the factors ``v`` of a remainder ``rest`` under imperfect factorization
    that are the smallest giving their number of outer iterations ``ceil(rest / v)`` (every divisor of
    ``rest`` is one; a larger ``v`` with the same count only pads more). About ``2·sqrt(rest)`` values."""
    out = [1]
    v = 1
    while True:
        q = ceil_div(rest, v) - 1
        if q < 1:
            break
        v = int(ceil_div(rest, q))
        out.append(v)
    return np.array(out, dtype=np.int64)
