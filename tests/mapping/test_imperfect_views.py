"""Imperfect factorizations outside the sampler: resize moves (mapping/moves.py), the user-facing factor
check (mapping/checks.py), remainder tiles in loop nests (mapping/loopnest.py, report/tables.py)."""

from __future__ import annotations

import numpy as np
import pytest

from cosearch.arch.io import load_arch
from cosearch.dims import DIM_INDEX
from cosearch.errors import CosearchError
from cosearch.mapping.checks import check_factors
from cosearch.mapping.loopnest import loop_nest_data, remainder_tiles
from cosearch.mapping.mapping import Mappings
from cosearch.mapping.moves import MoveSet
from cosearch.mapping.space import MapSpace
from cosearch.report.tables import loop_nest
from cosearch.workload.layer import Layer

ODD = Layer(name="odd", K=13, C=7, P=20, Q=20, R=3, S=3)


def _products(m: Mappings) -> np.ndarray:
    return (m.temporal * m.spatial_x * m.spatial_y).prod(axis=1)


def _one(arch, layer: Layer) -> Mappings:
    """A one-row batch with every dim parked at the outermost level."""
    L = arch.num_levels
    t = np.ones((1, L, 8), dtype=np.int64)
    t[0, 0] = layer.dims
    keep = np.broadcast_to(MapSpace(arch, layer).allowed, (1, L, 3)).copy()
    order = np.broadcast_to(np.arange(8), (1, L, 8)).copy()
    return Mappings(t, np.ones_like(t), np.ones_like(t), order, keep)


# ---- moves ------------------------------------------------------------------------------------------
def test_resize_neighbors_cover_every_dim_and_only_under_imperfect() -> None:
    arch = load_arch("eyeriss-168")
    perfect = MoveSet(MapSpace(arch, ODD))
    space = MapSpace(arch, ODD, factorization="imperfect")
    moves = MoveSet(space)
    assert len(perfect.resize_moves) == 0 and len(moves.resize_moves) > 0
    m = space.sample(50, seed=1)
    cands, owner = moves.resize_neighbors(m)
    prod = _products(cands)
    assert (prod >= np.array(ODD.dims)).all()  # the outermost factor takes the outer iterations left
    # each resize changes exactly one non-outermost factor by one
    from cosearch.mapping.moves import to_slots

    before = to_slots(m.subset(owner), arch.fanout_level)[:, 1:]
    after = to_slots(cands, arch.fanout_level)[:, 1:]
    diff = np.abs(after - before)
    assert (diff.sum(axis=(1, 2)) == 1).all()


def test_perfect_neighbors_unchanged_by_the_switch() -> None:
    arch = load_arch("eyeriss-168")
    m = MapSpace(arch, ODD).sample(20, seed=2)
    a, oa = MoveSet(MapSpace(arch, ODD)).factor_neighbors(m)
    b, ob = MoveSet(MapSpace(arch, ODD, factorization="imperfect"))._prime_neighbors(m)
    assert np.array_equal(a.temporal, b.temporal) and np.array_equal(oa, ob)


def test_mutants_and_kicks_reach_non_dividing_factors() -> None:
    arch = load_arch("eyeriss-168")
    space = MapSpace(arch, ODD, factorization="imperfect")
    moves = MoveSet(space, accept=space.is_valid)
    perfect = MapSpace(arch, ODD).sample(200, seed=3)  # start from perfect mappings
    mut = moves.mutate(perfect, 2000, np.random.default_rng(0))
    assert len(mut) and space.is_valid(mut).all()
    assert (_products(mut) > np.array(ODD.dims)).any()
    kicked = moves.kick(perfect, np.random.default_rng(1), moves=4)
    assert (_products(kicked) >= np.array(ODD.dims)).all()


# ---- the user-facing check ---------------------------------------------------------------------------
def test_check_factors_under_imperfect() -> None:
    arch = load_arch("eyeriss-168")
    m = _one(arch, ODD)
    P = DIM_INDEX["P"]
    check_factors(m, ODD, "m.json")  # exact: fine either way
    check_factors(m, ODD, "m.json", factorization="imperfect")
    m.temporal[0, 0, P] = 7
    m.temporal[0, 1, P] = 3  # 21 >= 20, within 25
    with pytest.raises(CosearchError, match="multiply to 21, layer has 20"):
        check_factors(m, ODD, "m.json")
    check_factors(m, ODD, "m.json", factorization="imperfect")
    m.temporal[0, 1, P] = 4  # 28 > 25
    with pytest.raises(CosearchError, match=r"m.json: factors of P multiply to 28, more than the padding cap 0.25"):
        check_factors(m, ODD, "m.json", factorization="imperfect")
    check_factors(m, ODD, "m.json", factorization="imperfect", max_padding=0.5)
    m.temporal[0, 1, P] = 2  # 14 < 20
    with pytest.raises(CosearchError, match="multiply to 14, less than the layer's 20"):
        check_factors(m, ODD, "m.json", factorization="imperfect")


# ---- loop nests ---------------------------------------------------------------------------------------
def test_remainder_tiles() -> None:
    factors = np.ones((3, 8), dtype=np.int64)
    P, Q = DIM_INDEX["P"], DIM_INDEX["Q"]
    factors[:, P] = [2, 3, 4]  # 24 over P = 20: tiles of 12 (last 8) at level 1, of 4 at level 2 (divides)
    factors[:, Q] = [1, 1, 20]
    dims = ODD.dims
    rem = remainder_tiles(factors, dims)
    assert rem == [{}, {"P": {"tile": 12, "last": 8}}, {}]
    perfect = np.ones((3, 8), dtype=np.int64)
    perfect[0] = dims
    assert remainder_tiles(perfect, dims) == [{}, {}, {}]


def test_loop_nest_shows_remainder_tiles_only_when_there_are_some() -> None:
    arch = load_arch("eyeriss-168")
    m = _one(arch, ODD)
    plain = loop_nest_data(arch, m, 0, dims=ODD.dims)
    assert all("remainder_tiles" not in e for e in plain)
    assert plain == loop_nest_data(arch, m, 0)  # perfect mappings read as before
    P = DIM_INDEX["P"]
    m.temporal[0, 0, P] = 3
    m.temporal[0, 1, P] = 7  # tiles of 7 along P = 20: the last one 6
    data = loop_nest_data(arch, m, 0, dims=ODD.dims)
    assert data[1]["remainder_tiles"] == {"P": {"tile": 7, "last": 6}}
    assert "remainder tiles: P 7 (last 6)" in loop_nest(arch, m, dims=ODD.dims)
