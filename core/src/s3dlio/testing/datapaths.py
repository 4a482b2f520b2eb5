"""Two data paths of one backend (a lean REST client and the SDK) must store the same objects.

:func:`assert_paths_agree` writes objects with one path and reads them back with the
other, switching with the backend's setting (``S3DLIO_S3_REST``, ``S3DLIO_AZURE_REST``),
so an encoding, signing or framing difference between the two shows up as a failure.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["assert_paths_agree"]


def assert_paths_agree(monkeypatch: Any, root: str, objects: Mapping[str, bytes], *, env: str,
                       writer: str) -> None:
    """Write ``objects`` (key → bytes, under ``root``) with the path ``env = writer``
    (``"1"`` or ``"0"``), read them with the other one and compare, whole and ranged.

    ``monkeypatch`` is pytest's fixture; the runtime is reset after each switch.
    """
    from s3dlio import api
    from s3dlio import runtime as rt

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
