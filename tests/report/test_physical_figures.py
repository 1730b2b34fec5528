"""The convergence and area–EDP figures of a study that searches physical settings (precision, DRAM
bandwidth, clock) are drawn in J·s with leakage, what the study ranks by, not in pJ·cycles. Tiny budgets."""

from __future__ import annotations

import json

import pytest

from conftest import REPO, ok, run
from cosearch.arch.physical import edp_js
from cosearch.report.figures import build_figures
from cosearch.report.rows import convergence_rows, trial_edp_js
from cosearch.report.sources import resolve_sources

SEARCHED = REPO / "examples" / "hwspaces" / "searched_world.yaml"
SMALL = ["--workload", "dqn", "--hw-budget", "4", "--hw-batch", "4", "--mapper-budget", "100", "--no-report"]


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("physical_figures")
    ok(run("codesign", *SMALL, "--hw-space", SEARCHED, "--out", root / "searched"))
    ok(run("codesign", *SMALL, "--out", root / "plain"))
    return {name: resolve_sources([str(root / name)])[0] for name in ("searched", "plain")} | {"root": root}


def _figures(sources: list) -> dict:
    return {f.id: f.plotly for f in build_figures(sources)}


def test_a_searched_study_is_drawn_in_joule_seconds(runs) -> None:
    src = runs["searched"]
    assert src.searches_physical and not runs["plain"].searches_physical
    done = [t for t in src.trials if t.state == "complete" and t.value is not None]
    assert done
    for t in done:  # the figures' J·s is the objective the study ranked by
        assert trial_edp_js(t.result) == pytest.approx(t.value, rel=1e-12)
    rows = convergence_rows(src)
    assert rows[-1]["best_edp_js"] == pytest.approx(min(t.value for t in done), rel=1e-12)
    figs = _figures([src])
    conv, area = figs["convergence"], figs["area_edp"]
    assert "J·s" in conv.layout.yaxis.title.text and "J·s" in area.layout.yaxis.title.text
    curve = next(d for d in conv.data if d.name.startswith("bo"))
    assert list(curve.y) == pytest.approx([r["best_edp_js"] for r in rows])
    # the baselines' lines are their runs in J·s (results.json), and there is no pJ·cycles bound line
    data = json.loads((runs["root"] / "searched" / "results.json").read_text())
    expected = sorted(edp_js(data[k]["physical"]) for k in ("baseline", "baseline_rs"))
    assert sorted(h.y0 for h in conv.layout.shapes) == pytest.approx(expected)
    points = next(d for d in area.data if d.name == src.label)
    assert sorted(points.y) == pytest.approx(sorted(t.value for t in done))


def test_other_studies_stay_in_pj_cycles(runs) -> None:
    plain = runs["plain"]
    rows = convergence_rows(plain)
    assert "best_edp_js" not in rows[-1]
    for sources in ([plain], [plain, runs["searched"]]):  # a mixed report keeps one axis: pJ·cycles
        figs = _figures(sources)
        assert "pJ·cycles" in figs["convergence"].layout.yaxis.title.text
        assert "pJ·cycles" in figs["area_edp"].layout.yaxis.title.text
    curve = next(d for d in _figures([plain])["convergence"].data if d.name.startswith("bo"))
    assert list(curve.y) == pytest.approx([r["best_edp"] for r in rows])
