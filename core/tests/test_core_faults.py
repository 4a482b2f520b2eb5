"""``s3dlio.testing.FaultProxy`` against a stdlib upstream: each fault kind does what it says."""

from __future__ import annotations

import http.client
import http.server
import socket
import time
from collections.abc import Iterator
from typing import ClassVar

import pytest

from s3dlio.testing import Fault, FaultProxy
from s3dlio.testing.servers import serve_handler

pytestmark = pytest.mark.timeout(30)

BODY = bytes(range(256)) * 40


class _Upstream(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    puts: ClassVar[list[bytes]] = []

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", str(len(BODY)))
        self.send_header("ETag", '"e"')
        self.end_headers()
        self.wfile.write(BODY)

    def do_PUT(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        _Upstream.puts.append(body)
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def upstream() -> Iterator[str]:
    _Upstream.puts = []
    with serve_handler(_Upstream) as url:
        yield url


def _get(proxy: FaultProxy, path: str = "/obj", timeout: float = 5) -> tuple[int, bytes, int]:
    conn = http.client.HTTPConnection("127.0.0.1", proxy.port, timeout=timeout)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        return resp.status, resp.read(), int(resp.getheader("Content-Length") or -1)
    finally:
        conn.close()


def test_forwards_untouched_and_records(upstream: str) -> None:
    with FaultProxy(upstream) as proxy:
        assert _get(proxy) == (200, BODY, len(BODY))
        assert proxy.total_injected == 0
        assert [(r.method, r.target, r.status) for r in proxy.requests] == [("GET", "/obj", 200)]


@pytest.mark.parametrize("kind", ["drop", "reset", "lost_response"])
def test_no_response(kind: str, upstream: str) -> None:
    with FaultProxy(upstream, [Fault(kind)]) as proxy:
        with pytest.raises((http.client.RemoteDisconnected, ConnectionError)):
            _get(proxy)
        assert _get(proxy)[1] == BODY  # once only
        assert proxy.injected == {kind: 1}


def test_lost_response_was_applied_upstream(upstream: str) -> None:
    with FaultProxy(upstream, [Fault("lost_response", method="PUT")]) as proxy:
        conn = http.client.HTTPConnection("127.0.0.1", proxy.port, timeout=5)
        with pytest.raises((http.client.RemoteDisconnected, ConnectionError)):
            conn.request("PUT", "/obj", body=b"applied")
            conn.getresponse()
        conn.close()
    assert _Upstream.puts == [b"applied"]


@pytest.mark.parametrize("kind", ["truncate", "reset_mid_body"])
def test_short_body_under_full_length(kind: str, upstream: str) -> None:
    with FaultProxy(upstream, [Fault(kind)]) as proxy:
        with pytest.raises((http.client.IncompleteRead, ConnectionError)):
            _get(proxy)
        assert proxy.injected[kind] == 1


def test_flip_changes_one_byte(upstream: str) -> None:
    with FaultProxy(upstream, [Fault("flip")]) as proxy:
        status, body, length = _get(proxy)
    assert status == 200 and length == len(BODY) and body != BODY
    assert sum(a != b for a, b in zip(body, BODY, strict=True)) == 1


def test_flip_request_reaches_upstream_damaged(upstream: str) -> None:
    with FaultProxy(upstream, [Fault("flip_request", method="PUT")]) as proxy:
        conn = http.client.HTTPConnection("127.0.0.1", proxy.port, timeout=5)
        conn.request("PUT", "/obj", body=b"abcdef")
        assert conn.getresponse().status == 200
        conn.close()
    assert _Upstream.puts == [b"abceef"]


def test_status_with_retry_after_and_error_document(upstream: str) -> None:
    fault = Fault("status", status=503, code="SlowDown", retry_after=2, times=2)
    with FaultProxy(upstream, [fault]) as proxy:
        conn = http.client.HTTPConnection("127.0.0.1", proxy.port, timeout=5)
        conn.request("GET", "/obj")
        resp = conn.getresponse()
        doc = resp.read()
        assert resp.status == 503 and resp.getheader("Retry-After") == "2"
        assert b"<Code>SlowDown</Code>" in doc
        conn.request("GET", "/obj")  # same connection: kept alive
        assert conn.getresponse().status == 503
        conn.close()
        assert _get(proxy)[0] == 200
        assert proxy.injected["status"] == 2


def test_error_document_inside_200(upstream: str) -> None:
    with FaultProxy(upstream, [Fault("error_200", path=r"uploadId=")]) as proxy:
        assert _get(proxy, "/obj")[1] == BODY  # not matching
        status, body, _ = _get(proxy, "/obj?uploadId=1")
    assert status == 200 and b"<Error>" in body


def test_stall_past_the_read_timeout_and_drip_below_it(upstream: str) -> None:
    with FaultProxy(upstream, [Fault("stall", delay=2), Fault("drip", delay=0.05)]) as proxy:
        with pytest.raises(TimeoutError):
            _get(proxy, timeout=0.5)
        start = time.monotonic()
        assert _get(proxy, timeout=1)[1] == BODY
        assert time.monotonic() - start >= 0.3


def test_refuse_closes_the_port_for_a_while(upstream: str) -> None:
    with FaultProxy(upstream, [Fault("refuse", delay=0.5)]) as proxy:
        with pytest.raises(ConnectionError):
            _get(proxy)
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", proxy.port), timeout=1).close()
        time.sleep(0.8)
        assert _get(proxy)[1] == BODY


def test_redirect(upstream: str) -> None:
    with FaultProxy(upstream, [Fault("redirect", location="http://127.0.0.1:9/elsewhere")]) as proxy:
        conn = http.client.HTTPConnection("127.0.0.1", proxy.port, timeout=5)
        conn.request("GET", "/obj")
        resp = conn.getresponse()
        resp.read()
        conn.close()
    assert resp.status == 307 and resp.getheader("Location") == "http://127.0.0.1:9/elsewhere"


def test_scripted_after_and_method_and_path(upstream: str) -> None:
    fault = Fault("status", method="GET", path=r"^/b", after=1, times=1, status=500, code="InternalError")
    with FaultProxy(upstream, [fault]) as proxy:
        assert _get(proxy, "/a")[0] == 200
        assert _get(proxy, "/b")[0] == 200  # the first match passes (after=1)
        assert _get(proxy, "/b")[0] == 500
        assert _get(proxy, "/b")[0] == 200


def test_random_faults_are_seeded(upstream: str) -> None:
    def run(seed: int) -> list[str | None]:
        with FaultProxy(upstream, rate=0.5, seed=seed, random_kinds=("status",)) as proxy:
            for _ in range(20):
                _get(proxy)
            return [r.fault for r in proxy.requests]

    first = run(7)
    assert first == run(7)
    assert 3 <= first.count("status") <= 17


def test_rejects_unknown_kinds_and_non_http_upstreams() -> None:
    with pytest.raises(ValueError):
        Fault("teleport")
    with pytest.raises(ValueError):
        FaultProxy("https://127.0.0.1:1")
