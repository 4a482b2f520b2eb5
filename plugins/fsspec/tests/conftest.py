"""Fixtures of the s3dlio-fsspec tests: file:// in tmp_path, s3:// on a moto server on 127.0.0.1."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

pytest_plugins = ["s3dlio.testing.pytest_servers"]

# Variables that could point the tests at a real account or a metadata service.
_CLEAN_ENV = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL",
              "AWS_ENDPOINT_URL_S3", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_CA_BUNDLE")


@pytest.fixture(scope="module")
def moto(moto_server: Any) -> Iterator[Any]:
    """The session's moto server, this process pointed at it (never at AWS) for one module.

    Module-scoped: composing the runtime and building S3 clients per test would cost
    the suite most of its time.
    """
    pytest.importorskip("s3dlio_s3")
    from s3dlio.plugin import runtime

    mp = pytest.MonkeyPatch()
    for name in _CLEAN_ENV:
        mp.delenv(name, raising=False)
    for name, value in moto_server.env().items():
        mp.setenv(name, value)
    mp.setenv("AWS_CONFIG_FILE", "/nonexistent/s3dlio-test-config")
    mp.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/s3dlio-test-credentials")
    mp.setenv("AWS_EC2_METADATA_DISABLED", "true")
    runtime.reset()
    try:
        yield moto_server
    finally:
        mp.undo()
        runtime.reset()


@pytest.fixture(scope="module")
def bucket(moto: Any) -> str:
    """A fresh bucket on moto, as ``s3://name`` (no trailing slash, fsspec style)."""
    import s3dlio

    name = f"f-{uuid.uuid4().hex[:20]}"
    s3dlio.create_bucket(f"s3://{name}/")
    return f"s3://{name}"
