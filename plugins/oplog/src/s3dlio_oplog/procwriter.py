"""The process writer (``S3DLIO_OPLOG_WRITER=process``): the writer thread only ships rows.

Formatting and compressing a row costs the writer thread about 2.4 µs of GIL time,
which competes with the application's I/O threads. In process mode the thread drains
the queue, serialises the raw tuples with ``marshal`` (≈ 0.35 µs a row) and writes them
to a pipe; :mod:`s3dlio_oplog.helper`, a child interpreter, formats, compresses and
writes the frames. The log file is opened (and its header written) by this process, so
an unwritable path still fails ``init_op_log``; the descriptor is handed to the helper.
If the application dies, the helper sees end of input and writes everything it got.
"""

from __future__ import annotations

import json
import marshal
import os
import subprocess
import sys
import time
import warnings
from typing import Any

from s3dlio_oplog.recorder import OpLogRecorder
from s3dlio_oplog.writer import DrainingThread

__all__ = ["ProcessWriter"]

_POLL_S = 0.1


class ProcessWriter(DrainingThread):
    """Same interface as :class:`~s3dlio_oplog.writer.OplogWriter`; the sink lives in a helper."""

    def __init__(
        self,
        recorder: OpLogRecorder,
        sink: Any,
        *,
        client_id: str,
        wbufcap: int = 262144,
        flush_secs: float = 1.0,
        clock_offset_ns: int = 0,
        extended: bool = False,
        level: int = 1,
    ) -> None:
        super().__init__(recorder, client_id=client_id, flush_secs=flush_secs,
                         clock_offset_ns=clock_offset_ns)
        self.sink = sink
        self.sent = 0
        fd = sink.fileno()
        pkg_parent = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (pkg_parent, env.get("PYTHONPATH", "")) if p)
        try:
            self.proc: subprocess.Popen[bytes] = subprocess.Popen(
                [sys.executable, "-m", "s3dlio_oplog.helper", str(fd), "1" if extended else "0", str(level),
                 str(int(wbufcap)), repr(self.flush_secs)],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, pass_fds=(fd,), bufsize=0, env=env,
            )
        finally:
            sink.detach()  # the helper owns the file now (or the open failed)
        assert self.proc.stdin is not None
        self._pipe: Any = self.proc.stdin

    # ------------------------------------------------------------------ thread
    def run(self) -> None:
        rec = self.recorder
        while True:
            rec.wake.wait(_POLL_S if not self._stopping else 0)
            rec.wake.clear()
            self.gate.wait()
            stopping = self._stopping
            batch = rec.drain()
            if batch:
                self._send(batch)
            if stopping and not rec.pending():
                break
        self._finish()

    def abandon(self) -> None:
        """In a forked child: drop the inherited pipe end without writing (the parent owns it)."""
        try:
            self._pipe.close()
        except OSError:
            pass

    # ------------------------------------------------------------------ work
    def _message(self, obj: Any) -> None:
        data = marshal.dumps(obj)
        view = memoryview(len(data).to_bytes(4, "little") + data)
        while view:
            n = self._pipe.write(view)
            view = view[n or 0:]

    def _send(self, batch: list[Any]) -> None:
        if self.writer_error is not None:
            self.writer_failed += len(batch)
            return
        offset = time.time_ns() - time.perf_counter_ns() + self.clock_offset_ns
        try:
            self._message(("rows", self._next_idx, self.client_id, offset, batch))
        except (OSError, ValueError) as exc:
            self._fail(f"helper process gone: {type(exc).__name__}: {exc}")
            self.writer_failed += len(batch)
            return
        self._next_idx += len(batch)
        self.sent += len(batch)

    def _fail(self, message: str) -> None:
        if self.writer_error is None:
            self.writer_error = message
            warnings.warn(f"s3dlio op-log: {message}; the op-log stops, I/O continues", RuntimeWarning,
                          stacklevel=2)

    def _finish(self) -> None:
        try:
            if self.writer_error is None:
                self._message(("end", self.recorder.dropped_full))
        except (OSError, ValueError) as exc:
            self._fail(f"helper process gone: {type(exc).__name__}: {exc}")
        try:
            self._pipe.close()
        except OSError:
            pass
        self.proc.stdin = None  # closed: communicate() must not flush it
        try:
            out, _ = self.proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            out, _ = self.proc.communicate()
            self._fail("helper process did not finish within 60 s")
        try:
            report = json.loads(out.decode().strip().splitlines()[-1])
        except (ValueError, IndexError):
            self._fail(f"helper process ended without a report (exit {self.proc.returncode})")
            self.writer_failed = self.sent + self.writer_failed - self.written
            return
        self.written = int(report["written"])
        self.frames = int(report["frames"])
        self.writer_failed += int(report["writer_failed"])
        if report.get("writer_error"):
            self._fail(str(report["writer_error"]))

    def counters(self) -> dict[str, Any]:
        """The writer's share of :func:`s3dlio.op_log_stats` (``written`` is final after finalize)."""
        return {
            "written": self.written,
            "writer_failed": self.writer_failed,
            "writer_error": self.writer_error,
            "frames": self.frames,
            "writer": "process",
        }
