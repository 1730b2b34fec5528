"""Named dataflows (row-, weight-, output-, input-stationary) as lists of constraint items for an
architecture, and their names and aliases (see docs/formats.md, "Mapspace constraints").

The items are plain dicts in the constraints file format; :func:`~.model.dataflow_constraints` turns
them into a checked :class:`~.model.Constraints`.
"""

from __future__ import annotations

from typing import Any

from ...arch.spec import Arch
from ...dims import DIMS
from ...errors import CosearchError


def _pe_levels(arch: Arch, name: str) -> tuple[int, list[int]]:
    f = arch.fanout_level
    pe = list(range(f + 1, arch.num_levels))
    if not pe:
        raise CosearchError(
            f"dataflow {name}: the arch {arch.name} has no storage level inside the PEs (below the fan-out level "
            f"{arch.levels[f].name}), so there is nothing to keep stationary"
        )
    return f, pe


def _keeper(arch: Arch, pe: list[int], ds: str, name: str) -> int:
    """Innermost PE level that may keep ``ds``."""
    for li in reversed(pe):
        if ds in arch.levels[li].keeps:
            return li
    raise CosearchError(f"dataflow {name}: no level inside the PEs of {arch.name} can keep {ds}")


def _keep_item(arch: Arch, level: int, ds: str) -> list[dict]:
    """A ``keep`` item for ``ds`` at ``level`` unless the arch already fixes what the level holds."""
    if arch.levels[level].keeps_fixed:
        return []
    return [{"type": "bypass", "target": arch.level_names[level], "keep": [ds]}]


def _ones(dims: str) -> dict[str, int]:
    return {d: 1 for d in dims}


def _row_stationary(arch: Arch) -> list[dict]:
    name = "row-stationary"
    f, pe = _pe_levels(arch, name)
    w = _keeper(arch, pe, "Weights", name)
    o = _keeper(arch, pe, "Outputs", name)
    names = arch.level_names
    items: list[dict] = [
        {"type": "spatial", "target": names[f], "x_dims": ["Q", "K"], "y_dims": ["S", "C", "K"],
         "y_factors": {"S": 0}, "note": "filter rows (S) on PE rows, output rows (Q) across columns"},
        {"type": "temporal", "target": names[w], "factors": {**_ones("NGKPQS"), "R": 0}, "permutation": "RC",
         "note": "a filter row (all of R) and channels C stay in the weight scratchpad"},
        *_keep_item(arch, w, "Weights"),
    ]
    if o != w:
        items += [
            {"type": "temporal", "target": names[o], "factors": _ones("NGCPQRS"), "permutation": "K",
             "note": "psums of K output channels of one output position"},
            *_keep_item(arch, o, "Outputs"),
        ]
    for li in pe:
        if li not in (w, o):
            items.append({"type": "temporal", "target": names[li], "factors": _ones(DIMS), "note": "no loops here"})
    return items


def _stationary(arch: Arch, name: str, ds: str, moving: str, innermost: str, x_dims: list[str],
                y_dims: list[str]) -> list[dict]:
    """``ds`` stays in its innermost PE keeper: levels below it loop only over ``moving`` dims (those
    ``ds`` does not depend on), and from the fan-out level down to the keeper the ``innermost`` dims are
    the innermost loops, so the PE array's tile of ``ds`` changes only in the outer loops."""
    f, pe = _pe_levels(arch, name)
    k = _keeper(arch, pe, ds, name)
    names = arch.level_names
    fixed_dims = "".join(d for d in DIMS if d not in moving)
    items: list[dict] = [
        {"type": "spatial", "target": names[f], "x_dims": x_dims, "y_dims": y_dims},
        *_keep_item(arch, k, ds),
    ]
    for li in range(f, k + 1):
        items.append({"type": "temporal", "target": names[li], "permutation": innermost})
    for li in pe:
        if li > k:
            items.append({"type": "temporal", "target": names[li], "factors": _ones(fixed_dims),
                          "note": f"below the {ds} keeper only {', '.join(moving)} loops"})
    return items


def _weight_stationary(arch: Arch) -> list[dict]:
    return _stationary(arch, "weight-stationary", "Weights", "NPQ", "NQP", ["C"], ["K"])


def _output_stationary(arch: Arch) -> list[dict]:
    items = _stationary(arch, "output-stationary", "Outputs", "CRS", "CSR", ["P", "K"], ["Q", "K"])
    # the keeper itself accumulates one output in place: only reduction loops there too
    f, pe = _pe_levels(arch, "output-stationary")
    k = _keeper(arch, pe, "Outputs", "output-stationary")
    items.append({"type": "temporal", "target": arch.level_names[k], "factors": _ones("NGKPQ"),
                  "note": "one output accumulates in place"})
    return items


def _input_stationary(arch: Arch) -> list[dict]:
    return _stationary(arch, "input-stationary", "Inputs", "K", "K", ["P", "C"], ["Q", "C"])


DATAFLOWS: dict[str, Any] = {
    "row-stationary": _row_stationary,
    "weight-stationary": _weight_stationary,
    "output-stationary": _output_stationary,
    "input-stationary": _input_stationary,
}
"""Dataflow name -> function building its constraint items for an arch (see docs/formats.md)."""

_DATAFLOW_ALIASES = {
    "rs": "row-stationary", "ws": "weight-stationary", "os": "output-stationary", "is": "input-stationary",
    "eyeriss": "row-stationary", "nvdla": "weight-stationary",
}

DATAFLOW_DESCRIPTIONS = {
    "row-stationary": "Eyeriss row-stationary (after Timeloop's eyeriss_like constraints)",
    "weight-stationary": "weights stay in the PEs (NVDLA-like: C over X, K over Y)",
    "output-stationary": "outputs accumulate in place in the PEs (P/Q/K over the array)",
    "input-stationary": "inputs stay in the PEs (C/P/Q over the array)",
}
"""Canonical dataflow name -> one line describing it."""


def dataflow_name(name: str) -> str:
    """Canonical dataflow name (``rs`` -> ``row-stationary``...); ``ValueError`` if unknown."""
    key = str(name).strip().lower().replace("_", "-")
    key = _DATAFLOW_ALIASES.get(key, key)
    if key not in DATAFLOWS:
        raise ValueError(f"unknown dataflow {name!r} (dataflows are {', '.join(DATAFLOWS)})")
    return key


__all__ = ["DATAFLOWS", "dataflow_name", "DATAFLOW_DESCRIPTIONS"]
