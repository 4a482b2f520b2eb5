"""The direct:// backend passes the shared conformance suite shipped in s3dlio.testing."""

from __future__ import annotations

from pathlib import Path

import pytest

from s3dlio.testing import ObjectStoreConformance

pytest.importorskip("s3dlio_direct")

pytestmark = pytest.mark.timeout(60)


class TestDirectConformance(ObjectStoreConformance):
    @pytest.fixture
    def store_root(self, tmp_path: Path) -> str:
        return f"direct://{tmp_path}/"
