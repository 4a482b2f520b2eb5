"""``memory://`` specifics: contents per process (a fork child starts with a snapshot and
neither process sees the other's writes afterwards; a spawned process starts empty),
buckets, paged listings, stale uploads. The conformance suite covers the rest."""

from __future__ import annotations

import multiprocessing

import pytest

import s3dlio
from s3dlio.errors import InvalidPathError, NotFoundError, StoreError


def _child_view(uri: str, queue: multiprocessing.Queue[bytes | None]) -> None:
    try:
        queue.put(bytes(s3dlio.get(uri)))
    except FileNotFoundError:
        queue.put(None)


@pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(), reason="no fork")
def test_a_fork_child_sees_a_snapshot_and_the_parent_never_sees_its_writes(memory_root: str) -> None:
    s3dlio.put_bytes(memory_root + "k", b"before fork")
    ctx = multiprocessing.get_context("fork")

    def child(queue: multiprocessing.Queue[bytes | None]) -> None:
        queue.put(bytes(s3dlio.get(memory_root + "k")))
        s3dlio.put_bytes(memory_root + "k", b"written by the child")
        s3dlio.put_bytes(memory_root + "child-only", b"x")
        queue.put(bytes(s3dlio.get(memory_root + "k")))

    queue: multiprocessing.Queue[bytes | None] = ctx.Queue()
    proc = ctx.Process(target=child, args=(queue,))
    proc.start()
    try:
        seen, rewritten = queue.get(timeout=30), queue.get(timeout=30)
    finally:
        proc.join(30)
    assert proc.exitcode == 0
    assert seen == b"before fork" and rewritten == b"written by the child"
    assert s3dlio.get(memory_root + "k") == b"before fork"  # the child's writes stay in the child
    assert not s3dlio.exists(memory_root + "child-only")


def test_a_spawned_process_starts_empty(memory_root: str) -> None:
    s3dlio.put_bytes(memory_root + "k", b"parent only")
    ctx = multiprocessing.get_context("spawn")
    queue: multiprocessing.Queue[bytes | None] = ctx.Queue()
    proc = ctx.Process(target=_child_view, args=(memory_root + "k", queue))
    proc.start()
    try:
        got = queue.get(timeout=60)
    finally:
        proc.join(30)
    assert proc.exitcode == 0 and got is None


def test_uris_name_a_bucket_first(memory_runtime: object) -> None:
    from s3dlio.store.memory import MemoryStore

    assert MemoryStore.split_uri("memory://b/x/y") == ("memory://b/", "x/y")
    assert MemoryStore.split_uri("memory://b") == ("memory://b/", "")
    assert MemoryStore.split_uri("memory://") == ("memory://", "")
    with pytest.raises(InvalidPathError, match="bucket first"):
        s3dlio.put_bytes("memory:///no-bucket", b"x")
    with pytest.raises(InvalidPathError, match="need a bucket"):
        s3dlio.get("memory://")


def test_buckets_come_with_their_first_write_and_go_when_empty(memory_root: str) -> None:
    name = memory_root[len("memory://"):-1]
    assert name not in [c["name"] for c in s3dlio.list_containers("memory://")]
    assert s3dlio.list(memory_root) == []  # a missing bucket lists as empty
    s3dlio.put_bytes(memory_root + "k", b"v")
    assert name in [c["name"] for c in s3dlio.list_containers("memory://")]
    with pytest.raises(StoreError) as info:
        s3dlio.delete_bucket(memory_root)
    assert info.value.code == "BucketNotEmpty" and info.value.op == "delete_bucket"
    s3dlio.delete(memory_root + "k")
    s3dlio.delete_bucket(memory_root)
    with pytest.raises(NotFoundError):
        s3dlio.delete_bucket(memory_root)
    s3dlio.create_bucket(memory_root + "dir")  # the bucket and a dir/ marker
    assert s3dlio.list(memory_root) == [memory_root + "dir/"]


def test_listing_pages_carry_sizes_and_skip_whole_directories(memory_root: str) -> None:
    from s3dlio.plugin import runtime as rt
    from s3dlio.store.memory import MemoryStore

    s3dlio.put_many([(f"{memory_root}d/{i:04d}", bytes(i % 7)) for i in range(2500)])
    s3dlio.put_many([(memory_root + n, b"xy") for n in ("a", "d0", "e/f", "e/g/h")])
    store, _ = rt.resolve(memory_root)
    pages = list(store.list("", recursive=True))
    assert [len(p.keys) for p in pages] == [MemoryStore.page_size] * 2 + [504]
    assert all(p.metas is not None and [m.key for m in p.metas] == list(p.keys) for p in pages)
    sizes = {m.key: m.size for p in pages for m in (p.metas or ())}
    assert sizes["d/0006"] == 6 and sizes["e/g/h"] == 2
    flat = list(store.list("", recursive=False))
    assert len(flat) == 1 and list(flat[0].keys) == ["a", "d0"] and list(flat[0].prefixes) == ["d/", "e/"]


def test_writes_copy_the_buffer_and_copies_share_the_bytes(memory_root: str) -> None:
    from s3dlio.plugin import runtime as rt

    buf = bytearray(b"original")
    s3dlio.put_bytes(memory_root + "k", buf)
    buf[:] = b"mutated!"
    assert s3dlio.get(memory_root + "k") == b"original"
    store, _ = rt.resolve(memory_root)
    etag = store.head("k").etag
    store.copy("k", "c")
    assert store.head("c").etag != etag  # a new object, the same bytes
    store.rename("c", "r")
    assert not store.exists("c") and s3dlio.get(memory_root + "r") == b"original"


def test_stale_uploads_are_aborted(memory_root: str) -> None:
    from s3dlio.plugin import runtime as rt

    store, _ = rt.resolve(memory_root)
    upload_id = store.create_upload("big")
    store.upload_part("big", upload_id, 1, memoryview(b"part"))
    assert s3dlio.abort_incomplete_uploads(memory_root + "other/", older_than_s=0) == 0
    assert s3dlio.abort_incomplete_uploads(memory_root, older_than_s=3600) == 0  # too young
    assert s3dlio.abort_incomplete_uploads(memory_root, older_than_s=0) == 1
    with pytest.raises(NotFoundError, match="no such upload"):
        store.complete_upload("big", upload_id, [])
