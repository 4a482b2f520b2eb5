"""Generators registered under ``random`` and ``zeros`` (``GeneratorSpec`` factories).

The generator protocol, for vendor plugins: ``factory(size=, dedup=, compress=,
seed=)`` returns an object whose ``fill(out, pos)`` writes stream bytes
``[pos, pos + len(out))`` into the uint8 numpy array ``out``. The same arguments
must give the same bytes.
"""

from __future__ import annotations

import numpy as np

from s3dlio_datagen import _engine as _e

__all__ = ["RandomGenerator", "ZerosGenerator"]


class RandomGenerator:
    """The default generator: exact dedup/compress semantics of docs/datagen.md ("Semantics")."""

    def __init__(self, size: int, dedup: int = 1, compress: int = 1, seed: int | None = None) -> None:
        self._pattern = _e.BlockPattern(size, dedup, compress, entropy=_e.resolve_entropy(seed))

    def fill(self, out: np.ndarray, pos: int = 0) -> None:
        """Write stream bytes ``[pos, pos + len(out))``."""
        self._pattern.fill(out, pos)


class ZerosGenerator:
    """All zeros (dedup/compress factors are ignored)."""

    def __init__(self, size: int, dedup: int = 1, compress: int = 1, seed: int | None = None) -> None:
        self.size = size

    def fill(self, out: np.ndarray, pos: int = 0) -> None:
        """Write zeros."""
        out.fill(0)
