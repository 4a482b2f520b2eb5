"""Contract checks every s3dlio plugin should pass.

* :func:`assert_plugin_is_lazy` — importing s3dlio and composing every plugin
  imports no SDK, numpy, pyarrow or framework (checked in a fresh interpreter).
* :func:`assert_hookimpls_valid` — the module registers in a fresh
  :class:`~s3dlio.plugin.host.PluginHost`, every hookimpl matches a hook spec (no
  misspelled names, no unknown arguments), and its hooks run without error.
* :func:`assert_errors_translate` — a failing call raises the s3dlio error tree
  (typed, naming operation and URI, picklable), never a raw SDK or OS error.

:class:`PluginContractChecks` bundles them as tests; a plugin's test suite
subclasses it and provides the fixture ``plugin_module`` (the module object or
its import name)::

    class TestContracts(PluginContractChecks):
        @pytest.fixture
        def plugin_module(self):
            return "vendor_s3dlio.plugin"
"""

from __future__ import annotations

import importlib
import json
import os
import pickle
import subprocess
import sys
import types
from collections.abc import Callable, Iterable
from typing import Any

import pytest

from s3dlio.errors import S3dlioError, StoreError, TransientError

__all__ = [
    "DEFAULT_FORBIDDEN",
    "PluginContractChecks",
    "assert_errors_translate",
    "assert_hookimpls_valid",
    "assert_plugin_is_lazy",
    "assert_tls_errors_translate",
    "composed_host_for",
]

#: Top-level modules no plugin may import at import or composition time.
DEFAULT_FORBIDDEN: tuple[str, ...] = (
    "boto3", "botocore", "azure", "google", "pyarrow", "torch", "numpy", "jax", "tensorflow",
)

_LAZY_PROBE = r"""
import importlib, json, sys
module_name, forbidden = sys.argv[1], json.loads(sys.argv[2])
import s3dlio
import s3dlio.plugin.runtime
module = importlib.import_module(module_name)
rt = s3dlio.plugin.runtime.runtime()
registered = rt.host.pm.is_registered(module)
if not registered:
    # Not installed as an entry point here: compose it explicitly as well.
    from s3dlio.plugin.host import PluginHost
    host = PluginHost(extra_plugins=[(module_name, module)]).compose()
    reports = host.reports
else:
    reports = rt.host.reports
failed = [r.to_dict() for r in reports if r.status == "failed"]
top = sorted({name.split(".")[0] for name in sys.modules})
print(json.dumps({
    "imported": [m for m in forbidden if m in top],
    "registered_by_entry_point": registered,
    "failed": failed,
}))
"""


def _module_name(module: str | types.ModuleType) -> str:
    return module if isinstance(module, str) else module.__name__


def assert_plugin_is_lazy(
    entry_point_module: str | types.ModuleType,
    forbidden: Iterable[str] = DEFAULT_FORBIDDEN,
    *,
    env: dict[str, str] | None = None,
    timeout: float = 60,
) -> dict[str, Any]:
    """Assert that importing s3dlio + ``entry_point_module`` and composing every plugin
    leaves every ``forbidden`` top-level module un-imported.

    Runs in a fresh interpreter (``sys.executable``) so modules imported by the
    test session do not hide a violation; the child sees this process's
    ``sys.path`` (through ``PYTHONPATH``) unless ``env`` is given. Returns the
    probe's findings.
    """
    name = _module_name(entry_point_module)
    forbidden = list(forbidden)
    if env is None:
        env = dict(os.environ)
        paths = [p for p in sys.path if p]
        if env.get("PYTHONPATH"):
            paths.append(env["PYTHONPATH"])
        env["PYTHONPATH"] = os.pathsep.join(paths)
    proc = subprocess.run(
        [sys.executable, "-c", _LAZY_PROBE, name, json.dumps(forbidden)],
        capture_output=True, text=True, timeout=timeout, env=env, check=False,
    )
    if proc.returncode != 0:
        raise AssertionError(
            f"importing and composing {name} failed (exit {proc.returncode}):\n{proc.stderr}"
        )
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    if result["imported"]:
        raise AssertionError(
            f"composing plugins with {name} imported heavy modules {result['imported']}; "
            "import SDKs lazily in the store module, never in the plugin module or its hooks"
        )
    mine = [f for f in result["failed"] if f["module"] == name or f["name"] == name]
    if mine:
        raise AssertionError(f"plugin {name} failed during composition: {mine}")
    return result


def composed_host_for(module: str | types.ModuleType, *, environ: dict[str, str] | None = None) -> Any:
    """A composed :class:`~s3dlio.plugin.host.PluginHost` holding only core and ``module``."""
    from s3dlio.plugin.host import PluginHost

    mod = importlib.import_module(module) if isinstance(module, str) else module
    host = PluginHost(environ=environ if environ is not None else {}, entry_points=[],
                      extra_plugins=[(mod.__name__, mod)])
    return host.compose()


def assert_hookimpls_valid(module: str | types.ModuleType) -> Any:
    """Register ``module`` in a fresh :class:`~s3dlio.plugin.host.PluginHost` and validate it.

    Fails when a hookimpl has an unknown name (``check_pending(strict=True)``) or
    unknown arguments, when the module has no hookimpl at all, or when one of its
    hooks raises during composition. Returns the composed host.
    """
    import pluggy

    from s3dlio.errors import PluginError
    from s3dlio.plugin.host import PluginHost

    mod = importlib.import_module(module) if isinstance(module, str) else module
    host = PluginHost(environ={}, entry_points=[])
    try:
        host.register(mod, name=mod.__name__)
    except (pluggy.PluginValidationError, ValueError) as exc:
        raise AssertionError(f"{mod.__name__}: invalid hookimpl: {exc}") from exc
    try:
        host.check_pending(strict=True)
    except PluginError as exc:
        raise AssertionError(f"{mod.__name__}: {exc}") from exc
    report = host.reports[-1]
    if not report.hooks:
        raise AssertionError(f"{mod.__name__} implements no s3dlio hook")
    host.compose()
    for r in host.reports:
        if r.name == mod.__name__ and r.status == "failed":
            raise AssertionError(f"{mod.__name__}: hook failed during composition: {r.error}")
    return host


def assert_errors_translate(
    call: Callable[[], Any],
    expected: type[BaseException] = S3dlioError,
    *,
    uri: str | None = None,
    op: str | None = None,
    builtin: type[BaseException] | None = None,
) -> BaseException:
    """Call ``call`` and assert it raises ``expected`` from the s3dlio error tree.

    ``uri`` (a substring) must appear in the message and in ``.uri`` of store
    errors; ``op`` must equal ``.op``; ``builtin`` is the built-in exception
    the error must also be (``FileNotFoundError`` for not-found). The error
    must survive pickling with its type, message and attributes. Returns it.
    """
    with pytest.raises(BaseException) as info:
        call()
    err = info.value
    if not isinstance(err, S3dlioError):
        raise AssertionError(
            f"expected an s3dlio error, got {type(err).__module__}.{type(err).__name__}: {err}"
        ) from err
    if not isinstance(err, expected):
        raise AssertionError(f"expected {expected.__name__}, got {type(err).__name__}: {err}") from err
    if builtin is not None and not isinstance(err, builtin):
        raise AssertionError(f"{type(err).__name__} is not a {builtin.__name__}") from err
    if uri is not None:
        assert uri in str(err), f"{uri!r} not in message {str(err)!r}"
        if isinstance(err, StoreError):
            assert err.uri is not None and uri in err.uri, (uri, err.uri)
    if op is not None:
        assert getattr(err, "op", None) == op, (op, getattr(err, "op", None))
    clone = pickle.loads(pickle.dumps(err))
    assert type(clone) is type(err), (type(clone), type(err))
    assert str(clone) == str(err)
    if isinstance(err, StoreError):
        assert isinstance(clone, StoreError)
        assert (clone.op, clone.uri, clone.backend, clone.status) == (
            err.op, err.uri, err.backend, err.status
        )
    return err


def assert_tls_errors_translate(translate: Callable[..., StoreError],
                                endpoint: str = "https://127.0.0.1:1") -> None:
    """A backend's ``translate(exc, op=, uri=, endpoint=)`` must treat an untrusted
    certificate (raised by ``ssl`` itself, as on a lean ``http.client`` path) as a
    permanent TLS failure naming the endpoint, and a connection dropped during the TLS
    exchange as transient: retrying cannot fix the first, and usually fixes the second."""
    import ssl

    bad_cert = translate(ssl.SSLCertVerificationError(1, "certificate verify failed: self-signed"),
                         op="get", uri="x://b/k", endpoint=endpoint)
    assert isinstance(bad_cert, StoreError) and not isinstance(bad_cert, TransientError), bad_cert
    assert "TLS failure" in str(bad_cert) and endpoint in str(bad_cert), str(bad_cert)
    dropped = translate(ssl.SSLEOFError(8, "EOF occurred in violation of protocol"),
                        op="get", uri="x://b/k", endpoint=endpoint)
    assert isinstance(dropped, TransientError), dropped


class PluginContractChecks:
    """Contract tests for one plugin module; provide the fixture ``plugin_module``."""

    #: Modules the plugin must not import at import or composition time.
    forbidden_modules: tuple[str, ...] = DEFAULT_FORBIDDEN

    @pytest.fixture
    def plugin_module(self) -> str | types.ModuleType:  # pragma: no cover - overridden
        raise NotImplementedError("subclasses of PluginContractChecks provide plugin_module")

    @pytest.mark.timeout(120)
    def test_plugin_import_is_lazy(self, plugin_module: str | types.ModuleType) -> None:
        assert_plugin_is_lazy(plugin_module, self.forbidden_modules)

    def test_hookimpls_valid(self, plugin_module: str | types.ModuleType) -> None:
        assert_hookimpls_valid(plugin_module)

    def test_registered_specs_are_lazy_references(self, plugin_module: str | types.ModuleType) -> None:
        host = composed_host_for(plugin_module)
        name = _module_name(plugin_module)
        from s3dlio.plugin.registry import NamedRegistry

        # Core's registries, plus every registry a plugin declared through s3dlio_addhooks.
        own = {"s3dlio_register_backends", "s3dlio_register_middleware", "s3dlio_register_exports",
               "s3dlio_register_commands"}
        declared = [h for h, caller in vars(host.pm.hook).items()
                    if h.startswith("s3dlio_register_") and h not in own and caller.spec is not None]
        registries = [host.backends.specs(), host.middleware.specs(),
                      *(host.collect(h, NamedRegistry(h)).specs() for h in declared)]
        mine = [s for specs in registries for s in specs if s.plugin == name]
        for export in host.exports.specs():
            if export.plugin == name:
                module_part, _, attr = export.target.partition(":")
                assert all(p.isidentifier() for p in module_part.split(".")), export
                assert not export.name.startswith("_"), f"{export!r}: private names are not exported"
        sections = [s for s in host.schema.sections.values() if s.plugin == name]
        report = next(r for r in host.reports if r.name == name)
        assert mine or sections or report.hooks, f"{name} registers nothing"
        for spec in mine:
            module_part, sep, attr = spec.factory.partition(":")
            assert sep and module_part and attr, f"{spec!r}: factory must be 'module:attribute'"

    def test_backend_factories_load(self, plugin_module: str | types.ModuleType) -> None:
        from s3dlio.store import ObjectStore

        host = composed_host_for(plugin_module)
        name = _module_name(plugin_module)
        for spec in host.backends.specs():
            if spec.plugin != name:
                continue
            cls = spec.load()
            assert isinstance(cls, type) and issubclass(cls, ObjectStore), spec
            assert set(spec.schemes) <= set(cls.schemes) or not cls.schemes, (spec.schemes, cls.schemes)
            assert cls.backend, f"{cls.__name__}.backend must be set"
            if spec.install_hint:
                assert "pip install" in spec.install_hint
