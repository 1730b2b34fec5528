"""Random search: valid-by-construction samples from the map space."""

from __future__ import annotations

import numpy as np

from ..mapping.mapping import Mappings
from .base import Optimizer


class RandomSearch(Optimizer):
    """Proposes fresh uniform samples of the (constrained) map space; learns nothing."""

    name = "random"

    def _propose(self, n: int, rng: np.random.Generator) -> Mappings:
        return self.space.sample(n, seed=rng)
