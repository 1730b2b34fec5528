"""Persistent studies: every proposed HW point (trial) and its per-layer best mappings are rows in SQL.

``Storage(url)`` opens (and creates) a store at any SQLAlchemy URL; the default is a SQLite file
(``sqlite:///path``; a bare path works too). Every method is one short transaction, committed before it
returns, so a process killed at any instant (even ``kill -9``) loses at most the call in flight: a
trial the caller has been told is stored stays stored. SQLite runs in WAL mode with a busy timeout and
foreign keys on; its write transactions start with ``BEGIN IMMEDIATE`` so concurrent writers (threads,
processes) queue instead of failing. PostgreSQL claims work with ``SELECT ... FOR UPDATE SKIP LOCKED``;
a ``postgresql://`` URL that names no driver uses the installed one (psycopg 3, else psycopg2), so
several processes on several machines can share a study (docs/scale-out.md).

The API is synchronous and returns plain frozen dataclasses (:class:`Study`, :class:`Trial`,
:class:`LayerRecord`, :class:`StudySummary`): no ORM object or session escapes.

Trial lifecycle::

    add_trial ─► pending ─► claim_trial / start_trial ─► running ─► complete_trial ─► complete
                   ▲                                        │  └──► fail_trial ─────► failed
                   └──────── requeue_stale (worker died) ───┘

A HW point that is *invalid* (does not fit, no valid mapping for a layer) is a ``complete`` trial whose
result says ``valid: false`` (and has no objective value); ``failed`` means the evaluation itself broke.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import os
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, fields, is_dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from sqlalchemy import and_, case, create_engine, delete, event, func, or_, select, update
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session, selectinload, sessionmaker
from sqlalchemy.pool import StaticPool

from ..errors import CosearchError
from .models import (
    DIRECTIONS,
    SCHEMA_VERSION,
    TRIAL_STATES,
    Base,
    LayerResultModel,
    Meta,
    StudyModel,
    TrialModel,
)

DEFAULT_URL = "sqlite:///cosearch-out/studies.db"
#: Seconds a SQLite writer waits for the lock before giving up.
DEFAULT_TIMEOUT_S = 30.0
#: Result keys shown first (as their own columns) in exports; others follow as ``result.<key>``.
RESULT_KEYS = ("valid", "energy_pj", "cycles", "edp", "area_mm2", "reason")
_MAX_ERROR_CHARS = 20_000
_CLAIM_TRIES = 100

# ---------------------------------------------------------------------------------------------------
# errors


class StorageError(CosearchError):
    """A storage operation failed (unreachable database, lock timeout, bad state). One-line message."""


class StudyExistsError(StorageError):
    """``create_study`` with a name already in the store (the CLI suggests ``--resume``)."""


class StudyNotFoundError(StorageError):
    """No study of that name in the store."""


class TrialStateError(StorageError):
    """Unknown trial, duplicate trial number, or a transition its current state does not allow."""


# ---------------------------------------------------------------------------------------------------
# plain records


def _utc(value: datetime | None) -> datetime | None:
    """Stored naive UTC → aware UTC."""
    if value is None:
        return None
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _now() -> datetime:
    """Now as naive UTC (how timestamps are stored)."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


def _parse_time(text: Any) -> datetime | None:
    if text in (None, ""):
        return None
    value = datetime.fromisoformat(str(text))
    return value.astimezone(timezone.utc).replace(tzinfo=None) if value.tzinfo is not None else value


@dataclass(frozen=True)
class Study:
    """One co-design study: its name, whole config (reproducible from storage alone) and objective."""

    id: int
    name: str
    created: datetime
    version: str  # cosearch version that created it
    config: dict[str, Any]
    config_hash: str
    estimator: str | None
    estimator_hash: str | None
    objective: str  # e.g. "edp"
    direction: str  # "minimize" | "maximize"

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("id")
        data["created"] = _iso(self.created)
        return data


@dataclass(frozen=True)
class LayerRecord:
    """The best mapping found for one unique layer on one trial's HW point."""

    trial_id: int
    layer: str
    shape_key: str | None
    count: int
    state: str  # "complete" | "failed"
    mapping: Any
    energy_pj: float | None  # one instance of the layer (multiply by count for the network)
    cycles: float | None
    edp: float | None
    evaluations: int
    seconds: float
    optimizer: str | None
    seed: int | None
    extra: Any
    error: str | None
    created: datetime

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("trial_id")
        data["created"] = _iso(self.created)
        return data


@dataclass(frozen=True)
class Trial:
    """One HW point of a study: its parameters, how it was proposed, its state and result."""

    id: int
    study_id: int
    number: int  # 0, 1, 2, ... within the study (proposal order)
    state: str  # pending | running | complete | failed
    hw_params: dict[str, Any]
    proposal: Any  # e.g. {"tag": "ei"}; None if not given
    result: dict[str, Any] | None  # energy_pj, cycles, edp, area_mm2, value, valid, reason, ...
    value: float | None  # the objective value (None: not complete, invalid, or non-finite)
    created: datetime
    started: datetime | None
    finished: datetime | None
    heartbeat: datetime | None
    worker_id: str | None
    attempts: int  # times the trial was started (claimed); > 1 means it was requeued
    error: str | None
    layers: tuple[LayerRecord, ...] = field(default=())  # filled only when asked for

    @property
    def valid(self) -> bool | None:
        return None if self.result is None else self.result.get("valid")

    def get(self, key: str, default: Any = None) -> Any:
        """A result field (``energy_pj``, ``cycles``, ``edp``, ``area_mm2``, ...)."""
        return default if self.result is None else self.result.get(key, default)

    def to_json(self, layers: bool = True) -> dict[str, Any]:
        data = {f.name: getattr(self, f.name) for f in fields(self) if f.name not in ("id", "study_id", "layers")}
        for key in ("created", "started", "finished", "heartbeat"):
            data[key] = _iso(data[key])
        if layers:
            data["layers"] = [layer.to_json() for layer in self.layers]
        return data


@dataclass(frozen=True)
class StudySummary:
    """A study with its trial counts by state and best objective value (for ``list_studies``)."""

    study: Study
    n_trials: int
    states: dict[str, int]  # every state, zero if none
    best_value: float | None

    @property
    def name(self) -> str:
        return self.study.name


# ---------------------------------------------------------------------------------------------------
# JSON helpers


def to_plain(obj: Any) -> Any:
    """``obj`` as plain JSON data: numpy → Python, pydantic/dataclass → dicts, non-finite floats → None."""
    if obj is None or isinstance(obj, (bool, str)):
        return obj
    if isinstance(obj, int):
        return int(obj)
    if isinstance(obj, float):
        return float(obj) if math.isfinite(obj) else None
    if isinstance(obj, Mapping):
        return {str(k): to_plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_plain(v) for v in obj]
    if isinstance(obj, (set, frozenset)):
        return sorted((to_plain(v) for v in obj), key=repr)
    if hasattr(obj, "model_dump"):  # pydantic
        return to_plain(obj.model_dump(mode="json"))
    if is_dataclass(obj) and not isinstance(obj, type):
        return to_plain(asdict(obj))
    if hasattr(obj, "tolist"):  # numpy arrays and scalars
        return to_plain(obj.tolist())
    if isinstance(obj, (datetime, date)):
        return obj.isoformat()
    if isinstance(obj, Path):
        return str(obj)
    raise StorageError(f"cannot store a {type(obj).__name__} as JSON")


def canonical_json(obj: Any) -> str:
    """Deterministic JSON text of ``obj`` (sorted keys, no spaces): what :func:`config_hash` hashes."""
    return json.dumps(to_plain(obj), sort_keys=True, separators=(",", ":"), allow_nan=False)


def config_hash(config: Any) -> str:
    """sha256 (hex) of the canonical JSON of a study config; equal configs hash equal across runs."""
    return hashlib.sha256(canonical_json(config).encode()).hexdigest()


def _finite(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _shape_key(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    return "x".join(str(int(v)) for v in value)


def _one_line(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None) or exc
    lines = [line.strip() for line in str(orig).strip().splitlines() if line.strip()]
    return lines[0] if lines else type(orig).__name__


# ---------------------------------------------------------------------------------------------------
# the engine


def storage_url(value: str | os.PathLike[str] | None = None) -> str:
    """A SQLAlchemy URL from a URL, a bare file path (→ SQLite) or ``None`` (→ :data:`DEFAULT_URL`)."""
    if value is None:
        return DEFAULT_URL
    text = os.fspath(value).strip()
    if "://" in text:
        return text
    return "sqlite:///" + str(Path(text).expanduser().absolute())


def _postgres_driver(url: URL) -> URL:
    """``postgresql://`` (no driver named) → the PostgreSQL driver that is installed: psycopg 3
    (``postgresql+psycopg``, what ``cosearch[postgres]`` installs), else SQLAlchemy's default (psycopg2).
    A URL that names its driver is left alone."""
    if url.drivername != "postgresql":
        return url
    import importlib.util

    for module, driver in (("psycopg", "postgresql+psycopg"), ("psycopg2", "postgresql+psycopg2")):
        if importlib.util.find_spec(module) is not None:
            return url.set(drivername=driver)
    raise StorageError(f"cannot open storage URL {url.render_as_string(hide_password=True)}: no PostgreSQL "
                       "driver installed (pip install 'cosearch[postgres]')")


def sqlite_missing(url: str) -> Path | None:
    """The file of a SQLite URL if it does not exist yet (reading a store must not create one), else
    ``None`` (other backends, in-memory databases, malformed URLs: :class:`Storage` reports those)."""
    from sqlalchemy.engine import make_url

    try:
        parsed = make_url(url)
    except Exception:  # noqa: BLE001 - Storage reports malformed URLs
        return None
    database = parsed.database
    if parsed.get_backend_name() != "sqlite" or not database or database == ":memory:" or database.startswith("file:"):
        return None
    path = Path(database).expanduser()
    return None if path.exists() else path


def _sqlite_file(url: URL) -> Path | None:
    database = url.database
    if not database or database == ":memory:" or database.startswith("file:") or url.query.get("mode") == "memory":
        return None
    return Path(database).expanduser()


def _make_engine(url: URL, timeout_s: float) -> Engine:
    if url.get_backend_name() != "sqlite":
        args = {"connect_timeout": max(1, int(timeout_s))} if url.get_backend_name() == "postgresql" else {}
        return create_engine(url, pool_pre_ping=True, future=True, connect_args=args)

    path = _sqlite_file(url)
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


class Storage:
    """A study store at a SQLAlchemy URL (default: a SQLite file). See the module docstring.

    ``study`` arguments accept a study name or a :class:`Study`. Errors are :class:`StorageError`
    (a :class:`~cosearch.errors.CosearchError`) with a one-line message.
    """

    def __init__(self, url: str | os.PathLike[str] | None = None, *, timeout_s: float = DEFAULT_TIMEOUT_S) -> None:
        self._url_text = storage_url(url)
        self._timeout_s = float(timeout_s)
        try:
            parsed = make_url(self._url_text)
        except (ArgumentError, ValueError) as err:
            raise StorageError(f"cannot open storage URL {self._url_text}: {_one_line(err)}") from None
        self.url = parsed.render_as_string(hide_password=True)
        try:
            parsed = _postgres_driver(parsed)
            self._engine = _make_engine(parsed, self._timeout_s)
            self._write_engine = self._engine.execution_options(cosearch_write=True)
            self._init_schema()
        except (StorageError, SQLAlchemyError, ImportError, OSError) as err:
            engine = getattr(self, "_engine", None)
            if engine is not None:
                engine.dispose()
            if isinstance(err, StorageError):
                raise
            raise StorageError(f"cannot open storage URL {self.url}: {_one_line(err)}") from None
        self._reader = sessionmaker(bind=self._engine, expire_on_commit=False)
        self._writer = sessionmaker(bind=self._write_engine, expire_on_commit=False)
        self._skip_locked = self._engine.dialect.name in ("postgresql", "mysql", "mariadb", "oracle")

    def _init_schema(self) -> None:
        with self._write_engine.begin() as conn:
            Base.metadata.create_all(conn)
            row = conn.execute(select(Meta.value).where(Meta.key == "schema_version")).scalar()
            if row is None:
                conn.execute(Meta.__table__.insert().values(key="schema_version", value=str(SCHEMA_VERSION)))
            elif int(row) != SCHEMA_VERSION:
                raise StorageError(
                    f"cannot open storage URL {self.url}: schema version {row}, this cosearch reads {SCHEMA_VERSION}"
                )

    # -- plumbing ----------------------------------------------------------------------------------

    def __repr__(self) -> str:
        return f"Storage({self.url!r})"

    def __getstate__(self) -> dict[str, Any]:  # picklable: reopens from the URL
        return {"url": self._url_text, "timeout_s": self._timeout_s}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["url"], timeout_s=state["timeout_s"])  # type: ignore[misc]

    def __enter__(self) -> Storage:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def close(self) -> None:
        """Release pooled connections (the store stays on disk)."""
        self._engine.dispose()

    @contextmanager
    def _session(self, write: bool = False) -> Iterator[Session]:
        """One transaction: committed on normal exit, rolled back on error."""
        maker = self._writer if write else self._reader
        try:
            with maker() as session, session.begin():
                yield session
        except IntegrityError:
            raise
        except DBAPIError as err:
            raise StorageError(f"storage {self.url}: {_one_line(err)}") from None

    def _study_id(self, session: Session, study: str | Study) -> int:
        if isinstance(study, Study):
            return study.id
        sid = session.scalar(select(StudyModel.id).where(StudyModel.name == study))
        if sid is None:
            raise StudyNotFoundError(f"no study named {study!r} in {self.url}")
        return sid

    def _study_name(self, study: str | Study) -> str:
        return study.name if isinstance(study, Study) else str(study)

    # -- studies -----------------------------------------------------------------------------------

    def create_study(
        self,
        name: str,
        config: Mapping[str, Any],
        *,
        objective: str = "edp",
        direction: str = "minimize",
        estimator: str | None = None,
        estimator_hash: str | None = None,
        version: str | None = None,
    ) -> Study:
        """Create a study; :class:`StudyExistsError` if ``name`` is taken."""
        name = str(name).strip()
        if not name:
            raise StorageError("a study needs a non-empty name")
        if direction not in DIRECTIONS:
            raise StorageError(f"direction must be one of {', '.join(DIRECTIONS)}, not {direction!r}")
        if version is None:
            from .. import __version__ as version
        plain = to_plain(dict(config))
        model = StudyModel(
            name=name, created=_now(), version=str(version), config=plain, config_hash=config_hash(plain),
            estimator=estimator, estimator_hash=estimator_hash, objective=str(objective), direction=direction,
        )
        exists = StudyExistsError(f"study {name!r} already exists in {self.url}")
        try:
            with self._session(write=True) as s:
                if s.scalar(select(StudyModel.id).where(StudyModel.name == name)) is not None:
                    raise exists
                s.add(model)
                s.flush()
                return _study(model)
        except IntegrityError:
            raise exists from None

    def load_study(self, name: str) -> Study:
        """The study called ``name``; :class:`StudyNotFoundError` if there is none."""
        with self._session() as s:
            model = s.scalar(select(StudyModel).where(StudyModel.name == name))
            if model is None:
                raise StudyNotFoundError(f"no study named {name!r} in {self.url}")
            return _study(model)

    def has_study(self, name: str) -> bool:
        with self._session() as s:
            return s.scalar(select(StudyModel.id).where(StudyModel.name == name)) is not None

    def list_studies(self) -> list[StudySummary]:
        """Every study (oldest first) with trial counts by state and best objective value."""
        with self._session() as s:
            studies = s.scalars(select(StudyModel).order_by(StudyModel.created, StudyModel.id)).all()
            counts: dict[int, dict[str, int]] = {}
            for sid, state, n in s.execute(
                select(TrialModel.study_id, TrialModel.state, func.count())
                .group_by(TrialModel.study_id, TrialModel.state)
            ):
                counts.setdefault(sid, {})[state] = n
            extremes = {
                sid: (lo, hi)
                for sid, lo, hi in s.execute(
                    select(TrialModel.study_id, func.min(TrialModel.value), func.max(TrialModel.value))
                    .where(TrialModel.state == "complete")
                    .group_by(TrialModel.study_id)
                )
            }
            out = []
            for model in studies:
                states = {state: counts.get(model.id, {}).get(state, 0) for state in TRIAL_STATES}
                lo, hi = extremes.get(model.id, (None, None))
                best = hi if model.direction == "maximize" else lo
                out.append(StudySummary(_study(model), sum(states.values()), states, best))
            return out

    def delete_study(self, study: str | Study) -> None:
        """Delete a study with all its trials and layer results; :class:`StudyNotFoundError` if absent."""
        with self._session(write=True) as s:
            sid = self._study_id(s, study)
            trial_ids = select(TrialModel.id).where(TrialModel.study_id == sid).scalar_subquery()
            s.execute(delete(LayerResultModel).where(LayerResultModel.trial_id.in_(trial_ids)))
            s.execute(delete(TrialModel).where(TrialModel.study_id == sid))
            s.execute(delete(StudyModel).where(StudyModel.id == sid))

    # -- trials ------------------------------------------------------------------------------------

    def add_trial(
        self,
        study: str | Study,
        number: int | None,
        hw_params: Mapping[str, Any],
        proposal: Any = None,
    ) -> int:
        """Store a new ``pending`` trial and return its id. ``number=None`` takes the next free number.

        :class:`TrialStateError` if the study already has a trial with that number.
        """
        hw = to_plain(dict(hw_params))
        prop = to_plain(proposal)
        for _ in range(_CLAIM_TRIES):
            try:
                with self._session(write=True) as s:
                    sid = self._study_id(s, study)
                    n = number
                    if n is None:
                        last = s.scalar(select(func.max(TrialModel.number)).where(TrialModel.study_id == sid))
                        n = 0 if last is None else last + 1
                    model = TrialModel(study_id=sid, number=int(n), state="pending", hw_params=hw, proposal=prop,
                                       created=_now(), attempts=0)
                    s.add(model)
                    s.flush()
                    return model.id
            except IntegrityError:
                if number is not None:
                    raise TrialStateError(
                        f"study {self._study_name(study)!r} already has a trial number {number}"
                    ) from None
                # lost a race for the next number (not on SQLite, whose writers are serialized): retry
        raise TrialStateError(f"could not add a trial to study {self._study_name(study)!r}")

    def add_trials(self, study: str | Study, trials: list[tuple[int, Mapping[str, Any], Any]]) -> list[int]:
        """Store several ``pending`` trials ``(number, hw_params, proposal)`` in one transaction (all or
        none) and return their ids: a batch proposed together is never half committed."""
        with self._session(write=True) as s:
            sid = self._study_id(s, study)
            models = [TrialModel(study_id=sid, number=int(n), state="pending", hw_params=to_plain(dict(hw)),
                                 proposal=to_plain(prop), created=_now(), attempts=0) for n, hw, prop in trials]
            s.add_all(models)
            try:
                s.flush()
            except IntegrityError:
                raise TrialStateError(
                    f"study {self._study_name(study)!r} already has one of trials {[t[0] for t in trials]}"
                ) from None
            return [m.id for m in models]

    def claim_trial(self, study: str | Study, worker_id: str) -> Trial | None:
        """Atomically move the lowest-numbered ``pending`` trial to ``running`` for ``worker_id``.

        Returns it (``attempts`` already counts this run), or ``None`` if nothing is pending. Two workers
        never get the same trial: the move is a conditional ``UPDATE ... WHERE state = 'pending'`` whose row
        count is checked, inside ``BEGIN IMMEDIATE`` on SQLite or after ``FOR UPDATE SKIP LOCKED`` elsewhere.
        """
        for _ in range(_CLAIM_TRIES):
            with self._session(write=True) as s:
                sid = self._study_id(s, study)
                query = (
                    select(TrialModel.id)
                    .where(TrialModel.study_id == sid, TrialModel.state == "pending")
                    .order_by(TrialModel.number)
                    .limit(1)
                )
                if self._skip_locked:
                    query = query.with_for_update(skip_locked=True)
                tid = s.scalar(query)
                if tid is None:
                    return None
                if self._start(s, tid, worker_id, from_states=("pending",)):
                    return _trial(s.get(TrialModel, tid, populate_existing=True))
        return None

    def start_trial(self, trial_id: int, worker_id: str | None = None) -> Trial:
        """Move one given ``pending`` trial to ``running`` (a driver that runs its own trials in order)."""
        with self._session(write=True) as s:
            if not self._start(s, trial_id, worker_id, from_states=("pending",)):
                raise self._state_error(s, trial_id, "start")
            return _trial(s.get(TrialModel, trial_id, populate_existing=True))

    @staticmethod
    def _start(s: Session, trial_id: int, worker_id: str | None, from_states: tuple[str, ...]) -> bool:
        now = _now()
        res = s.execute(
            update(TrialModel)
            .where(TrialModel.id == trial_id, TrialModel.state.in_(from_states))
            .values(state="running", worker_id=worker_id, started=now, heartbeat=now, finished=None, error=None,
                    attempts=TrialModel.attempts + 1)
            .execution_options(synchronize_session=False)
        )
        return res.rowcount == 1

    def _state_error(self, s: Session, trial_id: int, action: str) -> TrialStateError:
        row = s.execute(select(TrialModel.number, TrialModel.state, TrialModel.worker_id)
                        .where(TrialModel.id == trial_id)).first()
        if row is None:
            return TrialStateError(f"no trial with id {trial_id} in {self.url}")
        held = f" (held by worker {row.worker_id})" if row.state == "running" and row.worker_id else ""
        return TrialStateError(f"cannot {action} trial {row.number}: it is {row.state}{held}")

    def heartbeat(self, trial_id: int | Iterable[int], worker_id: str | None = None) -> int:
        """Mark running trials (one id or several) alive now (``record_layer_result`` does this too); with
        ``worker_id``, only those still held by that worker. Returns how many were marked."""
        ids = [trial_id] if isinstance(trial_id, int) else [int(t) for t in trial_id]
        if not ids:
            return 0
        cond = [TrialModel.id.in_(ids), TrialModel.state == "running"]
        if worker_id is not None:
            cond.append(TrialModel.worker_id == worker_id)
        with self._session(write=True) as s:
            res = s.execute(update(TrialModel).where(*cond).values(heartbeat=_now())
                            .execution_options(synchronize_session=False))
            return int(res.rowcount or 0)

    def running_workers(self, study: str | Study) -> dict[str, int]:
        """``{worker_id: running trials}`` of a study (who holds work now)."""
        with self._session() as s:
            sid = self._study_id(s, study)
            rows = s.execute(select(TrialModel.worker_id, func.count())
                             .where(TrialModel.study_id == sid, TrialModel.state == "running")
                             .group_by(TrialModel.worker_id)).all()
        return {str(w): int(n) for w, n in rows if w is not None}

    @property
    def in_memory(self) -> bool:
        """True for an in-memory SQLite store: one connection, one process, not shared."""
        url = self._engine.url
        return url.get_backend_name() == "sqlite" and _sqlite_file(url) is None

    def record_layer_result(
        self,
        trial_id: int,
        layer: str,
        *,
        shape_key: str | Iterable[int] | None = None,
        count: int = 1,
        state: str | None = None,
        mapping: Any = None,
        energy_pj: float | None = None,
        cycles: float | None = None,
        edp: float | None = None,
        evaluations: int = 0,
        seconds: float = 0.0,
        optimizer: str | None = None,
        seed: int | None = None,
        extra: Any = None,
        error: str | None = None,
    ) -> None:
        """Store (or replace) the best mapping of one layer of a trial; ``state`` defaults to
        ``failed`` if ``error`` is given, else ``complete``. Also refreshes the trial's heartbeat."""
        state = state or ("failed" if error else "complete")
        values = dict(
            shape_key=_shape_key(shape_key), count=int(count), state=state, mapping=to_plain(mapping),
            energy_pj=_finite(energy_pj), cycles=_finite(cycles), edp=_finite(edp), evaluations=int(evaluations),
            seconds=float(seconds), optimizer=optimizer, seed=None if seed is None else int(seed),
            extra=to_plain(extra), error=None if error is None else str(error)[:_MAX_ERROR_CHARS],
        )
        try:
            with self._session(write=True) as s:
                if s.scalar(select(TrialModel.id).where(TrialModel.id == trial_id)) is None:
                    raise TrialStateError(f"no trial with id {trial_id} in {self.url}")
                existing = s.scalar(select(LayerResultModel).where(LayerResultModel.trial_id == trial_id,
                                                                   LayerResultModel.layer == layer))
                if existing is None:
                    s.add(LayerResultModel(trial_id=trial_id, layer=str(layer), created=_now(), **values))
                else:
                    for key, value in values.items():
                        setattr(existing, key, value)
                s.execute(update(TrialModel).where(TrialModel.id == trial_id, TrialModel.state == "running")
                          .values(heartbeat=_now()).execution_options(synchronize_session=False))
        except IntegrityError as err:
            raise TrialStateError(f"cannot record layer {layer!r} of trial id {trial_id}: {_one_line(err)}") from None

    def layer_results(self, trial_id: int) -> list[LayerRecord]:
        """The layer results stored for a trial (in recording order): a resumed trial can skip them."""
        with self._session() as s:
            return [_layer(m) for m in s.scalars(select(LayerResultModel).where(LayerResultModel.trial_id == trial_id)
                                                 .order_by(LayerResultModel.id))]

    def complete_trial(self, trial_id: int, result: Mapping[str, Any], *, worker_id: str | None = None) -> None:
        """Finish a pending or running trial with its ``result`` (energy_pj, cycles, edp, area_mm2, valid,
        reason, ...). The objective value is ``result["value"]``, else ``result[<study objective>]``; it is
        stored as ``None`` if ``valid`` is false or the number is not finite. With ``worker_id``, the trial
        must still be held by that worker (else :class:`TrialStateError`: it was requeued and taken over).
        """
        plain = to_plain(dict(result))
        with self._session(write=True) as s:
            objective = s.scalar(select(StudyModel.objective).join(TrialModel).where(TrialModel.id == trial_id))
            raw = plain.get("value", plain.get(objective)) if objective is not None else None
            value = None if plain.get("valid") is False else _finite(raw)
            self._finish(s, trial_id, "complete", worker_id, result=plain, value=value, error=None)

    def fail_trial(self, trial_id: int, error: str, *, result: Mapping[str, Any] | None = None,
                   worker_id: str | None = None) -> None:
        """Mark a pending or running trial ``failed`` with ``error`` (its evaluation broke)."""
        plain = None if result is None else to_plain(dict(result))
        with self._session(write=True) as s:
            self._finish(s, trial_id, "failed", worker_id, result=plain, value=None,
                         error=str(error)[:_MAX_ERROR_CHARS])

    def _finish(self, s: Session, trial_id: int, state: str, worker_id: str | None, **values: Any) -> None:
        now = _now()
        cond = [TrialModel.id == trial_id, TrialModel.state.in_(("pending", "running"))]
        if worker_id is not None:
            cond.append(TrialModel.worker_id == worker_id)
        res = s.execute(
            update(TrialModel).where(*cond).values(
                state=state, finished=now, heartbeat=now,
                started=func.coalesce(TrialModel.started, now),
                attempts=case((TrialModel.state == "pending", TrialModel.attempts + 1), else_=TrialModel.attempts),
                **values,
            ).execution_options(synchronize_session=False)
        )
        if res.rowcount != 1:
            raise self._state_error(s, trial_id, "complete" if state == "complete" else "fail")

    def requeue_stale(self, study: str | Study, older_than_s: float, *, max_attempts: int | None = None,
                      worker_ids: Iterable[str] | None = None) -> list[int]:
        """Put ``running`` trials with no sign of life for ``older_than_s`` seconds (their worker died)
        back to ``pending``; the next claim counts a new attempt. Trials held by one of ``worker_ids``
        (workers known to be dead) are requeued whatever their age. With ``max_attempts``, a stale trial
        already started that many times is marked ``failed`` instead. Returns the requeued numbers."""
        cutoff = _now() - timedelta(seconds=float(older_than_s))
        stale = or_(TrialModel.heartbeat < cutoff, and_(TrialModel.heartbeat.is_(None), TrialModel.started < cutoff))
        dead = sorted(set(worker_ids or ()))
        if dead:
            stale = or_(stale, TrialModel.worker_id.in_(dead))
        with self._session(write=True) as s:
            sid = self._study_id(s, study)
            query = select(TrialModel.id, TrialModel.number, TrialModel.attempts).where(
                TrialModel.study_id == sid, TrialModel.state == "running", stale,
            ).order_by(TrialModel.number)
            if self._skip_locked:
                query = query.with_for_update(skip_locked=True)
            requeued = []
            for tid, number, attempts in s.execute(query).all():
                base = update(TrialModel).where(TrialModel.id == tid, TrialModel.state == "running")
                if max_attempts is not None and attempts >= max_attempts:
                    s.execute(base.values(state="failed", finished=_now(),
                                          error=f"worker lost {attempts} time(s); giving up")
                              .execution_options(synchronize_session=False))
                else:
                    s.execute(base.values(state="pending", worker_id=None, heartbeat=None)
                              .execution_options(synchronize_session=False))
                    requeued.append(number)
            return requeued

    def trials(self, study: str | Study, states: str | Iterable[str] | None = None, *,
               layers: bool = False) -> list[Trial]:
        """The study's trials ordered by number, optionally only those in ``states``, with their layer
        results if ``layers``."""
        with self._session() as s:
            sid = self._study_id(s, study)
            query = select(TrialModel).where(TrialModel.study_id == sid).order_by(TrialModel.number)
            if states is not None:
                wanted = [states] if isinstance(states, str) else list(states)
                bad = [x for x in wanted if x not in TRIAL_STATES]
                if bad:
                    raise StorageError(f"unknown trial state {bad[0]!r} (states: {', '.join(TRIAL_STATES)})")
                query = query.where(TrialModel.state.in_(wanted))
            if layers:
                query = query.options(selectinload(TrialModel.layers))
            return [_trial(m, layers) for m in s.scalars(query)]

    def trial(self, study: str | Study, number: int, *, layers: bool = True) -> Trial:
        """One trial by number (with its layer results); :class:`TrialStateError` if absent."""
        with self._session() as s:
            sid = self._study_id(s, study)
            query = select(TrialModel).where(TrialModel.study_id == sid, TrialModel.number == number)
            if layers:
                query = query.options(selectinload(TrialModel.layers))
            model = s.scalar(query)
            if model is None:
                raise TrialStateError(f"study {self._study_name(study)!r} has no trial number {number}")
            return _trial(model, layers)

    def count_trials(self, study: str | Study) -> dict[str, int]:
        """Trial counts by state (every state present, zero if none)."""
        with self._session() as s:
            sid = self._study_id(s, study)
            rows = s.execute(select(TrialModel.state, func.count()).where(TrialModel.study_id == sid)
                             .group_by(TrialModel.state)).all()
        found = dict(rows)
        return {state: found.get(state, 0) for state in TRIAL_STATES}

    def best_trial(self, study: str | Study, *, layers: bool = True) -> Trial | None:
        """The complete trial with the best objective value (lowest number on ties), or ``None``."""
        with self._session() as s:
            sid = self._study_id(s, study)
            direction = s.scalar(select(StudyModel.direction).where(StudyModel.id == sid))
            order = TrialModel.value.desc() if direction == "maximize" else TrialModel.value.asc()
            query = (
                select(TrialModel)
                .where(TrialModel.study_id == sid, TrialModel.state == "complete", TrialModel.value.is_not(None))
                .order_by(order, TrialModel.number)
                .limit(1)
            )
            if layers:
                query = query.options(selectinload(TrialModel.layers))
            model = s.scalar(query)
            return None if model is None else _trial(model, layers)

    # -- export / import ---------------------------------------------------------------------------

    def export(self, study: str | Study, fmt: str = "json", *, layers: bool = False) -> str:
        """The study as text.

        ``json``: ``{"format", "schema_version", "study": {..., "config"}, "trials": [{..., "layers": [...]}]}``
        (always with layer results; :meth:`import_study` reads it back). ``csv``: one row per trial
        (``number, state, value``, the result fields, ``hw.<param>`` flattened with dots, ``proposal.<key>``,
        bookkeeping), or with ``layers=True`` one row per (trial, layer) instead.
        """
        name = self._study_name(study)
        model = study if isinstance(study, Study) else self.load_study(name)
        trials = self.trials(model, layers=True)
        if fmt == "json":
            doc = {"format": "cosearch-study", "schema_version": SCHEMA_VERSION, "study": model.to_json(),
                   "trials": [t.to_json() for t in trials]}
            return json.dumps(doc, indent=2, allow_nan=False) + "\n"
        if fmt == "csv":
            return _layers_csv(trials) if layers else _trials_csv(trials)
        raise StorageError(f"unknown export format {fmt!r} (formats: json, csv)")

    def import_study(self, text: str, *, name: str | None = None) -> Study:
        """Recreate a study from :meth:`export` JSON (under ``name`` if given), in one transaction."""
        try:
            doc = json.loads(text)
            meta = doc["study"]
            trials = doc["trials"]
        except (ValueError, KeyError, TypeError) as err:
            raise StorageError(f"not a cosearch study export: {_one_line(err)}") from None
        if doc.get("format") != "cosearch-study":
            raise StorageError("not a cosearch study export: missing format 'cosearch-study'")
        name = name or meta["name"]
        exists = StudyExistsError(f"study {name!r} already exists in {self.url}")
        try:
            with self._session(write=True) as s:
                if s.scalar(select(StudyModel.id).where(StudyModel.name == name)) is not None:
                    raise exists
                study = StudyModel(
                    name=name, created=_parse_time(meta.get("created")) or _now(), version=str(meta.get("version", "")),
                    config=meta.get("config", {}),
                    config_hash=meta.get("config_hash") or config_hash(meta.get("config", {})),
                    estimator=meta.get("estimator"), estimator_hash=meta.get("estimator_hash"),
                    objective=meta.get("objective", "edp"), direction=meta.get("direction", "minimize"),
                )
                for t in trials:
                    trial = TrialModel(
                        number=int(t["number"]), state=t["state"], hw_params=t["hw_params"], proposal=t.get("proposal"),
                        result=t.get("result"), value=_finite(t.get("value")),
                        created=_parse_time(t.get("created")) or _now(), started=_parse_time(t.get("started")),
                        finished=_parse_time(t.get("finished")), heartbeat=_parse_time(t.get("heartbeat")),
                        worker_id=t.get("worker_id"), attempts=int(t.get("attempts", 0)), error=t.get("error"),
                    )
                    for r in t.get("layers", []):
                        trial.layers.append(LayerResultModel(
                            layer=r["layer"], shape_key=r.get("shape_key"), count=int(r.get("count", 1)),
                            state=r.get("state", "complete"), mapping=r.get("mapping"),
                            energy_pj=_finite(r.get("energy_pj")), cycles=_finite(r.get("cycles")),
                            edp=_finite(r.get("edp")), evaluations=int(r.get("evaluations", 0)),
                            seconds=float(r.get("seconds", 0.0)), optimizer=r.get("optimizer"), seed=r.get("seed"),
                            extra=r.get("extra"), error=r.get("error"), created=_parse_time(r.get("created")) or _now(),
                        ))
                    study.trials.append(trial)
                s.add(study)
                s.flush()
                return _study(study)
        except StorageError:
            raise
        except IntegrityError as err:
            raise StorageError(f"cannot import study {name!r}: {_one_line(err)}") from None
        except (KeyError, TypeError, ValueError) as err:
            raise StorageError(f"cannot import study {name!r}: bad trial record ({_one_line(err)})") from None


# ---------------------------------------------------------------------------------------------------
# ORM → plain


def _study(m: StudyModel) -> Study:
    return Study(
        id=m.id, name=m.name, created=_utc(m.created), version=m.version, config=m.config, config_hash=m.config_hash,
        estimator=m.estimator, estimator_hash=m.estimator_hash, objective=m.objective, direction=m.direction,
    )


def _layer(m: LayerResultModel) -> LayerRecord:
    return LayerRecord(
        trial_id=m.trial_id, layer=m.layer, shape_key=m.shape_key, count=m.count, state=m.state, mapping=m.mapping,
        energy_pj=m.energy_pj, cycles=m.cycles, edp=m.edp, evaluations=m.evaluations, seconds=m.seconds,
        optimizer=m.optimizer, seed=m.seed, extra=m.extra, error=m.error, created=_utc(m.created),
    )


def _trial(m: TrialModel, layers: bool = False) -> Trial:
    return Trial(
        id=m.id, study_id=m.study_id, number=m.number, state=m.state, hw_params=m.hw_params, proposal=m.proposal,
        result=m.result, value=m.value, created=_utc(m.created), started=_utc(m.started),
        finished=_utc(m.finished), heartbeat=_utc(m.heartbeat), worker_id=m.worker_id, attempts=m.attempts,
        error=m.error, layers=tuple(_layer(x) for x in m.layers) if layers else (),
    )


# ---------------------------------------------------------------------------------------------------
# CSV


def flatten(data: Any, prefix: str) -> dict[str, Any]:
    """Nested dicts → ``{"prefix.a.b": value}``; a non-dict → ``{prefix: value}``."""
    if not isinstance(data, Mapping):
        return {prefix: data}
    out: dict[str, Any] = {}
    for key, value in data.items():
        out.update(flatten(value, f"{prefix}.{key}"))
    return out


def csv_cell(value: Any) -> str:
    """A CSV cell: ``""`` for None, ``true``/``false``, ``repr`` of floats (exact round trip), JSON for lists."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, (list, dict)):
        return json.dumps(value, sort_keys=True)
    return str(value)


def _write_csv(columns: list[str], rows: list[dict[str, Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([csv_cell(row.get(c)) for c in columns])
    return buffer.getvalue()


def _ordered_keys(rows: Iterable[dict[str, Any]]) -> list[str]:
    seen: dict[str, None] = {}
    for row in rows:
        for key in row:
            seen.setdefault(key, None)
    return list(seen)


def _trials_csv(trials: list[Trial]) -> str:
    fixed, results, hws, proposals = [], [], [], []
    for t in trials:
        result = dict(t.result or {})
        result.pop("value", None)
        fixed.append({"number": t.number, "state": t.state, "value": t.value,
                      **{key: result.pop(key, None) for key in RESULT_KEYS},
                      "attempts": t.attempts, "worker_id": t.worker_id, "created": _iso(t.created),
                      "started": _iso(t.started), "finished": _iso(t.finished), "error": t.error})
        results.append(flatten(result, "result") if result else {})
        hws.append(flatten(t.hw_params, "hw"))
        proposals.append(flatten(t.proposal, "proposal") if t.proposal is not None else {})
    columns = ["number", "state", "value", *RESULT_KEYS, *_ordered_keys(results), *_ordered_keys(hws),
               *_ordered_keys(proposals), "attempts", "worker_id", "created", "started", "finished", "error"]
    rows = [{**f, **r, **h, **p} for f, r, h, p in zip(fixed, results, hws, proposals)]
    return _write_csv(columns, rows)


def _layers_csv(trials: list[Trial]) -> str:
    columns = ["trial", "layer", "shape_key", "count", "state", "energy_pj", "cycles", "edp", "evaluations", "seconds",
               "optimizer", "seed", "error", "mapping"]
    rows = [{"trial": t.number, **{k: getattr(r, k) for k in columns[1:]}} for t in trials for r in t.layers]
    return _write_csv(columns, rows)
