"""``s3dlio.torch``: the PyTorch datasets of the original API, served by ``s3dlio-loaders``.

``from s3dlio.torch import ObjectStoreIterableDataset`` works as with the original s3dlio.
Importing this module imports neither torch nor the loaders; the first name accessed does
(and says what to install when ``s3dlio-loaders[torch]`` is missing).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from s3dlio.plugin.exports import resolve_served

if TYPE_CHECKING:  # pragma: no cover
    from s3dlio_loaders.torch_adapter import ObjectReader as ObjectReader
    from s3dlio_loaders.torch_adapter import ObjectStoreIterableDataset as ObjectStoreIterableDataset
    from s3dlio_loaders.torch_adapter import ObjectStoreMapDataset as ObjectStoreMapDataset
    from s3dlio_loaders.torch_adapter import S3IterableDataset as S3IterableDataset
    from s3dlio_loaders.torch_adapter import S3MapDataset as S3MapDataset

__all__ = [
    "ObjectReader",
    "ObjectStoreIterableDataset",
    "ObjectStoreMapDataset",
    "S3IterableDataset",
    "S3MapDataset",
]
_SERVED = dict.fromkeys(__all__, ("s3dlio_loaders.torch_adapter", "s3dlio-loaders[torch]"))


def __getattr__(name: str) -> Any:
    return resolve_served(globals(), __name__, name, _SERVED)
