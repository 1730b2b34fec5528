"""The area of hardware points of a hardware space, vectorised (tables built once from the estimator)."""

from __future__ import annotations

import numpy as np

from .hwspace import HWSpace


class AreaModel:
    """Area (mm²) of hardware points, vectorised.

    A template's area separates by level: each level's per-instance area depends only on its own
    parameters (the template's ``level_params``; levels it does not list, such as DRAM, count as no
    area), and the PE levels, MACs and per-PE overhead scale with the PE count (the product of the
    template's two mesh parameters); a block MAC's area per PE follows the template's ``mac_params``,
    and a searched precision sets the MACs' per-PE area, nothing else's (capacities stay in bits).
    The per-instance tables are built once from the estimator (one
    arch per grid value of each level's parameters), so scoring thousands of candidates is a few array
    lookups.
    """

    def __init__(self, space: HWSpace) -> None:
        self.space = space
        self.names = list(space.names)
        self._tables: list[tuple[tuple[int, ...], np.ndarray, bool]] | None = None

    def _build(self) -> list[tuple[tuple[int, ...], np.ndarray, bool]]:
        from .estimator import area_breakdown

        base = np.zeros(len(self.names), dtype=np.int64)
        arch0 = self.space.arch(base, clocked=False)  # (the clock has no area; a searched one may be above a level's limit)
        top = base.copy()  # the largest mesh tells the per-PE levels apart even if the smallest is 1 × 1
        top[list(self.space.mesh_columns)] = np.asarray(self.space.sizes)[list(self.space.mesh_columns)] - 1
        per_pe = {lvl.name: lvl.instances > 1 for lvl in self.space.arch(top, clocked=False).levels}
        tables = []
        for level, params in self.space.template_spec.level_params.items():
            cols = tuple(self.names.index(p) for p in params)
            shape = tuple(int(self.space.sizes[c]) for c in cols)
            table = np.empty(shape)
            for idx in np.ndindex(*shape):
                pt = base.copy()
                pt[list(cols)] = idx
                arch = self.space.arch(pt, clocked=False)
                lvl = arch.levels[arch.level_index(level)]
                table[idx] = lvl.area_mm2
            tables.append((cols, table, per_pe[level]))
        # per PE: MAC and PE overhead, which follow the parameters that set a block MAC (``mac_params``)
        # and a searched precision (it re-costs the MACs; levels keep their bits)
        names = [*self.space.template_spec.mac_params, *(n for n in self.space.searched if n == "precision")]
        cols = tuple(self.names.index(p) for p in names)
        table = np.empty(tuple(int(self.space.sizes[c]) for c in cols))
        for idx in np.ndindex(*table.shape):
            pt = base.copy()
            pt[list(cols)] = idx
            arch = self.space.arch(pt, clocked=False) if cols else arch0
            parts = area_breakdown(arch)
            table[idx] = (parts["MAC"] + parts["PE overhead"]) / arch.mac.instances
        tables.append((cols, table, True))
        return tables

    def __call__(self, points: np.ndarray) -> np.ndarray:
        """``[n]`` areas (mm²) of ``[n, P]`` points (grid indices)."""
        if self._tables is None:
            self._tables = self._build()
        points = np.asarray(points, dtype=np.int64).reshape(-1, len(self.names))
        pes = self.space.pe_counts(points)
        out = np.zeros(len(points))
        for cols, table, scales in self._tables:
            part = table[tuple(points[:, c] for c in cols)] if cols else np.full(len(points), float(table))
            out += part * (pes if scales else 1.0)
        return out

    def smallest(self) -> float:
        """Area of the smallest design (every parameter at its lowest grid value)."""
        return float(self(np.zeros((1, len(self.names)), dtype=np.int64))[0])
