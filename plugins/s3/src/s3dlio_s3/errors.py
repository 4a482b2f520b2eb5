"""botocore exceptions → the s3dlio error tree (with status, request id, cause).

The class decides retrying (see :mod:`s3dlio.store.retry`): transient network failures,
5xx and throttling become :class:`TransientError` / :class:`ThrottledError` /
:class:`StoreTimeoutError`; digest mismatches :class:`IntegrityError`; everything
else fails at once.
"""

from __future__ import annotations

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

__all__ = ["translate"]

_NOT_FOUND = {"NoSuchKey", "NoSuchBucket", "NotFound", "404", "NoSuchUpload", "NoSuchVersion"}
_DENIED = {
    "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "AllAccessDisabled",
    "InvalidToken", "ExpiredToken", "TokenRefreshRequired", "AccountProblem", "403",
    "AuthorizationHeaderMalformed",
}
_THROTTLED = {"SlowDown", "Throttling", "ThrottlingException", "TooManyRequests",
              "RequestLimitExceeded", "ServiceUnavailable", "503"}
_TRANSIENT = {"InternalError", "RequestTimeout", "PriorRequestNotComplete", "500", "502", "504",
              "BadGateway", "GatewayTimeout", "RequestTimeTooSkewed_"}
_INTEGRITY = {"BadDigest", "InvalidDigest", "XAmzContentSHA256Mismatch", "XAmzContentChecksumMismatch",
              "IncompleteBody", "InvalidChecksum"}
_INVALID = {"InvalidBucketName", "KeyTooLongError", "InvalidArgument", "InvalidRange",
            "MalformedXML", "InvalidRequest", "EntityTooSmall", "EntityTooLarge", "InvalidPart",
            "InvalidPartOrder", "InvalidObjectName", "InvalidURI"}
_EXISTS = {"BucketAlreadyExists", "BucketAlreadyOwnedByYou"}
_PRECONDITION = {"PreconditionFailed", "412", "ConditionalRequestConflict"}


def _client_error(exc: Any, op: str, uri: str, endpoint: str) -> StoreError:
    response = getattr(exc, "response", {}) or {}
    error = response.get("Error", {}) or {}
    meta = response.get("ResponseMetadata", {}) or {}
    code = str(error.get("Code") or "")
    status = meta.get("HTTPStatusCode")
    headers = meta.get("HTTPHeaders", {}) or {}
    request_id = (meta.get("RequestId") or error.get("RequestId")
                  or headers.get("x-amz-request-id") or None)
    message = str(error.get("Message") or code or exc)
    fields: dict[str, Any] = {"op": op, "uri": uri, "backend": "s3", "endpoint": endpoint,
                              "status": status, "request_id": request_id}
    cls: type[StoreError]
    if code in _NOT_FOUND or status == 404:
        cls = NotFoundError
        message = f"{code or 'not found'}: {message}" if code and code not in message else message
    elif code in _PRECONDITION or status == 412:
        cls = PreconditionError
    elif code in _THROTTLED or status in (429, 503):
        cls = ThrottledError
    elif code in _INTEGRITY:
        cls = IntegrityError
    elif code in _DENIED or status in (401, 403):
        cls = PermissionDeniedError
        if code == "AuthorizationHeaderMalformed" or "region" in message.lower():
            message += " (check the region: AWS_REGION / [s3] region)"
    elif code in _EXISTS:
        cls = AlreadyExistsError
    elif code == "RequestTimeTooSkewed":
        cls = StoreError
        message += f" (server time {headers.get('date', '?')}; fix this machine's clock)"
    elif code in _TRANSIENT or (isinstance(status, int) and status >= 500) or status == 408:
        cls = TransientError
    elif code in _INVALID:
        cls = InvalidPathError
    elif code == "NotImplemented" or status == 501:
        cls = NotSupportedError
    elif isinstance(status, int) and 300 <= status < 400:
        cls = StoreError
        region = headers.get("x-amz-bucket-region")
        if region or code == "PermanentRedirect":
            message = (f"{code or status}: the bucket is in another region"
                       + (f" ({region}); set AWS_REGION={region}" if region else
                          "; set AWS_REGION to the bucket's region"))
        else:
            location = headers.get("location") or error.get("Endpoint") or ""
            message = (f"redirected ({status}) to {location or 'another endpoint'}; "
                       "set S3DLIO_FOLLOW_REDIRECTS=1 to follow, or check the endpoint")
    else:
        cls = StoreError
    err = cls(f"{code}: {message}" if code and not message.startswith(code) else message, **fields)
    retry_after = headers.get("retry-after")
    if retry_after:
        try:
            err.retry_after = float(retry_after)  # type: ignore[attr-defined]
        except ValueError:
            pass
    err.code = code  # type: ignore[attr-defined]
    return err


def translate(exc: BaseException, *, op: str, uri: str, endpoint: str) -> StoreError:
    """Map a botocore/urllib3 exception to the s3dlio tree; the caller raises it ``from exc``."""
    import botocore.exceptions as bexc

    if isinstance(exc, StoreError):
        return exc
    fields: dict[str, Any] = {"op": op, "uri": uri, "backend": "s3", "endpoint": endpoint}
    if isinstance(exc, bexc.ClientError):
        return _client_error(exc, op, uri, endpoint)
    if isinstance(exc, bexc.NoCredentialsError):
        err: StoreError = PermissionDeniedError(
            "no AWS credentials found (set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE, "
            "or S3DLIO_S3_ANONYMOUS=1 for public buckets)", **fields)
        return err
    if isinstance(exc, bexc.PartialCredentialsError):
        return PermissionDeniedError(f"incomplete AWS credentials: {exc}", **fields)
    if isinstance(exc, (bexc.ReadTimeoutError, bexc.ConnectTimeoutError)):
        return StoreTimeoutError(f"timed out talking to {endpoint or 'S3'}: {exc}", **fields)
    if isinstance(exc, bexc.SSLError):
        err = StoreError(f"TLS failure talking to {endpoint or 'S3'}: {exc} (AWS_CA_BUNDLE?)", **fields)
        return err
    if isinstance(exc, bexc.EndpointConnectionError):
        return TransientError(f"cannot connect to {endpoint or 'S3'}: {exc}", **fields)
    if isinstance(exc, (bexc.ConnectionClosedError, bexc.ConnectionError,
                        bexc.IncompleteReadError, bexc.ResponseStreamingError)):
        return TransientError(f"connection to {endpoint or 'S3'} failed: {exc}", **fields)
    if isinstance(exc, bexc.ParamValidationError):
        return InvalidPathError(f"invalid request: {exc}", **fields)
    if isinstance(exc, bexc.NoRegionError):
        return StoreError("no region configured (AWS_REGION)", **fields)
    if tls_failure(exc):  # the lean path's (botocore wraps its own in SSLError above)
        return StoreError(f"TLS failure talking to {endpoint or 'S3'}: {exc} (AWS_CA_BUNDLE?)", **fields)
    if isinstance(exc, (ConnectionError, TimeoutError)):
        cls = StoreTimeoutError if isinstance(exc, TimeoutError) else TransientError
        return cls(f"connection to {endpoint or 'S3'} failed: {exc}", **fields)
    if isinstance(exc, OSError):
        return TransientError(f"I/O error talking to {endpoint or 'S3'}: {exc}", **fields)
    if isinstance(exc, bexc.BotoCoreError):
        return StoreError(str(exc), **fields)
    # urllib3 protocol errors surface unwrapped from streaming bodies.
    if type(exc).__module__.startswith(("urllib3", "http.client")):
        return TransientError(f"connection to {endpoint or 'S3'} failed: {exc}", **fields)
    return StoreError(f"{type(exc).__name__}: {exc}", **fields)
