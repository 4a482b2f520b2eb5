"""s3dlio-oplog's own hook: other plugins register op-log sinks here (``s3dlio_addhooks``)."""

from __future__ import annotations

import attrs

from s3dlio.plugin.hookspecs import hookspec
from s3dlio.plugin.registry import LazySpec, NamedRegistry

__all__ = ["OplogSinkSpec", "s3dlio_register_oplog_sinks", "sinks"]


@attrs.frozen
class OplogSinkSpec(LazySpec):
    """An op-log sink (``tsv-zstd``, ``jsonl``, a vendor's own)."""


@hookspec
def s3dlio_register_oplog_sinks(registry: NamedRegistry[OplogSinkSpec]) -> None:
    """Register op-log sinks (``OplogSinkSpec``), e.g. ``tsv-zstd`` or ``jsonl``."""


def sinks() -> NamedRegistry[OplogSinkSpec]:
    """Every registered sink (collected once per plugin host)."""
    from s3dlio.plugin.runtime import loaded_host

    registry: NamedRegistry[OplogSinkSpec] = NamedRegistry("op-log sink")
    return loaded_host().collect("s3dlio_register_oplog_sinks", registry)  # type: ignore[return-value]
