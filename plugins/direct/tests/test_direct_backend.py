"""direct:// specifics on real files: exact sizes, unaligned ranges, O_DIRECT really used."""

from __future__ import annotations

import errno
import mmap
import os
import random
from pathlib import Path
from typing import Any

import pytest

import s3dlio
from s3dlio.errors import (
    ConfigError,
    InvalidPathError,
    NotFoundError,
    NotSupportedError,
    StoreError,
)
from s3dlio.plugin import runtime as rt
from s3dlio.store import Capability
from s3dlio.testing import assert_failed_write_left_no_trace, put_with_file_size_limit

pytest.importorskip("s3dlio_direct")

from direct_testutil import fd_flags, no_temp_files, payload

from s3dlio_direct.store import DirectStore

pytestmark = pytest.mark.timeout(60)

MiB = 1 << 20
SIZES = [0, 1, 511, 4095, 4096, 4097, MiB + 17]


def _unwrap(store: Any) -> Any:
    """The backend's own store under core's middleware wrappers (``.inner`` chain)."""
    while hasattr(store, "inner"):
        store = store.inner
    return store


def _direct_store(root: str) -> DirectStore:
    store = _unwrap(rt.resolve(root)[0])
    assert isinstance(store, DirectStore)
    return store


# --------------------------------------------------------------------- naming


def test_scheme_is_served_by_direct_store(root: str, tmp_path: Path) -> None:
    wrapped, key = rt.resolve(f"{root}a/b.bin")
    store = _unwrap(wrapped)
    assert type(store) is DirectStore
    assert store.backend == "direct"
    assert key == f"{str(tmp_path)[1:]}/a/b.bin"
    assert Capability.DIRECT_IO in store.capabilities
    assert store.alignment == 4096
    assert store.uri(key) == f"{root}a/b.bin"


def test_capabilities() -> None:
    # file://'s, but its copy moves data through aligned buffers: not SERVER_COPY.
    assert DirectStore.capabilities == {Capability.CONDITIONAL_PUT, Capability.GET_INTO,
                                        Capability.BUCKETS, Capability.DIRECT_IO}


@pytest.mark.parametrize(
    "uri",
    ["direct://relative/path", "direct:///a/../b", "direct:///a//b", "direct:///a/./b", "direct:///a/\x00b"],
)
def test_bad_paths_are_invalid(uri: str) -> None:
    with pytest.raises(InvalidPathError):
        s3dlio.get(uri)
    with pytest.raises(InvalidPathError):
        s3dlio.put_bytes(uri, b"x")


def test_relative_uri_hint_names_three_slashes() -> None:
    with pytest.raises(InvalidPathError, match="direct:///"):
        s3dlio.get("direct://data/x.bin")


# ---------------------------------------------------------------- exact sizes


@pytest.mark.parametrize("size", SIZES)
def test_exact_size_round_trip(root: str, tmp_path: Path, size: int) -> None:
    data = payload(size)
    uri = f"{root}d/obj-{size}.bin"
    s3dlio.put_bytes(uri, data)
    path = tmp_path / "d" / f"obj-{size}.bin"
    assert path.stat().st_size == size  # the O_DIRECT padding was cut off
    assert path.read_bytes() == data  # readable by ordinary buffered I/O too
    got = s3dlio.get(uri)
    assert len(got) == size
    assert got == data
    assert s3dlio.stat(uri)["size"] == size
    assert no_temp_files(tmp_path)


@pytest.mark.parametrize("size", SIZES)
def test_reads_files_written_by_buffered_io(root: str, tmp_path: Path, size: int) -> None:
    data = payload(size, seed=7)
    (tmp_path / "plain.bin").write_bytes(data)
    assert s3dlio.get(f"{root}plain.bin") == data


def test_overwrite_with_shorter_object_leaves_no_stale_tail(root: str, tmp_path: Path) -> None:
    uri = f"{root}shrink.bin"
    s3dlio.put_bytes(uri, b"\xff" * 10_000)
    s3dlio.put_bytes(uri, b"abc")
    assert (tmp_path / "shrink.bin").read_bytes() == b"abc"
    assert s3dlio.get(uri) == b"abc"


# ------------------------------------------------------------ unaligned ranges

RANGE_SIZE = 3 * 4096 + 123
RANGES: list[tuple[int, int | None]] = [
    (0, 1), (1, 1), (1, 4095), (1, 4096), (4095, 2), (4096, 4096), (4097, 1),
    (100, 9000), (4000, 200), (8191, 4098), (0, RANGE_SIZE), (5, None), (4096, None),
    (RANGE_SIZE - 1, 1), (RANGE_SIZE - 1, 100), (RANGE_SIZE - 200, None), (RANGE_SIZE - 5, 10_000),
    (RANGE_SIZE, 1), (RANGE_SIZE + 4096, 10), (17, 0),
]


@pytest.mark.parametrize(("offset", "length"), RANGES)
def test_unaligned_get_range_returns_exact_bytes(
    root: str, offset: int, length: int | None
) -> None:
    data = payload(RANGE_SIZE, seed=3)
    uri = f"{root}ranges.bin"
    s3dlio.put_bytes(uri, data)
    want = data[offset:] if length is None else data[offset : offset + length]
    got = s3dlio.get_range(uri, offset, length)
    assert len(got) == len(want)
    assert got == want


def test_get_ranges_unaligned(root: str) -> None:
    data = payload(RANGE_SIZE, seed=4)
    uri = f"{root}multi.bin"
    s3dlio.put_bytes(uri, data)
    store, key = rt.resolve(uri)
    ranges = [(1, 10), (4095, 3), (9000, 4000), (RANGE_SIZE - 7, 7), (3, 0)]
    views = store.get_ranges(key, ranges, coalesce=0)
    assert [bytes(v) for v in views] == [data[o : o + n] for o, n in ranges]


@pytest.mark.parametrize("aligned_buffer", [False, True])
@pytest.mark.parametrize(
    ("offset", "length"), [(0, 8192), (1, 100), (4096, 4096), (4095, 9000), (8192, 8192)]
)
def test_get_range_into_any_buffer(
    root: str, offset: int, length: int, aligned_buffer: bool
) -> None:
    data = payload(RANGE_SIZE, seed=5)
    uri = f"{root}into.bin"
    s3dlio.put_bytes(uri, data)
    store, key = rt.resolve(uri)
    # mmap memory is page-aligned (the zero-copy path); a bytearray slice at +1 is not.
    backing: Any = mmap.mmap(-1, length + 4096) if aligned_buffer else bytearray(length + 1)
    with memoryview(backing) as whole:
        buf = whole[:length] if aligned_buffer else whole[1 : length + 1]
        got = store.get_range_into(key, offset, buf)
        assert got == len(data[offset : offset + length])
        assert buf[:got] == data[offset : offset + got]
        buf.release()
    if aligned_buffer:
        backing.close()


def test_split_reads_through_the_range_engine(
    monkeypatch: pytest.MonkeyPatch, root: str
) -> None:
    # 1 MiB threshold and an unaligned part size (rounded up to the alignment).
    monkeypatch.setenv("S3DLIO_RANGE_THRESHOLD_MB", "1")
    monkeypatch.setenv("S3DLIO_CHUNK_SIZE", "300001")
    monkeypatch.setenv("S3DLIO_RANGE_CONCURRENCY", "4")
    rt.reset()
    size = 3 * MiB + 17
    data = payload(size, seed=9)
    uri = f"{root}big.bin"
    s3dlio.put_bytes(uri, data)
    store = _direct_store(root)
    assert store._split_threshold == MiB

    import s3dlio_direct.store as direct_store

    calls: list[int] = []
    real = direct_store.parallel_read_into

    def spy(*args: Any, **kwargs: Any) -> int:
        calls.append(kwargs["chunk_size"])
        return real(*args, **kwargs)

    monkeypatch.setattr(direct_store, "parallel_read_into", spy)
    assert s3dlio.get(uri) == data
    assert s3dlio.get_range(uri, 4097, 2 * MiB + 3) == data[4097 : 4097 + 2 * MiB + 3]
    assert s3dlio.get_range(uri, MiB - 1, None) == data[MiB - 1 :]
    assert calls and all(c % 4096 == 0 for c in calls)


# -------------------------------------------------------------- writes, misc


def test_put_stream_crossing_bounce_buffers(root: str, tmp_path: Path) -> None:
    rng = random.Random(11)
    chunks = [rng.randbytes(rng.randint(0, 1_500_000)) for _ in range(14)]
    chunks.insert(3, b"")
    store, key = rt.resolve(f"{root}stream.bin")
    total = store.put_stream(key, iter(chunks))
    data = b"".join(chunks)
    assert total == len(data)
    assert (tmp_path / "stream.bin").read_bytes() == data


def test_put_stream_rejects_non_buffer_chunk(root: str, tmp_path: Path) -> None:
    store, key = rt.resolve(f"{root}bad-stream.bin")
    with pytest.raises(TypeError):
        store.put_stream(key, [b"ok", "not bytes"])  # type: ignore[list-item]
    assert not (tmp_path / "bad-stream.bin").exists()
    assert no_temp_files(tmp_path)


def test_copy_rename_upload_download_unaligned(root: str, tmp_path: Path) -> None:
    data = payload(9 * MiB + 333, seed=12)  # more than one 8 MiB bounce buffer
    src = tmp_path / "local-src.bin"
    src.write_bytes(data)
    store, key = rt.resolve(f"{root}up/obj.bin")
    assert store.put_file(key, str(src)) == len(data)
    assert (tmp_path / "up" / "obj.bin").read_bytes() == data
    _, copy_key = rt.resolve(f"{root}copy/obj.bin")
    store.copy(key, copy_key)
    assert (tmp_path / "copy" / "obj.bin").read_bytes() == data
    _, moved_key = rt.resolve(f"{root}moved/obj.bin")
    store.rename(copy_key, moved_key)
    assert not (tmp_path / "copy" / "obj.bin").exists()
    out = tmp_path / "out"
    s3dlio.download(f"{root}moved/", str(out))
    assert (out / "obj.bin").read_bytes() == data
    assert no_temp_files(tmp_path)


def test_get_many_on_direct(root: str) -> None:
    uris = [f"{root}many/{i:03d}.bin" for i in range(40)]
    datas = [payload(i * 1000 + i % 7, seed=i) for i in range(40)]
    s3dlio.put_many(list(zip(uris, datas, strict=True)))
    got = s3dlio.get_many(list(reversed(uris)), max_in_flight=16)
    assert [u for u, _ in got] == list(reversed(uris))
    assert [bytes(v) for _, v in got] == list(reversed(datas))
    count, total = s3dlio.get_many_stats(uris)
    assert (count, total) == (40, sum(map(len, datas)))


def test_missing_object_is_not_found(root: str) -> None:
    with pytest.raises(NotFoundError) as info:
        s3dlio.get(f"{root}nope.bin")
    assert info.value.op == "get"
    assert info.value.uri == f"{root}nope.bin"
    assert isinstance(info.value, FileNotFoundError)


def test_directory_is_not_an_object(root: str, tmp_path: Path) -> None:
    (tmp_path / "adir").mkdir()
    with pytest.raises(InvalidPathError):
        s3dlio.get(f"{root}adir")
    with pytest.raises(InvalidPathError):
        s3dlio.put_bytes(f"{root}adir", b"x")
    assert (tmp_path / "adir").is_dir()


def test_batch_window_is_capped_sensibly(root: str) -> None:
    store = _direct_store(root)
    assert store.max_useful_concurrency is not None
    assert 16 <= store.max_useful_concurrency <= 4096


def test_alignment_setting(monkeypatch: pytest.MonkeyPatch, root: str) -> None:
    monkeypatch.setenv("S3DLIO_DIRECT_ALIGNMENT", "3000")
    rt.reset()
    with pytest.raises(ConfigError, match="power of two"):
        s3dlio.get(f"{root}x.bin")
    monkeypatch.setenv("S3DLIO_DIRECT_ALIGNMENT", "8192")
    rt.reset()
    data = payload(12345)
    s3dlio.put_bytes(f"{root}x.bin", data)
    assert _direct_store(root)._align == 8192
    assert s3dlio.get_range(f"{root}x.bin", 8191, 3) == data[8191:8194]


# --------------------------------------------------------- O_DIRECT for real


@pytest.mark.skipif(not os.path.exists("/proc/self/fdinfo"), reason="needs Linux /proc/self/fdinfo")
@pytest.mark.parametrize("scheme", ["direct", "file"])
def test_data_moves_through_o_direct_descriptors(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, scheme: str
) -> None:
    """Every data read/write on direct:// uses an O_DIRECT fd (and file:// none)."""
    seen: list[tuple[str, bool]] = []
    real_preadv, real_readv, real_pwrite, real_write = os.preadv, os.readv, os.pwrite, os.write

    def record(kind: str, fd: int) -> None:
        if os.path.realpath(f"/proc/self/fd/{fd}").startswith(str(tmp_path)):
            seen.append((kind, bool(fd_flags(fd) & os.O_DIRECT)))

    def preadv(fd: int, buffers: Any, offset: int, *rest: Any) -> int:
        record("read", fd)
        return real_preadv(fd, buffers, offset, *rest)

    def readv(fd: int, buffers: Any) -> int:
        record("read", fd)
        return real_readv(fd, buffers)

    def pwrite(fd: int, data: Any, offset: int) -> int:
        record("write", fd)
        return real_pwrite(fd, data, offset)

    def write(fd: int, data: Any) -> int:
        record("write", fd)
        return real_write(fd, data)

    monkeypatch.setattr(os, "preadv", preadv)
    monkeypatch.setattr(os, "readv", readv)
    monkeypatch.setattr(os, "pwrite", pwrite)
    monkeypatch.setattr(os, "write", write)
    uri = f"{scheme}://{tmp_path}/probe.bin"
    data = payload(5000)
    s3dlio.put_bytes(uri, data)
    assert s3dlio.get(uri) == data
    assert s3dlio.get_range(uri, 3, 4500) == data[3:4503]
    store, key = rt.resolve(f"{scheme}://{tmp_path}/created.bin")
    assert store.put_if_absent(key, memoryview(data)) is True  # create-only writes too
    monkeypatch.undo()
    assert s3dlio.get(f"{scheme}://{tmp_path}/created.bin") == data
    kinds = {kind for kind, _ in seen}
    assert kinds == {"read", "write"}, seen
    direct_flags = {flag for _, flag in seen}
    assert direct_flags == ({True} if scheme == "direct" else {False}), seen


def _tmpfs_refuses_o_direct(directory: str) -> bool:
    probe = os.path.join(directory, f".s3dlio-odirect-probe-{os.getpid()}")
    try:
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_DIRECT, 0o600)
    except OSError as exc:
        if exc.errno == errno.EINVAL:
            return True
        raise
    os.close(fd)
    os.unlink(probe)
    return False


@pytest.mark.skipif(not os.path.isdir("/dev/shm"), reason="no /dev/shm")
def test_refusing_filesystem_raises_not_supported_on_real_tmpfs() -> None:
    if not _tmpfs_refuses_o_direct("/dev/shm"):
        pytest.skip("tmpfs on this kernel supports O_DIRECT (Linux >= 6.6): no refusing filesystem")
    import tempfile

    with tempfile.TemporaryDirectory(dir="/dev/shm") as d:
        (Path(d) / "old.bin").write_bytes(b"old")
        with pytest.raises(NotSupportedError, match="file://"):
            s3dlio.put_bytes(f"direct://{d}/old.bin", b"new")
        with pytest.raises(NotSupportedError):
            s3dlio.get(f"direct://{d}/old.bin")
        assert (Path(d) / "old.bin").read_bytes() == b"old"
        assert os.listdir(d) == ["old.bin"]


def test_refused_o_direct_never_falls_back_to_buffered_io(
    monkeypatch: pytest.MonkeyPatch, root: str, tmp_path: Path
) -> None:
    """Fault injection: the kernel answers EINVAL to O_DIRECT opens, as tmpfs did before 6.6.

    Tmpfs on current kernels accepts O_DIRECT, so the refusal is injected at
    ``os.open``; any retry without O_DIRECT (a buffered fallback) is recorded.
    """
    target = tmp_path / "old.bin"
    target.write_bytes(b"old content")
    opened_without_direct: list[str] = []
    real_open = os.open

    def refusing_open(path: Any, flags: int, *args: Any, **kwargs: Any) -> int:
        if str(path).startswith(str(tmp_path)):
            if flags & os.O_DIRECT:
                raise OSError(errno.EINVAL, "Invalid argument", str(path))
            if not os.path.isdir(path):
                opened_without_direct.append(str(path))
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", refusing_open)
    uri = f"{root}old.bin"
    with pytest.raises(NotSupportedError) as put_info:
        s3dlio.put_bytes(uri, b"new content")
    with pytest.raises(NotSupportedError) as get_info:
        s3dlio.get(uri)
    with pytest.raises(NotSupportedError):
        s3dlio.get_range(uri, 1, 2)
    monkeypatch.undo()
    for info, op in ((put_info, "put"), (get_info, "get")):
        err = info.value
        assert err.op == op
        assert err.uri == uri
        assert err.backend == "direct"
        assert "file://" in str(err) and "O_DIRECT" in str(err)
        assert isinstance(err.__cause__, (OSError, StoreError))
    assert opened_without_direct == []
    assert target.read_bytes() == b"old content"
    assert no_temp_files(tmp_path)


# ------------------------------------------------------------ ENOSPC / EFBIG


def test_file_size_limit_gives_typed_error_and_keeps_destination(root: str, tmp_path: Path) -> None:
    uri = f"{root}limited.bin"
    s3dlio.put_bytes(uri, b"previous")
    report = put_with_file_size_limit(uri, size=MiB + 5, limit=64 * 1024)
    assert_failed_write_left_no_trace(report, uri, tmp_path / "limited.bin", b"previous")
