"""CRC-32C (Castagnoli) for TFRecord framing, without a compiled dependency.

Uses ``google_crc32c`` or ``crc32c`` when one is installed. Otherwise: a
table-driven loop for short inputs (record headers), and for long payloads a
numpy version that computes the CRCs of many equal chunks at once (slicing-by-4,
vectorised across chunks) and joins them with the GF(2) "append zeros" operator,
a tree of vectorised table look-ups (the ``crc32_combine`` idea).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any, cast

import numpy as np

from s3dlio.crc32c_math import ONE_ZERO_BYTE as _ONE_ZERO_BYTE
from s3dlio.crc32c_math import gf2_apply, gf2_compose, zeros_operator

__all__ = ["PatternCRC", "crc32c", "mask", "masked_crc32c"]

_POLY = 0x82F63B78
_MASK32 = 0xFFFFFFFF
_SMALL = 4096


def _make_tables() -> np.ndarray:
    t0 = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ _POLY if c & 1 else c >> 1
        t0.append(c)
    tables = [t0]
    for _ in range(3):
        prev = tables[-1]
        tables.append([(prev[i] >> 8) ^ t0[prev[i] & 0xFF] for i in range(256)])
    return np.array(tables, dtype=np.uint32)


_TABLES = _make_tables()
_T0 = [int(v) for v in _TABLES[0]]


def _update_small(state: int, data: Any) -> int:
    t = _T0
    for b in bytes(data):
        state = t[(state ^ b) & 0xFF] ^ (state >> 8)
    return state


# ----------------------------------------------------------------------------- GF(2) operators
# A linear map on 32-bit states is a tuple of 32 ints: the images of the basis bits.


# The operators live in core (s3dlio.crc32c_math); the names below are this module's.
_apply = gf2_apply
_compose = gf2_compose
_zeros_op = zeros_operator


@lru_cache(maxsize=64)
def _byte_tables(nbytes: int) -> np.ndarray:
    """``tab[p][v]`` = zeros-operator applied to byte ``v`` at byte position ``p``."""
    cols = np.array(_zeros_op(nbytes), dtype=np.uint32)
    bits = ((np.arange(256, dtype=np.uint32)[:, None] >> np.arange(8, dtype=np.uint32)) & 1).astype(bool)
    tabs = np.zeros((4, 256), dtype=np.uint32)
    for p in range(4):
        sel = np.where(bits, cols[8 * p: 8 * p + 8][None, :], np.uint32(0))
        tabs[p] = np.bitwise_xor.reduce(sel, axis=1)
    return tabs


def _chunk_crcs(data: np.ndarray, nchunks: int, length: int) -> np.ndarray:
    """Raw CRC states (initial 0) of ``nchunks`` chunks of ``length`` bytes (multiple of 4)."""
    words = data[: nchunks * length].view("<u4").reshape(nchunks, length // 4)
    t0, t1, t2, t3 = _TABLES
    c = np.zeros(nchunks, dtype=np.uint32)
    for j in range(length // 4):
        x = c ^ words[:, j]
        c = t3[x & 0xFF] ^ t2[(x >> 8) & 0xFF] ^ t1[(x >> 16) & 0xFF] ^ t0[x >> 24]
    return c


def _update_numpy(state: int, data: np.ndarray) -> int:
    n = data.shape[0]
    while n >= _SMALL:
        nchunks = 1 << min(16, (n // 256).bit_length() - 1)
        length = (n // nchunks) & ~3
        crcs = _chunk_crcs(data, nchunks, length)
        span = length
        while crcs.shape[0] > 1:
            tabs = _byte_tables(span)
            left, right = crcs[0::2], crcs[1::2]
            shifted = (tabs[0][left & 0xFF] ^ tabs[1][(left >> 8) & 0xFF]
                       ^ tabs[2][(left >> 16) & 0xFF] ^ tabs[3][left >> 24])
            crcs = shifted ^ right
            span *= 2
        done = nchunks * length
        state = _apply(_zeros_op(done), state) ^ int(crcs[0])
        data = data[done:]
        n = data.shape[0]
    return _update_small(state, data.tobytes()) if n else state


def _crc32c_fallback(data: Any) -> int:
    mv = memoryview(data).cast("B") if not isinstance(data, np.ndarray) else data
    if len(mv) < _SMALL:
        return _update_small(_MASK32, mv) ^ _MASK32
    arr = mv if isinstance(mv, np.ndarray) else np.frombuffer(mv, dtype=np.uint8)
    return _update_numpy(_MASK32, arr) ^ _MASK32


def _pick() -> Callable[[Any], int]:
    try:
        import google_crc32c

        return lambda data: int(google_crc32c.value(bytes(memoryview(data).cast("B"))
                                                     if not isinstance(data, bytes) else data))
    except ImportError:
        pass
    try:
        import crc32c as _crc32c_mod

        return lambda data: int(_crc32c_mod.crc32c(memoryview(data).cast("B")))
    except ImportError:
        pass
    return _crc32c_fallback


_impl: Callable[[Any], int] | None = None


def crc32c(data: Any) -> int:
    """CRC-32C of a buffer."""
    global _impl
    if _impl is None:
        impl = _pick()
        try:
            ok = impl(b"123456789") == 0xE3069283
        except Exception:
            ok = False
        _impl = impl if ok else _crc32c_fallback
    return _impl(data)


def mask(crc: int) -> int:
    """TFRecord's CRC mask: ``((crc >> 15 | crc << 17) + 0xa282ead8) mod 2^32``."""
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & _MASK32


def masked_crc32c(data: Any) -> int:
    """TFRecord's masked CRC-32C of a buffer."""
    return mask(crc32c(data))


# ----------------------------------------------------------------------------- structured payloads
# A generated block is (base XOR tile(key)) ++ zeros, so by linearity its CRC state is
# C_base XOR C_key(key): one CRC of the base per put() call, then table look-ups per block.


@lru_cache(maxsize=64)
def _pow2_op(j: int) -> tuple[int, ...]:
    """The operator "feed 2**j zero bytes"."""
    if j == 0:
        return _ONE_ZERO_BYTE
    prev = _pow2_op(j - 1)
    return _compose(prev, prev)


def _shift(state: int, nbytes: int) -> int:
    """Feed ``nbytes`` zero bytes to a raw CRC state."""
    j = 0
    while nbytes:
        if nbytes & 1:
            state = _apply(_pow2_op(j), state)
        nbytes >>= 1
        j += 1
    return state


def _tables_from(columns: Sequence[int]) -> np.ndarray:
    """``tab[p][v]``: XOR of ``columns[8p + bit]`` over the set bits of ``v``."""
    cols = np.array(columns, dtype=np.uint32)
    bits = ((np.arange(256, dtype=np.uint32)[:, None] >> np.arange(8, dtype=np.uint32)) & 1).astype(bool)
    groups = len(cols) // 8
    tabs = np.zeros((groups, 256), dtype=np.uint32)
    for p in range(groups):
        sel = np.where(bits, cols[8 * p: 8 * p + 8][None, :], np.uint32(0))
        tabs[p] = np.bitwise_xor.reduce(sel, axis=1)
    return tabs


def _apply_vec(op: tuple[int, ...], vec: np.ndarray) -> np.ndarray:
    tabs = _tables_from(op)
    out = tabs[0][vec & 0xFF] ^ tabs[1][(vec >> 8) & 0xFF] ^ tabs[2][(vec >> 16) & 0xFF] ^ tabs[3][vec >> 24]
    return cast("np.ndarray", out)


_IDENTITY = tuple(1 << k for k in range(32))


@lru_cache(maxsize=32)
def _key_tables(rand_len: int, block: int) -> np.ndarray:
    """``(8, 256)`` tables: raw CRC of ``tile(key)[:rand_len] ++ zeros`` = XOR over key bytes."""
    x = np.array([_T0[1 << bit] for bit in range(8)], dtype=np.uint32)  # one byte 1<<bit, state 0
    n_hi = (rand_len + 7) // 8
    a8 = _pow2_op(3)
    geo = np.zeros(8, dtype=np.uint32)  # XOR_{j<m} A^{8j} x, built for m = n_hi - 1
    op = _IDENTITY  # A^{8m}
    m = n_hi - 1
    for bit in (bin(m)[2:] if m > 0 else ""):
        geo = geo ^ _apply_vec(op, geo)
        op = _compose(op, op)
        if bit == "1":
            geo = x ^ _apply_vec(a8, geo)
            op = _compose(op, a8)
    geo_hi = x ^ _apply_vec(a8, geo)
    columns = []
    for p in range(8):
        n_p = (rand_len - p + 7) // 8 if p < rand_len else 0
        if n_p == 0:
            columns.extend([0] * 8)
            continue
        vals = geo_hi if n_p == n_hi else geo
        shift = block - 1 - p - 8 * (n_p - 1)
        columns.extend(_shift(int(v), shift) for v in vals)
    return _tables_from(columns)


class PatternCRC:
    """CRC-32C of :class:`~s3dlio_datagen._engine.BlockPattern` streams sharing one base."""

    def __init__(self, base: np.ndarray, rand_len: int, block: int) -> None:
        self.rand_len = rand_len
        self.block = block
        self._base = base
        self._c_base: int | None = None

    def _base_state(self) -> int:
        if self._c_base is None:
            raw = self._base.view(np.uint8)[: self.rand_len]
            self._c_base = _shift(_update_numpy(0, raw), self.block - self.rand_len)
        return self._c_base

    def crc32c(self, pattern: Any, data: np.ndarray) -> int:
        """CRC-32C of ``data``, which must be ``pattern``'s whole stream."""
        size = data.shape[0]
        if pattern.nblocks <= 1 or pattern.block != self.block or pattern.rand_len != self.rand_len:
            return crc32c(data)
        nfull = size // self.block
        keys = pattern.keys(np.arange(nfull, dtype=np.uint64))
        tabs = _key_tables(self.rand_len, self.block)
        states = np.full(nfull, self._base_state(), dtype=np.uint32)
        for p in range(8):
            states ^= tabs[p][((keys >> np.uint64(8 * p)) & np.uint64(0xFF)).astype(np.intp)]
        shift_op = None
        state = 0
        for c in states.tolist():
            if shift_op is None:
                state = c
                shift_op = True
            else:
                state = _shift(state, self.block) ^ c
        tail = data[nfull * self.block:]
        if tail.shape[0]:
            state = _update_numpy(state, tail)
        return (_shift(_MASK32, size) ^ state) ^ _MASK32
