"""The module-level storage API (docs/api.md): every function takes full URIs.

Each call resolves its URI to ``(store, key)`` through the runtime's store cache
and delegates; batch calls go through the batch engine, large reads through the
range engine. Functions here are re-exported from :mod:`s3dlio`.
"""

from __future__ import annotations

import builtins
import fnmatch
import operator
import re
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from s3dlio.bytesview import BytesView
from s3dlio.engines.batch import BatchPlan, batch_plan, run_batch
from s3dlio.engines.discard import read_discarding
from s3dlio.engines.ranges import default_chunk_size, default_concurrency, parallel_read_into
from s3dlio.errors import (
    BatchError,
    InvalidBufferError,
    InvalidPathError,
    NotFoundError,
    NotSupportedError,
)
from s3dlio.plugin.runtime import bucket_uri, resolve, runtime, split_scheme
from s3dlio.store import Capability, as_buffer, require

if TYPE_CHECKING:
    from s3dlio.store import ObjectStore

__all__ = [
    "abort_incomplete_uploads",
    "create_bucket",
    "delete",
    "delete_bucket",
    "exists",
    "get",
    "get_by_key",
    "get_into",
    "get_many",
    "get_many_into",
    "get_many_stats",
    "get_object",
    "get_range",
    "list",
    "list_containers",
    "list_full_uris",
    "list_iter",
    "list_keys",
    "mkdir",
    "object_capabilities",
    "put_bytes",
    "put_many",
    "stat",
    "stat_key",
    "stat_many",
    "stat_object",
]

_builtin_list = list
_GLOB_CHARS = frozenset("*?[")


# ------------------------------------------------------------------------------ reads


def get(uri: str) -> BytesView:
    """Read a whole object (large objects through the range engine)."""
    store, key = resolve(uri, "get")
    return store.get(key)


def get_range(uri: str, offset: int, length: int | None = None) -> BytesView:
    """Read ``length`` bytes at ``offset`` (``None``: to the end), clipped at EOF.

    ``offset >= size`` or ``length == 0`` give an empty view; a negative offset or
    length raises ``ValueError``.
    """
    offset = _index(offset, "offset")
    if length is not None:
        length = _index(length, "length")
    if offset < 0 or (length is not None and length < 0):
        raise ValueError(f"get_range: offset and length must be >= 0 (offset={offset}, length={length})")
    store, key = resolve(uri, "get")
    return store.get_range(key, offset, length)


def get_into(uri: str, buffer: Any) -> int:
    """Read the whole object at ``uri`` into the caller's ``buffer``; return its size.

    ``buffer`` is any writable, C-contiguous buffer (``bytearray``, ``mmap``, a numpy
    array, a writable ``memoryview``) at least as large as the object; its first
    ``size`` bytes are filled and the rest is left as it was. A read-only,
    non-contiguous or too small buffer raises :class:`~s3dlio.errors.InvalidBufferError`
    before anything is written. The size comes from the size cache (list/stat/get
    learnt it) or one HEAD/stat; objects from ``[core] range_threshold_mb`` on are read
    as concurrent ranges, as :func:`get` reads them.
    """
    store, key = resolve(uri, "get_into")
    mv = _into_buffer(buffer, uri, "get_into", store)
    return _read_into(store, key, uri, mv, "get_into")


def get_many_into(
    uris: Iterable[str], buffers: Iterable[Any], max_in_flight: int = 64
) -> builtins.list[int]:
    """Read ``uris[i]`` into ``buffers[i]`` (as :func:`get_into`), concurrently; the sizes.

    Every buffer is checked (writable, C-contiguous) before any read starts, so a bad
    one fails the call with nothing written. Per-item failures (a missing object, a
    buffer smaller than its object) raise one ``BatchError`` after all items settle.
    """
    items = _as_uri_list(uris, "get_many_into")
    if isinstance(buffers, (bytes, bytearray, memoryview)):
        raise TypeError("get_many_into expects a list of buffers, not a single buffer")
    bufs = _builtin_list(buffers)
    if len(bufs) != len(items):
        raise ValueError(f"get_many_into: {len(items)} URIs but {len(bufs)} buffers")
    views = [_into_buffer(b, u, "get_many_into", None) for u, b in zip(items, bufs, strict=True)]
    plan = _plan(items, max_in_flight)

    def one(index: int) -> int:
        uri = items[index]
        store, key = resolve(uri, "get_many_into")
        return _read_into(store, key, uri, views[index], "get_many_into")

    return run_batch(one, range(len(items)), window=plan.window, op="get_many_into",
                     label=items.__getitem__, inline_fast=plan.inline_fast)


def _into_buffer(buffer: Any, uri: str, op: str, store: ObjectStore | None) -> memoryview:
    """``buffer`` as a writable, 1-D, format ``B`` memoryview, or ``InvalidBufferError``."""
    backend = store.backend if store is not None else None

    def bad(why: str) -> InvalidBufferError:
        return InvalidBufferError(f"destination buffer {why}", op=op, uri=uri, backend=backend)

    if isinstance(buffer, (str, int, float, builtins.list, tuple, dict, type(None))):
        raise bad(f"must be a writable bytes-like object, not {type(buffer).__name__}")
    try:
        mv = memoryview(buffer)
    except TypeError as exc:
        raise bad(f"must be a writable bytes-like object, not {type(buffer).__name__}") from exc
    if mv.readonly:
        raise bad("is read-only")
    if not mv.c_contiguous:
        raise bad("is not C-contiguous")
    if mv.format != "B" or mv.ndim != 1:
        mv = mv.cast("B")
    return mv


def _read_into(store: ObjectStore, key: str, uri: str, mv: memoryview, op: str) -> int:
    """Fill ``mv`` with the object ``key`` (sized first); ``InvalidBufferError`` if too small."""
    if not key or key.endswith("/"):
        raise InvalidPathError(f"{op} needs an object key", op=op, uri=uri, backend=store.backend)
    core = store.settings.core
    size = None
    if core.size_cache_ttl_secs > 0:
        from s3dlio.store.sizecache import size_cache

        size = size_cache(core.size_cache_ttl_secs).get(store.uri(key))
    if size is None:
        size = store.head(key).size
    if size > mv.nbytes:
        raise InvalidBufferError(
            f"destination buffer too small: the object is {size} bytes, the buffer {mv.nbytes}",
            op=op, uri=uri, backend=store.backend,
        )
    if not size:
        return 0
    threshold = core.range_threshold_mb << 20
    concurrent = core.range_optimization and size >= threshold
    parallel_read_into(
        lambda offset, part: store.get_range_into(key, offset, part), size, mv[:size],
        chunk_size=(core.chunk_size or default_chunk_size(size)) if concurrent else size,
        concurrency=(core.range_concurrency or default_concurrency(size)) if concurrent else 1,
        what=uri,
    )
    return size


def _index(value: Any, name: str) -> int:
    """``value`` as an int: any ``operator.index``-able integer (``numpy.int64``), never a bool."""
    if isinstance(value, bool):
        raise TypeError(f"get_range: {name} must be an integer, not bool")
    try:
        return operator.index(value)
    except TypeError:
        raise TypeError(f"get_range: {name} must be an integer, got {type(value).__name__}") from None


def _plan(uris: Sequence[str], max_in_flight: int) -> BatchPlan:
    return batch_plan(uris[0] if uris else None, len(uris), max_in_flight)


def get_many(uris: Iterable[str], max_in_flight: int = 64) -> builtins.list[tuple[str, BytesView]]:
    """Read many objects concurrently; ``[(uri, data)]`` in input order.

    Every item is attempted; failures raise one ``BatchError`` listing each failed
    URI after all items settle. Mixed schemes are fine.
    """
    items = _as_uri_list(uris, "get_many")
    plan = _plan(items, max_in_flight)
    datas = run_batch(get, items, window=plan.window, op="get_many", inline_fast=plan.inline_fast)
    return _builtin_list(zip(items, datas, strict=True))


def get_many_stats(uris: Iterable[str], max_in_flight: int = 64) -> tuple[int, int]:
    """Read many objects and discard the data; ``(count, total_bytes)``.

    Each worker reuses one buffer, so this measures storage, not allocation.
    """
    items = _as_uri_list(uris, "get_many_stats")
    plan = _plan(items, max_in_flight)

    sizes = run_batch(read_discarding, items, window=plan.window, op="get_many_stats",
                      inline_fast=plan.inline_fast)
    return len(sizes), sum(sizes)


def stat(uri: str) -> dict[str, Any]:
    """Metadata of one object (keys: docs/api.md, "Reads"); ``NotFoundError`` if missing."""
    store, key = resolve(uri, "stat")
    return store.head(key).to_stat_dict()


def stat_many(uris: Iterable[str], max_in_flight: int = 64) -> builtins.list[dict[str, Any]]:
    """``stat`` of many objects concurrently, in input order (``BatchError`` on failures)."""
    items = _as_uri_list(uris, "stat_many")
    plan = _plan(items, max_in_flight)
    return run_batch(stat, items, window=plan.window, op="stat_many", inline_fast=plan.inline_fast)


def exists(uri: str) -> bool:
    """``True`` if the object exists; only "not found" gives ``False``, other errors raise."""
    store, key = resolve(uri, "stat")
    if not key or key.endswith("/"):
        raise InvalidPathError("exists needs an object key", op="exists", uri=uri)
    return store.exists(key)


# ------------------------------------------------------------------------------ writes


def put_bytes(uri: str, data: Any) -> None:
    """Store ``data`` (any C-contiguous buffer) atomically at ``uri``.

    ``int``/``str``/``list``/``None`` and other non-buffers raise ``TypeError``.
    """
    mv = as_buffer(data, op="put_bytes", uri=uri if isinstance(uri, str) else None)
    store, key = resolve(uri, "put")
    _need_key(store, key, "put_bytes")
    store.put(key, mv)


def put_many(items: Iterable[tuple[str, Any]], max_in_flight: int = 64) -> None:
    """Store many ``(uri, buffer)`` pairs concurrently (``BatchError`` on failures)."""
    pairs = []
    for pair in items:
        if not isinstance(pair, tuple) or len(pair) != 2:
            raise TypeError("put_many items must be (uri, data) tuples")
        pairs.append((pair[0], as_buffer(pair[1], op="put_many", uri=str(pair[0]))))
    if not pairs:
        return
    plan = _plan([u for u, _ in pairs], max_in_flight)
    run_batch(lambda p: put_bytes(p[0], p[1]), pairs, window=plan.window, op="put_many",
              label=lambda p: p[0], inline_fast=plan.inline_fast)


def mkdir(uri: str) -> None:
    """Create a directory (local: ``mkdir -p``; object stores: a zero-byte ``key/`` marker)."""
    store, key = resolve(uri, "mkdir")
    store.mkdir(key)


def _need_key(store: ObjectStore, key: str, op: str) -> None:
    if not key or key.endswith("/"):
        raise InvalidPathError("an object key is required (the URI names a directory)", op=op,
                               uri=store.uri(key), backend=store.backend)


# ------------------------------------------------------------------------------ listing


def _split_glob(key: str) -> tuple[str, str | None]:
    """``("dir/", "*.txt")`` when the last segment holds a glob, else ``(key, None)``."""
    head, _, last = key.rpartition("/")
    if _GLOB_CHARS.intersection(last):
        return (head + "/" if head else ""), last
    return key, None


def _glob_matcher(pattern: str, recursive: bool) -> Any:
    regex = fnmatch.translate(pattern)
    if not recursive and "**" not in pattern:
        # fnmatch's '*' crosses '/'; in a non-recursive glob it must not.
        regex = regex.replace(".*", "[^/]*")
    return re.compile(regex).match


def list_iter(uri: str, recursive: bool = False, pattern: str | None = None) -> Iterator[str]:
    """Stream full URIs under the directory ``uri`` (see :func:`list`), page by page."""
    for store, key in _list_keys(uri, recursive, pattern):
        yield store.uri(key)


def _list_keys(uri: str, recursive: bool, pattern: str | None) -> Iterator[tuple[ObjectStore, str]]:
    store, key = resolve(uri, "list")
    key, glob = _split_glob(key)
    if glob is not None:
        recursive = recursive or "**" in glob
    try:
        search = re.compile(pattern).search if pattern is not None else None
    except re.error as exc:
        raise InvalidPathError(f"invalid pattern {pattern!r}: {exc}", op="list", uri=uri,
                               backend=store.backend) from exc
    match = _glob_matcher(glob, recursive) if glob is not None else None
    if key and not key.endswith("/") and glob is None:
        # An object exactly at the URI is listed as itself (docs/api.md, "Listing").
        try:
            store.head(key)
        except (NotFoundError, InvalidPathError, NotSupportedError):
            pass
        else:
            rel = key.rpartition("/")[2]
            if search is None or search(rel):
                yield store, key
        key += "/"
    base = len(key)
    for page in store.list(key, recursive=recursive):
        names = _builtin_list(page.keys)
        if not recursive:
            names.extend(page.prefixes)
        if match is not None:
            names = [n for n in names if match(n[base:].rstrip("/") if n.endswith("/") else n[base:])]
        if search is not None:
            names = [n for n in names if search(n[base:])]
        for name in names:
            yield store, name


def list(uri: str, recursive: bool = False, pattern: str | None = None) -> _builtin_list[str]:  # noqa: A001
    """Full URIs under the directory ``uri``, sorted.

    ``s3://b/d`` and ``s3://b/d/`` are the same directory; an object exactly at
    ``uri`` is returned itself; a last segment with ``*``, ``?`` or ``[…]`` is a glob
    (``**`` or ``recursive`` lets it cross ``/``). Non-recursive listings include
    sub-directories as ``…/name/``. ``pattern`` is a regex searched in the path
    relative to ``uri``. A missing directory lists as ``[]``.
    """
    out = _builtin_list(list_iter(uri, recursive, pattern))
    out.sort()
    return out


def list_full_uris(uri: str, recursive: bool = False, pattern: str | None = None) -> _builtin_list[str]:
    """Alias of :func:`list`."""
    return list(uri, recursive, pattern)


def list_keys(uri: str, recursive: bool = False, pattern: str | None = None) -> _builtin_list[str]:
    """Like :func:`list` but keys relative to ``uri`` (directories keep their ``/``)."""
    store, key = resolve(uri, "list")
    key, glob = _split_glob(key)
    base_uri = store.uri(key if not key or key.endswith("/") or glob else key + "/")
    out = []
    for full in list_iter(uri, recursive, pattern):
        out.append(full[len(base_uri) :] if full.startswith(base_uri) else full.rpartition("/")[2])
    out.sort()
    return out


# ------------------------------------------------------------------------------ delete


def delete(uri: str, recursive: bool = False) -> None:
    """Delete one object, a glob's matches, or (``recursive`` / trailing ``/``) a whole prefix.

    A missing object is not an error. Failures raise one ``BatchError`` naming
    every key that could not be deleted.
    """
    store, key = resolve(uri, "delete")
    _dir_key, glob = _split_glob(key)
    if glob is not None:
        keys = [k for _, k in _list_keys(uri, recursive, None) if not k.endswith("/")]
        failures = store.delete_many(keys)
        total = len(keys)
    elif recursive or not key or key.endswith("/"):
        if key and store.is_link(key):
            # A symbolic link to a directory: remove the link, never what it points to.
            store.delete(key.rstrip("/"))
            return
        prefix = key if not key or key.endswith("/") else key + "/"
        total, failures = store.delete_prefix(prefix)
        if recursive and key and not key.endswith("/"):
            # "rm -r s3://b/name" also removes an object called exactly "name".
            store.delete(key)
    else:
        store.delete(key)
        return
    if failures:
        raise BatchError(
            "delete", [(store.uri(k), e) for k, e in failures], succeeded=max(total - len(failures), 0),
            uri=uri,
        )


# ------------------------------------------------------------------------------ containers


def _container_uri(bucket_name: str) -> str:
    if not isinstance(bucket_name, str) or not bucket_name:
        raise InvalidPathError("a bucket name or container URI is required", op="bucket")
    if "://" not in bucket_name:
        return bucket_uri(bucket_name)
    return bucket_name if bucket_name.endswith("/") else bucket_name + "/"


def create_bucket(bucket_name: str) -> None:
    """Create a bucket/container (a URI, or a bare name of the backend serving bare buckets:
    S3 with s3dlio-s3); an existing one is fine. ``NotSupportedError`` on a backend without
    containers (``Capability.BUCKETS``)."""
    store, key = resolve(_container_uri(bucket_name), "create_bucket")
    require(store, Capability.BUCKETS, op="create_bucket", key=key).create_container(key)


def delete_bucket(bucket_name: str) -> None:
    """Delete an empty bucket/container (a URI, or a bare name as for :func:`create_bucket`)."""
    store, key = resolve(_container_uri(bucket_name), "delete_bucket")
    require(store, Capability.BUCKETS, op="delete_bucket", key=key).delete_container(key)


def list_containers(uri: str | None = None) -> _builtin_list[dict[str, Any]]:
    """``[{name, uri, creation_date}]`` of the buckets/containers reachable from ``uri``
    (default: the backend serving bare bucket names, ``s3://`` with s3dlio-s3)."""
    if uri is None:
        uri = runtime().host.backends.bare_bucket_scheme() + "://"
    store, key = resolve(uri, "list_containers")
    return require(store, Capability.BUCKETS, op="list_containers", key=key).list_containers(key)


def abort_incomplete_uploads(uri: str, older_than_s: float = 86400) -> int:
    """Abort stale multipart uploads and remove stale temp files under ``uri``; the count."""
    store, key = resolve(uri, "abort_incomplete_uploads")
    return store.abort_incomplete(key, older_than_s)


def object_capabilities(uri: str) -> dict[str, Any]:
    """What the backend of the URI's scheme can do, from its store class (no request is made).

    ``{"provider", "head", "get_into", "multipart", "conditional_put", "buckets",
    "direct_io", "server_copy"}``: ``provider`` is the backend name, ``head`` is always
    ``True``, the rest say whether the store class has that :class:`~s3dlio.store.Capability`.
    """
    scheme, _ = split_scheme(uri)
    rt = runtime()
    spec = rt.host.backends.spec_for(scheme)
    caps = rt.store_class(scheme).capabilities
    out: dict[str, Any] = {"provider": spec.name, "head": True}
    for cap in Capability:
        out[cap.value] = cap in caps
    return out


# ------------------------------------------------------------------------------ aliases


def get_object(uri: str) -> BytesView:
    """Alias of :func:`get`."""
    return get(uri)


def stat_object(uri: str) -> dict[str, Any]:
    """Alias of :func:`stat`."""
    return stat(uri)


def get_by_key(bucket: str, key: str) -> BytesView:
    """Deprecated: ``get(f"s3://{bucket}/{key}")``."""
    import warnings

    warnings.warn("get_by_key is deprecated; use get('s3://bucket/key')", DeprecationWarning, stacklevel=2)
    return get(bucket_uri(bucket, key))


def stat_key(bucket: str, key: str) -> dict[str, Any]:
    """Deprecated: ``stat(f"s3://{bucket}/{key}")``."""
    import warnings

    warnings.warn("stat_key is deprecated; use stat('s3://bucket/key')", DeprecationWarning, stacklevel=2)
    return stat(bucket_uri(bucket, key))


def _as_uri_list(uris: Iterable[str], op: str) -> _builtin_list[str]:
    if isinstance(uris, str):
        raise TypeError(f"{op} expects a list of URIs, not a single string")
    return _builtin_list(uris)
