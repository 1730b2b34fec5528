"""Lower bounds on the network EDP that any design of a hardware space can reach within an area budget.

A co-design result is easier to judge next to what is possible at all. For a template and estimator,
every design's network cost is bounded below by costs no mapping can avoid:

- **Energy** (pJ) of one layer ≥ MACs × MAC energy
  + compulsory DRAM traffic × DRAM energy (every weight and every input word some MAC uses is read
  from DRAM at least once, every output word is written once: :func:`compulsory_dram_words`)
  + MACs × the cheapest access of each per-PE level whose data space is fixed and that is the innermost
  level holding that data space (every MAC reads its weight and input from such a scratchpad and
  updates its partial sum there). Per-access energies are minimised over the level's own parameter
  grid (the estimator is monotone in size, but banking trades size against energy, so the minimum is
  taken over the whole grid of the level's parameters, not assumed at one corner).
  + the on-chip traffic of the compulsory words that no mapping avoids: every level below DRAM that
  always keeps a data space (``keeps_fixed``) is filled with each used weight and input word at least
  once and passes it on (reads it) at least once, and is updated with each output word at least once;
  for the innermost per-PE keeper the reads and updates are already counted per MAC above, so only its
  fills are added (scratchpad fills: each weight and each used input enters some PE's scratchpad).
  A GLB that may be bypassed (``eyeriss``, ``simple``) adds nothing; the ``timeloop-eyeriss`` GLB,
  which always keeps inputs and outputs, adds their fills, reads and updates.
- **Cycles** of one layer on a mesh ≥ max(MACs / the most PEs a mapping of the layer can keep busy on
  that mesh, compulsory DRAM words / DRAM bandwidth). Under perfect factorization the spatial factors
  divide the dims; under imperfect factorization any spatial factor fits (a 7-wide dim on 4×2 PEs
  keeps up to 8 busy, counted as 8: the bound stays a bound), so a mesh keeps more PEs busy. The network's cycles are minimised over the PE
  meshes that fit the area budget with every other parameter at its smallest (area grows with every
  parameter), so one mesh serves every layer, as in a real design.

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

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from ..arch.area import AreaModel
from ..arch.hwspace import HWSpace
from ..arch.spec import Arch
from ..dims import DATASPACES
from ..workload.geometry import distinct_windows
from ..workload.layer import Layer, Network


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
    (fills, reads and updates of the levels that always keep it). All per-word figures are for words of
    the data space's own width.
    """

    mac: float
    dram_read: float
    dram_update: float
    per_mac: float
    per_word: tuple[float, float, float] = (0.0, 0.0, 0.0)
    dram_word: tuple[float, float, float] | None = None

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
    names = list(space.names)
    level_params = space.template_spec.level_params
    base = np.zeros(len(names), dtype=np.int64)
    arch0 = space.arch(base)
    pes = arch0.mac.instances
    min_read = [lvl.energy_pj.read for lvl in arch0.levels]
    min_fill = [lvl.energy_pj.fill for lvl in arch0.levels]
    min_update = [lvl.energy_pj.update for lvl in arch0.levels]
    for li, lvl in enumerate(arch0.levels):
        cols = [names.index(p) for p in level_params.get(lvl.name, ())]
        for idx in np.ndindex(*(int(space.sizes[c]) for c in cols)):
            pt = base.copy()
            pt[cols] = idx
            e = space.arch(pt).levels[li].energy_pj
            min_read[li] = min(min_read[li], e.read)
            min_fill[li] = min(min_fill[li], e.fill)
            min_update[li] = min(min_update[li], e.update)
    def share(li: int, ds: str) -> float:  # a word of ds at level li, in accesses of its port
        return arch0.levels[li].bits(ds) / arch0.levels[li].access_width

    per_mac = 0.0
    per_word = [0.0, 0.0, 0.0]
    for di, ds in enumerate(DATASPACES):
        inner = max((li for li, lvl in enumerate(arch0.levels) if ds in lvl.keeps), default=None)
        if inner is None:
            continue
        lvl = arch0.levels[inner]
        per_mac_keeper = lvl.keeps_fixed and lvl.instances == pes  # every MAC touches its own copy here
        if per_mac_keeper:
            per_mac += (min_update[inner] if ds == "Outputs" else min_read[inner]) * share(inner, ds)
        for li in range(1, inner + 1):  # the levels below DRAM that always keep ds
            if not (ds in arch0.levels[li].keeps and arch0.levels[li].keeps_fixed):
                continue
            counted = per_mac_keeper and li == inner  # its reads / updates are in per_mac
            if ds == "Outputs":
                per_word[di] += (0.0 if counted else min_update[li]) * share(li, ds)
            else:
                per_word[di] += (min_fill[li] + (0.0 if counted else min_read[li])) * share(li, ds)
    dram_word = (min_read[0] * share(0, "Weights"), min_read[0] * share(0, "Inputs"),
                 min_update[0] * share(0, "Outputs"))
    return EnergyFloors(mac=arch0.mac.energy_pj, dram_read=min_read[0], dram_update=min_update[0], per_mac=per_mac,
                        per_word=(per_word[0], per_word[1], per_word[2]), dram_word=dram_word)


def layer_energy_floor(layer: Layer, floors: EnergyFloors) -> float:
    """Lower bound (pJ) on one instance of ``layer``'s energy on any design with these floors."""
    w, i, o = compulsory_dram_words(layer)
    on_chip = w * floors.per_word[0] + i * floors.per_word[1] + o * floors.per_word[2]
    dw, di, do = floors.dram_per_word
    return layer.macs * (floors.mac + floors.per_mac) + w * dw + i * di + o * do + on_chip


def layer_cycles_floor(arch: Arch, layer: Layer, dram_bandwidth: float | None,
                       factorization: str = "perfect") -> float:
    """Lower bound on one instance of ``layer``'s cycles on ``arch``'s PE mesh (any buffer sizes); under
    imperfect ``factorization`` spatial factors need not divide the dims, so more PEs may be busy.
    ``dram_bandwidth`` is in accesses of the outermost level's port per cycle; each compulsory word
    uses its width's share of one (:attr:`~cosearch.arch.spec.Level.access_width`)."""
    from ..mapping.space import MapSpace

    compute = layer.macs / MapSpace(arch, layer, factorization=factorization).max_busy_pes()
    dram_level = arch.levels[0]
    accesses = sum(n * dram_level.bits(ds) / dram_level.access_width
                   for n, ds in zip(compulsory_dram_words(layer), DATASPACES))
    dram = accesses / dram_bandwidth if dram_bandwidth else 0.0
    return max(compute, dram)


def feasible_meshes(space: HWSpace, area_budget_mm2: float, area: AreaModel | None = None) -> list[tuple[int, int]]:
    """For each mesh column count of the grid, the largest row count whose design fits ``area_budget_mm2``
    with every other parameter at its smallest (none if even the smallest row count does not fit): the
    template's two mesh parameters, as ``(columns, rows)`` values. A larger
    mesh never keeps fewer PEs busy, so these dominate every smaller feasible mesh. ``area``: the
    space's :class:`AreaModel`, if the caller has one (it is built otherwise)."""
    area = area or AreaModel(space)
    grids = space.grids()
    cx, cy = space.mesh_columns
    out = []
    for ix, x in enumerate(grids[cx]):
        pts = np.zeros((len(grids[cy]), len(space.names)), dtype=np.int64)
        pts[:, cx] = ix
        pts[:, cy] = np.arange(len(grids[cy]))
        fits = np.flatnonzero(area(pts) <= area_budget_mm2)
        if len(fits):
            out.append((int(x), int(grids[cy][fits.max()])))
    return out


def network_edp_bound(network: Network, space: HWSpace, area_budget_mm2: float,
                      area: AreaModel | None = None, factorization: str = "perfect") -> EDPBound:
    """:class:`EDPBound` of ``network`` (repeat counts included) over the designs of ``space`` whose
    area is within ``area_budget_mm2`` (mappings of that ``factorization``). Raises ``ValueError`` if
    no mesh fits the budget."""
    floors = _floors(space)
    energy = sum(layer.count * layer_energy_floor(layer, floors) for layer in network.layers)
    smallest = space.values(np.zeros(len(space.names), dtype=np.int64))
    mesh_x, mesh_y = space.template_spec.mesh
    best: tuple[float, tuple[int, int]] | None = None
    for x, y in feasible_meshes(space, area_budget_mm2, area):
        arch = space.arch({**smallest, mesh_x: x, mesh_y: y})
        cycles = sum(layer.count * layer_cycles_floor(arch, layer, space.dram_words_per_cycle, factorization)
                     for layer in network.layers)
        if best is None or cycles < best[0]:
            best = (cycles, (x, y))
    if best is None:
        raise ValueError(f"no design of hardware space {space.name} fits {area_budget_mm2:.3f} mm²")
    return EDPBound(energy_pj=energy, cycles=best[0], edp=energy * best[0], mesh=best[1])


@lru_cache(maxsize=8)
def _floors_cached(space_json: str) -> EnergyFloors:
    return energy_floors(HWSpace.model_validate_json(space_json))


def _floors(space: HWSpace) -> EnergyFloors:
    return _floors_cached(space.model_dump_json())
