"""The default mapper (auto) and the map_layer driver."""

from __future__ import annotations

import numpy as np
import pytest

from cosearch import Layer, MapSpace, evaluate, load_arch
from cosearch.errors import CosearchError
from cosearch.mappers.layer import OPTIMIZERS, make_optimizer, map_layer
from cosearch.model.evaluate import check_valid

ARCH = load_arch("eyeriss-168")
SMALL = Layer(name="small", K=16, C=16, P=14, Q=14, R=3, S=3)
DQN2 = Layer(name="dqn_conv2", K=64, C=32, P=9, Q=9, R=4, S=4, Wstride=2, Hstride=2)


def _arrays(m):
    return [m.temporal, m.spatial_x, m.spatial_y, m.order, m.keep]


@pytest.mark.parametrize("optimizer", ["auto", "random", "ga", "sa"])
def test_budget_is_exact_and_best_is_valid(optimizer: str) -> None:
    res = map_layer(ARCH, SMALL, optimizer=optimizer, budget=1500, seed=3)
    assert res.evaluations == 1500
    again = evaluate(ARCH, SMALL, res.best)
    assert again.valid[0] and again.edp[0] == res.edp


def test_auto_is_deterministic() -> None:
    a = map_layer(ARCH, DQN2, optimizer="auto", budget=4000, seed=7)
    b = map_layer(ARCH, DQN2, optimizer="auto", budget=4000, seed=7)
    assert a.edp == b.edp
    for x, y in zip(_arrays(a.best), _arrays(b.best)):
        np.testing.assert_array_equal(x, y)
    assert [t for t in a.trace] == [t for t in b.trace]


def test_auto_replay_rebuilds_state() -> None:
    space = MapSpace(ARCH, SMALL)
    opt = make_optimizer("auto", space, seed=5)
    told = []
    for _ in range(6):
        cands = opt.ask(3000)
        costs = evaluate(ARCH, SMALL, cands)
        opt.tell(cands, costs)
        told.append((cands, costs))
    replica = make_optimizer("auto", space, seed=5)
    for cands, costs in told:
        replica.tell(cands, costs)
    assert replica.state_digest() == opt.state_digest()
    nxt, nxt2 = opt.ask(500), replica.ask(500)
    for x, y in zip(_arrays(nxt), _arrays(nxt2)):
        np.testing.assert_array_equal(x, y)


def test_auto_proposals_are_valid_and_new() -> None:
    space = MapSpace(ARCH, DQN2)
    opt = make_optimizer("auto", space, seed=1)
    seen = set()
    for _ in range(5):
        cands = opt.ask(5000)
        assert (check_valid(ARCH, DQN2, cands) == 0).all()
        from cosearch.mapping.identity import row_hashes

        h = set(row_hashes(cands, ARCH).tolist())
        assert len(h) == len(cands)  # no duplicates within a round
        assert not (h & seen)  # nothing evaluated twice
        seen |= h
        opt.tell(cands, evaluate(ARCH, DQN2, cands))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_auto_beats_random_at_equal_evaluations(seed: int) -> None:
    auto = map_layer(ARCH, DQN2, optimizer="auto", budget=10_000, seed=seed)
    rnd = map_layer(ARCH, DQN2, optimizer="random", budget=10_000, seed=seed)
    assert auto.edp < rnd.edp


def test_objectives_are_honoured() -> None:
    e = map_layer(ARCH, SMALL, optimizer="auto", budget=5000, objective="energy", seed=0)
    c = map_layer(ARCH, SMALL, optimizer="auto", budget=5000, objective="cycles", seed=0)
    assert e.energy_pj <= c.energy_pj
    assert c.cycles <= e.cycles


def test_bad_arguments_are_user_errors() -> None:
    with pytest.raises(CosearchError, match="unknown optimizer"):
        map_layer(ARCH, SMALL, optimizer="nope", budget=10)
    with pytest.raises(CosearchError, match="budget"):
        map_layer(ARCH, SMALL, budget=0)
    with pytest.raises(CosearchError, match="time limit"):
        map_layer(ARCH, SMALL, time_limit=-1)
    with pytest.raises(CosearchError, match="objective"):
        map_layer(ARCH, SMALL, objective="area", budget=10)
    assert {"auto", "random", "ga", "sa", "bo", "vanilla-bo"} <= set(OPTIMIZERS)


def test_high_utilisation_subspace_that_gives_up_falls_back_to_uniform(monkeypatch) -> None:
    """If the high-utilisation sampler cannot find enough rows (capacity makes the floor rare), auto
    keeps searching with uniform samples instead of failing."""
    import cosearch
    from cosearch.errors import CosearchError
    from cosearch.mappers._auto import AutoMapper
    from cosearch.mappers.layer import map_layer
    from cosearch.mapping.space import MapSpace

    arch = cosearch.load_arch("eyeriss-168")
    layer = cosearch.Layer(name="l", K=32, C=16, P=14, Q=14, R=3, S=3)
    opt = AutoMapper(MapSpace(arch, layer), seed=1, budget_hint=2000)
    assert opt.busy_space is not None

    def give_up(n, seed=None):
        raise CosearchError("only 0 of 20000 drawn mappings satisfied them")

    monkeypatch.setattr(opt.busy_space, "sample", give_up)  # this instance only; the whole space still samples
    batch = opt._busy_sample(50, np.random.default_rng(0))
    assert len(batch) == 50 and opt.space.is_valid(batch).all()

    class GivesUp:
        def sample(self, n, seed=None):
            give_up(n, seed)

    monkeypatch.setattr(AutoMapper, "_utilization_space", lambda self, floor: GivesUp())
    res = map_layer(arch, layer, budget=2000, seed=1)  # a whole search on the fallback
    assert res.evaluations == 2000 and np.isfinite(res.edp)


def test_restart_pools_are_consecutive_slices_of_the_stream() -> None:
    """Fresh restarts read the restart stream forwards: each refill's pool is the stream's rows from the
    cursor on, the cursor moves by a pool per slot refilled from it, and a replay rebuilds it."""
    from cosearch.mappers._auto import AutoMapper
    from cosearch.mapping.identity import row_hashes

    space = MapSpace(ARCH, DQN2)
    opt = AutoMapper(space, seed=11, budget_hint=5000, p_kick=0.0)  # every refill from the stream
    reader = AutoMapper(space, seed=11, budget_hint=5000, p_kick=0.0)  # reads the stream only
    told, cursors, pooled = [], [], 0
    while opt.n_told < 5000:
        before = opt.restart_cursor
        cands = opt.ask(5000 - opt.n_told)
        pool_tags = cands.tags[cands.tags <= -2 - opt.n_starts]
        slots = np.unique(pool_tags)
        if len(slots):
            # the proposed pool rows are the stream's rows from the cursor on (less any seen before)
            want = reader._restart_rows(before, opt.restart_pool * len(slots))
            got = cands.subset(cands.tags <= -2 - opt.n_starts)
            assert set(row_hashes(got, ARCH).tolist()) <= set(row_hashes(want, ARCH).tolist())
        costs = evaluate(ARCH, DQN2, cands)
        opt.tell(cands, costs)
        told.append((cands, costs))
        assert opt.restart_cursor == before + opt.restart_pool * len(slots)
        pooled += len(slots)
        cursors.append(opt.restart_cursor)
    assert pooled > 0 and cursors[-1] == pooled * opt.restart_pool
    replica = AutoMapper(space, seed=11, budget_hint=5000, p_kick=0.0)
    for cands, costs in told:
        replica.tell(cands, costs)
    assert replica.restart_cursor == opt.restart_cursor and replica.state_digest() == opt.state_digest()
