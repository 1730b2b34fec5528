"""Mapspace constraints: the file format, named dataflows, constrained sampling and mutation, ``allows``,
and errors for unsatisfiable or malformed constraints."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from conftest import REPO
from cosearch.arch.io import load_arch
from cosearch.arch.spec import Arch
from cosearch.dims import DIM_INDEX, DIMS, DS_INDEX, NUM_DIMS
from cosearch.errors import CosearchError
from cosearch.mappers.layer import map_layer
from cosearch.mapping.constraints import (
    DATAFLOWS,
    Constraints,
    constraints_from_data,
    dataflow_constraints,
    load_constraints,
    resolve_constraints,
)
from cosearch.mapping.mapping import Mappings
from cosearch.mapping.moves import MoveSet
from cosearch.mapping.space import MapSpace
from cosearch.model.evaluate import evaluate
from cosearch.workload.layer import Layer
from cosearch.workload.zoo import resnet18

EXAMPLES = REPO / "examples" / "constraints"
RESNET = Layer(name="res3x3", K=64, C=64, P=56, Q=56, R=3, S=3)
RESNET18 = list(resnet18())
ARCHS = ["eyeriss-168", "simple-64"]


@pytest.fixture(scope="module")
def archs() -> dict[str, Arch]:
    return {name: load_arch(name) for name in ARCHS + ["eyeriss-256"]}


def _space(arch: Arch, layer: Layer, items: list[dict], **kw) -> MapSpace:
    return MapSpace(arch, layer, constraints=load_constraints({"constraints": items, **kw}, arch))


def _check_valid(space: MapSpace, m: Mappings) -> None:
    costs = evaluate(space.arch, space.layer, m)
    assert costs.valid.all(), {costs.reason_text(i) for i in np.flatnonzero(~costs.valid)[:5]}
    assert space.allows(m).all(), {k: int(v.sum()) for k, v in space.constraint_violations(m).items()}
    assert space.is_valid(m).all()


def _one_line(err: pytest.ExceptionInfo) -> str:
    text = str(err.value)
    assert "\n" not in text
    return text


# ---- the format ------------------------------------------------------------------------------
def test_parse_factor_forms_and_aliases(archs: dict[str, Arch]) -> None:
    a = constraints_from_data(
        {"constraints": [{"type": "temporal", "target": "RF", "factors": "R=3, S=0 M=1", "permutation": "S R"}]},
        "a.yaml",
    )
    item = a.constraints[0]
    assert item.factors == {"R": 3, "S": 0, "K": 1} and item.permutation == "SR"
    b = constraints_from_data([{"type": "temporal", "target": "RF", "factors": {"R": 3, "S": 0, "M": 1}}], "b.yaml")
    assert b.constraints[0].factors == item.factors
    c = constraints_from_data({"targets": [{"type": "utilization", "min": 0.5}]}, "c.yaml")
    assert c.constraints[0].min == 0.5
    # Timeloop writes loop orders inner -> outer
    d = constraints_from_data(
        {"permutation_order": "inner_to_outer",
         "constraints": [{"type": "temporal", "target": "RF", "permutation": "NMPQS CR"}]}, "d.yaml")
    assert d.constraints[0].permutation == "RCSQPKN"


def test_timeloop_eyeriss_like_file_equals_named_dataflow(archs: dict[str, Arch], tmp_path: Path) -> None:
    """Timeloop's eyeriss_like constraints, transcribed with M and inner -> outer orders, resolve to the
    same requirements as the row-stationary dataflow on eyeriss-168."""
    path = tmp_path / "eyeriss_like.yaml"
    path.write_text(
        "permutation_order: inner_to_outer\n"
        "constraints:\n"
        "  - {type: spatial, target: GLB, x_dims: [Q, M], y_dims: [S, C, M], y_factors: 'S=0'}\n"
        "  - {type: temporal, target: psum_spad, permutation: 'NCPQRS M', factors: 'N=1 C=1 R=1 S=1 P=1 Q=1 G=1'}\n"
        "  - {type: temporal, target: weights_spad, permutation: 'NMPQS CR', factors: 'N=1 M=1 P=1 Q=1 S=1 R=0 G=1'}\n"
        "  - {type: temporal, target: ifmap_spad, factors: 'N=1 M=1 C=1 P=1 Q=1 R=1 S=1 G=1'}\n"
    )
    arch = archs["eyeriss-168"]
    mine = resolve_constraints(load_constraints(path, arch), arch, RESNET)
    named = resolve_constraints(load_constraints("row-stationary", arch), arch, RESNET)
    assert (mine.req == named.req).all()
    # only dims with factors > 1 matter: R outside C at weights_spad (as in the dataflow), K at psum_spad
    w, o = arch.level_index("weights_spad"), arch.level_index("psum_spad")
    assert mine.perm[w].index(DIM_INDEX["R"]) < mine.perm[w].index(DIM_INDEX["C"])
    assert named.perm[w] == [DIM_INDEX["R"], DIM_INDEX["C"]] and DIM_INDEX["K"] in mine.perm[o]


@pytest.mark.parametrize(
    "data, field, words",
    [
        ({"constraints": [{"type": "temporal", "target": "GLB", "factors": "R=3 X=2"}]}, "constraints[0].factors",
         "unknown dimension 'X'"),
        ({"constraints": [{"type": "temporal", "target": "GLB", "factors": {"R": -1}}]}, "constraints[0].factors",
         ">= 0"),
        ({"constraints": [{"type": "temporal", "target": "GLB", "factor": {"R": 3}}]}, "constraints[0].factor",
         "Extra inputs"),
        ({"constraints": [{"type": "temporal", "target": "GLB", "permutation": "RR"}]},
         "constraints[0].permutation", "twice"),
        ({"constraints": [{"type": "bypas", "target": "GLB"}]}, "constraints", "unknown type 'bypas'"),
        ({"constraints": [{"target": "GLB"}]}, "constraints", "no 'type'"),
        ({"constraints": [{"type": "utilization", "min": 1.5}]}, "constraints[0].min", "less than or equal to 1"),
        ({"constraints": [{"type": "bypass", "target": "GLB", "keep": ["Weights"], "bypass": ["Weights"]}]},
         "constraints[0]", "both kept and bypassed"),
        ({"constraints": [{"type": "bypass", "target": "GLB", "keep": ["Psums"]}]}, "constraints[0].keep",
         "unknown data space"),
        ({"constraints": [{"type": "spatial", "x_dims": ["Q"], "x_factors": {"K": 2}}]}, "constraints[0]",
         "x_dims does not list K"),
        ({"constraints": [{"type": "spatial", "permutation": "NCPRSQM", "split": 7}]}, "constraints[0]",
         "x_dims/y_dims"),
        ({"constraints": [], "dataflow": "zig-zag"}, "dataflow", "unknown dataflow"),
        ({"constraints": [], "colour": "red"}, "colour", "Extra inputs"),
    ],
)
def test_malformed_files_name_file_and_field(tmp_path: Path, archs: dict[str, Arch], data: dict, field: str,
                                             words: str) -> None:
    import yaml

    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(CosearchError) as err:
        load_constraints(path, archs["simple-64"])
    text = _one_line(err)
    assert text.startswith(f"{path}: {field}"), text
    assert words in text, text


@pytest.mark.parametrize(
    "items, words",
    [
        ([{"type": "temporal", "target": "GLB2", "factors": {"R": 3}}], "constraints[0].target: unknown level 'GLB2'"),
        ([{"type": "spatial", "target": "RF", "x_dims": ["K"]}], "constraints[0].target: spatial constraints go on"),
        ([{"type": "bypass", "target": "DRAM", "bypass": ["Weights"]}], "constraints[0].bypass: level DRAM always"),
        ([{"type": "temporal", "target": "RF", "factors": {"R": 3}}, {"type": "temporal", "target": "RF",
          "factors": {"R": 1}}], "constraints[1]: R=1 contradicts R=3 in"),
        ([{"type": "temporal", "target": "RF", "factors": {"R": 0}}, {"type": "temporal", "target": "GLB",
          "factors": {"R": 0}}], "only one residual"),
        ([{"type": "bypass", "target": "RF", "keep": ["Weights"]}, {"type": "bypass", "target": "RF",
          "bypass": ["Weights"]}], "Weights at RF is bypassed here but kept"),
        ([{"type": "temporal", "target": "RF", "permutation": "RS"}, {"type": "temporal", "target": "RF",
          "permutation": "SR"}], "constraints[1].permutation"),
    ],
)
def test_arch_mismatches_name_file_and_item(tmp_path: Path, archs: dict[str, Arch], items: list, words: str) -> None:
    import yaml

    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump({"constraints": items}))
    with pytest.raises(CosearchError) as err:
        load_constraints(path, archs["simple-64"])
    text = _one_line(err)
    assert text.startswith(f"{path}: "), text
    assert words in text, text


def test_keep_what_the_level_cannot_hold(archs: dict[str, Arch]) -> None:
    with pytest.raises(CosearchError, match=r"constraints\[0\]\.keep: level weights_spad cannot keep Inputs"):
        load_constraints({"constraints": [{"type": "bypass", "target": "weights_spad", "keep": ["Inputs"]}]},
                         archs["eyeriss-168"])
    with pytest.raises(CosearchError, match="always keeps Weights"):
        load_constraints({"constraints": [{"type": "bypass", "target": "weights_spad", "bypass": ["Weights"]}]},
                         archs["eyeriss-168"])


def test_unknown_names_and_files(tmp_path: Path, archs: dict[str, Arch]) -> None:
    with pytest.raises(CosearchError, match="not a dataflow .*row-stationary.* and no such file"):
        load_constraints("zig-zag", archs["simple-64"])
    with pytest.raises(CosearchError, match="file not found"):
        load_constraints(tmp_path / "missing.yaml", archs["simple-64"])
    bad = tmp_path / "bad.yaml"
    bad.write_text("constraints: [ {type: temporal\n")
    with pytest.raises(CosearchError, match=f"{bad}: malformed YAML"):
        load_constraints(bad, archs["simple-64"])
    for alias, name in [("rs", "row-stationary"), ("WS", "weight-stationary"), ("output_stationary", "output-stationary"),
                        ("is", "input-stationary")]:
        assert load_constraints(alias, archs["simple-64"]).name == name


# ---- sampling honours every constraint kind ----------------------------------------------------
def test_temporal_factors_residual_and_permutation(archs: dict[str, Arch]) -> None:
    arch = archs["eyeriss-168"]
    items = [
        {"type": "temporal", "target": "weights_spad", "factors": {"R": 0, "K": 2, "S": 1}, "permutation": "RK"},
        {"type": "temporal", "target": "GLB", "factors": {"C": 4}, "permutation": "QPC"},
    ]
    space = _space(arch, RESNET, items)
    m = space.sample(3000, seed=1)
    _check_valid(space, m)
    w, g = arch.level_index("weights_spad"), arch.level_index("GLB")
    R, K, S, C = (DIM_INDEX[d] for d in "RKSC")
    assert (m.temporal[:, w, R] == 3).all() and (m.temporal[:, w, K] == 2).all() and (m.temporal[:, w, S] == 1).all()
    # R=0: all of R at weights_spad, so 1 everywhere else (temporal and spatial)
    others = [li for li in range(arch.num_levels) if li != w]
    assert (m.temporal[:, others, R] == 1).all()
    assert (m.spatial_x[:, :, R] == 1).all() and (m.spatial_y[:, :, R] == 1).all()
    assert (m.temporal[:, g, C] == 4).all()
    # the sampler places listed loops innermost, in order
    assert (m.order[:, w, R] == NUM_DIMS - 2).all() and (m.order[:, w, K] == NUM_DIMS - 1).all()
    for rank, d in zip((5, 6, 7), "QPC"):
        assert (m.order[:, g, DIM_INDEX[d]] == rank).all()
    # everything else still varies
    assert len({m.temporal[i].tobytes() for i in range(len(m))}) > 1000


def test_spatial_dims_and_factors(archs: dict[str, Arch]) -> None:
    arch = archs["eyeriss-168"]
    space = _space(arch, RESNET, [{"type": "spatial", "x_dims": ["Q", "K"], "y_dims": ["C", "S"],
                                   "x_factors": {"K": 2}, "y_factors": {"S": 3}}])
    m = space.sample(3000, seed=2)
    _check_valid(space, m)
    f = arch.fanout_level
    for d in DIMS:
        if d not in "QK":
            assert (m.spatial_x[:, f, DIM_INDEX[d]] == 1).all()
        if d not in "CS":
            assert (m.spatial_y[:, f, DIM_INDEX[d]] == 1).all()
    assert (m.spatial_x[:, f, DIM_INDEX["K"]] == 2).all() and (m.spatial_y[:, f, DIM_INDEX["S"]] == 3).all()
    assert (m.spatial_x[:, f, DIM_INDEX["Q"]] > 1).any() and (m.spatial_y[:, f, DIM_INDEX["C"]] > 1).any()


def test_bypass_keep_and_bypass(archs: dict[str, Arch]) -> None:
    arch = archs["simple-64"]
    space = _space(arch, RESNET, [{"type": "bypass", "target": "GLB", "keep": ["Weights"], "bypass": ["Inputs"]},
                                  {"type": "bypass", "target": "RF", "keep": ["Outputs"]}])
    m = space.sample(2000, seed=3)
    _check_valid(space, m)
    keep = space.effective_keep(m.keep)
    g, rf = arch.level_index("GLB"), arch.level_index("RF")
    assert keep[:, g, DS_INDEX["Weights"]].all() and not keep[:, g, DS_INDEX["Inputs"]].any()
    assert keep[:, rf, DS_INDEX["Outputs"]].all()
    assert 0.2 < keep[:, g, DS_INDEX["Outputs"]].mean() < 0.8  # unconstrained choices still vary
    assert 0.2 < keep[:, rf, DS_INDEX["Weights"]].mean() < 0.8


@pytest.mark.parametrize("preset, floor", [("eyeriss-168", 0.5), ("eyeriss-168", 0.8), ("simple-64", 0.75),
                                           ("eyeriss-256", 0.85)])
def test_utilization_floor_by_construction(archs: dict[str, Arch], preset: str, floor: float) -> None:
    arch = archs[preset]
    space = _space(arch, RESNET, [{"type": "utilization", "min": floor}])
    m = space.sample(2000, seed=4)
    _check_valid(space, m)
    f = arch.fanout_level
    pes = (m.spatial_x[:, f] * m.spatial_y[:, f]).prod(axis=1)
    assert (pes >= floor * arch.num_pes).all()
    assert len(np.unique(pes)) > 1
    assert evaluate(arch, RESNET, m).utilized_pes.min() >= floor * arch.num_pes


def test_utilization_floor_with_a_dataflow(archs: dict[str, Arch]) -> None:
    arch = archs["eyeriss-168"]
    for layer in RESNET18:
        space = MapSpace(arch, layer, constraints=load_constraints(
            {"dataflow": "row-stationary", "constraints": [{"type": "utilization", "min": 0.5}]}, arch))
        m = space.sample(300, seed=5)
        _check_valid(space, m)


def test_fixed_outermost_factor_by_rejection(archs: dict[str, Arch]) -> None:
    arch = archs["simple-64"]
    space = _space(arch, RESNET, [{"type": "temporal", "target": "DRAM", "factors": {"K": 4, "C": 1}}])
    m = space.sample(500, seed=6)
    _check_valid(space, m)
    assert (m.temporal[:, 0, DIM_INDEX["K"]] == 4).all() and (m.temporal[:, 0, DIM_INDEX["C"]] == 1).all()
    # DRAM K=0: the rest of K outermost, the other K slots 1
    space = _space(arch, RESNET, [{"type": "temporal", "target": "DRAM", "factors": {"K": 0}},
                                  {"type": "temporal", "target": "RF", "factors": {"K": 2}}])
    m = space.sample(200, seed=6)
    _check_valid(space, m)
    assert (m.temporal[:, 0, DIM_INDEX["K"]] == 32).all()


def test_empty_constraints_sample_like_no_constraints(archs: dict[str, Arch]) -> None:
    arch = archs["eyeriss-168"]
    plain = MapSpace(arch, RESNET).sample(500, seed=7)
    empty = MapSpace(arch, RESNET, constraints=Constraints()).sample(500, seed=7)
    for name in ("temporal", "spatial_x", "spatial_y", "order", "keep"):
        assert (getattr(plain, name) == getattr(empty, name)).all(), name
    assert MapSpace(arch, RESNET, constraints=Constraints()).allows(plain).all()
    assert MapSpace(arch, RESNET).allows(plain).all()


def test_string_and_unexpanded_constraints_accepted(archs: dict[str, Arch]) -> None:
    arch = archs["simple-64"]
    a = MapSpace(arch, RESNET, constraints="row-stationary").sample(100, seed=8)
    b = MapSpace(arch, RESNET, constraints=Constraints(dataflow="rs")).sample(100, seed=8)
    c = MapSpace(arch, RESNET, constraints=load_constraints("row-stationary", arch)).sample(100, seed=8)
    assert (a.temporal == b.temporal).all() and (a.temporal == c.temporal).all()


# ---- allows ------------------------------------------------------------------------------------
def test_allows_rejects_violations(archs: dict[str, Arch]) -> None:
    arch = archs["eyeriss-168"]
    items = [
        {"type": "temporal", "target": "weights_spad", "factors": {"R": 0}, "permutation": "RC"},
        {"type": "spatial", "x_dims": ["Q", "K"], "y_dims": ["S", "C", "K"]},
        {"type": "bypass", "target": "GLB", "bypass": ["Weights"]},
        {"type": "utilization", "min": 0.25},
    ]
    space = _space(arch, RESNET, items)
    m = space.sample(500, seed=9)
    _check_valid(space, m)
    w, f = arch.level_index("weights_spad"), arch.fanout_level
    R, C, K, P = (DIM_INDEX[d] for d in "RCKP")

    def broken(**changes: np.ndarray) -> Mappings:
        kw = {"temporal": m.temporal.copy(), "spatial_x": m.spatial_x.copy(), "spatial_y": m.spatial_y.copy(),
              "order": m.order.copy(), "keep": m.keep.copy()}
        kw.update(changes)
        return Mappings(**kw)

    t = m.temporal.copy()  # move R out of weights_spad
    t[:, w, R] = 1
    t[:, 0, R] *= 3
    assert not space.allows(broken(temporal=t)).any()
    assert space.constraint_violations(broken(temporal=t))["constraint:factors"].all()
    sx = m.spatial_x.copy()  # P spread over X
    t = m.temporal.copy()
    rows = t[:, 0, P] % 2 == 0
    t[rows, 0, P] //= 2
    sx[rows, f, P] *= 2
    bad = broken(temporal=t, spatial_x=sx)
    assert not space.allows(bad)[rows].any()
    assert space.constraint_violations(bad)["constraint:spatial"][rows].all()
    keep = m.keep.copy()  # keep weights in the GLB
    keep[:, f, 0] = True
    assert not space.allows(broken(keep=keep)).any()
    o = m.order.copy()  # C outside R at weights_spad where both loop
    both = (m.temporal[:, w, C] > 1) & (m.temporal[:, w, R] > 1)
    o[:, w, R], o[:, w, C] = m.order[:, w, C], m.order[:, w, R]
    assert both.any()
    assert not space.allows(broken(order=o))[both].any()
    assert space.constraint_violations(broken(order=o))["constraint:permutation"][both].all()
    # a fully unconstrained batch is mostly rejected, and is_valid/violations include the constraints
    free = MapSpace(arch, RESNET).sample(500, seed=10)
    assert space.allows(free).mean() < 0.05
    assert (space.is_valid(free) == (space.allows(free) & MapSpace(arch, RESNET).is_valid(free))).all()
    assert {"constraint:factors", "constraint:utilization"} <= set(space.violations(free))


def test_allows_ignores_order_of_factor_one_loops(archs: dict[str, Arch]) -> None:
    arch = archs["simple-64"]
    space = _space(arch, RESNET, [{"type": "temporal", "target": "RF", "permutation": "KCR"}])
    m = space.sample(300, seed=11)
    rf = arch.level_index("RF")
    order = m.order.copy()
    order[:, rf] = np.arange(NUM_DIMS)  # DIMS order N G K C P Q R S: only big loops matter
    ok_rows = ((m.temporal[:, rf, DIM_INDEX["P"]] == 1) & (m.temporal[:, rf, DIM_INDEX["Q"]] == 1)
               & (m.temporal[:, rf, DIM_INDEX["N"]] == 1) & (m.temporal[:, rf, DIM_INDEX["S"]] == 1))
    moved = Mappings(m.temporal, m.spatial_x, m.spatial_y, order, m.keep)
    assert ok_rows.any() and space.allows(moved)[ok_rows].all()


# ---- mutation keeps constraints ----------------------------------------------------------------
@pytest.mark.parametrize("preset", ARCHS)
@pytest.mark.parametrize("dataflow", list(DATAFLOWS))
def test_mutations_keep_constraints(archs: dict[str, Arch], preset: str, dataflow: str) -> None:
    arch = archs[preset]
    cons = load_constraints({"dataflow": dataflow, "constraints": [{"type": "utilization", "min": 0.2}]}, arch)
    space = MapSpace(arch, RESNET, constraints=cons)
    m = space.sample(400, seed=12)
    rng = np.random.default_rng(0)
    m2 = m
    for d in DIMS:
        m2 = space.sample_dim_split(m2, d, rng.random(len(m)) < 0.5, rng)
        _check_valid(space, m2)
    moves = MoveSet(space)
    m3, _ = moves.swap_orders(m2, None, rng)
    _check_valid(space, m3)
    m4 = dataclasses.replace(m3, order=space.random_orders(len(m3), rng))  # ga's order-gene mutation
    _check_valid(space, m4)
    m5, changed = moves.toggle_keep(m4, None, rng)
    _check_valid(space, m5)
    assert (m2.temporal != m.temporal).any()


# ---- unsatisfiable constraints -----------------------------------------------------------------
@pytest.mark.parametrize(
    "preset, items, words",
    [
        ("simple-64", [{"type": "temporal", "target": "RF", "factors": {"R": 5}}],
         ["constraints[0] (temporal at RF)", "R multiply to 5", "R=3"]),
        ("simple-64", [{"type": "temporal", "target": "RF", "factors": {"K": 4}},
                       {"type": "temporal", "target": "GLB", "factors": {"K": 32}}],
         ["constraints[0]", "constraints[1]", "K multiply to 128", "K=64"]),
        ("simple-64", [{"type": "temporal", "target": "RF", "factors": {"S": 2}},
                       {"type": "temporal", "target": "GLB", "factors": {"S": 0}}],
         ["constraints[1] (temporal at GLB)", "S=0", "S=3"]),
        ("eyeriss-168", [{"type": "utilization", "min": 0.9}, {"type": "spatial", "x_dims": ["K"], "y_dims": ["C"]}],
         ["constraints[0] (utilization)", "needs 152 of the 168 PEs", "at most 64"]),
        ("eyeriss-168", [{"type": "spatial", "x_factors": {"K": 16}}], ["constraints[0] (spatial)", "14×12"]),
        ("eyeriss-168", [{"type": "temporal", "target": "psum_spad", "factors": {"K": 32}}],
         ["constraints[0] (temporal at psum_spad)", "level psum_spad holds 24 words", "32"]),
        ("simple-64", [{"type": "temporal", "target": "DRAM", "factors": {"K": 4}},
                       {"type": "temporal", "target": "RF", "factors": {"K": 1}},
                       {"type": "temporal", "target": "GLB", "factors": {"K": 1}},
                       {"type": "spatial", "x_dims": [], "y_dims": []}],
         ["K multiply to 4", "no free slot"]),
    ],
)
def test_unsatisfiable_constraints_raise_one_line(tmp_path: Path, archs: dict[str, Arch], preset: str, items: list,
                                                  words: list[str]) -> None:
    import yaml

    path = tmp_path / "u.yaml"
    path.write_text(yaml.safe_dump({"constraints": items}))
    cons = load_constraints(path, archs[preset])  # loads fine: only this layer cannot satisfy it
    with pytest.raises(CosearchError) as err:
        MapSpace(archs[preset], RESNET, constraints=cons)
    text = _one_line(err)
    assert text.startswith("layer res3x3") and str(path) in text, text
    for w in words:
        assert w in text, text


def test_dataflow_limits_are_reported(archs: dict[str, Arch]) -> None:
    # S entirely on Y: an 11x11 filter does not fit simple-64's 8 PE rows
    big = Layer(name="alex1", K=64, C=3, P=55, Q=55, R=11, S=11, Wstride=4, Hstride=4)
    with pytest.raises(CosearchError, match=r"dataflow row-stationary: constraints\[0\] \(spatial at GLB\)"):
        MapSpace(archs["simple-64"], big, constraints=load_constraints("row-stationary", archs["simple-64"]))
    MapSpace(archs["eyeriss-168"], big, constraints=load_constraints("row-stationary", archs["eyeriss-168"]))


# ---- dataflows ---------------------------------------------------------------------------------
def _keeper(arch: Arch, ds: str) -> int:
    return max(li for li in range(arch.fanout_level + 1, arch.num_levels) if ds in arch.levels[li].keeps)


def _innermost_ok(m: Mappings, level: int, inner: str) -> np.ndarray:
    """Among loops with factor > 1 at ``level``, the ``inner`` dims are inside all others."""
    big = m.temporal[:, level] > 1
    listed = np.zeros(NUM_DIMS, dtype=bool)
    listed[[DIM_INDEX[d] for d in inner]] = True
    o = m.order[:, level]
    return np.where(big & ~listed, o, -1).max(axis=1) < np.where(big & listed, o, NUM_DIMS).min(axis=1)


def _spatial_only(m: Mappings, f: int, x: str, y: str) -> None:
    for d in DIMS:
        if d not in x:
            assert (m.spatial_x[:, f, DIM_INDEX[d]] == 1).all(), d
        if d not in y:
            assert (m.spatial_y[:, f, DIM_INDEX[d]] == 1).all(), d


def _only_loops(m: Mappings, level: int, dims: str) -> None:
    for d in DIMS:
        if d not in dims:
            assert (m.temporal[:, level, DIM_INDEX[d]] == 1).all(), (level, d)


def _recognise(arch: Arch, layer: Layer, dataflow: str, m: Mappings) -> None:
    f, L = arch.fanout_level, arch.num_levels
    dims = dict(zip(DIMS, layer.dims))
    if dataflow == "row-stationary":
        w, o = _keeper(arch, "Weights"), _keeper(arch, "Outputs")
        R, S = DIM_INDEX["R"], DIM_INDEX["S"]
        assert (m.temporal[:, w, R] == dims["R"]).all()  # the whole filter row in the PE
        assert (np.delete(m.temporal[:, :, R], w, axis=1) == 1).all()  # R never above the PE
        assert (m.spatial_y[:, f, S] == dims["S"]).all() and (m.temporal[:, :, S] == 1).all()  # S only on Y
        _spatial_only(m, f, "QK", "SCK")
        _only_loops(m, w, "RC")
        if o != w:
            _only_loops(m, o, "K")
        for li in range(f + 1, L):
            if li not in (w, o):
                _only_loops(m, li, "")
        big = (m.temporal[:, w, R] > 1) & (m.temporal[:, w, DIM_INDEX["C"]] > 1)
        assert (m.order[:, w, R] < m.order[:, w, DIM_INDEX["C"]])[big].all()
        return
    ds, moving, inner, x, y = {
        "weight-stationary": ("Weights", "NPQ", "NPQ", "C", "K"),
        "output-stationary": ("Outputs", "CRS", "CRS", "PK", "QK"),
        "input-stationary": ("Inputs", "K", "K", "PC", "QC"),
    }[dataflow]
    k = _keeper(arch, ds)
    _spatial_only(m, f, x, y)
    assert space_keeps(arch, m, k, ds)
    for li in range(k + 1, L):
        _only_loops(m, li, moving)
    for li in range(f, k + 1):
        assert _innermost_ok(m, li, inner).all(), (dataflow, arch.levels[li].name)
    if dataflow == "output-stationary":
        _only_loops(m, k, "CRS")


def space_keeps(arch: Arch, m: Mappings, level: int, ds: str) -> bool:
    from cosearch.mapping.keep import effective_keep

    return bool(effective_keep(arch, m.keep)[:, level, DS_INDEX[ds]].all())


@pytest.mark.parametrize("preset", ARCHS)
@pytest.mark.parametrize("dataflow", list(DATAFLOWS))
def test_dataflows_satisfiable_and_recognised_on_resnet18(archs: dict[str, Arch], preset: str, dataflow: str) -> None:
    arch = archs[preset]
    cons = dataflow_constraints(dataflow, arch)
    assert cons.source == f"dataflow {dataflow}" and cons.constraints
    for layer in RESNET18:
        space = MapSpace(arch, layer, constraints=cons)
        m = space.sample(300, seed=13)
        _check_valid(space, m)
        _recognise(arch, layer, dataflow, m)


def test_dataflow_needs_a_pe_array() -> None:
    arch = Arch.model_validate({
        "name": "flat", "levels": [{"name": "DRAM", "technology": "DRAM"}, {"name": "buf", "size_words": 64}],
        "mac": {"instances": 1},
    })
    with pytest.raises(CosearchError, match="row-stationary: the arch flat has no storage level inside the PEs"):
        load_constraints("row-stationary", arch)


# ---- examples ----------------------------------------------------------------------------------
EXAMPLE_ARCH = {
    "eyeriss168_row_stationary.yaml": "eyeriss-168",
    "eyeriss168_rs_half_array.yaml": "eyeriss-168",
    "simple64_custom.yaml": "simple-64",
}


@pytest.mark.parametrize("name", sorted(p.name for p in EXAMPLES.glob("*.yaml")))
def test_examples_load_and_hold_on_resnet18(archs: dict[str, Arch], name: str) -> None:
    assert name in EXAMPLE_ARCH, f"add examples/constraints/{name} to EXAMPLE_ARCH"
    arch = archs[EXAMPLE_ARCH[name]]
    cons = load_constraints(EXAMPLES / name, arch)
    for layer in RESNET18:
        space = MapSpace(arch, layer, constraints=cons)
        _check_valid(space, space.sample(100, seed=14))


def test_explicit_row_stationary_example_equals_the_dataflow(archs: dict[str, Arch]) -> None:
    arch = archs["eyeriss-168"]
    a = resolve_constraints(load_constraints(EXAMPLES / "eyeriss168_row_stationary.yaml", arch), arch, RESNET)
    b = resolve_constraints(load_constraints("row-stationary", arch), arch, RESNET)
    assert (a.req == b.req).all() and a.perm == b.perm and (a.keep == b.keep).all()


# ---- search ------------------------------------------------------------------------------------
@pytest.mark.parametrize("preset, layer_name", [("eyeriss-168", "conv1"), ("simple-64", "layer1_conv3x3")])
def test_random_search_in_row_stationary_space(archs: dict[str, Arch], preset: str, layer_name: str) -> None:
    arch = archs[preset]
    layer = next(lyr for lyr in RESNET18 if lyr.name == layer_name)
    space = MapSpace(arch, layer, constraints=load_constraints("row-stationary", arch))
    rs = map_layer(arch, layer, optimizer="random", space=space, budget=2000)
    assert space.allows(rs.best).all() and rs.costs.valid.all()
    _recognise(arch, layer, "row-stationary", rs.best)
    free = map_layer(arch, layer, optimizer="auto", budget=2000)
    assert rs.edp >= free.edp  # a subspace searched at random should not beat the full space searched well


def test_formats_doc_snippet_loads(archs: dict[str, Arch], tmp_path: Path) -> None:
    import re

    doc = (REPO / "docs" / "formats.md").read_text()
    blocks = [b for b in re.findall(r"```yaml\n(.*?)```", doc, re.S) if "constraints:" in b]
    assert len(blocks) == 1
    path = tmp_path / "doc.yaml"
    path.write_text(blocks[0])
    arch = archs["eyeriss-168"]
    cons = load_constraints(path, arch)
    assert cons.name == "my-constraints" and len(cons.constraints) > 4  # the dataflow's items come first
    for layer in RESNET18:
        space = MapSpace(arch, layer, constraints=cons)
        _check_valid(space, space.sample(100, seed=15))


def _benchmark_layers() -> dict[str, dict]:
    """The six layers of benchmarks/mapper_quality.py (its ``LAYERS``), read from the benchmark itself."""
    import importlib.util

    path = REPO / "benchmarks" / "mapper_quality.py"
    spec = importlib.util.spec_from_file_location("mapper_quality", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.LAYERS


BENCH_LAYERS = _benchmark_layers()


@pytest.mark.parametrize("name", list(BENCH_LAYERS))
def test_row_stationary_is_recognised_and_never_beats_auto(archs: dict[str, Arch], name: str) -> None:
    """At the default budget, the row-stationary best is a row-stationary mapping, and unconstrained
    ``auto`` (whose space contains it) finds one at least as good."""
    arch = archs["eyeriss-168"]
    layer = Layer(name=name, **BENCH_LAYERS[name])
    rs = map_layer(arch, layer, seed=0, space=MapSpace(arch, layer, constraints=dataflow_constraints("row-stationary", arch)))
    _recognise(arch, layer, "row-stationary", rs.best)
    free = map_layer(arch, layer, seed=0)
    assert free.edp <= rs.edp, (free.edp, rs.edp)
