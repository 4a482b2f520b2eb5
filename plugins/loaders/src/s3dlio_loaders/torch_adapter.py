"""PyTorch adapter: ``ObjectStoreIterableDataset`` and ``ObjectStoreMapDataset`` (docs/loaders/pytorch.md).

Items are 1-D ``uint8`` tensors made with ``torch.frombuffer`` over the loader's
``BytesView`` (zero-copy), ``bytes`` or a seekable reader. The iterable dataset is
sharded by rank (with ``enable_sharding``) and then by DataLoader worker, so every
object is read exactly once per epoch across ``world_size × num_workers`` readers.
Both datasets pickle as settings only (spawn/forkserver workers rebuild their loader).
"""

from __future__ import annotations

import io
import os
import warnings
from collections.abc import Iterator
from typing import Any

from s3dlio.bytesview import BytesView
from s3dlio_loaders.dataset import Dataset, read_object
from s3dlio_loaders.loader import AsyncDataLoader
from s3dlio_loaders.options import normalize

try:
    import torch
    from torch.utils.data import Dataset as _TorchDataset
    from torch.utils.data import IterableDataset as _TorchIterable
except ImportError as exc:  # pragma: no cover - exercised only without torch
    from s3dlio.errors import FeatureNotInstalledError

    raise FeatureNotInstalledError(
        "the torch adapter needs torch: pip install 's3dlio-loaders[torch]'") from exc

__all__ = [
    "ObjectReader",
    "ObjectStoreIterableDataset",
    "ObjectStoreMapDataset",
    "S3IterableDataset",
    "S3MapDataset",
    "detect_rank",
]

_RETURN_TYPES = ("tensor", "bytes", "reader")
_ENV_PAIRS = (
    ("RANK", "WORLD_SIZE"),
    ("OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE"),
    ("PMI_RANK", "PMI_SIZE"),
    ("SLURM_PROCID", "SLURM_NTASKS"),
)


def detect_rank(rank: int | None = None, world_size: int | None = None) -> tuple[int, int]:
    """``(rank, world_size)``: explicit > ``torch.distributed`` > ``RANK/WORLD_SIZE`` >
    ``OMPI_COMM_WORLD_*`` > ``PMI_*`` > ``SLURM_*`` > ``(0, 1)``."""
    if rank is not None and world_size is not None:
        return rank, world_size
    try:
        import torch.distributed as dist

        if dist.is_available() and dist.is_initialized():
            return dist.get_rank(), dist.get_world_size()
    except Exception:  # a broken distributed setup falls back to the environment
        pass
    env = os.environ
    for r, w in _ENV_PAIRS:
        if r in env and w in env:
            try:
                return int(env[r]), int(env[w])
            except ValueError:
                continue
    return 0, 1


class ObjectReader(io.RawIOBase):
    """A seekable, read-only file over one object's bytes (``return_type="reader"``)."""

    def __init__(self, uri: str, data: BytesView) -> None:
        super().__init__()
        self.uri = uri
        rest = uri.split("://", 1)[-1]
        self.bucket, _, self.key = rest.partition("/")
        self._mv = memoryview(data).cast("B")
        self._pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def readinto(self, buf: Any) -> int:
        out = memoryview(buf).cast("B")
        n = min(len(out), len(self._mv) - self._pos)
        if n <= 0:
            return 0
        out[:n] = self._mv[self._pos : self._pos + n]
        self._pos += n
        return n

    def read(self, size: int | None = -1) -> bytes:
        end = len(self._mv) if size is None or size < 0 else min(len(self._mv), self._pos + size)
        out = bytes(self._mv[self._pos : end])
        self._pos = max(self._pos, end)
        return out

    def readall(self) -> bytes:
        return self.read(-1)

    def read_bytes(self) -> bytes:
        """The whole object."""
        return bytes(self._mv)

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: len(self._mv)}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def tell(self) -> int:
        return self._pos


def _convert(uri: str, data: BytesView, return_type: str, writable: bool, quiet: bool) -> Any:
    if return_type == "bytes":
        return bytes(data)
    if return_type == "reader":
        return ObjectReader(uri, data)
    if len(data) == 0:
        return torch.empty(0, dtype=torch.uint8)
    buf: Any = data
    readonly = memoryview(data).readonly
    if writable and readonly:
        buf = bytearray(data)  # a private writable copy
        readonly = False
    if quiet and readonly:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*not writable.*")
            return torch.frombuffer(buf, dtype=torch.uint8)
    return torch.frombuffer(buf, dtype=torch.uint8)


def _check_return_type(return_type: str) -> str:
    if return_type not in _RETURN_TYPES:
        raise ValueError(f"return_type must be one of {_RETURN_TYPES}, got {return_type!r}")
    return return_type


class ObjectStoreIterableDataset(_TorchIterable[Any]):
    """Every object under ``uri`` once per epoch, sharded by rank then DataLoader worker.

    Each ``__iter__`` is one epoch; call :meth:`set_epoch` (as with a
    ``DistributedSampler``) to reshuffle deterministically across ranks and workers.
    """

    def __init__(self, uri: str, *, loader_opts: Any = None, writable: bool = False,
                 suppress_nonwritable_warning: bool = True, enable_sharding: bool = False,
                 return_type: str = "tensor") -> None:
        super().__init__()
        self.uri = uri
        self._opts = normalize(loader_opts, batch_size=1)
        self.writable = bool(writable)
        self.suppress_nonwritable_warning = bool(suppress_nonwritable_warning)
        self.enable_sharding = bool(enable_sharding)
        self.return_type = _check_return_type(return_type)
        self._epoch: int | None = None
        given = loader_opts.to_dict() if hasattr(loader_opts, "to_dict") else dict(loader_opts or {})
        self._explicit_rank = "shard_world_size" in given and self._opts["shard_world_size"] > 1
        self._dataset: Dataset | None = None

    @classmethod
    def from_prefix(cls, uri: str, *, batch_size: int = 1, drop_last: bool = False, shuffle: bool = False,
                    seed: int = 0, num_workers: int = 0, prefetch: int = 8, auto_tune: bool = False,
                    reader_mode: str = "sequential", part_size: int = 8 << 20, max_inflight_parts: int = 4,
                    enable_sharding: bool = False, writable: bool = False,
                    suppress_nonwritable_warning: bool = True,
                    return_type: str = "tensor") -> ObjectStoreIterableDataset:
        """Build from loader keyword options."""
        opts = {"batch_size": batch_size, "drop_last": drop_last, "shuffle": shuffle, "seed": seed,
                "num_workers": num_workers, "prefetch": prefetch, "auto_tune": auto_tune,
                "reader_mode": reader_mode, "part_size": part_size, "max_inflight_parts": max_inflight_parts}
        return cls(uri, loader_opts=opts, writable=writable,
                   suppress_nonwritable_warning=suppress_nonwritable_warning,
                   enable_sharding=enable_sharding, return_type=return_type)

    def set_epoch(self, epoch: int) -> None:
        """Epoch of the next ``__iter__`` (every rank and worker must use the same one)."""
        self._epoch = int(epoch)

    def _shard_opts(self) -> dict[str, Any]:
        opts = dict(self._opts)
        if self._explicit_rank:
            rank, world = opts["shard_rank"], opts["shard_world_size"]
        elif self.enable_sharding:
            rank, world = detect_rank()
        else:
            rank, world = 0, 1
        info = torch.utils.data.get_worker_info()
        wid, nw = (info.id, info.num_workers) if info is not None else (0, 1)
        opts.update(shard_rank=rank, shard_world_size=world, worker_id=wid, num_workers_pytorch=nw)
        if self._epoch is not None:
            opts["epoch"] = self._epoch
        return opts

    def _get_dataset(self) -> Dataset:
        if self._dataset is None:
            self._dataset = Dataset(self.uri, self._opts)
        return self._dataset

    def __iter__(self) -> Iterator[Any]:
        opts = self._shard_opts()
        loader = AsyncDataLoader(self._get_dataset(), opts)
        rt, wr, quiet = self.return_type, self.writable, self.suppress_nonwritable_warning
        with loader:
            for item in loader.items():
                yield _convert(item.uri, item.data, rt, wr, quiet)
        if self._epoch is not None:
            self._epoch += 1


class ObjectStoreMapDataset(_TorchDataset[Any]):
    """Random access to the objects under ``uri`` (listed once, sorted): ``len`` and ``ds[i]``."""

    def __init__(self, uri: str, *, reader_mode: str = "sequential", part_size: int = 8 << 20,
                 max_inflight_parts: int = 4, writable: bool = False,
                 suppress_nonwritable_warning: bool = True, return_type: str = "tensor") -> None:
        self.uri = uri
        self._opts = normalize({"reader_mode": reader_mode, "part_size": part_size,
                                "max_inflight_parts": max_inflight_parts})
        self.writable = bool(writable)
        self.suppress_nonwritable_warning = bool(suppress_nonwritable_warning)
        self.return_type = _check_return_type(return_type)
        self._dataset = Dataset(uri, self._opts)

    @classmethod
    def from_prefix(cls, uri: str, **kwargs: Any) -> ObjectStoreMapDataset:
        """Same as the constructor (the original's spelling)."""
        return cls(uri, **kwargs)

    def __len__(self) -> int:
        return len(self._dataset)

    def keys(self) -> list[str]:
        """Keys relative to the root."""
        return self._dataset.keys()

    def __getitem__(self, index: int) -> Any:
        uri = self._dataset.uri(index)
        data = read_object(uri, self._opts)
        return _convert(uri, data, self.return_type, self.writable, self.suppress_nonwritable_warning)


class S3IterableDataset(ObjectStoreIterableDataset):
    """Deprecated name of :class:`ObjectStoreIterableDataset`."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        warnings.warn("S3IterableDataset is deprecated; use ObjectStoreIterableDataset",
                      DeprecationWarning, stacklevel=2)
        super().__init__(*args, **kwargs)


class S3MapDataset(ObjectStoreMapDataset):
    """Deprecated name of :class:`ObjectStoreMapDataset`."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        warnings.warn("S3MapDataset is deprecated; use ObjectStoreMapDataset",
                      DeprecationWarning, stacklevel=2)
        super().__init__(*args, **kwargs)
