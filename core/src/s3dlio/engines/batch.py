"""The batch engine: many independent operations with a bounded in-flight window.

``W`` workers pull the next index from a shared counter, so there is no future
per item and memory stays bounded by the window. Results come back in input
order; every per-item failure is collected and, with :func:`run_batch`, raised
together as one :class:`~s3dlio.errors.BatchError` once every item has settled.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from typing import Any, TypeVar

from s3dlio.engines.pool import batch_pool
from s3dlio.errors import BatchError

__all__ = ["MAX_WINDOW", "check_window", "run_batch", "run_batch_settled", "window_for"]

T = TypeVar("T")
R = TypeVar("R")

MAX_WINDOW = 4096
_WAIT_SLICE = 0.2
"""Main-thread waits are sliced so Ctrl-C interrupts a batch within a second."""


def check_window(max_in_flight: Any, name: str = "max_in_flight") -> int:
    """Validate an in-flight window: an int in 1..4096."""
    if isinstance(max_in_flight, bool) or not isinstance(max_in_flight, int):
        raise TypeError(f"{name} must be an int, got {type(max_in_flight).__name__}")
    if not 1 <= max_in_flight <= MAX_WINDOW:
        raise ValueError(f"{name} must be between 1 and {MAX_WINDOW}, got {max_in_flight}")
    return max_in_flight


def window_for(first_uri: str | None, count: int, max_in_flight: int) -> int:
    """The in-flight window of a batch: ``min(max_in_flight, count)``, capped by the
    backend's ``max_useful_concurrency`` (taken from the first URI's store)."""
    window = min(check_window(max_in_flight), count)
    if first_uri is not None:
        from s3dlio.errors import S3dlioError
        from s3dlio.runtime import resolve

        try:
            store, _ = resolve(first_uri)
        except (S3dlioError, TypeError):
            return max(window, 1)  # a bad URI fails as its own item, in order
        cap = store.max_useful_concurrency
        if cap is not None:
            window = min(window, cap)
    return max(window, 1)


class _Failed:
    __slots__ = ("exc",)

    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


def run_batch_settled(
    fn: Callable[[T], R], items: Sequence[T], *, window: int
) -> list[R | _Failed]:
    """Apply ``fn`` to every item with at most ``window`` in flight; keep failures in place."""
    n = len(items)
    if n == 0:
        return []
    results: list[Any] = [None] * n
    if window <= 1 or n == 1:
        for i, item in enumerate(items):
            try:
                results[i] = fn(item)
            except Exception as exc:
                results[i] = _Failed(exc)
        return results
    counter = itertools.count()
    stop = threading.Event()

    def worker() -> None:
        while not stop.is_set():
            i = next(counter)
            if i >= n:
                return
            try:
                results[i] = fn(items[i])
            except Exception as exc:
                results[i] = _Failed(exc)

    pool = batch_pool()
    workers: list[Future[None]] = [pool.submit(worker) for _ in range(min(window, n))]
    try:
        for fut in workers:
            while True:
                try:
                    fut.result(timeout=_WAIT_SLICE)
                    break
                except TimeoutError:
                    continue
    except BaseException:
        # KeyboardInterrupt: stop scheduling; in-flight items finish on their own.
        stop.set()
        raise
    return results


def is_failure(value: object) -> bool:
    return isinstance(value, _Failed)


def run_batch(
    fn: Callable[[T], R],
    items: Sequence[T],
    *,
    window: int,
    op: str,
    label: Callable[[T], str] = str,
) -> list[R]:
    """Like :func:`run_batch_settled` but raise ``BatchError`` listing every failure."""
    settled = run_batch_settled(fn, items, window=window)
    failures = [(label(items[i]), r.exc) for i, r in enumerate(settled) if isinstance(r, _Failed)]
    if failures:
        raise BatchError(op, failures, succeeded=len(items) - len(failures))
    return settled  # type: ignore[return-value]
