"""Standalone data-generation benchmark for s3dlio-datagen (docs/performance.md, targets).

Measures, in one run, interleaved A B A B (median of ``--reps`` after a warm-up):

* single-thread ``Generator.fill_chunk`` into a reused, pre-faulted buffer, against
  numpy memory fill of the same buffer (``fill(0xA5)``: ordinary stores;
  ``fill(0)``: glibc memset, non-temporal stores) and, when its virtual environment
  exists, the original s3dlio's ``Generator.fill_chunk`` (run in a worker process
  under that interpreter, same buffer size);
* ``compress=4`` against ``compress=1``; two threads against one;
* ``generate_data`` into a fresh buffer (first-touch bound), ours and the original;
* ``put()`` of N x 1 MiB to ``file://`` against generating the same objects only;
* ``--sweep 1,8,32,256``: compress=4 against compress=1, and two threads against one,
  per buffer size (MiB), beside the same layout written by bare numpy calls (one XOR
  for compress=1; the prefixes' XOR plus the tails' zeroing, per block or by one large
  memset, for compress=4). Their ratio is the most any numpy-level generator can reach
  on the machine: it is set by how much faster the machine clears memory than it writes
  XORed data; the bare XOR split over two threads bounds the thread scaling the same
  way (see docs/performance.md, s3dlio-datagen).

Prints one JSON line per measurement, then a table. Usage::

    .venv/bin/python benchmarks/datagen_bench.py [--reps 7] [--buffer-mib 256]
        [--orig-python .bench/orig-venv/bin/python] [--put-num 1000] [--put-dir DIR]
        [--sweep 1,8,32,256 [--sweep-only]]
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
from concurrent.futures import ThreadPoolExecutor
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
                    # 1 TiB outlasts any run; the original allocates ~size/128 Ki bytes up
                    # front (8 GiB for 1 PiB, which three settings cannot afford in 24 GiB).
                    gen = gens[key] = s3dlio.Generator(size=1 << 40, dedup=key[0], compress=key[1],
                                                       threads=key[2])
                    gen.fill_chunk(buf)
                number = req.get("number", 1)
                t0 = time.perf_counter()
                for _ in range(number):
                    gen.fill_chunk(buf)
                dt = (time.perf_counter() - t0) / number
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


def interleave(arms: dict[str, Callable[[], float]], reps: int) -> dict[str, float]:
    """Warm up every arm, then ``reps`` rounds in rotating order; median seconds per arm.

    No pause between arms: the original's spinning threads are waited out by
    ``Remote.call``, and a pause would let the second vCPU go idle, so a two-thread
    arm would time the hypervisor waking it (measured: 2 threads no faster than 1).
    """
    names = list(arms)
    for name in names:
        arms[name]()
    times: dict[str, list[float]] = {n: [] for n in names}
    for r in range(reps):
        order = names[r % len(names):] + names[: r % len(names)]
        for name in order:
            times[name].append(arms[name]())
    return {n: statistics.median(t) for n, t in times.items()}


def timed(fn: Callable[[], Any]) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


class SizeArms:
    """Timed arms over one reused buffer of ``mib`` MiB: ours, bare numpy, the original.

    Every arm returns the median-ready seconds of one fill (averaged over enough calls
    to last about a millisecond).
    """

    def __init__(self, mib: int, orig: Remote | None) -> None:
        import numpy as np

        import s3dlio

        self.np, self.mib, self.orig = np, mib, orig
        self.nbytes = mib * MiB
        rng = np.random.default_rng()
        self.buf = bytearray(b"\x01" * self.nbytes)
        self.arr = np.frombuffer(self.buf, dtype=np.uint8)
        self.words = self.arr.view(np.uint64).reshape(mib, MiB // 8)
        self.prefix_words = MiB // 4 // 8  # compress=4: a 256 KiB random prefix per block
        self.base1 = rng.integers(0, 2**63, size=MiB // 8, dtype=np.uint64)
        self.base4 = rng.integers(0, 2**63, size=self.prefix_words, dtype=np.uint64)
        self.keys = rng.integers(0, 2**63, size=(mib, 1), dtype=np.uint64)
        self.number = max(1, 64 // mib)  # >= ~1 ms a sample
        self.pool = ThreadPoolExecutor(1)
        self.gens = {(c, t): s3dlio.Generator(1 << 50, 1, c, threads=t) for c, t in ((1, 1), (4, 1), (1, 2))}

    def _repeat(self, fn: Callable[[], Any]) -> Callable[[], float]:
        def run() -> float:
            t0 = time.perf_counter()
            for _ in range(self.number):
                fn()
            return (time.perf_counter() - t0) / self.number
        return run

    def ours(self, compress: int, threads: int = 1) -> Callable[[], float]:
        gen, buf = self.gens[(compress, threads)], self.buf
        return self._repeat(lambda: gen.fill_chunk(buf))

    def original(self, compress: int, threads: int = 1) -> Callable[[], float]:
        orig, nbytes, number = self.orig, self.nbytes, self.number
        assert orig is not None
        return lambda: orig.call(op="fill", buffer=nbytes, compress=compress, threads=threads,
                                 number=number)

    def _xor(self, lo: int, hi: int) -> None:
        self.np.bitwise_xor(self.base1[None, :], self.keys[lo:hi], out=self.words[lo:hi])

    def numpy_c1(self, threads: int = 1) -> Callable[[], float]:
        """compress=1's layout: one XOR of the base with a key per block (halves in two threads)."""
        mib = self.mib
        if threads == 1:
            return self._repeat(lambda: self._xor(0, mib))

        def two() -> None:
            other = self.pool.submit(self._xor, mib // 2, mib)
            self._xor(0, mib // 2)
            other.result()

        return self._repeat(two)

    def _prefixes(self) -> None:
        np, pw = self.np, self.prefix_words
        np.bitwise_xor(self.base4[None, :], self.keys, out=self.words[:, :pw])

    def numpy_c4(self, bulk_clear: bool) -> Callable[[], float]:
        """compress=4's layout: the prefixes' XOR, then each block's tail zeroed — or one
        memset of the whole buffer first (non-temporal stores when it is large)."""
        rows = self.arr.reshape(self.mib, MiB)

        def per_block() -> None:
            self._prefixes()
            rows[:, MiB // 4:] = 0

        def bulk() -> None:
            self.arr.fill(0)
            self._prefixes()

        return self._repeat(bulk if bulk_clear else per_block)


def sweep(sizes_mib: list[int], reps: int, orig: Remote | None,
          emit: Callable[..., None]) -> dict[str, float]:
    """Per buffer size: compress=4 vs compress=1 beside the numpy-layout bound, then two
    threads vs one beside the bare XOR's scaling (a separate round without the
    original, whose idle worker threads would disturb the two-thread arms)."""
    ratios: dict[str, float] = {}
    for mib in sizes_mib:
        arms = SizeArms(mib, orig)
        layout = {"ours_c1": arms.ours(1), "ours_c4": arms.ours(4), "numpy_c1_xor": arms.numpy_c1(),
                  "numpy_c4_per_block": arms.numpy_c4(False), "numpy_c4_bulk_clear": arms.numpy_c4(True)}
        if orig is not None:
            layout |= {"orig_c1": arms.original(1), "orig_c4": arms.original(4),
                       "orig_c1_2t": arms.original(1, 2)}
        med = interleave(layout, reps)
        med |= {k + "_threads_round": v for k, v in interleave(
            {"ours_c1": arms.ours(1), "ours_c1_2t": arms.ours(1, 2), "numpy_c1_xor": arms.numpy_c1(),
             "numpy_c1_xor_2t": arms.numpy_c1(2)}, reps).items()}
        for name, sec in med.items():
            emit(f"sweep_{name}", sec, mib * MiB, buffer_mib=mib)
        bound = med["numpy_c1_xor"] / min(med["numpy_c4_per_block"], med["numpy_c4_bulk_clear"])
        ratios[f"c4 / c1 ours @ {mib} MiB"] = med["ours_c1"] / med["ours_c4"]
        ratios[f"c4 / c1 numpy bound @ {mib} MiB"] = bound
        ratios[f"2t / 1t ours @ {mib} MiB"] = (med["ours_c1_threads_round"]
                                              / med["ours_c1_2t_threads_round"])
        ratios[f"2t / 1t numpy @ {mib} MiB"] = (med["numpy_c1_xor_threads_round"]
                                               / med["numpy_c1_xor_2t_threads_round"])
        if orig is not None:
            ratios[f"c4 / c1 orig @ {mib} MiB"] = med["orig_c1"] / med["orig_c4"]
            ratios[f"2t / 1t orig @ {mib} MiB"] = med["orig_c1"] / med["orig_c1_2t"]
            ratios[f"c4 ours / orig @ {mib} MiB"] = med["orig_c4"] / med["ours_c4"]
            ratios[f"c1 ours / orig @ {mib} MiB"] = med["orig_c1"] / med["ours_c1"]
    return ratios


def main_suite(args: argparse.Namespace, orig: Remote | None, emit: Callable[..., None],
               results: list[dict[str, Any]]) -> dict[str, float]:
    """The 256 MiB fill comparison, fresh buffers, object types and put(); their ratios."""
    import numpy as np

    import s3dlio
    from s3dlio_datagen.api import make_object, object_payload_factory

    nbytes = args.buffer_mib * MiB
    buf = bytearray(b"\x01" * nbytes)
    arr = np.frombuffer(buf, dtype=np.uint8)
    def ours_fill(compress: int, threads: int) -> Callable[[], float]:
        gen = s3dlio.Generator(1 << 50, 1, compress, threads=threads)
        return lambda: timed(lambda: gen.fill_chunk(buf))

    arms: dict[str, Callable[[], float]] = {
        "ours_fill_1t_c1": ours_fill(1, 1),
        "numpy_fill_A5": lambda: timed(lambda: arr.fill(0xA5)),
        "numpy_fill_0_memset": lambda: timed(lambda: arr.fill(0)),
        "ours_fill_1t_c4": ours_fill(4, 1),
    }
    if orig is not None:
        arms["orig_fill_1t_c1"] = lambda: orig.call(op="fill", buffer=nbytes, compress=1, threads=1)
        arms["orig_fill_1t_c4"] = lambda: orig.call(op="fill", buffer=nbytes, compress=4, threads=1)
    med = interleave(arms, args.reps)
    for name, sec in med.items():
        emit(name, sec, nbytes, buffer_mib=args.buffer_mib)

    # Thread scaling in a round of its own, without the original (see sweep()).
    scaling = SizeArms(args.buffer_mib, None)
    med = interleave({"ours_fill_1t_c1_threads_round": scaling.ours(1), "ours_fill_2t_c1": scaling.ours(1, 2),
                      "numpy_xor_1t": scaling.numpy_c1(), "numpy_xor_2t": scaling.numpy_c1(2)}, args.reps)
    for name, sec in med.items():
        emit(name, sec, nbytes, buffer_mib=args.buffer_mib)
    del scaling

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
    rate = {r["bench"]: r["gb_per_s"] for r in results}
    ratios = {
        "ours_1t / numpy_fill_A5": rate["ours_fill_1t_c1"] / rate["numpy_fill_A5"],
        "ours_1t / numpy_fill_0_memset": rate["ours_fill_1t_c1"] / rate["numpy_fill_0_memset"],
        "c4 / c1 speed (ours, 1t)": rate["ours_fill_1t_c4"] / rate["ours_fill_1t_c1"],
        "2t / 1t speed (ours, c1)": rate["ours_fill_2t_c1"] / rate["ours_fill_1t_c1_threads_round"],
        "2t / 1t speed (bare numpy XOR)": rate["numpy_xor_2t"] / rate["numpy_xor_1t"],
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
    return ratios


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--reps", type=int, default=7)
    ap.add_argument("--buffer-mib", type=int, default=256)
    ap.add_argument("--orig-python", default=DEFAULT_ORIG)
    ap.add_argument("--put-num", type=int, default=1000)
    ap.add_argument("--put-dir", default=None, help="directory for the put benchmark (default: a temp dir)")
    ap.add_argument("--skip-put", action="store_true")
    ap.add_argument("--sweep", default=None, metavar="MIB,...",
                    help="also compare compress=4 with compress=1 at these buffer sizes")
    ap.add_argument("--sweep-only", action="store_true", help="run only the --sweep section")
    args = ap.parse_args()
    if args.worker:
        _worker()
        return 0

    orig = Remote(args.orig_python) if os.path.exists(args.orig_python) else None
    results: list[dict[str, Any]] = []

    def emit(name: str, seconds: float, size: int, **extra: Any) -> None:
        rec = {"bench": name, "seconds": seconds, "bytes": size, "gb_per_s": size / seconds / 1e9, **extra}
        results.append(rec)
        print(json.dumps(rec), flush=True)

    ratios: dict[str, float] = {}
    if not args.sweep_only:
        ratios.update(main_suite(args, orig, emit, results))
    if args.sweep:
        sizes = [int(x) for x in args.sweep.split(",") if x.strip()]
        ratios.update(sweep(sizes, args.reps, orig, emit))
    if orig is not None:
        orig.close()

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
