"""Helpers of the loader tests (a uniquely named module: other suites have a conftest too)."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import s3dlio


def make_objects(root: Path, n: int, *, nested: bool = True, size: int = 257) -> dict[str, bytes]:
    """Write ``n`` unique objects under ``root`` (nested directories); ``{relative key: data}``."""
    out: dict[str, bytes] = {}
    items = []
    for i in range(n):
        key = f"d{i % 3}/sub{i % 2}/obj-{i:04d}.bin" if nested else f"obj-{i:04d}.bin"
        data = i.to_bytes(4, "little") + os.urandom(size + i % 7)
        out[key] = data
        items.append((f"file://{root}/{key}", data))
    s3dlio.put_many(items)
    return out


def digest(data: object) -> str:
    return hashlib.sha256(memoryview(data)).hexdigest()  # type: ignore[arg-type]
