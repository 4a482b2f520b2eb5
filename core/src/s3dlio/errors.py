"""The s3dlio error tree.

Every failure a user can meet is one of these classes. Storage errors carry the
operation, the URI, and (for network backends) the endpoint, HTTP status, request
id and attempt count. The underlying cause is always chained (``raise ... from``),
never swallowed.

The tree also inherits from the built-in exception a caller would naturally catch:
``NotFoundError`` is a ``FileNotFoundError``, ``InvalidPathError`` a ``ValueError``,
and every ``StoreError`` a ``RuntimeError``. Code written against the original
s3dlio, which raised ``RuntimeError`` everywhere, keeps working.
"""

from __future__ import annotations

import errno as _errno
from collections.abc import Sequence
from typing import Any

from s3dlio.log import redact

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


class S3dlioError(Exception):
    """Base class of every error raised by s3dlio."""


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


class StoreError(S3dlioError, RuntimeError):
    """A storage operation failed.

    Attributes describe the failed request; any of them may be ``None`` when the
    backend cannot know it (a local file has no HTTP status).
    """

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
    ) -> None:
        self.message = redact(message)
        self.op = op
        self.uri = redact(uri) if uri is not None else None
        self.backend = backend
        self.endpoint = redact(endpoint) if endpoint is not None else None
        self.status = status
        self.request_id = request_id
        self.attempts = attempts
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
        if self.request_id:
            extras.append(f"request_id={self.request_id}")
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


class NotFoundError(StoreError, FileNotFoundError):
    """The object, file, bucket or container does not exist (``errno`` is ENOENT)."""

    def __init__(self, message: str = "not found", **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.errno = _errno.ENOENT
        self.strerror = self.message
        self.filename = self.uri

    def __str__(self) -> str:  # OSError.__str__ would print "[Errno 2] ..." without our fields
        return self._render()


class AlreadyExistsError(StoreError, FileExistsError):
    """The destination exists and the operation may not replace it."""

    def __init__(self, message: str = "already exists", **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.errno = _errno.EEXIST
        self.strerror = self.message
        self.filename = self.uri

    def __str__(self) -> str:
        return self._render()


class PermissionDeniedError(StoreError, PermissionError):
    """The credentials or file permissions do not allow the operation."""

    def __init__(self, message: str = "permission denied", **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.errno = _errno.EACCES
        self.strerror = self.message
        self.filename = self.uri

    def __str__(self) -> str:
        return self._render()


class PreconditionError(StoreError):
    """A conditional request failed (HTTP 412), e.g. the object changed during a read."""


class InvalidPathError(StoreError, ValueError):
    """The URI or key is malformed or not allowed for this backend."""


class NotSupportedError(StoreError, NotImplementedError):
    """The backend or filesystem does not support the operation."""


class TransientError(StoreError):
    """A retryable failure persisted after every allowed attempt."""


class ThrottledError(TransientError):
    """The service kept throttling (429, 503 SlowDown) until the retries ran out."""


class StoreTimeoutError(TransientError, TimeoutError):
    """The operation timed out on every allowed attempt."""


class IntegrityError(StoreError):
    """A length, checksum or multipart part-list check failed."""


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
