"""Process-wide setup calls kept from the original API (docs/api.md, "Configuration helpers")."""

from __future__ import annotations

import logging
import os

from s3dlio.errors import ConfigError
from s3dlio.log import FORMATS, RedactingFilter, StderrHandler, formatter
from s3dlio.plugin import runtime

__all__ = ["configure_retries", "configure_tokio_threads", "init_logging"]

_LEVELS = {
    "trace": logging.DEBUG,
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warn": logging.WARNING,
    "warning": logging.WARNING,
    "error": logging.ERROR,
}
_handler: logging.Handler | None = None
_handler_format: str | None = None


def init_logging(level: str = "info", fmt: str | None = None) -> None:
    """Send ``s3dlio*`` log records to stderr at ``level`` (unknown levels mean ``info``).

    ``fmt`` is ``"console"`` (aligned lines; colours on a terminal) or ``"json"`` (one
    JSON object per line: ``event``, ``level``, ``logger``, ``timestamp`` and the
    event's fields). ``None`` keeps the format in use, else takes ``S3DLIO_LOG_FORMAT``
    from the environment, else ``console``. Only the ``s3dlio`` logger is touched (one
    handler; repeated calls change the level and format); an application's own
    handlers keep receiving the records. Output is redacted.
    """
    global _handler, _handler_format

    current = _handler_format if _handler is not None else None
    if fmt is None:
        env = os.environ.get("S3DLIO_LOG_FORMAT", "").strip().lower()
        fmt = current or (env if env in FORMATS else "console")
    elif fmt not in FORMATS:
        raise ValueError(f"init_logging: format {fmt!r} is not one of {', '.join(FORMATS)}")
    logger = logging.getLogger("s3dlio")
    logger.setLevel(_LEVELS.get(str(level).lower(), logging.INFO))
    if _handler is None:
        _handler = StderrHandler()
        # Plain records carry their message as text; the formatter redacts events too.
        _handler.addFilter(RedactingFilter())
        logger.addHandler(_handler)
    if fmt != current:
        _handler.setFormatter(formatter(fmt))
        _handler_format = fmt


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
            from s3dlio.dist import world
            from s3dlio.engines.pool import cpu_count

            try:
                size = world().world_size  # the launcher's ranks share this machine's CPUs
            except ConfigError:  # inconsistent launcher variables: they are not ours to judge here
                size = 1
            n = max(1, cpu_count() // size)
        _io_threads = n
        os.environ.setdefault("S3DLIO_RT_THREADS", str(n))
    return _io_threads
