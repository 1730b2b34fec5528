"""The ``cosearch`` command line: thin Typer commands over the library (entry point :func:`main`).

Commands: ``zoo``, ``eval``, ``validate``, ``map``, ``codesign``, ``report``, ``demo``,
``workload show``, ``study list|show|export|work``, ``export timeloop``, ``import timeloop``
(``cosearch COMMAND --help`` for details). One module per command group registers its commands on
:data:`app` (``_common``) when imported; the import order below is the order ``cosearch --help`` lists them.
"""

from . import codesign, eval, map, report, study, timeloop, validate, workload, zoo  # noqa: F401  (registers the command groups)
from ._common import app

app.command()(codesign.demo)  # listed after report, as before


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point (``cosearch``): SIGINT and SIGTERM stop a run in order, a second one at
    once (:mod:`._signals`), then the command runs."""
    from ._signals import install_stop_handlers

    install_stop_handlers()
    app(args=argv, prog_name="cosearch")


__all__ = ["app", "main"]
