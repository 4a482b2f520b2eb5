"""``memory://`` — a thread-safe object store that lives in this process's memory.

URIs name a bucket first, like an object store (and like fsspec's memory filesystem):
``memory://bucket/key``. A bucket comes into being with its first write or with
``create_bucket("memory://bucket/")``; ``list_containers("memory://")`` lists the buckets
and ``delete_bucket`` removes an empty one. Keys are any non-empty strings; ``/``
separates "directories" in listings as on S3 (``mkdir`` writes a zero-byte ``dir/``
marker).

The store implements every optional protocol of :mod:`s3dlio.store.capabilities` but
direct I/O: native multipart uploads (parts held until ``complete_upload``, invisible
before), create-only writes (``put_if_absent``), containers and server-side copies (a
copy shares the stored bytes; nothing is duplicated).

Semantics worth knowing:

* Contents are **per process**. Every store of the process, pickled copies included,
  sees the same buckets; a spawned process starts empty; a forked child starts with a
  copy-on-write snapshot of the parent's buckets, and from then on neither process sees
  the other's writes.
* Objects are immutable ``bytes``: a write copies the caller's buffer once, reads hand
  out read-only views of the stored bytes (zero-copy on Python 3.12+), and a ``put``
  replaces the object atomically — a reader sees the old object or the new one.
* Memory is not bounded: the store holds what is written until it is deleted or the
  process exits (:func:`clear` drops everything, for tests).
* ETags are generation numbers unique per write, not content hashes.
"""

from __future__ import annotations

import bisect
import builtins
import itertools
import os
import threading
import time
import uuid
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

import attrs

from s3dlio.bytesview import BytesView
from s3dlio.errors import IntegrityError, InvalidPathError, NotFoundError, StoreError
from s3dlio.store import ListPage, ObjectMeta, ObjectStore, UploadPart, format_rfc3339, server_side

if TYPE_CHECKING:
    from s3dlio.config import Settings

__all__ = ["MemoryStore", "clear"]

_SCHEME = "memory://"
_AFTER_SLASH = chr(ord("/") + 1)
"""Every key under ``d/`` sorts below ``d`` + this character: a delimited listing skips
a whole sub-directory with one bisection."""


@attrs.frozen(slots=True)
class _Object:
    data: bytes
    last_modified: float
    etag: str
    content_type: str | None = None

    def meta(self, key: str) -> ObjectMeta:
        return ObjectMeta(key=key, size=len(self.data), last_modified=self.last_modified,
                          etag=self.etag, content_type=self.content_type, storage_class="STANDARD")


class _Bucket:
    __slots__ = ("created", "objects", "sorted_cache")

    def __init__(self) -> None:
        self.objects: dict[str, _Object] = {}
        self.created = time.time()
        self.sorted_cache: list[str] | None = None
        """The keys in order, rebuilt on the first listing after a key is added or removed."""

    def sorted_keys(self) -> list[str]:
        keys = self.sorted_cache
        if keys is None:
            keys = self.sorted_cache = sorted(self.objects)
        return keys

    def store(self, key: str, obj: _Object) -> None:
        if key not in self.objects:
            self.sorted_cache = None
        self.objects[key] = obj

    def remove(self, key: str) -> _Object | None:
        obj = self.objects.pop(key, None)
        if obj is not None:
            self.sorted_cache = None
        return obj


@attrs.define(slots=True)
class _Upload:
    bucket: str
    key: str
    content_type: str | None
    created: float = attrs.field(factory=time.time)
    parts: dict[int, tuple[bytes, str]] = attrs.field(factory=dict)


class _State:
    """This process's buckets and open multipart uploads, behind one lock."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.buckets: dict[str, _Bucket] = {}
        self.uploads: dict[str, _Upload] = {}

    def renew_lock(self) -> None:
        # A fork child inherits the lock in whatever state another parent thread left it.
        self.lock = threading.Lock()


_state = _State()
os.register_at_fork(after_in_child=_state.renew_lock)
_generation = itertools.count(1)


def _etag() -> str:
    return f'"m{next(_generation):x}"'


def clear() -> None:
    """Drop every bucket and upload of this process (tests)."""
    with _state.lock:
        _state.buckets.clear()
        _state.uploads.clear()


class MemoryStore(ObjectStore):
    """One bucket of the process-local memory store (``memory://bucket/``), or all of them
    (``memory://``: containers only)."""

    backend: ClassVar[str] = "memory"
    schemes: ClassVar[tuple[str, ...]] = ("memory",)
    fast_local_items: ClassVar[bool] = True
    """Every operation is a dictionary access and at most one copy."""
    min_part_size: ClassVar[int] = 1
    """Parts have no minimum size (every part but the last must not be empty)."""
    max_parts: ClassVar[int] = 10_000
    page_size: ClassVar[int] = 1000
    """Entries per listing page (S3's)."""

    def __init__(self, root: str, settings: Settings) -> None:
        super().__init__(root, settings)
        self.bucket = root[len(_SCHEME):].rstrip("/")

    # ------------------------------------------------------------------ naming
    @classmethod
    def split_uri(cls, uri: str) -> tuple[str, str]:
        if uri[: len(_SCHEME)].lower() != _SCHEME:
            raise InvalidPathError("not a memory:// URI", uri=uri, backend="memory")
        bucket, _, key = uri[len(_SCHEME):].partition("/")
        if not bucket:
            if key:
                raise InvalidPathError("memory:// URIs name a bucket first: memory://bucket/key",
                                       uri=uri, backend="memory")
            return _SCHEME, ""
        return f"{_SCHEME}{bucket}/", key

    def _need_bucket(self, op: str, key: str = "") -> None:
        if not self.bucket:
            raise InvalidPathError("memory:// URIs need a bucket: memory://bucket/key", op=op,
                                   uri=self.uri(key), backend="memory")

    def _need_key(self, key: str, op: str) -> None:
        self._need_bucket(op, key)
        if not key:
            raise InvalidPathError("an object key is required: memory://bucket/key", op=op,
                                   uri=self.uri(key), backend="memory")

    def _missing(self, key: str, op: str) -> NotFoundError:
        return NotFoundError("no such object", op=op, uri=self.uri(key), backend="memory")

    def _lookup(self, key: str, op: str) -> _Object:
        self._need_key(key, op)
        bucket = _state.buckets.get(self.bucket)  # dict reads are atomic: no lock needed
        obj = bucket.objects.get(key) if bucket is not None else None
        if obj is None:
            raise self._missing(key, op)
        return obj

    def _bucket_for_write(self) -> _Bucket:
        """This store's bucket, created on first write (call with the lock held)."""
        bucket = _state.buckets.get(self.bucket)
        if bucket is None:
            bucket = _state.buckets[self.bucket] = _Bucket()
        return bucket

    # ------------------------------------------------------------------ reads
    def get(self, key: str) -> BytesView:
        return BytesView.wrap(self._lookup(key, "get").data)

    def get_range(self, key: str, offset: int, length: int | None = None) -> BytesView:
        if offset < 0 or (length is not None and length < 0):
            raise ValueError(f"get_range: offset and length must be >= 0 ({self.uri(key)})")
        data = self._lookup(key, "get").data
        end = len(data) if length is None else min(len(data), offset + length)
        if offset >= end:
            return BytesView()
        return BytesView.wrap(memoryview(data)[offset:end])

    def get_range_into(self, key: str, offset: int, buf: memoryview) -> int:
        data = self._lookup(key, "get").data
        chunk = memoryview(data)[offset : offset + len(buf)]
        buf[: len(chunk)] = chunk
        return len(chunk)

    def head(self, key: str) -> ObjectMeta:
        return self._lookup(key, "stat").meta(key)

    # ----------------------------------------------------------------- writes
    def _check_put(self, key: str, size: int) -> None:
        self._need_key(key, "put")
        if key.endswith("/") and size:
            raise InvalidPathError("a key ending in '/' is a directory marker and holds no data",
                                   op="put", uri=self.uri(key), backend="memory")

    def put(self, key: str, data: memoryview) -> None:
        self._check_put(key, len(data))
        obj = _Object(bytes(data), time.time(), _etag())  # the copy happens outside the lock
        with _state.lock:
            self._bucket_for_write().store(key, obj)

    def put_if_absent(self, key: str, data: memoryview) -> bool:
        """Create-only write: ``True`` if written, ``False`` if ``key`` existed."""
        self._check_put(key, len(data))
        obj = _Object(bytes(data), time.time(), _etag())
        with _state.lock:
            bucket = self._bucket_for_write()
            if key in bucket.objects:
                return False
            bucket.store(key, obj)
        return True

    def put_stream(self, key: str, chunks: Iterable[Any]) -> int:
        self._need_key(key, "put")
        data = b"".join(memoryview(c).cast("B") for c in chunks)  # one copy
        self.put(key, memoryview(data))
        return len(data)

    @server_side  # the copy shares the stored (immutable) bytes
    def copy(self, src_key: str, dst_key: str) -> None:
        self._need_key(src_key, "copy")
        self._check_put(dst_key, 0)
        with _state.lock:
            bucket = _state.buckets.get(self.bucket)
            obj = bucket.objects.get(src_key) if bucket is not None else None
            if bucket is None or obj is None:
                raise self._missing(src_key, "copy")
            bucket.store(dst_key, attrs.evolve(obj, last_modified=time.time(), etag=_etag()))

    def rename(self, src_key: str, dst_key: str) -> None:
        """Move an object atomically (one step under the lock, not copy + delete)."""
        self._need_key(src_key, "rename")
        self._check_put(dst_key, 0)
        with _state.lock:
            bucket = _state.buckets.get(self.bucket)
            obj = bucket.remove(src_key) if bucket is not None else None
            if bucket is None or obj is None:
                raise self._missing(src_key, "rename")
            bucket.store(dst_key, obj)

    # ----------------------------------------------------------------- delete
    def delete(self, key: str) -> None:
        self._need_key(key, "delete")
        with _state.lock:
            bucket = _state.buckets.get(self.bucket)
            if bucket is not None:
                bucket.remove(key)

    def delete_many(self, keys: Iterable[str]) -> builtins.list[tuple[str, BaseException]]:
        failures: list[tuple[str, BaseException]] = []
        batch: list[str] = []
        for key in keys:
            try:
                self._need_key(key, "delete")
            except InvalidPathError as exc:
                failures.append((key, exc))
            else:
                batch.append(key)
        with _state.lock:
            bucket = _state.buckets.get(self.bucket)
            if bucket is not None:
                for key in batch:
                    bucket.remove(key)
        return failures

    # ---------------------------------------------------------------- listing
    def list(self, prefix: str = "", *, recursive: bool = True) -> Iterator[ListPage]:
        """Pages of at most :attr:`page_size` entries; each page is taken under the lock
        from where the previous one ended, so a listing never holds all keys at once."""
        self._need_bucket("list", prefix)
        cursor = prefix
        while True:
            keys: list[str] = []
            metas: list[ObjectMeta] = []
            dirs: list[str] = []
            with _state.lock:
                bucket = _state.buckets.get(self.bucket)
                if bucket is None:
                    return
                ordered = bucket.sorted_keys()
                i = bisect.bisect_left(ordered, cursor)
                while i < len(ordered) and len(keys) + len(dirs) < self.page_size:
                    key = ordered[i]
                    if not key.startswith(prefix):
                        i = len(ordered)
                        break
                    slash = key.find("/", len(prefix))
                    if not recursive and slash >= 0:
                        sub = key[: slash + 1]
                        dirs.append(sub)
                        i = bisect.bisect_left(ordered, sub[:-1] + _AFTER_SLASH, i)
                        continue
                    if recursive or key != prefix:  # a delimited listing skips the dir's own marker
                        keys.append(key)
                        metas.append(bucket.objects[key].meta(key))
                    i += 1
                more = i < len(ordered) and ordered[i].startswith(prefix)
                if more:
                    cursor = ordered[i]
            if keys or dirs:
                yield ListPage(keys=keys, prefixes=dirs, metas=metas)
            if not more:
                return

    # --------------------------------------------------------------- multipart
    def _upload(self, key: str, upload_id: str, op: str) -> _Upload:
        upload = _state.uploads.get(upload_id)
        if upload is None or upload.bucket != self.bucket or upload.key != key:
            raise NotFoundError(f"no such upload {upload_id!r} (completed or aborted?)", op=op,
                                uri=self.uri(key), backend="memory", code="NoSuchUpload")
        return upload

    def create_upload(self, key: str, *, content_type: str | None = None) -> str:
        self._check_put(key, 1)
        upload_id = uuid.uuid4().hex
        with _state.lock:
            _state.uploads[upload_id] = _Upload(self.bucket, key, content_type)
        return upload_id

    def upload_part(self, key: str, upload_id: str, part_number: int, data: memoryview) -> UploadPart:
        if not 1 <= part_number <= self.max_parts:
            raise InvalidPathError(f"part number {part_number} is outside 1..{self.max_parts}",
                                   op="upload_part", uri=self.uri(key), backend="memory")
        blob, etag = bytes(data), _etag()
        with _state.lock:
            self._upload(key, upload_id, "upload_part").parts[part_number] = (blob, etag)
        return UploadPart(part_number=part_number, size=len(blob), etag=etag)

    def complete_upload(self, key: str, upload_id: str, parts: Sequence[UploadPart]) -> str | None:
        with _state.lock:
            upload = self._upload(key, upload_id, "complete_upload")
            blobs = []
            for part in parts:
                held = upload.parts.get(part.part_number)
                if held is None or held[1] != part.etag or len(held[0]) != part.size:
                    raise IntegrityError(f"part {part.part_number} does not match an uploaded part",
                                         op="complete_upload", uri=self.uri(key), backend="memory",
                                         code="InvalidPart")
                blobs.append(held[0])
        obj = _Object(b"".join(blobs), time.time(), _etag(), upload.content_type)
        with _state.lock:
            # Checked again: a concurrent complete or abort of the same upload may have won.
            self._upload(key, upload_id, "complete_upload")
            del _state.uploads[upload_id]
            self._bucket_for_write().store(key, obj)
        return obj.etag

    def abort_upload(self, key: str, upload_id: str) -> None:
        with _state.lock:
            upload = _state.uploads.get(upload_id)
            if upload is not None and upload.bucket == self.bucket and upload.key == key:
                del _state.uploads[upload_id]

    def abort_incomplete(self, prefix: str, older_than_s: float) -> int:
        cutoff = time.time() - older_than_s
        with _state.lock:
            stale = [uid for uid, up in _state.uploads.items()
                     if up.bucket == self.bucket and up.key.startswith(prefix) and up.created <= cutoff]
            for uid in stale:
                del _state.uploads[uid]
        return len(stale)

    # ------------------------------------------------------------- containers
    def create_container(self, key: str = "") -> None:
        """Create the bucket (an existing one is fine); ``key`` also gets a ``key/`` marker."""
        self._need_bucket("create_bucket", key)
        with _state.lock:
            self._bucket_for_write()
        if key:
            self.mkdir(key)

    def delete_container(self, key: str = "") -> None:
        """Delete the empty bucket (its unfinished uploads go with it)."""
        self._need_bucket("delete_bucket", key)
        with _state.lock:
            bucket = _state.buckets.get(self.bucket)
            if bucket is None:
                raise NotFoundError("no such bucket", op="delete_bucket", uri=self.root,
                                    backend="memory", code="NoSuchBucket")
            if bucket.objects:
                raise StoreError(f"the bucket holds {len(bucket.objects)} objects",
                                 op="delete_bucket", uri=self.root, backend="memory",
                                 code="BucketNotEmpty", status=409)
            del _state.buckets[self.bucket]
            for uid in [u for u, up in _state.uploads.items() if up.bucket == self.bucket]:
                del _state.uploads[uid]

    def list_containers(self, key: str = "") -> builtins.list[dict[str, Any]]:
        with _state.lock:
            buckets = sorted((name, b.created) for name, b in _state.buckets.items())
        return [{"name": name, "uri": f"{_SCHEME}{name}/", "creation_date": format_rfc3339(created)}
                for name, created in buckets]
