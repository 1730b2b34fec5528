"""The CLI on LLM workloads: parametric names, ``hf:`` configs, element ops in ``workload show``,
per-phase totals in ``map`` (absent for other workloads), bad input as one-line errors."""

from __future__ import annotations

import json

import pytest

from conftest import assert_user_error, last_json, ok, run
from cosearch import load_workload

TINY = "decoder:layers=2,d_model=64,heads=4,kv_heads=2,ffn=128,vocab=100"


def test_workload_show_lists_ops_and_phases() -> None:
    data = last_json(ok(run("workload", "show", f"{TINY},phase=decode,kv_len=16,batch=2", "--json")).stdout)
    net = load_workload(f"{TINY},phase=decode,kv_len=16,batch=2")
    assert data["totals"]["macs"] == net.macs
    assert data["phases"] == [{"name": "decode", "tokens": 2, "layers": [l.name for l in net]}]
    assert data["totals"]["op_dram_words"] == sum(op.dram_words * op.count for op in net.ops)
    assert data["totals"]["embedding_weight_words"] == 100 * 64
    assert {op["op"] for op in data["ops"]} >= {"softmax", "rmsnorm", "rotary", "silu_mul", "add", "embedding"}
    text = ok(run("workload", "show", f"{TINY},phase=decode")).stdout
    assert "element ops, not costed" in text and "phases: decode" in text


def test_workload_show_of_an_old_workload_has_no_new_keys() -> None:
    data = last_json(ok(run("workload", "show", "dqn", "--json")).stdout)
    assert "ops" not in data and "phases" not in data and "op_dram_words" not in data["totals"]


def test_workload_show_hf_gpt2() -> None:
    pytest.importorskip("transformers")
    data = last_json(ok(run("workload", "show", "hf:gpt2:seq=16", "--json")).stdout)
    assert data["totals"]["macs"] == load_workload("gpt2:seq=16").macs
    assert data["not_costed"] and any(op["op"] == "softmax" for op in data["ops"])


def test_map_splits_totals_per_phase(tmp_path) -> None:
    out = tmp_path / "run"
    data = last_json(ok(run("map", "-a", "eyeriss-168", "-w", f"{TINY},phase=both,seq=8,batch=2", "-n", "200",
                            "--out", out, "--json", "--no-report")).stdout)
    phases = data["phases"]
    assert list(phases) == ["prefill", "decode"]
    layers = {l["name"]: l for l in data["layers"]}
    for name, phase in phases.items():
        mine = [l for n, l in layers.items() if n.startswith(f"{name}.")]
        assert phase["energy_pj"] == pytest.approx(sum(l["energy_pj"] * l["count"] for l in mine))
        assert phase["cycles"] == sum(l["cycles"] * l["count"] for l in mine)
        assert phase["macs"] == sum(l["macs"] * l["count"] for l in mine)
        assert 0 < phase["dram_share"] < 1
        assert phase["per_token"]["energy_pj"] == pytest.approx(phase["energy_pj"] / phase["tokens"])
    assert phases["prefill"]["tokens"] == 16 and phases["decode"]["tokens"] == 2
    assert data["total"]["energy_pj"] == pytest.approx(phases["prefill"]["energy_pj"] + phases["decode"]["energy_pj"])
    assert json.loads((out / "results.json").read_text())["phases"] == phases


def test_map_of_an_old_workload_has_no_phases(tmp_path) -> None:
    data = last_json(ok(run("map", "-a", "eyeriss-168", "-w", "dqn", "-l", "fc_out", "-n", "100",
                            "--out", tmp_path, "--json", "--no-report")).stdout)
    assert "phases" not in data


@pytest.mark.parametrize("workload, needles", [
    ("llama3-8b:colour=red", ("unknown parameter 'colour'",)),
    ("decoder:layers=1,d_model=10,heads=3,ffn=8,vocab=8", ("heads=3 does not divide d_model=10",)),
    ("decoder:layers=1,d_model=12,heads=4,kv_heads=3,ffn=8,vocab=8", ("kv_heads=3 does not divide heads=4",)),
])
def test_bad_llm_names_exit_2(workload: str, needles: tuple[str, ...]) -> None:
    assert_user_error(run("workload", "show", workload), *needles)
    assert_user_error(run("map", "-a", "eyeriss-168", "-w", workload, "-n", "10", "--json"), *needles)


def test_hf_remote_code_exits_2(tmp_path) -> None:
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"model_type": "llama", "auto_map": {"AutoModelForCausalLM": "m.M"}}))
    assert_user_error(run("workload", "show", f"hf:{config}"), "remote code")


def test_codesign_reports_the_phases_with_their_dram_share(tmp_path) -> None:
    """A small co-design on a decode workload: the best design and both baselines carry per-phase totals
    (DRAM energy from re-evaluating their mappings), and the report's phases table agrees with them."""
    out = tmp_path / "cd"
    workload = f"{TINY},phase=decode,kv_len=32,batch=4"
    ok(run("codesign", "-w", workload, "--hw-budget", "2", "--hw-batch", "2", "--mapper-budget", "100",
           "--out", out, "--json"))
    results = json.loads((out / "results.json").read_text())
    best = results["best"]["per_phase"]["decode"]
    assert best["tokens"] == 4 and 0 < best["dram_share"] < 1
    assert best["energy_pj"] == pytest.approx(results["best"]["energy_pj"])
    assert best["per_token"]["cycles"] == pytest.approx(results["best"]["cycles"] / 4)
    assert "decode" in results["baseline"]["per_phase"]
    rows = json.loads((out / "report" / "tables" / "phases.json").read_text())
    best_row = next(r for r in rows if r["role"] == "best")
    assert best_row["dram_share"] == pytest.approx(best["dram_share"])
    assert {r["role"] for r in rows} == {"best", "baseline", "baseline_rs"}
    html = (out / "report" / "report.html").read_text()
    assert "DRAM share" in html and "Element ops (not costed)" in html
