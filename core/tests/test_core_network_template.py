"""NetworkStore's whole-object GET template and key checks, against a scripted store.

The scripted store answers from a dict and records every request, so each test can
check exactly what the template asked for: one GET for a small object, part 0 taken
from the first answer of a large one, the remaining ranges pinned to its version,
the bounded-first form (Azure's), the stored checksum, retries and a broken stream.
"""

from __future__ import annotations

import io
import uuid
import zlib
from collections.abc import Iterator
from typing import Any, ClassVar

import pytest

from s3dlio.config import ConfigSchema, CoreSettings, Settings, UploadSettings, load_settings
from s3dlio.errors import IntegrityError, InvalidPathError, NotFoundError, StoreError, TransientError
from s3dlio.store import ListPage, ObjectMeta
from s3dlio.store.httperrors import transport_error
from s3dlio.store.network import NetworkStore, OpenGet
from s3dlio.store.retry import RetrySettings
from s3dlio.store.sizecache import size_cache

KiB = 1 << 10
MiB = 1 << 20


def _settings(**core: Any) -> Settings:
    schema = ConfigSchema()
    schema.add_section("core", CoreSettings)
    schema.add_section("retry", RetrySettings)
    schema.add_section("upload", UploadSettings)
    explicit = {"core": {"range_threshold_mb": 1, "chunk_size": 256 * KiB, "range_concurrency": 4,
                         **core},
                "retry": {"base_ms": 1, "max_backoff_ms": 2, "quota": 0}}
    return load_settings(schema, environ={}, config_file=None, file_data={}, explicit=explicit)


class Body:
    """A response body over bytes: ``readinto`` like http.client's, release/close recorded."""

    def __init__(self, data: bytes, *, break_after: int | None = None) -> None:
        self._io = io.BytesIO(data)
        self.break_after = break_after
        self.released = self.closed = False

    def readinto(self, buf: memoryview) -> int:
        if self.break_after is not None and self._io.tell() >= self.break_after:
            raise ConnectionResetError(104, "connection reset mid-body")
        return self._io.readinto(buf[: 16 * KiB])  # a socket's worth at a time

    def release(self) -> None:
        self.released = True

    def close(self) -> None:
        self.closed = True


class ScriptedStore(NetworkStore):
    """Objects of one bucket in a dict; ``requests`` records every GET."""

    backend: ClassVar[str] = "scripted"
    schemes: ClassVar[tuple[str, ...]] = ("scripted",)
    _uri_form: ClassVar[str] = "scripted://bucket/key"

    def __init__(self, root: str, settings: Settings, objects: dict[str, bytes]) -> None:
        super().__init__(root, settings)
        self.bucket = root.split("://", 1)[1].rstrip("/")
        self.objects = objects
        self.requests: list[tuple[Any, ...]] = []
        self.bodies: list[Body] = []
        self.head_bytes: int | None = None  # answer the first GET with a bounded range
        self.checksums: dict[str, str] = {}
        self.failures: list[BaseException] = []  # raised by the next first GETs, in order
        self.break_first_after: int | None = None
        self.short_first = False
        self.checked_keys: list[str] = []

    @classmethod
    def split_uri(cls, uri: str) -> tuple[str, str]:
        bucket, _, key = uri.split("://", 1)[1].partition("/")
        return f"scripted://{bucket}/", key

    def _translate(self, exc: BaseException, op: str, key: str) -> StoreError:
        return transport_error(exc, where="scripted", op=op, uri=self.uri(key), backend=self.backend)

    def _check_key(self, key: str, op: str) -> None:
        self.checked_keys.append(key)
        if len(key) > 20:
            raise InvalidPathError("key too long", op=op, uri=self.uri(key), backend=self.backend)

    def _data(self, key: str) -> bytes:
        try:
            return self.objects[key]
        except KeyError:
            raise NotFoundError(op="get", uri=self.uri(key), backend=self.backend) from None

    def _open_get(self, key: str) -> OpenGet:
        self.requests.append(("get",))
        if self.failures:
            raise self.failures.pop(0)
        data = self._data(key)
        size = len(data)
        head = None if self.head_bytes is None else min(self.head_bytes, size)
        sent = data if head is None else data[:head]
        if self.short_first:
            sent = sent[:-1]
        body = Body(sent, break_after=self.break_first_after)
        self.bodies.append(body)
        return OpenGet(size, body.readinto, body.release, body.close, head=head, pin="v1",
                       checksum=self.checksums.get(key))

    def _range_into(self, key: str, offset: int, buf: memoryview, *, pin: str | None = None) -> int:
        self.requests.append(("range", offset, len(buf), pin))
        data = self._data(key)[offset : offset + len(buf)]
        buf[: len(data)] = data
        return len(data)

    def _checksum_of(self, data: memoryview) -> str | None:
        return f"{zlib.crc32(data):08x}"

    def _put_single(self, key: str, data: memoryview) -> None:
        self.objects[key] = bytes(data)

    def head(self, key: str) -> ObjectMeta:
        return ObjectMeta(key=key, size=len(self._data(key)))

    def list(self, prefix: str = "", *, recursive: bool = True) -> Iterator[ListPage]:
        keys = sorted(k for k in self.objects if k.startswith(prefix))
        yield ListPage(keys=keys, prefixes=[], metas=[])

    def delete(self, key: str) -> None:
        self.objects.pop(key, None)

    def copy(self, src_key: str, dst_key: str) -> None:
        self.objects[dst_key] = self._data(src_key)


def _payload(n: int) -> bytes:
    return bytes((i * 7 + i // 251) % 256 for i in range(n))


@pytest.fixture
def store() -> ScriptedStore:
    return ScriptedStore(f"scripted://b{uuid.uuid4().hex[:8]}/", _settings(), {})


def _ranges(store: ScriptedStore) -> list[tuple[Any, ...]]:
    return [r for r in store.requests if r[0] == "range"]


def test_small_get_is_one_request_into_an_exact_buffer(store: ScriptedStore) -> None:
    data = _payload(300 * KiB)
    store.objects["small"] = data
    got = store.get("small")
    assert bytes(got) == data and len(got) == len(data)
    assert store.requests == [("get",)]
    assert store.bodies[0].released and not store.bodies[0].closed  # read to its end: pooled
    assert size_cache().get(store.uri("small")) == len(data)


def test_large_get_splits_with_part_zero_from_the_first_answer(store: ScriptedStore) -> None:
    data = _payload(MiB + 12345)
    store.objects["large"] = data
    assert bytes(store.get("large")) == data
    assert store.requests[0] == ("get",)
    ranges = _ranges(store)
    assert ranges and min(r[1] for r in ranges) == 256 * KiB, "part 0 came from the first GET"
    assert {r[3] for r in ranges} == {"v1"}, "every part pinned to the first answer's version"
    assert sum(r[2] for r in ranges) == len(data) - 256 * KiB
    assert store.bodies[0].closed and not store.bodies[0].released  # read in part: dropped


def test_known_large_size_skips_the_first_get(store: ScriptedStore) -> None:
    data = _payload(MiB + 1)
    store.objects["known"] = data
    size_cache().put(store.uri("known"), len(data))
    assert bytes(store.get("known")) == data
    assert all(r[0] == "range" for r in store.requests)
    assert min(r[1] for r in store.requests) == 0 and {r[3] for r in store.requests} == {None}


def test_known_size_ignored_where_the_backend_keeps_its_first_get(store: ScriptedStore,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ScriptedStore, "_split_known_sizes", False)
    data = _payload(MiB + 1)
    store.objects["known"] = data
    size_cache().put(store.uri("known"), len(data))
    assert bytes(store.get("known")) == data
    assert store.requests[0] == ("get",)


@pytest.mark.parametrize(("size", "concurrent"), [(700 * KiB, False), (3 * MiB + 5, True)])
def test_bounded_first_get_reads_the_rest_by_ranges(store: ScriptedStore, size: int,
                                                    concurrent: bool) -> None:
    data = _payload(size)
    store.objects["k"] = data
    store.head_bytes = 200 * KiB
    assert bytes(store.get("k")) == data
    assert store.bodies[0].released  # the bounded body is read whole
    ranges = _ranges(store)
    assert min(r[1] for r in ranges) == 200 * KiB and {r[3] for r in ranges} == {"v1"}
    if concurrent:
        assert len(ranges) > 1
    else:
        assert ranges == [("range", 200 * KiB, size - 200 * KiB, "v1")], "below the threshold: one"


def test_bounded_first_get_holding_the_whole_object_needs_no_range(store: ScriptedStore) -> None:
    store.objects["k"] = b"tiny"
    store.head_bytes = 200 * KiB
    assert bytes(store.get("k")) == b"tiny"
    assert store.requests == [("get",)]


@pytest.mark.parametrize("size", [300 * KiB, 2 * MiB])
def test_stored_checksum_is_checked(store: ScriptedStore, size: int) -> None:
    data = _payload(size)
    store.objects["k"] = data
    store.checksums["k"] = f"{zlib.crc32(data):08x}"
    assert bytes(store.get("k")) == data
    size_cache().forget(store.uri("k"))  # a known large size would skip the first GET
    store.checksums["k"] = "deadbeef"
    with pytest.raises(IntegrityError, match="CRC-32C mismatch: stored deadbeef") as info:
        store.get("k")
    assert info.value.uri == store.uri("k")


def test_transient_failure_of_the_first_get_is_retried(store: ScriptedStore) -> None:
    store.objects["k"] = b"payload"
    store.failures = [ConnectionResetError(104, "reset")]
    assert bytes(store.get("k")) == b"payload"
    assert store.requests == [("get",), ("get",)]


def test_a_short_small_body_is_an_integrity_error_after_every_attempt(store: ScriptedStore) -> None:
    store.objects["k"] = _payload(1000)
    store.short_first = True
    with pytest.raises(IntegrityError, match="short body") as info:
        store.get("k")
    assert info.value.attempts == 3 and store.requests == [("get",)] * 3
    assert all(b.closed and not b.released for b in store.bodies)


def test_a_broken_part_zero_stream_falls_back_to_a_range(store: ScriptedStore) -> None:
    data = _payload(MiB + 7)
    store.objects["k"] = data
    store.break_first_after = 64 * KiB
    assert bytes(store.get("k")) == data
    assert ("range", 0, 256 * KiB, "v1") in store.requests
    assert store.bodies[0].closed


def test_failures_that_are_not_transient_are_not_retried(store: ScriptedStore) -> None:
    with pytest.raises(NotFoundError):
        store.get("missing")
    assert store.requests == [("get",)]
    store.failures = [KeyError("sdk bug")]
    store.objects["k"] = b"x"
    with pytest.raises(StoreError, match="KeyError") as info:
        store.get("k")
    assert not isinstance(info.value, TransientError)


def test_need_key_checks_bucket_empty_key_then_the_service_rules() -> None:
    account = ScriptedStore("scripted://", _settings(), {})
    with pytest.raises(InvalidPathError, match="needs a bucket: scripted://bucket/key"):
        account.get("k")
    store = ScriptedStore("scripted://b/", _settings(), {})
    with pytest.raises(InvalidPathError, match="needs an object key: scripted://bucket/key"):
        store.get("")
    with pytest.raises(InvalidPathError, match="key too long"):
        store.get("k" * 21)
    assert store.checked_keys == ["k" * 21] and store.requests == []


def test_get_range_into_checks_the_key_and_offset(store: ScriptedStore) -> None:
    store.objects["k"] = b"0123456789"
    buf = bytearray(4)
    assert store.get_range_into("k", 3, memoryview(buf)) == 4 and bytes(buf) == b"3456"
    with pytest.raises(ValueError, match="offset must be >= 0"):
        store.get_range_into("k", -1, memoryview(buf))
    assert bytes(store.get_range("k", 8)) == b"89"


class BatchDeletingStore(ScriptedStore):
    """Deletes in batches of three; records each batch."""

    _delete_batch_size = 3

    def _delete_batch(self, keys: list[str]) -> list[tuple[str, BaseException]]:
        self.batches.append(list(keys))
        for key in keys:
            self.objects.pop(key, None)
        return [(key, StoreError("refused", op="delete")) for key in keys if key.endswith("!")]


def test_delete_many_sends_batches_and_reports_every_failure() -> None:
    objects = {f"k{i}": b"x" for i in range(7)}
    store = BatchDeletingStore("scripted://b/", _settings(), {**objects, "bad!": b"y"})
    store.batches = []
    keys = [*objects, "", "bad!"]  # "" is no object key: refused without a request
    failures = store.delete_many(keys)
    assert store.batches == [["k0", "k1", "k2"], ["k3", "k4", "k5"], ["k6", "bad!"]]
    assert [(k, type(e).__name__) for k, e in failures] == [("", "InvalidPathError"), ("bad!", "StoreError")]
    assert not any(k in store.objects for k in objects)
