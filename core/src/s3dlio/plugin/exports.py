"""Public names and submodules of ``s3dlio`` that plugins serve, resolved on first use.

A plugin declares them in ``s3dlio_register_exports`` (``s3dlio.put`` →
``"vendor_s3dlio.api:put"``, ``s3dlio.torch`` → ``"vendor_s3dlio.torch"``).
``s3dlio.__getattr__`` resolves names (:func:`resolve_name`), and :class:`ExportFinder`,
appended to ``sys.meta_path`` by ``import s3dlio``, resolves submodules: it is asked
only after the regular finders found no such module in core, and it serves the
plugin's module itself under the ``s3dlio.`` name. Nothing of a plugin is imported
before the first use of one of its names.

A name or submodule that no loaded plugin serves but the catalog knows raises
:class:`~s3dlio.errors.FeatureNotInstalledError` naming the distribution to install;
so does a target whose optional dependency is missing (the export's ``install_hint``).
"""

from __future__ import annotations

import importlib
import sys
import types
from collections.abc import MutableMapping
from typing import TYPE_CHECKING, Any

from s3dlio.errors import FeatureNotInstalledError

if TYPE_CHECKING:
    from importlib.machinery import ModuleSpec

    from s3dlio.plugin.registry import ExportRegistry, ExportSpec

__all__ = ["ExportFinder", "install_finder", "resolve_name"]

_PACKAGE = "s3dlio"


def _exports() -> ExportRegistry:
    from s3dlio.plugin.runtime import loaded_host

    return loaded_host().exports


def _not_installed(public: str, dist: str) -> FeatureNotInstalledError:
    from s3dlio.plugin.catalog import install_command

    return FeatureNotInstalledError(f"{public} is provided by {dist}: {install_command(dist)}")


def _import_target(spec: ExportSpec, public: str) -> Any:
    """Import what ``spec`` points at; a missing optional dependency becomes the install hint."""
    module_name, _, attr = spec.target.partition(":")
    try:
        obj: Any = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        missing = (exc.name or "").split(".")[0]
        if missing and missing != module_name.split(".")[0]:
            hint = spec.install_hint or f"install the module {missing!r}"
            raise FeatureNotInstalledError(
                f"{public} needs {missing!r}, which is not installed: {hint}"
            ) from exc
        raise
    for part in filter(None, attr.split(".")):
        obj = getattr(obj, part)
    return obj


def resolve_name(namespace: MutableMapping[str, Any], name: str) -> Any:
    """``s3dlio.<name>`` from the plugins' exports, cached in ``namespace``.

    Raises ``AttributeError`` for names nobody serves (as a module would) and
    :class:`FeatureNotInstalledError` for a first-party name whose plugin is missing.
    """
    public = f"{_PACKAGE}.{name}"
    if name.startswith("_"):  # dunder probes (inspect, pickle, pytest) never load plugins
        raise AttributeError(f"module {_PACKAGE!r} has no attribute {name!r}")
    from s3dlio.plugin import catalog

    dist = catalog.distribution_for_name(name) or catalog.SUBMODULES.get(name)
    exports = _exports()
    if name in exports:
        spec = exports.get(name)
        try:
            value = importlib.import_module(public) if spec.is_module else _import_target(spec, public)
        except ModuleNotFoundError as exc:
            if dist is None:
                raise
            # The plugin's own module is gone (uninstalled since the plugins loaded).
            raise _not_installed(public, dist) from exc
        namespace[name] = value  # later lookups skip __getattr__
        return value
    if dist is not None:
        raise _not_installed(public, dist)
    raise AttributeError(f"module {_PACKAGE!r} has no attribute {name!r}")


class _ExportLoader:
    """Serves an exported plugin module (or an empty parent package) under its ``s3dlio.`` name."""

    def __init__(self, spec: ExportSpec | None) -> None:
        self.export = spec

    def create_module(self, modspec: ModuleSpec) -> types.ModuleType:
        if self.export is None:  # a parent of dotted exports (``s3dlio.compat``)
            parent = types.ModuleType(modspec.name, f"namespace of the plugins' {modspec.name}.* modules")
            parent.__path__ = []
            return parent
        served: types.ModuleType = _import_target(self.export, modspec.name)
        return served

    def exec_module(self, module: types.ModuleType) -> None:
        """Nothing to run: the plugin module was executed by its own import."""

    def load_module(self, fullname: str) -> types.ModuleType:  # the legacy loader protocol
        raise ImportError(f"{fullname} is loaded through create_module/exec_module")


class ExportFinder:
    """A ``sys.meta_path`` finder for the submodules plugins export (``s3dlio.torch``)."""

    def find_spec(self, fullname: str, path: object = None, target: object = None) -> ModuleSpec | None:
        if not fullname.startswith(_PACKAGE + "."):
            return None
        name = fullname[len(_PACKAGE) + 1 :]
        if name.split(".")[-1].startswith("_"):
            return None
        import importlib.util

        exports = _exports()
        if name in exports and exports.get(name).is_module:
            return importlib.util.spec_from_loader(fullname, _ExportLoader(exports.get(name)))
        if any(sub.startswith(name + ".") for sub in exports.submodules()):
            return importlib.util.spec_from_loader(fullname, _ExportLoader(None), is_package=True)
        from s3dlio.plugin import catalog

        dist = catalog.distribution_for_submodule(name)
        if dist is not None:
            raise _not_installed(fullname, dist)
        return None


def install_finder() -> None:
    """Append the finder to ``sys.meta_path`` once (after the regular finders)."""
    if not any(isinstance(f, ExportFinder) for f in sys.meta_path):
        sys.meta_path.append(ExportFinder())
