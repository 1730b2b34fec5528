"""What a report is collected from: co-design studies in a study store (:mod:`.study`, with their
baselines from :mod:`.baselines`), ``cosearch map`` results directories (:mod:`.map_run`), both found
from ``cosearch report`` arguments by :mod:`.resolve`; :mod:`.results_file` reads runs' ``results.json``."""

from __future__ import annotations

from .map_run import map_source
from .resolve import resolve_sources
from .study import open_store, study_edp_bound, study_source

__all__ = ["map_source", "open_store", "resolve_sources", "study_edp_bound", "study_source"]
