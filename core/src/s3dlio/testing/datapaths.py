"""Two data paths of one backend (a lean REST client and the SDK) must store the same objects.

:func:`assert_paths_agree` writes objects with one path and reads them back with the
other, switching with the backend's setting (``S3DLIO_S3_REST``, ``S3DLIO_AZURE_REST``,
``S3DLIO_GCS_REST``), so an encoding, signing or framing difference between the two shows
up as a failure.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["PROXY_ENV", "assert_paths_agree", "use_proxy"]

PROXY_ENV = ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY",
             "no_proxy", "NO_PROXY")
"""The environment variables that decide whether a proxy applies (requests and urllib)."""


def use_proxy(monkeypatch: Any, proxy: str | None, *, no_proxy: str | None = None) -> None:
    """Set the proxy environment to exactly ``HTTP(S)_PROXY=proxy`` and ``NO_PROXY=no_proxy``
    (``None``: unset), resetting the runtime so stores are built anew: lean data paths must
    step aside for a proxy they cannot speak to."""
    from s3dlio.plugin import runtime as rt
    for name in PROXY_ENV:
        monkeypatch.delenv(name, raising=False)
    if proxy:
        monkeypatch.setenv("HTTP_PROXY", proxy)
        monkeypatch.setenv("HTTPS_PROXY", proxy)
    if no_proxy:
        monkeypatch.setenv("NO_PROXY", no_proxy)
    rt.reset()


def assert_paths_agree(monkeypatch: Any, root: str, objects: Mapping[str, bytes], *, env: str,
                       writer: str) -> None:
    """Write ``objects`` (key → bytes, under ``root``) with the path ``env = writer``
    (``"1"`` or ``"0"``), read them with the other one and compare, whole and ranged.

    ``monkeypatch`` is pytest's fixture; the runtime is reset after each switch.
    """
    from s3dlio import api
    from s3dlio.plugin import runtime as rt
    reader = "0" if writer == "1" else "1"
    monkeypatch.setenv(env, writer)
    rt.reset()
    for key, data in objects.items():
        api.put_bytes(root + key, data)
    monkeypatch.setenv(env, reader)
    rt.reset()
    for key, data in objects.items():
        assert bytes(api.get(root + key)) == data, f"{key}: written with {env}={writer}"
        if len(data) > 10:
            middle = len(data) // 3
            assert bytes(api.get_range(root + key, middle, len(data) // 2)) == \
                data[middle:middle + len(data) // 2], f"{key}: a range"
            assert bytes(api.get_range(root + key, len(data) - 5)) == data[-5:], f"{key}: the tail"
        assert api.get_range(root + key, len(data) + 10, 5) == b"", f"{key}: past the end"
