"""Object sizes learnt from list, stat and get, so large GETs skip the HEAD.

The range engine needs an object's size before it can split a read. Object
stores answer listings and HEADs with sizes, so a dataset that was listed first
can be read with no extra round trip. Entries expire after
``S3DLIO_SIZE_CACHE_TTL_SECS`` (an object rewritten with another size in the
meantime would otherwise be read short: the engine then fails with
``IntegrityError`` rather than return a wrong buffer). The cache is process-wide,
bounded, and emptied in a forked child.
"""

from __future__ import annotations

import os
import threading
import time

__all__ = ["SizeCache", "size_cache"]


class SizeCache:
    """A bounded TTL map ``uri → size``."""

    def __init__(self, ttl_secs: float = 3600.0, max_entries: int = 1_000_000) -> None:
        self.ttl = ttl_secs
        self.max_entries = max_entries
        self._entries: dict[str, tuple[int, float]] = {}
        self._lock = threading.Lock()

    def get(self, uri: str) -> int | None:
        """The cached size of ``uri``, or ``None`` when unknown or expired."""
        entry = self._entries.get(uri)
        if entry is None:
            return None
        size, expires = entry
        if time.monotonic() >= expires:
            self._entries.pop(uri, None)
            return None
        return size

    def put(self, uri: str, size: int) -> None:
        """Remember ``size`` for ``uri`` (no-op when the TTL is 0)."""
        if self.ttl <= 0:
            return
        if len(self._entries) >= self.max_entries:
            with self._lock:
                # Dropping everything is crude but O(1) amortised and keeps memory bounded;
                # a listing refills the entries that matter.
                self._entries.clear()
        self._entries[uri] = (size, time.monotonic() + self.ttl)

    def put_many(self, items: list[tuple[str, int]]) -> None:
        """Remember several sizes at once (a listing page)."""
        if self.ttl <= 0 or not items:
            return
        expires = time.monotonic() + self.ttl
        if len(self._entries) + len(items) > self.max_entries:
            with self._lock:
                self._entries.clear()
        self._entries.update((uri, (size, expires)) for uri, size in items)

    def forget(self, uri: str) -> None:
        """Drop ``uri`` (after a write or delete)."""
        self._entries.pop(uri, None)

    def clear(self) -> None:
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)


_cache: SizeCache | None = None


def size_cache(ttl_secs: float = 3600.0) -> SizeCache:
    """The process-wide cache (created with ``ttl_secs`` on first use)."""
    global _cache
    cache = _cache
    if cache is None:
        cache = _cache = SizeCache(ttl_secs)
    elif cache.ttl != ttl_secs:
        cache.ttl = ttl_secs
    return cache


def _after_fork() -> None:
    global _cache
    _cache = None


os.register_at_fork(after_in_child=_after_fork)
