"""Per-process client caches (s3dlio.store.clients): once per process, thread-safe,
renewed in a fork child, never pickled."""

from __future__ import annotations

import os
import pickle
import threading
import time
from typing import Any, ClassVar

import pytest

from s3dlio.store.clients import ProcessCache, ProcessLock, per_process, pool_size


class Client:
    """Stands for an SDK client: remembers the process that built it."""

    built = 0

    def __init__(self) -> None:
        Client.built += 1
        self.pid = os.getpid()


class Holder:
    """A store-like object: ``_transient`` names are dropped when pickled."""

    _transient: ClassVar[tuple[str, ...]] = ("_other",)
    builds = 0

    def __init__(self, name: str) -> None:
        self.name = name

    @per_process
    def _conn(self) -> Client:
        """The holder's client."""
        Holder.builds += 1
        time.sleep(0.01)  # widen the window in which concurrent first uses could race
        return Client()

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        for name in self._transient:
            state.pop(name, None)
        return state


def _in_child(check: Any) -> int:
    """Run ``check()`` in a forked child; its exit status (0: the check held)."""
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        code = 1
        try:
            code = 0 if check() else 3
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


def test_per_process_builds_once_and_serves_the_same_value() -> None:
    holder = Holder("a")
    assert Holder._conn.cached(holder) is None
    first = holder._conn
    assert holder._conn is first and Holder._conn.cached(holder) is first
    assert Holder("b")._conn is not first  # one value per object
    assert Holder._conn.__doc__ == "The holder's client."


def test_per_process_slot_joins_transient_and_is_never_pickled() -> None:
    assert "_client_cache" in Holder._transient and "_other" in Holder._transient
    holder = Holder("a")
    client = holder._conn
    clone = pickle.loads(pickle.dumps(holder))
    assert "_client_cache" not in clone.__dict__ and clone.name == "a"
    assert clone._conn is not client  # built anew where it is used


def test_concurrent_first_use_builds_once() -> None:
    holder = Holder("a")
    before = Holder.builds
    got: list[Client] = []
    threads = [threading.Thread(target=lambda: got.append(holder._conn)) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert Holder.builds == before + 1
    assert len({id(c) for c in got}) == 1


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_fork_child_builds_its_own_per_process_value() -> None:
    holder = Holder("a")
    parent = holder._conn

    def check() -> bool:
        assert Holder._conn.cached(holder) is None  # the parent's value is not served
        child = holder._conn
        return child is not parent and child.pid == os.getpid() and holder._conn is child

    assert _in_child(check) == 0
    assert holder._conn is parent  # the parent keeps its own


def test_process_cache_builds_once_per_key() -> None:
    cache: ProcessCache[Client] = ProcessCache()
    a = cache.get(("k", 1), Client)
    assert cache.get(("k", 1), Client) is a
    assert cache.get(("k", 2), Client) is not a
    assert len(cache) == 2
    cache.clear()
    assert len(cache) == 0 and cache.get(("k", 1), Client) is not a


def test_process_cache_failed_build_caches_nothing() -> None:
    cache: ProcessCache[Client] = ProcessCache()

    def broken() -> Client:
        raise RuntimeError("no credentials")

    with pytest.raises(RuntimeError):
        cache.get("k", broken)
    assert len(cache) == 0
    assert isinstance(cache.get("k", Client), Client)


def test_process_cache_concurrent_first_use_builds_once() -> None:
    cache: ProcessCache[Client] = ProcessCache()
    calls: list[int] = []

    def build() -> Client:
        calls.append(1)
        time.sleep(0.01)
        return Client()

    got: list[Client] = []
    threads = [threading.Thread(target=lambda: got.append(cache.get("k", build)))
               for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 1 and len({id(c) for c in got}) == 1


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_process_cache_is_empty_in_a_fork_child_even_with_its_lock_held() -> None:
    cache: ProcessCache[Client] = ProcessCache()
    parent = cache.get("k", Client)
    lock = ProcessLock()
    held = threading.Event()
    release = threading.Event()

    def hold() -> None:
        with lock, cache._lock:  # another thread holds both locks while we fork
            held.set()
            release.wait(5)

    thread = threading.Thread(target=hold)
    thread.start()
    held.wait(5)
    try:
        def check() -> bool:
            assert len(cache) == 0
            child = cache.get("k", Client)  # would deadlock on a lock copied while held
            with lock:
                pass
            return child is not parent and child.pid == os.getpid()

        assert _in_child(check) == 0
    finally:
        release.set()
        thread.join()
    assert cache.get("k", Client) is parent


def test_caches_and_locks_refuse_pickling() -> None:
    for obj in (ProcessCache(), ProcessLock()):
        with pytest.raises(TypeError, match="cannot be pickled"):
            pickle.dumps(obj)


def test_pool_size() -> None:
    assert pool_size(12) == 12
    assert pool_size(0) >= 64
