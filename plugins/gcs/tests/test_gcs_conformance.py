"""GcsStore against fake-gcs-server: the shared ObjectStoreConformance suite."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from s3dlio.testing import DoctorChecks, ObjectStoreConformance, PicklingChecks

pytest.importorskip("s3dlio_gcs")


class TestGcsConformance(ObjectStoreConformance, PicklingChecks, DoctorChecks):
    secret_env = ()
    @pytest.fixture
    def store_root(self, bucket: str) -> str:
        return f"{bucket}{uuid.uuid4().hex}/"

    @pytest.fixture
    def container_parent(self, gcs: Any) -> str:
        return "gs://"


class TestGcsSchemeConformance(ObjectStoreConformance):
    """The ``gcs://`` spelling serves the same store."""

    @pytest.fixture
    def store_root(self, gcs: Any) -> str:
        from gcstest_support import make_bucket

        bucket = make_bucket().replace("gs://", "gcs://", 1)
        return f"{bucket}{uuid.uuid4().hex}/"

    @pytest.fixture
    def container_parent(self, gcs: Any) -> str:
        return "gcs://"

    # One scheme is enough for the slow ones.
    paged_listing_count = 1050
