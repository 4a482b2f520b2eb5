"""``s3-cli list``/``ls`` and ``s3-cli stat``.

``ls`` prints what :func:`s3dlio.list` returns, in its order (sorted by URI);
``-U`` streams the entries in the backend's listing order instead, with bounded
memory. ``-c`` counts objects, and directories separately. A URI at which
nothing exists (see :func:`nothing_at`) exits 4; an existing empty directory
lists nothing and exits 0.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Iterable
from typing import Any

from s3dlio.cli.context import EXIT_OK, CliContext
from s3dlio.cli.main import silence_stdout
from s3dlio.cli.sizes import format_iec, regex_arg
from s3dlio.errors import InvalidPathError, NotFoundError, NotSupportedError
from s3dlio.plugin.runtime import resolve

__all__ = ["ListCommand", "StatCommand", "nothing_at", "print_stat"]

_GLOB = frozenset("*?[")


def nothing_at(uri: str) -> bool:
    """``True`` if no directory (prefix) exists at ``uri``; ask only after an empty listing.

    The rule is what every store can tell: a directory exists when a delimited listing
    of it yields a page, or a directory marker object ``dir/`` (what :func:`s3dlio.mkdir`
    writes on object stores) exists. ``file://`` yields one page, maybe empty, for a
    directory that exists and none for one that does not; object stores yield only pages
    with entries, so there an empty prefix without a marker is missing — all they know.
    For a glob the glob's directory is asked; a bucket or filesystem root always exists
    (listing a missing bucket fails by itself). One listing request and at most one
    stat, made only when the listing was empty.
    """

    store, key = resolve(uri)
    head, _, last = key.rpartition("/")
    if _GLOB.intersection(last):
        key = head + "/" if head else ""
    elif key and not key.endswith("/"):
        key += "/"
    if not key:
        return False
    try:
        if next(iter(store.list(key, recursive=False)), None) is not None:
            return False
        return not store.exists(key)  # a marker some stores leave out of the listing of dir/
    except NotFoundError:
        return True
    except (InvalidPathError, NotSupportedError):
        return True  # the store has no objects named like directories: no marker


class ListCommand:
    """Print the URIs under a directory URI, one per line, sorted (``-U``: streamed)."""

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("uri", help="directory URI, object URI or glob (file:///data/*.npz)")
        parser.add_argument("-r", "--recursive", action="store_true", help="descend into sub-directories")
        parser.add_argument("-p", "--pattern", metavar="RE", type=regex_arg,
                            help="regex searched in the relative path")
        parser.add_argument("-c", "--count-only", action="store_true",
                            help="print only the counts (objects; directories apart) and the rate")
        parser.add_argument("-l", "--long", action="store_true", help="also size and last-modified time")
        parser.add_argument("-U", "--unsorted", action="store_true",
                            help="stream in listing order (bounded memory) instead of sorting")
        parser.add_argument("--human-readable", action="store_true", help="sizes in KiB/MiB/GiB")
        parser.add_argument("--summarize", action="store_true", help="total objects and size at the end")

    def run(self, args: argparse.Namespace, ctx: CliContext) -> int:
        import s3dlio

        want_size = args.long or args.summarize
        objects = directories = total = 0
        start = time.perf_counter()
        try:
            listed: Iterable[str] = s3dlio.list_iter(args.uri, recursive=args.recursive,
                                                     pattern=args.pattern)
            if not (args.count_only or args.unsorted):
                listed = sorted(listed)  # s3dlio.list's order
            for uri in listed:
                if uri.endswith("/"):
                    directories += 1
                else:
                    objects += 1
                if args.count_only:
                    continue
                meta = _meta(uri) if want_size else None
                if meta is not None:
                    total += meta["size"]
                ctx.emit({"type": "prefix" if uri.endswith("/") else "object", "uri": uri, **(meta or {})},
                         _line(uri, meta, args) if args.long else uri)
            if not objects and not directories and nothing_at(args.uri):
                raise NotFoundError("no such object or directory", op="list", uri=args.uri)
            elapsed = time.perf_counter() - start
            if args.count_only:
                rate = objects / elapsed if elapsed > 0 else 0.0
                dirs = "" if args.recursive else f", directories: {directories}"
                ctx.emit({"type": "count", "count": objects, "directories": directories,
                          "seconds": elapsed, "rate": rate},
                         f"Total objects: {objects}{dirs} ({elapsed:.3f}s, rate: {rate:,.0f} objects/s)")
            ctx.stdout.flush()
        except BrokenPipeError:
            # `s3-cli ls … | head` closing the pipe early is a normal way to stop.
            silence_stdout()
            return EXIT_OK
        if args.summarize:
            size = format_iec(total) if args.human_readable else str(total)
            dirs = f"\n  Directories: {directories}" if directories else ""
            ctx.info(f"Total Objects: {objects}{dirs}\n   Total Size: {size}")
        ctx.set_summary(count=objects, directories=directories, **({"bytes": total} if want_size else {}))
        return EXIT_OK


def _meta(uri: str) -> dict[str, Any] | None:
    """Size and time of an object; ``None`` for a directory entry."""
    if uri.endswith("/"):
        return None
    import s3dlio

    st = s3dlio.stat(uri)
    return {"size": st["size"], "last_modified": st["last_modified"]}


def _line(uri: str, meta: dict[str, Any] | None, args: argparse.Namespace) -> str:
    if meta is None:
        return f"{'':27} {'DIR':>12}  {uri}"
    size = format_iec(meta["size"]) if args.human_readable else str(meta["size"])
    return f"{meta['last_modified'] or '-':27} {size:>12}  {uri}"


_LABELS = {
    "etag": "ETag",
    "ssekms_key_id": "SSE-KMS Key Id",
    "sse_customer_algorithm": "SSE Customer Algorithm",
    "server_side_encryption": "Server Side Encryption",
}


class StatCommand:
    """Print ``Key: value`` lines of an object's metadata."""

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("uris", nargs="+", metavar="URI", help="object URI(s)")

    def run(self, args: argparse.Namespace, ctx: CliContext) -> int:
        import s3dlio

        for i, uri in enumerate(args.uris):
            st = s3dlio.stat(uri)
            if i and not ctx.json_mode:
                ctx.out("")
            print_stat(ctx, uri, st)
        ctx.set_summary(count=len(args.uris))
        return EXIT_OK


def print_stat(ctx: CliContext, uri: str, st: dict[str, Any]) -> None:
    """``Key: value`` lines (or one JSON record) for ``stat``'s dictionary."""
    ctx.emit({"type": "stat", "uri": uri, **st})
    if ctx.json_mode:
        return
    ctx.out(f"URI: {uri}")
    for key, value in st.items():
        label = _LABELS.get(key) or key.replace("_", " ").title()
        if isinstance(value, dict):
            value = ", ".join(f"{k}={v}" for k, v in value.items()) or None
        ctx.out(f"{label}: {value if value is not None else '-'}")
