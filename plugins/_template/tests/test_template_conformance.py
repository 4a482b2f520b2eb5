"""The tmpl:// backend passes the shared conformance suite shipped in s3dlio.testing."""

from __future__ import annotations

import pytest

from s3dlio.testing import ObjectStoreConformance

pytest.importorskip("s3dlio_template")

pytestmark = pytest.mark.timeout(60)


class TestTemplateConformance(ObjectStoreConformance):
    @pytest.fixture
    def store_root(self) -> str:
        # An empty, writable directory URI ending in "/": conftest gives every test its own
        # data_dir, so one bucket name serves them all.
        return "tmpl://bucket/"
