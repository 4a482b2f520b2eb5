"""Helpers shared by the az:// tests (a module name unique across the repository)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

import s3dlio
from s3dlio.plugin import runtime as rt

ACCOUNT = "devstoreaccount1"

CLEAN_ENV = (
    "AZURE_STORAGE_CONNECTION_STRING", "AZURE_STORAGE_ACCOUNT", "AZURE_STORAGE_ACCOUNT_NAME",
    "AZURE_STORAGE_KEY", "AZURE_STORAGE_ACCOUNT_KEY", "AZURE_STORAGE_SAS_TOKEN",
    "AZURE_STORAGE_ENDPOINT", "AZURE_BLOB_ENDPOINT_URL", "AZURE_STORAGE_BLOB_ENDPOINT",
    "AZURE_STORAGE_ENDPOINT_SUFFIX", "S3DLIO_AZURE_AUTH", "S3DLIO_AZURE_BATCH_DELETE",
    "AZURE_CLIENT_ID", "AZURE_TENANT_ID", "AZURE_CLIENT_SECRET", "AZURE_FEDERATED_TOKEN_FILE",
)


def use_azurite(monkeypatch: pytest.MonkeyPatch, server: Any, *, credentials: bool = True) -> None:
    """Point the process (and children) at Azurite; never at Azure."""
    for name in CLEAN_ENV:
        monkeypatch.delenv(name, raising=False)
    if credentials:
        for name, value in server.info.env().items():
            monkeypatch.setenv(name, value)
    else:
        monkeypatch.setenv("AZURE_STORAGE_ENDPOINT", server.info.blob_endpoint)
    rt.reset()


def make_container(name: str | None = None) -> str:
    """Create a fresh container; return ``az://devstoreaccount1/name/``."""
    container = name or f"t-{uuid.uuid4().hex[:20]}"
    s3dlio.create_bucket(f"az://{ACCOUNT}/{container}/")
    return f"az://{ACCOUNT}/{container}/"


def azure_store(uri: str) -> Any:
    """The ``AzureStore`` under the middleware serving ``uri``."""
    store, _ = rt.resolve(uri)
    while hasattr(store, "inner"):
        store = store.inner
    return store

