"""How well a PE mesh fits a workload: the compute-bound cycles floor of the mesh, as a feature for the
hardware BO.

A mesh whose sides do not divide the layers' dims leaves PEs idle whatever the mapping, and neither the
grid indices nor the PE count say so. For a mesh (columns × rows), the floor is Σ over a network's
layers of count × MACs ÷ the most PEs a mapping of the layer can keep busy on it (the compute term of
:func:`cosearch.codesign.bounds.layer_cycles_floor`, without its DRAM term); the feature is its log,
averaged over the workloads (one workload: log Σ). For a template of block MACs the floor is taken in
each block's blocked view (:mod:`cosearch.mapping.vector`: block operations ÷ busy PEs on the blocked
layers), so the feature also depends on the template's ``mac_params``.

The most busy PEs are found for every mesh of the space at once: the spatial factors of a layer are, per
dim, a pair (x, y) with x · y dividing the dim; a table marks which products (Π x, Π y) the dims can
reach, and a running maximum over it gives, for each mesh X × Y, the largest Π x · Π y with Π x ≤ X and
Π y ≤ Y. That is the same number as :meth:`MapSpace.max_utilized_pes` of an unconstrained layer, in
about a millisecond per layer for all meshes rather than milliseconds per mesh.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..arch.hwspace import HWSpace
from ..workload.layer import Layer, Network


def _divisors(n: int) -> list[int]:
    return [d for d in range(1, n + 1) if n % d == 0]


def busy_pes_table(layer: Layer, max_x: int, max_y: int) -> np.ndarray:
    """``[max_x + 1, max_y + 1]``: at ``[X, Y]`` the most PEs a mapping of ``layer`` can keep busy on an
    ``X``-column, ``Y``-row mesh (perfect factors, no constraint); row and column 0 are 0."""
    reach = np.zeros((max_x + 1, max_y + 1), dtype=bool)  # reach[a, b]: dims so far can unroll a x b
    reach[1, 1] = True
    for n in layer.dims:
        if n <= 1:
            continue
        new = reach.copy()
        for x in _divisors(n):
            if x > max_x:
                break
            for y in _divisors(n // x):
                if y > max_y:
                    break
                if x == y == 1:
                    continue
                a, b = np.arange(1, max_x // x + 1), np.arange(1, max_y // y + 1)
                new[np.ix_(a * x, b * y)] |= reach[np.ix_(a, b)]
        reach = new
    products = np.where(reach, np.arange(max_x + 1)[:, None] * np.arange(max_y + 1)[None, :], 0)
    return np.maximum.accumulate(np.maximum.accumulate(products, axis=0), axis=1)


def padded_cycles_table(dims: tuple[int, ...], max_x: int, max_y: int) -> np.ndarray:
    """``[max_x + 1, max_y + 1]``: at ``[X, Y]`` the fewest compute cycles (per-PE iterations) of a layer of
    ``dims`` on an ``X`` × ``Y`` mesh under imperfect factorization, ``min Π_d ceil(n_d / (x_d · y_d))``
    over spatial factors with ``Π x_d <= X`` and ``Π y_d <= Y`` (padding cap aside; ``inf`` where a side
    is 0). A PE at spatial digit 0 of every dim has the most in-range iterations, at least
    ``ceil(n_d / s_d)`` of dim ``d``, so no imperfect mapping computes in fewer cycles; under perfect
    factorization the same minimum is MACs ÷ :func:`busy_pes_table`."""
    best = np.full((max_x + 1, max_y + 1), np.inf)  # best[a, b]: fewest cycles with Π x = a, Π y = b
    best[1, 1] = 1.0
    for n in dims:
        if n <= 1:
            continue
        new = np.full_like(best, np.inf)
        for x in range(1, min(n, max_x) + 1):
            for y in range(1, min(-(-n // x), max_y) + 1):
                a, b = np.arange(1, max_x // x + 1), np.arange(1, max_y // y + 1)
                cell = np.ix_(a * x, b * y)
                new[cell] = np.minimum(new[cell], best[np.ix_(a, b)] * -(-n // (x * y)))
        best = new
    return np.minimum.accumulate(np.minimum.accumulate(best, axis=0), axis=1)


def network_cycles_floor_table(network: Network, max_x: int, max_y: int) -> np.ndarray:
    """``[max_x + 1, max_y + 1]``: Σ over ``network``'s layers of count × MACs ÷ busy PEs on each mesh
    (``inf`` where a side is 0)."""
    total = np.zeros((max_x + 1, max_y + 1))
    with np.errstate(divide="ignore"):
        for layer in network.layers:
            total += layer.count * layer.macs / busy_pes_table(layer, max_x, max_y)
    return total


class MeshFit:
    """The feature of hardware points (see the module docstring): ``[n]`` values of grid indices
    ``[n, P]`` of ``space``, the mean over ``workloads`` of log(network compute-bound cycles floor)."""

    def __init__(self, space: HWSpace, workloads: Sequence[Network]) -> None:
        if not workloads:
            raise ValueError("MeshFit needs at least one workload")
        self.space = space
        grids = space.grids()
        self._cx, self._cy = space.mesh_columns
        self._x, self._y = grids[self._cx].astype(np.int64), grids[self._cy].astype(np.int64)
        mx, my = int(self._x.max()), int(self._y.max())
        self._mac = [list(space.names).index(p) for p in space.template_spec.mac_params]
        if not self._mac:
            logs = [np.log(network_cycles_floor_table(w, mx, my)[np.ix_(self._x, self._y)]) for w in workloads]
            self.table = np.mean(logs, axis=0)  # [grid columns, grid rows]
            return
        # block MACs: the floor of the blocked view (block operations over busy PEs), per block
        from ..mapping.vector import blocked_layer

        combos = list(np.ndindex(*(int(space.sizes[c]) for c in self._mac)))
        self.table = np.empty((*(int(space.sizes[c]) for c in self._mac), len(self._x), len(self._y)))
        for combo in combos:
            pt = np.zeros(len(space.names), dtype=np.int64)
            pt[self._mac] = combo
            arch = space.arch(pt, clocked=False)  # (the clock sets no block)
            views = [Network(name=w.name, layers=[blocked_layer(arch, layer) for layer in w.layers])
                     for w in workloads]
            logs = [np.log(network_cycles_floor_table(w, mx, my)[np.ix_(self._x, self._y)]) for w in views]
            self.table[combo] = np.mean(logs, axis=0)

    def __call__(self, points: np.ndarray) -> np.ndarray:
        """``[n]`` feature values of ``[n, P]`` points (grid indices)."""
        at = tuple(points[:, c] for c in self._mac)
        return self.table[(*at, points[:, self._cx], points[:, self._cy])]
