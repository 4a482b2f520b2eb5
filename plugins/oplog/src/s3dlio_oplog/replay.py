"""``oplog replay``: re-issue a recorded run against any backend, timing-faithfully (docs/oplog.md).

Rows are sorted by ``start`` and scheduled at ``T0 + (start_i − start_0) / speed``. In
``open`` mode each request is issued at its time regardless of completions (at most
``max_in_flight`` at once); in ``lanes`` mode the rows of one ``(client_id, thread)`` run in
order, each not before its time. Every request records its lag (actual − scheduled start).
Record the replay with the global op-log (``--op-log``) and compare with ``oplog analyze``.
"""

from __future__ import annotations

import os
import random
import threading
import time
import tomllib
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from s3dlio_oplog.analyze import percentile
from s3dlio_oplog.reader import OplogReader
from s3dlio_oplog.record import OpRecord, normalize_op

__all__ = ["MappedRequest", "load_map_file", "map_rows", "replay_oplog", "source_uri"]

_LOCAL = ("file://", "direct://")


def source_uri(endpoint: str, file: str) -> str:
    """The URI a row addressed: scheme from ``endpoint`` (file/direct/az/gs/s3) + ``file``."""
    ep = endpoint.lower()
    if ep.startswith("file://"):
        return "file://" + file
    if ep.startswith("direct://"):
        return "direct://" + file
    if ".blob.core.windows.net" in ep or ep.startswith(("az://", "azure://")):
        return "az://" + file
    if "storage.googleapis.com" in ep or ep.startswith(("gs://", "gcs://")):
        return "gs://" + file
    return "s3://" + file


def _parse_pairs(pairs: Iterable[str | tuple[str, str]], what: str) -> list[tuple[str, str]]:
    out = []
    for p in pairs:
        if isinstance(p, tuple):
            out.append(p)
            continue
        src, sep, dst = p.partition("=")
        if not sep or not src:
            raise ValueError(f"{what} needs FROM=TO, got {p!r}")
        out.append((src, dst))
    return out


def load_map_file(path: str) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """``([[remap]] pairs, [[endpoint]] pairs)`` from a TOML map file (tables with from/to)."""
    with open(path, "rb") as f:
        data = tomllib.load(f)
    remap = [(str(t["from"]), str(t["to"])) for t in data.get("remap", [])]
    endpoints = [(str(t["from"]), str(t["to"])) for t in data.get("endpoint", [])]
    return remap, endpoints


class MappedRequest:
    """One row to replay: op, target URI, size, scheduled offset (s) and lane key."""

    __slots__ = ("lane", "nbytes", "offset_s", "op", "row", "uri")

    def __init__(self, op: str, uri: str, nbytes: int, offset_s: float, lane: tuple[str, int],
                 row: OpRecord) -> None:
        self.op = op
        self.uri = uri
        self.nbytes = nbytes
        self.offset_s = offset_s
        self.lane = lane
        self.row = row

    def __repr__(self) -> str:
        return f"MappedRequest({self.op} {self.uri} bytes={self.nbytes} at +{self.offset_s:.6f}s)"


def map_rows(
    rows: Sequence[OpRecord],
    *,
    target: str | None = None,
    remap: Iterable[str | tuple[str, str]] = (),
    endpoint_map: Iterable[str | tuple[str, str]] = (),
    speed: float = 1.0,
    ops: Iterable[str] = ("GET", "PUT", "STAT", "LIST"),
    include_errors: bool = False,
) -> tuple[list[MappedRequest], Counter[str]]:
    """Turn rows (sorted by start) into requests; the second value counts skipped rows by reason."""
    wanted = {normalize_op(o.strip()) for o in ops if o.strip()}
    rules = sorted(_parse_pairs(remap, "--remap"), key=lambda p: len(p[0]), reverse=True)
    ep_map = dict(_parse_pairs(endpoint_map, "--endpoint-map"))
    if target is not None and not target.endswith("/"):
        target += "/"
    skipped: Counter[str] = Counter()
    out: list[MappedRequest] = []
    if not rows:
        return out, skipped
    start0 = rows[0].start_ns
    for r in rows:
        if r.error.startswith("retry "):
            skipped["retry"] += 1
            continue
        if r.error and not include_errors:
            skipped["failed_originally"] += 1
            continue
        if r.op not in wanted:
            skipped[f"op_{r.op}"] += 1
            continue
        if r.op == "COPY" or r.op not in {"GET", "PUT", "STAT", "LIST", "DELETE", "MKDIR",
                                           "CREATE_CONTAINER", "DELETE_CONTAINER"}:
            skipped[f"unsupported_{r.op}"] += 1
            continue
        endpoint = ep_map.get(r.endpoint, r.endpoint)
        src = source_uri(endpoint, r.file)
        uri: str | None = None
        for old, new in rules:
            if src.startswith(old):
                uri = new + src[len(old):]
                break
        if uri is None and target is not None:
            if src.startswith(_LOCAL):
                uri = target + r.file.lstrip("/")
            else:
                _scheme, _, rest = src.partition("://")
                _bucket, _, key = rest.partition("/")
                uri = target + key
        if uri is None:
            if rules:
                skipped["unmapped"] += 1
                continue
            uri = src
        if r.op == "DELETE" and r.n_objects > 1:
            skipped["delete_batch_keys_unknown"] += r.n_objects - 1
        offset = 0.0 if speed <= 0 else (r.start_ns - start0) / 1e9 / speed
        out.append(MappedRequest(r.op, uri, r.bytes, offset, (r.client_id, r.thread), r))
    return out, skipped


class _Payload:
    """PUT bodies: one generated buffer (``s3dlio.generate_data`` with dedup/compress when
    s3dlio-datagen is installed, else seeded random bytes), sliced per request."""

    def __init__(self, seed: int | None, dedup: int = 1, compress: int = 1) -> None:
        self._seed = seed
        self._dedup = max(1, dedup)
        self._compress = max(1, compress)
        self._rng = random.Random(seed)
        self._buf: Any = b""
        self._lock = threading.Lock()

    def _make(self, n: int) -> Any:
        try:
            import s3dlio

            return s3dlio.generate_data(n, self._dedup, self._compress, seed=self._seed)
        except Exception:  # no datagen plugin: plain random bytes
            return self._rng.randbytes(n)

    def get(self, n: int) -> memoryview:
        if n > len(self._buf):
            with self._lock:
                if n > len(self._buf):
                    self._buf = self._make(max(n, 2 * len(self._buf), 1 << 16))
        return memoryview(self._buf)[:n]


def _executor(payload: _Payload) -> Callable[[MappedRequest], None]:
    import s3dlio
    from s3dlio.plugin.runtime import resolve

    def run(req: MappedRequest) -> None:
        op = req.op
        if op == "GET":
            if req.nbytes > 0:
                s3dlio.get_range(req.uri, 0, req.nbytes)
            else:
                s3dlio.get(req.uri)
        elif op == "PUT":
            s3dlio.put_bytes(req.uri, payload.get(req.nbytes))
        elif op == "STAT":
            s3dlio.stat(req.uri)
        elif op == "LIST":
            store, key = resolve(req.uri)
            next(iter(store.list(key, recursive=False)), None)
        elif op == "DELETE":
            s3dlio.delete(req.uri)
        elif op == "MKDIR":
            s3dlio.mkdir(req.uri)
        elif op == "CREATE_CONTAINER":
            s3dlio.create_bucket(req.uri)
        elif op == "DELETE_CONTAINER":
            s3dlio.delete_bucket(req.uri)
        else:  # pragma: no cover - filtered by map_rows
            raise ValueError(f"cannot replay {op}")

    return run


def _warm_up(requests: Sequence[MappedRequest]) -> None:
    """Open the store of each target scheme before the clock starts (plugin import, clients)."""
    from s3dlio.plugin.runtime import resolve

    seen: set[str] = set()
    for req in requests:
        scheme = req.uri.partition("://")[0]
        if scheme not in seen:
            seen.add(scheme)
            try:
                resolve(req.uri)
            except Exception:  # the request itself will report it
                pass


def replay_oplog(
    paths: Iterable[str | os.PathLike[str]],
    *,
    target: str | None = None,
    remap: Iterable[str | tuple[str, str]] = (),
    endpoint_map: Iterable[str | tuple[str, str]] = (),
    map_file: str | None = None,
    speed: float = 1.0,
    mode: str = "open",
    max_in_flight: int = 1024,
    ops: Iterable[str] = ("GET", "PUT", "STAT", "LIST"),
    include_errors: bool = False,
    fail_fast: bool = False,
    seed: int | None = None,
    dedup: int = 1,
    compress: int = 1,
    dry_run: int | None = None,
) -> dict[str, Any]:
    """Replay ``paths``; return the summary.

    Keys: ``rows_read replayed skipped (reason → count) failed errors (top 5) by_op wall_s
    lag_p50_ms lag_p99_ms lag_max_ms late_10ms``; with ``dry_run=N`` only ``rows_read``,
    ``skipped`` and ``requests`` (the first N mapped requests) and nothing is issued.
    """
    if mode not in ("open", "lanes"):
        raise ValueError(f"mode must be 'open' or 'lanes', not {mode!r}")
    remap = list(remap)
    endpoint_map = list(endpoint_map)
    if map_file:
        extra_remap, extra_ep = load_map_file(map_file)
        remap += extra_remap
        endpoint_map += extra_ep
    rows: list[OpRecord] = []
    for p in paths:
        rows.extend(OplogReader(p))
    rows.sort(key=lambda r: (r.start_ns, r.client_id, r.thread, r.idx))
    requests, skipped = map_rows(rows, target=target, remap=remap, endpoint_map=endpoint_map,
                                 speed=speed, ops=ops, include_errors=include_errors)
    summary: dict[str, Any] = {"rows_read": len(rows), "skipped": dict(skipped)}
    if dry_run is not None:
        summary["requests"] = [
            {"op": q.op, "uri": q.uri, "bytes": q.nbytes, "at_s": q.offset_s} for q in requests[:dry_run]
        ]
        return summary

    run = _executor(_Payload(seed, dedup, compress))
    _warm_up(requests)
    lags: list[float] = []
    failures: Counter[str] = Counter()
    by_op: Counter[str] = Counter()
    lock = threading.Lock()
    stop = threading.Event()
    t0 = time.perf_counter() + 0.01

    def execute(req: MappedRequest) -> None:
        if stop.is_set():
            return
        lag = time.perf_counter() - (t0 + req.offset_s)
        error: str | None = None
        try:
            run(req)
        except Exception as exc:
            error = f"{req.op} {type(exc).__name__}: {exc}"
        with lock:
            lags.append(lag)
            by_op[req.op] += 1
            if error is not None:
                failures[error] += 1
                if fail_fast:
                    stop.set()

    def wait_until(offset: float) -> None:
        delay = t0 + offset - time.perf_counter()
        if delay > 0.002:
            stop.wait(delay)
        elif delay > 0:
            time.sleep(delay)

    if mode == "open":
        slots = threading.BoundedSemaphore(max(1, max_in_flight))

        def task(req: MappedRequest) -> None:
            try:
                execute(req)
            finally:
                slots.release()

        with ThreadPoolExecutor(max_workers=max(1, min(max_in_flight, 4096)),
                                thread_name_prefix="s3dlio-replay") as pool:
            for req in requests:
                if stop.is_set():
                    break
                if speed > 0:
                    wait_until(req.offset_s)
                slots.acquire()
                pool.submit(task, req)
    else:
        lanes: dict[tuple[str, int], list[MappedRequest]] = {}
        for req in requests:
            lanes.setdefault(req.lane, []).append(req)

        def lane_worker(items: list[MappedRequest]) -> None:
            for req in items:
                if stop.is_set():
                    return
                if speed > 0:
                    wait_until(req.offset_s)
                execute(req)

        threads = [threading.Thread(target=lane_worker, args=(items,), name="s3dlio-replay-lane")
                   for items in lanes.values()]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    wall = time.perf_counter() - t0
    lags.sort()
    summary.update(
        replayed=len(lags),
        failed=sum(failures.values()),
        errors=failures.most_common(5),
        by_op=dict(by_op),
        wall_s=max(wall, 0.0),
        lag_p50_ms=percentile(lags, 50) * 1e3 if lags else 0.0,
        lag_p99_ms=percentile(lags, 99) * 1e3 if lags else 0.0,
        lag_max_ms=lags[-1] * 1e3 if lags else 0.0,
        late_10ms=sum(1 for x in lags if x > 0.010),
        not_issued=len(requests) - len(lags),
    )
    return summary
