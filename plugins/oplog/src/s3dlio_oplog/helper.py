"""The op-log helper process: formats and compresses rows off the application's GIL.

Started by :class:`s3dlio_oplog.procwriter.ProcessWriter` as
``python -m s3dlio_oplog.helper FD EXTENDED LEVEL WBUFCAP FLUSH_SECS``. It continues the
already opened log file ``FD`` (header written by the parent) and reads messages from
stdin: a 4-byte little-endian length, then ``marshal`` data —
``("rows", first_idx, client_id, offset_ns, [raw rows])`` or
``("end", dropped)``. Frames are cut at ``WBUFCAP`` bytes or ``FLUSH_SECS`` after the
previous frame. On ``end`` — or end of file, i.e. the application died — it writes the
last frame (and trailer), prints its counters as one JSON line on stdout and exits.
SIGINT/SIGTERM are ignored: the helper ends when its input ends, so nothing is lost.
"""

from __future__ import annotations

import json
import marshal
import os
import select
import signal
import sys
import time


def _read_exact(fd: int, n: int) -> bytes:
    chunks = []
    while n:
        data = os.read(fd, min(n, 1 << 20))
        if not data:
            return b""
        chunks.append(data)
        n -= len(data)
    return b"".join(chunks)


def main(argv: list[str]) -> int:
    """Run the helper loop; returns the exit code."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    from s3dlio_oplog.sinks import TsvZstdSink

    fd, extended, level, wbufcap, flush_secs = (int(argv[0]), argv[1] == "1", int(argv[2]), int(argv[3]),
                                                float(argv[4]))
    path = os.readlink(f"/proc/self/fd/{fd}") if os.path.exists(f"/proc/self/fd/{fd}") else f"fd:{fd}"
    sink = TsvZstdSink(path, extended=extended, level=level, file=os.fdopen(fd, "wb", buffering=0))
    stdin = sys.stdin.fileno()
    written = buffered_rows = frames = received = 0
    dropped = 0
    error = None
    next_frame = time.monotonic() + flush_secs

    def flush() -> None:
        nonlocal written, buffered_rows, frames, error
        if sink.buffered and error is None:
            try:
                sink.flush()
            except Exception as exc:
                error = f"{type(exc).__name__}: {exc}"
                return
            frames += 1
            written += buffered_rows
            buffered_rows = 0

    while True:
        timeout = max(0.0, next_frame - time.monotonic())
        ready, _, _ = select.select([stdin], [], [], timeout)
        if ready:
            head = _read_exact(stdin, 4)
            if not head:
                break  # the application is gone: keep what arrived
            body = _read_exact(stdin, int.from_bytes(head, "little"))
            if not body:
                break
            msg = marshal.loads(body)
            if msg[0] == "end":
                dropped = int(msg[1])
                break
            _, idx, client_id, offset, rows = msg
            received += len(rows)
            if error is None:
                try:
                    sink.write_raw(rows, idx, client_id, offset)
                    buffered_rows += len(rows)
                except Exception as exc:
                    error = f"{type(exc).__name__}: {exc}"
            if sink.buffered >= wbufcap:
                flush()
        if time.monotonic() >= next_frame:
            flush()
            next_frame = time.monotonic() + flush_secs
    if error is None:
        try:
            if sink.buffered:
                frames += 1
            sink.close(dropped=dropped)
            written += buffered_rows
            buffered_rows = 0
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"
    sys.stdout.write(json.dumps({"written": written, "frames": frames, "writer_error": error,
                                 "writer_failed": received - written}) + "\n")
    sys.stdout.flush()
    return 0 if error is None else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
