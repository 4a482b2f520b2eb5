"""``NetworkStore``: what every object-store backend reached over the network shares.

S3, Azure Blob, GCS and a vendor's service differ in their SDK calls, not in how a
request is retried, how a large upload is streamed or how a ranged read is sized.
A backend subclasses :class:`NetworkStore`, implements the four hooks below next to
the required store methods, and inherits:

* :meth:`_call` — one request under core's :class:`~s3dlio.store.retry.RetryPolicy`, SDK
  exceptions translated inside the attempt (the error class decides retrying);
* :meth:`get_range` — sized from the size cache or a HEAD only when open-ended or
  large, so the buffer never exceeds what the object can give;
* :meth:`put` — one PUT, or a zero-copy multipart upload above the threshold;
* :meth:`_fill` — a response body read into a buffer with the attempt deadline checked;
  :meth:`_read_response` — the same for a whole buffer, the connection then released
  (or dropped), a short body an :class:`IntegrityError`;
* :meth:`_split_read` — a large object as concurrent ranged GETs into one buffer, part 0
  taken from the response that told the size;
* :meth:`put_stream` / :meth:`put_file` — through core's multipart writer, bounded
  memory, files read with ``readinto`` straight into part buffers;
* :meth:`_verify_put` — RELIABILITY.md §3.4's HEAD-after-PUT loop.

Hooks: :meth:`_translate` (SDK exception → s3dlio error), :meth:`_need_key` (the
service's key rules), :meth:`_range_into` (one ranged GET into a buffer) and
:meth:`_put_single` (one whole-object PUT).
"""

from __future__ import annotations

import abc
import os
import time
import warnings
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from s3dlio.bytesview import BytesView
from s3dlio.engines.ranges import default_chunk_size, default_concurrency, parallel_read_into
from s3dlio.errors import IntegrityError, StoreError, StoreTimeoutError
from s3dlio.store import ObjectStore
from s3dlio.store.retry import RetryPolicy
from s3dlio.store.sizecache import SizeCache, size_cache

if TYPE_CHECKING:
    from s3dlio.config import Settings

__all__ = ["NetworkStore"]

T = TypeVar("T")
MiB = 1 << 20
_FILE_SLICE = 8 * MiB
"""Bytes read from a local file into a part buffer per ``readinto``."""


class NetworkStore(ObjectStore):
    """Base class of object-store backends (see the module docstring)."""

    _transient: ClassVar[tuple[str, ...]] = ("_policy_cache",)

    def __init__(self, root: str, settings: Settings) -> None:
        super().__init__(root, settings)
        self._retry = settings.section("retry")
        self._upload = settings.section("upload")
        self._core = settings.core

    # ------------------------------------------------------------------ hooks
    @abc.abstractmethod
    def _translate(self, exc: BaseException, op: str, key: str) -> StoreError:
        """The s3dlio error for an SDK/transport exception (the caller chains it)."""

    @abc.abstractmethod
    def _need_key(self, key: str, op: str) -> None:
        """Raise ``InvalidPathError`` unless ``key`` names an object the service accepts."""

    @abc.abstractmethod
    def _range_into(self, key: str, offset: int, buf: memoryview) -> int:
        """One ranged GET into ``buf``; fewer bytes only at the end of the object."""

    @abc.abstractmethod
    def _put_single(self, key: str, data: memoryview) -> None:
        """One whole-object PUT of ``data``."""

    # --------------------------------------------------------------- requests
    @property
    def _policy(self) -> RetryPolicy:
        policy = self.__dict__.get("_policy_cache")
        if policy is None:
            policy = self.__dict__["_policy_cache"] = RetryPolicy(self._retry, endpoint=self.endpoint)
        assert isinstance(policy, RetryPolicy)
        return policy

    def _call(self, op: str, key: str, fn: Callable[[], T], *, nbytes: int = 0,
              replayable: bool = True) -> T:
        """Run one request ``fn`` under the retry policy, translating its exceptions."""
        uri = self.uri(key)

        def attempt() -> T:
            try:
                return fn()
            except StoreError:
                raise
            except Exception as exc:
                raise self._translate(exc, op, key) from exc

        return self._policy.call(attempt, op=op, uri=uri, nbytes=nbytes, replayable=replayable)

    @property
    def _sizes(self) -> SizeCache:
        """The process-wide size cache with this store's TTL."""
        return size_cache(self._core.size_cache_ttl_secs)

    # ------------------------------------------------------------------ reads
    def get_range(self, key: str, offset: int, length: int | None = None) -> BytesView:
        self._need_key(key, "get_range")
        if offset < 0 or (length is not None and length < 0):
            raise ValueError(f"get_range: offset and length must be >= 0 ({self.uri(key)})")
        if length == 0:
            return BytesView()
        if length is None or length > _FILE_SLICE:
            # Open-ended or large: learn the size (cache, else HEAD) and clip, so the
            # buffer is never larger than what the object can give.
            size = self._sizes.get(self.uri(key))
            if size is None:
                size = self.head(key).size
            if offset >= size:
                return BytesView()
            length = size - offset if length is None else min(length, size - offset)
        view, mv = BytesView.allocate(length, huge_pages=False)
        with mv:  # released before a truncation resizes the buffer
            got = self._range_into(key, offset, mv)
        if got != length:
            view._truncate(got)
        return view

    def _split_read(self, key: str, size: int, range_into: Callable[[int, memoryview], int], *,
                    first: Callable[[memoryview], int] | None = None,
                    close_first: Callable[[], object] | None = None) -> tuple[BytesView, memoryview]:
        """``size`` bytes of ``key`` as concurrent ranged reads into one new buffer.

        ``range_into(offset, part)`` reads one range (pinned to the object version the
        caller saw). ``first(part)`` reads part 0 from the response already open — the
        GET that told the size — so no byte is requested twice; if that stream breaks,
        part 0 is fetched as a range like the others, and an unused one is closed with
        ``close_first``. Part size and concurrency: ``[core] chunk_size`` /
        ``range_concurrency``, else by object size. Returns the view and its writable
        memoryview (for a whole-object checksum).
        """
        core = self._core
        chunk = core.chunk_size or default_chunk_size(size)
        concurrency = core.range_concurrency or default_concurrency(size)
        view, mv = BytesView.allocate(size, huge_pages=False)
        pending = [first] if first is not None else []

        def read_at(offset: int, part: memoryview) -> int:
            if offset == 0 and pending:
                try:
                    return pending.pop()(part)
                except StoreError:
                    pass  # the stream broke: fetch part 0 as a range like the others
            return range_into(offset, part)

        try:
            parallel_read_into(read_at, size, mv, chunk_size=chunk, concurrency=concurrency,
                               what=self.uri(key))
        finally:
            if pending and close_first is not None:
                close_first()
        return view, mv

    def _read_response(self, reader: Callable[[memoryview], int | None], mv: memoryview, key: str, *,
                       release: Callable[[], object], close: Callable[[], object],
                       partial: bool = False, op: str = "get") -> int:
        """Fill all of ``mv`` from a response body (``reader`` is its ``readinto``).

        Read to the end, the connection goes back to its pool (``release``); a ``partial``
        read (part 0 of a split GET, the rest fetched by ranges), a short body or any
        failure drops it (``close``). A short body is an :class:`IntegrityError`; a
        transport failure is translated here too, since part 0 of a split GET is read
        outside :meth:`_call`.
        """
        try:
            pos = self._fill(reader, mv, key)
        except BaseException as exc:
            close()
            if isinstance(exc, Exception) and not isinstance(exc, StoreError):
                raise self._translate(exc, op, key) from exc
            raise
        if pos != len(mv):
            close()
            raise IntegrityError(f"short body: got {pos} of {len(mv)} bytes", op=op, uri=self.uri(key),
                                 backend=self.backend, endpoint=self.endpoint)
        (close if partial else release)()
        return pos

    def _fill(self, reader: Callable[[memoryview], int | None], mv: memoryview, key: str) -> int:
        """Fill ``mv`` with ``reader(slice)`` calls (a response's ``readinto``); return the
        bytes read. The attempt deadline is checked between 8 MiB slices."""
        deadline = time.monotonic() + self._policy.attempt_timeout(len(mv))
        total = len(mv)
        pos = 0
        while pos < total:
            n = reader(mv[pos : min(total, pos + _FILE_SLICE)])
            if not n:
                break
            pos += n
            if time.monotonic() > deadline:
                raise StoreTimeoutError(
                    f"body read exceeded the attempt deadline after {pos} of {total} bytes",
                    op="get", uri=self.uri(key), backend=self.backend, endpoint=self.endpoint,
                )
        return pos

    # ----------------------------------------------------------------- writes
    def put(self, key: str, data: memoryview) -> None:
        """One PUT below ``[upload] multipart_threshold_mb``, else a multipart upload whose
        parts are slices of ``data`` (no copy); optional verification (``put_verify``)."""
        self._need_key(key, "put")
        n = len(data)
        upload = self._upload
        if n >= upload.multipart_threshold_mb * MiB:
            from s3dlio.store.multipart import upload_buffer

            upload_buffer(self, key, data,
                          part_size=max(upload.part_size_mb * MiB, self.min_part_size),
                          max_in_flight=upload.max_in_flight or 8)
        else:
            self._put_single(key, data)
            if upload.put_verify:
                self._verify_put(key, data)
        self._sizes.put(self.uri(key), n)

    def _verify_put(self, key: str, data: memoryview) -> None:
        """RELIABILITY.md §3.4: HEAD after PUT; a wrong size is deleted and re-sent."""
        upload = self._upload
        for attempt in range(1, upload.put_max_retries + 1):
            try:
                size = self.head(key).size
            except StoreError as exc:
                warnings.warn(f"verifying {self.uri(key)} failed ({exc}); the write stands",
                              stacklevel=3)
                return
            if size == len(data):
                return
            self.delete(key)
            if attempt == upload.put_max_retries:
                break
            time.sleep(upload.put_retry_delay_ms / 1000.0)
            self._put_single(key, data)
        raise IntegrityError(f"stored size differs from {len(data)} bytes after "
                             f"{upload.put_max_retries} uploads", op="put", uri=self.uri(key),
                             backend=self.backend)

    def put_stream(self, key: str, chunks: Iterable[Any]) -> int:
        from s3dlio.store.multipart import MultipartUploadWriter

        self._need_key(key, "put")
        with MultipartUploadWriter.for_store(self, key, record=False) as writer:
            for chunk in chunks:
                writer.write(chunk)
            return int(writer.close()["total_bytes"])

    def put_file(self, key: str, path: str) -> int:
        from s3dlio.store.multipart import MultipartUploadWriter

        self._need_key(key, "upload")
        size = os.path.getsize(path)
        if size < self._upload.multipart_threshold_mb * MiB:
            return super().put_file(key, path)
        with open(path, "rb", buffering=0) as fh, MultipartUploadWriter.for_store(
            self, key, record=False, expected_size=size
        ) as writer:
            while True:
                view = writer.reserve(_FILE_SLICE)
                n = fh.readinto(view)
                writer.commit(n or 0)
                if not n:
                    break
            info = writer.close()
        if info["total_bytes"] != size:
            raise IntegrityError(f"uploaded {info['total_bytes']} bytes of a {size}-byte file",
                                 op="upload", uri=self.uri(key), backend=self.backend)
        return size
