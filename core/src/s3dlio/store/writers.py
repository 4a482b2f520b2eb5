"""Streaming object writers: ``create_writer(uri)`` → :class:`ObjectWriter`.

An :class:`ObjectWriter` accepts chunks with ``write_chunk`` and publishes one
object at ``finalize()``; nothing is visible before, and ``abort()`` (or an
exception inside its ``with`` block) publishes nothing. Underneath it is core's
:class:`~s3dlio.store.multipart.MultipartUploadWriter`: native multipart parts
where the store has them (S3, Azure, GCS: bounded memory, never the whole object
in RAM), else the store's atomic ``put_stream`` (``file://`` and ``direct://``:
a temp file published by rename). Local writes are then made durable (the file
and its directory fsynced) unless ``S3DLIO_FSYNC=none`` — ``auto`` means
"durable for writers and checkpoints" (docs/configuration.md).

With zstd compression (``WriterOptions().with_compression("zstd", level)``) the
key gets ``.zst`` appended and compression runs on a helper thread fed by a
bounded queue: zstandard releases the GIL, so compressing overlaps the caller
producing the next chunk and the upload of earlier parts. ``checksum()`` is the
CRC-32C of the *uncompressed* bytes, computed as they arrive.

``zstandard`` and ``crc32c`` are imported on first use, never by ``import s3dlio``.
"""

from __future__ import annotations

import os
import queue
import threading
from typing import IO, TYPE_CHECKING, Any, cast

from s3dlio.bytesview import BytesView
from s3dlio.errors import InvalidPathError, StoreError
from s3dlio.store import as_buffer

if TYPE_CHECKING:
    from types import TracebackType

    from s3dlio.store import ObjectStore
    from s3dlio.store.multipart import MultipartUploadWriter

__all__ = [
    "ObjectWriter",
    "PyObjectWriter",
    "PyWriterOptions",
    "WriterOptions",
    "crc32c",
    "create_azure_writer",
    "create_direct_filesystem_writer",
    "create_filesystem_writer",
    "create_gcs_writer",
    "create_s3_writer",
    "create_writer",
]

COMPRESSIONS = ("none", "zstd")
DEFAULT_ZSTD_LEVEL = 3
_LOCAL_BUFFER = 8 << 20
"""Part size for stores without native multipart: chunks handed to ``put_stream``."""
_LOCAL_IN_FLIGHT = 4
_ZSTD_QUEUE = 8
"""Chunks waiting for the compressor thread: bounds memory, lets compression overlap."""
_ZSTD_OUT = 1 << 20
"""Compressed bytes handed on at once (fewer, larger writes into the upload)."""
_WAIT_SLICE = 0.2


def crc32c(data: Any, value: int = 0) -> int:
    """CRC-32C (Castagnoli) of ``data`` continued from ``value`` (hardware-accelerated).

    The one implementation core's writers and the checkpoint plugin share: the
    ``crc32c`` package (SSE4.2 / ARMv8 instructions, GIL released on large buffers).
    """
    import crc32c as _crc

    return int(_crc.crc32c(data, value))


def format_checksum(value: int) -> str:
    """The ``"crc32c:%08x"`` label of a CRC-32C value (manifests, ``checksum()``)."""
    return f"crc32c:{value & 0xFFFFFFFF:08x}"


class WriterOptions:
    """Options of a streaming writer; the ``with_*`` methods mutate and return ``self``.

    ``compression`` is ``"none"`` or ``"zstd"``; ``compression_level`` 1–22 (zstd's
    range; default 3); ``compression_threads`` 0 = single-threaded zstd on the
    helper thread, n > 0 = zstd's own n worker threads; ``buffer_size`` the part
    size in bytes (``None``: the store's default; raised to its minimum part size).
    """

    __slots__ = ("buffer_size", "compression", "compression_level", "compression_threads")

    def __init__(self) -> None:
        self.compression: str = "none"
        self.compression_level: int | None = None
        self.compression_threads: int = 0
        self.buffer_size: int | None = None

    def with_compression(
        self, compression_type: str, level: int | None = None, *, threads: int | None = None
    ) -> WriterOptions:
        """``"zstd"`` (level 1–22, default 3; ``threads=`` zstd workers) or ``"none"``."""
        kind = str(compression_type).lower()
        if kind not in COMPRESSIONS:
            raise ValueError(
                f"unknown compression {compression_type!r}: expected one of {', '.join(COMPRESSIONS)}"
            )
        if kind == "none":
            self.compression, self.compression_level = "none", None
            return self
        if level is None:
            level = DEFAULT_ZSTD_LEVEL
        if isinstance(level, bool) or not isinstance(level, int) or not 1 <= level <= 22:
            raise ValueError(f"zstd compression level must be an int in 1..22, got {level!r}")
        if threads is not None:
            if isinstance(threads, bool) or not isinstance(threads, int) or threads < 0:
                raise ValueError(f"threads must be an int >= 0, got {threads!r}")
            self.compression_threads = threads
        self.compression, self.compression_level = "zstd", level
        return self

    def with_buffer_size(self, size: int) -> WriterOptions:
        """Bytes per part sent to the store (at least 1)."""
        if isinstance(size, bool) or not isinstance(size, int) or size < 1:
            raise ValueError(f"buffer size must be a positive int, got {size!r}")
        self.buffer_size = size
        return self

    def __repr__(self) -> str:
        return (f"WriterOptions(compression={self.compression!r}, "
                f"compression_level={self.compression_level}, buffer_size={self.buffer_size})")


PyWriterOptions = WriterOptions


class _Compressor:
    """zstd on a helper thread: ``feed`` queues a chunk, the thread compresses into ``sink``."""

    def __init__(self, sink: MultipartUploadWriter, level: int, threads: int) -> None:
        import zstandard

        self._sink = sink
        params = zstandard.ZstdCompressionParameters.from_level(
            level, threads=threads, write_content_size=False
        )
        # stream_writer hands compressed output to ``self`` in zstd's own block-sized pieces
        # (cheaper than compressobj's one bytes object per input chunk).
        self._zw = zstandard.ZstdCompressor(compression_params=params).stream_writer(
            cast("IO[bytes]", self), closefd=False, write_return_read=True, write_size=_ZSTD_OUT
        )
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=_ZSTD_QUEUE)
        self._error: BaseException | None = None
        self.compressed = 0
        self.crc = 0
        """CRC-32C of the compressed stream (what is stored)."""
        self._thread = threading.Thread(target=self._run, name="s3dlio-zstd", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            while True:
                item = self._queue.get()
                if item is None:
                    self._zw.close()  # type: ignore[no-untyped-call]  # ends the frame; closefd=False
                    return
                if item is _STOP:
                    return
                self._zw.write(item)
        except BaseException as exc:
            self._error = exc
            while True:  # wake a producer blocked on the full queue
                try:
                    self._queue.get_nowait()
                except queue.Empty:
                    break

    def write(self, out: bytes) -> int:
        """The stream writer's sink: compressed bytes, on the compressor thread."""
        if out:
            self.crc = crc32c(out, self.crc)
            self._sink.write(out)
            self.compressed += len(out)
        return len(out)

    def flush(self) -> None:
        """Part of the file-like sink protocol stream_writer expects (nothing buffered here)."""

    def check(self) -> None:
        if self._error is not None:
            raise self._error

    def feed(self, chunk: Any) -> None:
        while True:
            self.check()
            try:
                self._queue.put(chunk, timeout=_WAIT_SLICE)
                return
            except queue.Full:
                continue

    def finish(self) -> None:
        self.feed(None)
        self.join()
        self.check()

    def stop(self) -> None:
        if self._thread.is_alive():
            try:
                self._queue.put(_STOP, timeout=_WAIT_SLICE)
            except queue.Full:
                pass
            self.join(timeout=10.0)

    def join(self, timeout: float | None = None) -> None:
        self._thread.join(timeout)


_STOP = object()


class ObjectWriter:
    """One object written in chunks; published by :meth:`finalize` (see the module doc).

    Use it as a context manager: leaving the block normally finalizes, an exception
    aborts (nothing is published) and propagates.
    """

    def __init__(self, store: ObjectStore, key: str, options: WriterOptions | None = None) -> None:
        from s3dlio.store import Capability
        from s3dlio.store.multipart import MultipartUploadWriter

        opts = options if options is not None else WriterOptions()
        if not isinstance(opts, WriterOptions):
            raise TypeError(f"options must be WriterOptions, got {type(opts).__name__}")
        self._compression = opts.compression
        if opts.compression == "zstd":
            key += ".zst"
        self._store = store
        self._key = key
        self.uri: str = store.uri(key)
        native = Capability.MULTIPART in store.capabilities
        part_size = opts.buffer_size
        max_in_flight: int | None = None
        if native:
            if part_size is not None:
                part_size = max(part_size, store.min_part_size)
        else:
            part_size = part_size or _LOCAL_BUFFER
            max_in_flight = _LOCAL_IN_FLIGHT
        self._mpu = MultipartUploadWriter.for_store(store, key, part_size=part_size,
                                                    max_in_flight=max_in_flight)
        self._local = not native and self.uri.split("://", 1)[0] in ("file", "direct")
        self._crc = 0
        self._bytes = 0
        self._stored: int | None = None
        self._state = "open"
        self._zstd: _Compressor | None = None
        if opts.compression == "zstd":
            assert opts.compression_level is not None
            try:
                self._zstd = _Compressor(self._mpu, opts.compression_level, opts.compression_threads)
            except BaseException:
                self._mpu.abort()
                raise

    @property
    def key(self) -> str:
        """The key published (``.zst`` appended when compressing)."""
        return self._key

    @property
    def compression(self) -> str:
        return self._compression

    def _check_open(self, op: str) -> None:
        if self._state != "open":
            raise ValueError(f"{op}: the writer for {self.uri} is {self._state}")

    def write_chunk(self, data: object, *, stable: bool = False) -> int:
        """Append ``data`` (any bytes-like object); return its length.

        The caller may reuse a mutable buffer as soon as this returns, unless it passes
        ``stable=True``: a promise not to change the buffer until :meth:`finalize` or
        :meth:`abort` returns, which lets the writer send it without copying (``bytes``
        and ``BytesView`` never need the promise: they are immutable).
        """
        self._check_open("write_chunk")
        mv = as_buffer(data, op="write_chunk", uri=self.uri)
        n = len(mv)
        if not n:
            return 0
        immutable = stable or isinstance(data, (bytes, BytesView))
        try:
            self._crc = crc32c(mv, self._crc)
            if self._zstd is not None:
                # The compressor reads the chunk later, on its thread: a mutable one is copied.
                self._zstd.feed(mv if immutable else bytes(mv))
            elif immutable:
                self._mpu._check_open("write")
                self._mpu._accept(mv, mv)  # full parts are sent as views of the caller's buffer
            else:
                self._mpu.write(mv)
        except BaseException as exc:
            self._fail(exc)
            raise
        self._bytes += n
        return n

    def write_owned_bytes(self, data: object) -> int:
        """Like :meth:`write_chunk` (the original's zero-copy variant; same here)."""
        return self.write_chunk(data)

    def finalize(self) -> tuple[int, int]:
        """Publish the object; return ``(bytes_written, compressed_bytes)``.

        ``compressed_bytes`` is what was stored (equal to ``bytes_written`` without
        compression). A second call, or one after ``abort()``, is a ``ValueError``.
        """
        self._check_open("finalize")
        try:
            if self._zstd is not None:
                self._zstd.finish()
            info = self._mpu.close()
            if self._local:
                self._make_durable()
        except BaseException as exc:
            self._fail(exc)
            raise
        self._stored = int(info["total_bytes"])
        self._state = "finalized"
        return self._bytes, self._stored

    def _make_durable(self) -> None:
        mode = self._store.settings.core.fsync
        if mode == "none":
            return
        path = self.uri.split("://", 1)[1]
        try:
            fd = os.open(path, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
            if mode != "file":
                from s3dlio.store.localfs import fsync_dir

                fsync_dir(os.path.dirname(path))
        except OSError as exc:
            raise StoreError(f"fsync failed: {exc}", op="put", uri=self.uri,
                             backend=self._store.backend) from exc

    def _fail(self, exc: BaseException) -> None:
        self._state = "aborted"
        if self._zstd is not None:
            self._zstd.stop()
        try:
            self._mpu.abort()
        except BaseException as abort_exc:
            exc.add_note(f"and aborting the upload of {self.uri} failed too: {abort_exc!r}")

    def abort(self) -> None:
        """Abandon the object: nothing is published. Idempotent; no-op after finalize."""
        if self._state != "open":
            return
        self._state = "aborted"
        if self._zstd is not None:
            self._zstd.stop()
        self._mpu.abort()

    def bytes_written(self) -> int:
        """Uncompressed bytes accepted so far."""
        return self._bytes

    def compressed_bytes(self) -> int:
        """Bytes stored: exact after finalize; before, what the compressor has emitted."""
        if self._stored is not None:
            return self._stored
        if self._zstd is not None:
            return self._zstd.compressed
        return self._bytes

    def checksum(self) -> str:
        """``"crc32c:%08x"``: CRC-32C of the uncompressed bytes so far (kept after finalize)."""
        return format_checksum(self._crc)

    def stored_checksum(self) -> str:
        """``"crc32c:%08x"`` of the bytes stored (the compressed stream with zstd)."""
        return format_checksum(self._zstd.crc if self._zstd is not None else self._crc)

    @property
    def closed(self) -> bool:
        return self._state != "open"

    def __enter__(self) -> ObjectWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc is not None:
            try:
                self.abort()
            except BaseException as abort_exc:
                exc.add_note(f"aborting the writer of {self.uri} failed too: {abort_exc!r}")
            return
        if self._state == "open":
            self.finalize()

    def __reduce__(self) -> Any:
        raise TypeError("an ObjectWriter holds a live upload and cannot be pickled")

    def __repr__(self) -> str:
        return (f"ObjectWriter({self.uri!r}, compression={self._compression!r}, "
                f"state={self._state!r}, bytes_written={self._bytes})")


PyObjectWriter = ObjectWriter


def create_writer(uri: str, options: WriterOptions | None = None) -> ObjectWriter:
    """A streaming writer for ``uri`` on any backend."""
    from s3dlio.plugin.runtime import resolve

    store, key = resolve(uri)
    return ObjectWriter(store, key, options)


def _scheme_writer(uri: str, options: WriterOptions | None, schemes: tuple[str, ...],
                   op: str) -> ObjectWriter:
    from s3dlio.plugin.runtime import split_scheme

    scheme, _ = split_scheme(uri)
    if scheme not in schemes and not (scheme == "https" and "az" in schemes
                                      and ".blob.core.windows.net" in uri):
        raise InvalidPathError(
            f"{op} needs a {' or '.join(s + '://' for s in schemes)} URI, got {scheme}://",
            op=op, uri=uri,
        )
    return create_writer(uri, options)


def create_s3_writer(uri: str, options: WriterOptions | None = None) -> ObjectWriter:
    """A writer for an ``s3://`` URI (``InvalidPathError`` for any other scheme)."""
    return _scheme_writer(uri, options, ("s3",), "create_s3_writer")


def create_azure_writer(uri: str, options: WriterOptions | None = None) -> ObjectWriter:
    """A writer for an ``az://``/``azure://`` URI."""
    return _scheme_writer(uri, options, ("az", "azure"), "create_azure_writer")


def create_gcs_writer(uri: str, options: WriterOptions | None = None) -> ObjectWriter:
    """A writer for a ``gs://``/``gcs://`` URI."""
    return _scheme_writer(uri, options, ("gs", "gcs"), "create_gcs_writer")


def create_filesystem_writer(uri: str, options: WriterOptions | None = None) -> ObjectWriter:
    """A writer for a ``file://`` URI (temp file, fsync, rename)."""
    return _scheme_writer(uri, options, ("file",), "create_filesystem_writer")


def create_direct_filesystem_writer(uri: str, options: WriterOptions | None = None) -> ObjectWriter:
    """A writer for a ``direct://`` URI (O_DIRECT)."""
    return _scheme_writer(uri, options, ("direct",), "create_direct_filesystem_writer")
