"""azure-core / azure-storage-blob exceptions (and the REST path's) → the s3dlio error tree.

The class decides retrying (see :mod:`s3dlio.store.retry`): connection failures, 5xx,
``ServerBusy`` and ``OperationTimedOut`` become :class:`TransientError` /
:class:`ThrottledError` / :class:`StoreTimeoutError`; MD5 mismatches
:class:`IntegrityError`; everything else (4xx, credentials, bad names) fails at once.
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

_NOT_FOUND = {"BlobNotFound", "ContainerNotFound", "ResourceNotFound", "ContainerBeingDeleted"}
_DENIED = {
    "AuthenticationFailed", "AuthorizationFailure", "AuthorizationPermissionMismatch",
    "AuthorizationResourceTypeMismatch", "AuthorizationServiceMismatch",
    "AuthorizationSourceIPMismatch", "AuthorizationProtocolMismatch", "InsufficientAccountPermissions",
    "AccountIsDisabled", "NoAuthenticationInformation", "InvalidAuthenticationInfo",
    "PublicAccessNotPermitted",
}
_THROTTLED = {"ServerBusy", "TooManyRequests", "IngressOverAccountLimit", "EgressOverAccountLimit"}
_TRANSIENT = {"InternalError", "OperationTimedOut", "ServiceUnavailable"}
_INTEGRITY = {"Md5Mismatch", "Crc64Mismatch", "InvalidMd5", "InvalidBlockList"}
_INVALID = {
    "InvalidResourceName", "InvalidUri", "InvalidQueryParameterValue", "InvalidHeaderValue",
    "OutOfRangeInput", "OutOfRangeQueryParameterValue", "InvalidBlobOrBlock", "InvalidBlockId",
    "RequestBodyTooLarge", "InvalidInput", "InvalidRange", "MissingRequiredHeader",
    "UnsupportedHeader", "InvalidXmlDocument", "InvalidBlobType",
}
_EXISTS = {"ContainerAlreadyExists", "BlobAlreadyExists", "ResourceAlreadyExists"}
_PRECONDITION = {"ConditionNotMet", "TargetConditionNotMet", "SourceConditionNotMet"}


def _http_error(exc: Any, op: str, uri: str, endpoint: str, sas: bool) -> StoreError:
    response = getattr(exc, "response", None)
    status = getattr(exc, "status_code", None) or getattr(response, "status_code", None)
    headers: Any = getattr(response, "headers", None) or {}
    raw_code = getattr(exc, "error_code", None) or headers.get("x-ms-error-code") or ""
    code = str(getattr(raw_code, "value", raw_code))
    request_id = headers.get("x-ms-request-id") or None
    message = str(getattr(exc, "reason", None) or getattr(exc, "message", None) or exc)
    message = message.splitlines()[0] if message else (code or "request failed")
    fields: dict[str, Any] = {"op": op, "uri": uri, "backend": "azure", "endpoint": endpoint,
                              "status": status, "request_id": request_id}
    cls: type[StoreError]
    if code in _NOT_FOUND or status == 404:
        cls = NotFoundError
        if code == "ResourceNotFound":
            message += " (does the storage account exist at this endpoint?)"
    elif code in _PRECONDITION or status == 412:
        cls = PreconditionError
    elif code in _THROTTLED or status in (429, 503):
        cls = ThrottledError
    elif code in _INTEGRITY or ("md5" in message.lower() and "match" in message.lower()):
        cls = IntegrityError  # Azurite answers a bad Content-MD5 with InvalidOperation
    elif code in _DENIED or status in (401, 403):
        cls = PermissionDeniedError
        if sas:
            message += " (is the SAS token expired, or missing a permission?)"
    elif code in _EXISTS:
        cls = AlreadyExistsError
    elif code in _TRANSIENT or (isinstance(status, int) and status >= 500 and status != 501) \
            or status == 408:
        cls = TransientError
    elif code in _INVALID or status in (400, 416):
        cls = InvalidPathError
    elif status in (405, 501) or code in ("FeatureNotSupported", "NotImplemented"):
        cls = NotSupportedError
    elif status == 409:
        cls = StoreError
    else:
        cls = StoreError
    if code and code not in message:
        message = f"{code}: {message}"
    err = cls(message, **fields)
    retry_after = headers.get("retry-after")
    if retry_after:
        try:
            err.retry_after = float(retry_after)  # type: ignore[attr-defined]
        except ValueError:
            pass
    err.code = code  # type: ignore[attr-defined]
    return err


def translate(exc: BaseException, *, op: str, uri: str, endpoint: str, sas: bool = False) -> StoreError:
    """Map an azure-core / SDK exception to the s3dlio tree; the caller raises it ``from exc``."""
    import azure.core.exceptions as aexc

    if isinstance(exc, StoreError):
        return exc
    from s3dlio_azure.rest import BlobRestError

    if isinstance(exc, BlobRestError):  # the REST data path's non-2xx answers
        return _http_error(exc, op, uri, endpoint, sas)
    fields: dict[str, Any] = {"op": op, "uri": uri, "backend": "azure", "endpoint": endpoint}
    if isinstance(exc, aexc.ClientAuthenticationError) and getattr(exc, "response", None) is None:
        # Raised by a credential (DefaultAzureCredential found nothing, a token refresh failed).
        from s3dlio_azure.client import CREDENTIAL_HELP

        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return PermissionDeniedError(f"could not get an Azure credential: {first}; {CREDENTIAL_HELP}",
                                     **fields)
    if isinstance(exc, aexc.HttpResponseError) and getattr(exc, "response", None) is not None:
        return _http_error(exc, op, uri, endpoint, sas)
    if isinstance(exc, (aexc.ServiceRequestTimeoutError, aexc.ServiceResponseTimeoutError)):
        return StoreTimeoutError(f"timed out talking to {endpoint}: {_first_line(exc)}", **fields)
    if isinstance(exc, aexc.ServiceRequestError):
        # Nothing reached the service: refused, DNS, TLS handshake, connect timeout.
        text = _first_line(exc)
        low = text.lower()
        if "certificate" in low or "ssl" in low:
            return StoreError(f"TLS failure talking to {endpoint}: {text}", **fields)
        if "name or service not known" in low or "nodename nor servname" in low \
                or "getaddrinfo failed" in low or "no address associated" in low:
            err = StoreError(f"cannot resolve {endpoint} (does the storage account exist? is "
                             f"AZURE_STORAGE_ENDPOINT right?): {text}", **fields)
            return err
        if "timed out" in low or "timeout" in low:
            return StoreTimeoutError(f"timed out connecting to {endpoint}: {text}", **fields)
        return TransientError(f"cannot connect to {endpoint}: {text}", **fields)
    if isinstance(exc, aexc.ServiceResponseError):
        return TransientError(f"connection to {endpoint} failed: {_first_line(exc)}", **fields)
    if isinstance(exc, aexc.IncompleteReadError):
        return TransientError(f"connection to {endpoint} broke mid-body: {_first_line(exc)}", **fields)
    if isinstance(exc, aexc.ResourceNotFoundError):
        return NotFoundError(_first_line(exc), **fields)
    if isinstance(exc, aexc.ClientAuthenticationError):
        return PermissionDeniedError(_first_line(exc), **fields)
    if isinstance(exc, aexc.AzureError):
        text = _first_line(exc)
        if "mismatch" in text.lower():
            return IntegrityError(text, **fields)
        return StoreError(text, **fields)
    if tls_failure(exc):  # the REST path's TLS failures (the SDK wraps its own)
        return StoreError(f"TLS failure talking to {endpoint}: {exc}", **fields)
    if isinstance(exc, TimeoutError):
        return StoreTimeoutError(f"timed out talking to {endpoint}: {exc}", **fields)
    if isinstance(exc, ConnectionError):
        return TransientError(f"connection to {endpoint} failed: {exc}", **fields)
    if isinstance(exc, OSError):  # the REST path's socket errors (a TLS exchange cut short too)
        return TransientError(f"I/O error talking to {endpoint}: {exc}", **fields)
    if isinstance(exc, ValueError) and "https" in str(exc).lower() and "token" in str(exc).lower():
        return PermissionDeniedError(f"{exc} (Microsoft Entra ID tokens need an https endpoint)",
                                     **fields)
    if type(exc).__module__.startswith(("urllib3", "http.client", "requests")):
        return TransientError(f"connection to {endpoint} failed: {exc}", **fields)
    return StoreError(f"{type(exc).__name__}: {exc}", **fields)


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "message", None) or exc)
    return text.splitlines()[0] if text else type(exc).__name__
