"""HTTP answers and transport failures → the s3dlio error tree, for every network backend.

S3, Azure Blob and GCS answer a failed request the same way — an HTTP status, a service
error code (``NoSuchKey``, ``BlobNotFound``, a GCS reason), maybe ``Retry-After`` — and
fail below HTTP the same way (refused, reset, timed out, an untrusted certificate). The
error class decides retrying (:mod:`s3dlio.store.retry`), so the mapping is one ladder
here; a backend supplies its code tables (:class:`ErrorCodes`) and only the rules that
are truly its own (hints, a service quirk) around :func:`classify`.

The ladder, first match wins (a status or any of the codes)::

    NotFoundError          not_found      404
    PreconditionError      precondition   412
    ThrottledError         throttled      429, 503
    IntegrityError         integrity
    PermissionDeniedError  denied         401, 403
    AlreadyExistsError     exists         exists_statuses
    StoreError             fatal                            (fails at once whatever the status)
    TransientError         transient      transient_statuses (408, 5xx)
    InvalidPathError       invalid        invalid_statuses
    NotSupportedError      not_supported  not_supported_statuses (501)
    StoreError             anything else
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import attrs

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

__all__ = ["TRANSIENT_STATUSES", "ErrorCodes", "classify", "http_error", "retry_after",
           "transport_error"]

TRANSIENT_STATUSES = frozenset({408, *range(500, 600)})
"""Request timeout and every 5xx."""


def _codes(values: Iterable[str]) -> frozenset[str]:
    return frozenset(values)


def _statuses(values: Iterable[int]) -> frozenset[int]:
    return frozenset(values)


@attrs.frozen
class ErrorCodes:
    """One service's error codes per s3dlio class, and the statuses it adds to the ladder."""

    not_found: frozenset[str] = attrs.field(default=frozenset(), converter=_codes)
    precondition: frozenset[str] = attrs.field(default=frozenset(), converter=_codes)
    throttled: frozenset[str] = attrs.field(default=frozenset(), converter=_codes)
    integrity: frozenset[str] = attrs.field(default=frozenset(), converter=_codes)
    denied: frozenset[str] = attrs.field(default=frozenset(), converter=_codes)
    exists: frozenset[str] = attrs.field(default=frozenset(), converter=_codes)
    fatal: frozenset[str] = attrs.field(default=frozenset(), converter=_codes)
    """Codes that are a plain ``StoreError`` (no retry) even with a 5xx status."""
    transient: frozenset[str] = attrs.field(default=frozenset(), converter=_codes)
    invalid: frozenset[str] = attrs.field(default=frozenset(), converter=_codes)
    not_supported: frozenset[str] = attrs.field(default=frozenset(), converter=_codes)
    exists_statuses: frozenset[int] = attrs.field(default=frozenset(), converter=_statuses)
    transient_statuses: frozenset[int] = attrs.field(default=TRANSIENT_STATUSES, converter=_statuses)
    invalid_statuses: frozenset[int] = attrs.field(default=frozenset(), converter=_statuses)
    not_supported_statuses: frozenset[int] = attrs.field(default=frozenset({501}), converter=_statuses)
    ladder: tuple[tuple[type[StoreError], frozenset[str], frozenset[int]], ...] = attrs.field(
        init=False, repr=False, eq=False)

    def __attrs_post_init__(self) -> None:
        object.__setattr__(self, "ladder", (
            (NotFoundError, self.not_found, frozenset({404})),
            (PreconditionError, self.precondition, frozenset({412})),
            (ThrottledError, self.throttled, frozenset({429, 503})),
            (IntegrityError, self.integrity, frozenset()),
            (PermissionDeniedError, self.denied, frozenset({401, 403})),
            (AlreadyExistsError, self.exists, self.exists_statuses),
            (StoreError, self.fatal, frozenset()),
            (TransientError, self.transient, self.transient_statuses),
            (InvalidPathError, self.invalid, self.invalid_statuses),
            (NotSupportedError, self.not_supported, self.not_supported_statuses),
        ))


def classify(status: int | None, codes: Iterable[str], table: ErrorCodes) -> type[StoreError]:
    """The s3dlio class of an answer with ``status`` and service error ``codes`` (the
    module's ladder: the first class whose statuses or codes match)."""
    given = frozenset(codes)
    for cls, names, statuses in table.ladder:
        if status in statuses or not names.isdisjoint(given):
            return cls
    return StoreError


def retry_after(headers: Any) -> float | None:
    """The seconds of a ``Retry-After`` header (``None``: absent, or an HTTP date)."""
    value = headers.get("retry-after") if headers is not None else None
    if not value:
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def http_error(cls: type[StoreError], message: str, *, status: int | None, code: str | None,
               headers: Any, op: str, uri: str, backend: str, endpoint: str,
               request_id: str | None) -> StoreError:
    """The ``cls`` error of one failed answer, with its code and ``Retry-After``."""
    return cls(message, op=op, uri=uri, backend=backend, endpoint=endpoint, status=status,
               request_id=request_id, code=code or None, retry_after=retry_after(headers))


def transport_error(exc: BaseException, *, where: str, tls_hint: str = "",
                    tls: tuple[type[BaseException], ...] = (),
                    timeouts: tuple[type[BaseException], ...] = (),
                    transient: tuple[type[BaseException], ...] = (), **fields: Any) -> StoreError:
    """The rules for a failure below HTTP that no SDK-specific rule took (``fields``: the
    error's ``op``, ``uri``, ``backend``, ``endpoint``), first match wins:

    * a TLS failure retrying cannot fix (:func:`~s3dlio.store.httpclient.tls_failure`, or
      one of the SDK's ``tls`` classes) — ``StoreError`` (``tls_hint`` names the CA-bundle
      setting);
    * ``TimeoutError`` or one of ``timeouts`` — ``StoreTimeoutError``;
    * ``ConnectionError`` or one of ``transient``, any other ``OSError`` (a socket error,
      a TLS exchange cut short) and the exceptions of urllib3, http.client and requests —
      ``TransientError``;
    * anything else — ``StoreError`` naming the exception type.
    """
    if tls_failure(exc) or isinstance(exc, tls):
        return StoreError(f"TLS failure talking to {where}: {exc}{tls_hint}", **fields)
    if isinstance(exc, (TimeoutError, *timeouts)):
        return StoreTimeoutError(f"timed out talking to {where}: {exc}", **fields)
    if isinstance(exc, (ConnectionError, *transient)):
        return TransientError(f"connection to {where} failed: {exc}", **fields)
    if isinstance(exc, OSError):
        return TransientError(f"I/O error talking to {where}: {exc}", **fields)
    # Protocol errors of the HTTP stacks surface unwrapped from streaming bodies.
    if type(exc).__module__.startswith(("urllib3", "http.client", "requests")):
        return TransientError(f"connection to {where} failed: {exc}", **fields)
    return StoreError(f"{type(exc).__name__}: {exc}", **fields)
