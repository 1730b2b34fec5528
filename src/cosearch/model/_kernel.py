"""Compiled inner loop of the cost model (numba, ``nopython``).

One call costs a whole batch; per mapping it works on tiny fixed-size arrays (levels × dims),
so it runs at a few microseconds per mapping. The semantics are documented in ``docs/model.md``;
:mod:`cosearch.model.evaluate` prepares the inputs and wraps the outputs.

Shapes: ``B`` mappings, ``L`` levels, ``D`` = 8 dims, 3 data spaces, 5 data-space axes.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .._jit import drop_stale_builds
from . import _remainders, reasons
from ._remainders import remainder_counts, workspace
from .reasons import REASON_CAPACITY as R_CAP
from .reasons import REASON_FACTORIZATION as R_FACT
from .reasons import REASON_FANOUT_TOTAL as R_FAN_T
from .reasons import REASON_FANOUT_X as R_FAN_X
from .reasons import REASON_FANOUT_Y as R_FAN_Y

NDS = 3  # data spaces: Weights, Inputs, Outputs
NAX = 5  # axes of a data space's box (see _box)
CAP_BITS = 2**61  # capacities are counted up to this many bits (larger ones are capped to it)


@njit(cache=True, nogil=True, _nrt=False)
def _box(ds: int, e: np.ndarray, strides: np.ndarray, out: np.ndarray) -> None:
    """Axis extents ``out[5]`` of data space ``ds`` for dim extents ``e[8]`` (N,G,K,C,P,Q,R,S).

    ``strides`` = (Wstride, Wdilation, Hstride, Hdilation).
    """
    if ds == 0:  # Weights: G K C S R
        out[0] = e[1]; out[1] = e[2]; out[2] = e[3]; out[3] = e[7]; out[4] = e[6]
    elif ds == 1:  # Inputs: N G C H W
        out[0] = e[0]; out[1] = e[1]; out[2] = e[3]
        out[3] = (e[5] - 1) * strides[2] + (e[7] - 1) * strides[3] + 1
        out[4] = (e[4] - 1) * strides[0] + (e[6] - 1) * strides[1] + 1
    else:  # Outputs: N G K Q P
        out[0] = e[0]; out[1] = e[1]; out[2] = e[2]; out[3] = e[5]; out[4] = e[4]


@njit(cache=True, nogil=True, _nrt=False)
def _distinct(na: int, nb: int, a: int, b: int) -> int:
    """Distinct values of x·a + y·b, 0 <= x < na, 0 <= y < nb (see geometry.distinct_windows)."""
    x, y = a, b
    while y:
        x, y = y, x % y
    ap = a // x
    bp = b // x
    return na * nb - max(0, na - bp) * max(0, nb - ap)


@njit(cache=True, nogil=True)
def evaluate_batch(
    temporal, spatial_x, spatial_y, order, keep,  # [B,L,D] x4 int64, [B,L,3] bool
    dims, strides, fanout, child_mesh,  # [D], [4], int, [3] = (mesh_x, mesh_y, instances)
    sizes, bits, wscale, tmat, energies, mac_energy, bandwidth,  # [L] bits (-1 = unbounded), [L,3], [L,3],
    # [3,D,5], [L,3,3], float, [L,3]
    want_breakdown, check_only, imperfect, r_windows,
    energy_out, cycles_out, reason_out, cc_out, util_out,  # [B]
    reads_out, fills_out, updates_out, tiles_out, part_out, inst_out, lcyc_out,  # [B|0, L, 3], [B|0, L]
):
    """Cost ``B`` mappings of one layer on one arch, writing the results into the ``*_out`` arrays.

    Inputs (``L`` levels outer -> inner, ``D`` = 8 dims in N,G,K,C,P,Q,R,S order):
        temporal, spatial_x, spatial_y: ``[B, L, D]`` int64 loop bounds per level (spatial factors
            only at ``fanout``); order: ``[B, L, D]`` int64, position of each dim in the level's
            loop nest (0 = outermost); keep: ``[B, L, 3]`` bool, effective (see mapping.keep).
        dims ``[D]`` layer sizes; strides ``[4]`` = (Wstride, Wdilation, Hstride, Hdilation);
        fanout: index of the level whose spatial factors spread over the PE array; child_mesh
            ``[3]`` = (mesh_x, mesh_y, instances) of the array below it.
        sizes ``[L]`` capacities in bits (-1 = unbounded; at most :data:`CAP_BITS`); bits ``[L, 3]``
            int64 width of one word of each data space; wscale ``[L, 3]`` float64 that width over
            the level's access width;
            tmat ``[3, D, 5]`` dim -> data-space-axis translation; energies ``[L, 3, 3]`` pJ per word
            of each data space (read / fill / update); mac_energy pJ per MAC; bandwidth ``[L, 3]``
            access-width words/cycle per instance (read, write, shared; 0 = unlimited), a data
            space's word counting ``wscale`` of them.
        want_breakdown: also fill the ``[B, L, 3]``/``[B, L]`` breakdown outputs (else they are
            ``[0, ...]``); check_only: stop after the validity section; imperfect: factors may
            over-cover a dim (their product >= its size; mappings that do are counted by
            :func:`cosearch.model._remainders.remainder_counts`), else they must multiply to it;
            r_windows: the reason code for a sliding-window pair spread together with a remainder.

    Outputs: energy_out ``[B]`` pJ and cycles_out ``[B]`` (``inf`` where invalid); reason_out
    ``[B]`` (:mod:`cosearch.model.reasons`); cc_out ``[B]`` compute cycles; util_out ``[B]``
    utilised PEs; reads/fills/updates ``[B, L, 3]`` words over all utilised instances;
    tiles/part ``[B, L, 3]`` words per instance; inst ``[B, L]`` utilised instances; lcyc ``[B, L]``
    each level's cycles after its bandwidth throttling.

    Sections, per mapping: (1) validity: factorization, fan-out, capacity; (2) spatial fan-out:
    utilisation, distinct (multicast) tiles among PEs, per-PE partitions; (3) the temporal loop list
    outer -> inner, keeping loops with bound > 1; (4) per data space: each keeper's fills from the
    tile-to-tile delta walk, then reads/fills/updates along the chain of keepers; (5) energy, and
    cycles as compute cycles slowed by each level's bandwidth. Counts are in words of each data
    space's own width; capacity, energy and bandwidth weigh them by that width.
    """
    B, L, D = temporal.shape
    macs = 1
    for d in range(D):
        macs *= dims[d]
    part_whole = np.empty(NDS, np.int64)
    box = np.empty(NAX, np.int64)
    for ds in range(NDS):
        _box(ds, dims, strides, box)
        p = 1
        for a in range(NAX):
            p *= box[a]
        part_whole[ds] = p

    plim = np.empty((L, NDS), np.int64)  # largest tile (words) whose bits stay within CAP_BITS
    for l in range(L):
        for ds in range(NDS):
            plim[l, ds] = CAP_BITS // bits[l, ds]
    fac = np.empty((L, D), np.int64)
    ext = np.empty((L + 1, D), np.int64)
    E = np.empty((L, NDS, NAX), np.int64)
    tile = np.empty((L, NDS), np.int64)
    part = np.empty((L, NDS), np.int64)
    delta = np.zeros((L, NDS), np.int64)
    reads = np.zeros((L, NDS), np.int64)
    fills = np.zeros((L, NDS), np.int64)
    updates = np.zeros((L, NDS), np.int64)
    sp = np.empty(D, np.int64)
    per_pe = np.empty(D, np.int64)
    LD = L * D
    ln = np.empty(LD, np.int64)
    lstride = np.empty(LD, np.int64)
    ldim = np.empty(LD, np.int64)
    an = np.empty(LD, np.int64)  # active loops (n > 1), outer -> inner
    astride = np.empty(LD, np.int64)
    adim = np.empty(LD, np.int64)
    nact_before = np.empty(L + 1, np.int64)
    pre = np.empty(LD + 1, np.int64)
    v = np.empty((LD, NAX), np.int64)
    suf = np.empty(NAX, np.int64)
    vm = np.empty(NAX, np.int64)
    distinct = np.empty(NDS, np.int64)
    util_inst = np.empty(L, np.int64)
    # imperfect factorization: which dims move which data-space axis, and the counting's workspace
    axd = np.zeros((NDS, NAX, 2), np.int64)
    axc = np.zeros((NDS, NAX, 2), np.int64)
    axn = np.zeros((NDS, NAX), np.int64)
    irr = np.ones((NDS, D), np.bool_)
    for ds in range(NDS):
        for d in range(D):
            for a in range(NAX):
                if tmat[ds, d, a] != 0:
                    axd[ds, a, axn[ds, a]] = d
                    axc[ds, a, axn[ds, a]] = tmat[ds, d, a]
                    axn[ds, a] += 1
                    irr[ds, d] = False
    w1, wz, wc, we, wl, wa = workspace(L, D, axd, axn, irr)
    _cost_rows(
        temporal, spatial_x, spatial_y, order, keep, dims, strides, fanout, child_mesh, sizes, bits, wscale, tmat,
        energies, mac_energy, bandwidth, want_breakdown, check_only, imperfect, r_windows, energy_out, cycles_out,
        reason_out, cc_out, util_out, reads_out, fills_out, updates_out, tiles_out, part_out, inst_out, lcyc_out,
        macs, part_whole, plim, fac, ext, E, tile, part, delta, reads, fills, updates, sp, per_pe, ln, lstride, ldim,
        an, astride, adim, nact_before, pre, v, suf, vm, distinct, box, util_inst, axd, axc, axn, irr,
        w1, wz, wc, we, wl, wa,
    )


@njit(cache=True, nogil=True, _nrt=False)
def _cost_rows(
    temporal, spatial_x, spatial_y, order, keep, dims, strides, fanout, child_mesh, sizes, bits, wscale, tmat,
    energies, mac_energy, bandwidth, want_breakdown, check_only, imperfect, r_windows, energy_out, cycles_out,
    reason_out, cc_out, util_out, reads_out, fills_out, updates_out, tiles_out, part_out, inst_out, lcyc_out,
    macs, part_whole, plim, fac, ext, E, tile, part, delta, reads, fills, updates, sp, per_pe, ln, lstride, ldim,
    an, astride, adim, nact_before, pre, v, suf, vm, distinct, box, util_inst, axd, axc, axn, irr,
    w1, wz, wc, we, wl, wa,
):
    """The per-mapping loop of :func:`evaluate_batch` (same arguments, then its constants and scratch).

    Compiled without the runtime's reference counting (``_nrt=False``): it allocates nothing, and
    with it every array view and every array handed to a helper (``_box``, ``remainder_counts``) costs
    atomic increments and decrements per mapping (measured with ``perf``: about a quarter of the time of
    a mapping with remainders).
    """
    B, L, D = temporal.shape
    for b in range(B):
        # ---- (1) validity ------------------------------------------------------------------
        reason = 0
        px = 1
        py = 1
        misplaced = False
        for l in range(L):
            for d in range(D):
                t = temporal[b, l, d]
                s = spatial_x[b, l, d] * spatial_y[b, l, d]
                if t < 1 or s < 1:
                    reason = R_FACT
                fac[l, d] = t * s
                if l == fanout:
                    px *= spatial_x[b, l, d]
                    py *= spatial_y[b, l, d]
                elif s > 1:
                    misplaced = True
        exact = True
        if reason == 0:
            for d in range(D):
                p = 1
                for l in range(L):
                    p *= fac[l, d]
                if p != dims[d]:
                    exact = False
                    if p < dims[d] or not imperfect:
                        reason = R_FACT
        if reason == 0:
            if px * py > child_mesh[2] or misplaced:
                reason = R_FAN_T
            elif px > child_mesh[0]:
                reason = R_FAN_X
            elif py > child_mesh[1]:
                reason = R_FAN_Y
        if reason == 0:
            for d in range(D):
                ext[L, d] = 1
            for l in range(L - 1, -1, -1):
                for d in range(D):
                    ext[l, d] = ext[l + 1, d] * fac[l, d]
            for l in range(L - 1, -1, -1):
                used = 0
                for d in range(D):  # the largest tile: extents clipped to the dims (equal if perfect)
                    per_pe[d] = ext[l, d] if ext[l, d] < dims[d] else dims[d]
                for ds in range(NDS):
                    _box(ds, per_pe, strides, E[l, ds])
                    p = 1
                    for a in range(NAX):
                        p *= E[l, ds, a]
                    tile[l, ds] = p
                    if keep[b, l, ds]:
                        if p > plim[l, ds]:  # more than CAP_BITS: over any capacity (three terms of at
                            used += CAP_BITS + 1  # most CAP_BITS + 1 cannot wrap int64)
                        else:
                            used += p * bits[l, ds]
                if sizes[l] >= 0 and used > sizes[l] and reason == 0:
                    reason = R_CAP + l
            if reason == 0 and not exact:  # identical windows under a remainder: not counted exactly
                for d0, d1 in ((4, 6), (5, 7)):
                    if (spatial_x[b, fanout, d0] * spatial_y[b, fanout, d0] > 1
                            and spatial_x[b, fanout, d1] * spatial_y[b, fanout, d1] > 1
                            and (ext[0, d0] != dims[d0] or ext[0, d1] != dims[d1])):
                        reason = r_windows
        reason_out[b] = reason
        if reason != 0 or check_only:
            energy_out[b] = np.inf
            cycles_out[b] = np.inf
            continue

        if not exact:  # ---- (2-4) under remainders: closed form with remainder cases -------------
            cc, util = remainder_counts(
                b, temporal, spatial_x, spatial_y, order, keep, dims, fanout, tmat, ext, axd, axc, axn, irr, macs,
                part_whole, reads, fills, updates, part, util_inst, w1, wz, wc, we, wl, wa,
            )
        else:
            # ---- (2) spatial fan-out -----------------------------------------------------------------
            util = 1
            for d in range(D):
                sp[d] = spatial_x[b, fanout, d] * spatial_y[b, fanout, d]
                util *= sp[d]
                per_pe[d] = dims[d] // sp[d]
            for l in range(L):
                util_inst[l] = 1 if l <= fanout else util
            cc = macs // util
            # distinct tiles among PEs (multicast groups); child extents = ext[fanout + 1]
            distinct[0] = sp[1] * sp[2] * sp[3] * sp[6] * sp[7]
            distinct[2] = sp[0] * sp[1] * sp[2] * sp[4] * sp[5]
            ce = ext[fanout + 1]
            distinct[1] = (sp[0] * sp[1] * sp[3]
                           * _distinct(sp[4], sp[6], ce[4] * strides[0], ce[6] * strides[1])
                           * _distinct(sp[5], sp[7], ce[5] * strides[2], ce[7] * strides[3]))
            for ds in range(NDS):
                _box(ds, per_pe, strides, box)
                p = 1
                for a in range(NAX):
                    p *= box[a]
                for l in range(L):
                    part[l, ds] = part_whole[ds] if l <= fanout else p

            # ---- (3) temporal loops outer -> inner, keeping the active ones ------------------------
            for l in range(L):
                for d in range(D):
                    k = l * D + order[b, l, d]
                    ln[k] = temporal[b, l, d]
                    lstride[k] = ext[l + 1, d] * (fac[l, d] // temporal[b, l, d])
                    ldim[k] = d
            na = 0
            pre[0] = 1
            for l in range(L):
                nact_before[l] = na
                for k in range(l * D, (l + 1) * D):
                    if ln[k] > 1:
                        an[na] = ln[k]
                        astride[na] = lstride[k]
                        adim[na] = ldim[k]
                        pre[na + 1] = pre[na] * ln[k]
                        na += 1
            nact_before[L] = na

            # ---- (4) per data space: fills of every keeper, then traffic along the keeper chain -------
            for ds in range(NDS):
                for k in range(na):
                    for a in range(NAX):
                        v[k, a] = astride[k] * tmat[ds, adim[k], a]
                for l in range(1, L):
                    if not keep[b, l, ds]:
                        continue
                    K = nact_before[l]
                    t = tile[l, ds]
                    total = t
                    if K > 0:
                        for a in range(NAX):
                            suf[a] = 0
                            vm[a] = v[K - 1, a]
                        for j in range(K - 1, -1, -1):
                            match = True
                            ov = 1
                            for a in range(NAX):
                                st = v[j, a] - suf[a]
                                if st != vm[a]:
                                    match = False
                                o = E[l, ds, a] - abs(st)
                                ov *= o if o > 0 else 0
                            w = pre[j + 1] - pre[j]
                            total += w * ((t - ov) if match else t)
                            for a in range(NAX):
                                suf[a] += v[j, a]
                    delta[l, ds] = total
                inner = -1
                for l in range(L - 1, -1, -1):
                    reads[l, ds] = 0
                    fills[l, ds] = 0
                    updates[l, ds] = 0
                    if not keep[b, l, ds]:
                        continue
                    if inner < 0:  # innermost keeper: serves the MACs
                        mult = distinct[ds] if l <= fanout else util
                        served = cc * mult
                        if ds == 2:
                            updates[l, ds] = served
                            reads[l, ds] = served - part[l, ds] * util_inst[l]
                        else:
                            reads[l, ds] = served
                    else:
                        mult = distinct[ds] if (l <= fanout and inner > fanout) else util_inst[inner]
                        cf = delta[inner, ds]
                        if ds == 2:
                            cf -= part[inner, ds]
                            updates[l, ds] = (cf + part[inner, ds]) * mult
                        reads[l, ds] = cf * mult
                    if l > 0:
                        own = delta[l, ds]
                        if ds == 2:
                            own -= part[l, ds]
                        fills[l, ds] = own * util_inst[l]
                    inner = l

        # ---- (5) energy and cycles ---------------------------------------------------------------
        energy = macs * mac_energy
        for l in range(L):
            for ds in range(NDS):
                energy += (reads[l, ds] * energies[l, ds, 0] + fills[l, ds] * energies[l, ds, 1]
                           + updates[l, ds] * energies[l, ds, 2])
        cycles = float(cc)
        ccf = float(max(cc, 1))
        for l in range(L):
            lc = float(cc)
            rbw = bandwidth[l, 0]
            wbw = bandwidth[l, 1]
            sbw = bandwidth[l, 2]
            if rbw > 0 or wbw > 0 or sbw > 0:
                inst = float(util_inst[l])
                nr = 0.0
                nw = 0.0
                for ds in range(NDS):
                    nr += reads[l, ds] * wscale[l, ds] / inst / ccf
                    nw += (fills[l, ds] + updates[l, ds]) * wscale[l, ds] / inst / ccf
                slow = 1.0
                if rbw > 0 and nr > 0:
                    slow = min(slow, rbw / nr)
                if wbw > 0 and nw > 0:
                    slow = min(slow, wbw / nw)
                if sbw > 0 and nr + nw > 0:
                    slow = min(slow, sbw / (nr + nw))
                lc = np.ceil(cc / slow)
                if lc > cycles:
                    cycles = lc
            if want_breakdown:
                lcyc_out[b, l] = lc
        energy_out[b] = energy
        cycles_out[b] = cycles
        cc_out[b] = cc
        util_out[b] = util
        if want_breakdown:
            for l in range(L):
                inst_out[b, l] = util_inst[l]
                for ds in range(NDS):
                    reads_out[b, l, ds] = reads[l, ds]
                    fills_out[b, l, ds] = fills[l, ds]
                    updates_out[b, l, ds] = updates[l, ds]
                    tiles_out[b, l, ds] = tile[l, ds]
                    part_out[b, l, ds] = part[l, ds]


drop_stale_builds((evaluate_batch, _cost_rows), (_remainders, reasons))  # their builds compile these in
