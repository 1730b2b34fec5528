"""Opening a database: URL normalisation, the PostgreSQL driver choice, engine creation and SQLite pragmas.

A bare file path means SQLite (``sqlite:///<absolute path>``); ``None`` means :data:`DEFAULT_URL`.
SQLite runs in WAL mode with a busy timeout and foreign keys on; its write transactions start with
``BEGIN IMMEDIATE`` so concurrent writers (threads, processes) queue instead of failing. A
``postgresql://`` URL that names no driver uses the installed one (psycopg 3, else psycopg2).
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.pool import StaticPool

from .errors import StorageError

DEFAULT_URL = "sqlite:///cosearch-out/studies.db"
#: Seconds a SQLite writer waits for the lock before giving up.
DEFAULT_TIMEOUT_S = 30.0


SQLITE_SUFFIXES = (".db", ".sqlite", ".sqlite3")
"""File endings that make a path that does not exist yet a new SQLite store (see :func:`storage_url`)."""


def sqlite_url(path: str | os.PathLike[str]) -> str:
    """``sqlite:///<absolute path>`` for a SQLite file (created on first write, with its directories)."""
    return "sqlite:///" + str(Path(path).expanduser().absolute())


def storage_url(value: str | os.PathLike[str] | None = None) -> str:
    """A SQLAlchemy URL from a URL, a file path (→ SQLite) or ``None`` (→ :data:`DEFAULT_URL`).

    Text with ``://`` is a URL. Other text is a SQLite file: an existing file, or a new one whose name
    ends ``.db``, ``.sqlite`` or ``.sqlite3`` in a directory that exists (``runs/study.db``). Anything
    else (a typo, a directory, a new file under a missing directory) is a :class:`StorageError`
    suggesting ``sqlite:///PATH``, which creates the file and its directories."""
    if value is None:
        return DEFAULT_URL
    text = os.fspath(value).strip()
    if "://" in text:
        return text
    path = Path(text).expanduser().absolute()
    if path.is_file() or (path.suffix.lower() in SQLITE_SUFFIXES and path.parent.is_dir()):
        return sqlite_url(path)
    what, suggested = (("a directory", path / "studies.db") if path.is_dir()
                       else ("not a URL and not an existing file", path))
    raise StorageError(f"storage {text!r} is {what}; give a URL such as sqlite:///{suggested} (a new SQLite "
                       f"file can also be a path ending {', '.join(SQLITE_SUFFIXES)} in an existing directory)")


def postgres_driver(url: URL) -> URL:
    """``postgresql://`` (no driver named) → the PostgreSQL driver that is installed: psycopg 3
    (``postgresql+psycopg``, what ``cosearch[postgres]`` installs), else SQLAlchemy's default (psycopg2).
    A URL that names its driver is left alone."""
    if url.drivername != "postgresql":
        return url
    for module, driver in (("psycopg", "postgresql+psycopg"), ("psycopg2", "postgresql+psycopg2")):
        if importlib.util.find_spec(module) is not None:
            return url.set(drivername=driver)
    raise StorageError(f"cannot open storage URL {url.render_as_string(hide_password=True)}: no PostgreSQL "
                       "driver installed (pip install 'cosearch[postgres]')")


def sqlite_missing(url: str) -> Path | None:
    """The file of a SQLite URL if it does not exist yet (reading a store must not create one), else
    ``None`` (other backends, in-memory databases, malformed URLs: :class:`Storage` reports those)."""
    try:
        parsed = make_url(url)
    except Exception:  # noqa: BLE001 - Storage reports malformed URLs
        return None
    database = parsed.database
    if parsed.get_backend_name() != "sqlite" or not database or database == ":memory:" or database.startswith("file:"):
        return None
    path = Path(database).expanduser()
    return None if path.exists() else path


def sqlite_file(url: URL) -> Path | None:
    """The database file of a SQLite URL, ``None`` for an in-memory database."""
    database = url.database
    if not database or database == ":memory:" or database.startswith("file:") or url.query.get("mode") == "memory":
        return None
    return Path(database).expanduser()


def make_engine(url: URL, timeout_s: float) -> Engine:
    """An engine for ``url`` (its driver already chosen). SQLite files get WAL, ``synchronous=NORMAL``,
    foreign keys, a busy timeout of ``timeout_s`` seconds and ``BEGIN IMMEDIATE`` for write transactions
    (connections opened with the execution option ``cosearch_write=True``); in-memory SQLite gets one
    shared connection; other backends get pre-ping and a connect timeout."""
    if url.get_backend_name() != "sqlite":
        args = {"connect_timeout": max(1, int(timeout_s))} if url.get_backend_name() == "postgresql" else {}
        return create_engine(url, pool_pre_ping=True, future=True, connect_args=args)

    path = sqlite_file(url)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": timeout_s, "check_same_thread": False})
    else:  # in memory: one shared connection (single-threaded use, tests)
        engine = create_engine(url, poolclass=StaticPool, connect_args={"check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event (below) emit BEGIN instead of the driver's own heuristics.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {int(timeout_s * 1000)}")
            cursor.execute("PRAGMA foreign_keys = ON")
            if path is not None:
                cursor.execute("PRAGMA journal_mode = WAL")
                # WAL + NORMAL: a committed transaction survives a killed process (only power loss can
                # drop the last ones), and commits skip an fsync each
                cursor.execute("PRAGMA synchronous = NORMAL")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # Writers take the write lock up front: no deferred read→write upgrade that could fail with
        # SQLITE_BUSY regardless of the busy timeout.
        immediate = connection.get_execution_options().get("cosearch_write", False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine
