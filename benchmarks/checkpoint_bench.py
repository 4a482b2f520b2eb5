"""Checkpoint benchmarks (docs/checkpoints.md; results in docs/performance.md).

Usage::

    python benchmarks/checkpoint_bench.py [--size 1GiB] [--reps 3] [--dir /path] [--only NAME,…]

Cases, each against its reference in the same run (interleaved, median of ``reps``):

- ``save``: ``CheckpointStore.save`` to file:// vs a plain ``write`` + ``fsync`` of the same bytes;
- ``load``: ``CheckpointStore.load_latest`` vs a ``readinto`` loop (page cache warm for both);
- ``zstd``: ``create_writer`` with zstd level 3 (into memory://) vs ``zstandard``'s own
  ``stream_writer`` into a discarding sink;
- ``dcp``: ``dcp.save``/``dcp.load`` of a state dict through ``s3dlio.dcp`` vs torch's
  ``FileSystemWriter``/``FileSystemReader`` on the same directory tree.

One JSON line per case on stdout: ``{case, ours_s, ref_s, ratio}`` where ``ratio`` is
reference time / our time (≥ 1.0: ours is as fast or faster).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import tempfile
import time
import warnings
from collections.abc import Callable
from typing import Any

import s3dlio

MiB = 1 << 20


def _size(text: str) -> int:
    units = {"k": 1 << 10, "m": MiB, "g": 1 << 30}
    t = text.strip().lower().removesuffix("ib").removesuffix("b")
    if t and t[-1] in units:
        return int(float(t[:-1]) * units[t[-1]])
    return int(t)


def _timed(fn: Callable[[], Any]) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def _compare(name: str, ours: Callable[[], Any], ref: Callable[[], Any], reps: int,
             setup: tuple[Callable[[], Any], Callable[[], Any]] | None = None) -> dict[str, Any]:
    """``setup``: (before ours, before the reference), untimed."""
    a: list[float] = []
    b: list[float] = []
    for i in range(reps + 1):  # the first round warms up
        order = [(ours, a, 0), (ref, b, 1)] if i % 2 == 0 else [(ref, b, 1), (ours, a, 0)]
        for fn, out, which in order:
            if setup is not None:
                setup[which]()
            t = _timed(fn)
            if i:
                out.append(t)
    row = {"case": name, "ours_s": statistics.median(a), "ref_s": statistics.median(b)}
    row["ratio"] = row["ref_s"] / row["ours_s"]
    print(json.dumps(row), flush=True)
    return row


def bench_save_load(base: str, data: bytes, reps: int, only: set[str]) -> None:
    root = f"file://{base}/ckpt/"
    plain = f"{base}/plain.bin"

    def clean() -> None:
        shutil.rmtree(f"{base}/ckpt", ignore_errors=True)

    def ours_save() -> None:
        s3dlio.CheckpointStore(root).save(1, 0, "bench", data)

    def ref_save() -> None:
        with open(plain, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())

    if "save" in only:
        _compare("save", ours_save, ref_save, reps, setup=(clean, lambda: None))
    if "load" in only:
        clean()
        ours_save()
        ref_save()
        store = s3dlio.CheckpointStore(root)

        def ref_load() -> None:
            buf = bytearray(len(data))
            view = memoryview(buf)
            with open(plain, "rb", buffering=0) as f:
                pos = 0
                while pos < len(buf):
                    n = f.readinto(view[pos:pos + 8 * MiB])
                    if not n:
                        break
                    pos += n

        _compare("load", store.load_latest, ref_load, reps)


def bench_zstd(data: bytes, reps: int) -> None:
    import zstandard

    class Discard:
        def write(self, b: Any) -> int:
            return len(b)

    chunk = 8 * MiB
    chunks = [data[i:i + chunk] for i in range(0, len(data), chunk)]  # the same bytes for both

    def ours() -> None:
        w = s3dlio.create_writer(f"memory://bench-{os.getpid()}/z.bin",
                                 s3dlio.WriterOptions().with_compression("zstd", 3))
        for c in chunks:
            w.write_chunk(c)
        w.finalize()

    def ref() -> None:
        with zstandard.ZstdCompressor(level=3).stream_writer(Discard(), closefd=False) as zw:
            for c in chunks:
                zw.write(c)

    _compare("zstd", ours, ref, reps)


def bench_dcp(base: str, size: int, reps: int) -> None:
    import torch
    import torch.distributed.checkpoint as dcp
    from torch.distributed.checkpoint import FileSystemReader, FileSystemWriter

    from s3dlio.dcp import StorageReader, StorageWriter

    n = max(1, size // (16 * MiB))
    state = {f"layer{i}": torch.randn(4 * MiB) for i in range(n)}  # 16 MiB float32 each
    ours_dir, ref_dir = f"{base}/dcp-ours", f"{base}/dcp-ref"
    warnings.simplefilter("ignore")  # "assuming the intent is to save in a single process"


    _compare("dcp-save",
             lambda: dcp.save(state, storage_writer=StorageWriter(f"file://{ours_dir}"), no_dist=True),
             lambda: dcp.save(state, storage_writer=FileSystemWriter(ref_dir), no_dist=True),
             reps, setup=(lambda: shutil.rmtree(ours_dir, ignore_errors=True),
                          lambda: shutil.rmtree(ref_dir, ignore_errors=True)))
    out = {k: torch.empty_like(v) for k, v in state.items()}
    _compare("dcp-load",
             lambda: dcp.load(out, storage_reader=StorageReader(f"file://{ours_dir}"), no_dist=True),
             lambda: dcp.load(out, storage_reader=FileSystemReader(ref_dir), no_dist=True),
             reps)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--size", type=_size, default=1 << 30)
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--dir", default=None, help="scratch directory (default: a temp dir)")
    p.add_argument("--only", default="save,load,zstd,dcp")
    args = p.parse_args()
    only = set(args.only.split(","))
    base = tempfile.mkdtemp(prefix="ckpt-bench-", dir=args.dir)
    try:
        data = os.urandom(args.size // 2) + bytes(args.size - args.size // 2)
        if only & {"save", "load"}:
            bench_save_load(base, data, args.reps, only)
        if "zstd" in only:
            bench_zstd(data, args.reps)
        if "dcp" in only:
            bench_dcp(base, args.size, args.reps)
    finally:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
