"""The ``pareto`` co-design objective: non-dominated sorting, expected hypervolume improvement, the
multi-objective hardware optimizers, the study's Pareto front (with resume) and the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from conftest import assert_user_error, last_json, ok, run
from cosearch._gp.pareto import dominates, expected_hv_improvement, pareto_front_mask, pareto_ranks
from cosearch.arch.hwspace import load_hw_space
from cosearch.codesign.driver import Codesign
from cosearch.codesign.hw_optimizers import make_hw_optimizer
from cosearch.errors import CosearchError
from cosearch.study import Storage
from cosearch.workload.io import load_workload

SPACE = load_hw_space("eyeriss-like")
DQN = load_workload("dqn")
INF = np.inf


def test_pareto_ranks_sort_fronts_and_put_infeasible_last() -> None:
    v = np.array([[1, 2], [2, 1], [2, 2], [3, 3], [INF, 0], [1, 2]])
    assert pareto_ranks(v).tolist() == [1, 1, 2, 3, INF, 1]  # duplicates do not dominate each other
    assert pareto_front_mask(v).tolist() == [True, True, False, False, False, True]
    assert dominates(np.array([1, 1]), np.array([1, 2])) and not dominates(np.array([1, 2]), np.array([1, 2]))


def test_expected_hv_improvement_exact_cases() -> None:
    front, ref = np.array([[0.5, 0.5]]), np.array([1.1, 1.1])
    eps = np.random.default_rng(0).standard_normal((256, 2))
    mean = np.array([[0.2, 0.2], [0.6, 0.6], [0.6, 0.6], [0.2, 0.8]])
    std = np.array([[0, 0], [0, 0], [0.3, 0.3], [0, 0]], dtype=float)
    hvi = expected_hv_improvement(front, ref, mean, std, eps)
    assert hvi[0] == pytest.approx(0.9**2 - 0.6**2)  # dominates the front: the area between
    assert hvi[1] == 0.0  # dominated, certain: nothing to gain
    assert hvi[2] > 0.0  # dominated on average, but it may turn out better
    assert hvi[3] == pytest.approx(0.3 * 0.3)  # a new trade-off: the box only it dominates


@pytest.mark.parametrize("name", ["bo", "random", "ga"])
def test_multi_objective_optimizers_propose_new_points_within_budget(name: str) -> None:
    def run_once() -> list[np.ndarray]:
        opt = make_hw_optimizer(name, SPACE, area_budget_mm2=12.0, seed=3, objectives=3)
        rng = np.random.default_rng(0)
        asked = []
        for _ in range(5):
            pts = opt.ask(4)
            assert len(pts) == 4 and (opt.area(pts) <= 12.0).all()
            assert not opt._seen(pts).any() and len({tuple(p) for p in pts.tolist()}) == 4
            vals = np.exp(rng.normal(size=(4, 3)))
            vals[0] = INF  # one infeasible point per batch
            opt.tell(pts, vals)
            asked.append(pts)
        assert opt.objective_values.shape == (20, 3)
        assert (opt.values == pareto_ranks(opt.objective_values)).all()
        return asked

    a, b = run_once(), run_once()
    assert all((x == y).all() for x, y in zip(a, b))


def test_vanilla_bo_refuses_several_objectives() -> None:
    with pytest.raises(CosearchError, match="vanilla-bo optimizes one objective"):
        make_hw_optimizer("vanilla-bo", SPACE, area_budget_mm2=12.0, objectives=3)


def _study(tmp_path: Path, name: str, hw_budget: int, resume: bool = False, db: str = "p.db") -> Codesign:
    return Codesign([DQN], hw_space=SPACE, optimizer="bo", objective="pareto", hw_budget=hw_budget, hw_batch=4,
                    mapper_budget=150, seed=2, storage=f"sqlite:///{tmp_path / db}", study=name, resume=resume)


def test_study_front_is_the_non_dominated_set_and_resume_keeps_it(tmp_path: Path) -> None:
    res = _study(tmp_path, "full", 16).run()
    trials = Storage(f"sqlite:///{tmp_path / 'p.db'}").trials("full")
    valid = [t for t in trials if t.value is not None]
    assert len(valid) >= 8
    for t in valid:  # single workload: the objectives are the costs themselves
        assert t.result["objectives"] == [t.result["energy_pj"], t.result["cycles"], t.result["area_mm2"]]
    front = res.pareto_front
    objs = {p["trial"]: np.array(p["objectives"]) for p in front}
    assert front and [p["objectives"][0] for p in front] == sorted(p["objectives"][0] for p in front)
    for i, a in objs.items():
        assert not any(dominates(b, a) for j, b in objs.items() if j != i)
    for t in valid:  # every valid trial is on the front or dominated by a member
        v = np.array(t.result["objectives"])
        assert t.number in objs or any(dominates(b, v) for b in objs.values())
    # the reported best design is the front's lowest EDP
    assert res.best.trial in objs
    assert res.best.edp == min(p["edp"] for p in front)
    # stop after 8 trials, then resume to 16: the same trials as the uninterrupted study
    _study(tmp_path, "cut", 8, db="q.db").run()
    res2 = _study(tmp_path, "cut", 16, resume=True, db="q.db").run()
    again = Storage(f"sqlite:///{tmp_path / 'q.db'}").trials("cut")
    assert [t.hw_params for t in again] == [t.hw_params for t in trials]
    assert [p["trial"] for p in res2.pareto_front] == [p["trial"] for p in front]


def test_cli_pareto_json_and_errors(tmp_path: Path) -> None:
    args = ["codesign", "--workload", "dqn", "--hw-budget", "6", "--hw-batch", "3", "--mapper-budget", "100",
            "--objective", "pareto", "--optimizer", "random", "--out", tmp_path / "o", "--no-report", "--json"]
    data = last_json(ok(run(*args)).stdout)
    front = data["pareto_front"]
    assert front and all(set(p) >= {"trial", "arch", "energy_pj", "cycles", "edp", "area_mm2"} for p in front)
    assert data["best"]["trial"] in {p["trial"] for p in front}
    # the report lists the same front
    rep = ok(run("report", tmp_path / "o", "--out", tmp_path / "rep", "--json"))
    assert "pareto_front" in last_json(rep.stdout)["tables"]
    rows = json.loads((tmp_path / "rep" / "tables" / "pareto_front.json").read_text())
    assert [r["number"] for r in rows] == [p["trial"] for p in front]
    assert [[r["objective_energy"], r["objective_cycles"], r["objective_area_mm2"]] for r in rows] == \
        [p["objectives"] for p in front]
    assert "<h2>Pareto front</h2>" in (tmp_path / "rep" / "report.html").read_text()
    res = run("codesign", "--workload", "dqn", "--objective", "pareto", "--optimizer", "vanilla-bo",
              "--out", tmp_path / "v", "--json")
    assert_user_error(res, "vanilla-bo optimizes one objective")
    # other objectives keep the key, empty
    edp = last_json(ok(run(*[a if a != "pareto" else "edp" for a in args[:-4]], "--out", tmp_path / "e",
                           "--no-report", "--json")).stdout)
    assert edp["pareto_front"] is None
