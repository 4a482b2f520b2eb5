"""Logging plumbing: ``s3dlio*`` loggers get a ``NullHandler`` and a redacting filter.

The library never configures logging globally and never logs per I/O.
"""

from __future__ import annotations

import logging

from s3dlio._redact import redact

__all__ = ["RedactingFilter", "get_logger"]


class RedactingFilter(logging.Filter):
    """Redacts secrets from the formatted message of every record it sees."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string is the caller's bug; leave the record as is
            return True
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


def get_logger(name: str) -> logging.Logger:
    logger = logging.getLogger(name)
    if not any(isinstance(f, RedactingFilter) for f in logger.filters):
        logger.addFilter(RedactingFilter())
    return logger


logging.getLogger("s3dlio").addHandler(logging.NullHandler())
