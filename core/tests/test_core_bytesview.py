"""BytesView: bytes-like, read-only, buffer protocol, no numpy needed."""

from __future__ import annotations

import pickle
import subprocess
import sys

import pytest

from s3dlio.bytesview import BytesView

DATA = bytes(range(256)) * 4


def make() -> BytesView:
    view, mv = BytesView.allocate(len(DATA))
    mv[:] = DATA
    return view


def test_len_eq_bytes() -> None:
    v = make()
    assert len(v) == 1024
    assert v == DATA and v == bytearray(DATA) and v == memoryview(DATA)
    assert v != DATA[:-1] and v != b"x" * 1024
    assert bytes(v) == DATA and v.to_bytes() == DATA
    assert BytesView() == b"" and len(BytesView()) == 0
    assert "1024 bytes" in repr(v)


def test_indexing_and_slicing() -> None:
    v = make()
    assert v[0] == 0 and v[255] == 255 and v[-1] == DATA[-1]
    with pytest.raises(IndexError):
        v[5000]
    s = v[10:20]
    assert isinstance(s, BytesView) and s == DATA[10:20]
    assert v[::2] == DATA[::2]
    assert list(v[:3]) == [0, 1, 2]


@pytest.mark.parametrize(
    "mutate",
    [
        lambda v: v.__setitem__(0, 1),
        lambda v: v.__setitem__(slice(0, 2), b"ab"),
        lambda v: v.__delitem__(0),
        lambda v: v.append(1),
        lambda v: v.extend(b"ab"),
        lambda v: v.clear(),
        lambda v: v.pop(),
        lambda v: v.insert(0, 1),
        lambda v: v.remove(0),
        lambda v: v.reverse(),
    ],
)
def test_mutators_raise(mutate) -> None:  # type: ignore[no-untyped-def]
    v = make()
    with pytest.raises((TypeError, AttributeError)):
        mutate(v)
    assert v == DATA


def test_inplace_ops_do_not_mutate() -> None:
    v = make()
    w = v
    try:
        w += b"x"
    except TypeError:
        pass
    assert v == DATA and len(v) == 1024


def test_memoryview_is_readonly_flat_bytes() -> None:
    v = make()
    mv = v.memoryview()
    assert mv.readonly and mv.format == "B" and mv.ndim == 1 and mv.nbytes == 1024
    with pytest.raises(TypeError):
        mv[0] = 1
    assert bytes(memoryview(v)) == DATA  # buffer protocol


def test_wrap_and_unhashable() -> None:
    v = BytesView.wrap(b"abc")
    assert v == b"abc"
    assert BytesView.wrap(v) is v
    with pytest.raises(TypeError):
        hash(v)


def test_pickle_round_trip() -> None:
    v = make()
    clone = pickle.loads(pickle.dumps(v))
    assert type(clone) is BytesView and clone == DATA


def test_no_numpy_needed() -> None:
    code = (
        "import sys; import s3dlio; from s3dlio.bytesview import BytesView;"
        "v, mv = BytesView.allocate(3); mv[:] = b'abc'; assert v == b'abc';"
        "assert v[1:] == b'bc'; assert 'numpy' not in sys.modules; print('ok')"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "ok"


def test_numpy_frombuffer_zero_copy_when_available() -> None:
    np = pytest.importorskip("numpy")
    v = make()
    arr = np.frombuffer(v, dtype=np.uint8)
    assert arr.tobytes() == DATA


def test_allocate_large_is_exact_and_cache_line_aligned() -> None:
    """Large views skip the zero fill and start on a cache line (fast kernel copies)."""
    import ctypes

    for size in (64 << 10, (1 << 20) + 17, 5 << 20):
        view, mv = BytesView.allocate(size)
        assert len(view) == size and len(mv) == size and not mv.readonly
        probe = ctypes.c_char.from_buffer(mv)
        address = ctypes.addressof(probe)
        del probe
        assert address % 64 == 0
        mv[:] = b"\x5a" * size  # the caller fills every byte; the view shows it
        mv.release()
        assert view == b"\x5a" * size


def test_allocate_zeroed_gives_zeros() -> None:
    view, mv = BytesView.allocate(1 << 20, zeroed=True)
    mv.release()
    assert view == bytes(1 << 20)


@pytest.mark.parametrize("size", [0, 100, 64 << 10, 1 << 20, 8 << 20, 40 << 20])
def test_allocate_fresh_says_zero_only_when_it_is(size: int) -> None:
    # Dirty the heap with freed blocks of the same size first: a reused block must not
    # be reported as zero memory.
    for _ in range(3):
        view, mv = BytesView.allocate(size)
        mv[:] = b"\xff" * size
        del mv, view
    from s3dlio.bytesview import buffer_pool

    buffer_pool().clear()  # a recycled block is never zero memory; this is about the allocator
    view, mv, fresh = BytesView.allocate_fresh(size)
    assert len(view) == size and len(mv) == size
    if fresh:
        assert view.count(0) == size
    if size >= 40 << 20 and sys.platform.startswith("linux"):
        import platform

        if platform.libc_ver()[0] == "glibc" and sys.version_info < (3, 12):
            assert fresh  # above glibc's largest mmap threshold: always straight from mmap
    del mv
