"""``MultipartUploadWriter``: stream an object of any size with bounded memory.

Data written is cut into parts; each full part is uploaded on core's parts pool
while the caller keeps writing, at most ``max_in_flight`` at a time (``write``
blocks only when every slot is busy). Memory therefore stays at or below
``(max_in_flight + 1) × part_size`` — the parts in flight plus the one filling.

On a backend with native multipart (``Capability.MULTIPART``: S3 multipart
uploads, Azure staged blocks, ...) the writer drives the store's
``create_upload`` / ``upload_part`` / ``complete_upload`` / ``abort_upload``. The
upload is created lazily: an object that fits in one part is a single PUT. Before
Complete the part list is checked (docs/api.md, ``MultipartUploadWriter``): numbers exactly 1..N,
every part but the last at least the minimum part size, the byte sum equal to
what was written. Any failure aborts the upload, so nothing is published.

Elsewhere (``file://``, ``direct://``) parts stream through the store's atomic
``put_stream`` (a temp file published by rename at close).

The writer is one op-log ``PUT`` row: start at creation, end at completion.
"""

from __future__ import annotations

import atexit
import logging
import math
import os
import queue
import re
import signal
import threading
import time
import warnings
import weakref
from collections.abc import Iterator, Sequence
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any, cast

from s3dlio.bytesview import BytesView
from s3dlio.errors import IntegrityError, NotFoundError, StoreError, TransientError
from s3dlio.log import event_logger
from s3dlio.plugin.runtime import bucket_uri, resolve
from s3dlio.store import Capability, UploadPart, as_buffer, recording

if TYPE_CHECKING:
    from types import TracebackType

    from s3dlio.store import MultipartUpload, ObjectStore

__all__ = ["MultipartUploadWriter", "ReservedBuffer", "check_part_list", "upload_buffer"]

MiB = 1 << 20
_MULTIPART_ETAG = re.compile(r'^"?[0-9a-fA-F]{32}-(\d+)"?$')
_WAIT_SLICE = 0.2
"""Waits happen in short slices so Ctrl-C interrupts a blocked ``write`` promptly."""
_GROW_AFTER = 5_000
_GROW_EVERY = 1_000
"""Parts 1..5,000 use ``part_size``; the size then doubles every 1,000 parts, so an
unsized stream reaches 67 × ``part_size`` before the 10,000-part limit instead of
failing at 10,000 × ``part_size`` (S3 allows parts of different sizes)."""


class ReservedBuffer:
    """Owner of the memory ``reserve()`` hands out (kept alive until the part is sent)."""

    __slots__ = ("owner", "size", "view")

    def __init__(self, owner: object, view: memoryview) -> None:
        self.owner = owner
        self.view = view
        self.size = len(view)


def check_part_list(
    parts: Sequence[UploadPart], total: int, *, min_part_size: int, max_parts: int, uri: str
) -> None:
    """Raise ``IntegrityError`` unless ``parts`` may be completed (docs/api.md, ``MultipartUploadWriter``)."""
    if not parts:
        raise IntegrityError("no parts to complete", op="complete_upload", uri=uri)
    if len(parts) > max_parts:
        raise IntegrityError(f"{len(parts)} parts exceed the limit of {max_parts}",
                             op="complete_upload", uri=uri)
    for expected, part in enumerate(parts, start=1):
        if part.part_number != expected:
            raise IntegrityError(
                f"part list is not contiguous: expected part {expected}, found {part.part_number}",
                op="complete_upload", uri=uri,
            )
        if expected < len(parts) and part.size < min_part_size:
            raise IntegrityError(
                f"part {expected} is {part.size} bytes, below the minimum {min_part_size}",
                op="complete_upload", uri=uri,
            )
    got = sum(p.size for p in parts)
    if got != total:
        raise IntegrityError(f"parts hold {got} bytes but {total} were written",
                             op="complete_upload", uri=uri)


def _part_size_for(base: int, part_number: int) -> int:
    if part_number <= _GROW_AFTER:
        return base
    return base << min(20, (part_number - _GROW_AFTER - 1) // _GROW_EVERY + 1)


_open_writers: weakref.WeakSet[MultipartUploadWriter] = weakref.WeakSet()


class MultipartUploadWriter:
    """Write one object in parts, uploading while the caller produces data.

    ``MultipartUploadWriter(bucket, key, ...)`` writes ``key`` in ``bucket`` of the
    backend that serves bare bucket names (``s3://bucket/key`` with s3dlio-s3);
    :meth:`from_uri` takes any URI. Use it as a context manager: an exception
    inside the block aborts the upload (nothing is published) and propagates.
    """

    def __init__(
        self,
        bucket: str,
        key: str,
        part_size: int | None = None,
        max_in_flight: int | None = None,
        content_type: str | None = None,
        abort_on_drop: bool | None = None,
        *,
        expected_size: int | None = None,
    ) -> None:
        store, object_key = resolve(bucket_uri(bucket, key))
        self._setup(store, object_key, part_size, max_in_flight, content_type, abort_on_drop,
                    expected_size, record=True)

    @classmethod
    def from_uri(
        cls,
        uri: str,
        part_size: int | None = None,
        max_in_flight: int | None = None,
        content_type: str | None = None,
        abort_on_drop: bool | None = None,
        *,
        expected_size: int | None = None,
    ) -> MultipartUploadWriter:
        """A writer for ``uri`` on any backend."""
        from s3dlio.plugin.runtime import resolve

        store, key = resolve(uri)
        return cls.for_store(store, key, part_size=part_size, max_in_flight=max_in_flight,
                             content_type=content_type, abort_on_drop=abort_on_drop,
                             expected_size=expected_size)

    @classmethod
    def for_store(
        cls,
        store: ObjectStore,
        key: str,
        *,
        part_size: int | None = None,
        max_in_flight: int | None = None,
        content_type: str | None = None,
        abort_on_drop: bool | None = None,
        expected_size: int | None = None,
        record: bool = True,
    ) -> MultipartUploadWriter:
        """A writer on an open store (backends use it for large ``put`` calls)."""
        self = cls.__new__(cls)
        self._setup(store, key, part_size, max_in_flight, content_type, abort_on_drop,
                    expected_size, record=record)
        return self

    # ------------------------------------------------------------------ setup
    def _setup(
        self,
        store: ObjectStore,
        key: str,
        part_size: int | None,
        max_in_flight: int | None,
        content_type: str | None,
        abort_on_drop: bool | None,
        expected_size: int | None,
        *,
        record: bool,
    ) -> None:
        self._store = store
        self._key = key
        self.uri = store.uri(key)
        if not key or key.endswith("/"):
            raise store._invalid("a multipart upload needs an object key", key, "put")
        upload = store.settings.section("upload")
        # Native parts when the store implements MultipartUpload, else its put_stream.
        self._native = Capability.MULTIPART in store.capabilities
        self._parts_api = cast("MultipartUpload", store)
        min_part = store.min_part_size if self._native else 1
        if part_size is None:
            part_size = upload.part_size_mb * MiB
        if isinstance(part_size, bool) or not isinstance(part_size, int):
            raise TypeError(f"part_size must be an int, got {type(part_size).__name__}")
        if part_size < min_part:
            raise ValueError(
                f"part_size {part_size} is below the minimum part size of {store.backend} "
                f"({min_part} bytes = {min_part // MiB} MiB) for {self.uri}"
            )
        if expected_size is not None:
            if isinstance(expected_size, bool) or not isinstance(expected_size, int):
                raise TypeError(f"expected_size must be an int, got {type(expected_size).__name__}")
            if expected_size < 0:
                raise ValueError(f"expected_size must be >= 0, got {expected_size} ({self.uri})")
            part_size = max(part_size, math.ceil(expected_size / store.max_parts))
        if max_in_flight is None:
            max_in_flight = upload.max_in_flight or max(32, math.ceil(512 * MiB / part_size))
        if max_in_flight < 1:
            raise ValueError(f"max_in_flight must be >= 1, got {max_in_flight}")
        self.part_size = part_size
        self.max_in_flight = max_in_flight
        self.content_type = content_type
        self.abort_on_drop = True if abort_on_drop is None else bool(abort_on_drop)
        self._verify = bool(upload.mpu_put_verify)

        self._lock = threading.Lock()
        self._slots = threading.Semaphore(max_in_flight)
        self._running: set[Future[None]] = set()
        self._parts: dict[int, UploadPart] = {}
        self._errors: list[BaseException] = []
        self._upload_id: str | None = None
        self._buf: memoryview | None = None
        self._buf_owner: object = None
        self._fill = 0
        self._part_number = 0
        self._bytes_written = 0
        self._reserved: tuple[ReservedBuffer, bool] | None = None
        self._state = "open"
        self._info: dict[str, Any] | None = None
        self.started_at = time.time()
        # The fallback path: a consumer thread feeding the store's atomic put_stream.
        self._queue: queue.Queue[Any] | None = None
        self._consumer: threading.Thread | None = None
        self._stream_result: list[Any] = []

        rec = recording.current if record else None
        self._rec = rec
        self._span = rec.start() if rec is not None else None
        _open_writers.add(self)
        _install_sigterm_abort()

    # ---------------------------------------------------------------- status
    def bytes_written(self) -> int:
        """Bytes accepted by ``write``/``commit`` so far."""
        return self._bytes_written

    @property
    def closed(self) -> bool:
        return self._state != "open"

    def _check_open(self, op: str) -> None:
        if self._state != "open":
            raise ValueError(f"{op}: the writer for {self.uri} is {self._state}")
        if self._errors:
            self._fail_now(op)

    def _fail_now(self, op: str) -> None:
        cause = self._errors[0]
        self._abort_quietly(cause)
        if isinstance(cause, StoreError):
            raise cause
        raise StoreError(f"a part upload failed: {cause}", op=op, uri=self.uri,
                         backend=self._store.backend) from cause

    # ----------------------------------------------------------------- write
    def write(self, data: object) -> int:
        """Accept ``data`` (any bytes-like object); return its length.

        ``bytes`` and ``BytesView`` are immutable, so full parts of them are sent
        without a copy; other buffers are copied into the part being filled (the
        caller may reuse them as soon as ``write`` returns).
        """
        self._check_open("write")
        if self._reserved is not None:
            raise ValueError("write: commit() the pending reservation first")
        mv = as_buffer(data, op="write", uri=self.uri)
        self._accept(mv, data if isinstance(data, (bytes, BytesView)) else None)
        return len(mv)

    def write_owned_bytes(self, data: object) -> int:
        """Like :meth:`write` (kept for API compatibility)."""
        return self.write(data)

    def _accept(self, mv: memoryview, owner: object | None) -> None:
        n = len(mv)
        pos = 0
        while pos < n:
            target = _part_size_for(self.part_size, self._part_number + 1)
            if owner is not None and self._fill == 0 and n - pos >= target:
                self._submit(mv[pos : pos + target], owner)
                pos += target
                continue
            if self._buf is None:
                self._new_buffer(target)
            assert self._buf is not None
            take = min(len(self._buf) - self._fill, n - pos)
            self._buf[self._fill : self._fill + take] = mv[pos : pos + take]
            self._fill += take
            pos += take
            if self._fill == len(self._buf):
                self._submit_current()
        self._bytes_written += n

    def _new_buffer(self, size: int) -> None:
        owner, view = BytesView.allocate(size)
        self._buf_owner, self._buf, self._fill = owner, view, 0

    def _submit_current(self) -> None:
        assert self._buf is not None
        view, owner = self._buf[: self._fill], self._buf_owner
        self._buf, self._buf_owner, self._fill = None, None, 0
        self._submit(view, owner)

    def reserve(self, size: int) -> memoryview:
        """A writable view of ``size`` bytes to fill in place; then call :meth:`commit`."""
        self._check_open("reserve")
        if self._reserved is not None:
            raise ValueError("reserve: one reservation is already pending; commit() it first")
        if size < 0:
            raise ValueError(f"reserve: size must be >= 0, got {size}")
        target = _part_size_for(self.part_size, self._part_number + 1)
        if self._fill + size <= target:
            # Straight into the part being filled: no copy at all.
            if self._buf is None:
                self._new_buffer(target)
            assert self._buf is not None
            view = self._buf[self._fill : self._fill + size]
            self._reserved = (ReservedBuffer(self._buf_owner, view), True)
        else:
            try:
                owner, view = BytesView.allocate(size)
            except (MemoryError, OverflowError) as exc:  # reserve(2**62): typed, never raw
                raise StoreError(f"reserve: cannot allocate {size} bytes", op="put",
                                 uri=self.uri) from exc
            self._reserved = (ReservedBuffer(owner, view), False)
        return view

    def commit(self, nbytes: int) -> int:
        """Accept the first ``nbytes`` of the pending reservation; return ``nbytes``."""
        if self._reserved is None:
            raise ValueError("commit: nothing is reserved")
        reserved, in_part = self._reserved
        if nbytes < 0 or nbytes > reserved.size:
            raise ValueError(f"commit: {nbytes} is outside 0..{reserved.size} (the reserved size)")
        self._reserved = None
        self._check_open("commit")
        if in_part:
            self._fill += nbytes
            self._bytes_written += nbytes
            if self._buf is not None and self._fill == len(self._buf):
                self._submit_current()
        else:
            self._accept(reserved.view[:nbytes], reserved.owner)
        return nbytes

    # ----------------------------------------------------------------- parts
    def _submit(self, view: memoryview, owner: object) -> None:
        if not self._native:
            self._stream_put(view, owner)
            return
        if self._part_number >= self._store.max_parts:
            raise ValueError(
                f"write: {self.uri} would need more than {self._store.max_parts} parts; "
                f"pass a larger part_size (or expected_size=)"
            )
        while not self._slots.acquire(timeout=_WAIT_SLICE):
            if self._errors:
                self._fail_now("write")
        if self._errors:
            self._slots.release()
            self._fail_now("write")
        try:
            if self._upload_id is None:
                self._upload_id = self._parts_api.create_upload(self._key, content_type=self.content_type)
            self._part_number += 1
            from s3dlio.engines.pool import parts_pool

            fut = parts_pool().submit(self._upload_part, self._part_number, view, owner)
        except BaseException:
            self._slots.release()
            raise
        with self._lock:
            self._running.add(fut)
        fut.add_done_callback(self._part_done)

    def _upload_part(self, number: int, view: memoryview, owner: object) -> None:
        assert self._upload_id is not None
        part = self._parts_api.upload_part(self._key, self._upload_id, number, view)
        if part.part_number != number or part.size != len(view):
            raise IntegrityError(
                f"part {number} ({len(view)} bytes) acknowledged as part {part.part_number} "
                f"of {part.size} bytes", op="upload_part", uri=self.uri, backend=self._store.backend,
            )
        with self._lock:
            self._parts[number] = part

    def _part_done(self, fut: Future[None]) -> None:
        with self._lock:
            self._running.discard(fut)
        self._slots.release()
        if not fut.cancelled():
            exc = fut.exception()
            if exc is not None:
                self._errors.append(exc)

    def _wait_parts(self) -> None:
        while True:
            with self._lock:
                running = list(self._running)
            if not running:
                return
            for fut in running:
                while True:
                    try:
                        fut.exception(timeout=_WAIT_SLICE)
                        break
                    except TimeoutError:
                        continue

    # --------------------------------------------------------------- fallback
    def _stream_put(self, view: memoryview, owner: object) -> None:
        if self._queue is None:
            self._queue = queue.Queue(maxsize=self.max_in_flight)
            self._consumer = threading.Thread(
                target=self._consume, name="s3dlio-writer", daemon=True
            )
            self._consumer.start()
        self._put_queue((view, owner))

    def _put_queue(self, item: Any) -> None:
        assert self._queue is not None
        while True:
            if self._errors and item is not _ABORT:
                self._fail_now("write")
            try:
                self._queue.put(item, timeout=_WAIT_SLICE)
                return
            except queue.Full:
                continue

    def _chunks(self) -> Iterator[memoryview]:
        assert self._queue is not None
        while True:
            item = self._queue.get()
            if item is _DONE:
                return
            if item is _ABORT:
                raise _Aborted("upload aborted")
            yield item[0]

    def _consume(self) -> None:
        try:
            self._stream_result.append(self._store.put_stream(self._key, self._chunks()))
        except BaseException as exc:
            self._errors.append(exc)
            # Drain so a producer blocked on a full queue wakes up and sees the error.
            assert self._queue is not None
            while True:
                try:
                    self._queue.get_nowait()
                except queue.Empty:
                    break

    def _join_consumer(self) -> None:
        if self._consumer is None:
            return
        while self._consumer.is_alive():
            self._consumer.join(timeout=_WAIT_SLICE)

    # ----------------------------------------------------------------- flush
    def flush(self) -> None:
        """Wait for the parts in flight; send the tail first if it can be a part."""
        self._check_open("flush")
        if self._buf is not None and self._fill >= (self._store.min_part_size if self._native else 1):
            self._submit_current()
        self._wait_parts()
        if self._errors:
            self._fail_now("flush")

    # ----------------------------------------------------------------- close
    def close(self) -> dict[str, Any]:
        """Publish the object; return ``{etag, total_bytes, parts, started_at, completed_at}``.

        Idempotent. A failure before the object is published aborts the upload
        and raises ``StoreError`` chained to the cause.
        """
        if self._info is not None:
            return dict(self._info)
        if self._state != "open":
            raise ValueError(f"close: the writer for {self.uri} is {self._state}")
        if self._reserved is not None:
            raise ValueError("close: commit() the pending reservation first")
        try:
            info = self._finish()
        except BaseException as exc:
            self._abort_quietly(exc)
            if isinstance(exc, StoreError) or not isinstance(exc, Exception):
                raise
            raise StoreError(f"upload failed: {exc}", op="put", uri=self.uri,
                             backend=self._store.backend) from exc
        self._state = "closed"
        self._info = info
        _open_writers.discard(self)
        self._record(None, info["total_bytes"])
        return dict(info)

    def _finish(self) -> dict[str, Any]:
        if not self._native:
            return self._finish_stream()
        if self._upload_id is None:
            return self._finish_single()
        if self._buf is not None and self._fill:
            self._submit_current()
        self._wait_parts()
        if self._errors:
            cause = self._errors[0]
            raise cause
        parts = [self._parts[n] for n in sorted(self._parts)]
        check_part_list(parts, self._bytes_written, min_part_size=self._store.min_part_size,
                        max_parts=self._store.max_parts, uri=self.uri)
        etag = self._complete(parts)
        # S3-style multipart ETags are "<md5 of part md5s>-<part count>".
        match = _MULTIPART_ETAG.match(etag or "")
        if match and int(match.group(1)) != len(parts):
            raise IntegrityError(f"completed ETag {etag} does not name {len(parts)} parts",
                                 op="complete_upload", uri=self.uri)
        if self._verify:
            self._verify_size()
        return self._info_dict(etag, len(parts))

    def _complete(self, parts: list[UploadPart]) -> str | None:
        assert self._upload_id is not None
        try:
            return self._parts_api.complete_upload(self._key, self._upload_id, parts)
        except (TransientError, NotFoundError) as exc:
            # The outcome is unknown (a lost response, or NoSuchUpload after a retried
            # Complete): an object of the expected size means it did complete.
            try:
                meta = self._store.head(self._key)
            except StoreError:
                raise exc from None
            if meta.size == self._bytes_written:
                return meta.etag
            raise

    def _finish_single(self) -> dict[str, Any]:
        view = self._buf[: self._fill] if self._buf is not None else memoryview(b"")
        self._store.put(self._key, view)
        self._buf, self._buf_owner, self._fill = None, None, 0
        etag = None
        if self._verify:
            etag = self._verify_size()
        return self._info_dict(etag, 1)

    def _finish_stream(self) -> dict[str, Any]:
        if self._buf is not None and self._fill:
            self._submit_current()
        if self._queue is None:
            self._store.put(self._key, memoryview(b""))
        else:
            self._put_queue(_DONE)
            self._join_consumer()
            if self._errors:
                raise self._errors[0]
            stored = self._stream_result[0] if self._stream_result else None
            if isinstance(stored, int) and stored != self._bytes_written:
                raise IntegrityError(f"stored {stored} bytes but {self._bytes_written} were written",
                                     op="put", uri=self.uri)
        return self._info_dict(None, max(1, self._part_number_stream()))

    def _part_number_stream(self) -> int:
        return math.ceil(self._bytes_written / self.part_size) if self._bytes_written else 1

    def _verify_size(self) -> str | None:
        meta = self._store.head(self._key)
        if meta.size != self._bytes_written:
            err = IntegrityError(
                f"verification failed: stored object is {meta.size} bytes, {self._bytes_written} "
                "were written (object deleted)", op="put", uri=self.uri,
            )
            try:
                self._store.delete(self._key)
            except StoreError as exc:
                err.add_note(f"deleting the bad object failed: {exc}")
            raise err
        return meta.etag

    def _info_dict(self, etag: str | None, parts: int) -> dict[str, Any]:
        return {
            "etag": etag,
            "total_bytes": self._bytes_written,
            "parts": parts,
            "started_at": self.started_at,
            "completed_at": time.time(),
        }

    # ----------------------------------------------------------------- abort
    def abort(self) -> None:
        """Abandon the upload: nothing is published; parts in flight are waited for."""
        if self._state in ("aborted", "closed"):
            return
        self._abort(None)

    def _abort(self, cause: BaseException | None) -> None:
        self._state = "aborted"
        _open_writers.discard(self)
        try:
            with self._lock:
                running = list(self._running)
            for fut in running:
                fut.cancel()
            self._wait_parts()
            if self._queue is not None and self._consumer is not None and self._consumer.is_alive():
                self._put_queue(_ABORT)
                self._join_consumer()
            if self._upload_id is not None:
                self._parts_api.abort_upload(self._key, self._upload_id)
        finally:
            self._buf, self._buf_owner = None, None
            self._record(f"aborted: {cause}" if cause is not None else "aborted", 0)
            event_logger(__name__).log(
                logging.INFO if cause is None else logging.WARNING, "multipart_aborted", op="abort_upload",
                uri=self.uri, upload_id=self._upload_id, bytes_written=self._bytes_written,
                error=None if cause is None else type(cause).__name__,
            )

    def _abort_quietly(self, cause: BaseException) -> None:
        if self._state == "aborted":
            return
        try:
            self._abort(cause)
        except BaseException as exc:
            # Never replace the original failure; attach the abort failure to it.
            cause.add_note(f"and aborting the upload of {self.uri} failed too: {exc!r}")

    def _record(self, error: str | None, nbytes: int) -> None:
        rec, span = self._rec, self._span
        if rec is None:
            return
        self._rec = None
        uri = self.uri
        rec.finish(span, "PUT", n_objects=1, nbytes=nbytes, endpoint=self._store.endpoint,
                   file=uri.split("://", 1)[1] if "://" in uri else uri, error=error)

    # --------------------------------------------------------------- protocol
    def __enter__(self) -> MultipartUploadWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc is not None:
            self._abort_quietly(exc)
            return
        if self._state == "open":
            self.close()

    def __del__(self) -> None:
        if getattr(self, "_state", "closed") != "open" or not getattr(self, "abort_on_drop", False):
            return
        warnings.warn(f"MultipartUploadWriter for {self.uri} was never closed; aborting it",
                      ResourceWarning, stacklevel=1)
        try:
            self._abort(None)
        except Exception:
            pass

    def __reduce__(self) -> Any:
        raise TypeError("a MultipartUploadWriter holds a live upload and cannot be pickled")

    def __repr__(self) -> str:
        return (f"MultipartUploadWriter({self.uri!r}, part_size={self.part_size}, "
                f"state={self._state!r}, bytes_written={self._bytes_written})")


class _Aborted(Exception):
    pass


_DONE = object()
_ABORT = object()


def upload_buffer(
    store: ObjectStore, key: str, data: memoryview, *, part_size: int, max_in_flight: int
) -> dict[str, Any]:
    """Multipart-upload ``data`` (which must not change meanwhile) without copying it.

    Backends call this from ``put`` above the multipart threshold; the op-log row is
    the ``put``'s own, so the writer does not record.
    """
    writer = MultipartUploadWriter.for_store(
        store, key, part_size=part_size, max_in_flight=max_in_flight, record=False,
        expected_size=len(data),
    )
    with writer:
        writer._check_open("put")
        writer._accept(data, data)
        return writer.close()


_sigterm_installed = False


def _install_sigterm_abort() -> None:
    """On the first writer: make SIGTERM abort open uploads before the process ends.

    Only where the application left SIGTERM at its default (which would end the process
    without running ``atexit``, leaving uploads pending) and only from the main thread
    (``signal.signal`` refuses others; such a process keeps the default).
    """
    global _sigterm_installed
    if _sigterm_installed:
        return
    _sigterm_installed = True
    try:
        if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
            signal.signal(signal.SIGTERM, _on_sigterm)
    except (ValueError, OSError, AttributeError):  # not the main thread, or no SIGTERM
        _sigterm_installed = False


def _on_sigterm(signum: int, _frame: object) -> None:
    try:
        _abort_open_writers()
    finally:
        # Then die of SIGTERM as the default would (exit status 128 + 15 for the parent).
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)


@atexit.register
def _abort_open_writers() -> None:
    # Bounded: at interpreter exit each still-open writer gets one abort attempt.
    deadline = time.monotonic() + 10.0
    for writer in list(_open_writers):
        if time.monotonic() > deadline:
            break
        if writer.abort_on_drop and writer._state == "open":
            warnings.warn(f"MultipartUploadWriter for {writer.uri} open at exit; aborting it",
                          ResourceWarning, stacklevel=1)
            try:
                writer._abort(None)
            except Exception:
                pass
