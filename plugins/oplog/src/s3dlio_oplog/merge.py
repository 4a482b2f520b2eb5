"""``oplog merge``: several logs → one file sorted by start, ``idx`` renumbered (docs/oplog.md).

Inputs may be ours, warp's or the original s3dlio's (the reader normalises op aliases and
remaps 64-bit thread ids), so one input is a repair/convert. The output goes through the
normal sink (frames, header, ``# dropped=N`` trailer summed from the inputs) into a
temporary file that is renamed over ``out`` at the end.
"""

from __future__ import annotations

import heapq
import os
import tempfile
from collections.abc import Iterable, Mapping
from typing import Any

from s3dlio_oplog.reader import OplogReader
from s3dlio_oplog.record import OpRecord

__all__ = ["merge_oplogs"]

_FRAME_BYTES = 262144


def _shift(r: OpRecord, off: int) -> OpRecord:
    return r._replace(
        start_ns=r.start_ns + off,
        end_ns=r.end_ns + off,
        first_byte_ns=None if r.first_byte_ns is None else r.first_byte_ns + off,
        last_byte_ns=None if r.last_byte_ns is None else r.last_byte_ns + off,
    )


_ROW_BYTES = 400
"""Rough memory of one buffered row (tuple + OpRecord + strings) for ``mem_bytes``."""


def _sort_key(t: tuple[Any, ...]) -> tuple[Any, ...]:
    return t[:6]


def _spill(run: list[tuple[Any, ...]], directory: str, n: int) -> str:
    """Write one sorted run (extended columns: nothing is lost) to a temporary file."""
    from s3dlio_oplog.sinks import TsvZstdSink

    run.sort(key=_sort_key)
    path = os.path.join(directory, f"run{n:05d}.tsv.zst")
    sink = TsvZstdSink(path, extended=True, level=1)
    try:
        for i in range(0, len(run), 4096):
            # Rows keep their input idx; across runs, ties resolve by run number.
            sink.write_rows([t[6] for t in run[i:i + 4096]])
            if sink.buffered >= _FRAME_BYTES:
                sink.flush()
    finally:
        sink.close()
    return path


def merge_oplogs(
    paths: Iterable[str | os.PathLike[str]],
    out: str | os.PathLike[str],
    *,
    extended: bool | None = None,
    clock_offsets: Mapping[str, int] | None = None,
    level: int = 1,
    mem_bytes: int = 1 << 30,
) -> int:
    """Merge ``paths`` into ``out``; return the number of rows written.

    Rows are sorted by ``(start, end, client_id, thread, input number, input idx)`` after
    adding ``clock_offsets[client_id]`` nanoseconds to each client's times.
    ``extended=None`` writes the extended columns when any input has ``last_byte`` or
    ``cat``. Inputs larger than ``mem_bytes`` (estimated) are sorted in runs spilled to
    temporary files and combined with a k-way heap merge.
    """
    from s3dlio_oplog.sinks import JsonlSink, TsvZstdSink

    offsets = dict(clock_offsets or {})
    max_rows = max(1000, mem_bytes // _ROW_BYTES)
    records: list[tuple[Any, ...]] = []
    runs: list[str] = []
    spill_dir: tempfile.TemporaryDirectory[str] | None = None
    dropped = 0
    any_extended = False
    out = os.fspath(out)
    directory = os.path.dirname(os.path.abspath(out))
    os.makedirs(directory, exist_ok=True)
    try:
        for n, path in enumerate(paths):
            reader = OplogReader(path)
            for r in reader:
                off = offsets.get(r.client_id, 0)
                if off:
                    r = _shift(r, off)
                records.append((r.start_ns, r.end_ns, r.client_id, r.thread, n, r.idx, r))
                if len(records) >= max_rows:
                    if spill_dir is None:
                        spill_dir = tempfile.TemporaryDirectory(prefix=".oplog-merge-", dir=directory)
                    runs.append(_spill(records, spill_dir.name, len(runs)))
                    records = []
            dropped += reader.dropped
            cols = set(reader.columns or ())
            any_extended = any_extended or bool(cols & {"last_byte", "cat"})
        ext = any_extended if extended is None else extended
        if runs:
            if records:
                runs.append(_spill(records, spill_dir.name, len(runs)))  # type: ignore[union-attr]
                records = []
            streams = [
                ((r.start_ns, r.end_ns, r.client_id, r.thread, k, r.idx, r) for r in OplogReader(p))
                for k, p in enumerate(runs)
            ]
            ordered: Iterable[tuple[Any, ...]] = heapq.merge(*streams, key=_sort_key)
        else:
            records.sort(key=_sort_key)
            ordered = records
        fd, tmp = tempfile.mkstemp(prefix=".oplog-merge-", suffix=".tmp", dir=directory)
        os.close(fd)
        sink_cls = JsonlSink if out.lower().endswith((".jsonl", ".jsonl.zst")) else TsvZstdSink
        count = 0
        try:
            if sink_cls is JsonlSink and out.endswith(".zst"):
                # JsonlSink decides on compression by name; give the temp file the same suffix.
                os.unlink(tmp)
                tmp += ".zst"
            sink = sink_cls(tmp, extended=ext, level=level)
            try:
                batch: list[OpRecord] = []
                for t in ordered:
                    batch.append(t[6]._replace(idx=count))
                    count += 1
                    if len(batch) >= 2048:
                        sink.write_rows(batch)
                        batch = []
                        if sink.buffered >= _FRAME_BYTES:
                            sink.flush()
                if batch:
                    sink.write_rows(batch)
            finally:
                sink.close(dropped=dropped)
            os.replace(tmp, out)
        except BaseException:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise
    finally:
        if spill_dir is not None:
            spill_dir.cleanup()
    return count
