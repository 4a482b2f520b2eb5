"""The multi-endpoint store (docs/multi-endpoint.md) over file:// directories, plus the pure URI helpers."""

from __future__ import annotations

import asyncio
import os
import pickle
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

import pytest

from s3dlio.errors import BatchError, InvalidPathError, NotFoundError
from s3dlio.store.multi_endpoint import (
    MultiEndpointStore,
    create_multi_endpoint_store,
    create_multi_endpoint_store_from_env,
    create_multi_endpoint_store_from_file,
    create_multi_endpoint_store_from_template,
    expand_uri_template,
    read_uri_file,
    rewrite_for_endpoint,
    split_endpoint_uri,
)

T = TypeVar("T")
ENV_VARS = ("S3_ENDPOINT_URIS", "S3_ENDPOINT_TEMPLATE", "S3_ENDPOINT_FILE", "S3_LOAD_BALANCE_STRATEGY")


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


@pytest.fixture
def roots(tmp_path: Path) -> list[str]:
    out = []
    for name in ("ep0", "ep1", "ep2"):
        d = tmp_path / name
        d.mkdir()
        out.append(f"file://{d}/")
    return out


@pytest.fixture(autouse=True)
def _no_endpoint_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ENV_VARS:
        monkeypatch.delenv(var, raising=False)


def requests(store: MultiEndpointStore) -> list[int]:
    return [s["total_requests"] for s in store.get_endpoint_stats()]


# ----------------------------------------------------------------------------- construction


def test_defaults(roots: list[str]) -> None:
    store = create_multi_endpoint_store(roots)
    assert store.strategy() == "round_robin"
    assert store.namespace() == "separate"  # local roots
    assert store.endpoint_count() == 3
    assert store.endpoint_uris() == roots
    net = create_multi_endpoint_store(["s3://10.0.0.1:9000/b/", "s3://10.0.0.2:9000/b/"])
    assert net.namespace() == "shared"
    assert create_multi_endpoint_store(roots, "least_connections").strategy() == "least_connections"
    assert create_multi_endpoint_store(roots, "Least-Connections").strategy() == "least_connections"


def test_roots_are_normalized(tmp_path: Path) -> None:
    store = create_multi_endpoint_store([f"FILE://{tmp_path}/a", f"file://{tmp_path}/b/"])
    assert store.endpoint_uris() == [f"file://{tmp_path}/a/", f"file://{tmp_path}/b/"]


@pytest.mark.parametrize(
    ("uris", "needle"),
    [
        ([], "at least one"),
        ([f"s3://10.0.0.{i}:9000/b/" for i in range(33)], "at most 32"),
        (["s3://h:1/b/", "s3://h:1/b"], "duplicate"),
        (["s3://h:1/b/", "file:///tmp/x/"], "one scheme"),
        (["not a uri"], "not a URI"),
        (["s3://"], "names no"),
    ],
)
def test_bad_uri_lists(uris: list[str], needle: str) -> None:
    with pytest.raises(ValueError, match=needle):
        create_multi_endpoint_store(uris)


def test_thirty_two_is_fine() -> None:
    assert create_multi_endpoint_store([f"s3://10.0.0.{i}:9000/b/" for i in range(32)]).endpoint_count() == 32


def test_bad_strategy_and_namespace(roots: list[str]) -> None:
    with pytest.raises(ValueError, match="round_robin, least_connections"):
        create_multi_endpoint_store(roots, "random")
    with pytest.raises(ValueError, match="shared, separate"):
        create_multi_endpoint_store(roots, namespace="global")
    with pytest.raises(TypeError):
        create_multi_endpoint_store(roots[0])


def test_repr(roots: list[str]) -> None:
    text = repr(create_multi_endpoint_store(roots, "least_connections"))
    assert "least_connections" in text and "separate" in text and roots[2] in text


# ----------------------------------------------------------------------------- templates, files, env


def test_template_ranges() -> None:
    assert expand_uri_template("s3://10.0.0.{1...4}:9000/bucket/") == [
        f"s3://10.0.0.{i}:9000/bucket/" for i in range(1, 5)
    ]
    assert expand_uri_template("s3://node{01...03}:9000/b/") == [
        "s3://node01:9000/b/", "s3://node02:9000/b/", "s3://node03:9000/b/",
    ]
    assert expand_uri_template("s3://n{08...10}:9000/b/") == [
        "s3://n08:9000/b/", "s3://n09:9000/b/", "s3://n10:9000/b/",
    ]
    assert expand_uri_template("s3://h:9000/b/") == ["s3://h:9000/b/"]


def test_template_cartesian_product() -> None:
    assert expand_uri_template("s3://r{1...2}n{1...3}:9000/b/") == [
        "s3://r1n1:9000/b/", "s3://r1n2:9000/b/", "s3://r1n3:9000/b/",
        "s3://r2n1:9000/b/", "s3://r2n2:9000/b/", "s3://r2n3:9000/b/",
    ]
    template = "s3://10.0.{1...2}.{1...4}:9000/b/"
    store = create_multi_endpoint_store_from_template(template, "least_connections")
    assert store.endpoint_count() == 8
    assert store.strategy() == "least_connections"


@pytest.mark.parametrize(
    ("template", "needle"),
    [
        ("s3://10.0.0.{1..4}:9000/b/", "malformed"),
        ("s3://10.0.0.{a...c}:9000/b/", "malformed"),
        ("s3://10.0.0.{1...4:9000/b/", "malformed"),
        ("s3://10.0.0.{4...1}:9000/b/", "backwards"),
        ("s3://10.0.{1...6}.{1...6}:9000/b/", "36 URIs"),
        ("", "empty"),
    ],
)
def test_bad_templates(template: str, needle: str) -> None:
    with pytest.raises(ValueError, match=needle):
        create_multi_endpoint_store_from_template(template)


def test_uri_file(tmp_path: Path) -> None:
    f = tmp_path / "endpoints.txt"
    f.write_text(
        "# storage gateways\n\n  s3://10.0.0.1:9000/b/  \n"
        "# s3://10.0.0.9:9000/b/\ns3://10.0.0.2:9000/b/ # rack 2\n"
    )
    assert read_uri_file(f) == ["s3://10.0.0.1:9000/b/", "s3://10.0.0.2:9000/b/"]
    store = create_multi_endpoint_store_from_file(str(f), "least_connections")
    assert store.endpoint_count() == 2 and store.strategy() == "least_connections"
    (tmp_path / "empty.txt").write_text("# nothing\n")
    with pytest.raises(ValueError, match="at least one"):
        create_multi_endpoint_store_from_file(tmp_path / "empty.txt")
    with pytest.raises(FileNotFoundError):
        create_multi_endpoint_store_from_file(tmp_path / "missing.txt")


def test_env_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    f = tmp_path / "eps.txt"
    f.write_text("s3://f1:9000/b/\ns3://f2:9000/b/\n")
    monkeypatch.setenv("S3_ENDPOINT_FILE", str(f))
    assert create_multi_endpoint_store_from_env().endpoint_uris() == ["s3://f1:9000/b/", "s3://f2:9000/b/"]
    monkeypatch.setenv("S3_ENDPOINT_TEMPLATE", "s3://t{1...3}:9000/b/")
    assert create_multi_endpoint_store_from_env().endpoint_count() == 3
    monkeypatch.setenv("S3_ENDPOINT_URIS", "s3://u1:9000/b/, s3://u2:9000/b/,")
    store = create_multi_endpoint_store_from_env()
    assert store.endpoint_uris() == ["s3://u1:9000/b/", "s3://u2:9000/b/"]
    assert store.strategy() == "round_robin"
    monkeypatch.setenv("S3_LOAD_BALANCE_STRATEGY", "least_connections")
    assert create_multi_endpoint_store_from_env().strategy() == "least_connections"
    assert create_multi_endpoint_store_from_env("round_robin").strategy() == "round_robin"
    monkeypatch.setenv("S3_LOAD_BALANCE_STRATEGY", "fastest")
    with pytest.raises(ValueError, match="fastest"):
        create_multi_endpoint_store_from_env()


def test_env_nothing_set() -> None:
    with pytest.raises(ValueError) as info:
        create_multi_endpoint_store_from_env()
    for var in ENV_VARS[:3]:
        assert var in str(info.value)


# ----------------------------------------------------------------------------- URI rewriting (pure)

S3_ROOTS = ["s3://10.0.0.1:9000/bucket/", "s3://10.0.0.2:9000/bucket/"]


def test_rewrite_s3_full_and_plain_forms() -> None:
    assert (
        rewrite_for_endpoint("s3://10.0.0.1:9000/bucket/a/b.bin", S3_ROOTS, 1)
        == "s3://10.0.0.2:9000/bucket/a/b.bin"
    )
    assert rewrite_for_endpoint("s3://10.0.0.2:9000/bucket/k", S3_ROOTS, 0) == "s3://10.0.0.1:9000/bucket/k"
    assert rewrite_for_endpoint("s3://bucket/a/b.bin", S3_ROOTS, 1) == "s3://10.0.0.2:9000/bucket/a/b.bin"
    assert rewrite_for_endpoint("S3://bucket/k", S3_ROOTS, 0) == "s3://10.0.0.1:9000/bucket/k"
    assert rewrite_for_endpoint("a/b.bin", S3_ROOTS, 1) == "s3://10.0.0.2:9000/bucket/a/b.bin"
    assert rewrite_for_endpoint("s3://bucket", S3_ROOTS, 0) == "s3://10.0.0.1:9000/bucket/"


def test_rewrite_s3_endpoint_only_roots() -> None:
    roots = ["s3://minio1:9000", "s3://minio2:9000/"]
    assert rewrite_for_endpoint("s3://data/x/y", roots, 1) == "s3://minio2:9000/data/x/y"
    assert rewrite_for_endpoint("s3://minio1:9000/data/x", roots, 1) == "s3://minio2:9000/data/x"


def test_rewrite_s3_prefix_roots_and_errors() -> None:
    roots = ["s3://[::1]:9000/bucket/train/", "s3://[::2]:9000/bucket/train/"]
    got = rewrite_for_endpoint("s3://bucket/train/0001.npz", roots, 1)
    assert got == "s3://[::2]:9000/bucket/train/0001.npz"
    with pytest.raises(InvalidPathError, match="none of the endpoint roots"):
        rewrite_for_endpoint("s3://bucket/val/0001.npz", roots, 0)
    with pytest.raises(InvalidPathError):
        rewrite_for_endpoint("s3://otherbucket/k", S3_ROOTS, 0)
    with pytest.raises(InvalidPathError):
        rewrite_for_endpoint("s3://10.9.9.9:9000/bucket/k", S3_ROOTS, 0)
    with pytest.raises(InvalidPathError):
        rewrite_for_endpoint("gs://bucket/k", S3_ROOTS, 0)
    with pytest.raises(IndexError, match=r"0\.\.1"):
        rewrite_for_endpoint("s3://bucket/k", S3_ROOTS, 2)


def test_split_endpoint_uri() -> None:
    full = split_endpoint_uri("s3://10.0.0.2:9000/bucket/k", S3_ROOTS)
    assert full == ("s3://10.0.0.2:9000/bucket/", "k", 1)
    assert split_endpoint_uri("s3://bucket/k", S3_ROOTS) == ("s3://bucket/", "k", None)
    assert split_endpoint_uri("k/x", S3_ROOTS) == ("", "k/x", None)
    nested = ["file:///data/", "file:///data/fast/"]
    assert split_endpoint_uri("file:///data/fast/x", nested) == ("file:///data/fast/", "x", 1)
    assert split_endpoint_uri("file:///data/slow/x", nested) == ("file:///data/", "slow/x", 0)


# ----------------------------------------------------------------------------- I/O: separate namespace


def test_separate_routes_by_root(roots: list[str], tmp_path: Path) -> None:
    store = create_multi_endpoint_store(roots)

    async def go() -> None:
        await store.put(roots[1] + "d/x.bin", b"hello")
        assert (tmp_path / "ep1" / "d" / "x.bin").read_bytes() == b"hello"
        assert await store.get(roots[1] + "d/x.bin") == b"hello"
        assert await store.get_range(roots[1] + "d/x.bin", 1, 3) == b"ell"
        assert await store.get_range(roots[1] + "d/x.bin", 2) == b"llo"
        assert await store.list(roots[1]) == [roots[1] + "d/"]
        assert await store.list(roots[1], recursive=True) == [roots[1] + "d/x.bin"]
        await store.delete(roots[1] + "d/x.bin")
        assert await store.list(roots[1], recursive=True) == []
        with pytest.raises(InvalidPathError, match="separate"):
            await store.get("d/x.bin")
        with pytest.raises(InvalidPathError):
            await store.get(f"file://{tmp_path}/elsewhere/x")

    run(go())
    assert requests(store) == [0, 8, 0]
    assert store.get_total_stats()["active_requests"] == 0


def test_separate_routes_to_longest_root(tmp_path: Path) -> None:
    outer, inner = f"file://{tmp_path}/", f"file://{tmp_path}/inner/"
    store = create_multi_endpoint_store([outer, inner])
    run(store.put(inner + "x", b"1"))
    run(store.put(outer + "y", b"2"))
    assert requests(store) == [1, 1]


def test_put_all_and_list_all(roots: list[str], tmp_path: Path) -> None:
    store = create_multi_endpoint_store(roots)

    async def go() -> None:
        await store.put_all_endpoints("shard/a.bin", b"abc")
        await store.put_to_endpoint(2, roots[0] + "shard/b.bin", b"defg")
        for i in range(3):
            assert (tmp_path / f"ep{i}" / "shard" / "a.bin").read_bytes() == b"abc"
            assert await store.get_from_endpoint(i, "shard/a.bin") == b"abc"
        assert await store.get_from_endpoint(2, roots[1] + "shard/b.bin") == b"defg"
        listed = await store.list_all_endpoints("shard/", recursive=True)
        assert listed == sorted([r + "shard/a.bin" for r in roots] + [roots[2] + "shard/b.bin"])
        await store.delete_from_endpoint(2, "shard/b.bin")
        assert not (tmp_path / "ep2" / "shard" / "b.bin").exists()

    run(go())
    stats = store.get_endpoint_stats()
    assert [s["bytes_written"] for s in stats] == [3, 3, 7]
    assert [s["bytes_read"] for s in stats] == [3, 3, 7]


def test_shared_list_all_deduplicates(roots: list[str]) -> None:
    store = create_multi_endpoint_store(roots, namespace="shared")

    async def go() -> list[str]:
        await store.put_all_endpoints(roots[0] + "p/common", b"x")
        await store.put_to_endpoint(1, "p/only1", b"y")
        return await store.list_all_endpoints(roots[2] + "p")

    assert run(go()) == [roots[2] + "p/common", roots[2] + "p/only1"]


def test_put_all_failure_is_batch_error(roots: list[str], tmp_path: Path) -> None:
    (tmp_path / "ep1" / "blocker").write_bytes(b"")  # a file where a directory is needed
    store = create_multi_endpoint_store(roots)
    with pytest.raises(BatchError) as info:
        run(store.put_all_endpoints("blocker/x", b"data"))
    assert info.value.succeeded == 2
    assert [u for u, _ in info.value.failures] == [roots[1] + "blocker/x"]
    assert [s["error_count"] for s in store.get_endpoint_stats()] == [0, 1, 0]
    assert [s["bytes_written"] for s in store.get_endpoint_stats()] == [4, 0, 4]


def test_bad_index(roots: list[str]) -> None:
    store = create_multi_endpoint_store(roots)
    with pytest.raises(IndexError, match=r"0\.\.2"):
        run(store.get_from_endpoint(3, "x"))
    with pytest.raises(IndexError):
        run(store.put_to_endpoint(-1, "x", b""))
    with pytest.raises(TypeError):
        run(store.delete_from_endpoint("0", "x"))  # type: ignore[arg-type]
    assert store.get_total_stats()["total_requests"] == 0


def test_put_rejects_non_buffers(roots: list[str]) -> None:
    store = create_multi_endpoint_store(roots)
    with pytest.raises(TypeError):
        run(store.put(roots[0] + "x", "text"))
    assert store.get_total_stats()["active_requests"] == 0


def test_borrow_false_copies(roots: list[str]) -> None:
    store = create_multi_endpoint_store(roots)
    buf = bytearray(b"abcd")
    run(store.put(roots[0] + "c", buf, borrow=False))
    assert run(store.get(roots[0] + "c")) == b"abcd"


# ----------------------------------------------------------------------------- strategies


def _replicated(roots: list[str], strategy: str) -> MultiEndpointStore:
    store = create_multi_endpoint_store(roots, strategy, namespace="shared")
    run(store.put_all_endpoints("obj", b"0123456789"))
    store.reset_stats()
    return store


def test_round_robin_is_exactly_even(roots: list[str]) -> None:
    store = _replicated(roots, "round_robin")

    async def go() -> None:
        for _ in range(30):
            assert await store.get(roots[0] + "obj") == b"0123456789"
        await asyncio.gather(*(store.get("obj") for _ in range(30)))

    run(go())
    stats = store.get_endpoint_stats()
    assert [s["total_requests"] for s in stats] == [20, 20, 20]
    assert [s["bytes_read"] for s in stats] == [200, 200, 200]


def test_round_robin_order(roots: list[str]) -> None:
    store = create_multi_endpoint_store(roots)
    assert [store._acquire(None) for _ in range(7)] == [0, 1, 2, 0, 1, 2, 0]


def test_least_connections_avoids_busy_endpoint(roots: list[str]) -> None:
    store = _replicated(roots, "least_connections")
    with store.lease(0) as held:
        assert held == 0
        assert store.get_endpoint_stats()[0]["active_requests"] == 1
        run(store.get("obj"))
        assert requests(store) == [0, 1, 0]  # idle 1 and 2 tie: lowest index
        with store.lease(1), store.lease(1):
            run(store.get(roots[1] + "obj"))
            assert requests(store) == [0, 1, 1]
    assert requests(store) == [1, 3, 1]  # the leases count when they end
    with store.lease() as picked:
        assert picked == 0
    with pytest.raises(RuntimeError), store.lease(2):
        raise RuntimeError("work outside the store failed")
    assert store.get_endpoint_stats()[2]["error_count"] == 1
    assert store.get_total_stats()["active_requests"] == 0


def test_least_connections_with_real_slow_request(roots: list[str], tmp_path: Path) -> None:
    """Endpoint 0 is held by a request that is really in flight (blocked in a put)."""
    import threading

    store = _replicated(roots, "least_connections")
    started, release = threading.Event(), threading.Event()

    async def go() -> None:
        slow_data = memoryview(b"slow")

        def blocker() -> None:
            started.set()
            release.wait(10)

        index = store._acquire(0)
        pending = asyncio.ensure_future(store._run(index, blocker))
        await asyncio.get_running_loop().run_in_executor(None, started.wait, 10)
        assert store.get_endpoint_stats()[0]["active_requests"] == 1
        # Both are chosen before either awaits: 0 is busy, 1 gets the read, 2 the write.
        got, _ = await asyncio.gather(store.get("obj"), store.put("obj2", slow_data))
        assert got == b"0123456789"
        release.set()
        await pending

    run(go())
    assert requests(store) == [1, 1, 1]
    assert (tmp_path / "ep2" / "obj2").read_bytes() == b"slow"


# ----------------------------------------------------------------------------- stats


def test_stats_count_errors_and_bytes(roots: list[str]) -> None:
    store = create_multi_endpoint_store(roots)

    async def go() -> None:
        await store.put(roots[0] + "a", b"x" * 100)
        await store.get(roots[0] + "a")
        await store.get_range(roots[0] + "a", 90, 50)
        with pytest.raises(NotFoundError):
            await store.get(roots[0] + "missing")
        with pytest.raises(NotFoundError):
            await store.get_from_endpoint(1, "missing")

    run(go())
    stats = store.get_endpoint_stats()
    assert stats[0] == {
        "uri": roots[0], "total_requests": 4, "bytes_read": 110, "bytes_written": 100,
        "error_count": 1, "active_requests": 0,
    }
    assert stats[1]["error_count"] == 1 and stats[1]["total_requests"] == 1
    assert store.get_total_stats() == {
        "total_requests": 5, "bytes_read": 110, "bytes_written": 100, "error_count": 2,
        "active_requests": 0, "endpoint_count": 3,
    }


def test_cancelled_request_releases_slot(roots: list[str]) -> None:
    store = _replicated(roots, "least_connections")

    async def go() -> None:
        task = asyncio.ensure_future(store.get("obj"))
        await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await asyncio.sleep(0.2)  # a started read finishes on its worker

    run(go())
    assert store.get_total_stats()["active_requests"] == 0
    assert store.get_total_stats()["total_requests"] == 1


# ----------------------------------------------------------------------------- pickling


def test_pickle_round_trip(roots: list[str]) -> None:
    store = _replicated(roots, "least_connections")
    run(store.get("obj"))
    copy = pickle.loads(pickle.dumps(store))
    assert isinstance(copy, MultiEndpointStore)
    assert copy.endpoint_uris() == store.endpoint_uris()
    assert copy.strategy() == "least_connections"
    assert copy.namespace() == "shared"
    assert copy.get_total_stats()["total_requests"] == 0  # counters start fresh
    assert run(copy.get("obj")) == b"0123456789"


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_fork_child_starts_with_nothing_in_flight(roots: list[str]) -> None:
    store = _replicated(roots, "least_connections")
    with store.lease(0):
        pid = os.fork()
        if pid == 0:  # pragma: no cover - child
            ok = False
            try:
                ok = store.get_total_stats()["active_requests"] == 0
                ok = ok and run(store.get("obj")) == b"0123456789"
                ok = ok and requests(store) == [1, 0, 0]  # idle 0 is the lowest index again
            finally:
                os._exit(0 if ok else 1)
        _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
