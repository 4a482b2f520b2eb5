"""Process-wide thread pools, created lazily and re-created after ``fork``.

Three pools keep nested work from deadlocking: batch items run on ``batch``,
the ranges of one large read run on ``parts`` (a batch item may split its read),
and async twins wait on ``async``. Threads are created on demand and are daemons
in spirit (the executor's workers never block interpreter exit for long: every
task is a bounded I/O call).
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor

__all__ = ["async_pool", "batch_pool", "cpu_count", "parts_pool", "reset_pools", "set_async_workers"]

_MAX_WORKERS = 4096
_lock = threading.Lock()
_pools: dict[str, ThreadPoolExecutor] = {}


def cpu_count() -> int:
    """CPUs this process may run on."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except (AttributeError, OSError):  # pragma: no cover - non-Linux
        return os.cpu_count() or 1


def _get(name: str, max_workers: int) -> ThreadPoolExecutor:
    pool = _pools.get(name)
    if pool is None:
        with _lock:
            pool = _pools.get(name)
            if pool is None:
                pool = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix=f"s3dlio-{name}")
                _pools[name] = pool
    return pool


def batch_pool() -> ThreadPoolExecutor:
    """Workers of batch operations (one per in-flight slot)."""
    return _get("batch", _MAX_WORKERS)


def parts_pool() -> ThreadPoolExecutor:
    """Workers for the ranges of split reads and the parts of multipart writes."""
    return _get("parts", _MAX_WORKERS)


_async_workers: int | None = None


def set_async_workers(n: int) -> None:
    """Size of the async executor (``S3DLIO_RT_THREADS``); applies to the next pool created."""
    global _async_workers
    _async_workers = max(1, n)
    old = _pools.pop("async", None)
    if old is not None:
        old.shutdown(wait=False)


def async_pool() -> ThreadPoolExecutor:
    """Executor the ``*_async`` twins run their sync engines on (bounded)."""
    return _get("async", _async_workers or max(32, 4 * cpu_count()))


def reset_pools() -> None:
    """Forget the pools (their threads do not exist in a forked child)."""
    global _lock
    _pools.clear()
    _lock = threading.Lock()


os.register_at_fork(after_in_child=reset_pools)
