"""Values as a study store keeps them (plain JSON data), and the canonical text and hash of a study config."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from .._io import to_plain
from ..errors import CosearchError
from .errors import StorageError


def stored_json(obj: Any) -> Any:
    """``obj`` as plain JSON data (:func:`cosearch._io.to_plain`: numpy → Python, non-finite floats →
    ``None``, ...); :class:`StorageError` for a value JSON cannot hold."""
    try:
        return to_plain(obj)
    except CosearchError as err:  # "cannot write a T as JSON", worded for a store
        raise StorageError(str(err).replace("cannot write", "cannot store", 1)) from None


def canonical_json(obj: Any) -> str:
    """Deterministic JSON text of ``obj`` (sorted keys, no spaces): what :func:`config_hash` hashes."""
    return json.dumps(stored_json(obj), sort_keys=True, separators=(",", ":"), allow_nan=False)


def config_hash(config: Any) -> str:
    """sha256 (hex) of the canonical JSON of a study config; equal configs hash equal across runs."""
    return hashlib.sha256(canonical_json(config).encode()).hexdigest()
