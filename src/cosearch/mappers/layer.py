"""Map one layer on a fixed accelerator: run an optimizer against the cost model under a budget."""

from __future__ import annotations

import inspect
import time
from dataclasses import dataclass, field
from importlib import import_module
from typing import Any, Callable

import numpy as np

from ..arch.spec import Arch
from ..errors import CosearchError
from ..limits import check_float, check_int
from ..mapping.mapping import Mapping, Mappings
from ..model.evaluate import Costs
from ..workload.layer import Layer
from .base import OBJECTIVES, Optimizer, evaluate_in

OPTIMIZERS: dict[str, str] = {
    "auto": "cosearch.mappers._auto:AutoMapper",
    "random": "cosearch.mappers._random:RandomSearch",
    "ga": "cosearch.mappers._ga:GeneticSearch",
    "sa": "cosearch.mappers._sa:SimulatedAnnealing",
    "bo": "cosearch.mappers._bo:ConstrainedBO",
    "vanilla-bo": "cosearch.mappers._bo:VanillaBO",
}
"""Optimizer name -> ``module:Class`` (imported on use, so torch loads only for the BO ones)."""

DEFAULT_BUDGET = 50_000
"""Evaluations per layer when neither a budget nor a time limit is given."""


def optimizer_class(name: str) -> type[Optimizer]:
    """The optimizer class registered as ``name`` (``CosearchError`` listing the names if unknown)."""
    target = OPTIMIZERS.get(name)
    if target is None:
        raise CosearchError(f"unknown optimizer {name!r} (choose from {', '.join(OPTIMIZERS)})")
    module, cls = target.split(":")
    return getattr(import_module(module), cls)


def make_optimizer(name: str, space: Any, *, objective: str = "edp", seed: int = 0, **settings: Any) -> Optimizer:
    return optimizer_class(name)(space, objective=objective, seed=seed, **settings)


@dataclass
class MapResult:
    """The outcome of mapping one layer."""

    layer: Layer
    arch: Arch
    optimizer: str
    objective: str
    seed: int
    best: Mappings  # one row
    costs: Costs  # of the best mapping, with breakdown
    evaluations: int
    seconds: float
    trace: list[tuple[int, float]] = field(default_factory=list)  # (evaluations, best value so far)

    @property
    def energy_pj(self) -> float:
        return float(self.costs.energy_pj[0])

    @property
    def cycles(self) -> float:
        return float(self.costs.cycles[0])

    @property
    def edp(self) -> float:
        return float(self.costs.edp[0])

    def mapping(self) -> Mapping:
        return self.best.to_mapping(0, self.arch, source=f"cosearch:{self.optimizer}:{self.objective}:seed{self.seed}")


def map_space(arch: Arch, layer: Layer, *, factorization: str = "perfect", max_padding: float | None = None) -> Any:
    """The map space :func:`map_layer` searches when given none: every mapping of ``layer`` on ``arch``
    under ``factorization``, with the padding cap ``max_padding`` (default
    :data:`~cosearch.mapping.factors.DEFAULT_MAX_PADDING`)."""
    from ..mapping.factors import DEFAULT_MAX_PADDING
    from ..mapping.space import MapSpace

    return MapSpace(arch, layer, factorization=factorization,
                    max_padding=DEFAULT_MAX_PADDING if max_padding is None else max_padding)


def accepts_seeds(optimizer: str) -> bool:
    """Whether the mapper ``optimizer`` takes warm-start ``seeds`` (:mod:`.warm_start`)."""
    return "seeds" in inspect.signature(optimizer_class(optimizer).__init__).parameters


def map_layer(
    arch: Arch,
    layer: Layer,
    *,
    optimizer: str = "auto",
    budget: int | None = None,
    time_limit: float | None = None,
    objective: str = "edp",
    seed: int = 0,
    space: Any = None,
    batch: int | None = None,
    on_progress: Callable[[int, float], None] | None = None,
    factorization: str = "perfect",
    max_padding: float | None = None,
    **settings: Any,
) -> MapResult:
    """Search mappings of ``layer`` on ``arch`` and return the best one found.

    ``budget`` counts evaluations (candidates scored by the cost model); ``time_limit`` is in
    seconds of search. With neither, :data:`DEFAULT_BUDGET` evaluations. With a budget and no time
    limit the result is deterministic for a seed. ``space`` defaults to ``MapSpace(arch, layer)``
    (pass a constrained one to restrict the search) with ``factorization`` (``"perfect"`` or
    ``"imperfect"``) and ``max_padding`` (the padding cap, default
    :data:`~cosearch.mapping.factors.DEFAULT_MAX_PADDING`); a given ``space`` brings its own.
    ``on_progress(evaluations, best)`` is called after every batch.
    """
    if objective not in OBJECTIVES:
        raise CosearchError(f"unknown objective {objective!r} (choose from {', '.join(OBJECTIVES)})")
    if budget is not None and budget <= 0:
        raise CosearchError(f"budget must be a positive number of evaluations, got {budget}")
    if time_limit is not None and time_limit <= 0:
        raise CosearchError(f"time limit must be positive seconds, got {time_limit}")
    if budget is not None:
        budget = check_int(budget, "budget")
    if time_limit is not None:
        check_float(time_limit, "time limit (seconds)", low_open=True)
    check_int(seed, "seed")
    if budget is None and time_limit is None:
        budget = DEFAULT_BUDGET
    if space is None:
        space = map_space(arch, layer, factorization=factorization, max_padding=max_padding)
    cls = optimizer_class(optimizer)
    if budget is not None and "budget_hint" in inspect.signature(cls.__init__).parameters:
        settings.setdefault("budget_hint", budget)  # e.g. SA sets its cooling schedule from it
    opt = cls(space, objective=objective, seed=seed, **settings)
    step = batch or getattr(opt, "preferred_batch", 256)
    start = time.perf_counter()
    done = 0
    trace: list[tuple[int, float]] = []
    while True:
        left = None if budget is None else budget - done
        if left is not None and left <= 0:
            break
        if time_limit is not None and done and time.perf_counter() - start >= time_limit:
            break  # (the first batch always runs, so a tiny time limit still gives a result)
        n = step if left is None else min(step, left)
        cands = opt.ask(n)
        if left is not None and len(cands) > left:
            cands = cands.subset(slice(0, left))
        costs = evaluate_in(space, cands)
        opt.tell(cands, costs)
        done += len(cands)
        trace.append((done, opt.best_value))
        if on_progress is not None:
            on_progress(done, opt.best_value)
    seconds = time.perf_counter() - start
    if opt.best is None or not np.isfinite(opt.best_value):
        raise CosearchError(f"no valid mapping found for layer {layer.name} on {arch.name} in {done} evaluations")
    best_costs = evaluate_in(space, opt.best, breakdown=True)
    if not best_costs.valid[0]:  # never report an invalid mapping as best
        raise RuntimeError(f"internal error: best mapping of {layer.name} re-validates as {best_costs.reason_text(0)}")
    return MapResult(layer, arch, optimizer, objective, seed, opt.best, best_costs, done, seconds, trace)
