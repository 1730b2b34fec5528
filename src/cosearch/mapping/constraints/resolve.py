"""Resolving constraints for one layer: per-slot required factors (residuals turned into numbers),
required loop orders, forced keep/bypass choices and the utilisation floor, each remembering which item
set it, so that a layer that cannot satisfy a constraint gets a message naming the item."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ...arch.spec import Arch
from ...dims import DIM_INDEX, DIMS, DS_INDEX, NUM_DATASPACES, NUM_DIMS
from ...errors import CosearchError
from ...workload.layer import Layer
from .model import BypassConstraint, Constraints, SpatialConstraint, TemporalConstraint, UtilizationConstraint

_SLOT_KINDS = ("temporal", "X", "Y")
"""Names of the slot kinds (first index of ``ResolvedConstraints.req``) in messages."""


@dataclass
class ResolvedConstraints:
    """Per-slot requirements of constraints for one (arch, layer); ``-1`` = free.

    ``req [3, L, D]``: the required factor of each slot (kind ``0`` temporal, ``1`` spatial X, ``2``
    spatial Y; spatial slots exist only at the fan-out level, elsewhere they are 1), after residuals
    are resolved (a dim with a residual is fully fixed). ``perm[l]``: dim indices of level ``l``'s
    required innermost loops (outer -> inner), or ``None``. ``keep``/``bypass [L, 3]``: forced choices.
    ``min_util``: the utilisation floor (0 = none). ``labels`` tell which item set what.
    """

    req: np.ndarray
    perm: list[list[int] | None]
    keep: np.ndarray
    bypass: np.ndarray
    min_util: float
    slot_label: dict[tuple[int, int, int], str] = field(default_factory=dict)
    perm_label: dict[int, str] = field(default_factory=dict)
    keep_label: dict[tuple[int, int], str] = field(default_factory=dict)
    util_label: str = ""

    def dim_labels(self, d: int) -> list[str]:
        """Labels of the items that fixed a slot of dim ``d`` (sorted)."""
        return sorted({lab for (k, l, dd), lab in self.slot_label.items() if dd == d})


def resolve_constraints(constraints: Constraints, arch: Arch, layer: Any, *,
                        pad_limit: Any = None) -> ResolvedConstraints:
    """Per-slot requirements of ``constraints`` (already :meth:`~Constraints.expand`-ed) for ``layer``.

    Raises :class:`CosearchError` naming the item when the layer cannot satisfy a fixed factor (it does
    not divide the dim, or the fixed factors of a dim multiply to more than its size). Under imperfect
    factorization (``pad_limit [D]``: the largest product of each dim's factors) fixed factors need not
    divide the dim, a residual (``0``) slot gets ``ceil(size / product)``, and the error is a product
    beyond the padding cap. On an arch with a block MAC, ``layer``'s dims are the blocked view's
    (:func:`~cosearch.mapping.vector.blocked_view`; a view is its own view)."""
    from ..vector import blocked_view

    if isinstance(layer, Layer):
        arch, layer = blocked_view(arch, layer)
    out = _unconstrained(arch)
    for i, item in enumerate(constraints.constraints):
        lab = constraints.item_label(i)
        if isinstance(item, UtilizationConstraint):
            if item.min > out.min_util:
                out.min_util = float(item.min)
                out.util_label = lab
        elif isinstance(item, BypassConstraint):
            _apply_bypass(out, arch, item, lab)
        elif isinstance(item, TemporalConstraint):
            _apply_temporal(out, arch, item, lab)
        else:
            _apply_spatial(out, arch, item, lab)
    _resolve_residuals(out, arch, layer, pad_limit)
    return out


def _unconstrained(arch: Arch) -> ResolvedConstraints:
    """No requirement yet: temporal slots and the fan-out level's spatial slots free (``-1``), the
    spatial slots of other levels 1 (they do not exist)."""
    L = arch.num_levels
    # -1 = free, 0 = residual (until resolved), > 0 = fixed
    req = np.full((3, L, NUM_DIMS), -1, dtype=np.int64)
    req[1:] = 1
    req[1:, arch.fanout_level] = -1
    keep = np.zeros((L, NUM_DATASPACES), dtype=bool)
    bypass = np.zeros((L, NUM_DATASPACES), dtype=bool)
    return ResolvedConstraints(req, [None] * L, keep, bypass, 0.0)


def _factor_text(value: int) -> str:
    return "0 (all that is left)" if value == 0 else str(value)


def _fix(out: ResolvedConstraints, arch: Arch, key: tuple[int, int, int], value: int, lab: str) -> None:
    """Require ``value`` of the slot ``key = (kind, level, dim)`` (set by the item labelled ``lab``);
    a different value already required there is a contradiction."""
    prev = int(out.req[key])
    if prev != -1 and prev != value:
        dim = DIMS[key[2]]
        raise CosearchError(
            f"{lab}: {_SLOT_KINDS[key[0]]} factor {dim}={_factor_text(value)} at {arch.level_names[key[1]]} "
            f"contradicts {dim}={_factor_text(prev)} from {out.slot_label.get(key, 'the arch')}"
        )
    out.req[key] = value
    out.slot_label[key] = lab


def _apply_bypass(out: ResolvedConstraints, arch: Arch, item: BypassConstraint, lab: str) -> None:
    li = arch.level_names.index(item.target)
    for ds in item.keep:
        out.keep[li, DS_INDEX[ds]] = True
        out.keep_label[(li, DS_INDEX[ds])] = lab
    for ds in item.bypass:
        if ds in arch.levels[li].keeps:  # bypassing what the level cannot hold is a no-op
            out.bypass[li, DS_INDEX[ds]] = True
            out.keep_label[(li, DS_INDEX[ds])] = lab


def _apply_temporal(out: ResolvedConstraints, arch: Arch, item: TemporalConstraint, lab: str) -> None:
    li = arch.level_names.index(item.target)
    for dim, value in item.factors.items():
        _fix(out, arch, (0, li, DIM_INDEX[dim]), value, lab)
    if item.permutation:
        out.perm[li] = [DIM_INDEX[c] for c in item.permutation]
        out.perm_label[li] = lab


def _apply_spatial(out: ResolvedConstraints, arch: Arch, item: SpatialConstraint, lab: str) -> None:
    """Fixed X/Y factors, and factor 1 for every dim an ``x_dims``/``y_dims`` list leaves out."""
    f = arch.fanout_level
    for kind, axis in ((1, "x"), (2, "y")):
        allowed = getattr(item, f"{axis}_dims")
        for dim, value in getattr(item, f"{axis}_factors").items():
            _fix(out, arch, (kind, f, DIM_INDEX[dim]), value, lab)
        if allowed is not None:
            for d in range(NUM_DIMS):
                if DIMS[d] not in allowed:
                    _fix(out, arch, (kind, f, d), 1, f"{lab} ({axis}_dims)")


def _resolve_residuals(out: ResolvedConstraints, arch: Arch, layer: Any, pad_limit: Any = None) -> None:
    """Per dim: the fixed factors must divide the layer's size; a residual (``0``) slot gets what they
    leave and every free slot of that dim gets 1. Under imperfect factorization (``pad_limit``) see
    :func:`_resolve_padded`."""
    dims = [int(x) for x in layer.dims]
    where = f"layer {layer.name} ({layer.shape_text()}) on {arch.name}"
    for d in range(NUM_DIMS):
        name = DIMS[d]
        fixed = out.req[:, :, d]
        prod = int(np.prod(fixed[fixed > 0]))
        res = np.argwhere(fixed == 0)
        if pad_limit is not None:
            _resolve_padded(out, d, prod, res, dims[d], int(pad_limit[d]), where)
            continue
        if len(res):
            key = (int(res[0][0]), int(res[0][1]), d)
            if dims[d] % prod:
                raise CosearchError(
                    f"{where}: {out.slot_label[key]}: {name}=0 (all that is left) is impossible: the other fixed "
                    f"factors of {name} ({', '.join(_others(out, d, key))}) multiply to {prod}, which does not "
                    f"divide the layer's {name}={dims[d]}"
                )
            fixed[fixed == -1] = 1  # every unconstrained slot of the dim gets 1
            fixed[key[0], key[1]] = dims[d] // prod
        elif dims[d] % prod:
            raise CosearchError(
                f"{where}: {' and '.join(out.dim_labels(d))}: fixed factors of {name} multiply to {prod}, which "
                f"does not divide the layer's {name}={dims[d]}"
            )


def _resolve_padded(out: ResolvedConstraints, d: int, prod: int, res: np.ndarray, size: int, limit: int,
                    where: str) -> None:
    """One dim under imperfect factorization: a residual slot gets ``ceil(size / prod)`` (the other
    slots of the dim 1); the fixed factors with the outer iterations they leave, ``prod · ceil(size /
    prod)`` (the least any mapping under them reaches), must stay within the padding cap ``limit``."""
    name = DIMS[d]
    fixed = out.req[:, :, d]
    total = prod * -(-size // prod)
    if len(res):
        key = (int(res[0][0]), int(res[0][1]), d)
        fixed[fixed == -1] = 1
        fixed[key[0], key[1]] = -(-size // prod)
        labels = [out.slot_label[key]]
    else:
        labels = out.dim_labels(d)
    if total > limit:
        raise CosearchError(
            f"{where}: {' and '.join(labels)}: fixed factors of {name} ({prod}) leave at least {total} points, more "
            f"than the padding cap allows for the layer's {name}={size} (at most {limit})"
        )


def _others(out: ResolvedConstraints, d: int, key: tuple[int, int, int]) -> list[str]:
    """The other fixed factors (> 1) of dim ``d`` and the items that set them, for a message."""
    res = []
    for (k, l, dd), lab in sorted(out.slot_label.items()):
        if dd == d and (k, l, dd) != key and out.req[k, l, d] > 1:
            res.append(f"{_SLOT_KINDS[k]} {DIMS[d]}={int(out.req[k, l, d])} by {lab}")
    return res or ["none"]


__all__ = ["ResolvedConstraints", "resolve_constraints"]
