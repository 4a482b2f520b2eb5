"""``s3-cli`` messages and exit codes a first-time user meets (issue 19 "First contact").

Each test pins one message or exit code: ``rm``/``ls`` of what does not exist, a missing
backend, a failed ``get`` of one object, URIs without or with a mistyped scheme, bad
settings, ``get -o``, ``config show`` of unset values, the order and counts of ``ls``,
``upload`` of a missing file and the units of the demo. Run in-process on file:// and
memory://.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from conftest import Run

import s3dlio
from s3dlio.cli.main import main

pytestmark = [
    pytest.mark.timeout(60),
    pytest.mark.skipif(importlib.util.find_spec("s3dlio_posix") is None,
                       reason="file:// backend (s3dlio-posix) not installed"),
]

ROOT = Path(__file__).resolve().parents[1]





@pytest.fixture
def tree(tmp_path: Path) -> str:
    """file:// tree: a.txt, b.bin, sub/c.txt, sub/deep/d.txt, z/e.txt and an empty directory."""
    base = "file://" + str(tmp_path / "store")
    for rel, payload in {"z/e.txt": b"e", "a.txt": b"aa", "sub/deep/d.txt": b"ddd", "b.bin": b"bbbb",
                         "sub/c.txt": b"c"}.items():
        s3dlio.put_bytes(f"{base}/{rel}", payload)
    (tmp_path / "store" / "empty").mkdir()
    return base


def _records(out: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.splitlines()]


# ------------------------------------------------------------------------------ rm


def test_rm_of_a_missing_object_is_exit_4(cli: Run, tree: str) -> None:
    code, _, err = cli("rm", tree + "/missing.txt")
    assert code == 4 and err == f"s3-cli: error: delete {tree}/missing.txt: no such object\n"
    assert "Deleted" not in err


def test_rm_r_of_a_missing_prefix_is_exit_4(cli: Run, tree: str) -> None:
    code, _, err = cli("rm", "-r", tree + "/nope/")
    assert code == 4 and "no such object or directory" in err and "Deleted" not in err


def test_rm_r_of_an_existing_empty_directory_succeeds(cli: Run, tree: str, tmp_path: Path) -> None:
    code, _, err = cli("rm", "-r", tree + "/empty/")
    assert code == 0 and "Deleted" in err and not (tmp_path / "store" / "empty").exists()


def test_rm_of_a_directory_without_r_is_a_usage_error(cli: Run, tree: str) -> None:
    code, _, err = cli("rm", tree + "/sub")
    assert code == 2 and "is a directory: add -r" in err
    assert s3dlio.exists(tree + "/sub/c.txt")


def test_rm_of_a_glob_matching_nothing_is_exit_4(cli: Run, tree: str) -> None:
    code, _, err = cli("rm", tree + "/*.none")
    assert code == 4 and "no objects matched" in err


def test_rm_on_an_object_store_uses_the_marker_rule(cli: Run) -> None:
    """memory:// is an object store: a prefix exists through its objects or a ``dir/`` marker."""
    s3dlio.create_bucket("memory://first-contact/")
    s3dlio.mkdir("memory://first-contact/marked/")
    assert cli("rm", "-r", "memory://first-contact/unmarked/")[0] == 4
    assert cli("rm", "-r", "memory://first-contact/marked/")[0] == 0
    assert cli("ls", "memory://first-contact/marked/")[0] == 4  # the marker went with it


# ------------------------------------------------------------------------------ ls


def test_ls_of_a_missing_directory_says_so_and_exits_4(cli: Run, tree: str) -> None:
    code, out, err = cli("ls", tree + "/nope/")
    assert (code, out) == (4, "")
    assert err == f"s3-cli: error: list {tree}/nope/: no such object or directory\n"
    assert cli("ls", "-c", tree + "/nope")[0] == 4
    assert cli("ls", tree + "/nope/*.txt")[0] == 4  # a glob in a missing directory
    code, out, _ = cli("--json", "ls", tree + "/nope/")
    assert code == 4 and _records(out)[-1]["exit_code"] == 4


def test_ls_of_an_existing_empty_directory_is_exit_0(cli: Run, tree: str) -> None:
    assert cli("ls", tree + "/empty/") == (0, "", "")
    assert cli("ls", "-r", tree + "/empty/") == (0, "", "")
    assert cli("ls", tree + "/*.none") == (0, "", "")  # nothing matched in an existing directory


def test_ls_of_an_empty_prefix_with_a_marker_is_exit_0_on_object_stores(cli: Run) -> None:
    s3dlio.create_bucket("memory://ls-marker/")
    s3dlio.mkdir("memory://ls-marker/made/")
    assert cli("ls", "memory://ls-marker/made/")[0] == 0
    assert cli("ls", "memory://ls-marker/never/")[0] == 4


def test_ls_is_sorted_like_s3dlio_list_and_U_streams(cli: Run, tree: str) -> None:
    for flags in ((), ("-r",)):
        code, out, _ = cli("ls", *flags, tree)
        assert code == 0 and out.splitlines() == s3dlio.list(tree, recursive=bool(flags))
    code, out, _ = cli("ls", "-r", "-U", tree)
    assert code == 0 and sorted(out.splitlines()) == s3dlio.list(tree, recursive=True)


def test_ls_count_counts_objects_and_directories_apart(cli: Run, tree: str) -> None:
    code, out, _ = cli("ls", "-c", tree)
    assert code == 0 and out.startswith("Total objects: 2, directories: 3 (")
    code, out, _ = cli("ls", "-c", "-r", tree)
    assert out.startswith("Total objects: 5 (")
    code, out, _ = cli("--json", "ls", "-c", tree)
    count, summary = _records(out)
    assert (count["count"], count["directories"]) == (2, 3)
    assert (summary["count"], summary["directories"]) == (2, 3)


# ------------------------------------------------------------------------------ backends and URIs


def test_a_missing_backend_is_exit_5_with_the_install_hint_on_every_command(
        cli: Run, tree: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from s3dlio.plugin.runtime import reset

    keylist = tmp_path / "keys.txt"
    keylist.write_text(f"{tree}/a.txt\n{tree}/b.bin\n")
    monkeypatch.setenv("S3DLIO_DISABLED_PLUGINS", "posix")
    reset()
    for argv in (("ls", tree), ("get", tree + "/a.txt"), ("get", "--keylist", str(keylist)),
                 ("stat", tree + "/a.txt"), ("rm", tree + "/a.txt")):
        code, _, err = cli(*argv)
        assert code == 5, (argv, err)
        assert "pip install s3dlio-posix" in err, (argv, err)


def test_get_of_a_missing_object_is_one_clear_line(cli: Run, tree: str) -> None:
    code, _, err = cli("get", tree + "/missing.bin")
    assert code == 4
    assert err.splitlines() == [f"s3-cli: error: get {tree}/missing.bin: [ENOENT] No such file or directory"]


def test_a_failed_batch_lists_items_without_internal_names(cli: Run, tree: str, tmp_path: Path) -> None:
    keylist = tmp_path / "keys.txt"
    keylist.write_text(f"{tree}/a.txt\n{tree}/gone1\n{tree}/gone2\n")
    code, _, err = cli("get", "--keylist", str(keylist))
    lines = err.splitlines()
    assert code == 3 and lines[0] == "1 ok, 2 failed" and lines[-1] == "s3-cli: error: 2 of 3 failed"
    assert "get_many" not in err


def test_a_path_without_scheme_is_a_usage_error_with_the_file_hint(cli: Run, tree: str) -> None:
    path = tree.removeprefix("file://")
    code, _, err = cli("ls", path)
    assert code == 2 and "for local files use file:///absolute/path" in err
    assert f"did you mean file://{path}?" in err


def test_a_mistyped_scheme_suggests_the_closest_installed_one(cli: Run, tree: str) -> None:
    code, _, err = cli("ls", tree.replace("file://", "fiel://"))
    assert code == 5 and "did you mean 'file://'?" in err


# ------------------------------------------------------------------------------ settings


@pytest.mark.parametrize(("name", "value", "expected"), [
    ("S3DLIO_RANGE_THRESHOLD_MB", "abc", "expected an integer (MiB), e.g. S3DLIO_RANGE_THRESHOLD_MB=32"),
    ("S3DLIO_SKIP_HEAD", "maybe", "expected a boolean (1/0, true/false), e.g. S3DLIO_SKIP_HEAD=true"),
    ("S3DLIO_SIZE_CACHE_TTL_SECS", "soon", "expected a number, e.g. S3DLIO_SIZE_CACHE_TTL_SECS=3600.0"),
])
def test_a_bad_setting_names_the_variable_the_type_and_an_example(
        cli: Run, tree: str, monkeypatch: pytest.MonkeyPatch, name: str, value: str, expected: str) -> None:
    from s3dlio.plugin.runtime import reset

    monkeypatch.setenv(name, value)
    reset()  # the fixture composed the runtime before the variable was set
    code, _, err = cli("ls", tree)
    assert code == 5
    assert err == f"s3-cli: error: {name}={value!r} is not valid: {expected}\n"
    assert "invalid literal" not in err and "could not convert" not in err


def test_a_bad_value_in_the_config_file_names_file_and_key(cli: Run, tree: str, tmp_path: Path) -> None:
    cfg = tmp_path / "s3dlio.toml"
    cfg.write_text("[core]\nrange_threshold_mb = [32]\n")  # int() of a list: a TypeError before
    code, _, err = cli("--config", str(cfg), "ls", tree)
    assert code == 5 and f"{cfg} [core] range_threshold_mb=[32] is not valid: expected an integer" in err


def test_config_show_prints_unset_values_as_unset(cli: Run) -> None:
    code, out, _ = cli("config", "show")
    assert code == 0 and "core.log_level = (unset) (default)" in out
    assert " =  (" not in out
    code, out, _ = cli("--json", "config", "show")
    row = next(r for r in _records(out) if r.get("name") == "log_level")
    assert row["value"] == ""  # JSON keeps the value itself


# ------------------------------------------------------------------------------ get -o, upload


def test_get_o_reports_what_was_written(tree: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                        capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["get", tree + "/b.bin", "-o", "-"]) == 0
    captured = capsysbinary.readouterr()
    assert captured.out == b"bbbb"
    assert captured.err.decode().startswith(f"Wrote 4 bytes of {tree}/b.bin to stdout in ")
    assert b"Benchmarked" not in captured.err


def test_upload_of_a_missing_file_names_the_path_once(cli: Run, tmp_path: Path) -> None:
    missing = str(tmp_path / "no-such-file.bin")
    code, _, err = cli("upload", missing, "file://" + str(tmp_path / "dest") + "/")
    assert code == 4 and err == f"s3-cli: error: upload {missing}: no such file or directory\n"


def test_put_without_datagen_names_the_plugin(cli: Run, tree: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from s3dlio.plugin.runtime import reset

    monkeypatch.setenv("S3DLIO_DISABLED_PLUGINS", "datagen")
    reset()
    code, _, err = cli("put", tree + "/x", "--num", "1")
    assert code == 5 and "pip install s3dlio-datagen" in err and "invalid choice" not in err


# ------------------------------------------------------------------------------ the demo


def test_the_demo_uses_one_unit_system_and_says_what_it_measured(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = importlib.util.spec_from_file_location("quickstart", ROOT / "examples" / "quickstart.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.main(["--count", "8", "--size", "4KiB", "--dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "MiB/s" in out and "MB/s" not in out.replace("MiB/s", "")
    assert "page cache" in out and "OK" in out
