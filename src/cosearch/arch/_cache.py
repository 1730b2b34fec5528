"""Per-arch caching of derived tables: an :class:`~cosearch.arch.spec.Arch` is frozen, so what is
computed from it alone can be computed once; an arch that cannot be hashed is computed every time."""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache, wraps
from typing import TypeVar

from .spec import Arch

T = TypeVar("T")


def per_arch_cache(build: Callable[[Arch], T]) -> Callable[[Arch], T]:
    """``build(arch)``, remembered for the last 256 hashable archs (the result must not be mutated)."""
    cached = lru_cache(maxsize=256)(build)

    @wraps(build)
    def get(arch: Arch) -> T:
        try:
            return cached(arch)
        except TypeError:  # e.g. per-data-space word_bits dicts make the model unhashable
            return build(arch)

    return get
