"""``NetworkStore``: what every object-store backend reached over the network shares.

S3, Azure Blob, GCS and a vendor's service differ in their SDK calls, not in how a
request is retried, how a large upload is streamed or how a ranged read is sized.
A backend subclasses :class:`NetworkStore`, implements the four hooks below next to
the required store methods, and inherits:

* :meth:`_call` — one request under core's :class:`~s3dlio.store.retry.RetryPolicy`, SDK
  exceptions translated inside the attempt (the error class decides retrying);
* :meth:`get` — a whole object without a HEAD: the first GET (:meth:`_open_get`) tells the
  size; a small body is read into a buffer of exactly that size, a large object becomes
  concurrent ranged GETs (pinned to the version the first answer saw) with part 0 taken
  from that answer, and a stored checksum is checked (:meth:`_checksum_of`);
* :meth:`get_range` — sized from the size cache or a HEAD only when open-ended or
  large, so the buffer never exceeds what the object can give;
* :meth:`put` — one PUT, or a zero-copy multipart upload above the threshold;
* :meth:`_fill` — a response body read into a buffer with the attempt deadline checked;
  :meth:`_read_response` — the same for a whole buffer, the connection then released
  (or dropped), a short body an :class:`IntegrityError`;
* :meth:`_ranges_into` — (the rest of) an object as concurrent ranged GETs into one
  buffer, part 0 taken from the response that told the size;
* :meth:`put_stream` / :meth:`put_file` — through core's multipart writer, bounded
  memory, files read with ``readinto`` straight into part buffers;
* :meth:`_verify_put` — the HEAD-after-PUT loop of ``[upload] put_verify`` (docs/configuration.md).

Hooks: :meth:`_translate` (SDK exception → s3dlio error), :meth:`_check_key` (the
service's key rules; :meth:`_need_key` checks the bucket and the empty key first),
:meth:`_open_get` (the first GET of a whole object, as an :class:`OpenGet`),
:meth:`_range_into` (one ranged GET into a buffer, optionally pinned to a version) and
:meth:`_put_single` (one whole-object PUT); :meth:`_checksum_of` where the service stores
a whole-object checksum. SDK clients are per process:
:func:`~s3dlio.store.clients.per_process` (``_client_cache``, never pickled).
"""

from __future__ import annotations

import abc
import os
import time
import warnings
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

import attrs

from s3dlio.bytesview import BytesView
from s3dlio.engines.ranges import default_chunk_size, default_concurrency, parallel_read_into
from s3dlio.errors import IntegrityError, InvalidPathError, StoreError, StoreTimeoutError
from s3dlio.store import ObjectStore
from s3dlio.store.httpclient import server_clock_skew
from s3dlio.store.multipart import MultipartUploadWriter
from s3dlio.store.retry import RetryPolicy
from s3dlio.store.sizecache import SizeCache, size_cache

if TYPE_CHECKING:
    from s3dlio.config import Settings

__all__ = ["NetworkStore", "OpenGet"]

T = TypeVar("T")
MiB = 1 << 20
_FILE_SLICE = 8 * MiB
"""Bytes read from a local file into a part buffer per ``readinto``."""


def _nothing() -> None:
    """Nothing to release or close (a body already in memory)."""


@attrs.define(slots=True)
class OpenGet:
    """The first answer of a whole-object GET, open (what :meth:`NetworkStore._open_get` returns).

    Its body is the whole object, or — ``head`` set — the object's first ``head`` bytes (a
    GET that asked for a bounded first range, as Azure's does); the rest is then read by
    ranged GETs.
    """

    size: int
    """The object's size."""
    readinto: Callable[[memoryview], int | None]
    """The body's ``readinto``."""
    release: Callable[[], object] = _nothing
    """Hands the connection back to its pool once the body is read to its end."""
    close: Callable[[], object] = _nothing
    """Drops the connection (a body read in part, or not at all)."""
    head: int | None = None
    """Bytes the body holds when it is only the object's start (``None``: all of it)."""
    pin: str | None = None
    """The version the answer came from (ETag, generation): ranged reads are pinned to it."""
    checksum: str | None = None
    """The checksum the service stored for the whole object, checked after the read."""


class NetworkStore(ObjectStore):
    """Base class of object-store backends (see the module docstring)."""

    _transient: ClassVar[tuple[str, ...]] = ("_policy_cache", "_client_cache")
    _container_attr: ClassVar[str] = "bucket"
    """The attribute holding the store's bucket / container name (empty at an account root)."""
    _uri_form: ClassVar[str] = "scheme://bucket/key"
    """The URI form named by the errors of :meth:`_need_key`."""
    _needs: ClassVar[tuple[str, str]] = ("a bucket", "an object key")
    """What an operation needs, as the errors of :meth:`_need_container` / :meth:`_need_key` say."""
    _split_known_sizes: ClassVar[bool] = True
    """Whether :meth:`get` of an object the size cache knows to be large skips the first GET
    and reads every part by range (unpinned, no whole-object checksum)."""

    def __init__(self, root: str, settings: Settings) -> None:
        super().__init__(root, settings)
        self._retry = settings.section("retry")
        self._upload = settings.section("upload")
        self._core = settings.core

    def describe(self, *, probe: bool = False) -> dict[str, Any]:
        """The base description, plus (with ``probe``) the clock skew from the ``Date``
        header of one ``HEAD`` of the endpoint, which any answer carries (no credentials)."""
        info = super().describe(probe=probe)
        if probe and "clock_skew_secs" not in info:
            skew = server_clock_skew(self.endpoint, verify=self._tls_verify())
            if skew is not None:
                info["clock_skew_secs"] = skew
        return info

    def _tls_verify(self) -> bool | str | None:
        """How the backend verifies TLS: a CA file, ``False``, or ``None`` (the usual bundle)."""
        return None

    # ------------------------------------------------------------------ hooks
    @abc.abstractmethod
    def _translate(self, exc: BaseException, op: str, key: str) -> StoreError:
        """The s3dlio error for an SDK/transport exception (the caller chains it)."""

    def _check_key(self, key: str, op: str) -> None:
        """Raise ``InvalidPathError`` if the service refuses the (non-empty) ``key``: its
        length and character rules. The default accepts any key."""

    @abc.abstractmethod
    def _open_get(self, key: str) -> OpenGet:
        """Send the first GET of ``key`` (inside an attempt of :meth:`_call`); non-2xx answers
        raise. The caller reads or closes the body."""

    @abc.abstractmethod
    def _range_into(self, key: str, offset: int, buf: memoryview, *, pin: str | None = None) -> int:
        """One ranged GET into ``buf``, of the version ``pin`` when given (a changed object
        fails with ``PreconditionError``); fewer bytes only at the end of the object."""

    @abc.abstractmethod
    def _put_single(self, key: str, data: memoryview) -> None:
        """One whole-object PUT of ``data``."""

    def _checksum_of(self, data: memoryview) -> str | None:
        """The checksum of ``data`` in the form :attr:`OpenGet.checksum` has (``None``: no
        verification; the default)."""
        return None

    # ----------------------------------------------------------------- naming
    def _need_container(self, op: str) -> None:
        """Raise ``InvalidPathError`` at an account root: ``op`` needs a bucket / container."""
        if not getattr(self, self._container_attr):
            raise InvalidPathError(f"this operation needs {self._needs[0]}: {self._uri_form}", op=op,
                                   uri=self.root, backend=self.backend)

    _delete_batch_size: ClassVar[int] = 0
    """Keys one batched delete request takes (S3 DeleteObjects: 1,000; Azure Blob Batch: 256);
    0: the backend has no batched delete and :meth:`delete_many` deletes key by key."""

    def delete_many(self, keys: Iterable[str]) -> list[tuple[str, BaseException]]:
        """Batched deletes of ``_delete_batch_size`` keys through the backend's
        :meth:`_delete_batch`; every per-key failure is returned (a key the service would
        refuse among them, without a request), a missing object is not an error."""
        if not self._delete_batch_size:
            return super().delete_many(keys)
        failures: list[tuple[str, BaseException]] = []
        batch: list[str] = []
        for key in keys:
            try:
                self._need_key(key, "delete")
            except InvalidPathError as exc:
                failures.append((key, exc))
                continue
            batch.append(key)
            if len(batch) == self._delete_batch_size:
                failures.extend(self._delete_batch(batch))
                batch = []
        if batch:
            failures.extend(self._delete_batch(batch))
        return failures

    def _delete_batch(self, keys: list[str]) -> list[tuple[str, BaseException]]:
        """Delete up to ``_delete_batch_size`` valid keys in one request; the per-key failures."""
        raise NotImplementedError(f"{type(self).__name__} sets _delete_batch_size without _delete_batch")

    def _need_key(self, key: str, op: str) -> None:
        """Raise ``InvalidPathError`` unless ``key`` names an object the service accepts."""
        self._need_container(op)
        if not key:
            raise InvalidPathError(f"this operation needs {self._needs[1]}: {self._uri_form}", op=op,
                                   uri=self.uri(key), backend=self.backend)
        self._check_key(key, op)

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
    def get(self, key: str) -> BytesView:
        """The whole object: one GET below ``[core] range_threshold_mb``, else the range engine."""
        self._need_key(key, "get")
        uri = self.uri(key)
        core = self._core
        threshold = core.range_threshold_mb * MiB if core.range_optimization else None
        sizes = self._sizes
        if threshold is not None and self._split_known_sizes:
            known = sizes.get(uri)
            if known is not None and known >= threshold:
                return self._get_split(key, known, None)
        held: list[OpenGet] = []

        def attempt() -> tuple[BytesView, memoryview, OpenGet] | None:
            first = self._open_get(key)
            if first.head is None and threshold is not None and first.size >= threshold:
                held.append(first)  # part 0 of the split read below
                return None
            try:
                view, mv = BytesView.allocate(first.size, huge_pages=False)
            except BaseException:
                first.close()
                raise
            head = first.size if first.head is None else first.head
            self._read_response(first.readinto, mv if head == first.size else mv[:head], key,
                                release=first.release, close=first.close)
            if head == first.size:
                # The whole object came in this answer: a checksum mismatch (IntegrityError,
                # retryable) is retried here like a short body, by reading it again.
                self._check_whole(key, mv, first.checksum)
                checked.append(True)
            return view, mv, first

        checked: list[bool] = []
        result = self._call("get", key, attempt)
        if result is None:
            first = held[0]
            sizes.put(uri, first.size)
            return self._get_split(key, first.size, first)
        view, mv, first = result
        size = first.size
        sizes.put(uri, size)
        if first.head is not None and first.head < size:
            # A bounded first GET: the rest by ranges, concurrent from the threshold on.
            self._ranges_into(key, mv, start=first.head, pin=first.pin,
                              concurrent=threshold is not None and size >= threshold)
        if not checked:
            self._check_whole(key, mv, first.checksum)
        return view

    def _get_split(self, key: str, size: int, first: OpenGet | None) -> BytesView:
        """``size`` bytes of ``key`` as concurrent ranged GETs into one new buffer, part 0 and
        the version pin from ``first`` (the open answer that told the size) when given."""
        view, mv = BytesView.allocate(size, huge_pages=False)
        if first is None:
            self._ranges_into(key, mv)
            return view

        def read_first(part: memoryview) -> int:
            return self._read_response(first.readinto, part, key, release=first.release,
                                       close=first.close, partial=True)

        self._ranges_into(key, mv, pin=first.pin, first=read_first, close_first=first.close)
        self._check_whole(key, mv, first.checksum)
        return view

    def get_range_into(self, key: str, offset: int, buf: memoryview) -> int:
        self._need_key(key, "get_range")
        if offset < 0:
            raise ValueError(f"get_range_into: offset must be >= 0 ({self.uri(key)})")
        return self._range_into(key, offset, buf)

    def _check_whole(self, key: str, mv: memoryview, stored: str | None) -> None:
        """Raise ``IntegrityError`` unless the object read into ``mv`` has the ``stored``
        checksum (nothing to check without one, or where :meth:`_checksum_of` says ``None``)."""
        if not stored:
            return
        got = self._checksum_of(mv)
        if got is not None and got != stored:
            raise IntegrityError(f"CRC-32C mismatch: stored {stored}, read {got}", op="get",
                                 uri=self.uri(key), backend=self.backend, endpoint=self.endpoint)

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

    def _ranges_into(self, key: str, mv: memoryview, *, start: int = 0, pin: str | None = None,
                     first: Callable[[memoryview], int] | None = None,
                     close_first: Callable[[], object] | None = None,
                     concurrent: bool = True) -> None:
        """Fill ``mv[start:]`` (``mv`` holds the whole object) with ranged GETs of ``key``
        pinned to ``pin``: concurrent parts, or one request unless ``concurrent``.

        ``first(part)`` reads part 0 from the answer already open — the GET that told the
        size — so no byte is requested twice; if that stream breaks, part 0 is fetched as
        a range like the others, and an unused one is closed with ``close_first``. Part
        size and concurrency: ``[core] chunk_size`` / ``range_concurrency``, else by object
        size.
        """
        core = self._core
        size = len(mv)
        if concurrent:
            chunk = core.chunk_size or default_chunk_size(size)
            concurrency = core.range_concurrency or default_concurrency(size)
        else:
            chunk, concurrency = max(1, size - start), 1
        pending = [first] if first is not None else []

        def read_at(offset: int, part: memoryview) -> int:
            if offset == 0 and pending:
                try:
                    return pending.pop()(part)
                except StoreError:
                    pass  # the stream broke: fetch part 0 as a range like the others
            return self._range_into(key, start + offset, part, pin=pin)

        try:
            parallel_read_into(read_at, size - start, mv[start:] if start else mv, chunk_size=chunk,
                               concurrency=concurrency, what=self.uri(key))
        finally:
            if pending and close_first is not None:
                close_first()

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
        """``[upload] put_verify`` (docs/configuration.md): HEAD after PUT; wrong size: delete, re-send."""
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
