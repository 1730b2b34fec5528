"""The study-store interface: what every store promises, whatever database holds it.

:class:`StudyStore` is the contract; :class:`~cosearch.study.sql.Storage` (SQLAlchemy: SQLite, PostgreSQL)
implements it, and :class:`~cosearch.study.worker.TrialWorker` relies on nothing else.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping
from typing import Any, Self

from .records import LayerRecord, Study, StudySummary, Trial


class StudyStore(ABC):
    """A persistent store of studies, their trials and each trial's per-unit (layer) results.

    **Records.** Every method returns plain frozen dataclasses (:class:`Study`, :class:`Trial`,
    :class:`LayerRecord`, :class:`StudySummary`), never a database object. ``study`` arguments accept a
    study name or a :class:`Study`. Errors are :class:`~cosearch.study.errors.StorageError` (or a subclass
    named in the method) with a one-line message.

    **Durability.** Every method is one transaction, committed before it returns: a process killed at
    any instant (even ``kill -9``) loses at most the call in flight, and a trial the caller was told is
    stored stays stored.

    **Trial lifecycle**::

        add_trial(s) ─► pending ─► claim_trial / start_trial ─► running ─► complete_trial ─► complete
                          ▲                                        │  └──► fail_trial ─────► failed
                          └──────── requeue_stale (holder lost) ───┘

    A trial whose *point* is bad (infeasible) is ``complete`` with ``valid: false`` in its result and no
    objective value; ``failed`` means its evaluation broke.

    **Ownership of running trials.** A claim records its ``worker_id`` as the trial's holder and counts
    an attempt. The holder shows it is alive with :meth:`heartbeat` (and each :meth:`record_layer_result`);
    :meth:`requeue_stale` hands trials of silent or dead holders back to ``pending``; a holder that lost
    its trial this way can no longer finish it (``complete_trial``/``fail_trial`` with its ``worker_id``
    raise :class:`~cosearch.study.errors.TrialStateError`), so a trial is finished once.

    **Concurrency.** One store object may be used from several threads. Several processes (and, for a
    server database such as PostgreSQL, several hosts) may open the same URL at once: claims stay
    exclusive and batches stay whole. An in-memory store is one connection in one process, shared by
    nobody (:attr:`in_memory`).
    """

    #: The store's URL, password hidden.
    url: str

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    @abstractmethod
    def close(self) -> None:
        """Release connections (the store's data stays)."""

    @property
    @abstractmethod
    def in_memory(self) -> bool:
        """True for a store in this process's memory: one connection, one process, not shared."""

    # -- studies -----------------------------------------------------------------------------------

    @abstractmethod
    def create_study(self, name: str, config: Mapping[str, Any], *, objective: str = "edp",
                     direction: str = "minimize", estimator: str | None = None, estimator_hash: str | None = None,
                     version: str | None = None) -> Study:
        """Create a study whose whole ``config`` is stored as plain JSON (with its
        :func:`~cosearch.study.canonical.config_hash`); ``version`` defaults to cosearch's.
        :class:`~cosearch.study.errors.StudyExistsError` if ``name`` is taken (also when another process
        takes it at the same moment)."""

    @abstractmethod
    def load_study(self, name: str) -> Study:
        """The study called ``name``; :class:`~cosearch.study.errors.StudyNotFoundError` if there is none."""

    @abstractmethod
    def has_study(self, name: str) -> bool:
        """Whether a study called ``name`` exists."""

    @abstractmethod
    def list_studies(self) -> list[StudySummary]:
        """Every study (oldest first) with trial counts by state and best objective value."""

    @abstractmethod
    def delete_study(self, study: str | Study) -> None:
        """Delete a study with all its trials and layer results; ``StudyNotFoundError`` if absent."""

    # -- study attributes --------------------------------------------------------------------------

    @abstractmethod
    def set_study_attr(self, study: str | Study, key: str, value: Any) -> None:
        """Store ``value`` (plain JSON; non-finite numbers become ``null``) with a study under ``key``,
        replacing what ``key`` held (also when another process writes the same key at the same moment).
        Attributes are the writer's own data (e.g. the co-design driver's baselines): the store does not
        interpret them, :meth:`export` leaves them out and :meth:`delete_study` deletes them.
        ``StudyNotFoundError`` for an unknown study, ``StorageError`` for a key that is empty or longer
        than 64 characters."""

    @abstractmethod
    def get_study_attr(self, study: str | Study, key: str, default: Any = None) -> Any:
        """The value stored with a study under ``key``, or ``default`` if none is (as for every study made
        before the key was written); ``StudyNotFoundError`` for an unknown study."""

    # -- trials ------------------------------------------------------------------------------------

    @abstractmethod
    def add_trial(self, study: str | Study, number: int | None, hw_params: Mapping[str, Any],
                  proposal: Any = None) -> int:
        """Store a new ``pending`` trial and return its id. ``number=None`` takes the next free number
        (safe against concurrent adders). ``TrialStateError`` if the study already has that number."""

    @abstractmethod
    def add_trials(self, study: str | Study, trials: list[tuple[int, Mapping[str, Any], Any]]) -> list[int]:
        """Store several ``pending`` trials ``(number, hw_params, proposal)`` all or none (a batch proposed
        together is never half committed) and return their ids. ``TrialStateError`` if any number is
        taken (e.g. another driver stored the same batch first); then nothing is stored."""

    @abstractmethod
    def claim_trial(self, study: str | Study, worker_id: str) -> Trial | None:
        """Atomically move the lowest-numbered ``pending`` trial to ``running``, held by ``worker_id``.

        Returns it (``attempts`` already counts this run), or ``None`` if nothing is pending. Two claims,
        from any threads, processes or hosts, never get the same trial."""

    @abstractmethod
    def start_trial(self, trial_id: int, worker_id: str | None = None) -> Trial:
        """Move one given ``pending`` trial to ``running`` (a driver that runs its own trials in order);
        ``TrialStateError`` if it is not pending."""

    @abstractmethod
    def heartbeat(self, trial_id: int | Iterable[int], worker_id: str | None = None) -> int:
        """Mark running trials (one id or several) alive now; with ``worker_id``, only those still held by
        that worker. Returns how many were marked."""

    @abstractmethod
    def running_workers(self, study: str | Study) -> dict[str, int]:
        """``{worker_id: running trials}`` of a study (who holds work now)."""

    @abstractmethod
    def requeue_stale(self, study: str | Study, older_than_s: float, *, max_attempts: int | None = None,
                      worker_ids: Iterable[str] | None = None) -> list[int]:
        """Put ``running`` trials with no sign of life (start, heartbeat or layer result) for
        ``older_than_s`` seconds back to ``pending`` without a holder; the next claim counts a new
        attempt. Trials held by one of ``worker_ids`` (holders known to be dead) are requeued whatever
        their age. With ``max_attempts``, a stale trial already started that many times is marked
        ``failed`` instead. Returns the requeued trial numbers, in order."""

    @abstractmethod
    def record_layer_result(self, trial_id: int, layer: str, *, shape_key: str | Iterable[int] | None = None,
                            count: int = 1, state: str | None = None, mapping: Any = None,
                            energy_pj: float | None = None, cycles: float | None = None, edp: float | None = None,
                            evaluations: int = 0, seconds: float = 0.0, optimizer: str | None = None,
                            seed: int | None = None, extra: Any = None, error: str | None = None) -> None:
        """Store (or replace) the result of one layer of a trial, committed at once (a resumed trial
        keeps it); ``state`` defaults to ``failed`` if ``error`` is given, else ``complete``. Non-finite
        costs are stored as ``None``. Also refreshes the trial's heartbeat. ``TrialStateError`` for an
        unknown trial."""

    @abstractmethod
    def layer_results(self, trial_id: int) -> list[LayerRecord]:
        """The layer results stored for a trial, in recording order."""

    @abstractmethod
    def complete_trial(self, trial_id: int, result: Mapping[str, Any], *, worker_id: str | None = None) -> None:
        """Finish a pending or running trial with its ``result`` (energy_pj, cycles, edp, area_mm2, valid,
        reason, ...). The objective value is ``result["value"]``, else ``result[<study objective>]``; it is
        stored as ``None`` if ``valid`` is false or the number is not finite. With ``worker_id``, the trial
        must still be held by that worker, else ``TrialStateError`` (it was requeued and taken over)."""

    @abstractmethod
    def fail_trial(self, trial_id: int, error: str, *, result: Mapping[str, Any] | None = None,
                   worker_id: str | None = None) -> None:
        """Mark a pending or running trial ``failed`` with ``error`` (its evaluation broke); ``worker_id``
        as for :meth:`complete_trial`."""

    @abstractmethod
    def trials(self, study: str | Study, states: str | Iterable[str] | None = None, *,
               layers: bool = False) -> list[Trial]:
        """The study's trials ordered by number, optionally only those in ``states`` (``StorageError`` for
        an unknown state), with their layer results if ``layers``."""

    @abstractmethod
    def trial(self, study: str | Study, number: int, *, layers: bool = True) -> Trial:
        """One trial by number (with its layer results); ``TrialStateError`` if absent."""

    @abstractmethod
    def count_trials(self, study: str | Study) -> dict[str, int]:
        """Trial counts by state (every state present, zero if none)."""

    @abstractmethod
    def best_trial(self, study: str | Study, *, layers: bool = True) -> Trial | None:
        """The complete trial with the best objective value (lowest number on ties), or ``None``."""

    # -- export / import ---------------------------------------------------------------------------

    @abstractmethod
    def export(self, study: str | Study, fmt: str = "json", *, layers: bool = False) -> str:
        """The study as text (:mod:`cosearch.study.export`): ``json`` (always with layer results, read back
        by :meth:`import_study`) or ``csv`` (one row per trial, or with ``layers=True`` one row per
        (trial, layer)). ``StorageError`` for another format."""

    @abstractmethod
    def import_study(self, text: str, *, name: str | None = None) -> Study:
        """Recreate a study from :meth:`export` JSON (under ``name`` if given), all or nothing;
        ``StudyExistsError`` if the name is taken, ``StorageError`` if ``text`` is not an export."""
