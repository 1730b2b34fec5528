"""Errors of a study store: every one is a :class:`~cosearch.errors.CosearchError` with a one-line message."""

from __future__ import annotations

from ..errors import CosearchError


class StorageError(CosearchError):
    """A storage operation failed (unreachable database, lock timeout, bad state). One-line message."""


class StudyExistsError(StorageError):
    """``create_study`` with a name already in the store (the CLI suggests ``--resume``)."""


class StudyNotFoundError(StorageError):
    """No study of that name in the store."""


class TrialStateError(StorageError):
    """Unknown trial, duplicate trial number, or a transition its current state does not allow."""


def one_line(exc: BaseException) -> str:
    """The first non-blank line of a (database driver's) error, or its type name if it has no text."""
    orig = getattr(exc, "orig", None) or exc
    lines = [line.strip() for line in str(orig).strip().splitlines() if line.strip()]
    return lines[0] if lines else type(orig).__name__
