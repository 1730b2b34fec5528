"""The sampler's fill, compiled with numba: draw factors slot by slot into a batch of partial mappings.

:meth:`cosearch.mapping.space.sampler.FactorFiller.fill` prepares, per group of slots, each row's
random slot order and the uniform draws (``perm``, ``u``, from the caller's NumPy generator, so a seed
fixes the samples) and calls :func:`fill_rows` (or :func:`fill_rows_imperfect`) once: every row then
takes all its draws of the group in compiled code. A draw costs about a microsecond; the same draw as
whole-array NumPy operations cost about 0.2 ms per step whatever the batch size, and one compiled call
per step still cost ~10 µs of dispatch (about 25 steps per batch, and ``auto`` draws many small
batches).

:func:`draw_floor_rows` is the utilisation floor's spatial draw of the constrained sampler
(:func:`~.constrained.draw_spatial_floor`), row by row in the same way.

Shapes: ``L`` levels, ``D`` = 8 dims, ``R`` rows; state arrays are ``[L, D, R]`` (``temporal``,
``sx``, ``sy``, ``ext``), ``[L, 3, R]`` (``keep``, ``tiles``), ``[L, R]`` (``used``), ``[D, R]``
(``rem_idx``); divisor tables are flattened ``[D * n]`` / ``[D * n * n]`` (see ``sampler._divisor_tables``).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ...dims import DIM_INDEX

KIND_T, KIND_X, KIND_Y = 0, 1, 2
"""Slot kinds: a temporal factor, a spatial factor over the mesh's X axis, over its Y axis."""

AXIS_W, AXIS_H = 1, 2
"""Which Inputs axis a dim moves (``FactorFiller._axis_kind``): the W axis (P, R), the H axis (Q, S); 0 = its own."""

DIM_P, DIM_Q, DIM_R, DIM_S = (DIM_INDEX[d] for d in "PQRS")


@njit(cache=True, nogil=True, _nrt=False)
def _place(v: int, lv: int, k: int, dd: int, r: int, temporal: np.ndarray, sx: np.ndarray, sy: np.ndarray,
           ext: np.ndarray, fanout: int, mesh_x: int, mesh_y: int) -> None:
    """Put factor ``v`` of dim ``dd`` in row ``r``'s slot (level ``lv``, kind ``k``): multiply it into the
    level's temporal factor or the fan-out's X/Y spatial factor, and into the tile extents ``ext`` of
    levels 1..``lv`` (``[L, D, R]`` arrays, in place). Level 0 keeps the parked rest, set by the caller."""
    if lv > 0 and k != KIND_X and k != KIND_Y:
        temporal[lv, dd, r] *= v
    if mesh_x > 1 and k == KIND_X:
        sx[fanout, dd, r] *= v
    if mesh_y > 1 and k == KIND_Y:
        sy[fanout, dd, r] *= v
    for m in range(1, lv + 1):
        ext[m, dd, r] *= v


@njit(cache=True, nogil=True, _nrt=False)
def _spatial_cap(cap: int, k: int, r: int, sx: np.ndarray, sy: np.ndarray, fanout: int,
                 mesh_x: int, mesh_y: int, mesh_instances: int) -> int:
    """``cap`` lowered, for a spatial slot (``k`` = X or Y) of row ``r``, to what the mesh has left:
    its columns (X) or rows (Y) ÷ the factors already spread along that axis, and its instances ÷ all
    spread factors (``sx``/``sy`` ``[L, D, R]``)."""
    if k != KIND_X and k != KIND_Y:
        return cap
    px = 1
    py = 1
    for j in range(sx.shape[1]):
        px *= sx[fanout, j, r]
        py *= sy[fanout, j, r]
    both = mesh_instances // (px * py)
    if k == KIND_X:
        return min(cap, min(mesh_x // px, both))
    return min(cap, min(mesh_y // py, both))


@njit(cache=True, nogil=True)
def fill_rows(slot_level: np.ndarray, slot_kind: np.ndarray, slot_dim: np.ndarray, perm: np.ndarray, u: np.ndarray,
              temporal: np.ndarray, sx: np.ndarray, sy: np.ndarray, keep: np.ndarray, ext: np.ndarray,
              tiles: np.ndarray, used: np.ndarray, rem_idx: np.ndarray,
              bounded: np.ndarray, allowed: np.ndarray, sizes: np.ndarray, coef: np.ndarray, axis_kind: np.ndarray,
              divs_flat: np.ndarray, divlist_flat: np.ndarray, quot_flat: np.ndarray, n: int, fanout: int,
              mesh_x: int, mesh_y: int, mesh_instances: int, strides: np.ndarray) -> None:
    """Every row ``r`` of the state draws the factors of a group of ``S`` slots (``slot_level``,
    ``slot_kind``, ``slot_dim`` ``[S]``) in its own order ``perm[r] [S]``. Its ``t``-th draw puts a factor
    of its slot's dim into the slot, uniformly (``u[t, r]`` in [0, 1), ``u [S, R]``) among the divisors of
    the dim's parked remainder that keep every bounded level at or below the slot's level within
    capacity (and, for a spatial slot, within the mesh); the state is updated in place. ``strides``:
    (Wstride, Wdilation, Hstride, Hdilation). Rows are independent; the loop is step-major because the
    state's row index is last."""
    nb = bounded.shape[0]
    unit_m = np.zeros(3 * nb, dtype=np.int64)
    unit_di = np.zeros(3 * nb, dtype=np.int64)
    unit_v = np.zeros(3 * nb, dtype=np.int64)
    grow_v = np.zeros(nb, dtype=np.int64)
    for t in range(perm.shape[1]):
        for r in range(perm.shape[0]):
            s = perm[r, t]
            dd = slot_dim[s]
            lv = slot_level[s]
            k = slot_kind[s]
            ur = u[t, r]
            row = dd * n + rem_idx[dd, r]
            rem = divs_flat[row]
            cap = _spatial_cap(rem, k, r, sx, sy, fanout, mesh_x, mesh_y, mesh_instances)
            nu = 0
            for bi in range(nb):
                m = bounded[bi]
                grow_v[bi] = 0
                if m > lv:
                    continue
                ext_d = ext[m, dd, r]
                grow = 0
                for di in range(3):
                    if not allowed[m, di]:
                        continue
                    c = coef[di, dd]
                    if c == 0:
                        continue
                    a = ext[m, dd, r]
                    if di == 1:  # Inputs: P/R move the W axis, Q/S the H axis (with the halo)
                        ak = axis_kind[1, dd]
                        if ak == AXIS_W:
                            a = (ext[m, DIM_P, r] - 1) * strides[0] + (ext[m, DIM_R, r] - 1) * strides[1] + 1
                        elif ak == AXIS_H:
                            a = (ext[m, DIM_Q, r] - 1) * strides[2] + (ext[m, DIM_S, r] - 1) * strides[3] + 1
                    unit = tiles[m, di, r] // a * ext_d * c
                    unit_m[nu] = m
                    unit_di[nu] = di
                    unit_v[nu] = unit
                    nu += 1
                    if keep[m, di, r]:
                        grow += unit
                grow_v[bi] = grow
                if grow > 0:
                    room = sizes[m] - used[m, r]
                    cap = min(cap, room // grow + 1)
            cnt = 0
            for j in range(n):
                if divlist_flat[row * n + j] <= cap:
                    cnt += 1
            pick = np.int64(ur * max(cnt, 1))
            pos = row * n + pick
            v = divlist_flat[pos]
            rem_idx[dd, r] = quot_flat[pos]
            temporal[0, dd, r] = rem // v
            _place(v, lv, k, dd, r, temporal, sx, sy, ext, fanout, mesh_x, mesh_y)
            v1 = v - 1
            for i in range(nu):
                tiles[unit_m[i], unit_di[i], r] += unit_v[i] * v1
            for bi in range(nb):
                used[bounded[bi], r] += grow_v[bi] * v1


DIM_N, DIM_G, DIM_K, DIM_C = (DIM_INDEX[d] for d in "NGKC")


@njit(cache=True, nogil=True, _nrt=False)
def _tile(di: int, e: np.ndarray, strides: np.ndarray) -> int:
    """Words of data space ``di`` (0 Weights, 1 Inputs, 2 Outputs) for dim extents ``e [D]``."""
    if di == 0:
        return e[DIM_G] * e[DIM_K] * e[DIM_C] * e[DIM_S] * e[DIM_R]
    if di == 2:
        return e[DIM_N] * e[DIM_G] * e[DIM_K] * e[DIM_Q] * e[DIM_P]
    h = (e[DIM_Q] - 1) * strides[2] + (e[DIM_S] - 1) * strides[3] + 1
    w = (e[DIM_P] - 1) * strides[0] + (e[DIM_R] - 1) * strides[1] + 1
    return e[DIM_N] * e[DIM_G] * e[DIM_C] * h * w


@njit(cache=True, nogil=True, _nrt=False)
def _used_words(m: int, r: int, dd: int, v: int, ext: np.ndarray, keep: np.ndarray, dims: np.ndarray,
                strides: np.ndarray, e: np.ndarray) -> int:
    """Words level ``m`` of row ``r`` holds (its largest tiles: extents clamped to the dims) if dim
    ``dd``'s extent there were multiplied by ``v``; ``e [D]`` is scratch."""
    for j in range(dims.shape[0]):
        x = ext[m, j, r] * v if j == dd else ext[m, j, r]
        e[j] = min(x, dims[j])
    total = 0
    for di in range(3):
        if keep[m, di, r]:
            total += _tile(di, e, strides)
    return total


@njit(cache=True, nogil=True, _nrt=False)
def _next_factor(rest: int, v: int) -> int:
    """The next efficient factor of ``rest`` after ``v`` (:func:`cosearch.mapping.factors.efficient_factors`),
    or 0 after the last."""
    q = (rest + v - 1) // v - 1
    if q < 1:
        return 0
    return (rest + q - 1) // q


@njit(cache=True, nogil=True, _nrt=False)
def _window_partner(d: int) -> int:
    """The dim sharing an Inputs axis with ``d`` (P and R, Q and S), or -1."""
    if d == DIM_P:
        return DIM_R
    if d == DIM_R:
        return DIM_P
    if d == DIM_Q:
        return DIM_S
    if d == DIM_S:
        return DIM_Q
    return -1


@njit(cache=True, nogil=True, _nrt=False)
def _perfect(d: int, r: int, temporal: np.ndarray, sx: np.ndarray, sy: np.ndarray, dims: np.ndarray, L: int) -> bool:
    """Row ``r``'s factors of dim ``d`` (the parked rest included) multiply to the dim exactly."""
    p = 1
    for m in range(L):
        p *= temporal[m, d, r] * sx[m, d, r] * sy[m, d, r]
    return p == dims[d]


@njit(cache=True, nogil=True)
def fill_rows_imperfect(slot_level: np.ndarray, slot_kind: np.ndarray, slot_dim: np.ndarray, perm: np.ndarray,
                        u: np.ndarray, temporal: np.ndarray, sx: np.ndarray, sy: np.ndarray, keep: np.ndarray,
                        ext: np.ndarray, used: np.ndarray, bounded: np.ndarray, sizes: np.ndarray, dims: np.ndarray,
                        pad_limit: np.ndarray, fanout: int, mesh_x: int, mesh_y: int, mesh_instances: int,
                        strides: np.ndarray, perfect_rows: np.ndarray) -> None:
    """:func:`fill_rows` under imperfect factorization. ``temporal[0, d, r]`` holds the parked rest of dim
    ``d`` (its outer iterations so far, ``ceil(size / inner product)``). A draw's factor ``v`` is drawn
    uniformly (``u[t, r]``) among the rest's efficient factors (``_next_factor``) that keep the mesh,
    every bounded level at or below the slot's level (largest tiles: extents clamped to the dims) and the padding cap (inner product ×
    ``ceil(rest / v)`` ``<= pad_limit[d]``); the rest becomes ``ceil(rest / v)``. Tiles only grow with
    ``v``, so capacity and mesh bound ``v`` from above, and ``v = 1`` always fits.

    A sliding-window pair (P and R, or Q and S) spread together over the mesh must stay perfectly
    factorized (the cost model refuses it otherwise, reason ``imperfect_windows``): once both have
    spatial factors > 1, their factors are drawn among divisors of the rest, and a spatial factor > 1
    that would spread both is drawn only while both are still perfect. Rows with ``perfect_rows[r]``
    draw divisors of the rest only (the perfect map space's share of the samples)."""
    L = temporal.shape[0]
    nb = bounded.shape[0]
    e = np.zeros(temporal.shape[1], dtype=np.int64)
    for t in range(perm.shape[1]):
        for r in range(perm.shape[0]):
            s = perm[r, t]
            dd = slot_dim[s]
            lv = slot_level[s]
            k = slot_kind[s]
            ur = u[t, r]
            rest = temporal[0, dd, r]
            cap = _spatial_cap(rest, k, r, sx, sy, fanout, mesh_x, mesh_y, mesh_instances)
            inner = 1  # product of the dim's factors outside the parked rest
            for m in range(L):
                inner *= sx[m, dd, r] * sy[m, dd, r]
                if m > 0:
                    inner *= temporal[m, dd, r]
            divisors_only = perfect_rows[r]  # a perfect row; or keep a window pair spread together perfect
            partner = _window_partner(dd)
            if partner >= 0:
                spread = sx[fanout, dd, r] * sy[fanout, dd, r] > 1
                partner_spread = sx[fanout, partner, r] * sy[fanout, partner, r] > 1
                if partner_spread and (spread or k == KIND_X or k == KIND_Y):
                    divisors_only = True
                    if inner * rest != dims[dd] or not _perfect(partner, r, temporal, sx, sy, dims, L):
                        cap = 1
            # capacity: the largest v <= cap that fits every bounded level at or above the slot (tiles
            # grow with v, so the fitting values are a prefix: bisect it)
            top = 1
            hi = cap
            while top < hi:
                mid = (top + hi + 1) // 2
                fits = True
                for bi in range(nb):
                    m = bounded[bi]
                    if m <= lv and _used_words(m, r, dd, mid, ext, keep, dims, strides, e) > sizes[m]:
                        fits = False
                        break
                if fits:
                    top = mid
                else:
                    hi = mid - 1
            # count the efficient factors <= top within the padding cap, then pick the u-th
            cnt = 0
            v = 1
            while v != 0 and v <= top:
                if inner * v * ((rest + v - 1) // v) <= pad_limit[dd] and (not divisors_only or rest % v == 0):
                    cnt += 1
                v = _next_factor(rest, v)
            pick = np.int64(ur * max(cnt, 1))
            v = 1
            chosen = 1
            seen = 0
            while v != 0 and v <= top:
                if inner * v * ((rest + v - 1) // v) <= pad_limit[dd] and (not divisors_only or rest % v == 0):
                    if seen == pick:
                        chosen = v
                        break
                    seen += 1
                v = _next_factor(rest, v)
            v = chosen
            temporal[0, dd, r] = (rest + v - 1) // v
            _place(v, lv, k, dd, r, temporal, sx, sy, ext, fanout, mesh_x, mesh_y)
            for bi in range(nb):
                m = bounded[bi]
                used[m, r] = _used_words(m, r, dd, 1, ext, keep, dims, strides, e)


@njit(cache=True, nogil=True, _nrt=False)
def _floor_pair_fits(j: int, p: int, cx: int, cy: int, prod: int, after: int, ox: np.ndarray, oy: np.ndarray,
                     ok_tab: np.ndarray, best: np.ndarray, ix_of: np.ndarray, iy_of: np.ndarray, need: int) -> bool:
    """Whether floor dim ``j``'s pair ``p`` fits the mesh room ``cx`` × ``cy`` left and, with the
    product ``prod`` of the pairs placed so far, keeps the floor ``need`` reachable by the dims in
    ``after`` (:func:`draw_floor_rows`)."""
    x = ox[j, p]
    y = oy[j, p]
    if not ok_tab[j, p] or x > cx or y > cy:
        return False
    return prod * x * y * best[after, ix_of[cx // x], iy_of[cy // y]] >= need


@njit(cache=True, nogil=True, _nrt=False)
def draw_floor_rows(perm: np.ndarray, u: np.ndarray, sd: np.ndarray, ox: np.ndarray, oy: np.ndarray,
                    ok_tab: np.ndarray, best: np.ndarray, ix_of: np.ndarray, iy_of: np.ndarray, cx0: int, cy0: int,
                    need: int, fanout: int, T: np.ndarray, X: np.ndarray, Y: np.ndarray) -> None:
    """The utilisation floor's spatial draw (:func:`~.constrained.draw_spatial_floor`) row by row: row
    ``r`` takes its ``J`` floor dims in the order ``perm[r] [J]``; at step ``t`` the dim's ``(x, y)`` pair
    is the ``floor(u[t, r] · count)``-th (``u [J, R]``) of its pairs ``ox``/``oy``/``ok_tab [J, P]`` that
    fit the mesh room left and keep the floor ``need`` reachable (``best [2^J, nx, ny]``, the
    dynamic programme's table; the first pair if none does). ``T``, ``X``, ``Y`` ``[R, L, D]`` are
    updated in place."""
    R, J = perm.shape
    P = ox.shape[1]
    for r in range(R):
        cx = cx0
        cy = cy0
        mask = (1 << J) - 1
        prod = 1
        for t in range(J):
            j = perm[r, t]
            after = mask & ~(1 << j)
            cnt = 0
            for p in range(P):
                if _floor_pair_fits(j, p, cx, cy, prod, after, ox, oy, ok_tab, best, ix_of, iy_of, need):
                    cnt += 1
            k = np.int64(u[t, r] * cnt)
            pick = 0
            for p in range(P):
                if _floor_pair_fits(j, p, cx, cy, prod, after, ox, oy, ok_tab, best, ix_of, iy_of, need):
                    if k == 0:
                        pick = p
                        break
                    k -= 1
            x = ox[j, pick]
            y = oy[j, pick]
            d = sd[j]
            X[r, fanout, d] *= x
            Y[r, fanout, d] *= y
            T[r, 0, d] //= x * y
            cx //= x
            cy //= y
            prod *= x * y
            mask = after
