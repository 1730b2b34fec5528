"""The ``cosearch`` command line: thin Typer commands over the library (entry point :func:`main`)."""

from ._app import app, main

__all__ = ["app", "main"]
