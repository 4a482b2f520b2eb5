"""Process-wide setup calls kept from the original API (API.md §1 "Configuration")."""

from __future__ import annotations

import logging
import os
import re
import sys
from typing import Any

from s3dlio.plugin import runtime

__all__ = [
    "configure_retries",
    "configure_s3",
    "configure_tokio_threads",
    "gcs_get_channel_count",
    "gcs_get_rapid_mode",
    "gcs_query_rapid_bucket",
    "gcs_set_channel_count",
    "gcs_set_rapid_mode",
    "init_logging",
    "is_endpoint_segment",
    "parse_s3_uri_full",
]

_LEVELS = {
    "trace": logging.DEBUG,
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warn": logging.WARNING,
    "warning": logging.WARNING,
    "error": logging.ERROR,
}
_handler: logging.Handler | None = None


def init_logging(level: str = "info") -> None:
    """Send ``s3dlio*`` log records to stderr at ``level`` (unknown levels mean ``info``).

    Only the ``s3dlio`` logger is touched; repeated calls change the level.
    """
    global _handler
    logger = logging.getLogger("s3dlio")
    logger.setLevel(_LEVELS.get(str(level).lower(), logging.INFO))
    if _handler is None:
        from s3dlio.log import RedactingFilter

        _handler = logging.StreamHandler(sys.stderr)
        _handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        _handler.addFilter(RedactingFilter())
        logger.addHandler(_handler)


def configure_s3(
    endpoint_url: str | None = None, region: str | None = None, ca_bundle: str | None = None
) -> None:
    """Set the S3 endpoint, region and CA bundle; effective immediately (the store cache is reset)."""
    if endpoint_url is not None:
        os.environ["AWS_ENDPOINT_URL"] = endpoint_url
    if region is not None:
        os.environ["AWS_DEFAULT_REGION"] = region
        os.environ["AWS_REGION"] = region
    if ca_bundle is not None:
        os.environ["AWS_CA_BUNDLE"] = ca_bundle
    runtime.reset()


def configure_retries(
    max_attempts: int | None = None,
    *,
    base_ms: int | None = None,
    max_backoff_ms: int | None = None,
    quota: int | None = None,
    connect_timeout: float | None = None,
    read_timeout: float | None = None,
    operation_timeout: float | None = None,
    timeout_per_gib: float | None = None,
) -> None:
    """Set the retry policy and timeouts of network backends (``[retry]``) from code.

    Arguments left ``None`` keep their value from the environment or config file;
    values given here win over both. Invalid values raise ``ConfigError`` on the
    next storage call, naming the setting.
    """
    runtime.set_explicit(
        "retry", max_attempts=max_attempts, base_ms=base_ms, max_backoff_ms=max_backoff_ms,
        quota=quota, connect_timeout_secs=connect_timeout, read_timeout_secs=read_timeout,
        operation_timeout_secs=operation_timeout, timeout_secs_per_gib=timeout_per_gib,
    )


_io_threads: int | None = None


def configure_tokio_threads(n: int = 0) -> int:
    """Set the number of I/O threads (0: CPUs ÷ world size); the first call wins."""
    global _io_threads
    if _io_threads is None:
        if n <= 0:
            from s3dlio.engines.pool import cpu_count

            world = 1
            for var in ("OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "WORLD_SIZE"):
                if os.environ.get(var, "").isdigit():
                    world = max(1, int(os.environ[var]))
                    break
            n = max(1, cpu_count() // world)
        _io_threads = n
        os.environ.setdefault("S3DLIO_RT_THREADS", str(n))
    return _io_threads


_ENDPOINT_RE = re.compile(r"^(?:\d{1,3}(?:\.\d{1,3}){3}|\[[0-9a-fA-F:]+\])(?::\d+)?$|^[^/:]+:\d+$")


def is_endpoint_segment(text: str) -> bool:
    """Whether the first segment of an ``s3://`` URI names an endpoint (``host:port`` or an IP)."""
    return _ENDPOINT_RE.match(text) is not None


def parse_s3_uri_full(uri: str) -> dict[str, Any]:
    """``{"endpoint", "bucket", "key"}`` of ``s3://[host:port/]bucket/key``.

    A first segment with ``:port`` or a dotted IP is the endpoint. ``s3://bucket``
    without a ``/`` and non-s3 URIs raise ``ValueError``.
    """
    if not isinstance(uri, str) or not uri.startswith("s3://"):
        raise ValueError(f"not an s3:// URI: {uri!r}")
    rest = uri[5:]
    if "/" not in rest:
        raise ValueError(f"s3 URI needs a bucket and a '/' ({uri!r})")
    first, _, remainder = rest.partition("/")
    endpoint = None
    if is_endpoint_segment(first):
        endpoint = first
        bucket, _, key = remainder.partition("/")
    else:
        bucket, key = first, remainder
    if not bucket:
        raise ValueError(f"s3 URI has no bucket ({uri!r})")
    return {"endpoint": endpoint, "bucket": bucket, "key": key}


_gcs: dict[str, Any] = {"channels": 0, "rapid": None}


def gcs_set_channel_count(n: int) -> None:
    """Record the GCS gRPC channel count (a setting; never raises)."""
    try:
        _gcs["channels"] = max(0, int(n))
    except (TypeError, ValueError):
        pass


def gcs_get_channel_count() -> int:
    return int(_gcs["channels"])


def gcs_set_rapid_mode(force: bool | None = None) -> None:
    """Record the GCS rapid-storage mode (``None``: auto; a setting; never raises)."""
    _gcs["rapid"] = None if force is None else bool(force)


def gcs_get_rapid_mode() -> bool | None:
    return _gcs["rapid"]  # type: ignore[no-any-return]


def gcs_query_rapid_bucket(bucket: Any) -> bool:
    """Whether ``bucket`` uses rapid storage; ``False`` unless forced (never raises)."""
    return bool(_gcs["rapid"])
