"""User templates in YAML (``cosearch.arch.templates._yaml``): the four-level example loads and runs
``cosearch codesign`` end to end; a template in its own file; the definition travels with the space's
dump and every work unit; bad templates end in one line naming the file and the field."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import numpy as np
import pytest
import yaml

from conftest import REPO, assert_user_error, last_json, ok, run
from cosearch.arch.area import AreaModel
from cosearch.arch.hwspace import HWSpace, load_hw_space, payload_template
from cosearch.codesign.driver import unit_arch
from cosearch.errors import CosearchError

EXAMPLE = REPO / "examples" / "hwspaces" / "four_level.yaml"
DATA = yaml.safe_load(EXAMPLE.read_text())


def _write(tmp_path: Path, data: dict, name: str = "space.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def test_the_four_level_example_builds_its_levels() -> None:
    space = load_hw_space(EXAMPLE)
    assert space.template == "four-level" and space.user_template is not None
    assert space.names == ("mesh_x", "mesh_y", "l2_kb", "l2_bandwidth", "l1_words") == tuple(space.params)
    tmpl = space.template_spec
    assert tmpl.mesh == ("mesh_x", "mesh_y") and tmpl.labels["l2_kb"] == "L2 KiB"
    assert dict(tmpl.level_params) == {"L2": ("l2_kb", "l2_bandwidth"), "L1": ("l1_words",), "ACC": ()}
    values = {"mesh_x": 4, "mesh_y": 2, "l2_kb": 32, "l2_bandwidth": 8, "l1_words": 128}
    arch = space.arch(values)
    assert arch.name == "hw-4x2-l2_kb32-l2_bandwidth8-l1_words128"
    shape = [(lvl.name, lvl.size_words, lvl.keeps, lvl.keeps_fixed, lvl.instances, lvl.bandwidth.read)
             for lvl in arch.levels]
    assert shape == [("DRAM", None, ("Weights", "Inputs", "Outputs"), True, 1, None),
                     ("L2", 16384, ("Weights", "Inputs", "Outputs"), False, 1, 8.0),
                     ("L1", 128, ("Weights", "Inputs"), False, 8, None),
                     ("ACC", 16, ("Outputs",), True, 8, None)]
    assert arch.levels[0].bandwidth.shared == 16.0 and (arch.mac.mesh_x, arch.mac.mesh_y) == (4, 2)
    # the vectorised area model reads the template like a registered one (the fixed ACC counted per PE)
    points = space.random_points(30, np.random.default_rng(1))
    assert np.allclose(AreaModel(space)(points), [space.arch(p).area_mm2 for p in points], rtol=1e-12)
    assert tmpl.reference.values == {"mesh_x": 8, "mesh_y": 8, "l2_kb": 64, "l2_bandwidth": 16, "l1_words": 64}
    assert all(isinstance(v, int) for v in tmpl.reference.values.values())  # integers stay integers


def test_the_definition_travels_with_the_dump_and_the_work_unit() -> None:
    space = load_hw_space(EXAMPLE)
    dumped = space.model_dump(mode="json")
    again = HWSpace.model_validate(json.loads(json.dumps(dumped)))
    assert again == space and again.template_spec.names == space.names
    values = dict(space.template_spec.reference.values)
    hw = space.hw_payload(values)
    assert hw["user_template"] == dumped["user_template"]
    assert unit_arch(json.loads(json.dumps(hw))) == space.arch(values)
    assert payload_template(dumped).names == space.names
    # a space on a registered template dumps and sends exactly what it did before (no user_template key)
    builtin = load_hw_space("simple")
    assert "user_template" not in builtin.model_dump() and "user_template" not in builtin.hw_payload({})


def test_a_template_in_its_own_file_relative_to_the_space(tmp_path: Path) -> None:
    (tmp_path / "t").mkdir()
    _write(tmp_path / "t", DATA["template"], "four.yaml")
    path = _write(tmp_path, {**DATA, "template": "t/four.yaml"})
    assert load_hw_space(path) == load_hw_space(EXAMPLE)


def _mutated(change) -> dict:
    data = copy.deepcopy(DATA)
    change(data["template"])
    return data


BAD = [
    (lambda t: t["levels"][1].update(colour="red"), "template: field levels.1.colour: Extra inputs are not permitted"),
    (lambda t: t["levels"][2].update(may_keep=["Weights", "Psums"]), "field levels.2.may_keep.1: Input should be"),
    (lambda t: t["levels"][3].update(may_keep=["Outputs"]), "levels[3] (ACC): give exactly one of must_keep and may_keep"),
    (lambda t: t["levels"][2].pop("size_words"), "levels[2] (L1): give exactly one of size_words and size_kib"),
    (lambda t: t["levels"][0].update(technology="SRAM"), "levels[0] (DRAM) must be the DRAM"),
    (lambda t: t["levels"][3].update(per_pe=False), "per_pe levels must be the innermost ones"),
    (lambda t: t["levels"][2].update(name="L2"), "level names must be unique"),
    (lambda t: t["reference"]["values"].pop("l1_words"), "does not set exactly the template's parameters (missing l1_words)"),
    (lambda t: t["levels"][1].update(bandwidth="not a name!"), "field levels.1.bandwidth"),
    (lambda t: t.update(name="simple"), "has the name of a built-in template"),
    (lambda t: t["labels"].update(nope="x"), "labels: nope are not parameters"),
]


@pytest.mark.parametrize("change, needle", BAD)
def test_bad_templates_are_one_line_errors_naming_the_file(tmp_path: Path, change, needle: str) -> None:
    path = _write(tmp_path, _mutated(change))
    with pytest.raises(CosearchError) as info:
        load_hw_space(path)
    text = str(info.value)
    assert "\n" not in text and str(path) in text and needle in text, text


def test_a_missing_template_file_names_it(tmp_path: Path) -> None:
    path = _write(tmp_path, {**DATA, "template": "nowhere.yaml"})
    with pytest.raises(CosearchError, match="nowhere.yaml: file not found"):
        load_hw_space(path)


def test_the_example_runs_codesign_end_to_end(tmp_path: Path) -> None:
    out = tmp_path / "run"
    result = ok(run("codesign", "--workload", "mlp", "--hw-space", EXAMPLE, "--optimizer", "random",
                    "--hw-budget", "2", "--hw-batch", "2", "--mapper-budget", "60", "--seed", "3", "--json",
                    "--no-report", "--out", out))
    data = last_json(result.stdout)
    assert data["best"] is not None and set(data["best"]["arch"]) == set(DATA["params"])
    assert data["baseline"]["arch"] == DATA["template"]["reference"]["values"]
    stored = json.loads((out / "results.json").read_text())
    assert stored["config"]["hw_space"]["user_template"]["name"] == "four-level"
    # the stored study is read back without the file (study show rebuilds the template from the store)
    ok(run("study", "show", stored["study"], "--storage", f"sqlite:///{out / 'studies.db'}"))


def test_levels_that_cannot_hold_any_mapping_stop_codesign(tmp_path: Path) -> None:
    def tiny(t: dict) -> None:
        t["levels"][2].update(may_keep=["Weights"])
        t["levels"][3].update(size_words=2, must_keep=["Weights", "Inputs", "Outputs"])

    path = _write(tmp_path, _mutated(tiny))
    result = run("codesign", "--workload", "mlp", "--hw-space", path, "--hw-budget", "2", "--mapper-budget", "50",
                 "--no-report", "--out", tmp_path / "run")
    assert_user_error(result, "its largest design cannot hold any mapping of mlp/", "level ACC must keep")


def test_an_unknown_reference_dataflow_stops_codesign(tmp_path: Path) -> None:
    path = _write(tmp_path, _mutated(lambda t: t["reference"].update(dataflow="zig-zag")))
    result = run("codesign", "--workload", "mlp", "--hw-space", path, "--hw-budget", "2", "--mapper-budget", "50",
                 "--no-report", "--out", tmp_path / "run")
    assert_user_error(result, "dataflow 'zig-zag' of its reference design")
