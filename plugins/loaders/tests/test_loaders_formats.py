"""Formats: npz/npy round-trips, TFRecord framing and the DALI index, format registration."""

from __future__ import annotations

import io
import struct
from pathlib import Path

import numpy as np
import pytest

import s3dlio
from s3dlio.testing.contracts import PluginContractChecks, composed_host_for
from s3dlio_loaders import formats

pytestmark = pytest.mark.timeout(120)


class TestLoadersContracts(PluginContractChecks):
    @pytest.fixture
    def plugin_module(self) -> str:
        return "s3dlio_loaders.plugin"


def test_formats_and_adapters_registered() -> None:
    from s3dlio.plugin.registry import NamedRegistry

    host = composed_host_for("s3dlio_loaders.plugin")
    formats_ = host.collect("s3dlio_register_formats", NamedRegistry("format"))
    assert {"raw", "npy", "npz", "tfrecord", "hdf5", "parquet"} <= set(formats_.names())
    assert formats_.get("npz").extensions == (".npz",)
    assert formats_.get("npz").load() is formats.NPZ
    assert "torch" in host.collect("s3dlio_register_adapters", NamedRegistry("adapter")).names()


def _npz_bytes(**arrays: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **arrays)  # type: ignore[arg-type]
    return buf.getvalue()


def test_read_npz_round_trip(tmp_path: Path) -> None:
    a = np.arange(12, dtype=np.float32).reshape(3, 4)
    b = np.array([1, 2, 3], dtype=np.int16)
    uri = f"file://{tmp_path}/x.npz"
    s3dlio.put_bytes(uri, _npz_bytes(first=a, second=b))
    got = s3dlio.read_npz(uri)
    assert got.dtype == np.float32 and np.array_equal(got, a)
    got_b = s3dlio.read_npz(uri, array_name="second")
    assert got_b.dtype == np.int16 and np.array_equal(got_b, b)
    with pytest.raises(KeyError, match="nope"):
        s3dlio.read_npz(uri, "nope")
    with pytest.raises(s3dlio.errors.NotFoundError):
        s3dlio.read_npz(f"file://{tmp_path}/missing.npz")
    assert set(formats.NPZ.decode(s3dlio.get(uri))) == {"first", "second"}


def test_npy_decode() -> None:
    a = np.arange(10, dtype=np.int64)
    buf = io.BytesIO()
    np.save(buf, a)
    assert np.array_equal(formats.NPY.decode(buf.getvalue()), a)


def _dali_reference_index(path: Path) -> str:
    """DALI's tools/tfrecord2idx algorithm, re-implemented from its description."""
    lines = []
    with open(path, "rb") as f:
        while True:
            current = f.tell()
            head = f.read(8)
            if not head:
                break
            (length,) = struct.unpack("<Q", head)
            f.read(4)
            f.read(length)
            f.read(4)
            lines.append(f"{current} {f.tell() - current}\n")
    return "".join(lines)


def test_tfrecord_index_matches_dali(tmp_path: Path) -> None:
    payloads = [b"", b"a", b"hello world" * 50, bytes(range(256))]
    data = formats.encode_tfrecord(payloads)
    path = tmp_path / "train.tfrecord"
    path.write_bytes(data)
    expected = _dali_reference_index(path)
    assert s3dlio.index_tfrecord_bytes(data) == expected
    assert s3dlio.create_tfrecord_index(str(path)) == len(payloads)
    assert (tmp_path / "train.tfrecord.idx").read_text() == expected
    entries = s3dlio.get_tfrecord_index_entries(data)
    assert entries == s3dlio.read_tfrecord_index(str(tmp_path / "train.tfrecord.idx"))
    assert [s for _, s in entries] == [16 + len(p) for p in payloads]
    assert [bytes(r) for r in formats.iter_tfrecords(data, verify_crc=True)] == payloads
    # Over URIs too, with an explicit index path.
    uri = f"file://{tmp_path}/u/t.tfrecord"
    s3dlio.put_bytes(uri, data)
    assert s3dlio.create_tfrecord_index(uri, f"file://{tmp_path}/u/t.idx") == 4
    assert s3dlio.read_tfrecord_index(f"file://{tmp_path}/u/t.idx") == entries


def test_tfrecord_crc_is_tensorflow_compatible() -> None:
    # Masked CRC-32C of the length field of a 3-byte record, as TensorFlow writes it.
    data = formats.encode_tfrecord([b"abc"])
    (length, len_crc) = struct.unpack_from("<QI", data)
    assert length == 3
    assert formats._masked(formats._crc32c_py(data[:8])) == len_crc


def test_truncated_tfrecord(tmp_path: Path) -> None:
    data = formats.encode_tfrecord([b"x" * 10, b"y" * 20])
    first = 16 + 10
    for cut in (first + 5, first + 14, len(data) - 1):
        with pytest.raises(ValueError, match=f"^Truncated TFRecord at offset {first}$"):
            s3dlio.index_tfrecord_bytes(data[:cut])
    bad = bytearray(data)
    bad[14] ^= 0xFF  # payload byte of record 0
    assert len(s3dlio.get_tfrecord_index_entries(bytes(bad))) == 2
    with pytest.raises(ValueError, match="CRC mismatch at offset 0"):
        s3dlio.get_tfrecord_index_entries(bytes(bad), verify_crc=True)


def test_tfrecord_format_decode() -> None:
    data = formats.encode_tfrecord([b"one", b"two"])
    assert [bytes(r) for r in formats.TFRECORD.decode(data)] == [b"one", b"two"]


def test_hdf5_decode(tmp_path: Path) -> None:
    h5py = pytest.importorskip("h5py")
    path = tmp_path / "f.h5"
    with h5py.File(path, "w") as f:
        f["g/x"] = np.arange(5)
    got = formats.HDF5.decode(path.read_bytes())
    assert np.array_equal(got["g/x"], np.arange(5))


def test_format_filters_listing(tmp_path: Path) -> None:
    s3dlio.put_many([(f"file://{tmp_path}/m/a.npz", _npz_bytes(x=np.zeros(2))),
                     (f"file://{tmp_path}/m/a.npz.idx", b"junk"),
                     (f"file://{tmp_path}/m/sub/b.npz", _npz_bytes(x=np.ones(2)))])
    ds = s3dlio.create_dataset(f"file://{tmp_path}/m", {"format": "npz"})
    assert ds.keys() == ["a.npz", "sub/b.npz"]


def test_import_is_light() -> None:
    import subprocess
    import sys

    code = ("import sys, s3dlio, s3dlio_loaders.api; s3dlio.LoaderOptions; "
            "print(sorted(m for m in ('numpy', 'torch', 'pyarrow', 'h5py') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.strip() == "[]"
