"""Workloads: conv-shaped layers, networks with repeat counts, the built-in zoo and workload files."""

from __future__ import annotations

from .io import load_workload, parse_shape, save_workload
from .layer import Layer, Network, deduplicate
from .zoo import ZOO, zoo_names

__all__ = [
    "Layer",
    "Network",
    "ZOO",
    "deduplicate",
    "load_workload",
    "parse_shape",
    "save_workload",
    "zoo_names",
]
