"""A minimal ``.env`` reader for ``s3-cli`` (no dependency).

``KEY=VALUE`` lines, optional ``export`` prefix, ``#`` comments, single or double
quotes around the value. Variables already in the environment win, so a ``.env``
file never overrides what the user exported.
"""

from __future__ import annotations

import os

from s3dlio.errors import ConfigError

__all__ = ["load_dotenv", "parse_dotenv"]


def parse_dotenv(text: str) -> dict[str, str]:
    """The assignments of a ``.env`` file; malformed lines are reported, not guessed at."""
    out: dict[str, str] = {}
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("export "):
            line = line[len("export "):].lstrip()
        name, sep, value = line.partition("=")
        name = name.strip()
        if not sep or not name.replace("_", "").isalnum():
            raise ValueError(f".env line {lineno}: expected NAME=VALUE, got {raw!r}")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        elif " #" in value:
            value = value.split(" #", 1)[0].rstrip()
        out[name] = value
    return out


def load_dotenv(path: str = ".env") -> dict[str, str]:
    """Export the variables of ``path`` that are not set yet; return those applied."""
    if not os.path.isfile(path):
        return {}

    try:
        with open(path, encoding="utf-8") as fh:
            values = parse_dotenv(fh.read())
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{os.path.abspath(path)}: {exc}") from exc
    applied = {k: v for k, v in values.items() if k not in os.environ}
    os.environ.update(applied)
    return applied
