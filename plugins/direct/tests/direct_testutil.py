"""Helpers shared by the direct:// tests (payloads, temp-file and O_DIRECT checks)."""

from __future__ import annotations

import random
from pathlib import Path

from s3dlio.store.localfs import is_temp_name


def payload(n: int, seed: int = 0) -> bytes:
    """``n`` reproducible pseudo-random bytes."""
    return random.Random(seed * 1_000_003 + n).randbytes(n)


def no_temp_files(directory: Path) -> bool:
    """No in-progress write left a temp file anywhere under ``directory``."""
    return not [p for p in directory.rglob("*") if is_temp_name(p.name)]


def fd_flags(fd: int) -> int:
    """The open flags of ``fd`` as the kernel reports them (``/proc/self/fdinfo``)."""
    with open(f"/proc/self/fdinfo/{fd}") as fh:
        for line in fh:
            if line.startswith("flags:"):
                return int(line.split()[1], 8)
    raise AssertionError(f"no flags line in /proc/self/fdinfo/{fd}")
