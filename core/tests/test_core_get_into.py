"""``get_into`` / ``get_many_into`` (and their async twins) on ``memory://``: reads land in
the caller's buffer, and a buffer that cannot take the object raises a typed error with
nothing written."""

from __future__ import annotations

import array
import asyncio

import pytest

import s3dlio
from s3dlio.errors import BatchError, InvalidBufferError, LengthMismatchError, NotFoundError, StoreError
from s3dlio.plugin import runtime as rt

DATA = bytes(range(256)) * 40 + b"tail"  # 10 244 bytes


@pytest.fixture
def obj(memory_root: str) -> str:
    uri = memory_root + "obj"
    s3dlio.put_bytes(uri, DATA)
    return uri


def test_fills_the_buffer_and_returns_the_size(obj: str) -> None:
    buf = bytearray(b"\xee" * (len(DATA) + 7))
    assert s3dlio.get_into(obj, buf) == len(DATA)
    assert bytes(buf[: len(DATA)]) == DATA
    assert bytes(buf[len(DATA):]) == b"\xee" * 7  # the rest is left as it was


def test_exact_buffers_of_every_kind(obj: str) -> None:
    np = pytest.importorskip("numpy")
    arr = np.zeros(len(DATA), dtype=np.uint8)
    assert s3dlio.get_into(obj, arr) == len(DATA)
    assert arr.tobytes() == DATA
    wide = np.zeros(len(DATA) // 4 + 1, dtype=np.uint32)  # a multi-byte format is cast to bytes
    assert s3dlio.get_into(obj, wide) == len(DATA)
    assert wide.tobytes()[: len(DATA)] == DATA
    mv = memoryview(bytearray(len(DATA)))
    assert s3dlio.get_into(obj, mv) == len(DATA) and mv.tobytes() == DATA


def test_an_empty_object_writes_nothing(memory_root: str) -> None:
    s3dlio.put_bytes(memory_root + "empty", b"")
    buf = bytearray(b"keep")
    assert s3dlio.get_into(memory_root + "empty", buf) == 0 and buf == b"keep"


@pytest.mark.parametrize("kind", ["too-small", "read-only", "non-contiguous", "not-a-buffer"])
def test_bad_buffers_raise_typed_errors_and_write_nothing(obj: str, kind: str) -> None:
    backing = bytearray(b"\xaa" * (2 * len(DATA)))
    buffer: object = {
        "too-small": memoryview(backing)[: len(DATA) - 1],
        "read-only": memoryview(backing).toreadonly(),
        "non-contiguous": memoryview(backing)[::2],
        "not-a-buffer": [0] * len(DATA),
    }[kind]
    with pytest.raises(InvalidBufferError) as info:
        s3dlio.get_into(obj, buffer)
    err = info.value
    assert isinstance(err, (StoreError, ValueError))
    assert err.op == "get_into" and err.uri == obj
    assert backing == b"\xaa" * (2 * len(DATA))  # nothing written
    with pytest.raises(InvalidBufferError):
        asyncio.run(s3dlio.get_into_async(obj, buffer))
    assert backing == b"\xaa" * (2 * len(DATA))


def test_a_missing_object_is_not_found(memory_root: str) -> None:
    with pytest.raises(NotFoundError):
        s3dlio.get_into(memory_root + "missing", bytearray(8))


def test_large_objects_go_through_the_range_engine(
    memory_root: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    big = bytes(range(251)) * (3 * 4096 + 17)  # ≈ 3 MiB, not a multiple of any part size
    s3dlio.put_bytes(memory_root + "big", big)
    store, _key = rt.resolve(memory_root + "big")
    monkeypatch.setattr(store.settings.core, "range_threshold_mb", 1)
    calls: list[int] = []
    real = store.get_range_into

    def counting(key: str, offset: int, buf: memoryview) -> int:
        calls.append(offset)
        return real(key, offset, buf)

    monkeypatch.setattr(store, "get_range_into", counting)
    buf = bytearray(len(big))
    assert s3dlio.get_into(memory_root + "big", buf) == len(big)
    assert buf == big
    assert sorted(calls) == [0, 1 << 20, 2 << 20]  # 1 MiB parts (default_chunk_size)


def test_get_many_into(memory_root: str) -> None:
    uris = [f"{memory_root}k{i}" for i in range(20)]
    for i, uri in enumerate(uris):
        s3dlio.put_bytes(uri, bytes([i]) * (100 + i))
    bufs = [bytearray(200) for _ in uris]
    assert s3dlio.get_many_into(uris, bufs, max_in_flight=4) == [100 + i for i in range(20)]
    for i, buf in enumerate(bufs):
        assert buf[: 100 + i] == bytes([i]) * (100 + i) and buf[100 + i:] == bytes(100 - i)
    again = [array.array("B", bytes(200)) for _ in uris]
    assert asyncio.run(s3dlio.get_many_into_async(uris, again)) == [100 + i for i in range(20)]
    assert again[7].tobytes()[:107] == b"\x07" * 107


def test_get_many_into_checks_every_buffer_before_reading(memory_root: str) -> None:
    uris = [memory_root + "a", memory_root + "b"]
    for uri in uris:
        s3dlio.put_bytes(uri, b"content")
    first = bytearray(16)
    with pytest.raises(InvalidBufferError):
        s3dlio.get_many_into(uris, [first, b"read-only bytes"])
    assert first == bytes(16)  # the good buffer was not filled either
    with pytest.raises(ValueError, match="2 URIs but 1 buffers"):
        s3dlio.get_many_into(uris, [first])


def test_get_many_into_reports_each_failed_item(memory_root: str) -> None:
    s3dlio.put_bytes(memory_root + "big", b"x" * 64)
    s3dlio.put_bytes(memory_root + "ok", b"y" * 8)
    uris = [memory_root + "big", memory_root + "ok", memory_root + "missing"]
    bufs = [bytearray(8), bytearray(8), bytearray(8)]
    with pytest.raises(BatchError) as info:
        s3dlio.get_many_into(uris, bufs)
    failed = dict(info.value.failures)
    assert set(failed) == {uris[0], uris[2]}
    assert isinstance(failed[uris[0]], InvalidBufferError)
    assert isinstance(failed[uris[2]], NotFoundError)
    assert bufs[0] == bytes(8) and bufs[1] == b"y" * 8


def test_async_expected_len_still_checks_the_size(obj: str) -> None:
    buf = bytearray(len(DATA) + 1)
    assert asyncio.run(s3dlio.get_into_async(obj, buf, expected_len=len(DATA))) == len(DATA)
    with pytest.raises(LengthMismatchError):
        asyncio.run(s3dlio.get_into_async(obj, buf, expected_len=len(DATA) - 1))
