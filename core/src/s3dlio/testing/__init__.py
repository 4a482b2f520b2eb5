"""Test kit shipped with s3dlio-core for plugin authors.

* :class:`ObjectStoreConformance` — the behaviour every storage backend must have.
  Subclass it in a ``Test…`` class and provide a ``store_root`` fixture returning the
  URI of an empty, writable directory ending in ``/``::

      from s3dlio.testing import ObjectStoreConformance

      class TestMyStore(ObjectStoreConformance):
          @pytest.fixture
          def store_root(self, tmp_path):
              return f"file://{tmp_path}/"

* :class:`PluginContractChecks` and the ``assert_*`` helpers of
  :mod:`s3dlio.testing.contracts` — plugin import is lazy, hookimpls are valid,
  errors translate into the s3dlio tree.
* :func:`put_with_file_size_limit` / :func:`assert_failed_write_left_no_trace` — a write
  that fails part-way (``RLIMIT_FSIZE``, like ENOSPC) must leave no trace.

``pytest`` is needed only when these names are used; ``import s3dlio.testing``
imports nothing heavy.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = [
    "ObjectStoreConformance",
    "PluginContractChecks",
    "assert_errors_translate",
    "assert_hookimpls_valid",
    "assert_failed_write_left_no_trace",
    "assert_plugin_is_lazy",
    "put_with_file_size_limit",
]

_NAMES = {
    "ObjectStoreConformance": "s3dlio.testing.conformance",
    "PluginContractChecks": "s3dlio.testing.contracts",
    "assert_errors_translate": "s3dlio.testing.contracts",
    "assert_hookimpls_valid": "s3dlio.testing.contracts",
    "assert_plugin_is_lazy": "s3dlio.testing.contracts",
    "put_with_file_size_limit": "s3dlio.testing.local_faults",
    "assert_failed_write_left_no_trace": "s3dlio.testing.local_faults",
}


def __getattr__(name: str) -> Any:
    module = _NAMES.get(name)
    if module is None:
        raise AttributeError(f"module 's3dlio.testing' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_NAMES))
