"""The progress bar of long commands (``map``: layers, ``codesign``: hardware points), on stderr."""

from __future__ import annotations

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn


def progress_bar(console: Console, title: str, counted: str) -> Progress:
    """A Rich bar ``<title> <task description> ━━━ done/total <counted> elapsed ETA remaining`` on
    ``console``; ``counted`` may name task fields (``{task.fields[best]}``)."""
    return Progress(
        TextColumn(f"[bold]{title} {{task.description}}"), BarColumn(), MofNCompleteColumn(),
        TextColumn(counted), TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
        console=console, transient=False,
    )
