"""``cosearch codesign``, ``cosearch study list|show|export`` and ``cosearch demo``: the JSON document,
the files written, the study views, and one-line errors (exit 2) on bad input. Tiny budgets."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from conftest import assert_user_error, last_json, ok, run
from cosearch import evaluate, load_arch, load_mapping, load_workload
from cosearch.arch.hwspace import load_hw_space
from cosearch.arch.templates.eyeriss import EYERISS_168
from cosearch.codesign.budget import eyeriss168_area
from cosearch.codesign.driver import Codesign
from cosearch.mapping.mapping import Mappings

SMALL = ["--workload", "dqn", "--hw-budget", "4", "--hw-batch", "2", "--mapper-budget", "100", "--seed", "1"]
SUMMARY_KEYS = {"arch", "energy_pj", "cycles", "edp", "area_mm2", "layers"}


@pytest.fixture(scope="module")
def study_run(tmp_path_factory) -> tuple[dict, Path]:
    """One small ``codesign --json`` run: (stdout JSON, out dir); the store is out/studies.db."""
    out = tmp_path_factory.mktemp("cd") / "out"
    result = ok(run("codesign", *SMALL, "--study", "small", "--out", out, "--json"))
    assert len(result.stdout.strip().splitlines()) == 1  # --json: one line on stdout
    return last_json(result.stdout), out


def store_of(out: Path) -> str:
    return f"sqlite:///{out / 'studies.db'}"


# ---------------------------------------------------------------------------------------------------
# codesign


def test_codesign_json_schema(study_run) -> None:
    data, out = study_run
    assert {"best", "baseline", "baseline_rs", "edp_ratio", "edp_ratio_rs", "trials", "seconds"} <= set(data)
    assert data["study"] == "small" and data["trials"] == 4 and data["seconds"] > 0
    assert data["storage"] == store_of(out)
    for key in ("best", "baseline", "baseline_rs"):
        s = data[key]
        assert SUMMARY_KEYS <= set(s), key
        assert s["edp"] == pytest.approx(s["energy_pj"] * s["cycles"])
        assert set(s["layers"]) == {f"dqn/{l.name}" for l in load_workload("dqn").layers}
        assert all(r["mapping"] and r["energy_pj"] > 0 for r in s["layers"].values())
    assert data["baseline"]["arch"] == EYERISS_168
    best = data["best"]
    assert set(best["arch"]) == set(EYERISS_168)
    assert best["area_mm2"] <= eyeriss168_area(load_hw_space("eyeriss-like")) + 1e-9
    assert data["edp_ratio"] == pytest.approx(best["edp"] / data["baseline"]["edp"])
    assert data["edp_ratio_rs"] == pytest.approx(best["edp"] / data["baseline_rs"]["edp"])
    # the lower bound for any design within the budget: below the best found, same units
    bound = data["bound"]
    assert bound["edp"] == pytest.approx(bound["energy_pj"] * bound["cycles"])
    assert bound["energy_pj"] <= best["energy_pj"] and bound["cycles"] <= best["cycles"]
    assert 0 < data["edp_ratio_bound"] <= data["edp_ratio"]
    assert data["edp_ratio_bound"] == pytest.approx(bound["edp"] / data["baseline"]["edp"])


def test_codesign_files(study_run) -> None:
    data, out = study_run
    results = json.loads((out / "results.json").read_text())
    assert results["status"] == "complete"
    assert results["best"] == data["best"] and results["trials"] == 4
    assert [h["number"] for h in results["history"]] == [0, 1, 2, 3]
    assert results["config"]["hw_budget"] == 4 and results["config"]["seed"] == 1
    # the best design's arch file and mappings reproduce the reported per-layer costs exactly
    arch = load_arch(out / "best-arch.yaml")
    assert arch.area_mm2 == pytest.approx(data["best"]["area_mm2"], rel=1e-12)
    net = load_workload("dqn")
    assert set(data["files"]["mappings"]) == {f"dqn/{l.name}" for l in net.layers}
    for layer in net.layers:
        path = out / "mappings" / "dqn" / f"{layer.name}.json"
        assert data["files"]["mappings"][f"dqn/{layer.name}"] == f"mappings/dqn/{layer.name}.json"
        costs = evaluate(arch, layer, Mappings.from_list([load_mapping(path)], arch))
        want = data["best"]["layers"][f"dqn/{layer.name}"]
        assert bool(costs.valid[0])
        assert float(costs.energy_pj[0]) == pytest.approx(want["energy_pj"], rel=1e-12)
        assert float(costs.cycles[0]) == want["cycles"]
    # ... and through the CLI
    conv1 = ok(run("eval", "--arch", out / "best-arch.yaml", "--workload", "dqn", "--layer", "conv1",
                   "--mapping", out / "mappings" / "dqn" / "conv1.json", "--json"))
    assert last_json(conv1.stdout)["energy_pj"] == pytest.approx(data["best"]["layers"]["dqn/conv1"]["energy_pj"])


def test_codesign_resume_and_table(study_run) -> None:
    """--resume of a finished study: no new trials, the same best; the text view prints the summary."""
    data, out = study_run
    result = ok(run("codesign", *SMALL, "--study", "small", "--out", out, "--resume"))
    text = result.stdout
    for needle in ("best design", "eyeriss-168 (auto)", "eyeriss-168 (RS)", "mesh x",
                   "Study small", "best-arch.yaml"):
        assert needle in text, needle
    assert "resuming study small (4 trials done)" in result.stderr
    again = json.loads((out / "results.json").read_text())
    assert again["best"] == data["best"] and again["trials"] == 4


def test_area_budget_presets() -> None:
    space = load_hw_space("eyeriss-like")
    cd = Codesign([load_workload("dqn")], hw_space=space, storage="sqlite://", study="x")
    assert eyeriss168_area(space) == cd.baseline_area


# ---------------------------------------------------------------------------------------------------
# study list / show / export


def test_study_list(study_run) -> None:
    _, out = study_run
    rows = last_json(ok(run("study", "list", "--storage", store_of(out), "--json")).stdout)
    assert [r["name"] for r in rows] == ["small"]
    row = rows[0]
    assert row["trials"] == 4 and row["states"]["complete"] == 4 and row["workloads"] == ["dqn"]
    assert row["optimizer"] == "bo" and row["objective"] == "edp" and row["best_value"] > 0
    text = ok(run("study", "list", "--storage", store_of(out))).stdout
    assert "small" in text and "4/4" in text


def test_study_list_missing_store_is_empty(tmp_path: Path) -> None:
    missing = tmp_path / "none.db"
    assert last_json(ok(run("study", "list", "--storage", f"sqlite:///{missing}", "--json")).stdout) == []
    assert not missing.exists()  # reading never creates a store


def test_study_show(study_run) -> None:
    data, out = study_run
    doc = last_json(ok(run("study", "show", "small", "--storage", store_of(out), "--json")).stdout)
    assert doc["study"]["name"] == "small" and doc["study"]["config"]["hw_budget"] == 4
    assert doc["best"] == data["best"]["trial"]
    assert [t["number"] for t in doc["trials"]] == [0, 1, 2, 3]
    assert all(t["state"] == "complete" and "values" in t["hw_params"] for t in doc["trials"])
    text = ok(run("study", "show", "small", "--storage", store_of(out))).stdout
    assert "Trials" in text and "area budget" in text and "*" in text


def test_study_export(study_run, tmp_path: Path) -> None:
    _, out = study_run
    doc = json.loads(ok(run("study", "export", "small", "--storage", store_of(out))).stdout)
    assert doc["format"] == "cosearch-study" and len(doc["trials"]) == 4
    assert all(len(t["layers"]) == 5 for t in doc["trials"])
    rows = list(csv.DictReader(io.StringIO(
        ok(run("study", "export", "small", "--format", "csv", "--storage", store_of(out))).stdout)))
    assert [r["number"] for r in rows] == ["0", "1", "2", "3"] and "hw.values.mesh_x" in rows[0]
    target = tmp_path / "layers.csv"
    ok(run("study", "export", "small", "--format", "csv", "--layers", "--out", target, "--storage", store_of(out)))
    rows = list(csv.DictReader(target.open()))
    assert len(rows) == 20 and {r["layer"] for r in rows} == {f"dqn/{l.name}" for l in load_workload("dqn").layers}


# ---------------------------------------------------------------------------------------------------
# demo


def test_demo_small(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    result = ok(run("demo", "--hw-budget", "2", "--mapper-budget", "100", "--out", out, "--json"))
    data = last_json(result.stdout)
    assert data["study"].startswith("demo-") and data["trials"] == 2 and data["out"] == str(out)
    assert (out / "results.json").exists() and (out / "best-arch.yaml").exists() and (out / "studies.db").exists()


# ---------------------------------------------------------------------------------------------------
# bad input: exit 2, one line, no traceback


def _space_file(tmp_path: Path, name: str, mesh_x: str) -> Path:
    path = tmp_path / name
    path.write_text(
        "name: bad\ntemplate: eyeriss\nparams:\n"
        f"  mesh_x: {mesh_x}\n"
        "  mesh_y: {low: 2, high: 4}\n"
        "  glb_kb: {low: 8, high: 16, scale: log2}\n"
        "  glb_bandwidth: {low: 4, high: 8, scale: log2}\n"
        "  weights_spad_words: {low: 16, high: 32, scale: log2}\n"
        "  ifmap_spad_words: {low: 4, high: 8, scale: log2}\n"
        "  psum_spad_words: {low: 4, high: 8, scale: log2}\n"
    )
    return path


BAD = [
    (["--area-budget", "0.1"], ["area budget 0.100 mm²", "below the smallest design"]),
    (["--area-budget", "huge"], ["--area-budget", "'huge'"]),
    (["--area-budget", "-3"], ["--area-budget must be a positive number"]),
    (["--hw-space", "INVERTED"], ["inverted.yaml", "inverted range"]),
    (["--hw-space", "EMPTY"], ["empty.yaml", "empty range"]),
    (["--hw-space", "nospace"], ["unknown hardware space 'nospace'"]),
    (["--workload", "nonet"], ["unknown workload 'nonet'"]),
    (["--workload", "dqn,dqn"], ["twice"]),
    (["--storage", "sqlite:///AFILE/x.db"], ["cannot open storage URL"]),
    (["--storage", "nodb://x"], ["cannot open storage URL"]),
    (["--optimizer", "sa"], ["unknown hardware optimizer 'sa'"]),
    (["--objective", "throughput"], ["unknown objective 'throughput'"]),
    (["--objective", "ednp:x"], ["unknown objective 'ednp:x'"]),
    (["--hw-budget", "0"], ["--hw-budget must be at least 1"]),
    (["--hw-budget", "-2"], ["--hw-budget must be at least 1"]),
    (["--mapper", "nope"], ["--mapper", "unknown optimizer 'nope'"]),
    (["--mapper-budget", "0"], ["--mapper-budget"]),
]


@pytest.mark.parametrize("extra,needles", BAD, ids=[" ".join(a) for a, _ in BAD])
def test_codesign_bad_input(tmp_path: Path, extra: list[str], needles: list[str]) -> None:
    afile = tmp_path / "afile"
    afile.write_text("not a directory")
    subs = {"INVERTED": str(_space_file(tmp_path, "inverted.yaml", "{low: 8, high: 2}")),
            "EMPTY": str(_space_file(tmp_path, "empty.yaml", "{low: 2.2, high: 2.8}")),
            "sqlite:///AFILE/x.db": f"sqlite:///{afile}/x.db"}
    args = [subs.get(a, a) for a in extra]
    out = tmp_path / "out"
    result = run("codesign", *SMALL, "--out", out, *args)  # later options win over SMALL's
    assert_user_error(result, *needles)
    assert not (out / "results.json").exists()  # rejected before any work


def test_codesign_existing_study_needs_resume(study_run) -> None:
    _, out = study_run
    assert_user_error(run("codesign", *SMALL, "--study", "small", "--out", out), "study 'small' already exists",
                      "--resume")


@pytest.mark.parametrize("args,needles", [
    (["study", "show", "nope"], ["no study named 'nope'"]),
    (["study", "export", "nope"], ["no study named 'nope'"]),
    (["study", "export", "small", "--format", "xml"], ["unknown export format 'xml'"]),
])
def test_study_bad_input(study_run, args: list[str], needles: list[str]) -> None:
    _, out = study_run
    assert_user_error(run(*args, "--storage", store_of(out)), *needles)


def test_study_missing_store(tmp_path: Path) -> None:
    missing = tmp_path / "none.db"
    assert_user_error(run("study", "show", "x", "--storage", f"sqlite:///{missing}"), "no study store at")
    assert not missing.exists()


# ---------------------------------------------------------------------------------------------------
# technology, DRAM, clock, power and latency (issue #14)

def test_codesign_physical_options_json(tmp_path) -> None:
    out = tmp_path / "phys"
    data = last_json(ok(run("codesign", *SMALL, "--technology", "22nm", "--dram", "HBM2", "--dram-gbps", "256",
                            "--clock-mhz", "400", "--objective", "latency", "--out", out, "--json",
                            "--no-report")).stdout)
    for key in ("best", "baseline", "baseline_rs"):
        phys = data[key]["physical"]
        assert phys["technology"] == "22nm" and phys["scaled"] and phys["dram"] == "HBM2"
        assert phys["clock_mhz"] == 400.0 and phys["dram_gbps"] == pytest.approx(256.0)
        assert phys["latency_s"] == pytest.approx(data[key]["cycles"] / 400e6)
        assert phys["energy_uj"] == pytest.approx(data[key]["energy_pj"] * 1e-6)
        assert phys["power_mw"] > 0 and phys["area_mm2"] == pytest.approx(data[key]["area_mm2"])
    cfg = json.loads((out / "results.json").read_text())["config"]
    assert cfg["hw_space"]["estimator"] == "cacti-22nm" and cfg["objective"] == "latency"


def test_codesign_default_has_physical_units_at_200_mhz(study_run) -> None:
    data, _ = study_run
    phys = data["best"]["physical"]
    assert phys["technology"] == "65nm" and not phys["scaled"] and phys["dram"] == "LPDDR4"
    assert phys["clock_default"] and phys["clock_mhz"] == 200.0
    assert phys["latency_ms"] == pytest.approx(data["best"]["cycles"] / 200e3)


def test_codesign_power_budget_makes_designs_infeasible(tmp_path) -> None:
    result = run("codesign", *SMALL, "--power-budget", "1e-9", "--out", tmp_path / "p", "--no-report")
    assert result.exit_code == 2 and "no valid hardware point" in result.stderr and "power budget" in result.stderr
    trials = json.loads((tmp_path / "p" / "results.json").read_text())
    assert trials["best"] is None
    ok(run("codesign", *SMALL, "--latency-target", "10", "--out", tmp_path / "l", "--json", "--no-report"))


@pytest.mark.parametrize("args, needle", [
    (["--technology", "5nm"], "unknown technology node"),
    (["--dram", "GDDR6"], "unknown DRAM type"),
    (["--clock-mhz", "5000"], "above the SRAM limit"),
    (["--technology", "22nm", "--hw-space", "paper"], "needs a cacti"),
    (["--power-budget", "-1"], "--power-budget"),
    (["--latency-target", "0"], "--latency-target"),
])
def test_codesign_bad_physical_input(tmp_path, args, needle) -> None:
    assert_user_error(run("codesign", *SMALL, *args, "--out", tmp_path / "bad"), needle)


def test_eval_json_has_physical_units(study_run, tmp_path) -> None:
    _, out = study_run
    arch = out / "best-arch.yaml"
    mapping = next((out / "mappings" / "dqn").glob("*.json"))
    data = last_json(ok(run("eval", "--arch", arch, "--workload", "dqn", "--layer", mapping.stem, "--mapping", mapping,
                            "--json")).stdout)
    phys = data["physical"]
    assert phys["technology"] == "65nm" and phys["clock_mhz"] == 200.0
    assert phys["latency_s"] == pytest.approx(data["cycles"] / 200e6) and phys["power_mw"] > 0
    assert phys["area_mm2"] > 0
