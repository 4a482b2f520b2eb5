"""Helpers shared by the s3:// tests (a module name unique across the repository)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

import s3dlio
from s3dlio import runtime as rt

_CLEAN_ENV = (
    "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_PROFILE", "AWS_SESSION_TOKEN",
    "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION", "AWS_DEFAULT_REGION",
)


def use_server(monkeypatch: pytest.MonkeyPatch, server: Any) -> None:
    """Point the process (and children) at ``server``; never at AWS or a metadata service."""
    for name in _CLEAN_ENV:
        monkeypatch.delenv(name, raising=False)
    for name, value in server.env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent/s3dlio-test-config")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/s3dlio-test-credentials")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    rt.reset()




def make_bucket(name: str | None = None) -> str:
    """Create a fresh bucket; return ``s3://name/``."""
    bucket = name or f"t-{uuid.uuid4().hex[:20]}"
    s3dlio.create_bucket(f"s3://{bucket}/")
    return f"s3://{bucket}/"
