"""The writer thread: drains the recorder's queue, numbers rows, hands them to the sink,
and cuts a zstd frame at ``WBUFCAP`` bytes or ``FLUSH_SECS`` after the previous frame
(docs/oplog.md, "Writing")."""

from __future__ import annotations

import threading
import time
import warnings
from typing import Any

from s3dlio_oplog.record import OpRecord, split_place
from s3dlio_oplog.recorder import OpLogRecorder
from s3dlio_oplog.sinks import OplogSink

__all__ = ["DrainingThread", "OplogWriter"]

_new_row = tuple.__new__
_BATCH = 4096
_POLL_S = 0.1


class DrainingThread(threading.Thread):
    """The thread that drains a recorder's queue; subclasses say where rows go.

    ``gate`` cleared holds off draining (tests: "a blocked writer"); :meth:`stop` asks
    the thread to drain everything, finish and exit, then waits for it.
    """

    def __init__(self, recorder: OpLogRecorder, *, client_id: str, flush_secs: float,
                 clock_offset_ns: int) -> None:
        super().__init__(name="s3dlio-oplog-writer", daemon=True)
        self.recorder = recorder
        self.client_id = client_id
        self.flush_secs = max(0.001, float(flush_secs))
        self.clock_offset_ns = int(clock_offset_ns)
        self.written = 0
        self.frames = 0
        self.writer_failed = 0
        self.writer_error: str | None = None
        self._next_idx = 0
        self._stopping = False
        self.gate = threading.Event()
        self.gate.set()

    def stop(self, timeout: float | None = None) -> None:
        """Drain everything, finish the output, exit; wait up to ``timeout``."""
        self._stopping = True
        self.gate.set()
        self.recorder.wake.set()
        if self.is_alive():
            self.join(timeout)


class OplogWriter(DrainingThread):
    """Background thread owning ``sink``. Never raises into I/O threads.

    A write error stops the log: it warns once, stores ``writer_error`` and counts every
    later row in ``writer_failed``.
    """

    def __init__(
        self,
        recorder: OpLogRecorder,
        sink: OplogSink,
        *,
        client_id: str,
        wbufcap: int = 262144,
        flush_secs: float = 1.0,
        clock_offset_ns: int = 0,
        extended: bool = False,
    ) -> None:
        super().__init__(recorder, client_id=client_id, flush_secs=flush_secs,
                         clock_offset_ns=clock_offset_ns)
        self.sink = sink
        self.wbufcap = max(1, int(wbufcap))
        self.extended = extended
        self._buffered_rows = 0

    # ------------------------------------------------------------------ thread
    def run(self) -> None:
        rec = self.recorder
        next_frame = time.monotonic() + self.flush_secs
        while True:
            # Wake at least every _POLL_S so a burst never fills the queue between frames.
            timeout = min(next_frame - time.monotonic(), _POLL_S)
            if timeout > 0 and not self._stopping:
                rec.wake.wait(timeout)
            rec.wake.clear()
            self.gate.wait()
            stopping = self._stopping
            batch = rec.drain()
            if batch:
                self._write(batch)
            now = time.monotonic()
            if now >= next_frame:
                self._flush()
                next_frame = now + self.flush_secs
            if stopping and not rec.pending():
                break
        self._close()

    # ------------------------------------------------------------------ work
    def _write(self, batch: Any) -> None:
        if self.writer_error is not None:
            self.writer_failed += len(batch)
            return
        sink = self.sink
        raw = getattr(sink, "write_raw", None)
        # ~200 bytes a row: chunks small enough that a frame stays close to WBUFCAP.
        step = max(16, min(_BATCH, self.wbufcap // 400))
        for i in range(0, len(batch), step):
            chunk = batch[i:i + step]
            if self._failed_already():
                self.writer_failed += len(chunk)
                continue
            try:
                if raw is not None:
                    self._next_idx = raw(chunk, self._next_idx, self.client_id, self._offset())
                else:
                    sink.write_rows(self._records(chunk))
            except Exception as exc:
                self._fail(exc)
                self.writer_failed += len(chunk)
                continue
            self._buffered_rows += len(chunk)
            if sink.buffered >= self.wbufcap:
                self._flush()

    def _failed_already(self) -> bool:
        return self.writer_error is not None

    def _offset(self) -> int:
        """Monotonic → wall (+ ``S3DLIO_OPLOG_CLOCK_OFFSET_NS``), sampled now."""
        return time.time_ns() - time.perf_counter_ns() + self.clock_offset_ns

    def _records(self, chunk: Any) -> list[OpRecord]:
        """Recorder tuples → :class:`OpRecord` (sinks without ``write_raw``)."""
        idx = self._next_idx
        cid = self.client_id
        off = self._offset()
        ext = self.extended
        rows: list[OpRecord] = []
        append = rows.append
        for lane, op, n, nbytes, place, name, err, start, fb, end in chunk:
            endpoint, file = split_place(place, name)
            start += off
            end += off
            if fb is not None:
                fb = min(max(fb + off, start), end)
            lb = end if (ext and fb is not None) else None
            append(_new_row(OpRecord, (idx, lane, op, cid, n, nbytes, endpoint, file, err,
                                       start, fb, lb, end, end - start, 0)))
            idx += 1
        self._next_idx = idx
        return rows

    def _flush(self) -> None:
        if self.writer_error is not None or not self.sink.buffered:
            return
        try:
            self.sink.flush()
        except Exception as exc:
            self._fail(exc)
            return
        self.frames += 1
        self.written += self._buffered_rows
        self._buffered_rows = 0

    def _fail(self, exc: BaseException) -> None:
        if self.writer_error is None:
            self.writer_error = f"{type(exc).__name__}: {exc}"
            self.writer_failed += self._buffered_rows
            self._buffered_rows = 0
            warnings.warn(
                f"s3dlio op-log: writing {getattr(self.sink, 'path', '?')} failed ({self.writer_error}); "
                "the op-log stops, I/O continues", RuntimeWarning, stacklevel=2,
            )

    def _close(self) -> None:
        if self.sink.buffered:
            self.frames += 1
        try:
            self.sink.close(dropped=self.recorder.dropped_full)
        except Exception as exc:
            self._fail(exc)
            return
        if self.writer_error is None:
            self.written += self._buffered_rows
            self._buffered_rows = 0

    def counters(self) -> dict[str, Any]:
        """The writer's share of :func:`s3dlio.op_log_stats`."""
        return {
            "written": self.written,
            "writer_failed": self.writer_failed,
            "writer_error": self.writer_error,
            "frames": self.frames,
            "writer": "thread",
        }
