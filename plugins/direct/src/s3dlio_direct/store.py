r"""``direct://`` — local files read and written with ``O_DIRECT``.

O_DIRECT needs the buffer address, the file offset and the transfer length to be
multiples of the device's alignment (``[direct] alignment``, 4096 by default).

* Reads allocate the result with an aligned start, read the aligned superset of
  the wanted bytes straight into it and then trim the view (no copy): exact bytes
  for any offset and length. Large reads go through the core range engine with
  aligned part sizes. ``get_range_into`` reads straight into caller memory when it
  is aligned, through a per-thread aligned bounce buffer otherwise.
* Writes go to a temp file opened ``O_DIRECT`` in the destination directory
  (:func:`s3dlio.store.localfs.atomic_write`), from an aligned bounce buffer; the last
  block is zero-padded, ``ftruncate`` cuts the padding, then the temp is renamed.
  Objects of known size (``put``, ``put_file``, ``copy``) of at least
  ``[direct] parallel_write_mb`` (16 MiB) are written by several threads of core's
  parts pool at once: each copies (or reads) its 8 MiB aligned chunk into its own
  aligned bounce buffer and ``pwrite``\ s it at its offset into the same temp fd,
  because O_DIRECT has no write-behind and throughput comes from queue depth.
  The first failure fails the write; nothing is published.
* A filesystem that refuses O_DIRECT (``EINVAL``) raises ``NotSupportedError``
  with a hint. There is never a silent buffered fallback: a caller who asked for
  direct I/O and silently got the page cache would measure the wrong thing.

Naming, listing, ``stat``, ``delete``, ``mkdir`` and containers are ``file://``'s;
create-only writes (``put_if_absent``) are too, but written with O_DIRECT. ``copy`` moves
the data through aligned buffers, so unlike ``file://`` this store has no
``Capability.SERVER_COPY``.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import mmap
import os
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_EXCEPTION, Future, wait
from typing import TYPE_CHECKING, Any, ClassVar

from s3dlio.bytesview import BytesView
from s3dlio.engines.pool import cpu_count, parts_pool
from s3dlio.engines.ranges import (
    default_chunk_size,
    default_concurrency,
    parallel_read_into,
    plan_chunks,
)
from s3dlio.errors import (
    AlreadyExistsError,
    ConfigError,
    IntegrityError,
    InvalidPathError,
    NotSupportedError,
    StoreError,
    translate_os_error,
)
from s3dlio.store import as_buffer
from s3dlio.store.localfs import atomic_write, write_all
from s3dlio_posix.store import PosixStore

if TYPE_CHECKING:
    from s3dlio.config import Settings

__all__ = ["DEFAULT_ALIGNMENT", "DEFAULT_PARALLEL_WRITE", "DirectStore"]

DEFAULT_ALIGNMENT = 4096
O_DIRECT: int = getattr(os, "O_DIRECT", 0)
_O_RDONLY_DIRECT = os.O_RDONLY | os.O_CLOEXEC | O_DIRECT
_BOUNCE_SIZE = 8 << 20
"""Bytes per bounce-buffer round trip (writes, unaligned ``get_range_into``)."""
DEFAULT_PARALLEL_WRITE = 16 << 20
"""Objects of known size at least this large are written in parallel chunks."""
_WRITE_CHUNK = _BOUNCE_SIZE
"""Bytes per chunk of a parallel write (one :class:`_ChunkBuffers` buffer)."""
_WRITE_SLOTS = max(16, min(2 * cpu_count(), 64))
"""Chunks of parallel writes in flight in the whole process (8 MiB buffers each)."""
_WAIT_SLICE = 0.2
"""Longest uninterruptible wait of the caller thread (Ctrl-C stays responsive)."""

_local = threading.local()

_FillAt = Callable[[memoryview, int, int], int]
"""``fill_at(dst, offset, length)``: source bytes at ``offset`` into ``dst``; the count."""


class DirectStore(PosixStore):
    """``direct:///abs/path``: ``file://`` semantics, data moved with O_DIRECT."""

    backend: ClassVar[str] = "direct"
    schemes: ClassVar[tuple[str, ...]] = ("direct",)
    fast_local_items: ClassVar[bool] = False
    """Every O_DIRECT request waits for the device: threads help from the first item."""

    def __init__(self, root: str, settings: Settings) -> None:
        super().__init__(root, settings)
        if not O_DIRECT:  # pragma: no cover - Linux always has it
            raise NotSupportedError(
                "this platform has no O_DIRECT; use file:// instead", uri=root, backend=self.backend
            )
        section = settings.section("direct") if settings.has_section("direct") else None
        align = int(section.alignment) if section is not None else DEFAULT_ALIGNMENT
        if align <= 0 or align & (align - 1):
            raise ConfigError(f"[direct] alignment must be a power of two, got {align}")
        self._align = align
        if section is not None:
            self._parallel_write = int(section.parallel_write_mb) << 20
            self._write_concurrency = int(section.write_concurrency)
        else:
            self._parallel_write, self._write_concurrency = DEFAULT_PARALLEL_WRITE, 0
        configured = int(section.max_concurrency) if section is not None else 0
        # O_DIRECT has no read-ahead or write-behind: throughput comes from queue
        # depth (fio needs QD16 to saturate NVMe), so allow more in flight than file://.
        self.max_useful_concurrency = configured or max(16, 2 * cpu_count())  # type: ignore[misc]

    @property
    def alignment(self) -> int:
        """The O_DIRECT alignment of buffers, offsets and lengths (``[direct] alignment``);
        having it is ``Capability.DIRECT_IO``."""
        return self._align

    # ------------------------------------------------------------------ reads
    def get(self, key: str) -> BytesView:
        with self._reading(key, "get") as fd:
            size = os.fstat(fd).st_size
            return self._read_span(fd, key, "get", 0, size, exact=True)

    def get_range(self, key: str, offset: int, length: int | None = None) -> BytesView:
        if offset < 0 or (length is not None and length < 0):
            raise ValueError(f"get_range: offset and length must be >= 0 ({self.uri(key)})")
        with self._reading(key, "get") as fd:
            size = os.fstat(fd).st_size
            if offset >= size or length == 0:
                return BytesView()
            want = size - offset if length is None else min(length, size - offset)
            return self._read_span(fd, key, "get", offset, want, exact=False)

    def get_range_into(self, key: str, offset: int, buf: memoryview) -> int:
        if offset < 0:
            raise ValueError(f"get_range_into: offset must be >= 0 ({self.uri(key)})")
        with self._reading(key, "get") as fd:
            return self._read_into(fd, offset, buf)

    def _read_span(
        self, fd: int, key: str, op: str, start: int, want: int, *, exact: bool
    ) -> BytesView:
        """Bytes ``[start, start + want)``: read the aligned superset, then trim the view.

        ``exact``: a file that ended early is an ``IntegrityError`` (whole-object
        reads); otherwise the result is clipped like any read at end of file.
        """
        if want == 0:
            return BytesView()
        align = self._align
        astart = start - start % align
        lead = start - astart
        end = lead + want  # relative to astart
        span = _round_up(end, align)
        result = _AlignedResult(span, align)
        full = result.region
        if self._split_reads and want >= self._split_threshold:
            chunk = _round_up(self._chunk_size or default_chunk_size(want), align)

            def read_at(offset: int, part: memoryview) -> int:
                # ``part`` is the exact slice; O_DIRECT needs its aligned superset,
                # which stays inside this part's chunk because ``chunk`` is aligned.
                length = len(part)
                try:
                    with full[offset : offset + _round_up(length, align)] as target:
                        got = _direct_fill(fd, target, astart + offset, align)
                except OSError as exc:
                    raise self._io_error(exc, op, key) from exc
                return min(got, length)

            parallel_read_into(
                read_at, end, full,
                chunk_size=chunk,
                concurrency=self._range_concurrency or default_concurrency(want),
                what=self.uri(key),
            )
            got = end
        else:
            got = min(_direct_fill(fd, full, astart, align), end)
        have = max(got - lead, 0)
        if exact and have != want:
            result.discard()
            raise IntegrityError(
                f"file shrank during read ({have} of {want} bytes)", op=op, uri=self.uri(key),
                backend=self.backend,
            )
        return result.finish(lead, have)

    def _read_into(self, fd: int, offset: int, buf: memoryview) -> int:
        """Fill ``buf`` from ``offset`` (fewer bytes only at end of file)."""
        total = len(buf)
        if total == 0:
            return 0
        align = self._align
        if offset % align == 0 and total % align == 0 and _address(buf) % align == 0:
            return _direct_fill(fd, buf, offset, align)  # caller memory is usable as is
        bounce = _bounce()
        done = 0
        while done < total:
            pos = offset + done
            astart = pos - pos % align
            lead = pos - astart
            take = min(total - done, len(bounce) - lead)
            span = _round_up(lead + take, align)
            with bounce[:span] as target:
                got = _direct_fill(fd, target, astart, align)
            have = max(min(got - lead, take), 0)
            buf[done : done + have] = bounce[lead : lead + have]
            done += have
            if have < take:
                break  # end of file
        return done

    # ----------------------------------------------------------------- writes
    def put(self, key: str, data: memoryview) -> None:
        self._need_object_key(key, "put")
        if self._parallel(len(data)):  # ``data`` is a flat byte view (core's as_buffer)

            def fill_at(dst: memoryview, offset: int, length: int) -> int:
                dst[:length] = data[offset : offset + length]
                return length

            self._write_chunks("/" + key, len(data), fill_at, op="put", uri=self.uri(key))
            return
        self._write("/" + key, _fill_from_buffer(data), op="put", uri=self.uri(key))

    def put_if_absent(self, key: str, data: memoryview) -> bool:
        """Create-only write with O_DIRECT, published with ``link(2)`` (``False`` if ``key``
        existed); ``file://``'s create-only write would go through the page cache."""
        self._need_object_key(key, "put")
        try:
            self._write("/" + key, _fill_from_buffer(data), op="put", uri=self.uri(key),
                        exclusive=True)
        except AlreadyExistsError:
            return False
        return True

    def put_stream(self, key: str, chunks: Iterable[Any]) -> int:
        self._need_object_key(key, "put")
        return self._write("/" + key, _fill_from_chunks(chunks), op="put", uri=self.uri(key))

    def put_file(self, key: str, path: str) -> int:
        self._need_object_key(key, "upload")
        uri = self.uri(key)
        try:
            src = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        except OSError as exc:
            raise translate_os_error(exc, op="upload", uri=uri, backend=self.backend) from exc
        try:
            size = os.fstat(src).st_size
            if self._parallel(size):
                written = self._write_chunks("/" + key, size, _fill_at_from_fd(src), op="upload",
                                             uri=uri, source_fd=src)
            else:
                written = self._write("/" + key, _fill_from_fd(src), op="upload", uri=uri)
        finally:
            os.close(src)
        if written != size:
            raise IntegrityError(f"uploaded {written} of {size} bytes (source changed)",
                                 op="upload", uri=uri, backend=self.backend)
        return written

    def copy(self, src_key: str, dst_key: str) -> None:
        self._need_object_key(dst_key, "copy")
        with self._reading(src_key, "copy") as src:
            size = os.fstat(src).st_size
            if self._parallel(size):
                written = self._write_chunks(
                    "/" + dst_key, size, _fill_at_from_direct_fd(src, self._align), op="copy",
                    uri=self.uri(dst_key), source_fd=src,
                )
            else:
                written = self._write(
                    "/" + dst_key, _fill_from_direct_fd(src, self._align), op="copy",
                    uri=self.uri(dst_key),
                )
        if written != size:
            raise IntegrityError(f"copied {written} of {size} bytes (source changed)", op="copy",
                                 uri=self.uri(src_key), backend=self.backend)

    def get_to_file(self, key: str, path: str) -> int:
        # The destination is an ordinary local file: read with O_DIRECT, write buffered.
        src = self._open_read(key, "download")
        uri = self.uri(key)
        align = self._align
        try:
            size = os.fstat(src).st_size

            def writer(dst: int) -> int:
                bounce = _bounce()
                done = 0
                while True:
                    try:
                        got = _direct_fill(src, bounce, done, align)
                    except OSError as exc:
                        raise self._io_error(exc, "download", key) from exc
                    write_all(dst, bounce[:got])
                    done += got
                    if got < len(bounce):
                        return done

            written = atomic_write(path, op="download", uri=uri, backend=self.backend,
                                   fsync=self._fsync, writer=writer)
        finally:
            os.close(src)
        if written != size:
            raise IntegrityError(f"downloaded {written} of {size} bytes (source changed)",
                                 op="download", uri=uri, backend=self.backend)
        return written

    def _parallel(self, size: int) -> bool:
        """Whether an object of ``size`` bytes is written by several threads."""
        return 0 < self._parallel_write <= size and size > _WRITE_CHUNK

    def _write(self, path: str, fill: Callable[[memoryview], int], *, op: str, uri: str,
               exclusive: bool = False) -> int:
        """Publish what ``fill`` produces at ``path`` atomically, written with O_DIRECT
        (``exclusive``: only if nothing is there, else ``AlreadyExistsError``)."""
        align = self._align

        def writer(fd: int) -> int:
            return _write_direct(fd, fill, align)

        return self._publish(path, writer, op=op, uri=uri, exclusive=exclusive)

    def _write_chunks(
        self, path: str, size: int, fill_at: _FillAt, *, op: str,
        uri: str, source_fd: int = -1,
    ) -> int:
        """Publish ``size`` bytes atomically, its aligned chunks written by parallel threads.

        ``fill_at(dst, offset, length)`` copies the source bytes ``[offset, offset +
        length)`` into ``dst`` (a thread's aligned bounce buffer, ``length`` rounded
        up to the alignment) and returns how many it got.
        A short chunk, or a ``source_fd`` whose size changed, is an ``IntegrityError``
        raised before the rename: nothing is published.
        """
        align = self._align
        concurrency = self._write_concurrency or default_concurrency(size)

        def writer(fd: int) -> int:
            _write_direct_parallel(fd, size, fill_at, align, concurrency, op=op, uri=uri,
                                   backend=self.backend)
            if source_fd >= 0 and os.fstat(source_fd).st_size != size:
                raise IntegrityError(f"source changed size while being written ({size} bytes "
                                     f"expected)", op=op, uri=uri, backend=self.backend)
            return size

        return self._publish(path, writer, op=op, uri=uri)

    def _publish(self, path: str, writer: Callable[[int], int], *, op: str, uri: str,
                 exclusive: bool = False) -> int:
        try:
            return atomic_write(path, op=op, uri=uri, backend=self.backend, fsync=self._fsync,
                                writer=writer, open_flags=O_DIRECT, exclusive=exclusive)
        except InvalidPathError as exc:
            cause = exc.__cause__
            if isinstance(cause, OSError) and cause.errno == errno.EINVAL:
                raise self._refused(cause, op, uri) from exc
            raise

    # ---------------------------------------------------------------- helpers
    @contextlib.contextmanager
    def _reading(self, key: str, op: str) -> Iterator[int]:
        """An O_DIRECT descriptor of ``key``; OS errors inside become typed errors; closed after."""
        fd = self._open_read(key, op)
        try:
            yield fd
        except StoreError:  # already typed (NotFoundError is also an OSError)
            raise
        except OSError as exc:
            raise self._io_error(exc, op, key) from exc
        finally:
            os.close(fd)

    def _open_read(self, key: str, op: str) -> int:
        try:
            return os.open("/" + key, _O_RDONLY_DIRECT)
        except OSError as exc:
            if exc.errno == errno.EINVAL and os.path.isdir("/" + key):
                # Directories refuse O_DIRECT too; that is a path error, not a filesystem one.
                raise InvalidPathError("is a directory, not an object", op=op, uri=self.uri(key),
                                       backend=self.backend) from exc
            raise self._io_error(exc, op, key) from exc

    def _io_error(self, exc: OSError, op: str, key: str) -> StoreError:
        if exc.errno == errno.EINVAL:
            return self._refused(exc, op, self.uri(key))
        return self._os_error(exc, op, key)

    def _refused(self, exc: OSError, op: str, uri: str) -> NotSupportedError:
        return NotSupportedError(
            f"the filesystem refused O_DIRECT ({exc.strerror or exc}): it does not support "
            f"direct I/O or needs a larger alignment than {self._align} bytes. Use file:// for "
            f"this path, or raise [direct] alignment (S3DLIO_DIRECT_ALIGNMENT) to the device's "
            f"logical block size. There is no buffered fallback.",
            op=op, uri=uri, backend=self.backend,
        )


# ------------------------------------------------------------------- buffers


def _round_up(n: int, align: int) -> int:
    return (n + align - 1) // align * align


def _address(mv: memoryview) -> int:
    """Address of the first byte of a writable, non-empty buffer."""
    return ctypes.addressof(ctypes.c_char.from_buffer(mv))


def _bounce() -> memoryview:
    """This thread's page-aligned bounce buffer (anonymous ``mmap``, reused)."""
    mv: memoryview | None = getattr(_local, "bounce", None)
    if mv is None:
        mv = _local.bounce = memoryview(mmap.mmap(-1, _BOUNCE_SIZE))
    return mv


class _AlignedResult:
    """A result buffer whose storage starts on an aligned address.

    ``region`` (``span`` bytes, aligned) is filled by O_DIRECT reads; ``finish``
    then exposes ``length`` bytes from ``lead`` without copying.
    """

    __slots__ = ("_base", "_k", "_owner", "_view", "region")

    def __init__(self, span: int, align: int) -> None:
        if sys.version_info >= (3, 12):  # pragma: no cover - 3.12+ only
            self._owner: bytearray = bytearray(span + align)
            self._view: BytesView | None = None
            self._base = memoryview(self._owner)
        else:
            self._view, self._base = BytesView.allocate(span + align)
        self._k = (-_address(self._base)) % align
        self.region = self._base[self._k : self._k + span]

    def finish(self, lead: int, length: int) -> BytesView:
        start = self._k + lead
        self.region.release()
        if sys.version_info >= (3, 12):  # pragma: no cover - 3.12+ only
            # A PEP 688 BytesView can view any buffer: expose the slice, zero-copy.
            return BytesView(self._base[start : start + length])
        self._base.release()
        view = self._view
        assert view is not None
        # Deleting a bytearray's head only advances its start pointer (no copy),
        # and a minor tail cut keeps the allocation: the data stays where it was read.
        bytearray.__delitem__(view, slice(0, start))
        view._truncate(length)
        return view

    def discard(self) -> None:
        self.region.release()
        self._base.release()


def _direct_fill(fd: int, buf: memoryview, offset: int, align: int) -> int:
    """``preadv`` until ``buf`` is full or the file ends; return the byte count.

    ``buf``, ``offset`` and ``len(buf)`` must be aligned. An O_DIRECT read returns
    a count off the block grid only at end of file, so such a count ends the loop
    (retrying at an unaligned offset would fail with EINVAL).
    """
    total = len(buf)
    done = 0
    while done < total:
        n = os.preadv(fd, [buf[done:]], offset + done)
        if n == 0:
            break
        done += n
        if n % align:
            break
    return done


def _write_direct(fd: int, fill: Callable[[memoryview], int], align: int) -> int:
    """Write everything ``fill`` produces to the O_DIRECT ``fd``; return the exact count.

    ``fill(bounce)`` copies the next bytes into the aligned bounce buffer and
    returns how many; fewer than ``len(bounce)`` means the source ended. The last
    block is zero-padded (O_DIRECT writes whole blocks) and ``ftruncate`` cuts the
    padding, so the file ends up exactly as long as the data.
    """
    bounce = _bounce()
    capacity = len(bounce)
    total = 0
    while True:
        n = fill(bounce)
        if n == 0:
            break
        padded = _round_up(n, align)
        if padded != n:
            bounce[n:padded] = bytes(padded - n)  # never write stale bytes, even transiently
        _pwrite_all(fd, bounce[:padded], total)
        total += n
        if n < capacity:
            break
    os.ftruncate(fd, total)
    return total


def _write_direct_parallel(
    fd: int, size: int, fill_at: _FillAt, align: int,
    concurrency: int, *, op: str, uri: str, backend: str,
) -> None:
    r"""Write ``size`` bytes to the O_DIRECT ``fd`` in aligned chunks on the parts pool.

    Each task fills an aligned buffer of the process-wide :class:`_ChunkBuffers`
    with one chunk (the last one zero-padded to the block grid) and ``pwrite``\ s
    it at the chunk's offset; at most ``concurrency`` chunks of this write, and
    ``_ChunkBuffers.slots`` of all writes together, are in flight (so concurrent
    large writes share one bounded set of buffers). The caller waits in slices of
    ``_WAIT_SLICE`` seconds so ``KeyboardInterrupt`` is seen; the first failure
    cancels the chunks not started, waits for the running ones (each a bounded
    I/O call, and the fd must outlive them) and propagates with its own type
    (``OSError`` is translated and chained by ``atomic_write``). ``ftruncate``
    cuts the padding at the end.
    """
    pool = parts_pool()
    buffers = _chunk_buffers()
    pending = list(reversed(plan_chunks(size, _WRITE_CHUNK)))
    running: set[Future[None]] = set()

    def one(offset: int, length: int) -> None:
        bounce = buffers.take()
        try:
            padded = _round_up(length, align)
            n = fill_at(bounce[:padded], offset, length)
            if n != length:
                raise IntegrityError(
                    f"source ended early: {n} of {length} bytes at offset {offset} "
                    f"({size} expected)", op=op, uri=uri, backend=backend,
                )
            if padded != n:
                bounce[n:padded] = bytes(padded - n)  # never write stale bytes, even transiently
            _pwrite_all(fd, bounce[:padded], offset)
        finally:
            buffers.give(bounce)

    try:
        while pending or running:
            while pending and len(running) < concurrency:
                # A slot is a buffer reserved for the chunk; with none free (other
                # writes hold them all) wait below, or here if nothing of ours runs.
                if not buffers.reserve(0 if running else _WAIT_SLICE):
                    break
                off, ln = pending.pop()
                try:
                    fut = pool.submit(one, off, ln)
                except BaseException:
                    buffers.unreserve()
                    raise
                fut.add_done_callback(buffers.unreserve)  # run, failed or cancelled
                running.add(fut)
            if not running:
                continue
            done, running = wait(running, timeout=_WAIT_SLICE, return_when=FIRST_EXCEPTION)
            for fut in done:
                fut.result()  # re-raises the chunk's failure
    except BaseException:
        for fut in running:
            fut.cancel()
        wait(running)
        raise
    os.ftruncate(fd, size)


class _ChunkBuffers:
    """Aligned 8 MiB buffers of parallel writes, shared by the whole process.

    ``slots`` bounds the chunks in flight across all writes, and so the memory
    (at most ``slots`` buffers ever exist): without it every batch item times
    every write's window would pin a buffer. A submitter reserves a slot, the
    chunk takes a buffer (one is always free for a reserved slot) and gives it
    back; the future's done callback releases the slot, also when the chunk was
    cancelled before it ran.
    """

    def __init__(self, slots: int) -> None:
        self.slots = slots
        self._sem = threading.Semaphore(slots)
        self._lock = threading.Lock()
        self._free: list[memoryview] = []

    def reserve(self, timeout: float) -> bool:
        return self._sem.acquire(timeout=timeout) if timeout else self._sem.acquire(False)

    def unreserve(self, _fut: object = None) -> None:
        self._sem.release()

    def take(self) -> memoryview:
        with self._lock:
            if self._free:
                return self._free.pop()
        return memoryview(mmap.mmap(-1, _WRITE_CHUNK))

    def give(self, buf: memoryview) -> None:
        with self._lock:
            self._free.append(buf)


_chunk_buffers_lock = threading.Lock()
_chunk_buffers_state: list[_ChunkBuffers] = []


def _chunk_buffers() -> _ChunkBuffers:
    if not _chunk_buffers_state:
        with _chunk_buffers_lock:
            if not _chunk_buffers_state:
                _chunk_buffers_state.append(_ChunkBuffers(_WRITE_SLOTS))
    return _chunk_buffers_state[0]


def _forget_chunk_buffers() -> None:
    """In a forked child: the parent's slot count may include chunks of dead threads."""
    global _chunk_buffers_lock
    _chunk_buffers_state.clear()
    _chunk_buffers_lock = threading.Lock()


os.register_at_fork(after_in_child=_forget_chunk_buffers)


def _pwrite_all(fd: int, data: memoryview, offset: int) -> None:
    done = 0
    total = len(data)
    while done < total:
        n = os.pwrite(fd, data[done:], offset + done)
        if n <= 0:  # pragma: no cover - os.pwrite raises on errors
            raise OSError(errno.EIO, "pwrite returned 0")
        done += n


# ------------------------------------------------------------ write sources


def _fill_from_buffer(data: memoryview) -> Callable[[memoryview], int]:
    pos = 0

    def fill(dst: memoryview) -> int:
        nonlocal pos
        n = min(len(dst), len(data) - pos)
        dst[:n] = data[pos : pos + n]
        pos += n
        return n

    return fill


def _fill_from_chunks(chunks: Iterable[Any]) -> Callable[[memoryview], int]:
    it: Iterator[Any] = iter(chunks)
    current = memoryview(b"")

    def fill(dst: memoryview) -> int:
        nonlocal current
        done = 0
        capacity = len(dst)
        while done < capacity:
            if not len(current):
                nxt = next(it, None)
                if nxt is None:
                    break
                current = as_buffer(nxt, op="put")
                continue
            n = min(len(current), capacity - done)
            dst[done : done + n] = current[:n]
            current = current[n:]
            done += n
        return done

    return fill


def _fill_from_fd(fd: int) -> Callable[[memoryview], int]:
    def fill(dst: memoryview) -> int:
        done = 0
        while done < len(dst):
            n = os.readv(fd, [dst[done:]])
            if n == 0:
                break
            done += n
        return done

    return fill


def _fill_at_from_fd(fd: int) -> _FillAt:
    def fill_at(dst: memoryview, offset: int, length: int) -> int:
        done = 0
        while done < length:
            n = os.preadv(fd, [dst[done:length]], offset + done)
            if n == 0:
                break
            done += n
        return done

    return fill_at


def _fill_at_from_direct_fd(fd: int, align: int) -> _FillAt:
    def fill_at(dst: memoryview, offset: int, length: int) -> int:
        # ``offset`` (a chunk start) and ``len(dst)`` are aligned: read straight in,
        # then count only the bytes of this chunk (the file may have grown).
        return min(_direct_fill(fd, dst, offset, align), length)

    return fill_at


def _fill_from_direct_fd(fd: int, align: int) -> Callable[[memoryview], int]:
    pos = 0

    def fill(dst: memoryview) -> int:
        # ``dst`` is the aligned bounce buffer and every round but the last fills it,
        # so ``pos`` stays aligned for O_DIRECT.
        nonlocal pos
        n = _direct_fill(fd, dst, pos, align)
        pos += n
        return n

    return fill
