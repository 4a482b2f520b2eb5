"""The range engine: one large read split into concurrent ranged reads.

Backends call :func:`parallel_read_into` once they know an object's size; every
part lands directly in its slice of one preallocated buffer (no reassembly copy).
One failed part fails the whole read, with that part's exception as the cause;
a short part is an :class:`~s3dlio.errors.IntegrityError`, never a short buffer.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_EXCEPTION, Future, wait

from s3dlio.engines.pool import cpu_count, parts_pool
from s3dlio.errors import IntegrityError, StoreError

__all__ = [
    "coalesce_ranges",
    "default_chunk_size",
    "default_concurrency",
    "parallel_read_into",
    "plan_chunks",
]

MiB = 1 << 20


def default_chunk_size(size: int) -> int:
    """Part size by object size: <16 MiB → 1 MiB, <256 MiB → 4 MiB, else 8 MiB."""
    if size < 16 * MiB:
        return 1 * MiB
    if size < 256 * MiB:
        return 4 * MiB
    return 8 * MiB


def default_concurrency(size: int) -> int:
    """Concurrent ranges by object size and CPUs (docs/configuration.md, ``[core] range_concurrency``)."""
    cpus = cpu_count()
    if size < 32 * MiB:
        return max(2, cpus // 2)
    if size < 512 * MiB:
        return max(4, cpus)
    return max(8, 2 * cpus)


def plan_chunks(size: int, chunk_size: int) -> list[tuple[int, int]]:
    """``[(offset, length)]`` covering ``size`` bytes in ``chunk_size`` pieces."""
    if chunk_size <= 0:
        raise ValueError("chunk_size must be positive")
    return [(off, min(chunk_size, size - off)) for off in range(0, size, chunk_size)]


def parallel_read_into(
    read_at: Callable[[int, memoryview], int],
    size: int,
    buf: memoryview,
    *,
    chunk_size: int,
    concurrency: int,
    what: str = "",
) -> int:
    """Fill ``buf[:size]`` with ``read_at(offset, slice)`` calls, ``concurrency`` at a time.

    ``read_at`` must fill its slice completely unless the object ended early; a
    short part raises ``IntegrityError`` (the object changed size mid-read).
    """
    chunks = plan_chunks(size, chunk_size)
    if len(chunks) <= 1 or concurrency <= 1:
        got = read_at(0, buf[:size]) if size else 0
        if got != size:
            raise IntegrityError(f"short read: expected {size} bytes, got {got}", op="get", uri=what)
        return got
    pool = parts_pool()
    pending = list(reversed(chunks))
    running: set[Future[tuple[int, int, int]]] = set()

    def one(offset: int, length: int) -> tuple[int, int, int]:
        return offset, length, read_at(offset, buf[offset : offset + length])

    try:
        while pending or running:
            while pending and len(running) < concurrency:
                off, ln = pending.pop()
                running.add(pool.submit(one, off, ln))
            done, running = wait(running, timeout=0.2, return_when=FIRST_EXCEPTION)
            for fut in done:
                off, ln, got = fut.result()  # re-raises the part's failure
                if got != ln:
                    raise IntegrityError(
                        f"short ranged read at offset {off}: expected {ln} bytes, got {got}",
                        op="get", uri=what,
                    )
    except BaseException as exc:
        for fut in running:
            fut.cancel()
        wait(running)
        if isinstance(exc, (StoreError, KeyboardInterrupt)) or not isinstance(exc, Exception):
            raise
        raise StoreError(f"ranged read failed: {exc}", op="get", uri=what) from exc
    return size


def coalesce_ranges(
    ranges: Sequence[tuple[int, int]], gap: int
) -> list[tuple[int, int, list[tuple[int, tuple[int, int]]]]]:
    """Merge ranges closer than ``gap``; return ``[(start, length, [(index, range)])]``."""
    order = sorted(range(len(ranges)), key=lambda i: ranges[i][0])
    merged: list[tuple[int, int, list[tuple[int, tuple[int, int]]]]] = []
    for i in order:
        off, ln = ranges[i]
        if off < 0 or ln < 0:
            raise ValueError(f"invalid range {ranges[i]}")
        if merged and off <= merged[-1][0] + merged[-1][1] + gap:
            start, length, members = merged[-1]
            end = max(start + length, off + ln)
            merged[-1] = (start, end - start, [*members, (i, (off, ln))])
        else:
            merged.append((off, ln, [(i, (off, ln))]))
    return merged
