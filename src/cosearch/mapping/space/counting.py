"""How big a map space is, and uniform draws from the space it counts (capacity and mesh limits ignored).

The counted space is the product of ordered factorizations of every dim over the slots (temporal at
every level, X / Y at the fan-out level where the mesh has them), loop orders at every level, and
bypass choices at bypassable levels. Vanilla BO draws its candidates from it; ``valid_fraction``
measures how much of it is valid. Under imperfect factorization a dim's factors may multiply to any
product from its size up to the padding cap, so its count sums the ordered factorizations of every
such product (:func:`covering_factorizations`).
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np

from ...dims import NUM_DATASPACES, NUM_DIMS
from ...errors import CosearchError
from ..factors import count_ordered_factorizations, random_factorizations
from ..mapping import Mappings
from .sampler import SeedLike, as_generator

if TYPE_CHECKING:
    from . import MapSpace


MAX_COVERING_PRODUCTS = 100_000
"""Most products a dim may range over when the imperfect space is counted or drawn uniformly."""


@lru_cache(maxsize=256)
def covering_factorizations(size: int, limit: int, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Products ``n`` with ``size <= n <= limit`` (int64 ``[M]``) and the number of ordered
    factorizations of each into ``k`` factors (object ``[M]`` of exact ints; cached, do not modify).
    More than :data:`MAX_COVERING_PRODUCTS` products is a :class:`CosearchError`."""
    if limit - size + 1 > MAX_COVERING_PRODUCTS:
        raise CosearchError(
            f"a dim of size {size:,} ranges over {limit - size + 1:,} products under imperfect factorization, more "
            f"than the {MAX_COVERING_PRODUCTS:,} the uniform space (vanilla-bo, space size) can count; use a smaller "
            "--max-padding or --factorization perfect")
    products = np.arange(int(size), int(limit) + 1, dtype=np.int64)
    counts = np.array([count_ordered_factorizations(int(n), k) for n in products], dtype=object)
    return products, counts


def _dim_factorizations(space: MapSpace, d: int, k: int) -> int:
    """Ordered factorizations of dim ``d`` over ``k`` slots (all covering products under imperfect)."""
    if not space.imperfect:
        return count_ordered_factorizations(int(space.dims[d]), k)
    return int(sum(covering_factorizations(int(space.dims[d]), int(space.pad_limit[d]), k)[1]))


def space_size(space: MapSpace, valid_samples: int = 0, seed: SeedLike = 0) -> dict[str, float | int]:
    """Size of the map space, ignoring capacity and mesh limits.

    Returns exact integers ``factorizations`` (ordered splits of every dim over :meth:`MapSpace.num_slots`
    slots), ``orders`` (``(8!)^L``), ``bypass`` (``Π 2^|keeps|`` over bypassable levels) and
    ``total`` (their product), plus ``log10_*`` of each. With ``valid_samples > 0`` it also draws
    that many mappings uniformly from the unconstrained factorization × bypass space and adds
    ``valid_fraction`` (the fraction passing mesh and capacity limits; loop orders never affect
    validity) and ``log10_valid_estimate`` (``log10(total · valid_fraction)``, ``-inf`` if none).
    """
    k = space.num_slots()
    fact = math.prod(_dim_factorizations(space, d, k) for d in range(NUM_DIMS))
    orders = math.factorial(NUM_DIMS) ** space.num_levels
    bypass = 2 ** int(space.bypassable[1:].sum())
    total = fact * orders * bypass
    out: dict[str, float | int] = {
        "factorizations": fact,
        "orders": orders,
        "bypass": bypass,
        "total": total,
        "log10_factorizations": math.log10(fact),
        "log10_orders": math.log10(orders),
        "log10_bypass": math.log10(bypass),
        "log10_total": math.log10(total),
    }
    if valid_samples > 0:
        frac = space.valid_fraction(valid_samples, seed)
        out["valid_fraction"] = frac
        out["log10_valid_estimate"] = math.log10(total) + math.log10(frac) if frac > 0 else float("-inf")
    return out


def uniform_unconstrained(space: MapSpace, n: int, seed: SeedLike = None) -> Mappings:
    """``n`` mappings drawn uniformly from the space :func:`space_size` counts (factorizations uniform over
    slots, bypass uniform, orders uniform), ignoring capacity and mesh limits: most are invalid."""
    rng = as_generator(seed)
    L, f = space.num_levels, space.fanout_level
    temporal = np.ones((n, L, NUM_DIMS), dtype=np.int64)
    sx = np.ones_like(temporal)
    sy = np.ones_like(temporal)
    k = space.num_slots()
    for d in range(NUM_DIMS):
        fz = _random_covering(space, d, n, k, rng) if space.imperfect else \
            random_factorizations(n, int(space.dims[d]), k, rng)  # [n, k]
        temporal[:, :, d] = fz[:, :L]
        col = L
        if space.mesh_x > 1:
            sx[:, f, d] = fz[:, col]
            col += 1
        if space.mesh_y > 1:
            sy[:, f, d] = fz[:, col]
    keep = np.broadcast_to(space.allowed, (n, L, NUM_DATASPACES)).copy()
    keep[:, space.bypassable] = rng.random((n, int(space.bypassable.sum()))) < 0.5
    keep[:, 0] = space.allowed[0]
    return Mappings(temporal, sx, sy, space.random_orders(n, rng), keep)


def _random_covering(space: MapSpace, d: int, n: int, k: int, rng: np.random.Generator) -> np.ndarray:
    """``[n, k]`` factorizations of dim ``d`` drawn uniformly among all whose product covers it within
    the padding cap: the product by its number of factorizations, then one of those uniformly."""
    products, counts = covering_factorizations(int(space.dims[d]), int(space.pad_limit[d]), k)
    total = sum(counts)
    weights = np.array([c / total for c in counts], dtype=np.float64)
    pick = rng.choice(len(products), size=n, p=weights / weights.sum())
    out = np.ones((n, k), dtype=np.int64)
    for j in np.unique(pick):
        rows = np.flatnonzero(pick == j)
        out[rows] = random_factorizations(rows.size, int(products[j]), k, rng)
    return out
