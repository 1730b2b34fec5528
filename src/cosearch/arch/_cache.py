"""Per-arch caching of derived tables: an :class:`~cosearch.arch.spec.Arch` is frozen, so what is
computed from it alone can be computed once; an arch that cannot be hashed is computed every time."""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache, wraps
from typing import TypeVar

from .spec import Arch

T = TypeVar("T")


def identity_cache() -> dict[int, tuple[object, object]]:
    """A dict ``id(key) -> (key, value)`` for :func:`identity_get`: it holds the key, so its id
    cannot be reused while the entry lives."""
    return {}


def identity_get(cache: dict[int, tuple[object, object]], key: object, build: Callable[[], T],
                 size: int = 8) -> T:
    """``build()`` for the frozen object ``key``, remembered by identity for the last ``size`` keys: a
    hit costs a dict lookup instead of hashing a pydantic model field by field (the cost model's hot
    path asks for the same arch and layer tables thousands of times per search)."""
    hit = cache.get(id(key))
    if hit is not None and hit[0] is key:
        return hit[1]  # type: ignore[return-value]
    value = build()
    if len(cache) >= size:
        cache.pop(next(iter(cache)))
    cache[id(key)] = (key, value)
    return value


def per_arch_cache(build: Callable[[Arch], T]) -> Callable[[Arch], T]:
    """``build(arch)``, remembered for the last 256 hashable archs (the result must not be mutated);
    the last few archs are also found by identity (:func:`identity_get`)."""
    cached = lru_cache(maxsize=256)(build)
    recent = identity_cache()

    def by_value(arch: Arch) -> T:
        try:
            return cached(arch)
        except TypeError:  # an arch holding an unhashable value
            return build(arch)

    @wraps(build)
    def get(arch: Arch) -> T:
        return identity_get(recent, arch, lambda: by_value(arch))

    return get
