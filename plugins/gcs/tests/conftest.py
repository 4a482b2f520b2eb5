"""Fixtures of the gs:// tests: fake-gcs-server (the real emulator) on 127.0.0.1."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from typing import Any

import pytest
from gcstest_support import make_bucket, use_emulator

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
def gcs(fake_gcs_server: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    use_emulator(monkeypatch, fake_gcs_server)
    return fake_gcs_server


@pytest.fixture
def bucket(gcs: Any) -> str:
    """A fresh bucket: ``gs://name/``."""
    return make_bucket()
