"""Datasets and loaders over real files: sharding, shuffle, drop_last, prefetch window,
resume, cancellation and options."""

from __future__ import annotations

import asyncio
import collections
import pickle
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from loaders_testutil import digest, make_objects

import s3dlio
from s3dlio.errors import BackendNotFoundError, ConfigError, NotFoundError
from s3dlio_loaders.loader import shard_plan

pytestmark = pytest.mark.timeout(120)


def _ids(datas: list[Any]) -> list[int]:
    return [int.from_bytes(bytes(memoryview(d)[:4]), "little") for d in datas]


# ----------------------------------------------------------------------------- datasets


def test_dataset_keys_relative_to_root_nested(objects: tuple[str, dict[str, bytes]]) -> None:
    root, data = objects
    ds = s3dlio.create_dataset(root)
    assert len(ds) == 37
    assert ds.keys() == sorted(data)
    assert all(u == root + k for u, k in zip(ds.uris(), ds.keys(), strict=True))
    assert ds[0] == data[ds.keys()[0]]
    assert ds[-1] == data[ds.keys()[-1]]
    assert asyncio.run(ds.get_item(3)) == data[ds.keys()[3]]
    # Without the trailing slash: same dataset.
    assert s3dlio.create_dataset(root.rstrip("/")).keys() == ds.keys()
    # Basenames collide across directories; relative keys do not.
    assert len({k.rpartition("/")[2] for k in ds.keys()}) == 37  # noqa: SIM118
    assert pickle.loads(pickle.dumps(ds)).uris() == ds.uris()


def test_dataset_from_uris_and_errors(objects: tuple[str, dict[str, bytes]], tmp_path: Path) -> None:
    root, data = objects
    uris = [root + k for k in sorted(data)[:5]]
    ds = s3dlio.Dataset.from_uris(uris)
    assert ds.keys() == uris and len(ds) == 5
    with pytest.raises(ValueError):
        s3dlio.Dataset.from_uris([])
    with pytest.raises(NotFoundError):
        s3dlio.create_dataset(f"file://{tmp_path}/nothing-here/")
    with pytest.raises(BackendNotFoundError):
        s3dlio.create_dataset("ftp://x/y")
    with pytest.raises(TypeError):
        s3dlio.create_dataset(root, ["batch_size"])  # type: ignore[arg-type]
    assert s3dlio.PyDataset is s3dlio.Dataset


def test_loader_reads_every_object_once(objects: tuple[str, dict[str, bytes]]) -> None:
    root, data = objects
    want = collections.Counter(digest(d) for d in data.values())
    loader = s3dlio.create_async_loader(root)
    assert collections.Counter(digest(d) for d in loader) == want
    # A second pass re-reads everything (no re-list).
    assert collections.Counter(digest(d) for d in loader) == want


def test_ordered_and_async_batches(objects: tuple[str, dict[str, bytes]]) -> None:
    root, data = objects
    ordered = [data[k] for k in sorted(data)]
    loader = s3dlio.create_async_loader(root, {"ordered": True})
    assert list(loader) == ordered

    async def batches() -> list[list[Any]]:
        ld = s3dlio.create_async_loader(root, {"batch_size": 8})
        return [b async for b in ld]

    got = asyncio.run(batches())
    assert [len(b) for b in got] == [8, 8, 8, 8, 5]
    assert [bytes(x) for b in got for x in b] == ordered


def test_items_collect_batch(objects: tuple[str, dict[str, bytes]]) -> None:
    root, data = objects
    ds = s3dlio.PyDataset.from_uris([root + k for k in sorted(data)])
    it = s3dlio.PyBytesAsyncDataLoader(ds, {"prefetch": 64, "skip_head": True}).items()
    first = it.collect_batch(30)
    rest = it.collect_batch(30)
    assert len(first) == 30 and len(rest) == 7
    assert it.collect_batch(5) == []
    items = first + rest
    assert {i.uri for i in items} == {root + k for k in data}
    for i in items:
        assert len(i) == i.byte_count and i.bytes() == data[i.uri[len(root):]]


@pytest.mark.parametrize("drop_last", [False, True])
@pytest.mark.parametrize("shuffle", [False, True])
def test_exactly_once_across_2_ranks_x_2_workers(objects: tuple[str, dict[str, bytes]], drop_last: bool,
                                                 shuffle: bool) -> None:
    root, _ = objects
    seen: list[int] = []
    sizes = []
    for rank in range(2):
        for worker in range(2):
            opts = {"shard_rank": rank, "shard_world_size": 2, "worker_id": worker, "num_workers_pytorch": 2,
                    "shuffle": shuffle, "seed": 7, "drop_last": drop_last, "batch_size": 1}
            got = _ids(list(s3dlio.create_async_loader(root, opts)))
            sizes.append(len(got))
            seen += got
    assert len(seen) == len(set(seen))
    if drop_last:
        assert sizes == [9, 9, 9, 9]  # 37 truncated to 36 first
    else:
        assert sorted(seen) == list(range(37))
        assert max(sizes) - min(sizes) <= 1


def test_drop_last_batches(objects: tuple[str, dict[str, bytes]]) -> None:
    root, _ = objects

    async def sizes(opts: dict[str, Any]) -> list[int]:
        return [len(b) async for b in s3dlio.create_async_loader(root, opts)]

    assert asyncio.run(sizes({"batch_size": 10})) == [10, 10, 10, 7]
    assert asyncio.run(sizes({"batch_size": 10, "drop_last": True})) == [10, 10, 10]
    # Sync iteration drops the same items.
    assert len(list(s3dlio.create_async_loader(root, {"batch_size": 10, "drop_last": True}))) == 30
    # Sharded: 37 → 36 first, then 18 per rank → one batch of 10 each.
    opts = {"batch_size": 10, "drop_last": True, "shard_world_size": 2, "shard_rank": 1}
    assert asyncio.run(sizes(opts)) == [10]


def test_shuffle_deterministic_and_per_epoch(objects: tuple[str, dict[str, bytes]]) -> None:
    root, _ = objects
    opts = {"shuffle": True, "seed": 42, "ordered": True}
    a = s3dlio.create_async_loader(root, opts)
    b = s3dlio.create_async_loader(root, opts)
    e0a, e0b = _ids(list(a)), _ids(list(b))
    assert e0a == e0b and sorted(e0a) == list(range(37)) and e0a != list(range(37))
    e1 = _ids(list(a))
    assert a.epoch == 1 and e1 != e0a and sorted(e1) == list(range(37))
    a.set_epoch(0)
    assert _ids(list(a)) == e0a
    c = s3dlio.create_async_loader(root, {**opts, "seed": 43})
    assert _ids(list(c)) != e0a
    # The documented formula.
    import random

    order = list(range(37))
    random.Random(42 * 2**32 + 0).shuffle(order)
    assert shard_plan(37, {**s3dlio_opts(), "shuffle": True, "seed": 42}, 0) == order


def s3dlio_opts() -> dict[str, Any]:
    from s3dlio_loaders.options import normalize

    return normalize({})


def test_prefetch_window_bounded(tmp_path: Path) -> None:
    root = tmp_path / "w"
    make_objects(root, 40, nested=False)
    loader = s3dlio.create_async_loader(f"file://{root}/", {"prefetch": 3, "num_workers": 16})
    inner = loader._reader
    lock = threading.Lock()
    state = {"now": 0, "max": 0}

    def counting(uri: str) -> Any:
        with lock:
            state["now"] += 1
            state["max"] = max(state["max"], state["now"])
        try:
            time.sleep(0.005)
            return inner(uri)
        finally:
            with lock:
                state["now"] -= 1

    loader._reader = counting
    got = []
    for d in loader:
        got.append(d)
        time.sleep(0.002)
    assert len(got) == 40
    assert state["max"] == 3  # the window is used and never exceeded


def test_state_dict_resume_mid_epoch(objects: tuple[str, dict[str, bytes]]) -> None:
    root, _ = objects
    opts = {"shuffle": True, "seed": 5}
    a = s3dlio.create_async_loader(root, opts)
    a.set_epoch(3)
    it = iter(a)
    first = _ids([next(it) for _ in range(15)])
    state = a.state_dict()
    it.close()
    assert state["epoch"] == 3
    b = s3dlio.create_async_loader(root, opts)
    b.load_state_dict(pickle.loads(pickle.dumps(state)))
    rest = _ids(list(b))
    assert not set(first) & set(rest)
    assert sorted(first + rest) == list(range(37))
    # The next pass is the next epoch, complete.
    assert b.state_dict()["epoch"] == 4
    assert sorted(_ids(list(b))) == list(range(37)) and b.epoch == 4


def _settle(baseline: int, limit: float = 2.0) -> int:
    deadline = time.monotonic() + limit
    while threading.active_count() > baseline and time.monotonic() < deadline:
        time.sleep(0.02)
    return threading.active_count()


def test_break_and_close_leave_no_threads(tmp_path: Path) -> None:
    root = tmp_path / "t"
    make_objects(root, 200, nested=False, size=4096)
    uri = f"file://{root}/"
    ds = s3dlio.create_dataset(uri)
    baseline = threading.active_count()
    loader = s3dlio.AsyncDataLoader(ds, {"prefetch": 16})
    for i, _ in enumerate(loader):
        if i == 5:
            break
    assert _settle(baseline) == baseline
    with s3dlio.AsyncDataLoader(ds, {"prefetch": 16}) as ld:
        it = iter(ld)
        next(it)
    assert _settle(baseline) == baseline
    ld2 = s3dlio.AsyncDataLoader(ds, {"prefetch": 16})
    it2 = ld2.items()
    it2.collect_batch(3)
    del it2, ld2
    assert _settle(baseline) == baseline

    async def partial() -> None:
        async for _ in s3dlio.AsyncDataLoader(ds, {"batch_size": 4}):
            break

    asyncio.run(partial())
    assert _settle(baseline) == baseline
    with pytest.raises(RuntimeError, match="closed"):
        iter(ld)


def test_failed_read_raises_from_next(objects: tuple[str, dict[str, bytes]], tmp_path: Path) -> None:
    root, _ = objects
    ds = s3dlio.create_dataset(root)
    victim = ds.uris()[10]
    Path(victim[len("file://"):]).unlink()
    with pytest.raises(NotFoundError):
        list(s3dlio.AsyncDataLoader(ds, {"ordered": True}))


def test_range_reader_mode(tmp_path: Path) -> None:
    root = tmp_path / "r"
    data = make_objects(root, 6, nested=False, size=100_000)
    opts = {"reader_mode": "range", "part_size": 4096, "max_inflight_parts": 3, "ordered": True}
    got = list(s3dlio.create_async_loader(f"file://{root}/", opts))
    assert got == [data[k] for k in sorted(data)]


def test_iterator_not_picklable(objects: tuple[str, dict[str, bytes]]) -> None:
    root, _ = objects
    loader = s3dlio.create_async_loader(root)
    it = iter(loader)
    with pytest.raises(TypeError):
        pickle.dumps(it)
    it.close()
    clone = pickle.loads(pickle.dumps(loader))
    assert len(list(clone)) == 37


# ----------------------------------------------------------------------------- options


def test_bad_option_type_raises_config_error(objects: tuple[str, dict[str, bytes]]) -> None:
    root, _ = objects
    for bad in ({"batch_size": "8"}, {"prefetch": 1.5}, {"shuffle": "yes"}, {"reader_mode": "fast"},
                {"prefetch": 0}, {"shard_rank": 2, "shard_world_size": 2}):
        with pytest.raises(ConfigError):
            s3dlio.create_async_loader(root, bad)


def test_unknown_option_warns_with_closest(objects: tuple[str, dict[str, bytes]]) -> None:
    root, _ = objects
    with pytest.warns(UserWarning, match="'prefetch'"):
        s3dlio.create_async_loader(root, {"prefech": 4})


def test_loader_options_builders() -> None:
    LO = s3dlio.LoaderOptions
    assert s3dlio.PyLoaderOptions is LO
    o = LO().with_batch_size(64).shuffle(True, 42).prefetch(16).drop_last(True).num_workers(4)
    assert o.batch_size == 64 and o.seed == 42 and o.prefetch == 16 and o.drop_last == True  # noqa: E712
    assert o.shuffle == True and o.num_workers == 4  # noqa: E712
    assert LO().with_batch_size(0).batch_size == 1
    assert LO().pin_memory == False and LO().pin_memory(True).pin_memory == True  # noqa: E712
    d = LO().distributed_optimized(1, 4).to_dict()
    assert d["shard_rank"] == 1 and d["shard_world_size"] == 4 and d["pin_memory"] is True
    assert LO().collate_buffer_size(8).collate_buffer_size == 64
    assert pickle.loads(pickle.dumps(o)) == o
    with pytest.raises(AttributeError):
        o.batch_size = 3  # type: ignore[misc]
    for b in (LO().use_spawn, LO().use_fork, LO().use_forkserver, LO().channels_last, LO().channels_first,
              LO().debug_mode, LO().gpu_optimized):
        assert isinstance(b(), LO)
    assert LO().random_sampling(True).to_dict()["shuffle"] is True


def test_loader_accepts_loader_options(objects: tuple[str, dict[str, bytes]]) -> None:
    root, _ = objects
    opts = s3dlio.LoaderOptions().with_batch_size(5).drop_last(True)

    async def sizes() -> list[int]:
        return [len(b) async for b in s3dlio.AsyncDataLoader(s3dlio.create_dataset(root), opts)]

    assert asyncio.run(sizes()) == [5] * 7


def test_vec_loader() -> None:
    ld = s3dlio.VecDataLoader(s3dlio.VecDataset(list(range(10))), {"batch_size": 4})
    assert list(ld) == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]

    async def run() -> list[list[int]]:
        return [b async for b in ld]

    assert asyncio.run(run()) == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]




def test_adaptive_readers_start_when_reads_are_slow(tmp_path: Path) -> None:
    root = tmp_path / "slow"
    make_objects(root, 40, nested=False)
    for delay, expect_parallel in ((0.002, True), (0.0, False)):
        loader = s3dlio.create_async_loader(f"file://{root}/", {"prefetch": 4})
        inner = loader._reader
        lock = threading.Lock()
        state = {"now": 0, "max": 0}

        def counting(uri: str, inner: Any = inner, state: dict[str, int] = state, delay: float = delay,
                     lock: threading.Lock = lock) -> Any:
            with lock:
                state["now"] += 1
                state["max"] = max(state["max"], state["now"])
            try:
                if delay:
                    time.sleep(delay)
                return inner(uri)
            finally:
                with lock:
                    state["now"] -= 1

        loader._reader = counting
        assert len(list(loader)) == 40
        if expect_parallel:
            assert state["max"] > 1  # reader threads joined the caller
        else:
            assert state["max"] >= 1


def _child_reads(uri: str, q: Any) -> None:
    ds = s3dlio.create_dataset(uri)
    q.put(len(list(s3dlio.AsyncDataLoader(ds, {"prefetch": 4}))))


@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_child_process_after_partial_pass(objects: tuple[str, dict[str, bytes]], method: str) -> None:
    import multiprocessing as mp

    root, _ = objects
    loader = s3dlio.create_async_loader(root, {"prefetch": 4, "num_workers": 4})
    it = iter(loader)
    next(it)  # reader threads running in the parent
    ctx = mp.get_context(method)
    q = ctx.Queue()
    p = ctx.Process(target=_child_reads, args=(root, q))
    p.start()
    assert q.get(timeout=60) == 37
    p.join(30)
    assert p.exitcode == 0
    assert len(list(it)) == 36  # the parent's pass is unaffected
    if method == "fork" and hasattr(__import__("os"), "fork"):
        import os

        pid = os.fork()
        if pid == 0:  # child: an inherited iterator refuses clearly; a new pass works
            code = 1
            try:
                try:
                    next(it)
                    code = 3
                except RuntimeError:
                    code = 0 if len(list(loader)) == 37 else 4
            except BaseException:
                code = 2
            os._exit(code)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0


def test_async_failed_read_raises(objects: tuple[str, dict[str, bytes]]) -> None:
    root, _ = objects
    ds = s3dlio.create_dataset(root)
    Path(ds.uris()[3][len("file://"):]).unlink()

    async def run() -> None:
        async for _ in s3dlio.AsyncDataLoader(ds, {"batch_size": 4}):
            pass

    with pytest.raises(NotFoundError):
        asyncio.run(run())
