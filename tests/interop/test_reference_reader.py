"""Reading reference records (``cosearch validate``): a record whose parts are not JSON objects is
reported as unreadable, one line, never a crash (regressions found by the fuzz harness)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cosearch.arch.io import arch_from_reference, load_arch
from cosearch.errors import CosearchError
from cosearch.interop.reference import validate_records

REPO = Path(__file__).resolve().parents[2]
REFERENCE_ARCH = json.loads((REPO / "examples" / "arch" / "reference_E_unified_16x16_bw.json").read_text())
LAYER = {"name": "l", "K": 4, "C": 2, "P": 2, "Q": 2}
MAPPING = {"levels": [{"level": REFERENCE_ARCH["levels"][0]["name"], "temporal": {"K": 4, "C": 2, "P": 2, "Q": 2}}]}


def _record(**change) -> dict:
    rec = {"id": "r1", "arch": REFERENCE_ARCH, "layer": LAYER, "mapping": MAPPING,
           "expected": {"valid": True, "energy_pJ": 1.0, "cycles": 1.0}}
    return {**rec, **change}


def _validate(tmp_path: Path, *records: dict):
    path = tmp_path / "records.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return validate_records(path)


@pytest.mark.parametrize("key, value", [("layer", "conv"), ("expected", 3.5), ("mapping", [1]), ("arch", True)])
def test_a_record_part_that_is_not_an_object_is_unreadable(tmp_path: Path, key: str, value) -> None:
    (result,), summary = _validate(tmp_path, _record(**{key: value}))
    assert result.reason == "unreadable" and not result.valid
    assert result.mismatches == [f"record r1: {key} must be an object, got {type(value).__name__}"]
    assert summary["cases"] == 1


@pytest.mark.parametrize("change, needle", [
    (lambda a: {**a, "levels": ["DRAM", *a["levels"][1:]]}, "levels[0] must be an object, got str"),
    (lambda a: {**a, "mac": 7}, "mac must be an object, got int"),
    (lambda a: {**a, "levels": [{**a["levels"][0], "bandwidth_words_per_cycle": 4}, *a["levels"][1:]]},
     "levels[0].bandwidth_words_per_cycle must be an object, got int"),
])
def test_malformed_reference_arch_entries_are_named(tmp_path: Path, change, needle: str) -> None:
    arch = change(REFERENCE_ARCH)
    with pytest.raises(CosearchError, match=needle.replace("[", r"\[").replace("]", r"\]")):
        arch_from_reference(arch, "record r1: arch")
    (result,), _ = _validate(tmp_path, _record(arch=arch))
    assert result.reason == "unreadable" and needle in result.mismatches[0]
    path = tmp_path / "arch.json"
    path.write_text(json.dumps(arch))
    with pytest.raises(CosearchError, match=f"{path}: "):
        load_arch(path)


def test_a_well_formed_record_is_still_evaluated(tmp_path: Path) -> None:
    (result,), _ = _validate(tmp_path, _record())
    assert result.valid and result.energy_pj is not None and result.energy_pj > 0


@pytest.mark.parametrize("expected, needle", [
    ({"valid": True, "energy_pJ": 1.0, "cycles": 1.0, "per_level": "x"}, "expected.per_level must be an object, got str"),
    ({"valid": True, "energy_pJ": 1.0, "cycles": 1.0, "per_level": {REFERENCE_ARCH["levels"][0]["name"]: 3}},
     f"expected.per_level.{REFERENCE_ARCH['levels'][0]['name']} must be an object, got int"),
    ({"valid": True, "cycles": 1.0}, "expected.energy_pJ must be a finite number, got 'None'"),
    ({"valid": True, "energy_pJ": "1", "cycles": 1.0}, "expected.energy_pJ must be a finite number"),
    ({"valid": True, "energy_pJ": 1.0, "cycles": float("inf")}, "expected.cycles must be a finite number"),
])
def test_a_malformed_expected_block_is_unreadable(tmp_path: Path, expected: dict, needle: str) -> None:
    (result,), _ = _validate(tmp_path, _record(expected=expected))
    assert result.reason == "unreadable" and not result.valid
    assert len(result.mismatches) == 1 and result.mismatches[0].startswith(f"record r1: {needle}")
