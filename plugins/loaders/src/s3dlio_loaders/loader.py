"""``AsyncDataLoader``: shuffled, sharded, prefetched reads of a :class:`Dataset`.

One *pass* (a ``for``, an ``async for`` or an ``items()``) reads this shard's items
through a bounded window: at most ``prefetch`` items are read or waiting to be
consumed (memory bound), by daemon threads owned by the pass. ``break``, ``close()``
or garbage collection stops the pass: no new read starts, queued results are
dropped and the threads exit (within one 0.1 s wait slice after their current read).
"""

from __future__ import annotations

import asyncio
import os
import queue
import random
import threading
import time
import weakref
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from s3dlio.bytesview import BytesView
from s3dlio.errors import S3dlioError
from s3dlio_loaders.dataset import Dataset, read_object
from s3dlio_loaders.options import normalize

__all__ = [
    "AsyncBatchIterator",
    "AsyncDataLoader",
    "ItemIterator",
    "ObjectItem",
    "SyncIterator",
    "VecDataLoader",
    "VecDataLoaderIter",
    "VecDataset",
    "shard_plan",
]

_WAIT_SLICE = 0.1
_DEFAULT_WORKERS = 8


def shard_plan(n: int, opts: dict[str, Any], epoch: int) -> list[int]:
    """Dataset indices this shard reads in ``epoch``, in shard order.

    Shuffle with ``random.Random(seed * 2**32 + epoch)``; with ``drop_last`` first
    truncate to a multiple of the shard count; keep position ``p`` iff
    ``p % (world * workers) == rank * workers + worker_id``; with ``drop_last`` drop
    the last partial batch.
    """
    order = list(range(n))
    if opts["shuffle"]:
        random.Random(opts["seed"] * 2**32 + epoch).shuffle(order)
    workers = opts["num_workers_pytorch"]
    shards = opts["shard_world_size"] * workers
    me = opts["shard_rank"] * workers + opts["worker_id"]
    if opts["drop_last"] and shards > 1:
        order = order[: n - n % shards]
    mine = order[me::shards]
    if opts["drop_last"]:
        bs = opts["batch_size"]
        mine = mine[: len(mine) - len(mine) % bs]
    return mine


# ----------------------------------------------------------------------------- prefetcher

_live: weakref.WeakSet[_Prefetcher] = weakref.WeakSet()


class _Prefetcher:
    """Reads ``items`` with ``threads`` daemon threads, at most ``window`` undelivered."""

    def __init__(self, fn: Callable[[str], BytesView], items: Sequence[str], window: int, threads: int,
                 ordered: bool, help_read: bool = False, adaptive: bool = False) -> None:
        self._fn = fn
        self._items = items
        self._n = len(items)
        self._window = threading.Semaphore(window)
        self._claim = threading.Lock()
        self._next = 0
        self._stop = threading.Event()
        self._results: queue.SimpleQueue[tuple[int, BytesView | None, BaseException | None]] = (
            queue.SimpleQueue())
        self._ordered = ordered
        self._help = help_read
        self._held: dict[int, tuple[BytesView | None, BaseException | None]] = {}
        self._expect = 0
        self._received = 0
        self.notify: Callable[[], None] | None = None
        self._pid = os.getpid()
        self._inflight = 0
        self.max_inflight = 0
        self._threads: list[threading.Thread] = []
        count = min(threads, window, self._n)
        # With caller-runs on a local store, reader threads start only if reads turn
        # out latency-bound (see _observe); otherwise they start now.
        self._lazy = count if help_read and adaptive else 0
        self._obs: list[tuple[float, int]] = []
        _live.add(self)
        if self._n and not self._lazy:
            self._start(max(0 if help_read else 1, count))

    def _observe(self, seconds: float, data: BytesView | None) -> None:
        """Adaptive readers: start the lazy reader threads once the caller's own reads
        look latency-bound (median of the first 8 > 150 µs and < 4 GiB/s) rather than
        page-cache memcpy, where extra threads only contend for the GIL."""
        size = len(data) if data is not None else 0
        self._obs.append((seconds, size))
        if len(self._obs) < 8 and sum(t for t, _ in self._obs) < 0.01:
            return
        secs, nbytes = sorted(self._obs)[len(self._obs) // 2]
        rate = nbytes / secs if secs > 0 else float("inf")
        if secs > 150e-6 and rate < 4 * (1 << 30):
            self._start(self._lazy)
        self._lazy = 0

    def _start(self, count: int) -> None:
        first = len(self._threads)
        new = [threading.Thread(target=self._work, name=f"s3dlio-loader-{first + i}", daemon=True)
               for i in range(count)]
        self._threads.extend(new)
        for t in new:
            t.start()

    def _claim_one(self, blocking: bool) -> int | None:
        """Take a window slot and the next unread index; ``None`` if there is none (or no slot)."""
        if not (self._window.acquire(timeout=_WAIT_SLICE) if blocking else self._window.acquire(False)):
            return None
        with self._claim:
            i = self._next
            if i >= self._n or self._stop.is_set():
                self._window.release()
                return None
            self._next += 1
            self._inflight += 1
            self.max_inflight = max(self.max_inflight, self._inflight)
        return i

    def _read(self, i: int) -> tuple[int, BytesView | None, BaseException | None]:
        try:
            out: tuple[int, BytesView | None, BaseException | None] = (i, self._fn(self._items[i]), None)
        except BaseException as exc:  # delivered to the consumer, raised there
            out = (i, None, exc)
        with self._claim:
            self._inflight -= 1
        return out

    def _work(self) -> None:
        stop = self._stop
        while not stop.is_set():
            i = self._claim_one(blocking=True)
            if i is None:
                if self._next >= self._n:
                    return
                continue
            out = self._read(i)
            if stop.is_set():
                return
            self._results.put(out)
            notify = self.notify
            if notify is not None:
                try:
                    notify()
                except RuntimeError:  # the consumer's event loop is closed
                    pass

    @property
    def exhausted(self) -> bool:
        """Every item was delivered."""
        return self._received >= self._n

    def _take(self, got: tuple[int, BytesView | None, BaseException | None]) -> None:
        i, data, exc = got
        self._held[i] = (data, exc)

    def poll(self, block: bool) -> tuple[int, BytesView] | None:
        """Next ``(index, data)``; ``None`` if nothing is ready (``block=False``).

        Raises ``StopIteration`` at the end and the read's exception for a failed read.
        Blocking waits in 0.1 s slices so Ctrl-C interrupts.
        """
        if self._pid != os.getpid():
            raise RuntimeError("a loader iterator cannot be used in a forked child; start a new pass there")
        if self._received >= self._n:
            raise StopIteration
        while True:
            if self._ordered:
                if self._expect in self._held:
                    i = self._expect
                    self._expect += 1
                    return self._deliver(i, *self._held.pop(i))
            elif self._held:
                i, (data, exc) = self._held.popitem()
                return self._deliver(i, data, exc)
            if block and self._help:
                # Caller-runs: rather than sleep until a reader delivers, read the next
                # unclaimed item here (within the window). Saves a thread hand-off per
                # item when reads are fast (page cache) and adds a reader when they are not.
                try:
                    got = self._results.get_nowait()
                except queue.Empty:
                    mine = self._claim_one(blocking=False)
                    if mine is not None:
                        t0 = time.perf_counter()
                        got = self._read(mine)
                        if self._lazy:
                            self._observe(time.perf_counter() - t0, got[1])
                        self._take(got)
                        continue
                else:
                    self._take(got)
                    continue
            try:
                got = self._results.get(block=block, timeout=_WAIT_SLICE if block else None)
            except queue.Empty:
                if not block:
                    return None
                if self._stop.is_set():
                    raise StopIteration from None
                continue
            self._take(got)

    def _deliver(self, i: int, data: BytesView | None, exc: BaseException | None) -> tuple[int, BytesView]:
        self._received += 1
        self._window.release()
        if exc is not None:
            self.close()
            raise exc
        assert data is not None
        return i, data

    def close(self) -> None:
        """Stop: no new reads; threads exit after their current read; results dropped."""
        self._stop.set()
        self._held.clear()
        while True:
            try:
                self._results.get_nowait()
            except queue.Empty:
                break
        # Wake workers blocked on the window at once.
        for _ in self._threads:
            self._window.release()

    def join(self, timeout: float = 2.0) -> None:
        """Wait (bounded) for the threads to exit."""
        for t in self._threads:
            if t is not threading.current_thread():
                t.join(timeout)


def _after_fork_in_child() -> None:
    # Inherited passes have no threads in the child: make them stop cleanly.
    for p in list(_live):
        p._stop.set()
    _live.clear()


os.register_at_fork(after_in_child=_after_fork_in_child)


# ----------------------------------------------------------------------------- items


class DataItem:
    """A loaded payload: ``data`` (a ``BytesView``) and its ``byte_count``; ``len`` and ``bytes()``."""

    __slots__ = ("byte_count", "data")

    def __init__(self, data: BytesView) -> None:
        self.data = data
        self.byte_count = len(data)

    def __len__(self) -> int:
        return self.byte_count

    def bytes(self) -> bytes:
        """A copy of the data as ``bytes``."""
        return bytes(self.data)


class ObjectItem(DataItem):
    """One object of :meth:`AsyncDataLoader.items`: ``uri``, ``byte_count``, ``data``."""

    __slots__ = ("uri",)

    def __init__(self, uri: str, data: BytesView) -> None:
        super().__init__(data)
        self.uri = uri

    def __repr__(self) -> str:
        return f"ObjectItem(uri={self.uri!r}, byte_count={self.byte_count})"


def _is_local(uri: str) -> bool:
    """Whether ``uri``'s store is a local filesystem (its endpoint is ``file://``)."""
    try:
        from s3dlio.plugin.runtime import resolve

        store, _ = resolve(uri)
        return str(store.endpoint).startswith("file://")
    except S3dlioError:  # a bad URI is reported by the read itself, in order
        return False


def _concurrency(opts: dict[str, Any], first_uri: str | None, batches: bool) -> tuple[int, int, bool]:
    """``(reader threads, window, caller reads too)`` of a pass.

    ``num_workers`` given: that many reader threads. Default (0): on a local
    filesystem ``S3DLIO_LOADER_LOCAL_THREADS`` or one reader per CPU, capped at 8, and
    the iterating thread reads too when nothing is ready (page-cache reads are
    memcpy-bound; more threads only contend for the GIL); on a remote store 8 for
    batches and the whole ``prefetch`` window for item iteration (latency-bound;
    DLIO's ``prefetch: 64`` means 64 in flight). The window (items read or waiting to
    be consumed) is ``prefetch`` for item iteration, ``max(prefetch, readers)`` for batches.
    With the default on a local store the reader threads start lazily (see
    ``_Prefetcher._observe``).
    """
    prefetch = opts["prefetch"]
    nw = opts["num_workers"]
    local = first_uri is not None and _is_local(first_uri)
    if nw <= 0:
        if local:
            from s3dlio.engines.pool import cpu_count

            env = os.environ.get("S3DLIO_LOADER_LOCAL_THREADS", "")
            nw = int(env) if env.isdigit() else min(cpu_count(), _DEFAULT_WORKERS)
        else:
            nw = _DEFAULT_WORKERS if batches else max(prefetch, _DEFAULT_WORKERS)
    if batches:
        return max(nw, 1), max(prefetch, nw), False
    return min(nw, prefetch), prefetch, local


class _Pass:
    """One pass of a loader over its shard: plan, prefetcher, progress bookkeeping."""

    def __init__(self, loader: AsyncDataLoader, *, batches: bool) -> None:
        self._loader = loader
        opts = loader._opts
        epoch, skip = loader._begin_pass()
        self.epoch = epoch
        plan = shard_plan(len(loader._dataset), opts, epoch)
        self._plan = plan
        self._done: set[int] = set(skip)
        todo = [p for p in range(len(plan)) if p not in self._done]
        self._todo = todo
        uris = loader._dataset._uris
        items = [uris[plan[p]] for p in todo]
        ordered = bool(opts["ordered"]) or batches
        threads, window, help_read = _concurrency(opts, items[0] if items else None, batches)
        adaptive = help_read and opts["num_workers"] <= 0
        self._items = items
        self._pf = _Prefetcher(loader._reader, items, window, threads, ordered, help_read, adaptive)
        loader._passes.add(self)
        loader._current = self

    @property
    def prefetcher(self) -> _Prefetcher:
        return self._pf

    def next(self, block: bool = True) -> tuple[str, BytesView] | None:
        try:
            got = self._pf.poll(block)
        except StopIteration:
            self._finish()
            raise
        except BaseException:
            self.close()
            raise
        if got is None:
            return None
        j, data = got
        self._done.add(self._todo[j])
        if self._pf.exhausted:
            self._finish()
        return self._items[j], data

    def _finish(self) -> None:
        if len(self._done) >= len(self._plan):
            self._loader._end_pass(self)
        self._pf.close()

    def state(self) -> dict[str, Any]:
        done = self._done
        prefix = 0
        while prefix in done:
            prefix += 1
        return {"epoch": self.epoch, "position": prefix,
                "consumed": sorted(p for p in done if p > prefix), "shard_len": len(self._plan)}

    def close(self) -> None:
        self._pf.close()


class SyncIterator:
    """``for data in loader``: ``BytesView`` per object (completion order unless ``ordered``)."""

    def __init__(self, loader: AsyncDataLoader) -> None:
        self._pass = _Pass(loader, batches=False)

    def __iter__(self) -> SyncIterator:
        return self

    def __next__(self) -> BytesView:
        got = self._pass.next()
        assert got is not None
        return got[1]

    def close(self) -> None:
        """Stop the pass (cancel in-flight reads)."""
        self._pass.close()

    def __del__(self) -> None:
        try:
            self._pass.close()
        except Exception:  # a finalizer must not raise (interpreter shutdown); close() reports
            pass

    def __reduce__(self) -> Any:
        raise TypeError("a running loader iterator cannot be pickled; pickle the loader or dataset")


class ItemIterator(SyncIterator):
    """``loader.items()``: :class:`ObjectItem` per object, and :meth:`collect_batch`."""

    def __iter__(self) -> ItemIterator:
        return self

    def __next__(self) -> ObjectItem:  # type: ignore[override]
        got = self._pass.next()
        assert got is not None
        return ObjectItem(got[0], got[1])

    def collect_batch(self, n: int) -> list[ObjectItem]:
        """Up to ``n`` items (blocking until ``n`` or the end); ``[]`` at the end."""
        out: list[ObjectItem] = []
        while len(out) < n:
            try:
                out.append(self.__next__())
            except StopIteration:
                break
        return out


def _waker(loop: asyncio.AbstractEventLoop, event: asyncio.Event) -> Callable[[], None]:
    """A thread-safe callback that sets ``event`` on ``loop``."""

    def wake() -> None:
        loop.call_soon_threadsafe(event.set)

    return wake


class AsyncBatchIterator:
    """``async for batch in loader``: ``list[BytesView]`` of ``batch_size``, shard order."""

    def __init__(self, loader: AsyncDataLoader) -> None:
        self._pass = _Pass(loader, batches=True)
        self._bs = loader._opts["batch_size"]
        self._event: asyncio.Event | None = None

    def __aiter__(self) -> AsyncBatchIterator:
        return self

    async def _one(self) -> BytesView | None:
        while True:
            try:
                got = self._pass.next(block=False)
            except StopIteration:
                return None
            if got is not None:
                return got[1]
            if self._event is None:
                self._event = asyncio.Event()
                self._pass.prefetcher.notify = _waker(asyncio.get_running_loop(), self._event)
                continue  # re-check: a result may have landed before notify was set
            await self._event.wait()
            self._event.clear()

    async def __anext__(self) -> list[BytesView]:
        batch: list[BytesView] = []
        try:
            while len(batch) < self._bs:
                data = await self._one()
                if data is None:
                    break
                batch.append(data)
        except BaseException:
            self._pass.close()
            raise
        if not batch:
            raise StopAsyncIteration
        return batch

    async def aclose(self) -> None:
        """Stop the pass."""
        self._pass.close()

    def close(self) -> None:
        """Stop the pass."""
        self._pass.close()

    def __del__(self) -> None:
        try:
            self._pass.close()
        except Exception:  # a finalizer must not raise (interpreter shutdown); close() reports
            pass


class AsyncDataLoader:
    """Loader over a :class:`Dataset` (or a URI): see docs/loaders/formats.md ("Loaders").

    ``for`` yields ``BytesView`` per object, ``async for`` yields batches,
    ``items()`` yields :class:`ObjectItem` and has ``collect_batch(n)``. Each pass
    takes the next epoch unless :meth:`set_epoch` was called.
    """

    def __init__(self, dataset: Dataset | str, opts: Any = None) -> None:
        if isinstance(dataset, str):
            dataset = Dataset(dataset, opts)
        if not isinstance(dataset, Dataset):
            raise TypeError(f"AsyncDataLoader needs a Dataset or a URI, got {type(dataset).__name__}")
        if opts is not None and not isinstance(opts, dict):
            from s3dlio_loaders.options import LoaderOptions

            if not isinstance(opts, LoaderOptions):
                raise TypeError(f"opts must be a dict or LoaderOptions, got {type(opts).__name__}")
        base = dict(dataset._opts)
        self._opts = normalize(opts, **{k: base[k] for k in ("reader_mode", "part_size",
                                                            "max_inflight_parts", "format")})
        self._dataset = dataset
        self._next_epoch: int = self._opts["epoch"]
        self.epoch: int = self._next_epoch
        self._resume: tuple[int, set[int]] | None = None
        self._passes: weakref.WeakSet[_Pass] = weakref.WeakSet()
        self._current: _Pass | None = None
        self._completed_epoch: int | None = None
        self._closed = False
        opts_copy = self._opts

        def reader(uri: str) -> BytesView:
            return read_object(uri, opts_copy)

        self._reader: Callable[[str], BytesView] = reader

    # -- epochs and state
    def _begin_pass(self) -> tuple[int, set[int]]:
        if self._closed:
            raise RuntimeError("loader is closed")
        epoch = self._next_epoch
        self._next_epoch = epoch + 1
        self.epoch = epoch
        skip: set[int] = set()
        if self._resume is not None and self._resume[0] == epoch:
            skip = self._resume[1]
        self._resume = None
        return epoch, skip

    def _end_pass(self, p: _Pass) -> None:
        if self._current is p:
            self._current = None
            self._completed_epoch = p.epoch

    def set_epoch(self, epoch: int) -> None:
        """The next pass uses ``epoch`` (reshuffled from ``seed`` and ``epoch``)."""
        if isinstance(epoch, bool) or not isinstance(epoch, int) or epoch < 0:
            from s3dlio.errors import ConfigError

            raise ConfigError(f"epoch must be an int >= 0, got {epoch!r}")
        self._next_epoch = epoch
        self.epoch = epoch
        self._resume = None

    def state_dict(self) -> dict[str, Any]:
        """Progress to resume from: the current pass's delivered items, or the next epoch."""
        cur = self._current
        if cur is not None:
            state = cur.state()
        elif self._resume is not None:
            e, done = self._resume
            state = {"epoch": e, "position": 0, "consumed": sorted(done)}
        else:
            state = {"epoch": self._next_epoch, "position": 0, "consumed": []}
        state["seed"] = self._opts["seed"]
        state["shuffle"] = self._opts["shuffle"]
        state["dataset_len"] = len(self._dataset)
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Resume: the next pass continues ``state``'s epoch without the items it delivered."""
        try:
            epoch = int(state["epoch"])
            position = int(state.get("position", 0))
            consumed = {int(p) for p in state.get("consumed", ())}
        except (KeyError, TypeError, ValueError) as exc:
            from s3dlio.errors import ConfigError

            raise ConfigError(f"not a loader state_dict: {exc}") from exc
        if state.get("dataset_len", len(self._dataset)) != len(self._dataset):
            from s3dlio.errors import ConfigError

            raise ConfigError("state_dict was taken over a dataset of another length")
        self._next_epoch = epoch
        self.epoch = epoch
        self._resume = (epoch, set(range(position)) | consumed)

    # -- iteration
    def __iter__(self) -> SyncIterator:
        return SyncIterator(self)

    def __aiter__(self) -> AsyncBatchIterator:
        return AsyncBatchIterator(self)

    def items(self) -> ItemIterator:
        """A pass yielding :class:`ObjectItem` (``collect_batch(n)`` for DLIO)."""
        return ItemIterator(self)

    @property
    def dataset(self) -> Dataset:
        """The dataset read."""
        return self._dataset

    @property
    def options(self) -> dict[str, Any]:
        """The validated options."""
        return dict(self._opts)

    def __len__(self) -> int:
        """Items this shard reads per epoch."""
        return len(shard_plan(len(self._dataset), self._opts, self._next_epoch))

    # -- lifetime
    def close(self) -> None:
        """Stop every running pass (in-flight reads cancelled, threads exit)."""
        self._closed = True
        passes = list(self._passes)
        for p in passes:
            p.close()
        for p in passes:
            p.prefetcher.join(2.0)

    def __enter__(self) -> AsyncDataLoader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    async def __aenter__(self) -> AsyncDataLoader:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            for p in list(self._passes):
                p.close()
        except Exception:  # a finalizer must not raise (interpreter shutdown); close() reports
            pass

    def __getstate__(self) -> dict[str, Any]:
        return {"dataset": self._dataset, "opts": self._opts, "next_epoch": self._next_epoch}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["dataset"], state["opts"])  # type: ignore[misc]
        self._next_epoch = self.epoch = state["next_epoch"]


# ----------------------------------------------------------------------------- toy loader


class VecDataset:
    """A list of ints as a dataset (the original's toy example)."""

    def __init__(self, items: Sequence[int]) -> None:
        self._items = [int(x) for x in items]

    def __len__(self) -> int:
        return len(self._items)

    def __getitem__(self, i: int) -> int:
        return self._items[i]


class VecDataLoader:
    """Batches of ints from a :class:`VecDataset` (shuffle/seed/drop_last/sharding honoured)."""

    def __init__(self, dataset: VecDataset, opts: Any = None) -> None:
        self._dataset = dataset
        self._opts = normalize(opts)
        self._next_epoch: int = self._opts["epoch"]

    def _batches(self) -> list[list[int]]:
        epoch = self._next_epoch
        self._next_epoch += 1
        plan = shard_plan(len(self._dataset), self._opts, epoch)
        bs = self._opts["batch_size"]
        vals = [self._dataset[i] for i in plan]
        return [vals[i : i + bs] for i in range(0, len(vals), bs)]

    def set_epoch(self, epoch: int) -> None:
        """The next pass uses ``epoch``."""
        self._next_epoch = epoch

    def __iter__(self) -> Iterator[list[int]]:
        return iter(self._batches())

    def __aiter__(self) -> VecDataLoaderIter:
        return VecDataLoaderIter(self._batches())


class VecDataLoaderIter:
    """Async iterator of :class:`VecDataLoader` batches."""

    def __init__(self, batches: list[list[int]]) -> None:
        self._it = iter(batches)

    def __aiter__(self) -> VecDataLoaderIter:
        return self

    async def __anext__(self) -> list[int]:
        try:
            return next(self._it)
        except StopIteration:
            raise StopAsyncIteration from None

