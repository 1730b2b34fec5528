"""Cost-model throughput: evaluations per second on one thread, sampling excluded.

Prints one JSON object. Two batches of random valid mappings of ResNet-18's 3×3 64→64 56×56 layer on
eyeriss-168: a general one from MapSpace, and one where every mapping spreads both P and R (or Q and
S) spatially (the diagonal sliding-window case). Run with ``OMP_NUM_THREADS=1``.

    OMP_NUM_THREADS=1 python benchmarks/model_throughput.py [--n 100000] [--repeats 3]
"""

from __future__ import annotations

import argparse
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


def rate(arch, layer, batch, repeats: int) -> float:
    cosearch.evaluate(arch, layer, batch.subset(slice(0, 10)))  # compile / warm caches
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        cosearch.evaluate(arch, layer, batch)
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
    print(json.dumps(out))


if __name__ == "__main__":
    main()
