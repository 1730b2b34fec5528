"""What the fuzzer runs each input kind through: the library entry points a user's input reaches.

A target takes a :class:`~.strategies.Case` whose files are already written to ``folder`` and
returns the costs its result holds (energies in pJ, cycles, EDPs, areas in mm², as floats) for
:mod:`.harness` to check; bad input must come out as a :class:`~cosearch.errors.CosearchError`.
Where a spec loads, it is also costed: a few mappings of a small layer (the one mapping with every
loop at the outermost level, and samples of the map space, which must all be valid).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import numpy as np

from ..arch.spec import Arch
from ..workload.layer import Layer, Network
from .seeds import SMALL_LAYER
from .strategies import Case

MAX_LAYERS = 3
"""Layers of a loaded workload that are costed (the first ones)."""


class SamplerBroke(AssertionError):
    """The map-space sampler, valid by construction, returned a mapping the cost model calls invalid."""


def _file(folder: Path, case: Case) -> Path:
    (name,) = [n for n in case.files if not n.startswith("_")]
    return folder / name


def _costs(costs: Any, valid_only: bool = True) -> list[float]:
    """Energy, cycles and EDP of the (valid) rows of a :class:`~cosearch.model.evaluate.Costs`."""
    rows = costs.valid if valid_only else slice(None)
    return [float(v) for a in (costs.energy_pj, costs.cycles, costs.edp) for v in np.asarray(a)[rows]]


def outermost_mapping(arch: Arch, layer: Layer) -> Any:
    """The one-row batch with every loop at the outermost level (valid on any arch: inner tiles are 1 word;
    on a block-MAC arch the loops are those of the blocked dims, :func:`~cosearch.mapping.vector.blocked_view`)."""
    from ..mapping.mapping import Mapping, Mappings
    from ..mapping.vector import blocked_layer

    dims = {d: int(v) for d, v in zip("NGKCPQRS", blocked_layer(arch, layer).dims)}
    readable = Mapping.model_validate({"levels": [{"level": arch.levels[0].name, "temporal": dims}]})
    return Mappings.from_list([readable], arch, source="fuzz")


def cost_arch(arch: Arch, layer: Layer, samples: int = 3) -> list[float]:
    """Costs of the outermost mapping and of ``samples`` map-space samples of ``layer`` on ``arch``;
    also the arch's area. Raises :class:`SamplerBroke` if a sample is invalid."""
    from ..mapping.space import MapSpace
    from ..model.evaluate import evaluate

    out = [float(arch.area_mm2)]
    out += _costs(evaluate(arch, layer, outermost_mapping(arch, layer)))
    if samples:
        drawn = MapSpace(arch, layer).sample(samples, seed=0)
        costs = evaluate(arch, layer, drawn)
        if not costs.valid.all():
            raise SamplerBroke(f"map-space sample {int(np.argmin(costs.valid))} is invalid "
                               f"({costs.reason_text(int(np.argmin(costs.valid)))}) on arch {arch.name}")
        out += _costs(costs)
    return out


def _cost_network(network: Network) -> list[float]:
    from ..arch.io import load_arch

    arch = load_arch("simple-64")
    out: list[float] = []
    for layer in network.layers[:MAX_LAYERS]:
        out += cost_arch(arch, layer, samples=1)
    return out


# ---- the targets, one per kind ----------------------------------------------------------------------
def arch_target(case: Case, folder: Path) -> list[float]:
    """``load_arch(file)``, then costs of the small layer on it."""
    from ..arch.io import load_arch

    return cost_arch(load_arch(_file(folder, case)), Layer(**SMALL_LAYER))


def workload_target(case: Case, folder: Path) -> list[float]:
    """``load_workload(file)``, then its first layers costed on simple-64."""
    from ..workload.io import load_workload

    return _cost_network(load_workload(_file(folder, case)))


def mapping_target(case: Case, folder: Path) -> list[float]:
    """What ``cosearch eval`` does with a mapping file: load, stack, check factors, evaluate, explain
    (:func:`~cosearch.model.validity.require_valid`)."""
    from ..arch.io import load_arch
    from ..mapping.mapping import load_mapping
    from ..model.validity import require_valid

    arch, layer, path = load_arch(case.args["arch"]), Layer(**case.args["layer"]), _file(folder, case)
    _, costs = require_valid(arch, layer, load_mapping(path), str(path), breakdown=True)
    return _costs(costs) + [float(v) for v in costs.level_energy_pj.ravel()]


def constraints_target(case: Case, folder: Path) -> list[float]:
    """``load_constraints(file, arch)``, then samples of the constrained map space, which must be valid."""
    from ..arch.io import load_arch
    from ..mapping.constraints import load_constraints
    from ..mapping.space import MapSpace
    from ..model.evaluate import evaluate

    arch, layer = load_arch(case.args["arch"]), Layer(**SMALL_LAYER)
    space = MapSpace(arch, layer, constraints=load_constraints(_file(folder, case), arch))
    drawn = space.sample(3, seed=0)
    costs = evaluate(arch, layer, drawn)
    if not (costs.valid.all() and space.allows(drawn).all()):
        raise SamplerBroke(f"a constrained map-space sample is invalid or breaks the constraints on {arch.name}")
    return _costs(costs)


def hw_space_target(case: Case, folder: Path) -> list[float]:
    """``load_hw_space(file)``, then the area of a few points and the small layer costed on two of them."""
    from ..arch.area import AreaModel
    from ..arch.hwspace import load_hw_space

    space = load_hw_space(_file(folder, case))
    points = space.random_points(4, np.random.default_rng(0))
    out = [float(a) for a in AreaModel(space)(points)]
    for point in points[:2]:
        out += cost_arch(space.arch(point), Layer(**SMALL_LAYER), samples=1)
    return out


def template_target(case: Case, folder: Path) -> list[float]:
    """A registered template's ``build(values)``, then the small layer costed on the arch."""
    from ..arch.templates import get_template

    template = get_template(case.args["template"])
    arch = template.build(case.args["values"], dram_bandwidth=case.args["dram_bandwidth"], estimator="cacti-65nm")
    return cost_arch(arch, Layer(**SMALL_LAYER), samples=1)


def onnx_target(case: Case, folder: Path) -> list[float]:
    """``load_workload(model.onnx, input_shapes)``, then its first layers costed on simple-64."""
    from ..workload.io import load_workload

    shapes = case.args.get("input_shapes")
    shapes = {k: tuple(v) for k, v in shapes.items()} if shapes else None
    return _cost_network(load_workload(folder / "model.onnx", shapes))


def timeloop_target(case: Case, folder: Path) -> list[float]:
    """``import_timeloop_files(folder)``, then the imported mapping evaluated on the imported arch."""
    from ..interop.timeloop.read import import_timeloop_files
    from ..mapping.mapping import Mappings
    from ..model.evaluate import evaluate

    arch, layer, mapping = import_timeloop_files([folder])
    costs = evaluate(arch, layer, Mappings.from_list([mapping], arch, source=str(folder)))
    return _costs(costs) + cost_arch(arch, layer, samples=0)


def reference_target(case: Case, folder: Path) -> list[float]:
    """``validate_records(file)``: every case's energy and cycles, where the model computed them."""
    from ..interop.reference import validate_records

    results, _summary = validate_records(folder / "records.jsonl")
    return [float(v) for r in results for v in (r.energy_pj, r.cycles) if v is not None]


def options_target(case: Case, folder: Path) -> list[float]:
    """A numeric setting through the checks the commands use (``check_settings``, ``check_budgets``);
    a valid ``map`` budget, time limit or seed is then used for a short search of the small layer
    (the other setting bounds it: 0.05 s for a budget, 30 evaluations otherwise)."""
    from ..codesign.settings import check_budgets
    from ..mappers.settings import check_settings

    command, option, value = case.args["command"], case.args["option"], case.args["value"]
    if command == "map":
        settings: dict[str, Any] = {"budget": 30, "time_limit": None, "jobs": 1, "seed": 0}
        settings[option.replace("-", "_")] = value
        if option == "budget":
            settings["time_limit"] = 0.05
        check_settings(optimizer="random", objective="edp", **settings)
        if option == "jobs":
            return []
        from ..arch.io import load_arch
        from ..mappers.layer import map_layer

        result = map_layer(load_arch("simple-64"), Layer(**SMALL_LAYER), optimizer="random",
                           budget=settings["budget"], time_limit=settings["time_limit"], seed=settings["seed"])
        return [float(result.energy_pj), float(result.cycles), float(result.edp)]
    if command == "codesign" and option in ("hw-budget", "hw-batch", "mapper-budget"):
        budgets = {"hw_budget": 1, "hw_batch": 1, "mapper_budget": 1, option.replace("-", "_"): value}
        check_budgets(**budgets)
    return []


def text_options_target(case: Case, folder: Path) -> list[float]:
    """A text option through its parser: ``--shape`` (``parse_shape``, then the layer costed on
    simple-64), ``--input-shape`` (``parse_input_shapes``), ``--area-budget`` (``parse_area_budget``
    on the simple space: the budget in mm²), ``--objective`` (``parse_objective``, then the
    objective's value of a small network cost)."""
    option, text = case.args["option"], case.args["value"]
    if option == "shape":
        from ..arch.io import load_arch
        from ..workload.io import parse_shape

        return cost_arch(load_arch("simple-64"), parse_shape(text), samples=1)
    if option == "input-shape":
        from ..workload.importers.onnx import parse_input_shapes

        parse_input_shapes(text)
        return []
    if option == "area-budget":
        from ..arch.hwspace import load_hw_space
        from ..codesign.budget import parse_area_budget

        return [parse_area_budget(text, load_hw_space("simple"))]
    from ..codesign.objectives import NetworkCost, objective_value, parse_objective

    objective = parse_objective(text)
    cost = NetworkCost(energy_pj={"w": 3.0e9}, cycles={"w": 2.0e7}, edp={"w": 6.0e16}, layers={}, valid=True)
    return [objective_value(cost, objective, None)]


def results_target(case: Case, folder: Path) -> list[float]:
    """A ``cosearch map`` results directory as a report source (``resolve_sources``, what ``cosearch
    report`` reads): the design's and every layer's energy, cycles and EDP that it holds."""
    from ..report.sources.resolve import resolve_sources

    (source,) = resolve_sources([str(folder)])
    design = source.design
    values = [design.energy_pj, design.cycles, design.edp, design.area_mm2]
    values += [v for row in design.layers for v in (row.energy_pj, row.cycles, row.edp)]
    return [float(v) for v in values if v is not None]


TARGETS: dict[str, Callable[[Case, Path], list[float]]] = {
    "arch": arch_target,
    "workload": workload_target,
    "mapping": mapping_target,
    "constraints": constraints_target,
    "hw_space": hw_space_target,
    "template": template_target,
    "onnx": onnx_target,
    "timeloop": timeloop_target,
    "reference": reference_target,
    "options": options_target,
    "text_options": text_options_target,
    "results": results_target,
}
"""The entry point of every input kind (the keys of :data:`~.strategies.KINDS`)."""
