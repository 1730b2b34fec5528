"""What a co-design study minimises, and how a design compares with the baseline.

With several workloads a design is scored by the geometric mean over workloads of its ratio to the
baseline (so no workload dominates by its size).
"""

from __future__ import annotations

import math
from typing import Any


def geomean_edp_ratio(best: dict[str, Any] | None, base: dict[str, Any] | None) -> float | None:
    """Geometric mean over workloads of best EDP / baseline EDP, from the ``per_workload`` EDPs
    (pJ·cycles) of two design summaries; ``None`` if either is missing or an EDP is missing or zero."""
    if not best or not base:
        return None
    pairs = [(best["per_workload"].get(w), base["per_workload"].get(w)) for w in best["per_workload"]]
    if not pairs or any(not a or not b for a, b in pairs):
        return None
    return math.exp(sum(math.log(a / b) for a, b in pairs) / len(pairs))
