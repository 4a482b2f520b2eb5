"""The runtime: the composed plugins, the settings and the explicit store cache.

``resolve(uri)`` turns a full URI into ``(store, key)`` on every public call, so it
is the hottest function in the library: after the first call for a scheme it is
a dict lookup, the backend's ``split_uri`` and another dict lookup. Plugins are
composed on first use, not at import.

Tests and ``configure_s3`` call :func:`reset` to drop the cache and recompose with
the current environment. A forked child keeps the runtime but drops every
store's process-bound resources.
"""

from __future__ import annotations

import os
import threading
from typing import TYPE_CHECKING, Any

from s3dlio.errors import BackendNotFoundError, InvalidPathError, StoreError

if TYPE_CHECKING:
    from s3dlio.config import Settings
    from s3dlio.plugin.host import PluginHost
    from s3dlio.store import ObjectStore

__all__ = [
    "Runtime", "bucket_uri", "loaded_host", "reset", "resolve", "runtime", "set_explicit", "split_scheme",
]


def split_scheme(uri: object) -> tuple[str, str]:
    """``("s3", "bucket/key")`` from ``"s3://bucket/key"``; typed errors for non-URIs."""
    if not isinstance(uri, str):
        if isinstance(uri, os.PathLike):
            raise TypeError(
                f"expected a URI string such as 'file:///abs/path', got a path object {uri!r}"
            )
        raise TypeError(f"expected a URI string, got {type(uri).__name__}")
    i = uri.find("://")
    if i <= 0:
        raise InvalidPathError(
            "not a URI: expected scheme://… (for local files use file:///absolute/path)",
            uri=uri,
        )
    return uri[:i].lower(), uri[i + 3 :]


class Runtime:
    """Composed plugins plus the store cache. One per process (see :func:`runtime`)."""

    def __init__(self, host: PluginHost) -> None:
        self.host = host.compose()
        assert host.settings is not None
        self.settings: Settings = host.settings
        self._classes: dict[str, type[ObjectStore]] = {}
        self._stores: dict[tuple[str, str], ObjectStore] = {}
        self._rewrites: dict[str, str | None] = {}
        self._lock = threading.Lock()
        self._middleware: list[Any] | None = None

    # ----------------------------------------------------------------- lookup
    def store_class(self, scheme: str) -> type[ObjectStore]:
        """The store class serving ``scheme`` (imports its module on first use)."""
        cls = self._classes.get(scheme)
        if cls is None:
            spec = self.host.backends.spec_for(scheme)
            try:
                cls = spec.load()
            except Exception as exc:
                raise BackendNotFoundError(
                    f"the '{scheme}://' backend ({spec.plugin or spec.name}) failed to import: {exc}"
                    + (f"; {spec.install_hint}" if spec.install_hint else "")
                ) from exc
            self._classes[scheme] = cls
        return cls

    def resolve(self, uri: str) -> tuple[ObjectStore, str]:
        """``(store, key)`` for a full URI."""
        scheme, _rest = split_scheme(uri)
        cls = self._classes.get(scheme)
        if cls is None:
            try:
                cls = self.store_class(scheme)
            except BackendNotFoundError:
                rewritten = self._rewrite(uri, scheme)
                if rewritten is None:
                    raise
                return self.resolve(rewritten)
        root, key = cls.split_uri(uri)
        store = self._stores.get((scheme, root))
        if store is None:
            store = self.open_store(scheme, root, cls)
        return store, key

    def _rewrite(self, uri: str, scheme: str) -> str | None:
        # The hook is asked once per scheme and host with the bare "scheme://host/"
        # and answers with the prefix that replaces it; the rest of the URI is kept.
        host = uri[len(scheme) + 3 :].split("/", 1)[0]
        base = f"{scheme}://{host}/"
        if base not in self._rewrites:
            self._rewrites[base] = self.host.resolve_url(base)
        prefix = self._rewrites[base]
        if prefix is None:
            return None
        return prefix + uri[len(base) :]

    def open_store(self, scheme: str, root: str, cls: type[ObjectStore] | None = None) -> ObjectStore:
        """Open (or return the cached) store for ``root``, wrapped in the configured middleware."""
        with self._lock:
            store = self._stores.get((scheme, root))
            if store is not None:
                return store
            cls = cls or self.store_class(scheme)
            store = cls(root, self.settings)
            for factory in self.middleware():
                store = factory(store, self.settings)
            self._stores[(scheme, root)] = store
            return store

    def middleware(self) -> list[Any]:
        """Middleware factories in application order (innermost first)."""
        if self._middleware is None:
            registry = self.host.middleware
            configured = list(self.settings.core.middleware)
            if configured:
                specs = [registry.get(name) for name in configured]
            else:
                specs = sorted(
                    (s for s in registry if s.enabled_by_default), key=lambda s: (s.order, s.name)
                )
            self._middleware = [spec.load() for spec in specs]
        return self._middleware

    def stores(self) -> list[ObjectStore]:
        return list(self._stores.values())

    def drop_process_state(self) -> None:
        """After ``fork``: stores keep their settings but lose clients and locks."""
        self._lock = threading.Lock()
        for store in self._stores.values():
            store.close()


_runtime: Runtime | None = None
_host: PluginHost | None = None
_runtime_lock = threading.Lock()
_explicit: dict[str, dict[str, Any]] = {}
"""Settings given through the Python API (highest precedence), by section."""


def set_explicit(section: str, **values: Any) -> None:
    """Override settings of ``section`` from code (``None`` values are ignored); takes
    effect immediately: the runtime is recomposed on the next call."""
    chosen = {name: value for name, value in values.items() if value is not None}
    if chosen:
        _explicit.setdefault(section, {}).update(chosen)
        reset()


def loaded_host() -> PluginHost:
    """The process's plugin host with its plugins loaded (composed or not).

    Exports (``s3dlio.put``, ``s3dlio.torch``) need only this stage, so resolving a
    name neither reads the settings of every plugin nor fails on a bad one.
    """
    global _host
    host = _host
    if host is None:
        with _runtime_lock:
            host = _host
            if host is None:
                from s3dlio.plugin.host import PluginHost

                host = PluginHost(explicit=_explicit or None)
                host.load()
                _host = host
    return host


def runtime() -> Runtime:
    """The process's runtime, composed from installed plugins on first use."""
    global _runtime
    rt = _runtime
    if rt is None:
        host = loaded_host()
        with _runtime_lock:
            rt = _runtime
            if rt is None:
                rt = _runtime = Runtime(host)
    return rt


def resolve(uri: str, op: str | None = None) -> tuple[ObjectStore, str]:
    """``(store, key)`` for ``uri`` using the process runtime.

    ``op``: the operation asking, named in a URI-check error that has none (the stores'
    ``split_uri`` cannot know which operation it checks for).
    """
    rt = _runtime
    if rt is None:
        rt = runtime()
    if op is None:
        return rt.resolve(uri)
    try:
        return rt.resolve(uri)
    except StoreError as exc:
        if exc.op is None:
            exc.op = op
        raise


def bucket_uri(bucket: str, key: str = "") -> str:
    """The URI the original API's bucket-only calls mean: ``<scheme>://bucket/key``.

    The scheme is that of the installed backend declaring ``serves_bare_buckets``
    (``s3://`` with s3dlio-s3), so those calls are not tied to one backend in core.
    """
    scheme = runtime().host.backends.bare_bucket_scheme()
    return f"{scheme}://{bucket}/{key}"


def install(rt: Runtime | None) -> Runtime | None:
    """Replace the process runtime (tests and embedding); return the previous one."""
    global _runtime, _host
    with _runtime_lock:
        previous, _runtime = _runtime, rt
        _host = rt.host if rt is not None else None
    return previous


def reset() -> None:
    """Drop the runtime and its store cache; the next call recomposes from the environment."""
    previous = install(None)
    if previous is not None:
        for store in previous.stores():
            store.close()
        previous.host.unconfigure()


def _after_fork_in_child() -> None:
    global _runtime_lock
    _runtime_lock = threading.Lock()
    if _runtime is not None:
        _runtime.drop_process_state()


os.register_at_fork(after_in_child=_after_fork_in_child)
