"""S3 under injected faults, in the ordinary s3 suite (the full chaos suite is ``tox -e chaos``)."""

from __future__ import annotations

import base64
import http.server
from typing import Any, ClassVar

import pytest

import s3dlio
from s3dlio.plugin import runtime as rt
from s3dlio.store.multipart import MultipartUploadWriter
from s3dlio.testing import Fault, FaultProxy

pytest.importorskip("s3dlio_s3")
boto3 = pytest.importorskip("boto3")
crc32c = pytest.importorskip("crc32c")
pytestmark = pytest.mark.timeout(60)


def _via(proxy: FaultProxy, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", proxy.url)
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", proxy.url)
    monkeypatch.setenv("S3DLIO_RETRY_BASE_MS", "2")
    rt.reset()


@pytest.mark.parametrize("kind", ["lost_response", "truncate"])
def test_a_retried_create_multipart_upload_leaves_no_orphan(kind: str, bucket: str, moto: Any,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 16: the first CreateMultipartUpload is applied but its answer never arrives;
    the retry creates a second upload. The first must not stay pending on the server."""
    raw = boto3.client("s3", endpoint_url=moto.endpoint_url, region_name=moto.region,
                       aws_access_key_id=moto.access_key, aws_secret_access_key=moto.secret_key)
    name = bucket[len("s3://"):].rstrip("/")
    data = b"z" * ((5 << 20) + 10)
    with FaultProxy(moto.endpoint_url, [Fault(kind, method="POST", path=r"\?uploads")]) as proxy:
        _via(proxy, monkeypatch)
        with MultipartUploadWriter.from_uri(bucket + "big", part_size=5 << 20) as writer:
            writer.write(data)
        assert proxy.injected[kind] == 1
        creates = [r for r in proxy.requests if r.method == "POST" and r.target.endswith("?uploads")]
        assert len(creates) == 2  # the retry happened
    assert raw.get_object(Bucket=name, Key="big")["Body"].read() == data
    assert raw.list_multipart_uploads(Bucket=name).get("Uploads", []) == []


def test_a_create_that_never_answers_leaves_no_orphan(bucket: str, moto: Any,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    raw = boto3.client("s3", endpoint_url=moto.endpoint_url, region_name=moto.region,
                       aws_access_key_id=moto.access_key, aws_secret_access_key=moto.secret_key)
    name = bucket[len("s3://"):].rstrip("/")
    with FaultProxy(moto.endpoint_url, [Fault("lost_response", method="POST", path=r"\?uploads",
                                              times=0)]) as proxy:
        _via(proxy, monkeypatch)
        with pytest.raises(s3dlio.S3dlioError), \
                MultipartUploadWriter.from_uri(bucket + "never", part_size=5 << 20) as writer:
            writer.write(b"y" * ((5 << 20) + 1))
        assert proxy.injected["lost_response"] >= 2
    assert raw.list_multipart_uploads(Bucket=name).get("Uploads", []) == []


class _CrcServer(http.server.BaseHTTPRequestHandler):
    """GetObject of one object with ``x-amz-checksum-crc32c``, as S3 answers with
    ``x-amz-checksum-mode: ENABLED`` (moto never sends the header); ``bad`` answers
    carry one flipped byte first."""

    protocol_version = "HTTP/1.1"
    data = bytes(range(256)) * 40
    bad = 0
    gets: ClassVar[list[str | None]] = []

    def do_GET(self) -> None:
        cls = type(self)
        cls.gets.append(self.headers.get("x-amz-checksum-mode"))
        body = cls.data
        if cls.bad > 0:
            cls.bad -= 1
            body = body[:100] + bytes([body[100] ^ 1]) + body[101:]
        crc = base64.b64encode(crc32c.crc32c(cls.data).to_bytes(4, "big")).decode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("ETag", '"0123456789abcdef"')
        self.send_header("x-amz-checksum-crc32c", crc)
        self.send_header("x-amz-checksum-type", "FULL_OBJECT")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.mark.parametrize(("bad", "ok"), [(0, True), (1, True), (99, False)])
def test_whole_gets_are_checked_against_the_stored_crc32c(bad: int, ok: bool, moto: Any,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    from s3dlio.errors import IntegrityError
    from s3dlio.testing import serve_handler

    _CrcServer.bad, _CrcServer.gets = bad, []
    with serve_handler(_CrcServer) as url:
        monkeypatch.setenv("AWS_ENDPOINT_URL", url)
        monkeypatch.setenv("AWS_ENDPOINT_URL_S3", url)
        monkeypatch.setenv("S3DLIO_RETRY_BASE_MS", "1")
        rt.reset()
        if ok:
            assert bytes(s3dlio.get("s3://bkt/obj")) == _CrcServer.data
            assert len(_CrcServer.gets) == bad + 1  # each mismatch re-read once
        else:
            with pytest.raises(IntegrityError, match="CRC-32C mismatch"):
                s3dlio.get("s3://bkt/obj")
            assert len(_CrcServer.gets) == 3  # S3DLIO_MAX_RETRY_ATTEMPTS
    assert set(_CrcServer.gets) == {"ENABLED"}
