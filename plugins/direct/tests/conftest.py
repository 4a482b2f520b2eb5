"""Fixtures shared by the direct:// tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from s3dlio.plugin import runtime as rt


@pytest.fixture(autouse=True)
def _fresh_runtime(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Each test composes the runtime from its own environment (direct settings at defaults)."""
    for name in ("S3DLIO_DIRECT_PARALLEL_WRITE_MB", "S3DLIO_DIRECT_WRITE_CONCURRENCY",
                 "S3DLIO_DIRECT_ALIGNMENT", "S3DLIO_DIRECT_MAX_CONCURRENCY"):
        monkeypatch.delenv(name, raising=False)
    rt.reset()
    yield
    rt.reset()


@pytest.fixture
def root(tmp_path: Path) -> str:
    return f"direct://{tmp_path}/"
