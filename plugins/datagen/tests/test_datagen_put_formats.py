"""``put()`` on file:// and the NPZ / TFRecord / HDF5 / Parquet payloads."""

from __future__ import annotations

import asyncio
import hashlib
import importlib.util
import io
import struct
import zipfile
from pathlib import Path

import numpy as np
import pytest

import s3dlio
from s3dlio_datagen._crc32c import crc32c, masked_crc32c

zstd = pytest.importorskip("zstandard")
pytest.importorskip("s3dlio_posix")

pytestmark = pytest.mark.timeout(120)

KiB = 1 << 10
MiB = 1 << 20


def _crc32c_reference(data: bytes) -> int:
    crc = 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ 0x82F63B78 if crc & 1 else crc >> 1
    return crc ^ 0xFFFFFFFF


def _masked(crc: int) -> int:
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def read_tfrecords(data: bytes, crc: object = None) -> list[bytes]:
    """A minimal TFRecord reader that checks both masked CRC-32Cs."""
    crc_fn = crc or _crc32c_reference
    out, pos = [], 0
    while pos < len(data):
        if pos + 12 > len(data):
            raise ValueError(f"Truncated TFRecord at offset {pos}")
        (length,) = struct.unpack_from("<Q", data, pos)
        (len_crc,) = struct.unpack_from("<I", data, pos + 8)
        assert len_crc == _masked(crc_fn(data[pos: pos + 8])), "length CRC"  # type: ignore[operator]
        payload = data[pos + 12: pos + 12 + length]
        (data_crc,) = struct.unpack_from("<I", data, pos + 12 + length)
        assert data_crc == _masked(crc_fn(payload)), "data CRC"  # type: ignore[operator]
        out.append(payload)
        pos += 16 + length
    return out


def zstd_ratio(raw: bytes) -> float:
    return len(raw) / len(zstd.ZstdCompressor(level=1).compress(raw))


# ----------------------------------------------------------------------------- CRC-32C


def test_crc32c_known_values() -> None:
    assert crc32c(b"123456789") == 0xE3069283
    assert crc32c(b"") == 0
    rng = np.random.default_rng(0)
    for n in (1, 4095, 4096, 4097, 65_537, 300_001):
        data = rng.integers(0, 256, n, dtype=np.uint8).tobytes()
        expected = _crc32c_reference(data) if n < 70_000 else None
        got = crc32c(data)
        if expected is not None:
            assert got == expected, n
        assert masked_crc32c(data) == _masked(got)
    # the vectorised path agrees with the bytewise one on a large input
    from s3dlio_datagen._crc32c import _MASK32, _update_small

    data = rng.integers(0, 256, 1_234_567, dtype=np.uint8).tobytes()
    assert crc32c(data) == _update_small(_MASK32, data) ^ _MASK32


# ----------------------------------------------------------------------------- put


def _files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


def test_put_unique_incompressible_objects(tmp_path: Path) -> None:
    prefix = tmp_path.as_uri() + "/ds"
    s3dlio.put(prefix, 24, size=256 * KiB, max_in_flight=8)
    files = _files(tmp_path / "ds")
    assert [f.name for f in files] == sorted(f"object-{i}" for i in range(24))
    datas = [f.read_bytes() for f in files]
    assert all(len(d) == 256 * KiB for d in datas)
    assert len({hashlib.sha256(d).digest() for d in datas}) == 24
    assert all(zstd_ratio(d) <= 1.01 for d in datas)
    # no 4 KiB block is shared between objects
    chunks = [d[i: i + 4096] for d in datas for i in range(0, len(d), 4096)]
    assert len(set(chunks)) == len(chunks)


@pytest.mark.parametrize("size", [0, 1, 100, 4095, 4097, MiB - 1, MiB + 1])
def test_put_exact_sizes(tmp_path: Path, size: int) -> None:
    s3dlio.put(tmp_path.as_uri(), 3, template="o_{}_of_{}.dat", size=size, object_type="RAW")
    files = _files(tmp_path)
    assert [f.name for f in files] == [f"o_{i}_of_3.dat" for i in range(3)]
    assert all(f.stat().st_size == size for f in files)
    if size >= 16:
        assert len({f.read_bytes() for f in files}) == 3


def test_put_dedup_compress_and_seed(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    s3dlio.put(a.as_uri(), 3, size=4 * MiB, compress_factor=2, dedup_factor=2, seed=11)
    s3dlio.put(b.as_uri(), 3, size=4 * MiB, compress_factor=2, dedup_factor=2, seed=11)
    fa, fb = _files(a), _files(b)
    assert [f.read_bytes() for f in fa] == [f.read_bytes() for f in fb]
    data = fa[0].read_bytes()
    assert abs(zstd_ratio(data) - 2) < 0.04
    blocks = {data[i: i + MiB] for i in range(0, len(data), MiB)}
    assert len(blocks) == 2
    from s3dlio_datagen.api import make_object

    assert make_object(4 * MiB, "raw", 2, 2, seed=11, index=1) == fa[1].read_bytes()


def test_put_npz_tfrecord(tmp_path: Path) -> None:
    s3dlio.put(tmp_path.as_uri() + "/n", 4, template="f{}.npz", size=10_000, object_type="npz")
    for f in _files(tmp_path / "n"):
        with np.load(f) as z:
            x = z["x"]
        assert x.dtype == np.uint8 and x.shape == (10_000,)
        assert zipfile.ZipFile(f).testzip() is None
    s3dlio.put(tmp_path.as_uri() + "/t", 3, template="r{}.tfrecord", size=5000, object_type="TFRecord")
    payloads = []
    for f in _files(tmp_path / "t"):
        data = f.read_bytes()
        assert len(data) == 5000 + 16
        (rec,) = read_tfrecords(data)
        assert len(rec) == 5000
        payloads.append(rec)
    assert len(set(payloads)) == 3
    s3dlio.put(tmp_path.as_uri() + "/z", 1, size=0, object_type="tfrecord")
    assert read_tfrecords(_files(tmp_path / "z")[0].read_bytes()) == [b""]


@pytest.mark.parametrize(("size", "dedup", "compress"), [
    (3 * MiB + 5, 2, 3), (2 * MiB, 1, 1), (MiB, 1, 4), (300_000, 1, 2), (100, 1, 1), (0, 1, 1)])
def test_put_npz_member_crc_is_the_bytes_crc(tmp_path: Path, size: int, dedup: int, compress: int) -> None:
    """The zip CRC-32 of a generated NPZ member is derived from the blocks' keys, not read
    back: zipfile must find it equal to the CRC of the bytes it reads."""
    import zlib

    root = tmp_path / f"n{size}"
    s3dlio.put(root.as_uri(), 2, template="f{}.npz", size=size, object_type="npz",
               dedup_factor=dedup, compress_factor=compress, seed=3)
    for f in _files(root):
        with zipfile.ZipFile(f) as z:
            assert z.testzip() is None
            (info,) = z.infolist()
            member = z.read(info)
        assert zlib.crc32(member) == info.CRC
        with np.load(f) as npz:
            assert npz["x"].shape == (size,)
    a, b = (f.read_bytes() for f in _files(root))
    assert a != b or size == 0


def test_crc32_ieee_spec_matches_zlib() -> None:
    import zlib

    from s3dlio_datagen._crc32c import IEEE

    rng = np.random.default_rng(5)
    for n in (0, 1, 3, 4095, 4096, 70_001):
        data = rng.integers(0, 256, n, dtype=np.uint8).tobytes()
        assert IEEE.value(data) == zlib.crc32(data), n
        cut = n // 3
        assert IEEE.combine(zlib.crc32(data[:cut]), zlib.crc32(data[cut:]), n - cut) == zlib.crc32(data)


def test_put_large_tfrecord_crc(tmp_path: Path) -> None:
    s3dlio.put(tmp_path.as_uri(), 1, size=3 * MiB + 7, object_type="tfrecord")
    data = _files(tmp_path)[0].read_bytes()
    (rec,) = read_tfrecords(data, crc=crc32c)  # vectorised CRC checked against the bytewise one above
    assert len(rec) == 3 * MiB + 7


def test_put_hdf5(tmp_path: Path) -> None:
    if importlib.util.find_spec("h5py") is None:
        with pytest.raises(ImportError, match=r"s3dlio-datagen\[hdf5\]"):
            s3dlio.put(tmp_path.as_uri(), 1, size=100, object_type="hdf5")
        with pytest.raises(s3dlio.FeatureNotInstalledError):
            s3dlio.put(tmp_path.as_uri(), 1, size=100, object_type="hdf5")
        assert _files(tmp_path) == []
        return
    import h5py  # pragma: no cover - optional

    s3dlio.put(tmp_path.as_uri(), 2, size=1000, object_type="hdf5")
    for f in _files(tmp_path):
        with h5py.File(f) as h:
            assert h["data"].shape == (1000,)


def test_put_validation(tmp_path: Path) -> None:
    uri = tmp_path.as_uri()
    with pytest.raises(ValueError, match="object_type"):
        s3dlio.put(uri, 1, size=10, object_type="jpeg")
    with pytest.raises(ValueError, match="data_gen_algorithm"):
        s3dlio.put(uri, 1, size=10, data_gen_algorithm="fancy")
    with pytest.raises(ValueError, match="data_gen_mode"):
        s3dlio.put(uri, 1, size=10, data_gen_mode="bursty")
    with pytest.raises(ValueError):
        s3dlio.put(uri, 1, size=10, max_in_flight=0)
    with pytest.raises(ValueError):
        s3dlio.put(uri, -1, size=10)
    assert _files(tmp_path) == []
    for algo, mode in (("PRAND", "single-pass"), ("random", "streaming")):
        s3dlio.put(uri + "/" + algo, 2, size=1000, data_gen_algorithm=algo, data_gen_mode=mode,
                   chunk_size=100)
    s3dlio.put(uri + "/zeros", 2, size=1000, data_gen_algorithm="zeros")
    assert all(f.read_bytes() == bytes(1000) for f in _files(tmp_path / "zeros"))
    s3dlio.put(uri + "/none", 0, size=10)


def test_put_default_size_and_create_bucket(tmp_path: Path) -> None:
    target = tmp_path / "new" / "bucket"
    s3dlio.put(target.as_uri(), 1, should_create_bucket=True)
    (f,) = _files(target)
    assert f.stat().st_size == 20 * MiB and f.name == "object-0"


def test_put_async(tmp_path: Path) -> None:
    asyncio.run(s3dlio.put_async(tmp_path.as_uri(), 5, size=1000, max_in_flight=2))
    assert len(_files(tmp_path)) == 5


def test_put_failure_raises_batch_error(tmp_path: Path) -> None:
    (tmp_path / "blocker").write_bytes(b"x")  # a file where a directory is needed
    with pytest.raises(s3dlio.BatchError) as info:
        s3dlio.put((tmp_path / "blocker").as_uri(), 3, size=10)
    assert len(info.value.failures) == 3


# ----------------------------------------------------------------------------- NPZ / Parquet


def test_generate_npz_bytes_loads() -> None:
    data = s3dlio.generate_npz_bytes([64, 32, 1], num_samples=3)
    assert isinstance(data, s3dlio.BytesView)
    with np.load(io.BytesIO(bytes(data))) as z:
        assert z["x"].shape == (64, 32, 1) and z["x"].dtype == np.float32
        assert z["y"].dtype == np.int64 and z["y"].tolist() == [0, 0, 0]
    assert zipfile.ZipFile(io.BytesIO(bytes(data))).testzip() is None
    with np.load(io.BytesIO(bytes(s3dlio.generate_npz_bytes(1000, dtype="uint8")))) as z:
        assert z["x"].shape == (1000,) and z["x"].any()
    with np.load(io.BytesIO(bytes(s3dlio.generate_npz_bytes([256, 1024], num_samples=9000)))) as z:
        assert z["x"].shape == (256, 1024) and not z["y"].any() and z["y"].shape == (9000,)
    with np.load(io.BytesIO(bytes(s3dlio.generate_npz_bytes([0, 5])))) as z:
        assert z["x"].shape == (0, 5)
    assert s3dlio.generate_npz_bytes([100]) != s3dlio.generate_npz_bytes([100])


def test_parquet(tmp_path: Path) -> None:
    if importlib.util.find_spec("pyarrow") is None:
        with pytest.raises(ImportError, match=r"s3dlio-datagen\[parquet\]"):
            s3dlio.generate_parquet_bytes(2, 10, 1)
        return
    import pyarrow.parquet as pq  # pragma: no cover - optional

    table = pq.read_table(io.BytesIO(bytes(s3dlio.generate_parquet_bytes(3, 100, 2))))
    assert table.num_rows == 200 and table.column_names == ["col0", "col1", "col2"]
    uri = tmp_path.as_uri() + "/s.parquet"
    n = s3dlio.generate_and_write_parquet_schema_streaming(uri, [("a", 1), ("v", 4)], 50, 3)
    assert n == (tmp_path / "s.parquet").stat().st_size
    t = pq.read_table(tmp_path / "s.parquet")
    assert t.num_rows == 150 and t.schema.field("v").type.list_size == 4


@pytest.mark.parametrize(("size", "dedup", "compress"), [
    (3 * MiB, 1, 1), (5 * MiB + 17, 2, 3), (4 * MiB, 4, 4), (MiB + 1, 1, 2), (7 * MiB + 12345, 3, 3),
    (2 * MiB, 1, 7), (MiB, 1, 1), (1000, 1, 3), (MiB - 3, 1, 2), (100_000, 1, 1),
])
def test_structured_crc_matches(size: int, dedup: int, compress: int) -> None:
    import zlib

    from s3dlio_datagen._crc32c import IEEE, PatternCRC, _crc32c_fallback
    from s3dlio_datagen._engine import BlockPattern, derive, make_base

    rlen = BlockPattern.layout(size, compress)
    base = make_base(99, rlen)
    first = BlockPattern(size, dedup, compress, entropy=1, base=base)
    crcs = PatternCRC(base, rlen, first.block)
    zip_crcs = PatternCRC(base, rlen, first.block, IEEE)
    if size >= 64 * KiB:  # derived from the keys: reading the bytes back would be a failure
        def read_back(data: np.ndarray) -> int:
            raise AssertionError("the CRC was read back from the bytes")

        crcs.fallback = zip_crcs.fallback = read_back  # type: ignore[method-assign]
    for i in range(2):
        pat = BlockPattern(size, dedup, compress, entropy=1, base=base, key_seed=derive(1, 5, i))
        data = np.empty(size, dtype=np.uint8)
        pat.fill(data, 0)
        assert crcs.crc(pat, data) == _crc32c_fallback(data)
        assert zip_crcs.crc(pat, data) == zlib.crc32(data.data)


def test_put_tfrecord_dedup_compress(tmp_path: Path) -> None:
    s3dlio.put(tmp_path.as_uri(), 2, size=5 * MiB + 3, object_type="tfrecord", dedup_factor=2,
               compress_factor=3)
    for f in _files(tmp_path):
        (rec,) = read_tfrecords(f.read_bytes(), crc=crc32c)
        assert len(rec) == 5 * MiB + 3


def test_put_streaming_large_objects_bounded_memory(tmp_path: Path) -> None:
    import tracemalloc

    from s3dlio_datagen.api import STREAM_MIN, make_object

    size = STREAM_MIN + 3 * MiB + 5
    tracemalloc.start()
    try:
        s3dlio.put((tmp_path / "s").as_uri(), 1, size=size, seed=4, chunk_size=MiB + 1)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 24 * MiB, peak  # pieces of max(chunk_size, 8 MiB), not the 67 MiB object
    s3dlio.put((tmp_path / "p").as_uri(), 1, size=size, seed=4, data_gen_mode="single-pass")
    (a,), (b,) = _files(tmp_path / "s"), _files(tmp_path / "p")
    assert a.stat().st_size == size
    assert a.read_bytes() == b.read_bytes() == make_object(size, seed=4)


def test_missing_extras_name_the_extra(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With h5py / pyarrow absent (simulated: CI installs both), the error names the extra."""
    import sys

    monkeypatch.setitem(sys.modules, "h5py", None)
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    with pytest.raises(s3dlio.FeatureNotInstalledError, match=r"s3dlio-datagen\[hdf5\]"):
        s3dlio.put(tmp_path.as_uri(), 1, size=100, object_type="hdf5")
    assert _files(tmp_path) == []
    with pytest.raises(ImportError, match=r"s3dlio-datagen\[parquet\]"):
        s3dlio.generate_parquet_bytes(2, 10, 1)
