"""Smoke test of ``benchmarks/codesign_world.py`` (issue #14): two configurations and a space that is
not registered, on a tiny workload with a few points; the JSON has every field, in finite numbers,
and the figure files exist."""

from __future__ import annotations

import importlib.util
import json
import math
import sys
from pathlib import Path

import pytest

from conftest import REPO


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("codesign_world", REPO / "benchmarks" / "codesign_world.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["codesign_world"] = module  # its dataclasses look their module up
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        sys.modules.pop("codesign_world", None)


def _finite(x) -> bool:
    return isinstance(x, (int, float)) and math.isfinite(x)


def test_two_configs_and_a_missing_space(bench, tmp_path, monkeypatch, capsys) -> None:
    missing = bench.Config("nowhere", "no-such-space", "a template not merged yet")
    monkeypatch.setattr(bench, "CONFIGS", [*bench.CONFIGS, missing])
    res = bench.main(["--workloads", "mlp", "--configs", "base,int8,nowhere", "--hw-budget", "2", "--hw-batch", "2",
                      "--mapper-budget", "60", "--jobs", "1", "--out", str(tmp_path)])
    err = capsys.readouterr().err
    assert "skipping nowhere on mlp: hardware space 'no-such-space' is not registered" in err
    assert "best/bound" in err and "EDP/base" in err  # the table
    assert json.loads((tmp_path / "codesign_world.json").read_text())["results"] == json.loads(json.dumps(res["results"]))
    base, int8, skipped = res["results"]
    assert skipped == {"workload": "mlp", "config": "nowhere", "label": missing.label, "space": "no-such-space",
                       "status": "skipped", "reason": skipped["reason"]}
    assert res["area_budget_mm2"] == pytest.approx(12.3135, abs=1e-4)  # eyeriss-168 at 65 nm, 16-bit
    for r in (base, int8):
        assert r["status"] == "ok" and r["area_budget_mm2"] == res["area_budget_mm2"] and r["trials"] == 2
        for design in ("best", "reference"):
            d = r[design]
            for key in ("energy_mj", "dynamic_energy_mj", "latency_ms", "power_mw", "area_mm2", "throughput_ips",
                        "edp_mj_ms", "edp"):
                assert _finite(d[key]) and d[key] > 0, (design, key)
            assert d["energy_mj"] >= d["dynamic_energy_mj"]  # plus leakage
            assert d["edp_mj_ms"] == pytest.approx(d["energy_mj"] * d["latency_ms"])
            assert d["energy_mj"] == pytest.approx(d["power_mw"] * d["latency_ms"] * 1e-3)
        assert r["best"]["area_mm2"] <= r["area_budget_mm2"]
        for key in ("edp_ratio", "edp_ratio_mj_ms", "edp_ratio_base", "edp_ratio_bound", "bound_gap"):
            assert _finite(r[key]) and r[key] > 0, key
        assert r["bound_gap"] >= 1.0 - 1e-9  # no design beats its space's bound
        assert r["bound_gap"] == pytest.approx(r["best"]["edp"] / r["bound"]["edp"])
        assert r["within_goal"] == (r["bound_gap"] <= bench.GOAL)
        assert _finite(r["bound"]["latency_ms"]) and _finite(r["bound"]["dynamic_energy_mj"])
        assert Path(r["run_dir"], "results.json").is_file()
    assert base["edp_ratio_base"] == pytest.approx(base["edp_ratio_mj_ms"])  # its reference is the base
    assert int8["settings"] == {"precision": "int8"} and int8["best"]["dram"] == "LPDDR4"
    assert set(res["summary"]) == {"base", "int8", "nowhere"} and res["summary"]["nowhere"]["status"] == "skipped"
    files = res["figures"]["mlp"]
    assert Path(files["png"]).stat().st_size > 10_000 and Path(files["svg"]).is_file()


def test_unknown_config_is_one_error(bench) -> None:
    from cosearch.errors import CosearchError

    with pytest.raises(CosearchError, match="--configs: unknown bogus"):
        bench.select_configs("base,bogus")
