"""direct:// parallel writes of large objects on real files: exact bytes, O_DIRECT, failures."""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

import pytest

import s3dlio
from s3dlio.plugin import runtime as rt
from s3dlio.testing import assert_failed_write_left_no_trace, put_with_file_size_limit

pytest.importorskip("s3dlio_direct")

from direct_testutil import fd_flags, no_temp_files, payload

from s3dlio_direct import store as direct_store
from s3dlio_direct.store import _WRITE_CHUNK, DEFAULT_PARALLEL_WRITE, _ChunkBuffers

pytestmark = pytest.mark.timeout(120)

MiB = 1 << 20
T = DEFAULT_PARALLEL_WRITE
SIZES = [T - 1, T, T + 1, T + 4097, 3 * _WRITE_CHUNK + 17]












class _WriteProbe:
    """Records every ``os.pwrite``/``os.write`` into ``directory``: thread, O_DIRECT, overlap."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, directory: Path) -> None:
        self.calls: list[tuple[int, bool]] = []
        self.max_in_flight = 0
        self._in_flight = 0
        self._lock = threading.Lock()
        real_pwrite, real_write = os.pwrite, os.write

        def mine(fd: int) -> bool:
            return os.path.realpath(f"/proc/self/fd/{fd}").startswith(str(directory))

        def pwrite(fd: int, data: Any, offset: int) -> int:
            if not mine(fd):
                return real_pwrite(fd, data, offset)
            with self._lock:
                self.calls.append((threading.get_ident(), bool(fd_flags(fd) & os.O_DIRECT)))
                self._in_flight += 1
                self.max_in_flight = max(self.max_in_flight, self._in_flight)
            try:
                return real_pwrite(fd, data, offset)
            finally:
                with self._lock:
                    self._in_flight -= 1

        def write(fd: int, data: Any) -> int:
            if mine(fd):
                with self._lock:
                    self.calls.append((threading.get_ident(), bool(fd_flags(fd) & os.O_DIRECT)))
            return real_write(fd, data)

        monkeypatch.setattr(os, "pwrite", pwrite)
        monkeypatch.setattr(os, "write", write)

    @property
    def threads(self) -> set[int]:
        return {tid for tid, _ in self.calls}

    @property
    def all_direct(self) -> bool:
        return bool(self.calls) and all(flag for _, flag in self.calls)


# ---------------------------------------------------------------- exact bytes


@pytest.mark.parametrize("size", SIZES)
def test_put_exact_bytes_around_the_threshold(root: str, tmp_path: Path, size: int) -> None:
    data = payload(size)
    uri = f"{root}d/obj-{size}.bin"
    s3dlio.put_bytes(uri, data)
    path = tmp_path / "d" / f"obj-{size}.bin"
    assert path.stat().st_size == size  # padding of the last chunk cut off
    assert path.read_bytes() == data
    assert s3dlio.get(uri) == data
    assert no_temp_files(tmp_path)


@pytest.mark.parametrize("size", [T + 4097, 3 * _WRITE_CHUNK + 17])
def test_upload_and_copy_exact_bytes(root: str, tmp_path: Path, size: int) -> None:
    data = payload(size, seed=3)
    src = tmp_path / "local.bin"
    src.write_bytes(data)
    store, key = rt.resolve(f"{root}up.bin")
    assert store.put_file(key, str(src)) == size
    assert (tmp_path / "up.bin").read_bytes() == data
    _, copy_key = rt.resolve(f"{root}copied.bin")
    store.copy(key, copy_key)
    assert (tmp_path / "copied.bin").stat().st_size == size
    assert (tmp_path / "copied.bin").read_bytes() == data
    assert no_temp_files(tmp_path)


def test_overwrite_large_with_smaller_large_object(root: str, tmp_path: Path) -> None:
    uri = f"{root}shrink.bin"
    s3dlio.put_bytes(uri, b"\xff" * (3 * _WRITE_CHUNK + 17))
    data = payload(T + 1, seed=5)
    s3dlio.put_bytes(uri, data)
    assert (tmp_path / "shrink.bin").read_bytes() == data


# ------------------------------------------------- threads, O_DIRECT, window


@pytest.mark.skipif(not os.path.exists("/proc/self/fdinfo"), reason="needs Linux /proc/self/fdinfo")
def test_large_writes_are_parallel_and_all_o_direct(
    monkeypatch: pytest.MonkeyPatch, root: str, tmp_path: Path
) -> None:
    monkeypatch.setenv("S3DLIO_DIRECT_WRITE_CONCURRENCY", "4")
    rt.reset()
    data = payload(4 * _WRITE_CHUNK + 4097, seed=9)
    src = tmp_path / "src.bin"
    src.write_bytes(data)  # before the probe: buffered on purpose
    out = tmp_path / "out"
    out.mkdir()
    probe = _WriteProbe(monkeypatch, out)
    s3dlio.put_bytes(f"{root}out/a.bin", data)
    store, key = rt.resolve(f"{root}out/b.bin")
    store.put_file(key, str(src))
    _, copy_key = rt.resolve(f"{root}out/c.bin")
    store.copy(key, copy_key)
    monkeypatch.undo()
    assert probe.all_direct, probe.calls
    assert len(probe.calls) >= 3 * 5  # five chunks per object
    assert threading.get_ident() not in probe.threads  # chunks written on the parts pool
    assert 1 < probe.max_in_flight <= 4
    for name in ("a.bin", "b.bin", "c.bin"):
        assert (out / name).read_bytes() == data


@pytest.mark.skipif(not os.path.exists("/proc/self/fdinfo"), reason="needs Linux /proc/self/fdinfo")
@pytest.mark.parametrize(("setting", "size", "parallel"), [
    ("0", 3 * _WRITE_CHUNK + 17, False),  # 0: never
    ("20", T + 1, False),  # below a raised threshold
    ("20", 20 * MiB, True),
])
def test_threshold_setting(
    monkeypatch: pytest.MonkeyPatch, root: str, tmp_path: Path, setting: str, size: int,
    parallel: bool,
) -> None:
    monkeypatch.setenv("S3DLIO_DIRECT_PARALLEL_WRITE_MB", setting)
    rt.reset()
    data = payload(size, seed=1)
    probe = _WriteProbe(monkeypatch, tmp_path)
    s3dlio.put_bytes(f"{root}x.bin", data)
    monkeypatch.undo()
    assert probe.all_direct
    assert (threading.get_ident() not in probe.threads) is parallel
    assert (tmp_path / "x.bin").read_bytes() == data


def test_small_objects_stay_on_the_calling_thread(
    monkeypatch: pytest.MonkeyPatch, root: str, tmp_path: Path
) -> None:
    probe = _WriteProbe(monkeypatch, tmp_path)
    s3dlio.put_bytes(f"{root}x.bin", payload(T - 1))
    monkeypatch.undo()
    assert probe.threads == {threading.get_ident()}


@pytest.mark.skipif(not os.path.exists("/proc/self/fdinfo"), reason="needs Linux /proc/self/fdinfo")
def test_concurrent_large_writes_share_a_bounded_set_of_buffers(
    monkeypatch: pytest.MonkeyPatch, root: str, tmp_path: Path
) -> None:
    monkeypatch.setenv("S3DLIO_DIRECT_WRITE_CONCURRENCY", "4")
    rt.reset()
    buffers = _ChunkBuffers(3)
    monkeypatch.setattr(direct_store, "_chunk_buffers_state", [buffers])
    items = [(f"{root}many/{i}.bin", payload(3 * _WRITE_CHUNK + 17, seed=i)) for i in range(4)]
    (tmp_path / "many").mkdir()
    probe = _WriteProbe(monkeypatch, tmp_path / "many")
    s3dlio.put_many(items)
    assert probe.all_direct
    assert 1 < probe.max_in_flight <= 3  # 4 objects x window 4, but 3 buffers in the process
    for i, (_, data) in enumerate(items):
        assert (tmp_path / "many" / f"{i}.bin").read_bytes() == data
    assert len(buffers._free) <= 3
    assert all(buffers.reserve(0) for _ in range(3))  # every slot was given back
    assert not buffers.reserve(0)


# -------------------------------------------------------------------- failure



def test_failing_chunk_fails_the_write_and_publishes_nothing(root: str, tmp_path: Path) -> None:
    uri = f"{root}limited.bin"
    s3dlio.put_bytes(uri, b"previous")
    # Chunks below 20 MiB succeed, the ones past it fail with EFBIG mid-way.
    report = put_with_file_size_limit(uri, size=5 * _WRITE_CHUNK + 5, limit=20 * MiB)
    assert_failed_write_left_no_trace(report, uri, tmp_path / "limited.bin", b"previous")
