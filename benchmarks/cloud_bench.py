"""Azure / GCS client-CPU benchmark against emulators on loopback (Azurite, fake-gcs-server).

Usage::

    python benchmarks/cloud_bench.py [--backend azure,gcs] [--objects 32] [--size 8MiB]
                                     [--inflight 16] [--repeat 3] [--json]
    python benchmarks/run.py cloud [same options]     (benchmarks/run.py hands "cloud" over here)

Target (issue): client CPU seconds per GB for PUT and GET of ``objects`` × ``size`` with
``inflight`` in flight **at or below the plain SDK used naively**, measured in the same run.

Per backend, one emulator (``s3dlio.testing.servers.AzuriteServer`` /
``FakeGcsServer``: a subprocess bound to 127.0.0.1 on a free port) and two clients, each
in its **own long-lived worker process** (no shared GIL, separate ``getrusage`` counters):

* ``naive`` — the vendor SDK, default configuration, one shared client,
  ``ThreadPoolExecutor(inflight)``: Azure ``container_client.upload_blob(name, data,
  overwrite=True)`` / ``download_blob(name).readall()``; GCS
  ``bucket.blob(name).upload_from_string(data)`` / ``download_as_bytes()``;
* ``ours``  — ``s3dlio.put_many(items, max_in_flight=inflight)`` /
  ``s3dlio.get_many(uris, max_in_flight=inflight)`` on ``az://devstoreaccount1/<container>/…``
  and ``gs://<bucket>/…``.

The method is the one of ``benchmarks/s3_bench.py`` (whose helpers are reused): client
CPU = ``getrusage(RUSAGE_SELF)`` user+sys delta of the worker around the call only; the
emulator's CPU (``/proc/<pid>/stat``) is shown beside it, never added. Each worker does
one warm-up PUT and GET, then ``repeat`` measured rounds with the arm order rotated per
round; the median is reported with every round's value. GB = 10^9 B, MB = 10^6 B. Each
worker writes its own container/bucket and reads back what it wrote; objects are distinct
(an 8-byte counter prefix). ``--profile DIR`` additionally runs one extra PUT and GET of
``ours`` under cProfile (after the measured rounds) and writes the ``.pstats`` there.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

from s3_bench import Worker as _S3Worker  # noqa: E402 (the shared method lives there)
from s3_bench import _loadavg, parse_size, run_rounds, serve, summarize  # noqa: E402

BACKENDS = ("azure", "gcs")
IMPLS = ("naive", "ours")
AZ_ACCOUNT = "devstoreaccount1"
SDK = {"azure": "azure-storage-blob", "gcs": "google-cloud-storage"}


# ----------------------------------------------------------------------------- worker side


class _Client:
    def __init__(self, backend: str, impl: str, bucket: str, n: int, size: int, inflight: int) -> None:
        self.backend, self.impl, self.bucket, self.inflight = backend, impl, bucket, inflight
        self.keys = [f"obj-{i:05d}.bin" for i in range(n)]
        prefix = f"az://{AZ_ACCOUNT}/{bucket}" if backend == "azure" else f"gs://{bucket}"
        self.uris = [f"{prefix}/{k}" for k in self.keys]
        base = os.urandom(size)
        self.payloads = [i.to_bytes(8, "little") + base[8:] for i in range(n)]  # distinct, exact bytes
        self.pool: Any = None
        if impl == "naive":
            from concurrent.futures import ThreadPoolExecutor

            self.pool = ThreadPoolExecutor(inflight)
            if backend == "azure":
                from azure.storage.blob import BlobServiceClient

                svc = BlobServiceClient.from_connection_string(os.environ["AZURE_STORAGE_CONNECTION_STRING"])
                self.cc = svc.get_container_client(bucket)
            else:
                from google.auth.credentials import AnonymousCredentials
                from google.cloud import storage

                client = storage.Client(project=os.environ["GOOGLE_CLOUD_PROJECT"],
                                        credentials=AnonymousCredentials())  # type: ignore[no-untyped-call]
                self.gbucket = client.bucket(bucket)
        else:
            import s3dlio

            self.s3dlio = s3dlio

    def create(self) -> None:
        if self.impl == "naive":
            if self.backend == "azure":
                self.cc.create_container()
            else:
                self.gbucket.client.create_bucket(self.gbucket)
        else:
            self.s3dlio.create_bucket(self.uris[0].rsplit("/", 1)[0] + "/")

    def put(self) -> int:
        pairs = list(zip(self.keys, self.payloads, strict=True))
        if self.impl == "naive":
            if self.backend == "azure":
                cc = self.cc
                list(self.pool.map(lambda kp: cc.upload_blob(kp[0], kp[1], overwrite=True), pairs))
            else:
                b = self.gbucket
                list(self.pool.map(lambda kp: b.blob(kp[0]).upload_from_string(kp[1]), pairs))
        else:
            items = list(zip(self.uris, self.payloads, strict=True))
            self.s3dlio.put_many(items, max_in_flight=self.inflight)
        return sum(len(p) for p in self.payloads)

    def get(self) -> int:
        if self.impl == "naive":
            if self.backend == "azure":
                cc = self.cc
                datas: Any = list(self.pool.map(lambda k: cc.download_blob(k).readall(), self.keys))
            else:
                b = self.gbucket
                datas = list(self.pool.map(lambda k: b.blob(k).download_as_bytes(), self.keys))
            sizes = [len(d) for d in datas]
        else:
            datas = self.s3dlio.get_many(self.uris, max_in_flight=self.inflight)
            sizes = [len(d) for _u, d in datas]
        if sizes != [len(p) for p in self.payloads]:
            raise AssertionError(f"short read: {sizes[:4]}…")
        del datas  # freeing the results is part of the cost
        return sum(sizes)


def worker_main() -> None:
    """Serve ``setup`` / ``put`` / ``get`` / ``profile`` requests (see ``s3_bench.serve``)."""

    def setup(req: dict[str, Any]) -> tuple[_Client, dict[str, Any]]:
        client = _Client(req["backend"], req["impl"], req["bucket"], req["n"], req["size"], req["inflight"])
        client.create()
        return client, {"ok": True, "versions": _versions(req["backend"])}

    def profile(client: _Client, req: dict[str, Any]) -> dict[str, Any]:
        import cProfile

        for op in ("put", "get"):
            prof = cProfile.Profile()
            prof.enable()
            (client.put if op == "put" else client.get)()
            prof.disable()
            prof.dump_stats(os.path.join(req["dir"], f"{client.backend}-{client.impl}-{op}.pstats"))
        return {"ok": True}

    serve(setup, {"profile": profile})


def _versions(backend: str) -> dict[str, str]:
    import importlib.metadata as md

    names = ["s3dlio-core", SDK[backend], "s3dlio-azure" if backend == "azure" else "s3dlio-gcs"]
    found = {}
    for name in names:
        try:
            found[name] = md.version(name)
        except md.PackageNotFoundError:
            found[name] = "-"
    return found


# ----------------------------------------------------------------------------- driver side


class Worker(_S3Worker):
    """One client process running *this* file's worker loop."""

    def __init__(self, impl: str, python: str, env: dict[str, str]) -> None:
        self.impl = impl
        self.err = tempfile.TemporaryFile()  # noqa: SIM115 (lives as long as the worker)
        self.proc = subprocess.Popen([python, os.path.abspath(__file__), "--worker"], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=self.err, env=env, text=True, bufsize=1,
                                     cwd=tempfile.gettempdir())  # cwd: never shadow the venv's s3dlio


_CLEAN_ENV = (
    "AZURE_STORAGE_CONNECTION_STRING", "AZURE_STORAGE_ACCOUNT", "AZURE_STORAGE_ACCOUNT_NAME",
    "AZURE_STORAGE_KEY", "AZURE_STORAGE_ACCOUNT_KEY", "AZURE_STORAGE_SAS_TOKEN", "AZURE_STORAGE_ENDPOINT",
    "AZURE_BLOB_ENDPOINT_URL", "AZURE_STORAGE_BLOB_ENDPOINT", "AZURE_STORAGE_ENDPOINT_SUFFIX",
    "S3DLIO_AZURE_AUTH", "AZURE_CLIENT_ID", "AZURE_TENANT_ID", "AZURE_CLIENT_SECRET",
    "GOOGLE_APPLICATION_CREDENTIALS", "GCS_ENDPOINT_URL", "STORAGE_EMULATOR_HOST", "GOOGLE_CLOUD_PROJECT",
    "GCLOUD_PROJECT", "S3DLIO_GCS_AUTH",
)


def _server(backend: str) -> Any:
    from s3dlio.testing import servers

    if backend == "azure":
        return servers.AzuriteServer(azurite_blob=servers.ensure_azurite())
    return servers.FakeGcsServer()


def run_backend(backend: str, args: argparse.Namespace, impls: list[str]) -> dict[str, Any]:
    size = parse_size(args.size)
    total = args.objects * size
    meta: dict[str, Any] = {
        "backend": backend, "date": time.strftime("%Y-%m-%d %H:%M:%S"), "objects": args.objects,
        "size": size, "inflight": args.inflight, "repeat": args.repeat,
        "cpus": len(os.sched_getaffinity(0)), "load_before": _loadavg(),
    }
    rows: dict[tuple[str, str], list[dict[str, Any]]] = {(i, op): [] for i in impls for op in ("put", "get")}
    server_cpu: dict[tuple[str, str], list[float]] = {k: [] for k in rows}
    workers: dict[str, Worker] = {}
    started = time.time()
    with _server(backend) as server:
        env = {k: v for k, v in os.environ.items() if k not in _CLEAN_ENV}
        env.update(server.info.env())
        try:
            for impl in impls:
                bucket = f"cloudbench-{impl}-{os.getpid()}"
                workers[impl] = Worker(impl, sys.executable, env)
                info = workers[impl].call(op="setup", backend=backend, impl=impl, bucket=bucket,
                                          n=args.objects, size=size, inflight=args.inflight)
                meta["versions"] = info["versions"]
            run_rounds(workers, impls, args.repeat, server.pid, rows, server_cpu, echo=not args.json,
                       label={"backend": backend})
            if args.profile and "ours" in workers:
                os.makedirs(args.profile, exist_ok=True)
                workers["ours"].call(op="profile", dir=os.path.abspath(args.profile))
        finally:
            for w in workers.values():
                w.close()
    meta["load_after"] = _loadavg()
    meta["elapsed_s"] = round(time.time() - started, 1)

    summary = summarize(rows, server_cpu, total)
    ratios: dict[str, float] = {}
    verdicts = []
    for op in ("put", "get"):
        ours, naive = summary.get(f"ours-{op}"), summary.get(f"naive-{op}")
        if ours and naive:
            ratios[f"{op} cpu ours/naive"] = ours["cpu_s_per_gb"] / naive["cpu_s_per_gb"]
            ratios[f"{op} wall MB/s ours/naive"] = ours["wall_mb_s"] / naive["wall_mb_s"]
            verdicts.append({"target": f"{op} CPU/GB <= naive {SDK[backend]} (same run)",
                             "ours": ours["cpu_s_per_gb"], "goal": naive["cpu_s_per_gb"],
                             "met": ours["cpu_s_per_gb"] <= naive["cpu_s_per_gb"]})
    return {"meta": meta, "summary": summary, "ratios": ratios, "verdicts": verdicts,
            "rounds": {f"{i}-{o}": rs for (i, o), rs in rows.items()}}


def _print(res: dict[str, Any]) -> None:
    meta = res["meta"]
    title = {"azure": "Azure (Azurite)", "gcs": "GCS (fake-gcs-server)"}[meta["backend"]]
    print(f"\n## {title}: {meta['objects']} x {meta['size']} B, {meta['inflight']} in flight, "
          f"median of {meta['repeat']}; load {meta['load_before']} -> {meta['load_after']}; "
          f"{meta.get('versions')}")
    print(f"{'arm':12} {'CPU s/GB':>9} {'sys s/GB':>9} {'MB/s':>8} {'srv CPU s/GB':>13} {'minflt':>8}"
          "   all CPU s/GB")
    for key, s in res["summary"].items():
        print(f"{key:12} {s['cpu_s_per_gb']:9.3f} {s['sys_s_per_gb']:9.3f} {s['wall_mb_s']:8.1f} "
              f"{s['server_cpu_s_per_gb']:13.3f} {int(s['minflt']):8d}   {s['cpu_s_per_gb_all']}")
    for k, v in res["ratios"].items():
        print(f"  {k:28} {v:.3f}")
    for vd in res["verdicts"]:
        mark = "MET " if vd["met"] else "MISS"
        print(f"  [{mark}] {vd['target']:50} ours {vd['ours']:.3f}  goal {vd['goal']:.3f}")
    print(f"elapsed {meta['elapsed_s']} s")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--backend", default="azure,gcs", help="comma-separated subset of azure,gcs")
    ap.add_argument("--objects", type=int, default=32)
    ap.add_argument("--size", default="8MiB", help="object size (8MiB, 1M, 65536, …)")
    ap.add_argument("--inflight", type=int, default=16)
    ap.add_argument("--repeat", type=int, default=3, help="measured rounds per arm (median reported)")
    ap.add_argument("--only", default="", help="comma-separated subset of naive,ours")
    ap.add_argument("--profile", default=None, metavar="DIR",
                    help="after the rounds, cProfile one PUT and GET of ours into DIR/*.pstats")
    ap.add_argument("--json", action="store_true", help="print one JSON object instead of the tables")
    args = ap.parse_args(argv)
    backends = [b.strip() for b in args.backend.split(",") if b.strip()]
    for b in backends:
        if b not in BACKENDS:
            ap.error(f"unknown backend {b!r} (choose from {', '.join(BACKENDS)})")
    impls = [i for i in IMPLS if not args.only or i in [o.strip() for o in args.only.split(",")]]
    results = {}
    for backend in backends:
        results[backend] = run_backend(backend, args, impls)
        if not args.json:
            _print(results[backend])
    if args.json:
        print(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        worker_main()
    else:
        sys.exit(main())
