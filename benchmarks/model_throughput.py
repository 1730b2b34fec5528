"""Cost-model throughput: evaluations per second on one thread, sampling excluded.

Prints one JSON object. Two batches of random valid mappings of ResNet-18's 3×3 64→64 56×56 layer on
eyeriss-168: a general one from MapSpace, and one where every mapping spreads both P and R (or Q and
S) spatially (the diagonal sliding-window case); and a third of imperfect factorizations (every mapping
over-covers a dimension: one spatial factor raised to a non-divisor, the DRAM factor the ceiling of the
rest), costed with ``factorization="imperfect"``. Run with ``OMP_NUM_THREADS=1``.

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
    print(json.dumps(out))


if __name__ == "__main__":
    main()
