"""Entry-point module of s3dlio-datagen: hookimpls only (no numpy import here)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import attrs

from s3dlio import hookimpl
from s3dlio.config import setting
from s3dlio.plugin.hookspecs import addhooks_from

if TYPE_CHECKING:
    from s3dlio.cli.registry import CommandRegistry
    from s3dlio.config import ConfigSchema
    from s3dlio.plugin.registry import ExportRegistry, NamedRegistry
    from s3dlio_datagen.hookspecs import GeneratorSpec


@attrs.define
class DatagenSettings:
    """Section ``[datagen]``."""

    generator: str = setting(
        "random", env="S3DLIO_DATAGEN_GENERATOR",
        help="generator used by put()/s3-cli put|generate for data_gen_algorithm random/prand "
             "(any name registered through s3dlio_register_generators, e.g. a vendor's)",
    )


@hookimpl
def s3dlio_add_config(schema: ConfigSchema) -> None:
    schema.add_section("datagen", DatagenSettings)


s3dlio_addhooks = addhooks_from("s3dlio_datagen.hookspecs")
"""The plugin's own hooks (``s3dlio_datagen.hookspecs``), declared as it registers."""


@hookimpl
def s3dlio_register_exports(exports: ExportRegistry) -> None:
    exports.names_from(
        "s3dlio_datagen.api",
        "put put_async generate_data generate_data_with_threads generate_into_buffer Generator "
        "XorStream generate_npz_bytes generate_parquet_bytes generate_parquet_bytes_schema "
        "generate_and_write_parquet generate_and_write_parquet_schema "
        "generate_and_write_parquet_schema_streaming py_total_cpus py_default_data_gen_threads",
    )


@hookimpl
def s3dlio_register_generators(registry: NamedRegistry[GeneratorSpec]) -> None:
    from s3dlio_datagen.hookspecs import GeneratorSpec

    registry.register(GeneratorSpec(
        name="random",
        factory="s3dlio_datagen.generators:RandomGenerator",
        description="unique random blocks with exact dedup/compress ratios (default)",
        install_hint="pip install s3dlio-datagen",
    ))
    registry.register(GeneratorSpec(
        name="zeros",
        factory="s3dlio_datagen.generators:ZerosGenerator",
        description="all-zero payloads (maximally compressible and deduplicable)",
        install_hint="pip install s3dlio-datagen",
    ))


@hookimpl
def s3dlio_register_commands(cli: CommandRegistry) -> None:
    from s3dlio.cli.registry import CommandSpec

    cli.register(CommandSpec("put", "s3dlio_datagen.cli:PutCommand",
                             "write synthetic objects (unique, exact size, dedup/compress ratios)"))
    cli.register(CommandSpec("generate", "s3dlio_datagen.cli:GenerateCommand",
                             "generate a deterministic dataset (raw, npz, tfrecord, hdf5, parquet)"))
