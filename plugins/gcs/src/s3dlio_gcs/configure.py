"""The original API's GCS gRPC/rapid-storage settings, served as ``s3dlio.gcs_*``.

This backend speaks the JSON API, so these are recorded values only (the original
ignored them on its HTTP path too); they never raise.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "gcs_get_channel_count",
    "gcs_get_rapid_mode",
    "gcs_query_rapid_bucket",
    "gcs_set_channel_count",
    "gcs_set_rapid_mode",
]

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
