"""``s3dlio.dcp`` with torch.distributed.checkpoint: two gloo ranks save, one or two load."""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import Any

import pytest

torch = pytest.importorskip("torch")
dist = pytest.importorskip("torch.distributed")
dcp = pytest.importorskip("torch.distributed.checkpoint")

# dcp.save/load without a process group say so on every call.
pytestmark = pytest.mark.filterwarnings("ignore:torch.distributed is disabled:UserWarning")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _state(rank: int, world: int) -> dict[str, Any]:
    # A 2-D tensor sharded by rows across ranks (saved as a DTensor-free chunked
    # tensor through per-rank keys), a replicated tensor, bytes and a bfloat16 tensor.
    return {
        f"rank{rank}.w": torch.arange(rank * 1000, rank * 1000 + 6000, dtype=torch.float32).reshape(60, 100),
        "shared.b": torch.linspace(0, 1, 257, dtype=torch.float64),
        "shared.h": torch.ones(33, dtype=torch.bfloat16) * 3,
        "meta": {"step": 7, "note": "hello"},
    }


def _save_worker(rank: int, world: int, port: int, uri: str, level: int | None) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=world)
    try:
        from s3dlio.dcp import StorageWriter

        dcp.save(_state(rank, world), storage_writer=StorageWriter(uri, thread_count=2,
                                                                   compression_level=level))
    finally:
        dist.destroy_process_group()


@pytest.mark.timeout(120)
@pytest.mark.parametrize(("backend", "level"), [("file", None), ("file", 3), ("s3", None)])
def test_two_ranks_save_one_loads(tmp_path: Path, backend: str, level: int | None,
                                  request: pytest.FixtureRequest) -> None:
    import torch.multiprocessing as mp

    import s3dlio
    from s3dlio.dcp import StorageReader

    if backend == "s3":
        request.getfixturevalue("moto")  # the children inherit the endpoint environment
        bucket = f"s3://dcp-{os.urandom(6).hex()}/"
        s3dlio.create_bucket(bucket)
        uri = bucket + "ckpt/step-7"
    else:
        uri = f"file://{tmp_path}/dcp/step-7"
    mp.spawn(_save_worker, args=(2, _free_port(), uri, level), nprocs=2, join=True)
    names = sorted(u.rsplit("/", 1)[-1] for u in s3dlio.list(uri + "/"))
    assert ".metadata" in names and sum(n.endswith(".distcp") for n in names) >= 2
    # Reshard: one process, no process group, loads what two ranks saved.
    target = {
        "rank0.w": torch.zeros(60, 100), "rank1.w": torch.zeros(60, 100),
        "shared.b": torch.zeros(257, dtype=torch.float64), "shared.h": torch.zeros(33, dtype=torch.bfloat16),
        "meta": {"step": 0, "note": ""},
    }
    dcp.load(target, storage_reader=StorageReader(uri), no_dist=True)
    for rank in (0, 1):
        assert torch.equal(target[f"rank{rank}.w"], _state(rank, 2)[f"rank{rank}.w"])
    assert torch.equal(target["shared.b"], _state(0, 2)["shared.b"])
    assert torch.equal(target["shared.h"], _state(0, 2)["shared.h"])
    assert target["meta"] == {"step": 7, "note": "hello"}


def test_damaged_item_fails_the_load_and_a_second_save_keeps_the_first(tmp_path: Path) -> None:
    import s3dlio
    from s3dlio.dcp import StorageReader, StorageWriter

    uri = f"file://{tmp_path}/one"
    state = {"a": torch.arange(1000, dtype=torch.int64), "b": torch.ones(10, 10)}
    dcp.save(state, storage_writer=StorageWriter(uri), no_dist=True)
    first = set(s3dlio.list(uri + "/"))
    dcp.save({"a": state["a"] * 2, "b": state["b"]}, storage_writer=StorageWriter(uri), no_dist=True)
    files = set(s3dlio.list(uri + "/"))
    assert first - {uri + "/.metadata"} <= files  # the first save's files are never replaced
    out = {"a": torch.zeros(1000, dtype=torch.int64), "b": torch.zeros(10, 10)}
    dcp.load(out, storage_reader=StorageReader(uri), no_dist=True)
    assert torch.equal(out["a"], state["a"] * 2)
    for f in sorted(files - first):
        if f.endswith(".distcp"):
            blob = bytearray(s3dlio.get(f))
            blob[len(blob) // 2] ^= 0x55
            s3dlio.put_bytes(f, bytes(blob))
    # torch wraps the rank's failure in a CheckpointException: {rank: the exception}.
    with pytest.raises(dcp.api.CheckpointException) as info:
        dcp.load(out, storage_reader=StorageReader(uri), no_dist=True)
    from s3dlio.errors import IntegrityError

    (exc, _trace), = info.value.failures.values()
    assert isinstance(exc, IntegrityError) and "is damaged" in str(exc)
