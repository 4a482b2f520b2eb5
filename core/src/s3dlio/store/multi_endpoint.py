"""The multi-endpoint store (docs/multi-endpoint.md): one logical store over 1–32 endpoints.

An endpoint is a root URI (``s3://10.0.0.1:9000/bucket/``, ``file:///mnt/disk1/``).
Two namespaces decide where a URI goes:

``shared``
    (default for network schemes) every endpoint serves the same data, e.g. the
    gateways of one storage cluster. Each call picks an endpoint with the load
    balancing strategy and rewrites the URI onto that endpoint's root. A caller
    may pass a full URI under any endpoint, a plain ``s3://bucket/key`` (the
    endpoint-less form of an ``s3://host:port/bucket/key`` root) or a bare key
    relative to the roots.

``separate``
    (default for local roots: ``file://``, ``direct://``) each endpoint holds its
    own data. A URI goes to the endpoint whose root contains it (the longest
    match); anything else is an ``InvalidPathError``.

The ``*_from_endpoint``/``*_all_endpoints`` calls take the URI's path relative to
its root (or a bare key) and apply it to the named endpoint, or to every one.

Every request is counted per endpoint (requests, bytes, errors, in flight) under
one lock; ``least_connections`` picks the endpoint with the fewest requests in
flight (ties: lowest index). The blocking store calls run on core's async worker
pool, as :mod:`s3dlio.api.aio` does, so the event loop never blocks on I/O. Each
target URI is resolved through :func:`s3dlio.plugin.runtime.resolve`, so every
endpoint's store is opened once (lazily, on first use) and wrapped in the
configured middleware.

A store pickles as its settings and URIs (counters start at zero in the copy);
after ``fork`` the child gets a fresh lock and no requests in flight.
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import itertools
import os
import re
import threading
import weakref
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import attrs

from s3dlio import api
from s3dlio.bytesview import BytesView
from s3dlio.engines.pool import async_pool
from s3dlio.errors import BatchError, ConfigError, InvalidPathError
from s3dlio.plugin.runtime import resolve, runtime, split_scheme
from s3dlio.redaction import redact
from s3dlio.store import as_buffer

if TYPE_CHECKING:
    from s3dlio.plugin.registry import BackendSpec

__all__ = [
    "ENV_ENDPOINT_FILE",
    "ENV_ENDPOINT_TEMPLATE",
    "ENV_ENDPOINT_URIS",
    "ENV_STRATEGY",
    "MAX_ENDPOINTS",
    "NAMESPACES",
    "STRATEGIES",
    "MultiEndpointStore",
    "create_multi_endpoint_store",
    "create_multi_endpoint_store_from_env",
    "create_multi_endpoint_store_from_file",
    "create_multi_endpoint_store_from_template",
    "is_endpoint_segment",
    "expand_uri_template",
    "read_uri_file",
    "rewrite_for_endpoint",
    "split_endpoint_uri",
]

R = TypeVar("R")

STRATEGIES: tuple[str, ...] = ("round_robin", "least_connections")
NAMESPACES: tuple[str, ...] = ("shared", "separate")
MAX_ENDPOINTS = 32
ENV_ENDPOINT_URIS = "S3_ENDPOINT_URIS"
ENV_ENDPOINT_TEMPLATE = "S3_ENDPOINT_TEMPLATE"
ENV_ENDPOINT_FILE = "S3_ENDPOINT_FILE"
ENV_STRATEGY = "S3_LOAD_BALANCE_STRATEGY"

_STRATEGY_ALIASES = {
    "round_robin": "round_robin",
    "roundrobin": "round_robin",
    "rr": "round_robin",
    "least_connections": "least_connections",
    "leastconnections": "least_connections",
    "least_conn": "least_connections",
}
_RANGE_RE = re.compile(r"\{(\d+)\.\.\.(\d+)\}")

_builtin_list = list


# ----------------------------------------------------------------------------- parsing


def _parse_strategy(value: object) -> str:
    if value is None:
        return "round_robin"
    if not isinstance(value, str):
        raise ConfigError(f"load-balancing strategy must be a string, got {type(value).__name__}")
    name = _STRATEGY_ALIASES.get(value.strip().lower().replace("-", "_"))
    if name is None:
        raise ConfigError(
            f"unknown load-balancing strategy {value!r}; choose one of: {', '.join(STRATEGIES)}"
        )
    return name


def _normalize_root(uri: object) -> tuple[str, str]:
    """``(scheme, root)``: lower-case scheme, trailing ``/`` added."""
    if not isinstance(uri, str):
        raise ConfigError(f"endpoint URIs must be strings, got {type(uri).__name__}")
    text = uri.strip()
    try:
        scheme, rest = split_scheme(text)
    except InvalidPathError:
        raise ConfigError(f"endpoint {uri!r} is not a URI (expected scheme://…)") from None
    if not rest.strip("/") and not rest.startswith("/"):
        raise ConfigError(f"endpoint {uri!r} names no host, bucket or directory")
    if not rest.endswith("/"):
        rest += "/"
    return scheme, f"{scheme}://{rest}"


def _validate_uris(uris: object) -> builtins.list[str]:
    if isinstance(uris, (str, bytes)):
        raise TypeError("expected a list of endpoint URIs, not a single string")
    if not isinstance(uris, Iterable):
        raise TypeError(f"expected a list of endpoint URIs, got {type(uris).__name__}")
    items = _builtin_list(uris)
    if not items:
        raise ConfigError("a multi-endpoint store needs at least one endpoint URI (got none)")
    if len(items) > MAX_ENDPOINTS:
        raise ConfigError(
            f"a multi-endpoint store takes at most {MAX_ENDPOINTS} endpoints (got {len(items)})"
        )
    roots: list[str] = []
    schemes: list[str] = []
    for item in items:
        scheme, root = _normalize_root(item)
        if root in roots:
            raise ConfigError(f"duplicate endpoint URI {redact(root)!r}")
        roots.append(root)
        schemes.append(scheme)
    if len(set(schemes)) > 1:
        raise ConfigError(
            "all endpoints must use one scheme, got "
            + ", ".join(sorted(f"{s}://" for s in set(schemes)))
        )
    return roots


def expand_uri_template(uri_template: str) -> builtins.list[str]:
    """Expand ``{a...b}`` ranges (inclusive) in ``uri_template``.

    A bound written with a leading zero keeps the padding (``{01...16}`` gives
    ``01`` … ``16``); several ranges expand to their cartesian product, the first
    range varying slowest. A template without ranges is one URI. Malformed
    braces, a descending range or more than :data:`MAX_ENDPOINTS` URIs raise
    ``ConfigError`` (a ``ValueError``).
    """
    if not isinstance(uri_template, str):
        raise TypeError(f"uri_template must be a string, got {type(uri_template).__name__}")
    template = uri_template.strip()
    if not template:
        raise ConfigError("empty endpoint URI template")
    pieces: list[str] = []
    choices: list[list[str]] = []
    pos = 0
    for match in _RANGE_RE.finditer(template):
        pieces.append(template[pos : match.start()])
        lo_text, hi_text = match.group(1), match.group(2)
        lo, hi = int(lo_text), int(hi_text)
        if lo > hi:
            raise ConfigError(f"template range {match.group(0)} runs backwards in {uri_template!r}")
        padded = len(lo_text) > 1 and lo_text.startswith("0")
        width = max(len(lo_text), len(hi_text)) if padded else 0
        choices.append([str(n).zfill(width) for n in range(lo, hi + 1)])
        pos = match.end()
    pieces.append(template[pos:])
    if any("{" in p or "}" in p for p in pieces):
        raise ConfigError(
            f"malformed range in endpoint template {uri_template!r}: use {{N...M}} with integers, "
            "e.g. s3://10.0.0.{1...4}:9000/bucket/"
        )
    total = 1
    for options in choices:
        total *= len(options)
    if total > MAX_ENDPOINTS:
        raise ConfigError(
            f"endpoint template {uri_template!r} expands to {total} URIs; at most {MAX_ENDPOINTS} are allowed"
        )
    out = []
    for combo in itertools.product(*choices):
        text = pieces[0]
        for value, piece in zip(combo, pieces[1:], strict=True):
            text += value + piece
        out.append(text)
    return out


def read_uri_file(file_path: str | os.PathLike[str]) -> builtins.list[str]:
    """Endpoint URIs from a text file: one per line; blank lines and ``#`` comments are skipped.

    A ``#`` starts a comment at the beginning of a line or after whitespace.
    A missing file raises ``FileNotFoundError``.
    """
    with open(file_path, encoding="utf-8") as fh:
        lines = fh.read().splitlines()
    out = []
    for line in lines:
        text = re.split(r"(?:^|\s)#", line, maxsplit=1)[0].strip()
        if text:
            out.append(text)
    return out


# ----------------------------------------------------------------------------- URI mapping


_ENDPOINT_RE = re.compile(r"^(?:\d{1,3}(?:\.\d{1,3}){3}|\[[0-9a-fA-F:]+\])(?::\d+)?$|^[^/:]+:\d+$")


def is_endpoint_segment(text: str) -> bool:
    """Whether a URI's first segment names an endpoint (``host:port`` or an IP literal)."""
    return _ENDPOINT_RE.match(text) is not None


def _endpoint_host(rest: str) -> tuple[str | None, str]:
    """``("10.0.0.1:9000", "bucket/key")`` for ``10.0.0.1:9000/bucket/key``; no endpoint → ``None``."""
    first, _, remainder = rest.partition("/")
    if first and is_endpoint_segment(first):
        return first, remainder
    return None, rest


def _backend(scheme: str) -> BackendSpec | None:
    """The ``BackendSpec`` serving ``scheme`` (it describes roots and namespaces), if any."""

    try:
        return runtime().host.backends.spec_for(scheme)
    except LookupError:
        return None


def _endpoint_in_root(scheme: str) -> bool:
    spec = _backend(scheme)
    return spec is not None and spec.endpoint_in_root


def split_endpoint_uri(uri: str, endpoints: Sequence[str]) -> tuple[str, str, int | None]:
    """``(base, relative, index)`` of ``uri`` against the endpoint roots ``endpoints``.

    ``base + relative`` is ``uri`` (bar a trailing ``/`` added to a bare root),
    and ``relative`` is the part that is the same on every endpoint:

    - under a root (the longest that contains it): ``base`` is that root and
      ``index`` its position;
    - ``s3://bucket/key`` against ``s3://host:port/bucket/`` roots (the plain
      form of an endpoint URI): ``base`` is ``s3://bucket/``, ``index`` ``None``;
    - a bare key (no ``://``): ``base`` is ``""``, ``index`` ``None``.

    Anything else raises ``InvalidPathError``. Pure: no store is touched.
    """
    return _split(uri, [_normalize_root(e)[1] for e in endpoints])


def _split(uri: str, roots: Sequence[str]) -> tuple[str, str, int | None]:
    if not isinstance(uri, str):
        raise TypeError(f"expected a URI string, got {type(uri).__name__}")
    if "://" not in uri:
        return "", uri, None
    scheme, rest = split_scheme(uri)
    norm = f"{scheme}://{rest}"
    best: int | None = None
    for i, root in enumerate(roots):
        if (norm.startswith(root) or norm + "/" == root) and (best is None or len(root) > len(roots[best])):
            best = i
    if best is not None:
        root = roots[best]
        return root, norm[len(root) :], best
    host, path = _endpoint_host(rest)
    if host is None and _endpoint_in_root(scheme):
        # The plain form of an endpoint root: scheme://bucket/key under scheme://host:port/bucket/.
        matched: str | None = None
        for root in roots:
            root_host, root_path = _endpoint_host(root[len(scheme) + 3 :])
            if root_host is None:
                continue
            if (path.startswith(root_path) or path + "/" == root_path) and (
                matched is None or len(root_path) > len(matched)
            ):
                matched = root_path
        if matched is not None:
            return f"{scheme}://{matched}", path[len(matched) :], None
    raise InvalidPathError(
        "the URI is under none of the endpoint roots: " + ", ".join(roots), op="multi_endpoint", uri=uri
    )


def rewrite_for_endpoint(uri: str, endpoints: Sequence[str], index: int) -> str:
    """``uri`` moved onto endpoint ``index``'s root (the shared-namespace rewrite).

    ``rewrite_for_endpoint("s3://bucket/k", ["s3://h1:9000/bucket/", "s3://h2:9000/bucket/"], 1)``
    is ``"s3://h2:9000/bucket/k"``. See :func:`split_endpoint_uri` for what is accepted.
    """
    roots = [_normalize_root(e)[1] for e in endpoints]
    if not 0 <= index < len(roots):
        raise IndexError(f"endpoint index {index} out of range (0..{len(roots) - 1})")
    _base, rel, _ = _split(uri, roots)
    return roots[index] + rel


# ----------------------------------------------------------------------------- the store


@attrs.define(slots=True)
class _Counters:
    uri: str
    total_requests: int = 0
    bytes_read: int = 0
    bytes_written: int = 0
    error_count: int = 0
    active_requests: int = 0

    def as_dict(self) -> dict[str, Any]:
        return attrs.asdict(self)


_live: weakref.WeakSet[MultiEndpointStore] = weakref.WeakSet()


def _sized(result: object) -> int:
    return len(result) if isinstance(result, (BytesView, bytes, bytearray, memoryview)) else 0


def _get(target: str) -> BytesView:
    return api.get(target)


def _get_range(target: str, offset: int, length: int | None) -> BytesView:
    return api.get_range(target, offset, length)


def _put(target: str, data: memoryview) -> None:
    api.put_bytes(target, data)


def _delete(target: str) -> None:
    store, key = resolve(target)
    if not key or key.endswith("/"):
        raise InvalidPathError(
            "delete needs an object key (the URI names a directory)", op="delete", uri=target,
            backend=store.backend,
        )
    store.delete(key)


def _list(target: str, recursive: bool) -> builtins.list[str]:
    return api.list(target, recursive)


class MultiEndpointStore:
    """One logical store over several endpoints (see the module docstring).

    Build one with :func:`create_multi_endpoint_store` or the ``…_from_*``
    factories. All I/O methods are coroutines; the statistics are sync.
    """

    def __init__(
        self, uris: Iterable[str], strategy: str | None = None, namespace: str | None = None
    ) -> None:
        roots = _validate_uris(uris)
        self._roots: tuple[str, ...] = tuple(roots)
        self._scheme = split_scheme(roots[0])[0]
        self._strategy = _parse_strategy(strategy)
        if namespace is None:
            spec = _backend(self._scheme)
            namespace = "separate" if spec is not None and spec.local_paths else "shared"
        if namespace not in NAMESPACES:
            raise ConfigError(f"unknown namespace {namespace!r}; choose one of: {', '.join(NAMESPACES)}")
        self._namespace = namespace
        self._init_state()
        _live.add(self)

    def _init_state(self) -> None:
        self._lock = threading.Lock()
        self._next = 0
        self._counters = [_Counters(root) for root in self._roots]

    # ------------------------------------------------------------------ settings
    def strategy(self) -> str:
        """``"round_robin"`` or ``"least_connections"``."""
        return self._strategy

    def namespace(self) -> str:
        """``"shared"`` or ``"separate"``."""
        return self._namespace

    def endpoint_count(self) -> int:
        return len(self._roots)

    def endpoint_uris(self) -> builtins.list[str]:
        """The endpoint roots, normalized (lower-case scheme, trailing ``/``), in index order."""
        return _builtin_list(self._roots)

    # ------------------------------------------------------------------ statistics
    def get_endpoint_stats(self) -> builtins.list[dict[str, Any]]:
        """``[{uri, total_requests, bytes_read, bytes_written, error_count, active_requests}]``.

        ``total_requests`` counts finished requests (failed ones included);
        ``active_requests`` those in flight now.
        """
        with self._lock:
            return [c.as_dict() for c in self._counters]

    def get_total_stats(self) -> dict[str, int]:
        """The per-endpoint counters summed, plus ``endpoint_count``."""
        stats = self.get_endpoint_stats()
        total = {
            name: sum(s[name] for s in stats)
            for name in ("total_requests", "bytes_read", "bytes_written", "error_count", "active_requests")
        }
        total["endpoint_count"] = len(stats)
        return total

    def reset_stats(self) -> None:
        """Zero every counter except ``active_requests``."""
        with self._lock:
            for c in self._counters:
                c.total_requests = c.bytes_read = c.bytes_written = c.error_count = 0

    # ------------------------------------------------------------------ selection
    def _check_index(self, index: object) -> int:
        if isinstance(index, bool) or not isinstance(index, int):
            raise TypeError(f"endpoint index must be an int, got {type(index).__name__}")
        if not 0 <= index < len(self._roots):
            raise IndexError(f"endpoint index {index} out of range (0..{len(self._roots) - 1})")
        return index

    def _acquire(self, index: int | None) -> int:
        """Choose an endpoint (``None``: by strategy) and count one request in flight on it."""
        with self._lock:
            if index is None:
                if self._strategy == "round_robin":
                    index = self._next
                    self._next = (index + 1) % len(self._roots)
                else:
                    index = min(range(len(self._counters)), key=lambda i: self._counters[i].active_requests)
            self._counters[index].active_requests += 1
            return index

    def _release(self, index: int, *, failed: bool, read: int = 0, written: int = 0) -> None:
        with self._lock:
            c = self._counters[index]
            c.active_requests = max(0, c.active_requests - 1)
            c.total_requests += 1
            c.bytes_read += read
            c.bytes_written += written
            if failed:
                c.error_count += 1

    @contextlib.contextmanager
    def lease(self, index: int | None = None) -> Iterator[int]:
        """Hold one request slot on an endpoint for the ``with`` block; yields its index.

        ``index=None`` picks by the strategy. For I/O done outside this store
        against ``endpoint_uris()[i]``: the endpoint counts as busy for
        ``least_connections`` while the block runs, and the block counts as one
        request (an error if it raises) when it ends.
        """
        chosen = self._acquire(None if index is None else self._check_index(index))
        failed = True
        try:
            yield chosen
            failed = False
        finally:
            self._release(chosen, failed=failed)

    def _route(self, uri: str, op: str) -> tuple[int, str, str]:
        """``(index, target, base)`` for a per-call operation; the slot is acquired."""
        base, rel, index = _split(uri, self._roots)
        if self._namespace == "separate":
            if index is None:
                raise InvalidPathError(
                    "in the 'separate' namespace a URI must lie under one endpoint root ("
                    + ", ".join(self._roots) + "); use the *_from_endpoint calls for a relative key",
                    op=op, uri=uri,
                )
            chosen = self._acquire(index)
            return chosen, self._roots[chosen] + rel, self._roots[chosen]
        chosen = self._acquire(None)
        return chosen, self._roots[chosen] + rel, base

    def _on(self, index: object, uri: str) -> tuple[int, str]:
        """``(index, target)`` for the ``*_from_endpoint`` calls; the slot is acquired."""
        i = self._check_index(index)
        _base, rel, _ = _split(uri, self._roots)
        return self._acquire(i), self._roots[i] + rel

    async def _run(
        self, index: int, fn: Callable[[], R], *, reads: bool = False, written: int = 0
    ) -> R:
        """Run ``fn`` on the async pool; release ``index``'s slot exactly once, counting the outcome."""

        def work() -> R:
            failed, read = True, 0
            try:
                result = fn()
                if reads:
                    read = _sized(result)
                failed = False
                return result
            finally:
                self._release(index, failed=failed, read=read, written=0 if failed else written)

        try:
            fut = async_pool().submit(work)
        except BaseException:
            self._release(index, failed=True)
            raise
        try:
            return await asyncio.wrap_future(fut)
        except asyncio.CancelledError:
            if fut.cancel():  # never started, so work()'s finally will not run
                self._release(index, failed=True)
            raise

    # ------------------------------------------------------------------ per-call I/O
    async def get(self, uri: str) -> BytesView:
        """Read a whole object through the endpoint the namespace and strategy choose."""
        index, target, _ = self._route(uri, "get")
        return await self._run(index, lambda: _get(target), reads=True)

    async def get_range(self, uri: str, offset: int, length: int | None = None) -> BytesView:
        """Read ``length`` bytes at ``offset`` (``None``: to the end), clipped at EOF."""
        if not isinstance(offset, int) or (length is not None and not isinstance(length, int)):
            raise TypeError("get_range: offset and length must be int")
        if offset < 0 or (length is not None and length < 0):
            raise ValueError(f"get_range: offset and length must be >= 0 (offset={offset}, length={length})")
        index, target, _ = self._route(uri, "get_range")
        return await self._run(index, lambda: _get_range(target, offset, length), reads=True)

    async def put(self, uri: str, data: Any, *, borrow: bool = True) -> None:
        """Store ``data`` atomically; ``borrow=True`` reads the buffer in place until awaited."""
        mv = self._buffer(data, "put", uri, borrow)
        index, target, _ = self._route(uri, "put")
        await self._run(index, lambda: _put(target, mv), written=len(mv))

    async def delete(self, uri: str) -> None:
        """Delete one object (missing is not an error)."""
        index, target, _ = self._route(uri, "delete")
        await self._run(index, lambda: _delete(target))

    async def list(self, prefix: str, recursive: bool = False) -> builtins.list[str]:
        """Sorted URIs under the directory ``prefix``, with :func:`s3dlio.list` semantics.

        Shared namespace: results are given in the caller's form (under the
        root, plain ``s3://bucket/`` form or bare keys the prefix used), so they
        can be passed back to any call whichever endpoint served the listing.
        """
        index, target, base = self._route(prefix, "list")
        root = self._roots[index]
        found = await self._run(index, lambda: _list(target, recursive))
        return sorted(base + u[len(root) :] if u.startswith(root) else u for u in found)

    # ------------------------------------------------------------------ one endpoint
    async def get_from_endpoint(self, index: int, uri: str) -> BytesView:
        """Read the object at ``uri``'s relative path from endpoint ``index``."""
        i, target = self._on(index, uri)
        return await self._run(i, lambda: _get(target), reads=True)

    async def put_to_endpoint(self, index: int, uri: str, data: Any, *, borrow: bool = True) -> None:
        """Store ``data`` at ``uri``'s relative path on endpoint ``index``."""
        mv = self._buffer(data, "put_to_endpoint", uri, borrow)
        i, target = self._on(index, uri)
        await self._run(i, lambda: _put(target, mv), written=len(mv))

    async def delete_from_endpoint(self, index: int, uri: str) -> None:
        """Delete the object at ``uri``'s relative path on endpoint ``index``."""
        i, target = self._on(index, uri)
        await self._run(i, lambda: _delete(target))

    # ------------------------------------------------------------------ every endpoint
    async def list_all_endpoints(self, prefix: str, recursive: bool = False) -> builtins.list[str]:
        """List ``prefix``'s relative path on every endpoint; merged, deduplicated, sorted.

        Shared namespace: URIs in the caller's form (one entry per key, however
        many endpoints hold it). Separate namespace: full URIs on each endpoint.
        Failures raise one ``BatchError`` after every endpoint has answered.
        """
        base, rel, _ = _split(prefix, self._roots)
        shared = self._namespace == "shared"

        async def one(i: int) -> builtins.list[str]:
            index = self._acquire(i)
            root = self._roots[index]
            found = await self._run(index, lambda: _list(root + rel, recursive))
            if not shared:
                return found
            return [base + u[len(root) :] if u.startswith(root) else u for u in found]

        results = await self._each("list_all_endpoints", prefix, rel, one)
        merged: set[str] = set()
        for found in results:
            merged.update(found)
        return sorted(merged)

    async def put_all_endpoints(self, uri: str, data: Any, *, borrow: bool = True) -> None:
        """Store ``data`` at ``uri``'s relative path on every endpoint (concurrently).

        Every endpoint is attempted; failures raise one ``BatchError``.
        """
        mv = self._buffer(data, "put_all_endpoints", uri, borrow)
        _base, rel, _ = _split(uri, self._roots)

        async def one(i: int) -> None:
            index = self._acquire(i)
            target = self._roots[index] + rel
            await self._run(index, lambda: _put(target, mv), written=len(mv))

        await self._each("put_all_endpoints", uri, rel, one)

    async def _each(
        self, op: str, uri: str, rel: str, fn: Callable[[int], Any]
    ) -> builtins.list[Any]:
        outcomes = await asyncio.gather(*(fn(i) for i in range(len(self._roots))), return_exceptions=True)
        failures: list[tuple[str, BaseException]] = []
        for i, outcome in enumerate(outcomes):
            if isinstance(outcome, asyncio.CancelledError):
                raise outcome
            if isinstance(outcome, BaseException):
                failures.append((self._roots[i] + rel, outcome))
        if failures:
            raise BatchError(op, failures, succeeded=len(outcomes) - len(failures), uri=uri)
        return _builtin_list(outcomes)

    @staticmethod
    def _buffer(data: Any, op: str, uri: str, borrow: bool) -> memoryview:
        mv = as_buffer(data, op=op, uri=uri if isinstance(uri, str) else None)
        return mv if borrow else memoryview(mv.tobytes())

    # ------------------------------------------------------------------ lifecycle
    def __reduce__(self) -> tuple[Any, ...]:
        # Settings and URIs only: the copy starts with zeroed counters.
        return (MultiEndpointStore, (_builtin_list(self._roots), self._strategy, self._namespace))

    def _after_fork(self) -> None:
        self._lock = threading.Lock()
        for c in self._counters:
            c.active_requests = 0

    def __repr__(self) -> str:
        endpoints = ", ".join(repr(redact(r)) for r in self._roots)
        return (
            f"MultiEndpointStore(strategy={self._strategy!r}, namespace={self._namespace!r}, "
            f"endpoints=[{endpoints}])"
        )


def _after_fork_in_child() -> None:
    for store in _builtin_list(_live):
        store._after_fork()


os.register_at_fork(after_in_child=_after_fork_in_child)


# ----------------------------------------------------------------------------- factories


def create_multi_endpoint_store(
    uris: Iterable[str], strategy: str | None = None, *, namespace: str | None = None
) -> MultiEndpointStore:
    """A store over 1–32 distinct endpoint URIs of one scheme.

    ``strategy``: ``"round_robin"`` (default) or ``"least_connections"``.
    ``namespace``: ``"shared"`` (default for network schemes) or ``"separate"``
    (default for ``file://``/``direct://``). Bad input raises ``ConfigError`` (a
    ``ValueError``) saying what is wrong.
    """
    return MultiEndpointStore(uris, strategy, namespace)


def create_multi_endpoint_store_from_template(
    uri_template: str, strategy: str | None = None
) -> MultiEndpointStore:
    """A store over the URIs of ``uri_template`` (see :func:`expand_uri_template`)."""
    return MultiEndpointStore(expand_uri_template(uri_template), strategy)


def create_multi_endpoint_store_from_file(
    file_path: str | os.PathLike[str], strategy: str | None = None
) -> MultiEndpointStore:
    """A store over the URIs listed in ``file_path`` (see :func:`read_uri_file`)."""
    return MultiEndpointStore(read_uri_file(file_path), strategy)


def create_multi_endpoint_store_from_env(strategy: str | None = None) -> MultiEndpointStore:
    """A store from the environment.

    ``S3_ENDPOINT_URIS`` (comma list), else ``S3_ENDPOINT_TEMPLATE``, else ``S3_ENDPOINT_FILE``.

    ``strategy=None`` takes ``S3_LOAD_BALANCE_STRATEGY`` (default ``round_robin``).
    None of the three set raises ``ConfigError`` (a ``ValueError``).
    """
    if strategy is None:
        strategy = os.environ.get(ENV_STRATEGY, "").strip() or None
    uris_text = os.environ.get(ENV_ENDPOINT_URIS, "").strip()
    if uris_text:
        uris = [u.strip() for u in uris_text.split(",") if u.strip()]
        return MultiEndpointStore(uris, strategy)
    template = os.environ.get(ENV_ENDPOINT_TEMPLATE, "").strip()
    if template:
        return create_multi_endpoint_store_from_template(template, strategy)
    path = os.environ.get(ENV_ENDPOINT_FILE, "").strip()
    if path:
        return create_multi_endpoint_store_from_file(path, strategy)
    raise ConfigError(
        f"no endpoints configured: set {ENV_ENDPOINT_URIS} (comma-separated URIs), "
        f"{ENV_ENDPOINT_TEMPLATE} (e.g. s3://10.0.0.{{1...4}}:9000/bucket/) or {ENV_ENDPOINT_FILE} "
        "(a file with one URI per line)"
    )
