"""``FaultProxy``: a loopback HTTP reverse proxy that injects network faults (issue 16).

Put it in front of one emulator (moto, SeaweedFS, Azurite, fake-gcs-server) and point the
store's endpoint at :attr:`FaultProxy.url`; every request is forwarded to the upstream
unless a fault matches it. Faults are *scripted* (:class:`Fault` rules: method, path
regex, skip the first ``after`` matches, apply ``times`` times) or *random* (``rate`` and
``seed``: a seeded generator picks a kind from ``random_kinds`` for that share of the
requests). Whatever was injected is counted in :attr:`FaultProxy.injected` and every
request is recorded in :attr:`FaultProxy.requests`, so a test can assert both what the
client saw and what the proxy did.

Fault kinds (:data:`KINDS`):

=================== ==============================================================
``refuse``          the listening socket is closed for ``delay`` seconds: connects
                    are refused (nothing reached the server)
``drop``            request read, connection closed (FIN) before any response
``reset``           request read, connection reset (RST) before any response
``reset_mid_body``  forwarded; headers and half the body sent, then RST
``truncate``        forwarded; the full ``Content-Length`` promised, half the body
                    sent, then FIN
``lost_response``   forwarded (the server applied it), then the connection is closed
                    without a response
``drip``            forwarded; the body sent in small pieces ``delay`` apart (below
                    the read timeout: the call must still succeed)
``stall``           request read, nothing sent for ``delay`` seconds (past the read
                    timeout), then closed
``status``          answered with ``status`` (default 503) and an error document with
                    ``code``; ``retry_after`` adds ``Retry-After`` (429/503 throttling,
                    401/403 "credentials rejected once", 500/502/504)
``error_200``       forwarded, then answered 200 with an ``<Error>`` document (the
                    CompleteMultipartUpload / Put Block List / compose trap)
``flip``            forwarded; one byte of the response body flipped
``flip_request``    one byte of the request body flipped before forwarding
``redirect``        answered ``307`` with ``Location`` = ``location`` (default: the
                    same URL on the proxy itself)
=================== ==============================================================

Plain threads and ``http.client``; no event loop, nothing imported at
``import s3dlio.testing`` time.
"""

from __future__ import annotations

import collections
import http.client
import random
import re
import socket
import struct
import threading
import time
import urllib.parse
from collections.abc import Iterable, Sequence
from typing import Any

import attrs

__all__ = ["KINDS", "RANDOM_KINDS", "Fault", "FaultProxy", "ProxiedRequest"]

KINDS: tuple[str, ...] = (
    "refuse", "drop", "reset", "reset_mid_body", "truncate", "lost_response", "drip", "stall",
    "status", "error_200", "flip", "flip_request", "redirect",
)

RANDOM_KINDS: tuple[str, ...] = (
    "drop", "reset", "reset_mid_body", "truncate", "lost_response", "status", "flip",
)
"""The kinds random mode draws from by default: each must end in a retried success or a
typed error, fast (no stalls, no refusal windows)."""

_HOP_BY_HOP = frozenset({
    "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailers",
    "transfer-encoding", "upgrade", "content-length",
})


@attrs.frozen
class Fault:
    """One scripted fault: which requests it hits and what it does to them."""

    kind: str = attrs.field(validator=attrs.validators.in_(KINDS))
    method: str | None = None
    """Only requests with this method (``GET``, ``PUT``, ``POST``…); ``None``: any."""
    path: str | None = None
    """A regex searched in the request target (path and query, e.g. ``uploads$``)."""
    after: int = 0
    """Let this many matching requests through first."""
    times: int = 1
    """How many matching requests get the fault (``0``: every one)."""
    status: int = 503
    code: str = "SlowDown"
    retry_after: float | None = None
    delay: float = 0.05
    """``drip``: seconds between pieces; ``stall``: seconds of silence; ``refuse``: seconds
    the port stays closed."""
    location: str | None = None

    def matches(self, method: str, target: str) -> bool:
        if self.method is not None and method.upper() != self.method.upper():
            return False
        return self.path is None or re.search(self.path, target) is not None


@attrs.frozen
class ProxiedRequest:
    """What the proxy saw of one request and what it did."""

    method: str
    target: str
    body_size: int
    fault: str | None
    status: int | None
    """The status the client received (``None``: no response)."""


@attrs.define
class _Rule:
    fault: Fault
    seen: int = 0
    applied: int = 0


class FaultProxy:
    """A loopback reverse proxy to ``upstream`` (``http://127.0.0.1:port``) with faults.

    ``faults``: scripted rules, tried in order (the first whose match count is due
    applies). ``rate``/``seed``: additionally, that share of the remaining requests gets a
    random kind of ``random_kinds``. ``flavor`` shapes error documents (``s3``, ``azure``,
    ``gcs``). A context manager; :attr:`url` is ``http://127.0.0.1:<port>``.
    """

    def __init__(
        self,
        upstream: str,
        faults: Iterable[Fault] = (),
        *,
        rate: float = 0.0,
        seed: int = 0,
        random_kinds: Sequence[str] = RANDOM_KINDS,
        flavor: str = "s3",
        upstream_timeout: float = 60.0,
    ) -> None:
        parts = urllib.parse.urlsplit(upstream)
        if parts.scheme != "http" or not parts.hostname:
            raise ValueError(f"FaultProxy forwards to an http:// upstream, got {upstream!r}")
        for kind in random_kinds:
            if kind not in KINDS:
                raise ValueError(f"unknown fault kind {kind!r}; one of {', '.join(KINDS)}")
        self._upstream = (parts.hostname, parts.port or 80)
        self._rules = [_Rule(f) for f in faults]
        self._rate = float(rate)
        self._random = random.Random(seed)
        self._random_kinds = tuple(random_kinds)
        self._flavor = flavor
        self._upstream_timeout = upstream_timeout
        self._lock = threading.Lock()
        self.injected: collections.Counter[str] = collections.Counter()
        """Faults injected so far, by kind."""
        self.requests: list[ProxiedRequest] = []
        """Every request seen, in arrival order."""
        self._closed = threading.Event()
        self._conns: set[socket.socket] = set()
        self._listener: socket.socket | None = self._listen(0)
        self.port: int = self._listen_port()
        self._accepting = threading.Thread(target=self._accept_loop, name="fault-proxy", daemon=True)
        self._accepting.start()

    def _listen_port(self) -> int:
        assert self._listener is not None
        return int(self._listener.getsockname()[1])

    # ------------------------------------------------------------------ public
    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    endpoint_url = url

    def add(self, *faults: Fault) -> None:
        """Append scripted faults (a test may script the next step mid-run)."""
        with self._lock:
            self._rules.extend(_Rule(f) for f in faults)

    def clear(self) -> None:
        """Drop every scripted rule and stop random faults (counts are kept)."""
        with self._lock:
            self._rules.clear()
            self._rate = 0.0

    @property
    def total_injected(self) -> int:
        return sum(self.injected.values())

    def close(self) -> None:
        self._closed.set()
        with self._lock:
            listener, self._listener = self._listener, None
            conns = list(self._conns)
        if listener is not None:
            _stop_listening(listener)
        for conn in conns:
            _close_quietly(conn)
        self._accepting.join(timeout=5)

    def __enter__(self) -> FaultProxy:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --------------------------------------------------------------- listening
    @staticmethod
    def _listen(port: int) -> socket.socket:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", port))
        sock.listen(128)
        sock.settimeout(0.2)  # so close() is noticed promptly
        return sock

    def _accept_loop(self) -> None:
        while not self._closed.is_set():
            listener = self._listener
            if listener is None:
                time.sleep(0.01)  # a "refuse" window: the port is closed
                continue
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                if self._closed.is_set():
                    return
                time.sleep(0.01)
                continue
            conn.settimeout(None)
            with self._lock:
                self._conns.add(conn)
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _refuse_for(self, seconds: float) -> None:
        """Close the port for ``seconds``, then listen on the same port again."""
        with self._lock:
            listener, self._listener = self._listener, None
        if listener is not None:
            _stop_listening(listener)

        def reopen() -> None:
            time.sleep(seconds)
            if self._closed.is_set():
                return
            for _ in range(100):
                try:
                    sock = self._listen(self.port)
                except OSError:
                    time.sleep(0.02)
                    continue
                with self._lock:
                    self._listener = sock
                return

        threading.Thread(target=reopen, daemon=True).start()

    # ---------------------------------------------------------------- choosing
    def _choose(self, method: str, target: str) -> Fault | None:
        with self._lock:
            for rule in self._rules:
                if not rule.fault.matches(method, target):
                    continue
                rule.seen += 1
                if rule.seen <= rule.fault.after:
                    continue
                if rule.fault.times and rule.applied >= rule.fault.times:
                    continue
                rule.applied += 1
                return rule.fault
            if self._rate > 0 and self._random.random() < self._rate:
                kind = self._random.choice(self._random_kinds)
                status = self._random.choice((500, 502, 503, 504)) if kind == "status" else 503
                code = {500: "InternalError", 502: "BadGateway", 503: "SlowDown",
                        504: "GatewayTimeout"}[status]
                return Fault(kind, status=status, code=code)
        return None

    # ----------------------------------------------------------------- serving
    def _serve(self, conn: socket.socket) -> None:
        reader = conn.makefile("rb")
        try:
            while not self._closed.is_set():
                request = _read_request(reader, conn)
                if request is None:
                    return
                method, target, headers, body = request
                fault = self._choose(method, target)
                keep = self._handle(conn, method, target, headers, body, fault)
                if not keep:
                    return
        except (OSError, ValueError):
            return
        finally:
            with self._lock:
                self._conns.discard(conn)
            _close_quietly(reader)
            _close_quietly(conn)

    def _record(self, method: str, target: str, body: bytes, fault: Fault | None,
                status: int | None) -> None:
        with self._lock:
            if fault is not None:
                self.injected[fault.kind] += 1
            self.requests.append(ProxiedRequest(method, target, len(body),
                                                fault.kind if fault else None, status))

    def _handle(self, conn: socket.socket, method: str, target: str, headers: list[tuple[str, str]],
                body: bytes, fault: Fault | None) -> bool:
        """Serve one request; ``False`` when the connection must end."""
        kind = fault.kind if fault is not None else None
        if fault is not None and kind in ("refuse", "drop", "reset", "stall", "status", "redirect"):
            self._record(method, target, body, fault,
                         fault.status if kind == "status" else 307 if kind == "redirect" else None)
            if kind == "refuse":
                self._refuse_for(fault.delay)
                _reset(conn)
                return False
            if kind == "drop":
                return False
            if kind == "reset":
                _reset(conn)
                return False
            if kind == "stall":
                self._closed.wait(fault.delay)
                return False
            if kind == "status":
                conn.sendall(self._error_response(fault, method))
                return True
            location = fault.location or f"{self.url}{target}"
            conn.sendall(_response_bytes(307, "Temporary Redirect",
                                         [("Location", location), ("Content-Length", "0")], b""))
            return True
        if fault is not None and kind == "flip_request" and body:
            body = _flip(body)
        try:
            status, reason, resp_headers, resp_body = self._forward(method, target, headers, body)
        except OSError:
            self._record(method, target, body, None, None)
            return False  # upstream unreachable: the client sees a dropped connection
        if kind == "lost_response":
            self._record(method, target, body, fault, None)
            return False
        if kind == "error_200":
            assert fault is not None
            self._record(method, target, body, fault, 200)
            doc = self._error_doc("InternalError", "injected: error inside a 200 response")
            conn.sendall(_response_bytes(200, "OK", [("Content-Type", "application/xml"),
                                                     ("Content-Length", str(len(doc)))], doc))
            return True
        if kind in ("flip", "truncate", "reset_mid_body", "drip") and not resp_body:
            fault, kind = None, None  # nothing to damage (HEAD, empty body): forward as is
        if kind == "flip":
            resp_body = _flip(resp_body)
        head_only = method == "HEAD"
        out_headers = [(k, v) for k, v in resp_headers if k.lower() not in _HOP_BY_HOP]
        out_headers.append(("Content-Length", _length_header(resp_headers, resp_body, head_only)))
        self._record(method, target, body, fault, status)
        head = _response_bytes(status, reason, out_headers, b"")
        payload = b"" if head_only else resp_body
        if kind == "truncate":
            conn.sendall(head + payload[: len(payload) // 2])
            conn.shutdown(socket.SHUT_WR)
            return False
        if kind == "reset_mid_body":
            conn.sendall(head + payload[: len(payload) // 2])
            _reset(conn)
            return False
        if kind == "drip":
            assert fault is not None
            conn.sendall(head)
            step = max(1, len(payload) // 8)
            for i in range(0, len(payload), step):
                self._closed.wait(fault.delay)
                conn.sendall(payload[i : i + step])
            return True
        conn.sendall(head + payload)
        return True

    def _forward(self, method: str, target: str, headers: list[tuple[str, str]],
                 body: bytes) -> tuple[int, str, list[tuple[str, str]], bytes]:
        up = http.client.HTTPConnection(*self._upstream, timeout=self._upstream_timeout)
        try:
            up.putrequest(method, target, skip_host=True, skip_accept_encoding=True)
            for name, value in headers:
                if name.lower() not in _HOP_BY_HOP:
                    up.putheader(name, value)
            if body or method in ("PUT", "POST"):
                up.putheader("Content-Length", str(len(body)))
            up.endheaders(body or None)
            resp = up.getresponse()
            data = resp.read()
            return resp.status, resp.reason, resp.getheaders(), data
        finally:
            up.close()

    # ------------------------------------------------------------ error bodies
    def _error_doc(self, code: str, message: str) -> bytes:
        if self._flavor == "gcs":
            return (f'{{"error": {{"code": 503, "message": "{message}", '
                    f'"errors": [{{"reason": "{code}", "message": "{message}"}}]}}}}').encode()
        return (f"<?xml version='1.0' encoding='UTF-8'?><Error><Code>{code}</Code>"
                f"<Message>{message}</Message><RequestId>fault-proxy</RequestId></Error>").encode()

    def _error_response(self, fault: Fault, method: str) -> bytes:
        doc = self._error_doc(fault.code, "injected by FaultProxy")
        ctype = "application/json" if self._flavor == "gcs" else "application/xml"
        headers = [("Content-Type", ctype), ("Content-Length", str(len(doc))),
                   ("x-amz-request-id", "fault-proxy"), ("x-ms-error-code", fault.code)]
        if fault.retry_after is not None:
            headers.append(("Retry-After", f"{fault.retry_after:g}"))
        reason = http.client.responses.get(fault.status, "Error")
        return _response_bytes(fault.status, reason, headers, b"" if method == "HEAD" else doc)


# ---------------------------------------------------------------------------- helpers


def _read_request(reader: Any, conn: socket.socket) -> tuple[str, str, list[tuple[str, str]], bytes] | None:
    """One HTTP/1.1 request from ``reader`` (``None`` at a clean EOF)."""
    line = reader.readline(65537)
    while line in (b"\r\n", b"\n"):
        line = reader.readline(65537)
    if not line:
        return None
    try:
        method, target, _version = line.decode("latin-1").rstrip("\r\n").split(" ", 2)
    except ValueError:
        raise ValueError(f"bad request line {line!r}") from None
    headers: list[tuple[str, str]] = []
    while True:
        h = reader.readline(65537)
        if h in (b"\r\n", b"\n", b""):
            break
        name, _, value = h.decode("latin-1").partition(":")
        headers.append((name.strip(), value.strip()))
    lookup = {k.lower(): v for k, v in headers}
    if lookup.get("expect", "").lower() == "100-continue":
        # Answer at once, as a server would: a client waits for it before sending the body.
        conn.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
        headers = [(k, v) for k, v in headers if k.lower() != "expect"]
    if lookup.get("transfer-encoding", "").lower() == "chunked":
        chunks = []
        while True:
            size = int(reader.readline(65537).split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while reader.readline(65537) not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                break
            chunks.append(reader.read(size))
            reader.readline(65537)
        body = b"".join(chunks)
        headers = [(k, v) for k, v in headers if k.lower() != "transfer-encoding"]
    else:
        length = int(lookup.get("content-length") or 0)
        body = reader.read(length) if length else b""
        if len(body) != length:
            raise ValueError("request body cut short")
    return method, target, headers, body


def _response_bytes(status: int, reason: str, headers: list[tuple[str, str]], body: bytes) -> bytes:
    lines = [f"HTTP/1.1 {status} {reason}"] + [f"{k}: {v}" for k, v in headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def _length_header(headers: list[tuple[str, str]], body: bytes, head_only: bool) -> str:
    if head_only:
        for name, value in headers:
            if name.lower() == "content-length":
                return value
    return str(len(body))


def _flip(data: bytes) -> bytes:
    i = len(data) // 2
    return data[:i] + bytes([data[i] ^ 0x01]) + data[i + 1 :]


def _reset(conn: socket.socket) -> None:
    """Close with RST (``SO_LINGER`` 0) instead of FIN."""
    try:
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    _close_quietly(conn)


def _stop_listening(sock: socket.socket) -> None:
    """Stop accepting now: ``close()`` alone leaves the port listening while another
    thread is still inside ``accept()`` on it (Linux); ``shutdown`` wakes that thread."""
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    _close_quietly(sock)


def _close_quietly(obj: Any) -> None:
    try:
        obj.close()
    except OSError:
        pass
