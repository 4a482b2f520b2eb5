"""S3dlioFileSystem beyond fsspec's abstract suite: ranges, streamed writes, server-side copy,
callbacks, registration, and pandas / pyarrow through it (file:// and moto)."""

from __future__ import annotations

import importlib
import os
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("s3dlio_posix")
fsspec = pytest.importorskip("fsspec")

import s3dlio  # noqa: E402
from s3dlio.errors import ConfigError  # noqa: E402
from s3dlio_fsspec.filesystem import DirectFileSystem, S3dlioFileSystem, register  # noqa: E402

pytestmark = pytest.mark.timeout(120)

_fs_registry = importlib.import_module("fsspec.registry")


@pytest.fixture
def fs() -> S3dlioFileSystem:
    return S3dlioFileSystem()


def test_served_as_s3dlio_fsspec() -> None:
    import s3dlio.fsspec

    assert s3dlio.fsspec.S3dlioFileSystem is S3dlioFileSystem
    assert fsspec.get_filesystem_class("direct") is DirectFileSystem  # the fsspec.specs entry point


def test_paths_are_full_uris(fs: S3dlioFileSystem, tmp_path: Path) -> None:
    base = tmp_path.as_uri()
    fs.pipe_file(base + "/d/a.bin", b"0123456789")
    assert fs.ls(base, detail=False) == [base + "/d"]
    assert fs.ls(str(tmp_path / "d"), detail=False) == [base + "/d/a.bin"]  # a bare path is file://
    assert fs.find(base) == [base + "/d/a.bin"]
    assert fs.glob(base + "/*/*.bin") == [base + "/d/a.bin"]
    info = fs.info(base + "/d/a.bin")
    assert info["type"] == "file" and info["size"] == 10 and info["name"] == base + "/d/a.bin"
    assert fs.info(base + "/d")["type"] == "directory"
    assert fs.exists(base + "/d/a.bin") and not fs.exists(base + "/d/nope")
    with pytest.raises(FileNotFoundError):
        fs.info(base + "/nope")
    with pytest.raises(FileNotFoundError):
        fs.cat_file(base + "/nope")
    assert fs.modified(base + "/d/a.bin").tzinfo is not None
    before = fs.checksum(base + "/d/a.bin")
    fs.pipe_file(base + "/d/a.bin", b"changed!!!!")
    assert fs.checksum(base + "/d/a.bin") != before
    assert S3dlioFileSystem._parent(base + "/d/a.bin") == base + "/d"
    assert S3dlioFileSystem._strip_protocol("file:///") == "file:///"


def test_ranges_and_buffered_reads(fs: S3dlioFileSystem, tmp_path: Path) -> None:
    uri = tmp_path.as_uri() + "/r.bin"
    data = os.urandom(3 << 20)
    fs.pipe_file(uri, data)
    assert fs.cat_file(uri, start=5, end=20) == data[5:20]
    assert fs.cat_file(uri, start=-10) == data[-10:]
    assert fs.cat_file(uri, start=10, end=5) == b""
    out = fs.cat_ranges([uri, uri, tmp_path.as_uri() + "/missing"], [0, 100, 0], [4, 200, 1])
    assert out[0] == data[:4] and out[1] == data[100:200] and isinstance(out[2], FileNotFoundError)
    with fs.open(uri, "rb", block_size=1 << 20) as f:
        f.seek(2 << 20)
        buf = bytearray(1000)
        assert f.readinto(buf) == 1000 and bytes(buf) == data[2 << 20:(2 << 20) + 1000]
        f.seek(-5, 2)
        assert f.read() == data[-5:]
        f.seek(0)
        assert f.read(7) == data[:7]


def test_streamed_write_and_abort(fs: S3dlioFileSystem, tmp_path: Path) -> None:
    uri = tmp_path.as_uri() + "/w.bin"
    chunks = [os.urandom(1 << 20) for _ in range(10)]
    with fs.open(uri, "wb", block_size=2 << 20) as f:
        for c in chunks:
            f.write(c)
    assert fs.cat_file(uri) == b"".join(chunks)
    failed = tmp_path.as_uri() + "/failed.bin"
    with pytest.raises(RuntimeError, match="boom"), fs.open(failed, "wb", block_size=1 << 20) as f:
        f.write(os.urandom(3 << 20))
        raise RuntimeError("boom")
    assert not fs.exists(failed)  # an aborted write publishes nothing
    with pytest.raises(FileExistsError):
        fs.open(uri, "xb")
    with pytest.raises(NotImplementedError):
        fs.open(uri, "ab")


def test_put_get_with_callbacks_and_rm(fs: S3dlioFileSystem, tmp_path: Path) -> None:
    src = tmp_path / "local.bin"
    payload = os.urandom((8 << 20) + 123)  # above one block: streamed in pieces
    src.write_bytes(payload)
    base = tmp_path.as_uri() + "/remote"

    class Counting(fsspec.callbacks.Callback):  # type: ignore[misc]
        pass

    up = Counting()
    fs.put_file(str(src), base + "/x.bin", callback=up)
    assert up.size == len(payload) and up.value == len(payload)
    down = Counting()
    dest = tmp_path / "back.bin"
    fs.get_file(base + "/x.bin", str(dest), callback=down)
    assert dest.read_bytes() == payload and down.value == len(payload)
    small = Counting()
    fs.get_file(base + "/x.bin", str(tmp_path / "s.bin"), callback=small)
    fs.makedirs(base + "/empty/deeper", exist_ok=True)
    with pytest.raises(FileExistsError):
        fs.makedirs(base + "/empty/deeper")
    assert fs.isdir(base + "/empty/deeper")
    fs.rm(base, recursive=True)
    assert not fs.exists(base) and not (tmp_path / "remote").exists()


def test_register_and_direct(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigError, match=r"installed: .*file"):
        register("nosuchproto")
    monkeypatch.delitem(_fs_registry._registry, "file", raising=False)
    assert register("file") == []  # fsspec's LocalFileSystem owns file://: left alone
    assert register("file", clobber=True) == ["file"]
    fs = fsspec.filesystem("file")
    assert isinstance(fs, S3dlioFileSystem)
    with fsspec.open(tmp_path.as_uri() + "/via-open.txt", "wt") as f:
        f.write("hello")
    assert (tmp_path / "via-open.txt").read_text() == "hello"
    monkeypatch.delitem(_fs_registry._registry, "file")
    # direct:// through its entry point: bare paths are direct:// paths
    direct = fsspec.filesystem("direct")
    assert direct._strip_protocol(str(tmp_path / "d.bin")) == "direct://" + str(tmp_path / "d.bin")


def test_pandas_and_pyarrow_dataset(fs: S3dlioFileSystem, tmp_path: Path) -> None:
    pd = pytest.importorskip("pandas")
    pytest.importorskip("pyarrow")
    import pyarrow.dataset as ds
    from pyarrow.fs import FSSpecHandler, PyFileSystem

    base = tmp_path.as_uri() + "/tables"
    frame = pd.DataFrame({"a": range(100), "b": [f"s{i}" for i in range(100)]})
    frame.to_parquet(base + "/part-0.parquet", filesystem=fs)
    frame.iloc[:10].to_parquet(base + "/part-1.parquet", filesystem=fs)
    back = pd.read_parquet(base + "/part-0.parquet", filesystem=fs)
    assert back.equals(frame)
    csv = tmp_path.as_uri() + "/csv/t.csv"
    with fs.open(csv, "wb") as f:
        f.write(frame.to_csv(index=False).encode())
    with fs.open(csv, "rb") as f:
        assert pd.read_csv(f).equals(frame)
    pafs = PyFileSystem(FSSpecHandler(fs))
    dataset = ds.dataset(base, format="parquet", filesystem=pafs)
    assert dataset.count_rows() == 110
    assert sorted(dataset.to_table().column("a").to_pylist()) == sorted([*range(100), *range(10)])


# ------------------------------------------------------------------------------ moto


def _calls(uri: str) -> Counter[str]:
    """Counts the S3 API calls of the store serving ``uri`` (botocore's and the lean path's)."""
    from s3dlio.plugin.runtime import resolve

    store, _ = resolve(uri)
    while hasattr(store, "inner"):
        store = store.inner
    counts: Counter[str] = Counter()
    conn: Any = store._conn  # type: ignore[attr-defined]
    conn.client.meta.events.register("before-call.s3", lambda model, **_: counts.update([model.name]))
    if conn.rest is not None:
        conn.rest.observers.append(lambda op: counts.update([op]))
    return counts


def test_moto_server_side_copy_and_multipart_write(fs: S3dlioFileSystem, bucket: str,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    src = bucket + "/copy/src.bin"
    fs.pipe_file(src, b"x" * 1000)
    calls = _calls(src)
    fs.cp_file(src, bucket + "/copy/dst.bin")
    assert calls["CopyObject"] == 1 and calls["GetObject"] == 0  # no bytes through this process
    assert fs.cat_file(bucket + "/copy/dst.bin") == b"x" * 1000

    big = bucket + "/mp/big.bin"
    chunks = [os.urandom(6 << 20) for _ in range(3)]
    with fs.open(big, "wb") as f:
        for c in chunks:
            f.write(c)
    assert calls["CreateMultipartUpload"] == 1 and calls["UploadPart"] >= 2
    assert fs.info(big)["size"] == 18 << 20
    assert fs.cat_file(big, start=(6 << 20) - 3, end=(6 << 20) + 3) == chunks[0][-3:] + chunks[1][:3]
    with pytest.raises(RuntimeError), fs.open(bucket + "/mp/aborted.bin", "wb") as f:
        block = os.urandom(8 << 20)
        for _ in range(4):  # past the writer's first part: an upload is under way
            f.write(block)
        raise RuntimeError("stop")
    assert not fs.exists(bucket + "/mp/aborted.bin")
    assert calls["CreateMultipartUpload"] == 2 and calls["AbortMultipartUpload"] == 1, calls


def test_moto_pandas_through_registered_s3(bucket: str, monkeypatch: pytest.MonkeyPatch) -> None:
    pd = pytest.importorskip("pandas")
    pytest.importorskip("pyarrow")
    monkeypatch.delitem(_fs_registry._registry, "s3", raising=False)
    assert register("s3", clobber=True) == ["s3"]
    frame = pd.DataFrame({"x": [1.5, 2.5, 3.5], "y": ["a", "b", "c"]})
    frame.to_parquet(bucket + "/pd/f.parquet")
    assert pd.read_parquet(bucket + "/pd/f.parquet").equals(frame)
    frame.to_csv(bucket + "/pd/f.csv", index=False)
    assert pd.read_csv(bucket + "/pd/f.csv").equals(frame)
    assert s3dlio.get(bucket + "/pd/f.csv").memoryview().tobytes() == frame.to_csv(index=False).encode()
    monkeypatch.delitem(_fs_registry._registry, "s3")


def test_dask_dataframe_parquet_round_trip(fs: S3dlioFileSystem, tmp_path: Path) -> None:
    pd = pytest.importorskip("pandas")
    pytest.importorskip("pyarrow")
    dask = pytest.importorskip("dask")
    dd = pytest.importorskip("dask.dataframe")

    frame = pd.DataFrame({"a": range(50), "b": [str(i) for i in range(50)]})
    target = tmp_path.as_uri() + "/dd"
    with dask.config.set(scheduler="synchronous"):
        dd.to_parquet(dd.from_pandas(frame, npartitions=3), target, filesystem=fs)
        assert len(fs.glob(target + "/*.parquet")) == 3
        back = dd.read_parquet(target, filesystem=fs).compute()
    assert sorted(back["a"].tolist()) == list(range(50))


def test_pickles_for_workers(tmp_path: Path) -> None:
    import pickle

    from s3dlio_fsspec.filesystem import bound_class

    for fs in (S3dlioFileSystem(), bound_class("file")(), DirectFileSystem()):
        clone = pickle.loads(pickle.dumps(fs))
        assert type(clone).protocol == type(fs).protocol
        assert clone._strip_protocol("x/y") == fs._strip_protocol("x/y")
