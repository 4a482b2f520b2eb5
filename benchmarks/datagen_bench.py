"""Standalone data-generation benchmark for s3dlio-datagen (PERFORMANCE.md §3 targets).

Measures, in one run, interleaved A B A B (median of ``--reps`` after a warm-up):

* single-thread ``Generator.fill_chunk`` into a reused, pre-faulted buffer, against
  numpy memory fill of the same buffer (``fill(0xA5)``: ordinary stores;
  ``fill(0)``: glibc memset, non-temporal stores) and, when its virtual environment
  exists, the original s3dlio's ``Generator.fill_chunk`` (run in a worker process
  under that interpreter, same buffer size);
* ``compress=4`` against ``compress=1``; two threads against one;
* ``generate_data`` into a fresh buffer (first-touch bound), ours and the original;
* ``put()`` of N x 1 MiB to ``file://`` against generating the same objects only.

Prints one JSON line per measurement, then a table. Usage::

    .venv/bin/python benchmarks/datagen_bench.py [--reps 7] [--buffer-mib 256]
        [--orig-python .bench/orig-venv/bin/python] [--put-num 1000] [--put-dir DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any

MiB = 1 << 20
HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_ORIG = os.path.join(os.path.dirname(HERE), ".bench", "orig-venv", "bin", "python")


# ----------------------------------------------------------------------------- worker (any s3dlio)


def _worker() -> None:
    """Serve timing requests on stdin/stdout (runs under the original's interpreter too)."""
    import s3dlio

    buffers: dict[int, bytearray] = {}
    gens: dict[tuple[int, int, int], Any] = {}
    for line in sys.stdin:
        req = json.loads(line)
        op = req["op"]
        try:
            if op == "fill":
                nbytes = req["buffer"]
                buf = buffers.get(nbytes)
                if buf is None:
                    buf = buffers[nbytes] = bytearray(b"\x01" * nbytes)  # pre-faulted
                key = (req.get("dedup", 1), req["compress"], req["threads"])
                gen = gens.get(key)
                if gen is None:  # one long-lived generator per configuration
                    gen = gens[key] = s3dlio.Generator(size=1 << 50, dedup=key[0], compress=key[1],
                                                       threads=key[2])
                    gen.fill_chunk(buf)
                t0 = time.perf_counter()
                gen.fill_chunk(buf)
                dt = time.perf_counter() - t0
            elif op == "generate_data":
                t0 = time.perf_counter()
                data = s3dlio.generate_data(req["size"], 1, req["compress"])
                dt = time.perf_counter() - t0
                del data
            else:
                raise ValueError(op)
            print(json.dumps({"ok": True, "seconds": dt}), flush=True)
        except Exception as exc:  # report, keep serving
            print(json.dumps({"ok": False, "error": repr(exc)}), flush=True)


class Remote:
    """A worker process under another interpreter (the original s3dlio)."""

    def __init__(self, python: str) -> None:
        self.proc = subprocess.Popen([python, os.path.abspath(__file__), "--worker"], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True, cwd="/")

    def call(self, **req: Any) -> float:
        assert self.proc.stdin and self.proc.stdout
        self.proc.stdin.write(json.dumps(req) + "\n")
        self.proc.stdin.flush()
        reply = json.loads(self.proc.stdout.readline())
        if not reply["ok"]:
            raise RuntimeError(reply["error"])
        self.wait_quiet()
        return float(reply["seconds"])

    def _cpu_ticks(self) -> int:
        try:
            with open(f"/proc/{self.proc.pid}/stat") as fh:
                fields = fh.read().rpartition(")")[2].split()
            return int(fields[11]) + int(fields[12])  # utime + stime
        except OSError:  # pragma: no cover - not Linux
            return 0

    def wait_quiet(self, limit: float = 3.0) -> None:
        """Wait until the worker stops using CPU (the original keeps working after a call
        returns; that would be charged to whichever arm runs next)."""
        deadline = time.monotonic() + limit
        last = self._cpu_ticks()
        while time.monotonic() < deadline:
            time.sleep(0.05)
            now = self._cpu_ticks()
            if now == last:
                return
            last = now

    def close(self) -> None:
        if self.proc.stdin:
            self.proc.stdin.close()
        self.proc.wait(timeout=30)


# ----------------------------------------------------------------------------- measurements


def interleave(arms: dict[str, Callable[[], float]], reps: int, settle: float = 0.05) -> dict[str, float]:
    """Warm up every arm, then ``reps`` rounds in rotating order; median seconds per arm."""
    names = list(arms)
    for name in names:
        arms[name]()
    times: dict[str, list[float]] = {n: [] for n in names}
    for r in range(reps):
        order = names[r % len(names):] + names[: r % len(names)]
        for name in order:
            time.sleep(settle)  # let other arms' idle spinning threads (rayon) go to sleep
            times[name].append(arms[name]())
    return {n: statistics.median(t) for n, t in times.items()}


def timed(fn: Callable[[], Any]) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--reps", type=int, default=7)
    ap.add_argument("--buffer-mib", type=int, default=256)
    ap.add_argument("--orig-python", default=DEFAULT_ORIG)
    ap.add_argument("--put-num", type=int, default=1000)
    ap.add_argument("--put-dir", default=None, help="directory for the put benchmark (default: a temp dir)")
    ap.add_argument("--skip-put", action="store_true")
    args = ap.parse_args()
    if args.worker:
        _worker()
        return 0

    import numpy as np

    import s3dlio
    from s3dlio_datagen.api import make_object, object_payload_factory

    nbytes = args.buffer_mib * MiB
    buf = bytearray(b"\x01" * nbytes)
    arr = np.frombuffer(buf, dtype=np.uint8)
    orig = Remote(args.orig_python) if os.path.exists(args.orig_python) else None
    results: list[dict[str, Any]] = []

    def emit(name: str, seconds: float, size: int, **extra: Any) -> None:
        rec = {"bench": name, "seconds": seconds, "bytes": size, "gb_per_s": size / seconds / 1e9, **extra}
        results.append(rec)
        print(json.dumps(rec), flush=True)

    def ours_fill(compress: int, threads: int) -> Callable[[], float]:
        gen = s3dlio.Generator(1 << 50, 1, compress, threads=threads)
        return lambda: timed(lambda: gen.fill_chunk(buf))

    arms: dict[str, Callable[[], float]] = {
        "ours_fill_1t_c1": ours_fill(1, 1),
        "numpy_fill_A5": lambda: timed(lambda: arr.fill(0xA5)),
        "numpy_fill_0_memset": lambda: timed(lambda: arr.fill(0)),
        "ours_fill_1t_c4": ours_fill(4, 1),
        "ours_fill_2t_c1": ours_fill(1, 2),
    }
    if orig is not None:
        arms["orig_fill_1t_c1"] = lambda: orig.call(op="fill", buffer=nbytes, compress=1, threads=1)
        arms["orig_fill_1t_c4"] = lambda: orig.call(op="fill", buffer=nbytes, compress=4, threads=1)
    med = interleave(arms, args.reps)
    for name, sec in med.items():
        emit(name, sec, nbytes, buffer_mib=args.buffer_mib)

    fresh = {
        "ours_generate_data_fresh_c1": lambda: timed(lambda: s3dlio.generate_data(nbytes)),
        "ours_generate_data_fresh_c4": lambda: timed(lambda: s3dlio.generate_data(nbytes, 1, 4)),
    }
    if orig is not None:
        fresh["orig_generate_data_fresh_c1"] = lambda: orig.call(op="generate_data", size=nbytes, compress=1)
    for name, sec in interleave(fresh, args.reps).items():
        emit(name, sec, nbytes)

    def gen_objects(otype: str, size: int, count: int) -> Callable[[], float]:
        make = object_payload_factory(size, otype)

        def run() -> None:
            for i in range(count):
                make(i)

        return lambda: timed(run)

    objs = {"gen_tfrecord_20MiB_x20": (gen_objects("tfrecord", 20 * MiB, 20), 20 * 20 * MiB, 20),
            "gen_raw_64KiB_x2000": (gen_objects("raw", 64 << 10, 2000), 2000 * (64 << 10), 2000),
            "gen_npz_8MiB_x20": (gen_objects("npz", 8 * MiB, 20), 20 * 8 * MiB, 20)}
    med = interleave({k: v[0] for k, v in objs.items()}, args.reps)
    for name, sec in med.items():
        emit(name, sec, objs[name][1], objects=objs[name][2], objects_per_s=objs[name][2] / sec)

    put_rates: dict[str, float] = {}
    if not args.skip_put:
        root = tempfile.mkdtemp(prefix="datagen-bench-", dir=args.put_dir)
        try:
            num = args.put_num

            def gen_only() -> float:
                make = object_payload_factory(MiB, "raw")
                def run() -> None:
                    for i in range(num):
                        make(i)  # dropped at once, like put() does after writing

                return timed(run)

            def put_file() -> float:
                target = os.path.join(root, "put")
                shutil.rmtree(target, ignore_errors=True)
                return timed(lambda: s3dlio.put("file://" + target, num, size=MiB, max_in_flight=32))

            def put_many_prebuilt() -> float:
                target = os.path.join(root, "pm")
                shutil.rmtree(target, ignore_errors=True)
                data = make_object(MiB)
                return timed(lambda: s3dlio.put_many(
                    [(f"file://{target}/o{i}", data) for i in range(num)], max_in_flight=32))

            med = interleave({"gen_only_1MiB_x_n": gen_only, "put_file_1MiB_x_n": put_file,
                              "put_many_same_buffer_1MiB_x_n": put_many_prebuilt}, max(3, args.reps // 2))
            for name, sec in med.items():
                emit(name, sec, num * MiB, objects=num, objects_per_s=num / sec)
                put_rates[name] = num * MiB / sec / 1e9
        finally:
            shutil.rmtree(root, ignore_errors=True)
    if orig is not None:
        orig.close()

    rate = {r["bench"]: r["gb_per_s"] for r in results}
    ratios = {
        "ours_1t / numpy_fill_A5": rate["ours_fill_1t_c1"] / rate["numpy_fill_A5"],
        "ours_1t / numpy_fill_0_memset": rate["ours_fill_1t_c1"] / rate["numpy_fill_0_memset"],
        "c4 / c1 speed (ours, 1t)": rate["ours_fill_1t_c4"] / rate["ours_fill_1t_c1"],
        "2t / 1t speed (ours, c1)": rate["ours_fill_2t_c1"] / rate["ours_fill_1t_c1"],
        "fresh c4 / c1 (ours)": rate["ours_generate_data_fresh_c4"] / rate["ours_generate_data_fresh_c1"],
    }
    if orig is not None:
        ratios["ours_1t / orig_1t fill_chunk"] = rate["ours_fill_1t_c1"] / rate["orig_fill_1t_c1"]
        ratios["ours_1t_c4 / orig_1t_c4"] = rate["ours_fill_1t_c4"] / rate["orig_fill_1t_c4"]
        ratios["generate_data fresh ours / orig"] = (rate["ours_generate_data_fresh_c1"]
                                                     / rate["orig_generate_data_fresh_c1"])
    if put_rates:
        ratios["put file:// / generation-only"] = (put_rates["put_file_1MiB_x_n"]
                                                   / put_rates["gen_only_1MiB_x_n"])
    for name, value in ratios.items():
        print(json.dumps({"ratio": name, "value": round(value, 3)}), flush=True)

    print(f"\n{'benchmark':40s} {'median s':>10s} {'GB/s':>8s}", file=sys.stderr)
    for r in results:
        print(f"{r['bench']:40s} {r['seconds']:10.4f} {r['gb_per_s']:8.2f}", file=sys.stderr)
    print(f"\n{'ratio':40s} {'value':>8s}", file=sys.stderr)
    for name, value in ratios.items():
        print(f"{name:40s} {value:8.2f}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
