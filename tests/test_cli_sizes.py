"""Human sizes and ``-j`` limits of ``s3-cli`` (docs/cli.md)."""

from __future__ import annotations

import argparse

import pytest

from s3dlio.cli.sizes import format_iec, jobs_arg, parse_size, size_arg

pytestmark = pytest.mark.timeout(60)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0", 0), ("4096", 4096), ("1_000_000", 1_000_000), ("1,024", 1024),
        ("1k", 1000), ("1kb", 1000), ("1K", 1000), ("1KB", 1000), ("2m", 2_000_000), ("2MB", 2_000_000),
        ("3g", 3 * 10**9), ("1gb", 10**9), ("1t", 10**12), ("1tb", 10**12),
        ("1ki", 1024), ("1kib", 1024), ("4MiB", 4 << 20), ("4mi", 4 << 20), ("1GiB", 1 << 30),
        ("1gi", 1 << 30), ("1ti", 1 << 40), ("1TiB", 1 << 40), ("100b", 100), ("100B", 100),
        ("1.5k", 1500), ("0.5KiB", 512), (" 8 MiB ", 8 << 20), ("2.0", 2),
    ],
)
def test_parse_size(text: str, expected: int) -> None:
    assert parse_size(text) == expected


@pytest.mark.parametrize(
    "text", ["", "-1", "-1k", "abc", "1x", "1.5", "1.0001k", "k", "1__0", "_1", "1,", "1 kk", "1e3", "0x10"],
)
def test_parse_size_rejects(text: str) -> None:
    with pytest.raises(ValueError):
        parse_size(text)
    with pytest.raises(argparse.ArgumentTypeError):
        size_arg(text)


@pytest.mark.parametrize(
    ("text", "expected"), [("1", 1), ("64", 64), ("4096", 4096), ("4ki", 4096), ("1k", 1000)]
)
def test_jobs_in_range(text: str, expected: int) -> None:
    assert jobs_arg(text) == expected


@pytest.mark.parametrize("text", ["0", "4097", "-1", "5k", "x"])
def test_jobs_out_of_range(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError):
        jobs_arg(text)


def test_format_iec() -> None:
    assert format_iec(0) == "0 B"
    assert format_iec(1023) == "1023 B"
    assert format_iec(1536) == "1.5 KiB"
    assert format_iec(4 << 20) == "4.0 MiB"
    assert format_iec(3 << 40) == "3.0 TiB"
