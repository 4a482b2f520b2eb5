"""Core's own plugin: its settings sections, the ``memory://`` backend, middleware and
``s3-cli`` commands.

Registered first by :class:`~s3dlio.plugin.host.PluginHost` under the name ``s3dlio``;
it uses exactly the hooks a third-party plugin would.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from s3dlio.bytesview import configure_pool
from s3dlio.config import CoreSettings, PluginSettings, UploadSettings
from s3dlio.plugin.hookspecs import hookimpl
from s3dlio.plugin.registry import BackendSpec, MiddlewareSpec
from s3dlio.store.middleware import ConcurrencyLimitSettings
from s3dlio.store.retry import RetrySettings

if TYPE_CHECKING:
    from s3dlio.cli.registry import CommandRegistry
    from s3dlio.config import ConfigSchema, Settings
    from s3dlio.plugin.registry import BackendRegistry, NamedRegistry


MULTI_ENDPOINT_ENV = ("S3_ENDPOINT_URIS", "S3_ENDPOINT_TEMPLATE", "S3_ENDPOINT_FILE",
                      "S3_LOAD_BALANCE_STRATEGY")
"""Read directly by the multi-endpoint store (the original's names; its ``ENV_*`` constants).
Spelled out here: importing that module for them would bring asyncio into every composition."""


@hookimpl
def s3dlio_add_config(schema: ConfigSchema) -> None:
    schema.add_section("core", CoreSettings)
    schema.add_section("plugins", PluginSettings)
    schema.add_section("retry", RetrySettings)
    schema.add_section("upload", UploadSettings)
    schema.add_section("concurrency_limit", ConcurrencyLimitSettings)
    schema.add_known_env(*MULTI_ENDPOINT_ENV)


@hookimpl
def s3dlio_configure(settings: Settings) -> None:
    core = settings.core
    if core.log_level:
        from s3dlio.api.configure import init_logging

        init_logging(core.log_level, core.log_format)
    if core.malloc_retain_mb:
        from s3dlio.engines.malloc import retain_freed_memory

        retain_freed_memory(core.malloc_retain_mb << 20)
    configure_pool(core.buffer_pool_mb, core.buffer_pool_count)
    if core.rt_threads:
        from s3dlio.engines.pool import set_async_workers

        set_async_workers(core.rt_threads)


@hookimpl
def s3dlio_register_backends(registry: BackendRegistry) -> None:
    registry.register(
        BackendSpec(
            name="memory",
            schemes=("memory",),
            factory="s3dlio.store.memory:MemoryStore",
            description="process-local, thread-safe in-memory object store (memory://bucket/key)",
        )
    )


@hookimpl
def s3dlio_register_middleware(registry: NamedRegistry[MiddlewareSpec]) -> None:
    registry.register(
        MiddlewareSpec(
            name="oplog",
            factory="s3dlio.store.recording:recording",
            order=0,
            description="reports every request to the active recorder (the op-log); "
                        "free when nothing records",
        )
    )
    registry.register(
        MiddlewareSpec(
            name="concurrency-limit",
            factory="s3dlio.store.middleware:concurrency_limit",
            order=50,
            description="caps concurrent requests per store ([concurrency_limit] max_requests)",
        )
    )


@hookimpl
def s3dlio_register_commands(cli: CommandRegistry) -> None:
    from s3dlio.cli.commands import register_core_commands  # only s3-cli needs the commands

    register_core_commands(cli)
