"""Core's own plugin: its settings sections, middleware and ``s3-cli`` commands.

Registered first by :class:`~s3dlio.plugins.PluginHost` under the name ``s3dlio``;
it uses exactly the hooks a third-party plugin would.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from s3dlio.hookspecs import hookimpl

if TYPE_CHECKING:
    from s3dlio.cli.registry import CommandRegistry
    from s3dlio.config import ConfigSchema
    from s3dlio.registry import MiddlewareSpec, NamedRegistry


@hookimpl
def s3dlio_add_config(schema: ConfigSchema) -> None:
    from s3dlio.config import CoreSettings, PluginSettings
    from s3dlio.middleware import ConcurrencyLimitSettings

    schema.add_section("core", CoreSettings)
    schema.add_section("plugins", PluginSettings)
    schema.add_section("concurrency_limit", ConcurrencyLimitSettings)


@hookimpl
def s3dlio_register_middleware(registry: NamedRegistry[MiddlewareSpec]) -> None:
    from s3dlio.registry import MiddlewareSpec

    registry.register(
        MiddlewareSpec(
            name="concurrency-limit",
            factory="s3dlio.middleware:concurrency_limit",
            order=50,
            description="caps concurrent requests per store ([concurrency_limit] max_requests)",
        )
    )


@hookimpl
def s3dlio_register_commands(cli: CommandRegistry) -> None:
    from s3dlio.cli.commands import register_core_commands

    register_core_commands(cli)
