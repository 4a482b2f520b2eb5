"""The op-log row (:class:`OpRecord`), the column headers, warp's escaping and RFC 3339 times.

Everything here is pure formatting/parsing shared by the sinks, the reader and the tools
(docs/oplog.md, "File format"). Nothing runs on the I/O hot path.
"""

from __future__ import annotations

import calendar
import re
import time
from typing import NamedTuple

__all__ = [
    "BASE_COLUMNS",
    "DATA_OPS",
    "EXTENDED_COLUMNS",
    "KNOWN_OPS",
    "OP_ALIASES",
    "OpRecord",
    "escape",
    "format_error",
    "format_time",
    "split_place",
    "header_line",
    "normalize_op",
    "parse_time",
]

BASE_COLUMNS: tuple[str, ...] = (
    "idx", "thread", "op", "client_id", "n_objects", "bytes", "endpoint", "file", "error",
    "start", "first_byte", "end", "duration_ns",
)
"""The 13 base columns, in order (docs/oplog.md, "File format")."""

EXTENDED_COLUMNS: tuple[str, ...] = (
    "idx", "thread", "op", "client_id", "n_objects", "bytes", "endpoint", "file", "error",
    "start", "first_byte", "last_byte", "end", "duration_ns", "cat",
)
"""The 15 extended columns (current warp order)."""

KNOWN_OPS: frozenset[str] = frozenset(
    {"GET", "PUT", "STAT", "LIST", "DELETE", "COPY", "MKDIR", "CREATE_CONTAINER", "DELETE_CONTAINER"}
)
"""Op names this project writes (docs/oplog.md, "File format")."""

DATA_OPS: frozenset[str] = frozenset({"GET", "PUT"})
"""Ops whose rows are grouped by size bucket; every other op is a metadata op."""

OP_ALIASES: dict[str, str] = {
    "HEAD": "STAT",
    "GET_RANGE": "GET",
    "DELETE_BATCH": "DELETE",
    "DELETE_PREFIX": "DELETE",
}
"""Names other writers (the original s3dlio) use, mapped to ours (docs/oplog.md, "File format": reading)."""


class OpRecord(NamedTuple):
    """One op-log row. Times are integer nanoseconds since the epoch (UTC); absent ones are ``None``."""

    idx: int
    thread: int
    op: str
    client_id: str
    n_objects: int
    bytes: int
    endpoint: str
    file: str
    error: str
    start_ns: int
    first_byte_ns: int | None
    last_byte_ns: int | None
    end_ns: int
    duration_ns: int
    cat: int = 0


def header_line(extended: bool) -> str:
    """The header line (with ``\\n``) of a base or extended file."""
    return "\t".join(EXTENDED_COLUMNS if extended else BASE_COLUMNS) + "\n"


def normalize_op(op: str) -> str:
    """Upper-case ``op`` and map aliases (``HEAD`` → ``STAT``, …); unknown names are kept."""
    upper = op.upper()
    return OP_ALIASES.get(upper, upper)


# --------------------------------------------------------------------------- escaping (§4)

_NEEDS_QUOTE = re.compile(r'[\t"\r\n]')


def escape(value: str) -> str:
    """Quote a string field as warp does: when it holds TAB, ``"``, CR or LF, starts with a space
    or equals ``\\.``; inner quotes are doubled."""
    if not value:
        return value
    if _NEEDS_QUOTE.search(value) is not None or value[0] == " " or value == "\\.":
        return '"' + value.replace('"', '""') + '"'
    return value


_ERROR_LIMIT = 1000


def format_error(exc: BaseException | str) -> tuple[str, bool]:
    """``{Class}: {message}`` on one line, redacted, at most 1,000 chars.

    Returns ``(text, normalized)`` where ``normalized`` says whether CR/LF/TAB were
    replaced or the text was truncated.
    """
    if isinstance(exc, BaseException):
        message = str(exc)
        text = f"{type(exc).__name__}: {message}" if message else type(exc).__name__
    else:
        text = exc
    try:
        from s3dlio.redaction import redact

        text = redact(text)
    except Exception:  # a failed redaction must not break recording, nor leak the message
        text = f"{type(exc).__name__}: (message withheld: redaction failed)" if isinstance(
            exc, BaseException) else "(message withheld: redaction failed)"
    normalized = False
    if "\n" in text or "\r" in text or "\t" in text:
        text = text.replace("\r\n", " ").replace("\n", " ").replace("\r", " ").replace("\t", " ")
        normalized = True
    if len(text) > _ERROR_LIMIT:
        text = text[: _ERROR_LIMIT - 3] + "..."
        normalized = True
    return text, normalized


# --------------------------------------------------------------------------- times (§2)

_NS = 1_000_000_000
_prefix_cache: dict[int, str] = {}


def split_place(endpoint: str | tuple[str, str], file: str) -> tuple[str, str]:
    """A raw row's ``(endpoint, file)`` with an ``(endpoint, path_prefix)`` pair resolved
    (core's in-line GET recording ships the store's shared pair instead of a joined path)."""
    if isinstance(endpoint, tuple):
        return endpoint[0], endpoint[1] + file
    return endpoint, file


def format_time(ns: int) -> str:
    """RFC 3339, UTC, exactly nine fractional digits, ``Z``: ``2026-11-24T01:48:03.065143074Z``."""
    sec, frac = divmod(ns, _NS)
    prefix = _prefix_cache.get(sec)
    if prefix is None:
        if len(_prefix_cache) > 4096:
            _prefix_cache.clear()
        prefix = _prefix_cache[sec] = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(sec))
    return f"{prefix}.{frac:09d}Z"


_TIME_RE = re.compile(
    r"^(\d{4})-(\d\d)-(\d\d)[Tt](\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))?(Z|z|[+-]\d\d:\d\d)$"
)
_seconds_cache: dict[str, int] = {}


def parse_time(text: str) -> int:
    """Parse an RFC 3339 time (nanosecond precision, ``Z`` or an offset) to epoch nanoseconds.

    Raises :class:`ValueError` for anything else.
    """
    if len(text) == 30 and text[19] == "." and text[29] == "Z":
        head = text[:19]
        sec = _seconds_cache.get(head)
        if sec is not None:
            frac = text[20:29]
            if frac.isdigit():
                return sec * _NS + int(frac)
    m = _TIME_RE.match(text)
    if m is None:
        raise ValueError(f"not an RFC 3339 time: {text!r}")
    year, month, day, hour, minute, second, frac, zone = m.groups()
    try:
        sec = calendar.timegm(
            (int(year), int(month), int(day), int(hour), int(minute), int(second), 0, 0, 0)
        )
    except (ValueError, OverflowError) as exc:
        raise ValueError(f"not an RFC 3339 time: {text!r}") from exc
    if not (1 <= int(month) <= 12 and 1 <= int(day) <= 31 and int(hour) < 24 and int(minute) < 60
            and int(second) < 61):
        raise ValueError(f"not an RFC 3339 time: {text!r}")
    if zone in ("Z", "z"):
        if len(_seconds_cache) > 4096:
            _seconds_cache.clear()
        _seconds_cache[text[:19]] = sec
    else:
        sign = 1 if zone[0] == "+" else -1
        sec -= sign * (int(zone[1:3]) * 3600 + int(zone[4:6]) * 60)
    nanos = int(frac.ljust(9, "0")) if frac else 0
    return sec * _NS + nanos
