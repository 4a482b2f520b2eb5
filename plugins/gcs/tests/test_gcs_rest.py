"""The lean GCS data path (media GETs and uploads on pooled ``http.client`` connections).

The conformance suite, test_gcs_store.py and test_gcs_upload.py already run on this path
(the default; the upload tests on both paths); these tests pin what is particular to it:
when it is used, that it agrees byte for byte with the authorised-session path both ways,
that the session is not touched for data, connection reuse, and google-auth credentials:
the bearer token sent, refreshed when expired and once more on a 401 answer.
"""

from __future__ import annotations

import datetime
import http.client
import http.server
from collections.abc import Iterator
from typing import Any, ClassVar

import pytest

import s3dlio
from s3dlio.errors import NotFoundError
from s3dlio.plugin import runtime as rt
from s3dlio.testing import assert_paths_agree, serve_handler, use_proxy

pytest.importorskip("s3dlio_gcs")

from google.auth import credentials as ga_credentials

import s3dlio_gcs
from s3dlio_gcs.rest import GcsRest, LeanResponse
from s3dlio_gcs.store import GcsStore

pytestmark = pytest.mark.timeout(180)
MiB = 1 << 20


@pytest.fixture(autouse=True)
def _lean_default(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests are about the lean path: on, whatever the environment says."""
    monkeypatch.setenv("S3DLIO_GCS_REST", "1")
    rt.reset()


def _store(uri: str) -> GcsStore:
    store, _ = s3dlio_gcs.gcs_store(uri)
    assert isinstance(store, GcsStore)
    return store


def _payload(size: int, seed: int) -> bytes:
    import random

    return random.Random(seed).randbytes(size)


# ------------------------------------------------------------------- when it is used
def test_lean_is_the_default_and_can_be_turned_off(bucket: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("S3DLIO_GCS_REST")
    rt.reset()
    assert isinstance(_store(bucket)._conn.gc.lean, GcsRest)
    monkeypatch.setenv("S3DLIO_GCS_REST", "0")
    rt.reset()
    assert _store(bucket)._conn.gc.lean is None
    s3dlio.put_bytes(bucket + "session", b"through the authorised session")
    assert s3dlio.get(bucket + "session") == b"through the authorised session"


def test_a_store_behind_a_proxy_uses_the_session(bucket: str, monkeypatch: pytest.MonkeyPatch) -> None:
    use_proxy(monkeypatch, "http://127.0.0.1:9")
    assert _store(bucket)._conn.gc.lean is None
    use_proxy(monkeypatch, "http://127.0.0.1:9", no_proxy="127.0.0.1")
    assert _store(bucket)._conn.gc.lean is not None, "NO_PROXY lets the lean path back in"


def test_client_certificates_keep_the_session(bucket: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GOOGLE_API_USE_CLIENT_CERTIFICATE", "true")
    rt.reset()
    assert _store(bucket)._conn.gc.lean is None


def test_data_requests_do_not_touch_the_session(bucket: str, monkeypatch: pytest.MonkeyPatch,
                                                 small_parts: None) -> None:
    """GETs (whole, split, ranged) and uploads (single, composite parts) go through the lean
    client only; a call on the session would fail the test."""
    monkeypatch.setenv("S3DLIO_RANGE_THRESHOLD_MB", "1")
    rt.reset()
    store = _store(bucket)
    session = store._conn.gc.session

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError(f"the session was used for {args[:2]}")

    monkeypatch.setattr(session, "get", refuse)
    monkeypatch.setattr(session, "post", refuse)
    small, big = _payload(1000, 1), _payload(3 * MiB + 5, 2)
    s3dlio.put_bytes(bucket + "small", small)
    s3dlio.put_bytes(bucket + "big", big)  # small_parts: a composite upload
    assert bytes(s3dlio.get(bucket + "small")) == small
    assert bytes(s3dlio.get(bucket + "big")) == big  # split into ranged GETs
    assert bytes(s3dlio.get_range(bucket + "big", MiB, 10)) == big[MiB: MiB + 10]


# ------------------------------------------------------------------- both paths agree
@pytest.mark.parametrize("writer", ["lean", "session"])
def test_both_paths_agree(bucket: str, writer: str, monkeypatch: pytest.MonkeyPatch,
                          small_parts: None) -> None:
    """Single and composite uploads, split and ranged GETs, an empty object and a key with
    spaces, unicode and reserved characters, written by one path and read by the other."""
    monkeypatch.setenv("S3DLIO_RANGE_THRESHOLD_MB", "1")
    objects = {"empty": b"", "one": b"1", "small.bin": _payload(100_000, 1),
               "multi.bin": _payload(3 * MiB + 17, 2), "dir/ü n+i=c%de~.bin": _payload(3000, 3)}
    assert_paths_agree(monkeypatch, bucket, objects, env="S3DLIO_GCS_REST",
                       writer="1" if writer == "lean" else "0")


# ------------------------------------------------------------------- connections, errors
def test_connections_are_reused(bucket: str) -> None:
    store = _store(bucket)
    lean = store._conn.gc.lean
    assert lean is not None
    connects = [0]
    real_connect = lean.pool._connect

    def connect() -> Any:
        connects[0] += 1
        return real_connect()

    lean.pool._connect = connect  # type: ignore[method-assign]
    for i in range(5):
        s3dlio.put_bytes(bucket + f"k{i}", b"x" * 100)
        assert s3dlio.get(bucket + f"k{i}") == b"x" * 100
    assert connects[0] <= 1
    assert lean.pool.idle_count() >= 1


def test_errors_are_typed(bucket: str) -> None:
    with pytest.raises(NotFoundError) as info:
        s3dlio.get(bucket + "missing")
    assert info.value.status == 404 and info.value.op == "get"
    assert info.value.uri == bucket + "missing"


def test_crc32c_found_in_either_header_layout() -> None:
    """GCS sends one x-goog-hash line per digest; the lean path's http.client message keeps
    them apart (requests joins them): the CRC-32C must be found wherever it is."""
    import email.parser

    from s3dlio_gcs.store import _header_crc32c

    for block in ("x-goog-hash: md5=bWQ1\r\nx-goog-hash: crc32c=Y3Jj\r\n\r\n",
                  "x-goog-hash: crc32c=Y3Jj\r\nx-goog-hash: md5=bWQ1\r\n\r\n",
                  "x-goog-hash: md5=bWQ1, crc32c=Y3Jj\r\n\r\n"):
        message = email.parser.Parser(_class=http.client.HTTPMessage).parsestr(block)
        assert _header_crc32c(message) == "Y3Jj", block
    assert _header_crc32c({"x-goog-hash": "crc32c=Y3Jj,md5=bWQ1"}) == "Y3Jj"  # requests' join
    assert _header_crc32c({"x-goog-hash": "md5=bWQ1"}) is None


# ------------------------------------------------------------------- credentials
class _Recorder(http.server.BaseHTTPRequestHandler):
    """Answers 401 to ``Bearer stale`` and 200 (echoing the body's length) otherwise."""

    protocol_version = "HTTP/1.1"
    seen: ClassVar[list[tuple[str, str | None, int]]] = []

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        auth = self.headers.get("Authorization")
        type(self).seen.append((self.command, auth, len(body)))
        status = 401 if auth == "Bearer stale" else 200
        reply = b'{"error": {"message": "stale token"}}' if status == 401 else b'{"size": "%d"}' % len(body)
        self.send_response(status)
        self.send_header("Content-Length", str(len(reply)))
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(reply)

    do_GET = do_POST = _answer

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def recorder() -> Iterator[str]:
    _Recorder.seen = []
    with serve_handler(_Recorder) as url:
        yield url


class _Tokens(ga_credentials.Credentials):  # type: ignore[misc]
    """google-auth credentials handing out ``tokens`` in turn, one per refresh."""

    def __init__(self, token: str, tokens: list[str], *, expired: bool = False) -> None:
        super().__init__()
        self.token = token
        self._tokens = tokens
        self.refreshed: list[Any] = []
        if expired:
            self.expiry = datetime.datetime(2000, 1, 1)

    def refresh(self, request: Any) -> None:
        self.refreshed.append(request)
        self.token = self._tokens.pop(0)
        self.expiry = None


def test_bearer_token_is_sent(recorder: str) -> None:
    creds = _Tokens("good", [])
    rest = GcsRest(recorder, creds, auth_request="the session's request")
    resp = rest.request("GET", recorder + "/download/storage/v1/b/b/o/k", {"alt": "media"}, {})
    assert isinstance(resp, LeanResponse) and resp.status_code == 200
    resp.content  # noqa: B018 - read and release
    assert _Recorder.seen == [("GET", "Bearer good", 0)]
    assert creds.refreshed == []


def test_expired_token_is_refreshed_before_the_request(recorder: str) -> None:
    creds = _Tokens("old", ["fresh"], expired=True)
    rest = GcsRest(recorder, creds, auth_request="the session's request")
    assert rest.request("GET", recorder + "/x", {}, {}).status_code == 200
    assert _Recorder.seen == [("GET", "Bearer fresh", 0)]
    assert creds.refreshed == ["the session's request"]


def test_a_401_refreshes_once_and_sends_the_whole_body_again(recorder: str) -> None:
    creds = _Tokens("stale", ["fresh"])
    rest = GcsRest(recorder, creds, auth_request=None)
    payload = _payload(100_000, 4)
    parts = [b"head-", memoryview(payload), b"-tail"]
    resp = rest.request("POST", recorder + "/upload/storage/v1/b/b/o", {"uploadType": "multipart"},
                        {"Content-Type": "multipart/related"}, parts, 10 + len(payload))
    assert resp.status_code == 200 and resp.json() == {"size": str(10 + len(payload))}
    assert _Recorder.seen == [("POST", "Bearer stale", 10 + len(payload)),
                              ("POST", "Bearer fresh", 10 + len(payload))]
    assert len(creds.refreshed) == 1
    # A second 401 is the answer: no refresh loop.
    creds.token, creds._tokens = "stale", ["stale"]
    assert rest.request("GET", recorder + "/x", {}, {}).status_code == 401
    assert len(creds.refreshed) == 2


def test_anonymous_requests_carry_no_authorization(recorder: str) -> None:
    rest = GcsRest(recorder, ga_credentials.AnonymousCredentials(), auth_request=None)
    assert rest.request("GET", recorder + "/x", {}, {}).status_code == 200
    assert _Recorder.seen == [("GET", None, 0)]
    with pytest.raises(ValueError, match="is not under"):
        rest.request("GET", "http://elsewhere.example/x", {}, {})
