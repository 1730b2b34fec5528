"""Hardware templates (``cosearch.arch.templates``): the registry, the two built-in templates' reference
designs, and a third template added as one module file that then works end to end (hardware space,
area model, EDP bound, a two-point co-design) with no other change."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from cosearch.arch.area import AreaModel
from cosearch.arch.hwspace import HW_SPACES, HWSpace, load_hw_space
from cosearch.arch.io import load_arch
from cosearch.arch.templates import TEMPLATES, discover, get_template, param_label
from cosearch.codesign.baselines import baseline_of
from cosearch.codesign.bounds import energy_floors, feasible_meshes, network_edp_bound
from cosearch.codesign.driver import Codesign
from cosearch.errors import CosearchError
from cosearch.workload.layer import Layer, Network

# ---------------------------------------------------------------------------------------------------
# the registry and the built-in templates


def test_registry_holds_every_builtin_template_and_space() -> None:
    assert list(TEMPLATES)[:2] == ["eyeriss", "simple"]
    for space_name in HW_SPACES:
        space = load_hw_space(space_name)
        assert space.template_spec is TEMPLATES[space.template]
        assert space.names == TEMPLATES[space.template].names == tuple(space.params)  # YAML order = template order
    assert get_template("simple").names == ("mesh_x", "mesh_y", "glb_kb", "glb_bandwidth", "rf_words")


def test_unknown_template_names_the_registered_ones(tmp_path: Path) -> None:
    with pytest.raises(CosearchError, match=r"unknown hardware template 'nope' \(choose from eyeriss, simple"):
        get_template("nope")
    path = tmp_path / "space.yaml"
    path.write_text("template: nope\nparams: {}\n")
    with pytest.raises(CosearchError, match=r"field template: .*unknown hardware template 'nope' \(choose from "
                                            r"eyeriss, simple"):
        load_hw_space(path)


@pytest.mark.parametrize("template, preset, area_65nm, name", [
    ("eyeriss", "eyeriss-168", 12.313520954273812, "hw-14x12-glb108k-bw16-w224-i12-p24"),
    ("simple", "simple-64", 4.6706505755246015, "hw-8x8-glb64k-bw16-rf64"),
])
def test_reference_design_is_the_preset_with_the_template_bandwidths(template: str, preset: str, area_65nm: float,
                                                                     name: str) -> None:
    """Each reference design has the levels, sizes, data spaces and mesh of its preset; the template adds
    the GLB bandwidth (16 words/cycle) and the DRAM bandwidth, so under cacti-65nm its area is the
    template's own (12.3135 mm² for eyeriss-168, a little above the preset's 12.249)."""
    tmpl = TEMPLATES[template]
    arch = tmpl.build(tmpl.reference.values, dram_bandwidth=16.0, estimator="cacti-65nm")
    ref = load_arch(preset)
    shape = [(lvl.name, lvl.size_words, lvl.keeps, lvl.keeps_fixed, lvl.instances, lvl.mesh_x, lvl.mesh_y)
             for lvl in arch.levels]
    assert shape == [(lvl.name, lvl.size_words, lvl.keeps, lvl.keeps_fixed, lvl.instances, lvl.mesh_x, lvl.mesh_y)
                     for lvl in ref.levels]
    assert (arch.mac.instances, arch.mac.mesh_x, arch.mac.mesh_y) == (ref.mac.instances, ref.mac.mesh_x, ref.mac.mesh_y)
    glb = arch.levels[arch.level_index("GLB")]
    assert (glb.bandwidth.read, glb.bandwidth.write, arch.levels[0].bandwidth.shared) == (16.0, 16.0, 16.0)
    assert arch.area_mm2 == pytest.approx(area_65nm, rel=1e-12)
    assert tmpl.point_name(tmpl.reference.values) == name


def test_baselines_of_the_builtin_templates() -> None:
    eyeriss, simple = baseline_of("eyeriss"), baseline_of("simple")
    assert (eyeriss.auto_label, eyeriss.dataflow_label, eyeriss.dataflows) == (
        "eyeriss-168 (auto)", "eyeriss-168 (RS)", (None, "row-stationary"))
    assert (simple.auto_label, simple.dataflow_label, simple.dataflows, simple.dataflow) == (
        "simple-8x8 (auto)", "simple-8x8 (same)", (None,), None)
    assert eyeriss.values == {"mesh_x": 14, "mesh_y": 12, "glb_kb": 108, "glb_bandwidth": 16,
                              "weights_spad_words": 224, "ifmap_spad_words": 12, "psum_spad_words": 24}
    eyeriss.values["mesh_x"] = 1  # a copy: the template's reference stays as it is
    assert baseline_of("eyeriss").values["mesh_x"] == 14
    assert [param_label(n) for n in ("glb_bandwidth", "rf_words", "mesh_y", "not_a_param")] == [
        "GLB words/cycle", "RF words", "mesh y", "not_a_param"]


# ---------------------------------------------------------------------------------------------------
# a third template: one new module file

TOY_MODULE = textwrap.dedent('''
    """A toy template: DRAM -> per-PE register file (bypassable) -> MAC; no global buffer, and the mesh
    parameters come last."""

    from cosearch.arch.templates import Param, Reference, Template, dram_level


    def _levels(values, pe, dram_bandwidth):
        return [dram_level(dram_bandwidth),
                {"name": "RF", "size_words": int(values["rf_words"]), "keeps": ["Weights", "Inputs", "Outputs"],
                 "keeps_fixed": False, **pe}]


    TEMPLATE = Template(
        name="toy",
        params=(Param("rf_words", "RF words", "RF", "rf{}"), Param("cols", "columns", "cols"),
                Param("rows", "rows", "rows")),
        mesh=("cols", "rows"),
        levels=_levels,
        level_params={"RF": ("rf_words",)},
        reference=Reference("toy-4x4", {"rf_words": 64, "cols": 4, "rows": 4}),
    )
''')
TOY_SPACE = {"name": "toy-space", "template": "toy", "estimator": "cacti-65nm",
             "params": {"rf_words": {"low": 16, "high": 256, "scale": "log2"}, "cols": {"low": 2, "high": 8},
                        "rows": {"low": 2, "high": 6}}}
TINY = Network(name="tiny", layers=[Layer(name="conv", K=16, C=8, P=8, Q=8, R=3, S=3),
                                    Layer(name="fc", N=2, K=32, C=64, count=2)])


@pytest.fixture
def toy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """The toy template, registered by the discovery the package runs on its own modules, then removed."""
    package = tmp_path / "more_templates"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "toy.py").write_text(TOY_MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    found = discover([str(package)], "more_templates")
    try:
        yield found
    finally:
        TEMPLATES.pop("toy", None)
        for mod in ("more_templates", "more_templates.toy"):
            sys.modules.pop(mod, None)


def test_a_template_module_is_discovered_and_registered(toy) -> None:
    assert [t.name for t in toy] == ["toy"] and TEMPLATES["toy"] is toy[0]
    with pytest.raises(ValueError, match="already registered"):
        discover([str(Path(sys.modules["more_templates"].__file__).parent)], "more_templates")


def test_a_new_template_works_end_to_end(toy) -> None:
    space = HWSpace.model_validate(TOY_SPACE)
    assert space.names == ("rf_words", "cols", "rows") and space.mesh_columns == (1, 2)
    values = {"rf_words": 32, "cols": 8, "rows": 3}
    arch = space.arch(values)
    assert arch.name == "hw-8x3-rf32" and [lvl.name for lvl in arch.levels] == ["DRAM", "RF"]
    assert arch.mac.instances == 24 and (arch.mac.mesh_x, arch.mac.mesh_y) == (8, 3)

    # the vectorised area equals each arch's area: the PE count comes from the template's mesh (not the first
    # two parameters), the per-level tables from its level parameters
    points = space.random_points(40, np.random.default_rng(0))
    area = AreaModel(space)
    assert np.allclose(area(points), [space.arch(p).area_mm2 for p in points], rtol=1e-12)
    assert np.array_equal(space.pe_counts(points), [space.arch(p).mac.instances for p in points])

    # the bound: with the smallest RF a design's area is proportional to its PEs, so under the area of 8 x 3
    # PEs the largest fitting mesh of each column count has at most 24 PEs; no per-MAC storage floor (the RF
    # may be bypassed)
    budget = float(area(space.point({**values, "rf_words": 16})[None, :])[0])
    meshes = feasible_meshes(space, budget, area)
    assert meshes == [(x, min(6, 24 // x)) for x in range(2, 9)]
    assert energy_floors(space).per_mac == 0.0
    bound = network_edp_bound(TINY, space, budget, area)
    assert bound.mesh in meshes and bound.edp == pytest.approx(bound.energy_pj * bound.cycles)

    # a two-point co-design against the template's reference design (no named dataflow: one baseline)
    cd = Codesign([TINY], hw_space=space, optimizer="random", hw_budget=2, hw_batch=2, mapper_budget=150, seed=1,
                  storage="sqlite://", study="toy")
    assert cd.baseline_area == pytest.approx(space.arch(dict(TEMPLATES["toy"].reference.values)).area_mm2)
    res = cd.run()
    assert res.trials == 2 and res.best is not None
    assert res.baseline.arch == {"rf_words": 64, "cols": 4, "rows": 4} and res.baseline == res.baseline_rs
    assert set(res.best.arch) == set(space.names) and res.best.area_mm2 <= cd.area_budget
    assert res.edp_ratio_bound is not None and res.edp_ratio_bound <= res.edp_ratio


@pytest.mark.parametrize("change, needle", [
    ({"mesh_x": float("nan")}, "parameter mesh_x must be an integer"),
    ({"mesh_x": 2.5}, "parameter mesh_x must be an integer"),
    ({"mesh_y": 0}, "parameter mesh_y must be >= 1"),
    ({"glb_kb": float("inf")}, "parameter glb_kb must be a finite number"),
    ({"rf_words": -4}, "parameter rf_words must be > 0"),
    ({"glb_bandwidth": "16"}, "parameter glb_bandwidth must be a number"),
    ({"extra": 1}, "unknown extra"),
    ({"rf_words": 0.25}, "template simple point"),  # positive, but a register file of int(0.25) = 0 words
    ({"glb_kb": 1e308}, "parameter glb_kb must be at most"),  # its size in words would be infinite
])
def test_template_build_refuses_bad_parameter_values(change: dict, needle: str) -> None:
    """A point's values are checked by the template: one-line CosearchError naming the parameter."""
    template = TEMPLATES["simple"]
    values = {**template.reference.values, **change}
    with pytest.raises(CosearchError) as info:
        template.build(values, dram_bandwidth=16.0, estimator="cacti-65nm")
    assert needle in str(info.value) and "\n" not in str(info.value)


def test_template_build_refuses_missing_parameters_and_a_bad_bandwidth() -> None:
    template = TEMPLATES["eyeriss"]
    values = dict(template.reference.values)
    del values["glb_kb"]
    with pytest.raises(CosearchError, match="template eyeriss: parameter values: missing glb_kb"):
        template.build(values, dram_bandwidth=16.0, estimator="cacti-65nm")
    with pytest.raises(CosearchError, match="must be a mapping"):
        template.build([1, 2], dram_bandwidth=16.0, estimator="cacti-65nm")
    with pytest.raises(CosearchError, match="dram_bandwidth must be a finite number"):
        template.build(dict(template.reference.values), dram_bandwidth=float("nan"), estimator="cacti-65nm")
    arch = template.build(dict(template.reference.values), dram_bandwidth=None, estimator="cacti-65nm")
    assert arch.num_pes == 168
