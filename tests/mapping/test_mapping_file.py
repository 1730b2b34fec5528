"""The mapping file format (``cosearch.mapping.mapping``): loop orders, temporal and spatial, are
checked when a file is read, so a bad one is a one-line error naming the field."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import assert_user_error, run
from cosearch.errors import CosearchError
from cosearch.mapping.mapping import load_mapping

DIMS = {"K": 8, "C": 4, "P": 6, "Q": 6, "R": 3, "S": 3}
SHAPE = " ".join(f"{k}={v}" for k, v in DIMS.items())


def _mapping(**spatial) -> dict:
    return {"levels": [{"level": "DRAM", "temporal": DIMS, "permutation": "KCPQRS"},
                       {"level": "GLB", "spatial": {"X": {}, "Y": {}, **spatial}}]}


@pytest.mark.parametrize("field, order", [("permutation_X", "NaN"), ("permutation_Y", "KK")])
def test_a_bad_spatial_loop_order_is_named(tmp_path: Path, field: str, order: str) -> None:
    path = tmp_path / "m.json"
    path.write_text(json.dumps(_mapping(**{field: order})))
    with pytest.raises(CosearchError, match=f"{path}: field levels.1.spatial.{field}: "):
        load_mapping(path)
    assert_user_error(run("eval", "--arch", "simple-64", "--shape", SHAPE, "--mapping", path), field)


def test_good_spatial_loop_orders_still_load(tmp_path: Path) -> None:
    path = tmp_path / "m.json"
    path.write_text(json.dumps(_mapping(permutation_X="KC", permutation_Y="")))
    assert load_mapping(path).levels[1].spatial.permutation_X == "KC"
