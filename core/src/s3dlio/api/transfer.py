"""Local ↔ store transfers: ``upload``, ``download`` (docs/api.md, "Transfers") and ``copy`` (``s3-cli cp``).

Every item is independent: the batch engine runs them with a bounded window and
every per-item failure is collected; once all items have settled a single
:class:`~s3dlio.errors.BatchError` names each failed item. Destination files are
written atomically (temp file + ``os.replace``), and a key that would escape the
destination directory fails that item instead of writing anywhere.
"""

from __future__ import annotations

import fnmatch
import glob
import os
import sys
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

from s3dlio.api import _list_keys
from s3dlio.dist import shard as take_share
from s3dlio.engines.batch import check_window, is_failure, run_batch_settled
from s3dlio.errors import BatchError, InvalidPathError, NotFoundError, translate_os_error
from s3dlio.plugin.runtime import resolve
from s3dlio.store.capabilities import Capability, require

if TYPE_CHECKING:
    from s3dlio.store import ObjectStore

__all__ = ["copy", "download", "is_uri", "safe_local_path", "upload"]

ItemCallback = Callable[[str, int], None]
"""Called as ``on_item(name, nbytes)`` after each successful item (progress bars)."""

_GLOB_CHARS = frozenset("*?[")


def is_uri(text: str) -> bool:
    """``True`` for ``scheme://…``; anything else is a local path."""
    i = text.find("://")
    return i > 0 and text[:i].replace("+", "").replace("-", "").replace(".", "").isalnum()


def _resolve(uri: str, op: str = "copy") -> tuple[ObjectStore, str]:
    # Imported lazily so ``import s3dlio.api.transfer`` composes no plugins.

    return resolve(uri, op)


def _create_container(store: ObjectStore) -> None:
    """``create_bucket=True``: the destination's container (``NotSupportedError`` without one)."""
    require(store, Capability.BUCKETS, op="create_bucket").create_container("")


# ------------------------------------------------------------------------------ upload


def _expand_sources(patterns: Sequence[str]) -> list[str]:
    """Absolute paths of the files named by ``patterns`` (globs, directories, files), deduplicated."""
    found: list[str] = []
    seen: set[str] = set()

    def add(path: str) -> None:
        full = os.path.abspath(path)
        if full not in seen:
            seen.add(full)
            found.append(full)

    def add_dir(path: str) -> None:
        # A directory contributes its top-level regular files only (docs/api.md, "Transfers").
        with os.scandir(path) as it:
            for entry in sorted(it, key=lambda e: e.name):
                if entry.is_file():
                    add(entry.path)

    for pattern in patterns:
        pattern = os.fspath(pattern)
        if _GLOB_CHARS.intersection(pattern):
            for match in sorted(glob.glob(pattern, recursive=True)):
                if os.path.isdir(match):
                    add_dir(match)
                elif os.path.isfile(match):
                    add(match)
        elif os.path.isdir(pattern):
            add_dir(pattern)
        elif os.path.isfile(pattern):
            add(pattern)
        else:
            raise NotFoundError("no such file or directory", op="upload", uri=pattern)
    return found


def _check_name_clash(files: Sequence[str]) -> None:
    """Two different sources with one basename would overwrite each other: refuse up front."""
    by_name: dict[str, list[str]] = {}
    for path in files:
        by_name.setdefault(os.path.basename(path), []).append(path)
    clashes = {name: paths for name, paths in by_name.items() if len(paths) > 1}
    if clashes:
        detail = "; ".join(f"{name}: {', '.join(paths)}" for name, paths in sorted(clashes.items()))
        raise ValueError(f"upload: several sources have the same name (nothing was uploaded): {detail}")


def _dir_key(key: str) -> str:
    return key if not key or key.endswith("/") else key + "/"


def upload(
    src_patterns: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
    dest_prefix: str,
    max_in_flight: int = 32,
    create_bucket: bool = False,
    *,
    on_item: ItemCallback | None = None,
    shard: tuple[int, int] | None = None,
    skip_existing: bool = False,
) -> dict[str, int]:
    """Upload local files to ``dest_prefix/<basename>``.

    ``src_patterns`` is one path or glob (``*``, ``?``, ``**``) or a list of them; a
    directory means its top-level files. Nothing matched raises ``NotFoundError``;
    two sources with one basename raise ``ValueError`` before anything is sent.
    Failures raise one ``BatchError`` after every file has settled. Returns
    ``{"attempted", "succeeded", "failed", "skipped", "bytes"}``. ``shard=(rank, world)``
    keeps the files whose index in the sorted expansion is ``rank`` modulo ``world``
    (:mod:`s3dlio.dist`); ``skip_existing`` leaves destinations that exist.
    """
    window = check_window(max_in_flight)
    if isinstance(src_patterns, (str, os.PathLike)):
        patterns = [os.fspath(src_patterns)]
    else:
        patterns = [os.fspath(p) for p in src_patterns]
    files = _expand_sources(patterns)
    if not files:
        raise NotFoundError("no files matched", op="upload", uri=", ".join(patterns))
    _check_name_clash(files)
    store, prefix = _resolve(dest_prefix, "upload")
    if create_bucket:
        _create_container(store)
    prefix = _dir_key(prefix)
    files = _shard(files, shard)
    skipped = 0
    if skip_existing:
        kept = [f for f in files if not store.exists(prefix + os.path.basename(f))]
        skipped, files = len(files) - len(kept), kept

    def one(path: str) -> int:
        size = store.put_file(prefix + os.path.basename(path), path)
        if on_item is not None:
            on_item(path, size)
        return size

    return _settle("upload", one, files, window, label=lambda p: p, uri=dest_prefix, skipped=skipped)


def _shard(items: list[Any], shard: tuple[int, int] | None) -> list[Any]:
    """This rank's share of ``items`` (every item when ``shard`` is ``None``)."""
    return items if shard is None else take_share(items, shard)


def _settle(
    op: str,
    fn: Callable[[Any], int],
    items: Sequence[Any],
    window: int,
    *,
    label: Callable[[Any], str],
    uri: str,
    skipped: int = 0,
) -> dict[str, int]:
    """Run ``fn`` over ``items``; a summary on success, one ``BatchError`` once all settle otherwise."""
    settled = run_batch_settled(fn, items, window=min(window, max(len(items), 1)))
    failures: list[tuple[str, BaseException]] = []
    sizes: list[int] = []
    for item, result in zip(items, settled, strict=True):
        if is_failure(result):
            failures.append((label(item), result.exc))  # type: ignore[union-attr]
        else:
            sizes.append(result if isinstance(result, int) else 0)
    if failures:
        raise BatchError(op, failures, succeeded=len(sizes), uri=uri)
    return {
        "attempted": len(items),
        "succeeded": len(sizes),
        "failed": 0,
        "skipped": skipped,
        "bytes": sum(sizes),
    }


# ------------------------------------------------------------------------------ download


def _split_glob(key: str) -> tuple[str, str | None]:
    head, _, last = key.rpartition("/")
    if _GLOB_CHARS.intersection(last):
        return (head + "/" if head else ""), last
    return key, None


def plan_objects(
    src_uri: str, recursive: bool, op: str = "download"
) -> tuple[ObjectStore, list[tuple[str, str]]]:
    """``(store, [(key, relative_path)])`` for the objects under ``src_uri``.

    One object exactly at ``src_uri`` maps to its basename; otherwise keys are
    relative to the directory ``src_uri`` (or to the directory of a last-segment
    glob). Non-recursive means direct children only.
    """

    store, key = _resolve(src_uri, op)
    dir_part, pattern = _split_glob(key)
    items: list[tuple[str, str]] = []
    if pattern is None and key and not key.endswith("/"):
        listed = [k for _, k in _list_keys(src_uri, recursive, None) if not k.endswith("/")]
        if key in listed:
            # An object exactly at the URI is downloaded under its basename.
            items.append((key, key.rpartition("/")[2]))
            listed.remove(key)
        base = key + "/"
    else:
        listed = [k for _, k in _list_keys(src_uri, recursive, None) if not k.endswith("/")]
        base = dir_part if pattern is not None else key
    for k in listed:
        items.append((k, k[len(base):] if k.startswith(base) else k.rpartition("/")[2]))
    return store, items


def _bad_segments(rel: str) -> str | None:
    """Why ``rel`` cannot be a path below the destination directory (``None``: it can)."""
    if not rel:
        return "empty relative path"
    if "\x00" in rel:
        return "NUL byte in key"
    if rel.startswith(("/", "\\")):
        return "absolute path in key"
    for seg in rel.split("/"):
        if seg == "":
            return "empty path segment in key"
        if seg in (".", ".."):
            return f"path segment {seg!r} in key"
    return None


def safe_local_path(dest_dir: str, rel: str, *, uri: str, op: str = "download") -> str:
    """``dest_dir/rel`` after checking it stays inside ``dest_dir`` (symlinks included)."""
    why = _bad_segments(rel)
    if why is not None:
        raise InvalidPathError(f"refusing to write outside the destination: {why}", op=op, uri=uri)
    root = os.path.realpath(dest_dir)
    path = os.path.join(root, *rel.split("/"))
    parent = os.path.realpath(os.path.dirname(path))
    if parent != root and not parent.startswith(root + os.sep):
        raise InvalidPathError("refusing to write outside the destination (symlinked directory)",
                               op=op, uri=uri)
    return path


def _clashing(rels: Iterable[str]) -> set[str]:
    """Relative paths that are files and also parent directories of other paths."""
    rels = set(rels)
    dirs: set[str] = set()
    for rel in rels:
        parts = rel.split("/")
        for i in range(1, len(parts)):
            dirs.add("/".join(parts[:i]))
    return rels & dirs


def download(
    src_uri: str,
    dest_dir: str | os.PathLike[str],
    max_in_flight: int = 64,
    recursive: bool = True,
    *,
    on_item: ItemCallback | None = None,
    shard: tuple[int, int] | None = None,
    skip_existing: bool = False,
) -> dict[str, int]:
    """Download the objects under ``src_uri`` into ``dest_dir``, keeping their relative tree.

    One object at ``src_uri`` lands as ``dest_dir/<basename>``. Each file is
    written atomically. Keys with ``..``, absolute or empty segments or NUL, and
    a key that is both a file and a directory fail that item; nothing is written
    outside ``dest_dir``. Nothing found raises ``NotFoundError``; failures raise
    one ``BatchError`` after all items settle. ``shard=(rank, world)`` keeps this
    rank's share of the sorted listing; ``skip_existing`` leaves local files that
    exist with the object's size (a resumed run).
    """
    window = check_window(max_in_flight)
    dest = os.path.abspath(os.fspath(dest_dir))
    store, items = plan_objects(src_uri, recursive)
    if not items:
        raise NotFoundError(f"No objects found to download under {src_uri}", op="download", uri=src_uri)
    try:
        os.makedirs(dest, exist_ok=True)
    except FileExistsError as exc:  # a file (or a dangling link) where the directory must be
        raise InvalidPathError(f"the destination {dest} exists and is not a directory",
                               op="download", uri=src_uri) from exc
    except OSError as exc:
        raise translate_os_error(exc, op="download", uri=src_uri, backend="posix") from exc
    clashes = _clashing(rel for _, rel in items)
    items = _shard(sorted(items), shard)
    skipped = 0
    if skip_existing:
        kept = [it for it in items if not _have_local(dest, it, store)]
        skipped, items = len(items) - len(kept), kept

    def one(item: tuple[str, str]) -> int:
        key, rel = item
        uri = store.uri(key)
        if rel in clashes:
            raise InvalidPathError(f"{rel!r} is needed both as a file and as a directory",
                                   op="download", uri=uri)
        path = safe_local_path(dest, rel, uri=uri)
        size = store.get_to_file(key, path)
        if on_item is not None:
            on_item(uri, size)
        return size

    return _settle("download", one, items, window, label=lambda it: store.uri(it[0]), uri=src_uri,
                   skipped=skipped)


def _have_local(dest: str, item: tuple[str, str], store: ObjectStore) -> bool:
    """A local file for ``item`` exists with the object's size (an interrupted run wrote it)."""
    key, rel = item
    if _bad_segments(rel) is not None:
        return False  # let the item fail with its own error
    path = os.path.join(dest, *rel.split("/"))
    if not os.path.isfile(path):
        return False
    return os.path.getsize(path) == store.head(key).size


# ------------------------------------------------------------------------------ copy


def _local_files(src: str, recursive: bool) -> list[tuple[str, str]]:
    """``[(path, relative_path)]`` of a local file or (recursively) a directory."""
    if os.path.isfile(src):
        return [(os.path.abspath(src), os.path.basename(src))]
    if not os.path.isdir(src):
        raise NotFoundError("no such file or directory", op="cp", uri=src)
    if not recursive:
        raise InvalidPathError("is a directory (use -r to copy it recursively)", op="cp", uri=src)
    out = []
    for dirpath, dirnames, filenames in os.walk(src):
        dirnames.sort()
        for name in sorted(filenames):
            path = os.path.join(dirpath, name)
            out.append((os.path.abspath(path), os.path.relpath(path, src).replace(os.sep, "/")))
    return out


def _selected(rel: str, filters: Sequence[tuple[str, str]]) -> bool:
    """Apply ``--include``/``--exclude`` globs in command-line order; the last match wins."""
    keep = True
    for kind, pattern in filters:
        if fnmatch.fnmatchcase(rel, pattern):
            keep = kind == "include"
    return keep


def _dest_is_dir(dst: str, many: bool) -> bool:
    if dst.endswith("/") or many:
        return True
    return not is_uri(dst) and os.path.isdir(dst)


def copy(
    src: str,
    dst: str,
    *,
    recursive: bool = False,
    max_in_flight: int = 32,
    no_clobber: bool = False,
    filters: Sequence[tuple[str, str]] = (),
    dry_run: bool = False,
    create_bucket: bool = False,
    on_item: ItemCallback | None = None,
    on_plan: Callable[[str, str], None] | None = None,
    shard: tuple[int, int] | None = None,
) -> dict[str, int]:
    """Copy between local paths and URIs (``-`` = stdin/stdout); ``s3-cli cp``.

    URI→URI within one store is a server-side ``copy``; across backends the data
    goes through memory. ``filters`` is ``[("include"|"exclude", glob)]`` on the
    relative path. ``no_clobber`` skips existing destinations; ``dry_run`` only
    calls ``on_plan(src, dst)``. Failures raise one ``BatchError``.
    ``shard=(rank, world)`` keeps this rank's share of the sorted sources
    (:mod:`s3dlio.dist`); with ``no_clobber`` a rerun resumes.
    """
    window = check_window(max_in_flight)
    if src == "-":
        return _copy_stdin(dst, dry_run=dry_run, on_plan=on_plan)
    if is_uri(src):
        sources = _uri_sources(src, recursive)
    else:
        sources = _local_files(src, recursive)
    sources = [(s, rel) for s, rel in sources if _selected(rel, filters)]
    if not sources:
        raise NotFoundError(f"nothing to copy from {src}", op="cp", uri=src)
    if shard is not None:  # after the check: a rank may well have nothing to do
        sources = _shard(sorted(sources), shard)
    if dst == "-":
        if len(sources) != 1:
            raise ValueError("cp: '-' as destination needs exactly one source object")
        return _copy_stdout(sources[0][0], dry_run=dry_run, on_plan=on_plan)
    into_dir = _dest_is_dir(dst, recursive or len(sources) > 1)
    if create_bucket and is_uri(dst):
        _create_container(_resolve(dst)[0])
    pairs = []
    for source, rel in sources:
        target = _join(dst, rel) if into_dir else dst
        pairs.append((source, target, rel))
    skipped = 0
    if no_clobber:
        kept = [p for p in pairs if not _exists(p[1])]
        skipped = len(pairs) - len(kept)
        pairs = kept
    if dry_run:
        for source, target, _ in pairs:
            if on_plan is not None:
                on_plan(source, target)
        return {"attempted": 0, "succeeded": 0, "failed": 0, "skipped": skipped, "bytes": 0}

    def one(pair: tuple[str, str, str]) -> int:
        size = _copy_one(pair[0], pair[1], dst_root=dst if into_dir else None, rel=pair[2])
        if on_item is not None:
            on_item(pair[0], size)
        return size

    return _settle("cp", one, pairs, window, label=lambda p: p[0], uri=src, skipped=skipped)


def _uri_sources(src: str, recursive: bool) -> list[tuple[str, str]]:
    """``[(uri, relative_path)]``: without ``recursive`` only the object itself or a glob's matches."""
    store, key = _resolve(src)
    if recursive or _split_glob(key)[1] is not None:
        _, planned = plan_objects(src, recursive, "copy")
        return [(store.uri(k), rel) for k, rel in planned]
    if not key or key.endswith("/"):
        raise InvalidPathError("is a directory (use -r to copy it recursively)", op="cp", uri=src)
    store.head(key)  # NotFoundError when missing
    return [(store.uri(key), key.rpartition("/")[2])]


def _join(base: str, rel: str) -> str:
    if is_uri(base):
        return base.rstrip("/") + "/" + rel if not base.endswith("://") else base + rel
    return os.path.join(base, *rel.split("/"))


def _exists(target: str) -> bool:
    if is_uri(target):
        store, key = _resolve(target)
        return store.exists(key)
    return os.path.exists(target)


def _copy_one(source: str, target: str, *, dst_root: str | None, rel: str) -> int:
    """Copy one item; local targets are checked to stay under ``dst_root``."""
    if not is_uri(target):
        path = safe_local_path(dst_root, rel, uri=source, op="cp") if dst_root else target
        if is_uri(source):
            store, key = _resolve(source)
            return store.get_to_file(key, path)
        from s3dlio.store.localfs import atomic_write

        with open(source, "rb") as fh:
            data = fh.read()
        return atomic_write(path, memoryview(data), op="cp", uri=path)
    dst_store, dst_key = _resolve(target)
    if not is_uri(source):
        return dst_store.put_file(dst_key, source)
    src_store, src_key = _resolve(source)
    if src_store is dst_store:
        # Within one store its own copy: no data through this process where the store
        # has Capability.SERVER_COPY, the store's best client-side copy otherwise.
        dst_store.copy(src_key, dst_key)
        return dst_store.head(dst_key).size
    payload = src_store.get(src_key)
    dst_store.put(dst_key, payload.memoryview())
    return len(payload)


def _copy_stdin(dst: str, *, dry_run: bool, on_plan: Callable[[str, str], None] | None) -> dict[str, int]:
    if dry_run:
        if on_plan is not None:
            on_plan("-", dst)
        return {"attempted": 0, "succeeded": 0, "failed": 0, "skipped": 0, "bytes": 0}
    data = sys.stdin.buffer.read()
    if is_uri(dst):
        store, key = _resolve(dst)
        store.put(key, memoryview(data))
    else:
        from s3dlio.store.localfs import atomic_write

        atomic_write(os.path.abspath(dst), memoryview(data), op="cp", uri=dst)
    return {"attempted": 1, "succeeded": 1, "failed": 0, "skipped": 0, "bytes": len(data)}


def _copy_stdout(source: str, *, dry_run: bool, on_plan: Callable[[str, str], None] | None) -> dict[str, int]:
    if dry_run:
        if on_plan is not None:
            on_plan(source, "-")
        return {"attempted": 0, "succeeded": 0, "failed": 0, "skipped": 0, "bytes": 0}
    data: memoryview
    if is_uri(source):
        store, key = _resolve(source)
        data = store.get(key).memoryview()
    else:
        with open(source, "rb") as fh:
            data = memoryview(fh.read())
    sys.stdout.flush()
    sys.stdout.buffer.write(data)
    sys.stdout.buffer.flush()
    return {"attempted": 1, "succeeded": 1, "failed": 0, "skipped": 0, "bytes": len(data)}
