"""Every neighbor of a batch of mappings in one compiled pass (the factor, order, keep and exchange
moves of :class:`~cosearch.mapping.moves.MoveSet`, perfect factorization).

:func:`all_neighbors` returns exactly the rows, in exactly the order, that concatenating the
``MoveSet`` methods ``_prime_neighbors``, ``order_neighbors``, ``keep_neighbors`` and
``exchange_neighbors`` gives (tests), without building each kind's batch separately: the descent of
``auto`` asks for about a hundred neighbors per start and round, thousands of times per search.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, nogil=True, _nrt=False)
def _count(F: np.ndarray, temporal: np.ndarray, factor_moves: np.ndarray, order_moves: np.ndarray,
           n_keep: int, exchange_moves: np.ndarray, exchanges: bool, n: np.ndarray) -> None:
    """Per kind (factor, order, keep, exchange): how many neighbors the batch has, into ``n [4]`` (zeros)."""
    S = F.shape[0]
    for s in range(S):
        for m in range(factor_moves.shape[0]):
            d, p, i = factor_moves[m, 0], factor_moves[m, 1], factor_moves[m, 2]
            if F[s, i, d] % p == 0:
                n[0] += 1
        for m in range(order_moves.shape[0]):
            lv, a, b = order_moves[m, 0], order_moves[m, 1], order_moves[m, 2]
            if temporal[s, lv, a] > 1 and temporal[s, lv, b] > 1:
                n[1] += 1
        n[2] += n_keep
        if exchanges:
            for m in range(exchange_moves.shape[0]):
                d1, p1, d2, p2 = exchange_moves[m, 0], exchange_moves[m, 1], exchange_moves[m, 2], exchange_moves[m, 3]
                i, j = exchange_moves[m, 4], exchange_moves[m, 5]
                if F[s, i, d1] % p1 == 0 and F[s, j, d2] % p2 == 0:
                    n[3] += 1


@njit(cache=True, nogil=True, _nrt=False)
def _copy_start(s: int, r: int, temporal, sx, sy, order, keep, t_out, sx_out, sy_out, o_out, k_out) -> None:
    """Row ``r`` of the outputs = start ``s`` (element by element: a slice copy would need the runtime)."""
    for lv in range(temporal.shape[1]):
        for d in range(temporal.shape[2]):
            t_out[r, lv, d] = temporal[s, lv, d]
            sx_out[r, lv, d] = sx[s, lv, d]
            sy_out[r, lv, d] = sy[s, lv, d]
            o_out[r, lv, d] = order[s, lv, d]
        for k in range(keep.shape[2]):
            k_out[r, lv, k] = keep[s, lv, k]


@njit(cache=True, nogil=True, _nrt=False)
def _from_slots(s: int, r: int, G: np.ndarray, fanout: int, order, keep, t_out, sx_out, sy_out, o_out,
                k_out) -> None:
    """Row ``r`` from slots ``G [L + 2, D]`` (spatial factors only at the fan-out level) and start
    ``s``'s order and keep."""
    L = t_out.shape[1]
    for lv in range(L):
        for d in range(t_out.shape[2]):
            t_out[r, lv, d] = G[lv, d]
            sx_out[r, lv, d] = G[L, d] if lv == fanout else 1
            sy_out[r, lv, d] = G[L + 1, d] if lv == fanout else 1
            o_out[r, lv, d] = order[s, lv, d]
        for k in range(keep.shape[2]):
            k_out[r, lv, k] = keep[s, lv, k]


@njit(cache=True, nogil=True, _nrt=False)
def _copy_slots(F: np.ndarray, s: int, G: np.ndarray) -> None:
    """``G [L + 2, D]`` = start ``s``'s slots ``F[s]``."""
    for i in range(G.shape[0]):
        for d in range(G.shape[1]):
            G[i, d] = F[s, i, d]


@njit(cache=True, nogil=True, _nrt=False)
def _fill(F, temporal, sx, sy, order, keep, fanout, factor_moves, order_moves, keep_moves, exchange_moves,
          exchanges, counts, t_out, sx_out, sy_out, o_out, k_out, owner, G) -> None:
    """Write every neighbor, kind by kind and within a kind start by start, move by move (``G [L + 2, D]``:
    scratch for one row of slots)."""
    S = F.shape[0]
    r = 0
    for s in range(S):  # factor moves: one prime of one dim from slot i to slot j
        for m in range(factor_moves.shape[0]):
            d, p, i, j = factor_moves[m, 0], factor_moves[m, 1], factor_moves[m, 2], factor_moves[m, 3]
            if F[s, i, d] % p == 0:
                _copy_slots(F, s, G)
                G[i, d] //= p
                G[j, d] *= p
                _from_slots(s, r, G, fanout, order, keep, t_out, sx_out, sy_out, o_out, k_out)
                owner[r] = s
                r += 1
    for s in range(S):  # order moves: two loops with factors > 1 swap ranks at one level
        for m in range(order_moves.shape[0]):
            lv, a, b = order_moves[m, 0], order_moves[m, 1], order_moves[m, 2]
            if temporal[s, lv, a] > 1 and temporal[s, lv, b] > 1:
                _copy_start(s, r, temporal, sx, sy, order, keep, t_out, sx_out, sy_out, o_out, k_out)
                o_out[r, lv, a] = order[s, lv, b]
                o_out[r, lv, b] = order[s, lv, a]
                owner[r] = s
                r += 1
    for s in range(S):  # keep moves: one bypassable flag flips
        for m in range(keep_moves.shape[0]):
            _copy_start(s, r, temporal, sx, sy, order, keep, t_out, sx_out, sy_out, o_out, k_out)
            k_out[r, keep_moves[m, 0], keep_moves[m, 1]] = not keep[s, keep_moves[m, 0], keep_moves[m, 1]]
            owner[r] = s
            r += 1
    if exchanges:
        for s in range(S):  # exchanges: a prime of one dim goes i -> j, a prime of another j -> i
            for m in range(exchange_moves.shape[0]):
                d1, p1, d2, p2 = exchange_moves[m, 0], exchange_moves[m, 1], exchange_moves[m, 2], exchange_moves[m, 3]
                i, j = exchange_moves[m, 4], exchange_moves[m, 5]
                if F[s, i, d1] % p1 == 0 and F[s, j, d2] % p2 == 0:
                    _copy_slots(F, s, G)
                    G[i, d1] //= p1
                    G[j, d1] *= p1
                    G[j, d2] //= p2
                    G[i, d2] *= p2
                    _from_slots(s, r, G, fanout, order, keep, t_out, sx_out, sy_out, o_out, k_out)
                    owner[r] = s
                    r += 1


def all_neighbors(F: np.ndarray, temporal: np.ndarray, sx: np.ndarray, sy: np.ndarray, order: np.ndarray,
                  keep: np.ndarray, fanout: int, factor_moves: np.ndarray, order_moves: np.ndarray,
                  keep_moves: np.ndarray, exchange_moves: np.ndarray, exchanges: bool) -> tuple[np.ndarray, ...]:
    """Every neighbor of ``S`` starts (``F``: slots ``[S, L + 2, D]``; ``temporal``, ``sx``, ``sy``,
    ``order``: ``[S, L, D]`` int64; ``keep``: ``[S, L, 3]`` bool; move tables as in ``MoveSet``).

    Returns ``(temporal, spatial_x, spatial_y, order, keep, owner)`` of the ``N`` neighbors (``owner``
    ``[N]``: the start each came from)."""
    counts = np.zeros(4, dtype=np.int64)
    _count(F, temporal, factor_moves, order_moves, len(keep_moves), exchange_moves, exchanges, counts)
    N = int(counts.sum())
    S, L, D = temporal.shape
    t_out = np.empty((N, L, D), dtype=np.int64)
    sx_out = np.empty_like(t_out)
    sy_out = np.empty_like(t_out)
    o_out = np.empty_like(t_out)
    k_out = np.empty((N, L, keep.shape[2]), dtype=np.bool_)
    owner = np.empty(N, dtype=np.int64)
    _fill(F, temporal, sx, sy, order, keep, fanout, factor_moves, order_moves, keep_moves, exchange_moves,
          exchanges, counts, t_out, sx_out, sy_out, o_out, k_out, owner, np.empty_like(F[0]))
    return t_out, sx_out, sy_out, o_out, k_out, owner
