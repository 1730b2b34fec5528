"""The timeloop-eyeriss template and the ``paper`` hardware space (issue #17): eyeriss-256 as the
reference design and default area budget, a GLB that holds only inputs and outputs, PAT energies."""

from __future__ import annotations

import numpy as np
import pytest

from cosearch import load_workload
from cosearch.arch.estimator import apply_estimator
from cosearch.arch.hwspace import load_hw_space
from cosearch.arch.io import load_arch
from cosearch.arch.templates.timeloop_eyeriss import EYERISS_256
from cosearch.codesign.baselines import baseline_of
from cosearch.codesign.budget import parse_area_budget
from cosearch.mapping.constraints import load_constraints
from cosearch.mapping.space import MapSpace

PAPER = load_hw_space("paper")


def test_paper_space_is_on_the_template_with_pat_energies() -> None:
    assert PAPER.template == "timeloop-eyeriss" and PAPER.estimator == "pat-normalised"
    for name, value in EYERISS_256.items():  # the reference lies on the grid
        assert value in PAPER.params[name].grid(), name


def test_reference_is_the_eyeriss_256_preset_with_weights_bypassing_the_glb() -> None:
    arch = PAPER.arch(dict(EYERISS_256))
    preset = load_arch("eyeriss-256")
    assert [lvl.name for lvl in arch.levels] == [lvl.name for lvl in preset.levels]
    assert [lvl.size_words for lvl in arch.levels] == [lvl.size_words for lvl in preset.levels]
    assert arch.mac.instances == preset.mac.instances == 256
    glb = arch.levels[arch.level_index("GLB")]
    assert set(glb.keeps) == {"Inputs", "Outputs"} and glb.keeps_fixed
    assert glb.bandwidth.read == glb.bandwidth.write == 16
    base = baseline_of("timeloop-eyeriss")
    assert base.label == "eyeriss-256" and base.dataflow == "row-stationary"
    assert base.dataflow_label == "eyeriss-256 (RS)"


def test_default_budget_is_eyeriss_256_area_and_other_spaces_keep_eyeriss_168() -> None:
    area = PAPER.arch(dict(EYERISS_256)).area_mm2
    assert parse_area_budget(None, PAPER) == pytest.approx(area)
    # CACTI areas: the same as the preset costed by cacti-65nm, apart from the GLB's 16 one-word banks
    assert area == pytest.approx(apply_estimator(load_arch("eyeriss-256"), "cacti-65nm").area_mm2, rel=0.02)
    eyeriss_like, simple = load_hw_space("eyeriss-like"), load_hw_space("simple")
    assert parse_area_budget(None, simple) == pytest.approx(parse_area_budget(None, eyeriss_like))
    assert parse_area_budget(None, eyeriss_like) == pytest.approx(12.3135, abs=1e-4)


def test_row_stationary_maps_the_reference_and_weights_never_stay_in_the_glb() -> None:
    arch = PAPER.arch(dict(EYERISS_256))
    layer = load_workload("resnet18").layers[3]
    space = MapSpace(arch, layer, constraints=load_constraints("row-stationary", arch))
    maps = space.sample(64, np.random.default_rng(0))
    glb = arch.level_index("GLB")
    assert len(maps) and not maps.keep[:, glb, 0].any()  # Weights (data space 0) bypass the GLB
    assert maps.keep[:, glb, 1:].all()


def test_a_codesign_study_in_the_paper_space_compares_with_eyeriss_256() -> None:
    from cosearch.codesign.driver import Codesign
    from cosearch.workload.layer import Layer, Network

    net = Network(name="tiny", layers=[Layer(name="c", K=32, C=16, P=8, Q=8, R=3, S=3)])
    cd = Codesign([net], hw_space=PAPER, optimizer="bo", hw_budget=3, hw_batch=3, mapper_budget=200, seed=2,
                  storage="sqlite://", study="paper")
    assert cd.area_budget == pytest.approx(parse_area_budget(None, PAPER))
    res = cd.run()
    assert res.baseline.arch == EYERISS_256 == res.baseline_rs.arch
    assert res.best is not None and res.best.area_mm2 <= cd.area_budget
    assert res.edp_ratio_bound is not None and res.edp_ratio_bound <= res.edp_ratio
