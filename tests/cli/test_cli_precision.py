"""``--precision`` on the commands that choose hardware: word widths change the costs, bad widths are
one-line errors (exit 2)."""

from __future__ import annotations

import json

import pytest

from conftest import REPO, assert_user_error, last_json, ok, run

MAPPING = REPO / "examples" / "mappings" / "eyeriss168_resnet_conv3x3.json"
SHAPE = "N=1 K=64 C=64 P=56 Q=56 R=3 S=3"
SMALL = ["--workload", "dqn", "--hw-budget", "2", "--hw-batch", "2", "--mapper-budget", "50", "--seed", "1",
         "--no-report", "--json"]


def test_eval_precision_changes_bits_not_words() -> None:
    base = last_json(ok(run("eval", "-a", "eyeriss-168", "--shape", SHAPE, "-m", MAPPING, "--json")).stdout)
    same = last_json(ok(run("eval", "-a", "eyeriss-168", "--shape", SHAPE, "-m", MAPPING, "--json",
                            "--precision", "int16")).stdout)
    int8 = last_json(ok(run("eval", "-a", "eyeriss-168", "--shape", SHAPE, "-m", MAPPING, "--json",
                            "--precision", "W8/I8/O16")).stdout)
    assert same == base
    assert int8["energy_pj"] < base["energy_pj"]
    assert int8["cycles"] == base["cycles"]


@pytest.mark.parametrize("value, needle", [("int7", "unknown precision 'int7'"), ("W8/I8/O99", "Outputs width 99")])
def test_eval_and_map_bad_precision(value, needle) -> None:
    assert_user_error(run("eval", "-a", "eyeriss-168", "--shape", SHAPE, "-m", MAPPING, "--precision", value), needle)
    assert_user_error(run("map", "-a", "eyeriss-168", "--shape", SHAPE, "-n", "10", "--precision", value), needle)


def test_codesign_bad_precision(tmp_path) -> None:
    assert_user_error(run("codesign", *SMALL, "--precision", "fp8", "--out", tmp_path / "bad"), "unknown precision")


def test_codesign_int8_runs_and_records_its_precision(tmp_path) -> None:
    out = tmp_path / "int8"
    data = last_json(ok(run("codesign", *SMALL, "--precision", "int8", "--out", out)).stdout)
    assert data["best"] is not None
    assert "Outputs: 32" in (out / "best-arch.yaml").read_text()
    assert json.loads((out / "results.json").read_text())["config"]["hw_space"]["precision"] == "int8"


def test_codesign_int8_best_arch_round_trips_through_eval(tmp_path) -> None:
    """The best design's arch file carries its widths: eval costs its mapping as the run did."""
    out = tmp_path / "int8"
    ok(run("codesign", *SMALL, "--precision", "int8", "--out", out))
    results = json.loads((out / "results.json").read_text())
    data = last_json(ok(run("eval", "-a", out / "best-arch.yaml", "-w", "dqn", "-l", "conv3",
                            "-m", out / "mappings" / "dqn" / "conv3.json", "--json")).stdout)
    assert data["energy_pj"] == results["best"]["layers"]["dqn/conv3"]["energy_pj"]
