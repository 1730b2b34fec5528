"""The one exception type for bad user input: the CLI prints its message on one line and exits 2."""

from __future__ import annotations


class CosearchError(ValueError):
    """Bad input (file, field or value). ``str(err)`` is a complete one-line message for users."""

    def __init__(self, message: str, *, source: str | None = None) -> None:
        text = " ".join(str(message).split())
        super().__init__(f"{source}: {text}" if source else text)
