"""``s3-cli`` as a real process: ``python -m s3dlio`` and the console script."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.timeout(60)

pytest.importorskip("s3dlio_posix", reason="file:// backend (s3dlio-posix) not installed")


def _env() -> dict[str, str]:
    env = dict(os.environ)
    for name in list(env):
        if name.startswith(("S3DLIO_", "AWS_")):
            del env[name]
    return env


def run(*argv: str, cwd: Path, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    """``python -m s3dlio ARGV`` with stdout/stderr captured (pipes, so not a TTY)."""
    return subprocess.run([sys.executable, "-m", "s3dlio", *argv], cwd=cwd, env=_env(), input=stdin,
                          capture_output=True, timeout=50, check=False)


def test_module_version_and_help(tmp_path: Path) -> None:
    import s3dlio

    proc = run("--version", cwd=tmp_path)
    assert proc.returncode == 0 and s3dlio.__version__ in proc.stdout.decode()
    proc = run("--help", cwd=tmp_path)
    assert proc.returncode == 0 and b"exit codes" in proc.stdout


def test_console_script(tmp_path: Path) -> None:
    script = Path(sys.executable).with_name("s3-cli")
    if not script.exists():
        found = shutil.which("s3-cli")
        if found is None:
            pytest.skip("s3-cli console script not installed in this environment")
        script = Path(found)
    (tmp_path / "x").write_bytes(b"x")
    proc = subprocess.run([str(script), "ls", "file://" + str(tmp_path) + "/"], env=_env(),
                          capture_output=True, timeout=50, check=False)
    assert proc.returncode == 0
    assert proc.stdout.decode().split() == ["file://" + str(tmp_path / "x")]


def test_round_trip_json_and_no_progress_on_pipes(tmp_path: Path) -> None:
    src = tmp_path / "src"
    (src / "d").mkdir(parents=True)
    (src / "a.bin").write_bytes(b"a" * 1000)
    (src / "b.bin").write_bytes(b"b" * 10)
    dest = "file://" + str(tmp_path / "bucket") + "/p/"
    proc = run("upload", "--json", str(src / "*.bin"), dest, "-j", "2", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    lines = [json.loads(x) for x in proc.stdout.decode().splitlines()]
    assert {r["uri"] for r in lines[:-1]} == {str(src / "a.bin"), str(src / "b.bin")}
    assert lines[-1] == {"type": "summary", "command": "upload", "exit_code": 0, "ok": 2, "failed": 0,
                         "bytes": 1010, "skipped": 0}
    proc = run("download", "-r", dest, str(tmp_path / "out"), cwd=tmp_path)
    assert proc.returncode == 0
    assert b"\r" not in proc.stderr and b"DOWNLOAD summary: attempted=2, succeeded=2, failed=0" in proc.stderr
    assert (tmp_path / "out" / "a.bin").read_bytes() == b"a" * 1000


def test_exit_codes(tmp_path: Path) -> None:
    base = "file://" + str(tmp_path)
    assert run("stat", base + "/missing", cwd=tmp_path).returncode == 4
    assert run("get", "-j", "0", base + "/x", cwd=tmp_path).returncode == 2
    assert run("ls", "nosuchscheme://x/", cwd=tmp_path).returncode == 5
    proc = run("stat", base + "/missing", cwd=tmp_path)
    assert proc.stderr.startswith(b"s3-cli: error: ") and b"Traceback" not in proc.stderr


def test_batch_error_exit_3(tmp_path: Path) -> None:
    for name in ("a", "b"):
        (tmp_path / name).write_bytes(name.encode())
    (tmp_path / "dest" / "b").mkdir(parents=True)
    proc = run("upload", str(tmp_path / "a"), str(tmp_path / "b"), "file://" + str(tmp_path / "dest"),
               cwd=tmp_path)
    assert proc.returncode == 3
    err = proc.stderr.decode()
    assert "1 ok, 1 failed" in err and f"{tmp_path / 'b'}: " in err


def test_cp_stdin_and_stdout(tmp_path: Path) -> None:
    uri = "file://" + str(tmp_path / "obj.bin")
    assert run("cp", "-", uri, cwd=tmp_path, stdin=b"\x00binary\xff").returncode == 0
    proc = run("cp", uri, "-", cwd=tmp_path)
    assert proc.returncode == 0 and proc.stdout == b"\x00binary\xff"
    proc = run("get", uri, "-o", "-", cwd=tmp_path)
    assert proc.returncode == 0 and proc.stdout == b"\x00binary\xff"


def test_ls_broken_pipe_exits_0(tmp_path: Path) -> None:
    store = tmp_path / "many"
    store.mkdir()
    for i in range(3000):
        (store / f"object-with-a-rather-long-name-{i:05d}.dat").touch()
    proc = subprocess.Popen([sys.executable, "-m", "s3dlio", "ls", "file://" + str(store) + "/"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=_env(), cwd=tmp_path)
    assert proc.stdout is not None and proc.stderr is not None
    first = proc.stdout.readline()
    proc.stdout.close()  # like `| head -1`
    err = proc.stderr.read()
    assert proc.wait(timeout=50) == 0
    assert first.startswith(b"file://") and b"Traceback" not in err and b"Exception ignored" not in err


def test_library_warnings_print_as_cli_messages(tmp_path: Path) -> None:
    env = {**_env(), "S3DLIO_RANGE_THRESHOLD": "5"}  # misspelled: *_MB is the real name
    proc = subprocess.run([sys.executable, "-m", "s3dlio", "ls", tmp_path.as_uri() + "/"], cwd=tmp_path,
                          env=env, capture_output=True, timeout=50, check=False)
    err = proc.stderr.decode()
    assert proc.returncode == 0, err
    assert ("s3-cli: warning: unknown environment variable S3DLIO_RANGE_THRESHOLD; "
            "did you mean S3DLIO_RANGE_THRESHOLD_MB?") in err
    assert ".py:" not in err  # no Python source location
