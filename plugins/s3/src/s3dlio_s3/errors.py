"""botocore exceptions → the s3dlio error tree (with status, request id, cause).

The class decides retrying (see :mod:`s3dlio.store.retry`): transient network failures,
5xx and throttling become :class:`TransientError` / :class:`ThrottledError` /
:class:`StoreTimeoutError`; digest mismatches :class:`IntegrityError`; everything
else fails at once.
"""

from __future__ import annotations

from typing import Any

from s3dlio.errors import InvalidPathError, NotFoundError, PermissionDeniedError, StoreError
from s3dlio.store.httperrors import ErrorCodes, classify, http_error, transport_error

__all__ = ["translate"]

_CODES = ErrorCodes(
    not_found={"NoSuchKey", "NoSuchBucket", "NotFound", "404", "NoSuchUpload", "NoSuchVersion"},
    precondition={"PreconditionFailed", "412", "ConditionalRequestConflict"},
    throttled={"SlowDown", "Throttling", "ThrottlingException", "TooManyRequests",
               "RequestLimitExceeded", "ServiceUnavailable", "503"},
    integrity={"BadDigest", "InvalidDigest", "XAmzContentSHA256Mismatch",
               "XAmzContentChecksumMismatch", "IncompleteBody", "InvalidChecksum"},
    denied={"AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "AllAccessDisabled",
            "InvalidToken", "ExpiredToken", "TokenRefreshRequired", "AccountProblem", "403",
            "AuthorizationHeaderMalformed"},
    exists={"BucketAlreadyExists", "BucketAlreadyOwnedByYou"},
    # A skewed clock fails every retry the same way: at once, with a hint.
    fatal={"RequestTimeTooSkewed"},
    transient={"InternalError", "RequestTimeout", "PriorRequestNotComplete", "500", "502", "504",
               "BadGateway", "GatewayTimeout"},
    invalid={"InvalidBucketName", "KeyTooLongError", "InvalidArgument", "InvalidRange",
             "MalformedXML", "InvalidRequest", "EntityTooSmall", "EntityTooLarge", "InvalidPart",
             "InvalidPartOrder", "InvalidObjectName", "InvalidURI"},
    not_supported={"NotImplemented"},
)
"""S3's error codes per class (botocore uses the status as the code of a body-less answer)."""


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
    cls = classify(status, (code,), _CODES)
    if cls is NotFoundError:
        message = f"{code or 'not found'}: {message}" if code and code not in message else message
    elif cls is PermissionDeniedError:
        if code == "AuthorizationHeaderMalformed" or "region" in message.lower():
            message += " (check the region: AWS_REGION / [s3] region)"
    elif cls is StoreError and code == "RequestTimeTooSkewed":
        message += f" (server time {headers.get('date', '?')}; fix this machine's clock)"
    elif cls is StoreError and isinstance(status, int) and 300 <= status < 400:
        region = headers.get("x-amz-bucket-region")
        if region or code == "PermanentRedirect":
            message = (f"{code or status}: the bucket is in another region"
                       + (f" ({region}); set AWS_REGION={region}" if region else
                          "; set AWS_REGION to the bucket's region"))
        else:
            location = headers.get("location") or error.get("Endpoint") or ""
            message = (f"redirected ({status}) to {location or 'another endpoint'}; "
                       "set S3DLIO_FOLLOW_REDIRECTS=1 to follow, or check the endpoint")
    if code and not message.startswith(code):
        message = f"{code}: {message}"
    return http_error(cls, message, status=status, code=code, headers=headers, op=op, uri=uri,
                      backend="s3", endpoint=endpoint, request_id=request_id)


def translate(exc: BaseException, *, op: str, uri: str, endpoint: str) -> StoreError:
    """Map a botocore/urllib3 exception to the s3dlio tree; the caller raises it ``from exc``."""
    import botocore.exceptions as bexc

    if isinstance(exc, StoreError):
        return exc
    fields: dict[str, Any] = {"op": op, "uri": uri, "backend": "s3", "endpoint": endpoint}
    if isinstance(exc, bexc.ClientError):
        return _client_error(exc, op, uri, endpoint)
    if isinstance(exc, bexc.NoCredentialsError):
        return PermissionDeniedError(
            "no AWS credentials found (set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE, "
            "or S3DLIO_S3_ANONYMOUS=1 for public buckets)", **fields)
    if isinstance(exc, bexc.PartialCredentialsError):
        return PermissionDeniedError(f"incomplete AWS credentials: {exc}", **fields)
    if isinstance(exc, bexc.ParamValidationError):
        return InvalidPathError(f"invalid request: {exc}", **fields)
    if isinstance(exc, bexc.NoRegionError):
        return StoreError("no region configured (AWS_REGION)", **fields)
    # botocore's transport failures, and the lean path's (socket, ssl, http.client).
    return transport_error(
        exc, where=endpoint or "S3", tls_hint=" (AWS_CA_BUNDLE?)", tls=(bexc.SSLError,),
        timeouts=(bexc.ReadTimeoutError, bexc.ConnectTimeoutError),
        transient=(bexc.EndpointConnectionError, bexc.ConnectionClosedError, bexc.ConnectionError,
                   bexc.IncompleteReadError, bexc.ResponseStreamingError), **fields)
