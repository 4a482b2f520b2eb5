"""``Dataset``: a sorted, listed-once set of objects under a prefix (or explicit URIs)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

from s3dlio.bytesview import BytesView
from s3dlio.errors import NotFoundError
from s3dlio.plugin.runtime import resolve
from s3dlio_loaders.options import normalize

__all__ = ["Dataset", "create_dataset", "read_object"]


def _range_read(uri: str, part_size: int, max_inflight_parts: int) -> BytesView:
    """Whole object through parallel ranges of ``part_size``, reassembled in order."""
    store, key = resolve(uri)
    size = store.head(key).size
    if size <= part_size:
        return store.get(key)
    view, mv = BytesView.allocate(size)
    parts = [(off, min(part_size, size - off)) for off in range(0, size, part_size)]

    def one(part: tuple[int, int]) -> int:
        off, length = part
        got = store.get_range_into(key, off, mv[off : off + length])
        if got != length:
            from s3dlio.errors import IntegrityError

            raise IntegrityError(f"short range read ({got} of {length} bytes at {off})", op="get",
                                 uri=uri)
        return got

    from s3dlio.engines.batch import run_batch

    with mv:
        run_batch(one, parts, window=max_inflight_parts, op="get", label=lambda p: f"{uri}@{p[0]}")
    return view


def read_object(uri: str, opts: dict[str, Any]) -> BytesView:
    """Read one whole object the way ``opts`` asks (``reader_mode`` sequential or range)."""
    if opts["reader_mode"] == "range":
        return _range_read(uri, opts["part_size"], opts["max_inflight_parts"])
    store, key = resolve(uri)
    return store.get(key)


def _list_under(uri: str, fmt: str | None) -> tuple[list[str], list[str]]:
    """``(uris, keys)`` of every object under ``uri``, recursive, sorted; keys relative to it."""
    store, key = resolve(uri)
    if key and not key.endswith("/"):
        # An object exactly at the URI is a one-item dataset.
        try:
            store.head(key)
        except (NotFoundError, ValueError, NotImplementedError):
            key += "/"
        else:
            return [store.uri(key)], [key.rpartition("/")[2]]
    exts: tuple[str, ...] = ()
    if fmt and fmt not in ("raw", "parquet"):
        from s3dlio_loaders.formats import extensions_of

        exts = extensions_of(fmt)
    keys: list[str] = []
    for page in store.list(key, recursive=True):
        for k in page.keys:
            if k.endswith("/"):
                continue
            if exts and not k.endswith(exts):
                continue
            keys.append(k)
    keys.sort()
    base = len(key)
    return [store.uri(k) for k in keys], [k[base:] for k in keys]


class Dataset:
    """Objects under ``uri`` (listed once, recursively, sorted) or an explicit URI list.

    ``keys()`` are relative to the root (nested directories keep their path) for a
    prefix, and the URIs themselves for :meth:`from_uris`.
    """

    def __init__(self, uri: str, opts: Any = None) -> None:
        if not isinstance(uri, str):
            raise TypeError(f"Dataset uri must be a str, got {type(uri).__name__}")
        self._opts = normalize(opts)
        self._root = uri
        uris, keys = _list_under(uri, self._opts["format"])
        if not uris:
            raise NotFoundError("no objects under this prefix", op="list", uri=uri)
        self._uris = uris
        self._keys = keys

    @classmethod
    def from_uris(cls, uris: Iterable[str], opts: Any = None) -> Dataset:
        """A dataset of exactly ``uris`` (in the given order)."""
        items = [uris] if isinstance(uris, str) else list(uris)
        if not items:
            raise ValueError("Dataset.from_uris needs at least one URI")
        for u in items:
            if not isinstance(u, str):
                raise TypeError(f"Dataset.from_uris: URIs must be str, got {type(u).__name__}")
        self = cls.__new__(cls)
        self._opts = normalize(opts)
        self._root = None
        self._uris = items
        self._keys = list(items)
        return self

    _root: str | None
    _uris: list[str]
    _keys: list[str]
    _opts: dict[str, Any]

    @property
    def root(self) -> str | None:
        """The prefix the dataset was listed from (``None`` for ``from_uris``)."""
        return self._root

    @property
    def options(self) -> dict[str, Any]:
        """The dataset's validated options."""
        return dict(self._opts)

    def __len__(self) -> int:
        return len(self._uris)

    def keys(self) -> list[str]:
        """Keys relative to the root (URIs for ``from_uris``)."""
        return list(self._keys)

    def uris(self) -> list[str]:
        """Full URIs, in dataset order."""
        return list(self._uris)

    def uri(self, index: int) -> str:
        """URI of item ``index`` (negative counts from the end)."""
        return self._uris[index]

    def __getitem__(self, index: int) -> BytesView:
        return read_object(self._uris[index], self._opts)

    async def get_item(self, index: int) -> BytesView:
        """Read item ``index`` without blocking the event loop."""
        from s3dlio.engines.pool import async_pool

        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(async_pool(), self.__getitem__, index)

    def __repr__(self) -> str:
        where = self._root if self._root is not None else "<uris>"
        return f"Dataset({where!r}, {len(self)} objects)"

    def __getstate__(self) -> dict[str, Any]:
        return {"root": self._root, "uris": self._uris, "keys": self._keys, "opts": self._opts}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self._root = state["root"]
        self._uris = state["uris"]
        self._keys = state["keys"]
        self._opts = state["opts"]


def create_dataset(uri: str, opts: Any = None) -> Dataset:
    """The dataset of every object under ``uri`` (any installed backend)."""
    if opts is not None and not isinstance(opts, dict):
        from s3dlio_loaders.options import LoaderOptions

        if not isinstance(opts, LoaderOptions):
            raise TypeError(f"opts must be a dict or LoaderOptions, got {type(opts).__name__}")
    return Dataset(uri, opts)

