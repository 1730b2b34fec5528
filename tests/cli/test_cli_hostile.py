"""Hostile and extreme input across commands (issue #19's table): each gets one ``error:`` line and
exit status 2, nothing is written, and YAML is read safely everywhere."""

from __future__ import annotations

import json
import time
from importlib import resources
from pathlib import Path

import pytest

from conftest import REPO, assert_user_error, run
from cosearch.study import Storage

SIMPLE = resources.files("cosearch.arch").joinpath("presets", "simple-64.yaml").read_text()
MAPPING_3X3 = REPO / "examples" / "mappings" / "eyeriss168_resnet_conv3x3.json"


def _arch_file(tmp_path: Path, old: str, new: str, name: str = "a.yaml") -> Path:
    assert old in SIMPLE
    path = tmp_path / name
    path.write_text(SIMPLE.replace(old, new, 1))
    return path


@pytest.mark.parametrize("value, needle", [
    ("1.0e+30", "levels.1.size_words"),  # a YAML float
    ("4611686018427387905", "levels.1.size_words: Input should be less than or equal to 4611686018427387904"),
    ("99999999999999999999999999999999", "levels.1.size_words"),
])
def test_huge_arch_size_is_refused(tmp_path: Path, value: str, needle: str) -> None:
    arch = _arch_file(tmp_path, "size_words: 32768", f"size_words: {value}")
    res = run("map", "--arch", arch, "--shape", "K=16 C=16", "--budget", 10, "--out", tmp_path / "o", "--no-report")
    assert_user_error(res, str(arch), needle)
    assert not (tmp_path / "o").exists()


def test_huge_arch_size_in_json_is_refused(tmp_path: Path) -> None:
    import yaml

    data = yaml.safe_load(SIMPLE)
    data["levels"][1]["size_words"] = 1e30
    path = tmp_path / "a.json"
    path.write_text(json.dumps(data))
    assert_user_error(run("eval", "--arch", path, "--shape", "K=2", "--mapping", MAPPING_3X3),
                      "a.json: field levels.1.size_words")


@pytest.mark.parametrize("shape", ["K=1000000000000000000000000000000", "K=4611686018427387905"])
def test_huge_inline_shape_is_refused(tmp_path: Path, shape: str) -> None:
    res = run("map", "--arch", "simple-64", "--shape", shape, "--budget", 10, "--out", tmp_path / "o", "--no-report")
    assert_user_error(res, f"shape '{shape}': K: must be at most 2**62 = 4,611,686,018,427,387,904")
    assert not (tmp_path / "o").exists()


def test_inline_shape_beyond_int64_work_is_refused(tmp_path: Path) -> None:
    res = run("map", "--arch", "simple-64", "--shape", "K=1000000 C=1000000 P=10000000", "--budget", 10,
              "--out", tmp_path / "o", "--no-report")
    assert_user_error(res, "too large", "exceeds 2**62")


@pytest.mark.parametrize("value", [".inf", "-.inf", ".nan", "1.0e+300"])
def test_non_finite_energy_is_refused(tmp_path: Path, value: str) -> None:
    arch = _arch_file(tmp_path, "{read: 6, fill: 6", f"{{read: {value}, fill: 6")
    for args in (["map", "--shape", "K=16 C=16", "--budget", 10, "--out", tmp_path / "o", "--no-report"],
                 ["eval", "--shape", "K=2", "--mapping", MAPPING_3X3]):
        assert_user_error(run(*args, "--arch", arch), str(arch), "levels.1.energy_pj.read")
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("value", [".inf", "0.0", "1.0e-300"])
def test_bad_bandwidth_is_refused(tmp_path: Path, value: str) -> None:
    arch = _arch_file(tmp_path, "    energy_pj: {read: 6, fill: 6, update: 6}",
                      f"    energy_pj: {{read: 6, fill: 6, update: 6}}\n    bandwidth: {{read: {value}}}")
    assert_user_error(run("eval", "--arch", arch, "--shape", "K=2", "--mapping", MAPPING_3X3),
                      "levels.1.bandwidth.read")


@pytest.mark.parametrize("k", ["100000000000000000000", "4611686018427387905"])
def test_huge_workload_dimension_is_refused(tmp_path: Path, k: str) -> None:
    path = tmp_path / "w.yaml"
    path.write_text(f"name: w\nlayers:\n  - {{name: a, K: {k}, C: 3}}\n")
    for args in (["workload", "show", path],
                 ["map", "--arch", "simple-64", "--workload", path, "--budget", 10, "--out", tmp_path / "o"]):
        assert_user_error(run(*args), "w.yaml: layers[0].K: must be at most 2**62")


def test_workload_whose_work_overflows_int64_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "w.yaml"
    path.write_text("name: w\nlayers:\n  - {name: a, K: 1000000000, C: 1000000000, P: 1000}\n")
    assert_user_error(run("workload", "show", path), "w.yaml: layers[0]: too large", "exceeds 2**62")


@pytest.mark.parametrize("option, value", [("--budget", 2**62 + 1), ("--seed", 2**63), ("--jobs", 2**70)])
def test_huge_numeric_options_are_refused(tmp_path: Path, option: str, value: int) -> None:
    res = run("map", "--arch", "simple-64", "--shape", "K=4", option, value, "--out", tmp_path / "o", "--no-report")
    assert_user_error(res, f"{option} must be at most 2**62")


@pytest.mark.parametrize("option, value", [("--hw-budget", 2**62 + 1), ("--mapper-budget", 2**64),
                                           ("--seed", 2**63)])
def test_huge_codesign_options_are_refused(tmp_path: Path, option: str, value: int) -> None:
    res = run("codesign", "--workload", "dqn", option, value, "--out", tmp_path / "o", "--no-report")
    assert_user_error(res, f"{option} must be at most 2**62")
    assert not (tmp_path / "o").exists()


def test_export_timeloop_refuses_a_mapping_of_another_layer(tmp_path: Path) -> None:
    """The table's row: a 3×3 layer's mapping exported for resnet18's 7×7 conv1; eval says the same."""
    args = ["--arch", "eyeriss-168", "--workload", "resnet18", "--layer", "conv1", "--mapping", MAPPING_3X3]
    line = assert_user_error(run("export", "timeloop", *args, "--out", tmp_path / "tl"),
                             str(MAPPING_3X3), "multiply to", "layer has")
    assert not (tmp_path / "tl").exists()
    assert assert_user_error(run("eval", *args)) == line


def test_study_work_on_a_missing_study_fails_at_once(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    # no --storage and no default store: says so at once, creates nothing
    assert_user_error(run("study", "work", "nope-study"), "no study store at cosearch-out/studies.db")
    assert not (tmp_path / "cosearch-out").exists()
    # a store without that study: at once, naming the studies there and --wait
    Storage(f"sqlite:///{tmp_path / 'cosearch-out' / 'studies.db'}").create_study("other", {"seed": 0})
    started = time.monotonic()
    assert_user_error(run("study", "work", "nope-study"), "no study named 'nope-study'",
                      "(studies there: other)", "give --wait SECONDS")
    assert time.monotonic() - started < 10
    # an explicit --wait waits that long, then fails
    started = time.monotonic()
    line = assert_user_error(run("study", "work", "nope-study", "--wait", "0.5", "--poll", "0.1", "--json"),
                             "no study named 'nope-study'")
    assert 0.5 <= time.monotonic() - started < 10 and "--wait" not in line
    for bad in ("-1", "nan", "inf"):
        assert_user_error(run("study", "work", "nope-study", "--wait", bad), "--wait")


@pytest.mark.parametrize("storage", ["not a url", "runs/study.db", "some-dir"])
def test_storage_that_is_neither_url_nor_path_is_refused(tmp_path: Path, monkeypatch, storage: str) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "some-dir").mkdir()
    for args in (["study", "list"], ["study", "work", "s"],
                 ["codesign", "--workload", "dqn", "--hw-budget", 1, "--out", tmp_path / "o", "--no-report"]):
        assert_user_error(run(*args, "--storage", storage), f"storage {storage!r}", "sqlite:///")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["some-dir"]  # nothing created


def test_new_sqlite_file_in_an_existing_directory_is_a_store(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "runs").mkdir()
    for name in ("runs/study.db", "runs/study.sqlite", "runs/study.sqlite3"):
        res = run("study", "list", "--storage", name)
        assert res.exit_code == 0 and "no studies in sqlite:///" in res.stdout, res.stderr
    Storage("runs/made.db").create_study("s", {"seed": 0})
    assert (tmp_path / "runs" / "made.db").is_file()
    assert "s" in run("study", "list", "--storage", "runs/made.db").stdout


UNSAFE_YAML = "!!python/object/apply:os.system ['echo pwned > {marker}']\n"


def test_yaml_python_tags_are_refused_everywhere(tmp_path: Path) -> None:
    """Every YAML reader is a safe loader: a ``!!python/...`` tag is an error, never run."""
    marker = tmp_path / "pwned"
    bad = tmp_path / "bad.yaml"
    bad.write_text(UNSAFE_YAML.format(marker=marker))
    nested = tmp_path / "nested.yaml"
    nested.write_text("name: x\nlayers:\n  - !!python/object:cosearch.workload.layer.Layer {K: 2}\n")
    tl = tmp_path / "tl"
    tl.mkdir()
    (tl / "arch.yaml").write_text("arch: !!python/object/apply:os.system ['echo pwned > " + str(marker) + "']\n")
    for args in (
        ["eval", "--arch", bad, "--shape", "K=2", "--mapping", MAPPING_3X3],
        ["eval", "--arch", "simple-64", "--shape", "K=2", "--mapping", bad],
        ["workload", "show", bad],
        ["workload", "show", nested],
        ["map", "--arch", "simple-64", "--shape", "K=2", "--constraints", bad, "--out", tmp_path / "o"],
        ["codesign", "--workload", "dqn", "--hw-space", bad, "--out", tmp_path / "o"],
        ["import", "timeloop", tl, "--out", tmp_path / "o"],
    ):
        assert_user_error(run(*args), "python/object")
    assert not marker.exists()
