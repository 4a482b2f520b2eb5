"""Per-request operation recording: the hook the op-log plugs into.

Core wraps every store it opens in :class:`RecordingStore` (the innermost
middleware), so each request a backend serves produces exactly one record —
including stores opened before recording started, batch items, async twins and
writers. The active :class:`Recorder` is looked up on every request through the
module global :data:`current`; when nothing records, the cost is one global read
and an ``is None`` check.

A recorder (``s3dlio-oplog`` provides one) must make :meth:`Recorder.finish`
cheap: take the end timestamp, enqueue, return. Formatting and compression belong
on a background thread. A recorder may also offer a :class:`FastPath` (its queue and
free lanes): core's wrapper then records a whole-object GET in line — two clock reads,
a lane, one tuple appended — without calling the recorder at all (≈ 0.25 µs instead of
≈ 0.7 µs per request; the op-log's ≤ 5% target on 4 KiB ``file://`` reads depends on it).

Op names follow warp (docs/oplog.md, "File format"): ``GET PUT STAT LIST DELETE COPY MKDIR
CREATE_CONTAINER DELETE_CONTAINER``.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Iterable, Iterator
from heapq import heappop, heappush
from time import perf_counter_ns as _perf_ns
from typing import TYPE_CHECKING, Any, Protocol

import attrs

from s3dlio.errors import NotFoundError
from s3dlio.redaction import redact
from s3dlio.store import ObjectStore
from s3dlio.store.middleware import StoreWrapper

if TYPE_CHECKING:
    from s3dlio.bytesview import BytesView
    from s3dlio.config import Settings
    from s3dlio.store import ListPage, ObjectMeta

__all__ = ["FastPath", "Recorder", "RecordingStore", "Span", "current", "install_recorder",
           "recording"]


class Span(Protocol):
    """What :meth:`Recorder.start` returns; handed back to :meth:`Recorder.finish`."""


class Recorder(Protocol):
    """Receives one call per storage request."""

    def start(self) -> Any:
        """Called as the request starts; returns an opaque span (lane, timestamps)."""

    def finish(
        self,
        span: Any,
        op: str,
        n_objects: int,
        nbytes: int,
        endpoint: str,
        file: str,
        error: BaseException | str | None = None,
        first_byte_ns: int | None = None,
    ) -> None:
        """Called as the request ends: ``error`` is the exception, a ready message, or ``None``.

        ``first_byte_ns`` is a ``time.perf_counter_ns()`` stamp (the clock of the span), or
        ``None`` when the request returned no data.

        Core's per-request wrapper passes every argument positionally (keyword
        arguments cost about as much as the rest of the call); implementations must
        accept both.
        """

    # Optional: ``abandon(span)`` is called (when the recorder has it) for a span that
    # produced no request, e.g. the probe that finds a listing exhausted.


@attrs.frozen
class FastPath:
    """A recorder's queue, opened to core's wrapper for in-line recording (optional).

    A recorder exposing ``fast_path`` (an instance of this class) promises: spans are
    ``(lane, start_perf_ns)`` tuples; rows are ``(lane, op, n_objects, nbytes, endpoint,
    file, error, start_ns, first_byte_ns, end_ns)`` appended to ``queue`` (all three
    ``perf_counter_ns`` stamps; ``endpoint`` may be an ``(endpoint, path_prefix)`` pair,
    the file then being ``path_prefix + file``);
    ``lanes`` is the heap of free lanes (``new_lane()`` when empty; lanes from
    ``max_lane`` on are not given back); a row that finds the queue full
    (``len(queue) >= capacity``) or the recorder ``closed`` goes to ``overflow(row)``.
    """

    recorder: Any
    queue: Any
    lanes: builtins.list[int]
    new_lane: Callable[[], int]
    max_lane: int
    capacity: int
    overflow: Callable[[tuple[Any, ...]], None]


current: Recorder | None = None
"""The active recorder, or ``None``. Read on every request; set by :func:`install_recorder`."""
_fast: FastPath | None = None
"""The active recorder's :class:`FastPath`, if it has one."""


def install_recorder(recorder: Recorder | None) -> Recorder | None:
    """Make ``recorder`` the active one (``None`` stops recording); return the previous one."""
    global current, _fast
    previous = current
    # Through None: a request that reads the new recorder always sees its own fast path.
    current = None
    _fast = getattr(recorder, "fast_path", None) if recorder is not None else None
    current = recorder
    return previous


def recording(store: ObjectStore, settings: Settings) -> ObjectStore:
    """Middleware factory (registered by core as ``oplog``, innermost)."""
    return RecordingStore(store)


class RecordingStore(StoreWrapper):
    """Reports every request of ``inner`` to the active recorder."""

    def __init__(self, inner: ObjectStore) -> None:
        super().__init__(inner)
        # Computed once: rows name the path without scheme or endpoint (docs/oplog.md),
        # and building these strings per request was a third of the wrapper's cost.
        self._file_prefix = inner.root.split("://", 1)[1] if "://" in inner.root else inner.root
        # An endpoint URL may carry user:password@ (--endpoint-url): rows never hold it.
        self._endpoint = redact(inner.endpoint)
        self._place = (self._endpoint, self._file_prefix)
        """A fast-path row's endpoint field: the row's file is this prefix + the key."""

    def _done(self, span: Any, op: str, key: str, n: int, nbytes: int,
              error: BaseException | str | None = None, first_byte_ns: int | None = None) -> None:
        rec = current
        if rec is not None:
            rec.finish(span, op, n, nbytes, self._endpoint, self._file_prefix + key, error,
                       first_byte_ns)

    def _read(self, key: str, fn: Any, *args: Any) -> Any:
        """A GET: bytes = length of the result; first byte = when the data was in hand.

        The hot path of every recorded read: one recorder lookup, ``start``, the call,
        one positional ``finish`` (no helper frame, no keyword arguments).
        """
        rec = current
        if rec is None:
            return fn(key, *args)
        span = rec.start()
        try:
            result = fn(key, *args)
        except BaseException as exc:
            rec.finish(span, "GET", 1, 0, self._endpoint, self._file_prefix + key, exc, None)
            raise
        rec.finish(span, "GET", 1, result if result.__class__ is int else len(result),
                   self._endpoint, self._file_prefix + key, None, _perf_ns())
        return result

    def get(self, key: str) -> BytesView:
        # _read inlined: this is the call every get/get_many item makes.
        rec = current
        if rec is None:
            return self.inner.get(key)
        fast = _fast
        if fast is not None and fast.recorder is rec:
            # The FastPath, in line (a helper call would cost a fifth of it).
            lanes = fast.lanes
            try:
                lane = heappop(lanes)
            except IndexError:
                lane = fast.new_lane()
            start = _perf_ns()
            try:
                result = self.inner.get(key)
            except BaseException as exc:
                rec.finish((lane, start), "GET", 1, 0, self._endpoint, self._file_prefix + key, exc, None)
                raise
            end = _perf_ns()  # the data is in hand: the first byte's time too
            if lane < fast.max_lane:
                heappush(lanes, lane)
            queue = fast.queue
            # The shared (endpoint, path prefix) pair, not a path joined per request.
            if len(queue) < fast.capacity and not rec.closed:
                queue.append((lane, "GET", 1, len(result), self._place, key, "", start, end, end))
            else:
                fast.overflow((lane, "GET", 1, len(result), self._place, key, "", start, end, end))
            return result
        span = rec.start()
        try:
            result = self.inner.get(key)
        except BaseException as exc:
            rec.finish(span, "GET", 1, 0, self._endpoint, self._file_prefix + key, exc, None)
            raise
        rec.finish(span, "GET", 1, len(result), self._endpoint, self._file_prefix + key, None,
                   _perf_ns())
        return result

    def get_range(self, key: str, offset: int, length: int | None = None) -> BytesView:
        return self._read(key, self.inner.get_range, offset, length)  # type: ignore[no-any-return]

    def get_range_into(self, key: str, offset: int, buf: memoryview) -> int:
        return self._read(key, self.inner.get_range_into, offset, buf)  # type: ignore[no-any-return]

    def head(self, key: str) -> ObjectMeta:
        rec = current
        if rec is None:
            return self.inner.head(key)
        span = rec.start()
        try:
            meta = self.inner.head(key)
        except BaseException as exc:
            self._done(span, "STAT", key, 1, 0, exc)
            raise
        self._done(span, "STAT", key, 1, meta.size)
        return meta

    def exists(self, key: str) -> bool:
        # Routed through head() so it is recorded as one STAT.

        try:
            self.head(key)
        except NotFoundError:
            return False
        return True

    def _timed(self, op: str, key: str, nbytes: int, fn: Any, *args: Any) -> Any:
        rec = current
        if rec is None:
            return fn(*args)
        span = rec.start()
        try:
            result = fn(*args)
        except BaseException as exc:
            self._done(span, op, key, 1, 0, exc)
            raise
        self._done(span, op, key, 1, result if nbytes < 0 and isinstance(result, int) else nbytes)
        return result

    def put(self, key: str, data: memoryview) -> None:
        self._timed("PUT", key, len(data), self.inner.put, key, data)

    def put_stream(self, key: str, chunks: Iterable[Any]) -> int:
        return self._timed("PUT", key, -1, self.inner.put_stream, key, chunks)  # type: ignore[no-any-return]

    def put_if_absent(self, key: str, data: memoryview) -> bool:
        # One PUT row; a refused create-only write is a PUT that wrote nothing.
        rec = current
        if rec is None:
            return super().put_if_absent(key, data)
        span = rec.start()
        try:
            written = super().put_if_absent(key, data)
        except BaseException as exc:
            self._done(span, "PUT", key, 1, 0, exc)
            raise
        self._done(span, "PUT", key, 1, len(data) if written else 0,
                   None if written else "already exists (create-only write)")
        return written

    def put_file(self, key: str, path: str) -> int:
        return self._timed("PUT", key, -1, self.inner.put_file, key, path)  # type: ignore[no-any-return]

    def get_to_file(self, key: str, path: str) -> int:
        return self._timed("GET", key, -1, self.inner.get_to_file, key, path)  # type: ignore[no-any-return]

    def copy(self, src_key: str, dst_key: str) -> None:
        self._timed("COPY", dst_key, 0, self.inner.copy, src_key, dst_key)

    def rename(self, src_key: str, dst_key: str) -> None:
        self._timed("COPY", dst_key, 0, self.inner.rename, src_key, dst_key)

    def delete(self, key: str) -> None:
        self._timed("DELETE", key, 0, self.inner.delete, key)

    def delete_many(self, keys: Iterable[str]) -> builtins.list[tuple[str, BaseException]]:
        rec = current
        if rec is None:
            return self.inner.delete_many(keys)
        batch = builtins.list(keys)
        span = rec.start()
        try:
            failures = self.inner.delete_many(batch)
        except BaseException as exc:
            self._done(span, "DELETE", batch[0] if batch else "", len(batch), 0, exc)
            raise
        error = None
        if failures:
            # docs/oplog.md (File format): "{f} of {n} failed: {first error}", not an exception repr.
            error = f"{len(failures)} of {len(batch)} failed: {failures[0][1]}"
        self._done(span, "DELETE", batch[0] if batch else "", len(batch), 0, error)
        return failures

    def delete_prefix(
        self, prefix: str, *, batch_size: int = 1000
    ) -> tuple[int, builtins.list[tuple[str, BaseException]]]:
        # Run the base algorithm on this wrapper (not the inner store's override)
        # so each listed page and each delete batch is recorded.
        return ObjectStore.delete_prefix(self, prefix, batch_size=batch_size)

    def mkdir(self, key: str) -> None:
        self._timed("MKDIR", key, 0, self.inner.mkdir, key)

    def list(self, prefix: str = "", *, recursive: bool = True) -> Iterator[ListPage]:
        it = self.inner.list(prefix, recursive=recursive)
        while True:
            rec = current
            span = rec.start() if rec is not None else None
            try:
                page = next(it)
            except StopIteration:
                if rec is not None:
                    # The listing ended without a request: give the span (its lane) back.
                    abandon = getattr(rec, "abandon", None)
                    if abandon is not None:
                        abandon(span)
                return
            except BaseException as exc:
                if rec is not None:
                    self._done(span, "LIST", prefix, 0, 0, exc)
                raise
            if rec is not None:
                self._done(span, "LIST", prefix, len(page.keys) + len(page.prefixes), 0)
            yield page

    def create_container(self, key: str = "") -> None:
        self._timed("CREATE_CONTAINER", key, 0, super().create_container, key)

    def delete_container(self, key: str = "") -> None:
        self._timed("DELETE_CONTAINER", key, 0, super().delete_container, key)

