"""Searched precision, DRAM bandwidth and clock (``precision: {values: [...]}``, ``dram_gbps`` and
``clock_mhz`` as grids in a hardware space): extra parameters of the space, the clock's SRAM limit as a
known constraint, precision in the area model, physical-units objectives, and co-design end to end."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml

from conftest import REPO, assert_user_error, last_json, ok, run
from cosearch.arch.area import AreaModel
from cosearch.arch.estimator import clock_limit_mhz
from cosearch.arch.hwspace import HWSpace, load_hw_space
from cosearch.codesign.driver import Codesign, unit_arch
from cosearch.codesign.hw_optimizers import make_hw_optimizer
from cosearch.errors import CosearchError
from cosearch.study.executor import LocalExecutor
from cosearch.workload.io import load_workload

EXAMPLE = REPO / "examples" / "hwspaces" / "searched_world.yaml"
PARAMS = {"mesh_x": {"low": 4, "high": 8}, "mesh_y": {"low": 4, "high": 8},
          "glb_kb": {"low": 16, "high": 256, "scale": "log2"}, "glb_bandwidth": {"low": 4, "high": 16, "scale": "log2"},
          "weights_spad_words": {"low": 32, "high": 256, "scale": "log2"},
          "ifmap_spad_words": {"low": 4, "high": 16, "scale": "log2"},
          "psum_spad_words": {"low": 8, "high": 32, "scale": "log2"}}
# 256, 512 and 1024 MHz: the GLB's banks allow 293..698 MHz here, so 512 MHz holds for some points only
DATA = {"name": "searched-test", "template": "eyeriss", "precision": {"values": ["int8", "int16"]},
        "clock_mhz": {"low": 256, "high": 1024, "scale": "log2"}, "params": PARAMS}
SPACE = HWSpace.model_validate(DATA)
DQN = load_workload("dqn")


def test_searched_settings_are_parameters_after_the_template_s() -> None:
    assert SPACE.searched == ("precision", "clock_mhz")
    assert SPACE.names[-2:] == ("precision", "clock_mhz") and SPACE.names[:-2] == SPACE.template_names
    assert list(SPACE.sizes[-2:]) == [2, 3]
    point = np.array([1, 2, 0, 2, 0, 2, 1, 0, 1])  # a 16 KiB GLB in 16 banks: 698 MHz
    values = SPACE.values(point)
    assert values["precision"] == "int8" and values["clock_mhz"] == 512
    assert list(SPACE.point(values)) == list(point)
    assert SPACE.point_name(values).endswith("-int8-512mhz")
    assert SPACE.labels["clock_mhz"] == "Clock (MHz)" and SPACE.short_labels["precision"] == "prec"
    arch = SPACE.arch(point)
    assert arch.clock_mhz == 512 and arch.mac.word_bits == 8
    # the stored form round-trips: the same space, points and archs
    again = HWSpace.model_validate(json.loads(json.dumps(SPACE.config())))
    assert again == SPACE and again.config() == SPACE.config()
    assert again.arch(point) == arch
    assert SPACE.config()["precision"] == {"values": ["int8", "int16"]}


def test_scalar_settings_stay_fixed() -> None:
    fixed = HWSpace.model_validate({**DATA, "precision": "int8", "clock_mhz": 256})
    assert fixed.searched == () and fixed.names == fixed.template_names
    assert fixed.config()["precision"] == "int8" and fixed.config()["clock_mhz"] == 256


def test_reference_settings() -> None:
    """int16 when listed (else the first), the grid clock nearest 200 MHz that the reference meets, the
    grid GB/s nearest the space's dram_bandwidth at that clock."""
    assert SPACE.reference_physical() == {"precision": "int16", "clock_mhz": 256}
    other = HWSpace.model_validate({**DATA, "precision": {"values": ["bf16", "int8"]},
                                    "dram_gbps": {"low": 2, "high": 32, "scale": "log2"},
                                    "clock_mhz": {"low": 64, "high": 1024, "scale": "log2"}})
    # 16 words/cycle × 2 B at 256 MHz = 8.19 GB/s -> 8
    assert other.reference_physical() == {"precision": "bf16", "dram_gbps": 8, "clock_mhz": 256}
    assert other.arch(dict(other.template_spec.reference.values)).clock_mhz == 256


def test_area_model_counts_precision_in_the_macs() -> None:
    area = AreaModel(SPACE)
    rng = np.random.default_rng(3)
    pts = SPACE.random_points(300, rng)
    pts = pts[SPACE.clock_feasible(pts)][:25]
    assert len(pts) == 25
    built = np.array([SPACE.arch(p).area_mm2 for p in pts])
    np.testing.assert_allclose(area(pts), built, rtol=1e-12)
    p8, p16 = pts[0].copy(), pts[0].copy()
    p8[-2], p16[-2] = 0, 1
    assert area(p8[None])[0] < area(p16[None])[0]
    assert SPACE.arch(p8).area_mm2 < SPACE.arch(p16).area_mm2
    assert area(p16[None])[0] - area(p8[None])[0] == pytest.approx(
        SPACE.arch(p16).area_mm2 - SPACE.arch(p8).area_mm2, rel=1e-9)


def test_clock_feasible_is_the_srams_limit() -> None:
    pts = SPACE.random_points(150, np.random.default_rng(4))
    feasible = SPACE.clock_feasible(pts)
    assert feasible.any() and not feasible.all()
    for p, ok_ in zip(pts, feasible):
        arch = SPACE.arch(p, clocked=False)
        limit, _ = clock_limit_mhz(arch)
        assert ok_ == (SPACE.values(p)["clock_mhz"] <= limit)
        if not ok_:
            with pytest.raises(CosearchError, match="above the SRAM limit"):
                SPACE.arch(p)


@pytest.mark.parametrize("optimizer", ["random", "ga", "bo", "vanilla-bo"])
def test_clock_infeasible_points_never_proposed(optimizer: str) -> None:
    opt = make_hw_optimizer(optimizer, SPACE, area_budget_mm2=1e6, seed=1)
    rng = np.random.default_rng(0)
    for _ in range(4):
        pts = opt.ask(6)
        assert len(pts) and SPACE.clock_feasible(pts).all()
        opt.tell(pts, rng.random(len(pts)) + 1.0)
    # vanilla-bo's warm-up draws n points and keeps the new feasible ones (as with duplicates before)
    assert opt.n_told == 24 or (optimizer == "vanilla-bo" and opt.n_told >= 4)


def _history(cd: Codesign) -> list:
    return [(t.number, t.hw_params, t.value, {k: v for k, v in (t.result or {}).items() if k != "seconds"})
            for t in cd.storage.trials(cd.study_name)]


@pytest.mark.parametrize("optimizer", ["bo", "random"])
def test_codesign_end_to_end_jobs_1_and_2(optimizer: str) -> None:
    kw = dict(hw_space=SPACE, optimizer=optimizer, hw_budget=4, hw_batch=2, mapper_budget=120, seed=3)
    one = Codesign([DQN], storage="sqlite://", study="one", executor=LocalExecutor(1), **kw)
    res1 = one.run()
    two = Codesign([DQN], storage="sqlite://", study="two", executor=LocalExecutor(2), **kw)
    res2 = two.run()
    assert _history(one) == _history(two)
    assert res1.best == res2.best and res1.edp_ratio == res2.edp_ratio
    trials = one.storage.trials("one")
    points = np.array([t.hw_params["point"] for t in trials])
    assert SPACE.clock_feasible(points).all()
    assert {t.hw_params["values"]["precision"] for t in trials} <= {"int8", "int16"}
    best = one.storage.best_trial("one", layers=True)
    # the best point's arch, rebuilt from its stored values, is the one its units were mapped on
    stored = best.hw_params["values"]
    assert SPACE.arch(dict(stored)) == unit_arch(one._hw_payload(stored))
    assert SPACE.arch(SPACE.point(stored)) == SPACE.arch(dict(stored))
    # the objective is the EDP in J·s with leakage at the point's clock
    cost = one.network_cost({lr.layer: lr.__dict__ for lr in best.layers}, stored)
    u = cost.units()
    assert best.value == pytest.approx(u["total_energy_uj"] * 1e-6 * u["latency_s"], rel=1e-12)
    assert cost.clock_mhz == stored["clock_mhz"]
    # the baselines are at the reference settings; the ratio compares J·s
    assert res1.baseline.arch["precision"] == "int16" and res1.baseline.arch["clock_mhz"] == 256
    assert res1.edp_ratio == pytest.approx(res1.best.physical["edp_js"] / res1.baseline.physical["edp_js"])
    assert res1.edp_ratio_bound is None


def test_a_worker_rebuilds_the_study() -> None:
    cd = Codesign([DQN], hw_space=SPACE, optimizer="random", hw_budget=2, hw_batch=2, mapper_budget=60, seed=0,
                  storage="sqlite://", study="w")
    cd.run()
    again = Codesign.from_study(cd.storage, "w")
    assert again.space == SPACE and again.config == cd.config


def _space_file(tmp_path: Path, **changes) -> Path:
    path = tmp_path / "space.yaml"
    path.write_text(yaml.safe_dump({**DATA, **changes}))
    return path


SMALL = ["--workload", "dqn", "--hw-budget", "2", "--hw-batch", "2", "--mapper-budget", "50", "--seed", "1",
         "--no-report", "--json"]


@pytest.mark.parametrize("changes, needle", [
    ({"precision": {"values": ["int8", "int7"]}}, "unknown precision 'int7'"),
    ({"precision": {"values": []}}, "empty list"),
    ({"precision": {"values": ["int8", "INT8"]}}, "listed twice"),
    ({"clock_mhz": {"low": 800, "high": 3000, "scale": "log2"}}, "above the SRAM limit of every point"),
])
def test_bad_searched_settings_are_one_line_errors(tmp_path: Path, changes: dict, needle: str) -> None:
    assert_user_error(run("codesign", *SMALL, "--hw-space", _space_file(tmp_path, **changes),
                          "--out", tmp_path / "out"), "space.yaml", needle)


def test_cli_precision_list_is_searched(tmp_path: Path) -> None:
    out = tmp_path / "run"
    data = last_json(ok(run("codesign", *SMALL, "--precision", "int8,int16", "--out", out)).stdout)
    space = json.loads((out / "results.json").read_text())["config"]["hw_space"]
    assert space["precision"] == {"values": ["int8", "int16"]}
    assert data["best"]["arch"]["precision"] in ("int8", "int16")
    assert data["baseline"]["arch"]["precision"] == "int16"


def test_example_space_runs_with_report(tmp_path: Path) -> None:
    out = tmp_path / "world"
    data = last_json(ok(run("codesign", "--workload", "dqn", "--hw-space", EXAMPLE, "--hw-budget", "2",
                            "--hw-batch", "2", "--mapper-budget", "50", "--seed", "0", "--json",
                            "--out", out)).stdout)
    best = data["best"]
    space = load_hw_space(EXAMPLE)
    assert set(space.searched) == {"precision", "dram_gbps", "clock_mhz"}
    assert best["physical"]["clock_mhz"] == best["arch"]["clock_mhz"]
    assert best["physical"]["dram_gbps"] == pytest.approx(best["arch"]["dram_gbps"])
    designs = json.loads((out / "report" / "tables" / "designs.json").read_text())
    assert designs[0]["hw.precision"] == best["arch"]["precision"]
    assert designs[0]["latency_ms"] == pytest.approx(best["physical"]["latency_ms"])
    assert designs[0]["edp_ratio"] == pytest.approx(data["edp_ratio"])
    shown = ok(run("study", "show", "codesign-dqn-bo-s0", "--storage", f"sqlite:///{out / 'studies.db'}"))
    assert "MHz" in shown.stdout and "prec" in shown.stdout


def test_resume_gives_the_uninterrupted_study() -> None:
    from cosearch.study import Storage

    kw = dict(hw_space=SPACE, optimizer="ga", hw_batch=2, mapper_budget=60, seed=2)
    whole = Codesign([DQN], storage="sqlite://", study="whole", hw_budget=4, **kw)
    whole.run()
    store = Storage("sqlite://")
    Codesign([DQN], storage=store, study="part", hw_budget=2, **kw).run()
    resumed = Codesign([DQN], storage=store, study="part", hw_budget=4, resume=True, **kw)
    resumed.run()
    assert _history(resumed) == _history(whole)
