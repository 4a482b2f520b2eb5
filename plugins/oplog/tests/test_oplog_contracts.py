"""s3dlio-oplog passes the plugin contract checks shipped in s3dlio.testing."""

from __future__ import annotations

import pytest

from s3dlio.testing import PluginContractChecks


class TestOplogContracts(PluginContractChecks):
    @pytest.fixture
    def plugin_module(self):
        return "s3dlio_oplog.plugin"
