"""Atomic local-file writes shared by the file://, direct:// backends and ``download``.

A write goes to ``.{name}.s3dlio-tmp-{pid}-{16 hex}.s3dlio-partial`` in the destination directory
(created ``O_EXCL`` with mode ``0o666 & ~umask``, unlike ``mkstemp``'s 0600), is
checked for its byte count, optionally fsynced, then published with
``os.replace`` — or, for a create-only write (``exclusive=True``), with ``os.link``,
which fails with ``EEXIST`` instead of replacing an existing file. Any exception —
``KeyboardInterrupt`` included — unlinks the temp file and leaves the destination
untouched.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import secrets
from collections.abc import Callable, Iterable

from s3dlio.errors import (
    AlreadyExistsError,
    InvalidPathError,
    NotSupportedError,
    StoreError,
    translate_os_error,
)

__all__ = [
    "TEMP_MARKER",
    "TEMP_SUFFIX",
    "atomic_write",
    "fsync_dir",
    "is_temp_name",
    "temp_path_for",
    "write_all",
]

TEMP_MARKER = ".s3dlio-tmp-"
TEMP_SUFFIX = ".s3dlio-partial"
"""Ends every temp name: a user file must match the whole pattern to be taken for one."""

_TEMP_NAME = re.compile(r"\..+\.s3dlio-tmp-[0-9]+-[0-9a-f]{16}\.s3dlio-partial", re.DOTALL)
"""``.{name}.s3dlio-tmp-{pid}-{16 hex}.s3dlio-partial`` — 64 random bits plus a marker at
both ends, so ``list`` hides and ``abort_incomplete_uploads`` deletes only our temps, never
a user file that merely looks similar (issue 16)."""


def is_temp_name(name: str) -> bool:
    """``True`` for the hidden temp files of in-progress writes (exact pattern only)."""
    return name.endswith(TEMP_SUFFIX) and _TEMP_NAME.fullmatch(name) is not None


def temp_path_for(path: str) -> str:
    """A fresh temp path beside ``path`` (pid + 64 random bits; opened ``O_EXCL``)."""
    head, tail = os.path.split(path)
    return os.path.join(head, f".{tail}{TEMP_MARKER}{os.getpid()}-{secrets.token_hex(8)}{TEMP_SUFFIX}")


def write_all(fd: int, data: memoryview) -> int:
    """Write every byte of ``data`` (``os.write`` may write less than asked)."""
    total = len(data)
    done = 0
    while done < total:
        n = os.write(fd, data[done:])
        if n <= 0:  # pragma: no cover - defensive; os.write raises on errors
            raise OSError("write returned 0")
        done += n
    return done


def fsync_dir(directory: str) -> None:
    fd = os.open(directory or ".", os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


_PARENT_TRIES = 20


def _open_temp(path: str, parent: str, make_parents: bool, open_flags: int) -> tuple[int, str]:
    """Create the temp file, making parents only when the first attempt says they are missing."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC | open_flags
    # A recursive delete running beside this put may remove the parents again between
    # makedirs and open (its cleanup drops every directory it finds empty): recreate them,
    # a bounded number of times, instead of failing the put with NotFoundError.
    parent_tries = 0
    for _ in range(100):
        tmp = temp_path_for(path)
        try:
            return os.open(tmp, flags, 0o666), tmp
        except FileNotFoundError:
            if not make_parents or parent_tries >= _PARENT_TRIES or not parent:
                raise
            parent_tries += 1
            with contextlib.suppress(FileNotFoundError):  # a parent of a parent vanished: retry
                os.makedirs(parent, exist_ok=True)
        except FileExistsError:
            continue  # 64 random bits collided: practically never
    raise OSError(errno.EEXIST, "could not create a unique temp file", path)


def _link_new(tmp: str, path: str, *, op: str, uri: str, backend: str) -> None:
    """Publish the complete file ``tmp`` at ``path`` only if nothing is there.

    ``link(2)`` is atomic and refuses an existing name, so readers see no file or the
    whole one and two racing writers cannot both win (``O_EXCL`` on the destination
    itself would expose a partly written file).
    """
    try:
        os.link(tmp, path)
    except FileExistsError as exc:
        if os.path.isdir(path):
            raise InvalidPathError("destination is a directory", op=op, uri=uri,
                                   backend=backend) from exc
        raise AlreadyExistsError("the object exists and the write is create-only", op=op,
                                 uri=uri, backend=backend) from exc
    except OSError as exc:
        if exc.errno in (errno.EPERM, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EMLINK):
            # The file is ours (just created in this directory): EPERM here means the
            # filesystem has no hard links (vfat, some FUSE mounts), not a permission.
            raise NotSupportedError(
                f"create-only writes need hard links, which this filesystem refuses "
                f"({errno.errorcode.get(exc.errno or 0, exc.errno)})", op=op, uri=uri,
                backend=backend,
            ) from exc
        raise


def atomic_write(
    path: str,
    data: memoryview | Iterable[memoryview] | None = None,
    *,
    op: str,
    uri: str,
    backend: str = "posix",
    fsync: str = "none",
    make_parents: bool = True,
    writer: Callable[[int], int] | None = None,
    open_flags: int = 0,
    exclusive: bool = False,
) -> int:
    """Publish ``data`` at ``path`` atomically; return the byte count.

    ``data`` is one buffer or an iterable of buffers; alternatively ``writer(fd)``
    writes through the open descriptor itself (direct I/O) and returns the count.
    ``fsync`` is ``none``, ``file`` or ``file+dir``. ``exclusive``: never replace an
    existing file (``AlreadyExistsError``; of concurrent writers exactly one wins).
    Errors are typed (``PermissionDeniedError`` for EACCES, ``StoreError`` naming
    ENOSPC/EFBIG, …) and chained.
    """
    parent = os.path.dirname(path)
    tmp = ""
    fd = -1
    try:
        fd, tmp = _open_temp(path, parent, make_parents, open_flags)
        if writer is not None:
            written = writer(fd)
            expected = written
        elif data is None:
            written = expected = 0
        elif isinstance(data, memoryview):
            expected = len(data)
            written = write_all(fd, data)
        else:
            written = expected = 0
            for chunk in data:
                expected += len(chunk)
                written += write_all(fd, chunk)
        if written != expected:  # pragma: no cover - write_all loops until done
            raise StoreError(f"wrote {written} of {expected} bytes", op=op, uri=uri, backend=backend)
        if fsync in ("file", "file+dir"):
            os.fsync(fd)
        os.close(fd)
        fd = -1
        if exclusive:
            _link_new(tmp, path, op=op, uri=uri, backend=backend)  # tmp is unlinked below
        else:
            try:
                os.replace(tmp, path)
            except IsADirectoryError as exc:
                raise InvalidPathError("destination is a directory", op=op, uri=uri,
                                       backend=backend) from exc
            tmp = ""
        if fsync == "file+dir":
            fsync_dir(parent)
        return written
    except StoreError:
        raise  # already typed (AlreadyExistsError is an OSError too)
    except OSError as exc:
        raise translate_os_error(exc, op=op, uri=uri, backend=backend) from exc
    finally:
        if fd >= 0:
            os.close(fd)
        if tmp:
            try:
                os.unlink(tmp)
            except OSError:  # never created (parent is a file, EACCES, ...): keep the real error
                pass
