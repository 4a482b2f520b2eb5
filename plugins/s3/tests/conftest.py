"""Fixtures of the s3:// tests: real servers (moto, SeaweedFS) on 127.0.0.1."""

from __future__ import annotations

from typing import Any

import pytest
from s3test_support import make_bucket, use_server

pytest_plugins = ["s3dlio.testing.pytest_servers"]


@pytest.fixture(autouse=True)
def _fresh(fresh_runtime: None) -> None:
    """Every test composes the runtime from its own environment."""


@pytest.fixture
def moto(moto_server: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    use_server(monkeypatch, moto_server)
    return moto_server


@pytest.fixture
def seaweed(seaweedfs_server: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    use_server(monkeypatch, seaweedfs_server)
    return seaweedfs_server


@pytest.fixture
def bucket(moto: Any) -> str:
    return make_bucket()
