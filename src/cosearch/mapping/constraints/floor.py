"""The utilisation floor's dynamic programme: the largest product of spatial factors a set of dims can
still reach in the mesh room that is left (used by the constrained sampler to keep only mappings that can
meet a ``utilization`` constraint)."""

from __future__ import annotations

from functools import lru_cache

import numpy as np


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
    best = np.zeros((1 << J, vx.size, vy.size), dtype=np.int64)
    best[0] = 1
    for mask in range(1, 1 << J):
        j = (mask & -mask).bit_length() - 1
        rest = best[mask ^ (1 << j)]
        cur = np.zeros((vx.size, vy.size), dtype=np.int64)
        for x, y in options[j]:
            okx = vx >= x
            oky = vy >= y
            nxt = rest[ix_of[vx // x]][:, iy_of[vy // y]] * (x * y)
            cur = np.maximum(cur, np.where(okx[:, None] & oky[None, :], nxt, 0))
        best[mask] = cur
    for arr in (best, vx, vy, ix_of, iy_of):
        arr.setflags(write=False)
    return best, vx, vy, ix_of, iy_of

__all__ = ["max_spatial_product"]
