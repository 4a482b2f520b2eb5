"""The shared HTTP-answer and transport-failure mapping (s3dlio.store.httperrors)."""

from __future__ import annotations

import http.client
import pickle
import ssl
from typing import Any

import pytest

from s3dlio import errors as E
from s3dlio.store.httperrors import ErrorCodes, classify, http_error, retry_after, transport_error
from s3dlio.store.retry import RetryPolicy, RetryQuota, RetrySettings, is_retryable

TABLE = ErrorCodes(
    not_found={"NoSuchKey"}, precondition={"ConditionNotMet"}, throttled={"SlowDown"},
    integrity={"BadDigest"}, denied={"AccessDenied"}, exists={"BucketAlreadyExists"},
    fatal={"RequestTimeTooSkewed"}, transient={"InternalError"}, invalid={"InvalidArgument"},
    not_supported={"NotImplemented"}, invalid_statuses={400, 416},
)


@pytest.mark.parametrize(("status", "code", "cls"), [
    (404, "", E.NotFoundError), (None, "NoSuchKey", E.NotFoundError),
    (412, "", E.PreconditionError), (409, "ConditionNotMet", E.PreconditionError),
    (429, "", E.ThrottledError), (503, "", E.ThrottledError), (400, "SlowDown", E.ThrottledError),
    (400, "BadDigest", E.IntegrityError),
    (401, "", E.PermissionDeniedError), (403, "", E.PermissionDeniedError),
    (409, "BucketAlreadyExists", E.AlreadyExistsError),
    (500, "RequestTimeTooSkewed", E.StoreError),  # fatal codes win over a 5xx status
    (500, "", E.TransientError), (502, "", E.TransientError), (408, "", E.TransientError),
    (409, "InternalError", E.TransientError),
    (400, "", E.InvalidPathError), (416, "", E.InvalidPathError),
    (422, "InvalidArgument", E.InvalidPathError),
    (405, "NotImplemented", E.NotSupportedError),
    (409, "", E.StoreError), (301, "PermanentRedirect", E.StoreError), (None, "", E.StoreError),
])
def test_ladder(status: int | None, code: str, cls: type[E.StoreError]) -> None:
    assert classify(status, (code,), TABLE) is cls


def test_first_match_wins_in_ladder_order() -> None:
    # A 404 status is not found whatever the code says; a throttling code beats a 403.
    assert classify(404, ("AccessDenied",), TABLE) is E.NotFoundError
    assert classify(403, ("SlowDown",), TABLE) is E.ThrottledError
    # Any of several codes (GCS reasons) may match.
    assert classify(400, ("other", "BadDigest"), TABLE) is E.IntegrityError


def test_statuses_are_per_service() -> None:
    # 501: transient by default (S3, GCS), not supported where the table says so (Azure).
    assert classify(501, (), ErrorCodes()) is E.TransientError
    azure_like = ErrorCodes(transient_statuses={408, *range(500, 600)} - {501},
                            not_supported_statuses={405, 501})
    assert classify(501, (), azure_like) is E.NotSupportedError
    assert classify(409, (), ErrorCodes(exists_statuses={409})) is E.AlreadyExistsError
    assert classify(400, (), ErrorCodes()) is E.StoreError


@pytest.mark.parametrize(("headers", "seconds"), [
    ({"retry-after": "7"}, 7.0), ({"retry-after": "0.5"}, 0.5), ({}, None), (None, None),
    ({"retry-after": ""}, None), ({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}, None),
])
def test_retry_after_header(headers: dict[str, str] | None, seconds: float | None) -> None:
    assert retry_after(headers) == seconds


def test_http_error_carries_code_status_and_retry_after_and_pickles() -> None:
    err = http_error(E.ThrottledError, "SlowDown: reduce your request rate", status=503,
                     code="SlowDown", headers={"retry-after": "3"}, op="get", uri="s3://b/k",
                     backend="s3", endpoint="http://127.0.0.1:9000", request_id="req-1")
    assert type(err) is E.ThrottledError
    assert (err.status, err.code, err.retry_after, err.request_id, err.retryable) == (
        503, "SlowDown", 3.0, "req-1", True)
    assert (err.op, err.uri, err.backend) == ("get", "s3://b/k", "s3")
    clone = pickle.loads(pickle.dumps(err))
    assert (clone.code, clone.retry_after, str(clone)) == ("SlowDown", 3.0, str(err))
    assert http_error(E.StoreError, "m", status=400, code="", headers=None, op="get", uri="u",
                      backend="b", endpoint="e", request_id=None).code is None


def test_retry_policy_waits_at_least_retry_after() -> None:
    sleeps: list[float] = []
    settings = RetrySettings(max_attempts=2, base_ms=1, max_backoff_ms=60_000)
    policy = RetryPolicy(settings, endpoint="http://e", quota=RetryQuota(0), sleep=sleeps.append,
                         rng=lambda: 0.0)
    answers: list[BaseException] = [
        http_error(E.ThrottledError, "slow", status=429, code="", headers={"retry-after": "9"},
                   op="get", uri="u", backend="b", endpoint="e", request_id=None)]

    def attempt() -> str:
        if answers:
            raise answers.pop()
        return "ok"

    assert policy.call(attempt, op="get", uri="u") == "ok"
    assert sleeps == [9.0]


def test_retry_policy_reads_the_retryable_field() -> None:
    assert is_retryable(E.TransientError("reset"))
    assert not is_retryable(E.TransientError("reset", retryable=False))
    assert is_retryable(E.StoreError("a backend says: worth another try", retryable=True))
    assert not is_retryable(ConnectionResetError("not an s3dlio error"))


FIELDS: dict[str, Any] = {"op": "get", "uri": "s3://b/k", "backend": "s3", "endpoint": "http://e"}


class _SdkTimeout(Exception):
    pass


class _SdkConnection(Exception):
    pass


class _SdkTls(_SdkConnection):
    pass


@pytest.mark.parametrize(("exc", "cls", "text"), [
    (ssl.SSLCertVerificationError(1, "certificate verify failed"), E.StoreError, "TLS failure"),
    (ssl.SSLEOFError(8, "EOF occurred"), E.TransientError, "I/O error"),  # a cut-short exchange
    (TimeoutError("timed out"), E.StoreTimeoutError, "timed out talking to http://e"),
    (http.client.IncompleteRead(b"", 3), E.TransientError, "connection to"),
    (ConnectionResetError(104, "reset"), E.TransientError, "connection to http://e failed"),
    (http.client.RemoteDisconnected("closed"), E.TransientError, "connection to"),
    (OSError(5, "EIO"), E.TransientError, "I/O error talking to http://e"),
    (http.client.IncompleteRead(b"x", 5), E.TransientError, "connection to"),
    (_SdkTimeout("slow"), E.StoreTimeoutError, "timed out"),
    (_SdkConnection("refused"), E.TransientError, "connection to"),
    (_SdkTls("bad cert"), E.StoreError, "TLS failure"),  # the SDK's TLS class before its base
    (KeyError("k"), E.StoreError, "KeyError"),
])
def test_transport_rules(exc: BaseException, cls: type[E.StoreError], text: str) -> None:
    err = transport_error(exc, where="http://e", tls_hint=" (CA_BUNDLE?)", tls=(_SdkTls,),
                          timeouts=(_SdkTimeout,), transient=(_SdkConnection,), **FIELDS)
    assert type(err) is cls, (exc, err)
    assert text in str(err)
    assert (err.op, err.uri, err.backend) == ("get", "s3://b/k", "s3")
    if cls is E.StoreError and "TLS" in text:
        assert "(CA_BUNDLE?)" in str(err) and not err.retryable
