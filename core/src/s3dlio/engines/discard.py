"""Per-thread reusable read buffers for reads whose data is discarded.

``get_many_stats`` and the CLI's read benchmark measure storage, not the
allocator: each worker thread reads every object into the same buffer, so no
page is touched for the first time after warm-up.
"""

from __future__ import annotations

import threading

from s3dlio.plugin.runtime import resolve

__all__ = ["read_discarding"]

_CHUNK = 8 << 20
_local = threading.local()


def _buffer() -> memoryview:
    mv: memoryview | None = getattr(_local, "buf", None)
    if mv is None:
        mv = _local.buf = memoryview(bytearray(_CHUNK))
    return mv


def read_discarding(uri: str) -> int:
    """Read the whole object at ``uri`` into this thread's buffer; return its size."""
    store, key = resolve(uri)
    buf = _buffer()
    total = 0
    while True:
        got = store.get_range_into(key, total, buf)
        total += got
        if got < len(buf):
            return total
