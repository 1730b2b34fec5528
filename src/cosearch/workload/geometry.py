"""Data-space geometry: which problem dims move which data-space axes, and tile sizes.

Each data space is a box over its axes. A loop over a problem dim moves at most one axis:
Weights axes ``(G, K, C, S, R)``; Inputs ``(N, G, C, H, W)`` where ``P`` moves ``W`` by ``Wstride``
and ``R`` moves it by ``Wdilation`` (``Q``/``S`` likewise for ``H``); Outputs ``(N, G, K, Q, P)``.
"""

from __future__ import annotations

import numpy as np

from ..dims import DIM_INDEX, NUM_DIMS
from .layer import Layer

NUM_AXES = 5

_AXES_OF = {
    "Weights": {"G": 0, "K": 1, "C": 2, "S": 3, "R": 4},
    "Inputs": {"N": 0, "G": 1, "C": 2, "Q": 3, "S": 3, "P": 4, "R": 4},
    "Outputs": {"N": 0, "G": 1, "K": 2, "Q": 3, "P": 4},
}


def translation_matrix(dataspace: str, layer: Layer) -> np.ndarray:
    """``[D, 5]`` int64: how far one index step of each problem dim moves each data-space axis."""
    coef = {"P": layer.Wstride, "R": layer.Wdilation, "Q": layer.Hstride, "S": layer.Hdilation}
    out = np.zeros((NUM_DIMS, NUM_AXES), dtype=np.int64)
    for dim, axis in _AXES_OF[dataspace].items():
        out[DIM_INDEX[dim], axis] = coef.get(dim, 1) if dataspace == "Inputs" else 1
    return out


def axis_extents(dataspace: str, ext: np.ndarray, layer: Layer) -> np.ndarray:
    """Box extents ``[..., 5]`` of a data space for problem-dim extents ``ext[..., D]``."""
    e = {d: ext[..., i] for d, i in DIM_INDEX.items()}
    if dataspace == "Weights":
        cols = [e["G"], e["K"], e["C"], e["S"], e["R"]]
    elif dataspace == "Outputs":
        cols = [e["N"], e["G"], e["K"], e["Q"], e["P"]]
    else:
        h = (e["Q"] - 1) * layer.Hstride + (e["S"] - 1) * layer.Hdilation + 1
        w = (e["P"] - 1) * layer.Wstride + (e["R"] - 1) * layer.Wdilation + 1
        cols = [e["N"], e["G"], e["C"], h, w]
    return np.stack(cols, axis=-1)


def tile_words(dataspace: str, ext: np.ndarray, layer: Layer) -> np.ndarray:
    """Words in the bounding box of a data space for problem-dim extents ``ext[..., D]``."""
    return axis_extents(dataspace, ext, layer).prod(axis=-1)


def distinct_windows(n_a: np.ndarray, n_b: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Number of distinct values of ``x·a + y·b`` for ``0 <= x < n_a``, ``0 <= y < n_b`` (a, b >= 1).

    With ``g = gcd(a, b)``, pairs ``(x, y)`` and ``(x - b/g, y + a/g)`` collide; counting chains gives
    ``n_a·n_b - max(0, n_a - b/g)·max(0, n_b - a/g)``. This is how many distinct input windows PEs
    hold when both an output dim and its filter dim are spread spatially (the diagonal case).
    """
    g = np.gcd(a, b)
    return n_a * n_b - np.maximum(0, n_a - b // g) * np.maximum(0, n_b - a // g)
