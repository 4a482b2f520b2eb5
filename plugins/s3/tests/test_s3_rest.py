"""The lean S3 data path (GetObject / PutObject / UploadPart with SigV4), on moto and SeaweedFS.

The conformance suite and test_s3_backend.py already run on this path (the default);
these tests pin what is particular to it: our SigV4 signature equals botocore's for the
same request, when the path is used, that it agrees byte for byte with the botocore path
(both ways, on a server that verifies signatures and checksums), connection reuse,
anonymous requests, and error answers.
"""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from s3test_support import OpCounter, make_bucket, s3_store

import s3dlio
from s3dlio.errors import NotFoundError, PreconditionError
from s3dlio.plugin import runtime as rt
from s3dlio.testing import assert_paths_agree, use_proxy

pytest.importorskip("s3dlio_s3")

from s3dlio_s3.rest import EMPTY_SHA256, S3Rest, sigv4_authorization

pytestmark = pytest.mark.timeout(180)
MiB = 1 << 20


def _payload(size: int, seed: int) -> bytes:
    import random

    return random.Random(seed).randbytes(size)


@pytest.mark.parametrize("method, key, query, extra, payload, token", [
    ("GET", "plain/key.bin", [], {"Range": "bytes=0-99"}, EMPTY_SHA256, None),
    ("PUT", "dir/ü n+i=c%de~.bin", [], {"x-amz-checksum-crc32c": "AAAAAA=="}, "UNSIGNED-PAYLOAD",
     "session-token/xyz"),
    ("PUT", "parts/big", [("partNumber", "3"), ("uploadId", "a/b+c=")], {}, "UNSIGNED-PAYLOAD", None),
])
def test_signature_equals_botocores(method: str, key: str, query: list[tuple[str, str]],
                                    extra: dict[str, str], payload: str, token: str | None) -> None:
    """Our SigV4 Authorization header is the one botocore's S3SigV4Auth computes for the
    same request (fixed clock), special characters and session tokens included."""
    import urllib.parse

    from botocore.auth import S3SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    amz_date = "20261124T081300Z"
    host = "127.0.0.1:9000"
    path = "/bkt/" + urllib.parse.quote(key, safe="/-_.~")
    qs = "&".join(f"{urllib.parse.quote(k, safe='-_.~')}={urllib.parse.quote(v, safe='-_.~')}"
                  for k, v in query)
    headers = {"Host": host, **extra, "x-amz-date": amz_date, "x-amz-content-sha256": payload}
    if token:
        headers["x-amz-security-token"] = token
    creds = Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", token)
    request = AWSRequest(method=method, url=f"http://{host}{path}" + (f"?{qs}" if qs else ""),
                         headers=dict(headers), data=b"")
    if payload == "UNSIGNED-PAYLOAD":  # the store's client config: payload_signing_enabled=False
        from botocore.config import Config

        request.context["client_config"] = Config(s3={"payload_signing_enabled": False})
    signer = S3SigV4Auth(creds, "s3", "us-east-1")
    import botocore.auth

    fixed = datetime.datetime(2026, 11, 24, 8, 13, 0)
    original = botocore.auth.get_current_datetime
    botocore.auth.get_current_datetime = lambda *a, **k: fixed  # type: ignore[assignment]
    try:
        signer.add_auth(request)
    finally:
        botocore.auth.get_current_datetime = original  # type: ignore[assignment]
    from s3dlio_s3.rest import _SigningKeys

    ours = sigv4_authorization(method, path, query, headers, payload, access_key="AKIDEXAMPLE",
                               signing_key=_SigningKeys().get(creds.secret_key, amz_date[:8],
                                                              "us-east-1"),
                               amz_date=amz_date, region="us-east-1")
    assert ours == request.headers["Authorization"]


@pytest.mark.parametrize("endpoint, bucket, path_style, host, prefix", [
    ("https://s3.us-east-1.amazonaws.com", "data", False, "data.s3.us-east-1.amazonaws.com", ""),
    ("https://s3.us-east-1.amazonaws.com:443", "data", False, "data.s3.us-east-1.amazonaws.com", ""),
    ("https://s3.us-east-1.amazonaws.com", "my.data", False, "s3.us-east-1.amazonaws.com", "/my.data"),
    ("https://s3.us-east-1.amazonaws.com", "legacy_name", False, "s3.us-east-1.amazonaws.com",
     "/legacy_name"),
    ("http://127.0.0.1:9000", "data", True, "127.0.0.1:9000", "/data"),
    ("http://gw.example:8080/s3", "data", True, "gw.example:8080", "/s3/data"),
])
def test_addressing(endpoint: str, bucket: str, path_style: bool, host: str, prefix: str) -> None:
    """Virtual-hosted where botocore would be, path-style otherwise; the signed Host has no
    default port."""
    rest = S3Rest(endpoint, bucket, "us-east-1", path_style=path_style, credentials=lambda: None)
    assert (rest._host, rest._prefix) == (host, prefix)
    assert rest.pool.host == host.split(":")[0]


def test_rest_is_the_default_and_can_be_turned_off(bucket: str, monkeypatch: pytest.MonkeyPatch) -> None:
    assert isinstance(s3_store(bucket)._conn.rest, S3Rest)
    monkeypatch.setenv("S3DLIO_S3_REST", "0")
    rt.reset()
    assert s3_store(bucket)._conn.rest is None
    s3dlio.put_bytes(bucket + "sdk", b"through botocore")
    assert s3dlio.get(bucket + "sdk") == b"through botocore"
    monkeypatch.setenv("S3DLIO_S3_REST", "1")
    monkeypatch.setenv("S3DLIO_FOLLOW_REDIRECTS", "1")
    rt.reset()
    assert s3_store(bucket)._conn.rest is None, "redirect following stays on botocore"


def test_a_store_behind_a_proxy_uses_botocore(bucket: str, monkeypatch: pytest.MonkeyPatch) -> None:
    use_proxy(monkeypatch, "http://127.0.0.1:9")
    assert s3_store(bucket)._conn.rest is None
    use_proxy(monkeypatch, "http://127.0.0.1:9", no_proxy="127.0.0.1")
    assert s3_store(bucket)._conn.rest is not None, "NO_PROXY lets the lean path back in"


def _round_trip(bucket: str, monkeypatch: pytest.MonkeyPatch, writer: str) -> None:
    """Single PUTs, a multipart upload (5 MiB parts), split and ranged GETs, an empty
    object and a key with spaces, unicode and reserved characters, across the two paths."""
    monkeypatch.setenv("S3DLIO_MULTIPART_THRESHOLD_MB", "5")
    monkeypatch.setenv("S3DLIO_PART_SIZE_MB", "5")
    monkeypatch.setenv("S3DLIO_RANGE_THRESHOLD_MB", "1")
    objects = {"empty": b"", "one": b"1", "small.bin": _payload(100_000, 1),
               "multi.bin": _payload(11 * MiB + 17, 2), "dir/ü n+i=c%de~.bin": _payload(3000, 3)}
    assert_paths_agree(monkeypatch, bucket, objects, env="S3DLIO_S3_REST",
                       writer="1" if writer == "rest" else "0")


@pytest.mark.parametrize("writer", ["rest", "sdk"])
def test_both_paths_agree_on_moto(bucket: str, writer: str, monkeypatch: pytest.MonkeyPatch) -> None:
    _round_trip(bucket, monkeypatch, writer)


@pytest.mark.seaweedfs
@pytest.mark.parametrize("writer", ["rest", "sdk"])
def test_both_paths_agree_on_seaweedfs(seaweed: Any, writer: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """SeaweedFS verifies SigV4 signatures and x-amz-checksum-crc32c: every REST request
    (single PUT, parts, GETs, ranges) is accepted, and the data is the same both ways."""
    _round_trip(make_bucket(), monkeypatch, writer)


@pytest.mark.seaweedfs
def test_a_wrong_checksum_is_refused_on_the_rest_path(seaweed: Any) -> None:
    from s3dlio.errors import IntegrityError

    bucket = make_bucket()
    rest = s3_store(bucket)._conn.rest
    assert rest is not None
    with pytest.raises(Exception) as info:
        rest.put("bad", memoryview(b"payload"), checksum_crc32c="AAAAAA==")
    from s3dlio_s3.errors import translate

    assert isinstance(translate(info.value, op="put", uri="u", endpoint="e"), IntegrityError)
    with pytest.raises(NotFoundError):
        s3dlio.get(bucket + "bad")  # nothing was stored


@pytest.mark.seaweedfs
def test_requests_counted_and_connections_reused(seaweed: Any) -> None:
    bucket = make_bucket()
    store = s3_store(bucket)
    rest = store._conn.rest
    assert rest is not None
    ops = OpCounter(bucket)
    for i in range(20):
        s3dlio.put_bytes(bucket + f"k{i}", b"x" * i)
        assert s3dlio.get(bucket + f"k{i}") == b"x" * i
    assert ops["PutObject"] == 20 and ops["GetObject"] == 20 and ops["HeadObject"] == 0
    assert rest.pool.idle_count() == 1, "sequential requests share one keep-alive connection"


def test_error_answers_are_typed(bucket: str) -> None:
    with pytest.raises(NotFoundError) as info:
        s3dlio.get(bucket + "missing")
    assert info.value.status == 404 and "NoSuchKey" in str(info.value)
    from botocore.exceptions import ClientError

    assert isinstance(info.value.__cause__, ClientError)
    s3dlio.put_bytes(bucket + "etag", b"abcdef")
    store = s3_store(bucket)
    with pytest.raises(PreconditionError):
        store._range_into("etag", 0, memoryview(bytearray(3)), pin='"0000"')


def test_anonymous_requests_are_unsigned(moto: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    bucket = make_bucket()
    s3dlio.put_bytes(bucket + "public", b"open data")
    store = s3_store(bucket)
    store._conn.client.put_object_acl(Bucket=store.bucket, Key="public", ACL="public-read")
    monkeypatch.setenv("S3DLIO_S3_ANONYMOUS", "1")
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    rt.reset()
    rest = s3_store(bucket)._conn.rest
    assert rest is not None and rest._credentials() is None
    assert s3dlio.get(bucket + "public") == b"open data"  # moto serves anonymous reads


def test_tls_errors_translate() -> None:
    from s3dlio.testing.contracts import assert_tls_errors_translate
    from s3dlio_s3.errors import translate

    assert_tls_errors_translate(translate)


def test_body_reads_release_a_finished_connection_and_drop_any_other(bucket: str) -> None:
    """NetworkStore._read_response (every network backend's body reader): a body read to
    its end releases the connection; a partial read, a short body or a failure closes it,
    the short body as IntegrityError, the failure translated with the cause chained."""
    from s3dlio.errors import IntegrityError, TransientError

    store = s3_store(bucket)
    events: list[str] = []

    def reader(data: bytes, fail: BaseException | None = None) -> Any:
        sent = [0]

        def readinto(mv: memoryview) -> int:
            if fail is not None:
                raise fail
            n = min(len(mv), len(data) - sent[0])
            mv[:n] = data[sent[0]:sent[0] + n]
            sent[0] += n
            return n
        return readinto

    def read(data: bytes, size: int, **kwargs: Any) -> bytearray:
        buf = bytearray(size)
        store._read_response(reader(data, kwargs.pop("fail", None)), memoryview(buf), "k",
                             release=lambda: events.append("release"),
                             close=lambda: events.append("close"), **kwargs)
        return buf

    assert read(b"0123456789", 10) == b"0123456789" and events == ["release"]
    events.clear()
    assert read(b"0123456789", 4, partial=True) == b"0123" and events == ["close"]
    events.clear()
    with pytest.raises(IntegrityError, match="short body: got 5 of 10"):
        read(b"01234", 10)
    assert events == ["close"]
    events.clear()
    reset = ConnectionResetError("reset by peer")
    with pytest.raises(TransientError) as info:
        read(b"", 10, fail=reset, op="get_range")
    assert info.value.__cause__ is reset and info.value.op == "get_range" and events == ["close"]
