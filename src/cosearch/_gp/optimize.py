"""Optimising an acquisition function over a discrete candidate pool.

:func:`optimize_discrete` scores a pool, optionally grows it by rounds of local search around the
best-scoring candidates (with a caller-supplied neighbour function), and returns the ``q`` best new
candidates. :func:`kriging_believer_batch` picks a batch by EHVI greedily instead, each pick's
predicted mean joining the front before the next. Candidates are of any type the caller describes
with :class:`PoolOps` (e.g. a batch of mappings or an ``[N, P]`` array of grid points); nothing here
knows what they are.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Generic, TypeVar

import numpy as np

from .acquisition import log_ehvi, weight_by_feasibility
from .pareto import pareto_front_mask

C = TypeVar("C")


@dataclass(frozen=True)
class PoolOps(Generic[C]):
    """How to handle a batch of candidates of type ``C``.

    ``keys(c)``: ``[N]`` identity of each row (rows with equal keys are the same candidate);
    ``take(c, idx)``: the rows ``idx`` (an integer or boolean array) of ``c``;
    ``join(a, b)``: the rows of ``a`` followed by those of ``b``.
    """

    keys: Callable[[C], np.ndarray]
    take: Callable[[C, np.ndarray], C]
    join: Callable[[C, C], C]


def fresh_rows(ops: PoolOps[C], cands: C, seen: np.ndarray) -> tuple[C, np.ndarray]:
    """The rows of ``cands`` whose key is neither in ``seen [K]`` nor repeated earlier in ``cands``
    (order kept), and their keys."""
    keys = ops.keys(cands)
    _, first = np.unique(keys, return_index=True)
    ok = np.zeros(len(keys), dtype=bool)
    ok[first] = True
    ok &= ~np.isin(keys, seen)
    return ops.take(cands, ok), keys[ok]


def optimize_discrete(
    acquisition: Callable[[C], np.ndarray],
    pool: C,
    q: int,
    *,
    ops: PoolOps[C],
    seen: np.ndarray,
    neighbours: Callable[[C, np.random.Generator], C] | None = None,
    rounds: int = 0,
    n_parents: int = 1,
    rng: np.random.Generator | None = None,
) -> tuple[C, np.ndarray]:
    """The ``q`` candidates with the highest acquisition values, and those values ``[<= q]``.

    ``acquisition(c)`` scores a batch (``[N]``, higher is better; called once on the pool and once per
    local-search round). ``pool`` is reduced to new, distinct candidates (keys not in ``seen [K]``).
    Then, when ``neighbours`` is given, ``rounds`` rounds of local search on the acquisition follow:
    ``neighbours(parents, rng)`` proposes candidates near the ``n_parents`` (at least one) best-scoring
    so far; the new, distinct ones are scored and join the pool (a round adding none ends the search).
    Ties are broken by pool order. Returns fewer than ``q`` rows when the pool has fewer.
    """
    pool, keys = fresh_rows(ops, pool, seen)
    if len(keys) == 0:
        return pool, np.zeros(0)
    values = acquisition(pool)
    if neighbours is not None:
        if rounds > 0 and rng is None:
            raise ValueError("local search needs a random generator")
        for _ in range(rounds):
            top = np.argsort(-values, kind="stable")[: max(1, n_parents)]
            kids, kid_keys = fresh_rows(ops, neighbours(ops.take(pool, top), rng), np.concatenate([seen, keys]))
            if len(kid_keys) == 0:
                break
            pool = ops.join(pool, kids)
            keys = np.concatenate([keys, kid_keys])
            values = np.concatenate([values, acquisition(kids)])
    best = np.argsort(-values, kind="stable")[:q]
    return ops.take(pool, best), values[best]


def kriging_believer_batch(front: np.ndarray, ref: np.ndarray, mean: np.ndarray, std: np.ndarray,
                           eps: np.ndarray, q: int, *, log_p: np.ndarray, weighting: str = "log") -> np.ndarray:
    """Indices ``[min(q, N)]`` of a batch chosen greedily by feasibility-weighted log-EHVI.

    ``mean, std [N, M]``: the candidates' objective distributions; ``front [F, M]``, ``ref [M]`` and
    ``eps [S, M]`` as for :func:`~cosearch._gp.acquisition.log_ehvi`; ``log_p [N]``: ``log
    P(feasible)``, folded in by ``weighting`` (:func:`~cosearch._gp.acquisition.weight_by_feasibility`).
    After each pick its predicted mean is taken as observed and joins the front (Kriging believer),
    so the next pick improves on it.
    """
    picked: list[int] = []
    for _ in range(min(q, len(mean))):
        score = weight_by_feasibility(log_ehvi(front, ref, mean, std, eps), log_p, weighting)
        score[picked] = -np.inf
        i = int(np.argmax(score))
        picked.append(i)
        front = np.concatenate([front, mean[i : i + 1]])
        front = front[pareto_front_mask(front)]
    return np.array(picked, dtype=np.int64)
