"""``s3dlio.fsspec``: an fsspec filesystem over every installed s3dlio backend.

Paths are **full URIs** (``s3://bucket/key``, ``file:///data/x``, ``direct:///data/x``,
``az://…``, ``gs://…``, ``memory://…``), given and returned, so one
:class:`S3dlioFileSystem` serves every scheme at once and what ``ls``/``find`` return
can be passed straight back. A bare path means ``file://`` for the generic class and
``<protocol>://`` for a class bound to one protocol (:func:`register`, the
``direct`` entry point).

Reads are ranged ``get_range`` calls behind fsspec's read-ahead cache; writes stream
through core's :class:`~s3dlio.store.multipart.MultipartUploadWriter` (bounded memory:
one block here plus the writer's parts in flight); ``cp_file`` within one store is the
store's own ``copy`` (server-side where the backend has ``Capability.SERVER_COPY``).
"""

from __future__ import annotations

import builtins
import os
from collections.abc import Sequence
from typing import Any, ClassVar

from fsspec.callbacks import DEFAULT_CALLBACK, Callback
from fsspec.spec import AbstractBufferedFile, AbstractFileSystem
from fsspec.utils import stringify_path

from s3dlio.errors import ConfigError, NotFoundError
from s3dlio.plugin.runtime import resolve
from s3dlio.store import ObjectMeta, ObjectStore
from s3dlio.store.capabilities import Capability

__all__ = ["S3dlioBufferedFile", "S3dlioFileSystem", "register"]

_WRITE_BLOCK = 8 << 20
"""Bytes buffered here before they go to the multipart writer (one part's worth)."""

_READ_BLOCK = 8 << 20
"""fsspec read-ahead block: one ranged GET per block."""


def _split(uri: str) -> tuple[str, str]:
    scheme, sep, rest = uri.partition("://")
    return (scheme, rest) if sep else ("", uri)


def _real_directories(store: ObjectStore) -> bool:
    """Local filesystems have real (possibly empty) directories; object stores only prefixes."""
    return bool(store.fast_local_items)


class S3dlioFileSystem(AbstractFileSystem):  # type: ignore[misc]  # fsspec ships no types
    """An fsspec filesystem over s3dlio's backends, taking and returning full URIs.

    ``S3dlioFileSystem()`` serves every installed scheme; ``fsspec.filesystem("direct")``
    and the protocols opted in with :func:`register` give a class bound to one
    protocol (bare paths get that scheme). Errors are s3dlio's typed errors, which
    are also the built-ins fsspec expects (``FileNotFoundError``, ``FileExistsError``).
    """

    protocol: ClassVar[str | tuple[str, ...]] = ("s3dlio",)
    root_marker = ""
    cachable = True
    bare_scheme: ClassVar[str] = "file"
    """The scheme of a path given without one."""

    # ------------------------------------------------------------------ paths
    @classmethod
    def _strip_protocol(cls, path: Any) -> Any:
        """Normalise to a full URI without a trailing ``/`` (``file:///`` stays itself)."""
        if isinstance(path, list):
            return [cls._strip_protocol(p) for p in path]
        text = stringify_path(path)
        scheme, rest = _split(text)
        if not scheme:
            scheme = cls.bare_scheme
            if scheme in ("file", "direct"):
                rest = os.path.abspath(os.path.expanduser(text))
        rest = rest.rstrip("/")
        if scheme in ("file", "direct") and not rest.startswith("/"):
            rest = "/" + rest
        return f"{scheme}://{rest}"

    def unstrip_protocol(self, name: str) -> str:
        return str(self._strip_protocol(name))

    @classmethod
    def _parent(cls, path: Any) -> str:
        uri = str(cls._strip_protocol(path))
        scheme, rest = _split(uri)
        head = rest.rpartition("/")[0]
        if scheme in ("file", "direct") and not head:
            head = "/"
        return f"{scheme}://{head}"

    def __reduce__(self) -> tuple[Any, ...]:
        # Classes bound by register() are made at run time: rebuild them by protocol in
        # the unpickling process (a Dask worker) instead of looking them up by name.
        return _rebuild, (self.protocol, self.storage_args, self.storage_options)

    def _resolve(self, path: Any) -> tuple[ObjectStore, str, str]:
        uri = str(self._strip_protocol(path))
        store, key = resolve(uri)
        return store, key.rstrip("/"), uri

    # ------------------------------------------------------------------ metadata
    @staticmethod
    def _file_entry(store: ObjectStore, meta: ObjectMeta) -> dict[str, Any]:
        return {
            "name": store.uri(meta.key),
            "size": meta.size,
            "type": "file",
            "mtime": meta.last_modified,
            "ETag": meta.etag,
            "version_id": meta.version_id,
            "content_type": meta.content_type,
        }

    @classmethod
    def _dir_entry(cls, name: str) -> dict[str, Any]:
        return {"name": str(cls._strip_protocol(name)), "size": 0, "type": "directory"}

    def _listing(self, store: ObjectStore, key: str) -> tuple[bool, builtins.list[dict[str, Any]]]:
        """``(exists_as_directory, entries)`` of the direct children of ``key``."""
        prefix = key + "/" if key else ""
        entries: list[dict[str, Any]] = []
        seen_page = False
        for page in store.list(prefix, recursive=False):
            seen_page = True
            metas = {m.key: m for m in page.metas or ()}
            for k in page.keys:
                if k == prefix:
                    continue  # the directory's own marker object
                if k.endswith("/"):  # a marker of an (empty) sub-directory
                    entries.append(self._dir_entry(store.uri(k)))
                    continue
                meta = metas.get(k) or store.head(k)
                entries.append(self._file_entry(store, meta))
            entries.extend(self._dir_entry(store.uri(p)) for p in page.prefixes)
        unique = {e["name"]: e for e in entries}
        exists = bool(unique) or not key or (seen_page and _real_directories(store))
        if not exists and prefix:
            exists = store.exists(prefix)  # an empty directory made by mkdir on an object store
        return exists, sorted(unique.values(), key=lambda e: e["name"])

    def ls(self, path: Any, detail: bool = True, **kwargs: Any) -> builtins.list[Any]:
        """Direct children of a directory (a file lists as itself); ``FileNotFoundError`` if neither."""
        store, key, uri = self._resolve(path)
        is_dir, entries = self._listing(store, key)
        if not is_dir:
            entries = [self.info(uri)]  # raises FileNotFoundError
        return entries if detail else [e["name"] for e in entries]

    def info(self, path: Any, **kwargs: Any) -> dict[str, Any]:
        """``{name, size, type, mtime, ETag, …}`` of a file or directory."""
        store, key, uri = self._resolve(path)
        if key:
            try:
                return self._file_entry(store, store.head(key))
            except NotFoundError:
                pass
        if not key or self._is_dir(store, key):
            return self._dir_entry(uri)
        raise NotFoundError("no such file or directory", op="info", uri=uri)

    def _is_dir(self, store: ObjectStore, key: str) -> bool:
        prefix = key + "/"
        for page in store.list(prefix, recursive=False):
            if page.keys or page.prefixes or _real_directories(store):
                return True
        return store.exists(prefix)

    def find(self, path: Any, maxdepth: int | None = None, withdirs: bool = False,
             detail: bool = False, **kwargs: Any) -> Any:
        """Every file below ``path`` (one recursive listing where no depth or dirs are asked)."""
        if maxdepth is not None or withdirs:
            return super().find(path, maxdepth=maxdepth, withdirs=withdirs, detail=detail, **kwargs)
        store, key, uri = self._resolve(path)
        out: dict[str, dict[str, Any]] = {}
        prefix = key + "/" if key else ""
        for page in store.list(prefix, recursive=True):
            metas = {m.key: m for m in page.metas or ()}
            for k in page.keys:
                if k.endswith("/"):
                    continue  # directory markers are not files
                meta = metas.get(k)
                out[store.uri(k)] = (self._file_entry(store, meta) if meta is not None
                                     else {"name": store.uri(k), "type": "file"})
        if not out and key:
            try:
                meta = store.head(key)
                out[uri] = self._file_entry(store, meta)
            except NotFoundError:
                pass
        names = sorted(out)
        if detail:
            return {n: out[n] if "size" in out[n] else self.info(n) for n in names}
        return names

    def modified(self, path: Any) -> Any:
        """Last modification time (``datetime``, UTC)."""
        import datetime

        mtime = self.info(path).get("mtime")
        if mtime is None:
            raise NotFoundError("no modification time (a directory?)", op="modified", uri=str(path))
        return datetime.datetime.fromtimestamp(mtime, tz=datetime.UTC)

    def checksum(self, path: Any) -> int:
        """A value that changes when the object does (its ETag, size and time)."""
        info = self.info(path)
        return hash((info.get("ETag"), info.get("size"), info.get("mtime")))

    def ukey(self, path: Any) -> str:
        return str(self.checksum(path))

    # ------------------------------------------------------------------ reads
    def cat_file(self, path: Any, start: int | None = None, end: int | None = None,
                 **kwargs: Any) -> bytes:
        """The object's bytes, or ``[start, end)`` of them (negative: from the end)."""
        store, key, _uri = self._resolve(path)
        if start is None and end is None:
            return bytes(store.get(key).memoryview())
        if (start is not None and start < 0) or (end is not None and end < 0):
            size = store.head(key).size
            start = max(size + start, 0) if start is not None and start < 0 else start
            end = max(size + end, 0) if end is not None and end < 0 else end
        begin = start or 0
        if end is not None and end <= begin:
            store.head(key)  # a missing object is still an error
            return b""
        return bytes(store.get_range(key, begin, None if end is None else end - begin).memoryview())

    def cat_ranges(self, paths: Sequence[Any], starts: Any, ends: Any, max_gap: Any = None,
                   on_error: str = "return", **kwargs: Any) -> builtins.list[Any]:
        """Many ranges at once on the batch engine; failures returned in place (``on_error="return"``)."""
        from s3dlio.engines.batch import is_failure, run_batch_settled

        n = len(paths)
        starts = [starts] * n if not isinstance(starts, Sequence) else list(starts)
        ends = [ends] * n if not isinstance(ends, Sequence) else list(ends)
        if len(starts) != n or len(ends) != n:
            raise ValueError("cat_ranges: paths, starts and ends must have one length")
        items = list(zip(paths, starts, ends, strict=True))
        settled = run_batch_settled(lambda it: self.cat_file(it[0], it[1], it[2]), items,
                                    window=max(1, min(64, n)))
        out: list[Any] = []
        for result in settled:
            if is_failure(result):
                if on_error != "return":
                    raise result.exc  # type: ignore[union-attr]
                out.append(result.exc)  # type: ignore[union-attr]
            else:
                out.append(result)
        return out

    # ------------------------------------------------------------------ writes
    def pipe_file(self, path: Any, value: Any, mode: str = "overwrite", **kwargs: Any) -> None:
        """Write one object atomically; ``mode="create"`` refuses an existing one (``FileExistsError``)."""
        store, key, uri = self._resolve(path)
        data = memoryview(value).cast("B") if not isinstance(value, memoryview) else value.cast("B")
        if mode == "create":
            self._put_if_absent(store, key, uri, data)
            return
        store.put(key, data)

    @staticmethod
    def _put_if_absent(store: ObjectStore, key: str, uri: str, data: memoryview) -> None:
        from s3dlio.errors import AlreadyExistsError

        if Capability.CONDITIONAL_PUT in store.capabilities:
            if not store.put_if_absent(key, data):  # type: ignore[attr-defined]
                raise AlreadyExistsError("already exists", op="pipe_file", uri=uri)
            return
        if store.exists(key):  # no atomic primitive: check, then write
            raise AlreadyExistsError("already exists", op="pipe_file", uri=uri)
        store.put(key, data)

    def mkdir(self, path: Any, create_parents: bool = True, **kwargs: Any) -> None:
        """A directory (a real one on local filesystems, a ``key/`` marker on object stores)."""
        store, key, _ = self._resolve(path)
        if key:
            store.mkdir(key)

    def makedirs(self, path: Any, exist_ok: bool = False) -> None:
        """``mkdir`` with parents; an existing directory is an error unless ``exist_ok``."""
        from s3dlio.errors import AlreadyExistsError

        store, key, uri = self._resolve(path)
        if not exist_ok and key and self._is_dir(store, key):
            raise AlreadyExistsError("directory exists", op="makedirs", uri=uri)
        self.mkdir(path)

    def rmdir(self, path: Any) -> None:
        store, key, uri = self._resolve(path)
        _, entries = self._listing(store, key)
        if entries:
            raise OSError(f"directory not empty: {uri}")
        self._remove_dir(store, key)

    @staticmethod
    def _remove_dir(store: ObjectStore, key: str) -> None:
        store.delete(key + "/") if not _real_directories(store) else store.cleanup_prefix(key + "/")

    def rm_file(self, path: Any) -> None:
        store, key, _ = self._resolve(path)
        store.delete(key)

    def _rm(self, path: Any) -> None:
        store, key, _ = self._resolve(path)
        try:
            store.head(key)
        except NotFoundError:
            if self._is_dir(store, key):
                self._remove_dir(store, key)
                return
        store.delete(key)

    def rm(self, path: Any, recursive: bool = False, maxdepth: int | None = None) -> None:
        """Delete files, or with ``recursive`` whole directories (one streamed prefix delete each)."""
        from glob import has_magic

        paths = path if isinstance(path, list) else [path]
        rest: list[Any] = []
        for p in paths:
            if recursive and maxdepth is None and not has_magic(str(p)):
                store, key, _uri = self._resolve(p)
                if key and self._is_dir(store, key):
                    _, failures = store.delete_prefix(key + "/")
                    if failures:
                        raise failures[0][1]
                    self._remove_dir(store, key)
                    if not store.exists(key):
                        continue
            rest.append(p)
        if rest:
            for p in reversed(self.expand_path(rest, recursive=recursive, maxdepth=maxdepth)):
                self._rm(p)

    def cp_file(self, path1: Any, path2: Any, **kwargs: Any) -> None:
        """Copy one object: the store's own ``copy`` within one store (server-side where it can)."""
        src, skey, suri = self._resolve(path1)
        dst, dkey, _ = self._resolve(path2)
        if not skey:
            raise NotFoundError("no such file", op="cp_file", uri=suri)
        try:
            src.head(skey)
        except NotFoundError:
            if self._is_dir(src, skey):
                self.mkdir(path2)  # fsspec copies directory entries as directories
                return
            raise
        if src is dst:
            dst.copy(skey, dkey)
            return
        payload = src.get(skey)
        dst.put(dkey, payload.memoryview())

    def put_file(self, lpath: Any, rpath: Any, callback: Callback = DEFAULT_CALLBACK,
                 mode: str = "overwrite", **kwargs: Any) -> None:
        """Upload a local file (streamed through the multipart writer; ``callback`` per block)."""
        if os.path.isdir(lpath):
            self.makedirs(rpath, exist_ok=True)
            return
        store, key, uri = self._resolve(rpath)
        if mode == "create" and store.exists(key):
            from s3dlio.errors import AlreadyExistsError

            raise AlreadyExistsError("already exists", op="put_file", uri=uri)
        size = os.path.getsize(lpath)
        callback.set_size(size)
        if size <= _WRITE_BLOCK:
            store.put_file(key, os.fspath(lpath))
            callback.relative_update(size)
            return
        with open(lpath, "rb") as fh, self.open(rpath, "wb") as out:
            while chunk := fh.read(_WRITE_BLOCK):
                out.write(chunk)
                callback.relative_update(len(chunk))

    def get_file(self, rpath: Any, lpath: Any, callback: Callback = DEFAULT_CALLBACK,
                 outfile: Any = None, **kwargs: Any) -> None:
        """Download one object to a local path or open file (``callback`` per block)."""
        if outfile is None and self.isdir(rpath):
            os.makedirs(lpath, exist_ok=True)
            return
        store, key, _uri = self._resolve(rpath)
        size = store.head(key).size
        callback.set_size(size)
        if outfile is None and size <= _WRITE_BLOCK:
            store.get_to_file(key, os.fspath(lpath))
            callback.relative_update(size)
            return
        with self.open(rpath, "rb", block_size=_READ_BLOCK, size=size) as src:
            fh = outfile if outfile is not None else open(lpath, "wb")  # noqa: SIM115 - closed below
            try:
                while chunk := src.read(_READ_BLOCK):
                    fh.write(chunk)
                    callback.relative_update(len(chunk))
            finally:
                if outfile is None:
                    fh.close()

    # ------------------------------------------------------------------ files
    def _open(self, path: Any, mode: str = "rb", block_size: Any = None, autocommit: bool = True,
              cache_options: Any = None, **kwargs: Any) -> S3dlioBufferedFile:
        store, key, uri = self._resolve(path)
        if mode == "xb" and store.exists(key):
            from s3dlio.errors import AlreadyExistsError

            raise AlreadyExistsError("already exists", op="open", uri=uri)
        if mode not in ("rb", "wb", "xb"):
            from s3dlio.errors import NotSupportedError

            raise NotSupportedError(f"mode {mode!r} (objects are read or written whole)", op="open", uri=uri)
        default = _READ_BLOCK if mode == "rb" else _WRITE_BLOCK
        return S3dlioBufferedFile(self, uri, mode, block_size=block_size or default,
                                  autocommit=autocommit, cache_options=cache_options, **kwargs)


class S3dlioBufferedFile(AbstractBufferedFile):  # type: ignore[misc]
    """A file of :class:`S3dlioFileSystem`: ranged reads with read-ahead, streamed writes.

    Reading: fsspec's cache (``readahead`` by default) over ``get_range``; ``seek``,
    ``readinto`` and ``readline`` come from fsspec. Writing: each full block goes to a
    :class:`~s3dlio.store.multipart.MultipartUploadWriter` that uploads parts while the
    caller writes; ``close`` completes the object, an exception in ``with`` or
    :meth:`discard` aborts it (nothing is published).
    """

    def __init__(self, fs: S3dlioFileSystem, path: str, mode: str = "rb", **kwargs: Any) -> None:
        self._writer: Any = None
        store, key = resolve(path)
        self._store, self._key = store, key
        if mode == "rb" and kwargs.get("size") is None:
            kwargs["size"] = store.head(key).size
        super().__init__(fs, path, mode, **kwargs)

    def _fetch_range(self, start: int, end: int) -> bytes:
        if end <= start:
            return b""
        return bytes(self._store.get_range(self._key, start, end - start).memoryview())

    def _initiate_upload(self) -> None:
        from s3dlio.store.multipart import MultipartUploadWriter

        self._writer = MultipartUploadWriter.for_store(self._store, self._key)

    def _upload_chunk(self, final: bool = False) -> bool:
        data = self.buffer.getvalue()
        if data:
            self._writer.write(data)
        if final and self.autocommit:
            self.commit()
        return True

    def commit(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    def discard(self) -> None:
        if self._writer is not None:
            self._writer.abort()
            self._writer = None

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if exc_type is not None and "r" not in self.mode:
            self.discard()
            self.closed = True
            return
        self.close()


# ---------------------------------------------------------------------- registration
def _rebuild(protocol: str | tuple[str, ...], args: tuple[Any, ...],
             options: dict[str, Any]) -> S3dlioFileSystem:
    """Unpickle a filesystem: the generic class or the one bound to ``protocol``."""
    name = protocol if isinstance(protocol, str) else protocol[0]
    cls = S3dlioFileSystem if name == "s3dlio" else bound_class(name)
    return cls(*args, **options)


_BOUND: dict[str, type[S3dlioFileSystem]] = {}


def bound_class(protocol: str) -> type[S3dlioFileSystem]:
    """The :class:`S3dlioFileSystem` subclass for one protocol (bare paths get that scheme)."""
    cls = _BOUND.get(protocol)
    if cls is None:
        name = "S3dlio" + "".join(p.capitalize() for p in protocol.split("-")) + "FileSystem"
        cls = type(name, (S3dlioFileSystem,), {"protocol": (protocol,), "bare_scheme": protocol,
                                               "__module__": __name__})
        _BOUND[protocol] = cls
    return cls


class DirectFileSystem(S3dlioFileSystem):
    """``direct://`` (O_DIRECT through s3dlio-direct); fsspec finds it by its ``fsspec.specs`` entry point."""

    protocol = ("direct",)
    bare_scheme = "direct"


_BOUND["direct"] = DirectFileSystem


def installed_protocols() -> builtins.list[str]:
    """The schemes the installed backends serve."""
    from s3dlio.plugin.runtime import runtime

    return sorted(runtime().host.backends.schemes())


def register(*protocols: str, clobber: bool = False) -> builtins.list[str]:
    """Serve ``protocols`` (``"s3"``, ``"gs"``, ``"az"``, …) through fsspec with s3dlio.

    Afterwards ``fsspec.open("s3://…")``, pandas and pyarrow use s3dlio for them.
    Without ``clobber`` a protocol fsspec already maps to another implementation
    (s3fs, gcsfs, adlfs) is left alone; the protocols registered are returned.
    A protocol no installed backend serves raises ``ConfigError`` naming those that are.
    """
    import fsspec
    from fsspec.registry import known_implementations, registry

    if not protocols:
        raise ConfigError("register: name at least one protocol, e.g. register('s3')")
    available = installed_protocols()
    unknown = [p for p in protocols if p not in available]
    if unknown:
        raise ConfigError(f"register: no installed s3dlio backend serves {', '.join(unknown)} "
                          f"(installed: {', '.join(available)})")
    done: list[str] = []
    for protocol in protocols:
        cls = bound_class(protocol)
        taken = protocol in registry or protocol in known_implementations
        current = registry.get(protocol)
        if taken and current is not cls and not clobber:
            continue
        fsspec.register_implementation(protocol, cls, clobber=True)
        done.append(protocol)
    return done

