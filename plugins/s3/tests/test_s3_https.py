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
from s3dlio.plugin import runtime as rt
from s3dlio.testing.servers import MotoServer
from s3dlio.testing.tls import assert_serves_tls, assert_tls_round_trip, assert_untrusted_certificate_refused

pytest.importorskip("s3dlio_s3")
pytest.importorskip("cryptography")

pytestmark = pytest.mark.timeout(180)
MiB = 1 << 20


@pytest.fixture
def tls_bucket(moto_tls_server: MotoServer, monkeypatch: pytest.MonkeyPatch) -> str:
    use_server(monkeypatch, moto_tls_server)
    return make_bucket()


def test_the_server_speaks_tls(moto_tls_server: MotoServer) -> None:
    assert_serves_tls(moto_tls_server, "AWS_CA_BUNDLE")


@pytest.mark.parametrize("path", ["rest", "botocore"])
def test_both_paths_work_over_tls(tls_bucket: str, path: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("S3DLIO_S3_REST", "1" if path == "rest" else "0")
    monkeypatch.setenv("S3DLIO_MULTIPART_THRESHOLD_MB", "5")  # S3's minimum part size
    monkeypatch.setenv("S3DLIO_PART_SIZE_MB", "5")
    monkeypatch.setenv("S3DLIO_RANGE_THRESHOLD_MB", "1")
    rt.reset()
    rest = s3_store(tls_bucket)._conn.rest
    assert (rest is not None and rest.pool.https) if path == "rest" else rest is None
    assert_tls_round_trip(tls_bucket, large=11 * MiB + 3)  # multipart upload, split GET


@pytest.mark.filterwarnings("ignore:Unverified HTTPS request")  # urllib3's, under the insecure switch
@pytest.mark.parametrize("path", ["rest", "botocore"])
def test_an_untrusted_certificate_is_refused(tls_bucket: str, path: str,
                                             monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    assert_untrusted_certificate_refused(monkeypatch, tls_bucket, tmp_path, ca_env="AWS_CA_BUNDLE",
                                         env={"S3DLIO_S3_REST": "1" if path == "rest" else "0"})
    # The insecure switch (documented, warns) accepts the same server on both paths.
    import s3dlio_s3.client as client_module

    monkeypatch.setattr(client_module, "_insecure_warned", False)
    monkeypatch.setenv("S3DLIO_S3_INSECURE", "1")
    rt.reset()
    with pytest.warns(UserWarning, match="NOT verified"):
        assert s3dlio.get(tls_bucket + "k") == b"secret"
