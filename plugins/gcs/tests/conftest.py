"""Fixtures of the gs:// tests: fake-gcs-server (the real emulator) on 127.0.0.1."""

from __future__ import annotations

from typing import Any

import pytest
from gcstest_support import make_bucket, use_emulator

pytest_plugins = ["s3dlio.testing.pytest_servers"]


@pytest.fixture(autouse=True)
def _fresh(fresh_runtime: None) -> None:
    """Every test composes the runtime from its own environment."""


@pytest.fixture
def gcs(fake_gcs_server: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    use_emulator(monkeypatch, fake_gcs_server)
    return fake_gcs_server


@pytest.fixture
def bucket(gcs: Any) -> str:
    """A fresh bucket: ``gs://name/``."""
    return make_bucket()
