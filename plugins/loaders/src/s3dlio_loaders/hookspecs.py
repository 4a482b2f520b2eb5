"""s3dlio-loaders' own hooks: dataset formats and framework adapters (``s3dlio_addhooks``)."""

from __future__ import annotations

from collections.abc import Iterable

import attrs

from s3dlio.plugin.hookspecs import hookspec
from s3dlio.plugin.registry import LazySpec, NamedRegistry

__all__ = ["AdapterSpec", "FormatSpec", "adapters", "formats",
           "s3dlio_register_adapters", "s3dlio_register_formats"]


def _str_tuple(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(values)


@attrs.frozen
class FormatSpec(LazySpec):
    """A dataset format (``npz``, ``tfrecord``, ``parquet``) and its file extensions."""

    extensions: tuple[str, ...] = attrs.field(default=(), converter=_str_tuple, kw_only=True)


@attrs.frozen
class AdapterSpec(LazySpec):
    """A framework adapter (``torch``, ``jax``, ``tensorflow``)."""

    framework_module: str = attrs.field(default="", kw_only=True)
    """Import name of the framework; the adapter is usable when it is importable."""


@hookspec
def s3dlio_register_formats(registry: NamedRegistry[FormatSpec]) -> None:
    """Register dataset formats (``FormatSpec``): readers/writers and file extensions."""


@hookspec
def s3dlio_register_adapters(registry: NamedRegistry[AdapterSpec]) -> None:
    """Register framework adapters (``AdapterSpec``) for PyTorch, JAX, TensorFlow, …"""


def formats() -> NamedRegistry[FormatSpec]:
    """Every registered format (collected once per plugin host)."""
    from s3dlio.plugin.runtime import loaded_host

    registry: NamedRegistry[FormatSpec] = NamedRegistry("format")
    return loaded_host().collect("s3dlio_register_formats", registry)  # type: ignore[return-value]


def adapters() -> NamedRegistry[AdapterSpec]:
    """Every registered framework adapter (collected once per plugin host)."""
    from s3dlio.plugin.runtime import loaded_host

    registry: NamedRegistry[AdapterSpec] = NamedRegistry("adapter")
    return loaded_host().collect("s3dlio_register_adapters", registry)  # type: ignore[return-value]
