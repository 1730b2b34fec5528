"""The map space of one layer on one architecture, and a sampler of mappings that are valid by construction.

A mapping (see :mod:`cosearch.mapping.mapping`) is valid when (Timeloop semantics, as checked by
:func:`cosearch.model.evaluate.evaluate`):

* every dim's factors multiply to the layer's size: ``Π_l temporal·spatial_x·spatial_y = dims``;
* spatial factors sit only at ``arch.fanout_level`` and fit the mesh below it: ``Π_d spatial_x <=
  mesh_x``, ``Π_d spatial_y <= mesh_y``, and their product ``<=`` the child's instances;
* every bounded level holds the tiles it keeps: ``Σ_{ds kept} tile_words(ds, ext_l) × bits(ds) <=
  size_bits``, with ``ext_l`` the product of all factors at level ``l`` and below (Inputs tiles include
  the halo; ``bits(ds)`` the data space's word width there). The sampler counts every tile at the
  level's widest data-space width (``size_bits // max bits`` words), which is exact when all widths are
  equal and otherwise may leave out rows that fit only because a data space is narrower;
* ``keep`` differs from the level's ``keeps`` only at non-fixed levels other than the outermost, and
  only by bypassing.

How :meth:`MapSpace.sample` builds valid mappings without rejection
------------------------------------------------------------------
1. ``keep`` is drawn first: fixed levels (and the outermost) keep their set; each other level keeps
   each data space it may keep with probability ``keep_prob`` (independently), conditioned on the set
   fitting the level with 1-word tiles.
2. Factors are then drawn slot by slot, each uniformly among the divisors of the dim's remainder that
   keep the mesh and every bounded level's capacity satisfied (:mod:`.sampler`): every step has a
   valid choice, so the result is valid, and every valid mapping has non-zero probability.
3. Loop orders are uniformly random permutations at every level.

Package layout: this module is the facade (sample, validity, constraints, moves' facts);
:mod:`.sampler` the slot-by-slot fill and its tables, :mod:`._kernel` its compiled step,
:mod:`.constrained` the constraint plan, :mod:`.counting` the size of the space and uniform draws
from it.

Mapspace constraints
--------------------
``MapSpace(arch, layer, constraints=...)`` (a :class:`~cosearch.mapping.constraints.Constraints`, a
dataflow name or a constraints file; format in ``docs/formats.md``) restricts the space. The sampler
honours them by construction (:mod:`.constrained` resolves them into a ``ConstraintPlan``: fixed
factors in place, free slots drawn, constrained loops innermost, forced bypasses skipped, a
utilisation floor drawn first); rejection (redrawing rows) is used only for a fixed outermost factor
and for spatial factors that overflow a buffer under a floor. :meth:`MapSpace.sample_dim_split` and
the moves of :class:`~cosearch.mapping.moves.MoveSet` keep the constraints, :meth:`MapSpace.allows`
checks them (vectorised) and :meth:`MapSpace.is_valid` includes them.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from ...arch.spec import Arch
from ...dims import DATASPACES, DIM_INDEX, NUM_DATASPACES, NUM_DIMS
from ...errors import CosearchError
from ...limits import check_float
from ...workload.geometry import tile_words
from ...workload.layer import Layer
from ..factors import DEFAULT_MAX_PADDING, FACTORIZATIONS, padding_limits
from ..keep import effective_keep, keep_tables
from ..mapping import Mappings, row_indices
from ..vector import blocked_view
from ._kernel import KIND_T, KIND_X, KIND_Y
from .constrained import ConstraintPlan, constraint_violations, draw_spatial_floor, plan_constraints, spatial_pairs
from .counting import space_size, uniform_unconstrained
from .sampler import FactorFiller, SeedLike, as_generator


class MapSpace:
    """All mappings of ``layer`` onto ``arch``, with a vectorised sampler of valid mappings (local moves
    on them: :class:`~cosearch.mapping.moves.MoveSet`).

    ``slot_order`` (``"inner_first"`` or ``"random"``) is the order factors are drawn in (module docstring).
    ``keep_prob`` is the probability that a bypassable level keeps each data space it may keep
    (0.5: all bypass choices equally likely). Every valid mapping has non-zero probability when
    ``0 < keep_prob < 1``.

    An arch with a block MAC (``mac.block``) is mapped in its blocked view
    (:func:`~cosearch.mapping.vector.blocked_view`): :attr:`arch` and :attr:`layer` are the view (the
    blocked dims are ``ceil(dim / block)``, words are vector words), :attr:`source_arch` and
    :attr:`source_layer` what was given (the cost model takes those: real MACs, real utilisation). For
    a scalar MAC the two pairs are the same objects.

    ``constraints``: mapspace constraints (a :class:`~cosearch.mapping.constraints.Constraints`, or a
    dataflow name / file for :func:`~cosearch.mapping.constraints.load_constraints`); ``None`` = none.
    The constrained space's samples and mutations satisfy them; ``allows`` checks them.

    ``factorization``: ``"perfect"`` (every dim's factors multiply to its size, Timeloop's rule) or
    ``"imperfect"`` (they may multiply to more, up to ``(1 + max_padding) × size``; iterations past the
    size do nothing and the last tile along the dim is a remainder tile, ``docs/model.md``). Capacity
    then uses each level's largest tile. ``max_padding`` (in ``[0, 1]``) matters only under imperfect.

    Raises :class:`~cosearch.errors.CosearchError` if no valid mapping exists (a fixed-keep level
    too small for even 1-word tiles, or a bounded outermost level too small for the whole layer), or
    if the layer cannot satisfy the constraints (the message names the item).
    """

    def __init__(
        self,
        arch: Arch,
        layer: Layer,
        *,
        keep_prob: float = 0.5,
        slot_order: str = "inner_first",
        constraints: Any = None,
        factorization: str = "perfect",
        max_padding: float = DEFAULT_MAX_PADDING,
    ) -> None:
        if factorization not in FACTORIZATIONS:
            raise CosearchError(f"factorization must be one of {', '.join(FACTORIZATIONS)}, got {factorization!r}")
        self.factorization = factorization
        self.max_padding = check_float(max_padding, "max_padding", high=1.0)
        if not 0.0 <= keep_prob <= 1.0:
            raise ValueError(f"keep_prob must be in [0, 1], got {keep_prob}")
        if slot_order not in ("inner_first", "random"):
            raise ValueError(f"slot_order must be 'inner_first' or 'random', got {slot_order!r}")
        self.slot_order = slot_order
        self.source_arch, self.source_layer = arch, layer
        # a block MAC's space is the blocked view's: factors over ceil(dim / block), vector words
        self.arch, self.layer = arch, layer = blocked_view(arch, layer)
        self.keep_prob = float(keep_prob)
        L = arch.num_levels
        self.dims = np.array(layer.dims, dtype=np.int64)  # [D]
        self.fanout_level = arch.fanout_level
        child = arch.fanout_child
        self.mesh_x = int(child.mesh_x)
        self.mesh_y = int(child.mesh_y)
        self.mesh_instances = int(child.instances)

        # which data spaces each level may / must keep
        tables = keep_tables(arch)
        self.allowed = tables.allowed  # [L, 3]
        self.fixed = tables.fixed  # [L]
        self.bypassable = tables.bypassable  # [L, 3]
        # capacities in words of each level's widest data space: a row within them holds in bits too
        self.sizes: list[int | None] = [lvl.capacity_words for lvl in arch.levels]
        self.active_dims = [d for d in range(NUM_DIMS) if self.dims[d] > 1]
        # [D] the largest product of each dim's factors (== dims under perfect factorization)
        self.pad_limit = padding_limits(self.dims, self.max_padding) if self.imperfect else self.dims.copy()

        # what the constraints fix (unconstrained: every slot free, nothing forced)
        self.plan = ConstraintPlan.unconstrained(L, self.dims, self.active_dims)
        self._check_mappable()
        if constraints is not None:
            self.plan = plan_constraints(self, constraints)
        self.constraints = self.plan.constraints
        fill_limit = self.pad_limit // self.plan.outer_mult if self.imperfect else None
        self._filler = FactorFiller(arch, layer, self.allowed, slot_order, fill_limit)

    # ---- basic facts -------------------------------------------------------------------------
    @property
    def imperfect(self) -> bool:
        """Factors may over-cover a dim (``factorization == "imperfect"``)."""
        return self.factorization == "imperfect"

    @property
    def num_levels(self) -> int:
        """``L``, the number of storage levels."""
        return self.arch.num_levels

    def _check_mappable(self) -> None:
        where = f"layer {self.layer.name} ({self.layer.shape_text()}) on {self.arch.name}"
        for m in range(1, self.num_levels):
            size = self.sizes[m]
            if self.fixed[m] and size is not None and int(self.allowed[m].sum()) > size:
                raise CosearchError(
                    f"{where}: level {self.arch.levels[m].name} must keep {', '.join(self.arch.levels[m].keeps)} "
                    f"but holds only {size} word(s), less than one word per data space"
                )
        size0 = self.sizes[0]
        if size0 is not None:
            need = sum(int(tile_words(ds, self.dims, self.layer)) for di, ds in enumerate(DATASPACES) if self.allowed[0, di])
            if need > size0:
                raise CosearchError(
                    f"{where}: the outermost level {self.arch.levels[0].name} holds {size0} words "
                    f"but the layer's data needs {need}"
                )

    def with_constraints(self, constraints: Any) -> MapSpace:
        """A map space of the same arch, layer, factorization and padding cap under ``constraints``
        (sampling settings at their defaults)."""
        return MapSpace(self.source_arch, self.source_layer, constraints=constraints, factorization=self.factorization,
                        max_padding=self.max_padding)

    # ---- random pieces -----------------------------------------------------------------------
    def random_orders(self, n: int, rng: SeedLike = None) -> np.ndarray:
        """Uniformly random loop orders: int64 ``[n, L, D]``, each ``[b, l, :]`` a permutation of ``0..D-1``
        (``order[b, l, d]`` = rank of dim ``d``, 0 = outermost)."""
        rng = as_generator(rng)
        base = np.broadcast_to(np.arange(NUM_DIMS, dtype=np.int64), (n, self.num_levels, NUM_DIMS))
        out = rng.permuted(base, axis=-1)
        if self.plan.resolved is not None:
            for lvl, listed in enumerate(self.plan.resolved.perm):
                if listed:
                    out[:, lvl] = self.plan.force_permutation(out[:, lvl], lvl)
        return out

    def random_keep(self, n: int, rng: SeedLike = None) -> np.ndarray:
        """Random bypass choices: bool ``[n, L, 3]``.

        Fixed levels and the outermost keep exactly their ``keeps``; at every other level each allowed
        data space is kept with probability ``keep_prob``, conditioned on the kept set fitting the level
        with 1-word tiles (so that it is reachable by some factorization).
        """
        rng = as_generator(rng)
        keep = np.broadcast_to(self.allowed, (n, self.num_levels, NUM_DATASPACES)).copy()
        keep &= ~self.plan.force_bypass[None]
        p = self.keep_prob
        for m in range(1, self.num_levels):
            cand = [di for di in range(NUM_DATASPACES) if self.bypassable[m, di] and not self.plan.keep_decided[m, di]]
            if not cand:
                continue
            k = len(cand)
            subsets = np.array([[(s >> j) & 1 for j in range(k)] for s in range(1 << k)], dtype=bool)  # [2^k, k]
            nkept = subsets.sum(axis=1)
            fits = np.ones(1 << k, dtype=bool)
            size = self.sizes[m]
            if size is not None:
                # smallest tiles (1 word each, or what fixed factors force) of the sets that are always kept
                always = self.allowed[m] & (~self.bypassable[m] | self.plan.force_keep[m])
                fixed_kept = int((self.plan.min_tiles[m] * always).sum())
                fits = subsets.astype(np.int64) @ self.plan.min_tiles[m, cand] + fixed_kept <= size
            w = np.where(fits, p**nkept * (1 - p) ** (k - nkept), 0.0)
            if w.sum() <= 0:  # keep_prob 0 or 1 and that extreme does not fit: uniform over what fits
                w = fits.astype(float)
            pick = rng.choice(1 << k, size=n, p=w / w.sum())
            keep[:, m, cand] = subsets[pick]
        return keep

    # ---- sampling ----------------------------------------------------------------------------
    def sample(self, n: int, seed: SeedLike = None) -> Mappings:
        """``n`` random mappings, all valid (see the module docstring for the distribution).

        Deterministic for an integer seed (or a Generator in a given state). Returns :class:`Mappings`
        with ``temporal``/``spatial_x``/``spatial_y``/``order`` int64 ``[n, L, 8]`` and ``keep`` bool
        ``[n, L, 3]``.
        """
        if n < 0:
            raise ValueError(f"n must be >= 0, got {n}")
        rng = as_generator(seed)
        if self.plan.resolved is not None:
            return self._sample_constrained(n, rng)
        keep = self.random_keep(n, rng)
        order = self.random_orders(n, rng)
        temporal, sx, sy = self._filler.fill_batch(None, None, None, keep, self.active_dims, rng, self.plan.free)
        return Mappings(temporal, sx, sy, order, keep)

    # ---- validity ----------------------------------------------------------------------------
    def effective_keep(self, keep: np.ndarray) -> np.ndarray:
        """``keep [B, L, 3]`` clamped as the cost model does: fixed levels and the outermost keep their set."""
        return effective_keep(self.arch, keep)

    def violations(self, m: Mappings) -> dict[str, np.ndarray]:
        """Per-constraint failure masks ``[B]`` bool: ``factorization`` (factors that do not multiply to
        the dims; under imperfect factorization, that under-cover them), ``fanout`` (placement or mesh),
        ``capacity:<level>`` for each bounded level (largest tiles), ``imperfect_windows`` (imperfect
        factorization: P and R, or Q and S, spread together over the mesh while one over-covers; the
        cost model refuses these), and the map space's constraints
        (:meth:`constraint_violations`, with ``padding`` under imperfect factorization). A fast check
        mirroring the cost model's."""
        f = self.fanout_level
        spatial = m.spatial_x * m.spatial_y
        factors = m.temporal * spatial
        out: dict[str, np.ndarray] = {}
        product = factors.prod(axis=1)  # [B, D]
        cover = (product < self.dims[None]) if self.imperfect else (product != self.dims[None])
        out["factorization"] = (
            cover.any(axis=1)
            | (m.temporal < 1).any(axis=(1, 2))
            | (spatial < 1).any(axis=(1, 2))
        )
        off = np.ones(self.num_levels, dtype=bool)
        off[f] = False
        px = m.spatial_x[:, f].prod(axis=1)
        py = m.spatial_y[:, f].prod(axis=1)
        out["fanout"] = (
            (spatial[:, off] > 1).any(axis=(1, 2))
            | (px > self.mesh_x)
            | (py > self.mesh_y)
            | (px * py > self.mesh_instances)
        )
        keep = self.effective_keep(m.keep)
        ext = np.cumprod(factors[:, ::-1], axis=1)[:, ::-1]
        if self.imperfect:
            ext = np.minimum(ext, self.dims)  # the largest tiles
        for li, lvl in enumerate(self.arch.levels):
            if lvl.size_bits is None:
                continue
            used = np.zeros(len(m), dtype=np.int64)  # bits
            for di, ds in enumerate(DATASPACES):
                used += np.where(keep[:, li, di], tile_words(ds, ext[:, li], self.layer) * lvl.bits(ds), 0)
            out[f"capacity:{lvl.name}"] = used > lvl.size_bits
        if self.imperfect:  # a window pair spread together must be perfectly factorized (the model's rule)
            spread = spatial[:, f] > 1  # [B, D]
            exact = product == self.dims[None]
            bad = np.zeros(len(m), dtype=bool)
            for a, b in (("P", "R"), ("Q", "S")):
                i, j = DIM_INDEX[a], DIM_INDEX[b]
                bad |= spread[:, i] & spread[:, j] & ~(exact[:, i] & exact[:, j])
            out["imperfect_windows"] = bad
        out.update(self.constraint_violations(m))
        return out

    def is_valid(self, m: Mappings) -> np.ndarray:
        """``[B]`` bool: factorization, fan-out and capacity all hold (what ``evaluate(...).valid`` reports),
        and so do the map space's constraints, if any (see :meth:`allows`)."""
        bad = np.zeros(len(m), dtype=bool)
        for mask in self.violations(m).values():
            bad |= mask
        return ~bad

    # ---- conditional redraw (the sampler's fill for one dim) ----------------------------------
    def sample_dim_split(self, m: Mappings, dim: int | str, rows: Any = None, rng: SeedLike = None) -> Mappings:
        """A copy of ``m`` where, in the selected ``rows`` (bool mask ``[B]``, indices, or None = all),
        dim ``dim`` (index or name) is redistributed afresh over all levels and the mesh, with the other
        dims, orders and keep unchanged. Rows valid before stay valid (the draw is the sampler's: inner
        level first, uniform among the divisors that fit). Other rows are copied unchanged.
        """
        d = DIM_INDEX[dim] if isinstance(dim, str) else int(dim)
        if not 0 <= d < NUM_DIMS:
            raise IndexError(f"dim index {d} out of range")
        rng = as_generator(rng)
        out = dataclasses.replace(
            m,
            temporal=m.temporal.astype(np.int64, copy=True),
            spatial_x=m.spatial_x.astype(np.int64, copy=True),
            spatial_y=m.spatial_y.astype(np.int64, copy=True),
        )
        idx = row_indices(rows, len(m))
        if idx.size == 0 or self.dims[d] == 1:
            return out
        if self.plan.resolved is not None:
            return self._constrained_split(out, d, idx, rng)
        temporal = out.temporal[idx]
        sx = out.spatial_x[idx]
        sy = out.spatial_y[idx]
        temporal[:, :, d] = 1
        temporal[:, 0, d] = self.dims[d]
        sx[:, :, d] = 1
        sy[:, :, d] = 1
        t2, x2, y2 = self._filler.fill_batch(temporal, sx, sy, self.effective_keep(out.keep[idx]), [d], rng, self.plan.free)
        out.temporal[idx] = t2
        out.spatial_x[idx] = x2
        out.spatial_y[idx] = y2
        return out

    # ---- mapspace constraints ------------------------------------------------------------------
    def max_utilized_pes(self, *, padded: bool = False) -> int:
        """The most PEs (instances below the fan-out) a mapping of this layer can keep busy: the largest
        product of spatial factors that divide the dims and fit the mesh (capacity and the other
        constraints aside; fixed spatial factors count as given). With ``padded`` (an upper bound
        under imperfect factorization) spatial factors need not divide the dims: any ``x·y`` up to a
        dim's size rounded up to a multiple of ``x`` counts."""
        from ..constraints import max_spatial_product

        f = self.fanout_level
        x0, y0 = self.plan.x_init[f], self.plan.y_init[f]
        px0, py0 = int(x0.prod()), int(y0.prod())
        cx0, cy0 = self.mesh_x // px0, self.mesh_y // py0
        rem = -(-self.dims // (x0 * y0))
        sd = [d for d in self.active_dims if rem[d] > 1]
        options = [spatial_pairs(self, self.plan.free, d, int(rem[d]), cx0, cy0, padded=padded) for d in sd]
        best, _, _, ix_of, iy_of = max_spatial_product(options, cx0, cy0)
        return int(best[-1, ix_of[cx0], iy_of[cy0]]) * px0 * py0

    def max_busy_pes(self) -> int:
        """An upper bound on the PEs a mapping of this space keeps busy: :meth:`max_utilized_pes`, with
        non-dividing spatial factors under imperfect factorization (a mesh keeps more PEs busy)."""
        if not self.imperfect:
            return self.max_utilized_pes()
        return min(self.max_utilized_pes(padded=True), self.mesh_instances)

    def _needs_rejection(self) -> bool:
        return self.plan.reject_outer or self.plan.min_pes > 0

    def _draw(self, n: int, rng: np.random.Generator) -> Mappings:
        """``n`` mappings honouring every constraint by construction except a fixed outermost factor
        and the capacity of levels at or above the fan-out under a utilisation floor (rows breaking
        those are rejected by the caller)."""
        keep = self.random_keep(n, rng)
        order = self.random_orders(n, rng)
        L = self.num_levels
        T = np.broadcast_to(self.plan.t_init, (n, L, NUM_DIMS)).copy()
        X = np.broadcast_to(self.plan.x_init, (n, L, NUM_DIMS)).copy()
        Y = np.broadcast_to(self.plan.y_init, (n, L, NUM_DIMS)).copy()
        free = None
        if self.plan.floor is not None and n:
            draw_spatial_floor(self, T, X, Y, rng)
            free = self.plan.free.copy()
            free[KIND_X] = False
            free[KIND_Y] = False
        T, X, Y = self._filler.fill_batch(T, X, Y, keep, self.plan.fill_dims, rng, self.plan.free if free is None else free)
        T[:, 0] *= self.plan.outer_mult[None]
        return Mappings(T, X, Y, order, keep)

    def _sample_constrained(self, n: int, rng: np.random.Generator) -> Mappings:
        """Draw ``n`` mappings that satisfy the constraints (and are valid): by construction, plus
        rejection and redrawing of rows when a fixed outermost factor or a utilisation floor is set."""
        if not self._needs_rejection() or n == 0:
            return self._draw(n, rng)
        parts: list[Mappings] = []
        got = drawn = 0
        limit = 200 * n + 20_000
        while got < n:
            rate = max(got / drawn, 0.01) if drawn else 1.0
            want = int(min(max((n - got) / rate * 1.25 + 16, 64), 1 << 17))
            m = self._draw(want, rng)
            ok = self.is_valid(m)
            drawn += want
            got += int(ok.sum())
            parts.append(m.subset(ok))
            if got < n and drawn >= limit:
                raise CosearchError(
                    f"layer {self.layer.name} ({self.layer.shape_text()}) on {self.arch.name}: constraints "
                    f"{self.constraints.label}: only {got} of {drawn} drawn mappings satisfied them (fixed outermost "  # type: ignore[union-attr]
                    "factors or the utilization floor leave too little room)"
                )
        return Mappings.concat(parts).subset(slice(0, n))

    def _constrained_split(self, out: Mappings, d: int, idx: np.ndarray, rng: np.random.Generator) -> Mappings:
        """:meth:`sample_dim_split` under constraints: fixed slots keep their factors, free slots are
        redrawn; rows that then break a constraint (utilisation floor, fixed outermost factor) are
        redrawn up to 8 times and otherwise left unchanged."""
        if d not in self.plan.split_dims:
            return out
        todo = idx
        for _ in range(8):
            temporal = out.temporal[todo].copy()
            sx = out.spatial_x[todo].copy()
            sy = out.spatial_y[todo].copy()
            temporal[:, :, d] = self.plan.t_init[:, d]
            sx[:, :, d] = self.plan.x_init[:, d]
            sy[:, :, d] = self.plan.y_init[:, d]
            t2, x2, y2 = self._filler.fill_batch(temporal, sx, sy, self.effective_keep(out.keep[todo]), [d], rng, self.plan.free)
            t2[:, 0, d] *= self.plan.outer_mult[d]
            if self._needs_rejection():
                cand = Mappings(t2, x2, y2, out.order[todo], out.keep[todo])
                ok = self.allows(cand)
            else:
                ok = np.ones(todo.size, dtype=bool)
            good = todo[ok]
            out.temporal[good] = t2[ok]
            out.spatial_x[good] = x2[ok]
            out.spatial_y[good] = y2[ok]
            todo = todo[~ok]
            if not todo.size:
                break
        return out

    def constraint_violations(self, m: Mappings) -> dict[str, np.ndarray]:
        """Failure masks ``[B]`` bool of the map space's constraints (empty without constraints); see
        :func:`~.constrained.constraint_violations`."""
        return constraint_violations(self, m)

    def allows(self, m: Mappings) -> np.ndarray:
        """``[B]`` bool: the mappings satisfy the map space's constraints (all True without constraints).
        Checks the constraints only, not factorization, fan-out or capacity (see :meth:`is_valid`)."""
        ok = np.ones(len(m), dtype=bool)
        for mask in self.constraint_violations(m).values():
            ok &= ~mask
        return ok

    # ---- size of the space (counting.py) ---------------------------------------------------------
    def num_slots(self) -> int:
        """Places a factor of a dim can go: one temporal slot per level, plus X and Y if the mesh has them."""
        return self.num_levels + (self.mesh_x > 1) + (self.mesh_y > 1)

    def size(self, valid_samples: int = 0, seed: SeedLike = 0) -> dict[str, float | int]:
        """Size of the map space, ignoring capacity and mesh limits (:func:`~.counting.space_size`)."""
        return space_size(self, valid_samples, seed)

    def uniform_unconstrained(self, n: int, seed: SeedLike = None) -> Mappings:
        """``n`` mappings drawn uniformly from the space :meth:`size` counts, ignoring capacity and mesh
        limits: most are invalid (:func:`~.counting.uniform_unconstrained`)."""
        return uniform_unconstrained(self, n, seed)

    def valid_fraction(self, n: int, seed: SeedLike = 0) -> float:
        """Fraction of ``n`` :meth:`uniform_unconstrained` mappings that are valid."""
        return float(self.is_valid(self.uniform_unconstrained(n, seed)).mean()) if n > 0 else float("nan")

    def __repr__(self) -> str:
        return f"MapSpace(arch={self.arch.name!r}, layer={self.layer.shape_text()!r}, levels={self.num_levels})"


__all__ = ["MapSpace", "KIND_T", "KIND_X", "KIND_Y"]
