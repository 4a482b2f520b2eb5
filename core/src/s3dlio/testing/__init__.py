"""Test kit shipped with s3dlio-core for plugin authors.

* :class:`ObjectStoreConformance` — the behaviour every storage backend must have.
  Subclass it in a ``Test…`` class and provide a ``store_root`` fixture returning the
  URI of an empty, writable directory ending in ``/``::

      from s3dlio.testing import ObjectStoreConformance

      class TestMyStore(ObjectStoreConformance):
          @pytest.fixture
          def store_root(self, tmp_path):
              return f"file://{tmp_path}/"

* :class:`PicklingChecks`, :class:`CliRoundTripChecks` and :class:`DoctorChecks`
  (:mod:`s3dlio.testing.checks`) — the checks every backend plugin used to copy: a store
  pickles without its clients, fork/spawn/forkserver pools read correct data, ``s3-cli``
  round trips and buckets, ``s3-cli doctor`` on a network store.
* :class:`PluginContractChecks` and the ``assert_*`` helpers of
  :mod:`s3dlio.testing.contracts` — plugin import is lazy, hookimpls are valid,
  errors translate into the s3dlio tree.
* :func:`put_with_file_size_limit` / :func:`assert_failed_write_left_no_trace` — a write
  that fails part-way (``RLIMIT_FSIZE``, like ENOSPC) must leave no trace.
* :func:`assert_paths_agree` — a backend with two data paths (a lean REST client and the
  SDK) stores the same objects whichever path writes and whichever reads; :func:`use_proxy`
  sets the proxy environment (lean paths must step aside for a proxy).

* :class:`FaultProxy` and :class:`Fault` (:mod:`s3dlio.testing.faults`) — a loopback
  reverse proxy in front of an emulator injecting scripted or seeded-random network
  faults (refused, dropped, reset, truncated, lost responses, stalls, 5xx, throttling,
  200 with an error document, flipped bytes, redirects), counting what it injected.
* :class:`MotoServer`, :class:`SeaweedFSServer`, :class:`AzuriteServer`,
  :class:`FakeGcsServer`, :class:`RedirectingProxy` (:mod:`s3dlio.testing.servers`) — real
  servers on 127.0.0.1; ``pytest_plugins = ["s3dlio.testing.pytest_servers"]`` makes them
  session fixtures. :func:`serve_handler` serves a scripted ``BaseHTTPRequestHandler``.
* :func:`assert_serves_tls`, :func:`assert_tls_round_trip`,
  :func:`assert_untrusted_certificate_refused` (:mod:`s3dlio.testing.tls`) — a backend's
  data paths against its emulator over https.

``pytest`` is needed only when these names are used; ``import s3dlio.testing``
imports nothing heavy.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = [
    "AzuriteServer",
    "CliRoundTripChecks",
    "DoctorChecks",
    "FakeGcsServer",
    "Fault",
    "FaultProxy",
    "MotoServer",
    "ObjectStoreConformance",
    "PicklingChecks",
    "PluginContractChecks",
    "RedirectingProxy",
    "SeaweedFSServer",
    "assert_errors_translate",
    "assert_hookimpls_valid",
    "assert_paths_agree",
    "use_proxy",
    "assert_failed_write_left_no_trace",
    "assert_plugin_is_lazy",
    "assert_tls_errors_translate",
    "put_with_file_size_limit",
    "serve_handler",
    "assert_serves_tls",
    "assert_tls_round_trip",
    "assert_untrusted_certificate_refused",
]

_NAMES = {
    "ObjectStoreConformance": "s3dlio.testing.conformance",
    "CliRoundTripChecks": "s3dlio.testing.checks",
    "DoctorChecks": "s3dlio.testing.checks",
    "PicklingChecks": "s3dlio.testing.checks",
    "PluginContractChecks": "s3dlio.testing.contracts",
    "assert_errors_translate": "s3dlio.testing.contracts",
    "assert_hookimpls_valid": "s3dlio.testing.contracts",
    "assert_plugin_is_lazy": "s3dlio.testing.contracts",
    "assert_tls_errors_translate": "s3dlio.testing.contracts",
    "put_with_file_size_limit": "s3dlio.testing.local_faults",
    "assert_paths_agree": "s3dlio.testing.datapaths",
    "use_proxy": "s3dlio.testing.datapaths",
    "assert_failed_write_left_no_trace": "s3dlio.testing.local_faults",
    "Fault": "s3dlio.testing.faults",
    "FaultProxy": "s3dlio.testing.faults",
    "MotoServer": "s3dlio.testing.servers",
    "SeaweedFSServer": "s3dlio.testing.servers",
    "AzuriteServer": "s3dlio.testing.servers",
    "FakeGcsServer": "s3dlio.testing.servers",
    "RedirectingProxy": "s3dlio.testing.servers",
    "serve_handler": "s3dlio.testing.servers",
    "assert_serves_tls": "s3dlio.testing.tls",
    "assert_tls_round_trip": "s3dlio.testing.tls",
    "assert_untrusted_certificate_refused": "s3dlio.testing.tls",
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
