"""How a ``cosearch`` process stops on a signal: the first SIGINT (Ctrl-C) or SIGTERM stops the run in
order, a second one stops the process at once.

:func:`install_stop_handlers` (called by the console entry point, :func:`cosearch.cli.main`) makes

* the first SIGINT raise :class:`Interrupted` and the first SIGTERM raise :class:`Terminated` in the
  main thread. Both are ``KeyboardInterrupt`` subclasses, so the code that already handles Ctrl-C
  handles both alike: ``map`` and ``codesign`` mark ``results.json`` ``interrupted``, hand the trials
  they hold back to the study, stop their worker processes and print one ``error:`` line. (A subclass,
  not ``KeyboardInterrupt`` itself: CPython remembers a ``KeyboardInterrupt`` that leaves an
  ``exec`` of a string, as dataclass and namedtuple creation do, and under ``python -m`` ends the
  process by SIGINT at exit even though the exception was handled; it compares the exact type.)
* any later SIGINT or SIGTERM end the process at once (:func:`os._exit`) with one ``error:`` line, after
  killing the worker processes it started. Files are never half-written (every one goes through
  :func:`cosearch._io.write_atomic`); finished layers and committed trials stay, and a resumed study
  requeues the trials a dead process held.

Exit status: 128 + the signal's number, the shell's convention: 130 for SIGINT, 143 for SIGTERM
(:func:`exit_status`).
"""

from __future__ import annotations

import os
import signal
import threading
from types import FrameType
from typing import Optional


class Interrupted(KeyboardInterrupt):
    """Raised in the main thread by the first SIGINT (Ctrl-C)."""

    signum = signal.SIGINT
    word = "interrupted"


class Terminated(Interrupted):
    """Raised in the main thread by the first SIGTERM; handled like Ctrl-C."""

    signum = signal.SIGTERM
    word = "terminated"


def exit_status(err: KeyboardInterrupt) -> int:
    """The exit status of a run stopped by ``err``: 128 + its signal, 143 for :class:`Terminated`, else 130
    (also for a plain ``KeyboardInterrupt``, e.g. in a process without these handlers)."""
    return 128 + int(getattr(err, "signum", signal.SIGINT))


def stop_word(err: KeyboardInterrupt) -> str:
    """How the ``error:`` line names the stop: ``terminated`` (SIGTERM) or ``interrupted`` (Ctrl-C)."""
    return str(getattr(err, "word", Interrupted.word))


class _StopHandler:
    """The handler of SIGINT and SIGTERM: raise once, exit at once on the next signal."""

    def __init__(self) -> None:
        self.stopping = False

    def __call__(self, signum: int, frame: Optional[FrameType]) -> None:
        if self.stopping:
            _exit_now(signum)
        self.stopping = True
        raise Terminated() if signum == signal.SIGTERM else Interrupted()


def _exit_now(signum: int) -> None:
    """Kill this process's worker processes, say so on stderr (one line) and exit with 128 + ``signum``."""
    import multiprocessing

    for child in multiprocessing.active_children():
        try:
            child.kill()
        except Exception:  # noqa: BLE001 - exiting anyway; a child that is gone is fine
            pass
    word = Terminated.word if signum == signal.SIGTERM else Interrupted.word
    message = f"error: {word} again; stopped at once (finished layers and trials are saved)\n"
    try:
        os.write(2, message.encode())
    except OSError:
        pass
    os._exit(128 + signum)


def install_stop_handlers() -> bool:
    """Install the handler of SIGINT and SIGTERM for the life of this process (see the module docstring).
    Returns ``False`` (and does nothing) outside the main thread, where Python cannot set handlers."""
    if threading.current_thread() is not threading.main_thread():
        return False
    handler = _StopHandler()
    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)
    return True
