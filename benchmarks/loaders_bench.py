"""Loader benchmark: one epoch over file:// of N objects (default 1,000 × 1 MiB).

Rows (median of ``--repeat`` epochs, page cache warm, same data for all):

* ``ours for``          ``create_async_loader(uri)`` sync iteration (``BytesView`` per object)
* ``ours async for``    ``create_async_loader(uri, {"batch_size": 32})`` batches
* ``readinto ref``      plain Python: ``open`` + ``readinto`` a fresh ``bytearray`` per file, sequential
* ``original``          PyPI s3dlio's ``create_async_loader`` (``async for``) run in the original's
                        virtual environment (``--orig-python``; skipped if absent)
* ``torch DataLoader``  ``DataLoader(ObjectStoreIterableDataset(uri), batch_size=None)`` (skipped
                        without torch), ``num_workers`` 0 and 2

Usage: ``python benchmarks/loaders_bench.py [--num 1000] [--size-mib 1] [--repeat 3] [--dir DIR]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

_ORIG_PY = Path(__file__).resolve().parent.parent / ".bench" / "orig-venv" / "bin" / "python"

_ORIG_SCRIPT = r"""
import asyncio, json, sys, time
import s3dlio
uri, repeat, opts = sys.argv[1], int(sys.argv[2]), json.loads(sys.argv[3])
async def epoch():
    n = b = 0
    loader = s3dlio.create_async_loader(uri, opts)
    async for batch in loader:
        for item in batch:
            n += 1
            b += len(item)
    return n, b
times = []
for _ in range(repeat):
    t = time.perf_counter()
    n, b = asyncio.run(epoch())
    times.append(time.perf_counter() - t)
print(json.dumps({"times": times, "count": n, "bytes": b}))
"""


def _median(fn: Callable[[], tuple[int, int]], repeat: int, want: tuple[int, int]) -> float:
    fn()  # warm-up (page cache, thread pools, imports)
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        got = fn()
        times.append(time.perf_counter() - t)
        if got != want:
            raise SystemExit(f"wrong result: {got} != {want}")
    return statistics.median(times)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--num", type=int, default=1000)
    ap.add_argument("--size-mib", type=float, default=1.0)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--dir", default=None, help="data directory (default: a temporary one, removed)")
    ap.add_argument("--orig-python", default=str(_ORIG_PY))
    ap.add_argument("--json", default=None, help="also write the results here")
    args = ap.parse_args()

    import s3dlio

    size = int(args.size_mib * (1 << 20))
    base = Path(args.dir) if args.dir else Path(tempfile.mkdtemp(prefix="loaders-bench-"))
    root = base / "data"
    uri = f"file://{root}/"
    if not root.exists() or len(list(root.iterdir())) != args.num:
        shutil.rmtree(root, ignore_errors=True)
        s3dlio.put_many((f"{uri}obj-{i:05d}.bin", os.urandom(size)) for i in range(args.num))
    want = (args.num, args.num * size)
    results: dict[str, Any] = {"num": args.num, "size": size, "repeat": args.repeat, "cpus": os.cpu_count()}

    def ours_sync() -> tuple[int, int]:
        n = b = 0
        for item in s3dlio.create_async_loader(uri):
            n += 1
            b += len(item)
        return n, b

    def ours_async() -> tuple[int, int]:
        async def run() -> tuple[int, int]:
            n = b = 0
            async for batch in s3dlio.create_async_loader(uri, {"batch_size": 32}):
                for item in batch:
                    n += 1
                    b += len(item)
            return n, b

        return asyncio.run(run())

    files = sorted(str(p) for p in root.iterdir())

    def readinto_ref() -> tuple[int, int]:
        n = b = 0
        for path in files:
            with open(path, "rb", buffering=0) as f:
                buf = bytearray(os.fstat(f.fileno()).st_size)
                got = f.readinto(buf)
            n += 1
            b += got or 0
        return n, b

    rows: dict[str, float] = {}
    rows["ours for"] = _median(ours_sync, args.repeat, want)
    rows["ours async for (batch 32)"] = _median(ours_async, args.repeat, want)
    rows["readinto ref (sequential)"] = _median(readinto_ref, args.repeat, want)

    orig = Path(args.orig_python)
    if orig.exists():
        for label, opts in (("original async for (defaults)", {}),
                            ("original async for (batch 32)", {"batch_size": 32})):
            cmd = [str(orig), "-c", _ORIG_SCRIPT, uri, str(args.repeat + 1), json.dumps(opts)]
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=1800, check=False)
            if proc.returncode != 0:
                print(f"original failed: {proc.stderr.strip()[-500:]}", file=sys.stderr)
                continue
            out = json.loads(proc.stdout.strip().splitlines()[-1])
            if (out["count"], out["bytes"]) != want:
                print(f"original read {out['count']} objects / {out['bytes']} bytes", file=sys.stderr)
            rows[label] = statistics.median(out["times"][1:])
    else:
        print(f"original s3dlio not found at {orig}: skipped", file=sys.stderr)

    try:
        import torch
        from torch.utils.data import DataLoader

        from s3dlio_loaders.torch_adapter import ObjectStoreIterableDataset
    except ImportError:
        print("torch not installed: DataLoader rows skipped", file=sys.stderr)
    else:
        ds = ObjectStoreIterableDataset(uri)
        for workers in (0, 2):
            def torch_epoch(workers: int = workers) -> tuple[int, int]:
                n = b = 0
                dl = DataLoader(ds, batch_size=None, num_workers=workers)
                for t in dl:
                    n += 1
                    b += t.numel()
                return n, b

            rows[f"torch DataLoader(num_workers={workers})"] = _median(torch_epoch, args.repeat, want)
        del torch

    total_mib = args.num * size / (1 << 20)
    ref = rows["readinto ref (sequential)"]
    print(f"{args.num} × {args.size_mib:g} MiB on file:// ({root}), median of {args.repeat}, "
          f"{os.cpu_count()} CPUs")
    print(f"{'case':40} {'seconds':>8} {'MiB/s':>9} {'vs ref':>7}")
    for name, secs in rows.items():
        print(f"{name:40} {secs:8.3f} {total_mib / secs:9.0f} {ref / secs:7.2f}")
    for orig_name in ("original async for (defaults)", "original async for (batch 32)"):
        if orig_name in rows:
            print(f"ours for / {orig_name}: {rows[orig_name] / rows['ours for']:.2f}×")
    if "torch DataLoader(num_workers=0)" in rows:
        print(f"torch DataLoader(0) vs loader alone: "
              f"{rows['ours for'] / rows['torch DataLoader(num_workers=0)'] * 100:.0f}% "
              "of the loader's speed")
    results["seconds"] = rows
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    if not args.dir:
        shutil.rmtree(base, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
