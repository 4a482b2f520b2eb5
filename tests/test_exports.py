"""Every distribution installed: the first-party plugins' exports and core's catalog agree."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

import s3dlio
from s3dlio.plugin import catalog
from s3dlio.plugin.runtime import loaded_host

#: Entry-point name of each first-party plugin → its distribution.
PLUGINS = {"datagen": "s3dlio-datagen", "oplog": "s3dlio-oplog", "loaders": "s3dlio-loaders",
           "s3": "s3dlio-s3", "gcs": "s3dlio-gcs", "checkpoint": "s3dlio-checkpoint",
           "fsspec": "s3dlio-fsspec", "dask": "s3dlio-dask"}


def _installed(dist: str) -> bool:
    return importlib.util.find_spec(dist.replace("-", "_")) is not None


@pytest.mark.parametrize(("plugin", "dist"), sorted(PLUGINS.items()))
def test_catalog_lists_exactly_what_the_plugin_exports(plugin: str, dist: str) -> None:
    if not _installed(dist):
        pytest.skip(f"{dist} not installed")
    exports = loaded_host().exports
    served = {spec.name for spec in exports.specs() if spec.plugin == plugin and not spec.is_module}
    assert served == {name for name, d in catalog.NAMES.items() if d == dist}
    modules = {spec.name for spec in exports.specs() if spec.plugin == plugin and spec.is_module}
    assert modules == {name for name, d in catalog.SUBMODULES.items() if d.split("[")[0] == dist}


def test_catalog_schemes_are_served_by_their_distribution() -> None:
    backends = loaded_host().compose().backends
    for scheme, dist in catalog.SCHEMES.items():
        if _installed(dist):
            assert backends.spec_for(scheme).plugin.replace("_", "-") in dist, scheme


def test_exported_names_resolve_to_the_plugins_objects() -> None:
    pytest.importorskip("s3dlio_datagen")
    pytest.importorskip("s3dlio_loaders")
    from s3dlio_datagen import api as datagen_api
    from s3dlio_loaders import torch_adapter

    assert s3dlio.generate_data is datagen_api.generate_data
    assert importlib.import_module("s3dlio.torch") is torch_adapter
    from s3dlio.torch import S3IterableDataset

    assert S3IterableDataset is torch_adapter.S3IterableDataset
    assert set(catalog.NAMES) <= set(dir(s3dlio))


def test_resolving_a_name_imports_only_its_module() -> None:
    """``s3dlio.init_op_log`` loads the op-log plugin's api, not numpy, torch or an SDK."""
    pytest.importorskip("s3dlio_oplog")
    code = ("import sys, s3dlio\n"
            "s3dlio.init_op_log\n"
            "heavy = [m for m in ('numpy', 'torch', 'boto3', 'botocore', 'azure', 'google', 'pyarrow')"
            " if m in sys.modules]\n"
            "print(heavy, 's3dlio_oplog.api' in sys.modules, 's3dlio_datagen.api' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[] True False"
