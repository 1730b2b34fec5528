"""A ``cosearch map`` results directory as a report source (:func:`map_source`): its arch, its layers
and the best mapping of each, re-evaluated with the cost model for the breakdowns."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal, Optional

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from ..._io import finite, format_validation_error
from ...dims import DATASPACES, DIMS
from ...errors import CosearchError
from ...limits import INT_MAX, check_int
from ...workload.layer import Layer
from ..evaluation import evaluate_row, network_totals
from ..records import Design, LayerRow, MapSource
from .results_file import RESULTS_FILE, read_results_json

COST_FIELDS = ("energy_pj", "cycles", "edp", "utilization")
"""The cost fields of a layer entry and of ``total``: each ``null`` or a finite number >= 0."""


def _check_costs(entry: dict[str, Any], where: str) -> None:
    for key in COST_FIELDS:
        value = entry.get(key)
        if value is not None and (isinstance(value, str) or finite(value) is None or value < 0):
            raise CosearchError(f"{where}.{key} must be null or a finite number >= 0, got {value!r}")


def _check_entry(entry: Any, where: str) -> None:
    """Raise :class:`CosearchError` naming ``where`` unless ``entry`` is a layer entry as
    ``cosearch map`` writes it: a name, costs, counts and the optional mapping, loop nest and error."""
    if not isinstance(entry, dict):
        raise CosearchError(f"{where} must be an object, got {type(entry).__name__}")
    if not isinstance(entry.get("name"), str) or not entry["name"]:
        raise CosearchError(f"{where}.name must be a layer name, got {entry.get('name')!r}")
    _check_costs(entry, where)
    for key, low in (("count", 1), ("macs", 0), ("evaluations", 0)):
        if entry.get(key) is not None:
            check_int(entry[key], f"{where}.{key}", low=low)
    for key, kind in (("mapping", dict), ("loop_nest", list), ("error", str)):
        if entry.get(key) is not None and not isinstance(entry[key], kind):
            raise CosearchError(f"{where}.{key} must be {'an object' if kind is dict else 'a ' + kind.__name__} "
                                f"or null, got {type(entry[key]).__name__}")
    if entry.get("loop_nest"):
        _check_loop_nest(entry["loop_nest"], f"{where}.loop_nest")


class _StoredLoop(BaseModel):
    """One loop of a stored loop nest (:func:`cosearch.mapping.loopnest.loop_nest_data`)."""

    model_config = ConfigDict(extra="allow")
    dim: Literal[DIMS]  # type: ignore[valid-type]
    bound: int = Field(ge=1, le=INT_MAX, strict=True)
    kind: Literal["temporal", "spatial_y", "spatial_x"]


class _StoredLevel(BaseModel):
    """One level of a stored loop nest: what it keeps, their tile words (if stored) and its loops."""

    model_config = ConfigDict(extra="allow")
    level: str
    keeps: list[Literal[DATASPACES]]  # type: ignore[valid-type]
    tile_words: Optional[dict[Literal[DATASPACES], int]] = None  # type: ignore[valid-type]
    loops: list[_StoredLoop]

    @model_validator(mode="after")
    def _a_size_per_kept_space(self) -> "_StoredLevel":
        missing = [ds for ds in self.keeps if self.tile_words is not None and ds not in self.tile_words]
        if missing:
            raise ValueError(f"tile_words has no size for kept {', '.join(missing)}")
        return self


def _check_loop_nest(nest: list[Any], where: str) -> None:
    """Raise :class:`CosearchError` naming the field unless ``nest`` is a loop nest as ``map`` stores it."""
    for i, level in enumerate(nest):
        try:
            _StoredLevel.model_validate(level)
        except ValidationError as err:
            raise CosearchError(format_validation_error(err, f"{where}[{i}]", indexed=True)) from None


def _stored_layer(name: str, shape: Any, where: str) -> Layer | None:
    """The layer of a stored shape (``layer_shapes``), ``None`` if there is none."""
    if not shape:
        return None
    if not isinstance(shape, dict):
        raise CosearchError(f"{where} must be an object, got {type(shape).__name__}")
    try:
        return Layer(name=name, **shape)
    except ValidationError as err:
        raise CosearchError(format_validation_error(err, where)) from None
    except TypeError as err:  # a key that is not a string
        raise CosearchError(f"{where}: {err}") from None


def map_source(directory: Path, data: dict[str, Any] | None = None, *, label: str | None = None) -> MapSource:
    """Collect a ``cosearch map`` results directory (its ``results.json``).

    The arch and layer shapes are read from ``results.json`` (``arch_spec``, ``layer_shapes``); results
    written before those were stored fall back to the preset and zoo names they give."""
    from ...arch.spec import Arch

    path = Path(directory)
    data = data if data is not None else read_results_json(path / RESULTS_FILE)
    layers_data = data.get("layers")
    if not isinstance(layers_data, list) or not isinstance(data.get("arch"), str):
        raise CosearchError(f"{path / RESULTS_FILE}: not the results of cosearch map or cosearch codesign")
    if not layers_data:
        raise CosearchError(f"{path / RESULTS_FILE}: no layer has finished yet (status {data.get('status', '?')})")
    label = label or path.name
    source = str(path / RESULTS_FILE)
    notes: list[str] = []
    arch = None
    if isinstance(data.get("arch_spec"), dict):
        try:
            arch = Arch.model_validate(data["arch_spec"])
        except ValidationError as err:
            raise CosearchError(format_validation_error(err, f"{source}: arch_spec")) from None
    else:
        from ...arch.io import load_arch

        try:
            arch = load_arch(data["arch"])
            notes.append(f"arch {data['arch']} loaded by name (results.json does not store it)")
        except (CosearchError, OSError, ValueError):
            notes.append(f"arch {data['arch']} is not stored in results.json and cannot be loaded: no breakdown")
    shapes = data.get("layer_shapes") if isinstance(data.get("layer_shapes"), dict) else {}
    if not shapes:
        from ...workload.io import load_workload

        try:
            net = load_workload(str(data.get("workload")))
            shapes = {l.name: l.model_dump(exclude={"name", "count"}) for l in net.layers}
        except (CosearchError, OSError, ValueError):
            shapes = {}
    rows: list[LayerRow] = []
    for i, entry in enumerate(layers_data):
        _check_entry(entry, f"{source}: layers[{i}]")
        layer = _stored_layer(entry["name"], shapes.get(entry["name"]), f"{source}: layer_shapes.{entry['name']}")
        row = LayerRow(key=entry["name"], shape=layer.shape_text() if layer is not None else "?",
                       count=int(entry.get("count") or 1), macs=entry.get("macs"),
                       energy_pj=finite(entry.get("energy_pj")), cycles=finite(entry.get("cycles")),
                       edp=finite(entry.get("edp")), utilization=finite(entry.get("utilization")),
                       evaluations=entry.get("evaluations"), mapping=entry.get("mapping"), error=entry.get("error"),
                       loop_nest=entry.get("loop_nest") or None)
        if arch is not None and layer is not None:
            stored_nest = row.loop_nest
            evaluate_row(arch, layer, row.mapping, row)
            row.loop_nest = row.loop_nest or stored_nest
        rows.append(row)
    total = data.get("total") or {}
    if not isinstance(total, dict):
        raise CosearchError(f"{source}: total must be an object, got {type(total).__name__}")
    _check_costs(total, f"{source}: total")
    design = Design(source=label, role="map", label=f"{label}: {data['arch']}", arch_name=str(data["arch"]),
                    params={}, area_mm2=finite(arch.area_mm2) if arch is not None and arch.area_mm2 > 0 else None,
                    energy_pj=finite(total.get("energy_pj")), cycles=finite(total.get("cycles")),
                    edp=finite(total.get("edp")), per_workload_edp={}, layers=rows, notes=notes)
    if design.energy_pj is None:
        design.energy_pj, design.cycles, design.edp = network_totals(rows)
    if arch is not None and design.energy_pj is not None and design.cycles:
        from ...arch.physical import arch_run_units

        design.physical = arch_run_units(arch, design.energy_pj, design.cycles)
    if isinstance(data.get("phases"), dict):
        design.phase_totals = data["phases"]
    return MapSource(label=label, path=path, results=data, design=design, element_ops=_element_ops(data))


def _element_ops(data: dict[str, Any]) -> list[Any]:
    """The element ops of the run's workload when it has phases (LLMs) and can be loaded again, else []."""
    from ...workload.io import load_workload

    if "phases" not in data:
        return []
    try:
        return list(load_workload(str(data.get("workload"))).ops or [])
    except (CosearchError, OSError, ValueError):
        return []
