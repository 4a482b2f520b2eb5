"""s3dlio-datagen's own hook: other plugins register data generators here.

Added to the plugin manager through ``s3dlio_addhooks``; a vendor implements
``s3dlio_register_generators`` (``@s3dlio.hookimpl(optionalhook=True)`` keeps it
loadable where s3dlio-datagen is not installed).
"""

from __future__ import annotations

import attrs

from s3dlio.plugin.hookspecs import hookspec
from s3dlio.plugin.registry import LazySpec, NamedRegistry

__all__ = ["GeneratorSpec", "generators", "s3dlio_register_generators"]


@attrs.frozen
class GeneratorSpec(LazySpec):
    """A synthetic-data generator (``random``, ``zeros``, a vendor's own).

    ``factory`` is called as ``factory(size=, dedup=, compress=, seed=)`` and returns
    an object whose ``fill(out: numpy.uint8 array, pos: int)`` writes stream bytes
    ``[pos, pos + len(out))``.
    """


@hookspec
def s3dlio_register_generators(registry: NamedRegistry[GeneratorSpec]) -> None:
    """Register synthetic-data generators (``GeneratorSpec``) used by ``put``/``generate``."""


def generators() -> NamedRegistry[GeneratorSpec]:
    """Every registered generator (collected once per plugin host)."""
    from s3dlio.plugin.runtime import loaded_host

    registry: NamedRegistry[GeneratorSpec] = NamedRegistry("generator")
    return loaded_host().collect("s3dlio_register_generators", registry)  # type: ignore[return-value]
