"""``s3-cli delete``/``rm``: one object, a glob's matches, or a whole prefix (``-r``)."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from s3dlio.cli.cmd_list import nothing_at
from s3dlio.cli.context import EXIT_OK, CliContext, UsageError
from s3dlio.cli.sizes import jobs_arg, regex_arg
from s3dlio.errors import BatchError, NotFoundError
from s3dlio.plugin.runtime import resolve

if TYPE_CHECKING:
    from s3dlio.store import ObjectStore

__all__ = ["DeleteCommand", "plan_delete"]

_GLOB = frozenset("*?[")


def plan_delete(uri: str, recursive: bool, pattern: str | None) -> list[str]:
    """The object URIs ``delete(uri, recursive)`` would remove, filtered by ``pattern``.

    Mirrors :func:`s3dlio.delete`: a glob deletes its matches, ``-r`` or a trailing
    ``/`` everything under the prefix (plus an object exactly at ``uri``), else
    the one object.
    """
    import s3dlio

    last = uri.rpartition("/")[2]
    if _GLOB.intersection(last):
        listed = s3dlio.list_iter(uri, recursive=recursive, pattern=pattern)
    elif recursive or uri.endswith(("/", "://")):
        store, key = resolve(uri)
        if key and store.is_link(key):
            return [store.uri(key.rstrip("/"))]  # the link itself, never what it points to
        listed = s3dlio.list_iter(uri, recursive=True, pattern=pattern)
    else:
        if pattern is not None:
            import re

            if not re.search(pattern, last):
                return []
        return [uri] if s3dlio.exists(uri) else []
    return [u for u in listed if not u.endswith("/")]


def _delete_batched(uris: list[str], batch: int) -> list[tuple[str, BaseException]]:
    """Delete ``uris`` with the store's batched delete, ``batch`` keys at a time; the failures."""

    failures: list[tuple[str, BaseException]] = []
    for i in range(0, len(uris), batch):
        groups: dict[int, tuple[ObjectStore, list[str]]] = {}
        for uri in uris[i:i + batch]:
            store, key = resolve(uri)
            groups.setdefault(id(store), (store, []))[1].append(key)
        for store, keys in groups.values():
            for key, exc in store.delete_many(keys):
                failures.append((store.uri(key), exc))
    return failures


def _check_something_there(uri: str, recursive: bool) -> None:
    """Refuse to report "Deleted" for nothing: ``NotFoundError`` (exit 4) when no object
    (or, recursively, nothing under the prefix and no directory) is at ``uri``; a
    directory named without ``-r`` is a usage error (exit 2)."""
    import s3dlio

    if recursive or uri.endswith(("/", "://")):
        if next(iter(s3dlio.list_iter(uri, recursive=True)), None) is None and nothing_at(uri):
            raise NotFoundError("no such object or directory", op="delete", uri=uri)
    elif not s3dlio.exists(uri):
        if not nothing_at(uri):
            raise UsageError(f"{uri} is a directory: add -r to delete everything under it")
        raise NotFoundError("no such object", op="delete", uri=uri)


def _guard_root(uri: str, *, force: bool, yes: bool, dry_run: bool) -> None:
    """Refuse a recursive delete of a filesystem root (``file:///``) or a whole bucket
    unless ``--force``; then ask on a terminal, or require ``--yes`` without one.

    Even ``--dry-run`` is refused: listing a whole filesystem is never what was meant.
    """
    store, key = resolve(uri)
    if key.strip("/"):
        return
    root = store.uri("")
    if not force:
        raise UsageError(f"refusing to delete everything under the root {root}: "
                         "add --force if that is really meant")
    if dry_run or yes:
        return
    if not sys.stdin.isatty():
        raise UsageError(f"deleting everything under {root} needs --yes when stdin is not a terminal")
    sys.stderr.write(f"Delete EVERYTHING under {root}? Type 'yes' to confirm: ")
    sys.stderr.flush()
    if sys.stdin.readline().strip().lower() != "yes":
        raise UsageError("not confirmed; nothing deleted")


class DeleteCommand:
    """Delete objects; ``--dry-run`` lists what would go and deletes nothing."""

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("uri", metavar="URI", help="object URI, glob, or prefix (with -r)")
        parser.add_argument("-r", "--recursive", action="store_true", help="everything under the prefix")
        parser.add_argument("-p", "--pattern", metavar="RE", type=regex_arg,
                            help="only paths matching this regex")
        parser.add_argument("-j", "--jobs", type=jobs_arg, default=1000, metavar="N",
                            help="keys per delete batch (1000)")
        parser.add_argument("--dry-run", "--dryrun", dest="dry_run", action="store_true",
                            help="list what would be deleted; delete nothing")
        parser.add_argument("--force", action="store_true",
                            help="allow -r of a filesystem or bucket root (asks on a terminal)")
        parser.add_argument("-y", "--yes", action="store_true",
                            help="with --force: do not ask (needed when stdin is not a terminal)")

    def run(self, args: argparse.Namespace, ctx: CliContext) -> int:
        import s3dlio

        glob = _GLOB.intersection(args.uri.rpartition("/")[2])
        if args.recursive or args.uri.endswith(("/", "://")):
            _guard_root(args.uri, force=args.force, yes=args.yes, dry_run=args.dry_run)
        if args.pattern is None and not args.dry_run and not glob:
            _check_something_there(args.uri, args.recursive)
            # The library streams big prefixes in batches and tidies emptied directories.
            s3dlio.delete(args.uri, recursive=args.recursive)
            ctx.emit({"type": "delete", "uri": args.uri, "recursive": args.recursive})
            ctx.info(f"Deleted {args.uri}" + (" (recursive)" if args.recursive else ""))
            ctx.set_summary(failed=0)
            return EXIT_OK
        targets = plan_delete(args.uri, args.recursive, args.pattern)
        if args.dry_run:
            for uri in targets:
                ctx.emit({"type": "delete", "uri": uri, "dry_run": True}, f"(dryrun) delete: {uri}")
            ctx.info(f"{len(targets)} objects would be deleted")
            ctx.set_summary(would_delete=len(targets))
            return EXIT_OK
        if not targets:
            raise NotFoundError("no objects matched", op="delete", uri=args.uri)
        failures = _delete_batched(targets, args.jobs)
        failed = {uri for uri, _ in failures}
        for uri in targets:
            if uri not in failed:
                ctx.emit({"type": "delete", "uri": uri}, None)
        if failures:
            raise BatchError("delete", failures, succeeded=len(targets) - len(failures), uri=args.uri)
        ctx.info(f"{len(targets)} ok, 0 failed")
        ctx.set_summary(ok=len(targets), failed=0)
        return EXIT_OK
