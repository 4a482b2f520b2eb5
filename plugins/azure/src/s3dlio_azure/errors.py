"""azure-core / azure-storage-blob exceptions (and the REST path's) → the s3dlio error tree.

The class decides retrying (see :mod:`s3dlio.store.retry`): connection failures, 5xx,
``ServerBusy`` and ``OperationTimedOut`` become :class:`TransientError` /
:class:`ThrottledError` / :class:`StoreTimeoutError`; MD5 mismatches
:class:`IntegrityError`; everything else (4xx, credentials, bad names) fails at once.
"""

from __future__ import annotations

from typing import Any

from s3dlio.errors import (
    IntegrityError,
    NotFoundError,
    PermissionDeniedError,
    StoreError,
    StoreTimeoutError,
    TransientError,
)
from s3dlio.store.httperrors import ErrorCodes, classify, http_error, transport_error

__all__ = ["translate"]

_CODES = ErrorCodes(
    not_found={"BlobNotFound", "ContainerNotFound", "ResourceNotFound", "ContainerBeingDeleted"},
    precondition={"ConditionNotMet", "TargetConditionNotMet", "SourceConditionNotMet"},
    throttled={"ServerBusy", "TooManyRequests", "IngressOverAccountLimit", "EgressOverAccountLimit"},
    integrity={"Md5Mismatch", "Crc64Mismatch", "InvalidMd5", "InvalidBlockList"},
    denied={"AuthenticationFailed", "AuthorizationFailure", "AuthorizationPermissionMismatch",
            "AuthorizationResourceTypeMismatch", "AuthorizationServiceMismatch",
            "AuthorizationSourceIPMismatch", "AuthorizationProtocolMismatch",
            "InsufficientAccountPermissions", "AccountIsDisabled", "NoAuthenticationInformation",
            "InvalidAuthenticationInfo", "PublicAccessNotPermitted"},
    exists={"ContainerAlreadyExists", "BlobAlreadyExists", "ResourceAlreadyExists"},
    transient={"InternalError", "OperationTimedOut", "ServiceUnavailable"},
    transient_statuses={408, *range(500, 600)} - {501},
    invalid={"InvalidResourceName", "InvalidUri", "InvalidQueryParameterValue", "InvalidHeaderValue",
             "OutOfRangeInput", "OutOfRangeQueryParameterValue", "InvalidBlobOrBlock",
             "InvalidBlockId", "RequestBodyTooLarge", "InvalidInput", "InvalidRange",
             "MissingRequiredHeader", "UnsupportedHeader", "InvalidXmlDocument", "InvalidBlobType"},
    invalid_statuses={400, 416},
    not_supported={"FeatureNotSupported", "NotImplemented"},
    not_supported_statuses={405, 501},
)
"""Azure Blob's error codes per class."""


def _http_error(exc: Any, op: str, uri: str, endpoint: str, sas: bool) -> StoreError:
    response = getattr(exc, "response", None)
    status = getattr(exc, "status_code", None) or getattr(response, "status_code", None)
    headers: Any = getattr(response, "headers", None) or {}
    raw_code = getattr(exc, "error_code", None) or headers.get("x-ms-error-code") or ""
    code = str(getattr(raw_code, "value", raw_code))
    message = str(getattr(exc, "reason", None) or getattr(exc, "message", None) or exc)
    message = message.splitlines()[0] if message else (code or "request failed")
    lowered = message.lower()
    # Azurite answers a bad Content-MD5 with InvalidOperation: class it as the service's code.
    kinds = (code, "Md5Mismatch") if "md5" in lowered and "match" in lowered else (code,)
    cls = classify(status, kinds, _CODES)
    if cls is NotFoundError and code == "ResourceNotFound":
        message += " (does the storage account exist at this endpoint?)"
    elif cls is PermissionDeniedError and sas:
        message += " (is the SAS token expired, or missing a permission?)"
    if code and code not in message:
        message = f"{code}: {message}"
    return http_error(cls, message, status=status, code=code, headers=headers, op=op, uri=uri,
                      backend="azure", endpoint=endpoint,
                      request_id=headers.get("x-ms-request-id") or None)


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
            return StoreError(f"cannot resolve {endpoint} (does the storage account exist? is "
                              f"AZURE_STORAGE_ENDPOINT right?): {text}", **fields)
        if "timed out" in low or "timeout" in low:
            return StoreTimeoutError(f"timed out connecting to {endpoint}: {text}", **fields)
        return TransientError(f"cannot connect to {endpoint}: {text}", **fields)
    if isinstance(exc, (aexc.ServiceResponseError, aexc.IncompleteReadError)):
        # The request was sent; the answer broke off (reset, a body cut short).
        return TransientError(f"connection to {endpoint} failed: {_first_line(exc)}", **fields)
    if isinstance(exc, aexc.ResourceNotFoundError):
        return NotFoundError(_first_line(exc), **fields)
    if isinstance(exc, aexc.ClientAuthenticationError):
        return PermissionDeniedError(_first_line(exc), **fields)
    if isinstance(exc, aexc.AzureError):
        text = _first_line(exc)
        if "mismatch" in text.lower():
            return IntegrityError(text, **fields)
        return StoreError(text, **fields)
    if isinstance(exc, ValueError) and "https" in str(exc).lower() and "token" in str(exc).lower():
        return PermissionDeniedError(f"{exc} (Microsoft Entra ID tokens need an https endpoint)",
                                     **fields)
    # The REST path's transport failures (the SDK wraps its own, above).
    return transport_error(exc, where=endpoint, **fields)


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "message", None) or exc)
    return text.splitlines()[0] if text else type(exc).__name__
