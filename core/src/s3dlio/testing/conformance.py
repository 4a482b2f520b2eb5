"""``ObjectStoreConformance``: the behaviour every s3dlio storage backend must have.

Subclass it in a class named ``Test…`` and provide the fixture ``store_root``: the
URI of an empty, writable directory, ending in ``/`` (``f"file://{tmp_path}/"``,
``"s3://bucket/unique-prefix/"``). Every test goes through the public module API
(``s3dlio.get``, ``s3dlio.put_bytes``, ``s3dlio.list`` …) and, where the API has no
equivalent, through the store object returned by ``s3dlio.plugin.runtime.resolve``.

Class attributes a subclass may change:

``cross_process``
    ``False`` for a backend whose data lives in the test process (an in-memory
    toy store): the spawned-process test then only checks pickling.
``paged_listing_count``
    objects written by the paged-listing test (more than one service page).
``unicode_keys``
    ``False`` for a backend that cannot store non-ASCII keys.
``deletes_only_empty_containers``
    ``False`` for a server that deletes a container with its objects (SeaweedFS):
    the container test then does not expect ``delete_bucket`` of a full one to fail.

Optional features are tested by capability (:mod:`s3dlio.store.capabilities`): a store
that has ``MULTIPART``, ``CONDITIONAL_PUT``, ``BUCKETS``, ``SERVER_COPY`` or ``DIRECT_IO``
must pass that feature's tests, which are skipped for a store without it (and a store
without ``BUCKETS`` must refuse container calls with ``NotSupportedError``). A store with
``BUCKETS`` needs the fixture ``container_parent``: the URI that ``list_containers``
lists and under which ``container_parent + name + "/"`` is a new container
(``"s3://"``, ``"az://account/"``, ``f"file://{tmp_path}/"``, ``"memory://"``).
"""

from __future__ import annotations

import asyncio
import inspect
import pickle
import random
import threading
import unicodedata
import uuid
from collections.abc import Callable
from typing import Any

import pytest

import s3dlio
from s3dlio.bytesview import BytesView
from s3dlio.errors import (
    BatchError,
    InvalidPathError,
    NotFoundError,
    NotSupportedError,
    S3dlioError,
    StoreError,
)
from s3dlio.plugin import runtime as _runtime
from s3dlio.store import Capability, ListPage, ObjectStore, UploadPart, capabilities_of, require
from s3dlio.store.middleware import StoreWrapper

__all__ = ["ObjectStoreConformance", "STAT_KEYS"]

#: Keys of the public ``stat()`` dictionary (docs/api.md, "Reads").
STAT_KEYS = frozenset({
    "size", "last_modified", "etag", "content_type", "content_language", "content_encoding",
    "cache_control", "content_disposition", "expires", "storage_class", "server_side_encryption",
    "ssekms_key_id", "sse_customer_algorithm", "version_id", "replication_status", "metadata",
})


def _payload(seed: int, size: int) -> bytes:
    """Deterministic, position-dependent bytes (a shifted or truncated copy never matches)."""
    return random.Random(seed).randbytes(size)


def _run_threads(n: int, target: Callable[[int], None]) -> list[BaseException]:
    errors: list[BaseException] = []
    lock = threading.Lock()

    def wrapper(i: int) -> None:
        try:
            target(i)
        except BaseException as exc:  # collected and re-raised by the test
            with lock:
                errors.append(exc)

    threads = [threading.Thread(target=wrapper, args=(i,), daemon=True) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return errors


@pytest.mark.timeout(120)
class ObjectStoreConformance:
    """Inherit from this in a ``Test…`` class and provide the ``store_root`` fixture."""

    cross_process: bool = True
    paged_listing_count: int = 1050
    unicode_keys: bool = True
    deletes_only_empty_containers: bool = True

    # ------------------------------------------------------------------ fixtures
    @pytest.fixture
    def store_root(self) -> str:  # pragma: no cover - a subclass must override it
        raise NotImplementedError("subclasses of ObjectStoreConformance provide store_root")

    @pytest.fixture
    def root(self, store_root: str) -> str:
        assert isinstance(store_root, str) and "://" in store_root, store_root
        assert store_root.endswith("/"), f"store_root must end in '/': {store_root!r}"
        assert s3dlio.list(store_root, recursive=True) == [], "store_root must start empty"
        return store_root

    @pytest.fixture
    def store(self, root: str) -> tuple[ObjectStore, str]:
        """``(store, base_key)``: the store serving ``root`` and the key of ``root`` in it."""
        store, base = _runtime.resolve(root)
        assert isinstance(store, ObjectStore)
        assert base == "" or base.endswith("/")
        return store, base

    @pytest.fixture
    def container_parent(self) -> str | None:
        """Where containers are created and listed (stores with ``Capability.BUCKETS``)."""
        return None

    # ----------------------------------------------------------------- basics
    @pytest.mark.parametrize("size", [1, 17, 4096, 65537, (1 << 20) + 3])
    def test_round_trip(self, root: str, size: int) -> None:
        data = _payload(size, size)
        s3dlio.put_bytes(root + "obj.bin", data)
        got = s3dlio.get(root + "obj.bin")
        assert isinstance(got, BytesView)
        assert len(got) == size
        assert bytes(got) == data
        assert s3dlio.stat(root + "obj.bin")["size"] == size

    def test_overwrite_replaces_content(self, root: str) -> None:
        s3dlio.put_bytes(root + "o", b"a much longer first version")
        s3dlio.put_bytes(root + "o", b"short")
        assert s3dlio.get(root + "o") == b"short"
        assert s3dlio.stat(root + "o")["size"] == 5

    def test_empty_object(self, root: str) -> None:
        s3dlio.put_bytes(root + "empty", b"")
        got = s3dlio.get(root + "empty")
        assert isinstance(got, BytesView)
        assert len(got) == 0 and got == b""
        assert s3dlio.stat(root + "empty")["size"] == 0
        assert s3dlio.exists(root + "empty") is True
        assert s3dlio.list(root) == [root + "empty"]
        assert s3dlio.get_range(root + "empty", 0, 10) == b""
        assert s3dlio.get_range(root + "empty", 5) == b""

    def test_accepts_any_contiguous_buffer(self, root: str) -> None:
        import array

        arr = array.array("i", [1, 2, 3, 4])
        s3dlio.put_bytes(root + "arr", arr)
        assert s3dlio.get(root + "arr") == arr.tobytes()
        s3dlio.put_bytes(root + "ba", bytearray(b"xyz"))
        s3dlio.put_bytes(root + "mv", memoryview(b"0123456789")[2:5])
        assert s3dlio.get(root + "mv") == b"234"
        view = s3dlio.get(root + "ba")
        s3dlio.put_bytes(root + "from-view", view)
        assert s3dlio.get(root + "from-view") == b"xyz"

    @pytest.mark.parametrize("bad", [42, "text", [1, 2], {"a": 1}, None, 1.5])
    def test_put_bytes_rejects_non_buffers(self, root: str, bad: Any) -> None:
        with pytest.raises(TypeError, match="bytes-like"):
            s3dlio.put_bytes(root + "bad", bad)
        assert s3dlio.exists(root + "bad") is False

    def test_put_bytes_rejects_non_contiguous(self, root: str) -> None:
        strided = memoryview(bytearray(10))[::2]
        with pytest.raises(ValueError, match="contiguous"):
            s3dlio.put_bytes(root + "strided", strided)
        assert s3dlio.exists(root + "strided") is False

    def test_put_to_directory_uri_is_invalid(self, root: str) -> None:
        with pytest.raises(InvalidPathError) as info:
            s3dlio.put_bytes(root + "dir/", b"x")
        assert isinstance(info.value, ValueError)
        with pytest.raises(InvalidPathError):
            s3dlio.exists(root + "dir/")

    # ----------------------------------------------------------------- ranges
    def test_ranges_and_eof_clipping(self, root: str) -> None:
        data = _payload(7, 1000)
        uri = root + "ranged"
        s3dlio.put_bytes(uri, data)
        cases: list[tuple[int, int | None, bytes]] = [
            (0, 10, data[:10]),
            (100, 250, data[100:350]),
            (990, 100, data[990:]),  # over-long: the remainder
            (0, None, data),
            (500, None, data[500:]),
            (999, 1, data[999:]),
            (0, 1 << 62, data),  # huge length
            (1000, 5, b""),  # offset == size
            (1000, None, b""),
            (5000, 5, b""),  # offset > size
            (10, 0, b""),  # zero length
        ]
        for offset, length, want in cases:
            got = s3dlio.get_range(uri, offset, length)
            assert isinstance(got, BytesView), (offset, length)
            assert bytes(got) == want, (offset, length)
        store, key = _runtime.resolve(uri)
        assert bytes(store.get_range(key, 100, 50)) == data[100:150]
        for offset, length in ((-1, 10), (0, -1), (-5, None)):
            with pytest.raises(ValueError):
                s3dlio.get_range(uri, offset, length)

    def test_get_range_into_and_get_ranges(self, store: tuple[ObjectStore, str]) -> None:
        st, base = store
        data = _payload(11, 5000)
        st.put(base + "r", memoryview(data))
        buf = bytearray(300)
        n = st.get_range_into(base + "r", 4800, memoryview(buf))
        assert n == 200 and bytes(buf[:200]) == data[4800:]
        parts = st.get_ranges(base + "r", [(4000, 10), (0, 5), (10, 20), (4990, 50)])
        assert [bytes(p) for p in parts] == [data[4000:4010], data[:5], data[10:30], data[4990:]]

    # ---------------------------------------------------------------- missing
    def test_missing_object_errors(self, root: str) -> None:
        uri = root + "no/such/object.bin"
        calls: list[tuple[str, Callable[[], Any]]] = [
            ("get", lambda: s3dlio.get(uri)),
            ("stat", lambda: s3dlio.stat(uri)),
            ("get_range", lambda: s3dlio.get_range(uri, 0, 10)),
            ("get_range to end", lambda: s3dlio.get_range(uri, 5)),
        ]
        for what, call in calls:
            with pytest.raises(NotFoundError) as info:
                call()
            err = info.value
            assert isinstance(err, FileNotFoundError), what
            assert isinstance(err, S3dlioError), what
            assert "object.bin" in str(err), (what, str(err))
            clone = pickle.loads(pickle.dumps(err))
            assert type(clone) is type(err) and str(clone) == str(err)

    def test_missing_via_store_object(self, store: tuple[ObjectStore, str]) -> None:
        st, base = store
        with pytest.raises(NotFoundError):
            st.head(base + "missing")
        with pytest.raises(FileNotFoundError):
            st.get(base + "missing")
        assert st.exists(base + "missing") is False

    def test_exists(self, root: str) -> None:
        assert s3dlio.exists(root + "e") is False
        s3dlio.put_bytes(root + "e", b"1")
        assert s3dlio.exists(root + "e") is True
        assert s3dlio.exists(root + "e/child") is False
        s3dlio.delete(root + "e")
        assert s3dlio.exists(root + "e") is False

    def test_stat_dict(self, root: str) -> None:
        s3dlio.put_bytes(root + "s", b"12345")
        st = s3dlio.stat(root + "s")
        missing_keys = STAT_KEYS - set(st)
        assert not missing_keys, missing_keys
        assert st["size"] == 5 and isinstance(st["size"], int)
        assert isinstance(st["metadata"], dict)
        lm = st["last_modified"]
        assert lm is None or (isinstance(lm, str) and lm.endswith("Z") and "T" in lm)
        assert s3dlio.stat_object(root + "s")["size"] == 5

    # ---------------------------------------------------------------- listing
    def _tree(self, root: str) -> list[str]:
        names = ["a.txt", "b.bin", "d1/x.txt", "d1/y.txt", "d1/sub/z.txt", "d2/w.txt"]
        s3dlio.put_many([(root + n, n.encode()) for n in names])
        return names

    def test_list_recursive_and_delimited(self, root: str) -> None:
        names = self._tree(root)
        assert s3dlio.list(root, recursive=True) == sorted(root + n for n in names)
        assert s3dlio.list(root) == [root + "a.txt", root + "b.bin", root + "d1/", root + "d2/"]
        expect_d1 = [root + "d1/sub/", root + "d1/x.txt", root + "d1/y.txt"]
        assert s3dlio.list(root + "d1/") == expect_d1
        assert s3dlio.list(root + "d1") == expect_d1  # "d" and "d/" are the same directory
        assert s3dlio.list(root + "d1", recursive=True) == [
            root + "d1/sub/z.txt", root + "d1/x.txt", root + "d1/y.txt"
        ]
        # a directory is never a bare key prefix
        assert s3dlio.list(root + "d", recursive=True) == []
        assert s3dlio.list_keys(root + "d1/") == ["sub/", "x.txt", "y.txt"]
        assert s3dlio.list_full_uris(root) == s3dlio.list(root)

    def test_list_object_exactly_at_uri(self, root: str) -> None:
        self._tree(root)
        assert s3dlio.list(root + "a.txt") == [root + "a.txt"]
        assert s3dlio.list(root + "d1/x.txt", recursive=True) == [root + "d1/x.txt"]

    def test_list_glob(self, root: str) -> None:
        self._tree(root)
        assert s3dlio.list(root + "d1/*.txt") == [root + "d1/x.txt", root + "d1/y.txt"]
        assert s3dlio.list(root + "*.txt") == [root + "a.txt"]  # '*' does not cross '/'
        assert s3dlio.list(root + "*.txt", recursive=True) == sorted(
            root + n for n in ("a.txt", "d1/x.txt", "d1/y.txt", "d1/sub/z.txt", "d2/w.txt")
        )
        assert s3dlio.list(root + "d1/?.txt") == [root + "d1/x.txt", root + "d1/y.txt"]
        assert s3dlio.list(root + "[ab].*") == [root + "a.txt", root + "b.bin"]
        assert s3dlio.list(root + "*.nothing") == []

    def test_list_regex_pattern(self, root: str) -> None:
        self._tree(root)
        assert s3dlio.list(root, recursive=True, pattern=r"\.bin$") == [root + "b.bin"]
        assert s3dlio.list(root, recursive=True, pattern=r"^d1/") == [
            root + "d1/sub/z.txt", root + "d1/x.txt", root + "d1/y.txt"
        ]
        assert s3dlio.list(root, recursive=True, pattern="z") == [root + "d1/sub/z.txt"]

    def test_list_missing_directory_is_empty(self, root: str) -> None:
        assert s3dlio.list(root + "nothing/here/") == []
        assert s3dlio.list(root + "nothing", recursive=True) == []
        assert list(s3dlio.list_iter(root + "nothing/")) == []

    def test_list_sorted_and_list_iter_streams(self, root: str) -> None:
        names = [f"k{random.Random(i).randrange(10**6):06d}-{i}" for i in range(40)]
        s3dlio.put_many([(root + n, b"x") for n in names])
        listed = s3dlio.list(root)
        assert listed == sorted(root + n for n in names)
        it = s3dlio.list_iter(root)
        assert iter(it) is it  # an iterator, not a materialised list
        first = next(it)
        assert first.startswith(root)
        assert sorted([first, *it]) == listed

    def test_paged_listing(self, root: str, store: tuple[ObjectStore, str]) -> None:
        n = self.paged_listing_count
        s3dlio.put_many([(root + f"p/{i:05d}", b"") for i in range(n)], max_in_flight=32)
        s3dlio.put_bytes(root + "p/sub/deep", b"d")
        st, base = store
        pages = list(st.list(base + "p/", recursive=True))
        assert all(isinstance(p, ListPage) for p in pages)
        keys = [k for p in pages for k in p.keys]
        assert len(keys) == len(set(keys)) == n + 1
        assert set(keys) == {base + f"p/{i:05d}" for i in range(n)} | {base + "p/sub/deep"}
        flat = st.list_with_delimiter(base + "p/")
        assert len(flat.keys) == n and list(flat.prefixes) == [base + "p/sub/"]
        assert len(s3dlio.list(root + "p/", recursive=True)) == n + 1
        assert sum(1 for _ in s3dlio.list_iter(root + "p/")) == n + 1  # n objects + "sub/"

    # ---------------------------------------------------------------- atomicity
    def test_atomic_put_under_concurrent_readers(self, root: str) -> None:
        size = 4 << 20
        old, new = _payload(1, size), _payload(2, size)
        uri = root + "atomic.bin"
        s3dlio.put_bytes(uri, old)
        done = threading.Event()
        reads = [0]
        bad: list[str] = []

        def reader(_i: int) -> None:
            while not done.is_set():
                got = s3dlio.get(uri)
                if got != old and got != new:
                    bad.append(f"torn read: {len(got)} bytes")
                    return
                reads[0] += 1

        threads = [threading.Thread(target=reader, args=(i,), daemon=True) for i in range(4)]
        for t in threads:
            t.start()
        try:
            for i in range(16):
                s3dlio.put_bytes(uri, new if i % 2 == 0 else old)
        finally:
            done.set()
            for t in threads:
                t.join(30)
        assert not bad, bad
        assert reads[0] > 0
        assert s3dlio.get(uri) == old
        # no temporary or partial objects are visible
        assert s3dlio.list(root, recursive=True) == [uri]

    # ----------------------------------------------------------------- delete
    def test_delete_is_idempotent(self, root: str) -> None:
        s3dlio.delete(root + "never-existed")
        s3dlio.put_bytes(root + "d", b"x")
        s3dlio.delete(root + "d")
        assert s3dlio.exists(root + "d") is False
        s3dlio.delete(root + "d")
        st, key = _runtime.resolve(root + "d")
        st.delete(key)

    def test_delete_glob(self, root: str) -> None:
        s3dlio.put_many([(root + n, b"1") for n in ("a.txt", "b.txt", "c.bin", "sub/d.txt")])
        s3dlio.delete(root + "*.txt")
        assert s3dlio.list(root, recursive=True) == [root + "c.bin", root + "sub/d.txt"]
        s3dlio.delete(root + "*.none")  # no match: no-op
        assert len(s3dlio.list(root, recursive=True)) == 2

    def test_delete_recursive(self, root: str) -> None:
        s3dlio.put_many([(root + n, b"1") for n in ("t/a", "t/b/c", "t/b/d/e", "keep", "tt")])
        s3dlio.delete(root + "t", recursive=True)
        assert s3dlio.list(root + "t/", recursive=True) == []
        assert s3dlio.list(root, recursive=True) == [root + "keep", root + "tt"]
        s3dlio.put_many([(root + n, b"1") for n in ("u/a", "u/b/c")])
        s3dlio.delete(root + "u/")  # trailing '/' is a prefix delete
        assert s3dlio.list(root, recursive=True) == [root + "keep", root + "tt"]
        s3dlio.delete(root + "nothing/", recursive=True)

    # --------------------------------------------------------- copy / rename
    def test_copy_and_rename(self, store: tuple[ObjectStore, str]) -> None:
        st, base = store
        data = _payload(3, 70000)
        st.put(base + "src", memoryview(data))
        st.copy(base + "src", base + "dir/copy")
        assert bytes(st.get(base + "src")) == data
        assert bytes(st.get(base + "dir/copy")) == data
        st.rename(base + "dir/copy", base + "moved")
        assert st.exists(base + "dir/copy") is False
        assert bytes(st.get(base + "moved")) == data
        with pytest.raises(NotFoundError):
            st.copy(base + "absent", base + "x")
        assert st.exists(base + "x") is False

    def test_store_derived_operations(self, store: tuple[ObjectStore, str]) -> None:
        st, base = store
        for i in range(3):
            st.put(base + f"m/{i}", memoryview(b"v"))
        assert st.delete_many([base + "m/0", base + "m/1", base + "m/none"]) == []
        assert [k for p in st.list(base + "m/") for k in p.keys] == [base + "m/2"]
        meta = st.head(base + "m/2")
        assert meta.size == 1

    # ---------------------------------------------------------- special keys
    def test_special_keys_round_trip(self, root: str) -> None:
        nfc = unicodedata.normalize("NFC", "café")
        nfd = unicodedata.normalize("NFD", "café")
        assert nfc != nfd
        names = ["with space.bin", "plus+sign", "pct%2Fencoded", "a=b&c", "tilde~(1)"]
        if self.unicode_keys:
            names += [f"{nfc}.txt", f"{nfd}.txt", "日本語/ファイル.txt", "emoji-\U0001F600"]
        for i, name in enumerate(names):
            s3dlio.put_bytes(root + name, f"{i}:{name}".encode())
        for i, name in enumerate(names):
            assert s3dlio.get(root + name) == f"{i}:{name}".encode(), name
            assert s3dlio.exists(root + name), name
        listed = s3dlio.list(root, recursive=True)
        assert listed == sorted(root + n for n in names)
        for uri in listed:  # the listing gives back URIs that address the same objects
            assert s3dlio.stat(uri)["size"] == len(s3dlio.get(uri))

    # --------------------------------------------------- processes & threads
    def test_store_pickles_into_spawned_process(self, store: tuple[ObjectStore, str]) -> None:
        import multiprocessing

        from s3dlio.testing import _spawn_helpers

        st, base = store
        parent_data, child_data = _payload(21, 3000), _payload(22, 5000)
        st.put(base + "from-parent", memoryview(parent_data))
        clone = pickle.loads(pickle.dumps(st))
        assert type(clone) is type(st) and clone.root == st.root
        assert bytes(clone.get(base + "from-parent")) == parent_data
        if not self.cross_process:
            return
        ctx = multiprocessing.get_context("spawn")
        queue = ctx.Queue()
        proc = ctx.Process(
            target=_spawn_helpers.write_and_read,
            args=(st, base + "from-child", child_data, base + "from-parent", parent_data, queue),
        )
        proc.start()
        try:
            status, info = queue.get(timeout=60)
        finally:
            proc.join(30)
        assert status == "ok", info
        assert proc.exitcode == 0
        assert info["store_type"] == type(st).__name__
        assert bytes(st.get(base + "from-child")) == child_data
        assert s3dlio.get(st.uri(base + "from-child")) == child_data

    def test_sixteen_threads_share_one_store(self, root: str, store: tuple[ObjectStore, str]) -> None:
        st, base = store
        shared = _payload(99, 10000)
        s3dlio.put_bytes(root + "shared", shared)
        barrier = threading.Barrier(16)

        def work(i: int) -> None:
            barrier.wait(30)
            mine = []
            for j in range(12):
                data = _payload(i * 100 + j, 100 + 37 * j + i)
                name = f"t{i:02d}/o{j:02d}"
                if j % 2:
                    s3dlio.put_bytes(root + name, data)
                else:
                    st.put(base + name, memoryview(data))
                mine.append(name)
                assert s3dlio.get(root + name) == data
                assert bytes(st.get_range(base + name, 10, 20)) == data[10:30]
                assert s3dlio.stat(root + name)["size"] == len(data)
                assert s3dlio.get(root + "shared") == shared
            assert s3dlio.list(root + f"t{i:02d}/") == sorted(root + n for n in mine)
            s3dlio.delete(root + mine[0])
            assert not st.exists(base + mine[0])

        errors = _run_threads(16, work)
        if errors:
            raise errors[0]
        assert len(s3dlio.list(root, recursive=True)) == 1 + 16 * 11

    # ------------------------------------------------------------------ batch
    def test_batch_calls_keep_input_order(self, root: str) -> None:
        items = [(root + f"b/{i:03d}", _payload(i, 50 + i)) for i in range(40)]
        s3dlio.put_many(items, max_in_flight=8)
        order = list(range(40))
        random.Random(5).shuffle(order)
        uris = [items[i][0] for i in order]
        got = s3dlio.get_many(uris, max_in_flight=7)
        assert [u for u, _ in got] == uris
        for (uri, data), i in zip(got, order, strict=True):
            assert isinstance(data, BytesView)
            assert data == items[i][1], uri
        stats = s3dlio.stat_many(uris)
        assert [s["size"] for s in stats] == [50 + i for i in order]
        assert s3dlio.get_many_stats(uris) == (40, sum(50 + i for i in range(40)))
        assert s3dlio.get_many([]) == []
        assert s3dlio.stat_many([]) == []

    def test_batch_errors_list_every_failure(self, root: str) -> None:
        s3dlio.put_many([(root + "ok1", b"1"), (root + "ok2", b"22")])
        uris = [root + "ok1", root + "miss-a", root + "ok2", root + "miss-b"]
        for call in (s3dlio.get_many, s3dlio.stat_many, s3dlio.get_many_stats):
            with pytest.raises(BatchError) as info:
                call(uris)
            err = info.value
            assert [u for u, _ in err.failures] == [root + "miss-a", root + "miss-b"], call
            assert all(isinstance(e, NotFoundError) for _, e in err.failures)
            assert err.succeeded == 2
            assert isinstance(err.__cause__, NotFoundError)
        with pytest.raises(BatchError) as info:
            s3dlio.put_many([(root + "p1", b"1"), (root + "dir/", b"2"), (root + "p3", b"3")])
        assert [u for u, _ in info.value.failures] == [root + "dir/"]
        assert s3dlio.get(root + "p1") == b"1" and s3dlio.get(root + "p3") == b"3"

    def test_batch_window_validation(self, root: str) -> None:
        for bad in (0, -1, 4097):
            with pytest.raises(ValueError):
                s3dlio.get_many([root + "x"], max_in_flight=bad)

    # ------------------------------------------------------------------ async
    def test_async_twins(self, root: str) -> None:
        for name in ("get_async", "get_range_async", "put_bytes_async", "put_many_async",
                     "get_many_async", "stat_async", "stat_many_async", "exists_async",
                     "list_async", "delete_async", "mkdir_async", "head_async",
                     "get_into_async", "get_many_stats_async"):
            assert inspect.iscoroutinefunction(getattr(s3dlio, name)), name

        async def scenario() -> None:
            await s3dlio.put_bytes_async(root + "a", b"hello world")
            await s3dlio.put_many_async([(root + "m/1", b"one"), (root + "m/2", b"two")])
            got = await s3dlio.get_async(root + "a")
            assert isinstance(got, BytesView) and got == b"hello world"
            assert await s3dlio.get_range_async(root + "a", 6) == b"world"
            assert await s3dlio.get_range_async(root + "a", 100, 5) == b""
            assert (await s3dlio.stat_async(root + "a"))["size"] == 11
            assert await s3dlio.exists_async(root + "a") is True
            assert await s3dlio.exists_async(root + "zz") is False
            many = await s3dlio.get_many_async([root + "m/2", root + "m/1"])
            assert [(u, bytes(d)) for u, d in many] == [(root + "m/2", b"two"), (root + "m/1", b"one")]
            assert [s["size"] for s in await s3dlio.stat_many_async([root + "a", root + "m/1"])] == [11, 3]
            assert await s3dlio.get_many_stats_async([root + "a", root + "m/1"]) == (2, 14)
            assert await s3dlio.list_async(root) == [root + "a", root + "m/"]
            assert await s3dlio.list_async(root, recursive=True) == [root + "a", root + "m/1", root + "m/2"]
            head = await s3dlio.head_async(root + "a")
            assert head is not None and head.size == 11
            assert await s3dlio.head_async(root + "zz") is None
            buf = bytearray(16)
            assert await s3dlio.get_into_async(root + "a", buf, expected_len=11) == 11
            assert bytes(buf[:11]) == b"hello world"
            with pytest.raises(s3dlio.LengthMismatchError):
                await s3dlio.get_into_async(root + "a", buf, expected_len=12)
            with pytest.raises(NotFoundError):
                await s3dlio.get_async(root + "zz")
            await s3dlio.mkdir_async(root + "made")
            await s3dlio.delete_async(root + "m", recursive=True)
            await s3dlio.delete_async(root + "a")
            await s3dlio.delete_async(root + "made", recursive=True)
            assert await s3dlio.list_async(root, recursive=True) == []

        asyncio.run(scenario())

    def test_async_twins_run_concurrently(self, root: str) -> None:
        async def scenario() -> list[bytes]:
            await asyncio.gather(*(s3dlio.put_bytes_async(root + f"c{i}", bytes([i]) * 100)
                                   for i in range(20)))
            views = await asyncio.gather(*(s3dlio.get_async(root + f"c{i}") for i in range(20)))
            return [bytes(v) for v in views]

        assert asyncio.run(scenario()) == [bytes([i]) * 100 for i in range(20)]

    # -------------------------------------------------------------- BytesView
    def test_results_are_read_only_bytes_views(self, root: str) -> None:
        data = _payload(4, 256)
        s3dlio.put_bytes(root + "v", data)
        for view in (s3dlio.get(root + "v"), s3dlio.get_range(root + "v", 0, 256),
                     s3dlio.get_many([root + "v"])[0][1]):
            assert isinstance(view, BytesView)
            assert len(view) == 256 and view == data and bytes(view) == data
            assert view.to_bytes() == data
            assert view[0] == data[0] and view[-1] == data[-1]
            assert view[10:20] == data[10:20]
            mv = view.memoryview()
            assert mv.readonly and mv.format == "B" and mv.nbytes == 256
            with pytest.raises(TypeError):
                view[0] = 1
            assert view == data  # unchanged

    # ------------------------------------------------------------------ mkdir
    def test_mkdir(self, root: str) -> None:
        s3dlio.mkdir(root + "newdir")
        s3dlio.mkdir(root + "newdir")  # idempotent
        assert root + "newdir/" in s3dlio.list(root)
        s3dlio.put_bytes(root + "newdir/f", b"f")
        assert s3dlio.get(root + "newdir/f") == b"f"
        assert root + "newdir/f" in s3dlio.list(root + "newdir/")

    # ---------------------------------------------------------- capabilities
    @staticmethod
    def _need(st: ObjectStore, capability: Capability) -> None:
        if capability not in st.capabilities:
            pytest.skip(f"{st.backend} has no {capability.name} (its protocol is not implemented)")

    def test_capabilities_are_derived_and_forwarded(self, store: tuple[ObjectStore, str]) -> None:
        st, _ = store
        backend = _innermost(st)
        assert st.capabilities == capabilities_of(type(backend)) == type(backend).capabilities
        assert Capability.GET_INTO in st.capabilities  # get_range_into is required
        with pytest.raises(AttributeError):
            backend.capabilities = frozenset()

    def _part_size(self, st: ObjectStore) -> int:
        return max(st.min_part_size, 256 << 10)

    def test_multipart_parts_out_of_order(self, store: tuple[ObjectStore, str]) -> None:
        st, base = store
        self._need(st, Capability.MULTIPART)
        mpu = require(st, Capability.MULTIPART, op="put")
        size = self._part_size(st)
        one, two = _payload(31, size), _payload(32, 1000)
        key = base + "mpu/object.bin"
        upload_id = mpu.create_upload(key, content_type="application/x-test")
        p2 = mpu.upload_part(key, upload_id, 2, memoryview(two))  # the last part first
        p1 = mpu.upload_part(key, upload_id, 1, memoryview(one))
        assert (p1.part_number, p1.size, p2.part_number, p2.size) == (1, size, 2, 1000)
        assert st.exists(key) is False  # nothing is visible before the Complete
        assert [k for p in st.list(base, recursive=True) for k in p.keys] == []
        mpu.complete_upload(key, upload_id, [p1, p2])
        assert bytes(st.get(key)) == one + two
        assert st.head(key).size == size + 1000
        assert [k for p in st.list(base, recursive=True) for k in p.keys] == [key]

    def test_multipart_abort_publishes_nothing(self, store: tuple[ObjectStore, str]) -> None:
        st, base = store
        self._need(st, Capability.MULTIPART)
        mpu = require(st, Capability.MULTIPART, op="put")
        key = base + "mpu/aborted.bin"
        upload_id = mpu.create_upload(key)
        mpu.upload_part(key, upload_id, 1, memoryview(_payload(33, self._part_size(st))))
        mpu.abort_upload(key, upload_id)
        mpu.abort_upload(key, upload_id)  # twice is fine
        assert st.exists(key) is False
        assert [k for p in st.list(base, recursive=True) for k in p.keys] == []

    def test_multipart_writer_uses_native_parts(self, store: tuple[ObjectStore, str]) -> None:
        from s3dlio.store.multipart import MultipartUploadWriter

        st, base = store
        self._need(st, Capability.MULTIPART)
        spy = _PartsSpy(st)
        part = self._part_size(st)
        data = _payload(34, 2 * part + 4321)
        with MultipartUploadWriter.for_store(spy, base + "mpu/written.bin", part_size=part,
                                             max_in_flight=2, record=False) as writer:
            for off in range(0, len(data), 100_000):
                writer.write(data[off : off + 100_000])
            info = writer.close()
        assert info["total_bytes"] == len(data) and info["parts"] == 3
        assert spy.calls[0] == "create_upload" and spy.calls[-1] == "complete_upload", spy.calls
        assert spy.calls.count("upload_part") == 3, spy.calls
        assert bytes(st.get(base + "mpu/written.bin")) == data

    def test_put_if_absent_creates_once(self, store: tuple[ObjectStore, str]) -> None:
        st, base = store
        self._need(st, Capability.CONDITIONAL_PUT)
        cput = require(st, Capability.CONDITIONAL_PUT, op="put")
        key = base + "cond/lock"
        assert cput.put_if_absent(key, memoryview(b"first")) is True
        assert cput.put_if_absent(key, memoryview(b"second, longer")) is False
        assert bytes(st.get(key)) == b"first"
        assert st.head(key).size == 5
        st.delete(key)
        assert cput.put_if_absent(key, memoryview(b"third")) is True
        assert bytes(st.get(key)) == b"third"

    def test_put_if_absent_has_one_winner(self, store: tuple[ObjectStore, str]) -> None:
        st, base = store
        self._need(st, Capability.CONDITIONAL_PUT)
        cput = require(st, Capability.CONDITIONAL_PUT, op="put")
        key = base + "cond/race"
        barrier = threading.Barrier(8)
        won: list[int] = []

        def contend(i: int) -> None:
            barrier.wait(30)
            if cput.put_if_absent(key, memoryview(f"writer {i}".encode())):
                won.append(i)

        errors = _run_threads(8, contend)
        if errors:
            raise errors[0]
        assert len(won) == 1, won
        assert bytes(st.get(key)) == f"writer {won[0]}".encode()

    def test_containers_create_list_delete(self, store: tuple[ObjectStore, str],
                                           container_parent: str | None) -> None:
        self._need(store[0], Capability.BUCKETS)
        if container_parent is None:
            pytest.fail(f"{type(self).__name__}: a store with Capability.BUCKETS needs the "
                        "container_parent fixture")
        name = f"s3dlio-conf-{uuid.uuid4().hex[:12]}"
        uri = container_parent + name + "/"
        s3dlio.create_bucket(uri)
        s3dlio.create_bucket(uri)  # an existing container is fine
        listed = {c["name"]: c for c in s3dlio.list_containers(container_parent)}
        assert name in listed, sorted(listed)
        assert listed[name]["uri"] == uri
        created = listed[name]["creation_date"]
        assert created is None or (isinstance(created, str) and created.endswith("Z"))
        s3dlio.put_bytes(uri + "obj", b"inside")
        assert s3dlio.get(uri + "obj") == b"inside"
        if self.deletes_only_empty_containers:
            with pytest.raises(StoreError):
                s3dlio.delete_bucket(uri)  # not empty
            assert s3dlio.get(uri + "obj") == b"inside"
        s3dlio.delete(uri + "obj")
        s3dlio.delete_bucket(uri)
        assert name not in {c["name"] for c in s3dlio.list_containers(container_parent)}

    def test_containers_unsupported_raise_not_supported(self, root: str,
                                                        store: tuple[ObjectStore, str]) -> None:
        if Capability.BUCKETS in store[0].capabilities:
            pytest.skip(f"{store[0].backend} has containers")
        for call, op in ((s3dlio.create_bucket, "create_bucket"), (s3dlio.delete_bucket, "delete_bucket"),
                         (s3dlio.list_containers, "list_containers")):
            with pytest.raises(NotSupportedError) as info:
                call(root)
            assert info.value.op == op and info.value.uri == root, (op, info.value)

    def test_server_side_copy_moves_no_data_through_this_process(
        self, root: str, store: tuple[ObjectStore, str], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        st, base = store
        self._need(st, Capability.SERVER_COPY)
        data = _payload(35, 300_000)
        s3dlio.put_bytes(root + "sc/src", data)
        backend = _innermost(st)

        def refuse(*_args: Any, **_kwargs: Any) -> Any:
            raise AssertionError("a server-side copy read or wrote the data through the store")

        for name in ("get", "get_range", "get_range_into", "put", "put_stream", "put_file"):
            monkeypatch.setattr(backend, name, refuse)
        st.copy(base + "sc/src", base + "sc/dst")
        monkeypatch.undo()
        assert s3dlio.get(root + "sc/dst") == data

    def test_direct_io_alignment(self, root: str, store: tuple[ObjectStore, str]) -> None:
        st, _ = store
        self._need(st, Capability.DIRECT_IO)
        align = require(st, Capability.DIRECT_IO, op="alignment").alignment
        assert align > 0 and align & (align - 1) == 0, align
        data = _payload(36, 3 * align + 7)
        s3dlio.put_bytes(root + "dio", data)
        assert s3dlio.get(root + "dio") == data
        assert s3dlio.get_range(root + "dio", align - 3, align + 5) == data[align - 3 : 2 * align + 2]


def _innermost(store: ObjectStore) -> ObjectStore:
    while isinstance(store, StoreWrapper):
        store = store.inner
    return store


class _PartsSpy(StoreWrapper):
    """Records which multipart calls reach the store (the writer's native path)."""

    def __init__(self, inner: ObjectStore) -> None:
        super().__init__(inner)
        self.calls: list[str] = []
        self._lock = threading.Lock()

    def _saw(self, name: str) -> None:
        with self._lock:
            self.calls.append(name)

    def create_upload(self, key: str, *, content_type: str | None = None) -> str:
        self._saw("create_upload")
        return super().create_upload(key, content_type=content_type)

    def upload_part(self, key: str, upload_id: str, part_number: int, data: memoryview) -> UploadPart:
        self._saw("upload_part")
        return super().upload_part(key, upload_id, part_number, data)

    def complete_upload(self, key: str, upload_id: str, parts: Any) -> str | None:
        self._saw("complete_upload")
        return super().complete_upload(key, upload_id, parts)
