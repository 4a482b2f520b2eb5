"""s3dlio-checkpoint passes the plugin contract checks shipped in s3dlio.testing."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from s3dlio.testing import PluginContractChecks


class TestCheckpointContracts(PluginContractChecks):
    @pytest.fixture
    def plugin_module(self) -> str:
        return "s3dlio_checkpoint.plugin"


def test_names_resolve_lazily_and_torch_only_with_dcp() -> None:
    code = (
        "import sys, json, s3dlio\n"
        "s3dlio.CheckpointStore\n"
        "before = 'torch' in sys.modules\n"
        "import s3dlio.dcp\n"
        "print(json.dumps({'before': before, 'after': 'torch' in sys.modules,\n"
        "  'dcp': s3dlio.dcp.StorageWriter.__module__}))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == {
        "before": False, "after": True, "dcp": "s3dlio_checkpoint.dcp",
    }
