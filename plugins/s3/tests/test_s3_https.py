"""s3:// over TLS: moto with a self-signed certificate for 127.0.0.1.

AWS endpoints are https, so both data paths (the lean SigV4 client and botocore) are
exercised against a TLS server here: verified against the CA the test trusts
(``AWS_CA_BUNDLE``, as botocore reads it), refused without it — once, not retried —
and accepted with the insecure switch.
"""

from __future__ import annotations

from typing import Any

import pytest
from s3test_support import make_bucket, s3_store, use_server

import s3dlio
from s3dlio import runtime as rt
from s3dlio.errors import StoreError, TransientError
from s3dlio.testing.servers import MotoServer

pytest.importorskip("s3dlio_s3")
pytest.importorskip("cryptography")

pytestmark = pytest.mark.timeout(180)
MiB = 1 << 20


@pytest.fixture
def tls_bucket(moto_tls_server: MotoServer, monkeypatch: pytest.MonkeyPatch) -> str:
    use_server(monkeypatch, moto_tls_server)
    return make_bucket()


def _payload(size: int, seed: int) -> bytes:
    import random

    return random.Random(seed).randbytes(size)


def test_the_server_speaks_tls(moto_tls_server: MotoServer) -> None:
    info = moto_tls_server.info
    assert info.endpoint_url.startswith("https://127.0.0.1:") and info.ca_file
    assert info.env()["AWS_CA_BUNDLE"] == info.ca_file


@pytest.mark.parametrize("path", ["rest", "botocore"])
def test_both_paths_work_over_tls(tls_bucket: str, small_parts: None, path: str,
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("S3DLIO_S3_REST", "1" if path == "rest" else "0")
    monkeypatch.setenv("S3DLIO_MULTIPART_THRESHOLD_MB", "5")  # S3's minimum part size
    monkeypatch.setenv("S3DLIO_PART_SIZE_MB", "5")
    rt.reset()
    rest = s3_store(tls_bucket)._rest
    assert (rest is not None and rest.pool.https) if path == "rest" else rest is None
    small, large = _payload(70_000, 1), _payload(11 * MiB + 3, 2)  # large: multipart, split GET
    s3dlio.put_bytes(tls_bucket + "small", small)
    s3dlio.put_bytes(tls_bucket + "large", large)
    assert bytes(s3dlio.get(tls_bucket + "small")) == small
    assert bytes(s3dlio.get(tls_bucket + "large")) == large
    assert bytes(s3dlio.get_range(tls_bucket + "large", MiB, 100)) == large[MiB:MiB + 100]
    assert sorted(s3dlio.list(tls_bucket)) == [tls_bucket + "large", tls_bucket + "small"]


@pytest.mark.filterwarnings("ignore:Unverified HTTPS request")  # urllib3's, under the insecure switch
@pytest.mark.parametrize("path", ["rest", "botocore"])
def test_an_untrusted_certificate_is_refused(tls_bucket: str, path: str,
                                             monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    s3dlio.put_bytes(tls_bucket + "k", b"secret")
    from s3dlio.testing.servers import self_signed_certificate

    other, _ = self_signed_certificate(tmp_path, "127.0.0.1")  # a CA that did not sign the server
    monkeypatch.setenv("AWS_CA_BUNDLE", str(other))
    monkeypatch.setenv("S3DLIO_S3_REST", "1" if path == "rest" else "0")
    monkeypatch.setenv("S3DLIO_MAX_RETRY_ATTEMPTS", "2")
    monkeypatch.setenv("S3DLIO_RETRY_BASE_MS", "1")
    rt.reset()
    with pytest.raises(StoreError) as info:
        s3dlio.get(tls_bucket + "k")
    assert not isinstance(info.value, TransientError), "a certificate failure is not retried"
    assert "TLS failure talking to https://127.0.0.1:" in str(info.value)
    assert info.value.attempts == 1
    # The insecure switch (documented, warns) accepts the same server on both paths.
    import s3dlio_s3.client as client_module

    monkeypatch.setattr(client_module, "_insecure_warned", False)
    monkeypatch.setenv("S3DLIO_S3_INSECURE", "1")
    rt.reset()
    with pytest.warns(UserWarning, match="NOT verified"):
        assert s3dlio.get(tls_bucket + "k") == b"secret"
