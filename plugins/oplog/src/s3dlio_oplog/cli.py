"""``s3-cli oplog analyze|merge|replay`` (docs/oplog.md; flags: docs/cli.md)."""

from __future__ import annotations

import argparse
import contextlib
import math
import re
from collections.abc import Iterator
from typing import Any

__all__ = ["OplogCommand", "op_log_session", "parse_duration"]

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$", re.IGNORECASE)
_UNIT = {None: 1.0, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


@contextlib.contextmanager
def op_log_session(path: str) -> Iterator[None]:
    """``s3-cli --op-log FILE``: record the command's operations; flushed when it ends.

    A log that cannot be flushed raises on exit, which fails the run.
    """
    from s3dlio_oplog import api

    api.init_op_log(path)
    try:
        yield
    finally:
        api.finalize_op_log()


def parse_duration(text: str) -> float:
    """``30s``, ``500ms``, ``2m``, ``1h`` or plain seconds → seconds."""
    m = _DURATION.match(text)
    if m is None:
        raise argparse.ArgumentTypeError(f"invalid duration {text!r} (e.g. 30s, 500ms, 2m)")
    unit = m.group(2).lower() if m.group(2) else None
    return float(m.group(1)) * _UNIT[unit]


def _offset(text: str) -> tuple[str, int]:
    client, sep, ns = text.rpartition("=")
    if not sep or not client:
        raise argparse.ArgumentTypeError(f"--clock-offset needs CLIENT=NS, got {text!r}")
    try:
        return client, int(ns)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"--clock-offset: {ns!r} is not an integer") from exc


def _size(text: str) -> int:
    from s3dlio.cli.sizes import parse_size

    try:
        return parse_size(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def _parents() -> list[argparse.ArgumentParser]:
    """The global flags, so ``--json``/``--op-log`` also work after the action."""
    try:
        from s3dlio.cli.main import global_parser

        return [global_parser()]
    except Exception:  # an older core: the flags work before the action only
        return []


def _fmt(value: Any, width: int = 9) -> str:
    if isinstance(value, float):
        if math.isnan(value):
            return "-".rjust(width)
        if abs(value) >= 1000:
            return f"{value:,.0f}".rjust(width)
        return f"{value:.3f}".rjust(width)
    return f"{value:,}".rjust(width) if isinstance(value, int) else str(value).rjust(width)


_TABLE = (
    ("count", "count"), ("errors", "err"), ("retries", "retry"), ("bytes", "bytes"),
    ("avg_size", "avg_size"), ("ops_s", "ops/s"), ("mib_s", "MiB/s"), ("lat_mean_ms", "mean_ms"),
    ("p50_ms", "p50"), ("p90_ms", "p90"), ("p95_ms", "p95"), ("p99_ms", "p99"), ("p99.9_ms", "p99.9"),
    ("max_ms", "max"), ("ttfb_p50_ms", "ttfb_p50"), ("ttfb_p99_ms", "ttfb_p99"), ("concurrency", "conc"),
)


class OplogCommand:
    """Analyze, merge or replay op-log files."""

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parents = _parents()
        sub = parser.add_subparsers(dest="oplog_action", metavar="ACTION", title="actions")
        sub.required = True

        a = sub.add_parser("analyze", parents=parents, help="per op and size bucket statistics",
                           description="Per op and size bucket: count, bytes, throughput, latency "
                                       "percentiles (ms). Rows with errors and retries are counted apart.")
        a.add_argument("files", nargs="+", metavar="FILE")
        a.add_argument("--per-client", action="store_true", help="one row group per client_id")
        a.add_argument("--per-endpoint", action="store_true", help="one row group per endpoint")
        a.add_argument("--skip", type=parse_duration, default=0.0, metavar="DURATION",
                       help="drop rows starting within the first DURATION of the run (warm-up)")
        a.add_argument("--plot", metavar="FILE.png",
                       help="throughput and latency over time per op (pip install s3dlio-oplog[plot])")

        m = sub.add_parser("merge", parents=parents, help="merge logs sorted by start, idx renumbered",
                           description="Merge op-logs (ours, warp's, the original's) into one file sorted "
                                       "by start; one input converts/repairs it.")
        m.add_argument("inputs", nargs="+", metavar="IN")
        m.add_argument("-o", "--output", required=True, metavar="OUT")
        cols = m.add_mutually_exclusive_group()
        cols.add_argument("--extended", dest="extended", action="store_const", const=True, default=None,
                          help="write the 15 extended columns")
        cols.add_argument("--base", dest="extended", action="store_const", const=False,
                          help="write the 13 base columns")
        m.add_argument("--clock-offset", type=_offset, action="append", default=[], metavar="CLIENT=NS",
                       help="add NS nanoseconds to every time of CLIENT (repeatable)")
        m.add_argument("--mem", type=_size, default=1 << 30, metavar="SIZE",
                       help="memory for in-memory sorting; larger inputs are sorted in spilled runs (1GiB)")

        r = sub.add_parser("replay", parents=parents, help="replay a recorded run against any backend",
                           description="Re-issue the requests of op-logs at their recorded times "
                                       "(scaled by --speed). Exit 0 if all succeeded, 3 if some failed.")
        r.add_argument("files", nargs="+", metavar="FILE")
        r.add_argument("--target", metavar="URI", help="replace {scheme}://{bucket}/ (or / for local) by URI")
        r.add_argument("--remap", action="append", default=[], metavar="FROM=TO",
                       help="prefix rewrite of source URIs; longest FROM wins (repeatable)")
        r.add_argument("--endpoint-map", action="append", default=[], metavar="OLD=NEW",
                       help="treat rows of endpoint OLD as rows of NEW (repeatable)")
        r.add_argument("--map-file", metavar="F", help="TOML with [[remap]] and [[endpoint]] from/to tables")
        r.add_argument("--speed", type=float, default=1.0,
                       help="time scale (2 = twice as fast; 0 = no waiting)")
        r.add_argument("--mode", choices=("open", "lanes"), default="open")
        r.add_argument("--max-in-flight", type=int, default=1024, metavar="N")
        r.add_argument("--ops", default="GET,PUT,STAT,LIST", metavar="LIST",
                       help="ops to replay (DELETE only when named)")
        r.add_argument("--include-errors", action="store_true", help="also rows that failed originally")
        r.add_argument("--dedup", type=int, default=1, help="PUT payload dedup factor (needs s3dlio-datagen)")
        r.add_argument("--compress", type=int, default=1,
                       help="PUT payload compression factor (needs s3dlio-datagen)")
        r.add_argument("--seed", type=int, default=None)
        r.add_argument("--fail-fast", action="store_true", help="stop at the first failure (exit 1)")
        r.add_argument("--dry-run", type=int, nargs="?", const=20, default=None, metavar="N",
                       help="print the first N mapped requests (20) and do nothing")

    def run(self, args: argparse.Namespace, ctx: Any) -> int:
        action = args.oplog_action
        if action == "analyze":
            return self._analyze(args, ctx)
        if action == "merge":
            return self._merge(args, ctx)
        return self._replay(args, ctx)

    # ------------------------------------------------------------------ analyze
    def _analyze(self, args: argparse.Namespace, ctx: Any) -> int:
        from s3dlio_oplog.analyze import analyze_report

        header, rows = analyze_report(args.files, per_client=args.per_client,
                                      per_endpoint=args.per_endpoint, skip_s=args.skip)
        for row in rows:
            ctx.emit({"type": "oplog_analyze", **row})
        ctx.set_summary(**{k: v for k, v in header.items() if k not in ("start_ns", "end_ns")})
        if not ctx.json_mode:
            out = ctx.out
            out(f"files: {', '.join(header['files'])}")
            out(f"rows: {header['rows']:,}  span: {header.get('span_s', 0.0):.3f} s  "
                f"dropped: {header['dropped']:,}" + (f"  skipped (warm-up): {header['skipped_warmup']:,}"
                                                     if "skipped_warmup" in header else ""))
            out(f"clients: {', '.join(header['clients']) or '-'}")
            out(f"endpoints: {', '.join(header['endpoints']) or '-'}")
            if header["unknown_ops"]:
                out(f"unknown ops (skipped): {header['unknown_ops']}")
            for message, count in header["top_errors"]:
                out(f"error x{count}: {message}")
            keys = [k for k in ("client", "endpoint") if rows and k in rows[0]]
            current = None
            for row in rows:
                if row["op"] != current:
                    current = row["op"]
                    out("")
                    out(f"== {current} (latencies in ms)")
                    out("  ".join([f"{'bucket':<13}", *(f"{k:<16}" for k in keys),
                                   *(h.rjust(9) for _, h in _TABLE)]))
                out("  ".join([f"{row['bucket']:<13}", *(f"{str(row[k])[:16]:<16}" for k in keys),
                               *(_fmt(row.get(f, math.nan)) for f, _ in _TABLE)]))
        if args.plot:
            from s3dlio_oplog.plot import plot_oplogs

            plot_oplogs(args.files, args.plot)
            ctx.info(f"plot written to {args.plot}")
        return 0

    # ------------------------------------------------------------------ merge
    def _merge(self, args: argparse.Namespace, ctx: Any) -> int:
        from s3dlio_oplog.merge import merge_oplogs

        n = merge_oplogs(args.inputs, args.output, extended=args.extended,
                         clock_offsets=dict(args.clock_offset), mem_bytes=args.mem)
        ctx.emit({"type": "oplog_merge", "output": args.output, "rows": n})
        ctx.set_summary(output=args.output, rows=n, inputs=len(args.inputs))
        ctx.info(f"merged {len(args.inputs)} file(s), {n:,} rows -> {args.output}")
        return 0

    # ------------------------------------------------------------------ replay
    def _replay(self, args: argparse.Namespace, ctx: Any) -> int:
        from s3dlio_oplog.replay import replay_oplog

        summary = replay_oplog(
            args.files, target=args.target, remap=args.remap, endpoint_map=args.endpoint_map,
            map_file=args.map_file, speed=args.speed, mode=args.mode, max_in_flight=args.max_in_flight,
            ops=args.ops.split(","), include_errors=args.include_errors, fail_fast=args.fail_fast,
            seed=args.seed, dedup=args.dedup, compress=args.compress, dry_run=args.dry_run,
        )
        if args.dry_run is not None:
            for req in summary["requests"]:
                ctx.emit({"type": "oplog_replay_request", **req},
                         f"+{req['at_s']:.6f}s {req['op']} {req['uri']} bytes={req['bytes']}")
            ctx.set_summary(rows_read=summary["rows_read"], skipped=summary["skipped"])
            return 0
        ctx.set_summary(**summary)
        skipped = ", ".join(f"{k}={v}" for k, v in sorted(summary["skipped"].items())) or "none"
        ctx.info(
            f"replay: rows read {summary['rows_read']:,}, replayed {summary['replayed']:,}, "
            f"failed {summary['failed']:,}, skipped {skipped}; wall {summary['wall_s']:.3f} s; lag p50 "
            f"{summary['lag_p50_ms']:.3f} ms, p99 {summary['lag_p99_ms']:.3f} ms, max "
            f"{summary['lag_max_ms']:.3f} ms; {summary['late_10ms']:,} started > 10 ms late"
        )
        for message, count in summary["errors"]:
            ctx.warn(f"x{count}: {message}")
        if summary["failed"]:
            return 1 if args.fail_fast else 3
        return 0
