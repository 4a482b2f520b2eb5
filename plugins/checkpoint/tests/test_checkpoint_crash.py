"""A saving process SIGKILLed at random points never hides or damages the previous checkpoint."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time

import pytest

import s3dlio

N = 2 << 20

CHILD = """
import sys, s3dlio
root, level = sys.argv[1], (int(sys.argv[2]) or None)
store = s3dlio.CheckpointStore(root, multipart_threshold=1 << 20, compression_level=level)
print("ready", flush=True)
for step in range(2, 10_000):
    store.save(step, 0, "torch", step.to_bytes(4, "big") * (N_BYTES // 4), user_meta={"step": step})
""".replace("N_BYTES", str(N))


def _payload(step: int) -> bytes:
    return step.to_bytes(4, "big") * (N // 4)


@pytest.mark.parametrize(("level", "seed"), [(0, 1), (0, 2), (1, 3)])
def test_sigkill_during_saves(file_root: str, level: int, seed: int) -> None:
    store = s3dlio.CheckpointStore(file_root, compression_level=level or None)
    store.save(1, 0, "torch", _payload(1))
    child = subprocess.Popen([sys.executable, "-c", CHILD, file_root, str(level)],
                             stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "ready"
        time.sleep(random.Random(seed).uniform(0.05, 0.6))
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL
    latest = store.load_latest()  # verified by size and CRC-32C
    assert latest is not None
    step = int.from_bytes(bytes(latest[:4]), "big")
    assert latest == _payload(step)
    infos = store.list_checkpoints()
    # Killed between a manifest and latest.json: that newer checkpoint is complete and listed,
    # while latest.json still (validly) names the previous one.
    assert infos[0].step == 1 and infos[-1].step in (step, step + 1)
    assert all(r["ok"] for r in store.verify())
    store.gc(older_than=0)
    store.abort_incomplete(older_than=0)
    assert store.orphan_shards() == []
    assert not [n for _d, _s, names in os.walk(file_root[len("file://"):]) for n in names
                if ".s3dlio-tmp-" in n]  # the killed write's temp file is gone too
    assert store.load_latest() == _payload(step)
    assert [i.step for i in store.list_checkpoints()] == [i.step for i in infos]


STREAM_CHILD = """
import sys, s3dlio
root = sys.argv[1]
store = s3dlio.CheckpointStore(root)
print("ready", flush=True)
for step in range(2, 10_000):
    metas = []
    for rank in range(3):
        with store.writer(3, rank).get_distributed_shard_stream(step, 0, "torch") as s:
            for _ in range(8):
                s.write_chunk(step.to_bytes(4, "big") * (1 << 16))
            metas.append(s.finalize())
    store.writer(3, 0).finalize_distributed_checkpoint(step, 0, "torch", metas)
"""


def test_sigkill_during_distributed_stream_saves(file_root: str) -> None:
    store = s3dlio.CheckpointStore(file_root)
    child = subprocess.Popen([sys.executable, "-c", STREAM_CHILD, file_root], stdout=subprocess.PIPE,
                             text=True)
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "ready"
        deadline = time.monotonic() + 30
        while not store.list_checkpoints() and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(random.Random(7).uniform(0.05, 0.3))
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=30)
    manifest = store.reader().load_latest_manifest()
    assert manifest is not None and manifest["world_size"] == 3
    step = manifest["global_step"]
    for rank in range(3):
        assert store.reader().read_shard_by_rank(manifest, rank) == step.to_bytes(4, "big") * (1 << 19)
    assert all(r["ok"] for r in store.verify())
    store.gc(older_than=0)
    store.abort_incomplete(older_than=0)
    assert store.orphan_shards() == []


DCP_CHILD = """
import sys, torch, warnings
import torch.distributed.checkpoint as dcp
from s3dlio.dcp import StorageWriter
warnings.simplefilter("ignore")
uri = sys.argv[1]
print("ready", flush=True)
for i in range(1, 10_000):
    state = {"a": torch.full((256, 1024), float(i)), "b": torch.full((300,), i, dtype=torch.int64)}
    dcp.save(state, storage_writer=StorageWriter(uri, thread_count=2), no_dist=True)
    print(i, flush=True)
"""


def test_sigkill_during_dcp_saves(tmp_path: object) -> None:
    torch = pytest.importorskip("torch")
    dcp = pytest.importorskip("torch.distributed.checkpoint")
    from s3dlio.dcp import StorageReader

    uri = f"file://{tmp_path}/dcp"
    child = subprocess.Popen([sys.executable, "-c", DCP_CHILD, uri], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "ready"
        assert child.stdout.readline().strip() == "1"  # one save committed
        time.sleep(random.Random(11).uniform(0.0, 0.3))
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=30)
    out = {"a": torch.zeros(256, 1024), "b": torch.zeros(300, dtype=torch.int64)}
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        dcp.load(out, storage_reader=StorageReader(uri), no_dist=True)
    i = int(out["b"][0])
    assert i >= 1 and torch.equal(out["a"], torch.full((256, 1024), float(i)))
    assert torch.equal(out["b"], torch.full((300,), i, dtype=torch.int64))
