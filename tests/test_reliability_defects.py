"""Issue 16, item 6: the defects a probe found, one regression test each (file:// and memory://).

Each test failed before its fix; together they pin "nothing outside the tree is touched",
"every failure is a typed s3dlio error naming its operation" and "the CLI exits with the
documented code and, with ``--json``, ends with the summary line".
"""

from __future__ import annotations

import importlib.util
import io
import json
import os
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

import s3dlio
from s3dlio.errors import InvalidPathError, S3dlioError, StoreError

if TYPE_CHECKING:
    from conftest import Run

pytestmark = [
    pytest.mark.timeout(60),
    pytest.mark.skipif(importlib.util.find_spec("s3dlio_posix") is None, reason="s3dlio-posix not installed"),
]


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A directory outside the tree, with two files a symlink in the tree points to."""
    target = tmp_path / "outside"
    target.mkdir()
    (target / "precious.txt").write_bytes(b"keep me")
    (target / "sub").mkdir()
    (target / "sub" / "deep.txt").write_bytes(b"me too")
    return target


@pytest.fixture
def tree(tmp_path: Path, outside: Path) -> Path:
    """``tree/own.txt`` and ``tree/link`` → ``outside``."""
    root = tmp_path / "tree"
    root.mkdir()
    (root / "own.txt").write_bytes(b"mine")
    os.symlink(outside, root / "link")
    return root


def _untouched(outside: Path) -> None:
    assert (outside / "precious.txt").read_bytes() == b"keep me"
    assert (outside / "sub" / "deep.txt").read_bytes() == b"me too"


# ------------------------------------------------------------------ symlinked directories


@pytest.mark.parametrize("slash", ["", "/"])
def test_recursive_delete_of_a_symlinked_directory_removes_the_link_only(
        tree: Path, outside: Path, slash: str) -> None:
    s3dlio.delete(f"file://{tree}/link{slash}", recursive=True)
    _untouched(outside)
    assert not os.path.lexists(tree / "link")
    assert (tree / "own.txt").exists()


def test_recursive_delete_of_a_tree_holding_a_symlink_never_follows_it(tree: Path, outside: Path) -> None:
    s3dlio.delete(f"file://{tree}/", recursive=True)
    _untouched(outside)
    assert not os.path.lexists(tree / "link") and not (tree / "own.txt").exists()


def test_cli_rm_r_of_a_symlinked_directory(cli: Run, tree: Path, outside: Path) -> None:
    code, out, _ = cli("rm", "-r", "--dry-run", f"file://{tree}/link")
    assert code == 0
    assert "precious" not in out and "deep" not in out
    code, _, err = cli("rm", "-r", f"file://{tree}/link")
    assert code == 0, err
    _untouched(outside)
    assert not os.path.lexists(tree / "link")


def test_list_and_download_never_leave_the_tree(tree: Path, outside: Path, tmp_path: Path) -> None:
    listed = s3dlio.list(f"file://{tree}/", recursive=True)
    assert listed == [f"file://{tree}/own.txt"]
    dest = tmp_path / "dl"
    s3dlio.download(f"file://{tree}/", str(dest))
    assert sorted(p.name for p in dest.rglob("*")) == ["own.txt"]


# ------------------------------------------------------------------ root deletes


def test_rm_r_of_a_filesystem_root_is_refused(cli: Run) -> None:
    for argv in (("rm", "-r", "--dry-run", "file:///"), ("rm", "-r", "file:///"),
                 ("rm", "-r", "file://localhost/")):
        code, out, err = cli(*argv)
        assert code == 2, (argv, err)
        assert "--force" in err and out == ""


def test_rm_r_of_a_bucket_root_is_refused_without_force(cli: Run) -> None:
    s3dlio.put_bytes("memory://bkt/a", b"a")
    code, _, err = cli("rm", "-r", "memory://bkt/")
    assert code == 2 and "--force" in err
    assert s3dlio.exists("memory://bkt/a")
    # --force without a terminal needs --yes too (stdin is not a TTY under pytest)
    code, _, err = cli("rm", "-r", "--force", "memory://bkt/")
    assert code == 2 and "--yes" in err
    assert s3dlio.exists("memory://bkt/a")
    code, _, err = cli("rm", "-r", "--force", "--yes", "memory://bkt/")
    assert code == 0, err
    assert not s3dlio.exists("memory://bkt/a")


# ------------------------------------------------------------------ CLI output and codes


def test_json_get_to_stdout_keeps_the_object_bytes_clean(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    from s3dlio.cli.main import main

    uri = f"file://{tmp_path}/obj.bin"
    payload = bytes(range(256)) * 4
    s3dlio.put_bytes(uri, payload)
    raw = io.BytesIO()
    text = io.TextIOWrapper(raw, encoding="utf-8", write_through=True)
    err = io.StringIO()
    monkeypatch.setattr(sys, "stdout", text)
    monkeypatch.setattr(sys, "stderr", err)
    code = main(["--json", "get", "-o", "-", uri])
    text.flush()
    assert code == 0
    assert raw.getvalue() == payload
    summary = json.loads(err.getvalue().strip().splitlines()[-1])
    assert summary["type"] == "summary" and summary["exit_code"] == 0


def test_json_usage_error_ends_with_the_summary(cli: Run) -> None:
    code, out, _ = cli("--json", "ls", "--no-such-flag", "memory://b/")
    assert code == 2
    last = json.loads(out.strip().splitlines()[-1])
    assert last["type"] == "summary" and last["exit_code"] == 2
    code, out, _ = cli("--json", "get", "-j", "0", "memory://b/x")
    assert code == 2 and json.loads(out.strip().splitlines()[-1])["exit_code"] == 2


@pytest.mark.parametrize(("argv", "code"), [
    (("ls", "-p", "(", "memory://b/"), 2),
    (("get", "--keylist", "/nonexistent/keys.txt"), 2),
])
def test_usage_errors_exit_2_with_a_message(cli: Run, argv: tuple[str, ...], code: int) -> None:
    s3dlio.put_bytes("memory://b/x", b"x")
    got, _, err = cli(*argv)
    assert got == code, err
    assert "Traceback" not in err and "error:" in err


# ------------------------------------------------------------------ the error tree


def test_bad_list_pattern_is_a_typed_error() -> None:
    s3dlio.put_bytes("memory://b/x", b"x")
    with pytest.raises(S3dlioError) as info:
        s3dlio.list("memory://b/", pattern="(")
    assert isinstance(info.value, ValueError) and "pattern" in str(info.value)


def test_download_onto_a_file_is_a_typed_error(tmp_path: Path) -> None:
    s3dlio.put_bytes(f"file://{tmp_path}/src/a.txt", b"a")
    s3dlio.put_bytes(f"file://{tmp_path}/src/b/c.txt", b"c")
    blocker = tmp_path / "dest"
    blocker.write_bytes(b"a file")
    with pytest.raises(StoreError) as info:
        s3dlio.download(f"file://{tmp_path}/src/", str(blocker))
    assert info.value.op == "download"
    assert blocker.read_bytes() == b"a file"


def test_huge_reserve_is_a_typed_error() -> None:
    from s3dlio.store.multipart import MultipartUploadWriter

    writer = MultipartUploadWriter.from_uri("memory://b/huge")
    try:
        with pytest.raises(StoreError) as info:
            writer.reserve(2**62)
        assert not isinstance(info.value, MemoryError)
        assert "reserve" in str(info.value)
    finally:
        writer.abort()


def test_uri_check_errors_name_the_operation(tmp_path: Path) -> None:
    with pytest.raises(InvalidPathError) as info:
        s3dlio.get("file://relative/path")
    assert info.value.op == "get"
    assert str(info.value).startswith("get ")
    with pytest.raises(InvalidPathError) as info:
        s3dlio.put_bytes("file:///a/../b", b"x")
    assert info.value.op == "put"


def test_multipart_writer_rejects_a_negative_expected_size() -> None:
    from s3dlio.store.multipart import MultipartUploadWriter

    with pytest.raises(ValueError, match="expected_size"):
        MultipartUploadWriter.from_uri("memory://b/neg", expected_size=-1)


def test_get_range_takes_index_integers_but_not_bool() -> None:
    np = pytest.importorskip("numpy")
    s3dlio.put_bytes("memory://b/r", b"0123456789")
    assert s3dlio.get_range("memory://b/r", np.int64(2), np.int32(3)) == b"234"
    with pytest.raises(TypeError):
        s3dlio.get_range("memory://b/r", True)
    with pytest.raises(TypeError):
        s3dlio.get_range("memory://b/r", 0, False)


# ------------------------------------------------------------------ redaction


def test_endpoint_password_never_reaches_the_op_log_or_tracebacks(
        cli: Run, tmp_path: Path) -> None:
    pytest.importorskip("s3dlio_s3")
    pytest.importorskip("s3dlio_oplog")
    log = tmp_path / "ops.tsv"
    secret = "Sup3rS3cretPa55"
    code, out, err = cli("-vv", "--op-log", str(log), "--endpoint-url", f"http://user:{secret}@127.0.0.1:9",
                         "stat", "s3://bkt/key")
    assert code != 0
    assert secret not in out and secret not in err
    assert "Traceback" in err  # -vv printed one, redacted
    from s3dlio_oplog.testing import read_checked

    rows = read_checked(str(log))
    assert rows and all(secret not in r.endpoint and secret not in r.error for r in rows)
    assert any("127.0.0.1:9" in r.endpoint for r in rows)


# ------------------------------------------------------------------ races and temp names


def test_puts_racing_a_recursive_delete_of_their_folder_succeed(tmp_path: Path) -> None:
    base = f"file://{tmp_path}/race"
    errors: list[BaseException] = []
    stop = threading.Event()

    def deleter() -> None:
        while not stop.is_set():
            s3dlio.delete(base + "/", recursive=True)

    t = threading.Thread(target=deleter)
    t.start()
    try:
        for i in range(300):
            try:
                s3dlio.put_bytes(f"{base}/d{i % 3}/f{i}", b"x")
            except BaseException as exc:  # collected and asserted below
                errors.append(exc)
    finally:
        stop.set()
        t.join()
    assert errors == []


def test_user_files_named_like_temp_files_are_listed_and_kept(tmp_path: Path) -> None:
    lookalike = tmp_path / ".data.s3dlio-tmp-123-0000abcd"
    lookalike.write_bytes(b"user data")
    assert s3dlio.list(f"file://{tmp_path}/") == [f"file://{lookalike}"]
    os.utime(lookalike, (0, 0))
    s3dlio.abort_incomplete_uploads(f"file://{tmp_path}/", older_than_s=0)
    assert lookalike.read_bytes() == b"user data"


def test_real_temp_files_stay_hidden_and_are_cleaned(tmp_path: Path) -> None:
    from s3dlio.store.localfs import temp_path_for

    tmp = Path(temp_path_for(str(tmp_path / "obj")))
    tmp.write_bytes(b"partial")
    assert s3dlio.list(f"file://{tmp_path}/") == []
    os.utime(tmp, (0, 0))
    s3dlio.abort_incomplete_uploads(f"file://{tmp_path}/", older_than_s=0)
    assert not tmp.exists()
