"""``PluginHost``: finds, loads and composes plugins (a facade over pluggy).

Entry points of the group ``s3dlio`` are loaded one by one inside ``try`` blocks,
so one broken plugin cannot take the others down; every outcome lands in a
report (``s3-cli plugins``). Strict mode turns any failure into an error.

Switches (environment or ``[plugins]`` in ``s3dlio.toml``):

``S3DLIO_DISABLE_PLUGIN_AUTOLOAD``
    load no entry points except those named in ``S3DLIO_PLUGINS``.
``S3DLIO_PLUGINS``
    comma-separated entry-point names or importable module names to load.
``S3DLIO_DISABLED_PLUGINS``
    entry-point names to skip.
``S3DLIO_STRICT_PLUGINS``
    fail on any load error, duplicate name or unknown hook.

Conflicts are never settled by load order: two distributions shipping the same
entry-point name, or two plugins claiming one scheme, need
``[plugins.prefer] name = "winner"`` in the config.
"""

from __future__ import annotations

import importlib
import os
import re
import sys
import types
from collections.abc import Iterable, Mapping
from typing import Any

import attrs
import pluggy

from s3dlio._version import __version__
from s3dlio.config import ConfigSchema, Settings, core_schema, load_settings
from s3dlio.errors import PluginError, PluginLoadError
from s3dlio.log import event_logger
from s3dlio.plugin import builtin as _builtin
from s3dlio.plugin import hookspecs
from s3dlio.plugin.registry import (
    BackendRegistry,
    ExportRegistry,
    MiddlewareSpec,
    NamedRegistry,
    Registry,
)

__all__ = ["EntryPointInfo", "PluginHost", "PluginReport"]

ENTRY_POINT_GROUP = "s3dlio"


@attrs.frozen
class EntryPointInfo:
    """An entry point to load (a seam for tests; normally read from metadata)."""

    name: str
    value: str
    distribution: str = ""
    version: str = ""

    def load(self) -> Any:
        module_name, _, attr = self.value.partition(":")
        obj: Any = importlib.import_module(module_name)
        for part in filter(None, attr.split(".")):
            obj = getattr(obj, part)
        return obj


@attrs.define
class PluginReport:
    """What happened to one plugin."""

    name: str
    module: str
    distribution: str = ""
    version: str = ""
    status: str = "pending"
    """``loaded``, ``builtin``, ``failed``, ``disabled``, ``conflict`` or ``not-found``."""
    error: str = ""
    hooks: list[str] = attrs.field(factory=list)
    exception: BaseException | None = attrs.field(default=None, repr=False, eq=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "module": self.module,
            "distribution": self.distribution,
            "version": self.version,
            "status": self.status,
            "error": self.error,
            "hooks": list(self.hooks),
        }


def discover_entry_points(paths: Iterable[str] | None = None) -> list[EntryPointInfo]:
    """Entry points of the ``s3dlio`` group from installed distributions.

    Reads ``*.dist-info/entry_points.txt`` on ``sys.path`` directly: this is what
    ``importlib.metadata`` does for the common case, without importing its
    ``email``/``zipfile`` machinery (25 ms, more than the rest of composition).
    The first distribution of a name on ``sys.path`` wins, as with ``pip``.
    """
    found: list[EntryPointInfo] = []
    seen: set[str] = set()
    for base in sys.path if paths is None else paths:
        try:
            entries = sorted(e.name for e in os.scandir(base or "."))
        except OSError:
            continue
        for name in entries:
            if not name.endswith((".dist-info", ".egg-info")):
                continue
            stem = name.rsplit(".", 1)[0]
            dist, _, version = stem.partition("-")
            key = _normalize(dist)
            if key in seen:
                continue
            seen.add(key)
            text = _read_text(os.path.join(base or ".", name, "entry_points.txt"))
            if text is None:
                continue
            display = _dist_display_name(os.path.join(base or ".", name)) or dist
            for ep_name, value in _parse_group(text, ENTRY_POINT_GROUP):
                found.append(EntryPointInfo(name=ep_name, value=value, distribution=display,
                                            version=version))
    return found


def _normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _read_text(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8") as fh:
            return fh.read()
    except OSError:
        return None


def _dist_display_name(dist_info: str) -> str | None:
    text = _read_text(os.path.join(dist_info, "METADATA")) or _read_text(
        os.path.join(dist_info, "PKG-INFO")
    )
    if text is None:
        return None
    for line in text.splitlines():
        if line.startswith("Name:"):
            return line[5:].strip()
        if not line.strip():
            break
    return None


def _parse_group(text: str, group: str) -> list[tuple[str, str]]:
    """``[(name, value)]`` of one ``[group]`` section of an ``entry_points.txt``."""
    out: list[tuple[str, str]] = []
    current = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("[") and line.endswith("]"):
            current = line[1:-1].strip()
            continue
        if current == group and "=" in line:
            name, _, value = line.partition("=")
            out.append((name.strip(), value.strip()))
    return out


class PluginHost:
    """Loads plugins and composes settings and registries from their hooks."""

    def __init__(
        self,
        *,
        environ: Mapping[str, str] | None = None,
        config_file: str | None = None,
        explicit: Mapping[str, Mapping[str, Any]] | None = None,
        entry_points: Iterable[EntryPointInfo] | None = None,
        extra_plugins: Iterable[tuple[str, object]] = (),
    ) -> None:
        self.environ = dict(os.environ if environ is None else environ)
        self.config_file = config_file
        self.explicit = explicit
        self._entry_points = list(entry_points) if entry_points is not None else None
        self._extra_plugins = list(extra_plugins)
        self.pm = pluggy.PluginManager(hookspecs.PROJECT_NAME)
        self.pm.add_hookspecs(hookspecs)
        # Historic, as pytest_addhooks: every plugin is asked for its own hook specs as it
        # registers, so plugins registered later (or earlier) can implement them.
        self.pm.hook.s3dlio_addhooks.call_historic(kwargs={"pluginmanager": self.pm})
        self.reports: list[PluginReport] = []
        self.settings: Settings | None = None
        self.backends = BackendRegistry()
        self.middleware: NamedRegistry[MiddlewareSpec] = NamedRegistry("middleware")
        self.schema = ConfigSchema()
        self._boot: Settings | None = None
        self._exports: ExportRegistry | None = None
        self._collected: dict[str, Registry[Any]] = {}
        self._loaded = False
        self._composed = False

    # ------------------------------------------------------------------ loading
    def load(self) -> PluginHost:
        """Stage one: load the plugins and their hook specs (no settings, no registries yet).

        Enough to answer :attr:`exports`; :meth:`compose` does the rest. Only the
        ``[plugins]`` section is read here, since it decides which plugins load.
        """
        if self._loaded:
            return self
        boot = self._boot = load_settings(
            core_schema(), environ=self.environ, config_file=self.config_file,
            explicit=self.explicit, warn_unknown=False,
        )
        plugin_cfg = boot.plugins
        self._register_builtin()
        self._load_entry_points(plugin_cfg)
        for name, obj in self._extra_plugins:
            self.register(obj, name=name)
        self.check_pending(strict=plugin_cfg.strict)
        self.backends.load_errors = {
            r.name: r.exception for r in self.reports if r.exception is not None
        }
        self._loaded = True
        return self

    def compose(self) -> PluginHost:
        """Load plugins, resolve settings, fill registries, call ``s3dlio_configure``."""
        if self._composed:
            return self
        self.load()
        boot = self._boot
        assert boot is not None
        plugin_cfg = boot.plugins
        # Plugin by plugin, so each section records the plugin that declared it.
        for impl in self.pm.hook.s3dlio_add_config.get_hookimpls():
            with self.schema.attributing(impl.plugin_name):
                impl.function(schema=self.schema)
        self.settings = load_settings(
            self.schema, environ=self.environ, config_file=boot.config_file,
            file_data=boot.file_data, explicit=self.explicit,
        )
        prefer = self.settings.plugins.prefer
        for registry in (self.backends, self.middleware):
            registry.choices = dict(prefer)
        self._call_register("s3dlio_register_backends", registry=self.backends)
        self._call_register("s3dlio_register_middleware", registry=self.middleware)
        if plugin_cfg.strict:
            conflicts = self.backends.conflicts()
            unresolved = {s: p for s, p in conflicts.items() if s not in prefer}
            if unresolved:
                raise PluginError(f"schemes claimed by several plugins: {unresolved}")
        self.pm.hook.s3dlio_configure(settings=self.settings)
        self._composed = True
        return self

    @property
    def exports(self) -> ExportRegistry:
        """Public names and submodules of ``s3dlio`` served by the loaded plugins."""
        if self._exports is None:
            self.load()
            assert self._boot is not None
            exports = ExportRegistry(choices=self._boot.plugins.prefer)
            self._call_register("s3dlio_register_exports", exports=exports)
            self._exports = exports
        return self._exports

    def collect(self, hook_name: str, registry: Registry[Any]) -> Registry[Any]:
        """Fill ``registry`` from a plugin-declared hook once per host and return it (cached).

        For feature plugins' own registries: s3dlio-datagen collects generators with
        ``host.collect("s3dlio_register_generators", NamedRegistry("generator"))``. The
        hook is called plugin by plugin with ``registry=``, each spec attributed to its
        plugin and the configuration's ``[plugins.prefer]`` choices applied.
        """
        cached = self._collected.get(hook_name)
        if cached is not None:
            return cached
        self.load()
        caller = getattr(self.pm.hook, hook_name, None)
        if caller is None or caller.spec is None:
            raise PluginError(f"no hook named {hook_name!r}: the plugin declaring it is not loaded")
        assert self._boot is not None
        registry.choices = {**self._boot.plugins.prefer, **registry.choices}
        self._call_register(hook_name, registry=registry)
        self._collected[hook_name] = registry
        return registry

    def unconfigure(self) -> None:
        """Call ``s3dlio_unconfigure`` (idempotent)."""
        if self._composed and self.settings is not None:
            self._composed = False
            self.pm.hook.s3dlio_unconfigure(settings=self.settings)

    def _register_builtin(self) -> None:
        self.pm.register(_builtin, name="s3dlio")
        self.reports.append(
            PluginReport(
                name="s3dlio", module=_builtin.__name__, distribution="s3dlio-core",
                version=_core_version(), status="builtin", hooks=self._hook_names(_builtin),
            )
        )

    def _load_entry_points(self, cfg: Any) -> None:
        eps = self._entry_points if self._entry_points is not None else discover_entry_points()
        wanted = list(cfg.plugins)
        disabled = set(cfg.disabled)
        by_name: dict[str, list[EntryPointInfo]] = {}
        for ep in eps:
            by_name.setdefault(ep.name, []).append(ep)
        prefer = dict(cfg.prefer)
        for name, candidates in sorted(by_name.items()):
            if name in disabled:
                for ep in candidates:
                    self.reports.append(self._report(ep, "disabled", "disabled by configuration"))
                continue
            if cfg.disable_autoload and name not in wanted:
                for ep in candidates:
                    self.reports.append(self._report(ep, "disabled", "autoload disabled"))
                continue
            if len(candidates) > 1:
                chosen = [ep for ep in candidates if prefer.get(name) in (ep.distribution, ep.value)]
                if len(chosen) != 1:
                    dists = ", ".join(ep.distribution or ep.value for ep in candidates)
                    message = (
                        f"entry point {name!r} is provided by several distributions ({dists}); "
                        f"choose one with [plugins.prefer] {name} = \"<distribution>\""
                    )
                    for ep in candidates:
                        self.reports.append(self._report(ep, "conflict", message))
                    if cfg.strict:
                        raise PluginError(message)
                    continue
                for ep in candidates:
                    if ep is not chosen[0]:
                        self.reports.append(self._report(ep, "disabled", "not preferred"))
                candidates = chosen
            self._load_one(candidates[0], strict=cfg.strict)
        # Names that are not entry points are module names (like PYTEST_PLUGINS).
        for name in wanted:
            if name in by_name:
                continue
            self._load_one(EntryPointInfo(name=name, value=name), strict=cfg.strict)

    def _report(self, ep: EntryPointInfo, status: str, error: str = "") -> PluginReport:
        return PluginReport(
            name=ep.name, module=ep.value, distribution=ep.distribution, version=ep.version,
            status=status, error=error,
        )

    def _load_one(self, ep: EntryPointInfo, *, strict: bool) -> None:
        report = self._report(ep, "pending")
        self.reports.append(report)
        try:
            plugin = ep.load()
            self.pm.register(plugin, name=ep.name)
        except Exception as exc:  # isolation: one broken plugin is reported, not fatal
            report.status = "failed"
            report.error = f"{type(exc).__name__}: {exc}"
            report.exception = exc
            if strict:
                raise PluginLoadError(f"plugin {ep.name!r} ({ep.value}) failed to load: {exc}") from exc
            event_logger(__name__).warning("plugin_load_failed", plugin=ep.name, module=ep.value,
                                           distribution=ep.distribution, error=report.error)
            return
        report.status = "loaded"
        report.hooks = self._hook_names(plugin)

    def register(self, plugin: object, name: str | None = None) -> None:
        """Register a plugin object or module directly (tests, embedding applications)."""
        name = name or getattr(plugin, "__name__", None) or repr(plugin)
        if self._composed:
            raise PluginError("register plugins before the host is composed")
        self.pm.register(plugin, name=name)
        self.reports.append(
            PluginReport(
                name=name, module=getattr(plugin, "__name__", type(plugin).__name__),
                status="loaded", hooks=self._hook_names(plugin),
            )
        )

    def _hook_names(self, plugin: object) -> list[str]:
        callers = self.pm.get_hookcallers(plugin) or []
        return sorted(c.name for c in callers)

    def check_pending(self, *, strict: bool = True) -> list[str]:
        """Find hookimpls that match no hook spec (usually a misspelled hook name).

        Raises :class:`PluginError` in strict mode; otherwise marks the offending
        plugins' reports and returns the messages.
        """
        try:
            self.pm.check_pending()
        except pluggy.PluginValidationError as exc:
            if strict:
                raise PluginError(f"unknown hook: {exc}") from exc
            for report in self.reports:
                if report.name == getattr(exc.plugin, "__name__", None) or (
                    self.pm.get_plugin(report.name) is exc.plugin
                ):
                    report.error = f"unknown hook: {exc}"
            return [str(exc)]
        return []

    def _call_register(self, hook_name: str, **kwargs: Any) -> None:
        # Hooks are called plugin by plugin, in registration order (core first), so a
        # failing registration is reported against its plugin, the registry records
        # who registered what, and a plugin cannot silently take over a core name.
        registry = next(iter(kwargs.values()))
        caller = getattr(self.pm.hook, hook_name)
        strict = self._boot is not None and self._boot.plugins.strict
        for impl in caller.get_hookimpls():
            plugin_name = impl.plugin_name
            with registry.attributing(plugin_name):
                try:
                    impl.function(**{k: v for k, v in kwargs.items() if k in impl.argnames})
                except Exception as exc:
                    self._record_failure(plugin_name, hook_name, exc)
                    if strict:
                        raise PluginLoadError(
                            f"plugin {plugin_name!r} failed in {hook_name}: {exc}"
                        ) from exc

    def _record_failure(self, plugin_name: str, hook_name: str, exc: BaseException) -> None:
        report = self._find_report(plugin_name)
        if report is not None:
            report.status = "failed"
            report.error = f"{hook_name}: {type(exc).__name__}: {exc}"
            report.exception = exc

    def _find_report(self, name: str) -> PluginReport | None:
        for report in self.reports:
            if report.name == name:
                return report
        return None

    # ------------------------------------------------------------------- queries
    def resolve_url(self, url: str) -> str | None:
        """Ask ``s3dlio_resolve_url`` to rewrite a URL of an unregistered scheme."""
        assert self.settings is not None
        result = self.pm.hook.s3dlio_resolve_url(url=url, settings=self.settings)
        return result if isinstance(result, str) else None

    def build_commands(self, cli: Any) -> None:
        """Let every plugin add its ``s3-cli`` commands and global options to ``cli``.

        A plugin whose registration fails is reported (``s3-cli plugins``); the
        commands of the others stay usable.
        """
        for impl in self.pm.hook.s3dlio_register_commands.get_hookimpls():
            with cli.attributing(impl.plugin_name):
                try:
                    impl.function(cli=cli)
                except Exception as exc:
                    self._record_failure(impl.plugin_name, "s3dlio_register_commands", exc)

    def report(self) -> list[PluginReport]:
        return list(self.reports)


def _core_version() -> str:
    return __version__


def module_plugin(name: str, **hooks: Any) -> types.ModuleType:
    """Build a throwaway plugin module from hook functions (handy in tests)."""
    module = types.ModuleType(name)
    for hook_name, fn in hooks.items():
        setattr(module, hook_name, hookspecs.hookimpl(fn))
    return module
