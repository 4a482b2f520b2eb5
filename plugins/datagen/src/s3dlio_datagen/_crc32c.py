"""CRC-32C (TFRecord framing) and CRC-32 (zip members) without a compiled dependency.

``crc32c`` uses ``google_crc32c`` or ``crc32c`` when one is installed, else
:class:`CrcSpec` (table-driven for short inputs, numpy for long ones). For generated
payloads, :class:`PatternCRC` derives either CRC from the blocks' keys by linearity,
without reading the bytes back.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Sequence
from typing import Any, cast

import numpy as np

from s3dlio.engines.crc32c_math import IDENTITY, CrcOperators, gf2_apply, gf2_compose

__all__ = ["CASTAGNOLI", "IEEE", "CrcSpec", "PatternCRC", "crc32c", "mask", "masked_crc32c"]

_MASK32 = 0xFFFFFFFF
_SMALL = 4096
_DERIVE_FROM = 64 << 10  # smaller blocks: reading them back is cheaper than the tables
_FEW_BLOCKS = 16
_CACHE_LIMIT = 256  # entries per table cache (the sizes one process sees are few)
_BITS = ((np.arange(256, dtype=np.uint32)[:, None] >> np.arange(8, dtype=np.uint32)) & 1).astype(bool)


def _tables_from(columns: Sequence[int]) -> np.ndarray:
    """``tab[p][v]``: XOR of ``columns[8p + bit]`` over the set bits of ``v``."""
    cols = np.array(columns, dtype=np.uint32)
    groups = len(cols) // 8
    tabs = np.zeros((groups, 256), dtype=np.uint32)
    for p in range(groups):
        sel = np.where(_BITS, cols[8 * p: 8 * p + 8][None, :], np.uint32(0))
        tabs[p] = np.bitwise_xor.reduce(sel, axis=1)
    return tabs


def _apply_vec(op: tuple[int, ...], vec: np.ndarray) -> np.ndarray:
    tabs = _tables_from(op)
    out = tabs[0][vec & 0xFF] ^ tabs[1][(vec >> 8) & 0xFF] ^ tabs[2][(vec >> 16) & 0xFF] ^ tabs[3][vec >> 24]
    return cast("np.ndarray", out)


class CrcSpec(CrcOperators):
    """One reflected 32-bit CRC (``poly``), computed without a compiled dependency.

    A table-driven loop for short inputs; for long ones a numpy version computing the
    CRCs of many equal chunks at once (slicing-by-4, vectorised across chunks), joined
    with the GF(2) "append zeros" operators of core's :class:`CrcOperators` in a tree of
    vectorised table look-ups (the ``crc32_combine`` idea).
    """

    def __init__(self, poly: int) -> None:
        super().__init__(poly)
        t0 = []
        for i in range(256):
            c = i
            for _ in range(8):
                c = (c >> 1) ^ poly if c & 1 else c >> 1
            t0.append(c)
        tables = [t0]
        for _ in range(3):
            prev = tables[-1]
            tables.append([(prev[i] >> 8) ^ t0[prev[i] & 0xFF] for i in range(256)])
        self.tables = np.array(tables, dtype=np.uint32)
        self.t0 = t0
        self._byte_tabs: dict[int, np.ndarray] = {}
        self._key_tabs: dict[tuple[int, int], np.ndarray] = {}

    @staticmethod
    def _cached(cache: dict[Any, Any], key: Any, make: Callable[[], Any]) -> Any:
        value = cache.get(key)
        if value is None:
            if len(cache) >= _CACHE_LIMIT:
                cache.clear()
            value = cache[key] = make()
        return value

    def _byte_tables(self, nbytes: int) -> np.ndarray:
        """``tab[p][v]`` = zeros-operator applied to byte ``v`` at byte position ``p``."""
        return cast("np.ndarray", self._cached(
            self._byte_tabs, nbytes, lambda: _tables_from(self.zeros_op(nbytes))))

    # -- data -----------------------------------------------------------------------

    def update_small(self, state: int, data: Any) -> int:
        t = self.t0
        for b in bytes(data):
            state = t[(state ^ b) & 0xFF] ^ (state >> 8)
        return state

    def _chunk_crcs(self, data: np.ndarray, nchunks: int, length: int) -> np.ndarray:
        """Raw CRC states (initial 0) of ``nchunks`` chunks of ``length`` bytes (multiple of 4)."""
        words = data[: nchunks * length].view("<u4").reshape(nchunks, length // 4)
        t0, t1, t2, t3 = self.tables
        c = np.zeros(nchunks, dtype=np.uint32)
        for j in range(length // 4):
            x = c ^ words[:, j]
            c = t3[x & 0xFF] ^ t2[(x >> 8) & 0xFF] ^ t1[(x >> 16) & 0xFF] ^ t0[x >> 24]
        return c

    def update_numpy(self, state: int, data: np.ndarray) -> int:
        n = data.shape[0]
        while n >= _SMALL:
            nchunks = 1 << min(16, (n // 256).bit_length() - 1)
            length = (n // nchunks) & ~3
            crcs = self._chunk_crcs(data, nchunks, length)
            span = length
            while crcs.shape[0] > 1:
                tabs = self._byte_tables(span)
                left, right = crcs[0::2], crcs[1::2]
                shifted = (tabs[0][left & 0xFF] ^ tabs[1][(left >> 8) & 0xFF]
                           ^ tabs[2][(left >> 16) & 0xFF] ^ tabs[3][left >> 24])
                crcs = shifted ^ right
                span *= 2
            done = nchunks * length
            state = gf2_apply(self.zeros_op(done), state) ^ int(crcs[0])
            data = data[done:]
            n = data.shape[0]
        return self.update_small(state, data.tobytes()) if n else state

    def value(self, data: Any) -> int:
        """The CRC of a buffer (initial and final XOR ``0xFFFFFFFF``)."""
        mv = memoryview(data).cast("B") if not isinstance(data, np.ndarray) else data
        if len(mv) < _SMALL:
            return self.update_small(_MASK32, mv) ^ _MASK32
        arr = mv if isinstance(mv, np.ndarray) else np.frombuffer(mv, dtype=np.uint8)
        return self.update_numpy(_MASK32, arr) ^ _MASK32

    # -- generated payloads ---------------------------------------------------------

    def key_tables(self, rand_len: int, block: int) -> np.ndarray:
        """``(8, 256)`` tables: raw CRC of ``tile(key)[:rand_len] ++ zeros`` = XOR over key bytes."""
        return cast("np.ndarray", self._cached(
            self._key_tabs, (rand_len, block), lambda: self._make_key_tables(rand_len, block)))

    def _make_key_tables(self, rand_len: int, block: int) -> np.ndarray:
        x = np.array([self.t0[1 << bit] for bit in range(8)], dtype=np.uint32)  # byte 1<<bit, state 0
        n_hi = (rand_len + 7) // 8
        a8 = self.pow2_op(3)
        geo = np.zeros(8, dtype=np.uint32)  # XOR_{j<m} A^{8j} x, built for m = n_hi - 1
        op = IDENTITY  # A^{8m}
        m = n_hi - 1
        for bit in (bin(m)[2:] if m > 0 else ""):
            geo = geo ^ _apply_vec(op, geo)
            op = gf2_compose(op, op)
            if bit == "1":
                geo = x ^ _apply_vec(a8, geo)
                op = gf2_compose(op, a8)
        geo_hi = x ^ _apply_vec(a8, geo)
        columns = []
        for p in range(8):
            n_p = (rand_len - p + 7) // 8 if p < rand_len else 0
            if n_p == 0:
                columns.extend([0] * 8)
                continue
            vals = geo_hi if n_p == n_hi else geo
            shift = block - 1 - p - 8 * (n_p - 1)
            columns.extend(self.shift(int(v), shift) for v in vals)
        return _tables_from(columns)


CASTAGNOLI = CrcSpec(0x82F63B78)
"""CRC-32C (TFRecord framing, object checksums)."""
IEEE = CrcSpec(0xEDB88320)
"""CRC-32 of zlib/zip (NPZ members)."""


def _update_small(state: int, data: Any) -> int:
    return CASTAGNOLI.update_small(state, data)


def _crc32c_fallback(data: Any) -> int:
    return CASTAGNOLI.value(data)


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


class PatternCRC:
    """CRCs of :class:`~s3dlio_datagen._engine.BlockPattern` streams sharing one base,
    computed from the blocks' keys instead of reading the bytes back.

    ``spec`` is the CRC: :data:`CASTAGNOLI` (TFRecord) or :data:`IEEE` (zip members).
    """

    def __init__(self, base: np.ndarray, rand_len: int, block: int, spec: CrcSpec = CASTAGNOLI) -> None:
        self.rand_len = rand_len
        self.block = block
        self.spec = spec
        self._base = base
        self._c_base: int | None = None
        self._rows: list[list[int]] | None = None
        self._init: dict[int, int] = {}

    def _base_state(self) -> int:
        if self._c_base is None:
            raw = self._base.view(np.uint8)[: self.rand_len]
            self._c_base = self.spec.shift(self.spec.update_numpy(0, raw), self.block - self.rand_len)
        return self._c_base

    def crc(self, pattern: Any, data: np.ndarray) -> int:
        """The CRC of ``data``, which must be ``pattern``'s whole stream."""
        spec = self.spec
        size = data.shape[0]
        if self.block < _DERIVE_FROM or pattern.block != self.block or pattern.rand_len != self.rand_len:
            return self.fallback(data)
        nfull = size // self.block
        keys = pattern.key_run(0, nfull)
        tabs = spec.key_tables(self.rand_len, self.block)
        base_state = self._base_state()
        if nfull <= _FEW_BLOCKS:  # Python ints: numpy's cost per call dominates a few look-ups
            rows = self._key_rows()
            states = []
            for k in keys.tolist():
                c = base_state
                for p in range(8):
                    c ^= rows[p][(k >> (8 * p)) & 0xFF]
                states.append(c)
        else:
            arr = np.full(nfull, base_state, dtype=np.uint32)
            for p in range(8):
                arr ^= tabs[p][((keys >> np.uint64(8 * p)) & np.uint64(0xFF)).astype(np.intp)]
            states = arr.tolist()
        block_op = spec.zeros_op(self.block)
        state = 0
        for i, c in enumerate(states):
            state = c if i == 0 else gf2_apply(block_op, state) ^ c
        tail = data[nfull * self.block:]
        if tail.shape[0]:
            state = spec.update_numpy(state, tail)
        init = self._init.get(size)
        if init is None:  # what the initial 0xFFFFFFFF contributes: one value per size
            init = self._init[size] = spec.shift(_MASK32, size)
        return (init ^ state) ^ _MASK32

    def _key_rows(self) -> list[list[int]]:
        if self._rows is None:
            self._rows = self.spec.key_tables(self.rand_len, self.block).tolist()
        return self._rows

    def fallback(self, data: np.ndarray) -> int:
        """The CRC read from the bytes (blocks under 64 KiB, where that is cheaper, or a
        stream of another layout)."""
        if self.spec is IEEE:
            return zlib.crc32(data.data) & _MASK32  # C, releases the GIL
        return crc32c(data)
