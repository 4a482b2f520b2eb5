"""``s3-cli doctor`` on file:// and memory://: plugins, configuration, a URI, ``--write``, exit codes.

The s3:// checks (credentials, endpoint, clock skew) run against moto in
plugins/s3/tests/test_s3_doctor.py.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import pytest

if TYPE_CHECKING:
    from conftest import Run

import s3dlio
from s3dlio.store.memory import MemoryStore

pytestmark = [
    pytest.mark.timeout(60),
    pytest.mark.skipif(importlib.util.find_spec("s3dlio_posix") is None,
                       reason="file:// backend (s3dlio-posix) not installed"),
]





def _setenv(monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> None:
    """Set a variable and drop the runtime composed without it."""
    from s3dlio.plugin.runtime import reset

    monkeypatch.setenv(name, value)
    reset()


def _checks(out: str) -> list[dict[str, Any]]:
    return [r for r in map(json.loads, out.splitlines()) if r["type"] == "check"]


def _find(checks: list[dict[str, Any]], name: str, section: str | None = None) -> dict[str, Any]:
    return next(c for c in checks if c["name"] == name and (section is None or c["section"] == section))


def test_doctor_without_uri_reports_plugins_and_configuration(cli: Run) -> None:
    code, out, err = cli("doctor")
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "plugins" and "configuration" in lines
    assert any(line.split()[:3] == ["ok", "s3dlio", "s3dlio-core"] for line in lines)
    assert any(line.split()[:2] == ["ok", "posix"] for line in lines)
    assert err.startswith("doctor: ") and " 0 failed" in err
    code, out, _ = cli("--json", "doctor")
    records = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and records[-1]["type"] == "summary" and records[-1]["failed"] == 0
    plugin = _find(_checks(out), "posix", "plugins")
    assert plugin["status"] == "ok" and plugin["status_of"] == "loaded"


def test_doctor_lists_settings_set_outside_the_defaults(cli: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    _setenv(monkeypatch, "S3DLIO_RANGE_THRESHOLD_MB", "48")
    code, out, _ = cli("doctor")
    assert code == 0 and "core.range_threshold_mb = 48 (env:S3DLIO_RANGE_THRESHOLD_MB)" in out


def test_doctor_flags_unknown_variables_once_with_the_closest_name(
        cli: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    _setenv(monkeypatch, "S3DLIO_RANGE_TRESHOLD_MB", "48")
    code, out, err = cli("doctor")
    assert code == 0  # a warning, not a failure
    assert out.count("S3DLIO_RANGE_TRESHOLD_MB") == 1
    assert "did you mean S3DLIO_RANGE_THRESHOLD_MB?" in out and "fix: rename or unset it" in out
    assert "warning" not in err.replace("1 warning", "")  # reported as a check, not also warned
    check = _find(_checks(cli("--json", "doctor")[1]), "environment")
    assert check["status"] == "warn" and "S3DLIO_RANGE_TRESHOLD_MB" in check["detail"]


def test_doctor_reports_a_bad_setting_and_exits_5(cli: Run, monkeypatch: pytest.MonkeyPatch,
                                                   tmp_path: Path) -> None:
    _setenv(monkeypatch, "S3DLIO_DIRECT_ALIGNMENT", "abc")  # a plugin's setting: plugins load first
    code, out, _ = cli("doctor", f"file://{tmp_path}/")
    assert code == 5
    settings = _find(_checks(cli("--json", "doctor")[1]), "settings")
    assert settings["status"] == "fail" and "S3DLIO_DIRECT_ALIGNMENT='abc'" in settings["detail"]
    assert "s3-cli config show --all" in settings["fix"]
    assert "ok    posix" in out  # the plugins are still listed
    assert "the configuration failed to load" in out  # the URI is not checked blind
    # A core setting is read before any plugin loads: the plugins are then not listed.
    _setenv(monkeypatch, "S3DLIO_DIRECT_ALIGNMENT", "4096")
    _setenv(monkeypatch, "S3DLIO_RANGE_THRESHOLD_MB", "abc")
    code, out, _ = cli("doctor")
    assert code == 5 and "skip  load" in out and "FAIL  settings     S3DLIO_RANGE_THRESHOLD_MB='abc'" in out


def test_doctor_reports_a_plugin_that_failed_to_load(cli: Run) -> None:
    from s3dlio.plugin.host import EntryPointInfo, PluginHost
    from s3dlio.plugin.runtime import Runtime, install

    broken = EntryPointInfo(name="broken", value="s3dlio_no_such_module_xyz", distribution="broken-dist")
    previous = install(Runtime(PluginHost(entry_points=[broken])))
    try:
        code, out, _ = cli("doctor")
    finally:
        install(previous)
    assert code == 5
    assert "FAIL  broken" in out and "No module named 's3dlio_no_such_module_xyz'" in out
    assert "S3DLIO_DISABLED_PLUGINS=broken" in out


def test_doctor_runs_when_strict_plugins_stop_every_other_command(
        cli: Run, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    _setenv(monkeypatch, "S3DLIO_PLUGINS", "s3dlio_no_such_module_xyz")
    _setenv(monkeypatch, "S3DLIO_STRICT_PLUGINS", "1")
    assert cli("ls", f"file://{tmp_path}/")[0] == 5
    code, out, _ = cli("--json", "doctor")
    assert code == 5
    load = _find(_checks(out), "load", "plugins")
    assert load["status"] == "fail" and "s3dlio_no_such_module_xyz" in load["detail"]


def test_doctor_of_a_file_uri_checks_the_backend_and_reachability(cli: Run, tmp_path: Path) -> None:
    s3dlio.put_bytes(f"file://{tmp_path}/data/a.bin", b"a")
    code, out, _ = cli("--json", "doctor", f"file://{tmp_path}/data/")
    assert code == 0
    checks = [c for c in _checks(out) if c["section"] == f"file://{tmp_path}/data/"]
    by_name = {c["name"]: c for c in checks}
    assert by_name["backend"]["status"] == "ok" and by_name["backend"]["plugin"] == "posix"
    assert by_name["endpoint"]["detail"] == "file://" and by_name["endpoint"]["local"] is True
    assert by_name["reachable"]["status"] == "ok" and by_name["reachable"]["entries"] == 1
    assert by_name["clock"]["detail"] == "n/a (local storage)"
    assert by_name["credentials"]["detail"].startswith("n/a")
    code, out, _ = cli("doctor", f"file://{tmp_path}/data/a.bin")
    assert code == 0 and "stat: an object of 1 bytes" in out


def test_doctor_write_round_trip_reports_each_step_and_leaves_nothing(cli: Run, tmp_path: Path) -> None:
    (tmp_path / "kept").mkdir()
    for directory in ("kept", "new/deeper"):
        code, out, _ = cli("--json", "doctor", f"file://{tmp_path}/{directory}/", "--write")
        assert code == 0
        steps = {c["name"]: c for c in _checks(out) if c["section"].endswith("(--write)")}
        assert [steps[s]["status"] for s in ("put", "get", "delete")] == ["ok", "ok", "ok"]
        assert "content matches" in steps["get"]["detail"]
        assert steps["put"]["key"].startswith(f"file://{tmp_path}/{directory}/.s3dlio-doctor-")
    assert (tmp_path / "kept").is_dir() and not any((tmp_path / "kept").iterdir())
    assert not (tmp_path / "new").exists()  # the directories the put made are gone again


def test_doctor_write_that_fails_is_exit_1_with_a_fix(cli: Run, tmp_path: Path) -> None:
    (tmp_path / "plain-file").write_bytes(b"x")  # a directory below a file cannot be made, even by root
    code, out, _ = cli("doctor", f"file://{tmp_path}/plain-file/sub/", "--write")
    assert code == 1
    assert "FAIL  put" in out and "skip  get" in out and "skip  delete" in out and "fix: " in out


def test_doctor_of_an_unknown_or_missing_backend_is_exit_5(cli: Run, monkeypatch: pytest.MonkeyPatch,
                                                          tmp_path: Path) -> None:
    code, out, _ = cli("doctor", f"fiel://{tmp_path}/")
    assert code == 5 and "did you mean 'file://'?" in out and "FAIL  backend" in out
    _setenv(monkeypatch, "S3DLIO_DISABLED_PLUGINS", "posix")
    code, out, _ = cli("doctor", f"file://{tmp_path}/")
    assert code == 5 and "pip install s3dlio-posix" in out


def test_doctor_usage_errors(cli: Run, tmp_path: Path) -> None:
    code, _, err = cli("doctor", "--write")
    assert code == 2 and "--write needs a URI" in err
    code, _, err = cli("doctor", str(tmp_path))
    assert code == 2 and f"did you mean file://{tmp_path}?" in err


class _RemoteMemory(MemoryStore):
    """memory:// dressed as a TLS service whose store does not describe itself further."""

    backend: ClassVar[str] = "remote-memory"
    schemes: ClassVar[tuple[str, ...]] = ("rmem",)

    @classmethod
    def split_uri(cls, uri: str) -> tuple[str, str]:
        return MemoryStore.split_uri("memory://" + uri.removeprefix("rmem://"))

    @property
    def endpoint(self) -> str:
        return "https://127.0.0.1:9"


def test_doctor_says_unknown_where_a_network_backend_reports_no_clock_or_credentials(cli: Run) -> None:
    from s3dlio.plugin.host import PluginHost, module_plugin
    from s3dlio.plugin.registry import BackendSpec
    from s3dlio.plugin.runtime import Runtime, install

    def register(registry: Any) -> None:
        registry.register(BackendSpec(name="rmem", schemes=("rmem",), factory=f"{__name__}:_RemoteMemory"))

    host = PluginHost(extra_plugins=[("rmem", module_plugin("rmem", s3dlio_register_backends=register))])
    previous = install(Runtime(host))
    try:
        s3dlio.create_bucket("memory://doctor-remote/")
        code, out, _ = cli("doctor", "rmem://doctor-remote/")
    finally:
        install(previous)
    assert code == 0, out
    assert "clock        unknown (the backend does not report the server's time)" in out
    assert "credentials  unknown (the backend does not report it)" in out
    assert "tls          https, certificates verified against the system CA certificates" in out
