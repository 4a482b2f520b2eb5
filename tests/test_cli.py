"""``s3-cli`` run in-process: every core command, exit codes, ``--json``, progress bars."""

from __future__ import annotations

import importlib.util
import io
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from conftest import Run

import s3dlio
from s3dlio.cli.context import CliContext
from s3dlio.cli.main import exit_code_for, main
from s3dlio.errors import BatchError, ConfigError, NotFoundError, PluginError

pytestmark = pytest.mark.timeout(60)

needs_file = pytest.mark.skipif(
    importlib.util.find_spec("s3dlio_posix") is None, reason="file:// backend (s3dlio-posix) not installed"
)





@pytest.fixture
def data(tmp_path: Path) -> str:
    """A small tree on file://: a.txt, b.bin, sub/c.txt, sub/deep/d.txt; returns its URI."""
    base = "file://" + str(tmp_path / "store")
    files = {"a.txt": b"aa", "b.bin": b"bbbb", "sub/c.txt": b"c", "sub/deep/d.txt": b"ddd"}
    for rel, payload in files.items():
        s3dlio.put_bytes(f"{base}/{rel}", payload)
    return base


def _records(out: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.splitlines()]


# ------------------------------------------------------------------------------ general


def test_help_lists_commands_and_exit_codes(cli: Run) -> None:
    code, out, _ = cli("--help")
    assert code == 0
    for name in ("list", "ls", "stat", "get", "upload", "download", "cp", "delete", "rm", "list-buckets",
                 "create-bucket", "delete-bucket", "plugins", "config", "doctor"):
        assert name in out
    assert "exit codes" in out and "130" in out and "partial" in out


def test_version(cli: Run) -> None:
    code, out, _ = cli("--version")
    assert code == 0 and s3dlio.__version__ in out


def test_no_command_is_usage_error(cli: Run) -> None:
    assert cli()[0] == 2


@needs_file
def test_unknown_option_is_usage_error(cli: Run, data: str) -> None:
    code, _, err = cli("ls", "--bogus", data)
    assert code == 2 and "unrecognized" in err


@needs_file
def test_global_flags_before_or_after_command(cli: Run, data: str) -> None:
    before = cli("--json", "ls", data)
    after = cli("ls", data, "--json")
    assert before[0] == after[0] == 0
    assert _records(before[1]) == _records(after[1])
    assert _records(after[1])[-1]["type"] == "summary"


@needs_file
def test_endpoint_flags_set_environment(cli: Run, data: str) -> None:
    code, _, _ = cli("ls", data, "--endpoint", "http://127.0.0.1:9", "--region", "eu-west-3",
                     "--ca-bundle", "/tmp/ca.pem", "--profile", "p1")
    assert code == 0
    assert os.environ["AWS_ENDPOINT_URL"] == "http://127.0.0.1:9"
    assert os.environ["AWS_DEFAULT_REGION"] == "eu-west-3"
    assert os.environ["AWS_CA_BUNDLE"] == "/tmp/ca.pem"
    assert os.environ["AWS_PROFILE"] == "p1"


@needs_file
def test_dotenv_is_loaded_without_overriding(cli: Run, data: str, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_REGION_KEEP", "mine")
    (tmp_path / ".env").write_text("# comment\nS3DLIO_TEST_DOTENV='yes'\nAWS_REGION_KEEP=theirs\n")
    assert cli("ls", data)[0] == 0
    assert os.environ["S3DLIO_TEST_DOTENV"] == "yes"
    assert os.environ["AWS_REGION_KEEP"] == "mine"


@needs_file
def test_plugin_global_flags_export_their_variables(cli: Run, data: str,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("s3dlio_s3")
    for name in ("S3DLIO_S3_INSECURE", "AWS_REGION", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(name, raising=False)
    code, _, err = cli("--insecure", "ls", data, "--region", "eu-west-3")
    assert code == 0, err
    assert os.environ["S3DLIO_S3_INSECURE"] == "1"
    assert os.environ["AWS_REGION"] == os.environ["AWS_DEFAULT_REGION"] == "eu-west-3"


@needs_file
def test_flag_of_a_missing_plugin_names_it(cli: Run, data: str, tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    from s3dlio.plugin.runtime import reset

    monkeypatch.setenv("S3DLIO_DISABLED_PLUGINS", "oplog,datagen")
    reset()
    code, _, err = cli("--op-log", str(tmp_path / "ops.log"), "ls", data)
    assert code == 5 and "'--op-log' is provided by s3dlio-oplog" in err and "pip install s3dlio-oplog" in err
    code, _, err = cli("put", data + "/x", "--num", "1")
    assert code == 5 and "'put' is provided by s3dlio-datagen" in err
    assert not (tmp_path / "ops.log").exists()


@needs_file
def test_op_log_flag_records_the_run(cli: Run, data: str, tmp_path: Path) -> None:
    pytest.importorskip("s3dlio_oplog")
    log = tmp_path / "ops.tsv.zst"
    assert cli("ls", data, "--op-log", str(log))[0] == 0
    assert not s3dlio.is_op_log_active()  # flushed and closed when the command ended
    from s3dlio_oplog.reader import read_oplog

    ops = [row.op for row in read_oplog(log)]
    assert "LIST" in ops


def test_unknown_scheme_is_exit_5(cli: Run) -> None:
    code, _, err = cli("ls", "ftp://host/x/")
    assert code == 5 and err.startswith("s3-cli: error:") and "Traceback" not in err


@needs_file
def test_relative_file_uri_is_an_error_without_traceback(cli: Run) -> None:
    code, _, err = cli("stat", "file://relative/path")
    assert code not in (0, 2, 3) and "three slashes" in err and "Traceback" not in err


@needs_file
def test_traceback_only_with_vv(cli: Run, data: str) -> None:
    assert "Traceback" not in cli("stat", data + "/missing")[2]
    assert "Traceback" in cli("-vv", "stat", data + "/missing")[2]


def test_exit_code_mapping() -> None:
    assert exit_code_for(BatchError("x", [("u", OSError())], 1)) == 3
    # every item failed: the shared reason decides
    assert exit_code_for(BatchError("x", [("u", NotFoundError()), ("v", NotFoundError())], 0)) == 4
    assert exit_code_for(BatchError("x", [("u", NotFoundError()), ("v", OSError())], 0)) == 1
    assert exit_code_for(NotFoundError()) == 4
    assert exit_code_for(ConfigError("bad")) == 5
    assert exit_code_for(PluginError("bad")) == 5
    assert exit_code_for(KeyboardInterrupt()) == 130
    assert exit_code_for(ValueError("bad")) == 2
    assert exit_code_for(RuntimeError("boom")) == 1


@needs_file
def test_keyboard_interrupt_is_130(cli: Run, data: str, monkeypatch: pytest.MonkeyPatch) -> None:
    def interrupted(*_a: Any, **_k: Any) -> Any:
        raise KeyboardInterrupt

    monkeypatch.setattr(s3dlio, "list_iter", interrupted)
    code, out, _ = cli("--json", "ls", data)
    assert code == 130 and _records(out)[-1]["exit_code"] == 130


# ------------------------------------------------------------------------------ list / stat


@needs_file
def test_ls(cli: Run, data: str) -> None:
    code, out, _ = cli("ls", data)
    assert code == 0
    assert sorted(out.split()) == [f"{data}/a.txt", f"{data}/b.bin", f"{data}/sub/"]
    code, out, _ = cli("list", "-r", "-p", r"\.txt$", data)
    assert sorted(out.split()) == [f"{data}/a.txt", f"{data}/sub/c.txt", f"{data}/sub/deep/d.txt"]


@needs_file
def test_ls_count_only(cli: Run, data: str) -> None:
    code, out, _ = cli("ls", "-r", "-c", data)
    assert code == 0
    assert out.startswith("Total objects: 4 (") and "rate:" in out and "objects/s)" in out


@needs_file
def test_ls_long_human_summarize(cli: Run, data: str) -> None:
    code, out, err = cli("ls", "-l", "--human-readable", "--summarize", data + "/")
    assert code == 0
    assert "4 B" in out and "DIR" in out and "Z " in out
    assert "Total Objects: 2\n  Directories: 1\n   Total Size: 6 B" in err


@needs_file
def test_ls_json(cli: Run, data: str) -> None:
    code, out, _ = cli("ls", "-r", "--json", data)
    records = _records(out)
    assert code == 0
    assert {r["uri"] for r in records[:-1]} == {f"{data}/{k}" for k in
                                                 ("a.txt", "b.bin", "sub/c.txt", "sub/deep/d.txt")}
    assert records[-1] == {"type": "summary", "command": "list", "exit_code": 0, "count": 4,
                           "directories": 0}


@needs_file
def test_ls_missing_directory_is_exit_4(cli: Run, tmp_path: Path) -> None:
    missing = "file://" + str(tmp_path / "nope") + "/"
    assert cli("ls", missing) == (4, "", f"s3-cli: error: list {missing}: no such object or directory\n")


@needs_file
def test_stat(cli: Run, data: str) -> None:
    code, out, _ = cli("stat", data + "/b.bin")
    assert code == 0 and "Size: 4" in out and "Storage Class: STANDARD" in out and "ETag: file-4-" in out
    code, out, _ = cli("stat", "--json", data + "/b.bin")
    assert _records(out)[0]["size"] == 4


@needs_file
def test_stat_missing_is_exit_4(cli: Run, data: str) -> None:
    code, out, err = cli("stat", data + "/missing")
    assert code == 4 and out == "" and err.startswith("s3-cli: error: ")


# ------------------------------------------------------------------------------ get


@needs_file
def test_get_benchmark(cli: Run, data: str) -> None:
    code, out, err = cli("get", "-r", "-j", "4", data)
    assert code == 0 and out == ""
    assert "Benchmarked 4 objects: 10 bytes in " in err and "MB/s)" in err


@needs_file
def test_get_keylist(cli: Run, data: str, tmp_path: Path) -> None:
    keylist = tmp_path / "keys.txt"
    keylist.write_text(f"a.txt\n# comment\n\n{data}/b.bin\n")
    code, _, err = cli("get", data, "--keylist", str(keylist))
    assert code == 0 and "Benchmarked 2 objects: 6 bytes" in err


@needs_file
def test_get_range_and_output(cli: Run, data: str, tmp_path: Path) -> None:
    out_file = tmp_path / "saved.bin"
    code, _, err = cli("get", data + "/b.bin", "--offset", "1", "--length", "2", "-o", str(out_file))
    assert code == 0 and out_file.read_bytes() == b"bb"
    assert f"Wrote 2 bytes of {data}/b.bin to {out_file} in " in err


@needs_file
def test_get_output_to_stdout(data: str, capsysbinary: pytest.CaptureFixture[bytes],
                              monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["get", data + "/sub/deep/d.txt", "-o", "-"]) == 0
    assert capsysbinary.readouterr().out == b"ddd"


@needs_file
def test_get_range_needs_one_object(cli: Run, data: str) -> None:
    code, _, err = cli("get", "-r", data, "--offset", "1")
    assert code == 2 and "exactly one object" in err


@needs_file
def test_get_bad_jobs_and_sizes_are_usage_errors(cli: Run, data: str) -> None:
    assert cli("get", "-j", "0", data + "/a.txt")[0] == 2
    assert cli("get", "-j", "4097", data + "/a.txt")[0] == 2
    assert cli("get", "--offset", "-5", data + "/a.txt")[0] == 2
    assert cli("get", "--length", "1.5", data + "/a.txt")[0] == 2
    assert cli("get", "--offset", "1_0", "--length", "1ki", data + "/a.txt")[0] == 0


@needs_file
def test_get_nothing_matched_is_exit_4(cli: Run, tmp_path: Path) -> None:
    assert cli("get", "-r", "file://" + str(tmp_path / "empty") + "/")[0] == 4


# ------------------------------------------------------------------------------ upload / download / cp


@needs_file
def test_upload_download_round_trip(cli: Run, tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "one.txt").write_bytes(b"1")
    (src / "two.txt").write_bytes(b"22")
    dest = "file://" + str(tmp_path / "bucket") + "/up/"
    code, _, err = cli("upload", str(src / "*.txt"), dest, "-j", "2")
    assert code == 0
    assert "UPLOAD summary: attempted=2, succeeded=2, failed=0" in err and "2 ok, 0 failed" in err
    s3dlio.put_bytes(dest + "nested/three.txt", b"333")
    code, _, err = cli("download", "-r", dest, str(tmp_path / "out"))
    assert code == 0 and "DOWNLOAD summary: attempted=3, succeeded=3, failed=0" in err
    got = {p.relative_to(tmp_path / "out").as_posix(): p.read_bytes()
           for p in (tmp_path / "out").rglob("*") if p.is_file()}
    assert got == {"one.txt": b"1", "two.txt": b"22", "nested/three.txt": b"333"}


@needs_file
def test_upload_nothing_matched_is_exit_4(cli: Run, tmp_path: Path) -> None:
    code, _, err = cli("upload", str(tmp_path / "*.none"), "file://" + str(tmp_path / "b") + "/")
    assert code == 4 and err.endswith("*.none: no files matched\n")


@needs_file
def test_upload_name_clash_is_usage_error(cli: Run, tmp_path: Path) -> None:
    for d in ("x", "y"):
        (tmp_path / d).mkdir()
        (tmp_path / d / "same").write_bytes(b"s")
    dest = "file://" + str(tmp_path / "b") + "/"
    code, _, err = cli("upload", str(tmp_path / "x"), str(tmp_path / "y"), dest)
    assert code == 2 and "same name" in err
    assert not (tmp_path / "b").exists()


@needs_file
def test_upload_partial_failure_exit_3_lists_failures(cli: Run, tmp_path: Path) -> None:
    for name in ("a", "b", "c"):
        (tmp_path / name).write_bytes(name.encode())
    dest = tmp_path / "dest"
    (dest / "b").mkdir(parents=True)
    code, out, err = cli("upload", "--json", *(str(tmp_path / n) for n in "abc"), "file://" + str(dest))
    assert code == 3
    assert "UPLOAD summary: attempted=3, succeeded=2, failed=1" in err
    assert "2 ok, 1 failed" in err and f"  {tmp_path / 'b'}: " in err
    summary = _records(out)[-1]
    assert summary["type"] == "summary" and summary["exit_code"] == 3
    assert summary["ok"] == 2 and summary["failed"] == 1
    assert summary["failures"][0]["uri"] == str(tmp_path / "b")


@needs_file
def test_download_missing_is_exit_4(cli: Run, tmp_path: Path) -> None:
    assert cli("download", "file://" + str(tmp_path / "none") + "/", str(tmp_path / "o"))[0] == 4


@needs_file
def test_download_refuses_dotdot_keys(cli: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # file:// itself rejects '..' in keys, so a store that lists such a key is simulated.
    from s3dlio.api import transfer
    from s3dlio.plugin.runtime import resolve
    from s3dlio.store import ObjectStore

    s3dlio.put_bytes("file://" + str(tmp_path / "s" / "ok.txt"), b"ok")
    store, key = resolve("file://" + str(tmp_path / "s" / "ok.txt"))

    def plan(src_uri: str, recursive: bool) -> tuple[ObjectStore, list[tuple[str, str]]]:
        return store, [(key, "ok.txt"), (key, "../escape.txt")]

    monkeypatch.setattr(transfer, "plan_objects", plan)
    dest = tmp_path / "dest"
    code, _, err = cli("download", "-r", "file://" + str(tmp_path / "s") + "/", str(dest))
    assert code == 3 and "1 ok, 1 failed" in err and "outside the destination" in err
    assert sorted(p.name for p in dest.iterdir()) == ["ok.txt"]
    assert not (tmp_path / "escape.txt").exists()


@needs_file
def test_cp_recursive_filters_dry_run_no_clobber(cli: Run, data: str, tmp_path: Path) -> None:
    target = "file://" + str(tmp_path / "copy") + "/"
    code, out, err = cli("cp", "-r", "--dry-run", "--exclude", "*", "--include", "*.txt", data + "/", target)
    assert code == 0 and out.count("(dryrun) copy:") == 3 and not (tmp_path / "copy").exists()
    assert "3 items would be copied" in err
    code, _, err = cli("cp", "-r", "--exclude", "sub/*", data + "/", target)
    assert code == 0 and "COPY summary: attempted=2, succeeded=2, failed=0" in err
    assert s3dlio.list_keys(target, recursive=True) == ["a.txt", "b.bin"]
    s3dlio.put_bytes(target + "a.txt", b"keep")
    code, _, err = cli("cp", "-r", "-n", data + "/", target)
    assert code == 0 and s3dlio.get(target + "a.txt") == b"keep"
    assert s3dlio.get(target + "sub/deep/d.txt") == b"ddd"


@needs_file
def test_cp_local_and_stdout(cli: Run, data: str, tmp_path: Path) -> None:
    local = tmp_path / "local.bin"
    assert cli("cp", data + "/b.bin", str(local))[0] == 0
    assert local.read_bytes() == b"bbbb"
    assert cli("cp", str(local), data + "/uploaded.bin")[0] == 0
    assert s3dlio.get(data + "/uploaded.bin") == b"bbbb"


@needs_file
def test_cp_missing_source_is_exit_4(cli: Run, data: str, tmp_path: Path) -> None:
    assert cli("cp", data + "/missing", str(tmp_path / "x"))[0] == 4


# ------------------------------------------------------------------------------ delete


@needs_file
def test_delete_dry_run_deletes_nothing(cli: Run, data: str) -> None:
    before = s3dlio.list(data, recursive=True)
    code, out, err = cli("rm", "-r", "--dry-run", data + "/")
    assert code == 0
    assert sorted(line.removeprefix("(dryrun) delete: ") for line in out.splitlines()) == sorted(before)
    assert "4 objects would be deleted" in err
    assert s3dlio.list(data, recursive=True) == before


@needs_file
def test_delete_pattern_and_glob(cli: Run, data: str) -> None:
    code, _, err = cli("delete", "-r", "-p", r"\.txt$", data)
    assert code == 0 and "3 ok, 0 failed" in err
    assert s3dlio.list(data, recursive=True) == [f"{data}/b.bin"]
    code, _, _ = cli("rm", data + "/*.bin")
    assert code == 0 and s3dlio.list(data, recursive=True) == []


@needs_file
def test_delete_recursive_and_single(cli: Run, data: str) -> None:
    assert cli("rm", data + "/a.txt")[0] == 0
    assert not s3dlio.exists(data + "/a.txt")
    assert cli("rm", "-r", data + "/sub")[0] == 0
    assert s3dlio.list(data, recursive=True) == [f"{data}/b.bin"]


@needs_file
def test_delete_pattern_nothing_matched_is_exit_4(cli: Run, data: str) -> None:
    assert cli("rm", "-r", "-p", "nomatch", data)[0] == 4


@needs_file
def test_delete_failures_exit_3(cli: Run, data: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from s3dlio.plugin.runtime import resolve

    store, _ = resolve(data + "/")
    real = store.delete_many

    def flaky(keys: list[str]) -> list[tuple[str, BaseException]]:
        bad = [k for k in keys if k.endswith("b.bin")]
        real([k for k in keys if k not in bad])
        return [(k, PermissionError("denied")) for k in bad]

    monkeypatch.setattr(store, "delete_many", flaky)
    code, _, err = cli("rm", "-r", "-p", ".", data)
    assert code == 3 and "3 ok, 1 failed" in err and "b.bin: denied" in err


# ------------------------------------------------------------------------------ buckets


@needs_file
def test_bucket_commands(cli: Run, tmp_path: Path) -> None:
    bucket = "file://" + str(tmp_path / "bk")
    code, out, _ = cli("create-bucket", bucket)
    assert code == 0 and out.strip() == f"Successfully created or verified '{bucket}'"
    code, out, _ = cli("list-buckets", "file://" + str(tmp_path) + "/")
    assert code == 0 and out.splitlines()[0].split() == ["Name", "URI", "Creation", "Date"]
    assert any(line.startswith("bk ") for line in out.splitlines())
    code, out, _ = cli("list-buckets", "--json", "file://" + str(tmp_path) + "/")
    assert any(r.get("name") == "bk" for r in _records(out))
    s3dlio.put_bytes(bucket + "/obj", b"x")
    assert cli("delete-bucket", bucket)[0] == 1  # not empty
    assert cli("delete-bucket", "--force", bucket)[0] == 2  # no TTY, no --yes
    assert cli("delete-bucket", "--force", "--yes", bucket)[0] == 0
    assert not (tmp_path / "bk").exists()


# ------------------------------------------------------------------------------ plugins / config


def test_plugins(cli: Run) -> None:
    code, out, _ = cli("plugins")
    assert code == 0
    assert out.splitlines()[0].split() == ["NAME", "DISTRIBUTION", "VERSION", "STATUS", "ERROR"]
    assert any(line.split()[:2] == ["s3dlio", "s3dlio-core"] for line in out.splitlines())
    code, out, _ = cli("plugins", "--json")
    records = _records(out)
    assert {"name", "distribution", "version", "status", "error"} <= set(records[0])
    assert records[-1]["type"] == "summary"


def test_plugins_check_fails_on_broken_plugin(cli: Run) -> None:
    from s3dlio.plugin.host import EntryPointInfo, PluginHost
    from s3dlio.plugin.runtime import Runtime, install

    broken = EntryPointInfo(name="broken", value="s3dlio_no_such_module_xyz", distribution="broken-dist")
    previous = install(Runtime(PluginHost(entry_points=[broken])))
    try:
        code, out, err = cli("plugins")
        assert code == 0 and "broken-dist" in out and "failed" in out and "warning" in err
        code, _, err = cli("plugins", "--check")
        assert code == 5 and "broken" in err
    finally:
        install(previous)


def test_config_show(cli: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("S3DLIO_RANGE_THRESHOLD_MB", "48")
    cfg = tmp_path / "cfg.toml"
    cfg.write_text("[core]\nchunk_size = 1048576\n")
    code, out, _ = cli("config", "show", "--config", str(cfg))
    assert code == 0
    assert "core.range_threshold_mb = 48 (env:S3DLIO_RANGE_THRESHOLD_MB)" in out
    assert f"core.chunk_size = 1048576 (file:{cfg})" in out
    assert "core.fsync = auto (default)" in out
    code, out, _ = cli("config", "show", "--all", "--json", "--config", str(cfg))
    records = _records(out)
    row = next(r for r in records if r.get("name") == "range_threshold_mb")
    assert row["env"] == ["S3DLIO_RANGE_THRESHOLD_MB"] and row["source"] == "env:S3DLIO_RANGE_THRESHOLD_MB"


def test_config_show_redacts_secrets(cli: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    import attrs

    from s3dlio.config import setting
    from s3dlio.plugin.host import PluginHost, module_plugin
    from s3dlio.plugin.runtime import Runtime, install

    @attrs.define
    class VaultSettings:
        token: str = setting("", env="S3DLIO_TEST_VAULT_TOKEN", secret=True)

    def add_config(schema: Any) -> None:
        schema.add_section("vault", VaultSettings)

    monkeypatch.setenv("S3DLIO_TEST_VAULT_TOKEN", "hunter2-very-secret")
    host = PluginHost(extra_plugins=[("vault", module_plugin("vault", s3dlio_add_config=add_config))])
    previous = install(Runtime(host))
    try:
        code, out, _ = cli("config", "show")
    finally:
        install(previous)
    assert code == 0 and "vault.token = **** (env:S3DLIO_TEST_VAULT_TOKEN)" in out
    assert "hunter2" not in out


def test_bad_config_file_is_exit_5(cli: Run, tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[core\n")
    code, _, err = cli("--config", str(bad), "config", "show")
    assert code == 5 and "invalid TOML" in err


def test_plugin_command_appears_in_help_and_runs(cli: Run) -> None:
    from s3dlio.cli.registry import CommandSpec
    from s3dlio.plugin.host import PluginHost, module_plugin
    from s3dlio.plugin.runtime import Runtime, install

    def register(cli: Any) -> None:
        cli.register(CommandSpec("hello", factory=f"{__name__}:HelloCommand", help="say hello"))

    plugin = module_plugin("hello", s3dlio_register_commands=register)
    host = PluginHost(extra_plugins=[("hello-plugin", plugin)])
    previous = install(Runtime(host))
    try:
        code, out, _ = cli("--help")
        assert code == 0 and "hello" in out and "say hello" in out
        code, out, _ = cli("hello", "--name", "world", "--json")
        assert code == 0
        assert _records(out) == [{"type": "greeting", "text": "hello world"},
                                 {"type": "summary", "command": "hello", "exit_code": 0}]
    finally:
        install(previous)


class HelloCommand:
    """A plugin command used by :func:`test_plugin_command_appears_in_help_and_runs`."""

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--name", default="you")

    def run(self, args: Any, ctx: CliContext) -> int:
        ctx.emit({"type": "greeting", "text": f"hello {args.name}"}, f"hello {args.name}")
        return 0


# ------------------------------------------------------------------------------ progress bars


@needs_file
def test_no_progress_bar_when_not_a_tty(cli: Run, tmp_path: Path) -> None:
    (tmp_path / "f").write_bytes(b"x" * 100)
    code, _, err = cli("upload", str(tmp_path / "f"), "file://" + str(tmp_path / "b") + "/")
    assert code == 0 and "\r" not in err and "[" not in err


class _TTY(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_bar_only_on_tty_and_not_quiet_json_or_disabled() -> None:
    tty = _TTY()
    ctx = CliContext(stderr=tty)
    bar = ctx.progress(2, "upload")
    bar.update(10)
    bar.update(10)
    bar.close()
    assert "\rupload [" in tty.getvalue() and "2/2" in tty.getvalue()
    for kwargs in ({"quiet": True}, {"json_mode": True}, {"no_progress": True}):
        quiet = _TTY()
        c = CliContext(stderr=quiet, **kwargs)  # type: ignore[arg-type]
        b = c.progress(1, "x")
        b.update(1)
        b.close()
        assert quiet.getvalue() == "" and not c.progress_enabled
    plain = io.StringIO()
    c = CliContext(stderr=plain)
    c.progress(1, "x").update(1)
    assert plain.getvalue() == ""


@needs_file
def test_quiet_silences_summaries(cli: Run, tmp_path: Path) -> None:
    (tmp_path / "f").write_bytes(b"x")
    code, _, err = cli("-q", "upload", str(tmp_path / "f"), "file://" + str(tmp_path / "b") + "/")
    assert code == 0 and err == ""


@needs_file
def test_get_of_a_missing_object_is_exit_4(cli: Run, tmp_path: Path) -> None:
    code, _, err = cli("get", f"file://{tmp_path}/missing.bin")
    # One line naming the object, not the batch it was read in.
    assert code == 4 and err.count("\n") == 1 and "missing.bin" in err and "get_many" not in err

