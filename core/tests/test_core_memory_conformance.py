"""The conformance suite itself, run against the in-memory toy backend.

This proves the suite and the module API on a backend that is not file://, in the
``core`` tox env where no backend plugin is installed.
"""

from __future__ import annotations

import pytest

from s3dlio.testing import ObjectStoreConformance


class TestMemoryConformance(ObjectStoreConformance):
    cross_process = False  # the toy store's data lives in this process
    paged_listing_count = 250  # > 2 toy pages

    @pytest.fixture
    def store_root(self, mem_root: str) -> str:
        return mem_root
