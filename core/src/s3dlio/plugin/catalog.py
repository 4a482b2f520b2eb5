"""The catalog of first-party distributions: the only place core names its plugins.

Core never imports a plugin by name. What it needs to know about the distributions
this project publishes is the text of a helpful error when one is missing: which
distribution serves a URI scheme, a public name (``s3dlio.put``) or a submodule
(``s3dlio.torch``), and the command that installs it. The plugins themselves declare
what they serve (``s3dlio_register_backends``, ``s3dlio_register_exports``); a test
of the whole project checks that their declarations and this catalog agree.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

__all__ = [
    "BARE_BUCKET_SCHEME",
    "CLI",
    "NAMES",
    "SCHEMES",
    "SUBMODULES",
    "closest",
    "distribution_for_name",
    "distribution_for_scheme",
    "distribution_for_submodule",
    "install_command",
]

SCHEMES: Mapping[str, str] = {
    "file": "s3dlio-posix",
    "direct": "s3dlio-direct",
    "s3": "s3dlio-s3",
    "az": "s3dlio-azure",
    "azure": "s3dlio-azure",
    "gs": "s3dlio-gcs",
    "gcs": "s3dlio-gcs",
}
"""URI scheme → the distribution whose backend serves it."""

BARE_BUCKET_SCHEME = "s3"
"""What a bare bucket name means when no installed backend declares ``serves_bare_buckets``
(the original API was S3-only), so such a call names the plugin to install."""

_NAMES_BY_DIST: Mapping[str, str] = {
    "s3dlio-datagen": (
        "put put_async generate_data generate_data_with_threads generate_into_buffer Generator "
        "XorStream generate_npz_bytes generate_parquet_bytes generate_parquet_bytes_schema "
        "generate_and_write_parquet generate_and_write_parquet_schema "
        "generate_and_write_parquet_schema_streaming py_total_cpus py_default_data_gen_threads"
    ),
    "s3dlio-oplog": "init_op_log finalize_op_log is_op_log_active set_op_log_client_id op_log_stats",
    "s3dlio-loaders": (
        "AsyncDataLoader create_async_loader create_dataset create_tfrecord_index Dataset "
        "get_tfrecord_index_entries index_tfrecord_bytes ItemIterator LoaderOptions ObjectItem "
        "ObjectStoreIterableDataset ObjectStoreMapDataset parquet_cache_clear parquet_cache_invalidate "
        "parquet_cache_len parquet_get_rg parquet_rg_row_offsets ParquetIndex ParquetItem "
        "ParquetRowGroupDataset ParquetStreamLoader PyAsyncDataLoader PyAsyncDataLoaderIter "
        "PyBytesAsyncDataLoader PyBytesAsyncDataLoaderIter PyBytesDataLoaderSyncIter PyDataset "
        "PyLoaderOptions PyObjectDataLoaderSyncIter PyObjectItem PyParquetIndex PyParquetItem "
        "PyParquetStreamLoader PyVecDataset read_npz read_tfrecord_index S3IterableDataset S3MapDataset "
        "VecDataLoader VecDataset"
    ),
    "s3dlio-s3": "configure_s3 parse_s3_uri_full",
    "s3dlio-checkpoint": (
        "CheckpointStore PyCheckpointStore CheckpointInfo PyCheckpointInfo CheckpointWriter "
        "PyCheckpointWriter CheckpointReader PyCheckpointReader save_checkpoint load_checkpoint "
        "load_checkpoint_with_validation load_checkpoint_with_validation_view save_distributed_shard "
        "finalize_distributed_checkpoint"
    ),
    "s3dlio-gcs": (
        "gcs_get_channel_count gcs_get_rapid_mode gcs_query_rapid_bucket gcs_set_channel_count "
        "gcs_set_rapid_mode"
    ),
}

NAMES: Mapping[str, str] = {
    name: dist for dist, names in _NAMES_BY_DIST.items() for name in names.split()
}
"""Public ``s3dlio.<name>`` → the distribution that serves it."""

SUBMODULES: Mapping[str, str] = {
    "torch": "s3dlio-loaders[torch]",
    "jax_tf": "s3dlio-loaders",
    "dcp": "s3dlio-checkpoint[torch]",
    "fsspec": "s3dlio-fsspec",
    "bulk": "s3dlio-dask",
}
"""Submodule ``s3dlio.<name>`` → the distribution (with extra) that serves it."""


CLI: Mapping[str, str] = {
    "put": "s3dlio-datagen",
    "generate": "s3dlio-datagen",
    "oplog": "s3dlio-oplog",
    "checkpoint": "s3dlio-checkpoint",
    "--op-log": "s3dlio-oplog",
    "--endpoint-url": "s3dlio-s3",
    "--endpoint": "s3dlio-s3",
    "--region": "s3dlio-s3",
    "--profile": "s3dlio-s3",
    "--ca-bundle": "s3dlio-s3",
    "--insecure": "s3dlio-s3",
}
"""``s3-cli`` commands and global flags → the distribution that adds them."""


def distribution_for_scheme(scheme: str) -> str | None:
    return SCHEMES.get(scheme.lower())


def distribution_for_name(name: str) -> str | None:
    return NAMES.get(name)


def distribution_for_submodule(name: str) -> str | None:
    """The distribution of ``s3dlio.<name>`` or of its top-level package (``compat.x`` → ``compat``)."""
    return SUBMODULES.get(name) or SUBMODULES.get(name.split(".", 1)[0])


def install_command(dist: str) -> str:
    """``pip install s3dlio-s3`` (quoted when it names an extra)."""
    return f"pip install '{dist}'" if "[" in dist else f"pip install {dist}"


def closest(word: str, candidates: Iterable[str]) -> str | None:
    """The candidate closest to a mistyped ``word`` (``fiel`` → ``file``), or ``None``."""
    import difflib

    matches = difflib.get_close_matches(word, sorted(set(candidates)), n=1, cutoff=0.6)
    return matches[0] if matches else None
