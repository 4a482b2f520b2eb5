"""Store middleware: wrappers the runtime applies to every store it opens.

A middleware is registered with a :class:`~s3dlio.plugin.registry.MiddlewareSpec` whose
factory is ``callable(store, settings) -> store``. :class:`StoreWrapper` delegates
every operation to the inner store, so a middleware overrides only what it changes.
A wrapper reports its inner store's :attr:`~s3dlio.store.ObjectStore.capabilities`; it
forwards every optional method, and one the inner store lacks raises
``NotSupportedError`` naming the operation and URI.
Core ships :class:`ConcurrencyLimit`, which caps in-flight requests per store
(``[concurrency_limit] max_requests``); op-log recording and retries plug in the
same way.
"""

from __future__ import annotations

import builtins
import threading
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, cast

import attrs

from s3dlio.config import setting
from s3dlio.store import Capability, ListPage, ObjectMeta, ObjectStore, UploadPart, require

if TYPE_CHECKING:
    from s3dlio.bytesview import BytesView
    from s3dlio.config import Settings
    from s3dlio.store import DirectIO

__all__ = ["ConcurrencyLimit", "ConcurrencyLimitSettings", "StoreWrapper", "concurrency_limit"]


class StoreWrapper(ObjectStore):
    """An :class:`ObjectStore` that forwards everything to ``inner``."""

    def __init__(self, inner: ObjectStore) -> None:
        super().__init__(inner.root, inner.settings)
        self.inner = inner
        self.backend = inner.backend  # type: ignore[misc]
        self.schemes = inner.schemes  # type: ignore[misc]
        self.max_useful_concurrency = inner.max_useful_concurrency  # type: ignore[misc]
        self.fast_local_items = inner.fast_local_items  # type: ignore[misc]
        self.min_part_size = inner.min_part_size  # type: ignore[misc]
        self.max_parts = inner.max_parts  # type: ignore[misc]

    @classmethod
    def split_uri(cls, uri: str) -> tuple[str, str]:  # pragma: no cover - never on a wrapper
        raise NotImplementedError

    @property
    def capabilities(self) -> frozenset[Capability]:  # type: ignore[override]
        """The inner store's: a wrapper adds no feature and hides none."""
        return self.inner.capabilities

    @property
    def endpoint(self) -> str:
        return self.inner.endpoint

    def uri(self, key: str) -> str:
        return self.inner.uri(key)

    def get(self, key: str) -> BytesView:
        return self.inner.get(key)

    def get_range(self, key: str, offset: int, length: int | None = None) -> BytesView:
        return self.inner.get_range(key, offset, length)

    def get_range_into(self, key: str, offset: int, buf: memoryview) -> int:
        return self.inner.get_range_into(key, offset, buf)

    def head(self, key: str) -> ObjectMeta:
        return self.inner.head(key)

    def put(self, key: str, data: memoryview) -> None:
        self.inner.put(key, data)

    def list(self, prefix: str = "", *, recursive: bool = True) -> Iterator[ListPage]:
        return self.inner.list(prefix, recursive=recursive)

    def delete(self, key: str) -> None:
        self.inner.delete(key)

    def delete_many(self, keys: Iterable[str]) -> builtins.list[tuple[str, BaseException]]:
        return self.inner.delete_many(keys)

    # Optional protocols: forwarded when the inner store implements them.
    def create_upload(self, key: str, *, content_type: str | None = None) -> str:
        inner = require(self.inner, Capability.MULTIPART, op="create_upload", key=key)
        return inner.create_upload(key, content_type=content_type)

    def upload_part(self, key: str, upload_id: str, part_number: int, data: memoryview) -> UploadPart:
        inner = require(self.inner, Capability.MULTIPART, op="upload_part", key=key)
        return inner.upload_part(key, upload_id, part_number, data)

    def complete_upload(self, key: str, upload_id: str, parts: Sequence[UploadPart]) -> str | None:
        inner = require(self.inner, Capability.MULTIPART, op="complete_upload", key=key)
        return inner.complete_upload(key, upload_id, parts)

    def abort_upload(self, key: str, upload_id: str) -> None:
        require(self.inner, Capability.MULTIPART, op="abort_upload", key=key).abort_upload(key, upload_id)

    def put_if_absent(self, key: str, data: memoryview) -> bool:
        return require(self.inner, Capability.CONDITIONAL_PUT, op="put", key=key).put_if_absent(key, data)

    @property
    def alignment(self) -> int:
        # A plain attribute read: AttributeError (hasattr is False) when the inner store has none.
        return cast("DirectIO", self.inner).alignment

    def delete_prefix(
        self, prefix: str, *, batch_size: int = 1000
    ) -> tuple[int, builtins.list[tuple[str, BaseException]]]:
        return self.inner.delete_prefix(prefix, batch_size=batch_size)

    def cleanup_prefix(self, prefix: str) -> None:
        self.inner.cleanup_prefix(prefix)

    def is_link(self, key: str) -> bool:
        return self.inner.is_link(key)

    def copy(self, src_key: str, dst_key: str) -> None:
        self.inner.copy(src_key, dst_key)

    def rename(self, src_key: str, dst_key: str) -> None:
        self.inner.rename(src_key, dst_key)

    def mkdir(self, key: str) -> None:
        self.inner.mkdir(key)

    def exists(self, key: str) -> bool:
        return self.inner.exists(key)

    def put_file(self, key: str, path: str) -> int:
        return self.inner.put_file(key, path)

    def put_stream(self, key: str, chunks: Iterable[Any]) -> int:
        return self.inner.put_stream(key, chunks)

    def get_to_file(self, key: str, path: str) -> int:
        return self.inner.get_to_file(key, path)

    def create_container(self, key: str = "") -> None:
        require(self.inner, Capability.BUCKETS, op="create_bucket", key=key).create_container(key)

    def delete_container(self, key: str = "") -> None:
        require(self.inner, Capability.BUCKETS, op="delete_bucket", key=key).delete_container(key)

    def list_containers(self, key: str = "") -> builtins.list[dict[str, Any]]:
        return require(self.inner, Capability.BUCKETS, op="list_containers",
                       key=key).list_containers(key)

    def abort_incomplete(self, prefix: str, older_than_s: float) -> int:
        return self.inner.abort_incomplete(prefix, older_than_s)

    def describe(self, *, probe: bool = False) -> dict[str, Any]:
        return self.inner.describe(probe=probe)

    def close(self) -> None:
        super().close()  # this wrapper's own process-bound state (e.g. a semaphore)
        self.inner.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.inner!r})"


@attrs.define
class ConcurrencyLimitSettings:
    """Section ``[concurrency_limit]``."""

    max_requests: int = setting(
        0, env="S3DLIO_MAX_REQUESTS_PER_STORE", minimum=0, maximum=65536,
        help="cap on concurrent requests per store (0: no cap; the middleware is then skipped)",
    )


class ConcurrencyLimit(StoreWrapper):
    """Caps concurrent data requests on one store with a semaphore."""

    _transient = ("_sem",)

    def __init__(self, inner: ObjectStore, limit: int) -> None:
        super().__init__(inner)
        self.limit = limit

    @property
    def _semaphore(self) -> threading.BoundedSemaphore:
        sem = self.__dict__.get("_sem")
        if sem is None:
            sem = self.__dict__["_sem"] = threading.BoundedSemaphore(self.limit)
        return sem

    def get(self, key: str) -> BytesView:
        with self._semaphore:
            return self.inner.get(key)

    def get_range(self, key: str, offset: int, length: int | None = None) -> BytesView:
        with self._semaphore:
            return self.inner.get_range(key, offset, length)

    def get_range_into(self, key: str, offset: int, buf: memoryview) -> int:
        with self._semaphore:
            return self.inner.get_range_into(key, offset, buf)

    def put(self, key: str, data: memoryview) -> None:
        with self._semaphore:
            self.inner.put(key, data)

    def put_if_absent(self, key: str, data: memoryview) -> bool:
        with self._semaphore:
            return super().put_if_absent(key, data)

    def head(self, key: str) -> ObjectMeta:
        with self._semaphore:
            return self.inner.head(key)


def concurrency_limit(store: ObjectStore, settings: Settings) -> ObjectStore:
    """Middleware factory: wrap ``store`` when ``max_requests`` is set."""
    limit = settings.section("concurrency_limit").max_requests
    return ConcurrencyLimit(store, limit) if limit > 0 else store
