"""s3dlio benchmark suite (issue 2 item 6; method: docs/performance.md, "How the numbers are taken").

Usage::

    python benchmarks/run.py [--quick] [--only NAME[,NAME…]] [--python-original PATH]
                             [--json-out FILE] [--data DIR] [--shm DIR | --no-shm]
    python benchmarks/run.py s3 [s3_bench.py options]   (S3 client CPU vs a moto server)
    python benchmarks/run.py cloud [cloud_bench.py options]   (Azure/GCS client CPU vs emulators)

Every case measures this project's ``s3dlio``, a plain-Python reference and —
when an interpreter with the original Rust wheel is given (``--python-original``,
default ``.bench/orig-venv/bin/python`` when it exists) — the original, all in the
same run, interleaved A B C / B C A …, one warm-up then the median of ``reps``.
One JSON line per measurement goes to stdout, then a readable table and the
targets of docs/performance.md / issue 2 with their verdicts.

``--only`` takes case-name prefixes: ``get``, ``put``, ``overhead``, ``list``,
``import``, ``direct`` (or a full name such as ``get-100x8MiB``).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import cases
from harness import Case, Result, Worker, print_json, run_case

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_ORIGINAL = os.path.join(REPO, ".bench", "orig-venv", "bin", "python")


def _parse(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="smaller data sets (a smoke run)")
    ap.add_argument("--only", default="", help="comma-separated case-name prefixes")
    ap.add_argument("--python-original", default=os.environ.get("S3DLIO_BENCH_PYTHON_ORIGINAL"),
                    help="interpreter with the original s3dlio wheel ('none' to skip; "
                         "default $S3DLIO_BENCH_PYTHON_ORIGINAL, else .bench/orig-venv/bin/python "
                         "if present)")
    ap.add_argument("--json-out", default=None,
                    help="also write every result and the run's metadata here")
    ap.add_argument("--data",
                    default=os.environ.get("S3DLIO_BENCH_DATA", os.path.join(REPO, ".bench", "data")),
                    help="data directory (must be on the disk under test, not tmpfs)")
    ap.add_argument("--shm", default="/dev/shm/s3dlio-bench",
                    help="tmpfs directory for the labelled tmpfs rows")
    ap.add_argument("--no-shm", action="store_true", help="skip the tmpfs rows")
    ap.add_argument("--reps", type=int, default=None, help="measured repetitions per arm (>= 5 recommended)")
    return ap.parse_args(argv)


def _selected(name: str, only: list[str]) -> bool:
    return not only or any(name.startswith(o) for o in only)


def _direct_available(python: str, data: str) -> str:
    """``""`` when direct:// can be benchmarked, else why not."""
    probe = subprocess.run([python, "-c", "import s3dlio_direct"], capture_output=True, text=True,
                           check=False)
    if probe.returncode != 0:
        return "s3dlio_direct (plugins/direct) is not installed in this interpreter"
    os.makedirs(data, exist_ok=True)
    path = os.path.join(data, ".odirect-probe")
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_DIRECT", 0), 0o644)
        os.close(fd)
    except OSError as exc:
        return f"the data directory refuses O_DIRECT: {exc}"
    finally:
        if os.path.exists(path):
            os.unlink(path)
    return ""


def _machine() -> dict[str, Any]:
    fs = "?"
    try:
        out = subprocess.run(["df", "-T", REPO], capture_output=True, text=True,
                             check=False).stdout.splitlines()
        fs = out[-1].split()[1]
    except Exception:  # informational only
        pass
    mem = 0
    try:
        with open("/proc/meminfo") as fh:
            mem = int(fh.readline().split()[1]) // (1 << 20)
    except OSError:
        pass
    return {"cpus": len(os.sched_getaffinity(0)), "mem_gib": mem, "fs": fs,
            "kernel": platform.release(), "python": platform.python_version()}


def _fmt(v: float | None, digits: int = 2) -> str:
    return "-" if v is None else f"{v:.{digits}f}"


def print_table(case: Case, results: list[Result]) -> None:
    """Readable table of one case."""
    print(f"\n## {case.title}  [{case.name}]", file=sys.stderr)
    hdr = (f"{'arm':34} {'impl':9} {case.unit:>11} {'vs ref':>7} {'vs orig':>8} "
           f"{'cpu s':>7} {'minflt':>8} {'wall s':>8}")
    print(hdr, file=sys.stderr)
    for r in results:
        if not r.ok:
            print(f"{r.arm:34} {r.impl:9} FAILED: {r.error}", file=sys.stderr)
            continue
        digits = 1 if case.unit in ("us/op", "ms") else 2
        print(f"{r.arm:34} {r.impl:9} {r.rate:11.{digits}f} {_fmt(r.vs_ref):>7} {_fmt(r.vs_original):>8} "
              f"{r.cpu_s:7.3f} {int(r.minflt):8d} {r.wall_s:8.4f}", file=sys.stderr)


def _find(results: dict[str, list[Result]], case_prefix: str, arm: str) -> Result | None:
    for name, rs in results.items():
        if name.startswith(case_prefix):
            for r in rs:
                if r.arm == arm and r.ok:
                    return r
    return None


def targets(results: dict[str, list[Result]], sizes: cases.Sizes) -> list[dict[str, Any]]:
    """Verdicts for the targets of docs/performance.md and issue 2 that this run measured."""
    out: list[dict[str, Any]] = []

    def add(what: str, target: str, value: float | None, ok: bool | None, note: str = "") -> None:
        out.append({"target": what, "goal": target, "value": None if value is None else round(value, 3),
                    "met": ok, "note": note})

    r = _find(results, "overhead-get-ext4", "get")
    if r:
        add("file:// get 1 KiB", "<= 15 us/op", r.rate, r.rate <= 15)
        if r.vs_original is not None:
            add("file:// get 1 KiB vs original", ">= 2.5x", r.vs_original, r.vs_original >= 2.5)
    for fs in ("ext4", "tmpfs"):
        r = _find(results, f"overhead-put-new-{fs}", "put_bytes")
        if r:
            add(f"file:// put_bytes 1 KiB, new objects ({fs})", "<= 40 us/op", r.rate, r.rate <= 40)
            if r.vs_original is not None:
                add(f"file:// put_bytes 1 KiB vs original ({fs})", ">= 2.5x", r.vs_original,
                    r.vs_original >= 2.5)
    label8 = sizes.shapes[1][2]
    r = _find(results, f"get-{label8}", "get_many")
    if r and r.vs_ref is not None:
        add(f"get_many {label8} vs readinto loop", ">= 0.50", r.vs_ref, r.vs_ref >= 0.5)
    for _c, _s, label in sizes.shapes[1:]:
        r = _find(results, f"get-{label}", "get_many")
        if r and r.vs_original is not None:
            add(f"get_many {label} vs original", ">= 2x", r.vs_original, r.vs_original >= 2)
    for _c, _s, label in sizes.shapes[:2]:
        r = _find(results, f"put-{label}", "put_many")
        if r and r.vs_original is not None:
            add(f"put_many {label} vs original", ">= 1.0x", r.vs_original, r.vs_original >= 1.0)
    r = _find(results, "list", "list(recursive=True)")
    if r:
        add("list entries/s", ">= 1 M/s", r.rate, r.rate >= 1.0)
        if r.vs_original is not None:
            add("list vs original", ">= 3x", r.vs_original, r.vs_original >= 3)
    bare = _find(results, "import", "python -c pass")
    for arm in ("import s3dlio", "import s3dlio + all plugins"):
        imp = _find(results, "import", arm)
        if bare and imp:
            cost = imp.rate - bare.rate
            add(f"{arm} (above bare start-up)", "< 100 ms", cost, cost < 100)
    for name in ("direct-get", "direct-put"):
        for arm in ("get_many", "put_many"):
            r = _find(results, name, arm)
            if r and r.vs_original is not None:
                add(f"{name} {arm} vs original", ">= 1.0x", r.vs_original, r.vs_original >= 1.0)
    return out


def main(argv: list[str] | None = None) -> int:
    """Run the selected cases; print JSON lines, tables and target verdicts."""
    raw = sys.argv[1:] if argv is None else list(argv)
    if raw and raw[0] == "s3":  # the S3 suite is standalone: tox -e bench -- s3 [options]
        import s3_bench

        return s3_bench.main(raw[1:])
    if raw and raw[0] == "cloud":  # Azure (Azurite) / GCS (fake-gcs-server) client CPU, standalone
        import cloud_bench

        return cloud_bench.main(raw[1:])
    args = _parse(argv)
    only = [o.strip() for o in args.only.split(",") if o.strip()]
    sizes = cases.sizes_for(args.quick)
    reps = args.reps or sizes.reps
    original = args.python_original
    if original is None:
        original = DEFAULT_ORIGINAL if os.path.exists(DEFAULT_ORIGINAL) else ""
    if original == "none":
        original = ""
    data = os.path.abspath(args.data)
    os.makedirs(data, exist_ok=True)
    shm = None if args.no_shm or not os.path.isdir(os.path.dirname(args.shm)) else args.shm
    started = time.time()

    workers: dict[str, Worker] = {
        "ref": Worker(sys.executable, import_lib=False, label="reference"),
        "ours": Worker(sys.executable, import_lib=True, label="ours"),
        "ours-retain": Worker(sys.executable, import_lib=True, label="ours (malloc retain)",
                              env={"S3DLIO_MALLOC_RETAIN_MB": "1024"}),
    }
    meta: dict[str, Any] = {
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "command": " ".join(["python", "benchmarks/run.py", *(argv if argv is not None else sys.argv[1:])]),
        "machine": _machine(), "data_dir": data, "shm_dir": shm, "reps": reps, "quick": args.quick,
        "ours": workers["ours"].call("info"),
    }
    if original:
        try:
            workers["original"] = Worker(original, import_lib=True, label="original")
            meta["original"] = workers["original"].call("info")
        except Exception as exc:  # the suite still runs ours vs reference
            meta["original_error"] = str(exc)
            workers.pop("original", None)
            original = ""
    has_orig = "original" in workers
    print(json.dumps({"meta": meta}), flush=True)

    def want(name: str) -> bool:
        return _selected(name, only)

    todo: list[Case] = []
    todo += cases.get_cases(data, sizes, has_orig, reps, want)
    todo += cases.put_cases(data, sizes, has_orig, reps, want)
    todo += cases.overhead_cases(data, shm, sizes, has_orig, reps, want)
    if want("list"):
        todo.append(cases.list_case(data, sizes, has_orig, reps))
    if want(f"direct-get-{sizes.direct[2]}") or want(f"direct-put-{sizes.direct[2]}"):
        why = _direct_available(sys.executable, data)
        if why:
            meta["direct_skipped"] = why
            print(json.dumps({"skipped": "direct", "why": why}), flush=True)
        else:
            todo += [c for c in cases.direct_cases(data, sizes, has_orig, reps) if want(c.name)]
    if want("import"):
        probe = os.path.join(data, ".import-probe")
        open(probe, "wb").close()
        todo.append(cases.import_case(sys.executable, original or None, sizes.import_reps, probe))

    results: dict[str, list[Result]] = {}
    try:
        for case in todo:
            results[case.name] = run_case(case, workers, emit=print_json)
    finally:
        for w in workers.values():
            w.close()
        if shm:
            shutil.rmtree(shm, ignore_errors=True)

    extra: dict[str, Any] = {}
    if "import" in results:
        code = "import s3dlio" + "".join(f", {m}" for m in cases.plugin_modules(sys.executable))
        s3_ms, top = cases.importtime_top(sys.executable, code)
        extra["importtime_ours"] = {"s3dlio_cumulative_ms": round(s3_ms, 2),
                                    "top": [(n, round(v, 2)) for n, v in top]}
        print(json.dumps({"importtime": extra["importtime_ours"]}), flush=True)

    for case in todo:
        print_table(case, results[case.name])
    verdicts = targets(results, sizes)
    print("\n## targets", file=sys.stderr)
    for v in verdicts:
        mark = {True: "MET ", False: "MISS", None: "n/a "}[v["met"]]
        print(f"  [{mark}] {v['target']:55} goal {v['goal']:>12}  measured {v['value']}", file=sys.stderr)
    meta["elapsed_s"] = round(time.time() - started, 1)
    print(f"\nelapsed {meta['elapsed_s']} s", file=sys.stderr)
    print(json.dumps({"targets": verdicts}), flush=True)
    if args.json_out:
        with open(args.json_out, "w") as fh:
            json.dump({"meta": meta, "results": {k: [r.as_json() for r in v] for k, v in results.items()},
                       "targets": verdicts, **extra}, fh, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
