"""Entry-point module of s3dlio-direct: hookimpls only, no I/O imports."""

from __future__ import annotations

from typing import TYPE_CHECKING

import attrs

from s3dlio import hookimpl
from s3dlio.config import setting

if TYPE_CHECKING:
    from s3dlio.config import ConfigSchema
    from s3dlio.plugin.registry import BackendRegistry


@attrs.define
class DirectSettings:
    """Section ``[direct]``."""

    alignment: int = setting(
        4096, env="S3DLIO_DIRECT_ALIGNMENT", minimum=512, maximum=1 << 20,
        help="O_DIRECT alignment of buffers, offsets and lengths in bytes (a power of two, "
        "at least the device's logical block size)",
    )
    max_concurrency: int = setting(
        0, env="S3DLIO_DIRECT_MAX_CONCURRENCY", minimum=0, maximum=4096,
        help="cap on concurrent reads/writes of one batch (0: 2 x CPUs, at least 16)",
    )
    parallel_write_mb: int = setting(
        16, env="S3DLIO_DIRECT_PARALLEL_WRITE_MB", minimum=0, maximum=1 << 20,
        help="objects of at least this many MiB whose size is known (put, upload, copy) are "
        "written by several threads at once, 8 MiB aligned chunks each (0: never)",
    )
    write_concurrency: int = setting(
        0, env="S3DLIO_DIRECT_WRITE_CONCURRENCY", minimum=0, maximum=4096,
        help="chunks of one parallel write in flight (0: by object size and CPUs)",
    )


@hookimpl
def s3dlio_add_config(schema: ConfigSchema) -> None:
    schema.add_section("direct", DirectSettings)


@hookimpl
def s3dlio_register_backends(registry: BackendRegistry) -> None:
    from s3dlio.plugin.registry import BackendSpec

    registry.register(
        BackendSpec(
            name="direct",
            schemes=("direct",),
            factory="s3dlio_direct.store:DirectStore",
            local_paths=True,
            install_hint="pip install s3dlio-direct",
            description="local filesystems with O_DIRECT, bypassing the page cache (direct:///abs/path)",
        )
    )
