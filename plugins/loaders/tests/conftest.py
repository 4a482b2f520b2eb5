"""Fixtures of the loader tests: real files on file:// (through s3dlio-posix)."""

from __future__ import annotations

from pathlib import Path

import pytest
from loaders_testutil import make_objects

pytest.importorskip("s3dlio_posix")


@pytest.fixture
def objects(tmp_path: Path) -> tuple[str, dict[str, bytes]]:
    """A 37-object nested dataset; ``(root uri, {key: data})``."""
    root = tmp_path / "ds"
    data = make_objects(root, 37)
    return f"file://{root}/", data
