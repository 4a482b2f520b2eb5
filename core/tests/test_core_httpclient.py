"""s3dlio.store.httpclient: error documents, proxies, the pool against a loopback server."""

from __future__ import annotations

import email.utils
import http.server
import time
from collections.abc import Iterator

import pytest

from s3dlio.store.httpclient import (
    ConnectionPool,
    error_fields,
    proxy_applies,
    reachable_directly,
    server_clock_skew,
)
from s3dlio.testing import serve_handler, use_proxy


def test_error_fields_of_s3_and_azure_documents() -> None:
    s3 = (b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>NoSuchKey</Code>'
          b"<Message>The key &lt;a&amp;b&gt; does not exist</Message><Key>a&amp;b</Key>"
          b"<RequestId>R1</RequestId></Error>")
    assert error_fields(s3) == {"Code": "NoSuchKey", "Message": "The key <a&b> does not exist",
                                "Key": "a&b", "RequestId": "R1"}
    azure = ("\ufeff<?xml version=\"1.0\"?><Error><Code>BlobNotFound</Code><Message>The specified "
             "blob does not exist.\nRequestId:x\nTime:y</Message></Error>").encode()
    fields = error_fields(azure)
    assert fields["Code"] == "BlobNotFound" and fields["Message"].startswith("The specified blob")
    assert error_fields(b"") == {} and error_fields(b"not xml") == {}


def test_proxy_applies(monkeypatch: pytest.MonkeyPatch) -> None:
    use_proxy(monkeypatch, None)
    assert not proxy_applies("https://s3.example.com")
    use_proxy(monkeypatch, "http://127.0.0.1:3128")
    assert proxy_applies("https://s3.example.com") and proxy_applies("http://s3.example.com")
    monkeypatch.delenv("HTTP_PROXY")
    monkeypatch.delenv("http_proxy", raising=False)
    assert not proxy_applies("http://s3.example.com"), "only the scheme's proxy applies"
    use_proxy(monkeypatch, "http://127.0.0.1:3128", no_proxy="example.com")
    assert not proxy_applies("https://s3.example.com")


def test_reachable_directly(monkeypatch: pytest.MonkeyPatch) -> None:
    use_proxy(monkeypatch, None)
    assert reachable_directly("https://s3.example.com") and reachable_directly("http://127.0.0.1:9000")
    assert not reachable_directly("ftp://s3.example.com") and not reachable_directly("http:///path")
    use_proxy(monkeypatch, "http://127.0.0.1:3128")
    assert not reachable_directly("https://s3.example.com"), "a proxy applies"


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_PUT(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body[::-1])

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def echo() -> Iterator[str]:
    with serve_handler(_Handler) as url:
        yield url


def test_pool_reuses_connections_and_reads_into_the_callers_buffer(echo: str) -> None:
    pool = ConnectionPool(echo, connect_timeout=2, read_timeout=5)
    for i in range(5):
        data = bytes(range(i, i + 10))
        resp = pool.request("PUT", "/x", {"Content-Length": "10"}, memoryview(data))
        buf = bytearray(10)
        assert resp.status == 200 and resp.length == 10
        assert resp.readinto(memoryview(buf)) == 10 and bytes(buf) == data[::-1]
        resp.release()
        assert pool.idle_count() == 1
    # A pooled connection the server has closed meanwhile is replaced transparently.
    import socket

    pool._idle[0].sock.shutdown(socket.SHUT_RDWR)  # type: ignore[union-attr]
    resp = pool.request("PUT", "/x", {"Content-Length": "3"}, b"abc")
    assert resp.drain() == b"cba"
    pool.close()
    assert pool.idle_count() == 0


def test_tls_failure_tells_permanent_from_dropped() -> None:
    import ssl

    from s3dlio.store.httpclient import tls_failure

    assert tls_failure(ssl.SSLCertVerificationError(1, "certificate verify failed"))
    assert tls_failure(ssl.SSLError(1, "wrong version number"))
    assert not tls_failure(ssl.SSLEOFError(8, "EOF occurred in violation of protocol"))
    assert not tls_failure(ssl.SSLZeroReturnError(6, "TLS/SSL connection has been closed"))
    assert not tls_failure(ConnectionResetError())


class _SkewedClock(http.server.BaseHTTPRequestHandler):
    """Answers every HEAD with 403 and a Date an hour ahead (or none at all)."""

    ahead_secs = 3600.0
    send_date = True

    def do_HEAD(self) -> None:
        self.send_response_only(403)
        if self.send_date:
            self.send_header("Date", email.utils.formatdate(time.time() + self.ahead_secs, usegmt=True))
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def test_server_clock_skew_reads_the_date_of_any_answer() -> None:
    with serve_handler(_SkewedClock) as url:
        skew = server_clock_skew(url)
    assert skew is not None and abs(skew - 3600) < 2  # a 403 carries the Date too


def test_server_clock_skew_unknown_without_a_date_or_a_server() -> None:
    class NoDate(_SkewedClock):
        send_date = False

    with serve_handler(NoDate) as url:
        assert server_clock_skew(url) is None
    assert server_clock_skew("http://127.0.0.1:9") is None  # nothing listens: unknown, no error
    assert server_clock_skew("file:///tmp/") is None
    assert server_clock_skew("https://127.0.0.1:9", verify="/nonexistent/ca.pem") is None
