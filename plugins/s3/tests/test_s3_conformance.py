"""The s3:// backend passes the shared conformance suite against two real servers.

moto is fast and the default; SeaweedFS is a production server that verifies
SigV4 signatures, Content-MD5 and x-amz-checksum values (moto accepts them blindly).
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from s3test_support import make_bucket

from s3dlio.testing import CliRoundTripChecks, ObjectStoreConformance, PicklingChecks

pytest.importorskip("s3dlio_s3")

pytestmark = pytest.mark.timeout(120)

_buckets: dict[str, str] = {}


class TestMotoConformance(ObjectStoreConformance, PicklingChecks, CliRoundTripChecks):
    paged_listing_count = 1_100  # more than one 1,000-key page

    @pytest.fixture
    def store_root(self, moto: Any) -> str:
        if "moto" not in _buckets:
            _buckets["moto"] = make_bucket()
        return f"{_buckets['moto']}{uuid.uuid4().hex}/"

    @pytest.fixture
    def container_parent(self, moto: Any) -> str:
        return "s3://"


@pytest.mark.seaweedfs
class TestSeaweedFSConformance(ObjectStoreConformance):
    paged_listing_count = 1_100
    deletes_only_empty_containers = False  # SeaweedFS's DeleteBucket takes the objects along

    @pytest.fixture
    def store_root(self, seaweed: Any) -> str:
        if "seaweed" not in _buckets:
            _buckets["seaweed"] = make_bucket()
        return f"{_buckets['seaweed']}{uuid.uuid4().hex}/"

    @pytest.fixture
    def container_parent(self, seaweed: Any) -> str:
        return "s3://"
