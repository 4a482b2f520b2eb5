"""Names ``s3dlio`` serves from this plugin (docs/loaders/formats.md, with the original's ``Py*`` names)."""

from __future__ import annotations

from typing import Any

from s3dlio_loaders.dataset import Dataset, create_dataset
from s3dlio_loaders.formats import (
    create_tfrecord_index,
    get_tfrecord_index_entries,
    index_tfrecord_bytes,
    read_npz,
    read_tfrecord_index,
)
from s3dlio_loaders.loader import (
    AsyncBatchIterator,
    AsyncDataLoader,
    ItemIterator,
    ObjectItem,
    SyncIterator,
    VecDataLoader,
    VecDataLoaderIter,
    VecDataset,
)
from s3dlio_loaders.options import LoaderOptions
from s3dlio_loaders.parquet import (
    ParquetIndex,
    ParquetItem,
    ParquetRowGroupDataset,
    ParquetStreamLoader,
    parquet_cache_clear,
    parquet_cache_invalidate,
    parquet_cache_len,
    parquet_get_rg,
    parquet_rg_row_offsets,
)

__all__ = [
    "AsyncDataLoader",
    "Dataset",
    "ItemIterator",
    "LoaderOptions",
    "ObjectItem",
    "VecDataLoader",
    "VecDataset",
    "create_async_loader",
    "create_dataset",
    "create_tfrecord_index",
    "get_tfrecord_index_entries",
    "index_tfrecord_bytes",
    "read_npz",
    "read_tfrecord_index",
    "ParquetIndex",
    "ParquetItem",
    "ParquetRowGroupDataset",
    "ParquetStreamLoader",
    "parquet_cache_clear",
    "parquet_cache_invalidate",
    "parquet_cache_len",
    "parquet_get_rg",
    "parquet_rg_row_offsets",
    # §14 aliases: the same objects
    "PyAsyncDataLoader",
    "PyAsyncDataLoaderIter",
    "PyBytesAsyncDataLoader",
    "PyBytesAsyncDataLoaderIter",
    "PyBytesDataLoaderSyncIter",
    "PyDataset",
    "PyLoaderOptions",
    "PyObjectDataLoaderSyncIter",
    "PyObjectItem",
    "PyParquetIndex",
    "PyParquetItem",
    "PyParquetStreamLoader",
    "PyVecDataset",
]


def create_async_loader(uri: str, opts: Any = None) -> Any:
    """An :class:`AsyncDataLoader` over every object under ``uri`` (``batch_size`` 1 unless given).

    With ``format="parquet"`` the loader yields one item per row group
    (:class:`s3dlio_loaders.parquet.ParquetStreamLoader`).
    """
    from s3dlio_loaders.options import normalize

    if opts is not None and not isinstance(opts, dict | LoaderOptions):
        raise TypeError(f"opts must be a dict or LoaderOptions, got {type(opts).__name__}")
    given = opts.to_dict() if isinstance(opts, LoaderOptions) else dict(opts or {})
    given.setdefault("batch_size", 1)
    full = normalize(given)
    if full["format"] == "parquet":
        return ParquetStreamLoader(uri, full)
    return AsyncDataLoader(Dataset(uri, full), full)  # validated once (one warning per unknown key)


PyDataset = Dataset
PyLoaderOptions = LoaderOptions
PyObjectItem = ObjectItem
PyVecDataset = VecDataset
PyBytesAsyncDataLoader = AsyncDataLoader
PyAsyncDataLoader = VecDataLoader
PyObjectDataLoaderSyncIter = ItemIterator
PyBytesDataLoaderSyncIter = SyncIterator
PyBytesAsyncDataLoaderIter = AsyncBatchIterator
PyAsyncDataLoaderIter = VecDataLoaderIter
PyParquetStreamLoader = ParquetStreamLoader
PyParquetItem = ParquetItem
PyParquetIndex = ParquetIndex


_TORCH_NAMES = frozenset({"ObjectStoreIterableDataset", "ObjectStoreMapDataset", "S3IterableDataset",
                          "S3MapDataset"})


def __getattr__(name: str) -> Any:
    """Framework classes, imported on first use; ``None`` when the framework is absent."""
    if name in _TORCH_NAMES:
        import importlib.util

        if importlib.util.find_spec("torch") is None:
            return None
        from s3dlio_loaders import torch_adapter

        return getattr(torch_adapter, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
