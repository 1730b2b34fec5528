"""Timeloop export/import (cosearch.interop.timeloop, ``cosearch export|import timeloop``) against the reference
records' own Timeloop inputs (shared/reference/timeloop, read in place)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from conftest import assert_user_error, reference_records, requires_reference
from cosearch.arch.io import arch_from_reference
from cosearch.cli import app
from cosearch.dims import DATASPACES
from cosearch.errors import CosearchError
from cosearch.interop.timeloop import NO_LINK_TRANSFER, constraints_yaml, from_timeloop, to_timeloop
from cosearch.mapping.mapping import Mappings, mapping_from_data
from cosearch.model.evaluate import evaluate
from cosearch.workload.layer import Layer

RECORDS = reference_records("probes") + reference_records("cases")
BANDWIDTH_LIMITED = {"B_eyeriss_16x16_bw", "E_unified_16x16_bw"}
TIMELOOP_KEYS = ("arch", "problem", "mapping", "ERT")
runner = CliRunner(mix_stderr=False) if "mix_stderr" in CliRunner.__init__.__code__.co_varnames else CliRunner()


def _ids(recs: list[dict]) -> list[str]:
    return [r["id"] for r in recs]


def _import(rec: dict, *, constraints: str | None = None):
    t = rec["timeloop"]
    return from_timeloop(t["arch"], t["problem"], t["mapping"], t["ERT"],
                         constraints if constraints is not None else t.get("mapper_constraints"),
                         name=rec["arch"]["name"], layer_name=rec["layer"]["name"])


def _level_fields(lvl) -> dict:
    return lvl.model_dump()


def _keeps_recoverable(rec: dict) -> bool:
    """Timeloop's arch says nothing about which data spaces a level may hold. Without constraints the
    import uses the documented rules; they cannot tell arch D (GLB never holds Weights) from arch A
    with a mapping that bypasses Weights at the GLB: their Timeloop inputs are identical."""
    return "mapper_constraints" in rec["timeloop"] or not rec["arch"]["name"].startswith("D_")


def _spatial_rank(order: np.ndarray, factors: np.ndarray) -> list[int]:
    """Dims with factor > 1 in loop order (factor-1 loops don't matter)."""
    dims = [d for d in range(factors.shape[-1]) if factors[d] > 1]
    return sorted(dims, key=lambda d: order[d])


def _costs(arch, layer, mapping):
    return evaluate(arch, layer, Mappings.from_list([mapping], arch), breakdown=True)


# ---- every record: import gives the record's objects, export gives its strings -------------------

@requires_reference
def test_records_are_there() -> None:
    assert len(RECORDS) >= 300


@requires_reference
@pytest.mark.parametrize("rec", RECORDS, ids=_ids(RECORDS))
def test_import_matches_record(rec: dict) -> None:
    arch, layer, mapping = _import(rec)
    ref = arch_from_reference(rec["arch"])
    # arch, field by field (energies come from the ERT)
    assert arch.name == ref.name
    assert arch.mac == ref.mac
    assert arch.level_names == ref.level_names
    for got, want in zip(arch.levels, ref.levels):
        g, w = _level_fields(got), _level_fields(want)
        if not _keeps_recoverable(rec):
            for key in ("keeps", "keeps_fixed"):
                g.pop(key), w.pop(key)
        assert g == w, got.name
    if not _keeps_recoverable(rec):
        # with the arch's datatype constraints (what `cosearch export timeloop` writes) it is exact
        fixed, _, _ = _import(rec, constraints=constraints_yaml(ref))
        assert fixed == ref
    else:
        assert arch == ref
    # layer
    assert layer == Layer(**rec["layer"])
    # mapping, as arrays
    got = Mappings.from_list([mapping], ref)
    want = Mappings.from_list([mapping_from_data(rec["mapping"], rec["id"])], ref)
    for name in ("temporal", "spatial_x", "spatial_y", "order", "keep"):
        assert np.array_equal(getattr(got, name), getattr(want, name)), name
    for order, fac in (("order_x", "spatial_x"), ("order_y", "spatial_y")):
        for li in range(ref.num_levels):
            assert _spatial_rank(getattr(got, order)[0, li], getattr(got, fac)[0, li]) == \
                _spatial_rank(getattr(want, order)[0, li], getattr(want, fac)[0, li]), order
    nlt = rec["timeloop"]["mapping"].count("no_link_transfer")
    assert (NO_LINK_TRANSFER in mapping.source) == bool(nlt)


@requires_reference
@pytest.mark.parametrize("rec", RECORDS, ids=_ids(RECORDS))
def test_export_reproduces_record_strings(rec: dict) -> None:
    arch, layer, mapping = _import(rec)
    valid = rec["expected"]["valid"]  # Timeloop's probes of invalid mappings are written only on request
    if not valid:
        with pytest.raises(CosearchError, match=r"invalid mapping|multiply to"):
            to_timeloop(arch, layer, mapping, source=rec["id"])
    out = to_timeloop(arch, layer, mapping, check=valid)
    assert set(out) == set(TIMELOOP_KEYS)
    for key in TIMELOOP_KEYS:
        assert yaml.safe_load(out[key]) == yaml.safe_load(rec["timeloop"][key]), key
    # byte for byte too, except ERT numbers (a float 2.0 may have been written as "2.0" or "2")
    for key in ("arch", "problem", "mapping"):
        assert out[key] == rec["timeloop"][key], key
    # the record's own objects export to the same inputs
    ref = arch_from_reference(rec["arch"])
    nlt = any((lvl.get("spatial") or {}).get("no_link_transfer") for lvl in rec["mapping"]["levels"])
    direct = to_timeloop(ref, Layer(**rec["layer"]), mapping_from_data(rec["mapping"], rec["id"]),
                         no_link_transfer=nlt, check=valid)
    for key in ("arch", "problem", "ERT"):
        assert yaml.safe_load(direct[key]) == yaml.safe_load(rec["timeloop"][key]), key


VALID = [r for r in RECORDS if r["expected"]["valid"] and not r["expected"].get("link_transfers_total", 0)]
INVALID = [r for r in RECORDS if not r["expected"]["valid"]]


@requires_reference
def test_imported_records_evaluate_to_timeloop_costs() -> None:
    assert len(VALID) >= 280 and len(INVALID) >= 20
    for rec in VALID:
        arch, layer, mapping = _import(rec)
        c = _costs(arch, layer, mapping)
        exp = rec["expected"]
        assert c.valid[0], (rec["id"], c.reason_text(0))
        assert c.energy_pj[0] == pytest.approx(exp["energy_pJ"], rel=1e-9, abs=0), rec["id"]
        tolerance = 1 if rec["arch"]["name"] in BANDWIDTH_LIMITED else 0
        assert abs(c.cycles[0] - exp["cycles"]) <= tolerance, rec["id"]
    for rec in INVALID:
        arch, layer, mapping = _import(rec)
        assert not _costs(arch, layer, mapping).valid[0], rec["id"]


# ---- the CLI ---------------------------------------------------------------------------------------

def _write_record_inputs(rec: dict, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for key in TIMELOOP_KEYS:
        (folder / f"{key}.yaml").write_text(rec["timeloop"][key])


def _ok(result) -> None:
    assert result.exit_code == 0, (result.exit_code, result.stdout, result.stderr, result.exception)


def _pick(pred) -> dict:
    for rec in VALID:
        if pred(rec):
            return rec
    pytest.fail("no reference record matches")


def _eval_json(arch: Path, workload: Path, mapping: Path) -> dict:
    res = runner.invoke(app, ["eval", "--arch", str(arch), "--workload", str(workload), "--mapping", str(mapping),
                              "--json"])
    _ok(res)
    return json.loads(res.stdout.strip().splitlines()[-1])


@requires_reference
@pytest.mark.parametrize("arch_name", ["A_eyeriss_14x12", "D_eyeriss_14x12_wbypass", "E_unified_16x16_bw"])
def test_cli_export_then_import_keeps_costs(tmp_path: Path, arch_name: str) -> None:
    rec = _pick(lambda r: r["arch"]["name"] == arch_name)
    ref = arch_from_reference(rec["arch"])
    (tmp_path / "arch.json").write_text(json.dumps(ref.model_dump(mode="json")))
    (tmp_path / "mapping.json").write_text(json.dumps(rec["mapping"]))
    (tmp_path / "layer.json").write_text(json.dumps(rec["layer"]))
    out = tmp_path / "tl"
    res = runner.invoke(app, ["export", "timeloop", "--arch", str(tmp_path / "arch.json"), "--workload",
                              str(tmp_path / "layer.json"), "--mapping", str(tmp_path / "mapping.json"),
                              "--out", str(out), "--json"])
    _ok(res)
    for key in TIMELOOP_KEYS:
        assert (out / f"{key}.yaml").is_file()
        assert yaml.safe_load((out / f"{key}.yaml").read_text()) == yaml.safe_load(rec["timeloop"][key]) or \
            key == "mapping"  # no_link_transfer only when asked for
    back = tmp_path / "back"
    res = runner.invoke(app, ["import", "timeloop", str(out), "--out", str(back), "--name", arch_name])
    _ok(res)
    from cosearch.arch.io import load_arch

    assert load_arch(back / "arch.yaml") == ref  # constraints.yaml carries the fixed data spaces
    got = _eval_json(back / "arch.yaml", back / "layer.yaml", back / "mapping.json")
    assert got["energy_pj"] == pytest.approx(rec["expected"]["energy_pJ"], rel=1e-9)
    assert abs(got["cycles"] - rec["expected"]["cycles"]) <= (1 if arch_name in BANDWIDTH_LIMITED else 0)
    # the four files alone (no constraints) import to the same costs
    res = runner.invoke(app, ["import", "timeloop", *[str(out / f"{k}.yaml") for k in TIMELOOP_KEYS],
                              "--out", str(tmp_path / "four")])
    _ok(res)
    got4 = _eval_json(tmp_path / "four" / "arch.yaml", tmp_path / "four" / "layer.yaml",
                      tmp_path / "four" / "mapping.json")
    assert got4["energy_pj"] == got["energy_pj"] and got4["cycles"] == got["cycles"]


@requires_reference
def test_cli_import_record_directory(tmp_path: Path) -> None:
    rec = _pick(lambda r: r["arch"]["name"].startswith("C_"))
    _write_record_inputs(rec, tmp_path / "in")
    res = runner.invoke(app, ["import", "timeloop", str(tmp_path / "in"), "--out", str(tmp_path / "out"), "--json"])
    _ok(res)
    info = json.loads(res.stdout.strip().splitlines()[-1])
    assert info["eval"].startswith("cosearch eval")
    got = _eval_json(tmp_path / "out" / "arch.yaml", tmp_path / "out" / "layer.yaml", tmp_path / "out" / "mapping.json")
    assert got["energy_pj"] == pytest.approx(rec["expected"]["energy_pJ"], rel=1e-9)
    assert got["cycles"] == rec["expected"]["cycles"]


def _both_axes(mapping) -> bool:
    try:
        from cosearch.arch.hwspace import load_hw_space
        from cosearch.arch.templates.eyeriss import EYERISS_168

        to_timeloop(load_hw_space("eyeriss-like").arch(dict(EYERISS_168)), Layer(), mapping, check=False)
    except CosearchError as err:
        return "both mesh axes" in str(err)
    return False


def test_cli_export_study_best_design(tmp_path: Path) -> None:
    from cosearch.arch.hwspace import load_hw_space
    from cosearch.arch.templates.eyeriss import EYERISS_168
    from cosearch.mappers.layer import map_layer
    from cosearch.study import Storage

    space = load_hw_space("eyeriss-like")
    arch = space.arch(dict(EYERISS_168))
    layer = Layer(name="dqn/conv3", K=64, C=64, P=7, Q=7, R=3, S=3)
    for seed in range(6, 20):  # a mapping Timeloop can express: no dim spread over both mesh axes
        res = map_layer(arch, layer, optimizer="random", seed=seed, budget=300)
        if not _both_axes(res.mapping()):
            break
    else:
        pytest.fail("no Timeloop-expressible mapping found in seeds 6-19")
    url = f"sqlite:///{tmp_path / 'studies.db'}"
    store = Storage(url)
    store.create_study("s1", {"hw_space": space.model_dump(mode="json"), "workloads": ["x"]})
    (tid,) = store.add_trials("s1", [(0, {"point": [0], "values": dict(EYERISS_168)}, None)])
    store.start_trial(tid, "test")
    store.record_layer_result(tid, layer.name, shape_key=layer.shape_key(), mapping=res.mapping().model_dump(mode="json"),
                              energy_pj=res.energy_pj, cycles=res.cycles, edp=res.edp)
    store.complete_trial(tid, {"value": res.edp, "valid": True, "edp": res.edp})
    out = tmp_path / "tl"
    r = runner.invoke(app, ["export", "timeloop", "--study", "s1", "--storage", url, "--out", str(out)])
    _ok(r)
    for key in ("arch", "ERT", "constraints"):
        assert (out / f"{key}.yaml").is_file()
    layer_dir = out / "dqn_conv3"
    assert sorted(p.name for p in layer_dir.iterdir()) == sorted(f"{k}.yaml" for k in TIMELOOP_KEYS + ("constraints",))
    back = tmp_path / "back"
    _ok(runner.invoke(app, ["import", "timeloop", str(layer_dir), "--out", str(back)]))
    got = _eval_json(back / "arch.yaml", back / "layer.yaml", back / "mapping.json")
    assert got["energy_pj"] == pytest.approx(res.energy_pj, rel=1e-12)
    assert got["cycles"] == res.cycles


# ---- bad input ------------------------------------------------------------------------------------

def _good_inputs(tmp_path: Path) -> Path:
    arch = arch_from_reference(json.loads(json.dumps(_SMALL_ARCH)))
    layer = Layer(name="l", K=4, C=2, P=4, R=3)
    m = {"levels": [{"level": "DRAM", "temporal": {"K": 4, "C": 2, "P": 4, "R": 3}}]}
    files = to_timeloop(arch, layer, mapping_from_data(m, "m"))
    folder = tmp_path / "in"
    folder.mkdir()
    for key, text in files.items():
        (folder / f"{key}.yaml").write_text(text)
    return folder


_SMALL_ARCH = {
    "name": "small",
    "levels": [
        {"name": "DRAM", "size_words": None, "instances": 1, "energy_pJ_per_access": {"read": 200, "fill": 200, "update": 200},
         "keeps": list(DATASPACES), "keeps_fixed_by_arch": True, "technology": "DRAM"},
        {"name": "RF", "size_words": 64, "instances": 4, "meshX": 2, "meshY": 2,
         "energy_pJ_per_access": {"read": 1, "fill": 1.5, "update": 2}, "keeps": list(DATASPACES),
         "keeps_fixed_by_arch": False, "technology": "SRAM"},
    ],
    "mac": {"instances": 4, "meshX": 2, "meshY": 2, "energy_pJ_per_mac": 0.5},
}


def test_small_round_trip_without_reference(tmp_path: Path) -> None:
    folder = _good_inputs(tmp_path)
    arch, layer, mapping = from_timeloop(*[(folder / f"{k}.yaml").read_text() for k in TIMELOOP_KEYS], name="small",
                                         layer_name="l")
    assert arch == arch_from_reference(_SMALL_ARCH)
    assert layer == Layer(name="l", K=4, C=2, P=4, R=3)
    assert mapping.levels[0].temporal == {"N": 1, "K": 4, "C": 2, "P": 4, "Q": 1, "R": 3, "S": 1}


@pytest.mark.parametrize(
    ("file", "edit", "needles"),
    [
        ("arch", lambda t: t.replace("block-size: 1", "block-size: 4", 1), ["arch.yaml", "block-size"]),
        ("arch", lambda t: t.replace("word-bits: 16\n    block", "word-bits: 16\n    num-banks: 2\n    block", 1),
         ["arch.yaml", "num-banks"]),
        ("mapping", lambda t: t.replace("type: temporal", "type: sequential", 1), ["mapping.yaml", "type"]),
        ("mapping", lambda t: t.replace("target: RF", "target: L9", 1), ["mapping.yaml", "target", "L9"]),
        ("mapping", lambda t: t.replace("factors: N1", "factors: X1", 1), ["mapping.yaml", "factors"]),
        ("problem", lambda t: t.replace("cnn-layer", "my-shape"), ["problem.yaml", "problem.shape"]),
        ("problem", lambda t: t.replace("N: 1", "N: 1, G: 2"), ["problem.yaml", "G"]),
        ("ERT", lambda t: t.replace("random_fill", "random_write"), ["ERT.yaml", "random_fill"]),
        ("ERT", lambda t: t.replace("System.mac", "System.alu"), ["ERT.yaml", "mac"]),
        ("arch", lambda t: "architecture:\n  version: 0.3\n", ["arch.yaml", "architecture"]),
        ("arch", lambda t: "arch: [\n", ["arch.yaml", "malformed YAML"]),
    ],
)
def test_bad_timeloop_input_is_one_line(tmp_path: Path, file: str, edit, needles: list[str]) -> None:
    folder = _good_inputs(tmp_path)
    path = folder / f"{file}.yaml"
    path.write_text(edit(path.read_text()))
    res = runner.invoke(app, ["import", "timeloop", str(folder), "--out", str(tmp_path / "out")])
    assert_user_error(res, *needles)
    with pytest.raises(CosearchError):
        from cosearch.interop.timeloop import import_timeloop_files

        import_timeloop_files([folder])


def test_import_missing_file_and_export_errors(tmp_path: Path) -> None:
    folder = _good_inputs(tmp_path)
    (folder / "ERT.yaml").unlink()
    assert_user_error(runner.invoke(app, ["import", "timeloop", str(folder)]), "ERT")
    # export: grouped layers have no cnn-layer form; no arch/mapping given
    arch = tmp_path / "arch.json"
    arch.write_text(json.dumps(_SMALL_ARCH))
    mapping = tmp_path / "m.json"
    mapping.write_text(json.dumps({"levels": [{"level": "DRAM", "temporal": {"G": 2, "K": 4}}]}))
    res = runner.invoke(app, ["export", "timeloop", "--arch", str(arch), "--shape", "G=2 K=4", "--mapping",
                              str(mapping), "--out", str(tmp_path / "o")])
    assert_user_error(res, "G=2")
    assert_user_error(runner.invoke(app, ["export", "timeloop", "--out", str(tmp_path / "o")]), "--arch")
    assert_user_error(runner.invoke(app, ["export", "timeloop", "--study", "nope", "--storage",
                                          f"sqlite:///{tmp_path / 'none.db'}", "--out", str(tmp_path / "o")]),
                      "no study store")


def test_spatial_dim_on_both_axes_is_rejected() -> None:
    arch = arch_from_reference(_SMALL_ARCH)
    m = mapping_from_data({"levels": [{"level": "DRAM", "spatial": {"X": {"K": 2}, "Y": {"K": 2}}}]}, "m")
    with pytest.raises(CosearchError, match="both mesh axes"):
        to_timeloop(arch, Layer(K=4), m)


def test_no_link_transfer_round_trip() -> None:
    arch = arch_from_reference(_SMALL_ARCH)
    m = mapping_from_data({"levels": [{"level": "DRAM", "temporal": {"K": 2},
                                       "spatial": {"X": {"K": 2}, "permutation_X": "K"}}]}, "m")
    files = to_timeloop(arch, Layer(K=4), m, no_link_transfer=True)
    assert "no_link_transfer: [Weights, Inputs, Outputs]" in files["mapping"]
    _, _, back = from_timeloop(files["arch"], files["problem"], files["mapping"], files["ERT"])
    assert back.source.endswith(NO_LINK_TRANSFER)
    assert to_timeloop(arch, Layer(K=4), back)["mapping"] == files["mapping"]
    assert "no_link_transfer" not in to_timeloop(arch, Layer(K=4), m)["mapping"]


# ---- what the export writes and the import reads is checked -----------------------------------------

def test_export_refuses_a_mapping_that_does_not_fit_with_the_reasons_eval_gives(tmp_path: Path) -> None:
    arch = arch_from_reference(json.loads(json.dumps(_SMALL_ARCH)))
    cases = [  # (mapping levels, layer, what eval says)
        ([{"level": "DRAM", "temporal": {"K": 4, "C": 2, "P": 4, "R": 3}}], Layer(name="l", K=4, C=3, P=4, R=3),
         "factors of C multiply to 2, layer has 3"),
        ([{"level": "DRAM", "temporal": {"K": 2}, "spatial": {"X": {"K": 4}}}], Layer(name="l", K=8),
         "spatial X factors multiply to 4, the mesh has 2 columns"),
        ([{"level": "RF", "temporal": {"C": 100}}], Layer(name="l", C=100), "the tiles kept at RF need"),
    ]
    arch_file = tmp_path / "arch.json"
    arch_file.write_text(arch.model_dump_json())
    for i, (levels, layer, reason) in enumerate(cases):
        m = mapping_from_data({"levels": levels}, "m")
        with pytest.raises(CosearchError, match=reason):
            to_timeloop(arch, layer, m, source="m")
        path = tmp_path / f"m{i}.json"
        path.write_text(json.dumps({"levels": levels}))
        shape = layer.shape_text()
        for command in (["eval"], ["export", "timeloop", "--out", str(tmp_path / f"o{i}")]):
            res = runner.invoke(app, [*command, "--arch", str(arch_file), "--shape", shape, "--mapping", str(path)])
            assert_user_error(res, str(path), reason)
        assert not (tmp_path / f"o{i}").exists()  # nothing written


@pytest.mark.parametrize("key, old, new, needle", [
    ("arch", "entries: 64", "entries: 99999999999999999999", "at most 2**62"),
    ("arch", "instances: 4", "instances: .inf", "expected an integer >= 1"),
    ("arch", "word-bits: 16", "word-bits: .nan", "expected an integer >= 1"),
    ("ERT", "energy: 1.5", "energy: .inf", "expected a finite number >= 0"),
    ("ERT", "energy: 1.5", "energy: .nan", "expected a finite number >= 0"),
    ("ERT", "energy: 1.5", "energy: 1.0e+300", "less than or equal to 1000000000000000"),
    ("problem", "K: 4", "K: 4611686018427387904", "too large"),
])
def test_import_refuses_what_cosearch_cannot_represent(tmp_path: Path, key: str, old: str, new: str,
                                                        needle: str) -> None:
    folder = _good_inputs(tmp_path)
    path = folder / f"{key}.yaml"
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))
    res = runner.invoke(app, ["import", "timeloop", str(folder), "--out", str(tmp_path / "out")])
    assert_user_error(res, needle)
    assert not (tmp_path / "out").exists()


def test_import_of_an_invalid_mapping_warns(tmp_path: Path) -> None:
    folder = _good_inputs(tmp_path)
    path = folder / "problem.yaml"
    path.write_text(path.read_text().replace("C: 2", "C: 3"))
    res = runner.invoke(app, ["import", "timeloop", str(folder), "--out", str(tmp_path / "out")])
    assert res.exit_code == 0, res.stderr
    warnings = [line for line in res.stderr.splitlines() if line.startswith("warning:")]
    assert warnings == ["warning: the imported mapping: factors of C multiply to 2, layer has 3; "
                        "cosearch eval will refuse it"]
