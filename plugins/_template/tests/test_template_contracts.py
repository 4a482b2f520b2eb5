"""s3dlio-template passes the plugin contract checks shipped in s3dlio.testing."""

from __future__ import annotations

import pytest

from s3dlio.testing import PluginContractChecks

pytest.importorskip("s3dlio_template")


class TestTemplateContracts(PluginContractChecks):
    @pytest.fixture
    def plugin_module(self) -> str:
        return "s3dlio_template.plugin"
