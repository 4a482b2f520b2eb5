"""``s3-cli list``/``ls`` and ``s3-cli stat``."""

from __future__ import annotations

import argparse
import time
from typing import Any

from s3dlio.cli.context import EXIT_OK, CliContext
from s3dlio.cli.sizes import format_iec

__all__ = ["ListCommand", "StatCommand", "print_stat"]


class ListCommand:
    """Stream the URIs under a directory URI, one per line."""

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("uri", help="directory URI, object URI or glob (file:///data/*.npz)")
        parser.add_argument("-r", "--recursive", action="store_true", help="descend into sub-directories")
        parser.add_argument("-p", "--pattern", metavar="RE", help="regex searched in the relative path")
        parser.add_argument("-c", "--count-only", action="store_true", help="print only the count and rate")
        parser.add_argument("-l", "--long", action="store_true", help="also size and last-modified time")
        parser.add_argument("--human-readable", action="store_true", help="sizes in KiB/MiB/GiB")
        parser.add_argument("--summarize", action="store_true", help="total objects and size at the end")

    def run(self, args: argparse.Namespace, ctx: CliContext) -> int:
        import s3dlio
        from s3dlio.cli.main import silence_stdout

        want_size = args.long or args.summarize
        count = 0
        total = 0
        start = time.perf_counter()
        try:
            for uri in s3dlio.list_iter(args.uri, recursive=args.recursive, pattern=args.pattern):
                count += 1
                if args.count_only:
                    continue
                meta = _meta(uri) if want_size else None
                if meta is not None:
                    total += meta["size"]
                ctx.emit({"type": "prefix" if uri.endswith("/") else "object", "uri": uri, **(meta or {})},
                         _line(uri, meta, args) if args.long else uri)
            elapsed = time.perf_counter() - start
            if args.count_only:
                rate = count / elapsed if elapsed > 0 else 0.0
                ctx.emit({"type": "count", "count": count, "seconds": elapsed, "rate": rate},
                         f"Total objects: {count} ({elapsed:.3f}s, rate: {rate:,.0f} objects/s)")
            ctx.stdout.flush()
        except BrokenPipeError:
            # `s3-cli ls … | head` closing the pipe early is a normal way to stop.
            silence_stdout()
            return EXIT_OK
        if args.summarize:
            size = format_iec(total) if args.human_readable else str(total)
            ctx.info(f"Total Objects: {count}\n   Total Size: {size}")
        ctx.set_summary(count=count, **({"bytes": total} if want_size else {}))
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
