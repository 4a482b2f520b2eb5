"""CRC arithmetic without data: combining checksums of concatenated pieces.

A CRC register update is linear over GF(2), so "append ``n`` zero bytes" is a 32×32
bit matrix; ``crc(A + B) = Z(len B)·crc(A) ^ crc(B)`` (zlib's ``crc32_combine``). The
Azure backend combines part CRCs of a staged upload into the whole object's; datagen
computes the CRC-32C of TFRecords and the CRC-32 of zip members from per-block pieces.
Pure Python, no dependency: operators are tuples of 32 ints (the images of the basis
bits). :class:`CrcOperators` serves any reflected 32-bit CRC; :data:`CRC32C` is CRC-32C's.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

__all__ = ["CRC32C", "POLY", "CrcOperators", "crc32c_combine", "gf2_apply", "gf2_compose", "zeros_operator"]

POLY = 0x82F63B78
"""CRC-32C (Castagnoli), reflected."""

IDENTITY = tuple(1 << n for n in range(32))
_CACHE_LIMIT = 256  # zeros operators kept per polynomial (the lengths one process sees are few)


def gf2_apply(mat: Sequence[int], vec: int) -> int:
    """The operator ``mat`` applied to the 32-bit state ``vec``."""
    out = 0
    i = 0
    while vec:
        if vec & 1:
            out ^= mat[i]
        vec >>= 1
        i += 1
    return out


def gf2_compose(a: Sequence[int], b: Sequence[int]) -> tuple[int, ...]:
    """The operator ``a ∘ b`` (apply ``b``, then ``a``)."""
    return tuple(gf2_apply(a, col) for col in b)


class CrcOperators:
    """The "append zero bytes" operators of one reflected 32-bit CRC (``poly``).

    Thread-safe: shared by every thread that combines or derives checksums.
    """

    def __init__(self, poly: int) -> None:
        self.poly = poly
        op: tuple[int, ...] = (poly, *(1 << n for n in range(31)))  # one zero bit
        for _ in range(3):  # 2, 4, 8 zero bits
            op = gf2_compose(op, op)
        self._pow2: list[tuple[int, ...]] = [op]
        self._zeros: dict[int, tuple[int, ...]] = {}
        self._grow = threading.Lock()

    def pow2_op(self, j: int) -> tuple[int, ...]:
        """The operator "append ``2**j`` zero bytes"."""
        pow2 = self._pow2
        if j >= len(pow2):
            with self._grow:  # entry j must be 2**j bytes whatever the thread interleaving
                while len(pow2) <= j:
                    pow2.append(gf2_compose(pow2[-1], pow2[-1]))
        return pow2[j]

    def zeros_op(self, nbytes: int) -> tuple[int, ...]:
        """The operator "append ``nbytes`` zero bytes" (products of powers of two, cached)."""
        cached = self._zeros.get(nbytes)
        if cached is None:
            result, n, j = IDENTITY, nbytes, 0
            while n:
                if n & 1:
                    result = gf2_compose(self.pow2_op(j), result)
                n >>= 1
                j += 1
            if len(self._zeros) >= _CACHE_LIMIT:
                self._zeros.clear()
            cached = self._zeros[nbytes] = result
        return cached

    def shift(self, state: int, nbytes: int) -> int:
        """Append ``nbytes`` zero bytes to a raw register state (no operator built)."""
        j = 0
        while nbytes:
            if nbytes & 1:
                state = gf2_apply(self.pow2_op(j), state)
            nbytes >>= 1
            j += 1
        return state

    def combine(self, crc1: int, crc2: int, len2: int) -> int:
        """The CRC of ``A + B`` from ``crc(A)``, ``crc(B)`` and ``len(B)``."""
        return self.shift(crc1, len2) ^ crc2 if len2 > 0 else crc1


CRC32C = CrcOperators(POLY)
"""The operators of CRC-32C."""
ONE_ZERO_BYTE = CRC32C.pow2_op(0)
"""The operator "append one zero byte"."""


def zeros_operator(nbytes: int) -> tuple[int, ...]:
    """The CRC-32C operator "append ``nbytes`` zero bytes"."""
    return CRC32C.zeros_op(nbytes)


def crc32c_combine(crc1: int, crc2: int, len2: int) -> int:
    """CRC-32C of ``A + B`` from ``crc(A)``, ``crc(B)`` and ``len(B)``."""
    return CRC32C.combine(crc1, crc2, len2)
