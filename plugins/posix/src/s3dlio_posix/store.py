"""``file://`` — local and network filesystems.

Reads go straight into the result buffer with ``os.readv``/``os.preadv`` (the GIL
is released, there is no intermediate ``bytes``); objects at or above the range
threshold are read by several threads with ``preadv`` into one buffer. Writes are
atomic (temp file in the destination directory + ``os.replace``), listings use
``os.scandir`` and never ``stat`` an entry they do not need to.
"""

from __future__ import annotations

import builtins
import contextlib
import errno
import os
import stat as stat_mod
import time
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any, ClassVar

from s3dlio.bytesview import BytesView
from s3dlio.engines.pool import cpu_count
from s3dlio.engines.ranges import default_chunk_size, default_concurrency, parallel_read_into
from s3dlio.errors import (
    AlreadyExistsError,
    IntegrityError,
    InvalidPathError,
    NotFoundError,
    StoreError,
    translate_os_error,
)
from s3dlio.store import ListPage, ObjectMeta, ObjectStore, server_side
from s3dlio.store.localfs import atomic_write, is_temp_name

if TYPE_CHECKING:
    from s3dlio.config import Settings

__all__ = ["PosixStore", "local_path_of"]

_O_RDONLY = os.O_RDONLY | os.O_CLOEXEC
_MiB = 1 << 20


def local_path_of(uri: str, scheme: str = "file") -> str:
    """The absolute local path named by ``scheme:///abs/path`` (validated)."""
    _root, key = PosixStore._split(uri, scheme)
    return "/" + key


class PosixStore(ObjectStore):
    """Objects are files under ``/``; keys are absolute paths without the leading slash."""

    backend: ClassVar[str] = "posix"
    schemes: ClassVar[tuple[str, ...]] = ("file",)
    fast_local_items: ClassVar[bool] = True
    """Page-cache reads and small writes take microseconds: see the batch engine."""

    def __init__(self, root: str, settings: Settings) -> None:
        super().__init__(root, settings)
        core = settings.core
        self._split_reads = bool(core.range_optimization)
        self._split_threshold = int(core.range_threshold_mb) * _MiB
        self._range_concurrency = int(core.range_concurrency)
        self._chunk_size = int(core.chunk_size)
        self._fsync = "none" if core.fsync == "auto" else core.fsync
        section = settings.section("posix") if settings.has_section("posix") else None
        configured = int(section.max_concurrency) if section is not None else 0
        self.max_useful_concurrency = configured or max(8, 4 * cpu_count())  # type: ignore[misc]

    # ------------------------------------------------------------------ naming
    @classmethod
    def split_uri(cls, uri: str) -> tuple[str, str]:
        return cls._split(uri, cls.schemes[0])

    @classmethod
    def _split(cls, uri: str, scheme: str) -> tuple[str, str]:
        prefix = scheme + "://"
        if uri[: len(prefix)].lower() != prefix:
            raise InvalidPathError(f"not a {prefix} URI", uri=uri)
        rest = uri[len(prefix) :]
        if rest.startswith("localhost/"):
            rest = rest[len("localhost") :]
        if not rest.startswith("/"):
            raise InvalidPathError(
                f"{prefix} URIs need an absolute path: use {prefix}/absolute/path "
                f"(three slashes), e.g. {prefix}{os.path.abspath(rest or '.')}",
                uri=uri,
            )
        key = rest[1:]
        if key:
            _check_key(key, uri)
        return prefix + "/", key

    def _path(self, key: str) -> str:
        return "/" + key

    # ------------------------------------------------------------------ reads
    def get(self, key: str) -> BytesView:
        fd = self._open_for_read(key)
        try:
            size = os.fstat(fd).st_size
            view, mv = BytesView.allocate(size)
            with mv:
                if self._split_reads and size >= self._split_threshold:
                    self._split_read(fd, size, mv, key)
                else:
                    got = os.readv(fd, [mv]) if size else 0
                    if got != size:
                        got += _pread_fill(fd, mv[got:], got)
                    if got != size:
                        raise IntegrityError(
                            f"file shrank during read ({got} of {size} bytes)", op="get",
                            uri=self.uri(key), backend=self.backend,
                        )
            return view
        except OSError as exc:
            raise self._os_error(exc, "get", key) from exc
        finally:
            os.close(fd)

    def _split_read(self, fd: int, size: int, mv: memoryview, key: str) -> None:
        def read_at(offset: int, part: memoryview) -> int:
            return _pread_fill(fd, part, offset)

        parallel_read_into(
            read_at, size, mv,
            chunk_size=self._chunk_size or default_chunk_size(size),
            concurrency=self._range_concurrency or default_concurrency(size),
            what=self.uri(key),
        )

    def get_range_into(self, key: str, offset: int, buf: memoryview) -> int:
        fd = self._open_for_read(key)
        try:
            return _pread_fill(fd, buf, offset)
        except OSError as exc:
            raise self._os_error(exc, "get", key) from exc
        finally:
            os.close(fd)

    def get_range(self, key: str, offset: int, length: int | None = None) -> BytesView:
        if offset < 0 or (length is not None and length < 0):
            raise ValueError(f"get_range: offset and length must be >= 0 ({self.uri(key)})")
        fd = self._open_for_read(key)
        try:
            size = os.fstat(fd).st_size
            if offset >= size or length == 0:
                return BytesView()
            want = size - offset if length is None else min(length, size - offset)
            view, mv = BytesView.allocate(want)
            with mv:
                got = _pread_fill(fd, mv, offset)
            if got != want:
                view._truncate(got)
            return view
        except OSError as exc:
            raise self._os_error(exc, "get", key) from exc
        finally:
            os.close(fd)

    def head(self, key: str) -> ObjectMeta:
        try:
            st = os.stat("/" + key)
        except OSError as exc:
            raise self._os_error(exc, "stat", key) from exc
        if stat_mod.S_ISDIR(st.st_mode):
            raise NotFoundError(
                "is a directory, not an object", op="stat", uri=self.uri(key), backend=self.backend
            )
        return _meta(key, st)

    # ----------------------------------------------------------------- writes
    def put(self, key: str, data: memoryview) -> None:
        self._need_object_key(key, "put")
        atomic_write("/" + key, data, op="put", uri=self.uri(key), backend=self.backend,
                     fsync=self._fsync)

    def put_if_absent(self, key: str, data: memoryview) -> bool:
        """Create-only write: the temp file is published with ``link(2)``, which refuses an
        existing name (``Capability.CONDITIONAL_PUT``); ``False`` if ``key`` existed."""
        self._need_object_key(key, "put")
        try:
            atomic_write("/" + key, data, op="put", uri=self.uri(key), backend=self.backend,
                         fsync=self._fsync, exclusive=True)
        except AlreadyExistsError:
            return False
        return True

    def put_stream(self, key: str, chunks: Iterable[Any]) -> int:
        self._need_object_key(key, "put")
        views = (memoryview(c).cast("B") for c in chunks)
        return atomic_write("/" + key, views, op="put", uri=self.uri(key), backend=self.backend,
                            fsync=self._fsync)

    def put_file(self, key: str, path: str) -> int:
        self._need_object_key(key, "upload")
        return self._copy_local(path, "/" + key, op="upload", uri=self.uri(key))

    def get_to_file(self, key: str, path: str) -> int:
        return self._copy_local("/" + key, path, op="download", uri=self.uri(key))

    @server_side  # sendfile(2): the kernel copies, no data enters this process
    def copy(self, src_key: str, dst_key: str) -> None:
        self._need_object_key(dst_key, "copy")
        self._copy_local("/" + src_key, "/" + dst_key, op="copy", uri=self.uri(src_key))

    def rename(self, src_key: str, dst_key: str) -> None:
        self._need_object_key(dst_key, "rename")
        try:
            os.makedirs(os.path.dirname("/" + dst_key), exist_ok=True)
            os.rename("/" + src_key, "/" + dst_key)
        except OSError as exc:
            raise self._os_error(exc, "rename", src_key) from exc

    def _copy_local(self, src: str, dst: str, *, op: str, uri: str) -> int:
        try:
            src_fd = os.open(src, _O_RDONLY)
        except OSError as exc:
            raise translate_os_error(exc, op=op, uri=uri, backend=self.backend) from exc
        try:
            size = os.fstat(src_fd).st_size

            def writer(dst_fd: int) -> int:
                done = 0
                while done < size:
                    n = os.sendfile(dst_fd, src_fd, done, size - done)
                    if n == 0:
                        break
                    done += n
                return done

            written = atomic_write(dst, op=op, uri=uri, backend=self.backend, fsync=self._fsync,
                                   writer=writer)
            if written != size:
                raise IntegrityError(f"copied {written} of {size} bytes", op=op, uri=uri,
                                     backend=self.backend)
            return written
        finally:
            os.close(src_fd)

    def mkdir(self, key: str) -> None:
        try:
            os.makedirs("/" + key, exist_ok=True)
        except OSError as exc:
            raise self._os_error(exc, "mkdir", key) from exc

    # ----------------------------------------------------------------- delete
    def delete(self, key: str) -> None:
        try:
            os.unlink("/" + key)
        except FileNotFoundError:
            return
        except IsADirectoryError as exc:
            raise InvalidPathError(
                "is a directory; use recursive delete", op="delete", uri=self.uri(key),
                backend=self.backend,
            ) from exc
        except OSError as exc:
            if exc.errno == errno.EPERM and os.path.isdir("/" + key):
                raise InvalidPathError(
                    "is a directory; use recursive delete", op="delete", uri=self.uri(key),
                    backend=self.backend,
                ) from exc
            raise self._os_error(exc, "delete", key) from exc

    def cleanup_prefix(self, prefix: str) -> None:
        # Drop the directories a recursive delete emptied (deepest first); a
        # directory still holding a file (a failed delete, a temp file) stays.
        # A symbolic link to a directory inside the tree is removed as a link: the walk
        # never descends into it, so nothing outside the tree is touched.
        top = "/" + prefix.rstrip("/")
        if prefix and os.path.isdir(top) and not os.path.islink(top):
            for dirpath, dirs, _files in os.walk(top, topdown=False):
                for name in dirs:
                    link = os.path.join(dirpath, name)
                    if os.path.islink(link):
                        with contextlib.suppress(OSError):
                            os.unlink(link)
                with contextlib.suppress(OSError):
                    os.rmdir(dirpath)

    def is_link(self, key: str) -> bool:
        return bool(key) and os.path.islink("/" + key.rstrip("/"))

    # ---------------------------------------------------------------- listing
    def list(self, prefix: str = "", *, recursive: bool = True) -> Iterator[ListPage]:
        if prefix and not prefix.endswith("/"):
            raise self._invalid("list prefix must be a directory (end with '/')", prefix, "list")
        if recursive:
            yield from self._walk(prefix)
            return
        page = self._scan(prefix)
        if page is not None:
            keys, dirs = page
            yield ListPage(keys=keys, prefixes=[d + "/" for d in dirs])

    def _scan(self, prefix: str) -> tuple[builtins.list[str], builtins.list[str]] | None:
        """Files and sub-directories (as keys) of one directory; ``None`` if it does not exist."""
        try:
            it = os.scandir("/" + prefix)
        except (FileNotFoundError, NotADirectoryError):
            return None
        except OSError as exc:
            raise self._os_error(exc, "list", prefix) from exc
        keys: list[str] = []
        dirs: list[str] = []
        with it:
            for entry in it:
                name = entry.name
                if entry.is_dir(follow_symlinks=False):
                    dirs.append(prefix + name)
                elif entry.is_symlink() and entry.is_dir():
                    dirs.append(prefix + name)  # listed, never descended (no cycles)
                elif not (name[0] == "." and is_temp_name(name)):
                    keys.append(prefix + name)
        return keys, dirs

    def _walk(self, prefix: str) -> Iterator[ListPage]:
        stack = [prefix]
        while stack:
            current = stack.pop()
            page = self._scan(current)
            if page is None:
                continue
            keys, dirs = page
            for d in dirs:
                if not os.path.islink("/" + d):
                    stack.append(d + "/")
            if keys:
                yield ListPage(keys=keys)

    # ------------------------------------------------------------- containers
    def create_container(self, key: str = "") -> None:
        self.mkdir(key)

    def delete_container(self, key: str = "") -> None:
        try:
            os.rmdir("/" + key.rstrip("/"))
        except OSError as exc:
            raise self._os_error(exc, "delete_bucket", key) from exc

    def list_containers(self, key: str = "") -> builtins.list[dict[str, Any]]:
        base = key if not key or key.endswith("/") else key + "/"
        out = []
        try:
            entries = sorted(os.scandir("/" + base), key=lambda e: e.name)
        except OSError as exc:
            raise self._os_error(exc, "list_containers", base) from exc
        for entry in entries:
            if entry.is_dir():
                st = entry.stat()
                from s3dlio.store import format_rfc3339

                out.append({
                    "name": entry.name,
                    "uri": self.uri(base + entry.name + "/"),
                    "creation_date": format_rfc3339(st.st_mtime),
                })
        return out

    def abort_incomplete(self, prefix: str, older_than_s: float) -> int:
        top = "/" + prefix
        if not os.path.isdir(top):
            top = os.path.dirname(top.rstrip("/")) or "/"
        cutoff = time.time() - older_than_s
        removed = 0
        for dirpath, _dirs, files in os.walk(top):
            for name in files:
                if is_temp_name(name):
                    path = os.path.join(dirpath, name)
                    try:
                        if os.stat(path).st_mtime <= cutoff:
                            os.unlink(path)
                            removed += 1
                    except FileNotFoundError:
                        pass
        return removed

    # ---------------------------------------------------------------- helpers
    def _open_for_read(self, key: str) -> int:
        try:
            return os.open("/" + key, _O_RDONLY)
        except OSError as exc:
            raise self._os_error(exc, "get", key) from exc

    def _need_object_key(self, key: str, op: str) -> None:
        if not key or key.endswith("/"):
            raise self._invalid("an object path is required (the URI names a directory)", key, op)

    def _os_error(self, exc: OSError, op: str, key: str) -> StoreError:
        if exc.errno == errno.EISDIR:
            return InvalidPathError("is a directory", op=op, uri=self.uri(key), backend=self.backend)
        return translate_os_error(exc, op=op, uri=self.uri(key), backend=self.backend)


def _check_key(key: str, uri: str) -> None:
    if "\x00" in key:
        raise InvalidPathError("path contains a NUL byte", uri=uri)
    padded = f"/{key}/"  # two substring tests instead of a split on the hot path
    if "/./" in padded or "/../" in padded:
        for segment in key.split("/"):
            if segment in (".", ".."):
                raise InvalidPathError(f"path segment {segment!r} is not allowed", uri=uri)
    if "//" in key or key.startswith("/"):
        raise InvalidPathError("empty path segment ('//') is not allowed", uri=uri)


def _pread_fill(fd: int, buf: memoryview, offset: int) -> int:
    """``preadv`` until ``buf`` is full or EOF; return the byte count."""
    total = len(buf)
    done = 0
    while done < total:
        n = os.preadv(fd, [buf[done:]], offset + done)
        if n == 0:
            break
        done += n
    return done


def _meta(key: str, st: os.stat_result) -> ObjectMeta:
    return ObjectMeta(
        key=key,
        size=st.st_size,
        last_modified=st.st_mtime,
        etag=f"file-{st.st_size}-{int(st.st_mtime)}",
        storage_class="STANDARD",
    )
