"""Parquet generators (docs/datagen.md); need ``pip install s3dlio-datagen[parquet]`` (pyarrow).

Columns are non-null float32 (``col0…``) or, with ``columns=[(name, n)]``,
``fixed_size_list<float32>[n]`` for ``n > 1``. The streaming writer hands each row
group to the store's ``put_stream`` as soon as it is encoded, so about two row
groups are held in memory.
"""

from __future__ import annotations

import io
import operator
from collections.abc import Iterator, Sequence
from typing import Any

from s3dlio.bytesview import BytesView
from s3dlio_datagen.formats import require_pyarrow

__all__ = [
    "generate_and_write_parquet",
    "generate_and_write_parquet_schema",
    "generate_and_write_parquet_schema_streaming",
    "generate_parquet_bytes",
    "generate_parquet_bytes_schema",
]

ColumnsArg = Sequence[tuple[str, int]]


def _columns(columns: ColumnsArg) -> list[tuple[str, int]]:
    out = []
    for item in columns:
        name, width = item
        width = operator.index(width)
        if not isinstance(name, str) or width < 1:
            raise ValueError(f"invalid column spec {item!r} (expected (name, n >= 1))")
        out.append((name, width))
    if not out:
        raise ValueError("at least one column is required")
    return out


def _check_counts(rows_per_rg: int, num_row_groups: int) -> tuple[int, int]:
    rows, groups = operator.index(rows_per_rg), operator.index(num_row_groups)
    if rows < 0 or groups < 0:
        raise ValueError("rows_per_rg and num_row_groups must be >= 0")
    return rows, groups


def _row_group(pa: Any, rng: Any, cols: list[tuple[str, int]], rows: int) -> Any:
    import numpy as np

    arrays = []
    fields = []
    for name, width in cols:
        values = rng.random(rows * width, dtype=np.float32)
        if width == 1:
            arrays.append(pa.array(values, type=pa.float32()))
            fields.append(pa.field(name, pa.float32(), nullable=False))
        else:
            typ = pa.list_(pa.float32(), width)
            arrays.append(pa.FixedSizeListArray.from_arrays(pa.array(values, type=pa.float32()), width))
            fields.append(pa.field(name, typ, nullable=False))
    return pa.Table.from_arrays(arrays, schema=pa.schema(fields))


class _Drain(io.RawIOBase):
    """A write-only sink whose collected bytes are taken out after each row group."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, b: Any) -> int:
        data = bytes(b)
        self._parts.append(data)
        return len(data)

    def take(self) -> bytes:
        data = b"".join(self._parts)
        self._parts.clear()
        return data


def _encode(cols: list[tuple[str, int]], rows: int, groups: int, compression: str,
            seed: int | None = None) -> Iterator[bytes]:
    pa = require_pyarrow()
    import numpy as np
    import pyarrow.parquet as pq

    rng = np.random.default_rng(seed)
    sink = _Drain()
    schema = _row_group(pa, rng, cols, 0).schema
    writer = pq.ParquetWriter(sink, schema, compression=compression)
    try:
        for _ in range(groups):
            writer.write_table(_row_group(pa, rng, cols, rows), row_group_size=max(rows, 1))
            chunk = sink.take()
            if chunk:
                yield chunk
    finally:
        writer.close()
    tail = sink.take()
    if tail:
        yield tail


def generate_parquet_bytes_schema(columns: ColumnsArg, rows_per_rg: int, num_row_groups: int, *,
                                  compression: str = "none", seed: int | None = None) -> BytesView:
    """A Parquet file with the given ``[(name, n)]`` columns, as a ``BytesView``.

    ``seed`` makes the values reproducible (default: fresh OS entropy).
    """
    rows, groups = _check_counts(rows_per_rg, num_row_groups)
    return BytesView.wrap(b"".join(_encode(_columns(columns), rows, groups, compression, seed)))


def generate_parquet_bytes(num_cols: int, rows_per_rg: int, num_row_groups: int, *,
                           compression: str = "none") -> BytesView:
    """A Parquet file of ``num_cols`` float32 columns ``col0…``."""
    n = operator.index(num_cols)
    return generate_parquet_bytes_schema([(f"col{i}", 1) for i in range(n)], rows_per_rg, num_row_groups,
                                         compression=compression)


def generate_and_write_parquet(uri: str, num_cols: int, rows_per_rg: int, num_row_groups: int, *,
                               compression: str = "none") -> int:
    """Generate and store a Parquet file at ``uri`` (any scheme); return its size."""
    import s3dlio

    data = generate_parquet_bytes(num_cols, rows_per_rg, num_row_groups, compression=compression)
    s3dlio.put_bytes(uri, data)
    return len(data)


def generate_and_write_parquet_schema(uri: str, columns: ColumnsArg, rows_per_rg: int,
                                      num_row_groups: int, *, compression: str = "none") -> int:
    """Like :func:`generate_and_write_parquet` with a ``[(name, n)]`` schema."""
    import s3dlio

    data = generate_parquet_bytes_schema(columns, rows_per_rg, num_row_groups, compression=compression)
    s3dlio.put_bytes(uri, data)
    return len(data)


def generate_and_write_parquet_schema_streaming(uri: str, columns: ColumnsArg, rows_per_rg: int,
                                                num_row_groups: int, *, compression: str = "none") -> int:
    """Stream row groups to ``uri`` as they are encoded (≈ two row groups in memory)."""
    from s3dlio.plugin.runtime import resolve

    rows, groups = _check_counts(rows_per_rg, num_row_groups)
    cols = _columns(columns)
    require_pyarrow()
    store, key = resolve(uri)
    return int(store.put_stream(key, _encode(cols, rows, groups, compression)))
