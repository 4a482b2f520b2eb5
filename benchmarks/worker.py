"""Benchmark worker: runs one measured operation at a time for the driver.

This file is deliberately self-contained (standard library plus ``s3dlio``) so the
*same* script can run under this project's interpreter and under a separate
virtual environment that has the original Rust ``s3dlio`` wheel installed (both
import as ``s3dlio``). The driver (``benchmarks/run.py``) starts one worker per
implementation and interleaves requests to them, so every arm of a case is
measured in the same run, A B A B.

Protocol: one JSON request per line on stdin, ``{"fn": NAME, "params": {...}}``;
one JSON reply per line on the protocol channel (the original stdout, which is
moved to a private descriptor so library output cannot corrupt it)::

    {"ok": true, "wall_s": ..., "cpu_s": ..., "minflt": ..., "ops": ..., "nbytes": ...}

Only the call itself is timed; set-up (emptying a destination directory) and
tear-down (dropping results, deleting written files) happen outside the clock.

Arms named ``s3_*`` use only API calls that the original also has (``get``,
``get_many``, ``put_bytes``, ``put_many``, ``list``) with ``file://`` or
``direct://`` URIs. Arms named ``ref_*`` are the plain-Python references.
"""

from __future__ import annotations

import gc
import json
import mmap
import os
import resource
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

_s3: Any = None
_pool: ThreadPoolExecutor | None = None
_local = threading.local()
_O_DIRECT = getattr(os, "O_DIRECT", 0)
_POOL_CHUNK = 8 << 20
"""Per-thread buffer of the thread-pool reference: large objects are read in 8 MiB pieces."""
_ALIGN = 4096


def _lib() -> Any:
    """The ``s3dlio`` module of this interpreter (ours or the original), imported once."""
    global _s3
    if _s3 is None:
        import s3dlio

        _s3 = s3dlio
    return _s3


def _threads(n: int) -> ThreadPoolExecutor:
    """A persistent pool of ``n`` threads (created once, outside the timed region)."""
    global _pool
    if _pool is None or _pool._max_workers != n:  # noqa: SLF001 - stdlib attribute, read only
        if _pool is not None:
            _pool.shutdown()
        _pool = ThreadPoolExecutor(max_workers=n)
        barrier = threading.Barrier(n)
        list(_pool.map(lambda _i: barrier.wait(), range(n)))  # start all n threads now
    return _pool


def _thread_buffer(size: int, aligned: bool = True) -> memoryview:
    """This thread's reused, pre-faulted buffer of ``size`` bytes.

    ``aligned``: a page-aligned anonymous mmap (the fast case). Otherwise a
    ``bytearray``, which glibc places at ``page + 16`` once it is large enough to be
    mmapped; that offset makes the kernel's page-cache copy hit 4 KiB aliasing and
    run at roughly 40% speed on this machine (see docs/performance.md).
    """
    attr = "abuf" if aligned else "buf"
    mv: memoryview | None = getattr(_local, attr, None)
    if mv is None or len(mv) < size:
        if aligned:
            mv = memoryview(mmap.mmap(-1, max(size, 1)))
            mv[:] = b"\1" * len(mv)  # fault the pages in once
        else:
            mv = memoryview(bytearray(size))
        setattr(_local, attr, mv)
    return mv[:size]


def _aligned_buffer(size: int) -> memoryview:
    """This thread's reused page-aligned (anonymous mmap) buffer for O_DIRECT I/O."""
    mm: mmap.mmap | None = getattr(_local, "dbuf", None)
    size = -(-size // _ALIGN) * _ALIGN
    if mm is None or len(mm) < size:
        mm = _local.dbuf = mmap.mmap(-1, size)
        mm.write(b"\1" * size)  # fault the pages in once
    return memoryview(mm)[:size]


# ----------------------------------------------------------------------------- references


def ref_readinto_loop(p: dict[str, Any]) -> tuple[int, int]:
    """``open(..., buffering=0).readinto(reused buffer)`` for every path, one thread."""
    buf = _thread_buffer(p["size"], p.get("aligned", True))
    total = 0
    for path in p["paths"]:
        with open(path, "rb", buffering=0) as fh:
            total += fh.readinto(buf)
    return len(p["paths"]), total


def _readinto_one(args: tuple[str, int]) -> int:
    path, size = args
    buf = _thread_buffer(min(size, _POOL_CHUNK))
    total = 0
    with open(path, "rb", buffering=0) as fh:
        while True:
            n = fh.readinto(buf)
            total += n
            if n < len(buf):
                return total


def ref_readinto_pool(p: dict[str, Any]) -> tuple[int, int]:
    """The same reads spread over a pool of ``threads`` threads, one buffer per thread."""
    pool = _threads(p.get("threads", 16))
    size = p["size"]
    total = sum(pool.map(_readinto_one, [(path, size) for path in p["paths"]]))
    return len(p["paths"]), total


def ref_write_loop(p: dict[str, Any]) -> tuple[int, int]:
    """``open(path, 'wb').write(data)`` for every path, one thread."""
    data = _payload(p["size"])
    for path in p["paths"]:
        with open(path, "wb") as fh:
            fh.write(data)
    return len(p["paths"]), len(p["paths"]) * len(data)


def _write_one(path: str) -> None:
    with open(path, "wb") as fh:
        fh.write(_payload(0))


def ref_write_pool(p: dict[str, Any]) -> tuple[int, int]:
    """The same writes spread over a pool of ``threads`` threads."""
    data = _payload(p["size"])
    pool = _threads(p.get("threads", 16))
    list(pool.map(_write_one, p["paths"]))
    return len(p["paths"]), len(p["paths"]) * len(data)


def ref_scandir(p: dict[str, Any]) -> tuple[int, int]:
    """Recursive ``os.scandir`` walk collecting ``file://`` URIs, then sorted."""
    out: list[str] = []
    stack = [p["root"]]
    while stack:
        with os.scandir(stack.pop()) as it:
            for entry in it:
                if entry.is_dir(follow_symlinks=False):
                    stack.append(entry.path)
                else:
                    out.append("file://" + entry.path)
    out.sort()
    return len(out), 0


def _odirect_read_file(path: str, chunk: int) -> int:
    fd = os.open(path, os.O_RDONLY | _O_DIRECT)
    try:
        buf = _aligned_buffer(chunk)
        off = 0
        while True:
            n = os.preadv(fd, [buf], off)
            off += n
            if n < len(buf):
                return off
    finally:
        os.close(fd)


def ref_odirect_read(p: dict[str, Any]) -> tuple[int, int]:
    """O_DIRECT ``preadv`` into a reused page-aligned mmap buffer, ``chunk`` at a time."""
    chunk = p.get("chunk", 8 << 20)
    total = sum(_odirect_read_file(path, chunk) for path in p["paths"])
    return len(p["paths"]), total


def _odirect_read_range(args: tuple[str, int, int]) -> int:
    path, off, length = args
    fd = os.open(path, os.O_RDONLY | _O_DIRECT)
    try:
        buf = _aligned_buffer(length)
        return os.preadv(fd, [buf], off)
    finally:
        os.close(fd)


def ref_odirect_read_qd(p: dict[str, Any]) -> tuple[int, int]:
    """O_DIRECT reads of ``chunk``-sized ranges, ``threads`` in flight (a QD-N reference)."""
    chunk = p.get("chunk", 8 << 20)
    pool = _threads(p.get("threads", 8))
    jobs = [(path, off, chunk) for path in p["paths"] for off in range(0, p["size"], chunk)]
    total = sum(pool.map(_odirect_read_range, jobs))
    return len(p["paths"]), total


def _odirect_write_file(path: str, size: int, chunk: int) -> int:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | _O_DIRECT, 0o644)
    try:
        buf = _aligned_buffer(chunk)
        off = 0
        while off < size:
            off += os.pwritev(fd, [buf[: min(chunk, size - off)]], off)
        return off
    finally:
        os.close(fd)


def ref_odirect_write(p: dict[str, Any]) -> tuple[int, int]:
    """O_DIRECT ``pwritev`` from a reused page-aligned buffer, ``chunk`` at a time (sizes aligned)."""
    chunk = p.get("chunk", 8 << 20)
    total = sum(_odirect_write_file(path, p["size"], chunk) for path in p["paths"])
    return len(p["paths"]), total


# ----------------------------------------------------------------------------- s3dlio (ours or original)


def s3_get_loop(p: dict[str, Any]) -> tuple[int, int]:
    """``s3dlio.get(uri)`` for every URI, one thread; results dropped as they come."""
    get = _lib().get
    total = 0
    for uri in p["uris"]:
        total += len(get(uri))
    return len(p["uris"]), total


def s3_get_many(p: dict[str, Any]) -> tuple[int, int]:
    """``s3dlio.get_many(uris)``; the results are kept until the clock stops."""
    res = _lib().get_many(p["uris"], **_window(p))
    _keep.append(res)
    return len(res), sum(len(d) for _u, d in res)


def s3_get_many_stats(p: dict[str, Any]) -> tuple[int, int]:
    """``s3dlio.get_many_stats(uris)`` (ours: reused per-worker buffers; the original: S3 only)."""
    count, total = _lib().get_many_stats(p["uris"], **_window(p))
    return int(count), int(total)


def s3_put_loop(p: dict[str, Any]) -> tuple[int, int]:
    """``s3dlio.put_bytes(uri, data)`` for every URI, one thread."""
    put = _lib().put_bytes
    data = _payload(p["size"])
    for uri in p["uris"]:
        put(uri, data)
    return len(p["uris"]), len(p["uris"]) * len(data)


def s3_put_many(p: dict[str, Any]) -> tuple[int, int]:
    """``s3dlio.put_many([(uri, data), ...])`` with one shared ``bytes`` payload."""
    data = _payload(p["size"])
    _lib().put_many([(u, data) for u in p["uris"]], **_window(p))
    return len(p["uris"]), len(p["uris"]) * len(data)


def s3_list(p: dict[str, Any]) -> tuple[int, int]:
    """``s3dlio.list(uri, recursive=True)``."""
    out = _lib().list(p["uri"], recursive=True)
    return len(out), 0


def _window(p: dict[str, Any]) -> dict[str, int]:
    return {"max_in_flight": p["max_in_flight"]} if "max_in_flight" in p else {}


# ----------------------------------------------------------------------------- plumbing

_keep: list[Any] = []
_payloads: dict[int, bytes] = {}
_current_payload = b""


def _payload(size: int) -> bytes:
    """A ``bytes`` payload of ``size`` bytes (incompressible, cached; 0: the last one used)."""
    global _current_payload
    if size == 0:
        return _current_payload
    data = _payloads.get(size)
    if data is None:
        block = os.urandom(min(size, 1 << 20))
        data = (block * (size // len(block) + 1))[:size]
        _payloads.clear()
        _payloads[size] = data
    _current_payload = data
    return data


def _empty_dir(path: str) -> None:
    os.makedirs(path, exist_ok=True)
    with os.scandir(path) as it:
        for entry in it:
            if not entry.is_dir(follow_symlinks=False):
                os.unlink(entry.path)


_fresh_counter = 0


def _fresh_targets(params: dict[str, Any]) -> dict[str, Any]:
    """Point ``paths``/``uris`` at a new, empty sub-directory ``fresh_base/rN`` (created here)."""
    global _fresh_counter
    _fresh_counter += 1
    base = params["fresh_base"].rstrip("/")
    sub = f"{base}/r{_fresh_counter:04d}"
    os.makedirs(sub)
    out = dict(params)
    for k in ("paths", "uris"):
        if k in out:
            out[k] = [x.replace(base + "/", sub + "/", 1) for x in out[k]]
    return out


FUNCTIONS: dict[str, Callable[[dict[str, Any]], tuple[int, int]]] = {
    name: obj for name, obj in globals().items() if name.startswith(("ref_", "s3_")) and callable(obj)
}


def measure(name: str, params: dict[str, Any]) -> dict[str, Any]:
    """Run ``FUNCTIONS[name](params)`` once and return wall, CPU and minor-fault deltas."""
    fn = FUNCTIONS[name]
    for d in params.get("clean", ()):
        _empty_dir(d)
    if "fresh_base" in params:
        params = _fresh_targets(params)
    if "size" in params and name.startswith(("ref_write", "s3_put")):
        _payload(params["size"])  # build the payload before the clock starts
    gc.collect()
    r0 = resource.getrusage(resource.RUSAGE_SELF)
    c0 = time.process_time()
    t0 = time.perf_counter()
    ops, nbytes = fn(params)
    t1 = time.perf_counter()
    c1 = time.process_time()
    r1 = resource.getrusage(resource.RUSAGE_SELF)
    _keep.clear()
    for d in params.get("clean_after", ()):
        _empty_dir(d)
    return {
        "ok": True,
        "wall_s": t1 - t0,
        "cpu_s": c1 - c0,
        "minflt": r1.ru_minflt - r0.ru_minflt,
        "ops": ops,
        "nbytes": nbytes,
    }


def main() -> int:
    """Serve requests until stdin closes."""
    proto = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # anything the library prints goes to stderr, not the protocol
    if "--import" in sys.argv:
        _lib()
        if os.environ.get("S3DLIO_MALLOC_RETAIN_MB"):
            # compose the runtime now so the allocator setting applies before any worker thread
            _lib().exists("file:///tmp/.s3dlio-bench-probe")
    for line in sys.stdin:
        if not line.strip():
            continue
        req = json.loads(line)
        try:
            if req["fn"] == "info":
                lib = _lib()
                reply = {"ok": True, "version": getattr(lib, "__version__", None),
                         "file": lib.__file__, "python": sys.version.split()[0]}
            else:
                reply = measure(req["fn"], req.get("params", {}))
        except Exception as exc:  # reported to the driver, which marks the arm failed
            reply = {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:2000]}
        proto.write(json.dumps(reply) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
