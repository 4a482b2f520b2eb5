"""A lean JSON-API client for the two requests that move data: media GET and upload.

Why not the authorised ``requests`` session for these: its request pipeline (session
hooks, adapters, urllib3's pool and response wrappers, google-auth's per-request
checks) costs ≈ 0.4 ms of client CPU per request on the benchmark machine — most of a
small object's cost (docs/performance.md, GCS). Here each of these requests is one
``http.client`` exchange on a pooled keep-alive connection (:mod:`s3dlio.store.httpclient`):
the body sent from the caller's memory, the response read with ``readinto`` into the
caller's buffer.

Authentication is google-auth's own: ``credentials.before_request`` adds the bearer
token (and the quota-project header) and refreshes an expired token through the
session's token request, exactly as ``AuthorizedSession`` does, including one refresh and
re-send on a 401 answer. Listings, metadata, deletes, composes, copies and buckets stay on
the SDK; so does every request when an environment proxy applies to the endpoint or
client certificates (mTLS) are configured. ``[gcs] rest_data_path = false``
(``S3DLIO_GCS_REST=0``) sends everything through the session.

Responses are :class:`LeanResponse`: the part of ``requests.Response`` the store uses
(``status_code``, ``headers``, ``content``, ``text``, ``json()``, ``close()``), plus
``readinto``/``release`` for bodies read straight into a buffer.
"""

from __future__ import annotations

import json
import os
import urllib.parse
from collections.abc import Iterable, Mapping
from typing import Any

from s3dlio.store.httpclient import ConnectionPool, RestResponse, reachable_directly

__all__ = ["GcsRest", "LeanResponse", "rest_usable"]

_MTLS_ENV = "GOOGLE_API_USE_CLIENT_CERTIFICATE"


def rest_usable(api_base: str) -> bool:
    """Whether the lean path can serve ``api_base``: plain http(s), no environment proxy,
    no client certificates (the session's mTLS channel would be bypassed)."""
    mtls = os.environ.get(_MTLS_ENV, "").strip().lower() == "true"
    return not mtls and reachable_directly(api_base)


class LeanResponse:
    """A response with its body still on the connection (see the module docstring)."""

    __slots__ = ("_body", "_rest", "headers", "status_code")

    def __init__(self, rest: RestResponse) -> None:
        self._rest = rest
        self._body: bytes | None = None
        self.status_code = rest.status
        self.headers = rest.headers
        """The response headers (``email.message.Message``: case-insensitive ``get``)."""

    def readinto(self, buf: memoryview) -> int:
        return self._rest.readinto(buf)

    def release(self) -> None:
        """Hand the connection back once the body has been read to the end."""
        self._rest.release()

    def close(self) -> None:
        """Drop the connection (a body not read to the end cannot be reused)."""
        self._rest.close()

    @property
    def content(self) -> bytes:
        """The whole body (read once, then the connection is released)."""
        if self._body is None:
            try:
                self._body = self._rest.read()
            except BaseException:
                self._rest.close()
                raise
            self._rest.release()
        return self._body

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", "replace")

    def json(self) -> Any:
        return json.loads(self.content) if self.content else None


class GcsRest:
    """Media GETs and uploads against one JSON-API base URL (built per process).

    ``credentials`` are google-auth credentials (``None`` or anonymous: no header);
    ``auth_request`` is the ``google.auth.transport`` request object used to refresh
    their token (the authorised session's own).
    """

    def __init__(self, api_base: str, credentials: Any, auth_request: Any, *,
                 connect_timeout: float = 10.0, read_timeout: float = 60.0, max_idle: int = 64,
                 verify: bool | str | None = None) -> None:
        parts = urllib.parse.urlsplit(api_base)
        self._origin = f"{parts.scheme}://{parts.netloc}"
        self.pool = ConnectionPool(self._origin, connect_timeout=connect_timeout,
                                   read_timeout=read_timeout, max_idle=max_idle, verify=verify)
        self._credentials = None if _anonymous(credentials) else credentials
        self._auth_request = auth_request

    def request(self, method: str, url: str, params: Mapping[str, str], headers: Mapping[str, str],
                body: memoryview | bytes | Iterable[bytes | memoryview] | None = None,
                length: int = 0) -> LeanResponse:
        """Send ``method url?params`` (``url`` under the API base); ``length`` is the
        body's size (an iterable body is sent as it is, framed by ``Content-Length``)."""
        if not url.startswith(self._origin):
            raise ValueError(f"{url!r} is not under {self._origin!r}")
        query = urllib.parse.urlencode(params) if params else ""
        target = url[len(self._origin):] + ("?" + query if query else "")
        full_url = url + ("?" + query if query else "")
        sent = dict(headers)
        sent["Content-Length"] = str(length if body is not None else 0)
        creds = self._credentials
        for attempt in (1, 2):
            if creds is not None:
                creds.before_request(self._auth_request, method, full_url, sent)
            resp = self.pool.request(method, target, sent, body)
            if resp.status != 401 or creds is None or attempt == 2:
                return LeanResponse(resp)
            # As AuthorizedSession: a token the server no longer accepts is refreshed
            # once and the request sent again (bodies here are re-sendable).
            resp.drain()
            creds.refresh(self._auth_request)
        raise AssertionError("unreachable")  # pragma: no cover

    def close(self) -> None:
        """Close every idle connection."""
        self.pool.close()


def _anonymous(credentials: Any) -> bool:
    from google.auth.credentials import AnonymousCredentials

    return credentials is None or isinstance(credentials, AnonymousCredentials)
