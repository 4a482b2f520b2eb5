"""Allocator tuning for workloads that read large objects over and over.

Every fresh buffer costs a page fault per 4 KiB the first time it is touched
(≈2 GB/s here, see docs/performance.md). glibc returns freed large blocks to the
kernel, so a loop of ``get_many`` calls pays those faults on every call. With
``S3DLIO_MALLOC_RETAIN_MB`` set, blocks up to 32 MiB come from one shared heap
arena and up to that many MiB of freed heap are kept for reuse — what the Rust
original's allocator does implicitly. It is process-wide, hence opt-in.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging

__all__ = ["retain_freed_memory"]

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
_M_ARENA_MAX = -8
_MMAP_THRESHOLD_MAX = 32 << 20  # glibc's cap on 64-bit (HEAP_MAX_SIZE / 2)

log = logging.getLogger("s3dlio.engines.malloc")


def retain_freed_memory(trim_threshold: int) -> bool:
    """Ask glibc to keep ``trim_threshold`` bytes of freed heap; ``False`` if not glibc."""
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        log.warning("S3DLIO_MALLOC_RETAIN_MB ignored: the C library has no mallopt")
        return False
    # One arena: batch workers are separate threads, and glibc gives each its own
    # arena whose freed blocks the next call's threads cannot reuse (90k faults per
    # 100 x 8 MiB get_many with per-thread arenas, 0 with one; docs/performance.md).
    ok = (
        bool(mallopt(_M_ARENA_MAX, 1))
        and bool(mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD_MAX))
        and bool(mallopt(_M_TRIM_THRESHOLD, trim_threshold))
    )
    if not ok:
        log.warning("S3DLIO_MALLOC_RETAIN_MB: mallopt refused the settings")
    return ok
