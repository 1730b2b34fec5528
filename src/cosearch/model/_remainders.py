"""Counting one imperfectly factorized mapping exactly (numba, ``nopython``): remainder tiles in closed form.

Called by :func:`cosearch.model._kernel.evaluate_batch` for the mappings whose factors over-cover a
dimension (``factorization="imperfect"``); perfect mappings never come here. The semantics are in
``docs/model.md`` ("Imperfect factorization"); the counting, in brief:

* Per dimension, the digits of its index above a keeper (its walked temporal loops and, below the
  fan-out, the instance's spatial digit) form a mixed-radix number; the in-range ones are exactly the
  tuples lexicographically up to ``z``, the largest tuple whose tile starts below the dimension's size.
  The walk skips empty iterations, so every move advances one loop by one and sends the inner loops
  back to 0 from where they were: from their maxima unless the prefix equals ``z``'s (then from ``z``'s
  digits). Only the tile at ``z`` can be a remainder tile.
* Instances of the fan-out fall, per dimension, into at most three classes by their spatial digit
  (below, at and above ``z``'s), each with its own ``z``.
* A move's charge is a product over the data space's axes (and the count of contexts a product over
  dimensions), so the sum over all moves of one loop is a product over axes of sums over at most
  six (count, step, old length, new length) cases per dimension — no walk over the nest.

Shapes: ``L`` levels, ``D`` = 8 dims, 3 data spaces, 5 data-space axes; ``LD = L·D`` loop slots.

Speed: :func:`remainder_counts` is compiled without numba's reference counting (``_nrt=False``: it
allocates nothing; the caller is compiled alike), so array arguments and views cost no atomic updates;
the scratch is six arrays indexed by named rows (:func:`workspace`) to keep the argument list short, the
batch's arrays are passed whole with the mapping's index, and every function here is compiled with
``error_model="numpy"`` (no divisor is ever 0: radices, strides, instance counts are >= 1), without
exception paths.
"""

from __future__ import annotations

import numpy as np
from numba import njit

NDS = 3
NAX = 5
NCLS = 3  # instance classes per dimension: spatial digit below, at, above z's
NENT = 2 * NCLS  # (count, step, old, new) cases per dimension and move


@njit(cache=True, error_model="numpy", nogil=True, inline="always")
def _axis_len(n: int, c0: int, l0: int, c1: int, l1: int) -> int:
    """Length of an axis interval spanned by 1 or 2 dims of lengths ``l0``, ``l1`` (coefficients c)."""
    if n == 1:
        return c0 * (l0 - 1) + 1
    return c0 * (l0 - 1) + c1 * (l1 - 1) + 1


@njit(cache=True, error_model="numpy", nogil=True, inline="always")
def _span_count(dim: int, n_s: int, w_s: int, s: int) -> int:
    """Indices ``< dim`` whose spatial digit (radix ``n_s``, weight ``w_s``) is ``s``."""
    q = dim // (n_s * w_s)
    r = dim - q * n_s * w_s
    rest = r - s * w_s
    return q * w_s + min(max(rest, 0), w_s)


# rows of the workspace arrays (see workspace())
(KN, KW, KD, NAB, FREST, NE_N, DON, DOO, DFIRST, DMULT, TDIM, NACT, NE_TOT, EXACT, NE_REP, PART_BELOW, P_ONE, DN,
 KDS, DNK, PER_PE, NIRL, NSAX, NPAX, ZCUM, ZSP) = range(26)  # w1: slots (radix, weight, dim), per dim, per ds
ZK, DSL = range(2)  # wz: z digits per class and slot; each dim's slots
MULT, ZLEN, LEN0, PV, ZREST, NZREST = range(6)  # wc: per dim and instance class
CNT, STEP, OLD, NEW = range(4)  # we: cases (count, step, old length, new length) per dim, row D the move's
DALL, DREP = range(2)  # wl: fills of all instances and of the multicast representatives, per level and ds
PAIR_N, PAIR_O, IRL, SAX, PAX, PAIR_STALE = range(6)  # wa: pair-axis sums; per-ds lists; sums to redo
N1 = 26  # rows of w1


@njit(cache=True, error_model="numpy", nogil=True)
def workspace(L: int, D: int, axd: np.ndarray, axn: np.ndarray, irr: np.ndarray) -> tuple:
    """Scratch for :func:`remainder_counts`, allocated once per batch and grouped by shape into six
    arrays (a short argument list for the per-mapping call):
    ``w1 [N1, max(LD, L + 1, D + 1)]`` the 1-D arrays, ``wz [2, max(3, D), LD]`` z digits and each
    dim's slots, ``wc [6, D, 3]`` per dim and instance class, ``we [4, D + 1, 6]`` the cases (row ``D``:
    the moving dim's), ``wl [2, L, 3]`` per level and data space, ``wa [6, 3, max(5, D)]`` per data space
    (pair-axis sums and whether they are stale, and the lists walked instead of testing every dim and axis: its irrelevant dims, the
    dim of each axis moved by one dim, the axes moved by two: Inputs' H and W; filled here)."""
    LD = L * D
    i64 = np.int64
    w1 = np.zeros((N1, max(LD, L + 1, D + 1)), i64)
    wa = np.zeros((6, NDS, max(NAX, D)), i64)
    for ds in range(NDS):
        for d in range(D):
            if irr[ds, d]:
                wa[IRL, ds, w1[NIRL, ds]] = d
                w1[NIRL, ds] += 1
        for a in range(NAX):
            if axn[ds, a] == 1:
                wa[SAX, ds, w1[NSAX, ds]] = axd[ds, a, 0]
                w1[NSAX, ds] += 1
            elif axn[ds, a] == 2:
                wa[PAX, ds, w1[NPAX, ds]] = a
                w1[NPAX, ds] += 1
    return (w1, np.zeros((2, max(NCLS, D), LD), i64), np.zeros((6, D, NCLS), i64),
            np.zeros((4, D + 1, NENT), i64), np.zeros((2, L, NDS), i64), wa)


@njit(cache=True, error_model="numpy", nogil=True, inline="always")
def _off_move(d, E, w1, wc, we):
    """Cases (count, step, old length, new length) of dim ``d`` for a move of a loop over another dim:
    its prefix below z's (inner loops back from their maxima, full tiles) or equal to it (back from z's
    digits; the old tile is z's). Also ``w1[NE_TOT, d]``, the cases' total count, and ``w1[NE_REP, d]``, the
    representative count of the first class present (its prefix value + 1, 0 if none)."""
    q = 0
    for c in range(NCLS):
        mc = wc[MULT, d, c]
        if mc == 0:
            continue
        if w1[EXACT, d]:
            we[CNT, d, q] = mc * (wc[PV, d, c] + 1)
            we[STEP, d, q] = -w1[FREST, d]
            we[OLD, d, q] = E
            we[NEW, d, q] = E
            q += 1
            continue
        we[CNT, d, q] = mc * wc[PV, d, c]
        we[STEP, d, q] = -w1[FREST, d]
        we[OLD, d, q] = E
        we[NEW, d, q] = E
        q += 1
        we[CNT, d, q] = mc
        we[STEP, d, q] = -wc[ZREST, d, c]
        we[OLD, d, q] = wc[ZLEN, d, c]
        we[NEW, d, q] = wc[ZLEN, d, c] if wc[NZREST, d, c] == 0 else E
        q += 1
    w1[NE_N, d] = q
    t = 0
    for i in range(q):
        t += we[CNT, d, i]
    w1[NE_TOT, d] = t
    c = 0 if wc[MULT, d, 0] > 0 else 1
    w1[NE_REP, d] = wc[PV, d, c] + 1 if wc[MULT, d, c] > 0 else 0


@njit(cache=True, error_model="numpy", nogil=True, inline="always")
def _dim_sums(we, r, n, vm, has_m):
    """``(Σ count·new length, Σ count·overlap where the step is v_m's)`` over the ``n`` cases of row ``r``
    of the case arrays (one dim alone on its axis with coefficient 1, as every axis but Inputs' H and W;
    ``vm``: v_m's component along the axis)."""
    s_new = 0
    s_ov = 0
    for q in range(n):
        c = we[CNT, r, q]
        if c == 0:
            continue
        w = we[NEW, r, q]
        s_new += c * w
        if has_m and we[STEP, r, q] == vm:
            o = min(w, we[OLD, r, q] - vm) - max(0, -vm)
            if o > 0:
                s_ov += c * o
    return s_new, s_ov


@njit(cache=True, error_model="numpy", nogil=True, inline="always")
def _pair_sums(w1, we, r0, r1, cf0, cf1, vm, has_m):
    """:func:`_dim_sums` for an axis spanned by two dims (Inputs' H or W) with coefficients ``cf0``,
    ``cf1``: the cases of rows ``r0`` and ``r1`` (``nn`` cases each) taken pairwise."""
    s_new = 0
    s_ov = 0
    for q0 in range(w1[NE_N, r0]):
        c0 = we[CNT, r0, q0]
        if c0 == 0:
            continue
        for q1 in range(w1[NE_N, r1]):
            c1 = we[CNT, r1, q1]
            if c1 == 0:
                continue
            ln = cf0 * (we[NEW, r0, q0] - 1) + cf1 * (we[NEW, r1, q1] - 1) + 1
            cnt01 = c0 * c1
            s_new += cnt01 * ln
            if has_m:
                st = cf0 * we[STEP, r0, q0] + cf1 * we[STEP, r1, q1]
                if st == vm:
                    lo = cf0 * (we[OLD, r0, q0] - 1) + cf1 * (we[OLD, r1, q1] - 1) + 1
                    o = min(ln, lo - st) - max(0, -st)
                    if o > 0:
                        s_ov += cnt01 * o
    return s_new, s_ov


@njit(cache=True, error_model="numpy", nogil=True, _nrt=False)
def remainder_counts(
    b, temporal, spatial_x, spatial_y, order, keep,  # mapping b of [B, L, D] x4, [B, L, 3]
    dims, fanout, tmat, ext,  # [D], int, [3, D, 5], [L + 1, D]
    axd, axc, axn, irr, macs, part_whole,  # [3, 5, 2], [3, 5, 2], [3, 5], [3, D] bool, int, [3]
    reads, fills, updates, part, util_inst,  # [L, 3] x4 int64, [L]
    w1, wz, wc, we, wl, wa,  # workspace()
):
    """Counts of mapping ``b`` under imperfect factorization, written into ``reads``/``fills``/
    ``updates`` (words, totals over instances), ``part`` (largest partition per instance) and
    ``util_inst`` (busy instances per level). Returns ``(compute_cycles, busy_pes)``.

    ``axd``/``axc``/``axn``: per data space and axis, the dims moving it, their coefficients and how
    many (0-2); ``irr[ds, d]``: dim ``d`` does not move data space ``ds``. The rest is scratch from
    :func:`workspace`, indexed by its named rows (views of it would be reference-counted).
    """
    L = temporal.shape[1]
    D = temporal.shape[2]
    f = fanout
    # ---- loop slots (bound > 1), outer -> inner -----------------------------------------------
    na = 0
    for l in range(L):
        w1[NAB, l] = na
        for d in range(D):
            wz[DSL, 0, order[b, l, d]] = d
        for pos in range(D):
            d = wz[DSL, 0, pos]
            if temporal[b, l, d] > 1:
                w1[KN, na] = temporal[b, l, d]
                w1[KW, na] = ext[l + 1, d] * spatial_x[b, l, d] * spatial_y[b, l, d]
                w1[KD, na] = d
                na += 1
    w1[NAB, L] = na
    for d in range(D):
        w1[DN, d] = 0
    for k in range(na):
        d = w1[KD, k]
        wz[DSL, d, w1[DN, d]] = k
        w1[DN, d] += 1
    ps = w1[NAB, f + 1]  # slot where the spatial digits sit in significance
    # ---- busy PEs, compute cycles (temporal tuples with in-range work) ---------------------------
    util = 1
    cc = 1
    for d in range(D):
        n_s = spatial_x[b, f, d] * spatial_y[b, f, d]
        w_s = ext[f + 1, d]
        w1[EXACT, d] = ext[0, d] == dims[d]
        if n_s == 1:  # one instance along d: it is busy and spans the whole dim (no division needed)
            w1[NACT, d] = 1
            w1[PER_PE, d] = dims[d]
        else:
            a = (dims[d] + w_s - 1) // w_s
            w1[NACT, d] = n_s if n_s < a else a
            util *= w1[NACT, d]
            w1[PER_PE, d] = _span_count(dims[d], n_s, w_s, 0)
        if w1[EXACT, d]:
            w1[TDIM, d] = dims[d] // n_s if n_s > 1 else dims[d]
            cc *= w1[TDIM, d]
            continue
        # temporal tuples of d (all levels, spatial digit 0) whose index is <= dims - 1
        rem = dims[d] - 1
        count = 0
        tight = True
        lower = 1
        for i in range(w1[DN, d]):
            lower *= w1[KN, wz[DSL, d, i]]
        for i in range(w1[DN, d] + 1):
            k = wz[DSL, d, i] if i < w1[DN, d] else na
            if k >= ps and n_s > 1 and tight:
                if rem // w_s > 0:  # spatial digit 0 is below dims - 1's: every completion is in range
                    count += lower
                    tight = False
                    break
                n_s = 1  # the spatial digit is passed
            if k == na:
                break
            lower //= w1[KN, k]
            dg = rem // w1[KW, k]
            if dg > w1[KN, k] - 1:
                dg = w1[KN, k] - 1
            count += dg * lower
            rem -= dg * w1[KW, k]
        if tight:
            count += 1
        w1[TDIM, d] = count
        cc *= count
        # z's digits (the class at the spatial digit): those of dims - 1 clamped to the radices, the
        # spatial one in its place; every keeper's z takes those of the slots above it (the spatial one
        # below the fan-out); ZCUM: their running value per slot, ZSP: the spatial digit
        rem = dims[d] - 1
        cum = 0
        n_s = spatial_x[b, f, d] * spatial_y[b, f, d]
        d_s = 0
        spatial_done = n_s == 1
        for i in range(w1[DN, d] + 1):
            k = wz[DSL, d, i] if i < w1[DN, d] else na
            if not spatial_done and k >= ps:
                d_s = rem // w_s
                if d_s > n_s - 1:
                    d_s = n_s - 1
                rem -= d_s * w_s
                spatial_done = True
            if k >= na:
                break
            dg = rem // w1[KW, k]
            if dg > w1[KN, k] - 1:
                dg = w1[KN, k] - 1
            wz[ZK, 1, k] = dg
            rem -= dg * w1[KW, k]
            cum += dg * w1[KW, k]
            w1[ZCUM, k] = cum
        w1[ZSP, d] = d_s
    for l in range(L):
        util_inst[l] = 1 if l <= f else util


    for ds in range(NDS):  # partitions: per instance (the largest: spatial digit 0) and over all instances
        p = 1
        for a in range(NAX):
            n = axn[ds, a]
            if n == 0:
                continue
            d0 = axd[ds, a, 0]
            d1 = axd[ds, a, 1] if n == 2 else d0
            p *= _axis_len(n, axc[ds, a, 0], w1[PER_PE, d0], axc[ds, a, 1], w1[PER_PE, d1])
        w1[P_ONE, ds] = p
        q = 1
        for d in range(D):
            q *= w1[NACT, d] if irr[ds, d] else dims[d]
        w1[PART_BELOW, ds] = q
        for l in range(L):
            part[l, ds] = part_whole[ds] if l <= f else p
            wl[DALL, l, ds] = 0
            wl[DREP, l, ds] = 0

    # ---- per keeper: fills of all instances and of the multicast representatives ----------------
    rd0, rm0 = _rep_factor(3, b, axd, axc, spatial_x, spatial_y, ext, f)
    rd1, rm1 = _rep_factor(4, b, axd, axc, spatial_x, spatial_y, ext, f)
    lg = 1
    while lg < L:
        # a group of keepers l..lg-1 alike (the same loops above, extents and side of the fan-out: the
        # levels between them hold no factor and none is the fan-out) is counted once
        l = lg
        lg = l + 1
        while lg < L and lg - 1 != f and w1[NAB, lg] == w1[NAB, l]:
            same = True
            for d in range(D):
                if ext[lg, d] != ext[l, d]:
                    same = False
            if not same:
                break
            lg += 1
        nk = 0  # the data spaces kept in the group
        for ds in range(NDS):
            kept = False
            for lk in range(l, lg):
                if keep[b, lk, ds]:
                    kept = True
            if kept:
                w1[KDS, nk] = ds
                nk += 1
        if nk == 0:
            continue
        K = w1[NAB, l]
        below = f < l
        m = -1  # the innermost loop above the keeper whose second iteration is in range
        for k in range(K - 1, -1, -1):
            if w1[KW, k] < dims[w1[KD, k]]:
                m = k
                break
        has_m = m >= 0
        dm = w1[KD, m] if has_m else -1
        # -- per dim: instance classes and their last in-range tuple z ------------------------
        for d in range(D):
            E = ext[l, d]
            n_s = spatial_x[b, f, d] * spatial_y[b, f, d] if below else 1
            w_s = ext[f + 1, d]
            nd = 0  # d's slots above the keeper
            while nd < w1[DN, d] and wz[DSL, d, nd] < K:
                nd += 1
            w1[DNK, d] = nd
            wc[MULT, d, 0] = 0
            wc[MULT, d, 2] = 0
            if nd == 0 and n_s == 1:  # no loop above and one instance class: one full tile, its size dims
                # (the extent above the keeper is the whole extent, clipped); a single case off a move
                t = dims[d]
                wc[MULT, d, 1] = 1
                wc[ZLEN, d, 1] = t
                wc[LEN0, d, 1] = t
                w1[NE_N, d] = 1
                we[CNT, d, 0] = 1
                we[STEP, d, 0] = 0
                we[OLD, d, 0] = t
                we[NEW, d, 0] = t
                w1[NE_TOT, d] = 1
                w1[NE_REP, d] = 1
                w1[DON, d] = t
                w1[DOO, d] = t if has_m else 0
                w1[DMULT, d] = 1
                w1[DFIRST, d] = t
                w1[DNK, d] = -1
                continue
            if w1[EXACT, d]:  # z is every digit at its maximum, every tile full, every instance alike
                for i in range(nd):
                    k = wz[DSL, d, i]
                    wz[ZK, 1, k] = w1[KN, k] - 1
                wc[MULT, d, 1] = n_s
                wc[ZLEN, d, 1] = E
                wc[LEN0, d, 1] = E
                continue
            # z for the class at the spatial digit (its digits set once per mapping, above)
            d_s = w1[ZSP, d] if n_s > 1 else 0
            base = (w1[ZCUM, wz[DSL, d, nd - 1]] if nd > 0 else 0) + d_s * w_s
            zl = dims[d] - base
            if zl > E:
                zl = E
            if n_s == 1:
                wc[MULT, d, 1] = 1
                wc[ZLEN, d, 1] = zl
                wc[LEN0, d, 1] = E if E < dims[d] else dims[d]
                continue
            # class 1: spatial digit equal to z's
            wc[MULT, d, 1] = 1
            wc[ZLEN, d, 1] = zl
            l0 = dims[d] - d_s * w_s
            wc[LEN0, d, 1] = E if E < l0 else l0
            # class 0: spatial digit below: z's digits before it, then maxima; full tiles
            if d_s > 0:
                wc[MULT, d, 0] = d_s
                wc[ZLEN, d, 0] = E
                wc[LEN0, d, 0] = E
                for i in range(nd):
                    k = wz[DSL, d, i]
                    wz[ZK, 0, k] = wz[ZK, 1, k] if k < ps else w1[KN, k] - 1
            # class 2: spatial digit above: the prefix before it one less, then maxima
            if d_s < n_s - 1:
                borrow = True
                for i in range(nd - 1, -1, -1):
                    k = wz[DSL, d, i]
                    if k >= ps:
                        continue
                    if borrow:
                        if wz[ZK, 1, k] > 0:
                            wz[ZK, 2, k] = wz[ZK, 1, k] - 1
                            borrow = False
                        else:
                            wz[ZK, 2, k] = w1[KN, k] - 1
                    else:
                        wz[ZK, 2, k] = wz[ZK, 1, k]
                if not borrow:
                    wc[MULT, d, 2] = n_s - 1 - d_s
                    wc[ZLEN, d, 2] = E
                    wc[LEN0, d, 2] = E
                    for i in range(nd):
                        k = wz[DSL, d, i]
                        if k >= ps:
                            wz[ZK, 2, k] = w1[KN, k] - 1
        # -- active dims: running prefix values, the rests after each slot, cases and sums off a move ---
        for d in range(D):
            nd = w1[DNK, d]
            if nd < 0:
                continue  # static: set above
            fr = 0
            for c in range(NCLS):
                wc[PV, d, c] = 0
                wc[ZREST, d, c] = 0
                wc[NZREST, d, c] = 0
            for i in range(nd):
                k = wz[DSL, d, i]
                fr += (w1[KN, k] - 1) * w1[KW, k]
                for c in range(NCLS):
                    if wc[MULT, d, c] > 0:
                        wc[ZREST, d, c] += wz[ZK, c, k] * w1[KW, k]
                        if wz[ZK, c, k] != 0:
                            wc[NZREST, d, c] += 1
            w1[FREST, d] = fr
            _off_move(d, ext[l, d], w1, wc, we)
            vmd = w1[KW, m] if d == dm else 0
            w1[DON, d], w1[DOO, d] = _dim_sums(we, d, w1[NE_N, d], vmd, has_m)
            sm = 0
            sl = 0
            for c in range(NCLS):
                sm += wc[MULT, d, c]
                sl += wc[MULT, d, c] * wc[LEN0, d, c]
            w1[DMULT, d] = sm
            w1[DFIRST, d] = sl
        # -- per kept data space: its pair axes' sums off a move; the first tile of every instance ----
        for ii in range(nk):
            ds = w1[KDS, ii]
            for i in range(w1[NPAX, ds]):
                a = wa[PAX, ds, i]
                vm = w1[KW, m] * tmat[ds, dm, a] if has_m else 0
                wa[PAIR_N, ds, a], wa[PAIR_O, ds, a] = _pair_sums(w1, we, axd[ds, a, 0],
                                                          axd[ds, a, 1], axc[ds, a, 0], axc[ds, a, 1], vm, has_m)
                wa[PAIR_STALE, ds, a] = 0
            t_all = 1
            t_rep = 1
            for i in range(w1[NIRL, ds]):
                d = wa[IRL, ds, i]
                t_all *= w1[DMULT, d]
                t_rep *= 1 if w1[DMULT, d] > 0 else 0
            ax = 1
            for i in range(w1[NSAX, ds]):
                ax *= w1[DFIRST, wa[SAX, ds, i]]
            for i in range(w1[NPAX, ds]):
                a = wa[PAX, ds, i]
                d0 = axd[ds, a, 0]
                d1 = axd[ds, a, 1]
                sm = 0
                for c0 in range(NCLS):
                    if wc[MULT, d0, c0] == 0:
                        continue
                    for c1 in range(NCLS):
                        if wc[MULT, d1, c1] == 0:
                            continue
                        sm += wc[MULT, d0, c0] * wc[MULT, d1, c1] * _axis_len(
                            2, axc[ds, a, 0], wc[LEN0, d0, c0], axc[ds, a, 1], wc[LEN0, d1, c1])
                ax *= sm
            wl[DALL, l, ds] = ax * t_all
            wl[DREP, l, ds] = _rep_scale(ax, ds, below, rd0, rm0, rd1, rm1) * t_rep
        # -- every move of every loop (none is in range without m) ------------------------------------
        for j in range(K if has_m else 0):
            e = w1[KD, j]
            w1[FREST, e] -= (w1[KN, j] - 1) * w1[KW, j]
            for c in range(NCLS):
                if wc[MULT, e, c] > 0:
                    wc[ZREST, e, c] -= wz[ZK, c, j] * w1[KW, j]
                    if wz[ZK, c, j] != 0:
                        wc[NZREST, e, c] -= 1
            # the moving dim's cases (row D of the case arrays): its prefix below z's, or equal with the
            # slot's digit up to z's
            Ee = ext[l, e]
            q = 0
            e_tot = 0
            st_e = w1[KW, j] - w1[FREST, e]
            for c in range(NCLS):
                mc = wc[MULT, e, c]
                if mc == 0:
                    continue
                zj = wz[ZK, c, j]
                we[CNT, D, q] = mc * (wc[PV, e, c] * (w1[KN, j] - 1) + (zj - 1 if zj > 1 else 0))
                we[STEP, D, q] = st_e
                we[OLD, D, q] = Ee
                we[NEW, D, q] = Ee
                e_tot += we[CNT, D, q]
                q += 1
                if zj >= 1:
                    we[CNT, D, q] = mc
                    we[STEP, D, q] = st_e
                    we[OLD, D, q] = Ee
                    we[NEW, D, q] = wc[ZLEN, e, c] if wc[NZREST, e, c] == 0 else Ee
                    e_tot += mc
                    q += 1
            w1[NE_N, D] = q
            vme = w1[KW, m] if e == dm else 0
            if e_tot > 0:  # (no move of this loop is in range otherwise: nothing charged)
                c = 0 if wc[MULT, e, 0] > 0 else 1
                e_rep = wc[PV, e, c] * (w1[KN, j] - 1) + wz[ZK, c, j]
                e_new, e_ov = _dim_sums(we, D, q, vme, True)
                for ii in range(nk):
                    ds = w1[KDS, ii]
                    c_all = 1
                    c_rep = 1
                    for i in range(w1[NIRL, ds]):
                        d = wa[IRL, ds, i]
                        if d == e:
                            c_all *= e_tot
                            c_rep *= e_rep
                        else:
                            c_all *= w1[NE_TOT, d]
                            c_rep *= w1[NE_REP, d]
                    if c_all == 0 and c_rep == 0:
                        continue
                    new_ax = 1
                    ov_ax = 1
                    for i in range(w1[NSAX, ds]):
                        d0 = wa[SAX, ds, i]
                        if d0 == e:
                            new_ax *= e_new
                            ov_ax *= e_ov
                        else:
                            new_ax *= w1[DON, d0]
                            ov_ax *= w1[DOO, d0]
                    for i in range(w1[NPAX, ds]):
                        a = wa[PAX, ds, i]
                        d0 = axd[ds, a, 0]
                        d1 = axd[ds, a, 1]
                        if d0 == e or d1 == e:
                            vm = w1[KW, m] * tmat[ds, dm, a]
                            sn, so = _pair_sums(w1, we, D if d0 == e else d0,
                                                D if d1 == e else d1, axc[ds, a, 0], axc[ds, a, 1], vm, True)
                        else:
                            if wa[PAIR_STALE, ds, a]:  # a dim of the pair moved since they were summed
                                vm = w1[KW, m] * tmat[ds, dm, a]
                                wa[PAIR_N, ds, a], wa[PAIR_O, ds, a] = _pair_sums(
                                    w1, we, d0, d1, axc[ds, a, 0], axc[ds, a, 1], vm, True)
                                wa[PAIR_STALE, ds, a] = 0
                            sn = wa[PAIR_N, ds, a]
                            so = wa[PAIR_O, ds, a]
                        new_ax *= sn
                        ov_ax *= so
                    charge = new_ax - ov_ax
                    wl[DALL, l, ds] += charge * c_all
                    wl[DREP, l, ds] += _rep_scale(charge, ds, below, rd0, rm0, rd1, rm1) * c_rep
            # the slot joins the prefix: the moving dim's cases and sums off a move, anew (for the moves
            # after it; the next keeper starts afresh)
            if j == K - 1:
                break
            for c in range(NCLS):
                if wc[MULT, e, c] > 0:
                    wc[PV, e, c] = wc[PV, e, c] * w1[KN, j] + wz[ZK, c, j]
            _off_move(e, Ee, w1, wc, we)
            w1[DON, e], w1[DOO, e] = _dim_sums(we, e, w1[NE_N, e], vme, True)
            for ii in range(nk):
                ds = w1[KDS, ii]
                for i in range(w1[NPAX, ds]):
                    a = wa[PAX, ds, i]
                    if axd[ds, a, 0] == e or axd[ds, a, 1] == e:
                        wa[PAIR_STALE, ds, a] = 1  # summed again when a move of another dim needs them
        for ds in range(NDS):
            if not below:
                wl[DREP, l, ds] = wl[DALL, l, ds]
            for lk in range(l + 1, lg):
                wl[DALL, lk, ds] = wl[DALL, l, ds]
                wl[DREP, lk, ds] = wl[DREP, l, ds]

    for ds in range(NDS):
        # ---- traffic along the chain of keepers ---------------------------------------------------
        served_above = 1
        for d in range(D):
            served_above *= w1[TDIM, d] if irr[ds, d] else dims[d]
        if ds == 1:  # identical sliding windows of perfectly factorized P and R (Q and S) spread together
            for a in (3, 4):
                d0 = axd[ds, a, 0]
                d1 = axd[ds, a, 1]
                s0 = spatial_x[b, f, d0] * spatial_y[b, f, d0]
                s1 = spatial_x[b, f, d1] * spatial_y[b, f, d1]
                if s0 > 1 and s1 > 1:
                    served_above = served_above // (dims[d0] * dims[d1]) * w1[TDIM, d0] * w1[TDIM, d1] * _windows(
                        s0, s1, ext[f + 1, d0] * axc[ds, a, 0], ext[f + 1, d1] * axc[ds, a, 1])
        inner = -1
        for l in range(L - 1, -1, -1):
            reads[l, ds] = 0
            fills[l, ds] = 0
            updates[l, ds] = 0
            if not keep[b, l, ds]:
                continue
            if inner < 0:
                served = served_above if l <= f else macs
                if ds == 2:
                    updates[l, ds] = served
                    reads[l, ds] = served - (part_whole[ds] if l <= f else w1[PART_BELOW, ds])
                else:
                    reads[l, ds] = served
            else:
                crossing = l <= f and inner > f
                cf = wl[DREP, inner, ds] if crossing else wl[DALL, inner, ds]
                if ds == 2:
                    pp = part_whole[ds] if (crossing or inner <= f) else w1[PART_BELOW, ds]
                    updates[l, ds] = cf
                    reads[l, ds] = cf - pp
                else:
                    reads[l, ds] = cf
            if l > 0:
                own = wl[DALL, l, ds]
                if ds == 2:
                    own -= part_whole[ds] if l <= f else w1[PART_BELOW, ds]
                fills[l, ds] = own
            inner = l
    return cc, util


@njit(cache=True, error_model="numpy", nogil=True, inline="always")
def _windows(na: int, nb: int, a: int, b: int) -> int:
    """Distinct values of x·a + y·b, 0 <= x < na, 0 <= y < nb."""
    x, y = a, b
    while y:
        x, y = y, x % y
    return na * nb - max(0, na - b // x) * max(0, nb - a // x)


@njit(cache=True, error_model="numpy", nogil=True, inline="always")
def _rep_scale(value, ds, below, rd0, rm0, rd1, rm1):
    """``value``, a sum over all instances, as the sum over distinct Inputs tiles when a perfectly
    factorized sliding-window pair (P and R, or Q and S) is spread together below the fan-out: every
    instance of such a pair holds the same count, so the sum divides exactly. ``rd0``/``rm0`` (H) and
    ``rd1``/``rm1`` (W): the pair's instances and its distinct windows (0 when the pair is not spread
    together; see :func:`_rep_factor`)."""
    if ds != 1 or not below:
        return value
    if rd0 > 0:
        value = value // rd0 * rm0
    if rd1 > 0:
        value = value // rd1 * rm1
    return value


@njit(cache=True, error_model="numpy", nogil=True, inline="always")
def _rep_factor(a, b, axd, axc, spatial_x, spatial_y, ext, f):
    """``(instances, distinct windows)`` of Inputs' axis ``a`` (3: H, 4: W) when both of its dims are
    spread at the fan-out ``f``, else ``(0, 0)``."""
    d0 = axd[1, a, 0]
    d1 = axd[1, a, 1]
    s0 = spatial_x[b, f, d0] * spatial_y[b, f, d0]
    s1 = spatial_x[b, f, d1] * spatial_y[b, f, d1]
    if s0 > 1 and s1 > 1:
        return s0 * s1, _windows(s0, s1, ext[f + 1, d0] * axc[1, a, 0], ext[f + 1, d1] * axc[1, a, 1])
    return 0, 0
