"""Helpers shared by the s3:// tests (a module name unique across the repository)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

import s3dlio
from s3dlio.plugin import runtime as rt

_CLEAN_ENV = (
    "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_PROFILE", "AWS_SESSION_TOKEN",
    "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION", "AWS_DEFAULT_REGION",
)


def use_server(monkeypatch: pytest.MonkeyPatch, server: Any) -> None:
    """Point the process (and children) at ``server``; never at AWS or a metadata service."""
    for name in _CLEAN_ENV:
        monkeypatch.delenv(name, raising=False)
    for name, value in server.env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent/s3dlio-test-config")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/s3dlio-test-credentials")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    rt.reset()


def make_bucket(name: str | None = None) -> str:
    """Create a fresh bucket; return ``s3://name/``."""
    bucket = name or f"t-{uuid.uuid4().hex[:20]}"
    s3dlio.create_bucket(f"s3://{bucket}/")
    return f"s3://{bucket}/"


def s3_store(uri: str) -> Any:
    """The ``S3Store`` under the middleware serving ``uri``."""
    store, _ = rt.resolve(uri)
    while hasattr(store, "inner"):
        store = store.inner
    return store


class OpCounter:
    """Counts the S3 API calls a store makes (``HeadObject``, ...): botocore's and the
    lean REST path's."""

    def __init__(self, uri: str) -> None:
        from collections import Counter

        self.counts: Counter[str] = Counter()
        store = s3_store(uri)
        store._conn.client.meta.events.register("before-call.s3", self._seen)
        if store._conn.rest is not None:
            store._conn.rest.observers.append(self._rest_seen)

    def _seen(self, model: Any, **_: Any) -> None:
        self.counts[model.name] += 1

    def _rest_seen(self, operation: str) -> None:
        self.counts[operation] += 1

    def __getitem__(self, name: str) -> int:
        return self.counts[name]


class FaultProxy:
    """A loopback HTTP proxy that injects failures before forwarding to ``target``.

    The first ``fail`` requests get ``status`` with an S3 XML error ``code`` (and
    ``Retry-After`` when given); with ``hang=True`` they get no answer at all (a
    read timeout). Everything else is forwarded unchanged. ``seen`` counts requests.
    """

    def __init__(self, target: str, *, status: int = 503, code: str = "SlowDown", fail: int = 2,
                 retry_after: str | None = None, hang: bool = False,
                 headers: dict[str, str] | None = None) -> None:
        import http.client
        import http.server
        import threading
        import urllib.parse

        self.seen = 0
        self._lock = threading.Lock()
        extra_headers = dict(headers or {})
        target_parts = urllib.parse.urlsplit(target)
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _handle(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else b""
                with proxy._lock:
                    proxy.seen += 1
                    failing = proxy.seen <= fail
                if failing and hang:
                    import time

                    time.sleep(5)
                    self.close_connection = True
                    return
                if failing:
                    payload = (f"<?xml version='1.0' encoding='UTF-8'?><Error><Code>{code}</Code>"
                               f"<Message>injected</Message><RequestId>fault-{proxy.seen}</RequestId>"
                               "</Error>").encode()
                    self.send_response(status)
                    self.send_header("Content-Type", "application/xml")
                    self.send_header("Content-Length", str(len(payload)))
                    self.send_header("x-amz-request-id", f"fault-{proxy.seen}")
                    if retry_after:
                        self.send_header("Retry-After", retry_after)
                    for name, value in extra_headers.items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(payload)
                    return
                conn = http.client.HTTPConnection(target_parts.hostname, target_parts.port, timeout=30)
                headers = {k: v for k, v in self.headers.items() if k.lower() != "host"}
                headers["Host"] = self.headers.get("host", "")
                conn.request(self.command, self.path, body=body, headers=headers)
                resp = conn.getresponse()
                data = resp.read()
                self.send_response(resp.status)
                for k, v in resp.getheaders():
                    if k.lower() not in ("transfer-encoding", "content-length", "connection"):
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)
                conn.close()

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _handle

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.endpoint_url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> FaultProxy:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
