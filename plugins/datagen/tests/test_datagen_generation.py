"""Data generation semantics (docs/datagen.md): sizes, ratios, seeds, in-place fills, XorStream."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import threading
import tracemalloc

import numpy as np
import pytest

import s3dlio
from s3dlio_datagen import api

zstd = pytest.importorskip("zstandard")

pytestmark = pytest.mark.timeout(120)

KiB = 1 << 10
MiB = 1 << 20
SIZES = [0, 1, 100, 4095, 4097, MiB - 1, MiB, MiB + 1, 64 * MiB + 17]


def zstd_ratio(data: object) -> float:
    raw = bytes(memoryview(data))  # type: ignore[arg-type]
    return len(raw) / len(zstd.ZstdCompressor(level=1).compress(raw))


def unique_chunks(data: object, chunk: int) -> tuple[int, int]:
    mv = memoryview(data).cast("B")  # type: ignore[arg-type]
    hashes = {hashlib.blake2b(mv[i: i + chunk], digest_size=16).digest() for i in range(0, len(mv), chunk)}
    return -(-len(mv) // chunk), len(hashes)


# ----------------------------------------------------------------------------- names


def test_plugin_names_resolve_through_s3dlio() -> None:
    for name in ("generate_data", "generate_data_with_threads", "generate_into_buffer", "Generator",
                 "XorStream", "generate_npz_bytes", "put", "put_async", "py_total_cpus",
                 "py_default_data_gen_threads", "generate_parquet_bytes",
                 "generate_and_write_parquet_schema_streaming"):
        assert getattr(s3dlio, name) is getattr(api, name)
    assert s3dlio.py_total_cpus() >= 1
    assert 1 <= s3dlio.py_default_data_gen_threads() <= s3dlio.py_total_cpus()


# ----------------------------------------------------------------------------- sizes


@pytest.mark.parametrize("size", SIZES)
def test_exact_sizes(size: int) -> None:
    data = s3dlio.generate_data(size)
    assert isinstance(data, s3dlio.BytesView)
    assert len(data) == size
    assert len(s3dlio.generate_data_with_threads(size, 2, 3, threads=2)) == size
    buf = bytearray(size)
    assert s3dlio.generate_into_buffer(buf) == size
    gen = s3dlio.Generator(size, chunk_size=3 * MiB)
    total = 0
    chunk = bytearray(3 * MiB + 5)
    while (n := gen.fill_chunk(chunk)) > 0:
        total += n
    assert total == size and gen.is_complete() and gen.position == size and gen.size == size
    assert gen.fill_chunk(chunk) == 0


def test_argument_validation() -> None:
    with pytest.raises(ValueError):
        s3dlio.generate_data(-1)
    with pytest.raises(TypeError):
        s3dlio.generate_data("10")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="Buffer must be writable"):
        s3dlio.generate_into_buffer(b"\0" * 100)
    with pytest.raises(ValueError, match="Buffer must be writable"):
        s3dlio.generate_into_buffer(memoryview(bytearray(10)).toreadonly())
    with pytest.raises(ValueError):
        s3dlio.generate_data_with_threads(10, threads=-1)


# ----------------------------------------------------------------------------- ratios


@pytest.mark.parametrize("compress", [1, 2, 3, 4])
def test_zstd_ratio_matches_compress(compress: int) -> None:
    data = s3dlio.generate_data(8 * MiB, 1, compress)
    ratio = zstd_ratio(data)
    assert abs(ratio - compress) / compress < 0.02, ratio


@pytest.mark.parametrize("compress", [1, 2, 3, 4])
def test_zstd_ratio_small_objects(compress: int) -> None:
    # RELIABILITY §11.33: compress=N at 64 KiB gives >= 0.95 N
    ratio = zstd_ratio(s3dlio.generate_data(64 * KiB, 1, compress))
    assert ratio >= 0.95 * compress and ratio <= compress * 1.02, ratio


def test_default_is_incompressible() -> None:
    assert zstd_ratio(s3dlio.generate_data(4 * MiB)) <= 1.01


@pytest.mark.parametrize("dedup", [1, 2, 3, 4])
@pytest.mark.parametrize("compress", [1, 2, 3, 4])
def test_block_dedup_ratios(dedup: int, compress: int) -> None:
    size = 12 * MiB  # divisible by every dedup factor
    data = s3dlio.generate_data(size, dedup, compress, seed=dedup * 10 + compress)
    nblocks = size // MiB
    distinct = max(1, nblocks // dedup)
    # 1 MiB deduper: exactly U distinct blocks
    total, unique = unique_chunks(data, MiB)
    assert (total, unique) == (nblocks, distinct)
    # 4 KiB deduper: random chunks are all distinct, the zero tails collapse to one chunk
    rand_len = MiB - MiB * (compress - 1) // compress
    rand_chunks = -(-rand_len // (4 * KiB))
    expected = distinct * rand_chunks + (1 if rand_chunks < MiB // (4 * KiB) else 0)
    total, unique = unique_chunks(data, 4 * KiB)
    assert unique == expected
    ratio = total / unique
    assert abs(ratio - dedup * compress) / (dedup * compress) < 0.02, ratio


def test_layout_matches_specification() -> None:
    size = 5 * MiB + 123
    data = np.frombuffer(s3dlio.generate_data(size, 2, 3, seed=7), dtype=np.uint8)
    zeros = MiB * 2 // 3
    rand_len = MiB - zeros
    blocks = [data[i: i + MiB] for i in range(0, size, MiB)]
    distinct = max(1, 6 // 2)
    for i, blk in enumerate(blocks):
        pattern = blocks[i % distinct]
        assert np.array_equal(blk, pattern[: len(blk)])
        assert not blk[rand_len:].any()
    assert blocks[0][rand_len - 8: rand_len].any()
    assert not np.array_equal(blocks[0], blocks[1]) and not np.array_equal(blocks[1], blocks[2])
    # a short object is one block of its own size
    small = np.frombuffer(s3dlio.generate_data(1000, 1, 4, seed=1), dtype=np.uint8)
    assert not small[250:].any() and small[:250].any()


def test_block_keys_same_for_short_and_long_runs() -> None:
    """Short runs of blocks get their XOR keys from Python ints, long ones from numpy:
    both must give every block the key of its distinct block (dedup wrap included)."""
    from s3dlio_datagen._engine import BlockPattern

    pattern = BlockPattern(100 * MiB, 3, 2, entropy=123)
    for first, count in ((0, 1), (5, 16), (31, 17), (0, 100), (97, 3)):
        expected = pattern.keys(np.arange(first, first + count, dtype=np.uint64))
        assert np.array_equal(pattern.key_run(first, count), expected), (first, count)
    assert pattern.key_run(0, 1)[0] == pattern.key_run(33, 1)[0]  # 33 distinct blocks
    assert pattern.key_run(0, 1)[0] != pattern.key_run(1, 1)[0]


# ----------------------------------------------------------------------------- seeds


def test_seed_reproducible_across_chunking_and_threads() -> None:
    size = 3 * MiB + 5
    ref = bytes(s3dlio.generate_data(size, 2, 3, seed=42))
    for threads in (1, 2, 3, 8):
        assert bytes(s3dlio.generate_data_with_threads(size, 2, 3, threads, seed=42)) == ref
    buf = bytearray(size)
    s3dlio.generate_into_buffer(buf, 2, 3, threads=2, seed=42)
    assert buf == ref
    for chunk in (4096, 8191, 1_000_003, MiB, 3 * MiB, 32 * MiB):
        for threads in (1, 2):
            gen = s3dlio.Generator(size, 2, 3, threads=threads, seed=42)
            out = bytearray()
            piece = bytearray(chunk)
            while (n := gen.fill_chunk(piece)):
                out += piece[:n]
            assert out == ref, (chunk, threads)
            gen.reset()
            assert gen.position == 0 and not gen.is_complete()
            n = gen.fill_chunk(piece)
            assert piece[:n] == ref[:n]


def test_seed_reproducible_tiny_chunks() -> None:
    ref = bytes(s3dlio.generate_data(20_000, 1, 2, seed=9))
    for chunk in (1, 7, 13):
        gen = s3dlio.Generator(20_000, 1, 2, seed=9)
        piece = bytearray(chunk)
        out = bytearray()
        while (n := gen.fill_chunk(piece)):
            out += piece[:n]
        assert out == ref


def test_large_threaded_reproducible() -> None:
    size = 64 * MiB + 17
    a = s3dlio.generate_data_with_threads(size, 1, 1, threads=1, seed=5)
    b = s3dlio.generate_data_with_threads(size, 1, 1, threads=4, seed=5)
    assert a == b
    assert s3dlio.generate_data(size, seed=6) != a


def test_parameters_change_bytes() -> None:
    a = s3dlio.generate_data(2 * MiB, seed=1)
    assert s3dlio.generate_data(2 * MiB, seed=2) != a
    assert s3dlio.generate_data(2 * MiB, 1, 2, seed=1) != a


def test_unseeded_differs_between_calls() -> None:
    seen = {hashlib.sha256(s3dlio.generate_data(64 * KiB)).digest() for _ in range(20)}
    assert len(seen) == 20
    assert s3dlio.generate_data(16) != s3dlio.generate_data(16)
    g1, g2 = s3dlio.Generator(MiB), s3dlio.Generator(MiB)
    b1, b2 = bytearray(MiB), bytearray(MiB)
    g1.fill_chunk(b1)
    g2.fill_chunk(b2)
    assert b1 != b2


_CHILD = (
    "import hashlib, sys, s3dlio; sys.stdin.read(); "
    "print(hashlib.sha256(s3dlio.generate_data(1 << 20)).hexdigest(), "
    "hashlib.sha256(s3dlio.XorStream().generate(4096)).hexdigest())"
)


def test_unseeded_differs_between_processes_started_together() -> None:
    procs = [subprocess.Popen([sys.executable, "-c", _CHILD], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True) for _ in range(4)]
    # release them at the same instant
    outs = [p.communicate("go", timeout=60)[0].split() for p in procs]
    assert all(len(o) == 2 for o in outs)
    assert len({o[0] for o in outs}) == 4
    assert len({o[1] for o in outs}) == 4


# ----------------------------------------------------------------------------- in place


def test_generate_into_buffer_is_in_place() -> None:
    size = 256 * MiB
    buf = bytearray(size)
    addr = np.frombuffer(buf, dtype=np.uint8).ctypes.data
    tracemalloc.start()
    try:
        n = s3dlio.generate_into_buffer(buf, threads=2)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert n == size
    assert peak < MiB, peak
    assert np.frombuffer(buf, dtype=np.uint8).ctypes.data == addr
    assert np.frombuffer(buf, dtype=np.uint8)[-MiB:].any()


def test_generate_into_numpy_and_views() -> None:
    arr = np.zeros((256, 1024), dtype=np.float32)
    assert s3dlio.generate_into_buffer(arr, seed=3) == arr.nbytes
    assert arr.tobytes() == s3dlio.generate_data(arr.nbytes, seed=3)
    big = bytearray(3 * MiB)
    mv = memoryview(big)[MiB: 2 * MiB + 3]
    assert s3dlio.generate_into_buffer(mv, seed=4) == MiB + 3
    assert big[MiB: 2 * MiB + 3] == s3dlio.generate_data(MiB + 3, seed=4)
    assert not any(big[:MiB]) and not any(big[2 * MiB + 3:])


def test_reused_buffer_garbage_is_overwritten() -> None:
    buf = bytearray(b"\xff" * (3 * MiB))
    s3dlio.generate_into_buffer(buf, 1, 4, seed=1)
    assert buf == s3dlio.generate_data(3 * MiB, 1, 4, seed=1)
    gen = s3dlio.Generator(3 * MiB, 1, 4, seed=1)
    piece = bytearray(b"\xee" * (5 * MiB))
    n = gen.fill_chunk(piece)
    assert piece[:n] == buf


def test_reused_buffer_above_the_bulk_clear_size() -> None:
    """Runs of whole blocks from ``bulk_clear_from()`` on are cleared with one memset and
    their prefixes rewritten: the bytes must be those of the per-block path."""
    from s3dlio_datagen._engine import bulk_clear_from

    size = bulk_clear_from() + 3 * MiB + 5
    for compress in (2, 4):
        ref = s3dlio.generate_data(size, 2, compress, seed=11)
        buf = bytearray(b"\xa5" * size)
        s3dlio.generate_into_buffer(buf, 2, compress, threads=1, seed=11)
        assert buf == ref, compress
        zeros = MiB * (compress - 1) // compress
        assert not any(buf[MiB - zeros: MiB]) and not any(buf[size - 5 - zeros: size - 5])


# ----------------------------------------------------------------------------- XorStream


def test_xorstream_blocks_unique_across_threads() -> None:
    xs = s3dlio.XorStream()
    blocks: list[bytes] = []
    lock = threading.Lock()
    sizes_done: list[int] = []

    def worker(k: int) -> None:
        rng = np.random.default_rng(k)
        local: list[bytes] = []
        nbytes = 0
        for _ in range(150):
            size = int(rng.integers(1, 40 * KiB))
            buf = bytearray(size)
            assert xs.fill(buf) == size
            nbytes += size
            local.extend(bytes(buf[i: i + 512]) for i in range(0, size - 511, 512))
        with lock:
            blocks.extend(local)
            sizes_done.append(nbytes)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(blocks) > 20_000
    assert len(set(blocks)) == len(blocks)
    assert xs.objects_generated == 6 * 150
    assert xs.bytes_generated == sum(sizes_done)


def test_xorstream_generate_and_seed() -> None:
    a, b = s3dlio.XorStream(seed=1), s3dlio.XorStream(seed=1)
    assert a.generate(10_000) == b.generate(10_000)
    assert a.generate(10_000) != s3dlio.XorStream(seed=2).generate(10_000)
    big = a.generate(4 * MiB + 3)
    assert len(big) == 4 * MiB + 3
    assert zstd_ratio(big) <= 1.01
    total, unique = unique_chunks(big[: 4 * MiB], 512)
    assert total == unique
    assert len(a.generate(0)) == 0


@pytest.mark.parametrize("compress", [1, 2, 3, 4])
@pytest.mark.parametrize("size", [64 * KiB + 3, 3 * MiB + 5])
def test_uninitialised_allocations_fully_written(size: int, compress: int) -> None:
    # large views skip zero-initialisation: every byte must still be written
    expected = bytearray(b"\xff" * size)
    s3dlio.generate_into_buffer(expected, 2, compress, seed=8)
    for _ in range(3):
        assert s3dlio.generate_data(size, 2, compress, seed=8) == expected
    xs = s3dlio.XorStream(seed=3)
    ref = s3dlio.XorStream(seed=3)
    buf = bytearray(b"\xff" * size)
    ref.fill(buf)
    assert xs.generate(size) == buf


def test_generator_shared_between_threads() -> None:
    size = 5 * MiB + 11
    gen = s3dlio.Generator(size, seed=12)
    ref = bytes(s3dlio.generate_data(size, seed=12))
    chunks: list[bytes] = []
    lock = threading.Lock()

    def worker() -> None:
        buf = bytearray(100_000)
        while (n := gen.fill_chunk(buf)):
            with lock:
                chunks.append(bytes(buf[:n]))

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(map(len, chunks)) == size and gen.is_complete()
    # every chunk is the stream at some position (each range was claimed once)
    assert all(c in ref for c in chunks[:5])
