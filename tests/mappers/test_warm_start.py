"""Warm starts: mappings of another hardware point repaired to fit, seeds in ``auto``'s warm-up, and the
co-design rule that picks them (nearest points of earlier batches only, the same for any executor)."""

from __future__ import annotations

import numpy as np
import pytest

import cosearch
from cosearch.arch.hwspace import load_hw_space
from cosearch.codesign.driver import Codesign
from cosearch.mappers.base import known_valid
from cosearch.mappers.layer import map_layer
from cosearch.mappers.warm_start import repair, seeds_from_data
from cosearch.mapping.space import MapSpace
from cosearch.study.executor import LocalExecutor

SPACE = load_hw_space("eyeriss-like")
BIG = {"mesh_x": 32, "mesh_y": 32, "glb_kb": 1024, "glb_bandwidth": 64, "weights_spad_words": 512,
       "ifmap_spad_words": 64, "psum_spad_words": 64}
SMALL = {"mesh_x": 5, "mesh_y": 3, "glb_kb": 8, "glb_bandwidth": 4, "weights_spad_words": 16,
         "ifmap_spad_words": 4, "psum_spad_words": 4}


def _products(m) -> np.ndarray:
    return (m.temporal * m.spatial_x * m.spatial_y).prod(axis=1)  # [B, D]


@pytest.mark.parametrize("layer_index", [0, 3, 7])
def test_repair_fits_a_big_points_mappings_on_a_small_point(layer_index: int) -> None:
    layer = cosearch.load_workload("resnet18").layers[layer_index]
    big, small = SPACE.arch(SPACE.point(BIG)), SPACE.arch(SPACE.point(SMALL))
    m = MapSpace(big, layer).sample(40, seed=1)
    target = MapSpace(small, layer)
    assert not known_valid(target, m).all()  # the test needs mappings that do not fit as they are
    fixed = repair(target, m)
    assert len(fixed) > 0
    assert known_valid(target, fixed).all()
    assert (_products(fixed) == np.array(layer.dims)).all()  # moves keep every dim's product


def test_seeds_from_data_and_auto_evaluates_them_first() -> None:
    layer = cosearch.load_workload("resnet18").layers[4]
    big, small = SPACE.arch(SPACE.point(BIG)), SPACE.arch(SPACE.point(SMALL))
    found = map_layer(big, layer, budget=600, seed=0)
    space = MapSpace(small, layer)
    seeds = seeds_from_data(space, [found.mapping().model_dump(mode="json"), {"levels": [{"level": "nowhere"}]}])
    assert seeds is not None and len(seeds) == 1
    seeded = map_layer(small, layer, budget=300, seed=0, space=space, seeds=seeds)
    seed_edp = cosearch.evaluate(small, layer, seeds).edp[0]
    assert seeded.edp <= seed_edp  # the seed was evaluated, so the best is at least as good
    assert seeds_from_data(space, []) is None


def _trials(warm: int, jobs: int, tmp_path, name: str) -> list:
    net = cosearch.load_workload("dqn")
    with LocalExecutor(jobs) as ex:
        cd = Codesign([net], hw_space=SPACE, optimizer="random", hw_budget=6, hw_batch=3, mapper_budget=150,
                      seed=3, storage=f"sqlite:///{tmp_path}/{name}.db", study="s", executor=ex, warm_start=warm)
        cd.run()
        trials = cd.storage.trials("s", layers=True)
        units = {t.number: cd._trial_units(t) for t in trials}
    return [(t.number, t.value, sorted((r.layer, r.edp) for r in t.layers)) for t in trials], units


def test_codesign_warm_starts_use_earlier_batches_and_do_not_depend_on_jobs(tmp_path) -> None:
    one, units = _trials(2, 1, tmp_path, "a")
    two, _ = _trials(2, 2, tmp_path, "b")
    assert one == two
    for number, us in units.items():
        seeded = [u for u in us if "warm_start" in u.settings]
        if number < 3:  # the first batch has no earlier batch
            assert not seeded
        else:
            assert seeded and all(1 <= len(u.settings["warm_start"]) <= 2 for u in seeded)
    cold, cold_units = _trials(0, 1, tmp_path, "c")
    assert not any("warm_start" in u.settings for us in cold_units.values() for u in us)
    assert cold[:3] == one[:3]  # the first batch is mapped cold either way
