"""Reading constraints: from parsed file data (the cosearch layout, a bare list of items, or Timeloop's
``mapspace_constraints`` / ``targets`` nesting), from a YAML/JSON file, or by dataflow name; the
result is checked against an architecture (dataflow items expanded)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import ValidationError

from ..._io import format_validation_error, read_structured_file
from ...arch.spec import Arch
from ...errors import CosearchError
from .dataflows import DATAFLOWS, dataflow_name
from .model import ITEM_TYPES, Constraints, dataflow_constraints


def constraints_from_data(data: Any, source: str) -> Constraints:
    """Parse a constraints object: ``{constraints: [...], name?, description?, dataflow?}``, a bare list
    of items, or Timeloop's ``{targets: [...]}`` / ``{mapspace_constraints: ...}`` nesting."""
    if isinstance(data, dict):
        for key in ("mapspace_constraints", "architecture_constraints", "mapspace"):
            if key in data and isinstance(data[key], (dict, list)) and len(data) == 1:
                data = data[key]
                break
    if isinstance(data, list):
        data = {"constraints": data}
    if isinstance(data, dict) and "targets" in data and "constraints" not in data:
        data = {**{k: v for k, v in data.items() if k != "targets"}, "constraints": data["targets"]}
    if not isinstance(data, dict):
        raise CosearchError(f"{source}: expected a mapping with a 'constraints' list, got {type(data).__name__}")
    data = {**data, "source": source}
    try:
        return Constraints.model_validate(data)
    except ValidationError as err:
        raise CosearchError(format_validation_error(err, source, indexed=True, tags=ITEM_TYPES)) from None


def load_constraints(name_or_path: str | Path | Constraints | dict, arch: Arch) -> Constraints:
    """Constraints for ``arch`` from a dataflow name (:data:`DATAFLOWS`), a YAML/JSON file, a dict or a
    :class:`Constraints` object; checked against the arch (dataflow items expanded). Raises
    :class:`CosearchError` with one line naming the file and field on bad input."""
    if isinstance(name_or_path, Constraints):
        return name_or_path.expand(arch)
    if isinstance(name_or_path, dict):
        return constraints_from_data(name_or_path, "constraints").expand(arch)
    text = str(name_or_path)
    try:
        key = dataflow_name(text)
    except ValueError:
        key = None
    if key is not None:
        return dataflow_constraints(key, arch)
    path = Path(text)
    if not path.exists() and path.suffix == "":
        raise CosearchError(
            f"unknown constraints {text!r}: not a dataflow ({', '.join(DATAFLOWS)}) and no such file"
        )
    return constraints_from_data(read_structured_file(path), str(path)).expand(arch)


__all__ = ["constraints_from_data", "load_constraints"]
