"""Cost of s3dlio's logging call sites while logging is disabled (issue 13: "no measurable cost").

Usage::

    python benchmarks/log_overhead.py [--n 200000] [--reps 7] [--json]

Times, single-threaded, the best of ``reps`` rounds of ``n`` calls each (ns per call; the
two sides of each comparison run interleaved within a round):

* ``event disabled``: ``EventLogger.info("retry", op=…, uri=…, attempt=…, status=…,
  elapsed_ms=…)`` below the logger's level, against a call of an empty function with the
  same arguments (``no-op call``) — the difference is the level check;
* ``retry call, success``: :meth:`RetryPolicy.call` of an attempt that succeeds (the path
  of every request; it has no logging call, only the ``time.monotonic()`` for
  ``elapsed_ms``) against calling the attempt directly;
* ``retry call, 1 retry``: an attempt that fails once with a transient error (no sleep),
  logging disabled, against the same with the event call sites replaced by nothing (on a
  shared machine the difference is within the noise of a ≈ 6 µs path);
* ``event enabled``: the same event accepted by the level, rendered by nobody (a handler
  that drops records) — what turning logging on costs per event, for scale.

It also checks that structlog was not imported by the disabled rounds.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from collections.abc import Callable
from typing import Any


def _best_ns(*fns: Callable[[], Any], n: int, reps: int) -> list[float]:
    """Best-of-``reps`` nanoseconds per call of each of ``fns`` (loop overhead subtracted).

    The functions run interleaved within every round, so a compared pair sees the same
    machine load (the development machine is shared).
    """

    def empty() -> None:
        return None

    best = [float("inf")] * len(fns)
    base = float("inf")
    for _ in range(reps):
        t0 = time.perf_counter_ns()
        for _ in range(n):
            empty()
        base = min(base, time.perf_counter_ns() - t0)
        for i, fn in enumerate(fns):
            t0 = time.perf_counter_ns()
            for _ in range(n):
                fn()
            best[i] = min(best[i], time.perf_counter_ns() - t0)
    return [max(0.0, (b - base) / n) for b in best]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=200_000, help="calls per round")
    ap.add_argument("--reps", type=int, default=7, help="rounds (the best one counts)")
    ap.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    args = ap.parse_args(argv)

    from s3dlio.errors import TransientError
    from s3dlio.log import event_logger
    from s3dlio.store import retry
    from s3dlio.store.retry import RetryPolicy, RetryQuota, RetrySettings

    logging.getLogger("s3dlio").setLevel(logging.WARNING)  # info events disabled, as by default
    events = event_logger("s3dlio.bench")
    uri = "s3://bucket/some/key.bin"

    def noop(event: str, /, **fields: Any) -> None:
        return None

    def disabled_event() -> None:
        events.info("retry", op="get", uri=uri, attempt=1, status=503, elapsed_ms=1.5)

    def noop_call() -> None:
        noop("retry", op="get", uri=uri, attempt=1, status=503, elapsed_ms=1.5)

    settings = RetrySettings()
    # Unlimited quota: thousands of retries must not empty the bucket mid-benchmark.
    policy = RetryPolicy(settings, endpoint="http://bench", quota=RetryQuota(0),
                         sleep=lambda s: None, rng=lambda: 0.0)

    def attempt() -> int:
        return 1

    def call_success() -> None:
        policy.call(attempt, op="get", uri=uri)

    def call_attempt() -> None:
        attempt()

    class FailOnce:
        __slots__ = ("failed",)

        def __init__(self) -> None:
            self.failed = False

        def __call__(self) -> int:
            if not self.failed:
                self.failed = True
                raise TransientError("reset", op="get", uri=uri, status=503)
            return 1

    def call_one_retry() -> None:
        policy.call(FailOnce(), op="get", uri=uri)

    n, reps = args.n, args.reps
    rows: dict[str, float] = {}
    rows["no-op call"], rows["event disabled"] = _best_ns(noop_call, disabled_event, n=n, reps=reps)
    rows["attempt alone"], rows["retry call, success"] = _best_ns(call_attempt, call_success, n=n, reps=reps)

    def call_one_retry_unlogged() -> None:
        RetryPolicy._log_event = unlogged  # type: ignore[method-assign]
        try:
            call_one_retry()
        finally:
            RetryPolicy._log_event = logged  # type: ignore[method-assign]

    def call_one_retry_logged() -> None:
        # The same attribute juggling as the unlogged twin, so only the log sites differ.
        RetryPolicy._log_event = logged  # type: ignore[method-assign]
        try:
            call_one_retry()
        finally:
            RetryPolicy._log_event = logged  # type: ignore[method-assign]

    logged = RetryPolicy._log_event

    def unlogged(self: Any, *a: Any, **k: Any) -> None:
        return None

    retry_n = max(1, n // 10)
    (rows["retry call, 1 retry, logging disabled"],
     rows["retry call, 1 retry, no log call"]) = _best_ns(call_one_retry_logged, call_one_retry_unlogged,
                                                          n=retry_n, reps=reps)
    structlog_loaded = any(m.startswith("structlog") for m in sys.modules)

    class Drop(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            return None

    bench_logger = logging.getLogger("s3dlio.bench")
    drop = Drop()
    bench_logger.addHandler(drop)
    bench_logger.propagate = False
    bench_logger.setLevel(logging.INFO)
    try:
        (rows["event enabled (dropped)"],) = _best_ns(disabled_event, n=max(1, n // 10), reps=reps)
    finally:
        bench_logger.removeHandler(drop)
        bench_logger.setLevel(logging.NOTSET)
        bench_logger.propagate = True

    result = {
        "n": n, "reps": reps, "ns_per_call": {k: round(v, 1) for k, v in rows.items()},
        "disabled_event_overhead_ns": round(rows["event disabled"] - rows["no-op call"], 1),
        "retry_log_overhead_ns": round(rows["retry call, 1 retry, logging disabled"]
                                       - rows["retry call, 1 retry, no log call"], 1),
        "structlog_imported_while_disabled": structlog_loaded,
        "retry_module": retry.__name__,
    }
    if args.json:
        print(json.dumps(result))
    else:
        width = max(len(k) for k in rows)
        for name, ns in rows.items():
            print(f"{name:<{width}}  {ns:10.1f} ns")
        print(f"{'disabled event vs no-op call':<{width}}  {result['disabled_event_overhead_ns']:10.1f} ns")
        print(f"{'retry path: log sites, disabled':<{width}}  {result['retry_log_overhead_ns']:10.1f} ns")
        print(f"structlog imported while disabled: {structlog_loaded}")
    return 1 if structlog_loaded else 0


if __name__ == "__main__":
    sys.exit(main())
