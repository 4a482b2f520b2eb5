"""PluginHost: a tiny in-test plugin for each hook kind, isolation, conflicts, switches."""

from __future__ import annotations

import sys
import types
import uuid
from collections.abc import Iterator
from typing import Any, ClassVar

import attrs
import pytest
import s3dlio_toystore
from s3dlio_toystore import MemoryStore, make_host

import s3dlio
from s3dlio.cli.registry import CommandRegistry, CommandSpec
from s3dlio.config import ConfigWarning, setting
from s3dlio.errors import (
    AmbiguousBackendError,
    BackendNotFoundError,
    InvalidPathError,
    PluginError,
    PluginLoadError,
)
from s3dlio.plugin import runtime as rt
from s3dlio.plugin.hookspecs import hookspec
from s3dlio.plugin.host import EntryPointInfo, module_plugin
from s3dlio.plugin.registry import BackendSpec, LazySpec, MiddlewareSpec, NamedRegistry
from s3dlio.store.middleware import StoreWrapper

HERE = __name__


@pytest.fixture
def installed() -> Iterator[Any]:
    """``install(host)``: make a runtime from ``host`` the process runtime for this test."""
    previous = rt.install(None)
    s3dlio_toystore.clear()

    def install(host: Any) -> rt.Runtime:
        runtime = rt.Runtime(host)
        rt.install(runtime)
        return runtime

    try:
        yield install
    finally:
        rt.install(previous)
        s3dlio_toystore.clear()


def backend_plugin(name: str, factory: str = "s3dlio_toystore:MemoryStore",
                   schemes: tuple[str, ...] = ("mem",)) -> types.ModuleType:
    def s3dlio_register_backends(registry: Any) -> None:
        registry.register(BackendSpec(name=name, schemes=schemes, factory=factory))

    return module_plugin(name, s3dlio_register_backends=s3dlio_register_backends)


def chain(store: Any) -> list[type]:
    """Types from the outermost wrapper to the backend store."""
    out = [type(store)]
    while isinstance(store, StoreWrapper):
        store = store.inner
        out.append(type(store))
    return out


def backend_of(store: Any) -> Any:
    while isinstance(store, StoreWrapper):
        store = store.inner
    return store


def report_of(host: Any, name: str) -> Any:
    matches = [r for r in host.reports if r.name == name]
    assert matches, f"no report for {name}: {[r.name for r in host.reports]}"
    return matches[-1]


def fake_module(monkeypatch: pytest.MonkeyPatch, module: types.ModuleType) -> str:
    """Make ``module`` importable by its name (entry points load modules by name)."""
    monkeypatch.setitem(sys.modules, module.__name__, module)
    return module.__name__


# ------------------------------------------------------------------------- add_config


@attrs.define
class ToySettings:
    level: int = setting(1, env="S3DLIO_TOY_LEVEL", minimum=0, maximum=9)
    password: str = setting("", env="S3DLIO_TOY_PASSWORD", secret=True)


def test_add_config_declares_a_section() -> None:
    def s3dlio_add_config(schema: Any) -> None:
        schema.add_section("toy", ToySettings)

    plugin = module_plugin("toycfg", s3dlio_add_config=s3dlio_add_config)
    host = make_host(("toycfg", plugin), environ={"S3DLIO_TOY_LEVEL": "7"}).compose()
    assert host.settings.section("toy").level == 7
    assert host.settings.source_of("toy", "level") == "env:S3DLIO_TOY_LEVEL"
    assert host.schema.sections["toy"].plugin == "toycfg"
    # its variables are known: no "unknown variable" warning; a misspelling warns
    with pytest.warns(ConfigWarning, match="did you mean S3DLIO_TOY_LEVEL"):
        make_host(("toycfg", plugin), environ={"S3DLIO_TOY_LEVL": "3"}).compose()
    from s3dlio.errors import ConfigError

    with pytest.raises(ConfigError, match="S3DLIO_TOY_LEVEL"):
        make_host(("toycfg", plugin), environ={"S3DLIO_TOY_LEVEL": "12"}).compose()


# -------------------------------------------------------------------- register_backends


def test_backend_plugin_serves_the_public_api(installed: Any) -> None:
    installed(make_host(("toystore", s3dlio_toystore)))
    s3dlio.put_bytes("mem://bkt/dir/a", b"alpha")
    s3dlio.put_many([("mem://bkt/dir/b", b"beta"), ("mem://bkt/c", b"gamma")])
    assert s3dlio.get("mem://bkt/dir/a") == b"alpha"
    assert s3dlio.list("mem://bkt/") == ["mem://bkt/c", "mem://bkt/dir/"]
    assert s3dlio.list("mem://bkt/", recursive=True) == [
        "mem://bkt/c", "mem://bkt/dir/a", "mem://bkt/dir/b"
    ]
    assert ("put", "dir/a") in s3dlio_toystore.CALLS
    store, key = rt.resolve("mem://bkt/dir/a")
    assert isinstance(backend_of(store), MemoryStore) and key == "dir/a"
    assert rt.resolve("mem://bkt/other")[0] is store  # one cached store per root
    spec = rt.runtime().host.backends.spec_for("mem")
    assert spec.plugin == "toystore" and spec.name == "memory"
    assert s3dlio.object_capabilities("mem://bkt/x")["provider"] == "memory"


def test_backend_module_is_imported_lazily(installed: Any, tmp_path: Any,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    mod = f"lazy_backend_{uuid.uuid4().hex[:8]}"
    (tmp_path / f"{mod}.py").write_text(
        "from s3dlio_toystore import MemoryStore\n"
        "class LazyStore(MemoryStore):\n    schemes = ('lazy',)\n"
        "    @classmethod\n    def split_uri(cls, uri):\n"
        "        return MemoryStore.split_uri('mem' + uri[4:])[0].replace('mem', 'lazy', 1), "
        "uri.split('/', 3)[3]\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    installed(make_host(("lazyplug", backend_plugin("lazyplug", f"{mod}:LazyStore", ("lazy",)))))
    assert rt.runtime().host.backends.schemes() == ["lazy", "memory"]  # memory:// is core's
    assert mod not in sys.modules  # registering imported nothing
    s3dlio.put_bytes("lazy://b/k", b"v")
    assert mod in sys.modules
    assert s3dlio.get("lazy://b/k") == b"v"
    assert type(backend_of(rt.resolve("lazy://b/k")[0])).__name__ == "LazyStore"


def test_backend_factory_that_fails_to_import(installed: Any) -> None:
    def s3dlio_register_backends(registry: Any) -> None:
        registry.register(BackendSpec(name="broken", schemes=("brk",),
                                      factory="no_such_sdk_module_xyz:Store",
                                      install_hint="pip install s3dlio-broken[sdk]"))

    installed(make_host(("brk", module_plugin("brk", s3dlio_register_backends=s3dlio_register_backends))))
    with pytest.raises(BackendNotFoundError, match=r"pip install s3dlio-broken\[sdk\]") as info:
        s3dlio.get("brk://b/k")
    assert isinstance(info.value.__cause__, PluginLoadError)


# ------------------------------------------------- hooks declared by feature plugins


class ToyHookspecs:
    """What a feature plugin's own ``hookspecs`` module holds."""

    @hookspec
    def s3dlio_register_toys(self, registry: Any) -> None:
        """A registry only the declaring plugin reads."""


def _declaring_plugin() -> types.ModuleType:
    def s3dlio_addhooks(pluginmanager: Any) -> None:
        pluginmanager.add_hookspecs(ToyHookspecs)

    return module_plugin("toyfeature", s3dlio_addhooks=s3dlio_addhooks)


def _toy_implementer(plugin_name: str, name: str = "toygen") -> types.ModuleType:
    def s3dlio_register_toys(registry: Any) -> None:
        registry.register(LazySpec(name=name, factory=f"{HERE}:ToyFormat"))

    return module_plugin(plugin_name, s3dlio_register_toys=s3dlio_register_toys)


def test_a_plugin_declares_its_own_hook_and_collects_it() -> None:
    # The implementer registers before the declaring plugin: s3dlio_addhooks is historic.
    host = make_host(("vendor", _toy_implementer("vendor")), ("toyfeature", _declaring_plugin())).load()
    assert report_of(host, "vendor").error == ""
    registry = host.collect("s3dlio_register_toys", NamedRegistry("toy"))
    got = registry.get("toygen")
    assert got.plugin == "vendor" and got.load() is ToyFormat
    assert host.collect("s3dlio_register_toys", NamedRegistry("toy")) is registry  # once per host
    with pytest.raises(KeyError, match="no toy named 'absent'"):
        registry.get("absent")


def test_a_hook_nobody_declares_is_unknown() -> None:
    host = make_host(("vendor", _toy_implementer("vendor"))).load()
    assert "unknown hook" in report_of(host, "vendor").error
    with pytest.raises(PluginError, match="no hook named"):
        host.collect("s3dlio_register_toys", NamedRegistry("toy"))


class ToyFormat:
    pass


def test_named_registry_conflict_needs_a_choice() -> None:
    plugins = (("toyfeature", _declaring_plugin()), ("fa", _toy_implementer("fa", "npz")),
               ("fb", _toy_implementer("fb", "npz")))
    registry = make_host(*plugins).load().collect("s3dlio_register_toys", NamedRegistry("toy"))
    assert {k: sorted(v) for k, v in registry.conflicts().items()} == {"npz": ["fa", "fb"]}
    with pytest.raises(AmbiguousBackendError, match="npz"):
        registry.get("npz")
    chosen = make_host(*plugins, explicit={"plugins": {"prefer": {"npz": "fb"}}}).load()
    assert chosen.collect("s3dlio_register_toys", NamedRegistry("toy")).get("npz").plugin == "fb"


# ------------------------------------------------------------------------- middleware


class Counting(StoreWrapper):
    calls: ClassVar[dict[str, int]] = {}
    order: ClassVar[list[str]] = []

    def get(self, key: str) -> Any:
        Counting.calls["get"] = Counting.calls.get("get", 0) + 1
        return super().get(key)

    def put(self, key: str, data: memoryview) -> None:
        Counting.calls["put"] = Counting.calls.get("put", 0) + 1
        super().put(key, data)


class Tagging(StoreWrapper):
    def get(self, key: str) -> Any:
        Counting.order.append("tagging")
        return super().get(key)


def counting(store: Any, settings: Any) -> Any:
    return Counting(store)


def tagging(store: Any, settings: Any) -> Any:
    return Tagging(store)


def middleware_plugin() -> types.ModuleType:
    def s3dlio_register_middleware(registry: Any) -> None:
        registry.register(MiddlewareSpec(name="counting", factory=f"{HERE}:counting", order=10))
        registry.register(MiddlewareSpec(name="tagging", factory=f"{HERE}:tagging", order=20))
        registry.register(MiddlewareSpec(name="off", factory=f"{HERE}:tagging",
                                         enabled_by_default=False))

    return module_plugin("mw", s3dlio_register_middleware=s3dlio_register_middleware)


def test_middleware_wraps_every_store(installed: Any) -> None:
    Counting.calls.clear()
    installed(make_host(("toystore", s3dlio_toystore), ("mw", middleware_plugin())))
    s3dlio.put_bytes("mem://mw/a", b"1")
    s3dlio.put_bytes("mem://mw/b", b"2")
    assert s3dlio.get("mem://mw/a") == b"1"
    assert s3dlio.get_many(["mem://mw/a", "mem://mw/b"])[1][1] == b"2"
    assert Counting.calls == {"put": 2, "get": 3}
    store, _ = rt.resolve("mem://mw/a")
    # lower order sits closest to the backend: Tagging(Counting(... MemoryStore))
    types_ = chain(store)
    assert types_[0] is Tagging and types_[1] is Counting and types_[-1] is MemoryStore
    assert store.uri("k") == "mem://mw/k" and store.backend == "memory"


def test_middleware_order_from_config(installed: Any) -> None:
    installed(make_host(("toystore", s3dlio_toystore), ("mw", middleware_plugin()),
                        explicit={"core": {"middleware": ["tagging", "off", "counting"]}}))
    store, _ = rt.resolve("mem://mw/a")
    # exactly the configured list, innermost first; other default middleware is not applied
    assert chain(store) == [Counting, Tagging, Tagging, MemoryStore]


def test_core_concurrency_limit_middleware(installed: Any) -> None:
    from s3dlio.store.middleware import ConcurrencyLimit

    installed(make_host(("toystore", s3dlio_toystore)))
    assert ConcurrencyLimit not in chain(rt.resolve("mem://x/a")[0])  # off by default
    rt.install(None)
    installed(make_host(("toystore", s3dlio_toystore),
                        environ={"S3DLIO_MAX_REQUESTS_PER_STORE": "2"}))
    store, _ = rt.resolve("mem://x/a")
    assert ConcurrencyLimit in chain(store)
    limiter = store
    while type(limiter) is not ConcurrencyLimit:
        limiter = limiter.inner
    assert limiter.limit == 2
    s3dlio.put_bytes("mem://x/a", b"ok")
    assert s3dlio.get("mem://x/a") == b"ok"


# --------------------------------------------------------------------------- commands


class ToyCommand:
    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--n", type=int, default=1)

    def run(self, args: Any, ctx: Any) -> int:
        return 0 if args.n == 1 else 3


def test_register_commands() -> None:
    def s3dlio_register_commands(cli: Any) -> None:
        cli.register(CommandSpec("toycmd", f"{HERE}:ToyCommand", "a toy", aliases=("tc",)))

    host = make_host(("cmds", module_plugin("cmds", s3dlio_register_commands=s3dlio_register_commands)))
    host.compose()
    cli = CommandRegistry()
    host.build_commands(cli)
    assert "toycmd" in cli and "tc" in cli
    spec = cli.get("tc")
    assert spec.name == "toycmd" and spec.plugin == "cmds"
    import argparse

    parser = argparse.ArgumentParser()
    command = spec.load()
    command.add_arguments(parser)
    assert command.run(parser.parse_args([]), None) == 0
    assert command.run(parser.parse_args(["--n", "2"]), None) == 3
    assert "list" in cli and "ls" in cli  # core registers its commands through the same hook


def test_command_name_clash_is_reported() -> None:
    def s3dlio_register_commands(cli: Any) -> None:
        cli.register(CommandSpec("list", f"{HERE}:ToyCommand"))

    host = make_host(("clash", module_plugin("clash", s3dlio_register_commands=s3dlio_register_commands)))
    host.compose()
    cli = CommandRegistry()
    host.build_commands(cli)
    # one of the two claimants is reported failed, naming the command and both plugins
    failed = [r for r in (report_of(host, "clash"), report_of(host, "s3dlio")) if r.status == "failed"]
    assert len(failed) == 1
    assert "'list'" in failed[0].error and "clash" in failed[0].error and "s3dlio" in failed[0].error
    assert cli.get("list").plugin in ("clash", "s3dlio")


# ------------------------------------------------------------------------ resolve_url


def test_resolve_url_rewrites_unregistered_schemes(installed: Any) -> None:
    seen: list[str] = []

    def s3dlio_resolve_url(url: str, settings: Any) -> str | None:
        seen.append(url)
        if url == "toyhttp://acct.example/":
            return "mem://rewritten/"
        return None

    installed(make_host(("toystore", s3dlio_toystore),
                        ("rw", module_plugin("rw", s3dlio_resolve_url=s3dlio_resolve_url))))
    s3dlio.put_bytes("toyhttp://acct.example/dir/k", b"via rewrite")
    assert s3dlio.get("mem://rewritten/dir/k") == b"via rewrite"
    assert s3dlio.get("toyhttp://acct.example/dir/k") == b"via rewrite"
    assert seen == ["toyhttp://acct.example/"]  # asked once per scheme and host
    with pytest.raises(BackendNotFoundError, match="Unsupported URI scheme 'toyhttp://'"):
        s3dlio.get("toyhttp://other.example/k")


# --------------------------------------------------------------- configure/unconfigure


def test_configure_and_unconfigure_are_called(installed: Any) -> None:
    events: list[tuple[str, Any]] = []
    plugin = module_plugin(
        "life",
        s3dlio_configure=lambda settings: events.append(("configure", settings)),
        s3dlio_unconfigure=lambda settings: events.append(("unconfigure", settings)),
    )
    host = make_host(("life", plugin))
    runtime = installed(host)
    assert [e for e, _ in events] == ["configure"]
    assert events[0][1] is runtime.settings
    rt.reset()  # dropping the runtime unconfigures its plugins
    assert [e for e, _ in events] == ["configure", "unconfigure"]
    host.unconfigure()  # idempotent
    assert len(events) == 2


# ------------------------------------------------------------------- isolation, strict


def good_entry(monkeypatch: pytest.MonkeyPatch, name: str = "goodplug") -> EntryPointInfo:
    fake_module(monkeypatch, backend_plugin(name))
    return EntryPointInfo(name=name, value=name, distribution=f"dist-{name}", version="1.0")


def test_failing_plugin_import_is_reported_not_fatal(monkeypatch: pytest.MonkeyPatch) -> None:
    eps = [EntryPointInfo(name="broken", value="no_such_plugin_module_xyz", distribution="dist-broken"),
           good_entry(monkeypatch)]
    host = make_host(entry_points=eps).compose()
    broken = report_of(host, "broken")
    assert broken.status == "failed" and "ModuleNotFoundError" in broken.error
    assert broken.distribution == "dist-broken"
    assert report_of(host, "goodplug").status == "loaded"
    assert host.backends.schemes() == ["mem", "memory"]
    assert report_of(host, "s3dlio").status == "builtin"
    assert broken.to_dict()["status"] == "failed"


def test_strict_mode_raises_plugin_load_error(monkeypatch: pytest.MonkeyPatch) -> None:
    eps = [EntryPointInfo(name="broken", value="no_such_plugin_module_xyz"), good_entry(monkeypatch)]
    with pytest.raises(PluginLoadError, match="broken"):
        make_host(entry_points=eps, environ={"S3DLIO_STRICT_PLUGINS": "1"}).compose()


def test_plugin_whose_hook_raises_is_isolated() -> None:
    def s3dlio_register_backends(registry: Any) -> None:
        raise RuntimeError("hook exploded")

    bad = module_plugin("badhook", s3dlio_register_backends=s3dlio_register_backends)
    host = make_host(("badhook", bad), ("toystore", s3dlio_toystore)).compose()
    assert report_of(host, "badhook").status == "failed"
    assert "hook exploded" in report_of(host, "badhook").error
    assert host.backends.schemes() == ["mem", "memory"]
    with pytest.raises(PluginLoadError, match="badhook"):
        make_host(("badhook", bad), environ={"S3DLIO_STRICT_PLUGINS": "true"}).compose()


def test_misspelled_hook_is_caught() -> None:
    typo = module_plugin("typo", s3dlio_register_backend=lambda registry: None)
    host = make_host(("typo", typo))
    host.compose()  # not strict: reported
    assert "unknown hook" in report_of(host, "typo").error
    assert "s3dlio_register_backend" in report_of(host, "typo").error
    with pytest.raises(PluginError, match="s3dlio_register_backend"):
        host.check_pending(strict=True)
    with pytest.raises(PluginError, match="unknown hook"):
        make_host(("typo", typo), environ={"S3DLIO_STRICT_PLUGINS": "1"}).compose()


def test_hookimpl_with_unknown_argument_is_rejected() -> None:
    import pluggy

    def s3dlio_register_backends(registry: Any, nonsense: Any) -> None:
        pass

    bad = module_plugin("badargs", s3dlio_register_backends=s3dlio_register_backends)
    with pytest.raises(pluggy.PluginValidationError):
        make_host(("badargs", bad)).compose()


# ------------------------------------------------------------------------ conflicts


def test_duplicate_entry_point_names_conflict_unless_preferred(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_module(monkeypatch, backend_plugin("dup_impl_a"))
    fake_module(monkeypatch, backend_plugin("dup_impl_b", schemes=("memb",)))
    eps = [EntryPointInfo(name="dup", value="dup_impl_a", distribution="dist-a"),
           EntryPointInfo(name="dup", value="dup_impl_b", distribution="dist-b")]
    host = make_host(entry_points=eps).compose()
    dups = [r for r in host.reports if r.name == "dup"]
    assert [r.status for r in dups] == ["conflict", "conflict"]
    assert "dist-a" in dups[0].error and "dist-b" in dups[0].error and "prefer" in dups[0].error
    assert host.backends.schemes() == ["memory"]  # neither wins by load order
    with pytest.raises(PluginError, match="several distributions"):
        make_host(entry_points=eps, environ={"S3DLIO_STRICT_PLUGINS": "1"}).compose()
    chosen = make_host(entry_points=eps, explicit={"plugins": {"prefer": {"dup": "dist-b"}}}).compose()
    assert chosen.backends.schemes() == ["memb", "memory"]
    statuses = {r.distribution: r.status for r in chosen.reports if r.name == "dup"}
    assert statuses == {"dist-a": "disabled", "dist-b": "loaded"}


def test_prefer_from_config_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    fake_module(monkeypatch, backend_plugin("dup_impl_a"))
    fake_module(monkeypatch, backend_plugin("dup_impl_b", schemes=("memb",)))
    eps = [EntryPointInfo(name="dup", value="dup_impl_a", distribution="dist-a"),
           EntryPointInfo(name="dup", value="dup_impl_b", distribution="dist-b")]
    cfg = tmp_path / "s3dlio.toml"
    cfg.write_text('[plugins.prefer]\ndup = "dist-a"\n')
    host = make_host(entry_points=eps, config_file=str(cfg)).compose()
    assert host.backends.schemes() == ["mem", "memory"]


class OtherMemoryStore(MemoryStore):
    pass


def test_two_plugins_claiming_one_scheme(installed: Any) -> None:
    a = backend_plugin("claim_a")
    b = backend_plugin("claim_b", factory=f"{HERE}:OtherMemoryStore")
    installed(make_host(("claim_a", a), ("claim_b", b)))
    assert sorted(rt.runtime().host.backends.conflicts()["mem"]) == ["claim_a", "claim_b"]
    with pytest.raises(AmbiguousBackendError, match=r"claim_a.*claim_b|claim_b.*claim_a") as info:
        s3dlio.get("mem://b/k")
    assert "prefer" in str(info.value) or "s3dlio.toml" in str(info.value)
    rt.install(None)
    installed(make_host(("claim_a", a), ("claim_b", b),
                        explicit={"plugins": {"prefer": {"mem": "claim_b"}}}))
    assert type(backend_of(rt.resolve("mem://b/k")[0])) is OtherMemoryStore
    with pytest.raises(PluginError, match="several plugins"):
        make_host(("claim_a", a), ("claim_b", b), environ={"S3DLIO_STRICT_PLUGINS": "1"}).compose()


# ---------------------------------------------------------------------------- switches


def test_disable_autoload_loads_only_named_plugins(monkeypatch: pytest.MonkeyPatch) -> None:
    eps = [good_entry(monkeypatch, "plug_one"), good_entry(monkeypatch, "plug_two")]
    host = make_host(entry_points=eps, environ={"S3DLIO_DISABLE_PLUGIN_AUTOLOAD": "1"}).compose()
    assert {r.name: r.status for r in host.reports if r.name.startswith("plug_")} == {
        "plug_one": "disabled", "plug_two": "disabled"}
    assert host.backends.schemes() == ["memory"]
    host = make_host(entry_points=eps, environ={"S3DLIO_DISABLE_PLUGIN_AUTOLOAD": "1",
                                                "S3DLIO_PLUGINS": "plug_two"}).compose()
    assert report_of(host, "plug_two").status == "loaded"
    assert report_of(host, "plug_one").status == "disabled"


def test_plugins_variable_loads_module_names(monkeypatch: pytest.MonkeyPatch) -> None:
    name = fake_module(monkeypatch, backend_plugin(f"modplug_{uuid.uuid4().hex[:6]}"))
    host = make_host(environ={"S3DLIO_PLUGINS": f"{name}, "}).compose()
    assert report_of(host, name).status == "loaded"
    assert host.backends.spec_for("mem").plugin == name


def test_disabled_plugins_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    eps = [good_entry(monkeypatch, "plug_one"), good_entry(monkeypatch, "plug_two")]
    host = make_host(entry_points=eps, environ={"S3DLIO_DISABLED_PLUGINS": "plug_one"}).compose()
    assert report_of(host, "plug_one").status == "disabled"
    assert report_of(host, "plug_two").status == "loaded"


def test_register_after_compose_is_refused() -> None:
    host = make_host().compose()
    with pytest.raises(PluginError):
        host.register(backend_plugin("late"), name="late")


# -------------------------------------------------------------- missing / unknown schemes


@pytest.mark.parametrize(("scheme", "dist"),
                         [("s3", "s3dlio-s3"), ("az", "s3dlio-azure"), ("gs", "s3dlio-gcs"),
                          ("direct", "s3dlio-direct"), ("file", "s3dlio-posix")])
def test_missing_known_backend_names_its_plugin(installed: Any, scheme: str, dist: str) -> None:
    installed(make_host())
    with pytest.raises(BackendNotFoundError) as info:
        s3dlio.get(f"{scheme}://bucket/key")
    text = str(info.value)
    assert f"pip install {dist}" in text
    assert "unsupported" not in text.lower() and "unknown" not in text.lower()
    assert isinstance(info.value, LookupError)


def test_unknown_scheme(installed: Any) -> None:
    installed(make_host(("toystore", s3dlio_toystore)))
    with pytest.raises(BackendNotFoundError, match=r"Unsupported URI scheme 'ftp://'") as info:
        s3dlio.get("ftp://host/file")
    assert "mem://" in str(info.value)  # lists what is available


def test_malformed_uris(installed: Any) -> None:
    import pathlib

    installed(make_host(("toystore", s3dlio_toystore)))
    for bad in ("relative/path", "/abs/path", "://nothing", ""):
        with pytest.raises(InvalidPathError):
            s3dlio.get(bad)
    with pytest.raises(TypeError, match="path object"):
        s3dlio.get(pathlib.Path("/tmp/x"))  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        s3dlio.get(42)  # type: ignore[arg-type]
    with pytest.raises(InvalidPathError):
        s3dlio.get("mem:///no-bucket")
