"""A lean Blob REST client for the three requests that move data: Put Blob, Put Block, Get Blob.

Why not the SDK for these: azure-storage-blob runs about 6,000 Python calls per request
(a generated client per ``BlobClient``, fifteen pipeline policies, proxy lookups that
walk ``os.environ`` twice, header dictionaries rebuilt several times), ≈ 2 ms of client
CPU per request on the benchmark machine. That is a quarter of an 8 MiB upload's CPU
and all of a small object's (docs/performance.md, "Azure"). These three requests are
simple, stable and documented; here each one is a single ``http.client`` exchange on a
pooled keep-alive connection, signed with Shared Key (or carrying a SAS token), with the
body sent from the caller's memory and read with ``readinto`` into the result buffer.

Everything else — listings, deletes and blob batches, Put Block List, properties,
containers, copies — stays on the SDK, as do Microsoft Entra ID credentials and
endpoints reached through a proxy (:func:`rest_usable`). ``[azure] rest_data_path =
false`` (``S3DLIO_AZURE_REST=0``) sends every request through the SDK.

Errors: a non-2xx answer raises :class:`BlobRestError`, which carries what the SDK's
``HttpResponseError`` carries (status, ``x-ms-error-code``, headers, message) and is
translated by :func:`s3dlio_azure.errors.translate` exactly like it; connection
failures are the standard library's (``ConnectionError``, ``TimeoutError``,
``ssl.SSLError``, ``http.client.HTTPException``), which the same function maps.
Connections, stale-connection handling and TLS come from :mod:`s3dlio.store.httpclient`.
"""

from __future__ import annotations

import base64
import email.utils
import hashlib
import hmac
import time
import urllib.parse
from collections.abc import Mapping
from email.message import Message

from s3dlio.store.httpclient import ConnectionPool, RestResponse, error_fields, reachable_directly

__all__ = ["API_VERSION", "BlobRest", "BlobRestError", "RestResponse", "rest_usable"]

API_VERSION = "2025-01-05"
"""x-ms-version of the REST requests: supported by the service and by Azurite 3.35."""

_SIGNED_HEADERS = ("content-encoding", "content-language", "content-length", "content-md5",
                   "content-type", "date", "if-modified-since", "if-match", "if-none-match",
                   "if-unmodified-since", "range")


class BlobRestError(Exception):
    """A non-2xx answer to a REST request (shaped like azure-core's ``HttpResponseError``)."""

    def __init__(self, status: int, reason: str, headers: Message | Mapping[str, str],
                 body: bytes) -> None:
        fields = error_fields(body)
        self.status_code = status
        self.error_code = headers.get("x-ms-error-code") or fields.get("Code", "")
        text = fields.get("Message") or reason
        self.message = " ".join(text.split()) or f"HTTP {status}"
        self.reason = self.message
        self.response = _ErrorResponse(status, headers)
        super().__init__(f"{status} {self.error_code}: {self.message}")


class _ErrorResponse:
    """What :func:`s3dlio_azure.errors.translate` reads from an error's ``response``."""

    __slots__ = ("headers", "status_code")

    def __init__(self, status: int, headers: Message | Mapping[str, str]) -> None:
        self.status_code = status
        self.headers = headers


def rest_usable(endpoint: str, kind: str) -> bool:
    """Whether the REST path can serve ``endpoint`` with credentials of ``kind``.

    Entra ID tokens (``identity``) stay with the SDK's token policy; so does an endpoint
    that a proxy from the environment applies to (requests honours ``HTTPS_PROXY`` /
    ``NO_PROXY``; this client does not speak to proxies).
    """
    return kind in ("connection_string", "key", "sas", "anonymous") and reachable_directly(endpoint)


class _Clock:
    """``x-ms-date`` text, formatted once per second (formatdate costs ≈ 5 µs)."""

    __slots__ = ("second", "text")

    def __init__(self) -> None:
        self.second = -1
        self.text = ""

    def now(self) -> str:
        second = int(time.time())
        if second != self.second:
            self.text = email.utils.formatdate(second, usegmt=True)
            self.second = second
        return self.text


class BlobRest:
    """Put Blob / Put Block / Get Blob against one account endpoint.

    Built per process (the store caches it with its SDK clients); thread-safe: each
    request takes a connection from the endpoint's :class:`~s3dlio.store.httpclient.ConnectionPool`.
    """

    def __init__(self, endpoint: str, account: str, *, account_key: str | None = None,
                 sas: str | None = None, connect_timeout: float = 10.0, read_timeout: float = 60.0,
                 max_idle: int = 64) -> None:
        parts = urllib.parse.urlsplit(endpoint.rstrip("/"))
        self.endpoint = endpoint
        self.account = account
        self.pool = ConnectionPool(f"{parts.scheme}://{parts.netloc}", connect_timeout=connect_timeout,
                                   read_timeout=read_timeout, max_idle=max_idle)
        self._base_path = parts.path.rstrip("/")
        self._key = base64.b64decode(account_key) if account_key else None
        self._sas = sas.lstrip("?") if sas else None
        self._clock = _Clock()

    @property
    def _https(self) -> bool:
        return self.pool.https

    # ------------------------------------------------------------ requests
    def put_blob(self, container: str, key: str, body: memoryview, *,
                 metadata: Mapping[str, str] | None = None, content_type: str | None = None,
                 content_md5: bytes | None = None) -> Message:
        """Put Blob (a block blob) from ``body``; returns the response headers."""
        headers = {"x-ms-blob-type": "BlockBlob", "Content-Type": "application/octet-stream"}
        if content_type:
            headers["x-ms-blob-content-type"] = content_type
        if content_md5 is not None:
            headers["Content-MD5"] = base64.b64encode(content_md5).decode("ascii")
        for name, value in (metadata or {}).items():
            headers[f"x-ms-meta-{name}"] = value
        return self._exchange("PUT", container, key, {}, headers, body)

    def put_block(self, container: str, key: str, block_id: str, body: memoryview, *,
                  content_md5: bytes | None = None) -> Message:
        """Put Block: stage ``body`` as ``block_id`` (base64 text) of ``key``."""
        headers = {"Content-Type": "application/octet-stream"}
        if content_md5 is not None:
            headers["Content-MD5"] = base64.b64encode(content_md5).decode("ascii")
        return self._exchange("PUT", container, key, {"comp": "block", "blockid": block_id},
                              headers, body)

    def open_get(self, container: str, key: str, *, start: int | None = None,
                 end: int | None = None, if_match: str | None = None,
                 range_md5: bool = False) -> RestResponse:
        """Get Blob, optionally of bytes ``start..end`` (inclusive); the body is left to read."""
        headers: dict[str, str] = {}
        if start is not None:
            headers["x-ms-range"] = f"bytes={start}-{'' if end is None else end}"
            if range_md5:
                headers["x-ms-range-get-content-md5"] = "true"
        if if_match:
            headers["If-Match"] = if_match
        resp = self._send("GET", container, key, {}, headers, None)
        if resp.status >= 300:
            self._fail(resp)
        return resp

    # ------------------------------------------------------------- plumbing
    def _exchange(self, method: str, container: str, key: str, query: dict[str, str],
                  headers: dict[str, str], body: memoryview | None) -> Message:
        resp = self._send(method, container, key, query, headers, body)
        if resp.status >= 300:
            self._fail(resp)
        resp.drain()  # the (empty) body: the connection is reusable only once it is read
        return resp.headers

    @staticmethod
    def _fail(resp: RestResponse) -> None:
        body = resp.drain()
        raise BlobRestError(resp.status, resp.raw.reason, resp.headers, body)

    def _path(self, container: str, key: str) -> str:
        # The encoding the SDK uses for blob URLs (and the one the signature is computed on).
        return (f"{self._base_path}/{urllib.parse.quote(container)}/"
                f"{urllib.parse.quote(key, safe='~/')}")

    def _send(self, method: str, container: str, key: str, query: dict[str, str],
              headers: dict[str, str], body: memoryview | None) -> RestResponse:
        path = self._path(container, key)
        headers["x-ms-version"] = API_VERSION
        headers["x-ms-date"] = self._clock.now()
        headers["Content-Length"] = str(len(body)) if body is not None else "0"
        if self._key is not None:
            headers["Authorization"] = self._authorization(method, path, query, headers)
        params = "&".join(f"{k}={urllib.parse.quote(v, safe='')}" for k, v in query.items())
        if self._sas:
            params = f"{params}&{self._sas}" if params else self._sas
        return self.pool.request(method, f"{path}?{params}" if params else path, headers, body)

    def _authorization(self, method: str, path: str, query: Mapping[str, str],
                       headers: Mapping[str, str]) -> str:
        """Shared Key (the string to sign of the 2009-09-19+ versions)."""
        lower = {k.lower(): v for k, v in headers.items()}
        if lower.get("content-length") == "0":
            del lower["content-length"]
        lines = [method] + [lower.get(name, "") for name in _SIGNED_HEADERS]
        canonical_headers = "".join(f"{k}:{lower[k].strip()}\n"
                                    for k in sorted(k for k in lower if k.startswith("x-ms-")))
        resource = f"/{self.account}{path}" + "".join(
            f"\n{k.lower()}:{v}" for k, v in sorted(query.items()))
        to_sign = "\n".join(lines) + "\n" + canonical_headers + resource
        assert self._key is not None
        digest = hmac.new(self._key, to_sign.encode("utf-8"), hashlib.sha256).digest()
        return f"SharedKey {self.account}:{base64.b64encode(digest).decode('ascii')}"

    def close(self) -> None:
        """Close every idle connection."""
        self.pool.close()
