"""A lean HTTP/1.1 client for the requests that move data: pooled ``http.client`` connections.

Vendor SDKs run thousands of Python calls per request (pipelines of policies, event
hooks, generated models): 1.3–2.3 ms of client CPU each on the benchmark machine, which
is all of a small object's cost (docs/performance.md). A backend can send its GET / PUT /
part requests through :class:`ConnectionPool` instead — one ``http.client`` exchange on
a kept-alive connection, the body sent from the caller's memory, the response body read
with ``readinto`` into the caller's buffer — and keep the SDK for everything else.
The S3, Azure and GCS backends' data paths are built on it.

* Connections are pooled LIFO per pool (one pool per endpoint and process; callers cache
  pools per pid, as they do SDK clients). ``TCP_NODELAY`` is set; the connect timeout
  applies to connecting, the read timeout to every later socket operation.
* A request on a reused connection that the server closed in the meantime (idle
  timeout) fails before any answer: it is re-sent once on a new connection, without
  spending a retry of core's policy — nothing was processed.
* TLS: the CA bundle requests would use (``REQUESTS_CA_BUNDLE`` / ``CURL_CA_BUNDLE``,
  else certifi's), or an explicit one; ``verify=False`` turns verification off.
* :func:`reachable_directly` tells whether the pool can serve an endpoint (http(s), no
  environment proxy applying — :func:`proxy_applies`; callers keep the SDK otherwise).
"""

from __future__ import annotations

import html
import http.client
import os
import re
import socket
import ssl
import threading
import urllib.parse
import urllib.request
from collections.abc import Iterable, Mapping

__all__ = ["ConnectionPool", "RestResponse", "error_fields", "proxy_applies", "reachable_directly",
           "ssl_context", "tls_failure"]

_STALE = (BrokenPipeError, ConnectionResetError, ConnectionAbortedError, http.client.RemoteDisconnected,
          http.client.BadStatusLine)
"""What a reused keep-alive connection closed by the server fails with."""


_FIELD = re.compile(rb"<([A-Za-z]+)>([^<]*)</\1>")


def error_fields(body: bytes) -> dict[str, str]:
    """The flat ``<Name>text</Name>`` fields of an XML error document (S3's and Azure's
    ``<Error><Code>…</Code><Message>…</Message>…</Error>``), entities decoded; first wins."""
    fields: dict[str, str] = {}
    for name, text in _FIELD.findall(body):
        fields.setdefault(name.decode("ascii"), html.unescape(text.decode("utf-8", "replace")))
    return fields


def tls_failure(exc: BaseException) -> bool:
    """Whether ``exc`` is a TLS failure that trying again cannot fix (an untrusted or
    mismatched certificate, a handshake refused) — not a connection dropped during TLS
    (``SSLEOFError``, ``SSLZeroReturnError``), which is as transient as any reset."""
    return isinstance(exc, ssl.SSLError) and not isinstance(
        exc, (ssl.SSLEOFError, ssl.SSLZeroReturnError, ssl.SSLWantReadError, ssl.SSLWantWriteError,
              ssl.SSLSyscallError))


def reachable_directly(endpoint: str) -> bool:
    """Whether a :class:`ConnectionPool` can serve ``endpoint``: an ``http(s)`` URL with a
    host, and no environment proxy applying to it (the pool does not speak to proxies)."""
    parts = urllib.parse.urlsplit(endpoint)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return False
    return not proxy_applies(endpoint)


def proxy_applies(endpoint: str) -> bool:
    """Whether ``HTTP(S)_PROXY`` / ``ALL_PROXY`` apply to ``endpoint`` (``NO_PROXY`` honoured)."""
    parts = urllib.parse.urlsplit(endpoint)
    proxies = urllib.request.getproxies()
    if not proxies.get(parts.scheme) and not proxies.get("all"):
        return False
    return not urllib.request.proxy_bypass(parts.hostname or "")


def ssl_context(verify: bool | str | None = None) -> ssl.SSLContext:
    """A client TLS context: ``verify`` is a CA file, ``False`` (no verification) or
    ``None``/``True`` (the bundle requests would use)."""
    if verify is False:
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        return ctx
    cafile = verify if isinstance(verify, str) and verify else None
    if cafile is None:
        cafile = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or None
    if cafile is None:
        try:
            import certifi

            cafile = certifi.where()
        except ImportError:
            cafile = None
    return ssl.create_default_context(cafile=cafile)


def server_clock_skew(endpoint: str, *, verify: bool | str | None = None,
                      timeout: float = 5.0) -> float | None:
    """Server time minus local time (seconds, ±1) from the ``Date`` header of one ``HEAD /``.

    Any answer carries the header (a 400 or 403 too), so no credentials are needed. ``None``
    when the endpoint is not a direct ``http(s)`` URL (a proxy applies), the request fails
    or the header is missing; what ``s3-cli doctor`` calls "unknown".
    """
    import email.utils
    import time

    if not reachable_directly(endpoint):
        return None
    parts = urllib.parse.urlsplit(endpoint)
    conn: http.client.HTTPConnection
    try:  # a missing CA file fails here: the doctor reports it under TLS itself
        if parts.scheme == "https":
            conn = http.client.HTTPSConnection(parts.hostname or "", parts.port, timeout=timeout,
                                               context=ssl_context(verify))
        else:
            conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=timeout)
    except (OSError, ssl.SSLError):
        return None
    before = time.time()
    try:
        conn.request("HEAD", parts.path or "/")
        date = conn.getresponse().getheader("Date")
    except (OSError, http.client.HTTPException):
        return None
    finally:
        conn.close()
    after = time.time()
    try:
        server = email.utils.parsedate_to_datetime(date).timestamp() if date else None
    except (TypeError, ValueError):
        return None
    # Date is truncated to the second: +0.5 s centres it; compare with mid-request.
    return None if server is None else server + 0.5 - (before + after) / 2


class RestResponse:
    """A response whose body is still on the connection: ``readinto``, then ``release``.

    ``release()`` hands a fully read connection back to the pool; ``close()`` drops it
    (a body not read to the end cannot be reused).
    """

    __slots__ = ("_conn", "_pool", "headers", "length", "raw", "status")

    def __init__(self, pool: ConnectionPool, conn: http.client.HTTPConnection,
                 raw: http.client.HTTPResponse) -> None:
        self._pool = pool
        self._conn: http.client.HTTPConnection | None = conn
        self.raw = raw
        self.status = raw.status
        self.headers = raw.headers
        self.length = raw.length
        """The body's length (``Content-Length``), or ``None``."""

    def readinto(self, buf: memoryview) -> int:
        return self.raw.readinto(buf)

    def read(self, limit: int | None = None) -> bytes:
        return self.raw.read(limit)

    def release(self) -> None:
        conn, self._conn = self._conn, None
        if conn is None:
            return
        if self.raw.isclosed() or self.raw.length == 0:
            self.raw.close()
            self._pool.give_back(conn)
        else:
            self.raw.close()
            conn.close()

    def close(self) -> None:
        conn, self._conn = self._conn, None
        self.raw.close()
        if conn is not None:
            conn.close()

    def drain(self, limit: int = 64 * 1024) -> bytes:
        """Read a small body (an error document) and release the connection."""
        try:
            body = self.raw.read(limit) if self.length is None or self.length <= limit else b""
        except (OSError, http.client.HTTPException):
            body = b""
        self.release()
        return body


class ConnectionPool:
    """Keep-alive connections to one ``scheme://host:port``; thread-safe."""

    def __init__(self, endpoint: str, *, connect_timeout: float = 10.0, read_timeout: float = 60.0,
                 max_idle: int = 64, verify: bool | str | None = None) -> None:
        parts = urllib.parse.urlsplit(endpoint)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) endpoint: {endpoint!r}")
        self.endpoint = endpoint
        self.https = parts.scheme == "https"
        self.host = parts.hostname
        self.port = parts.port or (443 if self.https else 80)
        self._connect_timeout = connect_timeout
        self._read_timeout = read_timeout
        self._max_idle = max_idle
        self._verify = verify
        self._idle: list[http.client.HTTPConnection] = []
        self._lock = threading.Lock()
        self._ssl: ssl.SSLContext | None = None

    def request(self, method: str, target: str, headers: Mapping[str, str],
                body: memoryview | bytes | Iterable[bytes | memoryview] | None = None) -> RestResponse:
        """Send one request (``target`` = path and query) and return its response with the
        body unread (``readinto`` / ``drain``, then ``release``).

        An iterable body (pieces sent one after the other, e.g. a multipart frame around
        the caller's buffer) needs a ``Content-Length`` header, and must iterate afresh
        each time: a stale keep-alive connection makes the request go out a second time.
        """
        for fresh_only in (False, True):
            conn, reused = self._take(fresh_only)
            try:
                # A memoryview body (not bytes): http.client would otherwise concatenate
                # a bytes body to the header block, copying it into fresh pages.
                payload = memoryview(body) if isinstance(body, bytes) else body
                conn.request(method, target, body=payload, headers=dict(headers))
                return RestResponse(self, conn, conn.getresponse())
            except _STALE:
                conn.close()
                if not reused:
                    raise
            except BaseException:
                conn.close()
                raise
        raise AssertionError("unreachable")  # pragma: no cover

    def _take(self, fresh_only: bool) -> tuple[http.client.HTTPConnection, bool]:
        if not fresh_only:
            with self._lock:
                if self._idle:
                    return self._idle.pop(), True
        return self._connect(), False

    def _connect(self) -> http.client.HTTPConnection:
        conn: http.client.HTTPConnection
        if self.https:
            if self._ssl is None:
                self._ssl = ssl_context(self._verify)
            conn = http.client.HTTPSConnection(self.host, self.port, timeout=self._connect_timeout,
                                               context=self._ssl)
        else:
            conn = http.client.HTTPConnection(self.host, self.port, timeout=self._connect_timeout)
        conn.connect()
        assert conn.sock is not None
        conn.sock.settimeout(self._read_timeout)
        conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return conn

    def give_back(self, conn: http.client.HTTPConnection) -> None:
        """Return a connection whose last response was read to the end."""
        if conn.sock is None:  # the server asked to close ("Connection: close")
            return
        with self._lock:
            if len(self._idle) < self._max_idle:
                self._idle.append(conn)
                return
        conn.close()

    def idle_count(self) -> int:
        """Connections waiting in the pool."""
        return len(self._idle)

    def close(self) -> None:
        """Close every idle connection."""
        with self._lock:
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()
