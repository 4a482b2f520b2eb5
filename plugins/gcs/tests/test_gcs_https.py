"""gs:// over TLS: fake-gcs-server with a self-signed certificate for 127.0.0.1.

Real GCS is always https, so both data paths (the lean client and the authorised
session) are exercised against a TLS server here: verified against the CA the test trusts
(``REQUESTS_CA_BUNDLE``, as requests reads it), and refused without it.
"""

from __future__ import annotations

from typing import Any

import pytest
from gcstest_support import make_bucket, use_emulator

import s3dlio
from s3dlio import runtime as rt
from s3dlio.errors import StoreError, TransientError
from s3dlio.testing.servers import FakeGcsServer

pytest.importorskip("s3dlio_gcs")
pytest.importorskip("cryptography")

import s3dlio_gcs
from s3dlio_gcs.store import GcsStore

pytestmark = pytest.mark.timeout(180)
MiB = 1 << 20


@pytest.fixture
def tls_bucket(fake_gcs_tls_server: FakeGcsServer, monkeypatch: pytest.MonkeyPatch) -> str:
    use_emulator(monkeypatch, fake_gcs_tls_server)
    return make_bucket()


def _payload(size: int, seed: int) -> bytes:
    import random

    return random.Random(seed).randbytes(size)


def test_the_server_speaks_tls(fake_gcs_tls_server: FakeGcsServer) -> None:
    info = fake_gcs_tls_server.info
    assert info.endpoint_url.startswith("https://127.0.0.1:") and info.ca_file
    assert info.env()["REQUESTS_CA_BUNDLE"] == info.ca_file


@pytest.mark.parametrize("path", ["lean", "session"])
def test_both_paths_work_over_tls(tls_bucket: str, small_parts: None, path: str,
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("S3DLIO_GCS_REST", "1" if path == "lean" else "0")
    rt.reset()
    store, _ = s3dlio_gcs.gcs_store(tls_bucket)
    assert isinstance(store, GcsStore)
    lean = store._gc.lean
    assert (lean is not None and lean.pool.https) if path == "lean" else lean is None
    small, large = _payload(70_000, 1), _payload(3 * MiB + 11, 2)  # large: composite, split GET
    s3dlio.put_bytes(tls_bucket + "small", small)
    s3dlio.put_bytes(tls_bucket + "large", large)
    assert bytes(s3dlio.get(tls_bucket + "small")) == small
    assert bytes(s3dlio.get(tls_bucket + "large")) == large
    assert bytes(s3dlio.get_range(tls_bucket + "large", MiB, 100)) == large[MiB:MiB + 100]
    assert sorted(s3dlio.list(tls_bucket)) == [tls_bucket + "large", tls_bucket + "small"]


@pytest.mark.parametrize("path", ["lean", "session"])
def test_an_untrusted_certificate_is_refused(tls_bucket: str, path: str,
                                             monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    s3dlio.put_bytes(tls_bucket + "k", b"secret")
    from s3dlio.testing.servers import self_signed_certificate

    other, _ = self_signed_certificate(tmp_path, "127.0.0.1")  # a CA that did not sign the server
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(other))
    monkeypatch.setenv("S3DLIO_GCS_REST", "1" if path == "lean" else "0")
    monkeypatch.setenv("S3DLIO_MAX_RETRY_ATTEMPTS", "2")
    monkeypatch.setenv("S3DLIO_RETRY_BASE_MS", "1")
    rt.reset()
    with pytest.raises(StoreError) as info:
        s3dlio.get(tls_bucket + "k")
    assert not isinstance(info.value, TransientError), "a certificate failure is not retried"
    assert "certificate" in str(info.value).lower()
    assert info.value.attempts == 1
