"""Fixtures of the tmpl:// tests: every test gets its own data directory and runtime."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from s3dlio.plugin import runtime


@pytest.fixture(autouse=True)
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """``[template] data_dir`` of this test (the runtime recomposes to read it)."""
    path = tmp_path / "data"
    monkeypatch.setenv("TMPL_DATA_DIR", str(path))
    monkeypatch.delenv("S3DLIO_CONFIG", raising=False)
    runtime.reset()
    yield path
    runtime.reset()
