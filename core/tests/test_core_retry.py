"""Core's retry policy: what is retried, backoff bounds, quota, attempts, op-log rows."""

from __future__ import annotations

from typing import Any

import pytest

from s3dlio.errors import (
    IntegrityError,
    NotFoundError,
    PermissionDeniedError,
    StoreError,
    StoreTimeoutError,
    ThrottledError,
    TransientError,
)
from s3dlio.store import recording
from s3dlio.store.retry import RetryPolicy, RetryQuota, RetrySettings, is_retryable


def _policy(**overrides: Any) -> tuple[RetryPolicy, list[float]]:
    sleeps: list[float] = []
    settings = RetrySettings(**overrides)
    policy = RetryPolicy(settings, endpoint="http://e", quota=RetryQuota(settings.quota),
                         sleep=sleeps.append, rng=lambda: 1.0)
    return policy, sleeps


class Flaky:
    """Fails with the given errors, then returns ``"ok"``."""

    def __init__(self, *errors: BaseException) -> None:
        self.errors = list(errors)
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "ok"


def test_transient_errors_are_retried_until_success() -> None:
    policy, sleeps = _policy(max_attempts=3, base_ms=100)
    attempt = Flaky(TransientError("reset"), TransientError("reset"))
    assert policy.call(attempt, op="get", uri="s3://b/k") == "ok"
    assert attempt.calls == 3
    assert sleeps == [0.1, 0.2]  # full jitter with rng=1: base * 2**(n-1)


def test_exhausted_retries_raise_the_last_error_with_attempts() -> None:
    policy, _ = _policy(max_attempts=4)
    attempt = Flaky(*(TransientError(f"fail {i}") for i in range(10)))
    with pytest.raises(TransientError, match="fail 3") as info:
        policy.call(attempt, op="get", uri="s3://b/k")
    assert info.value.attempts == 4
    assert "attempts=4" in str(info.value)
    assert attempt.calls == 4


@pytest.mark.parametrize("error", [
    NotFoundError("gone"), PermissionDeniedError("no"), StoreError("bad request"), ValueError("x"),
])
def test_permanent_errors_are_not_retried(error: BaseException) -> None:
    policy, sleeps = _policy(max_attempts=5)
    attempt = Flaky(error)
    with pytest.raises(type(error)):
        policy.call(attempt, op="get", uri="s3://b/k")
    assert attempt.calls == 1 and sleeps == []
    if isinstance(error, StoreError):
        assert error.attempts == 1


def test_retryable_classes() -> None:
    assert is_retryable(ThrottledError("slow"))
    assert is_retryable(StoreTimeoutError("t"))
    assert is_retryable(IntegrityError("short body"))
    assert not is_retryable(NotFoundError("n"))
    marked = TransientError("x")
    marked.retryable = False  # type: ignore[attr-defined]
    assert not is_retryable(marked)


def test_throttling_waits_longer_and_honours_retry_after() -> None:
    policy, sleeps = _policy(max_attempts=3, base_ms=100, max_backoff_ms=20_000)
    slow = ThrottledError("SlowDown")
    slow.retry_after = 7.0  # type: ignore[attr-defined]
    policy.call(Flaky(ThrottledError("SlowDown"), slow), op="put", uri="s3://b/k")
    assert sleeps == [1.0, 7.0]  # 10 x base for throttling; Retry-After wins when longer


def test_backoff_never_exceeds_the_cap() -> None:
    policy, _ = _policy(base_ms=1000, max_backoff_ms=1500)
    assert all(policy.backoff(n) <= 1.5 for n in range(1, 30))
    huge = ThrottledError("x")
    huge.retry_after = 3600  # type: ignore[attr-defined]
    assert policy.backoff(1, huge) == 1.5


def test_one_shot_bodies_are_not_retried() -> None:
    policy, _ = _policy(max_attempts=5)
    attempt = Flaky(TransientError("cut"))
    with pytest.raises(TransientError):
        policy.call(attempt, op="put", uri="s3://b/k", replayable=False)
    assert attempt.calls == 1


def test_quota_stops_retry_storms() -> None:
    policy, _ = _policy(max_attempts=3, quota=10)  # room for two retries (5 each)
    with pytest.raises(TransientError):
        policy.call(Flaky(*(TransientError("x") for _ in range(3))), op="get", uri="s3://b/k")
    assert policy.quota.tokens == 0
    with pytest.raises(TransientError) as info:
        policy.call(Flaky(TransientError("down")), op="get", uri="s3://b/k")
    assert info.value.attempts == 1
    assert any("retry quota exhausted" in note for note in info.value.__notes__)


def test_quota_refills_on_success() -> None:
    policy, _ = _policy(max_attempts=3, quota=20)
    policy.call(Flaky(TransientError("x")), op="get", uri="s3://b/k")  # -5, then +5 back
    assert policy.quota.tokens == 20
    timeout_cost = RetryQuota(100)
    assert timeout_cost.acquire(timeout=True) == 10 and timeout_cost.tokens == 90
    unlimited = RetryQuota(0)
    assert unlimited.acquire(timeout=False) == -1  # never empty


def test_attempt_deadline_grows_with_size() -> None:
    policy, _ = _policy(operation_timeout_secs=60, timeout_secs_per_gib=45)
    assert policy.attempt_timeout(0) == 60
    assert policy.attempt_timeout(2 << 30) == 150


class RowRecorder:
    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []
        self.abandoned = 0

    def start(self) -> object:
        return object()

    def finish(self, span: object, op: str, **fields: Any) -> None:
        self.rows.append({"op": op, **fields})

    def abandon(self, span: object) -> None:
        self.abandoned += 1


def test_each_failed_attempt_is_an_oplog_row() -> None:
    policy, _ = _policy(max_attempts=3)
    rec = RowRecorder()
    previous = recording.install_recorder(rec)
    try:
        policy.call(Flaky(ThrottledError("SlowDown"), TransientError("reset")), op="get",
                    uri="s3://bucket/key")
    finally:
        recording.install_recorder(previous)
    assert [r["error"] for r in rec.rows] == [
        "retry 1/3: ThrottledError: SlowDown", "retry 2/3: TransientError: reset",
    ]
    assert all(r["op"] == "GET" and r["file"] == "bucket/key" and r["nbytes"] == 0 for r in rec.rows)
    # The last allowed attempt opens no span: its outcome is the caller's own row.
    assert rec.abandoned == 0
    rec.rows.clear()
    previous = recording.install_recorder(rec)
    try:
        policy.call(Flaky(), op="GET", uri="s3://bucket/key")
    finally:
        recording.install_recorder(previous)
    assert rec.rows == [] and rec.abandoned == 1  # a first-try success leaves no retry row
