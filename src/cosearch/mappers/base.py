"""The optimizer interface every mapping searcher implements (ask / tell, seeded, replayable).

* ``ask(n)`` proposes up to ``n`` candidate mappings (a :class:`~cosearch.mapping.mapping.Mappings`
  batch, valid by construction). It is a pure function of the optimizer's state: its randomness is
  drawn from a generator seeded by ``(seed, number of evaluations told so far)``.
* ``tell(candidates, costs)`` reports the cost model's results for those candidates.
* Replaying the same ``tell`` calls into a fresh optimizer with the same seed rebuilds its state
  (this is how resume works), so ``state_digest()`` matches after a replay.

An *evaluation* is one candidate scored by the cost model; candidates removed by construction are
not evaluations.
"""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from typing import ClassVar

import numpy as np

from ..errors import CosearchError
from ..mapping.mapping import Mappings
from ..mapping.space import MapSpace
from ..model.evaluate import Costs, check_valid, evaluate

OBJECTIVES: tuple[str, ...] = ("edp", "energy", "cycles")


def objective_values(costs: Costs, objective: str) -> np.ndarray:
    """``[B]`` float64 values to minimise (``inf`` where invalid)."""
    if objective == "edp":
        return costs.edp
    if objective == "energy":
        return costs.energy_pj
    if objective == "cycles":
        return costs.cycles
    raise CosearchError(f"unknown objective {objective!r} (choose from {', '.join(OBJECTIVES)})")


def _model_options(space: MapSpace) -> dict:
    """The cost model's keyword for the space's factorization (none under perfect factorization, so
    the perfect path calls the model exactly as before)."""
    return {"factorization": space.factorization} if space.imperfect else {}


def evaluate_in(space: MapSpace, m: Mappings, *, breakdown: bool = False) -> Costs:
    """:func:`~cosearch.model.evaluate.evaluate` of ``m`` on the space's arch and layer under its
    factorization (imperfect: factors may over-cover a dim)."""
    return evaluate(space.source_arch, space.source_layer, m, breakdown=breakdown, **_model_options(space))


def reasons_in(space: MapSpace, m: Mappings) -> np.ndarray:
    """:func:`~cosearch.model.evaluate.check_valid` reason codes ``[B]`` under the space's factorization."""
    return check_valid(space.source_arch, space.source_layer, m, **_model_options(space))


def known_valid(space: MapSpace, m: Mappings) -> np.ndarray:
    """``[B]`` bool: the constraints known without evaluation hold: factorization, fan-out and capacity
    (:func:`~cosearch.model.evaluate.check_valid`, a construction-time check, not an evaluation) and
    the map space's own constraints (:meth:`MapSpace.allows`, with the padding cap under imperfect
    factorization). Every optimizer drops the other
    candidates with this one filter before asking for evaluations."""
    ok = reasons_in(space, m) == 0
    if len(m) and ok.any():
        ok &= space.allows(m)
    return ok


class Optimizer(ABC):
    """Base class: keeps the history of told candidates and values and the best so far.

    Subclasses implement :meth:`_propose` (and may extend :meth:`tell`).
    """

    name: ClassVar[str] = "optimizer"

    def __init__(self, space: MapSpace, *, objective: str = "edp", seed: int = 0) -> None:
        if objective not in OBJECTIVES:
            raise CosearchError(f"unknown objective {objective!r} (choose from {', '.join(OBJECTIVES)})")
        self.space = space
        self.objective = objective
        self.seed = int(seed)
        self.n_told = 0
        self.best_value = float("inf")
        self.best: Mappings | None = None  # one row
        self.history_values: list[np.ndarray] = []

    # ---- interface ---------------------------------------------------------------------------
    def ask(self, n: int) -> Mappings:
        """Up to ``n`` candidates (at least one), deterministic for the current state."""
        if n < 1:
            raise ValueError("ask(n) needs n >= 1")
        return self._propose(n, self._rng())

    def tell(self, candidates: Mappings, costs: Costs) -> None:
        """Record the results of evaluating ``candidates``."""
        values = objective_values(costs, self.objective)
        if len(values) != len(candidates):
            raise ValueError("tell: candidates and costs differ in length")
        self.history_values.append(values)
        if len(values):
            i = int(np.argmin(values))
            if values[i] < self.best_value:
                self.best_value = float(values[i])
                self.best = candidates.subset(slice(i, i + 1))
        self.n_told += len(values)
        self._observe(candidates, costs, values)

    # ---- hooks for subclasses ----------------------------------------------------------------
    @abstractmethod
    def _propose(self, n: int, rng: np.random.Generator) -> Mappings:
        """Propose up to ``n`` candidates using only ``rng`` and the told history."""

    def _observe(self, candidates: Mappings, costs: Costs, values: np.ndarray) -> None:
        """Update model state after a tell (default: nothing beyond the best and history)."""

    # ---- helpers -------------------------------------------------------------------------------
    def _rng(self) -> np.random.Generator:
        return np.random.default_rng([self.seed, self.n_told])

    def state_digest(self) -> str:
        """Hash of everything that determines future proposals (for replay tests)."""
        h = hashlib.sha256()
        h.update(f"{self.name}|{self.seed}|{self.n_told}|{self.best_value!r}".encode())
        for v in self.history_values:
            h.update(np.ascontiguousarray(v).tobytes())
        if self.best is not None:
            for a in (self.best.temporal, self.best.spatial_x, self.best.spatial_y, self.best.order, self.best.keep):
                h.update(np.ascontiguousarray(a).tobytes())
        self._digest_extra(h)
        return h.hexdigest()

    def _digest_extra(self, h: "hashlib._Hash") -> None:
        """Subclasses add their model state here."""
