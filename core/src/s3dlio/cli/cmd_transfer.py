"""``s3-cli upload``, ``download`` and ``cp``: thin wrappers over :mod:`s3dlio.api.transfer`."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from s3dlio.api.transfer import copy, download, upload
from s3dlio.cli.context import EXIT_OK, CliContext, Progress
from s3dlio.cli.sizes import jobs_arg
from s3dlio.errors import BatchError

__all__ = ["CopyCommand", "DownloadCommand", "UploadCommand"]


def _summarize(ctx: CliContext, op: str, run: Callable[[Progress], dict[str, int]]) -> int:
    """Run a transfer, print ``OP summary: attempted=…`` and ``N ok, M failed`` on stderr."""
    bar = ctx.progress(None, op.lower())
    try:
        result = run(bar)
    except BatchError as exc:
        bar.close()
        failed = len(exc.failures)
        ctx.info(f"{op} summary: attempted={exc.succeeded + failed}, succeeded={exc.succeeded}, "
                 f"failed={failed}")
        raise  # main prints "N ok, M failed" with every failure and exits 3
    bar.close()
    ctx.info(f"{op} summary: attempted={result['attempted']}, succeeded={result['succeeded']}, "
             f"failed={result['failed']}")
    ctx.info(f"{result['succeeded']} ok, {result['failed']} failed")
    ctx.set_summary(ok=result["succeeded"], failed=result["failed"], bytes=result["bytes"],
                    skipped=result.get("skipped", 0))
    return EXIT_OK


def _on_item(ctx: CliContext, bar: Progress, kind: str) -> Callable[[str, int], None]:
    def callback(name: str, nbytes: int) -> None:
        bar.update(nbytes)
        if ctx.json_mode:
            ctx.emit({"type": kind, "uri": name, "bytes": nbytes})

    return callback


class UploadCommand:
    """Upload local files (paths, globs, directories) to ``DEST/<basename>``."""

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("sources", nargs="+", metavar="FILE", help="files, dirs or globs (*, ?, **)")
        parser.add_argument("dest", metavar="DEST", help="destination URI prefix")
        parser.add_argument("-j", "--jobs", type=jobs_arg, default=32, metavar="N",
                            help="files in flight (32)")
        parser.add_argument("-c", "--create-bucket", action="store_true", help="create the bucket first")

    def run(self, args: argparse.Namespace, ctx: CliContext) -> int:
        return _summarize(ctx, "UPLOAD", lambda bar: upload(
            args.sources, args.dest, max_in_flight=args.jobs, create_bucket=args.create_bucket,
            on_item=_on_item(ctx, bar, "upload"),
        ))


class DownloadCommand:
    """Download objects into a local directory, keeping their relative tree."""

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("src", metavar="SRC", help="object URI, directory URI or glob")
        parser.add_argument("dest", metavar="DIR", help="local destination directory")
        parser.add_argument("-j", "--jobs", type=jobs_arg, default=64, metavar="N",
                            help="objects in flight (64)")
        parser.add_argument("-r", "--recursive", action="store_true", help="include sub-directories")

    def run(self, args: argparse.Namespace, ctx: CliContext) -> int:
        return _summarize(ctx, "DOWNLOAD", lambda bar: download(
            args.src, args.dest, max_in_flight=args.jobs, recursive=args.recursive,
            on_item=_on_item(ctx, bar, "download"),
        ))


class _FilterAction(argparse.Action):
    """``--include``/``--exclude`` into one ordered list, so the later flag wins."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: Any, option_string: str | None = None) -> None:
        filters = list(getattr(namespace, "filters", None) or [])
        filters.append((self.const, values))
        namespace.filters = filters


class CopyCommand:
    """Copy local↔URI and URI→URI (server-side within one backend); ``-`` is stdin/stdout."""

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("src", metavar="SRC", help="local path, URI or - (stdin)")
        parser.add_argument("dest", metavar="DEST", help="local path, URI or - (stdout)")
        parser.add_argument("-j", "--jobs", type=jobs_arg, default=32, metavar="N",
                            help="items in flight (32)")
        parser.add_argument("-r", "--recursive", action="store_true", help="copy a whole directory/prefix")
        parser.add_argument("-c", "--create-bucket", action="store_true", help="create the bucket first")
        parser.add_argument("-n", "--no-clobber", action="store_true", help="skip existing destinations")
        parser.add_argument("--dry-run", "--dryrun", dest="dry_run", action="store_true",
                            help="show what would be copied")
        parser.add_argument("--include", action=_FilterAction, const="include", metavar="GLOB",
                            help="copy matching relative paths (later flags win)")
        parser.add_argument("--exclude", action=_FilterAction, const="exclude", metavar="GLOB",
                            help="skip matching relative paths (later flags win)")
        parser.set_defaults(filters=[])

    def run(self, args: argparse.Namespace, ctx: CliContext) -> int:
        def plan(src: str, dst: str) -> None:
            ctx.emit({"type": "copy", "src": src, "dest": dst, "dry_run": True},
                     f"(dryrun) copy: {src} -> {dst}")

        if args.dry_run:
            planned: list[str] = []

            def count(src: str, dst: str) -> None:
                planned.append(src)
                plan(src, dst)

            result = copy(args.src, args.dest, recursive=args.recursive, max_in_flight=args.jobs,
                          no_clobber=args.no_clobber, filters=args.filters, dry_run=True, on_plan=count)
            ctx.info(f"{len(planned)} items would be copied ({result['skipped']} skipped)")
            ctx.set_summary(would_copy=len(planned), skipped=result["skipped"])
            return EXIT_OK
        return _summarize(ctx, "COPY", lambda bar: copy(
            args.src, args.dest, recursive=args.recursive, max_in_flight=args.jobs,
            no_clobber=args.no_clobber, filters=args.filters, dry_run=args.dry_run,
            create_bucket=args.create_bucket, on_item=_on_item(ctx, bar, "copy"), on_plan=plan,
        ))
