"""CheckpointStore and the checkpoint functions on file://, memory:// and s3:// (moto)."""

from __future__ import annotations

import json
import os

import pytest

import s3dlio
from s3dlio.errors import CheckpointError, IntegrityError
from s3dlio.store.writers import crc32c, format_checksum

MiB = 1 << 20


def _data(step: int, n: int = 64 * 1024) -> bytes:
    return (step.to_bytes(4, "big") * (n // 8)) + os.urandom(n - 4 * (n // 8))


def _json(uri: str) -> dict:  # type: ignore[type-arg]
    return json.loads(bytes(s3dlio.get(uri)))


@pytest.mark.parametrize("level", [None, 3])
def test_save_load_list_round_trip(root: str, level: int | None) -> None:
    store = s3dlio.CheckpointStore(root, compression_level=level)
    assert store.load_latest() is None and store.list_checkpoints() == []
    d1, d2 = _data(1), _data(2)
    k1 = store.save(1, 0, "torch", d1, user_meta={"lr": 0.1})
    k2 = store.save(2, 1, "torch", bytearray(d2))
    assert k1.startswith("manifests/ckpt-1-") and k1.endswith(".json")
    assert store.load_latest() == d2
    manifest = _json(root + k1)
    assert manifest["format_version"] == 1 and manifest["global_step"] == 1
    assert manifest["world_size"] == 1 and manifest["status"] == "complete"
    assert manifest["user_meta"] == {"lr": 0.1} and manifest["wall_time"].endswith("Z")
    shard = manifest["shards"][0]
    assert shard["key"].endswith("rank-0.bin.zst" if level else "rank-0.bin")
    stored = bytes(s3dlio.get(root + shard["key"]))
    assert shard["size"] == len(stored) and shard["checksum"] == format_checksum(crc32c(stored))
    assert _json(root + "latest.json")["manifest_key"] == k2
    infos = store.list_checkpoints()
    assert [(i.step, i.epoch, i.world_size, i.is_single_rank, i.is_complete) for i in infos] == [
        (1, 0, 1, True, True), (2, 1, 1, True, True)]
    assert infos[0].user_meta == {"lr": 0.1} and infos[0].manifest_key == k1
    assert infos[0].total_size == shard["size"] and infos[0].size_mb == shard["size"] / MiB
    assert s3dlio.load_checkpoint(root) == d2
    assert s3dlio.load_checkpoint_with_validation(root) == d2
    assert store.delete_checkpoint(2) is True and store.delete_checkpoint(2) is False
    assert _json(root + "latest.json")["manifest_key"] == k1  # repointed
    assert store.load_latest() == d1
    assert s3dlio.PyCheckpointStore is s3dlio.CheckpointStore
    assert s3dlio.PyCheckpointInfo is s3dlio.CheckpointInfo


@pytest.mark.parametrize(("strategy", "prefix"), [
    ("flat", "shards/ckpt-"), ("round_robin", "shards/rr/01/ckpt-"), ("roundrobin", "shards/rr/01/ckpt-"),
    ("binary", "shards/bin/0001/ckpt-"),
])
def test_strategies_distributed_and_stream(root: str, strategy: str, prefix: str) -> None:
    store = s3dlio.CheckpointStore(root, strategy=strategy)
    world = 18
    metas = []
    for rank in range(world):
        w = store.writer(world, rank)
        if rank % 2:
            metas.append(w.save_distributed_shard(5, 1, "jax", _data(rank, 4096)))
        else:
            with w.get_distributed_shard_stream(5, 1, "jax") as stream:
                data = _data(rank, 4096)
                stream.write_chunk(data[:1000])
                stream.write_chunk(data[1000:])
                assert stream.bytes_written() == 4096
                metas.append(stream.finalize())
    assert metas[17]["key"].startswith(prefix) and metas[17]["key"].endswith("rank-17.bin")
    for rank in range(1, world):
        assert store.writer(world, rank).finalize_distributed_checkpoint(5, 1, "jax", metas) == ""
    assert store.list_checkpoints() == []  # only rank 0 commits
    key = store.writer(world, 0).finalize_distributed_checkpoint(5, 1, "jax", metas, user_meta=[1])
    reader = store.reader()
    manifest = reader.load_latest_manifest()
    assert manifest is not None and manifest["manifest_key"] == key
    assert reader.load_manifest(5) == manifest and reader.load_manifest(6) is None
    for rank in (0, 7, 17):
        got = reader.read_shard_by_rank(manifest, rank)
        assert len(got) == 4096 and bytes(got)[:4] == rank.to_bytes(4, "big")
    with pytest.raises(CheckpointError, match="18 ranks"):
        store.load_latest()
    assert [i.world_size for i in store.list_checkpoints()] == [18]


def test_module_functions_distributed(file_root: str) -> None:
    metas = [s3dlio.save_distributed_shard(file_root, 3, 0, "torch", _data(r), 2, r) for r in range(2)]
    assert {"step", "timestamp", "rank", "key", "size", "etag", "checksum"} <= set(metas[0])
    key = s3dlio.finalize_distributed_checkpoint(file_root, 3, 0, "torch", metas[::-1], 2, 0)
    manifest = _json(file_root + key)
    assert [s["rank"] for s in manifest["shards"]] == [0, 1]


def test_multipart_threshold_streams_large_shards(root: str) -> None:
    store = s3dlio.CheckpointStore(root, multipart_threshold=MiB)
    data = os.urandom(3 * MiB + 5)
    store.save(1, 0, "torch", memoryview(data))
    assert store.load_latest() == data


def test_stream_cancel_leaves_nothing(file_root: str) -> None:
    store = s3dlio.CheckpointStore(file_root, compression_level=1)
    stream = store.writer(1, 0).get_distributed_shard_stream(1, 0, "torch")
    stream.write_chunk(b"x" * 100_000)
    stream.cancel()
    with pytest.raises(RuntimeError), store.writer(1, 0).get_distributed_shard_stream(2, 0, "t") as s2:
        s2.write_chunk(b"y" * 10)
        raise RuntimeError("fail inside")
    assert s3dlio.list(file_root) == []
    s3 = store.writer(1, 0).get_distributed_shard_stream(3, 0, "t")
    s3.write_chunk(b"z")
    s3.finalize()
    with pytest.raises(ValueError):
        s3.write_chunk(b"after")
    with pytest.raises(ValueError):
        s3.finalize()


def test_bad_input(file_root: str) -> None:
    with pytest.raises(ValueError, match="flat, round_robin, roundrobin, binary"):
        s3dlio.CheckpointStore(file_root, strategy="spiral")
    for level in (0, 23):
        with pytest.raises(ValueError, match=r"1\.\.22"):
            s3dlio.CheckpointStore(file_root, compression_level=level)
    store = s3dlio.CheckpointStore(file_root)
    with pytest.raises(ValueError, match="world_size"):
        store.writer(0, 0)
    with pytest.raises(ValueError, match="rank 2 is outside"):
        store.writer(2, 2)
    with pytest.raises(ValueError, match="rank"):
        store.writer(2, -1)
    m0 = store.writer(2, 0).save_distributed_shard(1, 0, "t", b"a" * 10)
    m1 = store.writer(2, 1).save_distributed_shard(1, 0, "t", b"b" * 10)
    w0 = store.writer(2, 0)
    with pytest.raises(ValueError, match=r"duplicate ranks \[0\]"):
        w0.finalize_distributed_checkpoint(1, 0, "t", [m0, m0])
    with pytest.raises(ValueError, match=r"missing \[1\]"):
        w0.finalize_distributed_checkpoint(1, 0, "t", [m0])
    s3dlio.delete(file_root + m1["key"])
    with pytest.raises(CheckpointError, match="rank 1 is missing"):
        w0.finalize_distributed_checkpoint(1, 0, "t", [m0, m1])
    assert store.list_checkpoints() == []
    with pytest.raises(TypeError):
        store.save(1, 0, "t", "not bytes")


@pytest.mark.parametrize("damage", ["truncate", "alter"])
def test_damaged_shard_is_an_integrity_error_naming_it(root: str, damage: str) -> None:
    store = s3dlio.CheckpointStore(root)
    key = store.save(1, 0, "torch", _data(1))
    shard_key = _json(root + key)["shards"][0]["key"]
    blob = bytearray(s3dlio.get(root + shard_key))
    if damage == "truncate":
        del blob[-10:]
    else:
        blob[100] ^= 0xFF
    s3dlio.put_bytes(root + shard_key, bytes(blob))
    with pytest.raises(IntegrityError, match=r"rank 0 \(.*rank-0\.bin\)"):
        store.load_latest()
    with pytest.raises(IntegrityError):
        s3dlio.load_checkpoint_with_validation(root)
    assert len(s3dlio.load_checkpoint_with_validation_view(root, validate_integrity=False)) == len(blob)
    assert store.verify()[0]["ok"] is False


def test_incomplete_saves_are_ignored_and_latest_falls_back(file_root: str) -> None:
    store = s3dlio.CheckpointStore(file_root)
    store.save(1, 0, "torch", b"one")
    # A save killed after its shards: no manifest. One with a bad manifest.
    s3dlio.put_bytes(file_root + "shards/ckpt-2-20260101-000000/rank-0.bin", b"orphan")
    s3dlio.put_bytes(file_root + "manifests/ckpt-3-20260101-000000.json",
                     json.dumps({"world_size": 2, "status": "complete", "global_step": 3,
                                 "shards": [{"rank": 0, "key": "x", "size": 1}]}).encode())
    s3dlio.put_bytes(file_root + "latest.json", b'{"manifest_key": "manifests/gone.json"}')  # dangling
    assert [i.step for i in store.list_checkpoints()] == [1]
    assert store.load_latest() == b"one"
    assert store.orphan_shards() == ["shards/ckpt-2-20260101-000000/rank-0.bin"]
    assert store.gc(older_than=3600) == []  # just written: maybe a save in progress
    assert store.gc(older_than=0, dry_run=True) == store.orphan_shards()
    assert store.gc(older_than=0) == ["shards/ckpt-2-20260101-000000/rank-0.bin"]
    assert store.orphan_shards() == [] and store.load_latest() == b"one"


def test_original_layout_loads(file_root: str) -> None:
    """A checkpoint as the original wrote it: ``checksum: null``, no ``user_meta``."""
    payload = b"original-bytes" * 100
    s3dlio.put_bytes(file_root + "shards/ckpt-7-20250102-030405/rank-0.bin", payload)
    manifest = {"format_version": 1, "framework": "torch", "global_step": 7, "epoch": 2,
                "wall_time": "2025-01-02T03:04:05Z", "world_size": 1, "status": "complete",
                "shards": [{"rank": 0, "key": "shards/ckpt-7-20250102-030405/rank-0.bin",
                            "size": len(payload), "etag": None, "checksum": None}]}
    s3dlio.put_bytes(file_root + "manifests/ckpt-7-20250102-030405.json", json.dumps(manifest).encode())
    s3dlio.put_bytes(file_root + "latest.json", json.dumps(
        {"manifest_key": "manifests/ckpt-7-20250102-030405.json", "global_step": 7,
         "ts": "20250102-030405"}).encode())
    assert s3dlio.load_checkpoint(file_root) == payload
    (info,) = s3dlio.CheckpointStore(file_root).list_checkpoints()
    assert (info.step, info.epoch, info.timestamp, info.user_meta) == (7, 2, "20250102-030405", None)


def test_cli_ls_verify_gc(file_root: str, capsys: pytest.CaptureFixture[str]) -> None:
    from s3dlio.cli.main import main

    store = s3dlio.CheckpointStore(file_root)
    key = store.save(4, 1, "torch", b"abc" * 1000)
    s3dlio.put_bytes(file_root + "shards/ckpt-9-20260101-000000/rank-0.bin", b"orphan")
    assert main(["checkpoint", "ls", file_root]) == 0
    out = capsys.readouterr().out
    assert key in out and "torch" in out
    assert main(["--json", "checkpoint", "ls", file_root]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert rows[0]["step"] == 4 and rows[-1]["type"] == "summary"
    assert main(["checkpoint", "verify", file_root]) == 0
    assert main(["checkpoint", "gc", "--older-than", "0", file_root]) == 0
    assert "shards/ckpt-9" in capsys.readouterr().out
    assert store.orphan_shards() == []
    s3dlio.put_bytes(file_root + _json(file_root + key)["shards"][0]["key"], b"tampered")
    assert main(["checkpoint", "verify", file_root]) == 1
    assert "BAD step 4" in capsys.readouterr().out


def test_every_request_is_in_the_oplog(file_root: str, tmp_path: object) -> None:
    from s3dlio_oplog import read_oplog

    log = f"{tmp_path}/ops.tsv.zst"
    s3dlio.init_op_log(log)
    try:
        store = s3dlio.CheckpointStore(file_root, compression_level=1)
        key = store.save(1, 0, "torch", b"q" * 50_000)
        assert store.load_latest() == b"q" * 50_000
    finally:
        s3dlio.finalize_op_log()
    rows = [(r.op, r.file) for r in read_oplog(log)]
    shard = _json(file_root + key)["shards"][0]["key"]
    puts = {f for op, f in rows if op == "PUT"}
    gets = {f for op, f in rows if op == "GET"}
    assert any(f.endswith(shard) for f in puts) and any(f.endswith(key) for f in puts)
    assert any(f.endswith("latest.json") for f in puts)
    assert any(f.endswith(shard) for f in gets) and any(f.endswith("latest.json") for f in gets)
