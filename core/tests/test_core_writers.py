"""Streaming writers (``s3dlio.create_writer``) on core's memory:// store."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

import s3dlio
from s3dlio.errors import InvalidPathError
from s3dlio.store.writers import crc32c, format_checksum

MiB = 1 << 20


def _payload(n: int) -> bytes:
    return os.urandom(n // 2) + bytes(n - n // 2)  # half random, half compressible


def test_writer_names_are_core_and_importing_them_is_light() -> None:
    code = (
        "import sys, json, s3dlio\n"
        "o = s3dlio.WriterOptions().with_compression('zstd', 5)\n"
        "print(json.dumps({'same': s3dlio.PyWriterOptions is s3dlio.WriterOptions and "
        "s3dlio.PyObjectWriter is s3dlio.ObjectWriter, 'level': o.compression_level,\n"
        "  'zstd': 'zstandard' in sys.modules, 'crc': 'crc32c' in sys.modules}))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == {
        "same": True, "level": 5, "zstd": False, "crc": False,
    }


def test_options_validate_and_chain() -> None:
    opts = s3dlio.WriterOptions()
    assert opts.compression == "none" and opts.compression_level is None
    assert opts.with_compression("zstd") is opts and opts.compression_level == 3
    assert opts.with_buffer_size(1 << 20) is opts and opts.buffer_size == 1 << 20
    assert opts.with_compression("none").compression == "none"
    for bad in (0, 23, -1, 2.5, True):
        with pytest.raises(ValueError, match=r"1\.\.22"):
            s3dlio.WriterOptions().with_compression("zstd", bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="none, zstd"):
        s3dlio.WriterOptions().with_compression("gzip")
    with pytest.raises(ValueError):
        s3dlio.WriterOptions().with_buffer_size(0)


def test_round_trip_counts_and_checksum(memory_root: str) -> None:
    data = _payload(3 * MiB + 17)
    w = s3dlio.create_writer(memory_root + "plain.bin", s3dlio.WriterOptions().with_buffer_size(MiB))
    for i in range(0, len(data), 300_000):
        assert w.write_chunk(bytearray(data[i:i + 300_000])) == len(data[i:i + 300_000])
    assert not s3dlio.exists(memory_root + "plain.bin")  # nothing visible before finalize
    assert w.finalize() == (len(data), len(data))
    assert s3dlio.get(memory_root + "plain.bin") == data
    assert w.checksum() == format_checksum(crc32c(data))
    assert w.bytes_written() == w.compressed_bytes() == len(data)


def test_zstd_appends_suffix_and_reports_stored_size(memory_root: str) -> None:
    import zstandard

    data = _payload(2 * MiB)
    opts = s3dlio.WriterOptions().with_compression("zstd", 3, threads=2)
    w = s3dlio.create_writer(memory_root + "z.bin", opts)
    assert w.uri.endswith("z.bin.zst")
    w.write_chunk(data[: MiB])
    w.write_owned_bytes(data[MiB:])
    n, stored = w.finalize()
    blob = bytes(s3dlio.get(memory_root + "z.bin.zst"))
    assert n == len(data) and stored == len(blob) and 0 < stored < len(data)
    assert zstandard.ZstdDecompressor().decompressobj().decompress(blob) == data
    assert w.checksum() == format_checksum(crc32c(data))  # of the uncompressed bytes
    assert w.compressed_bytes() == stored
    assert w.stored_checksum() == format_checksum(crc32c(blob))


def test_misuse_after_finalize_is_value_error(memory_root: str) -> None:
    w = s3dlio.create_writer(memory_root + "m.bin")
    w.write_chunk(b"abc")
    w.finalize()
    checksum = w.checksum()
    with pytest.raises(ValueError):
        w.write_chunk(b"x")
    with pytest.raises(ValueError):
        w.finalize()
    assert w.checksum() == checksum == format_checksum(crc32c(b"abc"))
    with pytest.raises(TypeError):
        s3dlio.create_writer(memory_root + "t.bin").write_chunk("text")  # type: ignore[arg-type]


@pytest.mark.parametrize("compress", [False, True])
def test_exception_in_block_and_abort_publish_nothing(memory_root: str, compress: bool) -> None:
    opts = s3dlio.WriterOptions().with_compression("zstd" if compress else "none")
    with pytest.raises(RuntimeError, match="boom"), s3dlio.create_writer(memory_root + "a.bin", opts) as w:
        w.write_chunk(b"x" * 1000)
        raise RuntimeError("boom")
    w2 = s3dlio.create_writer(memory_root + "b.bin", opts)
    w2.write_chunk(b"y" * 1000)
    w2.abort()
    w2.abort()  # idempotent
    with pytest.raises(ValueError):
        w2.write_chunk(b"z")
    assert s3dlio.list(memory_root) == []
    with s3dlio.create_writer(memory_root + "c.bin", opts) as w3:
        w3.write_chunk(b"ok")
    assert s3dlio.list(memory_root) == [w3.uri]


def test_wrong_scheme_factories_raise_invalid_path(memory_root: str) -> None:
    for factory in (s3dlio.create_s3_writer, s3dlio.create_azure_writer, s3dlio.create_gcs_writer,
                    s3dlio.create_filesystem_writer, s3dlio.create_direct_filesystem_writer):
        with pytest.raises(InvalidPathError, match=factory.__name__):
            factory(memory_root + "x.bin")


def test_writer_is_one_oplog_put(memory_root: str) -> None:
    from s3dlio.store import recording

    rows: list[tuple[str, int]] = []

    class Sink:
        def start(self) -> object:
            return None

        def finish(self, span: object, op: str, n_objects: int = 1, nbytes: int = 0,
                   *args: object, **kw: object) -> None:
            rows.append((op, nbytes))

    previous = recording.install_recorder(Sink())
    try:
        w = s3dlio.create_writer(memory_root + "o.bin")
        w.write_chunk(b"q" * 4096)
        w.finalize()
    finally:
        recording.install_recorder(previous)
    assert ("PUT", 4096) in rows
