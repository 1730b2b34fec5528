"""Co-design driver (``cosearch.codesign.driver.Codesign``): determinism, kill -9 then resume, several
workloads, infeasible points, the area budget, the baselines. Budgets are tiny (DQN, a few hardware
points, a few hundred mapper evaluations per layer)."""

from __future__ import annotations

import math
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from cosearch.arch.hwspace import load_hw_space
from cosearch.arch.templates.eyeriss import EYERISS_168
from cosearch.codesign import driver as codesign_mod
from cosearch.codesign.driver import Codesign
from cosearch.errors import CosearchError
from cosearch.study import Storage
from cosearch.study.executor import WorkResult
from cosearch.workload.io import load_workload

SPACE = load_hw_space("eyeriss-like")
DQN = load_workload("dqn")


def make(tmp_path: Path, study: str = "s", *, workloads=None, db: str | None = None, **kw) -> Codesign:
    """A study in ``tmp_path/db`` (a SQLite file), or in memory (faster: no fsync per commit) if no ``db``."""
    settings = dict(hw_space=SPACE, optimizer="ga", hw_budget=9, hw_batch=3, mapper_budget=300, seed=0,
                    storage=f"sqlite:///{tmp_path / db}" if db else "sqlite://", study=study)
    settings.update(kw)
    return Codesign(workloads or [DQN], **settings)


def history(storage: Storage, study: str) -> list[dict]:
    """Every trial and its layer results, without timing and bookkeeping fields."""
    out = []
    for t in storage.trials(study, layers=True):
        result = {k: v for k, v in (t.result or {}).items() if k != "seconds"}
        layers = sorted((lr.layer, lr.state, lr.energy_pj, lr.cycles, lr.edp, lr.evaluations, lr.seed, repr(lr.mapping),
                         lr.error) for lr in t.layers)
        out.append({"number": t.number, "state": t.state, "hw": t.hw_params, "value": t.value, "result": result,
                    "layers": layers})
    return out


def without_seconds(res) -> dict:
    return {"best": res.best, "baseline": res.baseline, "baseline_rs": res.baseline_rs, "edp_ratio": res.edp_ratio,
            "edp_ratio_rs": res.edp_ratio_rs, "trials": res.trials, "history": res.history}


# ---------------------------------------------------------------------------------------------------
# determinism


def test_same_seed_same_study(tmp_path: Path) -> None:
    """bo past its random start (n_init 10): 14 points in batches of 4; identical trials and best."""
    kw = dict(optimizer="bo", hw_budget=14, hw_batch=4, mapper_budget=200, seed=5)
    a = make(tmp_path, "a", **kw)
    res_a = a.run()
    b = make(tmp_path, "b", **kw)
    res_b = b.run()
    assert res_a.trials == res_b.trials == 14
    assert history(a.storage, "a") == history(b.storage, "b")
    assert without_seconds(res_a) == without_seconds(res_b)
    assert res_a.best is not None and res_a.best.trial == a.storage.best_trial("a").number
    points = [tuple(t.hw_params["point"]) for t in a.storage.trials("a")]
    assert len(set(points)) == len(points)  # never proposes a point twice


# ---------------------------------------------------------------------------------------------------
# kill -9, then resume

_CHILD = textwrap.dedent("""
    import sys, time
    from cosearch.arch.hwspace import load_hw_space
    from cosearch.codesign import driver as cm
    from cosearch.workload.io import load_workload

    original = cm.map_unit

    def slow(unit):  # trials only (not the baselines): widen the window in which the parent kills us
        if unit.trial >= 0:
            time.sleep(0.1)
        return original(unit)

    cm.map_unit = slow
    cm.Codesign([load_workload("dqn")], hw_space=load_hw_space("eyeriss-like"), optimizer="ga", hw_budget=9,
                hw_batch=3, mapper_budget=300, seed=0, storage=sys.argv[1], study="k").run()
""")


def _db_state(path: Path) -> tuple[int, int]:
    """(complete trials, layer results of running trials) read straight from the SQLite file."""
    if not path.exists():
        return 0, 0
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
    try:
        complete = con.execute("select count(*) from trials where state = 'complete'").fetchone()[0]
        partial = con.execute("select count(*) from layer_results r join trials t on r.trial_id = t.id "
                              "where t.state = 'running'").fetchone()[0]
        return complete, partial
    except sqlite3.OperationalError:  # tables not created yet
        return 0, 0
    finally:
        con.close()


def test_kill_9_then_resume_matches_uninterrupted_run(tmp_path: Path) -> None:
    db = tmp_path / "k.db"
    script = tmp_path / "child.py"
    script.write_text(_CHILD)
    proc = subprocess.Popen([sys.executable, str(script), f"sqlite:///{db}"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    deadline = time.monotonic() + 90
    try:
        while True:
            complete, partial = _db_state(db)
            if complete >= 3 and 1 <= partial < len(DQN):  # mid-trial: some of its layers are committed
                break
            if proc.poll() is not None:
                pytest.fail(f"the run ended before it could be killed (exit {proc.returncode}): "
                            f"{proc.stderr.read().decode()[-2000:]}")
            assert time.monotonic() < deadline, "timed out waiting for committed trials"
            time.sleep(0.01)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL

    store = Storage(f"sqlite:///{db}")
    states = store.count_trials("k")
    assert states["complete"] >= 3 and states["running"] == 1 and states["complete"] < 9
    killed = store.trials("k", "running")[0].number

    resumed = make(tmp_path, "k", db="k.db", resume=True)
    res = resumed.run()
    whole = make(tmp_path, "w")
    res_whole = whole.run()

    assert res.trials == res_whole.trials == 9
    assert history(resumed.storage, "k") == history(whole.storage, "w")
    assert without_seconds(res) == without_seconds(res_whole)
    assert resumed.storage.trial("k", killed).attempts == 2  # requeued and run again


def test_resume_with_other_settings_is_refused(tmp_path: Path) -> None:
    make(tmp_path, "r", db="r.db", hw_budget=2, hw_batch=2)  # created, not run
    with pytest.raises(CosearchError, match="different settings"):
        make(tmp_path, "r", db="r.db", hw_budget=2, hw_batch=2, seed=1, resume=True)
    with pytest.raises(CosearchError, match="already exists"):
        make(tmp_path, "r", db="r.db", hw_budget=2, hw_batch=2)


# ---------------------------------------------------------------------------------------------------
# several workloads


def test_several_workloads_geometric_mean_of_ratios(tmp_path: Path) -> None:
    mlp = load_workload("mlp")
    cd = make(tmp_path, workloads=[DQN, mlp], optimizer="random", hw_budget=4, hw_batch=4, mapper_budget=150)
    assert len(cd.layers) == len({l.shape_key() for w in (DQN, mlp) for l in w.layers})
    res = cd.run()
    base = res.baseline.per_workload
    assert set(base) == {"dqn", "mlp"}
    for t in cd.storage.trials("s"):
        assert t.state == "complete" and t.result["valid"]
        per = t.result["per_workload"]
        want = math.exp((math.log(per["dqn"]["edp"] / base["dqn"]) + math.log(per["mlp"]["edp"] / base["mlp"])) / 2)
        assert t.value == pytest.approx(want, rel=1e-12)
        assert t.result["energy_pj"] == pytest.approx(per["dqn"]["energy_pj"] + per["mlp"]["energy_pj"])
        for w, net in (("dqn", DQN), ("mlp", mlp)):  # per-workload costs count repeats
            layers = {lr.shape_key: lr for lr in cd.storage.trial("s", t.number).layers}
            e = sum(l.count * layers["x".join(map(str, l.shape_key()))].energy_pj for l in net.layers)
            assert per[w]["energy_pj"] == pytest.approx(e, rel=1e-12)
    best = res.best
    assert best.trial == min(cd.storage.trials("s"), key=lambda t: (t.value, t.number)).number
    want = math.exp(sum(math.log(best.per_workload[w] / base[w]) for w in base) / 2)
    assert res.edp_ratio == pytest.approx(want, rel=1e-12)


def test_single_workload_value_is_the_objective(tmp_path: Path) -> None:
    cd = make(tmp_path, optimizer="random", hw_budget=2, hw_batch=2, mapper_budget=150, objective="ednp:2")
    cd.run()
    for t in cd.storage.trials("s"):
        assert t.value == pytest.approx(t.result["energy_pj"] * t.result["cycles"] ** 2, rel=1e-12)


# ---------------------------------------------------------------------------------------------------
# infeasible points


def test_infeasible_points_are_complete_invalid_and_never_best(tmp_path: Path, monkeypatch) -> None:
    """No point of the built-in templates leaves a layer unmappable (DRAM is unbounded, each spad keeps one
    data space), so the mapper is told to fail ``conv2`` on points with an odd mesh_x, as it would on a
    point whose map space is empty."""
    original = codesign_mod.map_unit

    def mapper(unit):
        if unit.trial >= 0 and unit.hw["values"]["mesh_x"] % 2 == 1 and unit.layer_name.endswith("conv2"):
            return WorkResult(layer=unit.layer_name, optimizer=unit.mapper, seed=unit.seed,
                              error=f"no valid mapping found for layer {unit.layer_name}")
        return original(unit)

    monkeypatch.setattr(codesign_mod, "map_unit", mapper)
    cd = make(tmp_path, optimizer="ga", hw_budget=8, hw_batch=4, mapper_budget=150, seed=2)
    res = cd.run()
    trials = cd.storage.trials("s", layers=True)
    bad = [t for t in trials if t.hw_params["values"]["mesh_x"] % 2 == 1]
    good = [t for t in trials if t not in bad]
    assert bad and good, "the seed should give both kinds of points"
    for t in bad:
        assert t.state == "complete" and t.result["valid"] is False and t.value is None
        assert "dqn/conv2" in t.result["reason"]
        assert {lr.layer: lr.state for lr in t.layers}["dqn/conv2"] == "failed"
    for t in good:
        assert t.result["valid"] is True and t.value is not None
    assert res.best.trial in {t.number for t in good}
    assert cd.storage.best_trial("s").number == res.best.trial
    assert res.best.edp == min(t.result["edp"] for t in good)


def test_vanilla_bo_points_over_budget_are_invalid(tmp_path: Path) -> None:
    """vanilla-bo proposes without the area constraint: those points are recorded invalid, never best."""
    cd = make(tmp_path, optimizer="vanilla-bo", hw_budget=6, hw_batch=6, mapper_budget=150, seed=1)
    res = cd.run()
    trials = cd.storage.trials("s")
    over = [t for t in trials if t.result["area_mm2"] > cd.area_budget]
    assert over, "the seed should give points over the budget"
    for t in over:
        assert t.state == "complete" and t.result["valid"] is False and t.value is None
        assert "over the budget" in t.result["reason"]
    assert res.best is not None and res.best.area_mm2 <= cd.area_budget


# ---------------------------------------------------------------------------------------------------
# the area budget


@pytest.mark.parametrize("optimizer,hw_budget,hw_batch", [("bo", 14, 7), ("random", 4, 4), ("ga", 8, 4)])
def test_every_trial_within_area_budget(tmp_path: Path, optimizer: str, hw_budget: int, hw_batch: int) -> None:
    budget = 6.0
    cd = make(tmp_path, optimizer=optimizer, hw_budget=hw_budget, hw_batch=hw_batch, mapper_budget=100,
              area_budget_mm2=budget, seed=3)
    res = cd.run()
    trials = cd.storage.trials("s")
    assert len(trials) == hw_budget
    for t in trials:
        area = SPACE.arch(np.array(t.hw_params["point"])).area_mm2
        assert area == pytest.approx(t.result["area_mm2"], rel=1e-12)
        assert area <= budget
        assert t.result["valid"]
    assert res.best.area_mm2 <= budget


def test_area_budget_below_smallest_design() -> None:
    with pytest.raises(CosearchError, match="below the smallest design"):
        Codesign([DQN], hw_space=SPACE, area_budget_mm2=0.1, storage="sqlite://")


# ---------------------------------------------------------------------------------------------------
# baselines


def test_baselines(tmp_path: Path) -> None:
    cd = make(tmp_path, optimizer="random", hw_budget=2, hw_batch=2, mapper_budget=150)
    assert cd.area_budget == cd.baseline_area  # default budget: eyeriss-168's area
    assert cd.baseline_area == pytest.approx(SPACE.arch(EYERISS_168).area_mm2)
    res = cd.run()
    keys = {f"dqn/{l.name}" for l in DQN.layers}
    for base in (res.baseline, res.baseline_rs):
        assert base.arch == EYERISS_168
        assert base.area_mm2 == cd.baseline_area
        assert base.energy_pj > 0 and base.cycles > 0
        assert base.edp == pytest.approx(base.energy_pj * base.cycles)
        assert set(base.layers) == keys and all(r.mapping for r in base.layers.values())
        assert base.energy_pj == pytest.approx(sum(r.energy_pj for r in base.layers.values()))
    assert res.edp_ratio == pytest.approx(res.best.edp / res.baseline.edp)
    assert res.edp_ratio_rs == pytest.approx(res.best.edp / res.baseline_rs.edp)
    # the row-stationary baseline keeps its dataflow: all filter rows (S) across the PE rows
    conv = res.baseline_rs.layers["dqn/conv1"].mapping
    spatial = [lvl["spatial"] for lvl in conv["levels"] if lvl.get("spatial")]
    assert len(spatial) == 1 and spatial[0]["Y"]["S"] == DQN.layer("conv1").S
