"""Fixtures of the checkpoint tests: file://, memory:// and s3:// on moto (real server)."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest

import s3dlio
from s3dlio.plugin import runtime as rt

pytest_plugins = ["s3dlio.testing.pytest_servers"]

_CLEAN_ENV = ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_PROFILE", "AWS_SESSION_TOKEN",
              "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION", "AWS_DEFAULT_REGION")


@pytest.fixture(autouse=True)
def _fresh(fresh_runtime: None) -> None:
    """Every test composes the runtime from its own environment."""


@pytest.fixture
def moto(moto_server: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Point the process (and children) at the shared moto server; never at AWS."""
    for name in _CLEAN_ENV:
        monkeypatch.delenv(name, raising=False)
    for name, value in moto_server.env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent/s3dlio-test-config")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/s3dlio-test-credentials")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    rt.reset()
    return moto_server


def _s3_root(request: pytest.FixtureRequest) -> str:
    request.getfixturevalue("moto")
    bucket = f"ck-{uuid.uuid4().hex[:16]}"
    s3dlio.create_bucket(f"s3://{bucket}/")
    return f"s3://{bucket}/run/"


@pytest.fixture(params=["file", "memory", "s3"])
def root(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh checkpoint root on each backend."""
    if request.param == "file":
        return f"file://{tmp_path}/ckpt/"
    if request.param == "memory":
        return f"memory://ck-{uuid.uuid4().hex[:12]}/run/"
    return _s3_root(request)


@pytest.fixture
def file_root(tmp_path: Path) -> str:
    return f"file://{tmp_path}/ckpt/"
