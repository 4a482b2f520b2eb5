"""s3dlio-fsspec passes the plugin contract checks shipped in s3dlio.testing (lazy: no fsspec import)."""

from __future__ import annotations

import pytest

from s3dlio.testing import PluginContractChecks


class TestFsspecContracts(PluginContractChecks):  # type: ignore[misc]
    @pytest.fixture
    def plugin_module(self) -> str:
        return "s3dlio_fsspec.plugin"


def test_composing_the_plugin_does_not_import_fsspec() -> None:
    import subprocess
    import sys

    code = ("import sys, s3dlio; from s3dlio.plugin.runtime import runtime; runtime(); "
            "import s3dlio.dist; assert 'fsspec' not in sys.modules, 'fsspec imported'; "
            "import s3dlio.fsspec; assert 'fsspec' in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
