"""file:// specifics on real files: local faults, path rules, temp files, directories."""

from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

import s3dlio
from s3dlio.errors import InvalidPathError, NotFoundError, PermissionDeniedError
from s3dlio.plugin import runtime as rt
from s3dlio.store.localfs import is_temp_name, temp_path_for
from s3dlio.testing import assert_failed_write_left_no_trace, put_with_file_size_limit

pytest.importorskip("s3dlio_posix")

if TYPE_CHECKING:
    from s3dlio_posix.store import PosixStore

pytestmark = pytest.mark.timeout(60)

MiB = 1 << 20


@pytest.fixture(autouse=True)
def _fresh_runtime() -> Iterator[None]:
    """Each test composes the runtime from its own environment."""
    rt.reset()
    yield
    rt.reset()


@pytest.fixture
def root(tmp_path: Path) -> str:
    return f"file://{tmp_path}/"


def _temp_files(directory: Path) -> list[Path]:
    return [p for p in directory.rglob("*") if is_temp_name(p.name)]


def _run_child(code: str, *args: str) -> dict[str, object]:
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        capture_output=True, text=True, timeout=50, check=False,
    )
    assert proc.returncode == 0, proc.stderr
    result: dict[str, object] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


# ------------------------------------------------------------ ENOSPC / EFBIG


def test_file_size_limit_gives_typed_error_and_keeps_destination(root: str, tmp_path: Path) -> None:
    """RLIMIT_FSIZE makes the write fail like a full disk: typed, named, chained, no debris."""
    uri = f"{root}sub/limited.bin"
    s3dlio.put_bytes(uri, b"previous content")
    report = put_with_file_size_limit(uri, size=MiB + 5, limit=64 * 1024)
    assert_failed_write_left_no_trace(report, uri, tmp_path / "sub" / "limited.bin", b"previous content")


# ------------------------------------------------------------------- EACCES

_EACCES_CHILD = """
    import json, os, sys
    import s3dlio
    from s3dlio.errors import StoreError
    directory, uid = sys.argv[1], int(sys.argv[2])
    uri = f"file://{directory}/existing.bin"
    s3dlio.exists(uri)  # compose plugins and open the store while still privileged
    os.setgroups([])
    os.setresgid(uid, uid, uid)
    os.setresuid(uid, uid, uid)  # drops every capability, CAP_DAC_OVERRIDE included
    out = {}
    for op, call in (("put", lambda: s3dlio.put_bytes(uri, b"new")),
                     ("get", lambda: s3dlio.get(f"file://{directory}/secret.bin"))):
        try:
            call()
        except StoreError as exc:
            out[op] = {"type": type(exc).__name__, "op": exc.op, "uri": exc.uri,
                       "permission_error": isinstance(exc, PermissionError),
                       "cause_errno": getattr(exc.__cause__, "errno", None)}
        else:
            out[op] = None
    print(json.dumps(out))
"""


def test_permission_denied_is_typed_and_keeps_destination(root: str, tmp_path: Path) -> None:
    if os.geteuid() != 0:
        directory = tmp_path / "ro"
        directory.mkdir()
        (directory / "existing.bin").write_bytes(b"old")
        (directory / "secret.bin").write_bytes(b"secret")
        (directory / "secret.bin").chmod(0o000)
        directory.chmod(0o500)
        try:
            with pytest.raises(PermissionDeniedError) as put_info:
                s3dlio.put_bytes(f"file://{directory}/existing.bin", b"new")
            with pytest.raises(PermissionDeniedError) as get_info:
                s3dlio.get(f"file://{directory}/secret.bin")
        finally:
            directory.chmod(0o755)
        assert put_info.value.op == "put"
        assert put_info.value.uri == f"file://{directory}/existing.bin"
        assert get_info.value.op == "get"
        assert (directory / "existing.bin").read_bytes() == b"old"
        assert _temp_files(directory) == []
        return
    # Root bypasses permission bits, so a child drops to an unprivileged uid first.
    # The directory lives under /tmp (traversable) and is owned by root, mode 0o755.
    base = Path(tempfile.mkdtemp(prefix="s3dlio-eacces-", dir="/tmp"))
    try:
        base.chmod(0o755)
        (base / "existing.bin").write_bytes(b"old")
        (base / "existing.bin").chmod(0o644)
        (base / "secret.bin").write_bytes(b"secret")
        (base / "secret.bin").chmod(0o600)
        report = _run_child(_EACCES_CHILD, str(base), "65534")
        put, get = report["put"], report["get"]
        assert isinstance(put, dict) and isinstance(get, dict), report
        assert put == {"type": "PermissionDeniedError", "op": "put",
                       "uri": f"file://{base}/existing.bin", "permission_error": True,
                       "cause_errno": errno.EACCES}
        assert get == {"type": "PermissionDeniedError", "op": "get",
                       "uri": f"file://{base}/secret.bin", "permission_error": True,
                       "cause_errno": errno.EACCES}
        assert (base / "existing.bin").read_bytes() == b"old"
        assert _temp_files(base) == []
    finally:
        shutil.rmtree(base)


# -------------------------------------------------------------- path rules


@pytest.mark.parametrize(
    "uri",
    [
        "file://relative/path.bin",
        "file://relative",
        "file:///data/../etc/passwd",
        "file:///data/..",
        "file:///data/./x.bin",
        "file:///data//x.bin",
        "file:///data/x\x00.bin",
    ],
)
def test_bad_paths_are_invalid(uri: str) -> None:
    with pytest.raises(InvalidPathError):
        s3dlio.get(uri)
    with pytest.raises(InvalidPathError):
        s3dlio.put_bytes(uri, b"x")
    with pytest.raises(InvalidPathError):
        s3dlio.stat(uri)


def test_relative_uri_error_has_hint() -> None:
    with pytest.raises(InvalidPathError, match="file:///"):
        s3dlio.get("file://data/x.bin")


def test_destination_that_is_a_directory_is_invalid(root: str, tmp_path: Path) -> None:
    (tmp_path / "adir").mkdir()
    (tmp_path / "adir" / "keep.bin").write_bytes(b"keep")
    with pytest.raises(InvalidPathError) as info:
        s3dlio.put_bytes(f"{root}adir", b"data")
    assert info.value.op == "put"
    assert info.value.uri == f"{root}adir"
    assert (tmp_path / "adir").is_dir()
    assert (tmp_path / "adir" / "keep.bin").read_bytes() == b"keep"
    assert _temp_files(tmp_path) == []


def test_get_of_a_directory_is_not_an_object(root: str, tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    with pytest.raises((InvalidPathError, NotFoundError)):
        s3dlio.get(f"{root}d")


# ----------------------------------------------------------- directories


def test_parents_created_on_write(root: str, tmp_path: Path) -> None:
    s3dlio.put_bytes(f"{root}a/b/c/d.bin", b"deep")
    assert (tmp_path / "a" / "b" / "c" / "d.bin").read_bytes() == b"deep"


def test_listing_hides_temp_files_only(root: str, tmp_path: Path) -> None:
    s3dlio.put_bytes(f"{root}x/real.bin", b"1")
    (tmp_path / "x" / ".hidden").write_bytes(b"2")  # dot files are objects too
    temp = Path(temp_path_for(str(tmp_path / "x" / "inflight.bin")))
    temp.write_bytes(b"partial")
    assert is_temp_name(temp.name)
    expected = [f"{root}x/.hidden", f"{root}x/real.bin"]
    assert s3dlio.list(f"{root}x/", recursive=True) == expected
    assert s3dlio.list(f"{root}x/", recursive=False) == expected
    assert s3dlio.list(root, recursive=True) == expected


def test_non_recursive_list_shows_subdirectories_with_slash(root: str, tmp_path: Path) -> None:
    s3dlio.put_bytes(f"{root}top.bin", b"t")
    s3dlio.put_bytes(f"{root}sub/inner.bin", b"i")
    s3dlio.put_bytes(f"{root}sub/deeper/x.bin", b"x")
    (tmp_path / "empty").mkdir()
    assert s3dlio.list(root) == [f"{root}empty/", f"{root}sub/", f"{root}top.bin"]
    assert s3dlio.list(f"{root}sub/") == [f"{root}sub/deeper/", f"{root}sub/inner.bin"]
    assert s3dlio.list(root, recursive=True) == [
        f"{root}sub/deeper/x.bin", f"{root}sub/inner.bin", f"{root}top.bin",
    ]


def test_recursive_delete_removes_emptied_directories(root: str, tmp_path: Path) -> None:
    for key in ("t/a/1.bin", "t/a/b/2.bin", "t/a/b/c/3.bin", "t/x/4.bin", "other/5.bin"):
        s3dlio.put_bytes(f"{root}{key}", b"data")
    s3dlio.delete(f"{root}t/", recursive=True)
    assert not (tmp_path / "t").exists()
    assert (tmp_path / "other" / "5.bin").read_bytes() == b"data"
    assert s3dlio.list(root, recursive=True) == [f"{root}other/5.bin"]


def test_recursive_delete_keeps_directories_with_leftovers(root: str, tmp_path: Path) -> None:
    s3dlio.put_bytes(f"{root}t/a/1.bin", b"data")
    s3dlio.put_bytes(f"{root}t/b/2.bin", b"data")
    inflight = Path(temp_path_for(str(tmp_path / "t" / "a" / "3.bin")))
    inflight.write_bytes(b"partial")  # a concurrent writer's temp file is not ours to delete
    s3dlio.delete(f"{root}t/", recursive=True)
    assert inflight.exists()
    assert not (tmp_path / "t" / "b").exists()
    assert s3dlio.list(root, recursive=True) == []


def test_abort_incomplete_uploads_removes_stale_temp_files(root: str, tmp_path: Path) -> None:
    s3dlio.put_bytes(f"{root}d/keep.bin", b"keep")
    stale = Path(temp_path_for(str(tmp_path / "d" / "a.bin")))
    stale.write_bytes(b"old partial")
    old = time.time() - 2 * 86400
    os.utime(stale, (old, old))
    deep_stale = Path(temp_path_for(str(tmp_path / "d" / "e" / "b.bin")))
    deep_stale.parent.mkdir()
    deep_stale.write_bytes(b"old partial")
    os.utime(deep_stale, (old, old))
    fresh = Path(temp_path_for(str(tmp_path / "d" / "c.bin")))
    fresh.write_bytes(b"in progress")
    removed = s3dlio.abort_incomplete_uploads(f"{root}d/", older_than_s=3600)
    assert removed == 2
    assert not stale.exists() and not deep_stale.exists()
    assert fresh.exists()
    assert (tmp_path / "d" / "keep.bin").read_bytes() == b"keep"
    assert s3dlio.abort_incomplete_uploads(f"{root}d/", older_than_s=0) == 1
    assert not fresh.exists()


def test_batches_of_small_cached_files_run_in_the_calling_thread(
        root: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """file:// declares fast_local_items: get_many of small cached files stays in the
    calling thread (threads would only add GIL hand-offs), with the right results."""
    import threading

    from s3dlio.engines.batch import batch_plan
    from s3dlio_posix.store import PosixStore

    uris = [f"{root}small/{i:04d}" for i in range(300)]
    plan = batch_plan(uris[0], len(uris), 64)
    assert plan.inline_fast and plan.window > 1
    s3dlio.put_many([(u, u.encode()) for u in uris])
    threads: set[int] = set()
    original = PosixStore.get

    def get(self: PosixStore, key: str) -> object:
        threads.add(threading.get_ident())
        return original(self, key)

    monkeypatch.setattr(PosixStore, "get", get)
    assert [bytes(d) for _, d in s3dlio.get_many(uris)] == [u.encode() for u in uris]
    assert threads == {threading.get_ident()}


# --------------------------------------------------- capabilities, create-only writes
def test_capabilities() -> None:
    from s3dlio.store import Capability
    from s3dlio_posix.store import PosixStore

    assert PosixStore.capabilities == {Capability.CONDITIONAL_PUT, Capability.GET_INTO,
                                       Capability.BUCKETS, Capability.SERVER_COPY}


def _posix_store(root: str) -> PosixStore:
    from s3dlio_posix.store import PosixStore

    store, _ = rt.resolve(root)
    while not isinstance(store, PosixStore):
        store = store.inner  # type: ignore[attr-defined]
    return store


def test_create_only_write_is_published_by_link(root: str, tmp_path: Path) -> None:
    store = _posix_store(root)
    key = str(tmp_path / "lock")[1:]
    assert store.put_if_absent(key, memoryview(b"mine")) is True
    assert store.put_if_absent(key, memoryview(b"theirs")) is False
    assert (tmp_path / "lock").read_bytes() == b"mine"
    assert os.stat(tmp_path / "lock").st_nlink == 1  # the temp name is gone
    assert _temp_files(tmp_path) == []
    (tmp_path / "adir").mkdir()
    with pytest.raises(InvalidPathError, match="directory"):
        store.put_if_absent(str(tmp_path / "adir")[1:], memoryview(b"x"))
    assert store.put_if_absent(str(tmp_path / "new" / "deep")[1:], memoryview(b"p")) is True
    assert (tmp_path / "new" / "deep").read_bytes() == b"p"  # parents made as for put


def test_create_only_write_without_hard_links_is_not_supported(
        root: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from s3dlio.errors import NotSupportedError

    def no_links(src: str, dst: str) -> None:
        raise OSError(errno.EPERM, "Operation not permitted", dst)

    monkeypatch.setattr(os, "link", no_links)  # what vfat answers
    with pytest.raises(NotSupportedError, match="hard links") as info:
        _posix_store(root).put_if_absent(str(tmp_path / "k")[1:], memoryview(b"x"))
    assert info.value.op == "put" and info.value.uri == "file://" + str(tmp_path / "k")
    assert not (tmp_path / "k").exists() and _temp_files(tmp_path) == []


