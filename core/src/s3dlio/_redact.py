"""One redaction function for everything that may print a secret.

Error messages, settings reprs, log records and CLI output all pass through
:func:`redact`, so a secret that reaches a URI, an exception text or a config value
never reaches a terminal or a log file.
"""

from __future__ import annotations

import re

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
