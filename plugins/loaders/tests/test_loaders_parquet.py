"""Parquet: row-group items for every codec, column projection, footer cache (epoch 2 reads
no footer), index helpers."""

from __future__ import annotations

import asyncio
import io
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

import s3dlio
from s3dlio.plugin.runtime import resolve

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

from s3dlio_loaders import parquet as P  # noqa: E402

pytestmark = pytest.mark.timeout(120)

CODECS = ["zstd", "snappy", "none", "gzip"]


@pytest.fixture
def pq_root(tmp_path: Path) -> str:
    P.parquet_cache_clear()
    root = tmp_path / "pq"
    for i, codec in enumerate(CODECS):
        t = pa.table({"a": list(range(i * 1000, i * 1000 + 1000)), "b": [f"s{j}" for j in range(1000)],
                      "c": [float(j) for j in range(1000)]})
        buf = io.BytesIO()
        pq.write_table(t, buf, row_group_size=300, compression=codec)
        s3dlio.put_bytes(f"file://{root}/d{i % 2}/f{i}.parquet", buf.getvalue())
    s3dlio.put_bytes(f"file://{root}/notes.txt", b"not parquet")
    yield f"file://{root}/"
    P.parquet_cache_clear()


def test_loader_one_item_per_row_group_any_codec(pq_root: str) -> None:
    loader = s3dlio.create_async_loader(pq_root, {"format": "parquet", "decode": "arrow"})
    assert isinstance(loader, P.ParquetStreamLoader)
    items = list(loader)
    assert len(items) == 16  # 4 files × 4 row groups
    assert Counter(i.file_uri for i in items) == Counter(dict.fromkeys(loader.files(), 4))
    rows = sorted(v for it in items for v in it.to_arrow().column("a").to_pylist())
    assert rows == list(range(4000))


def test_columns_projection_and_raw(pq_root: str) -> None:
    loader = s3dlio.create_async_loader(pq_root, {"format": "parquet", "decode": "arrow", "columns": ["b"]})
    assert {tuple(i.to_arrow().schema.names) for i in loader} == {("b",)}
    uri = pq_root + "d0/f0.parquet"
    raw_all = P.parquet_get_rg(uri, 1, decode="raw")
    raw_b = P.parquet_get_rg(uri, 1, col_indices=[1], decode="raw")
    assert 0 < len(raw_b) < len(raw_all)
    with pytest.raises(IndexError):
        P.parquet_get_rg(uri, 99)
    batch = pa.ipc.open_stream(pa.BufferReader(memoryview(P.parquet_get_rg(uri, 3)))).read_next_batch()
    assert batch.num_rows == 100 and batch.column("a").to_pylist() == list(range(900, 1000))
    assert P.parquet_rg_row_offsets(uri) == [0, 300, 600, 900, 1000]


def _count_store_ops(monkeypatch: pytest.MonkeyPatch, uri: str) -> Counter[str]:
    store, _ = resolve(uri)
    cls = type(store)
    counts: Counter[str] = Counter()
    for name in ("head", "get_range", "get"):
        orig = getattr(cls, name)

        def wrapper(self: Any, *args: Any, _orig: Any = orig, _name: str = name, **kw: Any) -> Any:
            counts[_name] += 1
            return _orig(self, *args, **kw)

        monkeypatch.setattr(cls, name, wrapper)
    return counts


def test_epoch_two_reads_no_footer(pq_root: str, monkeypatch: pytest.MonkeyPatch) -> None:
    counts = _count_store_ops(monkeypatch, pq_root)
    loader = s3dlio.create_async_loader(pq_root, {"format": "parquet", "shuffle": True, "seed": 1})
    assert counts["head"] == 4 and counts["get_range"] == 4  # one footer read per file
    counts.clear()
    assert len(list(loader)) == 16
    assert counts == Counter({"get_range": 16})  # row groups only
    counts.clear()
    assert len(list(loader)) == 16  # epoch 2
    assert counts == Counter({"get_range": 16})
    # Another loader in the same process shares the footer cache.
    counts.clear()
    other = s3dlio.create_async_loader(pq_root, {"format": "parquet"})
    assert len(list(other)) == 16 and counts == Counter({"get_range": 16})
    P.parquet_cache_invalidate(pq_root + "d0/f0.parquet")
    assert P.parquet_cache_len() == 3


def test_parquet_sharding_and_batches(pq_root: str) -> None:
    seen = []
    for rank in range(2):
        opts = {"format": "parquet", "shard_rank": rank, "shard_world_size": 2, "shuffle": True, "seed": 3}
        seen += [(i.file_uri, i.rg_idx) for i in s3dlio.create_async_loader(pq_root, opts)]
    assert len(seen) == len(set(seen)) == 16

    async def sizes() -> list[int]:
        ld = s3dlio.create_async_loader(pq_root, {"format": "parquet", "batch_size": 5})
        return [len(b) async for b in ld]

    assert asyncio.run(sizes()) == [5, 5, 5, 1]


def test_missing_parquet_raises(tmp_path: Path) -> None:
    s3dlio.put_bytes(f"file://{tmp_path}/x/a.txt", b"x")
    with pytest.raises(s3dlio.errors.NotFoundError):
        s3dlio.create_async_loader(f"file://{tmp_path}/x/", {"format": "parquet"})


def test_row_group_dataset_and_index(pq_root: str) -> None:
    ds = P.ParquetRowGroupDataset(pq_root, columns=["a"])
    assert len(ds) == 16 and ds[3].to_arrow().num_rows == 100
    idx = P.ParquetIndex()
    uris = s3dlio.create_async_loader(pq_root, {"format": "parquet"}).files()
    idx.ensure_indexed(uris)
    assert idx.file_count() == 4 and len(idx) == 16 and idx.file_rg_count(uris[0]) == 4
    assert idx.rg_lookup(uris[0], 650) == (2, 50, 300)
    assert idx.rg_range(uris[0], 3) == (900, 100)
    assert idx.check_and_mark(uris[0], 2) is False
    assert idx.check_and_mark(uris[0], 2) is True
    idx.ensure_indexed(uris, epoch=2)
    assert idx.was_fetched(uris[0], 2) is False
    idx.invalidate_uri(uris[0])
    assert not idx.is_indexed(uris[0])
