"""Op-log sinks: turn batches of :class:`~s3dlio_oplog.record.OpRecord` into a file.

A sink is created by its factory ``factory(path, *, extended, level)`` (registered as an
``OplogSinkSpec``) and driven by the writer thread only:

* ``write_rows(rows)`` formats rows into the pending frame buffer;
* ``buffered`` is the size of that buffer in bytes (about);
* ``flush()`` writes the buffer as one complete zstd frame (content checksum on) and
  flushes it to the OS, so a killed process leaves every earlier frame readable;
* ``close(dropped=N)`` flushes, adds the ``# dropped=N`` trailer when ``N > 0`` and closes.

``tsv-zstd`` is warp's format (docs/oplog.md, "File format"); ``jsonl`` writes one JSON object per row
(zstd frames when the path ends in ``.zst``, plain text otherwise).
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from typing import Any, Protocol

import zstandard

from s3dlio_oplog.record import (
    _NEEDS_QUOTE,
    BASE_COLUMNS,
    EXTENDED_COLUMNS,
    OpRecord,
    escape,
    format_time,
    header_line,
    split_place,
)

__all__ = ["JsonlSink", "OplogSink", "TsvZstdSink", "open_output"]


class OplogSink(Protocol):
    """What the writer thread drives (see the module docstring)."""

    path: str

    def write_rows(self, rows: Sequence[OpRecord]) -> None: ...

    @property
    def buffered(self) -> int: ...

    def flush(self) -> None: ...

    def close(self, *, dropped: int = 0) -> None: ...


def open_output(path: str) -> Any:
    """Open ``path`` for writing, unbuffered (a forked child never flushes a parent's bytes).

    Parent directories are created. Raises :class:`OSError` when the path is unwritable.
    """
    parent = os.path.dirname(os.path.abspath(path))
    os.makedirs(parent, exist_ok=True)
    return open(path, "wb", buffering=0)


def _write_all(f: Any, data: bytes) -> None:
    view = memoryview(data)
    while view:
        n = f.write(view)
        if n is None:  # non-blocking file: never the case for regular files
            n = 0
        view = view[n:]


class _FramedSink:
    """Frame buffering shared by the sinks: text rows in, zstd frames (or plain text) out."""

    compressed = True

    def __init__(self, path: str, *, extended: bool = False, level: int = 1, file: Any = None) -> None:
        self.path = path
        self.extended = extended
        self._parts: list[str] = []
        self._size = 0
        self._cctx = zstandard.ZstdCompressor(level=level, write_checksum=True, write_content_size=True)
        self._file: Any = open_output(path) if file is None else file
        self._closed = False

    def fileno(self) -> int:
        """The OS file descriptor (the process writer hands it to its helper)."""
        return int(self._file.fileno())

    def detach(self) -> None:
        """Close this object's handle without flushing or a trailer (another owner writes on)."""
        self._closed = True
        self._file.close()

    @property
    def buffered(self) -> int:
        return self._size

    def _emit(self, text: str) -> None:
        data = text.encode("utf-8", "surrogateescape")
        if self.compressed:
            data = self._cctx.compress(data)
        _write_all(self._file, data)

    def flush(self) -> None:
        """Write the pending rows as one frame."""
        if self._parts:
            text = "".join(self._parts)
            self._parts = []
            self._size = 0
            self._emit(text)

    def _trailer(self, dropped: int) -> str:
        return f"# dropped={dropped}\n"

    def close(self, *, dropped: int = 0) -> None:
        """Flush, write the trailer if rows were dropped, close (idempotent)."""
        if self._closed:
            return
        try:
            self.flush()
            if dropped > 0:
                self._emit(self._trailer(dropped))
        finally:
            self._closed = True
            self._file.close()


class TsvZstdSink(_FramedSink):
    """warp's TSV inside independent zstd frames; the header is its own frame, written at open.

    ``file=`` continues an already opened file whose header was written (no new header).
    """

    def __init__(self, path: str, *, extended: bool = False, level: int = 1, file: Any = None) -> None:
        super().__init__(path, extended=extended, level=level, file=file)
        if file is not None:
            return
        try:
            self._emit(header_line(extended))
        except BaseException:
            self._file.close()
            raise

    def write_rows(self, rows: Sequence[OpRecord]) -> None:
        """Format ``rows`` (warp escaping, RFC 3339 times) into the pending frame."""
        fmt = format_time
        esc = escape
        parts = self._parts
        size = self._size
        ext = self.extended
        for r in rows:
            fb = r.first_byte_ns
            fb_text = "" if fb is None else fmt(fb)
            if ext:
                lb = r.last_byte_ns
                line = (
                    f"{r.idx}\t{r.thread}\t{esc(r.op)}\t{esc(r.client_id)}\t{r.n_objects}\t{r.bytes}\t"
                    f"{esc(r.endpoint)}\t{esc(r.file)}\t{esc(r.error)}\t{fmt(r.start_ns)}\t{fb_text}\t"
                    f"{'' if lb is None else fmt(lb)}\t{fmt(r.end_ns)}\t{r.duration_ns}\t{r.cat}\n"
                )
            else:
                line = (
                    f"{r.idx}\t{r.thread}\t{esc(r.op)}\t{esc(r.client_id)}\t{r.n_objects}\t{r.bytes}\t"
                    f"{esc(r.endpoint)}\t{esc(r.file)}\t{esc(r.error)}\t{fmt(r.start_ns)}\t{fb_text}\t"
                    f"{fmt(r.end_ns)}\t{r.duration_ns}\n"
                )
            parts.append(line)
            size += len(line)
        self._size = size


    def write_raw(self, items: Sequence[tuple[Any, ...]], idx: int, client_id: str, offset_ns: int) -> int:
        """Fast path of the live writer: format recorder tuples directly; return the next ``idx``.

        ``items`` hold ``(lane, op, n, bytes, endpoint, file, error, start, first_byte, end)``,
        the three times on one monotonic clock: ``offset_ns`` (to the wall clock) is added to
        each, and ``first_byte`` is clamped into ``[start, end]``.
        """
        if self.extended:
            rows = []
            for lane, op, n, nbytes, ep, file, err, st, fb, en in items:
                ep, file = split_place(ep, file)
                st += offset_ns
                en += offset_ns
                if fb is not None:
                    fb = min(max(fb + offset_ns, st), en)
                rows.append(OpRecord(idx, lane, op, client_id, n, nbytes, ep, file, err, st, fb,
                                     en if fb is not None else None, en, en - st, 0))
                idx += 1
            self.write_rows(rows)
            return idx
        fmt = format_time
        search = _NEEDS_QUOTE.search
        esc = escape
        cid = esc(client_id)
        cache: dict[str, str] = {}
        parts = self._parts
        append = parts.append
        size = self._size
        csec = -1
        pre = ""
        ns = 1_000_000_000
        for lane, op, n, nbytes, ep, file, err, st, fb, en in items:
            if ep.__class__ is tuple:  # (endpoint, path prefix): see recorder.RawRow
                ep, prefix = ep
                file = prefix + file
            st += offset_ns
            en += offset_ns
            sec = st // ns
            if sec != csec:
                csec = sec
                pre = fmt(sec * ns)[:-10]
            if en // ns == csec:
                et = f"{pre}{en - sec * ns:09d}Z"
            else:
                et = fmt(en)
            if fb is None:
                ft = ""
            else:
                fb += offset_ns
                if fb < st:
                    fb = st
                elif fb > en:
                    fb = en
                ft = f"{pre}{fb - sec * ns:09d}Z" if fb // ns == csec else fmt(fb)
            if search(file) is not None or file[:1] == " " or file == "\\.":
                file = esc(file)
            e = cache.get(ep)
            if e is None:
                e = cache[ep] = esc(ep)
            o = cache.get(op)
            if o is None:
                o = cache[op] = esc(op)
            if err:
                err = esc(err)
            line = (f"{idx}\t{lane}\t{o}\t{cid}\t{n}\t{nbytes}\t{e}\t{file}\t{err}\t"
                    f"{pre}{st - sec * ns:09d}Z\t{ft}\t{et}\t{en - st}\n")
            append(line)
            size += len(line)
            idx += 1
        self._size = size
        return idx


class JsonlSink(_FramedSink):
    """One JSON object per row with the column names as keys (times as RFC 3339 strings)."""

    def __init__(self, path: str, *, extended: bool = False, level: int = 1) -> None:
        self.compressed = path.endswith(".zst")
        super().__init__(path, extended=extended, level=level)
        self._columns = EXTENDED_COLUMNS if extended else BASE_COLUMNS

    def write_rows(self, rows: Sequence[OpRecord]) -> None:
        """Format ``rows`` as JSON lines into the pending frame."""
        fmt = format_time
        dumps = json.dumps
        ext = self.extended
        for r in rows:
            obj: dict[str, Any] = {
                "idx": r.idx, "thread": r.thread, "op": r.op, "client_id": r.client_id,
                "n_objects": r.n_objects, "bytes": r.bytes, "endpoint": r.endpoint, "file": r.file,
                "error": r.error, "start": fmt(r.start_ns),
                "first_byte": None if r.first_byte_ns is None else fmt(r.first_byte_ns),
            }
            if ext:
                obj["last_byte"] = None if r.last_byte_ns is None else fmt(r.last_byte_ns)
            obj["end"] = fmt(r.end_ns)
            obj["duration_ns"] = r.duration_ns
            if ext:
                obj["cat"] = r.cat
            line = dumps(obj, ensure_ascii=False) + "\n"
            self._parts.append(line)
            self._size += len(line)

    def _trailer(self, dropped: int) -> str:
        return json.dumps({"type": "trailer", "dropped": dropped}) + "\n"
