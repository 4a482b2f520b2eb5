"""JAX and TensorFlow adapters: numpy ``uint8`` arrays, ``tf.data.Dataset`` (docs/loaders/jax-tensorflow.md).

``JaxIterable`` needs only numpy (JAX consumes numpy arrays; ``jax.device_put`` them
as needed). ``make_tf_dataset`` imports TensorFlow on call.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from typing import Any

from s3dlio_loaders.dataset import Dataset
from s3dlio_loaders.loader import AsyncDataLoader
from s3dlio_loaders.options import normalize

__all__ = ["JaxIterable", "S3JaxIterable", "make_tf_dataset"]


def _loader_opts(batch_size: int, drop_last: bool, shuffle: bool, seed: int, num_workers: int,
                 prefetch: int, auto_tune: bool) -> dict[str, Any]:
    return {"batch_size": batch_size, "drop_last": drop_last, "shuffle": shuffle, "seed": seed,
            "num_workers": num_workers, "prefetch": prefetch, "auto_tune": auto_tune}


def _as_array(data: Any, writable: bool) -> Any:
    import numpy as np

    arr = np.frombuffer(data, dtype=np.uint8)
    if writable:
        return arr.copy() if not arr.flags.writeable else arr
    if arr.flags.writeable:
        arr.flags.writeable = False  # a read-only view of the loader's buffer
    return arr


class JaxIterable:
    """Iterate the objects under ``uri`` as 1-D ``numpy.uint8`` arrays (zero-copy, read-only
    unless ``writable``), optionally through ``transform``; one epoch per iteration."""

    def __init__(self, uri: str, *, loader_opts: Any = None, transform: Callable[[Any], Any] | None = None,
                 writable: bool = False, suppress_nonwritable_warning: bool = True) -> None:
        self.uri = uri
        self._opts = normalize(loader_opts, batch_size=1)
        self.transform = transform
        self.writable = bool(writable)
        self.suppress_nonwritable_warning = bool(suppress_nonwritable_warning)
        self._dataset: Dataset | None = None
        self._loader: AsyncDataLoader | None = None

    @classmethod
    def from_prefix(cls, uri: str, *, batch_size: int = 1, drop_last: bool = False, shuffle: bool = False,
                    seed: int = 0, num_workers: int = 0, prefetch: int = 8, auto_tune: bool = False,
                    transform: Callable[[Any], Any] | None = None, writable: bool = False,
                    suppress_nonwritable_warning: bool = True) -> JaxIterable:
        """Build from loader keyword options."""
        return cls(uri, loader_opts=_loader_opts(batch_size, drop_last, shuffle, seed, num_workers, prefetch,
                                                 auto_tune),
                   transform=transform, writable=writable,
                   suppress_nonwritable_warning=suppress_nonwritable_warning)

    def _get_loader(self) -> AsyncDataLoader:
        if self._loader is None:
            if self._dataset is None:
                self._dataset = Dataset(self.uri, self._opts)
            self._loader = AsyncDataLoader(self._dataset, self._opts)
        return self._loader

    def set_epoch(self, epoch: int) -> None:
        """Epoch of the next iteration."""
        self._get_loader().set_epoch(epoch)

    def __iter__(self) -> Iterator[Any]:
        transform, writable = self.transform, self.writable
        for data in self._get_loader():
            arr = _as_array(data, writable)
            yield transform(arr) if transform is not None else arr

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_loader"] = None
        return state


class S3JaxIterable(JaxIterable):
    """Deprecated name of :class:`JaxIterable`."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        warnings.warn("S3JaxIterable is deprecated; use JaxIterable", DeprecationWarning, stacklevel=2)
        super().__init__(*args, **kwargs)


def make_tf_dataset(uri: str, *, batch_size: int = 1, drop_last: bool = False, shuffle: bool = False,
                    seed: int = 0, num_workers: int = 0, prefetch: int = 8, auto_tune: bool = False,
                    map_fn: Callable[[Any], Any] | None = None, writable: bool = False,
                    suppress_nonwritable_warning: bool = True) -> Any:
    """A ``tf.data.Dataset`` of the objects under ``uri``: ``TensorSpec((None,), tf.uint8)``."""
    try:
        import tensorflow as tf
    except ImportError as exc:
        from s3dlio.errors import FeatureNotInstalledError

        raise FeatureNotInstalledError("make_tf_dataset needs TensorFlow: pip install tensorflow") from exc
    it = JaxIterable.from_prefix(uri, batch_size=batch_size, drop_last=drop_last, shuffle=shuffle, seed=seed,
                                 num_workers=num_workers, prefetch=prefetch, auto_tune=auto_tune,
                                 writable=writable)
    ds = tf.data.Dataset.from_generator(lambda: iter(it),
                                        output_signature=tf.TensorSpec(shape=(None,), dtype=tf.uint8))
    if map_fn is not None:
        ds = ds.map(map_fn)
    return ds
