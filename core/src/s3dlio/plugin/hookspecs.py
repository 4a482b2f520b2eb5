"""Hook specifications: the contract between s3dlio core and its plugins.

A plugin is a module (named by an entry point in the group ``s3dlio``) holding
functions decorated with :data:`s3dlio.hookimpl` whose names match the specs below.
Hookimpls may accept any *subset* of a spec's arguments, by name.

Rules for plugin authors:

* Hooks run at **composition time** — once, when s3dlio first needs its plugins —
  never per I/O. Register *specs* (small frozen records holding a lazy
  ``"module:attribute"`` reference), do not do work.
* A plugin module must **not import its SDK or any heavy dependency** at import
  time or in a hook: boto3, azure, google, numpy, pyarrow, torch and friends are
  imported by the referenced implementation module on first use. The contract
  checks in :mod:`s3dlio.testing` enforce this.
* Misspelled hook names are caught by ``PluginHost.check_pending()``; a plugin
  whose import or hooks raise is reported by ``s3-cli plugins`` and skipped
  (or fails everything in strict mode).

Example ``plugin.py`` of a vendor backend::

    import s3dlio
    from s3dlio.plugin.registry import BackendSpec

    @s3dlio.hookimpl
    def s3dlio_register_backends(registry):
        registry.register(BackendSpec(
            name="vendorfs",
            schemes=("vfs",),
            factory="vendor_s3dlio.store:VendorStore",
            install_hint="pip install vendor-s3dlio",
        ))

and in its ``pyproject.toml``::

    [project.entry-points.s3dlio]
    vendorfs = "vendor_s3dlio.plugin"
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from s3dlio.cli.registry import CommandRegistry
    from s3dlio.config import ConfigSchema, Settings
    from s3dlio.plugin.registry import BackendRegistry, ExportRegistry, MiddlewareSpec, NamedRegistry

PROJECT_NAME = "s3dlio"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)


def addhooks_from(module: str) -> Callable[[pluggy.PluginManager], None]:
    """A ready ``s3dlio_addhooks`` hookimpl declaring the hook specs of ``module``.

    In a feature plugin's entry-point module: ``s3dlio_addhooks = addhooks_from(
    "vendor_s3dlio.hookspecs")``; the module is imported when the plugin registers.
    """

    @hookimpl
    def s3dlio_addhooks(pluginmanager: pluggy.PluginManager) -> None:
        pluginmanager.add_hookspecs(importlib.import_module(module))

    return s3dlio_addhooks

# ----------------------------------------------------------------------------- configuration


@hookspec
def s3dlio_add_config(schema: ConfigSchema) -> None:
    """Declare the plugin's settings sections.

    Call ``schema.add_section("name", SettingsClass)`` where ``SettingsClass`` is
    an attrs class whose fields are made with :func:`s3dlio.config.setting`
    (default, environment variables, validation, help). The section is read from
    ``[name]`` in ``s3dlio.toml`` and shown by ``s3-cli config show``.
    ``schema.add_known_env(...)`` declares variables the plugin reads directly.
    """


@hookspec
def s3dlio_configure(settings: Settings) -> None:
    """Called once the settings are resolved and every registry is filled.

    The place for one-time, cheap set-up (e.g. registering ``atexit`` handlers).
    Must not open connections.
    """


@hookspec
def s3dlio_unconfigure(settings: Settings) -> None:
    """Called when the runtime is reset or the process exits; release resources."""


# ----------------------------------------------------------------------------- storage


@hookspec
def s3dlio_register_backends(registry: BackendRegistry) -> None:
    """Register storage backends with ``registry.register(BackendSpec(...))``.

    A ``BackendSpec`` names the URI schemes it serves and a lazy reference to an
    :class:`s3dlio.store.ObjectStore` subclass. Two plugins may claim one scheme;
    using it then requires ``[plugins.prefer] scheme = "plugin"`` in the config.
    """


@hookspec(firstresult=True)
def s3dlio_resolve_url(url: str, settings: Settings) -> str | None:
    """Rewrite a URL whose scheme no backend registers, or return ``None`` to pass.

    Called only for unregistered schemes (e.g. ``https://acct.blob.core.windows.net/…``
    → ``az://acct/…``), and the answer is cached per scheme and host, so the hook
    never runs per I/O. The first non-``None`` result wins.
    """


@hookspec
def s3dlio_register_middleware(registry: NamedRegistry[MiddlewareSpec]) -> None:
    """Register store middleware (``MiddlewareSpec``): wrappers applied to every store.

    A middleware factory is ``callable(store, settings) -> store``; the returned
    object must be an :class:`~s3dlio.store.ObjectStore` (usually a
    :class:`~s3dlio.store.middleware.StoreWrapper`). ``[core] middleware`` sets the order.
    """


# ----------------------------------------------------------------------------- features


@hookspec(historic=True)
def s3dlio_addhooks(pluginmanager: pluggy.PluginManager) -> None:
    """Declare the plugin's own hook specs: ``pluginmanager.add_hookspecs(my_hookspecs)``.

    As pytest's ``pytest_addhooks``: a feature plugin owns the hooks only it reads
    (s3dlio-datagen's ``s3dlio_register_generators``, s3dlio-loaders'
    ``s3dlio_register_formats``); other plugins implement them, and the owner collects
    them with :meth:`PluginHost.collect <s3dlio.plugin.host.PluginHost.collect>`.
    """


@hookspec
def s3dlio_register_exports(exports: ExportRegistry) -> None:
    """Declare the public names and submodules of ``s3dlio`` the plugin serves.

    ``exports.names_from("vendor_s3dlio.api", "put put_async")`` makes ``s3dlio.put``
    resolve to ``vendor_s3dlio.api:put``; ``exports.submodule("torch",
    "vendor_s3dlio.torch")`` makes ``import s3dlio.torch`` import that module.
    Nothing is imported until the name is first used; this hook runs once per process,
    before settings are resolved, so it must only register.
    """


@hookspec
def s3dlio_register_commands(cli: CommandRegistry) -> None:
    """Add ``s3-cli`` sub-commands with ``cli.register(CommandSpec(...))``.

    A ``CommandSpec`` holds the command name, help, aliases and a lazy reference to
    a class with ``add_arguments(parser)`` and ``run(args, ctx) -> int`` (the exit
    code). The command module is imported only when the CLI builds its parser.
    """
