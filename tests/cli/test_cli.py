"""The command line: zoo, eval, validate, demo; and one-line errors with exit status 2 on bad input."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO, assert_user_error, last_json, run
from cosearch import evaluate, load_arch, load_mapping, load_workload
from cosearch.mapping.mapping import Mappings

EXAMPLES = REPO / "examples"
MAPPING = EXAMPLES / "mappings" / "eyeriss168_resnet_conv3x3.json"
SHAPE = "N=1 K=64 C=64 P=56 Q=56 R=3 S=3"
REFERENCE = Path(os.environ.get("COSEARCH_REFERENCE_DIR", REPO.parent / "shared" / "reference"))
PROBES = REFERENCE / "timeloop" / "probes.jsonl"


# ---------------------------------------------------------------------------------------------------
# zoo


def test_zoo_lists_resnet18_with_macs() -> None:
    result = run("zoo")
    assert result.exit_code == 0, result.stderr
    row = next(line for line in result.stdout.splitlines() if "resnet18" in line)
    assert "1,814,073,344" in row
    assert " 12 " in row and " 21 " in row  # unique layers, layers with repeats


def test_zoo_json() -> None:
    result = run("zoo", "--json")
    assert result.exit_code == 0, result.stderr
    nets = {n["name"]: n for n in last_json(result.stdout)}
    assert nets["resnet18"]["macs"] == 1_814_073_344
    assert nets["resnet18"]["unique_layers"] == 12 and nets["resnet18"]["layers"] == 21
    assert "bert-base" in nets and "bert_base" not in nets  # aliases are not listed


def test_zoo_one_network() -> None:
    result = run("zoo", "resnet18")
    assert result.exit_code == 0, result.stderr
    assert "layer1_conv3x3" in result.stdout
    data = last_json(run("zoo", "resnet18", "--json").stdout)
    assert data["macs"] == 1_814_073_344
    assert [l["name"] for l in data["layer_list"]][:2] == ["conv1", "layer1_conv3x3"]


# ---------------------------------------------------------------------------------------------------
# eval


def test_eval_json_matches_library() -> None:
    result = run("eval", "--arch", "eyeriss-168", "--workload", "resnet18", "--layer", "layer1_conv3x3",
                 "--mapping", MAPPING, "--json")
    assert result.exit_code == 0, result.stderr
    data = last_json(result.stdout)
    arch = load_arch("eyeriss-168")
    layer = load_workload("resnet18").layer("layer1_conv3x3")
    costs = evaluate(arch, layer, Mappings.from_list([load_mapping(MAPPING)], arch), breakdown=True)
    assert data["energy_pj"] == float(costs.energy_pj[0])
    assert data["cycles"] == float(costs.cycles[0])
    assert data["macs"] == layer.macs == 115_605_504
    assert data["utilization"] == pytest.approx(float(costs.utilization[0]))
    levels = {entry["level"]: entry for entry in data["levels"]}
    assert set(levels) == set(arch.level_names)
    assert set(levels["GLB"]["dataspaces"]) == {"Weights", "Outputs"}  # the mapping bypasses Inputs at the GLB
    total = sum(ds["energy_pj"] for entry in data["levels"] for ds in entry["dataspaces"].values())
    assert total + data["mac_energy_pj"] == pytest.approx(data["energy_pj"], rel=1e-12)


def test_eval_shape_equals_workload_layer() -> None:
    by_shape = last_json(run("eval", "-a", "eyeriss-168", "--shape", SHAPE, "-m", MAPPING, "--json").stdout)
    by_layer = last_json(run("eval", "-a", "eyeriss-168", "-w", "resnet18", "-l", "layer1_conv3x3",
                             "-m", MAPPING, "--json").stdout)
    assert by_shape["energy_pj"] == by_layer["energy_pj"]
    assert by_shape["cycles"] == by_layer["cycles"]


def test_eval_tables_and_loop_nest() -> None:
    result = run("eval", "-a", "eyeriss-168", "--shape", SHAPE, "-m", MAPPING)
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    assert "1,183,866,880.0" in out  # Timeloop's energy for this mapping (shared/reference)
    assert "688,128" in out
    for line in ("GLB [ Weights:9216 Outputs:25088 ]", "|       for P in [0:4)",
                 "|               for R in [0:3) (Spatial-Y)", "|                   for P in [0:14) (Spatial-X)",
                 "|                         for K in [0:8)"):
        assert line in out, line


def test_eval_custom_arch_and_workload_file() -> None:
    result = run("eval", "-a", EXAMPLES / "arch" / "my_accelerator.yaml", "-w", EXAMPLES / "workloads" / "tiny_net.yaml",
                 "-l", "conv1", "-m", EXAMPLES / "mappings" / "my_accelerator_tiny_conv1.json", "--json")
    assert result.exit_code == 0, result.stderr
    data = last_json(result.stdout)
    assert data["arch"] == "my-accelerator"
    assert data["cycles"] > data["compute_cycles"]  # this mapping is bandwidth-bound at the GLB


# ---------------------------------------------------------------------------------------------------
# validate


@pytest.mark.skipif(not PROBES.exists(), reason=f"reference data not found at {PROBES}")
def test_validate_probes_json() -> None:
    result = run("validate", PROBES, "--json")
    assert result.exit_code == 0, result.stderr
    summary = last_json(result.stdout)
    assert summary["counts_exact"] == 1.0
    assert summary["cases"] == 12
    for key in ("cases", "valid_cases", "energy_within_1pct", "cycles_within_1pct", "counts_exact",
                "max_energy_rel_err", "max_cycles_rel_err", "invalid_agreement", "skipped_link_transfer"):
        assert key in summary


@pytest.mark.skipif(not PROBES.exists(), reason=f"reference data not found at {PROBES}")
def test_validate_probes_table() -> None:
    result = run("validate", PROBES)
    assert result.exit_code == 0, result.stderr
    assert "12 of 12 cases agree" in result.stdout


def test_validate_reports_mismatches_with_exit_0(tmp_path: Path) -> None:
    """A record whose expected numbers are off is a mismatch in the report, not an error."""
    record = {
        "id": "made-up|conv|m|T1",
        "arch": load_arch_reference_dict(),
        "layer": {"name": "conv", "N": 1, "K": 64, "C": 64, "P": 56, "Q": 56, "R": 3, "S": 3,
                  "Hstride": 1, "Wstride": 1, "Hdilation": 1, "Wdilation": 1},
        "mapping": json.loads(MAPPING.read_text()),
        "expected": {"valid": True, "energy_pJ": 1.0, "cycles": 688128, "macs": 115605504, "per_level": {}},
    }
    path = tmp_path / "cases.jsonl"
    path.write_text(json.dumps(record) + "\n")
    result = run("validate", path)
    assert result.exit_code == 0, result.stderr
    assert "made-up" in result.stdout and "0 of 1 cases agree" in result.stdout
    summary = last_json(run("validate", path, "--json").stdout)
    assert summary["energy_within_1pct"] == 0.0


def load_arch_reference_dict() -> dict:
    """eyeriss-168 written as a reference-record ``arch`` object."""
    arch = load_arch("eyeriss-168")
    return {
        "name": "A_eyeriss_14x12",
        "meshX": 14, "meshY": 12,
        "levels": [
            {"name": l.name, "size_words": l.size_words, "instances": l.instances, "meshX": l.mesh_x,
             "meshY": l.mesh_y, "energy_pJ_per_access": l.energy_pj.model_dump(), "keeps": list(l.keeps),
             "keeps_fixed_by_arch": l.keeps_fixed, "bandwidth_words_per_cycle": None}
            for l in arch.levels
        ],
        "mac": {"instances": 168, "meshX": 14, "meshY": 12, "energy_pJ_per_mac": 1.0},
    }


# ---------------------------------------------------------------------------------------------------
# demo


# ---------------------------------------------------------------------------------------------------
# bad input: exit 2, one line, names the file / field


def _mapping_variant(tmp_path: Path, name: str, edit) -> Path:
    data = json.loads(MAPPING.read_text())
    edit({lvl["level"]: lvl for lvl in data["levels"]})
    path = tmp_path / name
    path.write_text(json.dumps(data))
    return path


def test_bad_mapping_factors(tmp_path: Path) -> None:
    m = _mapping_variant(tmp_path, "m.json", lambda lv: lv["DRAM"]["temporal"].update(K=1))
    result = run("eval", "-a", "eyeriss-168", "--shape", SHAPE, "-m", m)
    assert_user_error(result, "m.json", "factors of K multiply to 32, layer has 64")


def test_bad_mapping_unknown_level(tmp_path: Path) -> None:
    m = _mapping_variant(tmp_path, "lv.json", lambda lv: lv["ifmap_spad"].update(level="bogus_spad"))
    assert_user_error(run("eval", "-a", "eyeriss-168", "--shape", SHAPE, "-m", m), "lv.json", "bogus_spad")


def test_bad_mapping_capacity(tmp_path: Path) -> None:
    def edit(lv):
        lv["ifmap_spad"]["temporal"]["K"] = 1
        lv["psum_spad"]["temporal"]["K"] = 32  # psum tile 32 words > 24
    m = _mapping_variant(tmp_path, "cap.json", edit)
    assert_user_error(run("eval", "-a", "eyeriss-168", "--shape", SHAPE, "-m", m), "cap.json", "psum_spad",
                      "need 32 words", "holds 24")


def test_bad_mapping_fanout(tmp_path: Path) -> None:
    def edit(lv):
        lv["GLB"]["temporal"].update(P=2, C=32)
        lv["GLB"]["spatial"]["X"]["P"] = 28  # 28 columns > 14
        del lv["GLB"]["spatial"]["Y"]["C"]  # 28 x 3 PEs fit the 168 in total
    m = _mapping_variant(tmp_path, "fan.json", edit)
    assert_user_error(run("eval", "-a", "eyeriss-168", "--shape", SHAPE, "-m", m), "fan.json",
                      "X factors multiply to 28", "14 columns")


def test_bad_mapping_total_fanout(tmp_path: Path) -> None:
    def edit(lv):
        lv["GLB"]["temporal"]["P"] = 2
        lv["GLB"]["spatial"]["X"]["P"] = 28
    m = _mapping_variant(tmp_path, "tot.json", edit)
    assert_user_error(run("eval", "-a", "eyeriss-168", "--shape", SHAPE, "-m", m), "tot.json", "336", "168")


def test_bad_mapping_field(tmp_path: Path) -> None:
    m = _mapping_variant(tmp_path, "neg.json", lambda lv: lv["DRAM"]["temporal"].update(K=-2))
    assert_user_error(run("eval", "-a", "eyeriss-168", "--shape", SHAPE, "-m", m), "neg.json", "temporal")


def test_malformed_json_mapping(tmp_path: Path) -> None:
    m = tmp_path / "broken.json"
    m.write_text('{"levels": [ {"level": "DRAM", ')
    assert_user_error(run("eval", "-a", "eyeriss-168", "--shape", SHAPE, "-m", m), "broken.json", "malformed JSON")


def test_malformed_yaml_arch(tmp_path: Path) -> None:
    a = tmp_path / "bad_arch.yaml"
    a.write_text("name: x\nlevels:\n  - name: DRAM\n   keeps: [Weights\n")
    assert_user_error(run("eval", "-a", a, "--shape", SHAPE, "-m", MAPPING), "bad_arch.yaml", "malformed YAML")


def test_invalid_arch_field(tmp_path: Path) -> None:
    text = (EXAMPLES / "arch" / "my_accelerator.yaml").read_text().replace("size_words: 16384", "size_words: -5")
    a = tmp_path / "neg_arch.yaml"
    a.write_text(text)
    assert_user_error(run("eval", "-a", a, "--shape", SHAPE, "-m", MAPPING), "neg_arch.yaml", "size_words")


def test_malformed_yaml_workload(tmp_path: Path) -> None:
    w = tmp_path / "bad_net.yaml"
    w.write_text("layers:\n  - {name: a, K: 4\n")
    assert_user_error(run("eval", "-a", "eyeriss-168", "-w", w, "-m", MAPPING), "bad_net.yaml", "malformed YAML")


def test_unknown_preset() -> None:
    assert_user_error(run("eval", "-a", "eyeriss-999", "--shape", SHAPE, "-m", MAPPING), "eyeriss-999")


def test_unknown_layer() -> None:
    line = assert_user_error(run("eval", "-a", "eyeriss-168", "-w", "resnet18", "-l", "nope", "-m", MAPPING),
                             "'nope'", "resnet18")
    assert "layer1_conv3x3" in line  # lists the names


def test_several_layers_need_layer() -> None:
    line = assert_user_error(run("eval", "-a", "eyeriss-168", "-w", "resnet18", "-m", MAPPING), "--layer")
    assert "conv1" in line and "layer4_downsample" in line and "fc" in line


def test_zero_dimension_in_workload_file(tmp_path: Path) -> None:
    w = tmp_path / "zero.yaml"
    w.write_text("layers:\n  - {name: a, K: 0, C: 4}\n")
    assert_user_error(run("eval", "-a", "eyeriss-168", "-w", w, "-m", MAPPING), "zero.yaml", "K", ">= 1")


@pytest.mark.parametrize("shape", ["K=-64 C=64 P=56 Q=56 R=3 S=3", "K=64 C=0 P=56 Q=56 R=3 S=3"])
def test_bad_dimension_in_shape(shape: str) -> None:
    bad = "K" if "K=-" in shape else "C"
    assert_user_error(run("eval", "-a", "eyeriss-168", "--shape", shape, "-m", MAPPING), "shape", bad, ">= 1")


def test_workload_and_shape_conflict() -> None:
    assert_user_error(run("eval", "-a", "eyeriss-168", "-w", "resnet18", "--shape", SHAPE, "-m", MAPPING), "--shape")


def test_neither_workload_nor_shape() -> None:
    assert_user_error(run("eval", "-a", "eyeriss-168", "-m", MAPPING), "--workload")


@pytest.mark.parametrize("which", ["arch", "workload", "mapping"])
def test_missing_file(tmp_path: Path, which: str) -> None:
    missing = tmp_path / f"missing_{which}.yaml"
    args = {"arch": "eyeriss-168", "workload": "resnet18", "mapping": str(MAPPING)}
    args[which] = str(missing)
    result = run("eval", "-a", args["arch"], "-w", args["workload"], "-l", "layer1_conv3x3", "-m", args["mapping"])
    assert_user_error(result, f"missing_{which}.yaml", "not found")


def test_zoo_unknown_network() -> None:
    assert_user_error(run("zoo", "resnet19"), "resnet19")


def test_zoo_malformed_workload_file(tmp_path: Path) -> None:
    w = tmp_path / "w.json"
    w.write_text("{nope")
    assert_user_error(run("zoo", w), "w.json", "malformed JSON")


def test_validate_missing_file(tmp_path: Path) -> None:
    assert_user_error(run("validate", tmp_path / "none.jsonl"), "none.jsonl", "not found")


def test_validate_malformed_json(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"id": 1,\n')
    assert_user_error(run("validate", path), "bad.jsonl", "line 1", "malformed JSON")


def test_validate_not_records(tmp_path: Path) -> None:
    path = tmp_path / "other.jsonl"
    path.write_text('{"id": "x"}\n')
    assert_user_error(run("validate", path), "other.jsonl", "not a reference record")


@pytest.mark.parametrize("args", [["eval", "--bogus"], ["zoo", "--nope"], ["validate"], ["demo", "--budget", "0"]])
def test_usage_errors_exit_2(args: list[str]) -> None:
    result = run(*args)
    assert result.exit_code == 2
    assert "Traceback" not in result.stdout + result.stderr


def test_console_script_one_line_error(tmp_path: Path) -> None:
    """The real entry point (a subprocess): exit 2, one ``error:`` line on stderr, no traceback."""
    m = _mapping_variant(tmp_path, "m.json", lambda lv: lv["DRAM"]["temporal"].update(K=1))
    proc = subprocess.run([sys.executable, "-m", "cosearch.cli", "eval", "--arch", "eyeriss-168", "--shape", SHAPE,
                           "--mapping", str(m)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr + proc.stdout
    assert proc.stderr.strip().splitlines() == [f"error: {m}: factors of K multiply to 32, layer has 64"]


def test_version() -> None:
    result = run("--version")
    assert result.exit_code == 0 and result.stdout.startswith("cosearch ")


# ---------------------------------------------------------------------------------------------------
# report helpers and reference records


def test_loop_nest_same_for_arrays_and_readable_mapping() -> None:
    """The loop nest of a sampled batch row equals that of its readable form (to_mapping)."""
    from cosearch import MapSpace
    from cosearch.report import loop_nest

    arch = load_arch("eyeriss-168")
    layer = load_workload("resnet18").layer("layer2_conv3x3_s2")
    batch = MapSpace(arch, layer).sample(20, seed=3)
    for i in range(len(batch)):
        assert loop_nest(arch, batch, i) == loop_nest(arch, batch.to_mapping(i, arch))


@pytest.mark.skipif(not PROBES.exists(), reason=f"reference data not found at {PROBES}")
def test_eval_reference_record_as_all_three_inputs(tmp_path: Path) -> None:
    """A reference record saved as one JSON file is an arch, a workload and a mapping at once."""
    for line in PROBES.read_text().splitlines():
        record = json.loads(line)
        if record["expected"].get("valid"):
            break
    path = tmp_path / "record.json"
    path.write_text(json.dumps(record))
    result = run("eval", "-a", path, "-w", path, "-m", path, "--json")
    assert result.exit_code == 0, result.stderr
    data = last_json(result.stdout)
    assert data["energy_pj"] == pytest.approx(record["expected"]["energy_pJ"], rel=1e-9)
    assert data["cycles"] == record["expected"]["cycles"]
