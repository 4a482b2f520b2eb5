"""Entry-point module of s3dlio-loaders: hookimpls only (no numpy or torch import here)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from s3dlio import hookimpl

if TYPE_CHECKING:
    from s3dlio.plugin.registry import AdapterSpec, FormatSpec, NamedRegistry

_HINT = "pip install s3dlio-loaders"


@hookimpl
def s3dlio_register_formats(registry: NamedRegistry[FormatSpec]) -> None:
    from s3dlio.plugin.registry import FormatSpec

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
    from s3dlio.plugin.registry import AdapterSpec

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
