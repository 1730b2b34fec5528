"""Lower bounds on the network EDP that any design of a hardware space can reach within an area budget.

A co-design result is easier to judge next to what is possible at all. For a template and estimator,
every design's network cost is bounded below by costs no mapping can avoid:

- **Energy** (pJ) of one layer ≥ MACs × MAC energy
  + compulsory DRAM traffic × DRAM energy (every weight and every input word some MAC uses is read
  from DRAM at least once, every output word is written once: :func:`compulsory_dram_words`)
  + MACs × the cheapest access of each per-PE level whose data space is fixed and that is the innermost
  level holding that data space (every MAC reads its weight and input from such a scratchpad and
  updates its partial sum there), + the read-modify-write reads of that per-PE partial-sum keeper: each
  instance reads a partial sum before every update except the first of each output element it holds,
  and one output element is held by at most ``min(C·R·S, PEs)`` instances (the PEs that reduce into
  it), so at least ``MACs − output words × min(C·R·S, most PEs of a design within the budget)`` reads
  happen there. Per-access energies are minimised over the level's own parameter
  grid (the estimator is monotone in size, but banking trades size against energy, so the minimum is
  taken over the whole grid of the level's parameters, not assumed at one corner).
  + the on-chip traffic of the compulsory words that no mapping avoids: every level below DRAM that
  always keeps a data space (``keeps_fixed``) is filled with each used weight and input word at least
  once and passes it on (reads it) at least once, and is updated with each output word at least once;
  for the innermost per-PE keeper the reads and updates are already counted per MAC above, so only its
  fills are added (scratchpad fills: each weight and each used input enters some PE's scratchpad).
  A GLB that may be bypassed (``eyeriss``, ``simple``) adds nothing; the ``timeloop-eyeriss`` GLB,
  which always keeps inputs and outputs, adds their fills, reads and updates.
- **Reuse within a PE** (templates whose Weights, Inputs and Outputs each have their own fixed per-PE
  scratchpad, ``eyeriss`` and ``timeloop-eyeriss``: :mod:`.reuse_floor`). A PE can do only so many
  MACs with the words its small scratchpads hold and the words that arrive in them (Loomis–Whitney for
  layers without filter windows; two operands fix a MAC for any layer), so a layer forces scratchpad
  refills; each refill costs its scratchpad's fill and, for weights and inputs, a parent (GLB or DRAM)
  read shared by at most the PEs a multicast reaches. Fresh partial sums cost nothing but are at most
  ``outputs × r`` with ``r`` the PEs reducing into one output, and the read-modify-write reads are the
  MACs less those; more spatial reduction also leaves fewer PEs to share a parent read. The floor
  takes the least over ``r`` and the multicast split, and replaces the partial-sum term and the
  scratchpad fills above when it is higher. It depends on the scratchpad sizes, whose reads every MAC
  pays, so the network's energy floor is minimised over the grid of those sizes jointly (one size per
  design, for every layer, each with the most PEs a design with it fits within the budget).
- **Cycles** of one layer on a mesh ≥ max(MACs / the most PEs a mapping of the layer can keep busy on
  that mesh, compulsory DRAM words / DRAM bandwidth). Under perfect factorization the spatial factors
  divide the dims; under imperfect factorization any spatial factor fits (a 7-wide dim on 4×2 PEs
  keeps up to 8 busy, counted as 8: the bound stays a bound), so a mesh keeps more PEs busy. The network's cycles are minimised over the PE
  meshes that fit the area budget with every other parameter at its smallest (area grows with every
  parameter), so one mesh serves every layer, as in a real design.

A template of block MACs (``mac_params``, the ``vector-pe`` template) is bounded block by block: for
each combination of its block parameters the network is bounded as above in its blocked view
(:mod:`cosearch.mapping.vector`: blocked layers, vector words costing the accesses they span, the MAC
``Π block`` scalar MACs), and the smallest energy and cycles over the blocks are kept.

Word widths (``precision``, docs/model.md "Word widths") are counted as the cost model counts them: a
word of data space ``ds`` at a level costs that level's per-access energy × ``bits[ds] / access
width`` and uses that share of its bandwidth, so under INT8 (8-bit weights and inputs, 32-bit partial
sums) a weight read from DRAM costs half a 16-bit access and an output write two. With every width
equal to the access width (the default, 16 bits) the factors are exactly 1.

Energy and cycles are bounded separately (a design cannot reach both at once), so ``edp`` is a loose
bound: no design of the space under the budget has a lower network EDP. Leakage-free, link-free,
bandwidth-free on chip: every term is something the cost model charges.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, replace
from functools import lru_cache

import numpy as np

from ..arch.area import AreaModel
from ..arch.hwspace import HWSpace
from ..arch.spec import Arch
from ..dims import DATASPACES
from ..workload.geometry import distinct_windows
from ..workload.layer import Layer, Network
from .reuse_floor import ReuseFloor, per_pe_keepers, reuse_extra


def compulsory_dram_words(layer: Layer) -> tuple[int, int, int]:
    """Words of (Weights, Inputs, Outputs) that must cross DRAM once per layer instance: all weights,
    the input words some MAC actually reads (a stride larger than the filter skips some), all outputs."""
    w = distinct_windows(np.int64(layer.P), np.int64(layer.R), np.int64(layer.Wstride), np.int64(layer.Wdilation))
    h = distinct_windows(np.int64(layer.Q), np.int64(layer.S), np.int64(layer.Hstride), np.int64(layer.Hdilation))
    return layer.weight_words, layer.N * layer.G * layer.C * int(w) * int(h), layer.output_words


@dataclass(frozen=True)
class EnergyFloors:
    """Cheapest per-access energies (pJ per word) a design of the space can have.

    ``mac``: one MAC. ``dram_read`` / ``dram_update``: one access of the outermost level's port.
    ``dram_word``: pJ of each compulsory (Weights, Inputs, Outputs) word at DRAM (a Weights or Inputs
    read, an Outputs update, each scaled by its width ÷ the port's; ``None``: ``(dram_read,
    dram_read, dram_update)``). ``per_mac``: pJ every MAC must spend in fixed per-PE scratchpads
    (Weights and Inputs read, Outputs updated), 0 if a data space can bypass its innermost level.
    ``per_word``: pJ each compulsory (Weights, Inputs, Outputs) word must spend on chip besides that
    (fills, reads and updates of the levels that always keep it). ``output_rmw_read``: pJ of one read
    of the per-PE level that always keeps Outputs and is their innermost keeper (its read-modify-write
    reads, :func:`layer_energy_floor`), 0 if there is none. All per-word figures are for words of the
    data space's own width. ``reuse``: the :class:`~.reuse_floor.ReuseFloor` of designs with these
    floors' scratchpad sizes (``None``: not counted).
    """

    mac: float
    dram_read: float
    dram_update: float
    per_mac: float
    per_word: tuple[float, float, float] = (0.0, 0.0, 0.0)
    output_rmw_read: float = 0.0
    dram_word: tuple[float, float, float] | None = None
    reuse: ReuseFloor | None = None

    @property
    def dram_per_word(self) -> tuple[float, float, float]:
        """pJ of each compulsory (Weights, Inputs, Outputs) word at DRAM."""
        if self.dram_word is not None:
            return self.dram_word
        return (self.dram_read, self.dram_read, self.dram_update)


@dataclass(frozen=True)
class EDPBound:
    """Lower bounds for one network: ``energy_pj`` (Σ count × energy), ``cycles`` (Σ count × cycles, on
    the best ``mesh`` = (columns, rows), the values of the template's two mesh parameters), and ``edp`` =
    their product."""

    energy_pj: float
    cycles: float
    edp: float
    mesh: tuple[int, int]


def energy_floors(space: HWSpace) -> EnergyFloors:
    """:class:`EnergyFloors` of ``space``: each level's read / update energy minimised over its own
    parameter grid (see module docstring)."""
    return _floors_at(*_cheapest_levels(space))


def _cheapest_levels(space: HWSpace) -> tuple[Arch, list[tuple[float, float, float]]]:
    """``space``'s design at grid point 0 and each of its levels' cheapest (read, fill, update) pJ per
    access over that level's own parameter grid (:func:`_cheapest_access`), ``[L]``."""
    names = list(space.names)
    level_params = space.template_spec.level_params
    base = np.zeros(len(names), dtype=np.int64)
    arch0 = space.arch(base)
    return arch0, [_cheapest_access(space, li, base, [names.index(p) for p in level_params.get(lvl.name, ())])
                   for li, lvl in enumerate(arch0.levels)]


def _word_scale(arch: Arch) -> list[list[float]]:
    """``[L][3]``: a word of each data space at each level costs its width's share of one access of the
    level's port."""
    return [[lvl.bits(ds) / lvl.access_width for ds in DATASPACES] for lvl in arch.levels]


def _floors_at(arch0: Arch, access: list[tuple[float, float, float]]) -> EnergyFloors:
    """:func:`_floors_from` for designs shaped as ``arch0`` (its MAC energy and word widths) whose levels
    cost ``access [L]`` (read, fill, update) pJ per access."""
    return _floors_from(arch0, arch0.mac.energy_pj, [a[0] for a in access], [a[1] for a in access],
                        [a[2] for a in access], _word_scale(arch0))


def _cheapest_access(space: HWSpace, li: int, base: np.ndarray, cols: list[int]) -> tuple[float, float, float]:
    """Level ``li``'s cheapest read, fill and update (pJ per access) over the grid of the parameters at
    indices ``cols``, every other parameter at its grid index in ``base``."""
    best = [np.inf, np.inf, np.inf]
    for idx in np.ndindex(*(int(space.sizes[c]) for c in cols)):
        pt = base.copy()
        pt[cols] = idx
        e = space.arch(pt).levels[li].energy_pj
        best = [min(best[0], e.read), min(best[1], e.fill), min(best[2], e.update)]
    return best[0], best[1], best[2]


def _floors_from(arch0: Arch, mac: float, min_read: list[float], min_fill: list[float], min_update: list[float],
                 wscale: list[list[float]]) -> EnergyFloors:
    """:class:`EnergyFloors` from each level's cheapest read / fill / update (pJ per access) and each
    level's word-to-access ratio per data space ``wscale [L][3]`` (a word of ``ds`` costs that many
    accesses; 1.0 where every word is one access)."""
    pes = arch0.mac.instances
    per_mac = 0.0
    output_rmw_read = 0.0
    per_word = [0.0, 0.0, 0.0]
    for di, ds in enumerate(DATASPACES):
        inner = arch0.innermost_keeper(ds)
        if inner is None:
            continue
        lvl = arch0.levels[inner]
        per_mac_keeper = lvl.keeps_fixed and lvl.instances == pes  # every MAC touches its own copy here
        if per_mac_keeper:
            per_mac += (min_update[inner] if ds == "Outputs" else min_read[inner]) * wscale[inner][di]
            if ds == "Outputs":
                output_rmw_read = min_read[inner] * wscale[inner][di]
        for li in range(1, inner + 1):  # the levels below DRAM that always keep ds
            if not (ds in arch0.levels[li].keeps and arch0.levels[li].keeps_fixed):
                continue
            counted = per_mac_keeper and li == inner  # its reads / updates are in per_mac
            w = wscale[li][di]
            if ds == "Outputs":
                per_word[di] += 0.0 if counted else min_update[li] * w
            else:
                per_word[di] += min_fill[li] * w + (0.0 if counted else min_read[li] * w)
    dram_word = (min_read[0] * wscale[0][0], min_read[0] * wscale[0][1], min_update[0] * wscale[0][2])
    return EnergyFloors(mac=mac, dram_read=min_read[0], dram_update=min_update[0], per_mac=per_mac,
                        per_word=(per_word[0], per_word[1], per_word[2]), output_rmw_read=output_rmw_read,
                        dram_word=dram_word)


def reuse_floors(space: HWSpace) -> list[tuple[EnergyFloors, np.ndarray]]:
    """For the sizes of the per-PE Weights, Inputs and Outputs keepers (:func:`.reuse_floor.per_pe_keepers`):
    the :class:`EnergyFloors` of designs with those scratchpads (their own energies, every other level
    at its cheapest, as :func:`energy_floors`) with their :class:`~.reuse_floor.ReuseFloor`, and a grid
    point (``[P]`` indices, the rest at 0) whose area no design with them undercuts, for
    :func:`feasible_meshes`. Sizes of one keeper with the same energies are taken together, at the
    largest capacity and the smallest area (a floor for each of them). Empty if the template has no
    such keepers."""
    ctx = _ReuseContext.of(space)
    if ctx is None:
        return []
    names = list(space.names)
    level_params = space.template_spec.level_params
    base = np.zeros(len(names), dtype=np.int64)
    # per keeper: runs of its grid points alike in energy, as (columns, smallest point, largest point)
    groups = []
    for li in ctx.keepers:
        cols = [names.index(p) for p in level_params.get(ctx.arch0.levels[li].name, ())]
        runs: list[list] = []
        for idx in np.ndindex(*(int(space.sizes[c]) for c in cols)):
            pt = base.copy()
            pt[cols] = idx
            e = space.arch(pt).levels[li].energy_pj
            key = (e.read, e.fill, e.update)
            if len(cols) == 1 and runs and runs[-1][0] == key:
                runs[-1][2] = idx
            else:
                runs.append([key, idx, idx])
        groups.append([(cols, lo, hi) for _, lo, hi in runs])
    out = []
    for combo in itertools.product(*groups):
        small, large = base.copy(), base.copy()
        for cols, lo, hi in combo:
            small[cols] = lo
            large[cols] = hi
        out.append((ctx.floors(space.arch(small), space.arch(large)), small))
    return out


def design_floors(space: HWSpace, point: np.ndarray) -> EnergyFloors:
    """The :class:`EnergyFloors` of the one design at grid ``point`` (``[P]`` indices): every level at its
    own energies, and with per-PE scratchpads their :class:`~.reuse_floor.ReuseFloor`. With the design's
    PEs, :func:`layer_energy_floor` bounds every mapping of a layer on that design."""
    arch = space.arch(np.asarray(point, dtype=np.int64))
    access = tuple((lvl.energy_pj.read, lvl.energy_pj.fill, lvl.energy_pj.update) for lvl in arch.levels)
    ctx = _ReuseContext.at(arch, access)
    return _floors_at(arch, list(access)) if ctx is None else ctx.floors(arch, arch)


@dataclass(frozen=True)
class _ReuseContext:
    """What :func:`reuse_floors` and :func:`design_floors` share: a design shape ``arch0``, its per-PE
    ``keepers``, each level's (read, fill, update) pJ per access ``access [L]`` (the cheapest over a
    space's grid, or one design's own), the word-to-access ratios ``wscale [L][3]`` and the cheapest
    ``parent_read`` of Weights or Inputs."""

    arch0: Arch
    keepers: tuple[int, int, int]
    access: tuple[tuple[float, float, float], ...]
    wscale: tuple[tuple[float, ...], ...]
    parent_read: float

    @staticmethod
    def of(space: HWSpace) -> "_ReuseContext | None":
        """The context of every design of ``space``: each level at its cheapest over its own grid."""
        arch0, cheapest = _cheapest_levels(space)
        return _ReuseContext.at(arch0, tuple(cheapest))

    @staticmethod
    def at(arch0: Arch, access: tuple[tuple[float, float, float], ...]) -> "_ReuseContext | None":
        """The context of designs shaped as ``arch0`` whose levels cost ``access [L]`` (read, fill,
        update) per access; ``None`` without per-PE scratchpads."""
        keepers = per_pe_keepers(arch0)
        if keepers is None:
            return None
        wscale = tuple(tuple(w) for w in _word_scale(arch0))
        parent_read = min(access[li][0] * wscale[li][di] for di in (0, 1) for li in range(keepers[di])
                          if DATASPACES[di] in arch0.levels[li].keeps)
        return _ReuseContext(arch0, keepers, tuple(access), wscale, parent_read)

    def floors(self, energies: Arch, capacities: Arch) -> EnergyFloors:
        """Floors with the keepers' energies of ``energies`` and capacities of ``capacities``."""
        access = list(self.access)
        for li in self.keepers:
            e = energies.levels[li].energy_pj
            access[li] = (e.read, e.fill, e.update)
        floors = _floors_at(self.arch0, access)
        lv = capacities.levels
        # keepers[di] is the keeper of DATASPACES[di]: its capacity in words of ds, its fill per word
        words = tuple(int(lv[li].size_bits // lv[li].bits(ds)) for li, ds in zip(self.keepers, DATASPACES))
        fills = tuple(access[li][1] * self.wscale[li][di] for di, li in enumerate(self.keepers))
        reuse = ReuseFloor(words=words, fill=fills, rmw_read=floors.output_rmw_read, parent_read=self.parent_read)
        return replace(floors, reuse=reuse)


def output_rmw_reads(layer: Layer, max_pes: int | None) -> int:
    """The fewest read-modify-write reads of partial sums any mapping of ``layer`` makes at a per-PE
    level that keeps Outputs innermost, on designs of at most ``max_pes`` PEs (``None``: any number).

    Each MAC updates its partial sum there, and every update but the first of each output element at
    an instance reads it first (docs/model.md, "Partial sums": reads = updates − partition size). An
    output element is held by the instances whose spatial indices of C, R and S differ, at most
    ``min(C·R·S, max_pes)`` of them, so the partition sizes sum to at most output words × that."""
    reducers = layer.C * layer.R * layer.S
    if max_pes is not None:
        reducers = min(reducers, max_pes)
    return max(0, layer.macs - layer.output_words * reducers)


def layer_energy_floor(layer: Layer, floors: EnergyFloors, max_pes: int | None = None) -> float:
    """Lower bound (pJ) on one instance of ``layer``'s energy on any design with these floors and at
    most ``max_pes`` PEs (``None``: any number, which leaves out the partial-sum reads that only a
    bounded mesh forces, :func:`output_rmw_reads`, and the reuse within a PE, :class:`ReuseFloor`)."""
    w, i, o = compulsory_dram_words(layer)
    on_chip = w * floors.per_word[0] + i * floors.per_word[1] + o * floors.per_word[2]
    rmw = output_rmw_reads(layer, max_pes) * floors.output_rmw_read
    if floors.reuse is not None and max_pes is not None:
        # the reuse floor bounds the partial-sum reads, all scratchpad fills and the parent reads past
        # the compulsory ones together; the plain terms bound the first two (the fills in on_chip)
        spad = w * floors.reuse.fill[0] + i * floors.reuse.fill[1]
        rmw = max(rmw + spad, reuse_extra(layer, floors.reuse, max_pes, (w, i))) - spad
    dw, di, do = floors.dram_per_word
    return layer.macs * (floors.mac + floors.per_mac) + w * dw + i * di + o * do + on_chip + rmw


def layer_cycles_floor(arch: Arch, layer: Layer, dram_bandwidth: float | None,
                       factorization: str = "perfect") -> float:
    """Lower bound on one instance of ``layer``'s cycles on ``arch``'s PE mesh (any buffer sizes); under
    imperfect ``factorization`` spatial factors need not divide the dims, so more PEs may be busy.
    ``dram_bandwidth`` is in accesses of the outermost level's port per cycle; each compulsory word
    uses its width's share of one (:attr:`~cosearch.arch.spec.Level.access_width`)."""
    from ..mapping.space import MapSpace

    if factorization == "perfect":
        compute = layer.macs / MapSpace(arch, layer).max_busy_pes()
    else:
        compute = _imperfect_compute_floor(layer, arch)
    dram_level = arch.levels[0]
    accesses = sum(n * dram_level.bits(ds) / dram_level.access_width
                   for n, ds in zip(compulsory_dram_words(layer), DATASPACES))
    dram = accesses / dram_bandwidth if dram_bandwidth else 0.0
    return max(compute, dram)


def feasible_meshes(space: HWSpace, area_budget_mm2: float, area: AreaModel | None = None,
                    base: np.ndarray | None = None) -> list[tuple[int, int]]:
    """For each mesh column count of the grid, the largest row count whose design fits ``area_budget_mm2``
    with every other parameter at its smallest (none if even the smallest row count does not fit): the
    template's two mesh parameters, as ``(columns, rows)`` values. A larger
    mesh never keeps fewer PEs busy, so these dominate every smaller feasible mesh. ``area``: the
    space's :class:`AreaModel`, if the caller has one (it is built otherwise). ``base``: the grid
    indices of the other parameters (default: all at their smallest)."""
    area = area or AreaModel(space)
    grids = space.grids()
    cx, cy = space.mesh_columns
    nx, ny = len(grids[cx]), len(grids[cy])
    pts = np.zeros((nx * ny, len(space.names)), dtype=np.int64)  # every mesh, columns major
    if base is not None:
        pts[:] = base
    pts[:, cx] = np.repeat(np.arange(nx), ny)
    pts[:, cy] = np.tile(np.arange(ny), nx)
    fits = (area(pts) <= area_budget_mm2).reshape(nx, ny)
    out = []
    for ix, x in enumerate(grids[cx]):
        rows = np.flatnonzero(fits[ix])
        if len(rows):
            out.append((int(x), int(grids[cy][rows.max()])))
    return out


def network_edp_bound(network: Network, space: HWSpace, area_budget_mm2: float,
                      area: AreaModel | None = None, factorization: str = "perfect") -> EDPBound:
    """:class:`EDPBound` of ``network`` (repeat counts included) over the designs of ``space`` whose
    area is within ``area_budget_mm2`` (mappings of that ``factorization``). Raises ``ValueError`` if
    no mesh fits the budget, or if the space searches precision, DRAM bandwidth or clock (the bound is
    of pJ and cycles at one fixed setting of each). A template of block MACs is bounded block by block
    (:func:`_blocked_edp_bound`)."""
    if space.searched:
        raise ValueError(f"hardware space {space.name} searches {', '.join(space.searched)}: the EDP bound "
                         "needs them fixed")
    if space.template_spec.mac_params:
        return _blocked_edp_bound(network, space, area_budget_mm2, area or AreaModel(space), factorization)
    area = area or AreaModel(space)
    meshes = feasible_meshes(space, area_budget_mm2, area)
    energy = _network_energy_floor(network, space, area_budget_mm2, area, meshes)
    smallest = space.values(np.zeros(len(space.names), dtype=np.int64))
    mesh_x, mesh_y = space.template_spec.mesh
    best: tuple[float, tuple[int, int]] | None = None
    for x, y in meshes:
        arch = space.arch({**smallest, mesh_x: x, mesh_y: y})
        cycles = sum(layer.count * layer_cycles_floor(arch, layer, space.dram_words_per_cycle, factorization)
                     for layer in network.layers)
        if best is None or cycles < best[0]:
            best = (cycles, (x, y))
    if best is None:
        raise ValueError(f"no design of hardware space {space.name} fits {area_budget_mm2:.3f} mm²")
    return EDPBound(energy_pj=energy, cycles=best[0], edp=energy * best[0], mesh=best[1])


def _network_energy_floor(network: Network, space: HWSpace, area_budget_mm2: float, area: AreaModel,
                          meshes: list[tuple[int, int]]) -> float:
    """Σ count × :func:`layer_energy_floor` (pJ) over ``network``'s layers, for the cheapest design of
    ``space`` within the budget: with per-PE scratchpads of each data space (:func:`reuse_floors`), the
    least over their sizes of the network's floor with those sizes, on the most PEs a design with them
    fits (sizes no design fits with are skipped); otherwise with the space's :func:`energy_floors` on
    the most PEs of ``meshes``."""
    def total(floors: EnergyFloors, pes: int) -> float:
        return sum(layer.count * layer_energy_floor(layer, floors, pes) for layer in network.layers)

    # each combination's floor without the reuse term is at most its floor with it (layer_energy_floor
    # takes the larger of the two), so combinations are tried cheapest first and the rest skipped
    # once even that cheaper floor is above the best found: the least, as if every one were tried
    sized = []
    for floors, point in _reuse_floors(space):
        fits = feasible_meshes(space, area_budget_mm2, area, point)
        if fits:
            pes = max(x * y for x, y in fits)
            sized.append((total(replace(floors, reuse=None), pes), floors, pes))
    best = np.inf
    for plain, floors, pes in sorted(sized, key=lambda t: t[0]):
        if plain > best * (1 + 1e-9):
            break
        best = min(best, total(floors, pes))
    if np.isfinite(best):
        return float(best)
    floors = _floors(space)
    max_pes = max((x * y for x, y in meshes), default=None)
    return sum(layer.count * layer_energy_floor(layer, floors, max_pes) for layer in network.layers)


@lru_cache(maxsize=8)
def _reuse_floors_cached(space_json: str) -> list[tuple[EnergyFloors, np.ndarray]]:
    return reuse_floors(HWSpace.model_validate_json(space_json))


def _reuse_floors(space: HWSpace) -> list[tuple[EnergyFloors, np.ndarray]]:
    return _reuse_floors_cached(space.model_dump_json())


@lru_cache(maxsize=8)
def _floors_cached(space_json: str) -> EnergyFloors:
    return energy_floors(HWSpace.model_validate_json(space_json))


def _floors(space: HWSpace) -> EnergyFloors:
    return _floors_cached(space.model_dump_json())


# ---- block MACs ---------------------------------------------------------------------------------------
def _view_energies(space: HWSpace) -> dict[tuple[int, ...], tuple[list[float], list[float], list[float]]]:
    """For every combination of the template's ``mac_params`` (grid indices), each level's cheapest
    read / fill / update (pJ per access) over the level's other parameters. A level whose area
    parameters include some MAC parameters (a port one vector word wide) is minimised per value of
    those; the others once."""
    names = list(space.names)
    template = space.template_spec
    mac_cols = [names.index(p) for p in template.mac_params]
    base = np.zeros(len(names), dtype=np.int64)
    arch0 = space.arch(base)
    per_level = []
    for li, lvl in enumerate(arch0.levels):
        params = template.level_params.get(lvl.name, ())
        own = [names.index(p) for p in params if p not in template.mac_params]
        tied = [c for c in mac_cols if names[c] in params]
        table: dict[tuple[int, ...], tuple[float, float, float]] = {}
        for tie in np.ndindex(*(int(space.sizes[c]) for c in tied)):
            at = base.copy()
            at[tied] = tie
            table[tuple(int(t) for t in tie)] = _cheapest_access(space, li, at, own)
        per_level.append((tied, table))
    out = {}
    for combo in np.ndindex(*(int(space.sizes[c]) for c in mac_cols)):
        at = dict(zip(mac_cols, combo))
        rows = [table[tuple(int(at[c]) for c in tied)] for tied, table in per_level]
        out[tuple(int(c) for c in combo)] = ([r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows])
    return out


def block_floors(space: HWSpace, combo: tuple[int, ...],
                 energies: dict[tuple[int, ...], tuple[list[float], list[float], list[float]]] | None = None,
                 ) -> tuple[EnergyFloors, list[float]]:
    """The :class:`EnergyFloors` of the designs of ``space`` whose block parameters (the template's
    ``mac_params``) sit at grid indices ``combo``, in their blocked view (per-access energies times the
    accesses a vector word spans; the MAC ``Π block`` scalar MACs), and DRAM accesses per vector word of
    each data space. ``energies``: :func:`_view_energies` of the space, if the caller has it."""
    from ..mapping.vector import blocked_arch

    names = list(space.names)
    min_read, min_fill, min_update = (energies or _view_energies(space))[tuple(combo)]
    base = np.zeros(len(names), dtype=np.int64)
    base[[names.index(p) for p in space.template_spec.mac_params]] = combo
    view0 = blocked_arch(space.arch(base))
    wscale = _word_scale(view0)
    return _floors_from(view0, view0.mac.energy_pj, min_read, min_fill, min_update, wscale), wscale[0]


def _blocked_edp_bound(network: Network, space: HWSpace, area_budget_mm2: float, area: AreaModel,
                       factorization: str) -> EDPBound:
    """:func:`network_edp_bound` of a template of block MACs. For each block (each combination of the
    template's ``mac_params``) the network is bounded in its blocked view
    (:func:`~cosearch.mapping.vector.blocked_view`), where the cost model sees a scalar arch costing
    vector words: energy as in the module docstring on the blocked layers (:func:`block_floors`), cycles
    on the meshes that fit the budget with that block and every other parameter at its smallest. The
    bound is the smallest energy and the smallest cycles over the blocks (bounded separately, as for
    scalar templates)."""
    from ..mapping.vector import blocked_layer

    names = list(space.names)
    mac_cols = [names.index(p) for p in space.template_spec.mac_params]
    mesh_x, mesh_y = space.template_spec.mesh
    energies = _view_energies(space)
    grids = space.grids()
    max_mesh = (int(grids[space.mesh_columns[0]].max()), int(grids[space.mesh_columns[1]].max()))
    best_energy = np.inf
    best: tuple[float, tuple[int, int]] | None = None
    for combo in energies:
        floors, dram_scale = block_floors(space, combo, energies)
        base = np.zeros(len(names), dtype=np.int64)
        base[mac_cols] = combo
        arch0 = space.arch(base)
        views = [blocked_layer(arch0, layer) for layer in network.layers]
        meshes = feasible_meshes(space, area_budget_mm2, area, base)
        if not meshes:  # no design with this block fits: it bounds nothing
            continue
        max_pes = max(x * y for x, y in meshes)
        energy = sum(layer.count * layer_energy_floor(view, floors, max_pes)  # floors count vector words
                     for layer, view in zip(network.layers, views))
        best_energy = min(best_energy, energy)
        smallest = space.values(base)
        for x, y in meshes:
            arch = space.arch({**smallest, mesh_x: x, mesh_y: y})
            cycles = 0.0
            for layer, view in zip(network.layers, views):
                cycles += layer.count * _view_cycles_floor(arch, layer, view, dram_scale,
                                                           space.dram_words_per_cycle, factorization, max_mesh)
            if best is None or cycles < best[0]:
                best = (cycles, (x, y))
    if best is None:
        raise ValueError(f"no design of hardware space {space.name} fits {area_budget_mm2:.3f} mm²")
    return EDPBound(energy_pj=best_energy, cycles=best[0], edp=best_energy * best[0], mesh=best[1])


def _view_cycles_floor(arch: Arch, layer: Layer, view: Layer, dram_scale: list[float],
                       dram_bandwidth: float | None, factorization: str, max_mesh: tuple[int, int]) -> float:
    """:func:`layer_cycles_floor` in the blocked view: block operations over the most PEs a mapping of
    the blocked layer keeps busy, and the compulsory DRAM vector words in DRAM accesses
    (``dram_scale``: accesses per vector word of each data space) over the DRAM bandwidth. Under perfect
    factorization the busy PEs are :func:`~.mesh_fit.busy_pes_table`'s up to ``max_mesh`` (the same
    number as :meth:`MapSpace.max_utilized_pes` of the unconstrained layer); under imperfect
    factorization the compute floor is :func:`~.mesh_fit.padded_cycles_table`'s (remainder tiles pad
    the PEs' iterations)."""
    x, y = arch.fanout_child.mesh_x, arch.fanout_child.mesh_y
    if factorization == "perfect":
        compute = view.macs / int(_busy_table(view.dims, *max_mesh)[x, y])
    else:
        compute = _imperfect_compute_floor(view, arch, max_mesh)
    words = compulsory_dram_words(view)
    dram = sum(n * s for n, s in zip(words, dram_scale)) / dram_bandwidth if dram_bandwidth else 0.0
    return max(compute, dram)


def _imperfect_compute_floor(layer: Layer, arch: Arch, table_mesh: tuple[int, int] | None = None) -> float:
    """Fewest compute cycles of ``layer`` on ``arch``'s mesh under imperfect factorization
    (:func:`~.mesh_fit.padded_cycles_table`, from a table up to ``table_mesh``, default the mesh itself;
    never below MACs ÷ PEs)."""
    x, y = arch.fanout_child.mesh_x, arch.fanout_child.mesh_y
    tx, ty = table_mesh if table_mesh is not None else (x, y)
    return float(_padded_table(tuple(layer.dims), max(tx, x), max(ty, y))[x, y])


@lru_cache(maxsize=4096)
def _padded_table(dims: tuple[int, ...], x: int, y: int) -> np.ndarray:
    """:func:`~.mesh_fit.padded_cycles_table` of ``dims`` up to an ``x`` × ``y`` mesh."""
    from .mesh_fit import padded_cycles_table

    return padded_cycles_table(dims, x, y)


@lru_cache(maxsize=4096)
def _busy_table(dims: tuple[int, ...], x: int, y: int) -> np.ndarray:
    """:func:`~.mesh_fit.busy_pes_table` of a layer of ``dims`` up to an ``x`` × ``y`` mesh."""
    from ..dims import DIMS
    from .mesh_fit import busy_pes_table

    return busy_pes_table(Layer(**dict(zip(DIMS, dims))), x, y)
