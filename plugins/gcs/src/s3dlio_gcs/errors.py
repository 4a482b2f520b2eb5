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
    NotFoundError,
    NotSupportedError,
    PermissionDeniedError,
    PreconditionError,
    StoreError,
    StoreTimeoutError,
    ThrottledError,
    TransientError,
)
from s3dlio.store.httpclient import tls_failure

__all__ = ["from_status", "translate"]

_THROTTLE_REASONS = {"rateLimitExceeded", "userRateLimitExceeded", "slowDown", "quotaExceeded"}
_TRANSIENT_REASONS = {"backendError", "internalError"}
_INVALID_REASONS = {"invalid", "invalidParameter", "invalidArgument", "required"}


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
    fields: dict[str, Any] = {"op": op, "uri": uri, "backend": "gcs", "endpoint": endpoint,
                              "status": status, "request_id": request_id}
    cls: type[StoreError]
    lowered = message.lower()
    if status == 404:
        cls = NotFoundError
    elif status == 412:
        cls = PreconditionError
    elif status == 429 or _THROTTLE_REASONS.intersection(reasons):
        cls = ThrottledError
    elif status in (401, 403):
        cls = PermissionDeniedError
    elif status == 409:
        cls = AlreadyExistsError if ("exist" in lowered or "conflict" in lowered) else StoreError
    elif status == 408 or (status is not None and status >= 500) or \
            bool(_TRANSIENT_REASONS.intersection(reasons)):
        cls = ThrottledError if status == 503 else TransientError
    elif status == 400 and ("checksum" in lowered or "crc32c" in lowered or "md5" in lowered):
        cls = IntegrityError
    elif status in (400, 411, 413, 416) or _INVALID_REASONS.intersection(reasons):
        cls = InvalidPathError
    elif status in (405, 501):
        cls = NotSupportedError
    else:
        cls = StoreError
    err = cls(message, **fields)
    retry_after = headers.get("retry-after") if headers is not None else None
    if retry_after:
        try:
            err.retry_after = float(retry_after)  # type: ignore[attr-defined]
        except ValueError:
            pass
    err.code = reasons[0] if reasons else (str(status) if status else "")  # type: ignore[attr-defined]
    return err


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
    if isinstance(exc, (rexc.ConnectTimeout, rexc.ReadTimeout, rexc.Timeout)):
        return StoreTimeoutError(f"timed out talking to {where}: {exc}", **fields)
    if isinstance(exc, rexc.SSLError):
        return StoreError(f"TLS failure talking to {where}: {exc} (REQUESTS_CA_BUNDLE?)", **fields)
    if isinstance(exc, rexc.ConnectionError):
        return TransientError(f"cannot connect to {where}: {exc}", **fields)
    if isinstance(exc, (rexc.ChunkedEncodingError, rexc.ContentDecodingError)):
        return TransientError(f"connection to {where} failed mid-body: {exc}", **fields)
    if isinstance(exc, rexc.InvalidURL):
        return InvalidPathError(f"invalid request URL: {exc}", **fields)
    if tls_failure(exc):  # the lean path's (requests wraps its own in SSLError above)
        return StoreError(f"TLS failure talking to {where}: {exc} (REQUESTS_CA_BUNDLE?)", **fields)
    if isinstance(exc, (ConnectionError, TimeoutError)):
        cls = StoreTimeoutError if isinstance(exc, TimeoutError) else TransientError
        return cls(f"connection to {where} failed: {exc}", **fields)
    if isinstance(exc, OSError):
        return TransientError(f"I/O error talking to {where}: {exc}", **fields)
    if type(exc).__module__.startswith(("urllib3", "http.client")):
        return TransientError(f"connection to {where} failed: {exc}", **fields)
    return StoreError(f"{type(exc).__name__}: {exc}", **fields)
