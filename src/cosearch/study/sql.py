"""The SQL study store: :class:`Storage` implements :class:`~cosearch.study._base.StudyStore` on SQLAlchemy.

``Storage(url)`` opens (and creates) a store at any SQLAlchemy URL (:mod:`._engine`: the default is a
SQLite file; a bare path works too). Claims are a conditional ``UPDATE ... WHERE state = 'pending'``
whose row count is checked, inside ``BEGIN IMMEDIATE`` on SQLite (writers queue) or after ``SELECT ...
FOR UPDATE SKIP LOCKED`` on PostgreSQL, so several processes on several machines can share a study
(docs/scale-out.md). ORM objects (:mod:`.models`) never leave a session: every method converts them to
the plain records of :mod:`.records`. Timestamps are stored as naive UTC.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import and_, case, delete, func, or_, select, update
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session, selectinload, sessionmaker

from .._io import finite
from ._base import StudyStore
from ._engine import DEFAULT_TIMEOUT_S, make_engine, postgres_driver, sqlite_file, storage_url
from .canonical import config_hash, stored_json
from .errors import StorageError, StudyExistsError, StudyNotFoundError, TrialStateError, one_line
from .export import layers_csv, read_study_json, study_json, trials_csv
from .models import (
    DIRECTIONS,
    SCHEMA_VERSION,
    SHORT,
    TRIAL_STATES,
    Base,
    LayerResultModel,
    Meta,
    StudyAttrModel,
    StudyModel,
    TrialModel,
)
from .records import LayerRecord, Study, StudySummary, Trial

_MAX_ERROR_CHARS = 20_000
_CLAIM_TRIES = 100


def _utc(value: datetime | None) -> datetime | None:
    """Stored naive UTC → aware UTC."""
    if value is None:
        return None
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


def _now() -> datetime:
    """Now as naive UTC (how timestamps are stored)."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


def _parse_time(text: Any) -> datetime | None:
    if text in (None, ""):
        return None
    value = datetime.fromisoformat(str(text))
    return value.astimezone(timezone.utc).replace(tzinfo=None) if value.tzinfo is not None else value



def _shape_key(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    return "x".join(str(int(v)) for v in value)


class Storage(StudyStore):
    """A study store at a SQLAlchemy URL (default: a SQLite file; see the module docstring). The
    contracts of its methods are :class:`~cosearch.study._base.StudyStore`'s; docstrings here add only
    how this store keeps them. Picklable: a copy reopens the same URL.
    """

    def __init__(self, url: str | os.PathLike[str] | None = None, *, timeout_s: float = DEFAULT_TIMEOUT_S) -> None:
        self._url_text = storage_url(url)
        self._timeout_s = float(timeout_s)
        try:
            parsed = make_url(self._url_text)
        except (ArgumentError, ValueError) as err:
            raise StorageError(f"cannot open storage URL {self._url_text}: {one_line(err)}") from None
        self.url = parsed.render_as_string(hide_password=True)
        try:
            parsed = postgres_driver(parsed)
            self._engine = make_engine(parsed, self._timeout_s)
            self._write_engine = self._engine.execution_options(cosearch_write=True)
            self._init_schema()
        except (StorageError, SQLAlchemyError, ImportError, OSError) as err:
            engine = getattr(self, "_engine", None)
            if engine is not None:
                engine.dispose()
            if isinstance(err, StorageError):
                raise
            raise StorageError(f"cannot open storage URL {self.url}: {one_line(err)}") from None
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

    def close(self) -> None:
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
            raise StorageError(f"storage {self.url}: {one_line(err)}") from None

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
        name = str(name).strip()
        if not name:
            raise StorageError("a study needs a non-empty name")
        if direction not in DIRECTIONS:
            raise StorageError(f"direction must be one of {', '.join(DIRECTIONS)}, not {direction!r}")
        if version is None:
            from .. import __version__ as version
        plain = stored_json(dict(config))
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
        with self._session() as s:
            model = s.scalar(select(StudyModel).where(StudyModel.name == name))
            if model is None:
                raise StudyNotFoundError(f"no study named {name!r} in {self.url}")
            return _study(model)

    def has_study(self, name: str) -> bool:
        with self._session() as s:
            return s.scalar(select(StudyModel.id).where(StudyModel.name == name)) is not None

    def list_studies(self) -> list[StudySummary]:
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
        with self._session(write=True) as s:
            sid = self._study_id(s, study)
            trial_ids = select(TrialModel.id).where(TrialModel.study_id == sid).scalar_subquery()
            s.execute(delete(LayerResultModel).where(LayerResultModel.trial_id.in_(trial_ids)))
            s.execute(delete(TrialModel).where(TrialModel.study_id == sid))
            s.execute(delete(StudyAttrModel).where(StudyAttrModel.study_id == sid))
            s.execute(delete(StudyModel).where(StudyModel.id == sid))

    # -- study attributes --------------------------------------------------------------------------

    def set_study_attr(self, study: str | Study, key: str, value: Any) -> None:
        """An update, else an insert; an insert that loses a race with another writer's is retried as an
        update."""
        key = str(key)
        if not key or len(key) > SHORT:
            raise StorageError(f"a study attribute needs a key of 1 to {SHORT} characters, not {key!r}")
        plain = stored_json(value)
        for _ in range(2):
            try:
                with self._session(write=True) as s:
                    sid = self._study_id(s, study)
                    res = s.execute(update(StudyAttrModel)
                                    .where(StudyAttrModel.study_id == sid, StudyAttrModel.key == key)
                                    .values(value=plain).execution_options(synchronize_session=False))
                    if res.rowcount != 1:
                        s.add(StudyAttrModel(study_id=sid, key=key, value=plain))
                        s.flush()
                return
            except IntegrityError:
                continue
        raise StorageError(f"could not store attribute {key!r} of study {self._study_name(study)!r}")

    def get_study_attr(self, study: str | Study, key: str, default: Any = None) -> Any:
        with self._session() as s:
            sid = self._study_id(s, study)
            row = s.execute(select(StudyAttrModel.value)
                            .where(StudyAttrModel.study_id == sid, StudyAttrModel.key == str(key))).first()
        return default if row is None else row.value

    # -- trials ------------------------------------------------------------------------------------

    def add_trial(
        self,
        study: str | Study,
        number: int | None,
        hw_params: Mapping[str, Any],
        proposal: Any = None,
    ) -> int:
        """Taking the next free number retries when another writer took it first (PostgreSQL; SQLite
        serialises writers)."""
        hw = stored_json(dict(hw_params))
        prop = stored_json(proposal)
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
        with self._session(write=True) as s:
            sid = self._study_id(s, study)
            models = [TrialModel(study_id=sid, number=int(n), state="pending", hw_params=stored_json(dict(hw)),
                                 proposal=stored_json(prop), created=_now(), attempts=0) for n, hw, prop in trials]
            s.add_all(models)
            try:
                s.flush()
            except IntegrityError:
                raise TrialStateError(
                    f"study {self._study_name(study)!r} already has one of trials {[t[0] for t in trials]}"
                ) from None
            return [m.id for m in models]

    def claim_trial(self, study: str | Study, worker_id: str) -> Trial | None:
        """The move is a conditional ``UPDATE ... WHERE state = 'pending'`` whose row count is checked,
        inside ``BEGIN IMMEDIATE`` on SQLite or after ``FOR UPDATE SKIP LOCKED`` elsewhere."""
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
        with self._session() as s:
            sid = self._study_id(s, study)
            rows = s.execute(select(TrialModel.worker_id, func.count())
                             .where(TrialModel.study_id == sid, TrialModel.state == "running")
                             .group_by(TrialModel.worker_id)).all()
        return {str(w): int(n) for w, n in rows if w is not None}

    @property
    def in_memory(self) -> bool:
        url = self._engine.url
        return url.get_backend_name() == "sqlite" and sqlite_file(url) is None

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
        state = state or ("failed" if error else "complete")
        values = dict(
            shape_key=_shape_key(shape_key), count=int(count), state=state, mapping=stored_json(mapping),
            energy_pj=finite(energy_pj), cycles=finite(cycles), edp=finite(edp), evaluations=int(evaluations),
            seconds=float(seconds), optimizer=optimizer, seed=None if seed is None else int(seed),
            extra=stored_json(extra), error=None if error is None else str(error)[:_MAX_ERROR_CHARS],
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
            raise TrialStateError(f"cannot record layer {layer!r} of trial id {trial_id}: {one_line(err)}") from None

    def layer_results(self, trial_id: int) -> list[LayerRecord]:
        with self._session() as s:
            return [_layer(m) for m in s.scalars(select(LayerResultModel).where(LayerResultModel.trial_id == trial_id)
                                                 .order_by(LayerResultModel.id))]

    def complete_trial(self, trial_id: int, result: Mapping[str, Any], *, worker_id: str | None = None) -> None:
        plain = stored_json(dict(result))
        with self._session(write=True) as s:
            objective = s.scalar(select(StudyModel.objective).join(TrialModel).where(TrialModel.id == trial_id))
            raw = plain.get("value", plain.get(objective)) if objective is not None else None
            value = None if plain.get("valid") is False else finite(raw)
            self._finish(s, trial_id, "complete", worker_id, result=plain, value=value, error=None)

    def fail_trial(self, trial_id: int, error: str, *, result: Mapping[str, Any] | None = None,
                   worker_id: str | None = None) -> None:
        plain = None if result is None else stored_json(dict(result))
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
        with self._session() as s:
            sid = self._study_id(s, study)
            rows = s.execute(select(TrialModel.state, func.count()).where(TrialModel.study_id == sid)
                             .group_by(TrialModel.state)).all()
        found = dict(rows)
        return {state: found.get(state, 0) for state in TRIAL_STATES}

    def best_trial(self, study: str | Study, *, layers: bool = True) -> Trial | None:
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
        name = self._study_name(study)
        model = study if isinstance(study, Study) else self.load_study(name)
        trials = self.trials(model, layers=True)
        if fmt == "json":
            return study_json(model, trials)
        if fmt == "csv":
            return layers_csv(trials) if layers else trials_csv(trials)
        raise StorageError(f"unknown export format {fmt!r} (formats: json, csv)")

    def import_study(self, text: str, *, name: str | None = None) -> Study:
        meta, trials = read_study_json(text)
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
                        result=t.get("result"), value=finite(t.get("value")),
                        created=_parse_time(t.get("created")) or _now(), started=_parse_time(t.get("started")),
                        finished=_parse_time(t.get("finished")), heartbeat=_parse_time(t.get("heartbeat")),
                        worker_id=t.get("worker_id"), attempts=int(t.get("attempts", 0)), error=t.get("error"),
                    )
                    for r in t.get("layers", []):
                        trial.layers.append(LayerResultModel(
                            layer=r["layer"], shape_key=r.get("shape_key"), count=int(r.get("count", 1)),
                            state=r.get("state", "complete"), mapping=r.get("mapping"),
                            energy_pj=finite(r.get("energy_pj")), cycles=finite(r.get("cycles")),
                            edp=finite(r.get("edp")), evaluations=int(r.get("evaluations", 0)),
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
            raise StorageError(f"cannot import study {name!r}: {one_line(err)}") from None
        except (KeyError, TypeError, ValueError) as err:
            raise StorageError(f"cannot import study {name!r}: bad trial record ({one_line(err)})") from None


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
