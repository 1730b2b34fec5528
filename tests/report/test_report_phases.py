"""The report of an LLM mapping run: a phases table (DRAM share, per token) equal to the run's own
per-phase totals, and the element ops; neither table for a workload without them."""

from __future__ import annotations

import json

import pytest

from cosearch.mappers.network import map_network
from cosearch.report import report_from_args

TINY = "decoder:layers=2,d_model=64,heads=4,kv_heads=2,ffn=128,vocab=100,phase=both,seq=8"


def test_phases_and_element_ops_tables(tmp_path) -> None:
    run = map_network("eyeriss-168", TINY, budget=150, out_dir=tmp_path / "run")
    report = report_from_args([str(tmp_path / "run")], out=tmp_path / "report")
    tables = tmp_path / "report" / "tables"
    rows = json.loads((tables / "phases.json").read_text())
    assert [r["phase"] for r in rows] == ["prefill", "decode"]
    for row in rows:
        mine = run.phase_totals[row["phase"]]
        assert row["dram_share"] == pytest.approx(mine["dram_share"])
        assert row["energy_per_token_pj"] == pytest.approx(mine["per_token"]["energy_pj"])
        assert row["tokens"] == mine["tokens"]
    ops = json.loads((tables / "element_ops.json").read_text())
    assert {r["phase"] for r in ops} == {"prefill", "decode"} and any(r["op"] == "softmax" for r in ops)
    html = (tmp_path / "report" / "report.html").read_text()
    assert "<h2>Phases</h2>" in html and "Element ops (not costed)" in html
    assert report is not None


def test_no_phase_tables_for_other_workloads(tmp_path) -> None:
    map_network("eyeriss-168", "dqn", budget=100, out_dir=tmp_path / "run")
    report_from_args([str(tmp_path / "run")], out=tmp_path / "report")
    tables = tmp_path / "report" / "tables"
    assert not (tables / "phases.json").exists() and not (tables / "element_ops.json").exists()
    assert "<h2>Phases</h2>" not in (tmp_path / "report" / "report.html").read_text()
