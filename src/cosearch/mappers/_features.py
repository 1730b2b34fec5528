"""Features of a batch of mappings for surrogate models (the BO searchers in :mod:`cosearch.mappers._bo`).

Two encodings of a :class:`~cosearch.mapping.mapping.Mappings` batch for one ``arch``/``layer``, both
float64 ``[B, F]`` and computed with NumPy over the whole batch (loops run over levels, dims and data
spaces, never over mappings):

* :func:`domain_features` — "domain-aware" features in the spirit of the paper's follow-up
  (Spotlight): tile extents, iteration counts, spatial utilisation, loop-order reuse, bypass, and
  rough traffic estimates (all in log2 where they are multiplicative). They make the objective
  smoother as a function of the inputs than the raw parameters do.
* :func:`raw_features` — the raw integer parameters flattened (log2 factors, loop-order ranks, keep
  flags): what a "vanilla" BO sees.

Columns may be constant for a given arch/layer (dims of size 1, fixed keep flags, level 0's extents);
callers standardise and drop zero-variance columns (the optimizers do that on their training set).
:func:`domain_feature_names` / :func:`raw_feature_names` name the columns, for inspection.

Domain features, in column order (``L`` levels outer -> inner, ``f`` the fan-out level, ``D = 8``):

1. ``ext[l][d]`` (l = 1..L-1): log2 of the tile extent of dim ``d`` at level ``l`` = product of all
   factors (temporal and spatial) at ``l`` and below — cumulative from the innermost level.
2. ``iters[l]`` (l = 0..L-1): log2 of the level's temporal iteration count ``Π_d temporal[l, d]``;
   ``compute_cycles``: log2 of ``Π`` over all levels (the ideal cycle count, MACs / PEs used).
3. ``sx[d]``, ``sy[d]``: log2 spatial factors over the mesh's X / Y at the fan-out level;
   ``log2_pes_x``, ``log2_pes_y``, and ``pe_util`` = PEs used / PEs (linear, in (0, 1]).
4. ``tile[l][ds]`` (l = 1..L-1): log2 words of each data space's tile at level ``l`` (Inputs with the
   halo); ``fill[l]`` for bounded levels: fraction of the capacity (in bits) used by the kept tiles.
5. ``reuse[l][ds]`` (l = 0..L-1): log2 of the product of the trip counts of the loops at level ``l``
   nested *inside* the innermost loop relevant to ``ds`` (how many iterations a tile of ``ds`` below
   stays unchanged); ``stationary[l][ds]`` = 1 if level ``l`` has no relevant loop over 1 at all.
6. ``refetch[l][ds]`` (l = 1..L-1): log2 of how often a level-``l`` tile of ``ds`` changes per
   instance: all temporal iterations above ``l`` minus the innermost run of irrelevant loops above it
   (which may span several levels when a level has no relevant loop); ``traffic[l][ds]`` = ``tile +
   refetch`` (+ the log2 number of distinct spatial copies below the fan-out): the words moved into
   level ``l``, a rough (Timeloop-free) estimate.
7. ``keep[l][ds]``: effective keep flags (0/1) after the arch's fixed sets.
"""

from __future__ import annotations

import numpy as np

from ..arch.spec import Arch
from ..dims import DATASPACES, DIMS, NUM_DATASPACES, RELEVANT
from ..mapping.keep import effective_keep
from ..mapping.mapping import Mappings
from ..workload.geometry import tile_words
from ..workload.layer import Layer

_REL = np.array([[d in RELEVANT[ds] for d in DIMS] for ds in DATASPACES], dtype=bool)  # [3, D]


def _level_reuse(temporal: np.ndarray, order: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per level and data space: log2 trip count of the loops inside the innermost relevant loop,
    and whether the level has no relevant loop over 1. Also log2 of each level's iterations.

    ``temporal``, ``order``: ``[B, L, D]``. Returns ``reuse [B, L, 3]``, ``stationary [B, L, 3]``
    (float 0/1) and ``iters [B, L]``.
    """
    lt = np.log2(temporal.astype(np.float64))  # [B, L, D]
    active = temporal > 1
    iters = lt.sum(axis=2)
    B, L, _ = temporal.shape
    reuse = np.zeros((B, L, NUM_DATASPACES))
    stationary = np.zeros((B, L, NUM_DATASPACES))
    for di in range(NUM_DATASPACES):
        rel = active & _REL[di][None, None, :]
        inner_rel = np.where(rel, order, -1).max(axis=2)  # [B, L] rank of the innermost relevant loop
        inside = active & (order > inner_rel[:, :, None])  # loops nested inside it (all irrelevant)
        reuse[:, :, di] = np.where(inside, lt, 0.0).sum(axis=2)
        stationary[:, :, di] = (inner_rel < 0).astype(np.float64)
    return reuse, stationary, iters


def domain_features(arch: Arch, layer: Layer, m: Mappings) -> np.ndarray:
    """Domain-aware features ``[B, F]`` float64 of ``m`` (see the module docstring for the columns)."""
    B, L = len(m), m.num_levels
    f = arch.fanout_level
    factors = (m.temporal * m.spatial_x * m.spatial_y).astype(np.int64)
    ext = np.cumprod(factors[:, ::-1], axis=1)[:, ::-1]  # [B, L, D]
    lext = np.log2(ext.astype(np.float64))
    cols: list[np.ndarray] = []

    # 1. tile extents
    cols.append(lext[:, 1:].reshape(B, -1))
    # 2. iteration counts
    reuse, stationary, iters = _level_reuse(m.temporal, m.order)
    cols.append(iters)
    cols.append(iters.sum(axis=1, keepdims=True))
    # 3. spatial
    lsx = np.log2(m.spatial_x[:, f].astype(np.float64))
    lsy = np.log2(m.spatial_y[:, f].astype(np.float64))
    px, py = lsx.sum(axis=1), lsy.sum(axis=1)
    cols += [lsx, lsy, px[:, None], py[:, None], (np.exp2(px + py) / arch.num_pes)[:, None]]
    # 4. tiles and buffer fill
    keep = effective_keep(arch, m.keep)
    tiles = np.zeros((B, L, NUM_DATASPACES), dtype=np.float64)
    for li in range(L):
        for di, ds in enumerate(DATASPACES):
            tiles[:, li, di] = tile_words(ds, ext[:, li], layer)
    ltiles = np.log2(tiles)
    cols.append(ltiles[:, 1:].reshape(B, -1))
    for li, lvl in enumerate(arch.levels):
        if li > 0 and lvl.size_words is not None:  # in bits: each data space's words at their own width
            width = np.array([lvl.bits(ds) / lvl.access_width for ds in DATASPACES])
            cols.append(((tiles[:, li] * keep[:, li] * width).sum(axis=1) / lvl.size_words)[:, None])
    # 5. loop-order reuse
    cols.append(reuse.reshape(B, -1))
    cols.append(stationary.reshape(B, -1))
    # 6. refetch counts and traffic estimates
    # [B, L] log2 iterations of all levels above l
    above = np.concatenate([np.zeros((B, 1)), np.cumsum(iters, axis=1)[:, :-1]], axis=1)
    lspatial = lsx + lsy  # [B, D]
    refetch = np.zeros((B, L, NUM_DATASPACES))
    traffic = np.zeros((B, L, NUM_DATASPACES))
    for li in range(1, L):
        run = np.zeros((B, NUM_DATASPACES))
        going = np.ones((B, NUM_DATASPACES), dtype=bool)
        for mi in range(li - 1, -1, -1):  # the innermost run of irrelevant loops above level li
            run += np.where(going, reuse[:, mi], 0.0)
            going &= stationary[:, mi] > 0
        refetch[:, li] = above[:, li][:, None] - run
        copies = (lspatial[:, None, :] * _REL[None]).sum(axis=2) if li > f else np.zeros((B, NUM_DATASPACES))
        traffic[:, li] = ltiles[:, li] + refetch[:, li] + copies
    cols.append(refetch[:, 1:].reshape(B, -1))
    cols.append(traffic[:, 1:].reshape(B, -1))
    # 7. bypass
    cols.append(keep.reshape(B, -1).astype(np.float64))
    return np.concatenate(cols, axis=1)


def domain_feature_names(arch: Arch) -> list[str]:
    """Names of the :func:`domain_features` columns for ``arch``."""
    L = arch.num_levels
    lv = arch.level_names
    names = [f"ext[{lv[l]}][{d}]" for l in range(1, L) for d in DIMS]
    names += [f"iters[{lv[l]}]" for l in range(L)] + ["compute_cycles"]
    names += [f"sx[{d}]" for d in DIMS] + [f"sy[{d}]" for d in DIMS] + ["log2_pes_x", "log2_pes_y", "pe_util"]
    names += [f"tile[{lv[l]}][{ds}]" for l in range(1, L) for ds in DATASPACES]
    names += [f"fill[{lvl.name}]" for li, lvl in enumerate(arch.levels) if li > 0 and lvl.size_words is not None]
    names += [f"reuse[{lv[l]}][{ds}]" for l in range(L) for ds in DATASPACES]
    names += [f"stationary[{lv[l]}][{ds}]" for l in range(L) for ds in DATASPACES]
    names += [f"refetch[{lv[l]}][{ds}]" for l in range(1, L) for ds in DATASPACES]
    names += [f"traffic[{lv[l]}][{ds}]" for l in range(1, L) for ds in DATASPACES]
    names += [f"keep[{lv[l]}][{ds}]" for l in range(L) for ds in DATASPACES]
    return names


def raw_features(arch: Arch, layer: Layer, m: Mappings) -> np.ndarray:
    """Raw parameters ``[B, F]`` float64: log2 temporal factors ``[L, D]``, log2 spatial X and Y factors
    at the fan-out level ``[D]`` each, loop-order ranks ``[L, D]`` and keep flags ``[L, 3]``, flattened."""
    B = len(m)
    f = arch.fanout_level
    return np.concatenate(
        [
            np.log2(m.temporal.astype(np.float64)).reshape(B, -1),
            np.log2(m.spatial_x[:, f].astype(np.float64)),
            np.log2(m.spatial_y[:, f].astype(np.float64)),
            m.order.astype(np.float64).reshape(B, -1),
            m.keep.astype(np.float64).reshape(B, -1),
        ],
        axis=1,
    )


def raw_feature_names(arch: Arch) -> list[str]:
    """Names of the :func:`raw_features` columns for ``arch``."""
    lv = arch.level_names
    L = arch.num_levels
    names = [f"log2_t[{lv[l]}][{d}]" for l in range(L) for d in DIMS]
    names += [f"log2_sx[{d}]" for d in DIMS] + [f"log2_sy[{d}]" for d in DIMS]
    names += [f"rank[{lv[l]}][{d}]" for l in range(L) for d in DIMS]
    names += [f"keep[{lv[l]}][{ds}]" for l in range(L) for ds in DATASPACES]
    return names


__all__ = [
    "domain_features",
    "domain_feature_names",
    "raw_features",
    "raw_feature_names",
]
