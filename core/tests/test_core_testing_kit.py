"""``s3dlio.testing`` contract helpers: they pass good plugins and catch bad ones."""

from __future__ import annotations

import os
import sys
import textwrap
import uuid
from typing import Any

import pytest
import s3dlio_toystore

import s3dlio.testing as kit
from s3dlio.errors import NotFoundError
from s3dlio.plugin.host import module_plugin
from s3dlio.testing import (
    PluginContractChecks,
    assert_errors_translate,
    assert_hookimpls_valid,
    assert_plugin_is_lazy,
)


class TestToyStoreContracts(PluginContractChecks):
    """The shipped contract test class, applied to the toy backend plugin."""

    @pytest.fixture
    def plugin_module(self) -> Any:
        return s3dlio_toystore


def test_testing_package_is_lazy_and_complete() -> None:
    assert set(kit.__all__) <= set(dir(kit))
    with pytest.raises(AttributeError):
        kit.nothing_here  # noqa: B018


def test_hookimpls_valid_accepts_and_rejects() -> None:
    host = assert_hookimpls_valid(s3dlio_toystore)
    assert host.backends.spec_for("mem").plugin == "s3dlio_toystore"
    typo = module_plugin("typo_mod", s3dlio_register_backend=lambda registry: None)
    with pytest.raises(AssertionError, match="s3dlio_register_backend"):
        assert_hookimpls_valid(typo)

    def s3dlio_register_backends(registry: Any, bogus: Any) -> None:
        pass

    with pytest.raises(AssertionError, match="invalid hookimpl"):
        assert_hookimpls_valid(
            module_plugin("badargs_mod", s3dlio_register_backends=s3dlio_register_backends)
        )
    with pytest.raises(AssertionError, match="implements no s3dlio hook"):
        assert_hookimpls_valid(module_plugin("empty_mod"))

    def raising(registry: Any) -> None:
        raise RuntimeError("nope")

    with pytest.raises(AssertionError, match="nope"):
        assert_hookimpls_valid(module_plugin("raising_mod", s3dlio_register_backends=raising))


@pytest.fixture
def plugin_dir(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    tag = uuid.uuid4().hex[:8]
    heavy = f"fakeheavy_{tag}"
    (tmp_path / f"{heavy}.py").write_text("LOADED = True\n")
    plugin_src = """
        import s3dlio
        from s3dlio.plugin.registry import BackendSpec
        {top}

        @s3dlio.hookimpl
        def s3dlio_register_backends(registry):
            {inside}
            registry.register(BackendSpec(name="x{tag}", schemes=("x{tag}",), factory="{heavy}:Store"))
    """
    for name, top, inside in (
        (f"lazyok_{tag}", "", "pass"),
        (f"eagerimport_{tag}", f"import {heavy}", "pass"),
        (f"eagerhook_{tag}", "", f"import {heavy}"),
    ):
        (tmp_path / f"{name}.py").write_text(textwrap.dedent(
            plugin_src.format(top=top, inside=inside, tag=tag, heavy=heavy)))
    monkeypatch.syspath_prepend(str(tmp_path))
    return tag, heavy


def test_plugin_is_lazy_detects_eager_imports(plugin_dir: Any) -> None:
    tag, heavy = plugin_dir
    forbidden = (*kit.contracts.DEFAULT_FORBIDDEN, heavy)
    result = assert_plugin_is_lazy(f"lazyok_{tag}", forbidden)
    assert result["imported"] == []
    with pytest.raises(AssertionError, match=heavy):
        assert_plugin_is_lazy(f"eagerimport_{tag}", forbidden)
    with pytest.raises(AssertionError, match=heavy):  # importing in a hook is just as bad
        assert_plugin_is_lazy(f"eagerhook_{tag}", forbidden)
    with pytest.raises(AssertionError, match="failed"):
        assert_plugin_is_lazy(f"does_not_exist_{tag}", forbidden)


def test_plugin_is_lazy_for_an_entry_point_plugin() -> None:
    posix = pytest.importorskip("s3dlio_posix")
    result = assert_plugin_is_lazy("s3dlio_posix.plugin")
    assert result["registered_by_entry_point"] is True
    assert posix is not None


def test_errors_translate_helper(memory_root: str) -> None:
    import s3dlio

    err = assert_errors_translate(lambda: s3dlio.get(memory_root + "missing"), NotFoundError,
                                  uri="missing", op="get", builtin=FileNotFoundError)
    assert isinstance(err, NotFoundError)

    def raw() -> None:
        raise FileNotFoundError(2, "raw os error")

    with pytest.raises(AssertionError, match="expected an s3dlio error"):
        assert_errors_translate(raw, NotFoundError)
    with pytest.raises(AssertionError, match="expected PermissionDeniedError"):
        assert_errors_translate(lambda: s3dlio.get(memory_root + "missing"), s3dlio.PermissionDeniedError)
    with pytest.raises(AssertionError):
        assert_errors_translate(lambda: s3dlio.get(memory_root + "missing"), NotFoundError, op="put")
    with pytest.raises(pytest.fail.Exception):
        assert_errors_translate(lambda: None)


def test_spawn_helper_is_importable_without_pytest() -> None:
    import subprocess

    code = ("import sys; sys.modules['pytest'] = None\n"
            "import s3dlio.testing._spawn_helpers as h; print(h.write_and_read.__name__)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**os.environ})
    assert out.stdout.strip() == "write_and_read"
