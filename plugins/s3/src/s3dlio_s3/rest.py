"""A lean S3 client for the requests that move data: GetObject, PutObject, UploadPart.

Why not botocore for these: its request pipeline (event hooks, parameter serialisation,
response parsing) costs ≈ 2 ms of client CPU per request on the benchmark machine —
all of a small object's cost (docs/performance.md, "Per-request client CPU"). Here each
of these requests is one ``http.client`` exchange on a pooled keep-alive connection
(:mod:`s3dlio.store.httpclient`), signed with AWS Signature Version 4 from botocore's own
resolved credentials (so the whole credential chain, refreshes and session tokens
included, is unchanged), the body sent from the caller's memory and the response read
with ``readinto`` into the caller's buffer.

Everything else (listings, deletes, HEAD, multipart create/complete/abort, buckets,
copies) stays on botocore, as does every request of a store that follows redirects
(AIStore) or reaches its endpoint through an environment proxy. ``[s3] rest_data_path =
false`` (``S3DLIO_S3_REST=0``) sends everything through botocore.

A non-2xx answer raises botocore's own ``ClientError`` built from the S3 error document
(code, message, request id, status, headers), so :func:`s3dlio_s3.errors.translate`
maps both paths the same way.
"""

from __future__ import annotations

import hashlib
import hmac
import time
import urllib.parse
from collections.abc import Callable, Mapping
from email.message import Message
from typing import Any

from s3dlio.store.httpclient import ConnectionPool, RestResponse, error_fields, reachable_directly

__all__ = ["EMPTY_SHA256", "S3Rest", "rest_usable", "sigv4_authorization"]

EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
UNSIGNED = "UNSIGNED-PAYLOAD"



def rest_usable(endpoint_url: str, *, follow_redirects: bool) -> bool:
    """Whether the REST path can serve a store: not while following redirects (the
    botocore path replays bodies across hops) nor through an environment proxy."""
    return not follow_redirects and reachable_directly(endpoint_url)


def _quote(text: str, safe: str = "") -> str:
    return urllib.parse.quote(text, safe=safe + "-_.~")


class _SigningKeys:
    """SigV4 signing keys by (secret, date, region): one HMAC chain per day, not per request."""

    __slots__ = ("_cache",)

    def __init__(self) -> None:
        self._cache: dict[tuple[str, str, str], bytes] = {}

    def get(self, secret: str, date: str, region: str) -> bytes:
        key = (secret, date, region)
        signing = self._cache.get(key)
        if signing is None:
            k = hmac.new(("AWS4" + secret).encode("utf-8"), date.encode("ascii"), hashlib.sha256).digest()
            for part in (region, "s3", "aws4_request"):
                k = hmac.new(k, part.encode("ascii"), hashlib.sha256).digest()
            if len(self._cache) > 16:
                self._cache.clear()
            signing = self._cache[key] = k
        return signing


def sigv4_authorization(method: str, path: str, query: list[tuple[str, str]], headers: Mapping[str, str],
                        payload_hash: str, *, access_key: str, signing_key: bytes, amz_date: str,
                        region: str) -> str:
    """The ``Authorization`` header of a SigV4-signed S3 request.

    ``path`` is the URI-encoded path as sent (S3 does not encode it twice); every header
    given is signed (names lower-cased, values trimmed, runs of spaces folded).
    """
    lower = sorted((k.lower(), " ".join(str(v).split())) for k, v in headers.items())
    signed = ";".join(k for k, _ in lower)
    canonical = "\n".join((
        method, path,
        "&".join(f"{_quote(k)}={_quote(v)}" for k, v in sorted(query)),
        "".join(f"{k}:{v}\n" for k, v in lower),
        signed, payload_hash,
    ))
    scope = f"{amz_date[:8]}/{region}/s3/aws4_request"
    digest = hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    to_sign = f"AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{digest}"
    signature = hmac.new(signing_key, to_sign.encode("utf-8"), hashlib.sha256).hexdigest()
    return f"AWS4-HMAC-SHA256 Credential={access_key}/{scope}, SignedHeaders={signed}, Signature={signature}"


class S3Rest:
    """GetObject / PutObject / UploadPart of one bucket at one endpoint (built per process).

    ``credentials()`` returns botocore frozen credentials (``access_key``, ``secret_key``,
    ``token``) or ``None`` for anonymous (unsigned) requests.
    """

    def __init__(self, endpoint_url: str, bucket: str, region: str, *, path_style: bool,
                 credentials: Callable[[], Any], unsigned_payload: bool = True,
                 connect_timeout: float = 10.0, read_timeout: float = 60.0, max_idle: int = 64,
                 verify: bool | str | None = None) -> None:
        parts = urllib.parse.urlsplit(endpoint_url.rstrip("/"))
        netloc = parts.netloc
        if parts.port in (80, 443) and (parts.port == 443) == (parts.scheme == "https"):
            netloc = parts.hostname or netloc  # botocore signs the host without a default port
        base = parts.path.rstrip("/")
        from botocore.utils import check_dns_name

        # As botocore: names that are not DNS labels (``_``, upper case) stay path-style;
        # dotted names too, since they break virtual-hosted TLS certificates.
        if path_style or "." in bucket or not check_dns_name(bucket):
            self._host = netloc
            self._prefix = f"{base}/{_quote(bucket)}"
        else:
            self._host = f"{bucket}.{netloc}"
            self._prefix = base
        self.pool = ConnectionPool(f"{parts.scheme}://{self._host}", connect_timeout=connect_timeout,
                                   read_timeout=read_timeout, max_idle=max_idle, verify=verify)
        self.bucket = bucket
        self.region = region
        self._credentials = credentials
        self._unsigned_payload = unsigned_payload
        self._keys = _SigningKeys()
        self.observers: list[Callable[[str], object]] = []
        """Called with the S3 operation name (``GetObject``, …) before each request is
        sent, like botocore's ``before-call`` event (request counting in tests, tracing)."""

    # ------------------------------------------------------------ requests
    def get(self, key: str, *, start: int | None = None, end: int | None = None,
            if_match: str | None = None, checksum_mode: bool = False) -> RestResponse:
        """GetObject (bytes ``start..end`` inclusive when given); the body is left to read.
        ``checksum_mode``: ask for the stored checksums (``x-amz-checksum-*`` headers)."""
        headers: dict[str, str] = {}
        if checksum_mode:
            headers["x-amz-checksum-mode"] = "ENABLED"
        if start is not None:
            headers["Range"] = f"bytes={start}-{'' if end is None else end}"
        if if_match:
            headers["If-Match"] = if_match
        return self._send("GET", key, [], headers, None, "GetObject")

    def put(self, key: str, body: memoryview, *, checksum_crc32c: str | None = None,
            content_type: str | None = None) -> Message:
        """PutObject from ``body``; returns the response headers."""
        headers = {"Content-Type": content_type} if content_type else {}
        if checksum_crc32c:
            headers["x-amz-checksum-crc32c"] = checksum_crc32c
        return self._exchange("PUT", key, [], headers, body, "PutObject")

    def upload_part(self, key: str, upload_id: str, part_number: int, body: memoryview, *,
                    checksum_crc32c: str | None = None) -> Message:
        """UploadPart of a multipart upload; returns the response headers (``ETag``)."""
        headers = {"x-amz-checksum-crc32c": checksum_crc32c} if checksum_crc32c else {}
        query = [("partNumber", str(part_number)), ("uploadId", upload_id)]
        return self._exchange("PUT", key, query, headers, body, "UploadPart")

    # ------------------------------------------------------------- plumbing
    def _exchange(self, method: str, key: str, query: list[tuple[str, str]], headers: dict[str, str],
                  body: memoryview, operation: str) -> Message:
        resp = self._send(method, key, query, headers, body, operation)
        resp.drain()  # the (empty) body: the connection is reusable only once it is read
        return resp.headers

    def _send(self, method: str, key: str, query: list[tuple[str, str]], headers: dict[str, str],
              body: memoryview | None, operation: str) -> RestResponse:
        path = f"{self._prefix}/{_quote(key, safe='/')}"
        headers["Host"] = self._host
        creds = self._credentials()
        if creds is not None:
            amz_date = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
            if body is None:
                payload = EMPTY_SHA256
            elif self._unsigned_payload:
                payload = UNSIGNED
            else:
                payload = hashlib.sha256(body).hexdigest()
            headers["x-amz-date"] = amz_date
            headers["x-amz-content-sha256"] = payload
            if creds.token:
                headers["x-amz-security-token"] = creds.token
            headers["Authorization"] = sigv4_authorization(
                method, path, query, headers, payload, access_key=creds.access_key,
                signing_key=self._keys.get(creds.secret_key, amz_date[:8], self.region),
                amz_date=amz_date, region=self.region)
        headers["Content-Length"] = str(len(body)) if body is not None else "0"
        target = path + ("?" + "&".join(f"{_quote(k)}={_quote(v)}" for k, v in query) if query else "")
        for observe in self.observers:
            observe(operation)
        resp = self.pool.request(method, target, headers, body)
        if resp.status >= 300:
            raise _client_error(resp, operation)
        return resp

    def close(self) -> None:
        """Close every idle connection."""
        self.pool.close()


def _client_error(resp: RestResponse, operation: str) -> Exception:
    """botocore's ``ClientError`` for an S3 error answer (the body is read and released)."""
    from botocore.exceptions import ClientError

    body = resp.drain()
    found = error_fields(body)
    headers = {k.lower(): v for k, v in resp.headers.items()}
    error: dict[str, Any] = {"Code": found.get("Code") or str(resp.status),
                             "Message": found.get("Message") or resp.raw.reason}
    for name in ("Endpoint", "Region", "BucketName"):
        if found.get(name):
            error[name] = found[name]
    err: Exception = ClientError({"Error": error, "ResponseMetadata": {
        "HTTPStatusCode": resp.status, "HTTPHeaders": headers,
        "RequestId": headers.get("x-amz-request-id") or found.get("RequestId") or None,
    }}, operation)
    return err
