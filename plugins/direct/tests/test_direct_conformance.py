"""The direct:// backend passes the shared conformance suite shipped in s3dlio.testing."""

from __future__ import annotations

from pathlib import Path

import pytest

from s3dlio.testing import CliRoundTripChecks, ObjectStoreConformance, PicklingChecks

pytest.importorskip("s3dlio_direct")

pytestmark = pytest.mark.timeout(60)


class TestDirectConformance(ObjectStoreConformance, PicklingChecks, CliRoundTripChecks):
    @pytest.fixture
    def store_root(self, tmp_path: Path) -> str:
        return f"direct://{tmp_path}/"

    @pytest.fixture
    def container_parent(self, tmp_path_factory: pytest.TempPathFactory) -> str:
        return f"direct://{tmp_path_factory.mktemp('containers')}/"
