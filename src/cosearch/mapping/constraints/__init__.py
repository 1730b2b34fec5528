"""Mapspace constraints (Timeloop's ``mapspace_constraints`` / ``architecture_constraints``) and named
dataflows.

A :class:`Constraints` object is a list of ``temporal``, ``spatial``, ``bypass`` and ``utilization``
items (:mod:`.model`; the file format and the dataflows are documented in ``docs/formats.md``,
"Mapspace constraints"). :func:`load_constraints` (:mod:`.load`) reads a YAML/JSON file or builds a
named dataflow (:mod:`.dataflows`) for an architecture; :func:`resolve_constraints` (:mod:`.resolve`)
turns constraints into per-slot requirements for one layer (used by
:class:`~cosearch.mapping.space.MapSpace`), raising :class:`CosearchError` naming the constraint a
layer cannot satisfy; :func:`max_spatial_product` (:mod:`.floor`) is the dynamic programme behind the
utilisation floor.
"""

from .dataflows import DATAFLOWS, dataflow_name
from .floor import max_spatial_product
from .load import constraints_from_data, load_constraints
from .model import (
    BypassConstraint,
    Constraints,
    SpatialConstraint,
    TemporalConstraint,
    UtilizationConstraint,
    dataflow_constraints,
)
from .resolve import ResolvedConstraints, resolve_constraints

__all__ = [
    "Constraints",
    "TemporalConstraint",
    "SpatialConstraint",
    "BypassConstraint",
    "UtilizationConstraint",
    "ResolvedConstraints",
    "DATAFLOWS",
    "dataflow_constraints",
    "dataflow_name",
    "load_constraints",
    "constraints_from_data",
    "resolve_constraints",
    "max_spatial_product",
]
