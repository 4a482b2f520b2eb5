"""``s3dlio.dcp``: ``torch.distributed.checkpoint`` storage on every s3dlio backend.

    import torch.distributed.checkpoint as dcp
    from s3dlio.dcp import StorageReader, StorageWriter

    dcp.save(state_dict, storage_writer=StorageWriter("s3://bucket/ckpt/step-100"))
    dcp.load(state_dict, storage_reader=StorageReader("s3://bucket/ckpt/step-100"))

Each rank writes its items into ``thread_count`` files in parallel (a bounded thread
pool, each file one streaming writer); tensors are stored as their raw bytes (no
pickling), optionally zstd-compressed item by item. The CRC-32C of every stored item
is kept in the metadata and checked on load, which fetches each item with one ranged
read. File names carry the save's id, so a save never overwrites a file an earlier
checkpoint in the same place references; ``.metadata`` is written last with one atomic
put, so a crashed save leaves the previous checkpoint loadable (its files orphaned).
"""

from __future__ import annotations

import io
import pickle
import uuid
import warnings
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any

import torch
from torch.distributed.checkpoint.metadata import Metadata, MetadataIndex, StorageMeta
from torch.distributed.checkpoint.planner import (
    LoadItemType,
    LoadPlan,
    LoadPlanner,
    ReadItem,
    SavePlan,
    SavePlanner,
    WriteItem,
    WriteItemType,
)
from torch.distributed.checkpoint.storage import StorageReader as _TorchStorageReader
from torch.distributed.checkpoint.storage import StorageWriter as _TorchStorageWriter
from torch.distributed.checkpoint.storage import WriteResult
from torch.futures import Future

import s3dlio
from s3dlio.errors import IntegrityError
from s3dlio.store.writers import WriterOptions, crc32c, create_writer
from s3dlio_checkpoint.store import _put_durable

__all__ = ["StorageReader", "StorageWriter"]

METADATA = ".metadata"
SUFFIX = ".distcp"


@dataclass(frozen=True)
class _Prefix:
    prefix: str


@dataclass(frozen=True)
class ItemInfo:
    """Where one item is stored (``Metadata.storage_data`` values)."""

    relative_path: str
    offset: int
    length: int
    """Stored bytes (compressed when ``compressed``)."""
    checksum: int
    """CRC-32C of the stored bytes."""
    compressed: bool
    dtype: str | None
    """``None`` for a bytes item; else the tensor's dtype name (``float32``) …"""
    shape: tuple[int, ...]
    """… and the shape of the stored chunk."""


def _uri_of(checkpoint_id: object) -> str:
    uri = str(checkpoint_id)
    if "://" not in uri:
        raise s3dlio.InvalidPathError("s3dlio.dcp needs a URI such as file:///ckpt/step-1 or "
                                      "s3://bucket/ckpt/step-1", op="dcp", uri=uri)
    return uri if uri.endswith("/") else uri + "/"


def _tensor_bytes(tensor: torch.Tensor) -> memoryview:
    t = tensor.detach()
    if t.device.type != "cpu":
        t = t.cpu()
    t = t.contiguous().reshape(-1)
    if not t.numel():
        return memoryview(b"")
    flat = t.view(torch.uint8)
    try:
        return memoryview(flat.numpy())  # type: ignore[arg-type]  # zero-copy; keeps the tensor alive
    except (ImportError, RuntimeError, TypeError):  # torch without numpy
        return memoryview(bytes(flat.untyped_storage())[: flat.numel()])


def _bins(items: Iterable[WriteItem], n: int) -> list[list[WriteItem]]:
    """Spread items over ``n`` files by size (largest first onto the lightest file)."""
    def size(item: WriteItem) -> int:
        if item.tensor_data is None:
            return 0
        numel = 1
        for d in item.tensor_data.size:
            numel *= d
        return numel * torch.tensor([], dtype=item.tensor_data.properties.dtype).element_size()

    bins: list[list[WriteItem]] = [[] for _ in range(n)]
    loads = [0] * n
    for item in sorted(items, key=size, reverse=True):
        i = loads.index(min(loads))
        bins[i].append(item)
        loads[i] += size(item)
    return [b for b in bins if b]


class StorageWriter(_TorchStorageWriter):
    """Save a ``torch.distributed.checkpoint`` under ``uri`` (any s3dlio scheme).

    ``thread_count`` files per rank written in parallel; ``compression_level`` (1–22)
    zstd-compresses every item (``None``: raw).
    """

    def __init__(self, uri: str, *, thread_count: int = 4, compression_level: int | None = None) -> None:
        super().__init__()
        if thread_count < 1:
            raise ValueError(f"thread_count must be >= 1, got {thread_count}")
        if compression_level is not None:
            WriterOptions().with_compression("zstd", compression_level)  # validates 1..22
        self.uri = _uri_of(uri)
        self.thread_count = thread_count
        self.compression_level = compression_level
        self.save_id = uuid.uuid4().hex
        self.rank = 0
        self.is_coordinator = True

    def reset(self, checkpoint_id: Any = None) -> None:
        if checkpoint_id:
            self.uri = _uri_of(checkpoint_id)
        self.save_id = uuid.uuid4().hex

    def set_up_storage_writer(self, is_coordinator: bool, *args: Any, **kwargs: Any) -> None:
        self.is_coordinator = is_coordinator
        self.rank = int(kwargs.get("rank") or 0)

    def prepare_local_plan(self, plan: SavePlan) -> SavePlan:
        return plan

    def prepare_global_plan(self, plans: list[SavePlan]) -> list[SavePlan]:
        # The coordinator's save id in every name: no file of an earlier save is replaced.
        tag = self.save_id[:12]
        return [replace(plan, storage_data=_Prefix(f"__{i}_{tag}_")) for i, plan in enumerate(plans)]

    def write_data(self, plan: SavePlan, planner: SavePlanner) -> Future[list[WriteResult]]:
        prefix = plan.storage_data.prefix if isinstance(plan.storage_data, _Prefix) else f"__{self.rank}_"
        files = [(f"{prefix}{i}{SUFFIX}", items) for i, items in enumerate(_bins(plan.items,
                                                                                  self.thread_count))]
        fut: Future[list[WriteResult]] = Future()
        try:
            with ThreadPoolExecutor(max_workers=max(1, min(self.thread_count, len(files))),
                                    thread_name_prefix="s3dlio-dcp") as pool:
                parts = list(pool.map(lambda f: self._write_file(f[0], f[1], planner), files))
            fut.set_result([wr for part in parts for wr in part])
        except BaseException as exc:
            fut.set_exception(exc)  # type: ignore[arg-type]  # torch's stub types it as T
        return fut

    def _write_file(self, name: str, items: list[WriteItem], planner: SavePlanner) -> list[WriteResult]:
        cctx = None
        if self.compression_level is not None:
            import zstandard

            cctx = zstandard.ZstdCompressor(level=self.compression_level)
        results = []
        offset = 0
        with create_writer(self.uri + name) as w:
            for item in items:
                data = planner.resolve_data(item)
                if item.type == WriteItemType.BYTE_IO:
                    assert isinstance(data, io.BytesIO)
                    raw: Any = data.getbuffer()
                    dtype: str | None = None
                    shape: tuple[int, ...] = ()
                else:
                    assert isinstance(data, torch.Tensor)
                    raw = _tensor_bytes(data)
                    dtype, shape = str(data.dtype).removeprefix("torch."), tuple(data.shape)
                size = len(raw)
                stored = cctx.compress(raw) if cctx is not None else raw
                w.write_chunk(stored)
                results.append(WriteResult(
                    index=item.index, size_in_bytes=size,
                    storage_data=ItemInfo(name, offset, len(stored), crc32c(stored), cctx is not None,
                                          dtype, shape),
                ))
                offset += len(stored)
        return results

    def finish(self, metadata: Metadata, results: list[list[WriteResult]]) -> None:
        metadata.storage_data = {wr.index: wr.storage_data for part in results for wr in part}
        metadata.storage_meta = self.storage_meta()
        # One atomic put, last: until it lands the previous .metadata (if any) stays valid.
        _put_durable(self.uri + METADATA, pickle.dumps(metadata))

    def storage_meta(self) -> StorageMeta | None:
        return StorageMeta(checkpoint_id=self.uri, save_id=self.save_id)

    @property
    def checkpoint_id(self) -> str:
        return self.uri

    @classmethod
    def validate_checkpoint_id(cls, checkpoint_id: Any) -> bool:
        return "://" in str(checkpoint_id)


class StorageReader(_TorchStorageReader):
    """Load a checkpoint saved by :class:`StorageWriter` (any world size: resharding works)."""

    def __init__(self, uri: str, *, thread_count: int = 8) -> None:
        super().__init__()
        self.uri = _uri_of(uri)
        self.thread_count = max(1, thread_count)
        self.storage_data: dict[MetadataIndex, ItemInfo] = {}
        self.load_id = uuid.uuid4().hex

    def reset(self, checkpoint_id: Any = None) -> None:
        self.storage_data = {}
        if checkpoint_id:
            self.uri = _uri_of(checkpoint_id)
        self.load_id = uuid.uuid4().hex

    def read_metadata(self, *args: Any, **kwargs: Any) -> Metadata:
        metadata = pickle.loads(bytes(s3dlio.get(self.uri + METADATA)))
        if not isinstance(metadata, Metadata):
            raise s3dlio.CheckpointError("not a torch.distributed.checkpoint metadata file",
                                         op="dcp_load", uri=self.uri + METADATA)
        if getattr(metadata, "storage_meta", None) is None:
            metadata.storage_meta = StorageMeta()
        assert metadata.storage_meta is not None
        metadata.storage_meta.load_id = self.load_id
        return metadata

    def set_up_storage_reader(self, metadata: Metadata, is_coordinator: bool, *args: Any,
                              **kwargs: Any) -> None:
        self.storage_data = dict(metadata.storage_data)

    def prepare_local_plan(self, plan: LoadPlan) -> LoadPlan:
        return plan

    def prepare_global_plan(self, plans: list[LoadPlan]) -> list[LoadPlan]:
        return plans

    def _fetch(self, info: ItemInfo) -> Any:
        uri = self.uri + info.relative_path
        data = s3dlio.get_range(uri, info.offset, info.length)
        if len(data) != info.length or crc32c(data) != info.checksum:
            raise IntegrityError(
                f"item at {info.relative_path}@{info.offset} ({info.length} bytes) is damaged: "
                f"got {len(data)} bytes with CRC-32C {crc32c(data):08x}, expected {info.checksum:08x}",
                op="dcp_load", uri=uri,
            )
        if info.compressed:
            import zstandard

            return zstandard.ZstdDecompressor().decompressobj().decompress(data)
        return data

    def read_data(self, plan: LoadPlan, planner: LoadPlanner) -> Future[None]:
        fut: Future[None] = Future()
        try:
            by_item: dict[ItemInfo, list[ReadItem]] = {}
            for req in plan.items:
                by_item.setdefault(self.storage_data[req.storage_index], []).append(req)
            with ThreadPoolExecutor(max_workers=self.thread_count, thread_name_prefix="s3dlio-dcp") as pool:
                futures = {pool.submit(self._fetch, info): info for info in by_item}
                for f, info in futures.items():
                    self._apply(info, f.result(), by_item[info], planner)
            fut.set_result(None)
        except BaseException as exc:
            fut.set_exception(exc)  # type: ignore[arg-type]  # torch's stub types it as T
        return fut

    @staticmethod
    def _apply(info: ItemInfo, raw: Any, reqs: list[ReadItem], planner: LoadPlanner) -> None:
        for req in reqs:
            if req.type == LoadItemType.BYTE_IO:
                planner.load_bytes(req, io.BytesIO(bytes(raw)))
                continue
            dtype = getattr(torch, info.dtype or "uint8")
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # a read-only buffer: only read from below
                stored = (torch.frombuffer(raw, dtype=dtype) if len(raw)
                          else torch.empty(0, dtype=dtype)).reshape(info.shape)
            for dim, (start, length) in enumerate(zip(req.storage_offsets, req.lengths, strict=True)):
                stored = stored.narrow(dim, start, length)
            target = planner.resolve_tensor(req).detach()
            if target.size() != stored.size():
                raise s3dlio.CheckpointError(
                    f"item {req.storage_index} has shape {tuple(stored.size())}, the target "
                    f"{tuple(target.size())}", op="dcp_load", uri=info.relative_path,
                )
            target.copy_(stored)
            planner.commit_tensor(req, target)

    @property
    def checkpoint_id(self) -> str:
        return self.uri

    @classmethod
    def validate_checkpoint_id(cls, checkpoint_id: Any) -> bool:
        return "://" in str(checkpoint_id)
