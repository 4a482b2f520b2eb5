"""Helpers shared by the gs:// tests (a module name unique across the repository)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

import s3dlio
from s3dlio.plugin import runtime as rt

_CLEAN_ENV = (
    "GOOGLE_APPLICATION_CREDENTIALS", "GCS_ENDPOINT_URL", "STORAGE_EMULATOR_HOST",
    "GOOGLE_CLOUD_PROJECT", "GCLOUD_PROJECT", "S3DLIO_GCS_AUTH",
)


def use_emulator(monkeypatch: pytest.MonkeyPatch, server: Any) -> None:
    """Point the process (and children) at the emulator; never at Google."""
    for name in _CLEAN_ENV:
        monkeypatch.delenv(name, raising=False)
    for name, value in server.env().items():
        monkeypatch.setenv(name, value)
    rt.reset()


def make_bucket(name: str | None = None) -> str:
    """Create a fresh bucket; return ``gs://name/``."""
    bucket = name or f"t-{uuid.uuid4().hex[:20]}"
    s3dlio.create_bucket(f"gs://{bucket}/")
    return f"gs://{bucket}/"

