"""s3dlio-dask passes the plugin contract checks shipped in s3dlio.testing (lazy: no dask import)."""

from __future__ import annotations

import pytest

from s3dlio.testing import PluginContractChecks


class TestDaskContracts(PluginContractChecks):  # type: ignore[misc]
    @pytest.fixture
    def plugin_module(self) -> str:
        return "s3dlio_dask.plugin"


def test_composing_the_plugin_does_not_import_dask() -> None:
    import subprocess
    import sys

    code = ("import sys, s3dlio; from s3dlio.plugin.runtime import runtime; runtime(); "
            "import s3dlio.bulk; assert not {'dask', 'distributed'} & set(sys.modules), 'dask imported'")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
