"""Per-process SDK clients: built once, thread-safe, dropped in a fork child, never pickled.

An SDK client (a botocore client, a ``BlobServiceClient``, a requests session, a lean
connection pool) holds sockets, locks and threads: it must never cross a fork (the child
would share the parent's connections) nor a pickle (a DataLoader worker gets a store, not
its sockets). Every network backend caches its clients the same way, through this module:

* :class:`ProcessCache` — values shared by a whole process, keyed by what selects a distinct
  client (settings, credential environment): botocore sessions, credentials, GCS clients;
* :func:`per_process` — a property of a store whose value (the store's clients) is built
  on first use in each process;
* :class:`ProcessLock` — a lock for SDK calls that are not thread-safe (botocore's
  ``create_client``);
* :func:`pool_size` / :func:`max_connections_setting` — the connection-pool size every
  backend's clients get, and the ``[<backend>] max_connections`` setting that overrides it.

Creation runs under a lock (two threads never build the same client twice), reads take
no lock. ``os.register_at_fork`` empties every cache and renews every lock in a fork child
(a lock held by another thread of the parent at fork time would stay locked forever in
the child); values record the process they were built in, so a stale one is never served.
"""

from __future__ import annotations

import os
import threading
import weakref
from collections.abc import Callable, Hashable
from typing import Any, Generic, TypeVar, overload

from s3dlio.config import setting
from s3dlio.engines.pool import cpu_count

__all__ = ["ProcessCache", "ProcessLock", "max_connections_setting", "per_process", "pool_size"]

T = TypeVar("T")
S = TypeVar("S")

_pid = os.getpid()
"""This process's id, refreshed in a fork child (cheaper than ``os.getpid()`` per read)."""

_forkables: weakref.WeakSet[ProcessLock | ProcessCache[Any]] = weakref.WeakSet()
"""What a fork child renews (locks) or empties (caches)."""


class ProcessLock:
    """A ``threading.Lock`` renewed in a fork child; use it as a context manager."""

    __slots__ = ("__weakref__", "_lock")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        _forkables.add(self)

    def __enter__(self) -> bool:
        return self._lock.acquire()

    def __exit__(self, *exc: object) -> None:
        self._lock.release()

    def _after_fork(self) -> None:
        self._lock = threading.Lock()

    def __reduce__(self) -> Any:
        raise TypeError("a ProcessLock belongs to one process and cannot be pickled")


class ProcessCache(Generic[T]):
    """Values built once per process and key (``get(key, build)``)."""

    __slots__ = ("__weakref__", "_lock", "_values")

    def __init__(self) -> None:
        self._values: dict[Hashable, T] = {}
        self._lock = ProcessLock()
        _forkables.add(self)

    def get(self, key: Hashable, build: Callable[[], T]) -> T:
        """The value of ``key`` in this process, ``build()`` on first use (under the lock:
        concurrent first uses build it once; a failed build caches nothing)."""
        try:
            return self._values[key]
        except KeyError:
            pass
        with self._lock:
            try:
                return self._values[key]
            except KeyError:
                value = self._values[key] = build()
                return value

    def clear(self) -> None:
        """Forget every value (the next ``get`` builds anew)."""
        with self._lock:
            self._values = {}

    def __len__(self) -> int:
        return len(self._values)

    def _after_fork(self) -> None:
        self._values = {}

    def __reduce__(self) -> Any:
        raise TypeError("a ProcessCache belongs to one process and cannot be pickled")


class per_process(Generic[S, T]):  # a decorator, lower case like functools.cached_property
    """A read-only property whose value is built once per object and process.

    ``@per_process`` on a method ``def _conn(self) -> Clients`` makes ``self._conn`` call it
    on first use in a process and serve the result afterwards (a dictionary lookup and a
    comparison). The value lives in ``obj.__dict__[slot]`` with the id of the process that
    built it: a fork child builds its own, and ``slot`` is added to the owner's
    ``_transient`` names, which :class:`~s3dlio.store.ObjectStore` drops when pickled and
    on ``close()``. Builds of one property are serialised by one lock per property.
    """

    def __init__(self, build: Callable[[S], T], *, slot: str = "_client_cache") -> None:
        self.build = build
        self.slot = slot
        self.__doc__ = build.__doc__
        self._lock = ProcessLock()

    def __set_name__(self, owner: type, name: str) -> None:
        transient = getattr(owner, "_transient", None)
        if isinstance(transient, tuple) and self.slot not in transient:
            owner._transient = (*transient, self.slot)  # type: ignore[attr-defined]

    @overload
    def __get__(self, obj: None, owner: type | None = None) -> per_process[S, T]: ...

    @overload
    def __get__(self, obj: S, owner: type | None = None) -> T: ...

    def __get__(self, obj: S | None, owner: type | None = None) -> T | per_process[S, T]:
        if obj is None:
            return self
        entry = obj.__dict__.get(self.slot)
        if entry is not None and entry[0] == _pid:
            value: T = entry[1]
            return value
        with self._lock:
            entry = obj.__dict__.get(self.slot)
            if entry is not None and entry[0] == _pid:
                return entry[1]  # type: ignore[no-any-return]
            value = self.build(obj)
            obj.__dict__[self.slot] = (_pid, value)
            return value

    def cached(self, obj: S) -> T | None:
        """The value already built for ``obj`` in this process, else ``None`` (builds nothing)."""
        entry = obj.__dict__.get(self.slot)
        if entry is not None and entry[0] == _pid:
            value: T = entry[1]
            return value
        return None


def pool_size(configured: int) -> int:
    """Connections per HTTP pool: ``configured`` (``[<backend>] max_connections``), else
    ``max(64, 4 x CPUs)`` — room for the range engine's and the multipart writer's requests."""
    return configured or max(64, 4 * cpu_count())


def max_connections_setting(env: str, *, per: str) -> Any:
    """The ``max_connections`` field of a backend's settings section (``per``: what one
    pool serves, as its help says)."""
    return setting(0, env=env, minimum=0, maximum=4096,
                   help=f"HTTP connection pool size per {per} (0: max(64, 4 x CPUs))")


def _after_fork_in_child() -> None:
    global _pid
    _pid = os.getpid()
    for item in list(_forkables):
        item._after_fork()


os.register_at_fork(after_in_child=_after_fork_in_child)
