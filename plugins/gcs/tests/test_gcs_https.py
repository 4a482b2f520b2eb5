"""gs:// over TLS: fake-gcs-server with a self-signed certificate for 127.0.0.1.

Real GCS is always https, so both data paths (the lean client and the authorised
session) are exercised against a TLS server here: verified against the CA the test trusts
(``REQUESTS_CA_BUNDLE``, as requests reads it), and refused without it — once, not retried.
"""

from __future__ import annotations

from typing import Any

import pytest
from gcstest_support import make_bucket, use_emulator

from s3dlio.plugin import runtime as rt
from s3dlio.testing.servers import FakeGcsServer
from s3dlio.testing.tls import assert_serves_tls, assert_tls_round_trip, assert_untrusted_certificate_refused

pytest.importorskip("s3dlio_gcs")
pytest.importorskip("cryptography")

import s3dlio_gcs
from s3dlio_gcs.store import GcsStore

pytestmark = pytest.mark.timeout(180)


@pytest.fixture
def tls_bucket(fake_gcs_tls_server: FakeGcsServer, monkeypatch: pytest.MonkeyPatch) -> str:
    use_emulator(monkeypatch, fake_gcs_tls_server)
    return make_bucket()


def test_the_server_speaks_tls(fake_gcs_tls_server: FakeGcsServer) -> None:
    assert_serves_tls(fake_gcs_tls_server, "REQUESTS_CA_BUNDLE")


@pytest.mark.parametrize("path", ["lean", "session"])
def test_both_paths_work_over_tls(tls_bucket: str, small_parts: None, path: str,
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("S3DLIO_GCS_REST", "1" if path == "lean" else "0")
    rt.reset()
    store, _ = s3dlio_gcs.gcs_store(tls_bucket)
    assert isinstance(store, GcsStore)
    lean = store._conn.gc.lean
    assert (lean is not None and lean.pool.https) if path == "lean" else lean is None
    assert_tls_round_trip(tls_bucket)  # the large object: a composite upload, split GET


@pytest.mark.parametrize("path", ["lean", "session"])
def test_an_untrusted_certificate_is_refused(tls_bucket: str, path: str,
                                             monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    assert_untrusted_certificate_refused(monkeypatch, tls_bucket, tmp_path, ca_env="REQUESTS_CA_BUNDLE",
                                         env={"S3DLIO_GCS_REST": "1" if path == "lean" else "0"})
