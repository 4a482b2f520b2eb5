"""``s3dlio.upload`` / ``download`` / ``transfer.copy`` on file:// and on an in-memory toy store."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest

import s3dlio
from s3dlio.api import transfer
from s3dlio.bytesview import BytesView
from s3dlio.errors import BatchError, InvalidPathError, NotFoundError
from s3dlio.store import ListPage, ObjectMeta, ObjectStore

pytestmark = pytest.mark.timeout(60)

pytest.importorskip("s3dlio_posix", reason="file:// backend (s3dlio-posix) not installed")


class ToyStore(ObjectStore):
    """A dict-backed store whose keys are *not* validated, to feed hostile keys to ``download``."""

    backend: ClassVar[str] = "toy"
    schemes: ClassVar[tuple[str, ...]] = ("toy",)
    data: ClassVar[dict[str, bytes]] = {}
    lock: ClassVar[threading.Lock] = threading.Lock()

    @classmethod
    def split_uri(cls, uri: str) -> tuple[str, str]:
        rest = uri[len("toy://"):]
        bucket, _, key = rest.partition("/")
        return f"toy://{bucket}/", key

    def get(self, key: str) -> BytesView:
        try:
            return BytesView.wrap(memoryview(self.data[key]))
        except KeyError:
            raise NotFoundError(op="get", uri=self.uri(key)) from None

    def get_range_into(self, key: str, offset: int, buf: memoryview) -> int:
        chunk = self.data[key][offset:offset + len(buf)]
        buf[: len(chunk)] = chunk
        return len(chunk)

    def head(self, key: str) -> ObjectMeta:
        if key not in self.data:
            raise NotFoundError(op="stat", uri=self.uri(key))
        return ObjectMeta(key=key, size=len(self.data[key]))

    def put(self, key: str, data: memoryview) -> None:
        with self.lock:
            self.data[key] = bytes(data)

    def list(self, prefix: str = "", *, recursive: bool = True) -> Iterator[ListPage]:
        keys = sorted(k for k in self.data if k.startswith(prefix))
        if recursive:
            yield ListPage(keys=keys)
            return
        direct = [k for k in keys if "/" not in k[len(prefix):]]
        subdirs = sorted({prefix + k[len(prefix):].split("/", 1)[0] + "/" for k in keys if k not in direct})
        yield ListPage(keys=direct, prefixes=subdirs)

    def delete(self, key: str) -> None:
        self.data.pop(key, None)

    def copy(self, src_key: str, dst_key: str) -> None:
        self.data[dst_key] = self.data[src_key]


@pytest.fixture
def toy(monkeypatch: pytest.MonkeyPatch) -> dict[str, bytes]:
    """Serve ``toy://`` from :class:`ToyStore` in the process runtime; return its data dict."""
    from s3dlio.plugin.runtime import runtime

    rt = runtime()
    monkeypatch.setitem(rt._classes, "toy", ToyStore)
    monkeypatch.setattr(ToyStore, "data", {})
    yield ToyStore.data
    rt._stores.pop(("toy", "toy://b/"), None)


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _uri(path: Path) -> str:
    return "file://" + str(path)


# ------------------------------------------------------------------------------ upload


def test_upload_globs_dirs_and_summary(tmp_path: Path) -> None:
    src = tmp_path / "src"
    (src / "sub" / "deep").mkdir(parents=True)
    (src / "a.txt").write_bytes(b"a")
    (src / "b.bin").write_bytes(b"bb")
    (src / "sub" / "c.txt").write_bytes(b"ccc")
    (src / "sub" / "deep" / "d.txt").write_bytes(b"dddd")
    dest = tmp_path / "dest"
    result = s3dlio.upload(str(src / "**" / "*.txt"), _uri(dest))
    assert result == {"attempted": 3, "succeeded": 3, "failed": 0, "skipped": 0, "bytes": 8}
    assert _tree(dest) == {"a.txt": b"a", "c.txt": b"ccc", "d.txt": b"dddd"}
    # A directory means its top-level files only.
    dest2 = tmp_path / "dest2"
    s3dlio.upload([str(src)], _uri(dest2) + "/")
    assert _tree(dest2) == {"a.txt": b"a", "b.bin": b"bb"}


def test_upload_question_mark_glob(tmp_path: Path) -> None:
    for name in ("f1", "f2", "f10"):
        (tmp_path / name).write_bytes(name.encode())
    s3dlio.upload(str(tmp_path / "f?"), _uri(tmp_path / "out"))
    assert sorted(_tree(tmp_path / "out")) == ["f1", "f2"]


def test_upload_nothing_matched(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match=r"^upload .*\*\.none: no files matched$"):
        s3dlio.upload(str(tmp_path / "*.none"), _uri(tmp_path / "out"))
    with pytest.raises(NotFoundError, match=r"^upload .*missing\.txt: no such file or directory$"):
        s3dlio.upload(str(tmp_path / "missing.txt"), _uri(tmp_path / "out"))


def test_upload_name_clash_is_value_error_before_transfer(tmp_path: Path) -> None:
    (tmp_path / "x").mkdir()
    (tmp_path / "y").mkdir()
    (tmp_path / "x" / "same.txt").write_bytes(b"1")
    (tmp_path / "y" / "same.txt").write_bytes(b"2")
    (tmp_path / "x" / "other.txt").write_bytes(b"3")
    with pytest.raises(ValueError, match="same name"):
        s3dlio.upload([str(tmp_path / "x"), str(tmp_path / "y")], _uri(tmp_path / "out"))
    assert not (tmp_path / "out").exists()


def test_upload_same_file_twice_is_not_a_clash(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_bytes(b"a")
    result = s3dlio.upload([str(tmp_path / "a.txt"), str(tmp_path / "*.txt")], _uri(tmp_path / "o"))
    assert result["attempted"] == 1


def test_upload_partial_failure_raises_batch_error_after_all_settle(tmp_path: Path) -> None:
    for name in ("a", "b", "c"):
        (tmp_path / name).write_bytes(name.encode())
    dest = tmp_path / "dest"
    (dest / "b").mkdir(parents=True)  # a directory where file "b" must go
    with pytest.raises(BatchError) as info:
        s3dlio.upload([str(tmp_path / n) for n in "abc"], _uri(dest), max_in_flight=2)
    err = info.value
    assert err.succeeded == 2
    assert [u for u, _ in err.failures] == [str(tmp_path / "b")]
    assert (dest / "a").read_bytes() == b"a" and (dest / "c").read_bytes() == b"c"


def test_upload_bad_window(tmp_path: Path) -> None:
    (tmp_path / "a").write_bytes(b"a")
    with pytest.raises(ValueError):
        s3dlio.upload(str(tmp_path / "a"), _uri(tmp_path / "o"), max_in_flight=0)


# ------------------------------------------------------------------------------ download


def test_round_trip_keeps_relative_paths(tmp_path: Path) -> None:
    base = _uri(tmp_path / "store")
    files = {"a.txt": b"1", "d1/b.txt": b"22", "d1/d2/c.txt": b"333"}
    for rel, data in files.items():
        s3dlio.put_bytes(f"{base}/{rel}", data)
    result = s3dlio.download(base + "/", str(tmp_path / "out"))
    assert result["succeeded"] == 3 and result["bytes"] == 6
    assert _tree(tmp_path / "out") == files
    # Non-recursive: direct children only.
    s3dlio.download(base, str(tmp_path / "flat"), recursive=False)
    assert _tree(tmp_path / "flat") == {"a.txt": b"1"}
    # One object → its basename.
    s3dlio.download(f"{base}/d1/d2/c.txt", str(tmp_path / "one"))
    assert _tree(tmp_path / "one") == {"c.txt": b"333"}


def test_download_glob(tmp_path: Path) -> None:
    base = _uri(tmp_path / "store")
    for rel in ("x.npz", "y.npz", "z.txt"):
        s3dlio.put_bytes(f"{base}/{rel}", b"d")
    s3dlio.download(base + "/*.npz", str(tmp_path / "out"))
    assert sorted(_tree(tmp_path / "out")) == ["x.npz", "y.npz"]


def test_download_nothing_found(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError):
        s3dlio.download(_uri(tmp_path / "nothing") + "/", str(tmp_path / "out"))


def test_download_hostile_keys_fail_their_item_only(tmp_path: Path, toy: dict[str, bytes]) -> None:
    toy.update({
        "p/ok.txt": b"ok",
        "p/sub/fine.txt": b"fine",
        "p/../../escape.txt": b"evil",
        "p/a/../../up.txt": b"evil",
        "p//empty.txt": b"evil",
        "p/nul\x00.txt": b"evil",
        "p/clash": b"file",
        "p/clash/child": b"child",
    })
    dest = tmp_path / "dest"
    with pytest.raises(BatchError) as info:
        s3dlio.download("toy://b/p/", str(dest))
    failed = {u for u, _ in info.value.failures}
    assert failed == {
        "toy://b/p/../../escape.txt", "toy://b/p/a/../../up.txt", "toy://b/p//empty.txt",
        "toy://b/p/nul\x00.txt", "toy://b/p/clash",
    }
    assert all(isinstance(e, InvalidPathError) for _, e in info.value.failures)
    assert info.value.succeeded == 3
    assert _tree(dest) == {"ok.txt": b"ok", "sub/fine.txt": b"fine", "clash/child": b"child"}
    # Nothing landed outside the destination.
    assert sorted(os.listdir(tmp_path)) == ["dest"]


def test_download_refuses_symlink_escape(tmp_path: Path, toy: dict[str, bytes]) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    dest = tmp_path / "dest"
    dest.mkdir()
    (dest / "link").symlink_to(outside)
    toy["q/link/x.txt"] = b"evil"
    with pytest.raises(BatchError):
        s3dlio.download("toy://b/q/", str(dest))
    assert list(outside.iterdir()) == []


def test_download_is_atomic_per_file(tmp_path: Path, toy: dict[str, bytes]) -> None:
    toy["r/a.bin"] = b"x" * 1000
    s3dlio.download("toy://b/r/", str(tmp_path))
    assert [p.name for p in tmp_path.iterdir()] == ["a.bin"]  # no temp files left behind


# ------------------------------------------------------------------------------ copy


def test_copy_local_to_uri_and_back(tmp_path: Path) -> None:
    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    (src / "a.txt").write_bytes(b"a")
    (src / "sub" / "b.log").write_bytes(b"b")
    base = _uri(tmp_path / "store")
    transfer.copy(str(src), base + "/", recursive=True)
    assert s3dlio.list_keys(base, recursive=True) == ["a.txt", "sub/b.log"]
    transfer.copy(base + "/", str(tmp_path / "back"), recursive=True, filters=[("exclude", "*.log")])
    assert _tree(tmp_path / "back") == {"a.txt": b"a"}
    # Single object to a local file name, and URI → URI.
    transfer.copy(base + "/a.txt", str(tmp_path / "single.txt"))
    assert (tmp_path / "single.txt").read_bytes() == b"a"
    transfer.copy(base + "/a.txt", base + "/copy.txt")
    assert s3dlio.get(base + "/copy.txt") == b"a"


def test_copy_cross_backend_no_clobber_and_dry_run(tmp_path: Path, toy: dict[str, bytes]) -> None:
    toy.update({"c/one": b"1", "c/two": b"2"})
    base = _uri(tmp_path / "store")
    s3dlio.put_bytes(base + "/two", b"old")
    plans: list[tuple[str, str]] = []
    result = transfer.copy("toy://b/c/", base + "/", recursive=True, dry_run=True,
                           on_plan=lambda s, d: plans.append((s, d)))
    assert len(plans) == 2 and s3dlio.list(base) == [base + "/two"]
    result = transfer.copy("toy://b/c/", base + "/", recursive=True, no_clobber=True)
    assert result["skipped"] == 1 and result["succeeded"] == 1
    assert s3dlio.get(base + "/one") == b"1" and s3dlio.get(base + "/two") == b"old"


def test_copy_filters_later_wins() -> None:
    assert transfer._selected("a.txt", [("exclude", "*"), ("include", "*.txt")])
    assert not transfer._selected("a.txt", [("include", "*.txt"), ("exclude", "*")])


def test_copy_directory_needs_recursive(tmp_path: Path) -> None:
    with pytest.raises(InvalidPathError, match="-r"):
        transfer.copy(str(tmp_path), _uri(tmp_path / "x"))


def test_async_twins(tmp_path: Path) -> None:
    import asyncio

    (tmp_path / "a").write_bytes(b"a")
    out: Any = asyncio.run(s3dlio.upload_async(str(tmp_path / "a"), _uri(tmp_path / "s")))
    assert out["succeeded"] == 1
    out = asyncio.run(s3dlio.download_async(_uri(tmp_path / "s") + "/", str(tmp_path / "d")))
    assert (tmp_path / "d" / "a").read_bytes() == b"a"
