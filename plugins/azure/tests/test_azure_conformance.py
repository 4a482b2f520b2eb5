"""The az:// backend passes the shared conformance suite against Azurite."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from aztest_support import ACCOUNT, make_container

from s3dlio.testing import DoctorChecks, ObjectStoreConformance, PicklingChecks

pytest.importorskip("s3dlio_azure")

pytestmark = pytest.mark.timeout(120)

_containers: dict[str, str] = {}


class TestAzuriteConformance(ObjectStoreConformance, PicklingChecks, DoctorChecks):
    secret_env = ("AZURE_STORAGE_KEY", "AZURE_STORAGE_ACCOUNT_KEY", "AZURE_STORAGE_CONNECTION_STRING")
    paged_listing_count = 1_100

    @pytest.fixture
    def store_root(self, azurite: Any, monkeypatch: pytest.MonkeyPatch) -> str:
        # More than one List Blobs page with a modest object count.
        monkeypatch.setenv("S3DLIO_AZURE_LIST_PAGE_SIZE", "500")
        if "azurite" not in _containers:
            _containers["azurite"] = make_container()
        return f"{_containers['azurite']}{uuid.uuid4().hex}/"

    @pytest.fixture
    def container_parent(self, azurite: Any) -> str:
        return f"az://{ACCOUNT}/"
