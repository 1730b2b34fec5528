"""Work units on a Ray cluster: the same :class:`~cosearch.study.executor.Executor` contract as the local
process pool, one Ray task per (HW point, layer) mapping job.

``RayExecutor(address)`` connects to a running cluster (``"auto"``: the one started on this machine with
``ray start --head``; ``"HOST:PORT"``: its GCS; ``"ray://HOST:PORT"``: a Ray Client server) or, with no
address, starts a private local Ray instance with ``num_cpus`` CPUs (all of them by default) and stops it
on :meth:`close`. If this process already called ``ray.init`` (a test, a notebook), that runtime is used
and left running.

Each unit is one task needing one CPU. Ray's own retries are off (``max_retries=0``): the executor retries
a unit itself, so a task that raises and a task whose worker process died (crash, ``kill -9``, out of
memory, a lost node) are both charged an attempt and rerun until the unit has run ``attempts`` times; then
it is reported as :class:`~cosearch.study.executor.UnitFailed` with its error. At most about twice the
cluster's CPU count of units are in flight, so a lazy source of units is pulled only as workers free up.

Ray is imported lazily: ``import cosearch`` never needs it, and a missing Ray (``pip install
'cosearch[ray]'``) or an unreachable cluster is a one-line :class:`~cosearch.errors.CosearchError`.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from ..errors import CosearchError
from .executor import Executor, Outcome, UnitFailed, UnitFeed, WorkUnit, _describe_error

#: Seconds to wait for a TCP connection to a given cluster address before calling it unreachable.
CONNECT_TIMEOUT_S = 5.0


def _apply(fn: Callable[[WorkUnit], Any], unit: WorkUnit) -> Any:
    """The task every unit runs: ``fn(unit)`` (``fn`` may be any picklable callable, e.g. a partial)."""
    return fn(unit)


def _import_ray() -> Any:
    try:
        import ray
    except ImportError as err:
        raise CosearchError(f"the Ray executor needs Ray: pip install 'cosearch[ray]' ({err})") from None
    return ray


def _host_port(address: str) -> tuple[str, int] | None:
    """``(host, port)`` of ``ray://HOST:PORT`` or ``HOST:PORT``; ``None`` for ``auto`` or no port."""
    text = address.split("://", 1)[1] if "://" in address else address
    text = text.split("/", 1)[0]
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit():
        return None
    return host.strip("[]") or "127.0.0.1", int(port)


def _check_reachable(address: str, timeout_s: float) -> None:
    """Fail fast (one line) if nothing listens at the address's host and port."""
    hp = _host_port(address)
    if hp is None:
        return
    try:
        with socket.create_connection(hp, timeout=timeout_s):
            pass
    except OSError as err:
        raise CosearchError(f"cannot reach the Ray cluster at {address}: {err.strerror or err}") from None


def _cluster_messages_to_stderr(ray: Any) -> None:
    """Ray prints the cluster's error messages ("A worker died ...") on the driver's stdout, where
    ``--json`` promises one JSON line: send them to stderr (best effort, a private Ray function)."""
    try:
        worker = ray._private.worker
        original = worker.print_to_stdstream
    except AttributeError:
        return
    if getattr(original, "_cosearch", False):
        return

    def to_stderr(data: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        return original({**data, "is_err": True}, *args, **kwargs)

    to_stderr._cosearch = True  # type: ignore[attr-defined]
    worker.print_to_stdstream = to_stderr


class RayExecutor(Executor):
    """Units as Ray tasks (see the module docstring).

    ``address``: ``None`` (start a local instance, or use this process's if ``ray.init`` was already
    called), ``"auto"``, ``"HOST:PORT"`` or ``"ray://HOST:PORT"``. ``num_cpus``: CPUs of a local instance
    (ignored when connecting). ``attempts``: runs per unit before it is reported failed.
    ``runtime_env``: passed to ``ray.init`` (e.g. ``{"pip": [...]}`` for a cluster without cosearch).
    """

    def __init__(self, address: str | None = None, num_cpus: int | None = None, attempts: int = 2, *,
                 runtime_env: dict[str, Any] | None = None, connect_timeout_s: float = CONNECT_TIMEOUT_S) -> None:
        if attempts < 1:
            raise CosearchError(f"attempts must be at least 1, not {attempts}")
        if num_cpus is not None and num_cpus < 1:
            raise CosearchError(f"num_cpus must be at least 1, not {num_cpus}")
        self.address = address.strip() if isinstance(address, str) and address.strip() else None
        self.num_cpus = num_cpus
        self.attempts = int(attempts)
        self.runtime_env = runtime_env
        self._ray = _import_ray()
        self._owns_runtime = False
        self._remote: Any = None
        self._connect(connect_timeout_s)
        self.jobs = self._cluster_cpus()

    def __repr__(self) -> str:
        where = self.address or ("local" if self._owns_runtime else "this process's Ray")
        return f"RayExecutor(address={where!r}, cpus={self.jobs}, attempts={self.attempts})"

    # -- connection ----------------------------------------------------------------------------------

    def _connect(self, timeout_s: float) -> None:
        ray = self._ray
        if self.address is not None and self.address != "auto":
            _check_reachable(self.address, timeout_s)
        _cluster_messages_to_stderr(ray)
        if ray.is_initialized():
            return  # someone in this process (a test, a notebook) already set Ray up: use it, leave it up
        kwargs: dict[str, Any] = {"logging_level": logging.ERROR, "log_to_driver": False,
                                  "ignore_reinit_error": True}
        if self.runtime_env is not None:
            kwargs["runtime_env"] = self.runtime_env
        if self.address is None:
            kwargs.update(num_cpus=self.num_cpus or os.cpu_count() or 1, include_dashboard=False)
        try:
            ray.init(address=self.address, **kwargs)
        except (ConnectionError, TimeoutError, OSError, RuntimeError, ValueError) as err:
            where = f"at {self.address}" if self.address else "(local instance)"
            line = " ".join(str(err).split()) or type(err).__name__
            raise CosearchError(f"cannot connect to Ray {where}: {line}") from None
        self._owns_runtime = True

    def _cluster_cpus(self) -> int:
        try:
            cpus = int(self._ray.cluster_resources().get("CPU", 0))
        except Exception:  # noqa: BLE001 - a client that cannot list resources: assume one
            cpus = 0
        return max(cpus, 1)

    def close(self) -> None:
        self._remote = None
        if self._owns_runtime and self._ray.is_initialized():
            self._ray.shutdown()
        self._owns_runtime = False

    # -- running units ---------------------------------------------------------------------------------

    def _remote_fn(self) -> Any:
        if self._remote is None:
            self._remote = self._ray.remote(_apply).options(num_cpus=1, max_retries=0, retry_exceptions=False)
        return self._remote

    def _outcome_error(self, err: BaseException) -> tuple[str, str, bool]:
        """(one line, details, worker died) for an exception of ``ray.get``."""
        exceptions = self._ray.exceptions
        if isinstance(err, exceptions.RayTaskError):  # the function raised: report its own error
            cause = getattr(err, "cause", None)
            one = _describe_error(cause)[0] if isinstance(cause, BaseException) else " ".join(str(err).split())
            return one, str(getattr(err, "traceback_str", "") or err).strip(), False
        if isinstance(err, exceptions.RayError):  # worker or node lost, object lost, cancelled, ...
            first = next((line.strip() for line in str(err).splitlines() if line.strip()), "")
            return f"its worker process died ({type(err).__name__}: {first})", str(err).strip(), True
        one, details = _describe_error(err)
        return one, details, False

    def map(self, fn: Callable[[WorkUnit], Any], units: Iterable[WorkUnit]) -> Iterator[tuple[WorkUnit, Outcome]]:
        ray = self._ray
        remote = self._remote_fn()
        fn_ref = ray.put(fn)  # shipped once, not with every task
        feed = UnitFeed(units)
        inflight: dict[Any, tuple[int, WorkUnit, int]] = {}  # ObjectRef → (seq, unit, failed attempts)
        window = 2 * self.jobs
        seq = 0
        clean = False
        try:
            while True:
                while len(inflight) < window and (item := feed.next()) is not None:
                    unit, failed = item
                    inflight[remote.remote(fn_ref, unit)] = (seq, unit, failed)
                    seq += 1
                if not inflight:
                    break
                done, _ = ray.wait(list(inflight), num_returns=1)
                for ref in sorted(done, key=lambda r: inflight[r][0]):
                    _, unit, failed = inflight.pop(ref)
                    try:
                        value = ray.get(ref)
                    except Exception as err:  # noqa: BLE001 - the unit's failure, retried or reported
                        one, details, _died = self._outcome_error(err)
                        if failed + 1 < self.attempts:
                            feed.again(unit, failed + 1)
                        else:
                            yield unit, UnitFailed(unit, failed + 1, one, details)
                    else:
                        yield unit, value
            clean = True
        finally:
            if not clean:  # interrupted (Ctrl-C, consumer stopped early, error): stop the tasks in flight
                for ref in inflight:
                    try:
                        ray.cancel(ref, force=True)
                    except Exception:  # noqa: BLE001 - best effort
                        pass
