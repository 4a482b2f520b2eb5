"""Plugins serve public names and submodules of ``s3dlio`` through ``s3dlio_register_exports``."""

from __future__ import annotations

import importlib
import sys
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from s3dlio_toystore import make_host

import s3dlio
from s3dlio.errors import AmbiguousBackendError, FeatureNotInstalledError
from s3dlio.plugin import runtime as rt
from s3dlio.plugin.host import module_plugin

HERE = __name__


def vendor_answer() -> int:
    return 42


@pytest.fixture
def vendor_module() -> Iterator[types.ModuleType]:
    """An importable module a vendor plugin serves as ``s3dlio.vendorkit`` / ``s3dlio.compat.vendorkit``."""
    module = types.ModuleType("vendor_s3dlio_kit")
    module.VALUE = "served"  # type: ignore[attr-defined]
    sys.modules[module.__name__] = module
    yield module
    sys.modules.pop(module.__name__, None)
    for name in ("s3dlio.vendorkit", "s3dlio.compat", "s3dlio.compat.vendorkit"):
        sys.modules.pop(name, None)
    for name in ("vendor_answer", "vendorkit", "compat"):
        s3dlio.__dict__.pop(name, None)


def exporter(name: str = "vendor", **extra: Any) -> types.ModuleType:
    def s3dlio_register_exports(exports: Any) -> None:
        exports.names_from(HERE, "vendor_answer")
        exports.submodule("vendorkit", "vendor_s3dlio_kit")
        exports.submodule("compat.vendorkit", "vendor_s3dlio_kit")
        for key, target in extra.items():
            exports.names_from(target, key)

    return module_plugin(name, s3dlio_register_exports=s3dlio_register_exports)


@pytest.fixture
def host_with(vendor_module: types.ModuleType) -> Iterator[Any]:
    previous = rt.install(None)

    def install(*plugins: tuple[str, object], **kwargs: Any) -> Any:
        host = make_host(*plugins, **kwargs)
        rt.install(rt.Runtime(host))
        return host

    try:
        yield install
    finally:
        rt.install(previous)


def test_a_plugin_serves_a_name_and_submodules(host_with: Any, vendor_module: types.ModuleType) -> None:
    host = host_with(("vendor", exporter()))
    assert s3dlio.vendor_answer() == 42
    assert "vendor_answer" in vars(s3dlio)  # cached: later lookups skip __getattr__
    assert importlib.import_module("s3dlio.vendorkit") is vendor_module
    assert s3dlio.vendorkit is vendor_module
    assert importlib.import_module("s3dlio.compat.vendorkit").VALUE == "served"
    assert sys.modules["s3dlio.compat"].__path__ == []
    spec = host.exports.get("vendor_answer")
    assert spec.plugin == "vendor" and not spec.is_module and host.exports.get("vendorkit").is_module


def test_exports_need_only_loaded_plugins(host_with: Any) -> None:
    """Resolving a name loads the plugins but does not compose them (no settings read)."""
    previous = rt.install(None)
    try:
        host = make_host(("vendor", exporter()))
        host.load()
        rt._host = host
        assert s3dlio.vendor_answer() == 42
        assert host._loaded and not host._composed
    finally:
        rt.install(previous)


def test_a_name_claimed_twice_needs_a_choice(host_with: Any) -> None:
    host_with(("va", exporter("va")), ("vb", exporter("vb")))
    with pytest.raises(AmbiguousBackendError, match="vendor_answer"):
        s3dlio.vendor_answer  # noqa: B018
    host = host_with(("va", exporter("va")), ("vb", exporter("vb")),
                     explicit={"plugins": {"prefer": {"vendor_answer": "vb"}}})
    assert host.exports.get("vendor_answer").plugin == "vb"


def test_a_missing_dependency_of_the_target_names_the_extra(host_with: Any, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "vendor_needs_dep.py").write_text("import vendor_dep_not_installed\nthing = 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))

    def s3dlio_register_exports(exports: Any) -> None:
        exports.names_from("vendor_needs_dep", "thing", install_hint="pip install 'vendor-s3dlio[dep]'")
        exports.names_from("vendor_absent_module", "other")

    host_with(("vendor", module_plugin("vendor", s3dlio_register_exports=s3dlio_register_exports)))
    needs = r"needs 'vendor_dep_not_installed'.*vendor-s3dlio\[dep\]"
    with pytest.raises(FeatureNotInstalledError, match=needs):
        s3dlio.thing  # noqa: B018
    with pytest.raises(ModuleNotFoundError) as info:  # the plugin's own module missing: a plain error
        s3dlio.other  # noqa: B018
    assert not isinstance(info.value, FeatureNotInstalledError)


def test_first_party_names_without_their_plugin_say_what_to_install(
        host_with: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    host_with()  # no plugin at all
    for name in ("generate_data", "configure_s3", "torch"):  # resolved earlier in this process
        monkeypatch.delitem(vars(s3dlio), name, raising=False)
    monkeypatch.delitem(sys.modules, "s3dlio.torch", raising=False)
    with pytest.raises(FeatureNotInstalledError, match="pip install s3dlio-datagen"):
        s3dlio.generate_data  # noqa: B018
    with pytest.raises(FeatureNotInstalledError, match="pip install s3dlio-s3"):
        s3dlio.configure_s3  # noqa: B018
    with pytest.raises(FeatureNotInstalledError, match=r"pip install 's3dlio-loaders\[torch\]'"):
        importlib.import_module("s3dlio.torch")
    with pytest.raises(AttributeError):
        s3dlio.not_a_name_anyone_serves  # noqa: B018
    with pytest.raises(ModuleNotFoundError):
        importlib.import_module("s3dlio.not_a_module_anyone_serves")


def test_private_names_never_load_plugins() -> None:
    previous = rt.install(None)
    try:
        with pytest.raises(AttributeError):
            s3dlio._private_probe  # noqa: B018
        assert rt._host is None
    finally:
        rt.install(previous)
