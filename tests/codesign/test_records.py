"""Design summaries: typed in Python, the same JSON as before in files and the store."""

from __future__ import annotations

import json

from cosearch._io import to_plain
from cosearch.codesign.records import DesignSummary, LayerSummary

LAYER = LayerSummary(energy_pj=2.0, cycles=3.0, edp=6.0, evaluations=10, mapping={"levels": []})


def test_to_json_keeps_the_key_order_and_leaves_out_a_missing_trial() -> None:
    s = DesignSummary(arch={"mesh_x": 2}, energy_pj=2.0, cycles=3.0, edp=6.0, area_mm2=1.5,
                      per_workload={"dqn": 6.0}, layers={"dqn/conv1": LAYER})
    assert list(s.to_json()) == ["arch", "energy_pj", "cycles", "edp", "area_mm2", "per_workload", "layers"]
    assert list(s.with_trial(4).to_json())[-1] == "trial" and s.with_trial(4).trial == 4
    assert to_plain({"best": s})["best"]["layers"]["dqn/conv1"] == {
        "energy_pj": 2.0, "cycles": 3.0, "edp": 6.0, "evaluations": 10, "mapping": {"levels": []}}


def test_json_round_trip() -> None:
    s = DesignSummary(arch={"mesh_x": 2}, energy_pj=2.0, cycles=3.0, edp=6.0, area_mm2=1.5,
                      per_workload={"dqn": 6.0}, layers={"dqn/conv1": LAYER}, trial=7)
    assert DesignSummary.from_json(json.loads(json.dumps(to_plain(s)))) == s


def test_a_layer_record_missing_fields_reads_as_none() -> None:
    assert LayerSummary.from_record({"energy_pj": 1.0}) == LayerSummary(1.0, None, None, None, None)
