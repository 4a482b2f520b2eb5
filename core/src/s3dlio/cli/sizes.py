"""Human-friendly numbers for ``s3-cli`` options (docs/cli.md).

``4MiB``, ``1k``, ``1_000_000``, ``1,024``, ``1.5k`` (decimals only when the result is
a whole number). ``k kb m mb g gb t tb`` are powers of 1000, ``ki kib mi mib gi gib
ti tib`` powers of 1024, an optional trailing ``b`` and any case are accepted.
The ``*_arg`` functions are argparse ``type=`` callables: bad input becomes a usage
error (exit 2) with a message naming the value.
"""

from __future__ import annotations

import argparse
import re
from decimal import Decimal, InvalidOperation

__all__ = ["MAX_JOBS", "count_arg", "format_iec", "jobs_arg", "parse_size", "regex_arg", "size_arg"]

MAX_JOBS = 4096

_UNITS: dict[str, int] = {"": 1, "b": 1}
for _i, _p in enumerate("kmgt", start=1):
    _UNITS[_p] = _UNITS[_p + "b"] = 1000**_i
    _UNITS[_p + "i"] = _UNITS[_p + "ib"] = 1024**_i

_SIZE_RE = re.compile(r"^\s*(?P<num>[0-9][0-9_,]*(?:\.[0-9]+)?|\.[0-9]+)\s*(?P<unit>[a-z]*)\s*$")


def parse_size(text: str) -> int:
    """``"4MiB"`` → 4194304; ``ValueError`` for negative, fractional or unknown input."""
    if not isinstance(text, str):
        raise TypeError(f"size must be a string, got {type(text).__name__}")
    m = _SIZE_RE.match(text.lower())
    if m is None:
        raise ValueError(f"invalid size {text!r} (examples: 4096, 64k, 4MiB, 1_000_000)")
    num = m.group("num")
    if num.startswith(("_", ",")) or num.endswith(("_", ",")) or "__" in num or ",," in num:
        raise ValueError(f"invalid digit separators in {text!r}")
    unit = m.group("unit")
    if unit not in _UNITS:
        raise ValueError(
            f"unknown size unit {unit!r} in {text!r} (k, m, g, t = 1000^n; ki, mi, gi, ti = 1024^n)"
        )
    try:
        value = Decimal(num.replace("_", "").replace(",", "")) * _UNITS[unit]
    except InvalidOperation as exc:
        raise ValueError(f"invalid size {text!r}") from exc
    if value != value.to_integral_value():
        raise ValueError(f"size {text!r} is not a whole number of bytes")
    return int(value)


def size_arg(text: str) -> int:
    """argparse type: a non-negative human size."""
    try:
        return parse_size(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def count_arg(text: str) -> int:
    """argparse type: a positive count (human suffixes allowed, e.g. ``10k``)."""
    value = size_arg(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {text!r}")
    return value


def jobs_arg(text: str) -> int:
    """argparse type: a concurrency level in 1..4096."""
    value = size_arg(text)
    if not 1 <= value <= MAX_JOBS:
        raise argparse.ArgumentTypeError(f"must be between 1 and {MAX_JOBS}, got {text!r}")
    return value


def regex_arg(text: str) -> str:
    """argparse type: a regular expression that compiles (``-p (`` is a usage error)."""
    try:
        re.compile(text)
    except re.error as exc:
        raise argparse.ArgumentTypeError(f"not a valid regular expression {text!r}: {exc}") from exc
    return text


def format_iec(n: int) -> str:
    """``1536`` → ``"1.5 KiB"`` (``--human-readable``)."""
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if abs(value) < 1024 or unit == "PiB":
            return f"{int(value)} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")
