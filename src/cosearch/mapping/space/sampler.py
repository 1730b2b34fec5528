"""The sampler's fill: factors drawn slot by slot into batches of partial mappings, valid by construction.

All factors start at 1 with the whole of every dim "parked" in the outermost level (every tile is then
1 word per kept data space). The slots (temporal ``T`` at every level below the outermost, and at the
fan-out level also spatial ``X`` and ``Y``) are then visited, inner level first (``slot_order
"inner_first"``, the slots of a level in a random order per row) or all in one random order per row
(``"random"``). At each slot a factor ``v`` is drawn uniformly among the divisors of the dim's parked
remainder that keep the row valid: the mesh limits for ``X``/``Y``, and the capacity of every bounded
level at or above the slot's level (their tiles grow with ``v``; levels below are untouched). Whatever
remains parked is the outermost level's temporal factor.

Tile sizes never decrease when a factor grows, and ``v = 1`` always keeps the current (valid) state, so
every step has a valid choice and the result is valid; every valid mapping has non-zero probability.
Rows and steps never loop in Python: each group of slots (a level, or all of them) is one call of
the numba kernel :func:`~cosearch.mapping.space._kernel.fill_rows` over the batch.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from ...arch.spec import Arch
from ...dims import DATASPACES, DIM_INDEX, NUM_DATASPACES, NUM_DIMS
from ...workload.geometry import tile_words, translation_matrix
from ...workload.layer import Layer
from ..factors import divisor_table
from ._kernel import AXIS_H, AXIS_W, KIND_T, KIND_X, KIND_Y, fill_rows, fill_rows_imperfect

SeedLike = int | np.random.Generator | None


def as_generator(seed: SeedLike) -> np.random.Generator:
    """``seed`` itself if it is a Generator, else ``np.random.default_rng(seed)``."""
    return seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)


CHUNK = 8192
"""Rows the sampler processes together (keeps temporaries cache-resident; about 2x faster than one
pass over 100k rows). Samples for a seed depend on this constant, so changing it changes them."""


PERFECT_SHARE = 0.75
"""Under imperfect factorization, the share of rows the sampler draws with divisors only (perfect
factorizations, a subset of the imperfect space): the awkward sizes gain remainder tiles while layers
whose best mappings divide their dims keep most of the sampling density there (measured with
``benchmarks/imperfect.py --codesign ''``, 212 (mesh, layer) pairs, auto mapper, budget 5,000: share 0.5
left 21 pairs worse than perfect factorization, worst 1.082×, geomean ratio 0.924; 0.75 left 14, worst
1.068×, geomean 0.921; 0.9 left 14, worst 1.055×, geomean 0.923)."""


@dataclass
class _State:
    """Working arrays of ``R`` partial mappings, row index last so per-level slices are contiguous.

    ``temporal[0]`` holds the parked remainder of every dim; ``ext[l, d, r]`` is the product of all
    factors at level ``l`` and below (``ext[0]`` = the layer's dims); ``tiles``/``used`` are maintained
    only at the map space's bounded levels (0 elsewhere).
    """

    temporal: np.ndarray  # [L, D, R] int64
    sx: np.ndarray  # [L, D, R] int64
    sy: np.ndarray  # [L, D, R] int64
    keep: np.ndarray  # [L, 3, R] bool (effective keep)
    ext: np.ndarray  # [L, D, R] int64
    tiles: np.ndarray  # [L, 3, R] int64
    used: np.ndarray  # [L, R] int64
    rem_idx: np.ndarray  # [D, R] int64: index of the parked remainder among the dim's divisors
    perfect_rows: np.ndarray | None = None  # [R] bool (imperfect factorization): rows drawn with divisors only

    @property
    def rows(self) -> int:
        return int(self.temporal.shape[-1])


@lru_cache(maxsize=256)
def _divisor_tables(dims: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For dims ``[D]``: ``divs [D, n]``, their divisors (:func:`divisor_table`, 0-padded); for a
    parked remainder equal to divisor ``i`` of dim ``d``, entry ``[d, i]`` of ``divlist [D, n, n]``
    lists the divisors of that remainder ascending (padded with a value above every dim), and the same
    entry of ``quot [D, n, n]`` holds the index of ``remainder / divisor`` (cached)."""
    divs = divisor_table(np.array(dims, dtype=np.int64))
    D, n = divs.shape
    big = max(dims) + 1
    divlist = np.full((D, n, n), big, dtype=np.int64)
    quot = np.zeros((D, n, n), dtype=np.int64)
    for d in range(D):
        dv = [int(x) for x in divs[d] if x > 0]
        pos = {x: j for j, x in enumerate(dv)}
        for i, r in enumerate(dv):
            sub = [x for x in dv if r % x == 0]
            divlist[d, i, : len(sub)] = sub
            quot[d, i, : len(sub)] = [pos[r // x] for x in sub]
    return divs, divlist, quot  # shared: never written (left writable, as the compiled fill's signature has them)


class FactorFiller:
    """Draws factors into the free slots of batches of partial mappings of ``layer`` on ``arch``.

    ``allowed [L, 3]`` bool: which data spaces each level may keep; ``slot_order``: ``"inner_first"``
    or ``"random"`` (module docstring). Holds the divisor tables and the kernel's view of the bounded
    levels and the layer's geometry.

    ``pad_limit [D]`` int64 (imperfect factorization; ``None`` = perfect): the largest product of each
    dim's factors (the padding cap, divided by a fixed outermost factor). The parked remainder is then
    the dim's outer iterations ``ceil(size / inner product)`` and factors are drawn by
    :func:`~._kernel.fill_rows_imperfect` among the remainder's efficient factors
    (:func:`~cosearch.mapping.factors.efficient_factors`), capacity using the largest tiles.
    """

    def __init__(self, arch: Arch, layer: Layer, allowed: np.ndarray, slot_order: str,
                 pad_limit: np.ndarray | None = None) -> None:
        L = arch.num_levels
        child = arch.fanout_child
        self.levels = L
        self.layer = layer
        self.allowed = allowed
        self.slot_order = slot_order
        self.dims = np.array(layer.dims, dtype=np.int64)  # [D]
        self.pad_limit = None if pad_limit is None else np.ascontiguousarray(pad_limit, dtype=np.int64)
        self.fanout_level = arch.fanout_level
        self.mesh_x = int(child.mesh_x)
        self.mesh_y = int(child.mesh_y)
        self.mesh_instances = int(child.instances)
        self.sizes: list[int | None] = [lvl.capacity_words for lvl in arch.levels]  # widest data space's words
        # levels whose capacity a factor choice can violate (the outermost holds the whole layer,
        # whatever the mapping, and is checked once below)
        self._bounded = [m for m in range(1, L) if self.sizes[m] is not None and self.allowed[m].any()]
        self._possible = {m: [di for di in range(NUM_DATASPACES) if self.allowed[m, di]] for m in range(L)}

        self._build_tables()
        # the compiled sampler step's view of the bounded levels and the layer (_kernel.fill_rows)
        self._k_bounded = np.array(self._bounded, dtype=np.int64)
        self._k_sizes = np.array([0 if sz is None else sz for sz in self.sizes], dtype=np.int64)
        self._k_strides = np.array([layer.Wstride, layer.Wdilation, layer.Hstride, layer.Hdilation], dtype=np.int64)

        # geometry: coefficient with which dim d moves its axis of each data space, and which axis
        self._coef = np.zeros((NUM_DATASPACES, NUM_DIMS), dtype=np.int64)
        self._axis_kind = np.zeros((NUM_DATASPACES, NUM_DIMS), dtype=np.int64)
        for di, ds in enumerate(DATASPACES):
            tm = translation_matrix(ds, layer)  # [D, 5]
            self._coef[di] = tm.max(axis=1)
        for d in ("P", "R"):
            self._axis_kind[1, DIM_INDEX[d]] = AXIS_W
        for d in ("Q", "S"):
            self._axis_kind[1, DIM_INDEX[d]] = AXIS_H

    def slot_kinds(self, level: int) -> list[int]:
        """Slot kinds a factor can occupy at ``level`` (the outermost's temporal slot is the remainder)."""
        kinds = [KIND_T] if level > 0 else []
        if level == self.fanout_level:
            if self.mesh_x > 1:
                kinds.append(KIND_X)
            if self.mesh_y > 1:
                kinds.append(KIND_Y)
        return kinds

    def _build_tables(self) -> None:
        """Divisor tables so a step needs no integer division over ``[R, n]`` arrays
        (:func:`_divisor_tables`, shared by every filler of the same dims)."""
        self._divs, divlist, quot = _divisor_tables(tuple(int(d) for d in self.dims))  # [D, nmax], 0-padded
        D, n = self._divs.shape
        self._n_div = n
        self._divlist = divlist.reshape(D * n, n)
        self._divlist_flat = self._divlist.ravel()
        self._quot_flat = quot.ravel()
        self._divs_flat = self._divs.ravel()

    def make_state(self, temporal: np.ndarray, sx: np.ndarray, sy: np.ndarray, keep: np.ndarray) -> _State:
        """State from ``[R, L, D]`` factor arrays and ``[R, L, 3]`` effective keep; the parked remainders
        in ``temporal[:, 0]`` must divide their dims (perfect factorization) or be the dims' outer
        iterations (imperfect). Tiles are the largest ones: extents clamped to the dims (a no-op for
        perfect factorizations)."""
        T = np.ascontiguousarray(temporal.transpose(1, 2, 0), dtype=np.int64)
        X = np.ascontiguousarray(sx.transpose(1, 2, 0), dtype=np.int64)
        Y = np.ascontiguousarray(sy.transpose(1, 2, 0), dtype=np.int64)
        K = np.ascontiguousarray(keep.transpose(1, 2, 0))
        ext = np.cumprod((T * X * Y)[::-1], axis=0)[::-1].copy()
        R, L = temporal.shape[0], self.levels
        tiles = np.zeros((L, NUM_DATASPACES, R), dtype=np.int64)
        used = np.zeros((L, R), dtype=np.int64)
        rem_idx = np.zeros((NUM_DIMS, R), dtype=np.int64)
        for d in range(NUM_DIMS):
            dv = self._divs[d][self._divs[d] > 0]
            rem_idx[d] = np.clip(np.searchsorted(dv, T[0, d]), 0, dv.size - 1)
        for m in self._bounded:
            ext_m = np.minimum(ext[m].T, self.dims)  # [R, D]
            for di in self._possible[m]:
                tiles[m, di] = tile_words(DATASPACES[di], ext_m, self.layer)
            used[m] = (tiles[m] * K[m]).sum(axis=0)
        return _State(T, X, Y, K, ext, tiles, used, rem_idx)

    def empty_state(self, keep: np.ndarray) -> _State:
        """State of ``R`` mappings (``keep [R, L, 3]``) with every factor 1 and every dim parked outermost."""
        R, L = keep.shape[0], self.levels
        T = np.ones((L, NUM_DIMS, R), dtype=np.int64)
        T[0] = self.dims[:, None]
        ext = T.copy()
        K = np.ascontiguousarray(keep.transpose(1, 2, 0))
        tiles = np.zeros((L, NUM_DATASPACES, R), dtype=np.int64)
        used = np.zeros((L, R), dtype=np.int64)
        for m in self._bounded:
            tiles[m, self._possible[m]] = 1
            used[m] = K[m].sum(axis=0)
        rem_idx = np.repeat(((self._divs > 0).sum(axis=1) - 1)[:, None], R, axis=1)
        return _State(T, np.ones_like(T), np.ones_like(T), K, ext, tiles, used, rem_idx)

    def fill(
        self, st: _State, dim_list: list[int], rng: np.random.Generator, free: np.ndarray
    ) -> None:
        """Distribute the parked remainder of each dim in ``dim_list`` over the slots.

        ``slot_order == "inner_first"``: levels inner -> outer, the slots of a level in an independent
        random order per row. ``"random"``: all slots of all levels in one random order per row.
        """
        R = st.rows
        if R == 0 or not dim_list:
            return
        groups: list[list[tuple[int, int, int]]] = []
        for level in range(self.levels - 1, -1, -1):
            slots = [(level, k, d) for k in self.slot_kinds(level) for d in dim_list if free[k, level, d]]
            if slots:
                groups.append(slots)
        if self.slot_order == "random":
            groups = [[s for g in groups for s in g]]
        for slots in groups:
            slot_level, slot_kind, slot_dim = (np.array(col, dtype=np.int64) for col in zip(*slots))
            S = len(slots)
            perm = rng.permuted(np.broadcast_to(np.arange(S), (R, S)), axis=1)
            u = rng.random((S, R))  # draw t of row r: u[t, r] (the stream of S successive [R] draws)
            if self.pad_limit is not None:
                fill_rows_imperfect(slot_level, slot_kind, slot_dim, perm, u, st.temporal, st.sx, st.sy, st.keep,
                                    st.ext, st.used, self._k_bounded, self._k_sizes, self.dims, self.pad_limit,
                                    self.fanout_level, self.mesh_x, self.mesh_y, self.mesh_instances,
                                    self._k_strides, st.perfect_rows)
                continue
            fill_rows(slot_level, slot_kind, slot_dim, perm, u, st.temporal, st.sx, st.sy, st.keep, st.ext,
                      st.tiles, st.used, st.rem_idx, self._k_bounded, self.allowed, self._k_sizes, self._coef,
                      self._axis_kind, self._divs_flat, self._divlist_flat, self._quot_flat, self._n_div,
                      self.fanout_level, self.mesh_x, self.mesh_y, self.mesh_instances, self._k_strides)

    def fill_batch(
        self, temporal: np.ndarray | None, sx: np.ndarray | None, sy: np.ndarray | None, keep: np.ndarray,
        dim_list: list[int], rng: np.random.Generator, free: np.ndarray,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Run :meth:`_fill` over ``[R, L, D]`` arrays in chunks of :data:`CHUNK` rows (``temporal`` None:
        start from the empty state). Returns ``temporal, spatial_x, spatial_y`` ``[R, L, D]``."""
        R, L = keep.shape[0], self.levels
        outs = [np.empty((R, L, NUM_DIMS), dtype=np.int64) for _ in range(3)]
        for a in range(0, R, CHUNK):
            b = min(R, a + CHUNK)
            if temporal is None:
                st = self.empty_state(keep[a:b])
            else:
                st = self.make_state(temporal[a:b], sx[a:b], sy[a:b], keep[a:b])  # type: ignore[index]
            if self.pad_limit is not None:
                st.perfect_rows = rng.random(b - a) < PERFECT_SHARE
            self.fill(st, dim_list, rng, free)
            for out, arr in zip(outs, (st.temporal, st.sx, st.sy)):
                out[a:b] = arr.transpose(2, 0, 1)
        return outs[0], outs[1], outs[2]
