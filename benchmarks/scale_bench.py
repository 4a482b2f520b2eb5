"""Scale-out benchmarks of issue 17 (s3dlio.bulk on Dask, s3dlio.fsspec on moto).

Usage::

    python benchmarks/scale_bench.py [--num 64] [--size 4MiB] [--reps 3] [--no-moto]

Cases (one JSON line each, then the verdicts):

- ``bulk-generate``: ``s3dlio.bulk.generate`` on a LocalCluster of 2 worker processes vs
  the same call in one process (target ≥ 1.7×; CPU-bound, needs both cores free);
- ``bulk-copy``: ``bulk.copy`` file://→file:// on a LocalCluster of one worker vs the
  local batch engine (``s3dlio.api.transfer.copy``) (target: within 10 %);
- ``fsspec-cat``: ``S3dlioFileSystem.cat_file`` of 8 MiB objects on moto vs ``s3dlio.get``
  (target ≥ 0.9×) and vs s3fs when it is installed (target ≥ 1.5×).

Each measurement is the median of ``--reps`` runs after one warm-up.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


def _median(fn: Callable[[], Any], reps: int, before: Callable[[], None] | None = None) -> float:
    times = []
    for i in range(reps + 1):
        if before is not None:
            before()
        t0 = time.perf_counter()
        fn()
        if i:  # the first run warms caches, pools and workers
            times.append(time.perf_counter() - t0)
    return statistics.median(times)


def _emit(case: str, **fields: Any) -> None:
    print(json.dumps({"case": case, **fields}), flush=True)


def bench_bulk(root: Path, num: int, size: int, reps: int) -> list[tuple[str, float, float]]:
    from distributed import Client, LocalCluster

    import s3dlio.bulk
    from s3dlio.api.transfer import copy

    out = []
    gen = root.as_uri() + "/gen"
    local = _median(lambda: s3dlio.bulk.generate(gen, num, size, seed=1), reps)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                      silence_logs=40) as cluster, Client(cluster) as client:
        dask2 = _median(lambda: s3dlio.bulk.generate(gen, num, size, seed=1, client=client), reps)
    _emit("bulk-generate", local_s=local, dask2_s=dask2, speedup=local / dask2)
    out.append(("bulk.generate 2 workers / 1 process >= 1.7x", local / dask2, 1.7))

    dst = root / "dst"

    def clean() -> None:
        shutil.rmtree(dst, ignore_errors=True)

    batch = _median(lambda: copy(gen + "/", dst.as_uri() + "/", recursive=True), reps, clean)
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None,
                      silence_logs=40) as cluster, Client(cluster) as client:
        dask1 = _median(lambda: s3dlio.bulk.copy(gen, dst.as_uri(), client=client), reps, clean)
    _emit("bulk-copy", batch_s=batch, dask1_s=dask1, ratio=batch / dask1)
    out.append(("bulk.copy 1 worker / batch engine >= 0.9x", batch / dask1, 0.9))
    return out


def bench_fsspec(num: int, reps: int) -> list[tuple[str, float, float]]:
    import os

    import s3dlio
    from s3dlio.plugin import runtime
    from s3dlio.testing.servers import MotoServer
    from s3dlio_fsspec.filesystem import S3dlioFileSystem

    out = []
    with MotoServer() as server:
        os.environ.update(server.env())
        runtime.reset()
        bucket = "scale-bench"
        s3dlio.create_bucket(f"s3://{bucket}/")
        uris = [f"s3://{bucket}/o{i}" for i in range(num)]
        payload = os.urandom(8 << 20)
        for u in uris:
            s3dlio.put_bytes(u, payload)
        fs = S3dlioFileSystem()
        ours = _median(lambda: [fs.cat_file(u) for u in uris], reps)
        base = _median(lambda: [s3dlio.get(u) for u in uris], reps)
        _emit("fsspec-cat", n=num, fsspec_s=ours, get_s=base, ratio=base / ours)
        out.append(("fsspec cat_file / s3dlio.get >= 0.9x", base / ours, 0.9))
        try:
            import s3fs
        except ImportError:
            _emit("fsspec-cat-s3fs", skipped="s3fs not installed")
        else:
            peer = s3fs.S3FileSystem(client_kwargs={"endpoint_url": server.endpoint_url})
            theirs = _median(lambda: [peer.cat_file(u) for u in uris], reps)
            _emit("fsspec-cat-s3fs", s3fs_s=theirs, ratio=theirs / ours)
            out.append(("fsspec cat_file / s3fs >= 1.5x", theirs / ours, 1.5))
    return out


def main() -> int:
    from s3dlio.cli.sizes import size_arg

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--num", type=int, default=64)
    parser.add_argument("--size", type=size_arg, default=4 << 20)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--no-moto", action="store_true")
    args = parser.parse_args()
    verdicts = []
    with tempfile.TemporaryDirectory(prefix="scale-bench-") as tmp:
        verdicts += bench_bulk(Path(tmp), args.num, args.size, args.reps)
    if not args.no_moto:
        verdicts += bench_fsspec(max(4, args.num // 8), args.reps)
    for name, value, target in verdicts:
        print(f"{'PASS' if value >= target else 'MISS'}  {name}: {value:.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
