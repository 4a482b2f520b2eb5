"""One registry for everything plugins register, and the lazy specs they register.

Plugins fill registries from their ``s3dlio_register_*`` hooks at composition time;
a spec is a small frozen record whose implementation is a lazy ``"module:attribute"``
reference, imported only when it is first needed (:func:`load_object`).

:class:`Registry` is the one mechanism: specs are claimed under one or more keys
(a name, every scheme of a backend, a command and its aliases); the host records
which plugin registered each spec (:meth:`Registry.attributing`); a key claimed by
several plugins is kept as a conflict, never settled by load order, and the
configuration (``[plugins.prefer]``) picks the winner. Using a contested key
without a choice raises :class:`~s3dlio.errors.AmbiguousBackendError`. Registries
that must not have conflicts (``s3-cli`` commands) refuse the second claim at once.
"""

from __future__ import annotations

import contextlib
import importlib
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, Generic, Protocol, TypeVar

import attrs

from s3dlio.errors import AmbiguousBackendError, BackendNotFoundError, PluginError, PluginLoadError
from s3dlio.plugin import catalog

__all__ = [
    "Attributed",
    "BackendRegistry",
    "BackendSpec",
    "ExportRegistry",
    "ExportSpec",
    "LazySpec",
    "MiddlewareSpec",
    "NamedRegistry",
    "Registry",
    "load_object",
]

_object_cache: dict[str, Any] = {}
_object_lock = threading.Lock()


def load_object(ref: str) -> Any:
    """Import ``"package.module:attr.sub"`` and return the attribute (cached)."""
    try:
        return _object_cache[ref]
    except KeyError:
        pass
    module_name, _, attr_path = ref.partition(":")
    if not module_name or not attr_path:
        raise PluginLoadError(f"invalid lazy reference {ref!r} (expected 'module:attribute')")
    with _object_lock:
        try:
            obj: Any = importlib.import_module(module_name)
            for part in attr_path.split("."):
                obj = getattr(obj, part)
        except Exception as exc:
            raise PluginLoadError(f"cannot load {ref!r}: {exc}") from exc
        _object_cache[ref] = obj
    return obj


class Attributed:
    """Remembers which plugin is registering right now (set by the host, hook by hook)."""

    _current_plugin: str = ""

    @contextlib.contextmanager
    def attributing(self, plugin: str) -> Iterator[None]:
        """Within the block, registrations are recorded as made by ``plugin``."""
        previous, self._current_plugin = self._current_plugin, plugin
        try:
            yield
        finally:
            self._current_plugin = previous


class _Spec(Protocol):
    @property
    def plugin(self) -> str: ...


SpecT = TypeVar("SpecT", bound=_Spec)


def _names(value: Iterable[str] | str) -> tuple[str, ...]:
    return (value,) if isinstance(value, str) else tuple(value)


def _clean_schemes(value: Iterable[str] | str) -> tuple[str, ...]:
    return tuple(v.lower().rstrip(":/") for v in _names(value))


@attrs.frozen
class LazySpec:
    """Fields every named spec has; ``factory`` is imported only by :meth:`load`.

    Feature plugins subclass it for the specs of their own hooks (a generator, a
    dataset format) and collect them with :meth:`PluginHost.collect
    <s3dlio.plugin.host.PluginHost.collect>`.
    """

    name: str
    factory: str
    description: str = attrs.field(default="", kw_only=True)
    install_hint: str = attrs.field(default="", kw_only=True)
    plugin: str = attrs.field(default="", kw_only=True)
    """Filled by the registry with the plugin that registered the spec."""

    def load(self) -> Any:
        """Import and return the implementation."""
        return load_object(self.factory)


@attrs.frozen
class BackendSpec:
    """A storage backend: the schemes it serves and where its store class lives."""

    name: str
    """Backend name (``posix``, ``s3``); also the config key that selects it."""
    schemes: tuple[str, ...] = attrs.field(converter=_clean_schemes)
    factory: str
    """Lazy reference to the :class:`~s3dlio.store.ObjectStore` subclass."""
    install_hint: str = ""
    description: str = ""
    plugin: str = ""
    """Filled by the registry with the plugin that registered the spec."""
    serves_bare_buckets: bool = attrs.field(default=False, kw_only=True)
    """The backend answers the original API's bucket-only calls (``MultipartUploadWriter(bucket,
    key)``, ``create_bucket("name")``, ``get_by_key``): ``bucket`` means ``<scheme>://bucket/``."""
    endpoint_in_root: bool = attrs.field(default=False, kw_only=True)
    """A root's first segment may name an endpoint (``host:port`` or an IP literal):
    ``scheme://10.0.0.1:9000/bucket/`` is then the endpoint form of ``scheme://bucket/``,
    which multi-endpoint stores use to map plain URIs onto each endpoint."""
    local_paths: bool = attrs.field(default=False, kw_only=True)
    """URIs name paths of this machine (``file:///abs/path``): each endpoint root of a
    multi-endpoint store is then its own namespace by default."""

    def load(self) -> Any:
        """Import and return the store class."""
        return load_object(self.factory)


@attrs.frozen
class MiddlewareSpec(LazySpec):
    """A store wrapper applied to every store the runtime opens.

    ``factory`` resolves to ``callable(store, settings) -> store``. ``order``
    sorts middleware when the configuration does not list them explicitly (lower
    wraps first, i.e. sits closest to the backend).
    """

    order: int = attrs.field(default=100, kw_only=True)
    enabled_by_default: bool = attrs.field(default=True, kw_only=True)


@attrs.frozen
class ExportSpec:
    """A public name or submodule of ``s3dlio`` that a plugin serves.

    ``target`` is ``"module:attribute"`` for a name (``s3dlio.put`` →
    ``"vendor_s3dlio.api:put"``) or a bare module name for a submodule
    (``s3dlio.torch`` → ``"vendor_s3dlio.torch"``; ``name`` may be dotted:
    ``compat.s3torchconnector``). ``install_hint`` is what to install when importing
    the target fails for a missing optional dependency (``pip install 'vendor-s3dlio[torch]'``).
    """

    name: str
    target: str
    install_hint: str = attrs.field(default="", kw_only=True)
    plugin: str = attrs.field(default="", kw_only=True)

    @property
    def is_module(self) -> bool:
        return ":" not in self.target


class Registry(Attributed, Generic[SpecT]):
    """Specs claimed under keys; which plugin registered each is recorded.

    ``keys(spec)`` gives the keys a spec claims (default: its ``name``). With
    ``exclusive=True`` a key claimed by a second plugin is a :class:`PluginError`
    at registration; otherwise both claims are kept and :meth:`get` needs the
    configuration's choice (``[plugins.prefer] key = "plugin"``).
    """

    def __init__(
        self,
        kind: str,
        *,
        keys: Callable[[Any], Iterable[str]] = lambda spec: (spec.name,),
        exclusive: bool = False,
        choices: Mapping[str, str] | None = None,
    ) -> None:
        self.kind = kind
        self._keys = keys
        self._exclusive = exclusive
        self._claims: dict[str, list[SpecT]] = {}
        self.choices: dict[str, str] = dict(choices or {})

    def register(self, spec: SpecT) -> None:
        """Add ``spec``; called from a plugin's ``s3dlio_register_*`` hook."""
        if not spec.plugin and self._current_plugin:
            spec = attrs.evolve(spec, plugin=self._current_plugin)  # type: ignore[misc]
        keys = list(self._keys(spec))
        if self._exclusive:
            for key in keys:
                for other in self._claims.get(key, ()):
                    if other.plugin != spec.plugin or self._keys(other) != self._keys(spec):
                        raise PluginError(
                            f"{self.kind} {key!r} is registered by both {other.plugin or '?'} "
                            f"and {spec.plugin or '?'}"
                        )
        for key in keys:
            claims = self._claims.setdefault(key, [])
            if self._exclusive:
                claims.clear()
            claims.append(spec)

    def get(self, key: str) -> SpecT:
        """The spec registered under ``key``; ``KeyError`` if none."""
        claims = self._claims.get(key)
        if not claims:
            raise KeyError(f"no {self.kind} named {key!r} (known: {', '.join(self.names()) or 'none'})")
        return self._pick(key, claims)

    def _pick(self, key: str, claims: list[SpecT]) -> SpecT:
        choice = self.choices.get(key)
        if len(claims) == 1 and choice is None:
            return claims[0]
        if choice is not None:
            for spec in claims:
                if choice in (spec.plugin, getattr(spec, "name", None), getattr(spec, "factory", None)):
                    return spec
            raise AmbiguousBackendError(
                f"configuration picks {choice!r} for {self.kind} {key!r}, but it is claimed only by "
                f"{', '.join(s.plugin for s in claims)}"
            )
        raise AmbiguousBackendError(
            f"{self.kind} {key!r} is claimed by several plugins ({', '.join(s.plugin for s in claims)}); "
            f"choose one in s3dlio.toml, e.g. [plugins.prefer] {key} = \"{claims[0].plugin}\""
        )

    def names(self) -> list[str]:
        """Every claimed key, sorted."""
        return sorted(self._claims)

    def specs(self) -> list[SpecT]:
        """Every registered spec once (a spec claiming several keys appears once)."""
        seen: dict[int, SpecT] = {}
        for claims in self._claims.values():
            for spec in claims:
                seen.setdefault(id(spec), spec)
        return list(seen.values())

    def conflicts(self) -> dict[str, list[str]]:
        """Keys claimed by more than one plugin, with the claiming plugins."""
        return {k: [s.plugin for s in c] for k, c in self._claims.items() if len(c) > 1}

    def __iter__(self) -> Iterator[SpecT]:
        for key in self.names():
            yield self.get(key)

    def __contains__(self, key: object) -> bool:
        return key in self._claims

    def __len__(self) -> int:
        return len(self._claims)


class NamedRegistry(Registry[SpecT]):
    """A registry keyed by the specs' ``name`` (middleware, a feature plugin's specs)."""

    def __init__(self, kind: str, choices: Mapping[str, str] | None = None) -> None:
        super().__init__(kind, choices=choices)


class BackendRegistry(Registry[BackendSpec]):
    """Backends by scheme. The runtime asks it for the store class of a URI."""

    def __init__(self, choices: Mapping[str, str] | None = None) -> None:
        super().__init__("scheme", keys=lambda spec: spec.schemes, choices=choices)
        self.load_errors: dict[str, BaseException] = {}
        """Plugin name → exception for plugins that failed to load (chained into hints)."""

    def spec_for(self, scheme: str) -> BackendSpec:
        """The backend serving ``scheme``, or a helpful ``BackendNotFoundError``."""
        scheme = scheme.lower()
        claims = self._claims.get(scheme)
        if not claims:
            raise self._not_found(scheme)
        return self._pick(scheme, claims)

    def _not_found(self, scheme: str) -> BackendNotFoundError:
        dist = catalog.distribution_for_scheme(scheme)
        if dist is None:
            known = ", ".join(f"{s}://" for s in self.schemes()) or "none installed"
            near = catalog.closest(scheme, [*self.schemes(), *catalog.SCHEMES])
            hint = f"; did you mean '{near}://'?" if near else ""
            return BackendNotFoundError(
                f"Unsupported URI scheme '{scheme}://' (available schemes: {known}){hint}"
            )
        err = BackendNotFoundError(
            f"the '{scheme}://' backend is provided by the plugin {dist}, which is not "
            f"installed or not loaded: {catalog.install_command(dist)}"
        )
        for plugin, exc in self.load_errors.items():
            if plugin.replace("_", "-") in dist or dist.endswith(plugin):
                err.__cause__ = exc
        return err

    def schemes(self) -> list[str]:
        return self.names()

    def specs(self) -> list[BackendSpec]:
        return sorted(super().specs(), key=lambda s: (s.name, s.plugin))

    def bare_bucket_scheme(self) -> str:
        """The scheme that a bare bucket name means (the original API's bucket-only calls).

        The backend that declares ``serves_bare_buckets``; with none installed, the
        catalog's default, so the call fails with that plugin's install hint.
        """
        from s3dlio.plugin import catalog

        for spec in self.specs():
            if spec.serves_bare_buckets:
                return spec.schemes[0]
        return catalog.BARE_BUCKET_SCHEME


class ExportRegistry(Registry[ExportSpec]):
    """Public names and submodules of ``s3dlio`` served by plugins."""

    def __init__(self, choices: Mapping[str, str] | None = None) -> None:
        super().__init__("export", choices=choices)

    def names_from(self, module: str, names: str | Iterable[str], *, install_hint: str = "") -> None:
        """Export each of ``names`` (space-separated or an iterable) from ``module``."""
        for name in names.split() if isinstance(names, str) else names:
            self.register(ExportSpec(name, f"{module}:{name}", install_hint=install_hint))

    def submodule(self, name: str, module: str, *, install_hint: str = "") -> None:
        """Serve ``module`` as ``s3dlio.<name>`` (``name`` may be dotted)."""
        self.register(ExportSpec(name, module, install_hint=install_hint))

    def attributes(self) -> list[str]:
        """Exported attribute names (a contested name is listed too)."""
        return [k for k, claims in sorted(self._claims.items()) if not claims[0].is_module]

    def submodules(self) -> list[str]:
        """Exported submodule names."""
        return [k for k, claims in sorted(self._claims.items()) if claims[0].is_module]
