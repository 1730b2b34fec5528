"""A brute-force loop-nest simulator of the cost model's semantics, for tests (small layers only).

It walks every iteration of the nest and every instance of the PE array, tracks the words each
instance's tile holds (boolean masks over the data spaces), and counts, per level and data space,
the words filled, read and updated. No closed form is used; it exists to check the model's
(``cosearch.model._kernel`` and ``_remainders``) on perfect and imperfect factorizations alike.

Semantics (``docs/model.md``, "Imperfect factorization"):

* The nest is every level's temporal loops (outer level first, in the level's order), with the
  fan-out level's spatial loops (X·Y per dim, one digit) just inside that level's temporal loops.
  A dimension's index is the mixed-radix number of its loop indices in nest order. An iteration
  with any index ``>= D`` does nothing; it is skipped.
* A keeper's tile in one iteration is, per dim, the in-range part ``[base, min(base + E, D))`` of the
  span of its loops and everything below it; for a data space, the bounding box of the points those
  index ranges touch (Inputs: ``w = p·Wstride + r·Wdilation``, likewise ``h``).
* Walking the loops above a keeper (all levels above it, spatial digits fixed per instance), a new
  tile whose origin moved by exactly ``v_m`` — the data-space step of the innermost loop above the
  keeper with bound > 1 whose second iteration is in range — is charged the words it holds that the
  previous tile did not; any other move (and the first tile) is charged the whole tile. Outputs
  charged words that the instance held before are fills (read back); the others arrive as zeros.
* Across the fan-out, at each iteration the busy instances holding the same tile share one parent
  access (the simulator checks that their charges agree, so the sharing is well defined).
* The innermost keeper serves the MACs: one access per in-range MAC per busy instance below the
  fan-out; above it, one per distinct operand word among the busy PEs at each iteration.
"""

from __future__ import annotations

import itertools

import numpy as np

from cosearch.arch.spec import Arch
from cosearch.dims import DIM_INDEX, NUM_DIMS
from cosearch.mapping.keep import effective_keep
from cosearch.mapping.mapping import Mappings
from cosearch.workload.layer import Layer

N_, G_, K_, C_, P_, Q_, R_, S_ = (DIM_INDEX[d] for d in "NGKCPQRS")


def _nest(m: Mappings, i: int, fanout: int) -> list[tuple[int, int, int, bool]]:
    """``(level, dim, bound, spatial)`` of every loop, outer -> inner."""
    L = m.temporal.shape[1]
    loops = []
    for li in range(L):
        for d in sorted(range(NUM_DIMS), key=lambda d: int(m.order[i, li, d])):
            loops.append((li, d, int(m.temporal[i, li, d]), False))
        if li == fanout:
            for d in range(NUM_DIMS):
                loops.append((li, d, int(m.spatial_x[i, li, d] * m.spatial_y[i, li, d]), True))
    return loops


def _weights(loops: list[tuple[int, int, int, bool]]) -> list[int]:
    """Index weight of every loop: the product of the bounds of its dim's loops inside it."""
    w = [1] * len(loops)
    acc = [1] * NUM_DIMS
    for k in range(len(loops) - 1, -1, -1):
        d = loops[k][1]
        w[k] = acc[d]
        acc[d] *= loops[k][2]
    return w


def _shapes(layer: Layer) -> list[tuple[int, ...]]:
    h = (layer.Q - 1) * layer.Hstride + (layer.S - 1) * layer.Hdilation + 1
    wd = (layer.P - 1) * layer.Wstride + (layer.R - 1) * layer.Wdilation + 1
    return [(layer.G, layer.K, layer.C, layer.S, layer.R), (layer.N, layer.G, layer.C, h, wd),
            (layer.N, layer.G, layer.K, layer.Q, layer.P)]


def _box(ds: int, lo: list[int], hi: list[int], layer: Layer) -> list[tuple[int, int]]:
    """Axis intervals ``[start, end)`` of data space ``ds`` for dim index ranges ``[lo, hi)``."""
    if ds == 0:
        dims = (G_, K_, C_, S_, R_)
        return [(lo[d], hi[d]) for d in dims]
    if ds == 2:
        dims = (N_, G_, K_, Q_, P_)
        return [(lo[d], hi[d]) for d in dims]
    hs, hd, ws, wd = layer.Hstride, layer.Hdilation, layer.Wstride, layer.Wdilation
    return [(lo[N_], hi[N_]), (lo[G_], hi[G_]), (lo[C_], hi[C_]),
            (lo[Q_] * hs + lo[S_] * hd, (hi[Q_] - 1) * hs + (hi[S_] - 1) * hd + 1),
            (lo[P_] * ws + lo[R_] * wd, (hi[P_] - 1) * ws + (hi[R_] - 1) * wd + 1)]


def _mask(shape: tuple[int, ...], box: list[tuple[int, int]]) -> np.ndarray:
    out = np.zeros(shape, dtype=bool)
    out[tuple(slice(a, b) for a, b in box)] = True
    return out


def _point(ds: int, idx: list[int], layer: Layer) -> tuple[int, ...]:
    return tuple(a for a, _ in _box(ds, idx, [v + 1 for v in idx], layer))


def simulate(arch: Arch, layer: Layer, m: Mappings, i: int = 0) -> dict:
    """Counts of mapping ``i`` of ``m``: ``reads``, ``fills``, ``updates`` ``[L, 3]`` (words, totals
    over instances), ``tile_words`` ``[L, 3]`` (largest tile), ``compute_cycles``, ``busy_pes``."""
    L = arch.num_levels
    f = arch.fanout_level
    dims = list(layer.dims)
    keep = effective_keep(arch, m.keep[i:i + 1])[0]
    loops = _nest(m, i, f)
    w = _weights(loops)
    shapes = _shapes(layer)
    spatial = [k for k, lp in enumerate(loops) if lp[3]]
    instances = list(itertools.product(*[range(loops[k][2]) for k in spatial]))

    def ranges(idx: dict[int, int], level: int) -> tuple[list[int], list[int]] | None:
        """Dim index ranges of the tile of ``level`` at loop indices ``idx`` (loops outside it)."""
        lo = [0] * NUM_DIMS
        ext = [1] * NUM_DIMS
        for k, (li, d, n, sp) in enumerate(loops):
            if li >= level:  # the level's own loops (and the spatial ones at the fan-out) are inside
                ext[d] *= n
            else:
                lo[d] += idx[k] * w[k]
        if any(lo[d] >= dims[d] for d in range(NUM_DIMS)):
            return None
        return lo, [min(lo[d] + ext[d], dims[d]) for d in range(NUM_DIMS)]

    tiles = np.zeros((L, 3), dtype=np.int64)
    # ---- every keeper's walk: per instance and iteration, (charge, words held before) ----------
    walks: dict[tuple[int, int], dict] = {}
    for li in range(1, L):
        above = [k for k, lp in enumerate(loops) if lp[0] < li and not lp[3]]
        fixed = [k for k in spatial if loops[k][0] < li]
        active = [k for k in above if loops[k][2] > 1 and w[k] < dims[loops[k][1]]]
        for ds in range(3):
            if not keep[li, ds]:
                continue
            tmat_step = None
            if active:
                mk = active[-1]
                lo0 = [0] * NUM_DIMS
                lo1 = [0] * NUM_DIMS
                lo1[loops[mk][1]] = w[mk]
                a0 = [a for a, _ in _box(ds, lo0, [1] * NUM_DIMS, layer)]
                a1 = [a for a, _ in _box(ds, lo1, [v + 1 for v in lo1], layer)]
                tmat_step = tuple(b - a for a, b in zip(a0, a1))
            per_time: dict[tuple, list] = {}
            total_charge = 0
            total_first = 0
            ext = [1] * NUM_DIMS
            for k, (lk, d, n, _) in enumerate(loops):
                if lk >= li:
                    ext[d] *= n
            t_all = np.indices([loops[k][2] for k in above]).reshape(len(above), -1) if above else \
                np.zeros((0, 1), dtype=np.int64)
            for inst in (instances if fixed else [instances[0]]):
                held = None
                origin = None
                ever = np.zeros(shapes[ds], dtype=bool)
                lo_all = np.zeros((NUM_DIMS, t_all.shape[1]), dtype=np.int64)
                for row, k in enumerate(above):
                    lo_all[loops[k][1]] += t_all[row] * w[k]
                for k, v in zip(spatial, inst):
                    if loops[k][0] < li:
                        lo_all[loops[k][1]] += v * w[k]
                in_range = (lo_all < np.array(dims)[:, None]).all(axis=0)
                for col in np.flatnonzero(in_range):
                    t = tuple(int(v) for v in t_all[:, col])
                    lo = [int(v) for v in lo_all[:, col]]
                    r = (lo, [min(lo[d] + ext[d], dims[d]) for d in range(NUM_DIMS)])
                    box = _box(ds, r[0], r[1], layer)
                    new = _mask(shapes[ds], box)
                    size = int(new.sum())
                    tiles[li, ds] = max(tiles[li, ds], size)
                    start = tuple(a for a, _ in box)
                    if held is not None and tmat_step is not None and \
                            tuple(b - a for a, b in zip(origin, start)) == tmat_step:
                        charged = new & ~held
                    else:
                        charged = new
                    charge = int(charged.sum())
                    before = int((charged & ever).sum())
                    first = charge - before
                    ever |= new
                    held, origin = new, start
                    total_charge += charge
                    total_first += first
                    key = t
                    per_time.setdefault(key, []).append((tuple(box), charge, first, inst))
            # instances sharing a tile at the same iteration share one parent access
            shared_charge = 0
            shared_first = 0
            for entries in per_time.values():
                groups: dict[tuple, tuple[int, int]] = {}
                for box, charge, first, _ in entries:
                    if box in groups:
                        assert groups[box] == (charge, first), "instances sharing a tile disagree"
                    else:
                        groups[box] = (charge, first)
                for charge, first in groups.values():
                    shared_charge += charge
                    shared_first += first
            n_inst = len(instances) if fixed else 1
            walks[(li, ds)] = {"all": (total_charge, total_first), "shared": (shared_charge, shared_first),
                               "instances": n_inst}
    # ---- the MACs: every iteration and PE (all of them, as arrays [iterations, instances]) -----------
    temporal = [k for k, lp in enumerate(loops) if not lp[3]]
    t_idx = np.indices([loops[k][2] for k in temporal]).reshape(len(temporal), -1)
    s_idx = np.array(instances, dtype=np.int64).T.reshape(len(spatial), -1)
    index = np.zeros((NUM_DIMS, t_idx.shape[1], s_idx.shape[1]), dtype=np.int64)
    for row, k in enumerate(temporal):
        index[loops[k][1]] += t_idx[row][:, None] * w[k]
    for row, k in enumerate(spatial):
        index[loops[k][1]] += s_idx[row][None, :] * w[k]
    busy_at = (index < np.array(dims)[:, None, None]).all(axis=0)  # [iterations, instances]
    cycles = int(busy_at.any(axis=1).sum())
    busy = int(busy_at.any(axis=0).sum())
    it, pe = np.nonzero(busy_at)
    idx = index[:, it, pe]  # [D, in-range MACs]
    served_pe = [idx.shape[1]] * 3
    served_shared = [0, 0, 0]
    first_shared = first_pe = 0
    for ds in range(3):
        box = _box(ds, list(idx), [v + 1 for v in idx], layer)
        word = np.ravel_multi_index(tuple(a for a, _ in box), shapes[ds])
        served_shared[ds] = len(np.unique(np.stack([it, word]), axis=1).T)
        if ds == 2:
            first_shared = len(np.unique(word))
            first_pe = len(np.unique(np.stack([pe, word]), axis=1).T)
    # ---- the chain of keepers -------------------------------------------------------------------
    reads = np.zeros((L, 3), dtype=np.int64)
    fills = np.zeros((L, 3), dtype=np.int64)
    updates = np.zeros((L, 3), dtype=np.int64)
    for ds in range(3):
        inner = -1
        for li in range(L - 1, -1, -1):
            if not keep[li, ds]:
                continue
            if inner < 0:
                served = served_shared[ds] if li <= f else served_pe[ds]
                if ds == 2:
                    updates[li, ds] = served
                    reads[li, ds] = served - (first_shared if li <= f else first_pe)
                else:
                    reads[li, ds] = served
            else:
                walk = walks[(inner, ds)]
                charge, first = walk["shared"] if (li <= f < inner) else walk["all"]
                if ds == 2:
                    updates[li, ds] = charge
                    reads[li, ds] = charge - first
                else:
                    reads[li, ds] = charge
            if li > 0:
                charge, first = walks[(li, ds)]["all"]
                fills[li, ds] = charge - first if ds == 2 else charge
            inner = li
    for ds in range(3):
        r = ranges(dict.fromkeys(range(len(loops)), 0), 0)
        assert r is not None
        tiles[0, ds] = int(_mask(shapes[ds], _box(ds, r[0], r[1], layer)).sum())
    return {"reads": reads, "fills": fills, "updates": updates, "tile_words": tiles,
            "compute_cycles": cycles, "busy_pes": busy}
