"""The store protocol every storage backend implements.

Modelled on Rust ``object_store``: a backend subclasses :class:`ObjectStore`,
implements a small required core (``get``, ``get_range_into``, ``head``, ``put``,
``list``, ``delete``, ``copy``) and inherits the derived operations (``get_range``,
``get_ranges``, ``exists``, ``delete_many``, ``rename``, ``list_with_delimiter``,
``mkdir``). Optional features — multipart uploads, create-only writes, containers,
server-side copy, direct I/O — are protocols in :mod:`s3dlio.store.capabilities`; a
store's :attr:`ObjectStore.capabilities` are derived from the ones it implements.

A store is opened for a *root* URI (``file:///``, ``s3://bucket/``) and takes keys
relative to that root. Stores are thread-safe and picklable: they carry settings,
never live connections; anything process-bound (SDK clients, open descriptors) is
created lazily and dropped on pickling and after ``fork``.
"""

from __future__ import annotations

import abc
import builtins
import calendar
import time
import warnings
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

import attrs

from s3dlio.bytesview import BytesView
from s3dlio.engines.ranges import coalesce_ranges
from s3dlio.errors import InvalidPathError, NotFoundError
from s3dlio.store.capabilities import (
    Capability,
    ConditionalPut,
    Containers,
    DerivedCapabilities,
    DirectIO,
    MultipartUpload,
    RangeReadInto,
    ServerSideCopy,
    capabilities_of,
    require,
    server_side,
)
from s3dlio.store.localfs import atomic_write

if TYPE_CHECKING:
    from typing_extensions import Buffer

    from s3dlio.config import Settings

__all__ = [
    "Capability",
    "ConditionalPut",
    "Containers",
    "DirectIO",
    "ListPage",
    "MultipartUpload",
    "ObjectMeta",
    "ObjectStore",
    "RangeReadInto",
    "ServerSideCopy",
    "UploadPart",
    "as_buffer",
    "capabilities_of",
    "epoch_seconds",
    "format_rfc3339",
    "require",
    "server_side",
]


def epoch_seconds(value: Any) -> float | None:
    """Seconds since the epoch of an SDK ``datetime`` (naive ones are UTC); ``None`` if absent."""
    if value is None:
        return None
    try:
        return float(calendar.timegm(value.utctimetuple()) + value.microsecond / 1e6)
    except (AttributeError, ValueError, OverflowError):
        return None


def format_rfc3339(epoch_seconds: float | None) -> str | None:
    """Format seconds since the epoch as RFC 3339 UTC with microseconds (``…Z``)."""
    if epoch_seconds is None:
        return None
    whole = int(epoch_seconds)
    micros = round((epoch_seconds - whole) * 1_000_000)
    if micros == 1_000_000:
        whole, micros = whole + 1, 0
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole)) + f".{micros:06d}Z"


_STAT_FIELDS = (
    "content_language",
    "content_encoding",
    "cache_control",
    "content_disposition",
    "expires",
    "server_side_encryption",
    "ssekms_key_id",
    "sse_customer_algorithm",
    "replication_status",
)


@attrs.frozen(slots=True)
class ObjectMeta:
    """What a backend knows about one object."""

    key: str
    size: int
    last_modified: float | None = None
    """Seconds since the epoch (UTC)."""
    etag: str | None = None
    content_type: str | None = None
    storage_class: str | None = None
    version_id: str | None = None
    metadata: Mapping[str, str] = attrs.field(factory=dict)
    extra: Mapping[str, Any] = attrs.field(factory=dict)
    """Backend-specific stat fields (``cache_control``, ``server_side_encryption``, …)."""

    def to_stat_dict(self) -> dict[str, Any]:
        """Render the public ``stat()`` dictionary (docs/api.md, "Reads"); absent fields are ``None``."""
        out: dict[str, Any] = {
            "size": self.size,
            "last_modified": format_rfc3339(self.last_modified),
            "etag": self.etag,
            "content_type": self.content_type,
            "storage_class": self.storage_class,
            "version_id": self.version_id,
            "metadata": dict(self.metadata),
        }
        for name in _STAT_FIELDS:
            out[name] = self.extra.get(name)
        return out


@attrs.frozen(slots=True)
class ListPage:
    """One page of a listing.

    ``keys`` are object keys relative to the store root; ``prefixes`` are the
    "directories" of a delimited listing, relative too and ending in ``/``.
    ``metas`` is filled when the backend gets sizes for free (object stores do;
    a POSIX directory scan does not).
    """

    keys: Sequence[str]
    prefixes: Sequence[str] = ()
    metas: Sequence[ObjectMeta] | None = None


@attrs.frozen(slots=True)
class UploadPart:
    """One uploaded part of a multipart upload, as the service acknowledged it."""

    part_number: int
    """1-based position in the object."""
    size: int
    etag: str | None = None
    checksum: str | None = None
    """Backend-specific checksum value the service returned (S3: base64 CRC-32C)."""


def as_buffer(data: object, *, op: str = "put", uri: str | None = None) -> memoryview:
    """Return a flat, read-only byte view of ``data`` without copying it.

    Accepts any C-contiguous buffer-protocol object or an object with ``__bytes__``.
    Everything else — notably ``int``, ``str``, ``list`` and ``None``, which the
    original silently turned into bytes — raises ``TypeError``.
    """
    if isinstance(data, (bytes, bytearray, memoryview, BytesView)):
        mv = memoryview(data)
    elif isinstance(data, (str, int, float, list, dict, tuple, type(None))):
        raise TypeError(f"{op}: a bytes-like object is required, got {type(data).__name__}")
    else:
        try:
            mv = memoryview(data)  # type: ignore[arg-type]
        except TypeError:
            to_bytes = getattr(data, "__bytes__", None)
            if to_bytes is None:
                raise TypeError(
                    f"{op}: a bytes-like object is required, got {type(data).__name__}"
                ) from None
            mv = memoryview(to_bytes())
    if not mv.c_contiguous:
        raise ValueError(f"{op}: buffer must be C-contiguous" + (f" ({uri})" if uri else ""))
    if mv.format != "B" or mv.ndim != 1:
        mv = mv.cast("B")
    return mv


class ObjectStore(abc.ABC):
    """Base class of every storage backend.

    Subclasses set the class attributes, implement :meth:`split_uri` and the
    abstract methods, and may override derived methods when the service has a
    better primitive (a batched delete, a server-side copy).

    Keys are ``str`` relative to :attr:`root`; ``uri(key)`` is the full URI that
    error messages and listings show.
    """

    backend: ClassVar[str] = ""
    """Short backend name used in errors and the op-log (``posix``, ``s3``)."""
    schemes: ClassVar[tuple[str, ...]] = ()
    capabilities = DerivedCapabilities()
    """The :class:`Capability` set, derived from the optional protocols the class implements
    (:mod:`s3dlio.store.capabilities`); never declared."""
    max_useful_concurrency: ClassVar[int | None] = None
    """Upper bound the batch engine applies to this store's in-flight window
    (``None``: the caller's window). Local filesystems gain nothing from 64 threads."""
    fast_local_items: ClassVar[bool] = False
    """Single operations may finish in microseconds (a page-cache read, a tmpfs write):
    the batch engine then runs items in the calling thread while they stay that fast,
    since worker threads only add GIL hand-offs to such items."""
    min_part_size: ClassVar[int] = 5 << 20
    """Smallest part but the last of a native multipart upload (S3: 5 MiB); read only for
    stores that implement :class:`MultipartUpload`."""
    max_parts: ClassVar[int] = 10_000
    """Most parts one native multipart upload may have (see ``min_part_size``)."""
    _transient: ClassVar[tuple[str, ...]] = ()
    """Attribute names dropped on pickling and re-created lazily (clients, fds)."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        declared = cls.__dict__.get("capabilities")
        if declared is not None and not isinstance(declared, (DerivedCapabilities, property)):
            # A hand-written set can claim what the class does not implement: ignore it.
            warnings.warn(
                f"{cls.__qualname__}.capabilities is ignored: capabilities are derived from the "
                "protocols a store implements (s3dlio.store.capabilities)",
                DeprecationWarning, stacklevel=3,  # the class statement (past ABCMeta.__new__)
            )
            delattr(cls, "capabilities")

    def __init__(self, root: str, settings: Settings) -> None:
        self.root = root
        self.settings = settings

    # ----------------------------------------------------------------- naming
    @classmethod
    @abc.abstractmethod
    def split_uri(cls, uri: str) -> tuple[str, str]:
        """Split a full URI into ``(root, key)``; raise ``InvalidPathError`` if malformed.

        Stores are cached by ``root``, so everything that selects a different
        connection (bucket, account, endpoint) belongs in the root.
        """

    def uri(self, key: str) -> str:
        """Full URI of ``key``."""
        return self.root + key

    @property
    def endpoint(self) -> str:
        """Base URL requests go to (``file://`` for local stores); used by the op-log."""
        return f"{self.schemes[0]}://" if self.schemes else ""

    # ------------------------------------------------------------ required core
    @abc.abstractmethod
    def get(self, key: str) -> BytesView:
        """Read a whole object."""

    @abc.abstractmethod
    def get_range_into(self, key: str, offset: int, buf: memoryview) -> int:
        """Read up to ``len(buf)`` bytes at ``offset`` into ``buf``; return the count.

        Returns fewer bytes only at end of object. ``buf`` is a writable,
        1-D, format ``B`` memoryview.
        """

    @abc.abstractmethod
    def head(self, key: str) -> ObjectMeta:
        """Return the object's metadata; raise ``NotFoundError`` if it does not exist."""

    @abc.abstractmethod
    def put(self, key: str, data: memoryview) -> None:
        """Store ``data`` atomically: readers see the old object or the new one."""

    @abc.abstractmethod
    def list(self, prefix: str = "", *, recursive: bool = True) -> Iterator[ListPage]:
        """Stream the keys under the directory ``prefix`` (``""`` or ending in ``/``).

        ``recursive=False`` is a ``/``-delimited listing: direct children only,
        sub-directories reported as ``prefixes``. Pages are yielded as they are
        fetched, so memory stays bounded on huge listings.
        """

    @abc.abstractmethod
    def delete(self, key: str) -> None:
        """Delete one object; a missing object is not an error (idempotent)."""

    @abc.abstractmethod
    def copy(self, src_key: str, dst_key: str) -> None:
        """Copy an object within this store (mark it :func:`server_side` when no data moves
        through this process: that is :attr:`Capability.SERVER_COPY`)."""

    # ---------------------------------------------------------------- derived
    def get_range(self, key: str, offset: int, length: int | None = None) -> BytesView:
        """Read ``length`` bytes at ``offset`` (``None``: to the end), clipped at EOF."""
        if offset < 0 or (length is not None and length < 0):
            raise ValueError(f"get_range: offset and length must be >= 0 ({self.uri(key)})")
        size = self.head(key).size
        if offset >= size or length == 0:
            return BytesView()
        want = size - offset if length is None else min(length, size - offset)
        view, mv = BytesView.allocate(want)
        with mv:
            got = self.get_range_into(key, offset, mv)
        if got != want:
            view._truncate(got)
        return view

    def get_ranges(
        self, key: str, ranges: Sequence[tuple[int, int]], *, coalesce: int = 1 << 20
    ) -> builtins.list[BytesView]:
        """Read several ``(offset, length)`` ranges, merging ranges closer than ``coalesce``."""

        out: list[BytesView | None] = [None] * len(ranges)
        for start, length, members in coalesce_ranges(ranges, coalesce):
            block = self.get_range(key, start, length)
            mv = block.memoryview()
            for index, (off, ln) in members:
                out[index] = BytesView.wrap(mv[off - start : off - start + ln])
        return [v if v is not None else BytesView() for v in out]

    def exists(self, key: str) -> bool:
        """``True`` if the object exists; only ``NotFoundError`` means ``False``."""
        try:
            self.head(key)
        except NotFoundError:
            return False
        return True

    def delete_many(self, keys: Iterable[str]) -> builtins.list[tuple[str, BaseException]]:
        """Delete many keys; return the failures as ``(key, exception)``."""
        failures: list[tuple[str, BaseException]] = []
        for key in keys:
            try:
                self.delete(key)
            except Exception as exc:  # every failure is reported to the caller
                failures.append((key, exc))
        return failures

    def rename(self, src_key: str, dst_key: str) -> None:
        """Move an object: copy, then delete the source."""
        self.copy(src_key, dst_key)
        self.delete(src_key)

    def list_with_delimiter(self, prefix: str = "") -> ListPage:
        """One merged page of direct children and sub-directories of ``prefix``."""
        keys: list[str] = []
        prefixes: list[str] = []
        for page in self.list(prefix, recursive=False):
            keys.extend(page.keys)
            prefixes.extend(page.prefixes)
        return ListPage(keys=keys, prefixes=prefixes)

    def delete_prefix(
        self, prefix: str, *, batch_size: int = 1000
    ) -> tuple[int, builtins.list[tuple[str, BaseException]]]:
        """Delete everything under the directory ``prefix``, streamed in batches.

        Returns ``(attempted, failures)``. Listing failures propagate (nothing is
        silently skipped).
        """
        failures: list[tuple[str, BaseException]] = []
        attempted = 0
        batch: list[str] = []
        for page in self.list(prefix, recursive=True):
            batch.extend(page.keys)
            while len(batch) >= batch_size:
                attempted += batch_size
                failures.extend(self.delete_many(batch[:batch_size]))
                del batch[:batch_size]
        if batch:
            attempted += len(batch)
            failures.extend(self.delete_many(batch))
        self.cleanup_prefix(prefix)
        return attempted, failures

    def cleanup_prefix(self, prefix: str) -> None:
        """After a recursive delete: local stores drop the directories it emptied."""

    def is_link(self, key: str) -> bool:
        """``True`` if ``key`` names a symbolic link (local stores; object stores have none).

        A recursive delete of a link removes the link itself and never what it points
        to (docs/reliability.md).
        """
        return False

    def put_file(self, key: str, path: str) -> int:
        """Upload the local file ``path`` as ``key``; return its size."""
        with open(path, "rb") as fh:
            data = fh.read()
        self.put(key, memoryview(data))
        return len(data)

    def get_to_file(self, key: str, path: str) -> int:
        """Download ``key`` to the local file ``path`` atomically; return its size."""

        data = self.get(key)
        return atomic_write(path, data.memoryview(), op="download", uri=self.uri(key))

    def mkdir(self, key: str) -> None:
        """Create a "directory": a zero-byte ``key/`` marker on object stores."""
        marker = key if key.endswith("/") else key + "/"
        self.put(marker, memoryview(b""))

    def put_stream(self, key: str, chunks: Iterable[Buffer]) -> int:
        """Store an iterable of buffers as one object (default: join, then ``put``)."""
        data = b"".join(bytes(memoryview(c)) for c in chunks)
        self.put(key, memoryview(data))
        return len(data)

    def abort_incomplete(self, prefix: str, older_than_s: float) -> int:
        """Remove leftovers of interrupted writes older than ``older_than_s``; return the count."""
        return 0

    # ------------------------------------------------------------- lifecycle
    def close(self) -> None:
        """Release process-bound resources; the store stays usable (they come back lazily)."""
        for name in self._transient:
            self.__dict__.pop(name, None)

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        for name in self._transient:
            state.pop(name, None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.root!r})"

    # ---------------------------------------------------------------- helpers
    def _invalid(self, message: str, key: str, op: str) -> InvalidPathError:
        return InvalidPathError(message, op=op, uri=self.uri(key), backend=self.backend)

    # -------------------------------------------------------------- diagnosis
    def describe(self, *, probe: bool = False) -> dict[str, Any]:
        """How this store reaches its data, for ``s3-cli doctor``: printable, secret-free values.

        Keys (a backend adds what it knows): ``backend``, ``root``, ``endpoint``,
        ``local`` (no network), ``tls`` (``"https"``, ``"no (http)"``, ``"n/a"``),
        ``ca_bundle`` (a CA file in use; empty: the system's), ``tls_verify``,
        ``credentials`` (where they come from, redacted, e.g. ``"env
        (AWS_ACCESS_KEY_ID=AKIA****)"``). Without ``probe`` nothing is sent over the
        network. With ``probe=True`` one cheap read-only request is allowed, and a
        backend that can see the service's clock adds ``clock_skew_secs`` (server time
        minus local time, from the HTTP ``Date`` header: ±1 s); the doctor says
        "unknown" without it. The base describes the endpoint only.
        """
        endpoint = self.endpoint
        scheme = endpoint.partition("://")[0].lower()
        local = scheme not in ("http", "https")
        info: dict[str, Any] = {
            "backend": self.backend, "root": self.root, "endpoint": endpoint, "local": local,
            "tls": "n/a" if local else ("https" if scheme == "https" else "no (http)"),
        }
        if local:
            info["credentials"] = "n/a (local storage)"
        return info
