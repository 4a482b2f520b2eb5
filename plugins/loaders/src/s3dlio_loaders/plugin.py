"""Entry-point module of s3dlio-loaders: hookimpls only (no numpy or torch import here)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from s3dlio import hookimpl
from s3dlio.plugin.hookspecs import addhooks_from

if TYPE_CHECKING:
    from s3dlio.config import ConfigSchema
    from s3dlio.plugin.registry import ExportRegistry, NamedRegistry
    from s3dlio_loaders.hookspecs import AdapterSpec, FormatSpec

_HINT = "pip install s3dlio-loaders"


s3dlio_addhooks = addhooks_from("s3dlio_loaders.hookspecs")
"""The plugin's own hooks (``s3dlio_loaders.hookspecs``), declared as it registers."""


@hookimpl
def s3dlio_register_exports(exports: ExportRegistry) -> None:
    exports.names_from(
        "s3dlio_loaders.api",
        "AsyncDataLoader create_async_loader create_dataset create_tfrecord_index Dataset "
        "get_tfrecord_index_entries index_tfrecord_bytes ItemIterator LoaderOptions ObjectItem "
        "ObjectStoreIterableDataset ObjectStoreMapDataset parquet_cache_clear "
        "parquet_cache_invalidate parquet_cache_len parquet_get_rg parquet_rg_row_offsets "
        "ParquetIndex ParquetItem ParquetRowGroupDataset ParquetStreamLoader PyAsyncDataLoader "
        "PyAsyncDataLoaderIter PyBytesAsyncDataLoader PyBytesAsyncDataLoaderIter "
        "PyBytesDataLoaderSyncIter PyDataset PyLoaderOptions PyObjectDataLoaderSyncIter "
        "PyObjectItem PyParquetIndex PyParquetItem PyParquetStreamLoader PyVecDataset read_npz "
        "read_tfrecord_index S3IterableDataset S3MapDataset VecDataLoader VecDataset",
    )
    exports.submodule("torch", "s3dlio_loaders.torch_adapter",
                      install_hint="pip install 's3dlio-loaders[torch]'")
    exports.submodule("jax_tf", "s3dlio_loaders.jax_tf")


@hookimpl
def s3dlio_register_formats(registry: NamedRegistry[FormatSpec]) -> None:
    from s3dlio_loaders.hookspecs import FormatSpec

    table: tuple[tuple[str, str, tuple[str, ...], str, str], ...] = (
        ("raw", "RAW", (), "opaque bytes, one object per item", _HINT),
        ("npy", "NPY", (".npy",), "one numpy array per object", _HINT),
        ("npz", "NPZ", (".npz",), "numpy archives (read_npz)", _HINT),
        ("tfrecord", "TFRECORD", (".tfrecord", ".tfrecords"), "TFRecord with DALI-compatible index", _HINT),
        ("hdf5", "HDF5", (".h5", ".hdf5"), "HDF5 files (h5py)", "pip install 's3dlio-loaders[hdf5]'"),
        ("parquet", "PARQUET", (".parquet",), "Parquet (pyarrow), one item per row group",
         "pip install 's3dlio-loaders[parquet]'"),
    )
    for name, attr, exts, desc, hint in table:
        # attrs' converter=tuple makes mypy see ``extensions`` as Iterable[_T_co].
        registry.register(FormatSpec(
            name=name, factory=f"s3dlio_loaders.formats:{attr}", extensions=exts,
            description=desc, install_hint=hint))


@hookimpl
def s3dlio_register_adapters(registry: NamedRegistry[AdapterSpec]) -> None:
    from s3dlio_loaders.hookspecs import AdapterSpec

    registry.register(AdapterSpec(
        name="torch", factory="s3dlio_loaders.torch_adapter:ObjectStoreIterableDataset",
        framework_module="torch", description="torch IterableDataset/MapDataset over any backend",
        install_hint="pip install 's3dlio-loaders[torch]'",
    ))
    registry.register(AdapterSpec(
        name="jax", factory="s3dlio_loaders.jax_tf:JaxIterable", framework_module="jax",
        description="numpy uint8 arrays for JAX (works with numpy alone)",
        install_hint="pip install 's3dlio-loaders[jax]'",
    ))
    registry.register(AdapterSpec(
        name="tensorflow", factory="s3dlio_loaders.jax_tf:make_tf_dataset", framework_module="tensorflow",
        description="tf.data.Dataset of uint8 tensors",
        install_hint="pip install 's3dlio-loaders[tensorflow]'",
    ))


@hookimpl
def s3dlio_add_config(schema: ConfigSchema) -> None:
    # Read directly by the loader (not a settings section); declared so setting it never
    # draws the "unknown environment variable" warning.
    schema.add_known_env("S3DLIO_LOADER_LOCAL_THREADS")
