"""Every hardware template (each registered one, and the committed user template) keeps the contract the
area model, the bound, the baselines and the driver rely on: a built-in or example space on it, the
vectorised area equal to each arch's, a reference design that builds and maps (under its named
dataflow too), an EDP bound, and a two-point co-design. A new template module is picked up here with
no further work."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import REPO
from cosearch.arch.area import AreaModel
from cosearch.arch.hwspace import HW_SPACES, HWSpace, load_hw_space
from cosearch.arch.templates import TEMPLATES
from cosearch.codesign.baselines import baseline_of
from cosearch.codesign.bounds import network_edp_bound
from cosearch.codesign.driver import Codesign
from cosearch.mapping.constraints import load_constraints
from cosearch.mapping.space import MapSpace
from cosearch.model.evaluate import evaluate
from cosearch.workload.layer import Layer, Network

USER_EXAMPLE = REPO / "examples" / "hwspaces" / "four_level.yaml"
TINY = Network(name="tiny", layers=[Layer(name="conv", K=16, C=8, P=8, Q=8, R=3, S=3),
                                    Layer(name="fc", N=2, K=32, C=64, count=2)])


def _space_on(template: str) -> HWSpace:
    for name in HW_SPACES:
        space = load_hw_space(name)
        if space.template == template:
            return space
    raise AssertionError(f"no built-in hardware space on template {template}: add one to cosearch/arch/hwspaces")


def _spaces() -> list:
    return [pytest.param(name, id=name) for name in TEMPLATES] + [pytest.param("user:four_level", id="user-four-level")]


def _load(which: str) -> HWSpace:
    return load_hw_space(USER_EXAMPLE) if which == "user:four_level" else _space_on(which)


@pytest.mark.parametrize("which", _spaces())
def test_area_model_and_reference(which: str) -> None:
    space = _load(which)
    tmpl = space.template_spec
    points = space.random_points(25, np.random.default_rng(0))
    assert np.allclose(AreaModel(space)(points), [space.arch(p).area_mm2 for p in points], rtol=1e-12)
    ref = dict(tmpl.reference.values)
    arch = space.arch(ref)
    assert arch.area_mm2 > 0 and arch.num_pes == int(ref[tmpl.mesh[0]]) * int(ref[tmpl.mesh[1]])
    assert set(tmpl.level_params) <= set(arch.level_names)
    base = baseline_of(tmpl)
    for flow in base.dataflows:
        layer = TINY.layers[0]
        ms = MapSpace(arch, layer, constraints=load_constraints(flow, arch) if flow else None)
        assert evaluate(arch, layer, ms.sample(32, seed=0)).valid.any(), flow


@pytest.mark.parametrize("which", _spaces())
def test_bound_and_a_two_point_codesign(which: str) -> None:
    space = _load(which)
    cd = Codesign([TINY], hw_space=space, optimizer="random", hw_budget=2, hw_batch=2, mapper_budget=80, seed=1,
                  storage="sqlite://", study=f"contract-{space.template}")
    bound = network_edp_bound(TINY, space, cd.area_budget, cd.area)
    res = cd.run()
    assert res.trials == 2 and res.baseline.arch == dict(space.template_spec.reference.values)
    assert res.best is None or (set(res.best.arch) == set(space.names) and res.best.area_mm2 <= cd.area_budget)
    if res.best is not None:
        assert bound.edp <= res.best.edp * (1 + 1e-9)
