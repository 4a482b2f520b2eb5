"""Module API semantics on file:// that the conformance suite does not cover."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

import s3dlio
from s3dlio.errors import (
    BackendNotFoundError,
    InvalidPathError,
    NotFoundError,
    StoreError,
)
from s3dlio.plugin import runtime as rt
from s3dlio.store.localfs import temp_path_for
from s3dlio.testing import assert_failed_write_left_no_trace, put_with_file_size_limit

pytest.importorskip("s3dlio_posix")


@pytest.fixture
def root(tmp_path: Path) -> str:
    return f"file://{tmp_path}/"


def test_bad_file_uris(tmp_path: Path) -> None:
    with pytest.raises(InvalidPathError, match="absolute path") as info:
        s3dlio.get("file://relative/path")
    assert "file:///" in str(info.value)
    for bad in (f"file://{tmp_path}/a/../b", f"file://{tmp_path}/./b", f"file://{tmp_path}//b",
                f"file://{tmp_path}/nul\x00byte"):
        with pytest.raises(InvalidPathError):
            s3dlio.put_bytes(bad, b"x")
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(TypeError, match="path object"):
        s3dlio.get(tmp_path / "x")  # type: ignore[arg-type]
    with pytest.raises(InvalidPathError):
        s3dlio.get(str(tmp_path / "x"))  # a bare path is not a URI


def test_localhost_form_and_parent_dirs_created(tmp_path: Path) -> None:
    s3dlio.put_bytes(f"file://localhost{tmp_path}/deep/er/f.bin", b"abc")
    assert (tmp_path / "deep/er/f.bin").read_bytes() == b"abc"
    assert s3dlio.get(f"file://{tmp_path}/deep/er/f.bin") == b"abc"


def test_file_stat_fields(root: str, tmp_path: Path) -> None:
    s3dlio.put_bytes(root + "s.bin", b"12345")
    st = s3dlio.stat(root + "s.bin")
    mtime = os.stat(tmp_path / "s.bin").st_mtime
    assert st["etag"] == f"file-5-{int(mtime)}"
    assert st["storage_class"] == "STANDARD"
    assert st["last_modified"].startswith(time.strftime("%Y-%m-%dT", time.gmtime(mtime)))


def test_temp_files_are_hidden_and_aborted(root: str, tmp_path: Path) -> None:
    s3dlio.put_bytes(root + "real", b"r")
    stale = Path(temp_path_for(str(tmp_path / "real")))
    stale.write_bytes(b"partial")
    old = time.time() - 7200
    os.utime(stale, (old, old))
    fresh = Path(temp_path_for(str(tmp_path / "other")))
    fresh.write_bytes(b"in progress")
    (tmp_path / ".hidden-but-real").write_bytes(b"h")
    assert s3dlio.list(root) == [root + ".hidden-but-real", root + "real"]
    assert s3dlio.abort_incomplete_uploads(root, older_than_s=3600) == 1
    assert not stale.exists() and fresh.exists()


def test_delete_directory_needs_recursive(root: str, tmp_path: Path) -> None:
    s3dlio.put_many([(root + "d/a", b"1"), (root + "d/e/b", b"2")])
    with pytest.raises(InvalidPathError, match="directory"):
        s3dlio.delete(root + "d")
    assert (tmp_path / "d/a").exists()
    s3dlio.delete(root + "d", recursive=True)
    assert not (tmp_path / "d").exists()  # emptied directories are dropped
    assert tmp_path.exists()


def test_containers_on_file(root: str, tmp_path: Path) -> None:
    s3dlio.create_bucket(root + "bucket1")
    s3dlio.create_bucket(root + "bucket1")  # existing is fine
    s3dlio.mkdir(root + "bucket2")
    names = [c["name"] for c in s3dlio.list_containers(root)]
    assert names == ["bucket1", "bucket2"]
    assert s3dlio.list_containers(root)[0]["uri"] == root + "bucket1/"
    s3dlio.delete_bucket(root + "bucket1")
    assert not (tmp_path / "bucket1").exists()
    s3dlio.put_bytes(root + "bucket2/obj", b"x")
    with pytest.raises(StoreError):
        s3dlio.delete_bucket(root + "bucket2")  # not empty
    assert (tmp_path / "bucket2/obj").exists()


def test_object_capabilities_and_deprecated_helpers() -> None:
    caps = s3dlio.object_capabilities("file:///tmp/x")
    assert caps == {"provider": "posix", "get_into": True, "head": True, "multipart": False,
                    "conditional_put": True, "buckets": True, "server_copy": True,
                    "direct_io": False}
    with pytest.warns(DeprecationWarning), pytest.raises((BackendNotFoundError, StoreError)):
        s3dlio.get_by_key("bucket", "key")


def test_split_reads_above_threshold(root: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("S3DLIO_RANGE_THRESHOLD_MB", "1")
    monkeypatch.setenv("S3DLIO_CHUNK_SIZE", str(256 * 1024))
    rt.reset()
    data = os.urandom(3 * (1 << 20) + 12345)
    s3dlio.put_bytes(root + "big", data)
    assert s3dlio.get(root + "big") == data
    assert s3dlio.get_many([root + "big", root + "big"])[1][1] == data
    assert s3dlio.get_many_stats([root + "big"]) == (1, len(data))
    assert rt.runtime().settings.source_of("core", "range_threshold_mb") == "env:S3DLIO_RANGE_THRESHOLD_MB"


def test_unwritable_destination(root: str, tmp_path: Path) -> None:
    (tmp_path / "afile").write_bytes(b"i am a file")
    with pytest.raises(StoreError) as info:
        s3dlio.put_bytes(root + "afile/child", b"x")
    assert "afile/child" in str(info.value) and info.value.op == "put"
    assert info.value.__cause__ is not None
    assert (tmp_path / "afile").read_bytes() == b"i am a file"
    with pytest.raises(InvalidPathError):
        s3dlio.get(root)  # a directory is not an object


# EACCES is covered in plugins/posix/tests/test_file_backend.py, which also runs as root
# (it drops to an unprivileged uid in a child process).


def test_file_too_large_leaves_destination_untouched(tmp_path: Path) -> None:
    """RLIMIT_FSIZE makes the write fail (EFBIG) like a full disk would."""
    target = tmp_path / "t.bin"
    target.write_bytes(b"original")
    uri = f"file://{target}"
    report = put_with_file_size_limit(uri, size=100_000, limit=4096)
    assert_failed_write_left_no_trace(report, uri, target, b"original")
    assert [p.name for p in tmp_path.iterdir()] == ["t.bin"]


def test_not_found_error_details(root: str) -> None:
    with pytest.raises(NotFoundError) as info:
        s3dlio.get(root + "nope")
    err = info.value
    assert err.op == "get" and err.uri == root + "nope" and err.backend == "posix"
    assert isinstance(err.__cause__, FileNotFoundError)
