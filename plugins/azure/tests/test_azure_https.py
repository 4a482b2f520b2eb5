"""az:// over TLS: Azurite with a self-signed certificate for 127.0.0.1.

Real Azure endpoints are always https, so both data paths (the lean REST client and the
SDK) are exercised against a TLS server here: verified against the CA the test trusts
(``REQUESTS_CA_BUNDLE``, as requests and the SDK read it), and refused without it.
"""

from __future__ import annotations

from typing import Any

import pytest
from aztest_support import azure_store, make_container, use_azurite

from s3dlio.plugin import runtime as rt
from s3dlio.testing.servers import AzuriteServer
from s3dlio.testing.tls import assert_serves_tls, assert_tls_round_trip, assert_untrusted_certificate_refused

pytest.importorskip("s3dlio_azure")
pytest.importorskip("cryptography")

pytestmark = pytest.mark.timeout(180)


@pytest.fixture
def tls_container(azurite_tls_server: AzuriteServer, monkeypatch: pytest.MonkeyPatch) -> str:
    use_azurite(monkeypatch, azurite_tls_server)
    return make_container()


def test_the_server_speaks_tls(azurite_tls_server: AzuriteServer) -> None:
    assert_serves_tls(azurite_tls_server, "REQUESTS_CA_BUNDLE")


@pytest.mark.parametrize("path", ["rest", "sdk"])
def test_both_paths_work_over_tls(tls_container: str, small_parts: None, path: str,
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("S3DLIO_AZURE_REST", "1" if path == "rest" else "0")
    rt.reset()
    rest = azure_store(tls_container)._conn.rest
    assert (rest is not None and rest._https) if path == "rest" else rest is None
    assert_tls_round_trip(tls_container)  # the large object: staged blocks, split GET


@pytest.mark.parametrize("path", ["rest", "sdk"])
def test_an_untrusted_certificate_is_refused(tls_container: str, path: str,
                                             monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    assert_untrusted_certificate_refused(monkeypatch, tls_container, tmp_path, ca_env="REQUESTS_CA_BUNDLE",
                                         env={"S3DLIO_AZURE_REST": "1" if path == "rest" else "0"})
