"""Fixtures of the s3:// tests: real servers (moto, SeaweedFS) on 127.0.0.1."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from typing import Any

import pytest
from s3test_support import make_bucket, use_server

from s3dlio import runtime as rt

pytest_plugins = ["s3dlio.testing.pytest_servers"]


@pytest.fixture(autouse=True)
def _fresh_runtime() -> Iterator[None]:
    rt.reset()
    yield
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rt.reset()


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
