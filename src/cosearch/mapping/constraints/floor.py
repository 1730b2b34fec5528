"""The utilisation floor's dynamic programme: the largest product of spatial factors a set of dims can
still reach in the mesh room that is left (used by the constrained sampler to keep only mappings that can
meet a ``utilization`` constraint)."""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from numba import njit


def max_spatial_product(
    options: list[list[tuple[int, int]]], cap_x: int, cap_y: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Dynamic programme over subsets of dims for the utilisation floor.

    ``options[j]``: the ``(x, y)`` spatial factor pairs dim ``j`` may take. Caps are remaining mesh
    room; after a factor ``v`` the room is ``cap // v``, so room values are in ``{cap // k}``.
    Returns ``best [2^J, nx, ny]`` (largest product of ``x·y`` over the dims of a subset given the room
    with index ``ix``/``iy``), the room values ``vx``, ``vy``, and index lookups ``ix_of [cap_x+1]``,
    ``iy_of [cap_y+1]``. Results are cached (co-design asks for the same mesh and layer often) and
    read-only.
    """
    return _max_spatial_product(tuple(tuple(map(tuple, o)) for o in options), int(cap_x), int(cap_y))


@lru_cache(maxsize=512)
def _max_spatial_product(
    options: tuple[tuple[tuple[int, int], ...], ...], cap_x: int, cap_y: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    vx = np.array(sorted({cap_x // k for k in range(1, cap_x + 1)}), dtype=np.int64)
    vy = np.array(sorted({cap_y // k for k in range(1, cap_y + 1)}), dtype=np.int64)
    ix_of = np.zeros(cap_x + 1, dtype=np.int64)
    iy_of = np.zeros(cap_y + 1, dtype=np.int64)
    ix_of[vx] = np.arange(vx.size)
    iy_of[vy] = np.arange(vy.size)
    J = len(options)
    counts = np.array([len(o) for o in options], dtype=np.int64)
    start = np.r_[0, np.cumsum(counts)].astype(np.int64)
    pairs = np.array([xy for o in options for xy in o], dtype=np.int64).reshape(-1, 2)
    best = np.zeros((1 << J, vx.size, vy.size), dtype=np.int64)
    _fill_best(best, pairs, start, vx, vy, ix_of, iy_of)
    for arr in (best, vx, vy, ix_of, iy_of):
        arr.setflags(write=False)
    return best, vx, vy, ix_of, iy_of


@njit(cache=True, nogil=True)
def _fill_best(best: np.ndarray, pairs: np.ndarray, start: np.ndarray, vx: np.ndarray, vy: np.ndarray,
               ix_of: np.ndarray, iy_of: np.ndarray) -> None:
    """``best[mask, a, b]``: the largest product of spatial factors of the dims in ``mask`` within room
    ``(vx[a], vy[b])``; a subset adds its lowest dim ``j`` (factor pairs ``pairs[start[j]:start[j+1]]``)
    to the best of the rest within the room that factor leaves."""
    best[0] = 1
    for mask in range(1, best.shape[0]):
        j = 0
        while not (mask >> j) & 1:
            j += 1
        rest = mask ^ (1 << j)
        for a in range(vx.size):
            for b in range(vy.size):
                top = 0
                for k in range(start[j], start[j + 1]):
                    x, y = pairs[k, 0], pairs[k, 1]
                    if vx[a] >= x and vy[b] >= y:
                        v = best[rest, ix_of[vx[a] // x], iy_of[vy[b] // y]] * (x * y)
                        if v > top:
                            top = v
                best[mask, a, b] = top


__all__ = ["max_spatial_product"]
