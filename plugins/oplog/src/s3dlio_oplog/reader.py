"""Reading op-logs: ours, warp's and the original s3dlio's (docs/oplog.md, "File format": reading).

* zstd (independent frames) or plain text, sniffed by magic; a torn last frame (a killed
  writer) is tolerated with a warning: every row of the complete frames is returned.
* TSV parsed with Go ``encoding/csv`` semantics (TAB, ``#`` comments, quoting) — see
  :func:`iter_records`; JSON-lines files (our ``jsonl`` sink) are recognised too.
* Columns found by header name; ``operation`` = ``op``; op aliases normalised; ``thread``
  values above 65,535 remapped to small lanes per ``(client_id, thread)``.
"""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Callable, Iterable, Iterator
from typing import Any, BinaryIO

from s3dlio_oplog.record import OpRecord, normalize_op, parse_time

__all__ = ["CsvError", "OplogFormatError", "OplogReader", "ZSTD_MAGIC", "iter_records", "read_oplog"]

ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
_DEFAULT_CHUNK = 1 << 20


class OplogFormatError(ValueError):
    """The file is not an op-log this reader understands (bad header, row, field)."""


class CsvError(OplogFormatError):
    """A Go ``encoding/csv`` parse error (bare or extraneous quote, wrong field count)."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(f"line {line}: {message}")
        self.line = line


def iter_records(
    text: str, *, first_line: int = 1, on_comment: Callable[[str], None] | None = None
) -> Iterator[tuple[int, list[str]]]:
    """Split ``text`` into TSV records as Go's ``csv.Reader`` (``Comma='\\t'``, ``Comment='#'``) does.

    Yields ``(line_number, fields)``. Empty lines are skipped; ``#`` lines (at a record
    start) go to ``on_comment``. Quoted fields may span lines and contain TABs; ``""`` is a
    quote. Raises :class:`CsvError` for a bare ``"`` in an unquoted field, a ``"`` not
    followed by TAB or end of line, or an unterminated quoted field.
    """
    lines = text.split("\n")
    n = len(lines)
    i = 0
    while i < n:
        line = lines[i]
        i += 1
        lineno = first_line + i - 1
        if not line:
            continue
        if line[0] == "#":
            if on_comment is not None:
                on_comment(line)
            continue
        if '"' not in line:
            yield lineno, line.split("\t")
            continue
        # Slow path: quoting.
        fields: list[str] = []
        pos = 0
        while True:
            if pos < len(line) and line[pos] == '"':
                buf: list[str] = []
                pos += 1
                while True:
                    q = line.find('"', pos)
                    if q < 0:
                        buf.append(line[pos:])
                        buf.append("\n")
                        if i >= n:
                            raise CsvError(lineno, "extraneous or missing \" in quoted-field (unterminated)")
                        line = lines[i]
                        i += 1
                        pos = 0
                        continue
                    buf.append(line[pos:q])
                    nxt = line[q + 1:q + 2]
                    if nxt == '"':
                        buf.append('"')
                        pos = q + 2
                        continue
                    if nxt == "":
                        fields.append("".join(buf))
                        pos = -1
                        break
                    if nxt == "\t":
                        fields.append("".join(buf))
                        pos = q + 2
                        break
                    raise CsvError(lineno, 'extraneous or missing " in quoted-field')
                if pos < 0:
                    break
                if pos == len(line):  # TAB then end of line: a final empty field
                    fields.append("")
                    break
            else:
                t = line.find("\t", pos)
                field = line[pos:] if t < 0 else line[pos:t]
                if '"' in field:
                    raise CsvError(lineno, 'bare " in non-quoted-field')
                fields.append(field)
                if t < 0:
                    break
                pos = t + 1
        yield lineno, fields


def _frames(f: BinaryIO, chunk_size: int, state: dict[str, Any]) -> Iterator[bytes]:
    """Decompressed frames of a zstd stream; stops (``state['torn']``) at a torn/corrupt tail."""
    import zstandard

    dctx = zstandard.ZstdDecompressor()
    dobj: Any = None
    out: list[bytes] = []
    while True:
        data = f.read(chunk_size)
        if not data:
            break
        while data:
            if dobj is None:
                dobj = dctx.decompressobj()
                out = []
            try:
                piece = dobj.decompress(data)
            except zstandard.ZstdError as exc:
                state["torn"] = f"corrupt frame: {exc}"
                return
            if piece:
                out.append(piece)
            if dobj.eof:
                yield b"".join(out)
                data = dobj.unused_data
                dobj = None
            else:
                data = b""
    if dobj is not None:
        state["torn"] = "incomplete last frame"


_RE_ALIASES = {"operation": "op"}


class OplogReader:
    """Iterate the :class:`OpRecord` rows of one file; afterwards ``dropped`` holds the sum
    of ``# dropped=N`` trailers, ``columns`` the header and ``torn`` why reading stopped early."""

    def __init__(self, path: str | os.PathLike[str], *, chunk_size: int | None = None) -> None:
        self.path = os.fspath(path)
        if chunk_size is None:
            env = os.environ.get("S3DLIO_OPLOG_CHUNK_SIZE", "")
            chunk_size = int(env) if env.strip().isdigit() else _DEFAULT_CHUNK
        self.chunk_size = max(4096, chunk_size)
        self.dropped = 0
        self.columns: list[str] | None = None
        self.torn: str | None = None
        self.kind = "tsv"
        self._lanes: dict[str, dict[int, int]] = {}

    # ------------------------------------------------------------------ text
    def _texts(self) -> Iterator[str]:
        env = os.environ.get("S3DLIO_OPLOG_READ_BUF", "").strip()
        buffering = int(env) if env.isdigit() and int(env) > 0 else -1
        with open(self.path, "rb", buffering=buffering) as f:
            magic = f.read(4)
            f.seek(0)
            if magic == ZSTD_MAGIC:
                state: dict[str, Any] = {}
                for frame in _frames(f, self.chunk_size, state):
                    yield frame.decode("utf-8", "surrogateescape")
                if "torn" in state:
                    self.torn = state["torn"]
                    warnings.warn(f"{self.path}: {self.torn}; rows up to the last complete frame were read",
                                  RuntimeWarning, stacklevel=4)
            else:
                yield f.read().decode("utf-8", "surrogateescape")

    def _comment(self, line: str) -> None:
        body = line[1:].strip()
        if body.startswith("dropped="):
            try:
                self.dropped += int(body.split("=", 1)[1].strip())
            except ValueError:
                pass

    # ------------------------------------------------------------------ rows
    def __iter__(self) -> Iterator[OpRecord]:
        counter = 0
        conv: Callable[[list[str], int], OpRecord] | None = None
        line_base = 1
        for text in self._texts():
            if self.columns is None and text.lstrip()[:1] == "{":
                self.kind = "jsonl"
            if self.kind == "jsonl":
                for obj in _json_lines(text):
                    if obj.get("type") == "trailer":
                        self.dropped += int(obj.get("dropped", 0))
                        continue
                    yield self._from_mapping(obj, counter)
                    counter += 1
                continue
            for lineno, fields in iter_records(text, first_line=line_base, on_comment=self._comment):
                if conv is None:
                    conv = self._header(fields)
                    continue
                if len(fields) != len(self.columns or ()):
                    raise CsvError(lineno, f"wrong number of fields ({len(fields)}, header has "
                                           f"{len(self.columns or ())})")
                try:
                    yield conv(fields, counter)
                except (ValueError, IndexError) as exc:
                    raise OplogFormatError(f"{self.path}: line {lineno}: {exc}") from exc
                counter += 1
            line_base += text.count("\n")
        if conv is None and self.kind == "tsv" and self.torn is None:
            raise OplogFormatError(f"{self.path}: no header line")

    def _lane(self, client: str, thread: int) -> int:
        if thread <= 65535:
            return thread
        lanes = self._lanes.setdefault(client, {})
        lane = lanes.get(thread)
        if lane is None:
            lane = lanes[thread] = len(lanes)
        return lane

    def _header(self, fields: list[str]) -> Callable[[list[str], int], OpRecord]:
        names = [_RE_ALIASES.get(f.strip().lower(), f.strip().lower()) for f in fields]
        self.columns = names
        pos = {name: i for i, name in enumerate(names)}
        missing = [n for n in ("start", "op", "bytes") if n not in pos]
        if missing or ("end" not in pos and "duration_ns" not in pos):
            raise OplogFormatError(f"{self.path}: header lacks {missing or ['end']}: {fields}")

        def col(name: str) -> int | None:
            return pos.get(name)

        i_idx, i_thread, i_op, i_cid = col("idx"), col("thread"), pos["op"], col("client_id")
        i_n, i_bytes, i_ep, i_file, i_err = col("n_objects"), pos["bytes"], col("endpoint"), col("file"), \
            col("error")
        i_start, i_fb, i_lb, i_end, i_dur, i_cat = pos["start"], col("first_byte"), col("last_byte"), \
            col("end"), col("duration_ns"), col("cat")
        lane = self._lane

        def opt_time(f: list[str], i: int | None) -> int | None:
            if i is None or not f[i]:
                return None
            return parse_time(f[i])

        def convert(f: list[str], counter: int) -> OpRecord:
            start = parse_time(f[i_start])
            dur_text = f[i_dur] if i_dur is not None else ""
            if i_end is not None and f[i_end]:
                end = parse_time(f[i_end])
            else:
                end = start + int(dur_text)
            cid = f[i_cid] if i_cid is not None else ""
            thread = int(f[i_thread]) if i_thread is not None and f[i_thread] else 0
            return OpRecord(
                int(f[i_idx]) if i_idx is not None and f[i_idx] else counter,
                lane(cid, thread),
                normalize_op(f[i_op]),
                cid,
                int(f[i_n]) if i_n is not None and f[i_n] else 1,
                int(f[i_bytes]) if f[i_bytes] else 0,
                f[i_ep] if i_ep is not None else "",
                f[i_file] if i_file is not None else "",
                f[i_err] if i_err is not None else "",
                start,
                opt_time(f, i_fb),
                opt_time(f, i_lb),
                end,
                int(dur_text) if dur_text else end - start,
                int(f[i_cat]) if i_cat is not None and f[i_cat] else 0,
            )

        return convert

    def _from_mapping(self, obj: dict[str, Any], counter: int) -> OpRecord:
        def t(name: str) -> int | None:
            v = obj.get(name)
            return parse_time(v) if v else None

        start = t("start")
        if start is None:
            raise OplogFormatError(f"{self.path}: JSON row without start: {obj}")
        end = t("end")
        dur = obj.get("duration_ns")
        if end is None:
            end = start + int(dur or 0)
        cid = str(obj.get("client_id", ""))
        return OpRecord(
            int(obj.get("idx", counter)), self._lane(cid, int(obj.get("thread", 0) or 0)),
            normalize_op(str(obj.get("op", obj.get("operation", "")))), cid,
            int(obj.get("n_objects", 1)), int(obj.get("bytes", 0) or 0), str(obj.get("endpoint", "")),
            str(obj.get("file", "")), str(obj.get("error", "") or ""), start, t("first_byte"),
            t("last_byte"), end, int(dur) if dur is not None else end - start, int(obj.get("cat", 0) or 0),
        )


def _json_lines(text: str) -> Iterable[dict[str, Any]]:
    for line in text.split("\n"):
        if line.strip():
            yield json.loads(line)


def read_oplog(path: str | os.PathLike[str]) -> Iterator[OpRecord]:
    """The rows of one op-log file, in file order (see :class:`OplogReader`)."""
    yield from OplogReader(path)
