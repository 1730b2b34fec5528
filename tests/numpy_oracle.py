"""An independent pure-NumPy implementation of the cost model, kept as a test oracle.

cosearch's shipped model (``cosearch.model._kernel``) is a compiled per-mapping loop; this module
computes the same quantities with whole-batch array operations over the full loop list, and the
tests check that both agree on random batches (and with Timeloop's reference cases).

It follows Timeloop's analytical semantics (see ``docs/model.md``): tiles are bounding boxes of the
loops at and below a level; fills come from Timeloop's sampled tile-to-tile delta walk with its reset
rule; partial sums are written back and read again (the first read of each output elided); spatial
fan-out multicasts identical tiles and reduces outputs; bypassed levels are skipped; cycles are
compute cycles slowed by per-level bandwidth limits.

No Python loop runs over perfectly factorized mappings: loops run over levels and data spaces only.
Under ``factorization="imperfect"``, a mapping whose factors over-cover a dimension is counted one at a
time by ``_oracle_remainders.remainder_row`` (explicit per-dimension contexts, not the kernel's
remainder cases).
"""

from __future__ import annotations

import numpy as np

from _oracle_remainders import remainder_row
from cosearch.arch.spec import Arch
from cosearch.dims import DATASPACES, DIM_INDEX, NUM_DATASPACES, RELEVANT
from cosearch.mapping.keep import effective_keep
from cosearch.mapping.mapping import Mappings
from cosearch.model.evaluate import Costs, reason_names
from cosearch.workload.geometry import axis_extents, distinct_windows, translation_matrix
from cosearch.workload.layer import Layer

REASON_VALID = 0
REASON_FACTORIZATION = 1
REASON_FANOUT_X = 2
REASON_FANOUT_Y = 3
REASON_FANOUT_TOTAL = 4
REASON_CAPACITY = 5


def evaluate_numpy(arch: Arch, layer: Layer, mappings: Mappings, *, breakdown: bool = False,
                   factorization: str = "perfect") -> Costs:
    """Cost every mapping of the batch on ``arch`` for ``layer`` (``factorization`` as in
    :func:`cosearch.model.evaluate.evaluate`: ``"imperfect"`` lets factors over-cover a dimension).

    Returns :class:`Costs` with arrays of shape ``[B]`` (and ``[B, L, 3]`` breakdowns on request).
    """
    B, L, D = mappings.temporal.shape
    if L != arch.num_levels:
        raise ValueError(f"mappings have {L} levels, arch {arch.name} has {arch.num_levels}")
    f = arch.fanout_level
    dims = np.array(layer.dims, dtype=np.int64)
    temporal = mappings.temporal.astype(np.int64, copy=False)
    sx = mappings.spatial_x.astype(np.int64, copy=False)
    sy = mappings.spatial_y.astype(np.int64, copy=False)
    keep = effective_keep(arch, mappings.keep)
    rows = np.arange(B)

    # ---- validity: factorization, fan-out ---------------------------------------------------
    spatial = sx * sy  # [B, L, D]
    factors = temporal * spatial
    reason = np.zeros(B, dtype=np.int8)
    imperfect = factorization == "imperfect"
    covered = factors.prod(axis=1)  # [B, D]
    exact = (covered == dims[None]).all(axis=1)
    cover_bad = covered < dims[None] if imperfect else covered != dims[None]
    bad_fact = cover_bad.any(axis=1) | (temporal < 1).any(axis=(1, 2)) | (
        spatial < 1
    ).any(axis=(1, 2))
    off_fanout = np.ones(L, dtype=bool)
    off_fanout[f] = False
    bad_place = (spatial[:, off_fanout] > 1).any(axis=(1, 2))
    child = arch.levels[f + 1] if f + 1 < L else arch.mac
    prod_x = sx[:, f].prod(axis=1)
    prod_y = sy[:, f].prod(axis=1)
    # priority as Timeloop reports them: factorization, then total, X, Y fan-out, then capacity
    reason[prod_y > child.mesh_y] = REASON_FANOUT_Y
    reason[prod_x > child.mesh_x] = REASON_FANOUT_X
    reason[(prod_x * prod_y > child.instances) | bad_place] = REASON_FANOUT_TOTAL
    reason[bad_fact] = REASON_FACTORIZATION

    # ---- extents and tiles ------------------------------------------------------------------
    # ext[b, l, d]: extent of dim d covered by level l's tile (its loops and everything below).
    ext = np.cumprod(factors[:, ::-1], axis=1)[:, ::-1]
    ext_below = np.concatenate([ext[:, 1:], np.ones((B, 1, D), dtype=np.int64)], axis=1)
    sp_total = spatial[:, f]  # [B, D]
    util_pes = sp_total.prod(axis=1)
    above = np.arange(L) <= f  # levels above (and at) the fan-out
    util_inst = np.where(above[None, :], 1, util_pes[:, None])  # [B, L]

    tiles = np.empty((B, L, NUM_DATASPACES), dtype=np.int64)
    ds_axes_ext = []  # per data space: axis extents [B, L, 5]
    for di, ds in enumerate(DATASPACES):
        ax = axis_extents(ds, ext, layer)
        ds_axes_ext.append(ax)  # the largest tile: extents clipped to the dims (equal if perfect)
        tiles[:, :, di] = axis_extents(ds, np.minimum(ext, dims), layer).prod(axis=-1)
    used = (tiles * keep).sum(axis=2)  # [B, L]
    for li in range(L - 1, -1, -1):
        size = arch.levels[li].size_words
        if size is not None:
            over = (used[:, li] > size) & (reason == REASON_VALID)
            reason[over] = REASON_CAPACITY + li
    if imperfect:  # a sliding-window pair spread together with a remainder is refused
        spread = spatial[:, f] > 1
        whole = covered == dims[None]
        for a, b in (("P", "R"), ("Q", "S")):
            i, j = DIM_INDEX[a], DIM_INDEX[b]
            bad = spread[:, i] & spread[:, j] & ~(whole[:, i] & whole[:, j]) & (reason == REASON_VALID)
            reason[bad] = REASON_CAPACITY + L
    valid = reason == REASON_VALID

    # ---- the temporal loop nest, ordered outer -> inner ------------------------------------
    LD = L * D
    pos = (np.arange(L)[None, :, None] * D + mappings.order).reshape(B, LD)
    loop_n = np.empty((B, LD), dtype=np.int64)
    loop_stride = np.empty((B, LD), dtype=np.int64)
    loop_dim = np.empty((B, LD), dtype=np.int64)
    stride = ext_below * spatial  # index step of one iteration of the temporal loop (l, d)
    loop_n[rows[:, None], pos] = temporal.reshape(B, LD)
    loop_stride[rows[:, None], pos] = stride.reshape(B, LD)
    loop_dim[rows[:, None], pos] = np.tile(np.arange(D), L)[None]
    active = loop_n > 1
    cum_n = np.cumprod(loop_n, axis=1)
    weight = cum_n - np.concatenate([np.ones((B, 1), dtype=np.int64), cum_n[:, :-1]], axis=1)

    macs = layer.macs
    cc = macs // np.maximum(util_pes, 1)

    partition_whole = np.array(
        [layer.weight_words, layer.input_words, layer.output_words], dtype=np.int64
    )
    per_pe_ext = dims[None] // np.maximum(sp_total, 1)  # [B, D]

    reads = np.zeros((B, L, NUM_DATASPACES), dtype=np.int64)
    fills = np.zeros_like(reads)
    updates = np.zeros_like(reads)
    partition = np.zeros_like(reads)

    for di, ds in enumerate(DATASPACES):
        tmat = translation_matrix(ds, layer)  # [D, 5]
        v = loop_stride[..., None] * tmat[loop_dim] * active[..., None]  # [B, LD, 5]
        cs = np.cumsum(v, axis=1)
        part_below = axis_extents(ds, per_pe_ext, layer).prod(axis=-1)
        distinct = _distinct_tiles(ds, layer, sp_total, ext_below[:, f])
        # fills (as delta sums, per instance) of every level that may keep ds
        delta_sum = np.zeros((B, L), dtype=np.int64)
        for li in range(1, L):
            if DATASPACES[di] not in arch.levels[li].keeps:
                continue
            K = li * D
            act = active[:, :K]
            has = act.any(axis=1)
            last = K - 1 - np.argmax(act[:, ::-1], axis=1)
            v_m = np.where(has[:, None], v[rows, last], 0)  # [B, 5]
            step = v[:, :K] - (cs[:, K - 1 : K] - cs[:, :K])  # [B, K, 5]
            E = ds_axes_ext[di][:, li]  # [B, 5]
            tile = tiles[:, li, di]
            overlap = np.maximum(E[:, None, :] - np.abs(step), 0).prod(axis=-1)
            match = (step == v_m[:, None, :]).all(axis=-1)
            charge = np.where(match, tile[:, None] - overlap, tile[:, None])
            delta_sum[:, li] = tile + (weight[:, :K] * charge).sum(axis=1)
        for li in range(L):
            partition[:, li, di] = partition_whole[di] if li <= f else part_below
        # walk keepers inner -> outer, connecting each to the next inner keeper (or the MACs)
        inner = np.full(B, -1, dtype=np.int64)  # index of the next inner keeper, -1 = MACs
        for li in range(L - 1, -1, -1):
            k = keep[:, li, di]
            crosses_to_mac = li <= f
            # traffic this level serves to its inner neighbour (a keeper or the MACs)
            c_idx = np.maximum(inner, 0)
            child_fill = delta_sum[rows, c_idx]
            child_part = partition[rows, c_idx, di]
            if ds == "Outputs":
                child_fill = child_fill - child_part
            crosses = (li <= f) & (c_idx > f)
            mult = np.where(crosses, distinct, util_inst[rows, c_idx])
            to_mac = inner < 0
            mult_mac = distinct if crosses_to_mac else util_pes
            served = np.where(to_mac, cc * mult_mac, child_fill * mult)
            if ds == "Outputs":
                upd = np.where(to_mac, cc * mult_mac, (child_fill + child_part) * mult)
                rd = upd - np.where(to_mac, partition[:, li, di] * util_inst[:, li], child_part * mult)
                updates[:, li, di] = np.where(k, upd, 0)
                reads[:, li, di] = np.where(k, rd, 0)
            else:
                reads[:, li, di] = np.where(k, served, 0)
            if li > 0:
                own = delta_sum[:, li] - (partition[:, li, di] if ds == "Outputs" else 0)
                fills[:, li, di] = np.where(k, own * util_inst[:, li], 0)
            inner = np.where(k, li, inner)

    # ---- imperfect factorization: mappings with remainders, one at a time ----------------------
    cc = cc.copy()
    util_pes = util_pes.copy()
    util_inst = util_inst.copy()
    for b in np.flatnonzero(valid & ~exact):
        r = remainder_row(layer, temporal[b], sx[b], sy[b], mappings.order[b], keep[b], f)
        reads[b], fills[b], updates[b] = r["reads"], r["fills"], r["updates"]
        tiles[b], partition[b], util_inst[b] = r["tiles"], r["partition"], r["util_inst"]
        cc[b], util_pes[b] = r["cc"], r["busy"]

    # ---- energy and cycles ------------------------------------------------------------------
    e_read = np.array([lvl.energy_pj.read for lvl in arch.levels])[None, :, None]
    e_fill = np.array([lvl.energy_pj.fill for lvl in arch.levels])[None, :, None]
    e_upd = np.array([lvl.energy_pj.update for lvl in arch.levels])[None, :, None]
    level_energy = reads * e_read + fills * e_fill + updates * e_upd
    energy = level_energy.sum(axis=(1, 2)) + macs * arch.mac.energy_pj

    cycles = cc.astype(np.float64)
    level_cycles = np.repeat(cc[:, None], L, axis=1).astype(np.float64)
    ccf = np.maximum(cc, 1).astype(np.float64)
    for li, lvl in enumerate(arch.levels):
        bw = lvl.bandwidth
        if not bw.limited:
            continue
        inst = util_inst[:, li].astype(np.float64)
        need_r = (reads[:, li, :] / inst[:, None] / ccf[:, None]).sum(axis=1)
        need_w = ((fills[:, li, :] + updates[:, li, :]) / inst[:, None] / ccf[:, None]).sum(axis=1)
        slow = np.ones(B)
        with np.errstate(divide="ignore", invalid="ignore"):
            if bw.read is not None:
                slow = np.minimum(slow, np.where(need_r > 0, bw.read / need_r, 1.0))
            if bw.write is not None:
                slow = np.minimum(slow, np.where(need_w > 0, bw.write / need_w, 1.0))
            if bw.shared is not None:
                tot = need_r + need_w
                slow = np.minimum(slow, np.where(tot > 0, bw.shared / tot, 1.0))
        lc = np.ceil(cc / slow)
        level_cycles[:, li] = lc
        cycles = np.maximum(cycles, lc)

    inf = np.inf
    energy = np.where(valid, energy, inf)
    cycles = np.where(valid, cycles, inf)
    edp = energy * cycles
    util = np.where(valid, macs / (cycles * arch.mac.instances), 0.0)
    costs = Costs(
        energy_pj=energy,
        cycles=cycles,
        edp=edp,
        utilization=util,
        valid=valid,
        reason=reason,
        reason_names=reason_names(arch),
        macs=macs,
        compute_cycles=cc,
        utilized_pes=util_pes,
    )
    if breakdown:
        costs.reads, costs.fills, costs.updates = reads, fills, updates
        costs.tile_words = tiles
        costs.partition_words = partition
        costs.utilized_instances = util_inst
        costs.level_energy_pj = level_energy
        costs.level_cycles = level_cycles
        costs.keep = keep
    return costs


def _distinct_tiles(ds: str, layer: Layer, sp: np.ndarray, child_ext: np.ndarray) -> np.ndarray:
    """Distinct tiles of ``ds`` among the PEs of the fan-out ``[B]``: PEs holding identical data share
    one parent read (multicast); for Outputs this is the count after spatial reduction.

    ``sp [B, D]`` are the total spatial factors, ``child_ext [B, D]`` the extents below the fan-out
    (the index step of one spatial iteration).
    """
    i = DIM_INDEX
    rel = RELEVANT[ds]
    if ds != "Inputs":
        out = np.ones(sp.shape[0], dtype=np.int64)
        for d in rel:
            out = out * sp[:, i[d]]
        return out
    w = distinct_windows(sp[:, i["P"]], sp[:, i["R"]], child_ext[:, i["P"]] * layer.Wstride,
                         child_ext[:, i["R"]] * layer.Wdilation)
    h = distinct_windows(sp[:, i["Q"]], sp[:, i["S"]], child_ext[:, i["Q"]] * layer.Hstride,
                         child_ext[:, i["S"]] * layer.Hdilation)
    return sp[:, i["N"]] * sp[:, i["G"]] * sp[:, i["C"]] * w * h
