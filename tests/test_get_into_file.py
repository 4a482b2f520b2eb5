"""``get_into`` / ``get_many_into`` on ``file://``: the caller's memory is filled in place
(numpy arrays and ``mmap`` included), and unusable buffers fail typed with nothing written."""

from __future__ import annotations

import asyncio
import mmap
from pathlib import Path

import pytest

import s3dlio
from s3dlio.errors import BatchError, InvalidBufferError, NotFoundError

pytest.importorskip("s3dlio_posix")


@pytest.fixture
def root(tmp_path: Path) -> str:
    return f"file://{tmp_path}/"


def test_get_into_a_reused_mmap(root: str, tmp_path: Path) -> None:
    payloads = [bytes([i]) * (300_000 + i) for i in range(3)]
    for i, data in enumerate(payloads):
        (tmp_path / f"o{i}").write_bytes(data)
    buf = mmap.mmap(-1, 400_000)  # one page-aligned buffer reused for every read
    for i, data in enumerate(payloads):
        assert s3dlio.get_into(f"{root}o{i}", buf) == len(data)
        assert buf[: len(data)] == data


def test_get_many_into_numpy(root: str, tmp_path: Path) -> None:
    np = pytest.importorskip("numpy")
    uris = []
    for i in range(8):
        (tmp_path / f"n{i}").write_bytes(bytes([i + 1]) * 4096)
        uris.append(f"{root}n{i}")
    out = np.zeros((8, 4096), dtype=np.uint8)
    assert s3dlio.get_many_into(uris, list(out)) == [4096] * 8
    assert (out == np.arange(1, 9, dtype=np.uint8)[:, None]).all()
    again = np.zeros((8, 4096), dtype=np.uint8)
    assert asyncio.run(s3dlio.get_many_into_async(uris, list(again))) == [4096] * 8
    assert (again == out).all()


def test_bad_buffers_on_file(root: str, tmp_path: Path) -> None:
    (tmp_path / "f").write_bytes(b"0123456789")
    backing = bytearray(b"-" * 20)
    for bad in (memoryview(backing)[:9], memoryview(backing).toreadonly(), memoryview(backing)[::2]):
        with pytest.raises(InvalidBufferError) as info:
            s3dlio.get_into(root + "f", bad)
        assert info.value.op == "get_into" and info.value.uri == root + "f"
    assert backing == b"-" * 20
    with pytest.raises(NotFoundError):
        s3dlio.get_into(root + "missing", backing)
    with pytest.raises(BatchError) as batch:
        s3dlio.get_many_into([root + "f", root + "missing"], [bytearray(10), bytearray(10)])
    assert [uri for uri, _ in batch.value.failures] == [root + "missing"]
    assert asyncio.run(s3dlio.get_into_async(root + "f", backing)) == 10
    assert backing == b"0123456789" + b"-" * 10
