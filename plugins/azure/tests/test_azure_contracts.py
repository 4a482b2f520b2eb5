"""s3dlio-azure passes the plugin contract checks shipped in s3dlio.testing."""

from __future__ import annotations

import pytest

from s3dlio.testing import PluginContractChecks

pytest.importorskip("s3dlio_azure")


class TestAzureContracts(PluginContractChecks):
    @pytest.fixture
    def plugin_module(self) -> str:
        return "s3dlio_azure.plugin"
