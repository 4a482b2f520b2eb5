"""Coverage (one row per call on file://), GET/range rows and lanes."""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import s3dlio
from s3dlio.plugin.runtime import resolve
from s3dlio_oplog import api
from s3dlio_oplog.testing import read_checked as rows

pytestmark = pytest.mark.timeout(60)


def logged(tmp_path: Path, fn: Callable[[], Any]) -> list[tuple[str, int, int, bool]]:
    """Run ``fn`` under a fresh op-log; its rows as sorted ``(op, n_objects, bytes, failed)``."""
    path = str(tmp_path / f"cov-{len(list(tmp_path.glob('cov-*')))}.tsv.zst")
    s3dlio.init_op_log(path)
    try:
        fn()
    finally:
        s3dlio.finalize_op_log()
    return sorted((r.op, r.n_objects, r.bytes, bool(r.error)) for r in rows(path))


@pytest.fixture
def data(root: str) -> str:
    s3dlio.put_bytes(root + "a", b"a" * 100)
    s3dlio.put_bytes(root + "b", b"b" * 200)
    s3dlio.put_bytes(root + "c", b"c" * 300)
    return root


def test_sync_functions(tmp_path: Path, data: str) -> None:
    r = data
    assert logged(tmp_path, lambda: s3dlio.get(r + "a")) == [("GET", 1, 100, False)]
    assert logged(tmp_path, lambda: s3dlio.get_range(r + "b", 150, 100)) == [("GET", 1, 50, False)]
    assert logged(tmp_path, lambda: s3dlio.get_many([r + "a", r + "b", r + "c"])) == [
        ("GET", 1, 100, False), ("GET", 1, 200, False), ("GET", 1, 300, False)]
    assert logged(tmp_path, lambda: s3dlio.put_bytes(r + "d", b"1234")) == [("PUT", 1, 4, False)]
    assert logged(tmp_path, lambda: s3dlio.put_many([(r + "e", b"1"), (r + "f", b"22")])) == [
        ("PUT", 1, 1, False), ("PUT", 1, 2, False)]
    assert logged(tmp_path, lambda: s3dlio.stat(r + "c")) == [("STAT", 1, 300, False)]
    assert logged(tmp_path, lambda: s3dlio.exists(r + "c")) == [("STAT", 1, 300, False)]
    assert logged(tmp_path, lambda: s3dlio.exists(r + "zz")) == [("STAT", 1, 0, True)]
    assert logged(tmp_path, lambda: s3dlio.list(r)) == [("LIST", 6, 0, False)]
    assert logged(tmp_path, lambda: s3dlio.delete(r + "f")) == [("DELETE", 1, 0, False)]
    assert logged(tmp_path, lambda: s3dlio.mkdir(r + "sub")) == [("MKDIR", 1, 0, False)]


def test_batch_delete_and_copy(tmp_path: Path, data: str) -> None:
    store, key = resolve(data + "a")
    prefix = key[: -len("a")]
    assert logged(tmp_path, lambda: store.copy(prefix + "a", prefix + "a2")) == [("COPY", 1, 0, False)]
    assert logged(tmp_path, lambda: store.delete_many([prefix + "a2", prefix + "b"])) == [
        ("DELETE", 2, 0, False)]
    got = logged(tmp_path, lambda: s3dlio.delete(data, recursive=True))
    assert [g[0] for g in got].count("LIST") >= 1 and ("DELETE", 2, 0, False) in got


def test_async_twins(tmp_path: Path, data: str) -> None:
    r = data

    async def main() -> None:
        await s3dlio.get_async(r + "a")
        await s3dlio.get_range_async(r + "b", 0, 10)
        await s3dlio.get_many_async([r + "a", r + "c"])
        await s3dlio.put_bytes_async(r + "x", b"xyz")
        await s3dlio.stat_async(r + "x")
        await s3dlio.exists_async(r + "x")
        await s3dlio.list_async(r)
        await s3dlio.delete_async(r + "x")

    got = logged(tmp_path, lambda: asyncio.run(main()))
    assert got == sorted([
        ("GET", 1, 100, False), ("GET", 1, 10, False), ("GET", 1, 100, False), ("GET", 1, 300, False),
        ("PUT", 1, 3, False), ("STAT", 1, 3, False), ("STAT", 1, 3, False), ("LIST", 4, 0, False),
        ("DELETE", 1, 0, False),
    ])


def test_store_opened_before_init_is_logged(tmp_path: Path, data: str) -> None:
    store, key = resolve(data + "a")
    s3dlio.get(data + "a")  # store exists and is cached before the log starts
    assert logged(tmp_path, lambda: (store.get(key), s3dlio.get(data + "a"))) == [
        ("GET", 1, 100, False), ("GET", 1, 100, False)]


def test_sequential_ops_reuse_lane_zero(log_path: str, data: str) -> None:
    s3dlio.init_op_log(log_path)
    for _ in range(20):
        s3dlio.get(data + "a")
        s3dlio.stat(data + "a")
    s3dlio.list(data)
    s3dlio.finalize_op_log()
    assert {r.thread for r in rows(log_path)} == {0}


def test_sixteen_concurrent_ops_take_lanes_0_to_15(log_path: str) -> None:
    s3dlio.init_op_log(log_path)
    rec = api._session.recorder
    n = 16
    barrier = threading.Barrier(n)

    def one(i: int) -> None:
        span = rec.start()
        barrier.wait()  # all 16 in flight at once
        rec.finish(span, "GET", n_objects=1, nbytes=i, endpoint="file://", file=f"/k{i}")

    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    s3dlio.finalize_op_log()
    got = rows(log_path)
    assert len(got) == n
    assert {r.thread for r in got} == set(range(n))


def test_sixteen_threads_one_row_per_op(log_path: str, data: str) -> None:
    s3dlio.init_op_log(log_path)
    n, per = 16, 100
    barrier = threading.Barrier(n)

    def work() -> None:
        barrier.wait()
        for _ in range(per):
            s3dlio.get(data + "c")

    threads = [threading.Thread(target=work) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    stats = s3dlio.finalize_op_log()
    got = rows(log_path)
    assert len(got) == n * per == stats["accepted"] == stats["written"]
    assert Counter(r.op for r in got) == {"GET": n * per}
    lanes = {r.thread for r in got}
    assert 0 in lanes and max(lanes) < n and lanes == set(range(max(lanes) + 1))


def test_upload_and_download(tmp_path: Path, data: str) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "f1").write_bytes(b"1" * 10)
    (src / "f2").write_bytes(b"2" * 20)
    dest = data + "up/"
    got = logged(tmp_path, lambda: s3dlio.upload(str(src / "*"), dest))
    assert [g for g in got if g[0] == "PUT"] == [("PUT", 1, 10, False), ("PUT", 1, 20, False)]
    assert all(g[0] in ("PUT", "STAT", "LIST", "MKDIR") for g in got)
    out = tmp_path / "down"
    got = logged(tmp_path, lambda: s3dlio.download(dest, str(out)))
    assert [g for g in got if g[0] == "GET"] == [("GET", 1, 10, False), ("GET", 1, 20, False)]
    assert not [g for g in got if g[0] == "PUT"]  # only the addressed side is logged


def test_failed_delete_batch_row(tmp_path: Path, data: str) -> None:
    store, key = resolve(data + "a")
    failures = [(key, RuntimeError("denied"))]
    orig = store.inner.delete_many
    store.inner.delete_many = lambda keys: failures  # type: ignore[method-assign]
    try:
        got = logged(tmp_path, lambda: store.delete_many([key, key + "x"]))
    finally:
        store.inner.delete_many = orig  # type: ignore[method-assign]
    assert got == [("DELETE", 2, 0, True)]
    path = sorted(tmp_path.glob("cov-*.tsv.zst"))[-1]
    assert rows(str(path))[0].error.endswith("1 of 2 failed: denied")


def test_gets_are_recorded_in_line_through_the_fast_path(tmp_path: Path, data: str,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """Core's wrapper records whole-object GETs through the recorder's FastPath (no
    ``finish`` call); the rows are those of the ``finish`` path: op, bytes, file, lane,
    first byte between start and end, failures through ``finish``."""
    from s3dlio.store import recording
    from s3dlio_oplog.recorder import OpLogRecorder

    finished: list[str] = []
    original = OpLogRecorder.finish

    def finish(self: OpLogRecorder, span: Any, op: str, *args: Any) -> None:
        finished.append(op)
        original(self, span, op, *args)

    monkeypatch.setattr(OpLogRecorder, "finish", finish)
    path = str(tmp_path / "fast.tsv.zst")
    s3dlio.init_op_log(path)
    try:
        assert recording._fast is api._session.recorder.fast_path
        s3dlio.get_many([data + "a", data + "b", data + "c"])
        with pytest.raises(s3dlio.errors.NotFoundError):
            s3dlio.get(data + "missing")
        s3dlio.put_bytes(data + "d", b"dd")
    finally:
        s3dlio.finalize_op_log()
    assert recording._fast is None
    assert finished == ["GET", "PUT"], "successful GETs bypass finish; the failed one and the PUT do not"
    got = list(rows(path))
    prefix = data.split("://", 1)[1]
    gets = sorted((r.file, r.bytes, bool(r.error)) for r in got if r.op == "GET")
    assert gets == [(prefix + "a", 100, False), (prefix + "b", 200, False), (prefix + "c", 300, False),
                    (prefix + "missing", 0, True)]
    (put,) = [r for r in got if r.op == "PUT"]
    assert {r.endpoint for r in got} == {put.endpoint}, "the in-line rows name the store's endpoint"
    for r in got:
        assert 0 <= r.thread < 65536
        if r.op == "GET" and not r.error:
            assert r.start_ns <= r.first_byte_ns <= r.end_ns
