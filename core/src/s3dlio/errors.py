"""The s3dlio error tree.

Every failure a user can meet is one of these classes. Storage errors carry the
operation, the URI, and (for network backends) the endpoint, HTTP status, request
id and attempt count. The underlying cause is always chained (``raise ... from``),
never swallowed.

Every class is a ``RuntimeError`` — code written against the original s3dlio, which
raised ``RuntimeError`` everywhere (unknown schemes, bad options, failed requests),
keeps working — and also inherits the built-in exception a caller would naturally
catch: ``NotFoundError`` is a ``FileNotFoundError``, ``InvalidPathError`` and
``ConfigError`` are ``ValueError``, ``BackendNotFoundError`` a ``LookupError``.

A :class:`StoreError` of a network backend also carries the service's error ``code``,
the server's ``Retry-After`` (``retry_after``, seconds) and ``retryable``, what core's
retry policy decides by: ``True`` by default for the transient classes
(:class:`TransientError` and its subclasses, :class:`IntegrityError`), ``False`` for
every other class; a backend may override it per error.
"""

from __future__ import annotations

import errno as _errno
from collections.abc import Sequence
from typing import Any, ClassVar

from s3dlio.redaction import redact

__all__ = [
    "AlreadyExistsError",
    "AmbiguousBackendError",
    "BackendNotFoundError",
    "BatchError",
    "CheckpointError",
    "ConfigError",
    "ExportStillReferencedError",
    "FeatureNotInstalledError",
    "IntegrityError",
    "InvalidBufferError",
    "InvalidPathError",
    "LengthMismatchError",
    "NotFoundError",
    "NotSupportedError",
    "ObjectNotFoundError",
    "PermissionDeniedError",
    "PluginError",
    "PluginLoadError",
    "PreconditionError",
    "S3dlioError",
    "StoreError",
    "StoreTimeoutError",
    "ThrottledError",
    "TransientError",
    "UnsupportedOperationError",
    "translate_os_error",
]


class S3dlioError(RuntimeError):
    """Base class of every error raised by s3dlio (a ``RuntimeError``, as the original's were)."""


class ConfigError(S3dlioError, ValueError):
    """A setting, option type or option value is invalid."""


class PluginError(S3dlioError):
    """A plugin could not be loaded, found or chosen."""


class PluginLoadError(PluginError):
    """A plugin's entry point failed to import or register."""


class BackendNotFoundError(PluginError, LookupError):
    """No installed plugin serves the URI's scheme; the message says what to install."""


class AmbiguousBackendError(PluginError):
    """Two installed plugins claim the same scheme and the configuration picks neither."""


class FeatureNotInstalledError(PluginError, ImportError):
    """A public name is served by a plugin that is not installed; the message is the install hint."""

    def __init__(self, *args: object, name: str | None = None, path: str | None = None) -> None:
        # RuntimeError.__init__ precedes ImportError's in the MRO; ImportError's sets
        # ``.msg``, ``.name`` and ``.path`` (and accepts them as keywords).
        ImportError.__init__(self, *args, name=name, path=path)


class StoreError(S3dlioError):
    """A storage operation failed.

    Attributes describe the failed request; any of them may be ``None`` when the
    backend cannot know it (a local file has no HTTP status). ``code`` is the service's
    error code (``NoSuchKey``, ``BlobNotFound``, a GCS reason), ``retry_after`` the
    seconds the server asked to wait (``Retry-After``) and ``retryable`` whether another
    attempt could succeed: ``None`` takes the class's :attr:`default_retryable`.
    """

    default_retryable: ClassVar[bool] = False
    """What ``retryable`` is unless the raiser says otherwise (core's retry policy reads it)."""

    def __init__(
        self,
        message: str,
        *,
        op: str | None = None,
        uri: str | None = None,
        backend: str | None = None,
        endpoint: str | None = None,
        status: int | None = None,
        request_id: str | None = None,
        attempts: int | None = None,
        code: str | None = None,
        retry_after: float | None = None,
        retryable: bool | None = None,
    ) -> None:
        self.message = redact(message)
        self.op = op
        self.uri = redact(uri) if uri is not None else None
        self.backend = backend
        self.endpoint = redact(endpoint) if endpoint is not None else None
        self.status = status
        self.request_id = request_id
        self.attempts = attempts
        self.code = code
        self.retry_after = retry_after
        self.retryable: bool = self.default_retryable if retryable is None else retryable
        super().__init__(self._render())

    def _render(self) -> str:
        where = []
        if self.op:
            where.append(self.op)
        if self.uri:
            where.append(self.uri)
        text = f"{' '.join(where)}: {self.message}" if where else self.message
        extras = []
        if self.endpoint:
            extras.append(f"endpoint={self.endpoint}")
        if self.status is not None:
            extras.append(f"status={self.status}")
        if self.code and self.code not in self.message and self.code != str(self.status):
            extras.append(f"code={self.code}")
        if self.request_id:
            extras.append(f"request_id={self.request_id}")
        if self.retry_after is not None:
            extras.append(f"retry_after={self.retry_after:g}s")
        if self.attempts is not None:
            extras.append(f"attempts={self.attempts}")
        return f"{text} ({', '.join(extras)})" if extras else text

    def __str__(self) -> str:
        return self._render()

    def _state(self) -> dict[str, Any]:
        return {
            "op": self.op,
            "uri": self.uri,
            "backend": self.backend,
            "endpoint": self.endpoint,
            "status": self.status,
            "request_id": self.request_id,
            "attempts": self.attempts,
            "code": self.code,
            "retry_after": self.retry_after,
            "retryable": self.retryable,
        }

    def __reduce__(self) -> tuple[Any, ...]:
        # Exceptions pickle through ``args`` by default, which loses the keyword-only
        # attributes; errors cross process boundaries (DataLoader workers, mp_get),
        # so keep every field.
        os_state = (
            (self.errno, self.strerror, self.filename) if isinstance(self, OSError) else None
        )
        return (
            _rebuild_store_error,
            (type(self), self.message, self._state(), self.__dict__, os_state),
        )


def _rebuild_store_error(
    cls: type[StoreError],
    message: str,
    state: dict[str, Any],
    extra: dict[str, Any],
    os_state: tuple[Any, Any, Any] | None = None,
) -> StoreError:
    # The OSError-derived classes (NotFoundError, ...) must be created by
    # OSError.__new__; RuntimeError.__new__ refuses them.
    err = OSError.__new__(cls) if issubclass(cls, OSError) else cls.__new__(cls)
    err.__dict__.update(extra)
    StoreError.__init__(err, message, **state)
    if os_state is not None:
        err.errno, err.strerror, err.filename = os_state  # type: ignore[attr-defined]
    return err


class _ErrnoStoreError(StoreError):
    """A ``StoreError`` that is also an ``OSError``: ``errno`` is the class's, ``strerror``
    the message and ``filename`` the URI, so ``except FileNotFoundError`` code reads them."""

    errno_value: ClassVar[int] = 0
    default_message: ClassVar[str] = "failed"
    errno: int | None  # the OSError fields, as typeshed declares them
    strerror: str | None
    filename: Any

    def __init__(self, message: str | None = None, **kwargs: Any) -> None:
        super().__init__(self.default_message if message is None else message, **kwargs)
        self.errno = self.errno_value
        self.strerror = self.message
        self.filename = self.uri


class NotFoundError(_ErrnoStoreError, FileNotFoundError):
    """The object, file, bucket or container does not exist (``errno`` is ENOENT)."""

    errno_value = _errno.ENOENT
    default_message = "not found"


class AlreadyExistsError(_ErrnoStoreError, FileExistsError):
    """The destination exists and the operation may not replace it."""

    errno_value = _errno.EEXIST
    default_message = "already exists"


class PermissionDeniedError(_ErrnoStoreError, PermissionError):
    """The credentials or file permissions do not allow the operation."""

    errno_value = _errno.EACCES
    default_message = "permission denied"


class PreconditionError(StoreError):
    """A conditional request failed (HTTP 412), e.g. the object changed during a read."""


class InvalidPathError(StoreError, ValueError):
    """The URI or key is malformed or not allowed for this backend."""


class InvalidBufferError(StoreError, ValueError):
    """A caller's destination buffer cannot take the read (``get_into``): read-only, not
    C-contiguous, not a buffer, or smaller than the object; nothing was written to it."""


class NotSupportedError(StoreError, NotImplementedError):
    """The backend or filesystem does not support the operation."""


class TransientError(StoreError):
    """A retryable failure persisted after every allowed attempt."""

    default_retryable = True


class ThrottledError(TransientError):
    """The service kept throttling (429, 503 SlowDown) until the retries ran out."""


class StoreTimeoutError(TransientError, TimeoutError):
    """The operation timed out on every allowed attempt."""


class IntegrityError(StoreError):
    """A length, checksum or multipart part-list check failed (worth another attempt: a
    short body or a rejected digest; a persistent one surfaces as itself)."""

    default_retryable = True


class LengthMismatchError(IntegrityError, ValueError):
    """The object's size differs from the size the caller expected."""

    def __init__(self, message: str, *, expected: int, actual: int, **kwargs: Any) -> None:
        self.expected = expected
        self.actual = actual
        super().__init__(message, **kwargs)


class ExportStillReferencedError(StoreError):
    """A borrowed buffer was still referenced when it had to be released."""


class CheckpointError(StoreError):
    """A checkpoint is incomplete, inconsistent or cannot be loaded."""


class BatchError(StoreError):
    """Some items of a batch operation failed; every failure is listed.

    ``failures`` is a list of ``(uri, exception)`` in input order and ``succeeded``
    the number of items that completed. ``__cause__`` is the first failure.
    """

    def __init__(
        self,
        op: str,
        failures: Sequence[tuple[str, BaseException]],
        succeeded: int,
        *,
        uri: str | None = None,
    ) -> None:
        self.failures = list(failures)
        self.succeeded = succeeded
        total = succeeded + len(self.failures)
        first = self.failures[0] if self.failures else ("", None)
        message = f"{len(self.failures)} of {total} failed; first: {first[0]}: {first[1]}"
        super().__init__(message, op=op, uri=uri)
        if self.failures:
            self.__cause__ = self.failures[0][1]

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild_batch_error, (self.op, self.failures, self.succeeded, self.uri))


def _rebuild_batch_error(
    op: str, failures: list[tuple[str, BaseException]], succeeded: int, uri: str | None
) -> BatchError:
    return BatchError(op, failures, succeeded, uri=uri)


# Names from s3dlio 0.10.
ObjectNotFoundError = NotFoundError
UnsupportedOperationError = NotSupportedError

_ERRNO_MAP: dict[int, type[StoreError]] = {
    _errno.ENOENT: NotFoundError,
    _errno.ENOTDIR: NotFoundError,
    _errno.EEXIST: AlreadyExistsError,
    _errno.EACCES: PermissionDeniedError,
    _errno.EPERM: PermissionDeniedError,
    _errno.EROFS: PermissionDeniedError,
    _errno.EISDIR: InvalidPathError,
    _errno.ENAMETOOLONG: InvalidPathError,
    _errno.EINVAL: InvalidPathError,
    _errno.EOPNOTSUPP: NotSupportedError,
}


def translate_os_error(exc: OSError, *, op: str, uri: str, backend: str) -> StoreError:
    """Map an ``OSError`` to the s3dlio tree; the caller raises it ``from exc``.

    ENOSPC, EFBIG, EIO and friends become a plain ``StoreError`` that still names
    the operation, URI and errno text.
    """
    cls = _ERRNO_MAP.get(exc.errno or 0, StoreError)
    reason = exc.strerror or str(exc)
    if exc.errno is not None:
        reason = f"[{_errno.errorcode.get(exc.errno, exc.errno)}] {reason}"
    return cls(reason, op=op, uri=uri, backend=backend)
