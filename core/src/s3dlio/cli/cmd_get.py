"""``s3-cli get``: a read benchmark, or save one object (or a range of it) with ``-o``."""

from __future__ import annotations

import argparse
import os
import sys
import time

from s3dlio.cli.context import EXIT_OK, CliContext, UsageError
from s3dlio.cli.sizes import jobs_arg, size_arg
from s3dlio.errors import NotFoundError
from s3dlio.store.localfs import atomic_write

__all__ = ["GetCommand", "collect_uris"]


class GetCommand:
    """Read objects concurrently and report throughput (data discarded unless ``-o``)."""

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("uri", nargs="?", help="object URI, directory URI (with -r) or glob")
        parser.add_argument("-j", "--jobs", "--concurrent", dest="jobs", type=jobs_arg, default=64,
                            metavar="N", help="objects in flight (1..4096, default 64)")
        parser.add_argument("--keylist", metavar="FILE",
                            help="file with one URI (or key relative to URI) per line")
        parser.add_argument("-r", "--recursive", action="store_true", help="read everything under URI")
        parser.add_argument("--offset", type=size_arg, help="byte offset (one object only)")
        parser.add_argument("--length", type=size_arg, help="byte count (one object only)")
        parser.add_argument("-o", "--output", metavar="PATH|-", help="write the one object to PATH or stdout")

    def run(self, args: argparse.Namespace, ctx: CliContext) -> int:
        import s3dlio

        ctx.stdout_holds_data = args.output == "-"
        uris = collect_uris(args)
        if not uris:
            raise NotFoundError("no objects matched", op="get", uri=args.uri or args.keylist)
        ranged = args.offset is not None or args.length is not None
        if (ranged or args.output) and len(uris) != 1:
            raise UsageError(f"--offset/--length/--output need exactly one object, {len(uris)} matched")
        start = time.perf_counter()
        if ranged or args.output:
            uri = uris[0]
            data = s3dlio.get_range(uri, args.offset or 0, args.length) if ranged else s3dlio.get(uri)
            if args.output:
                _write_output(args.output, data.memoryview(), uri)
            count, nbytes = 1, len(data)
        else:
            count, nbytes = s3dlio.get_many_stats(uris, max_in_flight=args.jobs)
        elapsed = time.perf_counter() - start
        mbps = nbytes / elapsed / 1e6 if elapsed > 0 else 0.0
        rate = f"in {elapsed:.3f}s ({mbps:.2f} MB/s)"
        if args.output:
            # A download: say what was written where, not "benchmarked".
            target = "stdout" if args.output == "-" else args.output
            ctx.info(f"Wrote {nbytes} bytes of {uris[0]} to {target} {rate}")
            ctx.set_summary(output=target)
        else:
            ctx.info(f"Benchmarked {count} object{'' if count == 1 else 's'}: {nbytes} bytes {rate}")
        ctx.set_summary(ok=count, failed=0, bytes=nbytes, seconds=elapsed, mb_per_s=mbps)
        return EXIT_OK


def collect_uris(args: argparse.Namespace) -> list[str]:
    """The object URIs to read: a key list, a listing (``-r``, trailing ``/``, glob) or one URI."""
    import s3dlio

    if args.keylist:
        return _read_keylist(args.keylist, args.uri)
    if not args.uri:
        raise UsageError("get needs a URI or --keylist")
    uri: str = args.uri
    last = uri.rstrip("/").rpartition("/")[2]
    if args.recursive or uri.endswith("/") or any(c in last for c in "*?["):
        return [u for u in s3dlio.list_iter(uri, recursive=args.recursive) if not u.endswith("/")]
    return [uri]


def _read_keylist(path: str, base: str | None) -> list[str]:
    out = []
    try:
        fh = open(path, encoding="utf-8")  # noqa: SIM115 - closed by the with below
    except OSError as exc:  # a missing or unreadable --keylist is the caller's mistake (exit 2)
        raise UsageError(f"--keylist {path}: {exc.strerror or exc}") from exc
    with fh:
        for line in fh:
            item = line.strip()
            if not item or item.startswith("#"):
                continue
            if "://" not in item:
                if not base:
                    raise UsageError(f"--keylist entry {item!r} is a relative key: give the base URI too")
                item = base.rstrip("/") + "/" + item.lstrip("/")
            out.append(item)
    return out


def _write_output(target: str, data: memoryview, uri: str) -> None:
    if target == "-":
        sys.stdout.flush()
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return

    atomic_write(os.path.abspath(target), data, op="get", uri=uri)
