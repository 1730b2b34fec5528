"""Cost-model throughput: evaluations per second on one thread, sampling excluded.

Prints one JSON object. Two batches of random valid mappings of ResNet-18's 3×3 64→64 56×56 layer on
eyeriss-168: a general one from MapSpace, and one where every mapping spreads both P and R (or Q and
S) spatially (the diagonal sliding-window case); and a third of imperfect factorizations (every mapping
over-covers a dimension: one spatial factor raised to a non-divisor, the DRAM factor the ceiling of the
rest), costed with ``factorization="imperfect"``. Last, samples of ``MapSpace(..., factorization=
"imperfect")`` (default padding cap) for a few real layers with awkward sizes on eyeriss-168 (DQN conv2
and conv3, ResNet-18 layer1 and layer4 3×3): all of them (half are drawn perfectly factorized,
``evals_per_s_imperfect_space``) and only those that over-cover a dim
(``evals_per_s_imperfect_space_remainders``), each rate the total over the layers. Run with
``OMP_NUM_THREADS=1``.

    OMP_NUM_THREADS=1 python benchmarks/model_throughput.py [--n 100000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import time

import numpy as np

import cosearch
from cosearch.dims import DIM_INDEX


def diagonal_batch(space: "cosearch.MapSpace", n: int, seed: int) -> "cosearch.Mappings":
    """``n`` valid mappings that each spread P and R, or Q and S, across the array."""
    rng = np.random.default_rng(seed)
    chunks, have = [], 0
    f = space.arch.fanout_level
    p, r, q, s = (DIM_INDEX[d] for d in "PRQS")
    while have < n:
        m = space.sample(200_000, seed=rng)
        sp = m.spatial_x[:, f] * m.spatial_y[:, f]
        keep = ((sp[:, p] > 1) & (sp[:, r] > 1)) | ((sp[:, q] > 1) & (sp[:, s] > 1))
        if keep.any():
            chunks.append(m.subset(np.flatnonzero(keep)))
            have += int(keep.sum())
    return cosearch.Mappings.concat(chunks).subset(slice(0, n))


def remainder_batch(space: "cosearch.MapSpace", n: int, seed: int) -> "cosearch.Mappings":
    """``n`` valid mappings with remainder tiles: perfect samples where one dimension's spatial X factor
    is raised by one (to a size that does not divide the dimension) and its DRAM factor is the ceiling
    of what the other factors leave."""
    from cosearch.model.evaluate import evaluate

    rng = np.random.default_rng(seed)
    arch, layer = space.arch, space.layer
    f = arch.fanout_level
    dims = np.array(layer.dims)
    chunks, have = [], 0
    while have < n:
        m = space.sample(50_000, seed=rng)
        B = len(m)
        d = rng.choice([DIM_INDEX[x] for x in "KCPQ"], size=B)
        rows = np.arange(B)
        t, sx = m.temporal.copy(), m.spatial_x.copy()
        sx[rows, f, d] += 1
        rest = (t * sx * m.spatial_y).prod(axis=1)[rows, d] // t[rows, 0, d]
        t[rows, 0, d] = -(-dims[d] // rest)
        batch = cosearch.Mappings(t, sx, m.spatial_y, m.order, m.keep)
        covered = (t * sx * m.spatial_y).prod(axis=1)
        ok = evaluate(arch, layer, batch, factorization="imperfect").valid & (covered != dims).any(axis=1)
        chunks.append(batch.subset(np.flatnonzero(ok)))
        have += int(ok.sum())
    return cosearch.Mappings.concat(chunks).subset(slice(0, n))


IMPERFECT_LAYERS = [("dqn", "conv2"), ("dqn", "conv3"), ("resnet18", "layer1_conv3x3"), ("resnet18", "layer4_conv3x3")]
"""(workload, layer) pairs of the imperfect-space section."""


def imperfect_space_rates(arch, n: int, repeats: int) -> dict[str, float]:
    """Evaluations per second over ``n`` samples per layer of :data:`IMPERFECT_LAYERS` from the imperfect
    map space: all samples, and only those with a remainder (a dim over-covered)."""
    spent = {"all": 0.0, "remainders": 0.0}
    count = {"all": 0, "remainders": 0}
    for i, (w, name) in enumerate(IMPERFECT_LAYERS):
        layer = next(x for x in cosearch.load_workload(w).layers if x.name == name)
        m = cosearch.MapSpace(arch, layer, factorization="imperfect").sample(n, seed=3 + i)
        covered = (m.temporal * m.spatial_x * m.spatial_y).prod(axis=1)
        rem = m.subset(np.flatnonzero((covered != np.array(layer.dims)).any(axis=1)))
        for key, batch in (("all", m), ("remainders", rem)):
            spent[key] += len(batch) / rate(arch, layer, batch, repeats, factorization="imperfect")
            count[key] += len(batch)
    return {k: count[k] / spent[k] for k in spent}


def rate(arch, layer, batch, repeats: int, **options) -> float:
    cosearch.evaluate(arch, layer, batch.subset(slice(0, 10)), **options)  # compile / warm caches
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        cosearch.evaluate(arch, layer, batch, **options)
        best = min(best, time.perf_counter() - t)
    return len(batch) / best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    arch = cosearch.load_arch("eyeriss-168")
    layer = cosearch.Layer(name="resnet18_layer1_conv3x3", K=64, C=64, P=56, Q=56, R=3, S=3)
    space = cosearch.MapSpace(arch, layer)
    general = space.sample(args.n, seed=0)
    diagonal = diagonal_batch(space, args.n, seed=1)
    out = {
        "layer": layer.shape_text(),
        "arch": arch.name,
        "mappings": args.n,
        "omp_num_threads": os.environ.get("OMP_NUM_THREADS"),
        "evals_per_s_random": round(rate(arch, layer, general, args.repeats)),
        "evals_per_s_diagonal": round(rate(arch, layer, diagonal, args.repeats)),
        "valid_fraction_random": float(cosearch.evaluate(arch, layer, general).valid.mean()),
    }
    if "factorization" in inspect.signature(cosearch.evaluate).parameters:  # not in cosearch <= 0.x
        remainder = remainder_batch(space, args.n, seed=2)
        out["evals_per_s_remainder"] = round(rate(arch, layer, remainder, args.repeats, factorization="imperfect"))
        rates = imperfect_space_rates(arch, args.n, args.repeats)
        out["evals_per_s_imperfect_space"] = round(rates["all"])
        out["evals_per_s_imperfect_space_remainders"] = round(rates["remainders"])
    print(json.dumps(out))


if __name__ == "__main__":
    main()
