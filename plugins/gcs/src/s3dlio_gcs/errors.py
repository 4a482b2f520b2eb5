"""google-cloud-storage / google-auth / requests exceptions → the s3dlio error tree.

The class decides retrying (see :mod:`s3dlio.store.retry`): connection failures, 408, 5xx
(``backendError``) and throttling (429 ``rateLimitExceeded``) become
:class:`TransientError` / :class:`ThrottledError` / :class:`StoreTimeoutError`; digest
mismatches :class:`IntegrityError`; everything else fails at once.
"""

from __future__ import annotations

import importlib
from typing import Any

from s3dlio.errors import (
    AlreadyExistsError,
    IntegrityError,
    InvalidPathError,
    PermissionDeniedError,
    StoreError,
    TransientError,
)
from s3dlio.store.httperrors import ErrorCodes, classify, http_error, transport_error

__all__ = ["from_status", "translate"]

_REASONS = ErrorCodes(
    throttled={"rateLimitExceeded", "userRateLimitExceeded", "slowDown", "quotaExceeded"},
    transient={"backendError", "internalError"},
    invalid={"invalid", "invalidParameter", "invalidArgument", "required"},
    exists_statuses={409},
    invalid_statuses={400, 411, 413, 416},
    not_supported_statuses={405, 501},
)
"""GCS error reasons per class (GCS answers with a status and ``errors[].reason``)."""


def _request_id(response: Any) -> str | None:
    headers = getattr(response, "headers", None) or {}
    for name in ("x-guploader-uploadid", "x-goog-request-id", "x-request-id"):
        value = headers.get(name)
        if value:
            return str(value)
    return None


def _reasons(exc: Any) -> list[str]:
    out = []
    for err in getattr(exc, "errors", None) or ():
        if isinstance(err, dict) and err.get("reason"):
            out.append(str(err["reason"]))
    return out


def from_status(status: int | None, message: str, *, reasons: list[str] | None = None,
                op: str, uri: str, endpoint: str, request_id: str | None = None,
                headers: Any = None) -> StoreError:
    """The s3dlio error for an HTTP ``status`` (and GCS error ``reasons``)."""
    reasons = reasons or []
    lowered = message.lower()
    cls = classify(status, reasons, _REASONS)
    if cls is AlreadyExistsError and not ("exist" in lowered or "conflict" in lowered):
        cls = StoreError  # a 409 that is not about existence (a concurrent metadata update)
    elif cls is InvalidPathError and status == 400 and (
            "checksum" in lowered or "crc32c" in lowered or "md5" in lowered):
        cls = IntegrityError
    return http_error(cls, message, status=status, headers=headers, op=op, uri=uri, backend="gcs",
                      endpoint=endpoint, request_id=request_id,
                      code=reasons[0] if reasons else (str(status) if status else None))


def _short(message: str, limit: int = 600) -> str:
    message = " ".join(message.split())
    return message if len(message) <= limit else message[:limit] + "…"


def translate(exc: BaseException, *, op: str, uri: str, endpoint: str) -> StoreError:
    """Map an SDK / transport exception to the s3dlio tree; the caller raises it ``from exc``."""
    if isinstance(exc, StoreError):
        return exc
    import requests.exceptions as rexc
    from google.api_core import exceptions as gexc
    from google.auth import exceptions as auth_exc

    sexc: Any = importlib.import_module("google.cloud.storage.exceptions")

    fields: dict[str, Any] = {"op": op, "uri": uri, "backend": "gcs", "endpoint": endpoint}
    where = endpoint or "GCS"
    if isinstance(exc, gexc.GoogleAPICallError):
        response = getattr(exc, "response", None)
        return from_status(exc.code, _short(exc.message or str(exc)), reasons=_reasons(exc), op=op,
                           uri=uri, endpoint=endpoint, request_id=_request_id(response),
                           headers=getattr(response, "headers", None))
    if isinstance(exc, sexc.InvalidResponse):
        response = getattr(exc, "response", None)
        status = getattr(response, "status_code", None)
        text = _short(str(getattr(response, "text", "") or exc))
        return from_status(status, text, op=op, uri=uri, endpoint=endpoint,
                           request_id=_request_id(response), headers=getattr(response, "headers", None))
    if isinstance(exc, sexc.DataCorruption):
        return IntegrityError(f"checksum mismatch: {exc}", **fields)
    if isinstance(exc, auth_exc.DefaultCredentialsError):
        return PermissionDeniedError(
            f"no usable Google Cloud credentials ({exc}); run `gcloud auth application-default "
            "login`, set GOOGLE_APPLICATION_CREDENTIALS, or STORAGE_EMULATOR_HOST for an emulator",
            **fields)
    if isinstance(exc, auth_exc.RefreshError):
        if getattr(exc, "retryable", False):
            return TransientError(f"refreshing Google credentials failed: {exc}", **fields)
        return PermissionDeniedError(f"refreshing Google credentials failed: {exc}", **fields)
    if isinstance(exc, auth_exc.TransportError):
        return TransientError(f"credential request failed talking to {where}: {exc}", **fields)
    if isinstance(exc, rexc.InvalidURL):
        return InvalidPathError(f"invalid request URL: {exc}", **fields)
    # requests' transport failures, and the lean path's (socket, ssl, http.client).
    return transport_error(exc, where=where, tls_hint=" (REQUESTS_CA_BUNDLE?)", tls=(rexc.SSLError,),
                           timeouts=(rexc.Timeout,),
                           transient=(rexc.ConnectionError, rexc.ChunkedEncodingError,
                                      rexc.ContentDecodingError), **fields)
