"""The main job (``tox -e demo``): write, list and read back a small dataset on file://.

No server is needed: the data goes to a fresh temporary directory (or ``--dir``).
Steps: generate ``--count`` objects of ``--size`` random bytes, store them with
``s3dlio.put_many``, list them with ``s3dlio.list(..., recursive=True)``, read them
back with ``s3dlio.get_many``, compare SHA-256 digests, print a short report and
remove the data (unless ``--keep``). Exits 1 if anything does not match.

The report gives the wall-clock time of each call and rates in MiB/s (binary units,
as the sizes). The data was just written, so the reads come from the page cache and
the writes do not wait for the disk: the rates are memory speeds, not disk speeds.

    python examples/quickstart.py                       # 256 x 64 KiB in a temp dir
    python examples/quickstart.py --count 1000 --size 1MiB --dir ./.demo-data --keep
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import sys
import tempfile
import time

import s3dlio
from s3dlio.cli.sizes import format_iec as human
from s3dlio.cli.sizes import size_arg


def run(base_uri: str, count: int, size: int) -> bool:
    """Write, list, read and verify ``count`` objects under ``base_uri``; True if all match."""
    print(f"s3dlio {s3dlio.__version__}: {count} objects x {human(size)} -> {base_uri}")
    total = count * size

    items = [(f"{base_uri}shard-{i // 64:02d}/obj-{i:05d}.bin", os.urandom(size)) for i in range(count)]
    expected = {uri: hashlib.sha256(data).hexdigest() for uri, data in items}

    t0 = time.perf_counter()
    s3dlio.list(base_uri)  # first call composes the plugins; keep it out of the timings
    t_start = time.perf_counter() - t0

    t0 = time.perf_counter()
    s3dlio.put_many(items)
    t_put = time.perf_counter() - t0

    t0 = time.perf_counter()
    listed = s3dlio.list(base_uri, recursive=True)
    t_list = time.perf_counter() - t0

    t0 = time.perf_counter()
    results = s3dlio.get_many(listed)
    t_get = time.perf_counter() - t0

    got_bytes = sum(len(data) for _, data in results)
    mismatched = [uri for uri, data in results if hashlib.sha256(data).hexdigest() != expected.get(uri)]
    missing = sorted(set(expected) - set(listed))
    extra = sorted(set(listed) - set(expected))

    def rate(seconds: float) -> str:
        # Binary units throughout, as the sizes (format_iec): MiB and MiB/s.
        return f"{total / max(seconds, 1e-9) / (1 << 20):8.1f} MiB/s"

    print(f"  start   {'compose plugins':<24}  {'':>10}  {t_start * 1e3:8.1f} ms")
    print(f"  write   put_many  {count:6d} objects  {human(total):>10}  {t_put * 1e3:8.1f} ms  {rate(t_put)}")
    print(f"  list    list -r   {len(listed):6d} entries  {'':>10}  {t_list * 1e3:8.1f} ms")
    print(f"  read    get_many  {len(results):6d} objects  {human(got_bytes):>10}  {t_get * 1e3:8.1f} ms  "
          f"{rate(t_get)}")
    ok = not (mismatched or missing or extra) and got_bytes == total
    if ok:
        print(f"  verify  sha256    {count:6d} objects  OK")
    else:
        print(f"  verify  FAILED: {len(mismatched)} differ, {len(missing)} missing, {len(extra)} unexpected")
        for uri in (mismatched + missing + extra)[:10]:
            print(f"          {uri}")
    # Say what the numbers are, so nobody quotes them as disk speeds.
    print("  note    wall-clock time of each call; put_many returns once the files are written "
          "to the page cache")
    print("          (no fsync), and get_many reads them back from it: memory speed, not disk speed")
    return ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=256, help="number of objects (default 256)")
    parser.add_argument("--size", type=size_arg, default=64 << 10, help="object size (default 64KiB)")
    parser.add_argument("--dir", help="local directory to use (default: a new temporary directory)")
    parser.add_argument("--keep", action="store_true", help="leave the data in place")
    args = parser.parse_args(argv)
    if args.count < 1:
        parser.error("--count must be at least 1")

    if args.dir:
        root = os.path.abspath(args.dir)
        os.makedirs(root, exist_ok=True)
        workdir = os.path.join(root, f"quickstart-{os.getpid()}")
    else:
        root = workdir = tempfile.mkdtemp(prefix="s3dlio-demo-")
    base_uri = f"file://{workdir}/"
    try:
        ok = run(base_uri, args.count, args.size)
    finally:
        if not args.keep:
            s3dlio.delete(base_uri, recursive=True)
            shutil.rmtree(workdir, ignore_errors=True)
            if not args.dir:
                shutil.rmtree(root, ignore_errors=True)
    if args.keep:
        print(f"  data kept in {workdir}")
    else:
        print("  cleaned up")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
