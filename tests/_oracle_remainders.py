"""The NumPy oracle's imperfect factorization (``tests/numpy_oracle.py``): one mapping with remainders,
counted from explicitly enumerated per-dimension contexts (``docs/model.md``, "Imperfect factorization").

Independent of the kernel's remainder cases (``cosearch.model._remainders``): for every keeper, every
dimension's own digits above it (its temporal loops with bound > 1 in nest order, and below the fan-out
the instance's spatial digit) are enumerated as tuples, the in-range ones (index ``< D``) kept and
sorted lexicographically. A move of loop ``j`` goes between two consecutive in-range iterations that
first differ at ``j``; as the in-range set is a product over dimensions, each dimension's part is read
off its own tuples: for another dimension, a prefix (its digits before ``j``) with an in-range
completion, its old tile at the prefix's largest completion and its new one at the smallest; for
``j``'s dimension, two consecutive digit values at ``j`` after a prefix. A move's charge is a product
over the data-space axes, the contexts a product over dimensions, so the sum over all moves of a loop is
a product over axes of sums over those per-dimension lists (pairs of lists on Inputs' H and W). No walk
over the nest; cost is linear in each dimension's tuple count (about its size), fine for tests.
"""

from __future__ import annotations

import itertools

import numpy as np

from cosearch.dims import DATASPACES
from cosearch.workload.geometry import distinct_windows, translation_matrix
from cosearch.workload.layer import Layer

# per data space: the dims of each of its 5 axes (Inputs' H = Q, S and W = P, R)
_AXES = {
    "Weights": [(1,), (2,), (3,), (7,), (6,)],
    "Inputs": [(0,), (1,), (3,), (5, 7), (4, 6)],
    "Outputs": [(0,), (1,), (2,), (5,), (4,)],
}


def _axis(entries: list[list[tuple]], coef: list[int], vm: int) -> tuple[int, int]:
    """``(Σ new length, Σ overlap where the step is vm)`` over all combinations of the dims' entries
    ``(count, lo_old, hi_old, lo_new, hi_new)`` (one list per dim of the axis, index coordinates),
    mapped onto the axis with coefficients ``coef``."""
    s_new = s_ov = 0
    for combo in itertools.product(*entries):
        cnt = int(np.prod([e[0] for e in combo]))
        lo_o = sum(c * e[1] for c, e in zip(coef, combo))
        hi_o = sum(c * (e[2] - 1) for c, e in zip(coef, combo)) + 1
        lo_n = sum(c * e[3] for c, e in zip(coef, combo))
        hi_n = sum(c * (e[4] - 1) for c, e in zip(coef, combo)) + 1
        s_new += cnt * (hi_n - lo_n)
        if vm is not None and lo_n - lo_o == vm:
            s_ov += cnt * max(0, min(hi_n, hi_o) - max(lo_n, lo_o))
    return s_new, s_ov


def remainder_row(layer: Layer, temporal: np.ndarray, sx: np.ndarray, sy: np.ndarray, order: np.ndarray,
                  keep: np.ndarray, fanout: int) -> dict:
    """Counts of one mapping (``[L, D]`` factors and orders, ``[L, 3]`` effective keep) under imperfect
    factorization: ``reads``/``fills``/``updates``/``tiles``/``partition`` ``[L, 3]``, ``util_inst``
    ``[L]``, ``cc`` (compute cycles), ``busy`` (busy PEs)."""
    L, D = temporal.shape
    f = fanout
    dims = np.array(layer.dims, dtype=np.int64)
    fac = temporal * sx * sy
    ext = np.ones((L + 1, D), dtype=np.int64)
    for li in range(L - 1, -1, -1):
        ext[li] = ext[li + 1] * fac[li]
    n_s = sx[f] * sy[f]
    w_s = ext[f + 1]
    # walk slots, outer -> inner: (level, dim, bound, index weight)
    slots = []
    for li in range(L):
        for d in sorted(range(D), key=lambda d: int(order[li, d])):
            slots.append((li, d, int(temporal[li, d]), int(ext[li + 1, d] * sx[li, d] * sy[li, d])))
    tmats = [translation_matrix(ds, layer) for ds in DATASPACES]

    def tuples(d: int, level: int, below: bool):
        """Dim ``d``'s in-range digit tuples above ``level``: ``(spatial digit, digits, base)`` sorted by
        (spatial digit, digits), with the slots the digits belong to."""
        mine = [k for k, (lk, dk, n, _) in enumerate(slots) if lk < level and dk == d and n > 1]
        out = []
        for s in range(int(n_s[d]) if below else 1):
            for digits in itertools.product(*[range(slots[k][2]) for k in mine]):
                base = s * int(w_s[d]) + sum(v * slots[k][3] for v, k in zip(digits, mine))
                if base < dims[d]:
                    out.append((s, digits, base))
        return mine, out

    busy_d = [sum(1 for s in range(int(n_s[d])) if s * w_s[d] < dims[d]) for d in range(D)]
    busy = int(np.prod(busy_d))
    # compute cycles: per dim, temporal tuples (all levels) with in-range work at spatial digit 0
    tdim = [len(tuples(d, L, False)[1]) for d in range(D)]
    cc = int(np.prod(tdim))
    util_inst = np.array([1 if li <= f else busy for li in range(L)], dtype=np.int64)

    tiles = np.zeros((L, 3), dtype=np.int64)
    partition = np.zeros((L, 3), dtype=np.int64)
    part_below = np.zeros(3, dtype=np.int64)
    part_whole = np.array([layer.weight_words, layer.input_words, layer.output_words], dtype=np.int64)
    for di, ds in enumerate(DATASPACES):
        axes = _AXES[ds]
        coef = [[int(tmats[di][d].max()) for d in ax] for ax in axes]
        for li in range(L):
            clipped = np.minimum(ext[li], dims)
            tiles[li, di] = int(np.prod([sum(c * (clipped[d] - 1) for c, d in zip(cf, ax)) + 1
                                         for ax, cf in zip(axes, coef)]))
        # words an instance ever holds (per axis: the distinct axis points of its in-range indices)
        idx = [np.arange(dims[d]) for d in range(D)]
        digit = [(idx[d] // w_s[d]) % n_s[d] for d in range(D)]
        one = 1
        total = 1
        for ax, cf in zip(axes, coef):
            pts0 = {0}
            for c, d in zip(cf, ax):
                pts0 = {p + c * i for p in pts0 for i in idx[d][digit[d] == 0]}
            one *= len(pts0)
            tot_a = 0
            for combo in itertools.product(*[range(busy_d[d]) for d in ax]):
                pts = {0}
                for c, d, s in zip(cf, ax, combo):
                    pts = {p + c * i for p in pts for i in idx[d][digit[d] == s]}
                tot_a += len(pts)
            total *= tot_a
        rel = {d for ax in axes for d in ax}
        total *= int(np.prod([busy_d[d] for d in range(D) if d not in rel]))
        part_below[di] = total
        partition[:, di] = [part_whole[di] if li <= f else one for li in range(L)]

    delta_all = np.zeros((L, 3), dtype=np.int64)
    delta_rep = np.zeros((L, 3), dtype=np.int64)
    for li in range(1, L):
        below = li > f
        tup = [tuples(d, li, below) for d in range(D)]
        above = [k for k, (lk, _, n, _) in enumerate(slots) if lk < li and n > 1]
        second = [k for k in above if slots[k][3] < dims[slots[k][1]]]
        m = second[-1] if second else None
        E = ext[li]

        def interval(d: int, base: int) -> tuple[int, int]:
            return base, int(min(base + E[d], dims[d]))

        first = []  # per dim: (spatial digit, count, old, new) of every busy instance's first tile
        for d in range(D):
            digits = sorted({sd for sd, _, _ in tup[d][1]})
            first.append([(sd, 1, *interval(d, sd * int(w_s[d])), *interval(d, sd * int(w_s[d]))) for sd in digits])
        moves = {}  # slot -> per dim: entries (spatial digit, count, old, new) of the loop's moves
        for j in above:
            e = slots[j][1]
            per_dim = []
            for d in range(D):
                mine, ts = tup[d]
                cut = sum(1 for k in mine if k < j)
                groups: dict[tuple, list] = {}
                for s, digits, base in ts:
                    groups.setdefault((s, digits[:cut]), []).append((digits, base))
                entries = []
                for (s, _), members in groups.items():
                    members.sort()
                    if d != e:
                        entries.append((s, 1, *interval(d, members[-1][1]), *interval(d, members[0][1])))
                        continue
                    by_digit: dict[int, list] = {}
                    for digits, base in members:
                        by_digit.setdefault(digits[cut], []).append(base)
                    values = sorted(by_digit)  # members are in lexicographic order: last = largest completion
                    for a, b in zip(values, values[1:]):
                        entries.append((s, 1, *interval(d, by_digit[a][-1]), *interval(d, by_digit[b][0])))
                per_dim.append(entries)
            moves[j] = per_dim
        for di, ds in enumerate(DATASPACES):
            if not keep[li, di]:
                continue
            axes = _AXES[ds]
            rel = {d for ax in axes for d in ax}
            vm = [None] * 5
            if m is not None:
                dm = slots[m][1]
                vm = [int(slots[m][3] * tmats[di][dm, a]) for a in range(5)]

            def total(per_dim, vm_axes, rep: bool) -> int:
                """Σ over contexts of the charge (vm_axes None: the whole new tile)."""
                cnt = 1
                for d in range(D):
                    if d not in rel:
                        cnt *= sum(1 for en in per_dim[d] if en[0] == 0) if rep else len(per_dim[d])
                new = ov = 1
                for a, ax in enumerate(axes):
                    cf = [int(tmats[di][d, a]) for d in ax]
                    sn, so = _axis([[en[1:] for en in per_dim[d]] for d in ax], cf,
                                   None if vm_axes is None else vm_axes[a])
                    new *= sn
                    ov *= so
                value = new - (0 if vm_axes is None else ov)
                if rep and below and ds == "Inputs":  # identical windows of a spread (perfect) window pair
                    for ax in axes[3:]:
                        s0, s1 = int(n_s[ax[0]]), int(n_s[ax[1]])
                        if s0 > 1 and s1 > 1:
                            c0, c1 = (int(tmats[di][d].max()) for d in ax)
                            value = value // (s0 * s1) * int(distinct_windows(
                                np.int64(s0), np.int64(s1), np.int64(w_s[ax[0]] * c0), np.int64(w_s[ax[1]] * c1)))
                return cnt * value

            delta_all[li, di] = total(first, None, False)
            delta_rep[li, di] = total(first, None, True) if below else delta_all[li, di]
            for j in above:
                delta_all[li, di] += total(moves[j], vm, False)
                if below:
                    delta_rep[li, di] += total(moves[j], vm, True)
            if not below:
                delta_rep[li, di] = delta_all[li, di]

    reads = np.zeros((L, 3), dtype=np.int64)
    fills = np.zeros((L, 3), dtype=np.int64)
    updates = np.zeros((L, 3), dtype=np.int64)
    macs = layer.macs
    for di, ds in enumerate(DATASPACES):
        axes = _AXES[ds]
        rel = {d for ax in axes for d in ax}
        # one access per distinct operand word among the busy PEs at each iteration (fan-out above)
        served_above = int(np.prod([dims[d] if d in rel else tdim[d] for d in range(D)]))
        if ds == "Inputs":
            for ax in axes[3:]:
                s0, s1 = int(n_s[ax[0]]), int(n_s[ax[1]])
                if s0 > 1 and s1 > 1:
                    c0, c1 = (int(tmats[di][d].max()) for d in ax)
                    served_above = served_above // int(dims[ax[0]] * dims[ax[1]]) * tdim[ax[0]] * tdim[ax[1]] * int(
                        distinct_windows(np.int64(s0), np.int64(s1), np.int64(w_s[ax[0]] * c0), np.int64(w_s[ax[1]] * c1)))
        inner = -1
        for li in range(L - 1, -1, -1):
            if not keep[li, di]:
                continue
            if inner < 0:
                served = served_above if li <= f else macs
                if ds == "Outputs":
                    updates[li, di] = served
                    reads[li, di] = served - (part_whole[di] if li <= f else part_below[di])
                else:
                    reads[li, di] = served
            else:
                crossing = li <= f < inner
                cf = delta_rep[inner, di] if crossing else delta_all[inner, di]
                if ds == "Outputs":
                    updates[li, di] = cf
                    reads[li, di] = cf - (part_whole[di] if (crossing or inner <= f) else part_below[di])
                else:
                    reads[li, di] = cf
            if li > 0:
                own = delta_all[li, di]
                if ds == "Outputs":
                    own -= part_whole[di] if li <= f else part_below[di]
                fills[li, di] = own
            inner = li
    return {"reads": reads, "fills": fills, "updates": updates, "tiles": tiles, "partition": partition,
            "util_inst": util_inst, "cc": cc, "busy": busy}


__all__ = ["remainder_row"]
