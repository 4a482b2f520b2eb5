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
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any, NoReturn, SupportsIndex, overload

if TYPE_CHECKING:
    from typing_extensions import Buffer

__all__ = ["BytesView"]


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
    if resize(view, size + _CACHE_LINE) != 0:
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
            is zeroed whole at its first touch).
            """
            if size >= _ALIGN_FROM:
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
