"""Streaming writers on real backends: file://, direct://, s3:// (moto)."""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Any

import pytest

import s3dlio
from s3dlio.store.writers import crc32c, format_checksum

pytest_plugins = ["s3dlio.testing.pytest_servers"]

MiB = 1 << 20


def _payload(n: int) -> bytes:
    return os.urandom(n // 2) + bytes(n - n // 2)


@pytest.mark.parametrize("compress", [False, True])
def test_filesystem_writer_publishes_atomically(tmp_path: Path, compress: bool) -> None:
    import zstandard

    data = _payload(5 * MiB + 3)
    uri = f"file://{tmp_path}/sub/obj.bin"
    opts = s3dlio.WriterOptions().with_buffer_size(MiB)
    if compress:
        opts.with_compression("zstd", 1)
    w = s3dlio.create_filesystem_writer(uri, opts)
    for i in range(0, len(data), MiB // 3):
        w.write_chunk(memoryview(data)[i:i + MiB // 3])
    final = tmp_path / "sub" / ("obj.bin.zst" if compress else "obj.bin")
    assert not final.exists()
    n, stored = w.finalize()
    assert n == len(data) and stored == final.stat().st_size
    blob = final.read_bytes()
    assert (zstandard.ZstdDecompressor().decompressobj().decompress(blob) if compress else blob) == data
    assert w.checksum() == format_checksum(crc32c(data))
    assert not [p for p in (tmp_path / "sub").iterdir() if p.name != final.name]  # no temp file left


def test_filesystem_writer_abort_leaves_nothing(tmp_path: Path) -> None:
    w = s3dlio.create_writer(f"file://{tmp_path}/a.bin", s3dlio.WriterOptions().with_buffer_size(4096))
    w.write_chunk(b"x" * 100_000)
    w.abort()
    assert list(tmp_path.rglob("*")) == []


def test_direct_writer_exact_size(tmp_path: Path) -> None:
    data = _payload(MiB + 123)
    w = s3dlio.create_direct_filesystem_writer(f"direct://{tmp_path}/d.bin")
    w.write_chunk(data)
    assert w.finalize() == (len(data), len(data))
    assert (tmp_path / "d.bin").read_bytes() == data


@pytest.fixture
def s3_bucket(moto_server: Any, monkeypatch: pytest.MonkeyPatch) -> str:
    for name, value in moto_server.env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent/s3dlio-test-config")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/s3dlio-test-credentials")
    from s3dlio.plugin import runtime

    runtime.reset()
    bucket = f"s3://w-{uuid.uuid4().hex[:16]}/"
    s3dlio.create_bucket(bucket)
    return bucket


@pytest.mark.parametrize("compress", [False, True])
def test_s3_writer_streams_multipart(s3_bucket: str, compress: bool) -> None:
    import zstandard

    data = os.urandom(11 * MiB)  # incompressible: three 5 MiB parts even with zstd
    opts = s3dlio.WriterOptions().with_buffer_size(5 * MiB)
    if compress:
        opts.with_compression("zstd", 1)
    w = s3dlio.create_s3_writer(s3_bucket + "big.bin", opts)
    for i in range(0, len(data), MiB):
        w.write_chunk(bytearray(data[i:i + MiB]))
    n, stored = w.finalize()
    key = "big.bin.zst" if compress else "big.bin"
    blob = bytes(s3dlio.get(s3_bucket + key))
    assert n == len(data) and stored == len(blob) == s3dlio.stat(s3_bucket + key)["size"]
    assert (zstandard.ZstdDecompressor().decompressobj().decompress(blob) if compress else blob) == data
    assert w.checksum() == format_checksum(crc32c(data))


def test_s3_writer_exception_publishes_nothing(s3_bucket: str) -> None:
    with pytest.raises(KeyError), s3dlio.create_writer(
        s3_bucket + "gone.bin", s3dlio.WriterOptions().with_buffer_size(5 * MiB)
    ) as w:
        w.write_chunk(os.urandom(11 * MiB))  # two parts already uploaded
        raise KeyError("stop")
    assert s3dlio.list(s3_bucket) == []
