"""Targets for processes started with the ``spawn`` method.

A spawned child imports its target by module name, so the targets used by the
conformance suite live here, in an importable module of the core package.
"""

from __future__ import annotations

import traceback
from typing import Any


def write_and_read(store: Any, write_key: str, payload: bytes, read_key: str, expect: bytes,
                   queue: Any) -> None:
    """In the child: read ``read_key`` (written by the parent) and write ``write_key``.

    Puts ``("ok", info)`` or ``("error", traceback)`` on ``queue``.
    """
    try:
        got = bytes(store.get(read_key))
        if got != expect:
            raise AssertionError(
                f"child read {len(got)} bytes from {store.uri(read_key)}, expected {len(expect)}"
            )
        store.put(write_key, memoryview(payload))
        queue.put(("ok", {"store_type": type(store).__name__, "root": store.root}))
    except BaseException:  # report everything to the parent
        queue.put(("error", traceback.format_exc()))
