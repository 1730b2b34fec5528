"""The cost model's entry point: a batch of mappings -> energy, cycles, EDP, validity (+ breakdown).

It follows Timeloop's analytical semantics (``docs/model.md``): tiles are bounding boxes of the
loops at and below a level; fills come from Timeloop's sampled tile-to-tile delta walk with its reset
rule; partial sums are written back and read again (the first read of each output elided); the
spatial fan-out multicasts identical tiles (including identical sliding windows when an output dim
and its filter dim are both spread) and reduces outputs; bypassed levels are skipped; cycles are
compute cycles slowed by per-level bandwidth limits. The per-mapping work runs in a compiled kernel
(:mod:`cosearch.model._kernel`); nothing here loops over mappings in Python.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from ..arch._cache import identity_cache, identity_get, per_arch_cache
from ..arch.spec import Arch
from ..dims import DATASPACES, NUM_DATASPACES
from ..errors import CosearchError
from ..mapping.keep import effective_keep
from ..mapping.mapping import Mappings
from ..mapping.vector import blocked_view
from ..workload.geometry import translation_matrix
from ..workload.layer import Layer
from .reasons import (
    FACTORIZATIONS,
    REASON_CAPACITY,
    REASON_FACTORIZATION,
    REASON_FANOUT_TOTAL,
    REASON_FANOUT_X,
    REASON_FANOUT_Y,
    REASON_VALID,
    reason_names,
    reason_windows,
)

__all__ = [
    "Costs",
    "evaluate",
    "check_valid",
    "reason_names",
    "REASON_VALID",
    "REASON_FACTORIZATION",
    "REASON_FANOUT_X",
    "REASON_FANOUT_Y",
    "REASON_FANOUT_TOTAL",
    "REASON_CAPACITY",
    "FACTORIZATIONS",
    "reason_windows",
]

@dataclass
class Costs:
    """Costs of a batch of ``B`` mappings (``L`` levels, 3 data spaces).

    Invalid mappings have ``energy_pj``, ``cycles`` and ``edp`` = ``inf`` and ``utilization`` 0.
    Breakdown arrays (``breakdown=True``) are totals over all utilized instances, except
    ``tile_words`` and ``partition_words`` (per instance); they are zero for invalid mappings.
    """

    energy_pj: np.ndarray  # [B] float64, pJ
    cycles: np.ndarray  # [B] float64 (integral values)
    edp: np.ndarray  # [B] float64, pJ·cycles
    utilization: np.ndarray  # [B] macs / (cycles · multipliers: MAC instances × their block)
    valid: np.ndarray  # [B] bool
    reason: np.ndarray  # [B] int8 code, see reason_names()
    reason_names: list[str]
    macs: int  # the layer's own MACs (a block MAC's padding not counted)
    compute_cycles: np.ndarray  # [B] int64 (0 where invalid)
    utilized_pes: np.ndarray  # [B] int64, product of all spatial factors (0 where invalid)
    mac_energy_pj: float = 0.0  # pJ of the MACs (the same for every mapping; a block MAC's idle lanes included)
    reads: np.ndarray | None = None  # [B, L, 3] words
    fills: np.ndarray | None = None
    updates: np.ndarray | None = None
    tile_words: np.ndarray | None = None  # [B, L, 3] per instance
    partition_words: np.ndarray | None = None  # [B, L, 3] per instance
    utilized_instances: np.ndarray | None = None  # [B, L]
    level_energy_pj: np.ndarray | None = None  # [B, L, 3] pJ
    level_cycles: np.ndarray | None = None  # [B, L] cycles after the level's bandwidth throttling
    keep: np.ndarray | None = None  # [B, L, 3] effective keep (after the arch's fixed sets)
    word_bits: np.ndarray | None = None  # [L, 3] bits of one word of each data space at each level
    extra: dict = field(default_factory=dict)

    def reason_text(self, i: int) -> str:
        """Why mapping ``i`` is invalid (``""`` if valid)."""
        return self.reason_names[int(self.reason[i])]

    def traffic_bits(self) -> np.ndarray:
        """``[B, L, 3]`` bits moved (reads + fills + updates, each word at its data space's width);
        needs ``breakdown=True``."""
        if self.reads is None or self.word_bits is None:
            raise ValueError("traffic_bits needs a breakdown (evaluate(..., breakdown=True))")
        return (self.reads + self.fills + self.updates) * self.word_bits[None]

    def __len__(self) -> int:
        return int(self.energy_pj.shape[0])


_CAP_BITS = 2**61  # = _kernel.CAP_BITS (kept here so the kernel is not imported with this module)


@per_arch_cache
def _arch_tables(arch: Arch) -> tuple:
    """Per-arch constant arrays handed to the kernel (cached when the arch is hashable): fan-out level,
    child mesh ``[3]``, capacities ``[L]`` in bits (-1 = unbounded; capped at 2**61), word widths ``[L, 3]`` bits, their
    ratio to the access width ``[L, 3]``, energies ``[L, 3, 3]`` pJ per word of each data space (read,
    fill, update: the access energy × that ratio), bandwidth ``[L, 3]`` and the MAC energy."""
    f = arch.fanout_level
    child = arch.fanout_child
    sizes = np.array([-1 if lvl.size_bits is None else min(lvl.size_bits, _CAP_BITS) for lvl in arch.levels],
                     dtype=np.int64)
    bits = np.array([[lvl.bits(ds) for ds in DATASPACES] for lvl in arch.levels], dtype=np.int64)
    wscale = bits / np.array([lvl.access_width for lvl in arch.levels], dtype=np.float64)[:, None]
    access = np.array(
        [[lvl.energy_pj.read, lvl.energy_pj.fill, lvl.energy_pj.update] for lvl in arch.levels], dtype=np.float64
    )
    energies = np.ascontiguousarray(access[:, None, :] * wscale[:, :, None])
    bandwidth = np.array(
        [[lvl.bandwidth.read or 0.0, lvl.bandwidth.write or 0.0, lvl.bandwidth.shared or 0.0] for lvl in arch.levels],
        dtype=np.float64,
    )
    child_mesh = np.array([child.mesh_x, child.mesh_y, child.instances], dtype=np.int64)
    return f, child_mesh, sizes, bits, wscale, energies, bandwidth, float(arch.mac.energy_pj)


def _layer_tables(layer: Layer) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-layer constant arrays handed to the kernel (the last few layers found by identity)."""
    return identity_get(_RECENT_LAYERS, layer, lambda: _layer_tables_of(layer))


_RECENT_LAYERS = identity_cache()


@lru_cache(maxsize=256)
def _layer_tables_of(layer: Layer) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    dims = np.array(layer.dims, dtype=np.int64)
    strides = np.array([layer.Wstride, layer.Wdilation, layer.Hstride, layer.Hdilation], dtype=np.int64)
    tmat = np.stack([translation_matrix(ds, layer) for ds in DATASPACES])
    return dims, strides, tmat


def _int64(a: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(a, dtype=np.int64)


def _imperfect(factorization: str) -> bool:
    if factorization not in FACTORIZATIONS:
        raise CosearchError(f"factorization must be one of {', '.join(FACTORIZATIONS)}, got {factorization!r}")
    return factorization == "imperfect"


def evaluate(arch: Arch, layer: Layer, mappings: Mappings, *, breakdown: bool = False,
             factorization: str = "perfect") -> Costs:
    """Cost every mapping of the batch on ``arch`` for ``layer``.

    ``factorization="perfect"`` (the default) requires every dimension's factors to multiply to its
    size; ``"imperfect"`` also accepts factors that over-cover it and counts the remainder tiles exactly
    (``docs/model.md``); under-covering factors are invalid (``factorization``) either way.

    An arch with a block MAC (``mac.block``) is costed in its blocked view
    (:func:`~cosearch.mapping.vector.blocked_view`): ``mappings`` factor the blocked dims, access counts
    are in vector words; ``macs`` is the layer's own and ``utilization`` its MACs over cycles × every
    multiplier of the array.

    Returns :class:`Costs` with arrays of shape ``[B]`` (and ``[B, L, 3]`` breakdowns on request).
    """
    from ._kernel import evaluate_batch

    imperfect = _imperfect(factorization)
    multipliers = arch.num_multipliers
    macs = layer.macs
    arch, layer = blocked_view(arch, layer)

    B, L, _ = mappings.temporal.shape
    if L != arch.num_levels:
        raise ValueError(f"mappings have {L} levels, arch {arch.name} has {arch.num_levels}")
    f, child_mesh, sizes, bits, wscale, energies, bandwidth, mac_energy = _arch_tables(arch)
    dims, strides, tmat = _layer_tables(layer)
    keep = np.ascontiguousarray(effective_keep(arch, mappings.keep))

    energy = np.empty(B)
    cycles = np.empty(B)
    reason = np.zeros(B, dtype=np.int8)
    cc = np.zeros(B, dtype=np.int64)
    util = np.zeros(B, dtype=np.int64)
    nb = B if breakdown else 0
    reads = np.zeros((nb, L, NUM_DATASPACES), dtype=np.int64)
    fills = np.zeros_like(reads)
    updates = np.zeros_like(reads)
    tiles = np.zeros_like(reads)
    part = np.zeros_like(reads)
    inst = np.zeros((nb, L), dtype=np.int64)
    lcyc = np.zeros((nb, L), dtype=np.float64)
    evaluate_batch(
        _int64(mappings.temporal), _int64(mappings.spatial_x), _int64(mappings.spatial_y), _int64(mappings.order),
        keep, dims, strides, f, child_mesh, sizes, bits, wscale, tmat, energies, mac_energy, bandwidth, breakdown, False,
        imperfect, reason_windows(L), energy, cycles, reason, cc, util, reads, fills, updates, tiles, part, inst, lcyc,
    )
    valid = reason == REASON_VALID
    with np.errstate(invalid="ignore"):
        utilization = np.where(valid, macs / (cycles * multipliers), 0.0)
    costs = Costs(
        energy_pj=energy,
        cycles=cycles,
        edp=energy * cycles,
        utilization=utilization,
        valid=valid,
        reason=reason,
        reason_names=reason_names(arch),
        macs=macs,
        compute_cycles=cc,
        utilized_pes=util,
        mac_energy_pj=float(layer.macs * mac_energy),
    )
    if breakdown:
        costs.reads, costs.fills, costs.updates = reads, fills, updates
        costs.tile_words, costs.partition_words = tiles, part
        costs.utilized_instances = inst
        costs.level_energy_pj = (
            reads * energies[None, :, :, 0] + fills * energies[None, :, :, 1] + updates * energies[None, :, :, 2]
        )
        costs.word_bits = bits
        costs.level_cycles = lcyc
        costs.keep = keep
    return costs


def check_valid(arch: Arch, layer: Layer, mappings: Mappings, *, factorization: str = "perfect") -> np.ndarray:
    """Reason codes ``[B]`` int8 (0 = valid) of the *known* constraints only: factorization, fan-out
    and capacity (and, under ``factorization="imperfect"``, ``imperfect_windows``). This is a
    construction-time check, not an evaluation: no access counts, energy or cycles are computed (it
    runs several times faster than :func:`evaluate`)."""
    from ._kernel import evaluate_batch

    imperfect = _imperfect(factorization)
    arch, layer = blocked_view(arch, layer)

    B, L, _ = mappings.temporal.shape
    f, child_mesh, sizes, bits, wscale, energies, bandwidth, mac_energy = _arch_tables(arch)
    dims, strides, tmat = _layer_tables(layer)
    keep = np.ascontiguousarray(effective_keep(arch, mappings.keep))
    reason = np.zeros(B, dtype=np.int8)
    z1 = np.zeros(B)
    zb = np.zeros((0, L, NUM_DATASPACES), dtype=np.int64)
    zl = np.zeros((0, L), dtype=np.int64)
    evaluate_batch(
        _int64(mappings.temporal), _int64(mappings.spatial_x), _int64(mappings.spatial_y), _int64(mappings.order),
        keep, dims, strides, f, child_mesh, sizes, bits, wscale, tmat, energies, mac_energy, bandwidth, False, True,
        imperfect, reason_windows(L), z1, z1.copy(), reason, np.zeros(B, dtype=np.int64), np.zeros(B, dtype=np.int64),
        zb, zb, zb, zb, zb, zl, zl.astype(np.float64),
    )
    return reason
