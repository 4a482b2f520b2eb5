"""Logging and redaction: ``s3dlio*`` loggers get a ``NullHandler`` and a redacting filter.

Error messages, settings reprs, log records and CLI output all pass through
:func:`redact`, so a secret that reaches a URI, an exception text or a config value
never reaches a terminal or a log file. The library never configures logging
globally and never logs per I/O.
"""

from __future__ import annotations

import logging
import re

__all__ = ["RedactingFilter", "get_logger", "redact"]


_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # user:password@ in URLs
    (re.compile(r"(?P<pre>[a-zA-Z][a-zA-Z0-9+.-]*://[^/@\s:]+:)[^/@\s]+@"), r"\g<pre>****@"),
    # presigned-URL and SAS query parameters
    (
        re.compile(
            r"(?i)(?P<pre>[?&](?:X-Amz-Signature|X-Amz-Credential|X-Amz-Security-Token|sig|"
            r"Signature|token|access_token)=)[^&\s\"']+"
        ),
        r"\g<pre>****",
    ),
    # connection strings
    (re.compile(r"(?i)(?P<pre>(?:AccountKey|SharedAccessSignature)=)[^;\s\"']+"), r"\g<pre>****"),
    # Authorization headers
    (re.compile(r"(?i)(?P<pre>Authorization[\"']?\s*[:=]\s*[\"']?)[^\"'\n]+"), r"\g<pre>****"),
    # AWS secret-looking key=value pairs
    (
        re.compile(
            r"(?i)(?P<pre>(?:aws_secret_access_key|aws_session_token|secret_key|secret|password|"
            r"account_key|private_key)[\"']?\s*[:=]\s*[\"']?)[^\s\"',;}]+"
        ),
        r"\g<pre>****",
    ),
    # access key ids print as AKIA****
    (re.compile(r"\b(?P<pre>(?:AKIA|ASIA))[A-Z0-9]{12,}\b"), r"\g<pre>****"),
)


def redact(text: str) -> str:
    """Return ``text`` with credentials replaced by ``****``."""
    if not text:
        return text
    for pattern, repl in _PATTERNS:
        text = pattern.sub(repl, text)
    return text


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
