"""``tmpl://bucket/key``: objects are the files ``data_dir/bucket/key`` (``[template] data_dir``)."""

# The directory data_dir/bucket stands in for a vendor's bucket and each file for an
# object. A real backend keeps the shape of this module and swaps the os calls for its
# SDK's: the URI split, one error translation, atomic writes, streamed listings. This is
# the module that imports the SDK: s3dlio imports it on the first tmpl:// URI, never before.

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from collections.abc import Iterator
from typing import ClassVar

from s3dlio import errors
from s3dlio.bytesview import BytesView
from s3dlio.config import Settings
from s3dlio.store import ListPage, ObjectMeta, ObjectStore

__all__ = ["TemplateStore"]

_SCHEME = "tmpl://"
_TEMP = ".tmpl-tmp-"  # in the names of in-progress writes: hidden from listings, refused in keys


class TemplateStore(ObjectStore):
    """One bucket, ``tmpl://bucket/``: the directory ``data_dir/bucket``, made on first write."""

    backend: ClassVar[str] = "template"  # the name errors, logs and the op-log show
    schemes: ClassVar[tuple[str, ...]] = ("tmpl",)

    def __init__(self, root: str, settings: Settings) -> None:
        super().__init__(root, settings)
        section = settings.section("template")  # the attrs object of plugin.TemplateSettings
        if not section.data_dir:
            raise errors.ConfigError("tmpl:// needs [template] data_dir (or TMPL_DATA_DIR)")
        # Absolute now: a pickled store (sent to a worker process) means the same directory.
        # Keep only picklable settings on a store; a live SDK client is created lazily and
        # named in the class attribute _transient so pickling and fork drop it.
        self._dir = os.path.join(os.path.abspath(section.data_dir), root[len(_SCHEME) : -1])

    @classmethod
    def split_uri(cls, uri: str) -> tuple[str, str]:
        # Stores are cached by root: whatever selects a connection (bucket, account,
        # endpoint) belongs in the root, the rest is the key.
        if uri[: len(_SCHEME)].lower() != _SCHEME:
            raise errors.InvalidPathError("not a tmpl:// URI", uri=uri)
        bucket, _, key = uri[len(_SCHEME) :].partition("/")
        parts = [bucket, *key.removesuffix("/").split("/")] if key else [bucket]
        # Keys become paths: nothing may leave the bucket's directory or pose as a temp file.
        if "\x00" in uri or any(p in ("", ".", "..") or _TEMP in p for p in parts):
            raise errors.InvalidPathError("expected tmpl://bucket/key, no empty/'.'/'..' segment", uri=uri)
        return f"{_SCHEME}{bucket}/", key

    def _path(self, key: str) -> str:
        return os.path.join(self._dir, key)

    def _error(self, exc: OSError, op: str, key: str) -> errors.StoreError:
        # The one place where failures become typed s3dlio errors naming the operation and
        # the URI (a real backend maps its SDK's exceptions here); callers raise ... from exc.
        return errors.translate_os_error(exc, op=op, uri=self.uri(key), backend=self.backend)

    # ------------------------------------------------------------------ reads
    def get(self, key: str) -> BytesView:
        try:
            with open(self._path(key), "rb") as f:
                size = os.fstat(f.fileno()).st_size
                view, mv = BytesView.allocate(size)  # read *into* the result: no extra copy
                with mv:
                    got = f.readinto(mv)
        except OSError as exc:
            raise self._error(exc, "get", key) from exc
        if got != size:  # a short read is an error, never a short object
            raise errors.IntegrityError(f"read {got} of {size} bytes", op="get", uri=self.uri(key),
                                        backend=self.backend)
        return view

    def get_range_into(self, key: str, offset: int, buf: memoryview) -> int:
        # Fewer bytes than len(buf) only at the end of the object: a buffered file's readinto
        # reads until buf is full or the file ends (and reads a large buf directly, no copy).
        try:
            with open(self._path(key), "rb") as f:
                f.seek(offset)
                return f.readinto(buf)
        except OSError as exc:
            raise self._error(exc, "get", key) from exc

    def head(self, key: str) -> ObjectMeta:
        try:
            st = os.stat(self._path(key))
        except OSError as exc:
            raise self._error(exc, "stat", key) from exc
        if stat.S_ISDIR(st.st_mode):  # a "directory" is a prefix, not an object
            raise errors.NotFoundError("no such object (a directory)", op="stat", uri=self.uri(key),
                                       backend=self.backend)
        return ObjectMeta(key=key, size=st.st_size, last_modified=st.st_mtime, etag=str(st.st_mtime_ns))

    # ----------------------------------------------------------------- writes
    def put(self, key: str, data: memoryview) -> None:
        if not key or key.endswith("/"):
            raise self._invalid("an object key is required (the URI names a directory)", key, "put")
        parent, name = os.path.split(self._path(key))
        try:
            os.makedirs(parent, exist_ok=True)
            # A hidden temp file beside the target, then renamed over it: os.replace is
            # atomic, so a reader sees the old object or the new one, never a part.
            fd, tmp = tempfile.mkstemp(dir=parent, prefix=f".{name}{_TEMP}")
            try:
                with open(fd, "wb") as f:
                    f.write(data)  # a durable store would also flush and os.fsync here
                os.replace(tmp, self._path(key))
            except BaseException:  # Ctrl-C included: a failed write leaves no trace
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
                raise
        except OSError as exc:
            raise self._error(exc, "put", key) from exc

    def copy(self, src_key: str, dst_key: str) -> None:
        # The data passes through this process. A service with a server-side copy calls it
        # here and marks the method @s3dlio.store.server_side (Capability.SERVER_COPY).
        self.put(dst_key, self.get(src_key).memoryview())

    def mkdir(self, key: str) -> None:
        # Directories are real here; the base class would write a zero-byte "key/" object.
        try:
            os.makedirs(self._path(key), exist_ok=True)
        except OSError as exc:
            raise self._error(exc, "mkdir", key) from exc

    # ----------------------------------------------------------------- delete
    def delete(self, key: str) -> None:
        try:
            os.unlink(self._path(key))
        except FileNotFoundError:
            pass  # deleting a missing object succeeds: delete is idempotent
        except OSError as exc:
            raise self._error(exc, "delete", key) from exc

    def cleanup_prefix(self, prefix: str) -> None:
        # After a recursive delete: drop the directories it emptied (object stores have none).
        for dirpath, _dirs, _files in os.walk(self._path(prefix), topdown=False):
            with contextlib.suppress(OSError):
                os.rmdir(dirpath)

    # ---------------------------------------------------------------- listing
    def list(self, prefix: str = "", *, recursive: bool = True) -> Iterator[ListPage]:
        # prefix is "" or a directory ending in "/" (s3dlio.list normalises what users pass);
        # recursive=False lists direct children: objects in keys, sub-directories in prefixes.
        if prefix and not prefix.endswith("/"):
            raise self._invalid("a list prefix is a directory (ends in '/')", prefix, "list")
        pending = [prefix]
        while pending:  # one page per directory, yielded as it is read: memory stays bounded
            current = pending.pop()
            keys: list[str] = []
            dirs: list[str] = []
            try:
                with os.scandir(self._path(current)) as entries:
                    for entry in entries:
                        if entry.is_dir(follow_symlinks=False):
                            dirs.append(f"{current}{entry.name}/")
                        elif _TEMP not in entry.name:
                            keys.append(current + entry.name)
            except (FileNotFoundError, NotADirectoryError):
                continue  # a missing directory lists as empty
            except OSError as exc:
                raise self._error(exc, "list", current) from exc
            if recursive:
                pending.extend(dirs)
            if keys or (dirs and not recursive):
                yield ListPage(keys=keys, prefixes=() if recursive else dirs)
