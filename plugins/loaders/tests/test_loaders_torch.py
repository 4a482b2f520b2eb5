"""PyTorch adapter: DataLoader workers under fork and spawn, sharding, return types, zero-copy."""

from __future__ import annotations

import collections
import multiprocessing
import pickle
from pathlib import Path
from typing import Any

import pytest
from loaders_testutil import digest, make_objects

torch = pytest.importorskip("torch")

import s3dlio  # noqa: E402
from s3dlio_loaders.torch_adapter import (  # noqa: E402
    ObjectStoreIterableDataset,
    ObjectStoreMapDataset,
    detect_rank,
)

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def tdata(tmp_path: Path) -> tuple[str, dict[str, bytes]]:
    root = tmp_path / "tds"
    return f"file://{root}/", make_objects(root, 23)


@pytest.mark.parametrize("method", ["fork", "spawn", "forkserver"])
def test_dataloader_two_workers(tdata: tuple[str, dict[str, bytes]], method: str) -> None:
    if method not in multiprocessing.get_all_start_methods():
        pytest.skip(f"start method {method} unavailable")
    root, data = tdata
    ds = ObjectStoreIterableDataset(root, loader_opts={"shuffle": True, "seed": 1})
    dl = torch.utils.data.DataLoader(ds, batch_size=None, num_workers=2,
                                     multiprocessing_context=method, timeout=60)
    got = [digest(t.numpy()) for t in dl]
    assert collections.Counter(got) == collections.Counter(digest(d) for d in data.values())


def test_persistent_workers_two_epochs(tdata: tuple[str, dict[str, bytes]]) -> None:
    root, data = tdata
    ds = ObjectStoreIterableDataset(root)
    dl = torch.utils.data.DataLoader(ds, batch_size=None, num_workers=2, persistent_workers=True,
                                     multiprocessing_context="fork", timeout=60)
    want = collections.Counter(digest(d) for d in data.values())
    for _ in range(2):
        assert collections.Counter(digest(t.numpy()) for t in dl) == want


def test_two_ranks_two_workers_exactly_once(tdata: tuple[str, dict[str, bytes]]) -> None:
    root, data = tdata
    seen: list[str] = []
    for rank in range(2):
        ds = ObjectStoreIterableDataset(root, loader_opts={"shard_rank": rank, "shard_world_size": 2},
                                        return_type="bytes")
        dl = torch.utils.data.DataLoader(ds, batch_size=None, num_workers=2,
                                         multiprocessing_context="fork", timeout=60)
        seen += [digest(b) for b in dl]
    assert sorted(seen) == sorted(digest(d) for d in data.values())


def test_enable_sharding_uses_env_rank(tdata: tuple[str, dict[str, bytes]],
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    root, data = tdata
    seen: list[str] = []
    for rank in range(2):
        monkeypatch.setenv("RANK", str(rank))
        monkeypatch.setenv("WORLD_SIZE", "2")
        ds = ObjectStoreIterableDataset(root, enable_sharding=True, return_type="bytes")
        seen += [digest(b) for b in ds]
    assert sorted(seen) == sorted(digest(d) for d in data.values())


def test_rank_detection_order(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("RANK", "WORLD_SIZE", "OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE", "PMI_RANK", "PMI_SIZE",
                "SLURM_PROCID", "SLURM_NTASKS"):
        monkeypatch.delenv(var, raising=False)
    assert detect_rank() == (0, 1)
    monkeypatch.setenv("SLURM_PROCID", "5")
    monkeypatch.setenv("SLURM_NTASKS", "8")
    assert detect_rank() == (5, 8)
    monkeypatch.setenv("PMI_RANK", "4")
    monkeypatch.setenv("PMI_SIZE", "8")
    assert detect_rank() == (4, 8)
    monkeypatch.setenv("OMPI_COMM_WORLD_RANK", "3")
    monkeypatch.setenv("OMPI_COMM_WORLD_SIZE", "8")
    assert detect_rank() == (3, 8)
    monkeypatch.setenv("RANK", "2")
    monkeypatch.setenv("WORLD_SIZE", "8")
    assert detect_rank() == (2, 8)
    assert detect_rank(1, 8) == (1, 8)


def test_return_types_and_zero_copy(tdata: tuple[str, dict[str, bytes]]) -> None:
    root, data = tdata
    np = pytest.importorskip("numpy")
    m = ObjectStoreMapDataset(root)
    key = sorted(data)[0]
    t = m[0]
    assert t.dtype == torch.uint8 and t.dim() == 1 and bytes(t.numpy()) == data[key]
    assert bytes(m[-1].numpy()) == data[sorted(data)[-1]]
    assert len(m) == 23 and m.keys() == sorted(data)
    # Zero-copy: the tensor aliases the BytesView's memory.
    from s3dlio_loaders.torch_adapter import _convert

    bv = s3dlio.get(root + key)
    t2 = _convert(root + key, bv, "tensor", False, True)
    assert t2.data_ptr() == np.frombuffer(bv, dtype=np.uint8).ctypes.data
    assert ObjectStoreMapDataset(root, return_type="bytes")[0] == data[key]
    r = ObjectStoreMapDataset(root, return_type="reader")[0]
    assert r.read(4) == data[key][:4] and r.tell() == 4
    r.seek(0)
    assert r.read() == data[key] and r.key.endswith(key)
    with pytest.raises(ValueError):
        ObjectStoreMapDataset(root, return_type="numpy")


def test_map_dataset_in_dataloader_spawn(tdata: tuple[str, dict[str, bytes]]) -> None:
    root, data = tdata
    m = ObjectStoreMapDataset.from_prefix(root, return_type="bytes")
    dl = torch.utils.data.DataLoader(m, batch_size=None, num_workers=2, multiprocessing_context="spawn",
                                     timeout=60)
    assert list(dl) == [data[k] for k in sorted(data)]


def test_picklable_and_top_level_names(tdata: tuple[str, dict[str, bytes]]) -> None:
    root, _ = tdata
    ds = ObjectStoreIterableDataset.from_prefix(root, shuffle=True, seed=3, return_type="bytes")
    clone: Any = pickle.loads(pickle.dumps(ds))
    assert sorted(clone) == sorted(ds)
    assert s3dlio.ObjectStoreIterableDataset is ObjectStoreIterableDataset
    assert s3dlio.ObjectStoreMapDataset is ObjectStoreMapDataset
    with pytest.warns(DeprecationWarning):
        s3dlio.S3MapDataset(root)


def test_set_epoch_reshuffles(tdata: tuple[str, dict[str, bytes]]) -> None:
    root, _ = tdata
    ds = ObjectStoreIterableDataset(root, loader_opts={"shuffle": True, "seed": 9, "ordered": True},
                                    return_type="bytes")
    ds.set_epoch(0)
    e0 = list(ds)
    e1 = list(ds)  # the next epoch
    ds.set_epoch(0)
    assert list(ds) == e0 and e1 != e0 and sorted(e1) == sorted(e0)


def test_original_import_paths_serve_the_same_classes() -> None:
    """Code written for the original s3dlio imports the datasets from ``s3dlio.torch``."""
    from s3dlio.jax_tf import JaxIterable
    from s3dlio.torch import ObjectStoreIterableDataset, ObjectStoreMapDataset, S3IterableDataset
    from s3dlio_loaders import jax_tf, torch_adapter

    assert ObjectStoreIterableDataset is torch_adapter.ObjectStoreIterableDataset
    assert ObjectStoreMapDataset is torch_adapter.ObjectStoreMapDataset
    assert S3IterableDataset is torch_adapter.S3IterableDataset
    assert JaxIterable is jax_tf.JaxIterable
