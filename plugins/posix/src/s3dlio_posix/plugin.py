"""Entry-point module of s3dlio-posix: hookimpls only, no I/O imports."""

from __future__ import annotations

from typing import TYPE_CHECKING

import attrs

from s3dlio import hookimpl
from s3dlio.config import setting

if TYPE_CHECKING:
    from s3dlio.config import ConfigSchema
    from s3dlio.plugin.registry import BackendRegistry


@attrs.define
class PosixSettings:
    """Section ``[posix]``."""

    max_concurrency: int = setting(
        0, env="S3DLIO_POSIX_MAX_CONCURRENCY", minimum=0, maximum=4096,
        help="cap on concurrent reads/writes of one batch (0: 4 x CPUs, at least 8)",
    )


@hookimpl
def s3dlio_add_config(schema: ConfigSchema) -> None:
    schema.add_section("posix", PosixSettings)


@hookimpl
def s3dlio_register_backends(registry: BackendRegistry) -> None:
    from s3dlio.plugin.registry import BackendSpec

    registry.register(
        BackendSpec(
            name="posix",
            schemes=("file",),
            factory="s3dlio_posix.store:PosixStore",
            local_paths=True,
            install_hint="pip install s3dlio-posix",
            description="local and network filesystems (file:///abs/path)",
        )
    )
