"""The cost model against real Timeloop outputs (shared/reference/timeloop, read in place).

Every valid case without link transfers must match Timeloop's integer counts exactly (reads, fills,
updates, tile words, utilized instances per level and data space; cycles, ±1 on the bandwidth-limited
archs B and E), and energy to 1e-9 relative. Every invalid case must be rejected with the same reason
class.
"""

from __future__ import annotations

import pytest

from conftest import reference_records, requires_reference
from cosearch.arch.io import arch_from_reference
from cosearch.dims import DATASPACES
from cosearch.interop.reference import timeloop_reason_class
from cosearch.mapping.mapping import Mappings, mapping_from_data
from cosearch.model.evaluate import evaluate
from cosearch.workload.layer import Layer

RECORDS = reference_records("probes") + reference_records("cases")
BANDWIDTH_LIMITED = {"B_eyeriss_16x16_bw", "E_unified_16x16_bw"}


def _evaluate(rec: dict):
    arch = arch_from_reference(rec["arch"])
    layer = Layer(**rec["layer"])
    mapping = mapping_from_data(rec["mapping"], rec["id"])
    return arch, evaluate(arch, layer, Mappings.from_list([mapping], arch), breakdown=True)


def _ids(recs: list[dict]) -> list[str]:
    return [r["id"] for r in recs]


VALID = [r for r in RECORDS if r["expected"]["valid"] and not r["expected"].get("link_transfers_total", 0)]
INVALID = [r for r in RECORDS if not r["expected"]["valid"]]


@requires_reference
def test_reference_data_is_there() -> None:
    assert len(VALID) >= 280 and len(INVALID) >= 20


@requires_reference
@pytest.mark.parametrize("rec", VALID, ids=_ids(VALID))
def test_valid_case_matches_timeloop_exactly(rec: dict) -> None:
    exp = rec["expected"]
    arch, c = _evaluate(rec)
    assert c.valid[0], c.reason_text(0)
    assert c.macs == exp["macs"]
    assert c.compute_cycles[0] == exp["mac"]["compute_cycles"]
    assert c.utilized_pes[0] == exp["mac"]["utilized_instances"]
    tolerance = 1 if rec["arch"]["name"] in BANDWIDTH_LIMITED else 0
    assert abs(c.cycles[0] - exp["cycles"]) <= tolerance
    assert c.energy_pj[0] == pytest.approx(exp["energy_pJ"], rel=1e-9, abs=0)
    for li, lvl in enumerate(arch.levels):
        per_ds = exp["per_level"].get(lvl.name, {}).get("dataspaces", {})
        for di, ds in enumerate(DATASPACES):
            where = f"{lvl.name}.{ds}"
            if ds not in per_ds:
                assert not c.keep[0, li, di], f"{where}: Timeloop bypasses it"
                continue
            want = per_ds[ds]
            assert c.keep[0, li, di], f"{where}: Timeloop keeps it"
            assert c.reads[0, li, di] == want["reads"], where
            assert c.fills[0, li, di] == want["fills"], where
            assert c.updates[0, li, di] == want["updates"], where
            assert c.tile_words[0, li, di] == want["tile_words"], where
            assert c.utilized_instances[0, li] == want["utilized_instances"], where
            if ds != "Inputs":  # Timeloop's per-PE Inputs partition differs when P/Q/R/S are spatial
                assert c.partition_words[0, li, di] == want["partition_size_words"], where
            assert c.level_energy_pj[0, li, di] == pytest.approx(want["energy_pJ"], rel=1e-9, abs=1e-9), where


@requires_reference
@pytest.mark.parametrize("rec", INVALID, ids=_ids(INVALID))
def test_invalid_case_rejected_for_the_same_reason(rec: dict) -> None:
    _, c = _evaluate(rec)
    assert not c.valid[0]
    assert c.reason_text(0) == timeloop_reason_class(rec["expected"]["reason"])
    assert c.energy_pj[0] == float("inf")


@requires_reference
def test_link_transfer_cases_have_scored_twins() -> None:
    """Cases using link transfers are not modelled; their -noLT twins are in VALID and scored."""
    lt = [r for r in RECORDS if r["expected"]["valid"] and r["expected"].get("link_transfers_total", 0)]
    valid_ids = set(_ids(VALID))
    for rec in lt:
        stem, table = rec["id"].rsplit("|", 1)
        assert any(i.startswith(stem) and "noLT" in i for i in valid_ids), rec["id"]
