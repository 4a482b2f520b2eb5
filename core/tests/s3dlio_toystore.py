"""A toy backend plugin (``mem://bucket/key``) for the core tests about plugins.

Tests that need just some store use core's ``memory://`` (the ``memory_root`` fixture).
This one stays for what ``memory://`` cannot show: a backend registered by a plugin
module (entry points, claims, middleware, lazy imports) and a store that implements no
optional protocol (the conformance suite's capability gating). A thread-safe dict per
bucket, shared by every instance in the process.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any, ClassVar

from s3dlio import hookimpl
from s3dlio.bytesview import BytesView
from s3dlio.errors import InvalidPathError, NotFoundError
from s3dlio.plugin.host import PluginHost
from s3dlio.plugin.registry import BackendSpec
from s3dlio.store import ListPage, ObjectMeta, ObjectStore

_DATA: dict[str, dict[str, tuple[bytes, float]]] = {}
_LOCK = threading.Lock()
CALLS: list[tuple[str, str]] = []
"""``(op, key)`` of every primitive call, for tests that count them."""

PAGE = 100


def clear() -> None:
    with _LOCK:
        _DATA.clear()
        CALLS.clear()


class MemoryStore(ObjectStore):
    backend: ClassVar[str] = "memory"
    schemes: ClassVar[tuple[str, ...]] = ("mem",)

    @classmethod
    def split_uri(cls, uri: str) -> tuple[str, str]:
        if not uri.startswith("mem://"):
            raise InvalidPathError("not a mem:// URI", uri=uri)
        bucket, _, key = uri[len("mem://"):].partition("/")
        if not bucket:
            raise InvalidPathError("mem:// URIs need a bucket", uri=uri)
        return f"mem://{bucket}/", key

    @property
    def _objects(self) -> dict[str, tuple[bytes, float]]:
        with _LOCK:
            return _DATA.setdefault(self.root, {})

    def _lookup(self, key: str, op: str) -> bytes:
        CALLS.append((op, key))
        try:
            return self._objects[key][0]
        except KeyError:
            raise NotFoundError("no such object", op=op, uri=self.uri(key), backend=self.backend) from None

    def get(self, key: str) -> BytesView:
        data = self._lookup(key, "get")
        view, mv = BytesView.allocate(len(data))
        mv[:] = data
        return view

    def get_range_into(self, key: str, offset: int, buf: memoryview) -> int:
        data = self._lookup(key, "get_range")
        chunk = data[offset : offset + len(buf)]
        buf[: len(chunk)] = chunk
        return len(chunk)

    def head(self, key: str) -> ObjectMeta:
        data = self._lookup(key, "head")
        return ObjectMeta(key=key, size=len(data), last_modified=self._objects[key][1],
                          etag=f"mem-{len(data)}")

    def put(self, key: str, data: memoryview) -> None:
        CALLS.append(("put", key))
        if not key or (key.endswith("/") and len(data)):
            raise InvalidPathError("an object key is required", op="put", uri=self.uri(key))
        blob = bytes(data)
        with _LOCK:
            _DATA.setdefault(self.root, {})[key] = (blob, time.time())

    def list(self, prefix: str = "", *, recursive: bool = True) -> Iterator[ListPage]:
        CALLS.append(("list", prefix))
        with _LOCK:
            keys = sorted(k for k in _DATA.get(self.root, {}) if k.startswith(prefix))
        if recursive:
            for i in range(0, len(keys), PAGE):
                yield ListPage(keys=keys[i : i + PAGE])
            return
        direct: list[str] = []
        dirs: set[str] = set()
        for k in keys:
            rest = k[len(prefix):]
            if "/" in rest:
                dirs.add(prefix + rest.split("/", 1)[0] + "/")
            elif rest:
                direct.append(k)
        if direct or dirs:
            yield ListPage(keys=direct, prefixes=sorted(dirs))

    def delete(self, key: str) -> None:
        CALLS.append(("delete", key))
        with _LOCK:
            _DATA.get(self.root, {}).pop(key, None)

    def copy(self, src_key: str, dst_key: str) -> None:
        data = self._lookup(src_key, "copy")
        self.put(dst_key, memoryview(data))

    def __getstate__(self) -> dict[str, Any]:
        return super().__getstate__()


@hookimpl
def s3dlio_register_backends(registry: Any) -> None:
    registry.register(BackendSpec(name="memory", schemes=("mem",),
                                  factory=f"{__name__}:MemoryStore"))


def make_host(*plugins: tuple[str, object], environ: dict[str, str] | None = None,
              **kwargs: Any) -> PluginHost:
    """A host that sees no installed entry points (unless given), only ``plugins``."""
    kwargs.setdefault("entry_points", [])
    return PluginHost(environ=environ if environ is not None else {},
                      extra_plugins=list(plugins), **kwargs)
