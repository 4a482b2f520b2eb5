"""Parquet row groups from any backend (docs/loaders/formats.md, "Parquet"); needs ``pyarrow``.

One footer read per file per process: footers are parsed once and kept in a
process-wide cache shared by every loader, dataset and function here, so epoch 2
and later read only row-group bytes. A row group's column chunks are fetched with
one ranged GET covering the chosen columns; ``decode="arrow"`` decodes them (any
codec) from those bytes alone, with the cached footer, into Arrow IPC stream bytes.
"""

from __future__ import annotations

import asyncio
import io
import struct
import threading
from collections.abc import Iterator, Sequence
from typing import Any

from s3dlio.bytesview import BytesView
from s3dlio.errors import NotFoundError
from s3dlio.plugin.runtime import resolve
from s3dlio_loaders.loader import DataItem, _Prefetcher, _waker, shard_plan
from s3dlio_loaders.options import normalize

__all__ = [
    "ParquetIndex",
    "ParquetItem",
    "ParquetRowGroupDataset",
    "ParquetStreamLoader",
    "parquet_cache_clear",
    "parquet_cache_invalidate",
    "parquet_cache_len",
    "parquet_get_rg",
    "parquet_rg_row_offsets",
]

_DEFAULT_FOOTER_CAP = 4 << 20


def _pa() -> tuple[Any, Any]:
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError as exc:
        from s3dlio.errors import FeatureNotInstalledError

        raise FeatureNotInstalledError(
            "Parquet needs pyarrow: pip install 's3dlio-loaders[parquet]'") from exc
    return pa, pq


# ----------------------------------------------------------------------------- footer cache


class _Footer:
    """Parsed footer of one file: size, pyarrow metadata, per-row-group rows."""

    __slots__ = ("metadata", "rows", "size")

    def __init__(self, size: int, metadata: Any) -> None:
        self.size = size
        self.metadata = metadata
        self.rows = [metadata.row_group(i).num_rows for i in range(metadata.num_row_groups)]


_cache: dict[str, _Footer] = {}
_cache_lock = threading.Lock()


def _read_footer(uri: str, footer_cap: int) -> _Footer:
    """HEAD + one tail read (two if the footer is larger than ``footer_cap``)."""
    _, pq = _pa()
    pa, _ = _pa()
    store, key = resolve(uri)
    size = store.head(key).size
    if size < 12:
        raise ValueError(f"{uri}: not a Parquet file ({size} bytes)")
    want = min(size, footer_cap)
    tail = store.get_range(key, size - want, want)
    if bytes(tail[-4:]) != b"PAR1":
        raise ValueError(f"{uri}: not a Parquet file (no PAR1 trailer)")
    (meta_len,) = struct.unpack("<I", bytes(tail[-8:-4]))
    if meta_len + 8 > len(tail):
        tail = store.get_range(key, size - meta_len - 8, meta_len + 8)
    metadata = pq.read_metadata(pa.BufferReader(memoryview(tail)))
    return _Footer(size, metadata)


def _footer(uri: str, footer_cap: int = _DEFAULT_FOOTER_CAP) -> _Footer:
    f = _cache.get(uri)
    if f is None:
        f = _read_footer(uri, footer_cap)
        with _cache_lock:
            f = _cache.setdefault(uri, f)
    return f


def parquet_cache_invalidate(uri: str) -> None:
    """Forget ``uri``'s footer (after the file changed)."""
    with _cache_lock:
        _cache.pop(uri, None)


def parquet_cache_clear() -> None:
    """Forget every cached footer."""
    with _cache_lock:
        _cache.clear()


def parquet_cache_len() -> int:
    """Number of cached footers."""
    return len(_cache)


# ----------------------------------------------------------------------------- row groups


def _chunk_range(col: Any) -> tuple[int, int]:
    start = col.data_page_offset
    if col.has_dictionary_page and col.dictionary_page_offset and col.dictionary_page_offset < start:
        start = col.dictionary_page_offset
    return start, start + col.total_compressed_size


def _columns(footer: _Footer, col_indices: Sequence[int] | None) -> list[int]:
    ncols = footer.metadata.num_columns
    if col_indices is None:
        return list(range(ncols))
    out = []
    for c in col_indices:
        if not isinstance(c, int) or not -ncols <= c < ncols:
            raise IndexError(f"column index {c!r} out of range (file has {ncols} columns)")
        out.append(c % ncols)
    return out


class _RangeFile(io.RawIOBase):
    """A read-only file of ``size`` bytes of which ``[base, base + len(buf))`` is in memory;
    other reads go to storage (pyarrow reads only the chunks it is asked for)."""

    def __init__(self, uri: str, size: int, base: int, buf: BytesView) -> None:
        super().__init__()
        self._uri, self._size, self._base = uri, size, base
        self._mv = memoryview(buf).cast("B")
        self._pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._size}[whence]
        self._pos = base + offset
        return self._pos

    def tell(self) -> int:
        return self._pos

    def read(self, size: int | None = -1) -> bytes:
        end = self._size if size is None or size < 0 else min(self._size, self._pos + size)
        lo, hi = self._pos - self._base, end - self._base
        if lo >= 0 and hi <= len(self._mv):
            out = bytes(self._mv[lo:hi])
        else:
            from s3dlio.api import get_range

            out = bytes(get_range(self._uri, self._pos, end - self._pos))
        self._pos = end
        return out

    def readinto(self, buf: Any) -> int:
        data = self.read(len(memoryview(buf)))
        memoryview(buf).cast("B")[: len(data)] = data
        return len(data)


def _read_rg(uri: str, rg_idx: int, col_indices: Sequence[int] | None, footer_cap: int,
             decode: str) -> BytesView:
    footer = _footer(uri, footer_cap)
    nrg = footer.metadata.num_row_groups
    if isinstance(rg_idx, bool) or not isinstance(rg_idx, int) or not 0 <= rg_idx < nrg:
        raise IndexError(f"{uri}: row group {rg_idx!r} out of range (file has {nrg})")
    cols = _columns(footer, col_indices)
    rg = footer.metadata.row_group(rg_idx)
    ranges = [_chunk_range(rg.column(c)) for c in cols]
    lo = min(r[0] for r in ranges)
    hi = max(r[1] for r in ranges)
    store, key = resolve(uri)
    if decode == "none":
        return BytesView.wrap(b"")
    buf = store.get_range(key, lo, hi - lo)
    if decode == "raw":
        if len(cols) == footer.metadata.num_columns or all(
                ranges[i][1] == ranges[i + 1][0] for i in range(len(ranges) - 1)):
            return buf
        mv = memoryview(buf)
        return BytesView.wrap(b"".join(mv[s - lo : e - lo] for s, e in sorted(ranges)))
    pa, pq = _pa()
    pf = pq.ParquetFile(pa.PythonFile(_RangeFile(uri, footer.size, lo, buf), mode="r"),
                        metadata=footer.metadata)
    names = [footer.metadata.schema.column(c).path.split(".")[0] for c in cols]
    table = pf.read_row_group(rg_idx, columns=list(dict.fromkeys(names)))
    sink = pa.BufferOutputStream()
    batches = table.combine_chunks().to_batches()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        if batches:
            writer.write_batch(batches[0] if len(batches) == 1 else pa.concat_batches(batches))
    return BytesView.wrap(memoryview(sink.getvalue()))


def parquet_get_rg(uri: str, rg_idx: int, col_indices: Sequence[int] | None = None,
                   footer_cap: int = _DEFAULT_FOOTER_CAP, decode: str = "arrow") -> BytesView:
    """Row group ``rg_idx`` of ``uri``: Arrow IPC stream (``decode="arrow"``, any codec) or
    the raw column-chunk bytes (``"raw"``); bad index → ``IndexError``."""
    if decode not in ("arrow", "raw", "none"):
        raise ValueError(f"decode must be 'arrow', 'raw' or 'none', got {decode!r}")
    return _read_rg(uri, rg_idx, col_indices, footer_cap, decode)


def parquet_rg_row_offsets(uri: str) -> list[int]:
    """``[0, r0, r0 + r1, …, total rows]`` of ``uri``'s row groups."""
    out = [0]
    for r in _footer(uri).rows:
        out.append(out[-1] + r)
    return out


# ----------------------------------------------------------------------------- loader


class ParquetItem(DataItem):
    """One row group: ``file_uri``, ``rg_idx``, ``byte_count``, ``data``."""

    __slots__ = ("file_uri", "rg_idx")

    def __init__(self, file_uri: str, rg_idx: int, data: BytesView) -> None:
        super().__init__(data)
        self.file_uri = file_uri
        self.rg_idx = rg_idx

    def to_arrow(self) -> Any:
        """The row group as a ``pyarrow.RecordBatch`` (``decode="arrow"`` items)."""
        pa, _ = _pa()
        return pa.ipc.open_stream(pa.BufferReader(memoryview(self.data))).read_next_batch()

    def __repr__(self) -> str:
        return f"ParquetItem({self.file_uri!r}, rg={self.rg_idx}, byte_count={self.byte_count})"


def _list_parquet(uri: str) -> list[str]:
    store, key = resolve(uri)
    if key.endswith(".parquet"):
        try:
            store.head(key)
            return [store.uri(key)]
        except NotFoundError:
            pass
    if key and not key.endswith("/"):
        key += "/"
    keys = sorted(k for page in store.list(key, recursive=True) for k in page.keys if k.endswith(".parquet"))
    if not keys:
        raise NotFoundError("no *.parquet objects under this prefix", op="list", uri=uri)
    return [store.uri(k) for k in keys]


def _load_footers(uris: Sequence[str], footer_cap: int, threads: int) -> list[_Footer]:
    from s3dlio.engines.batch import run_batch

    return run_batch(lambda u: _footer(u, footer_cap), list(uris), window=max(1, threads),
                     op="parquet_footer")


def _col_indices(columns: list[Any] | None, footer: _Footer) -> list[int] | None:
    if columns is None:
        return None
    names = [footer.metadata.schema.column(i).path for i in range(footer.metadata.num_columns)]
    out = []
    for c in columns:
        if isinstance(c, int):
            out.append(c)
        else:
            matches = [i for i, n in enumerate(names) if n == c or n.split(".")[0] == c]
            if not matches:
                raise KeyError(f"no column {c!r} (columns: {names})")
            out.extend(matches)
    return out


class ParquetStreamLoader:
    """``create_async_loader(uri, {"format": "parquet", ...})``: one :class:`ParquetItem` per
    row group, shuffled/sharded like every loader, completion order (``ordered`` for plan order)."""

    def __init__(self, uri: str, opts: Any = None) -> None:
        self._opts = normalize(opts, batch_size=1)
        self._uri = uri
        self._files = _list_parquet(uri)
        from s3dlio.engines.pool import cpu_count

        self._threads = self._opts["max_threads"] or cpu_count()
        footers = _load_footers(self._files, self._opts["footer_cap"], self._threads)
        self._items: list[tuple[int, int]] = [
            (fi, rg) for fi, f in enumerate(footers) for rg in range(len(f.rows))]
        self._next_epoch: int = self._opts["epoch"]
        self.epoch = self._next_epoch
        self._live: list[_Prefetcher] = []

    def __len__(self) -> int:
        """Row groups this shard reads per epoch."""
        return len(shard_plan(len(self._items), self._opts, self._next_epoch))

    def files(self) -> list[str]:
        """The Parquet files, sorted."""
        return list(self._files)

    def set_epoch(self, epoch: int) -> None:
        """The next pass uses ``epoch``."""
        self._next_epoch = self.epoch = int(epoch)

    def _reader(self, token: str) -> BytesView:
        fi, rg = (int(x) for x in token.split(":"))
        uri = self._files[fi]
        footer = _footer(uri, self._opts["footer_cap"])
        return _read_rg(uri, rg, _col_indices(self._opts["columns"], footer), self._opts["footer_cap"],
                        self._opts["decode"])

    def _start(self) -> tuple[list[tuple[int, int]], _Prefetcher]:
        epoch = self._next_epoch
        self._next_epoch = epoch + 1
        self.epoch = epoch
        plan = [self._items[i] for i in shard_plan(len(self._items), self._opts, epoch)]
        tokens = [f"{fi}:{rg}" for fi, rg in plan]
        nw = self._opts["num_workers"] or 8
        pf = _Prefetcher(self._reader, tokens, max(self._opts["prefetch"], 1), nw,
                         bool(self._opts["ordered"]))
        self._live = [p for p in self._live if not p.exhausted] + [pf]
        return plan, pf

    def __iter__(self) -> Iterator[ParquetItem]:
        plan, pf = self._start()
        try:
            while True:
                try:
                    got = pf.poll(True)
                except StopIteration:
                    return
                assert got is not None
                j, data = got
                fi, rg = plan[j]
                yield ParquetItem(self._files[fi], rg, data)
        finally:
            pf.close()

    async def _abatches(self) -> Any:
        plan, pf = self._start()
        event = asyncio.Event()
        pf.notify = _waker(asyncio.get_running_loop(), event)
        bs = self._opts["batch_size"]
        batch: list[ParquetItem] = []
        try:
            while True:
                try:
                    got = pf.poll(False)
                except StopIteration:
                    break
                if got is None:
                    await event.wait()
                    event.clear()
                    continue
                j, data = got
                fi, rg = plan[j]
                batch.append(ParquetItem(self._files[fi], rg, data))
                if len(batch) == bs:
                    yield batch
                    batch = []
            if batch:
                yield batch
        finally:
            pf.close()

    def __aiter__(self) -> Any:
        return self._abatches()

    def close(self) -> None:
        """Stop every running pass."""
        for pf in self._live:
            pf.close()
        for pf in self._live:
            pf.join(2.0)
        self._live = []

    def __enter__(self) -> ParquetStreamLoader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class ParquetRowGroupDataset:
    """Random access to every row group under ``uri``: ``len``, ``ds[i]`` → :class:`ParquetItem`."""

    def __init__(self, uri: str, *, columns: list[Any] | None = None, decode: str = "arrow",
                 footer_cap: int = _DEFAULT_FOOTER_CAP) -> None:
        if decode not in ("arrow", "raw", "none"):
            raise ValueError(f"decode must be 'arrow', 'raw' or 'none', got {decode!r}")
        self._files = _list_parquet(uri)
        self._columns = columns
        self._decode = decode
        self._cap = footer_cap
        from s3dlio.engines.pool import cpu_count

        footers = _load_footers(self._files, footer_cap, cpu_count())
        self._items = [(fi, rg) for fi, f in enumerate(footers) for rg in range(len(f.rows))]

    def __len__(self) -> int:
        return len(self._items)

    def __getitem__(self, index: int) -> ParquetItem:
        fi, rg = self._items[index]
        uri = self._files[fi]
        cols = _col_indices(self._columns, _footer(uri, self._cap))
        return ParquetItem(uri, rg, _read_rg(uri, rg, cols, self._cap, self._decode))

    def __getstate__(self) -> dict[str, Any]:
        return dict(self.__dict__)

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)


# ----------------------------------------------------------------------------- index


class ParquetIndex:
    """Sample → row group lookup over many files, with per-epoch fetched marks (DLIO)."""

    def __init__(self, col_indices: Sequence[int] | None = None,
                 footer_cap: int = _DEFAULT_FOOTER_CAP) -> None:
        self.col_indices = None if col_indices is None else list(col_indices)
        self.footer_cap = footer_cap
        self._offsets: dict[str, list[int]] = {}
        self._fetched: dict[str, set[int]] = {}
        self._epoch: dict[str, int] = {}

    def ensure_indexed(self, uris: Sequence[str], epoch: int = 1, batch_size: int = 16) -> None:
        """Index every URI not yet indexed (footers read ``batch_size`` at a time)."""
        todo = [u for u in uris if u not in self._offsets]
        if todo:
            _load_footers(todo, self.footer_cap, batch_size)
        for u in todo:
            self._offsets[u] = parquet_rg_row_offsets(u)
        for u in uris:
            if self._epoch.get(u) != epoch:
                self._epoch[u] = epoch
                self._fetched[u] = set()

    def _offs(self, uri: str) -> list[int]:
        offs = self._offsets.get(uri)
        if offs is None:
            raise KeyError(f"{uri} is not indexed; call ensure_indexed first")
        return offs

    def rg_for_sample(self, uri: str, sample: int) -> int:
        """Row group holding row ``sample``."""
        import bisect

        offs = self._offs(uri)
        if not 0 <= sample < offs[-1]:
            raise IndexError(f"sample {sample} out of range (file has {offs[-1]} rows)")
        return bisect.bisect_right(offs, sample) - 1

    def rg_range(self, uri: str, rg: int) -> tuple[int, int]:
        """``(first row, row count)`` of row group ``rg``."""
        offs = self._offs(uri)
        if not 0 <= rg < len(offs) - 1:
            raise IndexError(f"row group {rg} out of range")
        return offs[rg], offs[rg + 1] - offs[rg]

    def rg_lookup(self, uri: str, sample: int) -> tuple[int, int, int]:
        """``(row group, offset of the sample in it, row-group length)``."""
        rg = self.rg_for_sample(uri, sample)
        start, length = self.rg_range(uri, rg)
        return rg, sample - start, length

    def was_fetched(self, uri: str, rg: int) -> bool:
        """Whether ``rg`` was marked this epoch."""
        return rg in self._fetched.get(uri, set())

    def mark_fetched(self, uri: str, rg: int) -> None:
        """Mark ``rg`` fetched this epoch."""
        self._fetched.setdefault(uri, set()).add(rg)

    def check_and_mark(self, uri: str, rg: int) -> bool:
        """``False`` the first time per epoch (and mark), then ``True``."""
        seen = self.was_fetched(uri, rg)
        self.mark_fetched(uri, rg)
        return seen

    def is_indexed(self, uri: str) -> bool:
        """Whether ``uri`` is indexed."""
        return uri in self._offsets

    def file_rg_count(self, uri: str) -> int:
        """Row groups of ``uri``."""
        return len(self._offs(uri)) - 1

    def __len__(self) -> int:
        return sum(len(o) - 1 for o in self._offsets.values())

    def file_count(self) -> int:
        """Indexed files."""
        return len(self._offsets)

    def invalidate_uri(self, uri: str) -> None:
        """Forget ``uri`` (here and in the process footer cache)."""
        self._offsets.pop(uri, None)
        self._fetched.pop(uri, None)
        self._epoch.pop(uri, None)
        parquet_cache_invalidate(uri)

    def clear(self) -> None:
        """Forget every file."""
        self._offsets.clear()
        self._fetched.clear()
        self._epoch.clear()
