"""``BytesView``: the read-only, zero-copy result of every read.

A ``BytesView`` exposes the buffer protocol, so ``numpy.frombuffer`` and
``torch.frombuffer`` wrap it without copying. It also behaves like ``bytes`` where
that is cheap: ``len``, ``==`` by content, indexing, slicing, ``bytes(bv)``.

Two implementations share one API:

* Python >= 3.12 (PEP 688): a small class whose ``__buffer__`` exports a read-only
  memoryview of the owner. Slices are zero-copy and a writable export raises
  ``BufferError``.
* Python 3.11: a ``bytearray`` subclass. Backends fill it in place (``readinto``),
  so there is still no intermediate copy; the mutating methods raise. Slices copy,
  and ``memoryview(bv)`` is writable because 3.11 gives pure-Python classes no way to
  refuse that; ``bv.memoryview()`` is read-only on every version.

Backends never construct views from ``bytes`` on the hot path: they call
:meth:`BytesView.allocate` and read into the writable memoryview it returns.

Recycled memory (Python 3.11, CPython): a large view that dies — nothing refers to it
any more, so no memoryview, numpy array or torch tensor made from it is alive (each of
them holds a reference to the view) — hands its block, already faulted in, to a bounded
process-wide pool, and the next :meth:`BytesView.allocate` of a similar size takes it
instead of fresh pages, which cost ≈ 0.5 s per GB of first-touch page faults here
(docs/performance.md). Bounds and the switch: ``[core] buffer_pool_mb`` /
``buffer_pool_count`` (:func:`configure_pool`); a forked child empties its pool.
"""

from __future__ import annotations

import os
import sys
import threading
from bisect import bisect_left, insort
from typing import TYPE_CHECKING, Any, NoReturn, SupportsIndex, overload

if TYPE_CHECKING:
    from typing_extensions import Buffer

__all__ = ["BufferPool", "BytesView", "buffer_pool", "configure_pool"]


_ALIGN_FROM = 64 << 10
_CACHE_LINE = 64
_HUGEPAGE_FROM = 4 << 20
_MADV_HUGEPAGE = 14
_native: list[Any] | None = None


def _native_calls() -> list[Any]:
    """``[PyByteArray_Resize, madvise]`` through ctypes; entries are ``None`` if unavailable."""
    global _native
    if _native is None:
        resize = madvise = None
        try:
            import ctypes

            resize = ctypes.pythonapi.PyByteArray_Resize
            resize.argtypes = [ctypes.py_object, ctypes.c_ssize_t]
            resize.restype = ctypes.c_int
            if sys.platform.startswith("linux"):
                madvise = ctypes.CDLL(None, use_errno=True).madvise
                madvise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
                madvise.restype = ctypes.c_int
        except (ImportError, AttributeError, OSError):  # not CPython / no libc symbol
            pass
        _native = [resize, madvise]
    return _native


def _address(buf: bytearray) -> int:
    import ctypes

    probe = ctypes.c_char.from_buffer(buf)
    try:
        return ctypes.addressof(probe)
    finally:
        del probe  # releases the export so the bytearray may be resized again


def _fast_buffer(cls: type[bytearray], size: int, *, huge_pages: bool = True) -> Any:
    """:func:`_fast_buffer_fresh` without the zero-memory question (reads need no answer)."""
    return _fast_buffer_fresh(cls, size, huge_pages=huge_pages, detect=False)[0]


def _fast_buffer_fresh(
    cls: type[bytearray], size: int, *, huge_pages: bool = True, detect: bool = True
) -> tuple[Any, bool]:
    """A ``cls`` of ``size`` *uninitialised* bytes, cache-line aligned, huge pages advised.

    ``bytearray(n)`` zero-fills, touching every page once before the read touches it
    again, and glibc places large blocks at page + 16, where the kernel copies about
    2x slower. Growing an empty bytearray with ``PyByteArray_Resize`` skips the zero
    fill; dropping its first bytes only moves its start pointer (O(1)); and
    ``MADV_HUGEPAGE`` turns 512 first-touch faults into one. Together: fresh 8 MiB
    reads 1.8x faster (docs/performance.md). ``(None, False)`` when not on CPython.
    The flag tells whether the block came straight from the kernel (all zeros).
    """
    resize, madvise = _native_calls()
    if resize is None:
        return None, False
    view = cls()
    if resize(view, _capacity(size)) != 0:
        return None, False
    fresh = detect and _fresh_from_kernel(view)
    addr = _address(view)
    pad = (-addr) % _CACHE_LINE
    if pad:
        bytearray.__delitem__(view, slice(0, pad))
    if resize(view, size) != 0:  # a small shrink: CPython keeps the block in place
        return None, False
    if huge_pages and madvise is not None and size >= _HUGEPAGE_FROM:
        start = (addr + pad + 4095) & ~4095
        end = (addr + pad + size) & ~4095
        if end > start:
            madvise(start, end - start, _MADV_HUGEPAGE)  # advisory; failure is harmless
    return view, fresh


def _capacity(size: int) -> int:
    """The block a fresh ``size``-byte view gets: room for the cache-line shift, rounded up
    to 1/16–1/32 of the size, so the pool can hand it to a somewhat larger request later
    (a tail never written is never faulted in: it costs address space only)."""
    step = max(4096, 1 << max(0, size.bit_length() - 5))
    return -(-(size + _CACHE_LINE) // step) * step


_glibc: bool | None = None
_IS_MMAPPED = 0x2
"""glibc's chunk-header flag of a block served by its own ``mmap`` (never reused)."""


def _fresh_from_kernel(view: bytearray) -> bool:
    """Whether ``view``'s block came straight from ``mmap`` and so still holds zeros.

    glibc serves large requests with a private ``mmap`` (zero-filled by the kernel)
    and marks the chunk header (the ``size_t`` before the pointer) with
    ``IS_MMAPPED``; such blocks are unmapped on free, never reused. Anything else
    (another libc, a debug allocator, a reused heap block) answers ``False``; as a
    cross-check, three sampled bytes must be zero too.
    """
    global _glibc
    if _glibc is None:
        import platform

        _glibc = sys.platform.startswith("linux") and platform.libc_ver()[0] == "glibc"
    if not _glibc or not len(view):
        return False
    import ctypes

    header = ctypes.c_size_t.from_address(_address(view) - ctypes.sizeof(ctypes.c_size_t)).value
    if not header & _IS_MMAPPED:
        return False
    n = len(view)
    return view[0] == 0 and view[n // 2] == 0 and view[n - 1] == 0


# --------------------------------------------------------------------------- the pool
_POOL_FROM = _ALIGN_FROM
"""Smallest block the pool keeps: smaller ones come from the allocator's own free lists,
already faulted in, at no cost a pool could save."""
DEFAULT_POOL_MB = 2048
DEFAULT_POOL_COUNT = 1024


class _ByteArrayFields:
    """The fields of a CPython ``PyByteArrayObject`` (3.11–3.13 layout), through ctypes.

    ``ob_size, ob_alloc, ob_bytes, ob_start, ob_exports`` follow the object header, so
    one 40-byte read takes a dying view's block (and tells whether anything still exports
    it) and one 32-byte write hands a block to a new view: the block itself is never
    copied nor freed. The layout is checked once against live objects (:meth:`works`);
    where it does not match (another interpreter or layout), the pool stays off.
    """

    _ok: bool | None = None
    _head = 2 * 8  # ob_refcnt, ob_type
    _layout = None  # struct.Struct("nnPPn")
    _string_at: Any = None
    _memmove: Any = None
    _memset: Any = None

    @classmethod
    def works(cls) -> bool:
        if cls._ok is None:
            cls._ok = False
            if sys.implementation.name == "cpython":
                try:
                    cls._ok = cls._probe()
                except Exception:  # any surprise: no pool, never a wrong move
                    cls._ok = False
        return cls._ok

    @classmethod
    def _probe(cls) -> bool:
        import ctypes
        import struct

        cls._head = 2 * ctypes.sizeof(ctypes.c_void_p)
        cls._layout = struct.Struct("nnPPn")
        cls._string_at, cls._memmove, cls._memset = ctypes.string_at, ctypes.memmove, ctypes.memset
        probe = bytearray(b"probe-layout")
        size, alloc, start0, start, exports = cls.read(probe)
        if (size, alloc, exports) != (len(probe), probe.__alloc__(), 0):
            return False
        if start != _address(probe) or start0 != start:
            return False
        with memoryview(probe):
            exported = cls.read(probe)[4]
        moved = bytearray()
        cls.take(probe, moved)
        cls.put(moved, (size, alloc, start0, start))
        return exported == 1 and cls.read(probe)[:4] == (0, 0, 0, 0) and moved == b"probe-layout"

    @classmethod
    def read(cls, a: bytearray) -> tuple[int, int, int, int, int]:
        """``(size, alloc, bytes, start, exports)`` of ``a``."""
        out: tuple[int, int, int, int, int] = cls._layout.unpack(  # type: ignore[union-attr]
            cls._string_at(id(a) + cls._head, 40))
        return out

    @classmethod
    def take(cls, a: bytearray, _into: bytearray | None = None) -> tuple[int, int, int, int] | None:
        """Detach ``a``'s block (``a`` is left empty); ``None`` if it is exported or empty."""
        size, alloc, start0, start, exports = cls.read(a)
        if exports or not start0:  # never move memory someone holds a view of
            return None
        cls._memset(id(a) + cls._head, 0, 32)
        if _into is not None:
            cls.put(_into, (size, alloc, start0, start))
        return size, alloc, start0, start

    @classmethod
    def put(cls, a: bytearray, block: tuple[int, ...]) -> None:
        """Give the empty ``a`` the detached ``block`` (length ``block[0]``; an optional
        fifth item, the length it had, skips rewriting a trailing NUL already there)."""
        cls._memmove(id(a) + cls._head, cls._layout.pack(*block[:4], 0), 32)  # type: ignore[union-attr]
        if len(block) < 5 or block[4] != block[0]:
            cls._memset(block[3] + block[0], 0, 1)  # the trailing NUL bytearray keeps


class BufferPool:
    """A bounded pool of freed, already faulted-in blocks, keyed by their capacity.

    Blocks arrive only from views that died (refcount zero: no export can be alive, and
    the exports counter is checked again before the block moves), detached from them, so
    nothing outside the pool can reach one. ``take(n)`` hands out a block with room for
    ``n`` bytes and at most twice that (a bigger one would be shrunk, which moves it).
    Bounded by total capacity (``max_bytes``) and by ``max_count`` blocks; a block that
    would overflow them evicts (frees) the least recently returned ones. Thread-safe; a
    forked child starts empty.
    """

    def __init__(self, max_bytes: int = DEFAULT_POOL_MB << 20, max_count: int = DEFAULT_POOL_COUNT) -> None:
        self.max_bytes = max_bytes
        self.max_count = max_count
        self._free: dict[int, list[tuple[int, int, int, int, int]]] = {}
        """capacity → blocks ``(size, alloc, bytes, start, seq)``, most recent last"""
        self._caps: list[int] = []  # sorted keys of _free
        self._seq = 0  # return order, for evicting the least recently returned block
        self._bytes = 0
        self._count = 0
        self.hits = self.misses = self.returned = self.evicted = 0
        self._lock = threading.RLock()  # re-entrant: a GC pass inside take() may run give()

    @property
    def enabled(self) -> bool:
        return self.max_bytes > 0 and self.max_count > 0 and _ByteArrayFields.works()

    @property
    def held_bytes(self) -> int:
        """Total capacity of the blocks waiting in the pool."""
        return self._bytes

    def __len__(self) -> int:
        return self._count

    def configure(self, max_bytes: int, max_count: int) -> None:
        """New bounds; blocks beyond them are freed now."""
        with self._lock:
            self.max_bytes, self.max_count = max(0, max_bytes), max(0, max_count)
            while self._count and (self._bytes > self.max_bytes or self._count > self.max_count):
                _free_block(self._pop(self._caps[-1]))

    def take(self, size: int) -> tuple[int, int, int, int] | None:
        """A pooled block with room for ``size`` bytes, or ``None``."""
        with self._lock:
            caps = self._caps
            for i in range(bisect_left(caps, size + 1), len(caps)):
                cap = caps[i]
                if cap > 2 * size:  # resizing down to ``size`` would move the block
                    break
                _size, alloc, start0, start = self._free[cap][-1][:4]
                if alloc - (start - start0) - 1 >= size:
                    self.hits += 1
                    return self._pop(cap)
            self.misses += 1
            return None

    def _pop(self, cap: int) -> tuple[int, int, int, int]:
        blocks = self._free[cap]
        block = blocks.pop()
        if not blocks:
            del self._free[cap]
            self._caps.remove(cap)
        self._bytes -= cap
        self._count -= 1
        return block[0], block[1], block[2], block[3]

    def give(self, view: bytearray) -> bool:
        """Detach the block of the dying ``view`` into the pool if it fits the bounds."""
        cap = bytearray.__alloc__(view)
        if cap < _POOL_FROM or cap > self.max_bytes or not _ByteArrayFields.works():
            return False
        evicted = []
        with self._lock:
            block = _ByteArrayFields.take(view)
            if block is None:
                return False
            # Full: the least recently returned blocks make room (a size no longer read
            # must not keep the pool from serving the sizes read now).
            while self._count and (self._count >= self.max_count
                                   or self._bytes + cap > self.max_bytes):
                evicted.append(self._evict_oldest())
                self.evicted += 1
            blocks = self._free.get(cap)
            if blocks is None:
                blocks = self._free[cap] = []
                insort(self._caps, cap)
            self._seq += 1
            blocks.append((*block, self._seq))
            self._bytes += cap
            self._count += 1
            self.returned += 1
        for old in evicted:
            _free_block(old)
        return True

    def _evict_oldest(self) -> tuple[int, int, int, int]:
        cap = min(self._caps, key=lambda c: self._free[c][0][4])
        blocks = self._free[cap]
        block = blocks.pop(0)
        if not blocks:
            del self._free[cap]
            self._caps.remove(cap)
        self._bytes -= cap
        self._count -= 1
        return block[0], block[1], block[2], block[3]

    def clear(self) -> None:
        """Free every pooled block."""
        with self._lock:
            free, self._free, self._caps = self._free, {}, []
            self._bytes = self._count = 0
        for blocks in free.values():
            for block in blocks:
                _free_block(block[:4])

    def _after_fork_in_child(self) -> None:
        # A child never reuses the parent's pooled blocks: they are forgotten, not freed
        # (freed, the child's allocator would hand them out again, old content and all);
        # their pages stay shared copy-on-write with the parent and cost no new memory.
        self._lock = threading.RLock()
        self._free, self._caps = {}, []
        self._bytes = self._count = 0
        self.hits = self.misses = self.returned = self.evicted = 0

    def stats(self) -> dict[str, int]:
        """Counters and sizes, for diagnosis and tests."""
        return {"blocks": self._count, "bytes": self._bytes, "max_bytes": self.max_bytes,
                "max_count": self.max_count, "hits": self.hits, "misses": self.misses,
                "returned": self.returned, "evicted": self.evicted}


def _free_block(block: tuple[int, int, int, int]) -> None:
    """Free a detached block the way ``bytearray`` frees its own: give it to one, drop it."""
    holder = bytearray()
    _ByteArrayFields.put(holder, block)
    del holder


_pool = BufferPool()
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_pool._after_fork_in_child)


def buffer_pool() -> BufferPool:
    """The process-wide pool behind :meth:`BytesView.allocate`."""
    return _pool


def configure_pool(max_mb: int, max_count: int) -> None:
    """Bound the pool to ``max_mb`` MiB and ``max_count`` blocks (either 0: off, freed now).

    ``[core] buffer_pool_mb`` / ``buffer_pool_count`` land here when the runtime starts.
    """
    _pool.configure(max_mb << 20, max_count)


def _readonly(*_args: Any, **_kwargs: Any) -> NoReturn:
    raise TypeError("BytesView is read-only")


if sys.version_info >= (3, 12):  # pragma: no cover - exercised on 3.12+ only
    import inspect

    class BytesView:
        """Read-only zero-copy view over a buffer (PEP 688 implementation)."""

        __slots__ = ("_mv", "_owner")
        __hash__ = None  # type: ignore[assignment]

        def __init__(self, owner: Buffer = b"") -> None:
            self._owner = owner
            self._mv = memoryview(owner).cast("B").toreadonly()

        @classmethod
        def allocate(
            cls, size: int, *, zeroed: bool = False, huge_pages: bool = True
        ) -> tuple[BytesView, memoryview]:
            """Return a new view of ``size`` bytes and a writable memoryview to fill it."""
            owner = bytearray(size)
            return cls(owner), memoryview(owner)

        @classmethod
        def allocate_fresh(
            cls, size: int, *, huge_pages: bool = True
        ) -> tuple[BytesView, memoryview, bool]:
            """Like :meth:`allocate`, plus whether the memory is known to hold zeros."""
            view, mv = cls.allocate(size)
            return view, mv, True

        @classmethod
        def wrap(cls, data: Buffer) -> BytesView:
            """View ``data`` without copying it (the caller must not mutate it afterwards)."""
            if isinstance(data, BytesView):
                return data
            return cls(data)

        def __buffer__(self, flags: int) -> memoryview:
            if flags & inspect.BufferFlags.WRITABLE:
                raise BufferError("BytesView is read-only")
            return self._mv

        def __release_buffer__(self, view: memoryview) -> None:
            pass

        def __len__(self) -> int:
            return self._mv.nbytes

        def __bytes__(self) -> bytes:
            return self._mv.tobytes()

        def to_bytes(self) -> bytes:
            """Copy the content into a new ``bytes`` object."""
            return self._mv.tobytes()

        def memoryview(self) -> memoryview:
            """Return a read-only, 1-D, format ``B`` memoryview (no copy)."""
            return self._mv

        @overload
        def __getitem__(self, index: SupportsIndex) -> int: ...
        @overload
        def __getitem__(self, index: slice) -> BytesView: ...
        def __getitem__(self, index: SupportsIndex | slice) -> int | BytesView:
            if isinstance(index, slice):
                return BytesView(self._mv[index])
            return self._mv[index]  # type: ignore[no-any-return]

        def __iter__(self) -> Any:
            return iter(self._mv)

        def __eq__(self, other: object) -> bool:
            try:
                return self._mv == memoryview(other).cast("B")  # type: ignore[arg-type]
            except TypeError:
                return NotImplemented

        def __repr__(self) -> str:
            return f"BytesView({len(self)} bytes)"

        def __reduce__(self) -> tuple[Any, ...]:
            return (BytesView, (self._mv.tobytes(),))

        def _truncate(self, size: int) -> None:
            self._mv = self._mv[:size]

else:

    class BytesView(bytearray):
        """Read-only zero-copy view (Python 3.11: a ``bytearray`` filled in place)."""

        __slots__ = ()
        __hash__ = None

        @classmethod
        def allocate(
            cls, size: int, *, zeroed: bool = False, huge_pages: bool = True
        ) -> tuple[BytesView, memoryview]:
            """Return a new view of ``size`` bytes and a writable memoryview to fill it.

            The content is undefined until filled unless ``zeroed``: callers fill every
            byte or truncate the view to what they filled (see :func:`_fast_buffer`).
            ``huge_pages=False`` skips ``MADV_HUGEPAGE``: network backends, whose
            buffers fill from many concurrent sockets, measured faster without it
            (direct compaction under THP ``defrag=madvise``; docs/performance.md).
            """
            if not zeroed and size >= _ALIGN_FROM:
                view = _pooled(cls, size) if _pool._count else None
                if view is None:
                    view = _fast_buffer(cls, size, huge_pages=huge_pages)
                if view is not None:
                    return view, memoryview(view)
            return (view := cls(size)), memoryview(view)

        @classmethod
        def allocate_fresh(
            cls, size: int, *, huge_pages: bool = True
        ) -> tuple[BytesView, memoryview, bool]:
            """Like :meth:`allocate`, plus whether the memory is known to hold zeros.

            Large blocks usually come straight from the kernel, zero-filled and not yet
            touched: a writer that knows this can skip writing zeros and leave those
            pages untouched (datagen's compressible tails). ``huge_pages=False`` keeps
            4 KiB pages, so a skipped zero run leaves its pages unfaulted (a huge page
            is zeroed whole at its first touch). A block recycled by the pool is
            faulted in already and reported as not zero.
            """
            if size >= _ALIGN_FROM:
                pooled = _pooled(cls, size) if _pool._count else None
                if pooled is not None:  # recycled: faulted in, but not zeros
                    return pooled, memoryview(pooled), False
                view, fresh = _fast_buffer_fresh(cls, size, huge_pages=huge_pages)
                if view is not None:
                    return view, memoryview(view), fresh
            view, mv = cls.allocate(size)
            return view, mv, False

        @classmethod
        def wrap(cls, data: Buffer) -> BytesView:
            """Return a view holding ``data`` (one copy on 3.11; zero-copy on 3.12+)."""
            if isinstance(data, BytesView):
                return data
            src = memoryview(data)
            if src.nbytes >= _ALIGN_FROM and src.c_contiguous:
                # The one copy lands in recycled memory, or a block the pool can recycle.
                view, mv = cls.allocate(src.nbytes)
                with mv:
                    mv[:] = src if src.format == "B" and src.ndim == 1 else src.cast("B")
                return view
            return cls(data)

        def to_bytes(self) -> bytes:
            """Copy the content into a new ``bytes`` object."""
            return bytes(self)

        def memoryview(self) -> memoryview:
            """Return a read-only, 1-D, format ``B`` memoryview (no copy)."""
            return memoryview(self).toreadonly()

        @overload
        def __getitem__(self, index: SupportsIndex) -> int: ...
        @overload
        def __getitem__(self, index: slice) -> BytesView: ...
        def __getitem__(self, index: SupportsIndex | slice) -> int | BytesView:
            if isinstance(index, slice):
                return BytesView(bytearray.__getitem__(self, index))
            return bytearray.__getitem__(self, index)

        def __repr__(self) -> str:
            return f"BytesView({len(self)} bytes)"

        __str__ = __repr__

        def __del__(self) -> None:
            # Refcount zero: no memoryview, numpy array or tensor of this view is alive
            # (each holds a reference), so its block may serve the next allocate().
            if bytearray.__alloc__(self) >= _POOL_FROM:
                try:
                    _pool.give(self)
                except Exception:
                    pass

        def __reduce__(self) -> tuple[Any, ...]:
            return (BytesView, (bytes(self),))

        def _truncate(self, size: int) -> None:
            bytearray.__delitem__(self, slice(size, None))

        __setitem__ = _readonly
        __delitem__ = _readonly
        __iadd__ = _readonly
        __imul__ = _readonly
        append = _readonly
        extend = _readonly
        insert = _readonly
        pop = _readonly
        remove = _readonly
        clear = _readonly
        reverse = _readonly


    def _pooled(cls: type[BytesView], size: int) -> BytesView | None:
        """A view of ``size`` bytes on a pooled block, or ``None`` when none fits."""
        block = _pool.take(size)
        if block is None:
            return None
        view = cls()
        # Within the block's room; the old length tells whether the NUL is in place.
        _ByteArrayFields.put(view, (size, block[1], block[2], block[3], block[0]))
        return view
