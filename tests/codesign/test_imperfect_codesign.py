"""Co-design under imperfect factorization: the EDP lower bound lets non-dividing spatial factors keep more
PEs busy (and stays below what imperfect mappings reach), the study records the switch, the inner
mapper gets it."""

from __future__ import annotations

import inspect

import numpy as np
import pytest

import cosearch
from cosearch.arch.hwspace import load_hw_space
from cosearch.codesign.bounds import layer_cycles_floor, network_edp_bound
from cosearch.codesign.driver import Codesign
from cosearch.mapping.space import MapSpace
from cosearch.model.evaluate import evaluate
from cosearch.workload.layer import Layer

SPACE = load_hw_space("eyeriss-like")
BUDGET = 12.32
DQN = cosearch.load_workload("dqn")
PRIMES = Layer(name="primes", K=13, C=11, P=7, Q=7, R=3, S=3)

needs_imperfect_model = pytest.mark.skipif(
    "factorization" not in inspect.signature(evaluate).parameters,
    reason="needs the cost model's imperfect factorization (evaluate(..., factorization=))")


def test_imperfect_cycles_floor_is_lower_on_awkward_layers() -> None:
    arch = SPACE.arch({"mesh_x": 14, "mesh_y": 12, "glb_kb": 108, "glb_bandwidth": 16, "weights_spad_words": 224,
                       "ifmap_spad_words": 12, "psum_spad_words": 24})
    perfect = layer_cycles_floor(arch, PRIMES, None)
    imperfect = layer_cycles_floor(arch, PRIMES, None, "imperfect")
    assert imperfect < perfect
    # remainder tiles pad the PEs' iterations: never below MACs / PEs, and the brute-force minimum
    assert imperfect >= PRIMES.macs / arch.fanout_child.instances
    assert imperfect == _fewest_padded_cycles(PRIMES.dims, 14, 12)
    assert layer_cycles_floor(arch, PRIMES, None, "perfect") == perfect


def _fewest_padded_cycles(dims, X: int, Y: int) -> int:
    """min Π ceil(n / (x·y)) over per-dim spatial factors with Π x <= X, Π y <= Y, by enumeration."""
    import itertools
    import math

    live = [n for n in dims if n > 1]
    opts = [[(x, y) for x in range(1, min(n, X) + 1) for y in range(1, min(-(-n // x), Y) + 1)] for n in live]
    best = math.inf
    for combo in itertools.product(*opts):
        if math.prod(c[0] for c in combo) <= X and math.prod(c[1] for c in combo) <= Y:
            best = min(best, math.prod(-(-n // (c[0] * c[1])) for n, c in zip(live, combo)))
    return best


@pytest.mark.parametrize("dims", [(5, 7, 3), (13, 2, 9), (7, 7, 1, 3)])
def test_padded_cycles_table_is_the_brute_force_minimum(dims) -> None:
    from cosearch.codesign.mesh_fit import padded_cycles_table

    table = padded_cycles_table(dims, 6, 5)
    for x in range(1, 7):
        for y in range(1, 6):
            assert table[x, y] == _fewest_padded_cycles(dims, x, y), (x, y)


def test_imperfect_network_bound_is_at_most_the_perfect_one() -> None:
    perfect = network_edp_bound(DQN, SPACE, BUDGET)
    imperfect = network_edp_bound(DQN, SPACE, BUDGET, factorization="imperfect")
    assert imperfect.energy_pj == perfect.energy_pj
    assert imperfect.cycles <= perfect.cycles and imperfect.edp <= perfect.edp


@needs_imperfect_model
def test_imperfect_mappings_respect_the_imperfect_floor() -> None:
    for values in ({"mesh_x": 13, "mesh_y": 11, "glb_kb": 64, "glb_bandwidth": 16, "weights_spad_words": 224,
                    "ifmap_spad_words": 12, "psum_spad_words": 24},):
        arch = SPACE.arch(values)
        floor = layer_cycles_floor(arch, PRIMES, SPACE.dram_bandwidth, "imperfect")
        m = MapSpace(arch, PRIMES, factorization="imperfect").sample(3000, seed=1)
        costs = evaluate(arch, PRIMES, m, factorization="imperfect")
        assert costs.valid.any()
        assert (costs.cycles[costs.valid] >= floor * (1 - 1e-9)).all()


def test_study_config_records_imperfect_only() -> None:
    perfect = Codesign([DQN], hw_space=SPACE, optimizer="random", hw_budget=2, hw_batch=1, mapper_budget=50,
                       storage="sqlite://", study="p")
    assert "factorization" not in perfect.config and perfect.space_settings == {}
    imperfect = Codesign([DQN], hw_space=SPACE, optimizer="random", hw_budget=2, hw_batch=1, mapper_budget=50,
                         storage="sqlite://", study="i", factorization="imperfect", max_padding=0.5)
    assert imperfect.config["factorization"] == "imperfect" and imperfect.config["max_padding"] == 0.5
    units = imperfect._units(0, imperfect.baseline.values, {"budget": 50}, "random")
    assert all(u.settings["factorization"] == "imperfect" and u.settings["max_padding"] == 0.5 for u in units)
    assert all("factorization" not in u.settings for u in perfect._units(0, perfect.baseline.values, {}, "random"))


@needs_imperfect_model
def test_codesign_runs_imperfect_and_resumes_from_the_store(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 's.db'}"
    cd = Codesign([DQN], hw_space=SPACE, optimizer="random", hw_budget=2, hw_batch=2, mapper="random",
                  mapper_budget=100, storage=url, study="imp", factorization="imperfect")
    res = cd.run()
    assert res.best is not None and res.edp_ratio is not None
    joined = Codesign.from_study(url, "imp")
    assert joined.space_settings == {"factorization": "imperfect", "max_padding": 0.25}
    assert np.isfinite(res.edp_ratio)
