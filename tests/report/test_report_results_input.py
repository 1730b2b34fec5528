"""A ``cosearch map`` results directory read as a report source: a damaged ``results.json`` is a
one-line error naming the file and the field, never a crash (regressions found by the fuzz harness)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cosearch.errors import CosearchError
from cosearch.mappers.network import map_network
from cosearch.report.sources.resolve import resolve_sources
from cosearch.workload.layer import Layer


@pytest.fixture(scope="module")
def results(tmp_path_factory) -> dict:
    out = tmp_path_factory.mktemp("run")
    map_network("simple-64", Layer(name="small", K=8, C=4, P=6, Q=6, R=3, S=3), optimizer="random", budget=20,
                out_dir=out)
    return json.loads((out / "results.json").read_text())


def _read(tmp_path: Path, data) -> object:
    run = tmp_path / "run"
    run.mkdir(exist_ok=True)
    text = data if isinstance(data, bytes) else json.dumps(data).encode()
    (run / "results.json").write_bytes(text)
    (source,) = resolve_sources([str(run)])
    return source


def test_intact_results_are_read(tmp_path: Path, results: dict) -> None:
    source = _read(tmp_path, results)
    assert source.design.energy_pj == pytest.approx(results["total"]["energy_pj"])


def _layer(results: dict, **change) -> dict:
    return {**results, "layers": [{**results["layers"][0], **change}]}


@pytest.mark.parametrize("change, needle", [
    (lambda r: _layer(r, energy_pj=-1e9), "layers[0].energy_pj must be null or a finite number >= 0"),
    (lambda r: _layer(r, cycles="12"), "layers[0].cycles must be null or a finite number >= 0"),
    (lambda r: _layer(r, count=[2]), "layers[0].count must be an integer"),
    (lambda r: _layer(r, mapping="m.json"), "layers[0].mapping must be an object or null"),
    (lambda r: {**r, "layers": [3]}, "layers[0] must be an object"),
    (lambda r: {**r, "layers": [{"energy_pj": 1}]}, "layers[0].name must be a layer name"),
    (lambda r: {**r, "arch_spec": {**r["arch_spec"], "levels": []}}, "arch_spec: an architecture needs"),
    (lambda r: {**r, "arch_spec": {**r["arch_spec"], "mac": {"instances": "x"}}}, "arch_spec: field mac.instances"),
    (lambda r: {**r, "layer_shapes": {"small": {"K": "many"}}}, "layer_shapes.small: field K"),
    (lambda r: {**r, "layer_shapes": {"small": 5}}, "layer_shapes.small must be an object"),
    (lambda r: {**r, "total": [1]}, "total must be an object"),
    (lambda r: _layer(r, loop_nest=[{**r["layers"][0]["loop_nest"][0], "tile_words": {}}]),
     "layers[0].loop_nest[0]: tile_words has no size for kept Weights"),
    (lambda r: _layer(r, loop_nest=[{**r["layers"][0]["loop_nest"][0], "loops": [{"dim": 7, "bound": 2,
                                                                              "kind": "temporal"}]}]),
     "layers[0].loop_nest[0]: loops[0].dim"),
    (lambda r: _layer(r, loop_nest=[{**r["layers"][0]["loop_nest"][0], "loops": [{"dim": "P", "bound": 0,
                                                                              "kind": "temporal"}]}]),
     "layers[0].loop_nest[0]: loops[0].bound"),
    (lambda r: _layer(r, loop_nest=["x"]), "layers[0].loop_nest[0]"),
    (lambda r: {**r, "total": {**r["total"], "edp": float("nan")}}, "total.edp must be null or a finite number"),
])
def test_damaged_results_are_named(tmp_path: Path, results: dict, change, needle: str) -> None:
    with pytest.raises(CosearchError) as info:
        _read(tmp_path, change(results))
    message = str(info.value)
    assert "results.json" in message and needle in message and "\n" not in message


def test_results_that_are_not_text(tmp_path: Path) -> None:
    with pytest.raises(CosearchError, match="results.json: not a text file"):
        _read(tmp_path, b"\xff\xfe{}")
