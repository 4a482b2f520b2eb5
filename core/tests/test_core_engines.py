"""The batch engine and the range engine."""

from __future__ import annotations

import random
import threading
import time
from typing import Any

import pytest

import s3dlio
from s3dlio.engines.batch import FAST_ITEM_NS, batch_plan, check_window, run_batch, run_batch_settled
from s3dlio.engines.ranges import coalesce_ranges, parallel_read_into, plan_chunks
from s3dlio.errors import BatchError, IntegrityError, NotFoundError, StoreError
from s3dlio.store.memory import MemoryStore


class Gauge:
    """Counts concurrent calls."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.current = 0
        self.peak = 0

    def __enter__(self) -> None:
        with self.lock:
            self.current += 1
            self.peak = max(self.peak, self.current)

    def __exit__(self, *exc: Any) -> None:
        with self.lock:
            self.current -= 1


# -------------------------------------------------------------------------- batch


def test_results_in_input_order() -> None:
    items = list(range(200))

    def fn(i: int) -> int:
        time.sleep(random.random() / 2000)
        return i * i

    assert run_batch(fn, items, window=16, op="t") == [i * i for i in items]
    assert run_batch(fn, [], window=4, op="t") == []
    assert run_batch(fn, [3], window=4, op="t") == [9]
    assert run_batch(fn, items[:10], window=1, op="t") == [i * i for i in range(10)]


def test_every_failure_is_reported_in_order() -> None:
    attempted: list[int] = []
    lock = threading.Lock()

    def fn(i: int) -> int:
        with lock:
            attempted.append(i)
        if i % 7 == 3:
            raise NotFoundError(op="get", uri=f"mem://b/{i}")
        return i

    with pytest.raises(BatchError) as info:
        run_batch(fn, list(range(50)), window=8, op="get_many", label=lambda i: f"mem://b/{i}")
    err = info.value
    expected = [i for i in range(50) if i % 7 == 3]
    assert [u for u, _ in err.failures] == [f"mem://b/{i}" for i in expected]
    assert all(isinstance(e, NotFoundError) for _, e in err.failures)
    assert err.succeeded == 50 - len(expected)
    assert err.op == "get_many"
    assert sorted(attempted) == list(range(50))  # nothing skipped after a failure
    settled = run_batch_settled(fn, list(range(10)), window=4)
    assert [type(r).__name__ == "_Failed" for r in settled] == [i % 7 == 3 for i in range(10)]


@pytest.mark.parametrize("window", [1, 3, 8])
def test_window_bound_is_respected(window: int) -> None:
    gauge = Gauge()

    def fn(i: int) -> int:
        with gauge:
            time.sleep(0.002)
        return i

    run_batch(fn, list(range(60)), window=window, op="t")
    assert gauge.peak <= window
    if window > 1:
        assert gauge.peak > 1  # it does run concurrently


def test_fast_items_run_in_the_calling_thread() -> None:
    me = threading.get_ident()
    threads: list[int] = []

    def fn(i: int) -> int:
        threads.append(threading.get_ident())
        if i == 5:
            raise NotFoundError(op="get", uri=f"mem://b/{i}")
        return i

    settled = run_batch_settled(fn, list(range(2000)), window=8, inline_fast=True)
    assert set(threads) == {me}, "fast items never leave the calling thread"
    assert [r for i, r in enumerate(settled) if i != 5] == [i for i in range(2000) if i != 5]
    assert type(settled[5]).__name__ == "_Failed"
    threads.clear()
    run_batch_settled(fn, list(range(200)), window=8)  # without the hint: workers
    assert me not in threads


def test_slow_items_leave_the_calling_thread_at_once() -> None:
    """Items slower than FAST_ITEM_NS go to the workers after the first few; a batch that
    turns slow midway hands the rest over; order and failures are kept either way."""
    me = threading.get_ident()
    where: dict[int, int] = {}
    gauge = Gauge()
    slow_from = [0]

    def fn(i: int) -> int:
        where[i] = threading.get_ident()
        if i >= slow_from[0]:
            with gauge:
                time.sleep(3 * FAST_ITEM_NS / 1e9)
        if i % 50 == 7:
            raise NotFoundError(op="get", uri=f"mem://b/{i}")
        return -i

    for start in (0, 600):
        where.clear()
        slow_from[0] = start
        gauge.peak = 0
        settled = run_batch_settled(fn, list(range(start + 100)), window=6, inline_fast=True)
        inline = [i for i in range(start + 100) if where[i] == me]
        assert inline == list(range(len(inline))), "only a leading stretch runs in line"
        assert start + 3 <= len(inline) <= start + 6, "slow items are noticed after a few"
        assert gauge.peak > 1, "the slow rest runs concurrently"
        assert [r if isinstance(r, int) else None for r in settled] == \
            [None if i % 50 == 7 else -i for i in range(start + 100)]


def test_batch_plan_follows_the_store(memory_root: str, monkeypatch: pytest.MonkeyPatch) -> None:
    assert batch_plan(memory_root + "x", 100, 64) == batch_plan(memory_root + "x", 100, 64)
    assert batch_plan(memory_root + "x", 100, 64).inline_fast  # memory:// items take microseconds
    assert batch_plan(None, 3, 64).window == 3
    monkeypatch.setattr(MemoryStore, "fast_local_items", False)
    other = memory_root.rstrip("/") + "-other/x"  # a store opened after the change
    assert not batch_plan(other, 100, 64).inline_fast, "the store's flag reaches the plan"


def test_window_validation() -> None:
    for bad in (0, -1, 4097):
        with pytest.raises(ValueError, match="between 1 and 4096"):
            check_window(bad)
    for bad in (1.5, "8", True, None):
        with pytest.raises(TypeError):
            check_window(bad)
    assert check_window(1) == 1 and check_window(4096) == 4096


def test_api_batch_window_bound(memory_root: str) -> None:
    gauge = Gauge()
    original = MemoryStore.get

    def slow_get(self: Any, key: str) -> Any:
        with gauge:
            time.sleep(0.002)
            return original(self, key)

    s3dlio.put_many([(memory_root + f"k{i}", bytes([i])) for i in range(40)])
    MemoryStore.get = slow_get  # type: ignore[method-assign]
    try:
        got = s3dlio.get_many([memory_root + f"k{i}" for i in range(40)], max_in_flight=5)
    finally:
        MemoryStore.get = original  # type: ignore[method-assign]
    assert [bytes(d) for _, d in got] == [bytes([i]) for i in range(40)]
    assert 1 < gauge.peak <= 5
    for bad in (0, -3, 5000):
        with pytest.raises(ValueError):
            s3dlio.stat_many([memory_root + "k1"], max_in_flight=bad)
        with pytest.raises(ValueError):
            s3dlio.put_many([(memory_root + "k1", b"x")], max_in_flight=bad)
    with pytest.raises(TypeError, match="list of URIs"):
        s3dlio.get_many(memory_root + "k1")
    with pytest.raises(TypeError, match="tuples"):
        s3dlio.put_many([memory_root + "k1"])  # type: ignore[list-item]
    with pytest.raises(TypeError):
        s3dlio.put_many([(memory_root + "k1", 5)])
    assert s3dlio.get(memory_root + "k1") == b"\x01"  # nothing was written by the bad calls


def test_mixed_schemes_and_bad_uris_fail_per_item(memory_root: str) -> None:
    s3dlio.put_bytes(memory_root + "a", b"A")
    with pytest.raises(BatchError) as info:
        s3dlio.get_many([memory_root + "a", "nope://x/y", "not-a-uri", memory_root + "a"])
    assert [u for u, _ in info.value.failures] == ["nope://x/y", "not-a-uri"]
    assert info.value.succeeded == 2


# -------------------------------------------------------------------------- ranges


def reader_for(data: bytes, *, fail_at: int | None = None, short_at: int | None = None,
               gauge: Gauge | None = None) -> Any:
    calls: list[tuple[int, int]] = []

    def read_at(offset: int, buf: memoryview) -> int:
        calls.append((offset, len(buf)))
        if gauge is not None:
            with gauge:
                time.sleep(0.001)
        if offset == fail_at:
            raise NotFoundError("part vanished", op="get", uri="mem://b/big")
        chunk = data[offset : offset + len(buf)]
        if offset == short_at:
            chunk = chunk[: len(chunk) // 2]
        buf[: len(chunk)] = chunk
        return len(chunk)

    read_at.calls = calls  # type: ignore[attr-defined]
    return read_at


def test_parallel_read_assembles_correctly() -> None:
    data = random.Random(1).randbytes(1_000_003)
    for chunk, conc in ((65536, 8), (100_000, 3), (1 << 20, 4), (7, 1)):
        buf = bytearray(len(data))
        gauge = Gauge()
        read_at = reader_for(data, gauge=gauge if chunk == 65536 else None)
        n = parallel_read_into(read_at, len(data), memoryview(buf), chunk_size=chunk,
                               concurrency=conc, what="mem://b/big")
        assert n == len(data) and bytes(buf) == data, (chunk, conc)
        if chunk == 65536:
            assert sorted(read_at.calls) == plan_chunks(len(data), chunk)
            assert 1 < gauge.peak <= 8
    assert parallel_read_into(reader_for(b""), 0, memoryview(bytearray(0)), chunk_size=4,
                              concurrency=4) == 0


def test_one_failing_part_fails_the_read_with_its_cause() -> None:
    data = bytes(1000)
    with pytest.raises(NotFoundError, match="part vanished"):
        parallel_read_into(reader_for(data, fail_at=300), 1000, memoryview(bytearray(1000)),
                           chunk_size=100, concurrency=4)

    def boom(offset: int, buf: memoryview) -> int:
        if offset == 500:
            raise OSError(5, "I/O error")
        return len(buf)

    with pytest.raises(StoreError) as info:
        parallel_read_into(boom, 1000, memoryview(bytearray(1000)), chunk_size=100, concurrency=4,
                           what="mem://b/big")
    assert isinstance(info.value.__cause__, OSError)
    assert "mem://b/big" in str(info.value)


def test_short_part_is_integrity_error() -> None:
    data = bytes(range(256)) * 4
    with pytest.raises(IntegrityError, match="offset 512"):
        parallel_read_into(reader_for(data, short_at=512), 1024, memoryview(bytearray(1024)),
                           chunk_size=256, concurrency=4)
    with pytest.raises(IntegrityError):  # single-part path too
        parallel_read_into(reader_for(data, short_at=0), 1024, memoryview(bytearray(1024)),
                           chunk_size=4096, concurrency=4)


def test_plan_and_coalesce() -> None:
    assert plan_chunks(10, 4) == [(0, 4), (4, 4), (8, 2)]
    with pytest.raises(ValueError):
        plan_chunks(10, 0)
    merged = coalesce_ranges([(100, 10), (0, 10), (15, 5), (5000, 1)], gap=10)
    assert [(s, ln) for s, ln, _ in merged] == [(0, 20), (100, 10), (5000, 1)]
    assert [i for i, _ in merged[0][2]] == [1, 2]
    with pytest.raises(ValueError):
        coalesce_ranges([(-1, 5)], gap=0)
