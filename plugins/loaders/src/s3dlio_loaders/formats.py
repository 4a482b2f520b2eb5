"""Formats (docs/loaders/formats.md): raw, npy, npz, tfrecord (DALI-compatible index), hdf5, parquet.

Each format is a small object with ``name``, ``extensions`` and ``decode(data)``;
the plugin registers them through ``s3dlio_register_formats`` (factory
``s3dlio_loaders.formats:<NAME>``). numpy and h5py are imported on first use.
"""

from __future__ import annotations

import io
import struct
from collections.abc import Iterator
from typing import Any

__all__ = [
    "HDF5",
    "NPY",
    "NPZ",
    "PARQUET",
    "RAW",
    "TFRECORD",
    "Format",
    "create_tfrecord_index",
    "extensions_of",
    "get_tfrecord_index_entries",
    "index_tfrecord_bytes",
    "iter_tfrecords",
    "read_npz",
    "read_tfrecord_index",
]

_HEADER = struct.Struct("<QI")
_FRAMING = 16  # 8-byte length + 4-byte length CRC + 4-byte data CRC


class Format:
    """A dataset format: its name, file extensions and a decoder of one object's bytes."""

    def __init__(self, name: str, extensions: tuple[str, ...], description: str) -> None:
        self.name = name
        self.extensions = extensions
        self.description = description

    def decode(self, data: Any) -> Any:
        """Decode one object (``raw``: the bytes themselves)."""
        return data

    def __repr__(self) -> str:
        return f"<format {self.name} {self.extensions}>"


class _Npy(Format):
    def decode(self, data: Any) -> Any:
        """``numpy.ndarray`` (stored dtype and shape; no pickles)."""
        import numpy as np

        return np.load(io.BytesIO(memoryview(data)), allow_pickle=False)


class _Npz(Format):
    def decode(self, data: Any) -> Any:
        """``{name: ndarray}`` of every array in the archive."""
        import numpy as np

        with np.load(io.BytesIO(memoryview(data)), allow_pickle=False) as z:
            return {k: z[k] for k in z.files}


class _TFRecord(Format):
    def decode(self, data: Any) -> Any:
        """``list`` of record payloads (memoryview slices, zero-copy)."""
        return list(iter_tfrecords(data))


class _HDF5(Format):
    def decode(self, data: Any) -> Any:
        """``{dataset path: ndarray}`` of every dataset in the file (needs ``h5py``)."""
        try:
            import h5py
        except ImportError as exc:
            from s3dlio.errors import FeatureNotInstalledError

            raise FeatureNotInstalledError("HDF5 needs h5py: pip install 's3dlio-loaders[hdf5]'") from exc
        out: dict[str, Any] = {}
        with h5py.File(io.BytesIO(bytes(data)), "r") as f:
            def visit(name: str, obj: Any) -> None:
                if isinstance(obj, h5py.Dataset):
                    out[name] = obj[()]

            f.visititems(visit)
        return out


class _Parquet(Format):
    def decode(self, data: Any) -> Any:
        """``pyarrow.Table`` of the whole file (needs ``pyarrow``)."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        return pq.read_table(pa.BufferReader(memoryview(data)))


RAW = Format("raw", (), "opaque bytes, one object per item")
NPY = _Npy("npy", (".npy",), "one numpy array per object")
NPZ = _Npz("npz", (".npz",), "numpy archives (read_npz)")
TFRECORD = _TFRecord("tfrecord", (".tfrecord", ".tfrecords"), "TFRecord files with DALI-compatible index")
HDF5 = _HDF5("hdf5", (".h5", ".hdf5"), "HDF5 files (h5py)")
PARQUET = _Parquet("parquet", (".parquet",), "Parquet files (pyarrow); row groups")

_BY_NAME = {f.name: f for f in (RAW, NPY, NPZ, TFRECORD, HDF5, PARQUET)}


def extensions_of(name: str) -> tuple[str, ...]:
    """File extensions of format ``name`` (registry first, then the built-in table)."""
    try:
        from s3dlio_loaders.hookspecs import formats

        spec = formats().get(name)
    except KeyError:
        spec = None
    if spec is not None:
        return tuple(spec.extensions)
    fmt = _BY_NAME.get(name)
    if fmt is None:
        from s3dlio.errors import ConfigError

        raise ConfigError(f"unknown format {name!r}; known: {sorted(_BY_NAME)}")
    return fmt.extensions


# ----------------------------------------------------------------------------- npz


def read_npz(uri: str, array_name: str | None = None) -> Any:
    """One array of the ``.npz`` at ``uri`` (any backend); the first one by default."""
    import numpy as np

    from s3dlio.api import get

    data = get(uri)
    with np.load(io.BytesIO(memoryview(data)), allow_pickle=False) as z:
        if not z.files:
            raise ValueError(f"{uri}: the npz archive holds no array")
        name = z.files[0] if array_name is None else array_name
        if name not in z.files:
            raise KeyError(f"{uri}: no array {name!r} (arrays: {z.files})")
        return z[name]


# ----------------------------------------------------------------------------- tfrecord


def _crc_fn() -> Any:
    try:
        import google_crc32c

        return lambda b: google_crc32c.value(bytes(b))
    except ImportError:
        pass
    try:
        from s3dlio_datagen._crc32c import crc32c

        return crc32c
    except ImportError:
        pass
    return _crc32c_py


_TABLE: list[int] = []


def _crc32c_py(data: Any) -> int:
    """Slow table CRC-32C, used only by ``verify_crc=True`` without a fast implementation."""
    if not _TABLE:
        for i in range(256):
            c = i
            for _ in range(8):
                c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
            _TABLE.append(c)
    crc = 0xFFFFFFFF
    for b in bytes(data):
        crc = _TABLE[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def _masked(crc: int) -> int:
    return ((((crc >> 15) | (crc << 17)) & 0xFFFFFFFF) + 0xA282EAD8) & 0xFFFFFFFF


def _scan(data: Any, verify_crc: bool = False) -> Iterator[tuple[int, int, int]]:
    """``(record offset, framed size, payload length)`` of every record; checks framing."""
    mv = memoryview(data).cast("B")
    total = len(mv)
    crc = _crc_fn() if verify_crc else None
    off = 0
    while off < total:
        if off + 12 > total:
            raise ValueError(f"Truncated TFRecord at offset {off}")
        length, len_crc = _HEADER.unpack_from(mv, off)
        end = off + _FRAMING + length
        if end > total:
            raise ValueError(f"Truncated TFRecord at offset {off}")
        if crc is not None:
            if _masked(crc(mv[off : off + 8])) != len_crc:
                raise ValueError(f"TFRecord length CRC mismatch at offset {off}")
            (data_crc,) = struct.unpack_from("<I", mv, end - 4)
            if _masked(crc(mv[off + 12 : end - 4])) != data_crc:
                raise ValueError(f"TFRecord data CRC mismatch at offset {off}")
        yield off, _FRAMING + length, length
        off = end


def iter_tfrecords(data: Any, verify_crc: bool = False) -> Iterator[memoryview]:
    """Payload of each record of a TFRecord file's bytes (zero-copy memoryview slices)."""
    mv = memoryview(data).cast("B")
    for off, _size, length in _scan(mv, verify_crc):
        yield mv[off + 12 : off + 12 + length]


def get_tfrecord_index_entries(tfrecord_bytes: Any, verify_crc: bool = False) -> list[tuple[int, int]]:
    """``[(offset, size)]`` of every record; ``size`` includes the 16 framing bytes (DALI)."""
    return [(off, size) for off, size, _ in _scan(tfrecord_bytes, verify_crc)]


def index_tfrecord_bytes(tfrecord_bytes: Any, verify_crc: bool = False) -> str:
    """The DALI text index of a TFRecord file's bytes: ``"{offset} {size}\\n"`` per record."""
    return "".join(f"{o} {s}\n" for o, s in get_tfrecord_index_entries(tfrecord_bytes, verify_crc))


def _is_uri(path: str) -> bool:
    return "://" in path


def create_tfrecord_index(tfrecord_path: str, index_path: str | None = None,
                          verify_crc: bool = False) -> int:
    """Write the DALI index of ``tfrecord_path`` (a local path or any URI); return the record count.

    The index goes to ``index_path`` (default ``tfrecord_path + ".idx"``).
    """
    if _is_uri(tfrecord_path):
        from s3dlio.api import get

        data: Any = get(tfrecord_path)
    else:
        with open(tfrecord_path, "rb") as f:
            data = f.read()
    entries = get_tfrecord_index_entries(data, verify_crc)
    text = "".join(f"{o} {s}\n" for o, s in entries).encode()
    target = index_path if index_path is not None else tfrecord_path + ".idx"
    if _is_uri(target):
        from s3dlio.api import put_bytes

        put_bytes(target, text)
    else:
        with open(target, "wb") as f:
            f.write(text)
    return len(entries)


def read_tfrecord_index(index_path: str) -> list[tuple[int, int]]:
    """``[(offset, size)]`` from a DALI index (local path or URI)."""
    if _is_uri(index_path):
        from s3dlio.api import get

        text = bytes(get(index_path)).decode()
    else:
        with open(index_path, encoding="ascii") as f:
            text = f.read()
    out: list[tuple[int, int]] = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        parts = line.split()
        if len(parts) != 2:
            raise ValueError(f"{index_path}:{n}: expected 'offset size', got {line!r}")
        out.append((int(parts[0]), int(parts[1])))
    return out


def encode_tfrecord(payloads: Any) -> bytes:
    """TFRecord bytes of ``payloads`` (with real masked CRC-32C), for tests and tools."""
    crc = _crc_fn()
    out = bytearray()
    for p in payloads:
        p = bytes(p)
        head = struct.pack("<Q", len(p))
        out += head + struct.pack("<I", _masked(crc(head))) + p + struct.pack("<I", _masked(crc(p)))
    return bytes(out)
