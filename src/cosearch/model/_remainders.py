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

Speed: every function here is compiled with ``error_model="numpy"``: no divisor is ever 0 (radices,
strides, instance counts are >= 1), and without the exception paths numba prunes the reference counting
of the array arguments and views, which otherwise costs several NRT calls per array per call.
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


@njit(cache=True, error_model="numpy", nogil=True)
def workspace(L: int, D: int) -> tuple:
    """Scratch arrays for :func:`remainder_counts` (its arguments after ``per_pe``, in order),
    allocated once per batch."""
    LD = L * D
    i64 = np.int64
    return (np.empty(LD, i64), np.empty(LD, i64), np.empty(LD, i64), np.empty(L + 1, i64),  # slots
            np.zeros((NCLS, LD), i64), np.zeros((D, NCLS), i64), np.zeros((D, NCLS), i64),  # z, classes
            np.zeros((D, NCLS), i64), np.zeros((D, NCLS), i64), np.zeros((D, NCLS), i64),
            np.zeros((D, NCLS), i64), np.zeros(D, i64),  # prefix values and rests
            np.zeros((D + 1, NENT), i64), np.zeros((D + 1, NENT), i64), np.zeros((D + 1, NENT), i64),
            np.zeros((D + 1, NENT), i64), np.zeros(D + 1, i64),  # cases off the move per dim, row D: the move's
            np.zeros(D, i64), np.zeros(D, i64), np.zeros(D, i64), np.zeros(D, i64),  # per-dim sums
            np.zeros(D, i64), np.zeros(D, i64), np.zeros(D, i64), np.zeros(D, np.bool_),  # per dim
            np.zeros((L, NDS), i64), np.zeros((L, NDS), i64),  # deltas
            np.zeros((NDS, NAX), i64), np.zeros((NDS, NAX), i64), np.zeros(D, i64),  # pair-axis sums off a move
            np.zeros(NDS, i64), np.zeros(NDS, i64),  # partitions
            np.zeros((D, LD), i64), np.zeros(D, i64),  # each dim's slots
            np.zeros(NDS, i64), np.zeros(D, i64))  # the data spaces kept at a level, each dim's slots above it


@njit(cache=True, error_model="numpy", nogil=True)
def ds_lists(axd: np.ndarray, axn: np.ndarray, irr: np.ndarray) -> tuple:
    """Per data space, the lists :func:`remainder_counts` walks instead of testing every dim and axis:
    ``(irl [3, D], nirl [3])`` its irrelevant dims, ``(sax [3, 5], nsax [3])`` the dim of each axis moved
    by one dim, ``(pax [3, 5], npax [3])`` the axes moved by two (Inputs' H and W); once per batch."""
    D = irr.shape[1]
    irl = np.zeros((NDS, D), np.int64)
    nirl = np.zeros(NDS, np.int64)
    sax = np.zeros((NDS, NAX), np.int64)
    nsax = np.zeros(NDS, np.int64)
    pax = np.zeros((NDS, NAX), np.int64)
    npax = np.zeros(NDS, np.int64)
    for ds in range(NDS):
        for d in range(D):
            if irr[ds, d]:
                irl[ds, nirl[ds]] = d
                nirl[ds] += 1
        for a in range(NAX):
            if axn[ds, a] == 1:
                sax[ds, nsax[ds]] = axd[ds, a, 0]
                nsax[ds] += 1
            elif axn[ds, a] == 2:
                pax[ds, npax[ds]] = a
                npax[ds] += 1
    return irl, nirl, sax, nsax, pax, npax


@njit(cache=True, error_model="numpy", nogil=True, inline="always")
def _off_move(d, mult, pv, zlen, zrest, nzrest, frest, E, exact, ne_cnt, ne_step, ne_old, ne_new, ne_n,
              ne_tot, ne_rep):
    """Cases (count, step, old length, new length) of dim ``d`` for a move of a loop over another dim:
    its prefix below z's (inner loops back from their maxima, full tiles) or equal to it (back from z's
    digits; the old tile is z's). Also ``ne_tot[d]``, the cases' total count, and ``ne_rep[d]``, the
    representative count of the first class present (its prefix value + 1, 0 if none)."""
    q = 0
    for c in range(NCLS):
        mc = mult[d, c]
        if mc == 0:
            continue
        if exact[d]:
            ne_cnt[d, q] = mc * (pv[d, c] + 1)
            ne_step[d, q] = -frest[d]
            ne_old[d, q] = E
            ne_new[d, q] = E
            q += 1
            continue
        ne_cnt[d, q] = mc * pv[d, c]
        ne_step[d, q] = -frest[d]
        ne_old[d, q] = E
        ne_new[d, q] = E
        q += 1
        ne_cnt[d, q] = mc
        ne_step[d, q] = -zrest[d, c]
        ne_old[d, q] = zlen[d, c]
        ne_new[d, q] = zlen[d, c] if nzrest[d, c] == 0 else E
        q += 1
    ne_n[d] = q
    t = 0
    for i in range(q):
        t += ne_cnt[d, i]
    ne_tot[d] = t
    c = 0 if mult[d, 0] > 0 else 1
    ne_rep[d] = pv[d, c] + 1 if mult[d, c] > 0 else 0


@njit(cache=True, error_model="numpy", nogil=True, inline="always")
def _dim_sums(cnt, step, old, new, r, n, vm, has_m):
    """``(Σ count·new length, Σ count·overlap where the step is v_m's)`` over the ``n`` cases of row ``r``
    of the case arrays (one dim alone on its axis with coefficient 1, as every axis but Inputs' H and W;
    ``vm``: v_m's component along the axis)."""
    s_new = 0
    s_ov = 0
    for q in range(n):
        c = cnt[r, q]
        if c == 0:
            continue
        w = new[r, q]
        s_new += c * w
        if has_m and step[r, q] == vm:
            o = min(w, old[r, q] - vm) - max(0, -vm)
            if o > 0:
                s_ov += c * o
    return s_new, s_ov


@njit(cache=True, error_model="numpy", nogil=True, inline="always")
def _pair_sums(cnt, step, old, new, nn, r0, r1, cf0, cf1, vm, has_m):
    """:func:`_dim_sums` for an axis spanned by two dims (Inputs' H or W) with coefficients ``cf0``,
    ``cf1``: the cases of rows ``r0`` and ``r1`` (``nn`` cases each) taken pairwise."""
    s_new = 0
    s_ov = 0
    for q0 in range(nn[r0]):
        c0 = cnt[r0, q0]
        if c0 == 0:
            continue
        for q1 in range(nn[r1]):
            c1 = cnt[r1, q1]
            if c1 == 0:
                continue
            ln = cf0 * (new[r0, q0] - 1) + cf1 * (new[r1, q1] - 1) + 1
            cnt01 = c0 * c1
            s_new += cnt01 * ln
            if has_m:
                st = cf0 * step[r0, q0] + cf1 * step[r1, q1]
                if st == vm:
                    lo = cf0 * (old[r0, q0] - 1) + cf1 * (old[r1, q1] - 1) + 1
                    o = min(ln, lo - st) - max(0, -st)
                    if o > 0:
                        s_ov += cnt01 * o
    return s_new, s_ov


@njit(cache=True, error_model="numpy", nogil=True)
def remainder_counts(
    temporal, spatial_x, spatial_y, order, keep,  # [L, D] x4, [L, 3]: one mapping
    dims, strides, fanout, tmat, ext,  # [D], [4], int, [3, D, 5], [L + 1, D]
    axd, axc, axn, irr, macs, part_whole,  # [3, 5, 2], [3, 5, 2], [3, 5], [3, D] bool, int, [3]
    reads, fills, updates, tile, part, util_inst, per_pe,  # [L, 3] x5 int64, [L], [D]
    kn, kw, kd, nab, zk, mult, zlen, len0, pv, zrest, nzrest, frest,  # workspace(): slots, z, classes
    ne_cnt, ne_step, ne_old, ne_new, ne_n, don, doo, dfirst, dmult,  # cases off and on a move, per-dim sums
    tdim, nact, ne_tot, exact, delta_all, delta_rep, pair_n, pair_o, ne_rep, part_below, p_one, dsl, dn,
    kds, dnk, irl, nirl, sax, nsax, pax, npax,  # workspace: kept data spaces, slots above; ds_lists()
):
    """Counts of one mapping under imperfect factorization, written into ``reads``/``fills``/
    ``updates`` (words, totals over instances), ``part`` (largest partition per instance) and
    ``util_inst`` (busy instances per level). Returns ``(compute_cycles, busy_pes)``. ``tile`` must
    already hold the largest tiles (clipped extents); ``per_pe`` is scratch.

    ``axd``/``axc``/``axn``: per data space and axis, the dims moving it, their coefficients and how
    many (0-2); ``irr[ds, d]``: dim ``d`` does not move data space ``ds``. The rest is scratch from
    :func:`workspace`, passed array by array (unpacking a tuple of arrays costs more than the counting).
    """
    L = temporal.shape[0]
    D = temporal.shape[1]
    f = fanout
    # ---- loop slots (bound > 1), outer -> inner -----------------------------------------------
    na = 0
    for l in range(L):
        nab[l] = na
        for d in range(D):
            dsl[0, order[l, d]] = d
        for pos in range(D):
            d = dsl[0, pos]
            if temporal[l, d] > 1:
                kn[na] = temporal[l, d]
                kw[na] = ext[l + 1, d] * spatial_x[l, d] * spatial_y[l, d]
                kd[na] = d
                na += 1
    nab[L] = na
    for d in range(D):
        dn[d] = 0
    for k in range(na):
        d = kd[k]
        dsl[d, dn[d]] = k
        dn[d] += 1
    ps = nab[f + 1]  # slot where the spatial digits sit in significance
    # ---- busy PEs, compute cycles (temporal tuples with in-range work) ---------------------------
    util = 1
    cc = 1
    for d in range(D):
        n_s = spatial_x[f, d] * spatial_y[f, d]
        w_s = ext[f + 1, d]
        exact[d] = ext[0, d] == dims[d]
        a = (dims[d] + w_s - 1) // w_s
        nact[d] = n_s if n_s < a else a
        util *= nact[d]
        per_pe[d] = _span_count(dims[d], n_s, w_s, 0)
        if exact[d]:
            tdim[d] = dims[d] // n_s
            cc *= tdim[d]
            continue
        # temporal tuples of d (all levels, spatial digit 0) whose index is <= dims - 1
        rem = dims[d] - 1
        count = 0
        tight = True
        lower = 1
        for i in range(dn[d]):
            lower *= kn[dsl[d, i]]
        for i in range(dn[d] + 1):
            k = dsl[d, i] if i < dn[d] else na
            if k >= ps and n_s > 1 and tight:
                if rem // w_s > 0:  # spatial digit 0 is below dims - 1's: every completion is in range
                    count += lower
                    tight = False
                    break
                n_s = 1  # the spatial digit is passed
            if k == na:
                break
            lower //= kn[k]
            dg = rem // kw[k]
            if dg > kn[k] - 1:
                dg = kn[k] - 1
            count += dg * lower
            rem -= dg * kw[k]
        if tight:
            count += 1
        tdim[d] = count
        cc *= count
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
            p *= _axis_len(n, axc[ds, a, 0], per_pe[d0], axc[ds, a, 1], per_pe[d1])
        p_one[ds] = p
        q = 1
        for d in range(D):
            q *= nact[d] if irr[ds, d] else dims[d]
        part_below[ds] = q
        for l in range(L):
            part[l, ds] = part_whole[ds] if l <= f else p
            delta_all[l, ds] = 0
            delta_rep[l, ds] = 0

    # ---- per keeper: fills of all instances and of the multicast representatives ----------------
    rd0, rm0 = _rep_factor(3, axd, axc, spatial_x, spatial_y, ext, f)
    rd1, rm1 = _rep_factor(4, axd, axc, spatial_x, spatial_y, ext, f)
    for l in range(1, L):
        nk = 0  # the data spaces kept here
        for ds in range(NDS):
            if keep[l, ds]:
                kds[nk] = ds
                nk += 1
        if nk == 0:
            continue
        K = nab[l]
        below = f < l
        m = -1  # the innermost loop above the keeper whose second iteration is in range
        for k in range(K - 1, -1, -1):
            if kw[k] < dims[kd[k]]:
                m = k
                break
        has_m = m >= 0
        dm = kd[m] if has_m else -1
        # -- per dim: instance classes and their last in-range tuple z ------------------------
        for d in range(D):
            E = ext[l, d]
            n_s = spatial_x[f, d] * spatial_y[f, d] if below else 1
            w_s = ext[f + 1, d]
            nd = 0  # d's slots above the keeper
            while nd < dn[d] and dsl[d, nd] < K:
                nd += 1
            dnk[d] = nd
            mult[d, 0] = 0
            mult[d, 2] = 0
            if nd == 0 and n_s == 1:  # no loop above and one instance class: one full tile, its size dims
                # (the extent above the keeper is the whole extent, clipped); a single case off a move
                t = dims[d]
                mult[d, 1] = 1
                zlen[d, 1] = t
                len0[d, 1] = t
                ne_n[d] = 1
                ne_cnt[d, 0] = 1
                ne_step[d, 0] = 0
                ne_old[d, 0] = t
                ne_new[d, 0] = t
                ne_tot[d] = 1
                ne_rep[d] = 1
                don[d] = t
                doo[d] = t if has_m else 0
                dmult[d] = 1
                dfirst[d] = t
                dnk[d] = -1
                continue
            if exact[d]:  # z is every digit at its maximum, every tile full, every instance alike
                for i in range(nd):
                    k = dsl[d, i]
                    zk[1, k] = kn[k] - 1
                mult[d, 1] = n_s
                zlen[d, 1] = E
                len0[d, 1] = E
                continue
            # z for the class at the spatial digit: the digits of dims - 1, clamped to the radices
            rem = dims[d] - 1
            base = 0
            d_s = 0
            spatial_done = n_s == 1
            for i in range(nd + 1):
                k = dsl[d, i] if i < nd else K
                if not spatial_done and k >= ps:
                    d_s = rem // w_s
                    if d_s > n_s - 1:
                        d_s = n_s - 1
                    rem -= d_s * w_s
                    base += d_s * w_s
                    spatial_done = True
                if k >= K:
                    break
                dg = rem // kw[k]
                if dg > kn[k] - 1:
                    dg = kn[k] - 1
                zk[1, k] = dg
                rem -= dg * kw[k]
                base += dg * kw[k]
            zl = dims[d] - base
            if zl > E:
                zl = E
            if n_s == 1:
                mult[d, 1] = 1
                zlen[d, 1] = zl
                len0[d, 1] = E if E < dims[d] else dims[d]
                continue
            # class 1: spatial digit equal to z's
            mult[d, 1] = 1
            zlen[d, 1] = zl
            l0 = dims[d] - d_s * w_s
            len0[d, 1] = E if E < l0 else l0
            # class 0: spatial digit below: z's digits before it, then maxima; full tiles
            if d_s > 0:
                mult[d, 0] = d_s
                zlen[d, 0] = E
                len0[d, 0] = E
                for i in range(nd):
                    k = dsl[d, i]
                    zk[0, k] = zk[1, k] if k < ps else kn[k] - 1
            # class 2: spatial digit above: the prefix before it one less, then maxima
            if d_s < n_s - 1:
                borrow = True
                for i in range(nd - 1, -1, -1):
                    k = dsl[d, i]
                    if k >= ps:
                        continue
                    if borrow:
                        if zk[1, k] > 0:
                            zk[2, k] = zk[1, k] - 1
                            borrow = False
                        else:
                            zk[2, k] = kn[k] - 1
                    else:
                        zk[2, k] = zk[1, k]
                if not borrow:
                    mult[d, 2] = n_s - 1 - d_s
                    zlen[d, 2] = E
                    len0[d, 2] = E
                    for i in range(nd):
                        k = dsl[d, i]
                        if k >= ps:
                            zk[2, k] = kn[k] - 1
        # -- active dims: running prefix values, the rests after each slot, cases and sums off a move ---
        for d in range(D):
            nd = dnk[d]
            if nd < 0:
                continue  # static: set above
            fr = 0
            for c in range(NCLS):
                pv[d, c] = 0
                zrest[d, c] = 0
                nzrest[d, c] = 0
            for i in range(nd):
                k = dsl[d, i]
                fr += (kn[k] - 1) * kw[k]
                for c in range(NCLS):
                    if mult[d, c] > 0:
                        zrest[d, c] += zk[c, k] * kw[k]
                        if zk[c, k] != 0:
                            nzrest[d, c] += 1
            frest[d] = fr
            _off_move(d, mult, pv, zlen, zrest, nzrest, frest, ext[l, d], exact, ne_cnt, ne_step, ne_old, ne_new,
                      ne_n, ne_tot, ne_rep)
            vmd = kw[m] if d == dm else 0
            don[d], doo[d] = _dim_sums(ne_cnt, ne_step, ne_old, ne_new, d, ne_n[d], vmd, has_m)
            sm = 0
            sl = 0
            for c in range(NCLS):
                sm += mult[d, c]
                sl += mult[d, c] * len0[d, c]
            dmult[d] = sm
            dfirst[d] = sl
        # -- per kept data space: its pair axes' sums off a move; the first tile of every instance ----
        for ii in range(nk):
            ds = kds[ii]
            for i in range(npax[ds]):
                a = pax[ds, i]
                vm = kw[m] * tmat[ds, dm, a] if has_m else 0
                pair_n[ds, a], pair_o[ds, a] = _pair_sums(ne_cnt, ne_step, ne_old, ne_new, ne_n, axd[ds, a, 0],
                                                          axd[ds, a, 1], axc[ds, a, 0], axc[ds, a, 1], vm, has_m)
            t_all = 1
            t_rep = 1
            for i in range(nirl[ds]):
                d = irl[ds, i]
                t_all *= dmult[d]
                t_rep *= 1 if dmult[d] > 0 else 0
            ax = 1
            for i in range(nsax[ds]):
                ax *= dfirst[sax[ds, i]]
            for i in range(npax[ds]):
                a = pax[ds, i]
                d0 = axd[ds, a, 0]
                d1 = axd[ds, a, 1]
                sm = 0
                for c0 in range(NCLS):
                    if mult[d0, c0] == 0:
                        continue
                    for c1 in range(NCLS):
                        if mult[d1, c1] == 0:
                            continue
                        sm += mult[d0, c0] * mult[d1, c1] * _axis_len(
                            2, axc[ds, a, 0], len0[d0, c0], axc[ds, a, 1], len0[d1, c1])
                ax *= sm
            delta_all[l, ds] = ax * t_all
            delta_rep[l, ds] = _rep_scale(ax, ds, below, rd0, rm0, rd1, rm1) * t_rep
        # -- every move of every loop (none is in range without m) ------------------------------------
        for j in range(K if has_m else 0):
            e = kd[j]
            frest[e] -= (kn[j] - 1) * kw[j]
            for c in range(NCLS):
                if mult[e, c] > 0:
                    zrest[e, c] -= zk[c, j] * kw[j]
                    if zk[c, j] != 0:
                        nzrest[e, c] -= 1
            # the moving dim's cases (row D of the case arrays): its prefix below z's, or equal with the
            # slot's digit up to z's
            Ee = ext[l, e]
            q = 0
            e_tot = 0
            st_e = kw[j] - frest[e]
            for c in range(NCLS):
                mc = mult[e, c]
                if mc == 0:
                    continue
                zj = zk[c, j]
                ne_cnt[D, q] = mc * (pv[e, c] * (kn[j] - 1) + (zj - 1 if zj > 1 else 0))
                ne_step[D, q] = st_e
                ne_old[D, q] = Ee
                ne_new[D, q] = Ee
                e_tot += ne_cnt[D, q]
                q += 1
                if zj >= 1:
                    ne_cnt[D, q] = mc
                    ne_step[D, q] = st_e
                    ne_old[D, q] = Ee
                    ne_new[D, q] = zlen[e, c] if nzrest[e, c] == 0 else Ee
                    e_tot += mc
                    q += 1
            ne_n[D] = q
            vme = kw[m] if e == dm else 0
            if e_tot > 0:  # (no move of this loop is in range otherwise: nothing charged)
                c = 0 if mult[e, 0] > 0 else 1
                e_rep = pv[e, c] * (kn[j] - 1) + zk[c, j]
                e_new, e_ov = _dim_sums(ne_cnt, ne_step, ne_old, ne_new, D, q, vme, True)
                for ii in range(nk):
                    ds = kds[ii]
                    c_all = 1
                    c_rep = 1
                    for i in range(nirl[ds]):
                        d = irl[ds, i]
                        if d == e:
                            c_all *= e_tot
                            c_rep *= e_rep
                        else:
                            c_all *= ne_tot[d]
                            c_rep *= ne_rep[d]
                    if c_all == 0 and c_rep == 0:
                        continue
                    new_ax = 1
                    ov_ax = 1
                    for i in range(nsax[ds]):
                        d0 = sax[ds, i]
                        if d0 == e:
                            new_ax *= e_new
                            ov_ax *= e_ov
                        else:
                            new_ax *= don[d0]
                            ov_ax *= doo[d0]
                    for i in range(npax[ds]):
                        a = pax[ds, i]
                        d0 = axd[ds, a, 0]
                        d1 = axd[ds, a, 1]
                        if d0 == e or d1 == e:
                            vm = kw[m] * tmat[ds, dm, a]
                            sn, so = _pair_sums(ne_cnt, ne_step, ne_old, ne_new, ne_n, D if d0 == e else d0,
                                                D if d1 == e else d1, axc[ds, a, 0], axc[ds, a, 1], vm, True)
                        else:
                            sn = pair_n[ds, a]
                            so = pair_o[ds, a]
                        new_ax *= sn
                        ov_ax *= so
                    charge = new_ax - ov_ax
                    delta_all[l, ds] += charge * c_all
                    delta_rep[l, ds] += _rep_scale(charge, ds, below, rd0, rm0, rd1, rm1) * c_rep
            # the slot joins the prefix: the moving dim's cases and sums off a move, anew
            for c in range(NCLS):
                if mult[e, c] > 0:
                    pv[e, c] = pv[e, c] * kn[j] + zk[c, j]
            _off_move(e, mult, pv, zlen, zrest, nzrest, frest, Ee, exact, ne_cnt, ne_step, ne_old, ne_new, ne_n,
                      ne_tot, ne_rep)
            don[e], doo[e] = _dim_sums(ne_cnt, ne_step, ne_old, ne_new, e, ne_n[e], vme, True)
            for ii in range(nk):
                ds = kds[ii]
                for i in range(npax[ds]):
                    a = pax[ds, i]
                    if axd[ds, a, 0] == e or axd[ds, a, 1] == e:
                        vm = kw[m] * tmat[ds, dm, a]
                        pair_n[ds, a], pair_o[ds, a] = _pair_sums(ne_cnt, ne_step, ne_old, ne_new, ne_n, axd[ds, a, 0],
                                                                  axd[ds, a, 1], axc[ds, a, 0], axc[ds, a, 1], vm,
                                                                  True)
        for ds in range(NDS):
            if not below:
                delta_rep[l, ds] = delta_all[l, ds]

    for ds in range(NDS):
        # ---- traffic along the chain of keepers ---------------------------------------------------
        served_above = 1
        for d in range(D):
            served_above *= tdim[d] if irr[ds, d] else dims[d]
        if ds == 1:  # identical sliding windows of perfectly factorized P and R (Q and S) spread together
            for a in (3, 4):
                d0 = axd[ds, a, 0]
                d1 = axd[ds, a, 1]
                s0 = spatial_x[f, d0] * spatial_y[f, d0]
                s1 = spatial_x[f, d1] * spatial_y[f, d1]
                if s0 > 1 and s1 > 1:
                    served_above = served_above // (dims[d0] * dims[d1]) * tdim[d0] * tdim[d1] * _windows(
                        s0, s1, ext[f + 1, d0] * axc[ds, a, 0], ext[f + 1, d1] * axc[ds, a, 1])
        inner = -1
        for l in range(L - 1, -1, -1):
            reads[l, ds] = 0
            fills[l, ds] = 0
            updates[l, ds] = 0
            if not keep[l, ds]:
                continue
            if inner < 0:
                served = served_above if l <= f else macs
                if ds == 2:
                    updates[l, ds] = served
                    reads[l, ds] = served - (part_whole[ds] if l <= f else part_below[ds])
                else:
                    reads[l, ds] = served
            else:
                crossing = l <= f and inner > f
                cf = delta_rep[inner, ds] if crossing else delta_all[inner, ds]
                if ds == 2:
                    pp = part_whole[ds] if (crossing or inner <= f) else part_below[ds]
                    updates[l, ds] = cf
                    reads[l, ds] = cf - pp
                else:
                    reads[l, ds] = cf
            if l > 0:
                own = delta_all[l, ds]
                if ds == 2:
                    own -= part_whole[ds] if l <= f else part_below[ds]
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
def _rep_factor(a, axd, axc, spatial_x, spatial_y, ext, f):
    """``(instances, distinct windows)`` of Inputs' axis ``a`` (3: H, 4: W) when both of its dims are
    spread at the fan-out ``f``, else ``(0, 0)``."""
    d0 = axd[1, a, 0]
    d1 = axd[1, a, 1]
    s0 = spatial_x[f, d0] * spatial_y[f, d0]
    s1 = spatial_x[f, d1] * spatial_y[f, d1]
    if s0 > 1 and s1 > 1:
        return s0 * s1, _windows(s0, s1, ext[f + 1, d0] * axc[1, a, 0], ext[f + 1, d1] * axc[1, a, 1])
    return 0, 0
