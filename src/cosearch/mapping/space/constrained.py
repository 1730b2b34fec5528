"""Mapspace constraints, resolved for one layer into what the sampler fixes, draws and rejects.

:func:`plan_constraints` turns :class:`~cosearch.mapping.constraints.Constraints` into a
:class:`ConstraintPlan`: fixed factors (and resolved ``0`` = "all that is left" factors) are put in place
before the fill and only the remaining free slots are drawn (spatial slots only for allowed dims); loop
orders put the constrained dims innermost; bypass draws skip forced data spaces and assume the smallest
tiles the fixed factors force. A utilisation floor is met by drawing spatial factors first
(:func:`draw_spatial_floor`: dim by dim, uniformly among the choices from which a dynamic programme says
the floor stays reachable). Rejection (redrawing rows) is left for a fixed outermost factor
(``reject_outer``) and for spatial factors that overflow a buffer under a floor (``min_pes``).
:func:`constraint_violations` checks a batch against the plan.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from ...dims import DATASPACES, DIMS, NUM_DATASPACES, NUM_DIMS
from ...errors import CosearchError
from ...workload.geometry import tile_words
from ..factors import divisors as _divisors_of
from ..mapping import Mappings
from ._kernel import KIND_T, KIND_X, KIND_Y, draw_floor_rows

if TYPE_CHECKING:
    from ..constraints import Constraints, ResolvedConstraints
    from . import MapSpace


@dataclass
class ConstraintPlan:
    """What a map space's constraints fix for its layer (``L`` levels, ``D`` dims, 3 data spaces).

    The unconstrained plan (:meth:`unconstrained`) leaves every slot free and forces nothing.
    """

    constraints: Constraints | None  # the expanded constraints (None: unconstrained)
    resolved: ResolvedConstraints | None  # resolved for the layer (slot requirements, orders, keeps)
    free: np.ndarray  # [3, L, D] bool: (slot kind, level, dim) the sampler may draw
    pinned_loops: np.ndarray  # [L, D] bool: loops a permutation constraint places (moves leave them)
    force_keep: np.ndarray  # [L, 3] bool: data spaces a level must keep (beyond fixed levels)
    force_bypass: np.ndarray  # [L, 3] bool: data spaces a level must bypass
    keep_decided: np.ndarray  # [L, 3] bool: force_keep | force_bypass (moves do not flip them)
    min_tiles: np.ndarray  # [L, 3] int64: smallest tile words the fixed factors force (1 if free)
    t_init: np.ndarray  # [L, D] int64: initial temporal factors; row 0 = the parked remainder
    x_init: np.ndarray  # [L, D] int64: fixed spatial X factors (1 where free)
    y_init: np.ndarray  # [L, D] int64: fixed spatial Y factors (1 where free)
    outer_mult: np.ndarray  # [D] int64: a fixed outermost factor (1 if none)
    fill_dims: list[int]  # dims the sampler draws (remainder > 1 and a free slot)
    split_dims: set[int]  # dims a re-split may redraw
    reject_outer: bool  # a fixed outermost factor: rows whose remainder does not end at 1 are redrawn
    min_pes: int  # utilisation floor in PEs (0: none)
    floor: tuple | None  # the floor's draw tables (draw_spatial_floor), None without a floor

    @classmethod
    def unconstrained(cls, levels: int, dims: np.ndarray, active_dims: list[int]) -> ConstraintPlan:
        """Every slot free, nothing forced, every dim ``dims [D]`` parked outermost."""
        t_init = np.ones((levels, NUM_DIMS), dtype=np.int64)
        t_init[0] = dims
        return cls(
            constraints=None, resolved=None, free=np.ones((3, levels, NUM_DIMS), dtype=bool),
            pinned_loops=np.zeros((levels, NUM_DIMS), dtype=bool),
            force_keep=np.zeros((levels, NUM_DATASPACES), dtype=bool),
            force_bypass=np.zeros((levels, NUM_DATASPACES), dtype=bool),
            keep_decided=np.zeros((levels, NUM_DATASPACES), dtype=bool),
            min_tiles=np.ones((levels, NUM_DATASPACES), dtype=np.int64), t_init=t_init,
            x_init=np.ones((levels, NUM_DIMS), dtype=np.int64), y_init=np.ones((levels, NUM_DIMS), dtype=np.int64),
            outer_mult=np.ones(NUM_DIMS, dtype=np.int64), fill_dims=list(active_dims), split_dims=set(active_dims),
            reject_outer=False, min_pes=0, floor=None,
        )

    def force_permutation(self, order_l: np.ndarray, level: int) -> np.ndarray:
        """Ranks ``[R, D]`` with the level's constrained dims innermost in their order and the other dims
        outside them in their current relative order."""
        listed = self.resolved.perm[level]  # type: ignore[union-attr]
        key = order_l.astype(np.int64, copy=True)
        key[:, listed] = NUM_DIMS + np.arange(len(listed))
        perm = np.argsort(key, axis=1, kind="stable")
        ranks = np.empty_like(perm)
        np.put_along_axis(ranks, perm, np.broadcast_to(np.arange(NUM_DIMS), perm.shape).copy(), axis=1)
        return ranks


def plan_constraints(space: MapSpace, constraints: Any) -> ConstraintPlan:
    """Resolve ``constraints`` (a :class:`~cosearch.mapping.constraints.Constraints`, or a dataflow name /
    file for :func:`~cosearch.mapping.constraints.load_constraints`) for the space's layer into a
    :class:`ConstraintPlan`; raise :class:`CosearchError` (naming the item) if they cannot be met."""
    from ..constraints import Constraints, load_constraints, resolve_constraints

    arch, layer = space.arch, space.layer
    cons = constraints.expand(arch) if isinstance(constraints, Constraints) else load_constraints(constraints, arch)
    con = resolve_constraints(cons, arch, layer, pad_limit=space.pad_limit if space.imperfect else None)
    where = f"layer {layer.name} ({layer.shape_text()}) on {arch.name}"
    free = con.req == -1  # [3, L, D]
    pinned = np.zeros((space.num_levels, NUM_DIMS), dtype=bool)
    for li, listed in enumerate(con.perm):
        if listed:
            pinned[li, listed] = True
    force_keep = con.keep & space.allowed & ~space.fixed[:, None]
    force_bypass = con.bypass & space.allowed
    start = _initial_factors(space, con, free, where)
    px0, py0 = _fixed_mesh_use(space, con, start, where)
    min_tiles = _forced_tiles(space, con, start, force_keep, where)
    min_pes, floor = _utilisation_floor(space, con, free, start.rem, px0, py0, where)
    return ConstraintPlan(
        constraints=cons, resolved=con, free=free, pinned_loops=pinned, force_keep=force_keep,
        force_bypass=force_bypass, keep_decided=force_keep | force_bypass, min_tiles=min_tiles,
        t_init=start.t_init, x_init=start.x0, y_init=start.y0, outer_mult=start.outer_mult,
        fill_dims=start.fill_dims, split_dims=set(start.fill_dims), reject_outer=start.reject_outer,
        min_pes=min_pes, floor=floor,
    )


@dataclass
class _Start:
    """The fixed factors in place (``t0``/``x0``/``y0 [L, D]``, free slots 1), the rest ``rem [D]`` of
    each dim that the fill must place, and the sampler's start: ``t_init [L, D]`` (the rest parked
    outermost), ``outer_mult [D]`` (a fixed outermost factor), ``fill_dims`` (dims with a rest and a
    free slot for it), ``reject_outer`` (a fixed outermost factor the parked rest must leave)."""

    t0: np.ndarray
    x0: np.ndarray
    y0: np.ndarray
    rem: np.ndarray
    t_init: np.ndarray
    outer_mult: np.ndarray
    fill_dims: list[int]
    reject_outer: bool


def _initial_factors(space: MapSpace, con: ResolvedConstraints, free: np.ndarray, where: str) -> _Start:
    """Initial factors: fixed ones in place, free ones 1; the rest of each dim parked outermost. A dim
    whose rest has no free slot to go to is an error."""
    req, f = con.req, space.fanout_level
    t0 = np.where(req[KIND_T] > 0, req[KIND_T], 1)
    x0 = np.where(req[KIND_X] > 0, req[KIND_X], 1)
    y0 = np.where(req[KIND_Y] > 0, req[KIND_Y], 1)
    fixed_prod = t0.prod(axis=0) * x0.prod(axis=0) * y0.prod(axis=0)
    # perfect: exact (resolve_constraints checked divisibility); imperfect: the outer iterations left
    rem = -(-space.dims // fixed_prod) if space.imperfect else space.dims // fixed_prod
    outer_mult = t0[0].copy()  # a fixed outermost factor; the parked remainder must end at 1
    t_init = t0.copy()
    t_init[0] = rem
    kinds_here = {KIND_X: space.mesh_x > 1, KIND_Y: space.mesh_y > 1}
    n_free = free[KIND_T, 1:].sum(axis=0) + sum(
        free[k, f] * int(on) for k, on in kinds_here.items()
    )  # [D] free slots besides the outermost
    outer_fixed = req[KIND_T, 0] > 0
    for d in range(NUM_DIMS):
        if rem[d] > 1 and outer_fixed[d] and n_free[d] == 0:
            raise CosearchError(
                f"{where}: {' and '.join(con.dim_labels(d))}: fixed factors of {DIMS[d]} multiply to "
                f"{int(fixed_prod[d])} but the layer's {DIMS[d]} is {int(space.dims[d])} and no free slot is left"
            )
    fill_dims = [d for d in space.active_dims if rem[d] > 1 and n_free[d] > 0]
    reject_outer = bool((outer_fixed & (rem > 1)).any())
    return _Start(t0, x0, y0, rem, t_init, outer_mult, fill_dims, reject_outer)


def _fixed_mesh_use(space: MapSpace, con: ResolvedConstraints, start: _Start, where: str) -> tuple[int, int]:
    """``(px0, py0)``: the PEs the fixed spatial factors use along X and Y; they must fit the mesh."""
    f = space.fanout_level
    px0, py0 = int(start.x0[f].prod()), int(start.y0[f].prod())
    if px0 > space.mesh_x or py0 > space.mesh_y or px0 * py0 > space.mesh_instances:
        labs = sorted({lab for (k, l, d), lab in con.slot_label.items() if k != KIND_T and con.req[k, l, d] > 1})
        raise CosearchError(
            f"{where}: {' and '.join(labs)}: the fixed spatial factors use {px0}×{py0} PEs but the mesh below "
            f"{space.arch.levels[f].name} is {space.mesh_x}×{space.mesh_y}"
        )
    return px0, py0


def _forced_tiles(space: MapSpace, con: ResolvedConstraints, start: _Start, force_keep: np.ndarray,
                  where: str) -> np.ndarray:
    """``min_tiles [L, 3]``: the smallest tiles (words) the fixed factors force; the data spaces a level
    always keeps must fit it."""
    req = con.req
    ext = np.cumprod((start.t0 * start.x0 * start.y0)[::-1], axis=0)[::-1]  # [L, D], free factors at 1
    tiles = np.stack([tile_words(ds, ext, space.layer) for ds in DATASPACES], axis=1)  # [L, 3]
    min_tiles = np.where(space.allowed, tiles, 1).astype(np.int64)
    always = space.allowed & (space.fixed[:, None] | force_keep)
    for m in range(1, space.num_levels):
        size = space.sizes[m]
        if size is None:
            continue
        used = int((min_tiles[m] * always[m]).sum())
        if used > size:
            labs = sorted(
                {lab for (k, l, d), lab in con.slot_label.items() if l >= m and req[k, l, d] > 1}
                | {lab for (l, di), lab in con.keep_label.items() if l == m and always[m, di]}
            )
            held = ", ".join(f"{DATASPACES[di]} {int(min_tiles[m, di])}" for di in range(NUM_DATASPACES)
                             if always[m, di])
            raise CosearchError(
                f"{where}: {' and '.join(labs) or 'the constraints'}: level {space.arch.levels[m].name} holds "
                f"{size} words but the constraints force at least {used} on it ({held})"
            )
    return min_tiles


def _utilisation_floor(space: MapSpace, con: ResolvedConstraints, free: np.ndarray, rem: np.ndarray, px0: int,
                       py0: int, where: str) -> tuple[int, tuple | None]:
    """``(min_pes, floor)`` of a ``utilization`` constraint (``(0, None)`` without one): a dynamic
    programme over the spatially free dims bounds the reachable PEs (an unreachable floor is an error);
    ``floor`` is the table :func:`draw_spatial_floor` draws from (``None`` if no dim is spatially free)."""
    if con.min_util <= 0:
        return 0, None
    from ..constraints import max_spatial_product

    f = space.fanout_level
    need = math.ceil(con.min_util * space.mesh_instances - 1e-9)
    need_free = -(-need // (px0 * py0))
    sd = [d for d in space.active_dims if rem[d] > 1 and (
        (free[KIND_X, f, d] and space.mesh_x > 1) or (free[KIND_Y, f, d] and space.mesh_y > 1))]
    cx0, cy0 = space.mesh_x // px0, space.mesh_y // py0
    options = [spatial_pairs(space, free, d, int(rem[d]), cx0, cy0) for d in sd]
    best, vx, vy, ix_of, iy_of = max_spatial_product(options, cx0, cy0)
    reach = int(best[-1, ix_of[cx0], iy_of[cy0]]) * px0 * py0
    if reach < need:
        raise CosearchError(
            f"{where}: {con.util_label}: utilization >= {con.min_util:g} needs {need} of the "
            f"{space.mesh_instances} PEs but this layer can use at most {reach} under the constraints"
        )
    if not sd:
        return need, None
    P = max(len(o) for o in options)
    ox = np.ones((len(sd), P), dtype=np.int64)
    oy = np.ones((len(sd), P), dtype=np.int64)
    ok = np.zeros((len(sd), P), dtype=bool)
    for j, o in enumerate(options):
        ox[j, : len(o)] = [p[0] for p in o]
        oy[j, : len(o)] = [p[1] for p in o]
        ok[j, : len(o)] = True
    return need, (np.array(sd, dtype=np.int64), ox, oy, ok, best, ix_of, iy_of, cx0, cy0, need_free)


def spatial_pairs(space: MapSpace, free: np.ndarray, d: int, rest: int, cap_x: int, cap_y: int, *,
                  padded: bool = False) -> list[tuple[int, int]]:
    """The ``(x, y)`` spatial factors dim ``d`` may take at the fan-out when ``rest`` of it is free
    and ``cap_x`` × ``cap_y`` of the mesh is left (a factor of 1 where that axis is not free in
    ``free [3, L, D]``): divisors of ``rest``, or with ``padded`` (imperfect factorization, padding
    cap aside) any ``x <= rest`` and ``y <= ceil(rest / x)``."""
    f = space.fanout_level
    on_x = bool(free[KIND_X, f, d]) and space.mesh_x > 1
    on_y = bool(free[KIND_Y, f, d]) and space.mesh_y > 1
    if padded:
        xs = range(1, min(rest, cap_x) + 1) if on_x else [1]
        return [(x, y) for x in xs for y in (range(1, min(-(-rest // x), cap_y) + 1) if on_y else [1])]
    pairs = []
    for x in ([int(v) for v in _divisors_of(rest)] if on_x else [1]):
        if x > cap_x:
            continue
        ys = [int(v) for v in _divisors_of(rest // x)] if on_y else [1]
        pairs += [(x, y) for y in ys if y <= cap_y]
    return pairs


def draw_spatial_floor(space: MapSpace, T: np.ndarray, X: np.ndarray, Y: np.ndarray, rng: np.random.Generator) -> None:
    """Spatial factors first, dim by dim in a random order per row: each dim's ``(x, y)`` pair is
    uniform among those that fit the mesh and leave the utilisation floor reachable (by the
    dynamic programme of :func:`~cosearch.mapping.constraints.max_spatial_product`). ``T``, ``X``,
    ``Y`` ``[R, L, D]`` are updated in place (the pair moves out of the parked remainder ``T[:, 0]``)."""
    sd, ox, oy, ok_tab, best, ix_of, iy_of, cx0, cy0, need = space.plan.floor  # type: ignore[misc]
    R, J = T.shape[0], len(sd)
    perm = rng.permuted(np.broadcast_to(np.arange(J), (R, J)), axis=1)
    u = rng.random((J, R))  # one uniform per row and step, as choose_uniform draws them step by step
    draw_floor_rows(perm, u, sd, ox, oy, ok_tab, best, ix_of, iy_of, int(cx0), int(cy0), int(need),
                    space.fanout_level, T, X, Y)


def constraint_violations(space: MapSpace, m: Mappings) -> dict[str, np.ndarray]:
    """Failure masks ``[B]`` bool of the map space's constraints (empty without constraints):
    ``padding`` (under imperfect factorization: a dim's factors multiply to more than the padding cap
    allows), ``constraint:factors`` (fixed temporal factors), ``constraint:spatial`` (spatial dims and fixed
    spatial factors), ``constraint:permutation``, ``constraint:bypass``, ``constraint:utilization``."""
    plan = space.plan
    con = plan.resolved
    out: dict[str, np.ndarray] = {}
    if space.imperfect:
        product = (m.temporal * m.spatial_x * m.spatial_y).prod(axis=1)  # [B, D]
        out["padding"] = (product > space.pad_limit[None]).any(axis=1)
    if con is None:
        return out
    B = len(m)
    req = con.req
    fixed_t = req[KIND_T] > 0
    out["constraint:factors"] = ((m.temporal != req[KIND_T][None]) & fixed_t[None]).any(axis=(1, 2))
    bad = np.zeros(B, dtype=bool)
    for k, arr in ((KIND_X, m.spatial_x), (KIND_Y, m.spatial_y)):
        bad |= ((arr != req[k][None]) & (req[k] > 0)[None]).any(axis=(1, 2))
    out["constraint:spatial"] = bad
    bad = np.zeros(B, dtype=bool)
    for li, listed in enumerate(con.perm):
        if not listed:
            continue
        big = m.temporal[:, li] > 1  # only loops with factor > 1 matter
        o = m.order[:, li]
        inside = plan.pinned_loops[li][None]
        outer_most = np.where(big & ~inside, o, -1).max(axis=1)
        inner_least = np.where(big & inside, o, NUM_DIMS + 1).min(axis=1)
        bad |= outer_most > inner_least
        for a in range(len(listed)):
            for b in range(a + 1, len(listed)):
                i, j = listed[a], listed[b]
                bad |= big[:, i] & big[:, j] & (o[:, i] > o[:, j])
    out["constraint:permutation"] = bad
    eff = space.effective_keep(m.keep)
    out["constraint:bypass"] = ((plan.force_keep[None] & ~eff) | (plan.force_bypass[None] & eff)).any(axis=(1, 2))
    if plan.min_pes > 0:
        f = space.fanout_level
        pes = (m.spatial_x[:, f] * m.spatial_y[:, f]).prod(axis=1)
        out["constraint:utilization"] = pes < plan.min_pes
    return out
