"""az:// over TLS: Azurite with a self-signed certificate for 127.0.0.1.

Real Azure endpoints are always https, so both data paths (the lean REST client and the
SDK) are exercised against a TLS server here: verified against the CA the test trusts
(``REQUESTS_CA_BUNDLE``, as requests and the SDK read it), and refused without it.
"""

from __future__ import annotations

from typing import Any

import pytest
from aztest_support import azure_store, make_container, use_azurite

import s3dlio
from s3dlio import runtime as rt
from s3dlio.errors import StoreError, TransientError
from s3dlio.testing.servers import AzuriteServer

pytest.importorskip("s3dlio_azure")
pytest.importorskip("cryptography")

pytestmark = pytest.mark.timeout(180)
MiB = 1 << 20


@pytest.fixture
def azurite_tls(azurite_tls_server: AzuriteServer) -> AzuriteServer:
    return azurite_tls_server


@pytest.fixture
def tls_container(azurite_tls: AzuriteServer, monkeypatch: pytest.MonkeyPatch) -> str:
    use_azurite(monkeypatch, azurite_tls)
    return make_container()


def _payload(size: int, seed: int) -> bytes:
    import random

    return random.Random(seed).randbytes(size)


def test_the_server_speaks_tls(azurite_tls: AzuriteServer) -> None:
    info = azurite_tls.info
    assert info.endpoint_url.startswith("https://127.0.0.1:") and info.ca_file
    assert info.env()["REQUESTS_CA_BUNDLE"] == info.ca_file


@pytest.mark.parametrize("path", ["rest", "sdk"])
def test_both_paths_work_over_tls(tls_container: str, small_parts: None, path: str,
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("S3DLIO_AZURE_REST", "1" if path == "rest" else "0")
    rt.reset()
    store = azure_store(tls_container)
    rest = store._rest
    assert (rest is not None and rest._https) if path == "rest" else rest is None
    small, large = _payload(70_000, 1), _payload(3 * MiB + 11, 2)  # large: staged blocks, split GET
    s3dlio.put_bytes(tls_container + "small", small)
    s3dlio.put_bytes(tls_container + "large", large)
    assert bytes(s3dlio.get(tls_container + "small")) == small
    assert bytes(s3dlio.get(tls_container + "large")) == large
    assert bytes(s3dlio.get_range(tls_container + "large", MiB, 100)) == large[MiB:MiB + 100]
    assert sorted(s3dlio.list(tls_container)) == [tls_container + "large", tls_container + "small"]


@pytest.mark.parametrize("path", ["rest", "sdk"])
def test_an_untrusted_certificate_is_refused(tls_container: str, path: str,
                                             monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    s3dlio.put_bytes(tls_container + "k", b"secret")
    from s3dlio.testing.servers import self_signed_certificate

    other, _ = self_signed_certificate(tmp_path, "127.0.0.1")  # a CA that did not sign the server
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(other))
    monkeypatch.setenv("S3DLIO_AZURE_REST", "1" if path == "rest" else "0")
    monkeypatch.setenv("S3DLIO_MAX_RETRY_ATTEMPTS", "2")
    monkeypatch.setenv("S3DLIO_RETRY_BASE_MS", "1")
    rt.reset()
    with pytest.raises(StoreError) as info:
        s3dlio.get(tls_container + "k")
    assert not isinstance(info.value, TransientError), "a certificate failure is not retried"
    assert "TLS failure talking to https://127.0.0.1:" in str(info.value)
    assert "certificate" in str(info.value).lower()
    assert info.value.attempts == 1
