"""Async twins of the storage API (docs/api.md, "Async twins").

Every twin is a plain ``async def`` coroutine: creating it needs no running loop
and ``asyncio.run(s3dlio.get_async(uri))`` works. The sync engines run on a
bounded executor, so the event loop never blocks on I/O. Cancelling a twin stops
the waiting; a write already handed to the engine is published whole or not at
all (local and object-store puts are atomic).
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

import attrs

from s3dlio import api
from s3dlio.api.transfer import download, upload
from s3dlio.bytesview import BytesView
from s3dlio.engines.pool import async_pool
from s3dlio.errors import InvalidBufferError, LengthMismatchError, NotFoundError
from s3dlio.plugin.runtime import resolve
from s3dlio.store import as_buffer

__all__ = [
    "ObjectMetadata",
    "delete_async",
    "download_async",
    "exists_async",
    "get_async",
    "get_into_async",
    "get_many_async",
    "get_many_into_async",
    "get_many_stats_async",
    "get_range_async",
    "head_async",
    "list_async",
    "mkdir_async",
    "put_bytes_async",
    "put_many_async",
    "stat_async",
    "stat_many_async",
    "upload_async",
]

R = TypeVar("R")


async def _run(fn: Callable[..., R], *args: Any, **kwargs: Any) -> R:
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(async_pool(), functools.partial(fn, *args, **kwargs))


@attrs.frozen
class ObjectMetadata:
    """Result of :func:`head_async`."""

    size: int
    etag: str | None = None
    version_id: str | None = None


async def get_async(uri: str) -> BytesView:
    return await _run(api.get, uri)


async def get_range_async(uri: str, offset: int, length: int | None = None) -> BytesView:
    return await _run(api.get_range, uri, offset, length)


async def get_many_async(uris: Iterable[str], max_in_flight: int = 64) -> list[tuple[str, BytesView]]:
    return await _run(api.get_many, list(uris), max_in_flight)


async def get_many_stats_async(uris: Iterable[str], max_in_flight: int = 64) -> tuple[int, int]:
    return await _run(api.get_many_stats, list(uris), max_in_flight)


async def stat_async(uri: str) -> dict[str, Any]:
    return await _run(api.stat, uri)


async def stat_many_async(uris: Iterable[str], max_in_flight: int = 64) -> list[dict[str, Any]]:
    return await _run(api.stat_many, list(uris), max_in_flight)


async def exists_async(uri: str) -> bool:
    return await _run(api.exists, uri)


async def put_bytes_async(uri: str, data: Any, *, borrow: bool = True) -> None:
    """``borrow=True`` reads the caller's buffer in place: do not modify it until awaited."""
    mv = as_buffer(data, op="put_bytes", uri=uri if isinstance(uri, str) else None)
    if not borrow:
        mv = memoryview(mv.tobytes())
    await _run(api.put_bytes, uri, mv)


async def put_many_async(
    items: Iterable[tuple[str, Any]], max_in_flight: int = 64, *, borrow: bool = True
) -> None:
    pairs = []
    for uri, data in items:
        mv = as_buffer(data, op="put_many", uri=str(uri))
        pairs.append((uri, mv if borrow else memoryview(mv.tobytes())))
    await _run(api.put_many, pairs, max_in_flight)


async def list_async(uri: str, recursive: bool = False, pattern: str | None = None) -> list[str]:
    return await _run(api.list, uri, recursive, pattern)


async def delete_async(uri: str, recursive: bool = False) -> None:
    await _run(api.delete, uri, recursive)


async def mkdir_async(uri: str) -> None:
    await _run(api.mkdir, uri)


async def upload_async(
    src_patterns: str | list[str], dest_prefix: str, max_in_flight: int = 32, create_bucket: bool = False
) -> Any:
    return await _run(upload, src_patterns, dest_prefix, max_in_flight, create_bucket)


async def download_async(
    src_uri: str, dest_dir: str, max_in_flight: int = 64, recursive: bool = True
) -> Any:
    return await _run(download, src_uri, dest_dir, max_in_flight, recursive)


def _get_into(uri: str, dst: Any, expected_len: int | None) -> int:
    if expected_len is None:
        return api.get_into(uri, dst)
    store, key = resolve(uri, "get_into")
    mv = api._into_buffer(dst, uri, "get_into", store)
    if expected_len > len(mv):
        raise InvalidBufferError(
            f"expected_len {expected_len} exceeds the buffer ({len(mv)} bytes)",
            op="get_into", uri=uri, backend=store.backend,
        )
    size = store.head(key).size
    if size != expected_len:
        raise LengthMismatchError(
            f"object is {size} bytes, expected {expected_len}", expected=expected_len, actual=size,
            op="get_into", uri=uri, backend=store.backend,
        )
    got = store.get_range_into(key, 0, mv[:expected_len]) if expected_len else 0
    if got != expected_len:
        raise LengthMismatchError(
            f"read {got} bytes, expected {expected_len}", expected=expected_len, actual=got,
            op="get_into", uri=uri, backend=store.backend,
        )
    return got


async def get_into_async(uri: str, dst: Any, *, expected_len: int | None = None) -> int:
    """Async twin of :func:`s3dlio.get_into`: fill the writable buffer ``dst`` in place and
    return the object's size. With ``expected_len`` an object of another size raises
    ``LengthMismatchError`` (and nothing is read)."""
    return await _run(_get_into, uri, dst, expected_len)


async def get_many_into_async(
    uris: Iterable[str], buffers: Iterable[Any], max_in_flight: int = 64
) -> list[int]:
    """Async twin of :func:`s3dlio.get_many_into`."""
    return await _run(api.get_many_into, list(uris), list(buffers), max_in_flight)


def _head(uri: str) -> ObjectMetadata | None:
    store, key = resolve(uri)
    try:
        meta = store.head(key)
    except NotFoundError:
        return None
    return ObjectMetadata(size=meta.size, etag=meta.etag, version_id=meta.version_id)


async def head_async(uri: str) -> ObjectMetadata | None:
    """``ObjectMetadata`` or ``None`` when the object does not exist."""
    return await _run(_head, uri)
