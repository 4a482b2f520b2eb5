"""The generation engine: block patterns, the XOR stream, threads (numpy only).

Layout (docs/datagen.md, "Semantics"): the stream is cut in blocks of ``B = 1 MiB`` (``B = size`` when
``size < 1 MiB``); block ``i`` is distinct block ``i mod U`` with
``U = max(1, nblocks // dedup)``; every distinct block is a random prefix of
``R = B - floor(B*(c-1)/c)`` bytes followed by zeros.

Distinct block ``u``'s random prefix is ``base XOR key(u)``: ``base`` is ``R``
random bytes drawn once from a PCG64 stream seeded by the call's entropy, and
``key(u)`` a 64-bit keyed bijection of ``u`` repeated over the block. Every byte is
therefore a pure function of its position, so any chunking or thread split gives
the same bytes, and the hot loop is one ``np.bitwise_xor(..., out=dst)`` per run
of blocks: no per-byte Python, no temporary of the output's size.
"""

from __future__ import annotations

import itertools
import os
import sys
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, cast

import numpy as np

from s3dlio.bytesview import BytesView

__all__ = [
    "BLOCK",
    "allocate_view",
    "BlockPattern",
    "XorStreamCore",
    "default_threads",
    "derive",
    "fill_parallel",
    "make_base",
    "mix64",
    "object_key_seed",
    "new_entropy",
    "resolve_entropy",
    "total_cpus",
    "writable_u8",
]

BLOCK = 1 << 20
"""Dedup/compression block size ``B`` (1 MiB)."""

_U64 = np.uint64
_MASK64 = (1 << 64) - 1
_MASK128 = (1 << 128) - 1
_GOLDEN = 0x9E3779B97F4A7C15
_MIN_PER_THREAD = 4 << 20
_BASE_PIECE_WORDS = 8192  # 64 KiB of random words per PCG64 call when filling in place
_SMALL_RUN = 16  # block runs up to this long get their keys from Python ints
_XS_BLOCK = 512
_XS_BASE_ROWS = 2048  # 1 MiB base = 2048 rows of 512 bytes


# ----------------------------------------------------------------------------- entropy


def new_entropy() -> int:
    """128 bits from the OS (not the clock): differ between calls and processes."""
    return int.from_bytes(os.urandom(16), "little")


def resolve_entropy(seed: int | None) -> int:
    """The call's entropy: ``seed`` (any int) or fresh OS entropy when ``None``."""
    if seed is None:
        return new_entropy()
    if isinstance(seed, bool) or not isinstance(seed, int):
        try:
            seed = int(seed.__index__())  # numpy integers
        except AttributeError:
            raise TypeError(f"seed must be an int or None, got {type(seed).__name__}") from None
    return seed & _MASK128


def derive(entropy: int, *tags: int) -> int:
    """A 128-bit value derived from ``entropy`` and integer ``tags`` (SeedSequence hash)."""
    state = np.random.SeedSequence(entropy, spawn_key=tags).generate_state(2, np.uint64)
    return int(state[0]) | (int(state[1]) << 64)


def _mix_array(x: np.ndarray) -> np.ndarray:
    """SplitMix64 finaliser (a bijection of uint64) applied element-wise."""
    z = x ^ (x >> 30)
    z *= 0xBF58476D1CE4E5B9
    z ^= z >> 27
    z *= 0x94D049BB133111EB
    z ^= z >> 31
    return cast("np.ndarray", z)


def mix64(x: int) -> int:
    """SplitMix64 finaliser on a Python int (same function as :func:`_mix_array`)."""
    x ^= x >> 30
    x = (x * 0xBF58476D1CE4E5B9) & _MASK64
    x ^= x >> 27
    x = (x * 0x94D049BB133111EB) & _MASK64
    return x ^ (x >> 31)


def object_key_seed(stream_key: int, index: int) -> int:
    """Key seed of object ``index`` of one ``put()`` call: a bijection of ``index``
    (distinct objects get distinct seeds), keyed by the call's 128-bit ``stream_key``."""
    return mix64((index * _GOLDEN + (stream_key & _MASK64)) & _MASK64) ^ (stream_key >> 64)


def make_base(entropy: int, rand_len: int, out: np.ndarray | None = None) -> np.ndarray:
    """``ceil(rand_len / 8)`` random uint64 words for ``(entropy, rand_len)``.

    With ``out`` the words are written into it in 64 KiB pieces (no allocation of
    the base's size); the result is identical either way.
    """
    nwords = (rand_len + 7) // 8
    bitgen = np.random.PCG64(np.random.SeedSequence(entropy, spawn_key=(1, rand_len)))
    if out is None:
        return bitgen.random_raw(nwords)
    assert out.shape == (nwords,) and out.dtype == _U64
    for start in range(0, nwords, _BASE_PIECE_WORDS):
        stop = min(nwords, start + _BASE_PIECE_WORDS)
        out[start:stop] = bitgen.random_raw(stop - start)
    return out


# ----------------------------------------------------------------------------- buffers


def writable_u8(buffer: Any) -> np.ndarray:
    """A 1-D uint8 numpy view of a writable C-contiguous buffer (no copy)."""
    mv = memoryview(buffer)
    if mv.readonly:
        raise ValueError("Buffer must be writable")
    if not mv.c_contiguous:
        raise ValueError("Buffer must be C-contiguous")
    if mv.format != "B" or mv.ndim != 1:
        mv = mv.cast("B")
    if mv.nbytes == 0:
        return np.empty(0, dtype=np.uint8)
    return np.frombuffer(mv, dtype=np.uint8)


_WRAP_NUMPY = sys.version_info >= (3, 12)


def allocate_view(size: int, *, sparse: bool = False) -> tuple[BytesView, np.ndarray, bool]:
    """A new ``BytesView`` of ``size`` bytes, a writable uint8 array over it, and
    whether the memory is known to be zero.

    Python >= 3.12: numpy's ``calloc`` memory wrapped zero-copy (pages that stay
    zero are never touched). 3.11: core's ``BytesView.allocate_fresh``, which leaves
    large views uninitialised (cache-line aligned, huge pages advised) and says
    whether the block came straight from the kernel — then it is all zeros and the
    compressible tails need not be written. ``sparse`` (``compress > 1``): skip huge
    pages, so those tails' 4 KiB pages are never touched at all.
    """
    if _WRAP_NUMPY:
        arr = np.zeros(size, dtype=np.uint8)
        return BytesView.wrap(arr.data), arr, True
    view, mv, fresh = BytesView.allocate_fresh(size, huge_pages=not sparse)
    return view, (np.frombuffer(mv, dtype=np.uint8) if size else np.empty(0, dtype=np.uint8)), fresh


# ----------------------------------------------------------------------------- block pattern


class BlockPattern:
    """The byte stream of one ``(entropy, size, dedup, compress)``: ``fill(dst, pos)``.

    ``base``/``key_seed`` may be shared (``put()`` draws one base per call and a key
    seed per object).
    """

    __slots__ = ("_base", "_blk", "_key_seed", "_nwords", "block", "compress", "dedup",
                 "nblocks", "rand_len", "size", "unique")

    def __init__(
        self,
        size: int,
        dedup: int = 1,
        compress: int = 1,
        *,
        entropy: int,
        base: np.ndarray | None = None,
        key_seed: int | None = None,
    ) -> None:
        size, dedup, compress = check_params(size, dedup, compress)
        self.size = size
        self.dedup = dedup
        self.compress = compress
        self.block = BLOCK if size >= BLOCK else max(size, 1)
        self.nblocks = -(-size // self.block)
        self.unique = max(1, self.nblocks // dedup)
        zeros = self.block * (compress - 1) // compress
        self.rand_len = self.block - zeros
        self._nwords = (self.rand_len + 7) // 8
        # One block only (size < 1 MiB): every position belongs to block 0.
        self._blk = BLOCK if size >= BLOCK else 1 << 62
        self._key_seed = (derive(entropy, 2) if key_seed is None else key_seed) & _MASK64
        if base is None:
            base = make_base(entropy, self.rand_len)
        elif base.shape != (self._nwords,):
            raise ValueError("shared base has the wrong length")
        self._base = base

    @classmethod
    def layout(cls, size: int, compress: int) -> int:
        """``R`` (random prefix length) for ``size``/``compress`` — the shared base's length."""
        block = BLOCK if size >= BLOCK else max(size, 1)
        return block - block * (compress - 1) // compress

    def keys(self, blocks: np.ndarray) -> np.ndarray:
        """64-bit XOR keys of the distinct blocks serving stream blocks ``blocks``."""
        u = blocks % _U64(self.unique)
        return _mix_array(u * _U64(_GOLDEN) + _U64(self._key_seed))

    def key_run(self, first: int, count: int) -> np.ndarray:
        """:meth:`keys` of stream blocks ``first .. first + count - 1``.

        A short run is mixed with Python ints: numpy's fixed cost per operation on a
        tiny array (six of them here, ~9 us together) is a third of filling a 1 MiB chunk.
        """
        if count > _SMALL_RUN:
            return self.keys(np.arange(first, first + count, dtype=_U64))
        unique, seed = self.unique, self._key_seed
        return np.array([mix64(((b % unique) * _GOLDEN + seed) & _MASK64)
                         for b in range(first, first + count)], dtype=_U64)

    def key(self, block: int) -> np.uint64:
        """:meth:`keys` for one stream block (Python ints: no small-array overhead)."""
        u = block % self.unique
        return _U64(mix64((u * _GOLDEN + self._key_seed) & _MASK64))

    def fill(self, dst: np.ndarray, pos: int, zeroed: bool = False) -> None:
        """Write stream bytes ``[pos, pos + len(dst))`` into the uint8 array ``dst``.

        ``zeroed``: ``dst`` is known to hold zeros (fresh allocation), so the zero
        tails are not written again.
        """
        n = dst.shape[0]
        if n == 0:
            return
        lead = (-pos) % 8
        if lead:
            tmp = np.empty(8, dtype=np.uint8)
            self._fill_aligned(tmp, pos - (8 - lead), False)
            m = min(lead, n)
            dst[:m] = tmp[8 - lead: 8 - lead + m]
            if m == n:
                return
            dst = dst[m:]
            pos += m
            n -= m
        mid = n - n % 8
        if mid:
            self._fill_aligned(dst[:mid], pos, zeroed)
        if n != mid:
            tmp = np.empty(8, dtype=np.uint8)
            self._fill_aligned(tmp, pos + mid, False)
            dst[mid:] = tmp[: n - mid]

    def _fill_aligned(self, dst: np.ndarray, pos: int, zeroed: bool) -> None:
        n = dst.shape[0]
        blk = self._blk
        rlen = self.rand_len
        nw = self._nwords
        rw8 = nw * 8
        base = self._base
        done = 0
        while done < n:
            p = pos + done
            i, off = divmod(p, blk)
            if off == 0 and n - done >= blk:
                k = (n - done) // blk
                span = dst[done: done + k * blk]
                rows = span.view(_U64).reshape(k, blk // 8)
                tails = not zeroed and rw8 < blk
                if tails and k * blk >= bulk_clear_from():
                    # One memset this large streams past the caches (non-temporal stores
                    # from ~3/4 of the L3 on): ~2.5x the bandwidth of zeroing each
                    # block's tail, enough to pay for rewriting the prefixes.
                    span.fill(0)
                    tails = False
                np.bitwise_xor(base[None, :], self.key_run(i, k)[:, None], out=rows[:, :nw])
                if rw8 != rlen:
                    rows.view(np.uint8)[:, rlen:rw8] = 0
                if tails:
                    # Through a uint8 view numpy clears each row with memset: in cache
                    # 1.7x the speed of its strided 8-byte store loop.
                    span.reshape(k, blk)[:, rw8:] = 0
                done += k * blk
                continue
            seg = min(n - done, blk - off)
            key = self.key(i)
            end = off + seg
            rend = min(end, rw8)
            if rend > off:
                out = dst[done: done + (rend - off)].view(_U64)
                np.bitwise_xor(base[off // 8: rend // 8], key, out=out)
                if rend > rlen:
                    dst[done + max(off, rlen) - off: done + rend - off] = 0
            if end > rw8 and not zeroed:
                dst[done + max(off, rw8) - off: done + seg] = 0
            done += seg


_bulk_clear: int | None = None


def bulk_clear_from() -> int:
    """Bytes from which clearing a whole run first beats zeroing each block's tail.

    glibc's memset uses non-temporal stores from about 3/4 of the last-level cache on
    (measured here: 27 GB/s below 24 MiB, 70 GB/s from 32 MiB on a 32 MiB L3). The whole
    L3's size (and at least 32 MiB) is above that switch point in every glibc version, so
    runs this long are cleared with non-temporal stores wherever they run.
    """
    global _bulk_clear
    if _bulk_clear is None:
        size = 0
        try:
            with open("/sys/devices/system/cpu/cpu0/cache/index3/size") as fh:
                text = fh.read().strip().upper()
            units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
            size = int(text[:-1]) * units[text[-1]] if text[-1] in units else int(text)
        except (OSError, ValueError, IndexError):
            pass
        _bulk_clear = max(32 << 20, size)
    return _bulk_clear


def check_params(size: Any, dedup: Any, compress: Any) -> tuple[int, int, int]:
    """Validate and normalise ``size``/``dedup``/``compress`` (0 factors mean 1)."""
    out = []
    for name, value in (("size", size), ("dedup", dedup), ("compress", compress)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
            raise TypeError(f"{name} must be an int, got {type(value).__name__}")
        value = int(value)
        if value < 0:
            raise ValueError(f"{name} must be >= 0, got {value}")
        out.append(value)
    return out[0], max(out[1], 1), max(out[2], 1)


# ----------------------------------------------------------------------------- threads


def total_cpus() -> int:
    """CPUs this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # pragma: no cover - non-Linux
        return max(1, os.cpu_count() or 1)


def default_threads() -> int:
    """Default generation threads: half the CPUs, at least one."""
    return max(1, total_cpus() // 2)


_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def _executor() -> ThreadPoolExecutor:
    global _pool
    if _pool is None:
        with _pool_lock:
            if _pool is None:
                _pool = ThreadPoolExecutor(max_workers=max(2, total_cpus()),
                                           thread_name_prefix="s3dlio-datagen")
    return _pool


def resolve_threads(threads: int | None) -> int:
    """``None``/0 → the default; negative → ``ValueError``."""
    if threads is None or threads == 0:
        return default_threads()
    if isinstance(threads, bool) or not isinstance(threads, (int, np.integer)):
        raise TypeError(f"threads must be an int or None, got {type(threads).__name__}")
    if threads < 0:
        raise ValueError(f"threads must be >= 0, got {threads}")
    return int(threads)


def fill_parallel(pattern: BlockPattern, dst: np.ndarray, pos: int, threads: int,
                  zeroed: bool = False) -> None:
    """``pattern.fill`` split over ``threads`` (numpy releases the GIL in the XOR)."""
    n = dst.shape[0]
    parts = min(threads, max(1, n // _MIN_PER_THREAD))
    if parts <= 1:
        pattern.fill(dst, pos, zeroed)
        return
    step = -(-n // parts)
    step = -(-step // BLOCK) * BLOCK
    cuts = [*range(0, n, step), n]
    pool = _executor()
    futures: list[Future[None]] = [
        pool.submit(pattern.fill, dst[a:b], pos + a, zeroed)
        for a, b in itertools.pairwise(cuts[1:])
    ]
    try:
        pattern.fill(dst[: cuts[1]], pos, zeroed)
    finally:
        for fut in futures:
            fut.result()


# ----------------------------------------------------------------------------- XOR stream


class XorStreamCore:
    """Unique 512-byte blocks: block ``n`` = base row XOR mix(n), first word = bij(n)."""

    def __init__(self, entropy: int) -> None:
        self._base = make_base(entropy, _XS_BASE_ROWS * _XS_BLOCK).reshape(_XS_BASE_ROWS, _XS_BLOCK // 8)
        k = derive(entropy, 3)
        self._k_mix = _U64(k & _MASK64)
        self._k_bij_in = _U64(k >> 64)
        self._k_bij_out = _U64(derive(entropy, 4) & _MASK64)
        self._lock = threading.Lock()
        self._next = 0
        self.objects = 0
        self.bytes = 0

    def claim(self, nbytes: int) -> int:
        """Reserve ``ceil(nbytes/512)`` fresh block numbers; return the first."""
        nblk = -(-nbytes // _XS_BLOCK)
        with self._lock:
            start = self._next
            self._next += nblk
            self.objects += 1
            self.bytes += nbytes
        return start

    def _rows(self, out: np.ndarray, first: int) -> None:
        """Write whole 512-byte blocks ``first, first+1, …`` into ``out`` (rows × 64 words)."""
        total = out.shape[0]
        j = 0
        while j < total:
            n0 = first + j
            r0 = n0 % _XS_BASE_ROWS
            cnt = min(total - j, _XS_BASE_ROWS - r0)
            ns = np.arange(n0, n0 + cnt, dtype=_U64)
            mix = _mix_array((ns ^ self._k_mix) * _U64(_GOLDEN))
            rows = out[j: j + cnt]
            np.bitwise_xor(self._base[r0: r0 + cnt], mix[:, None], out=rows)
            rows[:, 0] = _mix_array(ns + self._k_bij_in) ^ self._k_bij_out
            j += cnt

    def fill(self, dst: np.ndarray) -> int:
        """Fill ``dst`` (uint8) with fresh blocks; return its length."""
        n = dst.shape[0]
        start = self.claim(n)
        full = n // _XS_BLOCK
        if full:
            self._rows(dst[: full * _XS_BLOCK].view(_U64).reshape(full, _XS_BLOCK // 8), start)
        rem = n - full * _XS_BLOCK
        if rem:
            tmp = np.empty((1, _XS_BLOCK // 8), dtype=_U64)
            self._rows(tmp, start + full)
            dst[full * _XS_BLOCK:] = tmp.view(np.uint8).reshape(-1)[:rem]
        return int(n)
