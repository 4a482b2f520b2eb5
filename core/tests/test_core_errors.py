"""The error tree: inheritance, pickling with attributes, redaction of secrets."""

from __future__ import annotations

import errno
import pickle

import pytest

import s3dlio
from s3dlio import errors as E

TREE = [
    (E.ConfigError, (E.S3dlioError, ValueError)),
    (E.PluginError, (E.S3dlioError,)),
    (E.PluginLoadError, (E.PluginError,)),
    (E.BackendNotFoundError, (E.PluginError, LookupError)),
    (E.AmbiguousBackendError, (E.PluginError,)),
    (E.FeatureNotInstalledError, (E.PluginError, ImportError)),
    (E.StoreError, (E.S3dlioError, RuntimeError)),
    (E.NotFoundError, (E.StoreError, FileNotFoundError, OSError)),
    (E.AlreadyExistsError, (E.StoreError, FileExistsError)),
    (E.PermissionDeniedError, (E.StoreError, PermissionError)),
    (E.PreconditionError, (E.StoreError,)),
    (E.InvalidPathError, (E.StoreError, ValueError)),
    (E.InvalidBufferError, (E.StoreError, ValueError)),
    (E.NotSupportedError, (E.StoreError, NotImplementedError)),
    (E.TransientError, (E.StoreError,)),
    (E.ThrottledError, (E.TransientError,)),
    (E.StoreTimeoutError, (E.TransientError, TimeoutError)),
    (E.IntegrityError, (E.StoreError,)),
    (E.LengthMismatchError, (E.IntegrityError, ValueError)),
    (E.ExportStillReferencedError, (E.StoreError,)),
    (E.CheckpointError, (E.StoreError,)),
    (E.BatchError, (E.StoreError,)),
]


@pytest.mark.parametrize(("cls", "bases"), TREE, ids=[c.__name__ for c, _ in TREE])
def test_tree(cls: type, bases: tuple[type, ...]) -> None:
    for base in bases:
        assert issubclass(cls, base), (cls, base)
    assert issubclass(cls, E.S3dlioError)
    assert getattr(s3dlio, cls.__name__) is cls  # exported at top level


def test_legacy_aliases() -> None:
    assert s3dlio.ObjectNotFoundError is E.NotFoundError
    assert s3dlio.UnsupportedOperationError is E.NotSupportedError


def test_store_error_renders_fields() -> None:
    err = E.StoreError("boom", op="get", uri="s3://b/k", backend="s3", endpoint="http://h:9000",
                       status=503, request_id="req-1", attempts=4)
    text = str(err)
    for part in ("get", "s3://b/k", "boom", "status=503", "request_id=req-1", "attempts=4",
                 "endpoint=http://h:9000"):
        assert part in text, part
    assert err.status == 503 and err.backend == "s3"


def test_not_found_is_a_proper_oserror() -> None:
    err = E.NotFoundError(op="stat", uri="file:///x")
    assert err.errno == errno.ENOENT and err.filename == "file:///x"
    assert str(err) == "stat file:///x: not found"
    with pytest.raises(FileNotFoundError):
        raise err


ALL_STORE_ERRORS = [
    E.StoreError, E.NotFoundError, E.AlreadyExistsError, E.PermissionDeniedError,
    E.PreconditionError, E.InvalidPathError, E.InvalidBufferError, E.NotSupportedError, E.TransientError,
    E.ThrottledError, E.StoreTimeoutError, E.IntegrityError, E.ExportStillReferencedError,
    E.CheckpointError,
]


@pytest.mark.parametrize("cls", ALL_STORE_ERRORS, ids=lambda c: c.__name__)
def test_store_errors_pickle_with_attributes(cls: type[E.StoreError]) -> None:
    err = cls("it failed", op="put", uri="s3://bucket/key", backend="s3",
              endpoint="https://e", status=500, request_id="abc", attempts=3)
    err.custom = "kept"  # type: ignore[attr-defined]
    clone = pickle.loads(pickle.dumps(err))
    assert type(clone) is cls
    assert str(clone) == str(err)
    assert (clone.message, clone.op, clone.uri, clone.backend, clone.endpoint, clone.status,
            clone.request_id, clone.attempts) == (
        "it failed", "put", "s3://bucket/key", "s3", "https://e", 500, "abc", 3)
    assert clone.custom == "kept"  # type: ignore[attr-defined]
    if isinstance(err, OSError):
        assert (clone.errno, clone.filename) == (err.errno, err.filename)


def test_length_mismatch_pickles() -> None:
    err = E.LengthMismatchError("short", expected=10, actual=7, op="get_into", uri="mem://b/k")
    clone = pickle.loads(pickle.dumps(err))
    assert (type(clone), clone.expected, clone.actual, clone.op) == (
        E.LengthMismatchError, 10, 7, "get_into")


def test_batch_error_lists_failures_and_pickles() -> None:
    f1 = E.NotFoundError(op="get", uri="mem://b/1")
    f2 = E.PermissionDeniedError(op="get", uri="mem://b/2")
    err = E.BatchError("get_many", [("mem://b/1", f1), ("mem://b/2", f2)], succeeded=3)
    assert err.succeeded == 3 and len(err.failures) == 2
    assert "2 of 5 failed" in str(err)
    assert err.__cause__ is f1
    clone = pickle.loads(pickle.dumps(err))
    assert [u for u, _ in clone.failures] == ["mem://b/1", "mem://b/2"]
    assert [type(e) for _, e in clone.failures] == [E.NotFoundError, E.PermissionDeniedError]
    assert clone.succeeded == 3 and clone.op == "get_many"


@pytest.mark.parametrize(
    ("secret_text", "secret"),
    [
        ("https://user:hunter2@host/path", "hunter2"),
        ("s3://b/k?X-Amz-Signature=deadbeef1234&X-Amz-Credential=AKIAXXXX", "deadbeef1234"),
        ("https://acct.blob.core.windows.net/c?sig=SASSECRET&se=1", "SASSECRET"),
        ("DefaultEndpointsProtocol=https;AccountKey=ACCKEYSECRET;EndpointSuffix=x", "ACCKEYSECRET"),
        ("aws_secret_access_key=wJalrXUtnFEMI", "wJalrXUtnFEMI"),
        ("Authorization: AWS4-HMAC-SHA256 Credential=abc", "AWS4-HMAC-SHA256"),
        ("key AKIAIOSFODNN7EXAMPLE used", "IOSFODNN7EXAMPLE"),
    ],
)
def test_secrets_are_redacted_in_messages(secret_text: str, secret: str) -> None:
    err = E.StoreError(f"request failed: {secret_text}", op="get", uri=secret_text,
                       endpoint=secret_text)
    for text in (str(err), err.message, err.uri, err.endpoint, repr(err)):
        assert secret not in text, text
    assert "****" in str(err)
    clone = pickle.loads(pickle.dumps(err))
    assert secret not in str(clone)


def test_translate_os_error() -> None:
    cases = {
        errno.ENOENT: E.NotFoundError, errno.EEXIST: E.AlreadyExistsError,
        errno.EACCES: E.PermissionDeniedError, errno.EROFS: E.PermissionDeniedError,
        errno.EISDIR: E.InvalidPathError, errno.ENOSPC: E.StoreError,
    }
    for code, cls in cases.items():
        exc = OSError(code, "msg")
        err = E.translate_os_error(exc, op="put", uri="file:///p", backend="posix")
        assert type(err) is cls, code
        assert err.op == "put" and err.uri == "file:///p"
        assert errno.errorcode[code] in str(err)


# --------------------------------------------------- every error is a RuntimeError
EXPORTED = [getattr(E, name) for name in E.__all__
            if isinstance(getattr(E, name), type) and issubclass(getattr(E, name), BaseException)]
BUILTIN_MIXINS = {
    E.ConfigError: ValueError, E.BackendNotFoundError: LookupError,
    E.FeatureNotInstalledError: ImportError, E.NotFoundError: FileNotFoundError,
    E.AlreadyExistsError: FileExistsError, E.PermissionDeniedError: PermissionError,
    E.InvalidPathError: ValueError, E.NotSupportedError: NotImplementedError,
    E.StoreTimeoutError: TimeoutError, E.LengthMismatchError: ValueError,
}


@pytest.mark.parametrize("cls", EXPORTED, ids=lambda c: c.__name__)
def test_every_exported_error_is_a_runtime_error_and_keeps_its_mixin(cls: type) -> None:
    assert issubclass(cls, RuntimeError), cls.__mro__
    mixin = BUILTIN_MIXINS.get(cls)
    if mixin is not None:
        assert issubclass(cls, mixin), (cls, mixin)


def test_plugin_and_config_errors_are_caught_as_runtime_errors() -> None:
    # The original raised RuntimeError for an unknown scheme or a bad option.
    for err in (E.BackendNotFoundError("Unsupported URI scheme 'ftp://'"),
                E.ConfigError("S3DLIO_RANGE_THRESHOLD_MB: not an integer"),
                E.AmbiguousBackendError("two plugins claim s3"), E.PluginLoadError("boom")):
        with pytest.raises(RuntimeError):
            raise err
    with pytest.raises(LookupError):
        raise E.BackendNotFoundError("ftp")
    with pytest.raises(ValueError):
        raise E.ConfigError("bad")


def test_feature_not_installed_keeps_import_error_fields() -> None:
    # ImportError.__init__ must run (RuntimeError's comes first in the MRO).
    err = E.FeatureNotInstalledError("pip install s3dlio-oplog", name="s3dlio_oplog")
    assert (err.msg, err.name, str(err)) == ("pip install s3dlio-oplog", "s3dlio_oplog",
                                             "pip install s3dlio-oplog")
    clone = pickle.loads(pickle.dumps(err))
    assert (type(clone), clone.msg, clone.name) == (E.FeatureNotInstalledError,
                                                    "pip install s3dlio-oplog", "s3dlio_oplog")


def test_config_error_pickles_and_is_both_value_and_runtime_error() -> None:
    clone = pickle.loads(pickle.dumps(E.ConfigError("bad value")))
    assert type(clone) is E.ConfigError and str(clone) == "bad value"
    assert isinstance(clone, ValueError) and isinstance(clone, RuntimeError)


# ---------------------------------------------- code, retry_after, retryable fields
@pytest.mark.parametrize(("cls", "retryable"), [
    (E.StoreError, False), (E.NotFoundError, False), (E.PermissionDeniedError, False),
    (E.PreconditionError, False), (E.InvalidPathError, False), (E.NotSupportedError, False),
    (E.TransientError, True), (E.ThrottledError, True), (E.StoreTimeoutError, True),
    (E.IntegrityError, True),
])
def test_retryable_defaults_from_the_class(cls: type[E.StoreError], retryable: bool) -> None:
    assert cls("x").retryable is retryable
    assert cls("x", retryable=not retryable).retryable is (not retryable)  # the raiser decides
    assert E.LengthMismatchError("x", expected=1, actual=0).retryable is True


@pytest.mark.parametrize("cls", ALL_STORE_ERRORS, ids=lambda c: c.__name__)
def test_code_retry_after_retryable_survive_pickle(cls: type[E.StoreError]) -> None:
    err = cls("slow down", op="get", uri="s3://b/k", status=503, code="SlowDown",
              retry_after=7.5, retryable=False)
    clone = pickle.loads(pickle.dumps(err))
    assert (clone.code, clone.retry_after, clone.retryable) == ("SlowDown", 7.5, False)
    assert str(clone) == str(err)


def test_code_and_retry_after_are_rendered_when_they_add_something() -> None:
    err = E.ThrottledError("slow", op="get", uri="s3://b/k", status=503, code="SlowDown",
                           retry_after=7.0)
    assert "code=SlowDown" in str(err) and "retry_after=7s" in str(err)
    # Not twice: a code already in the message, or one that is just the status.
    assert "code=" not in str(E.NotFoundError("NoSuchKey: gone", code="NoSuchKey"))
    assert "code=" not in str(E.StoreError("m", status=404, code="404"))
    plain = E.StoreError("m")
    assert (plain.code, plain.retry_after, plain.retryable) == (None, None, False)
