"""The identity hash: the compiled :func:`row_hashes` equals the documented hash of
:func:`canonical_rows`, and mappings the model cannot tell apart hash alike."""

from __future__ import annotations

import numpy as np
import pytest

import cosearch
from cosearch.mapping.identity import canonical_rows, hash_multipliers, row_hashes
from cosearch.mapping.space import MapSpace


def _reference_hashes(m, arch) -> np.ndarray:
    """The hash as documented: odd-multiplier sum of the canonical row, then the 64-bit mix."""
    flat = canonical_rows(m, arch).astype(np.uint64)
    mult = hash_multipliers(flat.shape[1])
    with np.errstate(over="ignore"):
        h = (flat * mult[None, :]).sum(axis=1, dtype=np.uint64)
        h ^= h >> np.uint64(29)
        h *= np.uint64(0xBF58476D1CE4E5B9)
        h ^= h >> np.uint64(32)
    return h


@pytest.mark.parametrize("arch_name", ["eyeriss-168", "simple-64"])
@pytest.mark.parametrize("workload", ["resnet18", "bert_base"])
def test_row_hashes_equal_reference(arch_name: str, workload: str) -> None:
    arch = cosearch.load_arch(arch_name)
    rng = np.random.default_rng(0)
    for layer in cosearch.load_workload(workload).layers[:3]:
        m = MapSpace(arch, layer).sample(400, seed=1)
        m.keep = rng.random(m.keep.shape) < 0.5  # any keep flags: fixed levels must be clamped alike
        assert np.array_equal(row_hashes(m, arch), _reference_hashes(m, arch))


def test_factor_one_loop_order_does_not_change_hash() -> None:
    arch = cosearch.load_arch("eyeriss-168")
    layer = cosearch.load_workload("resnet18").layers[1]
    m = MapSpace(arch, layer).sample(50, seed=2)
    h = row_hashes(m, arch)
    swapped = m.subset(slice(None))
    swapped.order = m.order.copy()
    for b in range(len(m)):  # swap the ranks of two factor-1 loops (if a level has two), which costs nothing
        for lv in range(arch.num_levels):
            ones = np.flatnonzero(m.temporal[b, lv] == 1)
            if len(ones) >= 2:
                i, j = ones[:2]
                swapped.order[b, lv, i], swapped.order[b, lv, j] = m.order[b, lv, j], m.order[b, lv, i]
    assert np.array_equal(row_hashes(swapped, arch), h)
    changed = m.subset(slice(None))
    changed.temporal = m.temporal.copy()
    changed.temporal[:, 0, 0] *= 2  # different factors: different rows (almost surely different hashes)
    assert (row_hashes(changed, arch) != h).all()
