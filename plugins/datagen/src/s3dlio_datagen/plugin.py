"""Entry-point module of s3dlio-datagen: hookimpls only (no numpy import here)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import attrs

from s3dlio import hookimpl
from s3dlio.config import setting

if TYPE_CHECKING:
    from s3dlio.cli.registry import CommandRegistry
    from s3dlio.config import ConfigSchema
    from s3dlio.plugin.registry import GeneratorSpec, NamedRegistry


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


@hookimpl
def s3dlio_register_generators(registry: NamedRegistry[GeneratorSpec]) -> None:
    from s3dlio.plugin.registry import GeneratorSpec

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
