"""Lazy package exports: a package lists its public names and the modules that define them, and a
name's module is imported on first use (so ``import cosearch`` and ``import cosearch.study`` stay cheap)."""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from importlib import import_module
from typing import Any


def lazy_getattr(package: str, exports: Mapping[str, str]) -> Callable[[str], Any]:
    """A module-level ``__getattr__`` for ``package``: ``exports`` maps each public name to the module
    defining it; the value is imported once, then cached on the package. Other names raise
    :class:`AttributeError` as for any module."""

    def __getattr__(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(import_module(module), name)
        setattr(sys.modules[package], name, value)
        return value

    return __getattr__
