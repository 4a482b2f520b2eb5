"""Core's MultipartUploadWriter on ``memory://`` (native parts and the put_stream fallback)."""

from __future__ import annotations

import gc
import pickle
import threading
import time
import uuid
from collections.abc import Sequence
from typing import Any, ClassVar

import pytest

from s3dlio.errors import IntegrityError, StoreError, TransientError
from s3dlio.plugin import runtime as rt
from s3dlio.store import Capability, UploadPart
from s3dlio.store.memory import MemoryStore
from s3dlio.store.multipart import MultipartUploadWriter, _part_size_for, check_part_list, upload_buffer

KiB = 1024


class PartsStore(MemoryStore):
    """``memory://``'s native multipart, instrumented for the tests."""

    min_part_size: ClassVar[int] = 4 * KiB
    max_parts: ClassVar[int] = 10_000

    def __init__(self, root: str, settings: Any) -> None:
        super().__init__(root, settings)
        self.uploads: dict[str, str] = {}
        """Open uploads: the store's id → ``u1``, ``u2``, … in creation order."""
        self.created = 0
        self.aborted: list[str] = []
        self.completed: list[str] = []
        self.fail_part: int | None = None
        self.fail_abort = False
        self.part_delay = 0.0
        self.active = 0
        self.max_active = 0
        self.truncate_on_complete = False
        self.complete_error: BaseException | None = None
        self.etag_parts: int | None = None
        self._mutex = threading.Lock()

    def create_upload(self, key: str, *, content_type: str | None = None) -> str:
        upload_id = super().create_upload(key, content_type=content_type)
        self.created += 1
        self.uploads[upload_id] = f"u{self.created}"
        return upload_id

    def upload_part(self, key: str, upload_id: str, part_number: int, data: memoryview) -> UploadPart:
        with self._mutex:
            self.active += 1
            self.max_active = max(self.max_active, self.active)
        try:
            if self.part_delay:
                time.sleep(self.part_delay)
            if part_number == self.fail_part:
                raise StoreError("injected part failure", op="upload_part", uri=self.uri(key))
            return super().upload_part(key, upload_id, part_number, data)
        finally:
            with self._mutex:
                self.active -= 1

    def complete_upload(self, key: str, upload_id: str, parts: Sequence[UploadPart]) -> str | None:
        super().complete_upload(key, upload_id, parts)
        if self.truncate_on_complete:
            self.put(key, memoryview(bytes(self.get(key))[:-1]))
        self.completed.append(self.uploads.pop(upload_id))
        if self.complete_error is not None:
            raise self.complete_error
        count = self.etag_parts if self.etag_parts is not None else len(parts)
        return f'"{"0" * 32}-{count}"'

    def abort_upload(self, key: str, upload_id: str) -> None:
        if self.fail_abort:
            raise StoreError("abort failed too", op="abort_upload", uri=self.uri(key))
        self.aborted.append(self.uploads.pop(upload_id, upload_id))
        super().abort_upload(key, upload_id)


class PlainStore(MemoryStore):
    """``memory://`` without native multipart: the writer falls back to ``put_stream``."""

    create_upload = upload_part = complete_upload = abort_upload = None  # type: ignore[assignment]


def _bucket() -> str:
    return f"memory://mpu-{uuid.uuid4().hex[:12]}/"


@pytest.fixture
def store(memory_runtime: rt.Runtime) -> PartsStore:
    return PartsStore(_bucket(), memory_runtime.settings)


def test_capabilities_follow_the_methods() -> None:
    assert Capability.MULTIPART in PartsStore.capabilities
    assert Capability.MULTIPART not in PlainStore.capabilities
    assert Capability.CONDITIONAL_PUT in PlainStore.capabilities  # the rest is inherited


def _exists(store: MemoryStore, key: str) -> bool:
    return store.exists(key)


def _writer(store: PartsStore, key: str = "obj", **kwargs: Any) -> MultipartUploadWriter:
    kwargs.setdefault("part_size", 4 * KiB)
    return MultipartUploadWriter.for_store(store, key, **kwargs)


def test_parts_are_uploaded_and_completed_in_order(store: PartsStore) -> None:
    data = bytes(range(256)) * 70  # 17,920 bytes: 4 full parts + a tail
    with _writer(store) as writer:
        for i in range(0, len(data), 1000):
            writer.write(data[i : i + 1000])
        info = writer.close()
    assert info["total_bytes"] == len(data) and info["parts"] == 5
    assert info["etag"] == f'"{"0" * 32}-5"'
    assert store.get("obj") == data
    assert store.aborted == [] and store.completed == ["u1"]


def test_small_object_is_a_single_put(store: PartsStore) -> None:
    with _writer(store) as writer:
        writer.write(b"tiny")
    assert store.uploads == {} and store.get("obj") == b"tiny"


def test_empty_writer_stores_an_empty_object(store: PartsStore) -> None:
    info = _writer(store).close()
    assert info["total_bytes"] == 0 and store.get("obj") == b""


def test_failed_part_aborts_and_raises_the_cause(store: PartsStore) -> None:
    store.fail_part = 2
    writer = _writer(store)
    with pytest.raises(StoreError, match="injected part failure"):
        for _ in range(10):
            writer.write(b"x" * 4 * KiB)
        writer.close()
    assert store.aborted == ["u1"] and not _exists(store, "obj")
    with pytest.raises(ValueError, match="aborted"):
        writer.write(b"more")


def test_exception_in_block_aborts_and_propagates(store: PartsStore) -> None:
    with pytest.raises(KeyError), _writer(store) as writer:
        writer.write(b"y" * 9 * KiB)
        raise KeyError("user error")
    assert store.aborted == ["u1"] and not _exists(store, "obj")


def test_abort_failure_is_attached_not_substituted(store: PartsStore) -> None:
    store.fail_abort = True
    with pytest.raises(KeyError) as info, _writer(store) as writer:
        writer.write(b"y" * 9 * KiB)
        raise KeyError("user error")
    assert any("aborting the upload" in note for note in info.value.__notes__)


def test_part_list_checks() -> None:
    def parts(*sizes: int, numbers: Sequence[int] | None = None) -> list[UploadPart]:
        nums = numbers or range(1, len(sizes) + 1)
        return [UploadPart(n, s, etag="e") for n, s in zip(nums, sizes, strict=True)]

    check_part_list(parts(10, 10, 3), 23, min_part_size=10, max_parts=5, uri="u")
    with pytest.raises(IntegrityError, match="not contiguous"):
        check_part_list(parts(10, 10, numbers=[1, 3]), 20, min_part_size=1, max_parts=5, uri="u")
    with pytest.raises(IntegrityError, match="not contiguous"):
        check_part_list(parts(10, 10, numbers=[1, 1]), 20, min_part_size=1, max_parts=5, uri="u")
    with pytest.raises(IntegrityError, match="below the minimum"):
        check_part_list(parts(10, 3, 10), 23, min_part_size=10, max_parts=5, uri="u")
    with pytest.raises(IntegrityError, match="were written"):
        check_part_list(parts(10, 10), 21, min_part_size=1, max_parts=5, uri="u")
    with pytest.raises(IntegrityError, match="exceed"):
        check_part_list(parts(1, 1, 1), 3, min_part_size=1, max_parts=2, uri="u")
    with pytest.raises(IntegrityError, match="no parts"):
        check_part_list([], 0, min_part_size=1, max_parts=2, uri="u")


def test_etag_naming_another_part_count_is_an_integrity_error(store: PartsStore) -> None:
    store.etag_parts = 7
    writer = _writer(store)
    writer.write(b"z" * 9 * KiB)
    with pytest.raises(IntegrityError, match="does not name 3 parts"):
        writer.close()


def test_in_flight_parts_are_bounded(store: PartsStore) -> None:
    store.part_delay = 0.02
    with _writer(store, max_in_flight=2) as writer:
        for _ in range(12):
            writer.write(b"p" * 4 * KiB)
        writer.close()
    assert store.max_active == 2


def test_part_limit_and_growth() -> None:
    assert _part_size_for(8, 1) == 8 and _part_size_for(8, 5_000) == 8
    assert _part_size_for(8, 5_001) == 16 and _part_size_for(8, 6_001) == 32
    # 10,000 parts hold 67 x part_size instead of 10,000 x part_size.
    assert sum(_part_size_for(1, n) for n in range(1, 10_001)) == 67_000


def test_more_parts_than_allowed_is_a_value_error(store: PartsStore) -> None:
    store.max_parts = 2  # type: ignore[misc]
    writer = _writer(store)
    with pytest.raises(ValueError, match="more than 2 parts"):
        for _ in range(4):
            writer.write(b"q" * 4 * KiB)
    writer.abort()


def test_expected_size_grows_the_part_size(store: PartsStore) -> None:
    store.max_parts = 10  # type: ignore[misc]
    writer = _writer(store, expected_size=100 * KiB)
    assert writer.part_size == 10 * KiB
    writer.abort()


def test_part_size_below_the_minimum_is_refused(store: PartsStore) -> None:
    with pytest.raises(ValueError, match="minimum part size"):
        _writer(store, part_size=1 * KiB)


def test_reserve_and_commit(store: PartsStore) -> None:
    writer = _writer(store)
    view = writer.reserve(100)
    with pytest.raises(ValueError, match="already pending"):
        writer.reserve(10)
    with pytest.raises(ValueError, match="commit"):
        writer.write(b"x")
    view[:] = b"r" * 100
    with pytest.raises(ValueError, match="outside"):
        writer.commit(101)
    assert writer.commit(60) == 60
    big = writer.reserve(6 * KiB)  # larger than the part's room: its own buffer
    big[:] = b"s" * (6 * KiB)
    writer.commit(6 * KiB)
    writer.close()
    assert store.get("obj") == b"r" * 60 + b"s" * (6 * KiB)


def test_complete_with_unknown_outcome_is_settled_by_head(store: PartsStore) -> None:
    store.complete_error = TransientError("response lost")
    writer = _writer(store)
    writer.write(b"c" * 9 * KiB)
    info = writer.close()  # the object exists with the expected size: success
    assert info["total_bytes"] == 9 * KiB and store.aborted == []


def test_verification_deletes_a_wrong_object(memory_runtime: rt.Runtime) -> None:
    settings = memory_runtime.settings.evolve("upload", mpu_put_verify=True)
    store = PartsStore(_bucket(), settings)
    store.truncate_on_complete = True
    writer = _writer(store)
    writer.write(b"v" * 9 * KiB)
    with pytest.raises(IntegrityError, match="verification failed"):
        writer.close()
    assert not _exists(store, "obj")


def test_fallback_streams_through_put_stream(memory_runtime: rt.Runtime) -> None:
    plain = PlainStore(_bucket(), memory_runtime.settings)
    with MultipartUploadWriter.for_store(plain, "streamed", part_size=1000, max_in_flight=2) as w:
        for i in range(25):
            w.write(bytes([i]) * 300)
        info = w.close()
    assert info["total_bytes"] == 7_500
    assert plain.get("streamed") == b"".join(bytes([i]) * 300 for i in range(25))


def test_fallback_abort_publishes_nothing(memory_runtime: rt.Runtime) -> None:
    plain = PlainStore(_bucket(), memory_runtime.settings)
    with pytest.raises(RuntimeError), \
            MultipartUploadWriter.for_store(plain, "never", part_size=1000) as w:
        w.write(b"a" * 5000)
        raise RuntimeError("stop")
    assert not plain.exists("never")


def test_upload_buffer_is_zero_copy_for_parts(store: PartsStore) -> None:
    data = memoryview(bytes(range(256)) * 64)  # 16 KiB: four 4 KiB parts
    info = upload_buffer(store, "zc", data, part_size=4 * KiB, max_in_flight=2)
    assert info["parts"] == 4 and store.get("zc") == data


def test_writer_is_not_picklable(store: PartsStore) -> None:
    writer = _writer(store)
    with pytest.raises(TypeError, match="cannot be pickled"):
        pickle.dumps(writer)
    writer.abort()


def test_unclosed_writer_is_aborted_with_a_warning(store: PartsStore) -> None:
    writer = _writer(store)
    writer.write(b"d" * 9 * KiB)
    with pytest.warns(ResourceWarning, match="never closed"):
        del writer
        gc.collect()
    assert store.aborted == ["u1"]
