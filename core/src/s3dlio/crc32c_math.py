"""CRC-32C arithmetic without data: combining checksums of concatenated pieces.

A CRC register update is linear over GF(2), so "append ``n`` zero bytes" is a 32×32
bit matrix; ``crc(A + B) = Z(len B)·crc(A) ^ crc(B)`` (zlib's ``crc32_combine``). The
Azure backend combines part CRCs of a staged upload into the whole object's; datagen
computes the CRC of generated streams from per-block pieces. Pure Python, no
dependency: operators are tuples of 32 ints (the images of the basis bits).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

__all__ = ["POLY", "crc32c_combine", "gf2_apply", "gf2_compose", "zeros_operator"]

POLY = 0x82F63B78
"""CRC-32C (Castagnoli), reflected."""

IDENTITY = tuple(1 << n for n in range(32))
_ONE_ZERO_BIT = (POLY, *(1 << n for n in range(31)))


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


def _one_zero_byte() -> tuple[int, ...]:
    op = _ONE_ZERO_BIT
    for _ in range(3):  # 2, 4, 8 zero bits
        op = gf2_compose(op, op)
    return op


ONE_ZERO_BYTE = _one_zero_byte()
"""The operator "append one zero byte"."""


@lru_cache(maxsize=256)
def zeros_operator(nbytes: int) -> tuple[int, ...]:
    """The operator "append ``nbytes`` zero bytes" (square and multiply)."""
    result = IDENTITY
    power = ONE_ZERO_BYTE
    n = nbytes
    while n:
        if n & 1:
            result = gf2_compose(power, result)
        n >>= 1
        if n:
            power = gf2_compose(power, power)
    return result


def crc32c_combine(crc1: int, crc2: int, len2: int) -> int:
    """CRC-32C of ``A + B`` from ``crc(A)``, ``crc(B)`` and ``len(B)``."""
    if len2 <= 0:
        return crc1
    return gf2_apply(zeros_operator(len2), crc1) ^ crc2
