"""Timeloop input files <-> cosearch objects (``docs/timeloop.md``).

:func:`to_timeloop` (:mod:`.export`) turns an arch, a layer and a mapping into the four YAML inputs of
``timeloop-model`` and :func:`write_timeloop_design` writes them for every layer of a design;
:func:`from_timeloop` and :func:`import_timeloop_files` (:mod:`.read`) read such
files back. :mod:`._format` holds the names both directions share.
"""

from ._format import NO_LINK_TRANSFER
from .export import (
    TIMELOOP_FILES,
    arch_yaml,
    constraints_yaml,
    ert_yaml,
    mapping_yaml,
    problem_yaml,
    to_timeloop,
    write_timeloop_design,
    write_timeloop_files,
)
from .read import from_timeloop, import_timeloop_files, read_timeloop_files

__all__ = [
    "NO_LINK_TRANSFER",
    "TIMELOOP_FILES",
    "arch_yaml",
    "problem_yaml",
    "mapping_yaml",
    "ert_yaml",
    "constraints_yaml",
    "to_timeloop",
    "write_timeloop_files",
    "write_timeloop_design",
    "from_timeloop",
    "read_timeloop_files",
    "import_timeloop_files",
]
