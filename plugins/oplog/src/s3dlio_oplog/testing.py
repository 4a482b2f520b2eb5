"""Checks for op-log files: warp's reader rules and our own row rules (docs/oplog.md, "File format").

:func:`check_warp_readable` re-implements what MinIO warp's ``OperationsFromCSV`` does with
a file — zstd decoder on the whole input, Go ``encoding/csv`` with TAB and ``#``
comments, a fixed field count, columns looked up by header name, ``RFC3339Nano`` times,
``thread`` as uint16, ``bytes``/``n_objects`` as int64 — and raises
:class:`WarpReadError` on the first violation. With ``strict=True`` (default) it also
enforces the rules for files this project writes: exact header, nine fractional
digits and ``Z``, ``duration_ns == end − start``, unique ``idx``.
"""

from __future__ import annotations

import os
import re
from typing import Any

import attrs

from s3dlio_oplog.reader import ZSTD_MAGIC, CsvError, iter_records
from s3dlio_oplog.record import BASE_COLUMNS, EXTENDED_COLUMNS, parse_time

__all__ = ["TIME_RE", "WarpCheck", "WarpReadError", "check_warp_readable", "read_checked"]

TIME_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$")
"""A time as this project writes it (§11.2)."""

_GO_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?(Z|[+-]\d\d:\d\d)$")
_GO_INT = re.compile(r"^[+-]?\d+$")
_GO_UINT = re.compile(r"^\d+$")
_REQUIRED = ("start", "end", "first_byte", "bytes", "thread", "n_objects", "op", "file", "error")
_INT64 = (-(1 << 63), (1 << 63) - 1)


class WarpReadError(AssertionError):
    """The file breaks a rule warp's reader (or our writer contract) applies."""


@attrs.frozen
class WarpCheck:
    """What a passing file contained."""

    rows: int
    columns: tuple[str, ...]
    comments: tuple[str, ...]


def _decompress_all(path: str) -> str:
    import zstandard

    with open(path, "rb") as f:
        head = f.read(4)
        if head != ZSTD_MAGIC:
            raise WarpReadError(f"{path}: not zstd (warp always decompresses its input)")
        f.seek(0)
        try:
            with zstandard.ZstdDecompressor().stream_reader(f, read_across_frames=True) as r:
                data = r.read()
        except zstandard.ZstdError as exc:
            raise WarpReadError(f"{path}: zstd stream error: {exc}") from exc
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise WarpReadError(f"{path}: not UTF-8: {exc}") from exc


def _time(value: str, name: str, line: int, strict: bool) -> int:
    if not _GO_TIME.match(value):
        raise WarpReadError(f"line {line}: {name}={value!r} is not RFC3339Nano")
    if strict and not TIME_RE.match(value):
        raise WarpReadError(f"line {line}: {name}={value!r}: expected 9 fractional digits and Z")
    return parse_time(value)


def _int(value: str, name: str, line: int, *, unsigned: bool = False, bits: int = 64) -> int:
    if not (_GO_UINT if unsigned else _GO_INT).match(value):
        raise WarpReadError(f"line {line}: {name}={value!r}: invalid syntax")
    n = int(value)
    lo, hi = (0, (1 << bits) - 1) if unsigned else _INT64
    if not lo <= n <= hi:
        raise WarpReadError(f"line {line}: {name}={value!r}: value out of range")
    return n


def check_warp_readable(path: str | os.PathLike[str], *, strict: bool = True) -> WarpCheck:
    """Apply warp's reader rules to ``path``; return a :class:`WarpCheck` or raise :class:`WarpReadError`."""
    path = os.fspath(path)
    text = _decompress_all(path)
    comments: list[str] = []
    columns: list[str] | None = None
    pos: dict[str, int] = {}
    rows = 0
    seen_idx: set[int] = set()

    def records() -> Any:
        try:
            yield from iter_records(text, on_comment=comments.append)
        except CsvError as exc:
            raise WarpReadError(f"{path}: {exc}") from exc

    for line, fields in records():
        if columns is None:
            columns = fields
            pos = {name: i for i, name in enumerate(fields)}
            missing = [n for n in _REQUIRED if n not in pos]
            if missing:
                raise WarpReadError(f"{path}: header lacks {missing} (warp would read column 0)")
            if strict and tuple(fields) not in (BASE_COLUMNS, EXTENDED_COLUMNS):
                raise WarpReadError(f"{path}: header is not the exact base/extended header: {fields}")
            continue
        if len(fields) != len(columns):
            raise WarpReadError(
                f"{path}: line {line}: wrong number of fields ({len(fields)} != {len(columns)})")
        if strict and comments:
            raise WarpReadError(
                f"{path}: a comment line precedes row at line {line} (only a trailer is allowed)")
        f = fields
        start = _time(f[pos["start"]], "start", line, strict)
        end = _time(f[pos["end"]], "end", line, strict)
        if f[pos["first_byte"]]:
            _time(f[pos["first_byte"]], "first_byte", line, strict)
        if "last_byte" in pos and f[pos["last_byte"]]:
            _time(f[pos["last_byte"]], "last_byte", line, strict)
        _int(f[pos["bytes"]], "bytes", line)
        _int(f[pos["thread"]], "thread", line, unsigned=True, bits=16)
        _int(f[pos["n_objects"]], "n_objects", line)
        if "cat" in pos:
            _int(f[pos["cat"]], "cat", line, unsigned=True)
        if strict:
            if end < start:
                raise WarpReadError(f"{path}: line {line}: end before start")
            dur = _int(f[pos["duration_ns"]], "duration_ns", line) if "duration_ns" in pos else end - start
            if dur != end - start:
                raise WarpReadError(f"{path}: line {line}: duration_ns {dur} != end - start {end - start}")
            if "idx" in pos:
                idx = _int(f[pos["idx"]], "idx", line, unsigned=True)
                if idx in seen_idx:
                    raise WarpReadError(f"{path}: line {line}: duplicate idx {idx}")
                seen_idx.add(idx)
        rows += 1
    if columns is None:
        raise WarpReadError(f"{path}: empty (no header)")
    return WarpCheck(rows=rows, columns=tuple(columns), comments=tuple(comments))


def rows_as_dicts(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """The raw string fields of every row (Go csv semantics), keyed by header name (tests)."""
    text = _decompress_all(os.fspath(path))
    records = list(iter_records(text))
    header = records[0][1]
    return [dict(zip(header, fields, strict=True)) for _, fields in records[1:]]


def read_checked(path: str) -> list[Any]:
    """Every row of the log at ``path``, after checking the file against warp's rules."""
    from s3dlio_oplog.reader import read_oplog

    check_warp_readable(path)
    return list(read_oplog(path))
