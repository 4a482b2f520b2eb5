"""``oplog analyze``: per op and size bucket statistics, polarWarp style (docs/cli.md, ``oplog analyze``).

:func:`analyze_oplogs` returns one dict per table row; :func:`analyze_report` also returns
the header block (files, rows, span, clients, endpoints, dropped, top errors).
"""

from __future__ import annotations

import math
import os
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from s3dlio_oplog.reader import OplogReader
from s3dlio_oplog.record import DATA_OPS, KNOWN_OPS, OpRecord

__all__ = ["BUCKETS", "analyze_oplogs", "analyze_report", "bucket_of", "percentile"]

_KIB = 1024
_MIB = 1024 * _KIB
_GIB = 1024 * _MIB

BUCKETS: tuple[tuple[str, int], ...] = (
    ("zero", 0),
    ("1B-8KiB", 8 * _KIB),
    ("8KiB-64KiB", 64 * _KIB),
    ("64KiB-512KiB", 512 * _KIB),
    ("512KiB-4MiB", 4 * _MIB),
    ("4MiB-32MiB", 32 * _MIB),
    ("32MiB-256MiB", 256 * _MIB),
    ("256MiB-2GiB", 2 * _GIB),
)
"""Size buckets by upper bound (inclusive); larger sizes are ``>2GiB``."""

_BUCKET_ORDER = {name: i for i, (name, _) in enumerate(BUCKETS)} | {">2GiB": len(BUCKETS), "meta": -1}
_OP_ORDER = {op: i for i, op in enumerate(
    ("GET", "PUT", "STAT", "LIST", "DELETE", "COPY", "MKDIR", "CREATE_CONTAINER", "DELETE_CONTAINER"))}
_PERCENTILES = (("p50", 50.0), ("p90", 90.0), ("p95", 95.0), ("p99", 99.0), ("p99.9", 99.9))


def bucket_of(op: str, nbytes: int) -> str:
    """The size bucket of a row (``meta`` for metadata ops)."""
    if op not in DATA_OPS:
        return "meta"
    for name, upper in BUCKETS:
        if nbytes <= upper:
            return name
    return ">2GiB"


def percentile(sorted_values: Sequence[float], p: float) -> float:
    """Linear interpolation between closest ranks (numpy's default): rank ``p/100·(n−1)``."""
    n = len(sorted_values)
    if n == 0:
        return math.nan
    pos = p / 100.0 * (n - 1)
    lo = math.floor(pos)
    hi = min(lo + 1, n - 1)
    frac = pos - lo
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * frac


class _Group:
    __slots__ = ("bytes", "count", "durations", "errors", "max_end", "min_start", "retries", "ttfb")

    def __init__(self) -> None:
        self.count = 0
        self.errors = 0
        self.retries = 0
        self.bytes = 0
        self.durations: list[int] = []
        self.ttfb: list[int] = []
        self.min_start: int | None = None
        self.max_end: int | None = None

    def add(self, r: OpRecord) -> None:
        if r.error:
            if r.error.startswith("retry "):
                self.retries += 1
            else:
                self.errors += 1
            return
        self.count += 1
        self.bytes += r.bytes
        self.durations.append(r.duration_ns if r.duration_ns >= 0 else r.end_ns - r.start_ns)
        if r.first_byte_ns is not None and r.op == "GET":
            self.ttfb.append(r.first_byte_ns - r.start_ns)
        if self.min_start is None or r.start_ns < self.min_start:
            self.min_start = r.start_ns
        if self.max_end is None or r.end_ns > self.max_end:
            self.max_end = r.end_ns

    def row(self, key: dict[str, Any]) -> dict[str, Any]:
        d = sorted(self.durations)
        span_s = ((self.max_end - self.min_start) / 1e9) if self.count and self.min_start is not None \
            and self.max_end is not None else 0.0
        out: dict[str, Any] = dict(key)
        out.update(
            count=self.count, errors=self.errors, retries=self.retries, bytes=self.bytes,
            avg_size=(self.bytes / self.count) if self.count else 0.0,
            span_s=span_s,
            ops_s=(self.count / span_s) if span_s > 0 else 0.0,
            mib_s=(self.bytes / _MIB / span_s) if span_s > 0 else 0.0,
            lat_mean_ms=(sum(d) / len(d) / 1e6) if d else math.nan,
        )
        for name, p in _PERCENTILES:
            out[f"{name}_ms"] = percentile(d, p) / 1e6
        out["max_ms"] = (d[-1] / 1e6) if d else math.nan
        if key["op"] == "GET":
            t = sorted(self.ttfb)
            out["ttfb_p50_ms"] = percentile(t, 50) / 1e6
            out["ttfb_p99_ms"] = percentile(t, 99) / 1e6
        out["concurrency"] = (sum(d) / 1e9 / span_s) if span_s > 0 else 0.0
        return out


def analyze_report(
    paths: Iterable[str | os.PathLike[str]],
    *,
    per_client: bool = False,
    per_endpoint: bool = False,
    skip_s: float = 0.0,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """``(header, rows)`` for ``paths``: the header block and one dict per table row."""
    records: list[OpRecord] = []
    files = []
    dropped = 0
    for p in paths:
        reader = OplogReader(p)
        records.extend(reader)
        dropped += reader.dropped
        files.append(os.fspath(p))
    header: dict[str, Any] = {"files": files, "rows": len(records), "dropped": dropped}
    if records:
        t0 = min(r.start_ns for r in records)
        t1 = max(r.end_ns for r in records)
        header.update(start_ns=t0, end_ns=t1, span_s=(t1 - t0) / 1e9)
        if skip_s > 0:
            cut = t0 + int(skip_s * 1e9)
            records = [r for r in records if r.start_ns >= cut]
            header["skipped_warmup"] = header["rows"] - len(records)
    header["clients"] = sorted({r.client_id for r in records})
    header["endpoints"] = sorted({r.endpoint for r in records})
    unknown = Counter(r.op for r in records if r.op not in KNOWN_OPS)
    header["unknown_ops"] = dict(unknown)
    errors = Counter(r.error for r in records if r.error)
    header["top_errors"] = errors.most_common(5)

    groups: dict[tuple[Any, ...], _Group] = defaultdict(_Group)
    for r in records:
        if r.op not in KNOWN_OPS:
            continue
        extra = ((r.client_id,) if per_client else ()) + ((r.endpoint,) if per_endpoint else ())
        bucket = bucket_of(r.op, r.bytes) if not r.error else None
        if bucket is not None:
            groups[(r.op, *extra, bucket)].add(r)
        else:
            # Failed rows count in the group of their op's ALL row (their size is 0).
            groups[(r.op, *extra, "meta" if r.op not in DATA_OPS else "zero")].add(r)
        if r.op in DATA_OPS:
            groups[(r.op, *extra, "ALL")].add(r)

    def order(key: tuple[Any, ...]) -> tuple[Any, ...]:
        op, *rest = key
        bucket = rest[-1]
        return (_OP_ORDER.get(op, 99), op, *rest[:-1],
                len(BUCKETS) + 1 if bucket == "ALL" else _BUCKET_ORDER.get(bucket, 0))

    rows = []
    for key in sorted(groups, key=order):
        op, *rest = key
        k: dict[str, Any] = {"op": op}
        i = 0
        if per_client:
            k["client"] = rest[i]
            i += 1
        if per_endpoint:
            k["endpoint"] = rest[i]
            i += 1
        k["bucket"] = rest[i]
        g = groups[key]
        if g.count == 0 and g.errors == 0 and g.retries == 0:
            continue
        rows.append(g.row(k))
    return header, rows


def analyze_oplogs(
    paths: Iterable[str | os.PathLike[str]],
    *,
    per_client: bool = False,
    per_endpoint: bool = False,
    skip_s: float = 0.0,
) -> list[dict[str, Any]]:
    """One dict per (op[, client][, endpoint], bucket) row, plus an ``ALL`` row per data op.

    Keys: ``op bucket count errors retries bytes avg_size span_s ops_s mib_s lat_mean_ms
    p50_ms p90_ms p95_ms p99_ms p99.9_ms max_ms [ttfb_p50_ms ttfb_p99_ms] concurrency``.
    """
    return analyze_report(paths, per_client=per_client, per_endpoint=per_endpoint, skip_s=skip_s)[1]
