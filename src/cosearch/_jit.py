"""Keeping numba's on-disk cache honest across files.

numba keys a cached build (``@njit(cache=True)``) by the contents of the function's own source file
only. A kernel that calls compiled functions of another module has their code compiled into its own
build, so an edit of that other module alone leaves the cached kernel running the old code. The cost
model's kernel (``model/_kernel.py``) compiles in ``model/_remainders.py`` this way.

:func:`drop_stale_builds` closes the gap: it stamps each cached kernel's index with a hash of the
modules it depends on and removes the index (so numba compiles afresh) when that hash changes.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from pathlib import Path
from types import ModuleType


def drop_stale_builds(dispatchers: Iterable[object], dependencies: Iterable[ModuleType]) -> None:
    """Invalidate the cached builds of ``dispatchers`` (numba ``@njit(cache=True)`` functions) whose
    ``dependencies`` (modules whose compiled functions they call) changed since the builds were stamped.

    Dispatchers without an on-disk cache are skipped; a cache directory that cannot be written is
    left as it is (numba then recompiles in memory anyway when its own check fails).
    """
    digest = hashlib.sha256(b"".join(Path(m.__file__).read_bytes() for m in dependencies)).hexdigest()
    for dispatcher in dispatchers:
        index = getattr(getattr(getattr(dispatcher, "_cache", None), "_cache_file", None), "_index_path", None)
        if index is None:
            continue
        stamp = Path(f"{index}.deps")
        try:
            if stamp.is_file() and stamp.read_text() == digest:
                continue
            if os.path.exists(index):
                os.remove(index)
            stamp.write_text(digest)
        except OSError:
            continue
