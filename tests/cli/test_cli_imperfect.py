"""The CLI's --factorization / --max-padding: `eval` accepts over-covering mappings under imperfect
factorization and refuses under-covering or over-padded ones, `export timeloop` refuses them, `map`
and `codesign` take the switch."""

from __future__ import annotations

import inspect
import json
from pathlib import Path

import numpy as np
import pytest

from conftest import assert_user_error, last_json, run
from cosearch.arch.io import load_arch
from cosearch.dims import DIM_INDEX
from cosearch.mapping.space import MapSpace
from cosearch.model.evaluate import evaluate
from cosearch.workload.layer import Layer

SHAPE = "K=13 C=7 P=20 Q=20 R=3 S=3"
LAYER = Layer(name="layer", K=13, C=7, P=20, Q=20, R=3, S=3)

needs_imperfect_model = pytest.mark.skipif(
    "factorization" not in inspect.signature(evaluate).parameters,
    reason="needs the cost model's imperfect factorization (evaluate(..., factorization=))")


def _mapping_file(tmp_path: Path, p_outer: int, p_inner: int, name: str = "m.json") -> Path:
    """A valid mapping of LAYER on eyeriss-168 with P split as ``p_outer`` (outermost) × ``p_inner``
    (the level below): a perfect sample with its P factors replaced."""
    arch = load_arch("eyeriss-168")
    m = MapSpace(arch, LAYER).sample(1, seed=0)
    P = DIM_INDEX["P"]
    m.temporal[0, :, P] = 1
    m.spatial_x[0, :, P] = 1
    m.spatial_y[0, :, P] = 1
    m.temporal[0, 0, P] = p_outer
    m.temporal[0, 1, P] = p_inner
    path = tmp_path / name
    path.write_text(json.dumps(m.to_mapping(0, arch).model_dump(mode="json")))
    return path


def test_eval_refuses_under_cover(tmp_path: Path) -> None:
    path = _mapping_file(tmp_path, 3, 6)  # 18 < 20
    assert_user_error(run("eval", "-a", "eyeriss-168", "--shape", SHAPE, "-m", path, "--factorization", "imperfect"),
                      str(path), "factors of P multiply to 18, less than the layer's 20")


def test_eval_refuses_padding_over_the_cap(tmp_path: Path) -> None:
    path = _mapping_file(tmp_path, 2, 13)  # 26 > 1.25 · 20
    assert_user_error(run("eval", "-a", "eyeriss-168", "--shape", SHAPE, "-m", path, "--factorization", "imperfect"),
                      str(path), "factors of P multiply to 26", "padding cap 0.25", "at most 25")
    assert_user_error(run("eval", "-a", "eyeriss-168", "--shape", SHAPE, "-m", path, "--factorization", "imperfect",
                          "--max-padding", "0.2"), "padding cap 0.2", "at most 24")


def test_eval_perfect_refuses_over_cover(tmp_path: Path) -> None:
    path = _mapping_file(tmp_path, 3, 7)
    assert_user_error(run("eval", "-a", "eyeriss-168", "--shape", SHAPE, "-m", path),
                      "factors of P multiply to 21, layer has 20")


@pytest.mark.parametrize("args, needles", [
    (["--max-padding", "0.3"], ["--max-padding needs --factorization imperfect"]),
    (["--factorization", "ceil"], ["factorization must be one of perfect, imperfect", "'ceil'"]),
    (["--factorization", "imperfect", "--max-padding", "2"], ["max padding must be at most 1"]),
    (["--factorization", "imperfect", "--max-padding", "-1"], ["max padding must be >= 0"]),
])
def test_bad_switches(args: list[str], needles: list[str], tmp_path: Path) -> None:
    path = _mapping_file(tmp_path, 1, 20)
    assert_user_error(run("eval", "-a", "eyeriss-168", "--shape", SHAPE, "-m", path, *args), *needles)
    assert_user_error(run("map", "-a", "eyeriss-168", "--shape", SHAPE, "-n", "10", "--out", tmp_path / "o", *args),
                      *needles)


def test_export_timeloop_refuses_imperfect(tmp_path: Path) -> None:
    path = _mapping_file(tmp_path, 3, 7)
    assert_user_error(run("export", "timeloop", "-o", tmp_path / "tl", "-a", "eyeriss-168", "--shape", SHAPE,
                          "-m", path), str(path), "cannot export to Timeloop", "factors of P multiply to 21",
                      "issue #300")
    assert not (tmp_path / "tl").exists()
    ok = _mapping_file(tmp_path, 4, 5, "ok.json")
    assert run("export", "timeloop", "-o", tmp_path / "tl2", "-a", "eyeriss-168", "--shape", SHAPE,
               "-m", ok).exit_code == 0


@needs_imperfect_model
def test_eval_accepts_over_cover_under_imperfect(tmp_path: Path) -> None:
    path = _mapping_file(tmp_path, 3, 7)  # 21 >= 20
    res = run("eval", "-a", "eyeriss-168", "--shape", SHAPE, "-m", path, "--factorization", "imperfect", "--json")
    assert res.exit_code == 0, res.stderr
    data = last_json(res.stdout)
    assert data["valid"] and data["macs"] == LAYER.macs
    text = run("eval", "-a", "eyeriss-168", "--shape", SHAPE, "-m", path, "--factorization", "imperfect")
    assert "remainder tiles: P 7 (last 6)" in text.stdout


@needs_imperfect_model
def test_map_imperfect_records_the_switch(tmp_path: Path) -> None:
    res = run("map", "-a", "eyeriss-168", "--shape", SHAPE, "-n", "400", "--factorization", "imperfect",
              "--max-padding", "0.5", "--out", tmp_path / "o", "--json", "--no-report")
    assert res.exit_code == 0, res.stderr
    data = last_json(res.stdout)
    assert data["factorization"] == "imperfect" and data["max_padding"] == 0.5
    assert json.loads((tmp_path / "o" / "results.json").read_text())["factorization"] == "imperfect"
    layer = data["layers"][0]
    # the mapping file written is one `eval --factorization imperfect` accepts, at the same cost
    mapping = [f for f in sorted((tmp_path / "o").glob("*.json")) if f.name != "results.json"][0]
    ev = run("eval", "-a", "eyeriss-168", "--shape", SHAPE, "-m", mapping, "--factorization", "imperfect",
             "--max-padding", "0.5", "--json")
    assert ev.exit_code == 0, ev.stderr
    assert np.isclose(last_json(ev.stdout)["edp"], layer["edp"], rtol=1e-12)
    perfect = last_json(run("map", "-a", "eyeriss-168", "--shape", SHAPE, "-n", "400", "--out", tmp_path / "p",
                            "--json", "--no-report").stdout)
    assert "factorization" not in perfect  # perfect runs write the JSON they always did
