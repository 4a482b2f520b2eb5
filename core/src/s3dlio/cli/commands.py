"""Core ``s3-cli`` commands (placeholder until the CLI lands)."""

from __future__ import annotations

from typing import Any


def register_core_commands(cli: Any) -> None:
    return None
