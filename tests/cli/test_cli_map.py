"""``cosearch map``: JSON structure, totals, determinism across --jobs, files in --out, loop nests, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import assert_user_error, last_json, ok, run
from cosearch import evaluate, load_arch, load_mapping, load_workload
from cosearch.mapping.loopnest import loop_nest_data
from cosearch.report.tables import loop_nest, loop_nest_text

BUDGET = "300"


def without_timing(data: dict) -> dict:
    """The run's JSON minus its timing fields (``seconds``)."""
    data = json.loads(json.dumps(data))
    data.pop("seconds", None)
    for layer in data["layers"]:
        layer.pop("seconds", None)
    return data


@pytest.fixture(scope="module")
def dqn_run(tmp_path_factory) -> tuple[dict, Path]:
    """``map`` of every dqn layer, budget 300, seed 3, one process: (stdout JSON, out dir)."""
    out = tmp_path_factory.mktemp("dqn-j1")
    result = ok(run("map", "-a", "eyeriss-168", "-w", "dqn", "-n", BUDGET, "--seed", "3", "--out", out, "--json"))
    return last_json(result.stdout), out


@pytest.fixture()
def repeated_net(tmp_path: Path) -> Path:
    """A workload whose first layer occurs three times (merged into one entry with count 3)."""
    path = tmp_path / "rep.yaml"
    path.write_text(
        "name: rep\nlayers:\n"
        "  - {name: a, K: 16, C: 8, P: 7, Q: 7, R: 3, S: 3}\n"
        "  - {name: b, K: 32, C: 16, P: 7, Q: 7}\n"
        "  - {name: a2, K: 16, C: 8, P: 7, Q: 7, R: 3, S: 3}\n"
        "  - {name: a3, K: 16, C: 8, P: 7, Q: 7, R: 3, S: 3}\n"
    )
    return path


# ---------------------------------------------------------------------------------------------------
# JSON output


def test_json_structure(dqn_run) -> None:
    data, _ = dqn_run
    net = load_workload("dqn")
    assert [l["name"] for l in data["layers"]] == [l.name for l in net]
    for entry in data["layers"]:
        for key in ("name", "energy_pj", "cycles", "edp", "evaluations", "seconds", "mapping", "loop_nest"):
            assert key in entry, key
        assert entry["edp"] == pytest.approx(entry["energy_pj"] * entry["cycles"])
        assert entry["evaluations"] == int(BUDGET)
        assert entry["seconds"] >= 0
        assert 0 < entry["utilization"] <= 1
        assert isinstance(entry["mapping"], dict) and entry["mapping"]["levels"]
        assert [lvl["level"] for lvl in entry["loop_nest"]] == [lvl.name for lvl in load_arch("eyeriss-168").levels]
        loops = [lp for lvl in entry["loop_nest"] for lp in lvl["loops"]]
        assert loops and all(set(lp) == {"dim", "bound", "kind"} for lp in loops)
    total = data["total"]
    assert set(total) >= {"energy_pj", "cycles", "edp"}
    assert data["optimizer"] == "auto" and data["objective"] == "edp" and data["seed"] == 3


def test_json_is_the_last_and_only_stdout_line(dqn_run) -> None:
    result = ok(run("map", "-a", "eyeriss-168", "-w", "dqn", "-l", "fc_out", "-n", "50", "--json", "--out",
                    dqn_run[1] / "extra"))
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1 and json.loads(lines[0])["layers"][0]["name"] == "fc_out"


def test_totals_count_repeats(repeated_net: Path, tmp_path: Path) -> None:
    data = last_json(ok(run("map", "-a", "eyeriss-168", "-w", repeated_net, "-n", BUDGET, "--out", tmp_path / "o",
                            "--json")).stdout)
    layers = {l["name"]: l for l in data["layers"]}
    assert set(layers) == {"a", "b"} and layers["a"]["count"] == 3 and layers["b"]["count"] == 1
    total = data["total"]
    energy = sum(l["energy_pj"] * l["count"] for l in data["layers"])
    cycles = sum(l["cycles"] * l["count"] for l in data["layers"])
    assert total["energy_pj"] == pytest.approx(energy)
    assert total["cycles"] == pytest.approx(cycles)
    assert total["edp"] == pytest.approx(energy * cycles)


def test_loop_nest_json_matches_text_view(dqn_run) -> None:
    """The JSON loop nest renders to the same text as loop_nest() of the saved mapping with its tile sizes."""
    data, out = dqn_run
    arch = load_arch("eyeriss-168")
    net = load_workload("dqn")
    for entry in data["layers"]:
        mapping = load_mapping(out / entry["file"])
        costs = evaluate(arch, net.layer(entry["name"]), mapping.to_arrays(arch), breakdown=True)
        assert loop_nest_data(arch, mapping, tile_words=costs.tile_words) == entry["loop_nest"]
        assert loop_nest_text(entry["loop_nest"]) == loop_nest(arch, mapping, tile_words=costs.tile_words)


# ---------------------------------------------------------------------------------------------------
# determinism


def test_same_seed_same_json_for_jobs_1_and_2(dqn_run, tmp_path: Path) -> None:
    data, _ = dqn_run
    again = ok(run("map", "-a", "eyeriss-168", "-w", "dqn", "-n", BUDGET, "--seed", "3", "-j", "2",
                   "--out", tmp_path, "--json"))
    assert without_timing(last_json(again.stdout)) == without_timing(data)


def test_other_seed_other_layer_seeds(dqn_run, tmp_path: Path) -> None:
    data, _ = dqn_run
    other = last_json(ok(run("map", "-a", "eyeriss-168", "-w", "dqn", "-l", "conv1", "-n", "50", "--seed", "4",
                             "--out", tmp_path, "--json")).stdout)
    assert other["layers"][0]["seed"] != data["layers"][0]["seed"]


def test_one_layer_same_as_in_the_network_run(dqn_run, tmp_path: Path) -> None:
    """A layer's seed comes from (seed, its index in the workload): mapping it alone gives the same result."""
    data, _ = dqn_run
    alone = last_json(ok(run("map", "-a", "eyeriss-168", "-w", "dqn", "-l", "conv3", "-n", BUDGET, "--seed", "3",
                             "--out", tmp_path, "--json")).stdout)
    in_net = next(l for l in data["layers"] if l["name"] == "conv3")
    assert without_timing(alone)["layers"][0] == without_timing({"layers": [in_net]})["layers"][0]


# ---------------------------------------------------------------------------------------------------
# files in --out


def test_files_written_and_loadable_by_eval(dqn_run) -> None:
    data, out = dqn_run
    results = json.loads((out / "results.json").read_text())
    assert results["status"] == "complete" and len(results["layers"]) == len(data["layers"])
    assert without_timing(results)["layers"] == without_timing(data)["layers"]
    for entry in data["layers"]:
        path = out / entry["file"]
        assert path.exists(), path
        ev = last_json(ok(run("eval", "-a", "eyeriss-168", "-w", "dqn", "-l", entry["name"], "-m", path,
                              "--json")).stdout)
        assert ev["energy_pj"] == entry["energy_pj"]
        assert ev["cycles"] == entry["cycles"]
        assert ev["edp"] == entry["edp"]


def test_default_out_dir_is_created_and_printed(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = ok(run("map", "-a", "eyeriss-168", "--shape", "K=8 C=8 P=4 Q=4 R=3 S=3", "-n", "50"))
    made = list((tmp_path / "cosearch-out").glob("map-*"))
    assert len(made) == 1 and (made[0] / "results.json").exists() and (made[0] / "layer.json").exists()
    assert made[0].name in result.stdout.replace("\n", "")


def test_finished_layers_are_saved_when_interrupted(tmp_path: Path) -> None:
    """results.json is rewritten as each layer finishes: an interrupt keeps what was done."""
    from cosearch.mappers.network import map_network

    seen = []

    def stop_after_two(result) -> None:
        seen.append(result.name)
        if len(seen) == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        map_network(load_arch("eyeriss-168"), load_workload("dqn"), budget=50, out_dir=tmp_path,
                    on_layer_done=stop_after_two)
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["status"] == "interrupted"
    assert [l["name"] for l in results["layers"]] == seen == ["conv1", "conv2"]
    assert (tmp_path / "conv1.json").exists() and (tmp_path / "conv2.json").exists()
    assert not (tmp_path / "conv3.json").exists()


# ---------------------------------------------------------------------------------------------------
# text output and options


def test_table_output_and_progress_lines(tmp_path: Path) -> None:
    result = ok(run("map", "-a", "eyeriss-168", "-w", "dqn", "-n", "100", "--out", tmp_path))
    for needle in ("conv1", "fc_out", "evaluations", "seconds", "Network totals", str(tmp_path)):
        assert needle in result.stdout.replace("\n", ""), needle
    assert "Loop nest" not in result.stdout  # only with --verbose for a network
    assert "[5/5]" in result.stderr  # not a terminal: one line per finished layer
    verbose = ok(run("map", "-a", "eyeriss-168", "-w", "dqn", "-n", "100", "--out", tmp_path, "-v"))
    assert verbose.stdout.count("Loop nest of") == 5


def test_single_layer_prints_loop_nest(tmp_path: Path) -> None:
    result = ok(run("map", "-a", "eyeriss-168", "--shape", "K=16 C=16 P=8 Q=8 R=3 S=3", "-n", "100",
                    "--out", tmp_path))
    assert "Loop nest of layer" in result.stdout
    assert "GLB [" in result.stdout and "for " in result.stdout
    assert "Network totals" not in result.stdout


@pytest.mark.parametrize("objective", ["energy", "cycles"])
def test_objective(objective: str, tmp_path: Path) -> None:
    data = last_json(ok(run("map", "-a", "eyeriss-168", "-w", "dqn", "-l", "conv3", "-n", "200",
                            "--objective", objective, "--out", tmp_path, "--json")).stdout)
    assert data["objective"] == objective and data["layers"][0][f"{'energy_pj' if objective == 'energy' else 'cycles'}"] > 0


def test_budget_and_time_limit_together(tmp_path: Path) -> None:
    data = last_json(ok(run("map", "-a", "eyeriss-168", "-w", "dqn", "-l", "fc_out", "-n", "200", "-t", "30",
                            "--out", tmp_path, "--json")).stdout)
    assert data["layers"][0]["evaluations"] == 200  # the budget came first


def test_time_limit_alone(tmp_path: Path) -> None:
    data = last_json(ok(run("map", "-a", "eyeriss-168", "-w", "dqn", "-l", "fc_out", "-t", "0.3", "-o", "random",
                            "--out", tmp_path, "--json")).stdout)
    layer = data["layers"][0]
    assert layer["evaluations"] > 0 and layer["seconds"] < 5 and data["time_limit"] == 0.3


def test_random_optimizer(tmp_path: Path) -> None:
    data = last_json(ok(run("map", "-a", "simple-64", "-w", "dqn", "-l", "conv2", "-o", "random", "-n", "200",
                            "--out", tmp_path, "--json")).stdout)
    assert data["optimizer"] == "random" and data["layers"][0]["mapping"]["source"].startswith("cosearch:random")


# ---------------------------------------------------------------------------------------------------
# constraints / dataflows


def test_dataflow_row_stationary(tmp_path: Path) -> None:
    data = last_json(ok(run("map", "-a", "eyeriss-168", "-w", "dqn", "-l", "conv3", "-n", BUDGET,
                            "--dataflow", "row-stationary", "--out", tmp_path, "--json")).stdout)
    entry = data["layers"][0]
    assert "row-stationary" in data["constraints"] and entry["evaluations"] > 0
    # the result is a valid mapping that eval accepts with the same energy
    ev = last_json(ok(run("eval", "-a", "eyeriss-168", "-w", "dqn", "-l", "conv3", "-m", tmp_path / entry["file"],
                          "--json")).stdout)
    assert ev["energy_pj"] == entry["energy_pj"]


def test_unknown_dataflow(tmp_path: Path) -> None:
    assert_user_error(run("map", "-a", "eyeriss-168", "-w", "dqn", "--dataflow", "no-such-flow", "-n", "10",
                          "--out", tmp_path), "--dataflow", "unknown dataflow 'no-such-flow'", "row-stationary")


# ---------------------------------------------------------------------------------------------------
# bad input: exit 2, one line, no traceback

DQN = ["map", "-a", "eyeriss-168", "-w", "dqn"]


@pytest.mark.parametrize(
    ("args", "needles"),
    [
        (DQN + ["-o", "nope"], ["unknown optimizer 'nope'", "auto"]),
        (DQN + ["-n", "0"], ["--budget", "got 0"]),
        (DQN + ["-n", "-5"], ["--budget", "got -5"]),
        (DQN + ["-t", "0"], ["--time-limit", "got 0"]),
        (DQN + ["-t", "-1.5"], ["--time-limit", "got -1.5"]),
        (DQN + ["--objective", "latency"], ["unknown objective 'latency'", "edp"]),
        (DQN + ["-j", "0"], ["--jobs", "got 0"]),
        (DQN + ["--seed", "-1"], ["--seed", "got -1"]),
        (DQN + ["-l", "conv9"], ["dqn", "no layer 'conv9'", "conv1"]),
        (DQN + ["--constraints", "c.yaml", "--dataflow", "row-stationary"], ["--constraints", "--dataflow"]),
        (["map", "-a", "eyeriss-168", "--shape", "K=64 C=0"], ["shape", "C", ">= 1"]),
        (["map", "-a", "eyeriss-168", "--shape", "K=64 X=3"], ["unknown field 'X'"]),
        (["map", "-a", "eyeriss-168", "--shape", "K64"], ["'K64' is not KEY=VALUE"]),
        (["map", "-a", "eyeriss-168", "--shape", "K=64", "-w", "dqn"], ["--workload", "--shape"]),
        (["map", "-a", "eyeriss-168"], ["--workload", "--shape"]),
        (["map", "-a", "no-such-arch", "-w", "dqn"], ["no-such-arch"]),
        (["map", "-a", "eyeriss-168", "-w", "no-such-net"], ["no-such-net"]),
    ],
)
def test_bad_input(args: list[str], needles: list[str], tmp_path: Path) -> None:
    assert_user_error(run(*args, "--out", tmp_path / "o"), *needles)


def test_bad_input_with_json_is_still_one_error_line(tmp_path: Path) -> None:
    result = run(*DQN, "-o", "nope", "--json", "--out", tmp_path)
    assert_user_error(result, "unknown optimizer")
    assert result.stdout == ""


def test_missing_constraints_file(tmp_path: Path) -> None:
    line = assert_user_error(run(*DQN, "--constraints", tmp_path / "missing.yaml", "--out", tmp_path / "o"))
    assert "missing.yaml" in line


def test_unsatisfiable_constraints_name_the_layer(tmp_path: Path) -> None:
    """A constraint some layer cannot meet: one error line naming the layer and the item, nothing written."""
    cons = tmp_path / "r4.yaml"
    cons.write_text("constraints:\n  - {type: temporal, target: weights_spad, factors: {R: 4}}\n")
    line = assert_user_error(run(*DQN, "-n", "50", "--constraints", cons, "--out", tmp_path / "o"),
                             "layer conv3", "r4.yaml", "constraints[0]")
    assert "R=3" in line
    assert not (tmp_path / "o").exists()  # checked before anything is searched or written
    # the layers that can meet it are mapped under it
    data = last_json(ok(run(*DQN, "-l", "conv2", "-n", BUDGET, "--constraints", cons, "--out", tmp_path / "o2",
                            "--json")).stdout)
    spad = next(l for l in data["layers"][0]["mapping"]["levels"] if l["level"] == "weights_spad")
    assert spad["temporal"]["R"] == 4 and "r4.yaml" in data["constraints"]


def test_dataflow_same_results_for_jobs_1_and_2(tmp_path: Path) -> None:
    args = [*DQN, "-n", "200", "--dataflow", "weight-stationary", "--json"]
    one = last_json(ok(run(*args, "--out", tmp_path / "j1")).stdout)
    two = last_json(ok(run(*args, "-j", "2", "--out", tmp_path / "j2")).stdout)
    assert without_timing(one) == without_timing(two)
