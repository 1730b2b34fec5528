"""The compiled neighbor pass equals the per-kind move methods it replaces, row for row."""

from __future__ import annotations

import numpy as np
import pytest

import cosearch
from cosearch.mapping.mapping import Mappings
from cosearch.mapping.moves import MoveSet
from cosearch.mapping.space import MapSpace


def _per_kind(moves: MoveSet, m: Mappings) -> tuple[Mappings, np.ndarray]:
    parts = [moves.factor_neighbors(m), moves.order_neighbors(m), moves.keep_neighbors(m)]
    if moves.use_exchanges:
        parts.append(moves.exchange_neighbors(m))
    parts = [p for p in parts if len(p[0])]
    return Mappings.concat([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


@pytest.mark.parametrize("exchanges", [True, False])
@pytest.mark.parametrize("arch_name,workload", [("eyeriss-168", "resnet18"), ("simple-64", "dqn"),
                                                ("eyeriss-168", "bert_base")])
def test_compiled_neighbors_equal_per_kind(arch_name: str, workload: str, exchanges: bool) -> None:
    arch = cosearch.load_arch(arch_name)
    rng = np.random.default_rng(3)
    for layer in cosearch.load_workload(workload).layers[:3]:
        space = MapSpace(arch, layer)
        moves = MoveSet(space, exchanges=exchanges)
        m = space.sample(6, seed=4)
        m.keep = rng.random(m.keep.shape) < 0.5
        got, owner = moves.all_neighbors(m)
        want, want_owner = _per_kind(moves, m)
        assert len(got) > 0
        assert np.array_equal(owner, want_owner)
        for name in ("temporal", "spatial_x", "spatial_y", "order", "keep"):
            assert np.array_equal(getattr(got, name), getattr(want, name)), name
