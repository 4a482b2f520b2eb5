"""S3 client-CPU benchmark against a moto server on loopback (docs/performance.md, targets: the S3 row).

Usage::

    python benchmarks/s3_bench.py [--objects 64] [--size 8MiB] [--inflight 16] [--repeat 3]
                                  [--orig-python .bench/orig-venv/bin/python | none] [--json]
    tox -e bench -- s3 [same options]            (benchmarks/run.py hands "s3" over to here)

Starts one moto server (``s3dlio.testing.servers.MotoServer``: a subprocess bound to
127.0.0.1 on a free port) and, in the same run, measures PUT and GET of ``objects`` ×
``size`` with ``inflight`` requests in flight for three clients, each in its **own
long-lived worker process** (no shared GIL, separate ``getrusage`` counters):

* ``naive``    — boto3, default config, one shared client,
  ``ThreadPoolExecutor(inflight)`` of ``put_object(Bucket, Key, Body=bytes)`` /
  ``get_object(...)["Body"].read()``;
* ``ours``     — this project's ``s3dlio.put_many(items, max_in_flight)`` /
  ``s3dlio.get_many(uris, max_in_flight)`` (``--put-api threads``: ``put_bytes`` from
  ``inflight`` threads instead);
* ``original`` — the Rust wheel (PyPI ``s3dlio``) under ``--orig-python``, same calls;
* ``ours-retain`` — ours with ``S3DLIO_MALLOC_RETAIN_MB=1024`` (freed result buffers stay
  mapped, so GETs after the first fill memory that is already faulted in).

Client CPU = ``getrusage(RUSAGE_SELF)`` user+sys delta of the worker process around
the call (every thread of the worker, the original's Rust runtime included); the
server's CPU is read from ``/proc/<pid>/stat`` and shown separately, never added. Each
worker does one warm-up PUT and GET (clients, connections, buckets), then ``repeat``
measured rounds, the arm order rotating per round (A B C, B C A, …); the median is
reported, with every round's value beside it. GB = 10^9 bytes, MB = 10^6 bytes. Each
worker writes its own bucket and reads back what it wrote; all objects are distinct (an
8-byte counter prefix).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
DEFAULT_ORIG = os.path.join(REPO, ".bench", "orig-venv", "bin", "python")
IMPLS = ("naive", "ours", "original", "ours-retain")
RETAIN_MB = "1024"
"""``ours-retain``: ours with ``S3DLIO_MALLOC_RETAIN_MB`` (freed result buffers stay mapped)."""


def parse_size(text: str) -> int:
    """``8MiB`` / ``8M`` / ``1GiB`` / ``4096`` -> bytes (binary units; ``MB`` = 10^6)."""
    t = text.strip()
    units = {"kib": 1 << 10, "mib": 1 << 20, "gib": 1 << 30, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30,
             "kb": 10**3, "mb": 10**6, "gb": 10**9, "b": 1}
    low = t.lower()
    for suffix in sorted(units, key=len, reverse=True):
        if low.endswith(suffix):
            return int(float(low[: -len(suffix)]) * units[suffix])
    return int(t)


# ----------------------------------------------------------------------------- worker side
# Runs under any interpreter (ours, the original's venv): stdlib at module level only.


def _rusage() -> tuple[float, int, float]:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime, ru.ru_minflt, ru.ru_stime


class _Client:
    def __init__(self, impl: str, bucket: str, n: int, size: int, inflight: int, put_api: str) -> None:
        self.impl, self.bucket, self.inflight, self.put_api = impl, bucket, inflight, put_api
        self.keys = [f"obj-{i:05d}.bin" for i in range(n)]
        self.uris = [f"s3://{bucket}/{k}" for k in self.keys]
        base = os.urandom(size)
        self.payloads = [i.to_bytes(8, "little") + base[8:] for i in range(n)]  # distinct, exact bytes
        self.pool = None
        if impl == "naive":
            from concurrent.futures import ThreadPoolExecutor

            import boto3

            self.client = boto3.client("s3", endpoint_url=os.environ["AWS_ENDPOINT_URL"])
            self.pool = ThreadPoolExecutor(inflight)
        else:
            import s3dlio

            self.s3dlio = s3dlio
            if put_api == "threads":
                from concurrent.futures import ThreadPoolExecutor

                self.pool = ThreadPoolExecutor(inflight)

    def put(self) -> int:
        if self.impl == "naive":
            c, b = self.client, self.bucket
            assert self.pool is not None
            list(self.pool.map(lambda kp: c.put_object(Bucket=b, Key=kp[0], Body=kp[1]),
                               zip(self.keys, self.payloads, strict=True)))
        elif self.put_api == "threads":
            pb = self.s3dlio.put_bytes
            assert self.pool is not None
            list(self.pool.map(lambda up: pb(up[0], up[1]), zip(self.uris, self.payloads, strict=True)))
        else:
            items = list(zip(self.uris, self.payloads, strict=True))
            self.s3dlio.put_many(items, max_in_flight=self.inflight)
        return sum(len(p) for p in self.payloads)

    def get(self) -> int:
        if self.impl == "naive":
            c, b = self.client, self.bucket
            assert self.pool is not None
            datas = list(self.pool.map(lambda k: c.get_object(Bucket=b, Key=k)["Body"].read(), self.keys))
            total = sum(len(d) for d in datas)
        else:
            res = self.s3dlio.get_many(self.uris, max_in_flight=self.inflight)
            total = sum(len(d) for _u, d in res)
            datas = res
        del datas  # freeing the results is part of the cost
        return total


def serve(setup: Callable[[dict[str, Any]], tuple[Any, dict[str, Any]]],
          extra: Mapping[str, Callable[[Any, dict[str, Any]], dict[str, Any]]] | None = None) -> None:
    """A worker's request loop: JSON requests on stdin, one JSON answer per line on stdout.

    ``setup(req) -> (client, answer)`` builds the client; ``put`` / ``get`` call
    ``client.put()`` / ``client.get()`` (each returns the bytes moved) and answer the
    client CPU (user + sys), system CPU, wall time and minor faults of the call only;
    ``extra`` maps other op names to ``handler(client, req) -> answer``; ``exit`` ends.
    """
    client: Any = None
    out = sys.stdout
    sys.stdout = sys.stderr  # nothing but answers on the pipe
    for line in sys.stdin:
        req = json.loads(line)
        try:
            op = req["op"]
            if op == "exit":
                break
            if op == "setup":
                client, answer = setup(req)
            elif extra and op in extra:
                answer = extra[op](client, req)
            else:
                assert client is not None
                fn = client.put if op == "put" else client.get
                c0, f0, s0 = _rusage()
                t0 = time.perf_counter()
                nbytes = fn()
                wall = time.perf_counter() - t0
                c1, f1, s1 = _rusage()
                answer = {"ok": True, "cpu_s": c1 - c0, "sys_s": s1 - s0, "wall_s": wall, "minflt": f1 - f0,
                          "bytes": nbytes}
        except Exception as exc:  # report, keep serving
            answer = {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:2000]}
        out.write(json.dumps(answer) + "\n")
        out.flush()


def worker_main() -> None:
    """Serve ``setup`` / ``put`` / ``get`` requests (see :func:`serve`)."""

    def setup(req: dict[str, Any]) -> tuple[_Client, dict[str, Any]]:
        client = _Client(req["impl"], req["bucket"], req["n"], req["size"], req["inflight"], req["put_api"])
        import s3dlio as _m

        return client, {"ok": True, "s3dlio": getattr(_m, "__version__", "?"),
                        "file": getattr(_m, "__file__", "?")}

    serve(setup)


# ----------------------------------------------------------------------------- driver side


class Worker:
    """One client process (its own interpreter, GIL and rusage counters)."""

    def __init__(self, impl: str, python: str, env: dict[str, str]) -> None:
        self.impl = impl
        self.err = tempfile.TemporaryFile()  # noqa: SIM115 (lives as long as the worker)
        self.proc = subprocess.Popen([python, os.path.abspath(__file__), "--worker"], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=self.err, env=env, text=True, bufsize=1,
                                     cwd=tempfile.gettempdir())  # cwd: never shadow the venv's s3dlio

    def call(self, **req: Any) -> dict[str, Any]:
        assert self.proc.stdin and self.proc.stdout
        self.proc.stdin.write(json.dumps(req) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            self.err.seek(0)
            tail = self.err.read()[-3000:].decode(errors="replace")
            raise RuntimeError(f"{self.impl} worker died:\n{tail}")
        ans: dict[str, Any] = json.loads(line)
        if not ans.get("ok"):
            raise RuntimeError(f"{self.impl} {req.get('op')}: {ans.get('error')}")
        return ans

    def close(self) -> None:
        try:
            if self.proc.poll() is None and self.proc.stdin:
                self.proc.stdin.write(json.dumps({"op": "exit"}) + "\n")
                self.proc.stdin.close()
            self.proc.wait(timeout=30)
        except Exception:
            self.proc.kill()
            self.proc.wait()


def run_rounds(workers: Mapping[str, Worker], impls: list[str], repeat: int, server_pid: int | None,
               rows: dict[tuple[str, str], list[dict[str, Any]]],
               server_cpu: dict[tuple[str, str], list[float]], *, echo: bool,
               label: Mapping[str, Any] | None = None) -> None:
    """One warm-up PUT + GET per arm, then ``repeat`` rounds of PUT then GET with the arm
    order rotated per round; each answer goes to ``rows`` and the server's CPU during it to
    ``server_cpu`` (``echo``: every answer as a JSON line on stderr, ``label`` first)."""
    for impl in impls:  # warm-up: clients, connection pools, first objects
        workers[impl].call(op="put")
        workers[impl].call(op="get")
    for rnd in range(repeat):
        order = impls[rnd % len(impls):] + impls[: rnd % len(impls)]
        for op in ("put", "get"):
            for impl in order:
                s0 = _proc_cpu(server_pid)
                r = workers[impl].call(op=op)
                server_cpu[(impl, op)].append(_proc_cpu(server_pid) - s0)
                r["round"] = rnd
                rows[(impl, op)].append(r)
                if echo:
                    print(json.dumps({**(label or {}), "impl": impl, "op": op, **r}), file=sys.stderr,
                          flush=True)


def _proc_cpu(pid: int | None) -> float:
    """user+sys seconds of a process (and its waited-for children) from /proc."""
    if pid is None:
        return 0.0
    try:
        with open(f"/proc/{pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        tick = os.sysconf("SC_CLK_TCK")
        return sum(int(x) for x in fields[11:15]) / tick  # utime stime cutime cstime
    except OSError:
        return 0.0


def _loadavg() -> str:
    try:
        with open("/proc/loadavg") as fh:
            return " ".join(fh.read().split()[:3])
    except OSError:
        return "?"


def _median(xs: list[float]) -> float:
    return statistics.median(xs) if xs else float("nan")


def summarize(rows: dict[tuple[str, str], list[dict[str, Any]]],
              server_cpu: dict[tuple[str, str], list[float]], total: int) -> dict[str, dict[str, Any]]:
    """Per ``impl-op``: medians (and every round) of client CPU s/GB, sys s/GB, wall MB/s,
    faults and the server's CPU s/GB (shared by s3_bench and cloud_bench)."""
    summary: dict[str, dict[str, Any]] = {}
    for (impl, op), rs in rows.items():
        cpu = [r["cpu_s"] for r in rs]
        wall = [r["wall_s"] for r in rs]
        summary[f"{impl}-{op}"] = {
            "impl": impl, "op": op,
            "cpu_s_per_gb": _median([c / (total / 1e9) for c in cpu]),
            "cpu_s_per_gb_all": [round(c / (total / 1e9), 3) for c in cpu],
            "sys_s_per_gb": _median([r["sys_s"] / (total / 1e9) for r in rs]),
            "wall_mb_s": _median([total / 1e6 / w for w in wall]),
            "wall_mb_s_all": [round(total / 1e6 / w, 1) for w in wall],
            "minflt": _median([r["minflt"] for r in rs]),
            "server_cpu_s_per_gb": _median([c / (total / 1e9) for c in server_cpu[(impl, op)]]),
        }
    return summary


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--objects", type=int, default=64)
    ap.add_argument("--size", default="8MiB", help="object size (8MiB, 1M, 65536, …)")
    ap.add_argument("--inflight", type=int, default=16)
    ap.add_argument("--repeat", type=int, default=3, help="measured rounds per arm (median reported)")
    ap.add_argument("--orig-python", default=os.environ.get("S3DLIO_BENCH_PYTHON_ORIGINAL", DEFAULT_ORIG),
                    help="interpreter with the original s3dlio wheel ('none' to skip)")
    ap.add_argument("--put-api", choices=("put_many", "threads"), default="put_many",
                    help="ours/original PUT: put_many(max_in_flight) or put_bytes from N threads")
    ap.add_argument("--only", default="", help="comma-separated subset of naive,ours,original,ours-retain "
                    f"(ours-retain: ours with S3DLIO_MALLOC_RETAIN_MB={RETAIN_MB})")
    ap.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    args = ap.parse_args(argv)
    size = parse_size(args.size)
    total = args.objects * size

    from s3dlio.testing.servers import MotoServer

    impls = [i for i in IMPLS if not args.only or i in [o.strip() for o in args.only.split(",")]]
    orig = args.orig_python
    if "original" in impls and (orig == "none" or not os.path.exists(orig)):
        print(f"original skipped: no interpreter at {orig!r}", file=sys.stderr)
        impls.remove("original")

    meta: dict[str, Any] = {
        "date": time.strftime("%Y-%m-%d %H:%M:%S"), "objects": args.objects, "size": size,
        "inflight": args.inflight, "repeat": args.repeat, "put_api": args.put_api,
        "cpus": len(os.sched_getaffinity(0)), "load_before": _loadavg(),
    }
    rows: dict[tuple[str, str], list[dict[str, Any]]] = {(i, op): [] for i in impls for op in ("put", "get")}
    server_cpu: dict[tuple[str, str], list[float]] = {k: [] for k in rows}
    workers: dict[str, Worker] = {}
    started = time.time()
    with MotoServer() as server:
        env = {**os.environ, **server.info.env()}
        for k in ("AWS_PROFILE", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE", "AWS_SESSION_TOKEN"):
            env.pop(k, None)
        import boto3

        admin = boto3.client("s3", endpoint_url=server.info.endpoint_url, region_name=server.info.region,
                             aws_access_key_id=server.info.access_key,
                             aws_secret_access_key=server.info.secret_key)
        try:
            for impl in impls:
                bucket = f"s3bench-{impl}"
                admin.create_bucket(Bucket=bucket)
                py = orig if impl == "original" else sys.executable
                wenv = {**env, "S3DLIO_MALLOC_RETAIN_MB": RETAIN_MB} if impl == "ours-retain" else env
                workers[impl] = Worker(impl, py, wenv)
                info = workers[impl].call(op="setup", impl=impl, bucket=bucket, n=args.objects, size=size,
                                          inflight=args.inflight, put_api=args.put_api)
                meta[f"{impl}_module"] = {"version": info["s3dlio"], "file": info["file"]}
            run_rounds(workers, impls, args.repeat, server.pid, rows, server_cpu, echo=not args.json)
        finally:
            for w in workers.values():
                w.close()
    meta["load_after"] = _loadavg()
    meta["elapsed_s"] = round(time.time() - started, 1)

    summary = summarize(rows, server_cpu, total)
    ratios: dict[str, float] = {}
    for op in ("put", "get"):
        ours = summary.get(f"ours-{op}")
        for other in ("naive", "original"):
            o = summary.get(f"{other}-{op}")
            retain = summary.get(f"ours-retain-{op}")
            if retain and o:
                ratios[f"{op} cpu ours-retain/{other}"] = retain["cpu_s_per_gb"] / o["cpu_s_per_gb"]
            if ours and o:
                ratios[f"{op} cpu ours/{other}"] = ours["cpu_s_per_gb"] / o["cpu_s_per_gb"]
                ratios[f"{op} wall ours/{other}"] = ours["wall_mb_s"] / o["wall_mb_s"]
    anchors = {"put": 0.69, "get": 0.76}
    verdicts = []
    for op in ("put", "get"):
        ours = summary.get(f"ours-{op}")
        if not ours:
            continue
        naive = summary.get(f"naive-{op}")
        if naive:
            verdicts.append({"target": f"{op} CPU/GB < naive boto3 (same run)", "ours": ours["cpu_s_per_gb"],
                             "goal": naive["cpu_s_per_gb"],
                             "met": ours["cpu_s_per_gb"] < naive["cpu_s_per_gb"]})
        verdicts.append({"target": f"{op} CPU/GB <= original's anchor", "ours": ours["cpu_s_per_gb"],
                         "goal": anchors[op], "met": ours["cpu_s_per_gb"] <= anchors[op]})
        orig_row = summary.get(f"original-{op}")
        if orig_row:
            verdicts.append({"target": f"{op} CPU/GB <= original (same run)", "ours": ours["cpu_s_per_gb"],
                             "goal": orig_row["cpu_s_per_gb"],
                             "met": ours["cpu_s_per_gb"] <= orig_row["cpu_s_per_gb"]})

    if args.json:
        print(json.dumps({"meta": meta, "summary": summary, "ratios": ratios, "verdicts": verdicts,
                          "rounds": {f"{i}-{o}": rs for (i, o), rs in rows.items()}}, indent=1))
        return 0
    print(f"\n## S3 (moto on loopback): {args.objects} x {size} B, {args.inflight} in flight, "
          f"median of {args.repeat}; load {meta['load_before']} -> {meta['load_after']}")
    print(f"{'arm':17} {'CPU s/GB':>9} {'sys s/GB':>9} {'MB/s':>8} {'srv CPU s/GB':>13} {'minflt':>8}"
          "   all CPU s/GB")
    for key, s in summary.items():
        print(f"{key:17} {s['cpu_s_per_gb']:9.3f} {s['sys_s_per_gb']:9.3f} {s['wall_mb_s']:8.1f} "
              f"{s['server_cpu_s_per_gb']:13.3f} {int(s['minflt']):8d}   {s['cpu_s_per_gb_all']}")
    for k, v in ratios.items():
        print(f"  {k:28} {v:.3f}")
    for vd in verdicts:
        mark = "MET " if vd["met"] else "MISS"
        print(f"  [{mark}] {vd['target']:40} ours {vd['ours']:.3f}  goal {vd['goal']:.3f}")
    print(f"elapsed {meta['elapsed_s']} s")
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        worker_main()
    else:
        sys.exit(main())
