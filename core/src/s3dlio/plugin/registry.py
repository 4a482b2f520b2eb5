"""Registries that plugins fill through the ``s3dlio_register_*`` hooks.

Every registry holds frozen *specs*. A spec names its implementation with a lazy
``"module:attribute"`` string, so registering a backend imports nothing: the SDK is
loaded the first time a URI of that scheme is used. Conflicts (two plugins
claiming one scheme or one name) are recorded, not resolved by load order; the
configuration picks the winner, and using a contested name without a choice raises
:class:`~s3dlio.errors.AmbiguousBackendError`.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, Generic, TypeVar

import attrs

from s3dlio.errors import AmbiguousBackendError, BackendNotFoundError, PluginLoadError

__all__ = [
    "AdapterSpec",
    "BackendRegistry",
    "BackendSpec",
    "FormatSpec",
    "GeneratorSpec",
    "KNOWN_SCHEMES",
    "MiddlewareSpec",
    "NamedRegistry",
    "OplogSinkSpec",
    "load_object",
]

#: Schemes whose plugin the project publishes; used for install hints.
KNOWN_SCHEMES: Mapping[str, str] = {
    "file": "s3dlio-posix",
    "direct": "s3dlio-direct",
    "s3": "s3dlio-s3",
    "az": "s3dlio-azure",
    "azure": "s3dlio-azure",
    "gs": "s3dlio-gcs",
    "gcs": "s3dlio-gcs",
}

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


def _clean_names(value: tuple[str, ...] | list[str] | str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = (value,)
    return tuple(v.lower().rstrip(":/") for v in value)


@attrs.frozen
class BackendSpec:
    """A storage backend: the schemes it serves and where its store class lives."""

    name: str
    """Backend name (``posix``, ``s3``); also the config key that selects it."""
    schemes: tuple[str, ...] = attrs.field(converter=_clean_names)
    factory: str
    """Lazy reference to the :class:`~s3dlio.store.ObjectStore` subclass."""
    install_hint: str = ""
    description: str = ""
    plugin: str = ""
    """Filled by the registry with the plugin that registered the spec."""

    def load(self) -> Any:
        """Import and return the store class."""
        return load_object(self.factory)


def _str_tuple(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(values)


@attrs.frozen
class _LazySpec:
    """Fields every named spec has; ``factory`` is imported only by :meth:`load`."""

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
class GeneratorSpec(_LazySpec):
    """A synthetic-data generator (``random``, ``zeros``, a vendor's own)."""


@attrs.frozen
class OplogSinkSpec(_LazySpec):
    """An op-log sink (``tsv-zstd``, ``jsonl``)."""


@attrs.frozen
class FormatSpec(_LazySpec):
    """A dataset format (``npz``, ``tfrecord``, ``parquet``) and its file extensions."""

    extensions: tuple[str, ...] = attrs.field(default=(), converter=_str_tuple, kw_only=True)


@attrs.frozen
class AdapterSpec(_LazySpec):
    """A framework adapter (``torch``, ``jax``, ``tensorflow``)."""

    framework_module: str = attrs.field(default="", kw_only=True)
    """Import name of the framework; the adapter is usable when it is importable."""


@attrs.frozen
class MiddlewareSpec(_LazySpec):
    """A store wrapper applied to every store the runtime opens.

    ``factory`` resolves to ``callable(store, settings) -> store``. ``order``
    sorts middleware when the configuration does not list them explicitly (lower
    wraps first, i.e. sits closest to the backend).
    """

    order: int = attrs.field(default=100, kw_only=True)
    enabled_by_default: bool = attrs.field(default=True, kw_only=True)


SpecT = TypeVar("SpecT", GeneratorSpec, OplogSinkSpec, FormatSpec, AdapterSpec, MiddlewareSpec)


class NamedRegistry(Generic[SpecT]):
    """Specs keyed by name; a name claimed twice is kept as a conflict."""

    def __init__(self, kind: str, choices: Mapping[str, str] | None = None) -> None:
        self.kind = kind
        self._claims: dict[str, list[SpecT]] = {}
        self._choices = dict(choices or {})
        self._current_plugin = ""

    def register(self, spec: SpecT) -> None:
        """Add ``spec``; called from a plugin's ``s3dlio_register_*`` hook."""
        if not spec.plugin and self._current_plugin:
            spec = attrs.evolve(spec, plugin=self._current_plugin)
        self._claims.setdefault(spec.name, []).append(spec)

    def get(self, name: str) -> SpecT:
        """The spec registered under ``name``; ``KeyError`` if none."""
        claims = self._claims.get(name)
        if not claims:
            raise KeyError(f"no {self.kind} named {name!r} (known: {', '.join(self.names()) or 'none'})")
        spec: SpecT = _pick(self.kind, name, claims, self._choices.get(name))
        return spec

    def names(self) -> list[str]:
        return sorted(self._claims)

    def conflicts(self) -> dict[str, list[str]]:
        """Names claimed by more than one plugin, with the claiming plugins."""
        return {n: [s.plugin for s in c] for n, c in self._claims.items() if len(c) > 1}

    def __iter__(self) -> Iterator[SpecT]:
        for name in self.names():
            yield self.get(name)

    def __contains__(self, name: object) -> bool:
        return name in self._claims

    def __len__(self) -> int:
        return len(self._claims)


def _pick(kind: str, name: str, claims: list[Any], choice: str | None) -> Any:
    if len(claims) == 1 and choice is None:
        return claims[0]
    if choice is not None:
        for spec in claims:
            if choice in (spec.plugin, spec.name, getattr(spec, "factory", None)):
                return spec
        raise AmbiguousBackendError(
            f"configuration picks {choice!r} for {kind} {name!r}, but it is claimed only by "
            f"{', '.join(s.plugin for s in claims)}"
        )
    raise AmbiguousBackendError(
        f"{kind} {name!r} is claimed by several plugins ({', '.join(s.plugin for s in claims)}); "
        f"choose one in s3dlio.toml, e.g. [plugins.prefer] {name} = \"{claims[0].plugin}\""
    )


class BackendRegistry:
    """Backends by scheme. The runtime asks it for the store class of a URI."""

    def __init__(self, choices: Mapping[str, str] | None = None) -> None:
        self._claims: dict[str, list[BackendSpec]] = {}
        self._choices = dict(choices or {})
        self._current_plugin = ""
        self.load_errors: dict[str, BaseException] = {}
        """Plugin name → exception for plugins that failed to load (chained into hints)."""

    def register(self, spec: BackendSpec) -> None:
        """Add ``spec`` for each of its schemes."""
        if not spec.plugin and self._current_plugin:
            spec = attrs.evolve(spec, plugin=self._current_plugin)
        for scheme in spec.schemes:
            self._claims.setdefault(scheme, []).append(spec)

    def spec_for(self, scheme: str) -> BackendSpec:
        """The backend serving ``scheme``, or a helpful ``BackendNotFoundError``."""
        scheme = scheme.lower()
        claims = self._claims.get(scheme)
        if not claims:
            raise self._not_found(scheme)
        return _pick("scheme", scheme, claims, self._choices.get(scheme))  # type: ignore[no-any-return]

    def _not_found(self, scheme: str) -> BackendNotFoundError:
        dist = KNOWN_SCHEMES.get(scheme)
        if dist is None:
            known = ", ".join(f"{s}://" for s in self.schemes()) or "none installed"
            return BackendNotFoundError(
                f"Unsupported URI scheme '{scheme}://' (available schemes: {known})"
            )
        err = BackendNotFoundError(
            f"the '{scheme}://' backend is provided by the plugin {dist}, which is not "
            f"installed or not loaded: pip install {dist}"
        )
        for plugin, exc in self.load_errors.items():
            if plugin.replace("_", "-") in dist or dist.endswith(plugin):
                err.__cause__ = exc
        return err

    def schemes(self) -> list[str]:
        return sorted(self._claims)

    def specs(self) -> list[BackendSpec]:
        seen: dict[tuple[str, str], BackendSpec] = {}
        for claims in self._claims.values():
            for spec in claims:
                seen[(spec.plugin, spec.name)] = spec
        return sorted(seen.values(), key=lambda s: (s.name, s.plugin))

    def conflicts(self) -> dict[str, list[str]]:
        return {s: [c.plugin for c in cl] for s, cl in self._claims.items() if len(cl) > 1}
