"""``cosearch report`` (issue #7): the files written, tables equal to what the study store holds, figures
drawn (PNG size and colours; the HTML rendered by headless Chromium without JavaScript errors), the
reports ``map`` and ``codesign`` write by default, and one-line errors (exit 2). Tiny budgets.

The browser test needs Debian's ``chromium`` and ``chromium-driver`` (``.ci/run`` installs them) and
the ``selenium`` package (the ``test`` extra). It is skipped when they are missing, except under
``CI=true``, where it fails instead.
"""

from __future__ import annotations

import base64
import csv
import importlib.util
import io
import json
import math
import os
import shutil
import tempfile
import time
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path

import pytest

from conftest import assert_user_error, last_json, ok, run
from cosearch.study import Storage
from cosearch.workload.io import load_workload

STUDY_FIGURES = {"convergence", "area_edp", "energy_breakdown", "layer_edp", "layer_energy"}
COMPARE_FIGURES = STUDY_FIGURES | {"energy_latency"}  # several studies: one energy-latency front each
MAP_FIGURES = {"energy_breakdown", "layer_edp", "layer_energy"}
SMALL = ["--workload", "dqn", "--hw-budget", "4", "--hw-batch", "4", "--mapper-budget", "100"]


# ---------------------------------------------------------------------------------------------------
# fixtures: three studies in one store (bo, random x 2 seeds), a study with invalid points, a map run


@pytest.fixture(scope="module")
def work(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("report")
    bo_out = root / "bo"
    url = f"sqlite:///{bo_out / 'studies.db'}"
    bo = ok(run("codesign", *SMALL, "--seed", "0", "--study", "bo-s0", "--out", bo_out, "--json"))
    randoms = {}
    for seed in (1, 2):
        out = root / f"random{seed}"
        ok(run("codesign", *SMALL, "--optimizer", "random", "--seed", seed, "--study", f"random-s{seed}",
               "--storage", url, "--out", out, "--no-report", "--json"))
        randoms[seed] = out
    # vanilla-bo ignores the area budget: points over a small budget are evaluated as invalid
    tight = run("codesign", *SMALL, "--optimizer", "vanilla-bo", "--area-budget", "1.2", "--seed", "4",
                "--study", "tight", "--storage", url, "--out", root / "tight", "--no-report", "--json")
    assert tight.exit_code in (0, 2), tight.stderr  # 2: no valid point at all (still a study to report)
    map_out = root / "map"
    mapped = ok(run("map", "-a", "eyeriss-168", "-w", "dqn", "-n", "200", "--out", map_out, "--json"))
    cmp_out = root / "cmp"
    cmp = ok(run("report", "bo-s0", "random-s1", "random-s2", map_out, "--storage", url, "--out", cmp_out, "--json"))
    return {"root": root, "url": url, "bo_out": bo_out, "bo": bo, "randoms": randoms, "map_out": map_out,
            "map": mapped, "cmp_out": cmp_out, "cmp": last_json(cmp.stdout)}


def table(report_dir: Path, name: str) -> list[dict]:
    return json.loads((report_dir / "tables" / f"{name}.json").read_text())


def manifest(report_dir: Path) -> dict:
    return json.loads((report_dir / "report.json").read_text())


def close(a, b, rel: float = 1e-12) -> bool:
    if a is None or b is None:
        return a is b
    return math.isclose(float(a), float(b), rel_tol=rel, abs_tol=0.0)


# ---------------------------------------------------------------------------------------------------
# reports written by map and codesign


def test_codesign_and_map_write_their_report(work) -> None:
    bo_report = work["bo_out"] / "report"
    assert (bo_report / "report.html").is_file()
    assert f"report: {bo_report / 'report.html'}" in work["bo"].stderr.splitlines()
    assert set(manifest(bo_report)["figures"]) == STUDY_FIGURES
    # the run's results.json gave the baselines (none mapped again)
    assert manifest(bo_report)["sources"][0]["baselines"].startswith("from ")
    for out in work["randoms"].values():  # --no-report
        assert (out / "results.json").is_file() and not (out / "report").exists()
    map_report = work["map_out"] / "report"
    assert f"report: {map_report / 'report.html'}" in work["map"].stderr.splitlines()
    assert set(manifest(map_report)["figures"]) == MAP_FIGURES


def test_report_cli_json_lists_the_files(work) -> None:
    data = work["cmp"]
    assert Path(data["html"]).is_file()
    assert set(data["figures"]) == COMPARE_FIGURES
    assert set(data["tables"]) == {"designs", "layers", "breakdown", "loop_nests", "trials", "convergence",
                                   "constraints"}
    for files in data["tables"].values():
        assert Path(files["json"]).is_file() and Path(files["csv"]).is_file()
    assert data["sources"] == ["bo-s0", "random-s1", "random-s2", "map"]
    assert 0 < data["seconds"] < 10


# ---------------------------------------------------------------------------------------------------
# figures as files


@pytest.mark.parametrize("which", ["cmp", "bo", "map"])
def test_pngs_and_svgs(work, which) -> None:
    from PIL import Image

    report = {"cmp": work["cmp_out"], "bo": work["bo_out"] / "report", "map": work["map_out"] / "report"}[which]
    expected = {"map": MAP_FIGURES, "bo": STUDY_FIGURES, "cmp": COMPARE_FIGURES}[which]
    pngs = sorted((report / "figures").glob("*.png"))
    assert {p.stem for p in pngs} == expected
    for png in pngs:
        with Image.open(png) as img:
            assert img.width >= 600 and img.height >= 400, (png.name, img.size)
            colours = img.convert("RGB").getcolors(maxcolors=1 << 20)
            assert colours is not None and len(colours) > 32, (png.name, None if colours is None else len(colours))
        svg = png.with_suffix(".svg")
        root = ET.parse(svg).getroot()
        assert root.tag.endswith("svg") and len(list(root.iter())) > 50, svg.name


# ---------------------------------------------------------------------------------------------------
# tables equal what the store (and the run's files) hold


def test_trials_table_equals_storage(work) -> None:
    rows = table(work["cmp_out"], "trials")
    store = Storage(work["url"])
    seen = 0
    for study in ("bo-s0", "random-s1", "random-s2"):
        trials = store.trials(study)
        mine = [r for r in rows if r["study"] == study]
        assert [r["number"] for r in mine] == [t.number for t in trials]
        cfg = store.load_study(study).config
        for r, t in zip(mine, trials):
            res = t.result or {}
            assert r["state"] == t.state and r["valid"] == res.get("valid")
            assert close(r["value"], t.value)
            for key in ("area_mm2", "energy_pj", "cycles"):
                assert close(r[key], res.get(key)), key
            assert close(r["edp"], res.get("edp") if res.get("valid") else None)
            assert {k[3:]: v for k, v in r.items() if k.startswith("hw.")} == t.hw_params["values"]
            assert r["optimizer"] == cfg["optimizer"] and r["seed"] == cfg["seed"]
            seen += 1
    assert seen == len(rows) == 12
    # the CSV holds the same rows (floats written exactly)
    with open(work["cmp_out"] / "tables" / "trials.csv", newline="") as fh:
        csv_rows = list(csv.DictReader(fh))
    assert len(csv_rows) == len(rows)
    for c, r in zip(csv_rows, rows):
        assert int(c["number"]) == r["number"] and c["study"] == r["study"]
        assert (c["edp"] == "" and r["edp"] is None) or float(c["edp"]) == r["edp"]


def test_designs_and_layers_equal_storage(work) -> None:
    store = Storage(work["url"])
    designs = table(work["cmp_out"], "designs")
    layers = table(work["cmp_out"], "layers")
    for study in ("bo-s0", "random-s1", "random-s2"):
        best = store.best_trial(study)
        row = next(r for r in designs if r["source"] == study and r["role"] == "best")
        assert row["trial"] == best.number
        assert {k[3:]: v for k, v in row.items() if k.startswith("hw.")} == best.hw_params["values"]
        for key in ("area_mm2", "energy_pj", "cycles", "edp"):
            assert close(row[key], best.result[key]), key
        mine = {r["layer"]: r for r in layers if r["source"] == study and r["role"] == "best"}
        assert set(mine) == {rec.layer for rec in best.layers}
        for rec in best.layers:
            r = mine[rec.layer]
            assert close(r["energy_pj"], rec.energy_pj) and close(r["cycles"], rec.cycles)
            assert close(r["edp"], rec.edp) and r["evaluations"] == rec.evaluations
        base = next(r for r in designs if r["source"] == study and r["role"] == "baseline")
        assert close(row["edp_ratio"], best.result["edp"] / base["edp"], 1e-9)
    # bo-s0's baselines are its results.json's
    results = json.loads((work["bo_out"] / "results.json").read_text())
    for role in ("baseline", "baseline_rs"):
        row = next(r for r in designs if r["source"] == "bo-s0" and r["role"] == role)
        for key in ("energy_pj", "cycles", "edp", "area_mm2"):
            assert close(row[key], results[role][key]), (role, key)


def test_baselines_stored_with_the_study_equal_the_runs(work) -> None:
    """random-s1/s2 keep results.json in their own --out (not next to the store): the report takes the
    baselines the run stored with the study, which are exactly what the run wrote."""
    designs = table(work["cmp_out"], "designs")
    sources = {s["label"]: s for s in manifest(work["cmp_out"])["sources"]}
    for seed, out in work["randoms"].items():
        study = f"random-s{seed}"
        assert sources[study]["baselines"] == "stored with the study by its co-design run"
        results = json.loads((out / "results.json").read_text())
        for role in ("baseline", "baseline_rs"):
            row = next(r for r in designs if r["source"] == study and r["role"] == role)
            for key in ("energy_pj", "cycles", "edp", "area_mm2"):
                assert row[key] == results[role][key], (study, role, key)


def _study_baselines(store: Storage, study: str) -> tuple[str, dict]:
    from cosearch.report.sources import study_source

    src = study_source(store, study)
    return src.baseline_origin, {d.role: (d.energy_pj, d.cycles, d.edp) for d in src.baselines}


def test_a_study_reported_by_name_maps_nothing(work, monkeypatch) -> None:
    import cosearch.codesign.driver as driver

    def no_mapping(unit):
        raise AssertionError(f"the report mapped {unit.layer_name} again")

    monkeypatch.setattr(driver, "map_unit", no_mapping)
    results = json.loads((work["randoms"][1] / "results.json").read_text())
    origin, got = _study_baselines(Storage(work["url"]), "random-s1")
    assert origin == "stored with the study by its co-design run"
    assert got == {role: tuple(results[role][k] for k in ("energy_pj", "cycles", "edp"))
                   for role in ("baseline", "baseline_rs")}


def test_a_study_of_an_older_version_has_its_baselines_mapped_again(work, tmp_path, monkeypatch) -> None:
    """A store written before studies kept their baselines (no study_attrs table) and no results.json
    to be found: the report maps the baselines again with the study's settings and gets what the run got."""
    import sqlite3

    import cosearch.codesign.driver as driver

    old = tmp_path / "old.db"
    with sqlite3.connect(str(work["url"]).removeprefix("sqlite:///")) as src, sqlite3.connect(old) as dst:
        src.backup(dst)
        dst.execute("DROP TABLE study_attrs")
    mapped = []
    map_unit = driver.map_unit
    monkeypatch.setattr(driver, "map_unit", lambda unit: mapped.append(unit.layer_name) or map_unit(unit))
    results = json.loads((work["randoms"][2] / "results.json").read_text())
    origin, got = _study_baselines(Storage(f"sqlite:///{old}"), "random-s2")
    assert origin.startswith("mapped again") and mapped
    for role in ("baseline", "baseline_rs"):
        for value, key in zip(got[role], ("energy_pj", "cycles", "edp")):
            assert close(value, results[role][key]), (role, key)


def test_map_tables_equal_results(work) -> None:
    results = json.loads((work["map_out"] / "results.json").read_text())
    layers = [r for r in table(work["cmp_out"], "layers") if r["role"] == "map"]
    assert [r["layer"] for r in layers] == [l["name"] for l in results["layers"]]
    for r, want in zip(layers, results["layers"]):
        for key in ("energy_pj", "cycles", "edp", "utilization", "evaluations", "count"):
            assert close(r[key], want[key]), key
    nests = [r for r in table(work["cmp_out"], "loop_nests") if r["role"] == "map"]
    for want in results["layers"]:
        loops = [(r["level"], r["dim"], r["bound"], r["kind"]) for r in nests if r["layer"] == want["name"]
                 and r["dim"] is not None]
        assert loops == [(lvl["level"], lp["dim"], lp["bound"], lp["kind"]) for lvl in want["loop_nest"]
                         for lp in lvl["loops"]]


def test_breakdown_recomputed_by_the_cost_model_adds_up(work) -> None:
    """Per layer, the level × data space energies plus the MACs give the layer's stored energy; per
    design they give the network energy (repeats counted)."""
    rows = table(work["cmp_out"], "breakdown")
    layers = table(work["cmp_out"], "layers")
    designs = table(work["cmp_out"], "designs")
    assert rows
    for lr in layers:
        parts = [b["energy_pj"] for b in rows if b["design"] == lr["design"] and b["source"] == lr["source"]
                 and b["layer"] == lr["layer"]]
        assert parts and close(sum(parts), lr["energy_pj"], 1e-9), (lr["design"], lr["layer"])
        assert any(b["level"] == "DRAM" for b in rows if b["layer"] == lr["layer"])
    for d in designs:
        total = sum(b["energy_pj"] * (b["count"] or 1) for b in rows if b["design"] == d["design"]
                    and b["source"] == d["source"])
        assert close(total, d["energy_pj"], 1e-9), d["design"]


def test_convergence_is_the_running_best(work) -> None:
    rows = table(work["cmp_out"], "convergence")
    store = Storage(work["url"])
    for study in ("bo-s0", "random-s1", "random-s2"):
        mine = [r for r in rows if r["source"] == study]
        best = math.inf
        for r, t in zip(mine, store.trials(study)):
            if t.result.get("valid"):
                best = min(best, t.result["edp"])
            assert r["trial"] == t.number and close(r["best_edp"], None if best == math.inf else best)
        assert len(mine) == 4 and mine[-1]["best_edp"] == store.best_trial(study).result["edp"]


def test_constraint_statistics(work, tmp_path) -> None:
    out = tmp_path / "tight"
    res = ok(run("report", "tight", "--storage", work["url"], "--out", out, "--json"))
    assert set(last_json(res.stdout)["figures"]) == STUDY_FIGURES
    rows = {r["statistic"]: r for r in table(out, "constraints")}
    trials = Storage(work["url"]).trials("tight")
    over = [t for t in trials if not t.result["valid"] and t.result["reason"].startswith("area ")]
    assert over, "vanilla-bo under a 1.2 mm² budget should propose points over it"
    assert rows["invalid: area over the budget"]["count"] == len(over)
    valid = sum(1 for t in trials if t.result["valid"])
    assert rows["valid"]["count"] == valid and rows["invalid"]["count"] == len(trials) - valid
    assert rows["HW points evaluated"]["count"] == len(trials)
    removed = rows["candidates removed by construction (area filter)"]
    assert removed["count"] is None and removed["note"].startswith("not recorded")
    assert "not recorded" in (out / "report.html").read_text()


def test_report_shows_the_lower_bound(work) -> None:
    from cosearch.arch.hwspace import load_hw_space
    from cosearch.codesign.bounds import network_edp_bound

    rows = {r["statistic"]: r for r in table(work["bo_out"] / "report", "constraints")}
    row = rows["network EDP lower bound, any design within the budget"]
    cfg = Storage(work["url"]).load_study("bo-s0").config
    bound = network_edp_bound(load_workload("dqn"), load_hw_space("eyeriss-like"), cfg["area_budget_mm2"])
    assert row["note"].startswith(f"{bound.edp:.4e} pJ·cycles")
    bo = last_json(work["bo"].stdout)
    assert bound.edp <= bo["best"]["edp"]
    assert f"{bound.edp / bo['baseline']['edp']:.3f}×" in row["note"]
    # the convergence figure draws it (plotly spec and caption)
    assert "lower bound, any design within the budget" in (work["bo_out"] / "report" / "report.html").read_text()


# ---------------------------------------------------------------------------------------------------
# the page


class _Tags(HTMLParser):
    """Collects the page's elements (script contents are data to the parser, not tags)."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs) -> None:
        self.tags.append((tag, dict(attrs)))


def test_html_is_self_contained(work) -> None:
    text = (work["cmp_out"] / "report.html").read_text()
    parser = _Tags()
    parser.feed(text)
    scripts = [a for t, a in parser.tags if t == "script"]
    assert scripts and all("src" not in a for a in scripts)  # plotly.js and the figures are inline
    external = [(t, a) for t, a in parser.tags if t in ("link", "img", "iframe") and
                any(str(v).startswith(("http:", "https:", "//")) for v in a.values())]
    assert external == []
    assert text.count("Plotly.newPlot") >= len(COMPARE_FIGURES)
    for fig in COMPARE_FIGURES:
        assert f'id="fig-{fig}"' in text
    assert "Loop nests of the best mappings" in text and "for " in text


def _chromium() -> tuple[str, str]:
    """Paths of chromium and chromedriver with selenium importable; skip (fail under CI=true) if not."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    has_selenium = importlib.util.find_spec("selenium") is not None
    if browser and driver and has_selenium:
        return browser, driver
    missing = [name for name, ok_ in (("chromium", browser), ("chromedriver (chromium-driver)", driver),
                                      ("the selenium package", has_selenium)) if not ok_]
    reason = f"headless Chromium check needs {', '.join(missing)} (.ci/run installs them)"
    if os.environ.get("CI") == "true":
        pytest.fail(reason)
    pytest.skip(reason)


ERROR_HOOK = """
window.__reportErrors = [];
window.addEventListener('error', e => window.__reportErrors.push(String(e.message || e)));
window.addEventListener('unhandledrejection', e => window.__reportErrors.push(String(e.reason)));
"""

FIGURE_STATE = """
return Array.from(document.querySelectorAll('.cosearch-figure')).map(box => {
  const div = box.querySelector('.plotly-graph-div');
  const rect = div ? div.getBoundingClientRect() : {width: 0, height: 0};
  return {id: box.dataset.figure, plot: div ? div.id : null, svgs: box.querySelectorAll('.main-svg').length,
          traces: box.querySelectorAll('g.trace').length, width: rect.width, height: rect.height};
});
"""


def test_page_renders_in_headless_chromium(work, tmp_path) -> None:
    browser, driver_path = _chromium()
    from PIL import Image
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    os.environ.setdefault("SE_OFFLINE", "true")  # never let selenium look for drivers online
    options = webdriver.ChromeOptions()
    options.binary_location = browser
    profile = tempfile.mkdtemp(prefix="chromium-profile-", dir=tmp_path)
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", f"--user-data-dir={profile}", "--window-size=1400,1000"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    try:
        driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": ERROR_HOOK})
        driver.get((work["cmp_out"] / "report.html").resolve().as_uri())
        deadline = time.monotonic() + 30
        while True:
            state = driver.execute_script(FIGURE_STATE)
            if len(state) == len(COMPARE_FIGURES) and all(f["svgs"] > 0 and f["traces"] > 0 for f in state):
                break
            assert time.monotonic() < deadline, f"figures not drawn: {state}"
            time.sleep(0.2)
        assert {f["id"] for f in state} == COMPARE_FIGURES
        for f in state:
            assert f["plot"] == f"fig-{f['id']}" and f["width"] > 500 and f["height"] > 300, f
        assert driver.execute_script("return typeof window.Plotly") == "object"
        errors = driver.execute_script("return window.__reportErrors")
        assert errors == [], errors
        try:
            logs = driver.get_log("browser")
        except Exception:  # noqa: BLE001 - a driver without the log endpoint: the hook above still ran
            logs = []
        severe = [entry for entry in logs if entry.get("level") == "SEVERE"]
        assert severe == [], severe
        # the whole page, beyond the window
        size = driver.execute_cdp_cmd("Page.getLayoutMetrics", {})["cssContentSize"]
        shot = driver.execute_cdp_cmd("Page.captureScreenshot", {
            "format": "png", "captureBeyondViewport": True,
            "clip": {"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1}})
    finally:
        driver.quit()
    png = base64.b64decode(shot["data"])
    (tmp_path / "page.png").write_bytes(png)
    with Image.open(io.BytesIO(png)) as img:
        assert img.height > 3000  # every section, not just the first screen
        colours = img.convert("RGB").getcolors(maxcolors=1 << 22)
        assert colours is not None and len(colours) > 200, None if colours is None else len(colours)
        # not blank: no single colour covers (nearly) everything
        assert max(n for n, _ in colours) < 0.97 * img.width * img.height


def test_codesign_directory_whose_store_moved(work, tmp_path) -> None:
    """A copied codesign out directory: its results.json names a store that is gone, so the report reads
    the studies.db beside it."""
    moved = tmp_path / "moved"
    shutil.copytree(work["bo_out"], moved, ignore=shutil.ignore_patterns("report"))
    results = json.loads((moved / "results.json").read_text())
    results["storage"] = f"sqlite:///{tmp_path / 'gone' / 'studies.db'}"
    (moved / "results.json").write_text(json.dumps(results))
    res = ok(run("report", moved, "--json"))
    assert last_json(res.stdout)["html"] == str(moved / "report" / "report.html")
    src = manifest(moved / "report")["sources"][0]
    assert src["study"] == "bo-s0" and str(moved / "studies.db") in src["storage"]
    assert table(moved / "report", "designs") == [r for r in table(work["bo_out"] / "report", "designs")]


def test_a_failing_report_does_not_fail_the_run(tmp_path, monkeypatch) -> None:
    import cosearch.report.build as build

    def broken(*args, **kwargs):
        raise RuntimeError("figure machinery broke")

    monkeypatch.setattr(build, "build_report", broken)
    res = ok(run("map", "-a", "eyeriss-168", "--shape", "K=16 C=16 P=8 Q=8 R=3 S=3", "-n", "50",
                 "--out", tmp_path / "m", "--json"))
    warnings = [line for line in res.stderr.splitlines() if line.startswith("warning: no report written")]
    assert len(warnings) == 1 and "figure machinery broke" in warnings[0]
    assert (tmp_path / "m" / "results.json").is_file() and not (tmp_path / "m" / "report").exists()


# ---------------------------------------------------------------------------------------------------
# errors: one line, exit 2


def test_missing_study(work) -> None:
    assert_user_error(run("report", "no-such-study", "--storage", work["url"]), "no study named 'no-such-study'")


def test_empty_study(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    Storage(url).create_study("empty", {"workloads": ["dqn"]})
    assert_user_error(run("report", "empty", "--storage", url, "--out", tmp_path / "r"), "empty", "no trials")
    assert not (tmp_path / "r").exists()


def test_directory_without_results(tmp_path) -> None:
    (tmp_path / "d").mkdir()
    assert_user_error(run("report", tmp_path / "d"), "no results.json")
    (tmp_path / "d" / "results.json").write_text('{"hello": 1}')
    assert_user_error(run("report", tmp_path / "d"), "not the results of cosearch map")


@pytest.mark.parametrize("kind", ["missing-file", "not-a-database", "unknown-dialect"])
def test_unreadable_storage(tmp_path, kind) -> None:
    if kind == "missing-file":
        url, needle = f"sqlite:///{tmp_path / 'none.db'}", "no study store"
    elif kind == "not-a-database":
        (tmp_path / "junk.db").write_text("this is not SQLite\n" * 100)
        url, needle = f"sqlite:///{tmp_path / 'junk.db'}", "cannot open storage URL"
    else:
        url, needle = "nosuchdb://host/x", "cannot open storage URL"
    assert_user_error(run("report", "some-study", "--storage", url), needle)


def test_study_layers_come_from_the_stored_workload(tmp_path) -> None:
    """A study of a workload file that is gone since: the copy stored in its config still gives the
    repeat counts of its layers (the file name alone would not)."""
    from types import SimpleNamespace

    from cosearch.report.sources.study import _study_layers
    from cosearch.workload.io import network_to_data
    from cosearch.workload.layer import Layer, Network

    net = Network(name="twice", layers=[Layer(name="a", K=8, C=4, P=6, Q=6, R=3, S=3, count=2),
                                        Layer(name="b", K=16, C=8, P=3, Q=3)])
    config = {"workloads": [str(tmp_path / "gone.yaml")], "workload_data": [network_to_data(net)]}
    layers, notes = _study_layers(config, [SimpleNamespace(layers=[])])
    assert notes == []
    assert {key: count for key, _, count in layers} == {"twice/a": 2, "twice/b": 1}
    without = {"workloads": [str(tmp_path / "gone.yaml")]}
    _, notes = _study_layers(without, [SimpleNamespace(layers=[])])
    assert notes and "could not be loaded" in notes[0]
