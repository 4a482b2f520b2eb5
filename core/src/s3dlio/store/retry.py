"""One retry policy for every network backend (docs/configuration.md, ``[retry]``).

SDK-internal retries are switched off by the backends (botocore
``total_max_attempts=1``, azure ``retry_total=0``, GCS ``retry=None``), so attempts
never multiply and each one is visible. A backend wraps every request in
:meth:`RetryPolicy.call`, translating SDK exceptions into the s3dlio tree inside
the attempt; the policy retries an error whose ``retryable`` field is true, which
by default (:attr:`~s3dlio.errors.StoreError.default_retryable`) means:

* :class:`~s3dlio.errors.TransientError` (its subclasses
  :class:`~s3dlio.errors.ThrottledError` and :class:`~s3dlio.errors.StoreTimeoutError`
  included) and :class:`~s3dlio.errors.IntegrityError` (a short body or a rejected
  digest is worth another try; a persistent one surfaces as itself);
* nothing else — 4xx answers, missing credentials and bad input fail at once.

Backoff is full jitter, ``uniform(0, min(cap, base * 2**(attempt-1)))``; throttling
uses ``10 * base`` and never waits less than the server's ``Retry-After``
(the error's ``retry_after``). A token
bucket per endpoint (the AWS SDK "standard" quota) stops retry storms during an
outage. Every failed attempt is reported to the active recorder as its own op-log
row (``retry k/max: …``), and the final error carries ``.attempts``.
"""

from __future__ import annotations

import logging
import os
import random
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import attrs

from s3dlio.config import setting
from s3dlio.errors import StoreError, StoreTimeoutError, ThrottledError
from s3dlio.log import event_logger
from s3dlio.store import recording

if TYPE_CHECKING:
    from s3dlio.config import Settings

__all__ = ["RetryPolicy", "RetryQuota", "RetrySettings", "is_retryable", "policy_for"]

T = TypeVar("T")
GiB = 1 << 30
# Events: ``retry`` (info) for each retried attempt, ``retry_gave_up`` (warning) when a
# retryable error ends the call. Never on success; a disabled level costs one check.
_events = event_logger(__name__)


@attrs.define
class RetrySettings:
    """Section ``[retry]``: attempts, backoff and timeouts of network requests."""

    max_attempts: int = setting(
        3, env=("S3DLIO_MAX_RETRY_ATTEMPTS", "AWS_MAX_ATTEMPTS"), minimum=1, maximum=20,
        help="attempts per request, the first included",
    )
    base_ms: int = setting(
        100, env="S3DLIO_RETRY_BASE_MS", minimum=1, maximum=60_000,
        help="backoff base (ms); throttling waits use 10 x base",
    )
    max_backoff_ms: int = setting(
        20_000, env="S3DLIO_RETRY_MAX_BACKOFF_MS", minimum=1, maximum=600_000,
        help="longest single backoff (ms)",
    )
    quota: int = setting(
        500, env="S3DLIO_RETRY_QUOTA", minimum=0, maximum=1_000_000,
        help="retry token bucket per endpoint (a retry costs 5, a timeout retry 10; 0: unlimited)",
    )
    connect_timeout_secs: float = setting(
        20.0, env="S3DLIO_CONNECT_TIMEOUT_SECS", kind=float, minimum=0.05, maximum=3600,
        help="TCP + TLS connect timeout (s)",
    )
    read_timeout_secs: float = setting(
        30.0, env="S3DLIO_READ_TIMEOUT_SECS", kind=float, minimum=0.05, maximum=86_400,
        help="longest wait for the next byte of a response (s)",
    )
    operation_timeout_secs: float = setting(
        60.0, env="S3DLIO_OPERATION_TIMEOUT_SECS", kind=float, minimum=0.05, maximum=86_400,
        help="deadline of one attempt (s), plus timeout_secs_per_gib per GiB of body",
    )
    timeout_secs_per_gib: float = setting(
        45.0, env="S3DLIO_TIMEOUT_SECS_PER_GIB", kind=float, minimum=0, maximum=86_400,
        help="extra attempt deadline per GiB moved (s)",
    )


def is_retryable(exc: BaseException) -> bool:
    """Whether another attempt could succeed: the error's ``retryable`` field (from its
    class unless the backend said otherwise), never the message; not an s3dlio error: no."""
    return isinstance(exc, StoreError) and exc.retryable


class RetryQuota:
    """Token bucket shared by every request to one endpoint.

    Capacity ``capacity``; a retry takes 5 tokens (10 after a timeout) and a request
    that succeeds on its first attempt gives 1 back. An empty bucket means the
    endpoint is failing broadly: fail now instead of piling retries onto it.
    """

    RETRY_COST = 5
    TIMEOUT_COST = 10
    SUCCESS_REFUND = 1

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._tokens = capacity
        self._lock = threading.Lock()

    @property
    def tokens(self) -> int:
        return self._tokens

    def acquire(self, *, timeout: bool) -> int:
        """Take the cost of one retry; return it, or 0 when the bucket is empty."""
        if self.capacity <= 0:
            return -1  # unlimited: a sentinel that refunds nothing
        cost = self.TIMEOUT_COST if timeout else self.RETRY_COST
        with self._lock:
            if self._tokens < cost:
                return 0
            self._tokens -= cost
            return cost

    def release(self, amount: int) -> None:
        """Give tokens back (a success after a retry returns that retry's cost)."""
        if self.capacity <= 0 or amount <= 0:
            return
        with self._lock:
            self._tokens = min(self.capacity, self._tokens + amount)


class RetryPolicy:
    """Retries one backend's requests to one endpoint.

    ``sleep`` and ``random`` are injectable so tests can check the schedule without
    waiting for it.
    """

    def __init__(
        self,
        settings: RetrySettings,
        *,
        endpoint: str = "",
        quota: RetryQuota | None = None,
        sleep: Callable[[float], None] = time.sleep,
        rng: Callable[[], float] = random.random,
    ) -> None:
        self.settings = settings
        self.endpoint = endpoint
        self.quota = quota if quota is not None else _quota_for(endpoint, settings.quota)
        self._sleep = sleep
        self._rng = rng

    @property
    def max_attempts(self) -> int:
        return self.settings.max_attempts

    def attempt_timeout(self, nbytes: int = 0) -> float:
        """Deadline of one attempt moving ``nbytes`` (seconds)."""
        s = self.settings
        return float(s.operation_timeout_secs + s.timeout_secs_per_gib * (max(0, nbytes) / GiB))

    def backoff(self, attempt: int, exc: BaseException | None = None) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based)."""
        s = self.settings
        throttled = isinstance(exc, ThrottledError)
        base = s.base_ms / 1000.0 * (10 if throttled else 1)
        cap = float(s.max_backoff_ms) / 1000.0
        delay = float(self._rng()) * min(cap, base * (2 ** (attempt - 1)))
        retry_after = exc.retry_after if isinstance(exc, StoreError) else None
        if retry_after is not None and retry_after > 0:
            delay = max(delay, float(retry_after))
        return float(min(delay, cap))

    def call(
        self,
        attempt: Callable[[], T],
        *,
        op: str,
        uri: str,
        nbytes: int = 0,
        replayable: bool = True,
    ) -> T:
        """Run ``attempt`` until it succeeds, fails for good, or the budgets run out.

        ``attempt`` raises s3dlio errors (the backend translates inside it).
        ``replayable=False`` (a one-shot body) disables retries.
        """
        limit = self.settings.max_attempts if replayable else 1
        spent = 0
        number = 1
        started = time.monotonic()
        while True:
            rec = recording.current
            span = rec.start() if rec is not None and number < limit else None
            try:
                result = attempt()
            except StoreError as exc:
                if number >= limit or not is_retryable(exc):
                    _finalise(exc, number)
                    if span is not None and rec is not None:
                        _abandon(rec, span)
                    if is_retryable(exc):
                        self._log_event(logging.WARNING, "retry_gave_up", exc, op, uri, number, limit,
                                        started, reason="attempts exhausted" if replayable
                                        else "body not replayable")
                    raise
                cost = self.quota.acquire(timeout=isinstance(exc, StoreTimeoutError))
                if cost == 0:
                    _finalise(exc, number)
                    exc.add_note(f"retry quota exhausted for {self.endpoint or 'this endpoint'}")
                    if span is not None and rec is not None:
                        _abandon(rec, span)
                    self._log_event(logging.WARNING, "retry_gave_up", exc, op, uri, number, limit, started,
                                    reason="retry quota exhausted")
                    raise
                spent += max(cost, 0)
                if span is not None and rec is not None:
                    rec.finish(span, _oplog_op(op), n_objects=1, nbytes=0, endpoint=self.endpoint,
                               file=_file_of(uri),
                               error=f"retry {number}/{limit}: {type(exc).__name__}: {exc}")
                delay = self.backoff(number, exc)
                self._log_event(logging.INFO, "retry", exc, op, uri, number, limit, started,
                                delay_ms=round(delay * 1000, 1))
                self._sleep(delay)
                number += 1
                continue
            except BaseException:
                if span is not None and rec is not None:
                    _abandon(rec, span)
                raise
            if span is not None and rec is not None:
                _abandon(rec, span)
            if number == 1:
                self.quota.release(RetryQuota.SUCCESS_REFUND)
            else:
                self.quota.release(spent)
            return result

    def _log_event(self, level: int, event: str, exc: StoreError, op: str, uri: str, attempt: int,
                   limit: int, started: float, **extra: Any) -> None:
        """Log one retry event; its fields are built only when ``level`` is enabled."""
        if _events.is_enabled_for(level):
            _events.log(level, event, op=op, uri=uri, attempt=attempt, max_attempts=limit,
                        status=exc.status, error=type(exc).__name__, detail=exc.message,
                        elapsed_ms=round((time.monotonic() - started) * 1000, 1),
                        endpoint=self.endpoint, **extra)


_OPLOG_OPS = {
    "get": "GET", "get_range": "GET", "stat": "STAT", "head": "STAT", "list": "LIST",
    "list_uploads": "LIST", "delete": "DELETE", "copy": "COPY", "put": "PUT", "upload": "PUT",
    "create_upload": "PUT", "upload_part": "PUT", "complete_upload": "PUT", "abort_upload": "PUT",
    "mkdir": "MKDIR", "create_bucket": "CREATE_CONTAINER", "delete_bucket": "DELETE_CONTAINER",
    "list_buckets": "LIST",
}


def _oplog_op(op: str) -> str:
    """warp's op name (docs/oplog.md) for a backend's operation name."""
    return _OPLOG_OPS.get(op, op.upper())


def _finalise(exc: StoreError, attempts: int) -> None:
    exc.attempts = attempts
    # The rendered message includes the attempts; refresh the cached args.
    exc.args = (exc._render(),)


def _abandon(rec: Any, span: Any) -> None:
    abandon = getattr(rec, "abandon", None)
    if abandon is not None:
        abandon(span)


def _file_of(uri: str) -> str:
    return uri.split("://", 1)[1] if "://" in uri else uri


_quotas: dict[str, RetryQuota] = {}
_quotas_lock = threading.Lock()


def _quota_for(endpoint: str, capacity: int) -> RetryQuota:
    key = f"{endpoint}|{capacity}"
    quota = _quotas.get(key)
    if quota is None:
        with _quotas_lock:
            quota = _quotas.setdefault(key, RetryQuota(capacity))
    return quota


def policy_for(settings: Settings, endpoint: str) -> RetryPolicy:
    """The policy for ``endpoint`` from the ``[retry]`` section of ``settings``."""
    section: RetrySettings = settings.section("retry")
    return RetryPolicy(section, endpoint=endpoint)


def _reset_after_fork() -> None:
    global _quotas_lock
    _quotas.clear()
    _quotas_lock = threading.Lock()


os.register_at_fork(after_in_child=_reset_after_fork)
