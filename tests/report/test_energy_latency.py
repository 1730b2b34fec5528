"""The energy–latency figure (issue #14): the points and fronts it draws, and that ``cosearch report``
shows it for two studies' run directories (and not for one). Tiny budgets."""

from __future__ import annotations

import json
import math
from pathlib import Path
from types import SimpleNamespace

import pytest

from conftest import last_json, ok, run
from cosearch.report.figures import (
    design_energy_latency,
    energy_latency_figure,
    energy_latency_series,
    pareto_front,
    trial_energy_latency,
)
from cosearch.report.records import Design, StudySource


def _trial(number: int, latency_s: float | None, power_mw: float | None, *, valid: bool = True,
           state: str = "complete") -> SimpleNamespace:
    result = {"valid": valid, "latency_s": latency_s, "power_mw": power_mw}
    return SimpleNamespace(number=number, state=state, result=result, hw_params={"values": {}})


def _design(role: str, trial: int | None = None, physical: dict | None = None) -> Design:
    return Design(source="s", role=role, label=role, arch_name="a", params={}, area_mm2=1.0, energy_pj=1.0,
                  cycles=1.0, edp=1.0, per_workload_edp={}, layers=[], trial=trial, physical=physical)


def _study(label: str, trials: list, best: int | None, ref_physical: dict | None = None) -> StudySource:
    return StudySource(label=label, study=label, storage="", config={}, objective="edp", trials=trials,
                       best=_design("best", best) if best is not None else None,
                       baselines=[_design("baseline", physical=ref_physical)], baseline_origin="",
                       area_budget_mm2=None, param_names=[])


def test_a_trial_point_is_latency_in_ms_and_power_times_latency_in_mj() -> None:
    assert trial_energy_latency({"valid": True, "latency_s": 0.002, "power_mw": 500.0}) == pytest.approx((2.0, 1.0))
    assert trial_energy_latency({"valid": False, "latency_s": 0.002, "power_mw": 500.0}) is None
    assert trial_energy_latency({"valid": True, "latency_s": None, "power_mw": 500.0}) is None
    assert trial_energy_latency({"valid": True}) is None  # a study of an older version
    assert trial_energy_latency({"valid": True, "latency_s": math.inf, "power_mw": 1.0}) is None
    assert design_energy_latency({"latency_ms": 3.0, "total_energy_mj": 0.5}) == (3.0, 0.5)
    assert design_energy_latency(None) is None


def test_each_study_gets_its_own_non_dominated_front() -> None:
    # study a: (ms, mJ) = (1, 4) (2, 2) (3, 3: dominated by (2, 2)) (4, 1); an invalid and a running trial
    a = [_trial(0, 1e-3, 4000.0), _trial(1, 2e-3, 1000.0), _trial(2, 3e-3, 1000.0), _trial(3, 4e-3, 250.0),
         _trial(4, 1e-4, 1.0, valid=False), _trial(5, 1e-4, 1.0, state="running")]
    # study b: one point dominates the other; it would dominate all of a's, but fronts are per study
    b = [_trial(0, 0.5e-3, 1000.0), _trial(1, 1e-3, 1000.0)]
    c = [_trial(0, None, None)]  # no physical units: no series
    series = energy_latency_series([_study("a", a, best=1, ref_physical={"latency_ms": 5.0, "total_energy_mj": 6.0}),
                                    _study("b", b, best=0), _study("c", c, best=None)])
    assert [s.label for s in series] == ["a", "b"]
    sa, sb = series
    assert [p[2] for p in sa.points] == [0, 1, 2, 3]
    assert sa.front == pytest.approx([(1.0, 4.0), (2.0, 2.0), (4.0, 1.0)])
    assert sa.best == pytest.approx((2.0, 2.0)) and sa.reference == (5.0, 6.0)
    assert sb.front == pytest.approx([(0.5, 0.5)]) and sb.reference is None
    assert sa.colour != sb.colour
    # the same front as the generic two-objective front
    assert sa.front == pareto_front((x, y) for x, y, _ in sa.points)


def test_the_figure_needs_two_studies_and_draws_every_point() -> None:
    a = _study("a", [_trial(0, 1e-3, 1000.0), _trial(1, 2e-3, 100.0)], best=0)
    b = _study("b", [_trial(0, 3e-3, 10.0)], best=0)
    assert energy_latency_figure([a]) is None
    spec = energy_latency_figure([a, b], bounds={"a": (0.5, 0.1)})
    assert spec is not None and spec.id == "energy_latency"
    by_name = {t.name: t for t in spec.plotly.data}
    assert list(by_name["a"].x) == pytest.approx([1.0, 2.0]) and list(by_name["a"].y) == pytest.approx([1.0, 0.2])
    assert list(by_name["b: front"].x) == pytest.approx([3.0]) and list(by_name["b: front"].y) == pytest.approx([0.03])
    assert list(by_name["a: lower bound"].x) == [0.5]
    assert "b: lower bound" not in by_name
    from matplotlib.figure import Figure

    fig = Figure()
    spec.draw(fig)
    assert fig.axes[0].get_xscale() == "log" and len(fig.axes[0].collections) >= 4


SMALL = ["--workload", "dqn", "--hw-budget", "4", "--hw-batch", "4", "--mapper-budget", "100", "--json"]


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("energy_latency")
    dirs = {}
    for name, extra in (("eyeriss", []), ("systolic", ["--hw-space", "systolic"])):
        dirs[name] = root / name
        ok(run("codesign", *SMALL, *extra, "--study", name, "--out", dirs[name], "--no-report"))
    out = root / "cmp"
    res = last_json(ok(run("report", dirs["eyeriss"], dirs["systolic"], "--out", out, "--json")).stdout)
    single = last_json(ok(run("report", dirs["eyeriss"], "--out", root / "one", "--json")).stdout)
    return {"dirs": dirs, "out": out, "report": res, "single": single}


def test_the_report_of_two_runs_draws_their_energy_latency_fronts(two_runs) -> None:
    from PIL import Image

    figs = two_runs["report"]["figures"]
    assert "energy_latency" in figs
    assert "energy_latency" not in two_runs["single"]["figures"]
    png = Path(figs["energy_latency"]["png"])
    with Image.open(png) as img:
        assert img.width >= 600 and len(img.convert("RGB").getcolors(maxcolors=1 << 20) or []) > 32
    assert Path(figs["energy_latency"]["svg"]).is_file()
    html = Path(two_runs["report"]["html"]).read_text()
    assert 'id="fig-energy_latency"' in html
    # the points drawn are the studies' trials in physical units
    from cosearch.report.sources import resolve_sources

    sources = resolve_sources([str(d) for d in two_runs["dirs"].values()])
    series = energy_latency_series(sources)
    assert [s.label for s in series] == ["eyeriss", "systolic"]
    for s, d in zip(series, two_runs["dirs"].values()):
        data = json.loads((d / "results.json").read_text())
        best = data["best"]["physical"]
        assert s.best == pytest.approx((best["latency_ms"], best["total_energy_mj"]))
        ref = data["baseline"]["physical"]
        assert s.reference == pytest.approx((ref["latency_ms"], ref["total_energy_mj"]))
        assert len(s.points) == sum(1 for h in data["history"] if h["value"] is not None)
