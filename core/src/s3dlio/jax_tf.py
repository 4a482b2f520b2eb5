"""``s3dlio.jax_tf``: the JAX and TensorFlow datasets of the original API (``s3dlio-loaders``).

Importing this module imports neither framework; ``JaxIterable`` needs only numpy,
``make_tf_dataset`` needs TensorFlow when called.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from s3dlio.plugin.exports import resolve_served

if TYPE_CHECKING:  # pragma: no cover
    from s3dlio_loaders.jax_tf import JaxIterable as JaxIterable
    from s3dlio_loaders.jax_tf import S3JaxIterable as S3JaxIterable
    from s3dlio_loaders.jax_tf import make_tf_dataset as make_tf_dataset

__all__ = [
    "JaxIterable",
    "S3JaxIterable",
    "make_tf_dataset",
]
_SERVED = dict.fromkeys(__all__, ("s3dlio_loaders.jax_tf", "s3dlio-loaders"))


def __getattr__(name: str) -> Any:
    return resolve_served(globals(), __name__, name, _SERVED)
