"""Capabilities are derived from the optional protocols a store implements, never declared."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, ClassVar

import pytest

import s3dlio
from s3dlio.bytesview import BytesView
from s3dlio.errors import NotSupportedError
from s3dlio.plugin import runtime as rt
from s3dlio.store import (
    Capability,
    ListPage,
    ObjectMeta,
    ObjectStore,
    UploadPart,
    capabilities_of,
    require,
    server_side,
)
from s3dlio.store import recording as rec_module
from s3dlio.store.memory import MemoryStore
from s3dlio.store.middleware import ConcurrencyLimit, StoreWrapper
from s3dlio.store.recording import RecordingStore


class Bare(ObjectStore):
    """The required core only."""

    backend: ClassVar[str] = "bare"
    schemes: ClassVar[tuple[str, ...]] = ("bare",)

    @classmethod
    def split_uri(cls, uri: str) -> tuple[str, str]:
        return "bare://", uri[len("bare://"):]

    def get(self, key: str) -> BytesView:
        raise NotImplementedError

    def get_range_into(self, key: str, offset: int, buf: memoryview) -> int:
        raise NotImplementedError

    def head(self, key: str) -> ObjectMeta:
        raise NotImplementedError

    def put(self, key: str, data: memoryview) -> None:
        raise NotImplementedError

    def list(self, prefix: str = "", *, recursive: bool = True) -> Iterator[ListPage]:
        yield from ()

    def delete(self, key: str) -> None:
        pass

    def copy(self, src_key: str, dst_key: str) -> None:
        raise NotImplementedError


class HalfMultipart(Bare):
    def create_upload(self, key: str, *, content_type: str | None = None) -> str:
        return "u"

    def upload_part(self, key: str, upload_id: str, part_number: int, data: memoryview) -> UploadPart:
        return UploadPart(part_number, len(data))


class FullMultipart(HalfMultipart):
    def complete_upload(self, key: str, upload_id: str, parts: Sequence[UploadPart]) -> str | None:
        return None

    def abort_upload(self, key: str, upload_id: str) -> None:
        pass


class ServerCopy(Bare):
    @server_side
    def copy(self, src_key: str, dst_key: str) -> None:
        pass


class ClientCopy(ServerCopy):
    def copy(self, src_key: str, dst_key: str) -> None:  # an override without the mark
        pass


def test_a_capability_needs_every_member_of_its_protocol() -> None:
    assert Bare.capabilities == {Capability.GET_INTO}
    assert Capability.MULTIPART not in HalfMultipart.capabilities
    assert Capability.MULTIPART in FullMultipart.capabilities
    assert ObjectStore.capabilities == frozenset()  # get_range_into is still abstract there


def test_server_copy_belongs_to_the_marked_function() -> None:
    assert Capability.SERVER_COPY in ServerCopy.capabilities
    assert Capability.SERVER_COPY not in ClientCopy.capabilities
    assert Capability.SERVER_COPY not in Bare.capabilities


def test_a_subclass_gives_a_capability_up_with_none() -> None:
    class NoMultipart(FullMultipart):
        complete_upload = None  # type: ignore[assignment]

    assert Capability.MULTIPART not in NoMultipart.capabilities


def test_a_declared_set_is_ignored_with_a_warning() -> None:
    with pytest.warns(DeprecationWarning, match="derived"):
        class Liar(Bare):
            capabilities: ClassVar[frozenset[Capability]] = frozenset(  # type: ignore[misc]
                {Capability.MULTIPART, Capability.BUCKETS})

    assert Liar.capabilities == {Capability.GET_INTO}


def test_computed_once_per_class_and_read_only(memory_runtime: rt.Runtime) -> None:
    assert capabilities_of(FullMultipart) is capabilities_of(FullMultipart)
    assert vars(FullMultipart)["_s3dlio_capabilities"] is FullMultipart.capabilities  # cached
    assert capabilities_of(HalfMultipart) != capabilities_of(FullMultipart)  # per class, not inherited
    store = MemoryStore("memory://ro/", memory_runtime.settings)
    with pytest.raises(AttributeError):
        store.capabilities = frozenset()  # type: ignore[misc]


def test_wrappers_report_and_forward_the_inner_store(memory_runtime: rt.Runtime) -> None:
    bare = Bare("bare://", memory_runtime.settings)
    for wrapper in (StoreWrapper(bare), RecordingStore(bare), ConcurrencyLimit(bare, 2)):
        assert wrapper.capabilities == bare.capabilities == {Capability.GET_INTO}
        assert not hasattr(wrapper, "alignment")  # no direct I/O: a plain missing attribute
        for call, op in ((lambda w=wrapper: w.create_upload("k"), "create_upload"),
                         (lambda w=wrapper: w.put_if_absent("k", memoryview(b"x")), "put"),
                         (lambda w=wrapper: w.create_container("k"), "create_bucket"),
                         (lambda w=wrapper: w.list_containers(), "list_containers")):
            with pytest.raises(NotSupportedError) as info:
                call()
            assert info.value.op == op and info.value.uri is not None
            assert info.value.uri.startswith("bare://"), info.value.uri
    memory = MemoryStore("memory://wrapped/", memory_runtime.settings)
    wrapped = ConcurrencyLimit(RecordingStore(memory), 2)
    assert wrapped.capabilities == MemoryStore.capabilities
    assert wrapped.put_if_absent("k", memoryview(b"1")) is True
    assert wrapped.put_if_absent("k", memoryview(b"2")) is False
    upload = wrapped.create_upload("m")
    part = wrapped.upload_part("m", upload, 1, memoryview(b"abc"))
    wrapped.complete_upload("m", upload, [part])
    assert bytes(memory.get("m")) == b"abc"


def test_require_names_the_operation_and_uri(memory_runtime: rt.Runtime) -> None:
    bare = Bare("bare://", memory_runtime.settings)
    with pytest.raises(NotSupportedError, match="native multipart uploads are not supported by bare") as info:
        require(bare, Capability.MULTIPART, op="put", key="dir/obj")
    assert (info.value.op, info.value.uri, info.value.backend) == ("put", "bare://dir/obj", "bare")
    memory = MemoryStore("memory://req/", memory_runtime.settings)
    assert require(memory, Capability.CONDITIONAL_PUT, op="put") is memory


class _Rows:
    def __init__(self) -> None:
        self.rows: list[tuple[Any, ...]] = []

    def start(self) -> object:
        return object()

    def finish(self, span: object, op: str, n_objects: int, nbytes: int, endpoint: str, file: str,
               error: Any = None, first_byte_ns: Any = None) -> None:
        self.rows.append((op, nbytes, file, error))


def test_a_create_only_write_is_one_put_row(memory_root: str) -> None:
    store, key = rt.resolve(memory_root + "lock")
    rows = _Rows()
    previous = rec_module.install_recorder(rows)  # type: ignore[arg-type]
    try:
        assert store.put_if_absent(key, memoryview(b"first")) is True
        assert store.put_if_absent(key, memoryview(b"again")) is False
    finally:
        rec_module.install_recorder(previous)
    path = memory_root[len("memory://"):] + "lock"
    assert rows.rows == [("PUT", 5, path, None),
                         ("PUT", 0, path, "already exists (create-only write)")]


def test_object_capabilities_come_from_the_store_class(memory_runtime: rt.Runtime) -> None:
    caps = s3dlio.object_capabilities("memory://b/k")
    assert caps == {"provider": "memory", "head": True, "get_into": True, "multipart": True,
                    "conditional_put": True, "buckets": True, "server_copy": True,
                    "direct_io": False}
