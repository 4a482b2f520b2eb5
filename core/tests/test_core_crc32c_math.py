"""CRC-32C combination math, checked against a bitwise CRC-32C."""

from __future__ import annotations

import random

import pytest

from s3dlio.engines.crc32c_math import POLY, crc32c_combine, gf2_apply, zeros_operator


def _crc32c(data: bytes, crc: int = 0) -> int:
    crc ^= 0xFFFFFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ (POLY if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


def test_known_value() -> None:
    assert _crc32c(b"123456789") == 0xE3069283  # the CRC-32C check value


@pytest.mark.parametrize(("a_len", "b_len"), [(0, 5), (5, 0), (1, 1), (100, 777), (4096, 3)])
def test_combine_equals_crc_of_concatenation(a_len: int, b_len: int) -> None:
    rng = random.Random(a_len * 1000 + b_len)
    a, b = rng.randbytes(a_len), rng.randbytes(b_len)
    assert crc32c_combine(_crc32c(a), _crc32c(b), len(b)) == _crc32c(a + b)


def test_zeros_operator_appends_zero_bytes_to_the_register() -> None:
    # On the raw register (no pre/post inversion), appending zeros is exactly the operator.
    state = 0x1234ABCD
    raw = state
    for _ in range(13):
        for _ in range(8):
            raw = (raw >> 1) ^ (POLY if raw & 1 else 0)
    assert gf2_apply(zeros_operator(13), state) == raw


def test_operators_serve_any_polynomial() -> None:
    """zlib's CRC-32 (another reflected polynomial) combines through the same class."""
    import zlib

    from s3dlio.engines.crc32c_math import CrcOperators

    ieee = CrcOperators(0xEDB88320)
    rng = random.Random(7)
    for a_len, b_len in ((0, 9), (9, 0), (1000, 1), (3, 70_000)):
        a, b = rng.randbytes(a_len), rng.randbytes(b_len)
        assert ieee.combine(zlib.crc32(a), zlib.crc32(b), b_len) == zlib.crc32(a + b)


def test_power_of_two_operators_grown_from_many_threads() -> None:
    """Threads asking for large operators at once must each get 2**j zero bytes at index j."""
    import threading

    from s3dlio.engines.crc32c_math import CrcOperators

    shared, reference = CrcOperators(POLY), CrcOperators(POLY)
    barrier = threading.Barrier(8)

    def grow(j: int) -> None:
        barrier.wait()
        shared.pow2_op(j)

    threads = [threading.Thread(target=grow, args=(20 + i % 3,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [shared.pow2_op(j) for j in range(23)] == [reference.pow2_op(j) for j in range(23)]
