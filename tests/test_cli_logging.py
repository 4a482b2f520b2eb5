"""Logging of ``s3-cli`` and of file:// I/O as real processes (needs s3dlio-posix)."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from s3dlio.plugin import runtime as rt

pytestmark = pytest.mark.timeout(60)

pytest.importorskip("s3dlio_posix", reason="file:// backend (s3dlio-posix) not installed")

# A plugin that cannot be imported: composition reports it (non-strict) and logs a warning
# event, the one event a successful file:// command is sure to produce.
BROKEN = {"S3DLIO_PLUGINS": "s3dlio_no_such_plugin_mod"}


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("S3DLIO_", "AWS_"))}
    env.update(extra)
    return env


def cli(*argv: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "s3dlio", *argv], cwd=cwd, env=_env(**env),
                          capture_output=True, text=True, timeout=50, check=False)


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "a.bin").write_bytes(b"a")
    return tmp_path


def _json_lines(stderr: str) -> list[dict[str, object]]:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert lines, "expected log lines on stderr"
    return [json.loads(line) for line in lines]  # every stderr line is one JSON object


def test_log_format_json_with_v_prints_json_lines_on_stderr(tree: Path) -> None:
    url = f"file://{tree}/data/"
    proc = cli("--log-format", "json", "-v", "ls", url, cwd=tree, **BROKEN)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == [url + "a.bin"]  # data on stdout stays clean
    objs = _json_lines(proc.stderr)
    (failed,) = [o for o in objs if o["event"] == "plugin_load_failed"]
    assert failed["level"] == "warning" and failed["logger"] == "s3dlio.plugin.host"
    assert failed["plugin"] == "s3dlio_no_such_plugin_mod" and "timestamp" in failed
    assert "ModuleNotFoundError" in str(failed["error"])


def test_log_format_json_alone_logs_warnings_after_the_command(tree: Path) -> None:
    # The flag may follow the command, like every global flag.
    proc = cli("ls", f"file://{tree}/data/", "--log-format", "json", cwd=tree, **BROKEN)
    assert proc.returncode == 0, proc.stderr
    objs = _json_lines(proc.stderr)
    assert [o["event"] for o in objs] == ["plugin_load_failed"]
    assert all(o["level"] in ("warning", "error", "critical") for o in objs)


def test_v_renders_console_lines_and_s3dlio_log_format_selects_json(tree: Path) -> None:
    url = f"file://{tree}/data/"
    proc = cli("-v", "ls", url, cwd=tree, **BROKEN)
    assert proc.returncode == 0, proc.stderr
    (line,) = [ln for ln in proc.stderr.splitlines() if "plugin_load_failed" in ln]
    assert not line.startswith("{") and "[s3dlio.plugin.host]" in line and "warning" in line
    proc = cli("-v", "ls", url, cwd=tree, S3DLIO_LOG_FORMAT="json", **BROKEN)
    assert [o["event"] for o in _json_lines(proc.stderr)] == ["plugin_load_failed"]


def test_without_logging_flags_nothing_is_logged(tree: Path) -> None:
    proc = cli("ls", f"file://{tree}/data/", cwd=tree, **BROKEN)
    assert proc.returncode == 0 and proc.stderr == ""


def test_an_unknown_log_format_is_a_usage_error(tree: Path) -> None:
    proc = cli("--log-format", "xml", "ls", f"file://{tree}/data/", cwd=tree)
    assert proc.returncode == 2 and "--log-format" in proc.stderr


def test_file_io_with_logging_disabled_never_imports_structlog(tree: Path) -> None:
    code = (
        "import json, sys, s3dlio\n"
        f"root = 'file://{tree}/io/'\n"
        "s3dlio.put_bytes(root + 'a', b'x' * 100)\n"
        "s3dlio.put_many([(root + f'b{i}', b'y') for i in range(5)])\n"
        "assert s3dlio.get(root + 'a') == b'x' * 100\n"
        "s3dlio.get_many([root + f'b{i}' for i in range(5)])\n"
        "s3dlio.list(root); s3dlio.stat(root + 'a'); s3dlio.delete(root + 'a')\n"
        "try:\n"
        "    s3dlio.get(root + 'missing')\n"
        "except s3dlio.NotFoundError:\n"
        "    pass\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith('structlog'))))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], env=_env(), capture_output=True, text=True,
                          timeout=50, check=False)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout.splitlines()[-1]) == []


@pytest.fixture
def restore_logging() -> Iterator[logging.Logger]:
    from s3dlio.api import configure

    logger = logging.getLogger("s3dlio")
    level, handlers = logger.level, list(logger.handlers)
    state = configure._handler, configure._handler_format
    if configure._handler is not None:  # left by an earlier in-process `s3-cli -v`
        logger.removeHandler(configure._handler)
    configure._handler, configure._handler_format = None, None
    yield logger
    logger.setLevel(level)
    logger.handlers[:] = handlers
    configure._handler, configure._handler_format = state


def test_the_flags_are_exported_so_composition_agrees(
    tree: Path, restore_logging: logging.Logger, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from s3dlio.api import configure
    from s3dlio.cli.main import main

    monkeypatch.chdir(tree)
    monkeypatch.setenv("S3DLIO_LOG_LEVEL", "debug")
    monkeypatch.setenv("S3DLIO_LOG_FORMAT", "console")
    # The plugins compose at the first storage call, inside the command, and apply
    # S3DLIO_LOG_*: the flag's format must survive that; the setting's level stays (no -v).
    assert main(["--log-format", "json", "ls", f"file://{tree}/data/"]) == 0
    assert os.environ["S3DLIO_LOG_FORMAT"] == "json"
    assert configure._handler_format == "json" and restore_logging.level == logging.DEBUG
    rt.reset()
    assert main(["-v", "ls", f"file://{tree}/data/"]) == 0
    assert os.environ["S3DLIO_LOG_LEVEL"] == "info"
    assert restore_logging.level == logging.INFO  # -v wins over S3DLIO_LOG_LEVEL=debug
    capsys.readouterr()
