"""Which data spaces each storage level may keep, must keep, or may bypass.

A level's ``keeps`` lists the data spaces it may hold; ``keeps_fixed`` levels (and always the
outermost) hold exactly that set, the others may bypass any of it. A mapping's ``keep [B, L, 3]`` is
read through :func:`effective_keep`, so a mapping never keeps what its level cannot.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..arch._cache import per_arch_cache
from ..arch.spec import Arch
from ..dims import DATASPACES


@dataclass(frozen=True)
class KeepTables:
    """Per-level keep tables of one arch (``L`` levels, 3 data spaces)."""

    allowed: np.ndarray  # [L, 3] bool: the level may keep the data space
    fixed: np.ndarray  # [L] bool: the level keeps exactly its allowed set (the outermost always)
    bypassable: np.ndarray  # [L, 3] bool: allowed and not fixed (a mapping chooses)


@per_arch_cache
def keep_tables(arch: Arch) -> KeepTables:
    """The :class:`KeepTables` of ``arch`` (read-only arrays; built once per arch when it is hashable,
    as every :func:`effective_keep` of the cost model's hot path asks for them)."""
    allowed = np.array([[ds in lvl.keeps for ds in DATASPACES] for lvl in arch.levels], dtype=bool)
    fixed = np.array([lvl.keeps_fixed for lvl in arch.levels], dtype=bool)
    fixed[0] = True
    bypassable = allowed & ~fixed[:, None]
    for table in (allowed, fixed, bypassable):
        table.flags.writeable = False
    return KeepTables(allowed=allowed, fixed=fixed, bypassable=bypassable)


def effective_keep(arch: Arch, keep: np.ndarray) -> np.ndarray:
    """Clamp ``keep [B, L, 3]`` to what the arch allows; fixed levels and the outermost keep their set."""
    t = keep_tables(arch)
    return np.where(t.fixed[None, :, None], t.allowed[None], keep & t.allowed[None])
