"""The hot path: lanes and the bounded queue (docs/oplog.md: the ``thread`` column, "Writing").

:class:`OpLogRecorder` implements core's :class:`s3dlio.store.recording.Recorder` protocol.
``start()`` takes a lane and two clock readings; ``finish()`` takes the end reading
first, frees the lane and appends one small tuple to the queue. Formatting and
compression happen on the writer thread (:mod:`s3dlio_oplog.writer`).
"""

from __future__ import annotations

import itertools
import threading
import time
import warnings
from collections import deque
from heapq import heappop, heappush
from time import perf_counter_ns
from typing import Any

from s3dlio_oplog.record import format_error

__all__ = ["MAX_LANE", "OpLogRecorder", "RawRow"]

MAX_LANE = 65535
"""Largest lane (warp parses ``thread`` as uint16). Beyond 65,536 concurrent ops lanes are shared."""

RawRow = tuple[int, str, int, int, "str | tuple[str, str]", str, str, int, "int | None", int]
"""``(lane, op, n_objects, bytes, endpoint, file, error, start_ns, first_byte_ns, end_ns)``, the
three times on the monotonic clock (``perf_counter_ns``). ``endpoint`` may be an
``(endpoint, path_prefix)`` pair — the row's file is then ``path_prefix + file`` — which core's
in-line GET recording ships instead of building the path on every request (see
:func:`split_place`)."""


_WARN_EVERY_S = 10.0


class OpLogRecorder:
    """Lanes plus the bounded queue between the I/O threads and the writer thread.

    ``lossless`` (default): a full queue makes the recording thread wait (after its end
    time was taken). Bounded: a full queue drops the row and counts it in
    ``dropped_full``, with one warning per 10 s.

    The common path takes no lock: ``heappop``/``heappush`` on the free-lane heap,
    ``itertools.count`` for new lanes and ``deque.append`` are single C calls, atomic
    under the GIL. Only a full or closed queue takes the lock.
    """

    def __init__(self, *, capacity: int = 65536, lossless: bool = True) -> None:
        self._lock = threading.Lock()
        self._space = threading.Condition(self._lock)
        self._free: list[int] = []
        self._new_lane = itertools.count()
        self._queue: deque[RawRow] = deque()
        self.capacity = max(1, int(capacity))
        self.lossless = bool(lossless)
        self.wake = threading.Event()
        """Set when the writer should drain now (a waiter on a full queue, or close)."""
        self.closed = False
        self.taken = 0
        """Rows the writer has drained (only the writer thread updates it)."""
        self.dropped_full = 0
        self.rejected_closed = 0
        self.normalized_error_text = 0
        self._last_warning = 0.0
        from s3dlio.store.recording import FastPath

        self.fast_path = FastPath(recorder=self, queue=self._queue, lanes=self._free,
                                  new_lane=self._next_lane, max_lane=MAX_LANE,
                                  capacity=self.capacity, overflow=self._full)
        """Core's wrapper records whole-object GETs through this (no method call)."""

    @property
    def accepted(self) -> int:
        """Rows queued for writing: drained by the writer plus still queued."""
        return self.taken + len(self._queue)

    # ------------------------------------------------------------------ hot path
    def start(self) -> tuple[int, int]:
        """Take the smallest free lane; return ``(lane, start_perf_ns)``.

        Only the monotonic clock is read on the hot path; the writer maps it to wall time
        (``time_ns() − perf_counter_ns()`` taken per batch), so ``end − start`` is always the
        monotonic elapsed time and a wall-clock step shows from the next batch on.
        """
        try:
            lane = heappop(self._free)
        except IndexError:
            lane = self._next_lane()
        return (lane, perf_counter_ns())

    def _next_lane(self) -> int:
        """A lane never used before (the free heap is empty), capped at ``MAX_LANE``."""
        lane = next(self._new_lane)
        return MAX_LANE if lane > MAX_LANE else lane

    def finish(
        self,
        span: tuple[int, int],
        op: str,
        n_objects: int,
        nbytes: int,
        endpoint: str,
        file: str,
        error: BaseException | str | None = None,
        first_byte_ns: int | None = None,
    ) -> None:
        """Record one finished request: end time, free the lane, enqueue (or wait / drop)."""
        end = perf_counter_ns()
        lane = span[0]
        if lane < MAX_LANE:
            heappush(self._free, lane)
        if error is not None:
            self._failed(span, op, n_objects, endpoint, file, error, first_byte_ns, end)
            return
        queue = self._queue
        if len(queue) < self.capacity and not self.closed:
            queue.append((lane, op, n_objects, nbytes, endpoint, file, "", span[1], first_byte_ns, end))
            return
        self._full((lane, op, n_objects, nbytes, endpoint, file, "", span[1], first_byte_ns, end))

    def _failed(self, span: tuple[int, int], op: str, n_objects: int, endpoint: str, file: str,
                error: BaseException | str, first_byte_ns: int | None, end: int) -> None:
        err, normalized = format_error(error)
        if normalized:
            with self._lock:
                self.normalized_error_text += 1
        row = (span[0], op, n_objects, 0, endpoint, file, err, span[1], first_byte_ns, end)
        queue = self._queue
        if len(queue) < self.capacity and not self.closed:
            queue.append(row)
        else:
            self._full(row)

    def _full(self, row: RawRow) -> None:
        """Slow path: the queue is full (wait or drop) or the log is closed (reject)."""
        warn = False
        keep = True
        with self._lock:
            if self.closed:
                self.rejected_closed += 1
                return
            if len(self._queue) >= self.capacity:
                if not self.lossless:
                    self.dropped_full += 1
                    now = time.monotonic()
                    if now - self._last_warning >= _WARN_EVERY_S:
                        self._last_warning = now
                        warn = True
                    keep = False
                else:
                    self.wake.set()
                    while len(self._queue) >= self.capacity and not self._is_closed():
                        self._space.wait(0.05)
                    if self._is_closed():
                        self.rejected_closed += 1
                        return
            if keep:
                self._queue.append(row)
        if warn:
            warnings.warn(
                f"s3dlio op-log: queue full (S3DLIO_OPLOG_BUF={self.capacity}), bounded mode dropped "
                f"{self.dropped_full} rows so far; set S3DLIO_OPLOG_LOSSLESS=1 to keep all",
                RuntimeWarning, stacklevel=3,
            )

    def _is_closed(self) -> bool:
        return self.closed

    def abandon(self, span: tuple[int, int]) -> None:
        """Give back the lane of a span that made no request (no row)."""
        if span[0] < MAX_LANE:
            heappush(self._free, span[0])

    # ------------------------------------------------------------------ writer side
    def drain(self) -> list[RawRow]:
        """Take every queued row (writer thread only); wakes recording threads waiting for space."""
        queue = self._queue
        n = len(queue)
        pop = queue.popleft
        rows = [pop() for _ in range(n)]
        self.taken += n
        if self.lossless and n:
            with self._lock:
                self._space.notify_all()
        return rows

    def pending(self) -> int:
        """Rows queued and not yet taken by the writer."""
        return len(self._queue)

    def close(self) -> None:
        """Refuse further rows (they count in ``rejected_closed``) and release waiters."""
        with self._lock:
            self.closed = True
            self._space.notify_all()
        self.wake.set()

    def discard_pending(self) -> int:
        """After the writer stopped: rows that slipped in count as ``rejected_closed``."""
        n = len(self._queue)
        self._queue.clear()
        with self._lock:
            self.rejected_closed += n
        return n

    def counters(self) -> dict[str, Any]:
        """The recorder's share of :func:`s3dlio.op_log_stats`."""
        return {
            "accepted": self.accepted,
            "dropped_full": self.dropped_full,
            "rejected_closed": self.rejected_closed,
            "lossless": self.lossless,
            "normalized_error_text": self.normalized_error_text,
        }
