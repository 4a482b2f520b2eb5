"""One redaction function for everything that may print a secret.

Error messages, settings reprs, log records, event fields and CLI output all pass
through :func:`redact`, so a secret that reaches a URI, an exception text or a config
value never reaches a terminal or a log file. Kept apart from :mod:`s3dlio.log` so the
error tree (imported by ``import s3dlio``) does not import ``logging``.
"""

from __future__ import annotations

import re

__all__ = ["redact"]

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


# Every pattern's match contains one of these, so text without any (most URIs, event
# names, timestamps) skips the six substitutions.
_MAYBE_SECRET = re.compile(r"(?i)[@=]|AKIA|ASIA|authorization|secret|password|token|_key")


def redact(text: str) -> str:
    """Return ``text`` with credentials replaced by ``****``."""
    if not text or _MAYBE_SECRET.search(text) is None:
        return text
    for pattern, repl in _PATTERNS:
        text = pattern.sub(repl, text)
    return text
