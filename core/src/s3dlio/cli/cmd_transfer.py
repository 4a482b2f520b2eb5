"""``s3-cli upload``, ``download`` and ``cp``: thin wrappers over :mod:`s3dlio.api.transfer`."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from s3dlio.api.transfer import copy, download, upload
from s3dlio.cli.context import EXIT_OK, CliContext, Progress, UsageError
from s3dlio.cli.sizes import jobs_arg
from s3dlio.errors import BatchError, ConfigError

__all__ = ["CopyCommand", "DownloadCommand", "UploadCommand", "add_rank_arguments", "rank_share"]


def add_rank_arguments(parser: argparse.ArgumentParser) -> None:
    """``--rank auto|N`` and ``--world-size auto|N`` (docs/cli.md, "Rank-aware commands")."""
    parser.add_argument("--rank", default="auto", metavar="auto|N",
                        help="this process's rank: takes the items with index %% world == rank "
                             "(auto: torch.distributed, RANK, OMPI_COMM_WORLD_RANK, PMI_RANK, SLURM_PROCID)")
    parser.add_argument("--world-size", default="auto", metavar="auto|N",
                        help="number of ranks (auto: WORLD_SIZE, OMPI_COMM_WORLD_SIZE, PMI_SIZE, "
                             "SLURM_NTASKS; else 1)")


def rank_share(args: argparse.Namespace) -> tuple[int, int]:
    """``(rank, world_size)`` from the rank flags and the launcher; a bad pair is a usage error."""
    from s3dlio.dist import parse_world_arg, world

    try:
        w = world(parse_world_arg(args.rank, "--rank"), parse_world_arg(args.world_size, "--world-size"))
    except ConfigError as exc:
        raise UsageError(str(exc)) from None
    return w.rank, w.world_size


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
        parser.add_argument("--skip-existing", action="store_true",
                            help="leave destinations that exist (resume an interrupted run)")
        add_rank_arguments(parser)

    def run(self, args: argparse.Namespace, ctx: CliContext) -> int:
        share = rank_share(args)
        return _summarize(ctx, "UPLOAD", lambda bar: upload(
            args.sources, args.dest, max_in_flight=args.jobs, create_bucket=args.create_bucket,
            on_item=_on_item(ctx, bar, "upload"), shard=share, skip_existing=args.skip_existing,
        ))


class DownloadCommand:
    """Download objects into a local directory, keeping their relative tree."""

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("src", metavar="SRC", help="object URI, directory URI or glob")
        parser.add_argument("dest", metavar="DIR", help="local destination directory")
        parser.add_argument("-j", "--jobs", type=jobs_arg, default=64, metavar="N",
                            help="objects in flight (64)")
        parser.add_argument("-r", "--recursive", action="store_true", help="include sub-directories")
        parser.add_argument("--skip-existing", action="store_true",
                            help="leave local files that exist with the object's size (resume)")
        add_rank_arguments(parser)

    def run(self, args: argparse.Namespace, ctx: CliContext) -> int:
        share = rank_share(args)
        return _summarize(ctx, "DOWNLOAD", lambda bar: download(
            args.src, args.dest, max_in_flight=args.jobs, recursive=args.recursive,
            on_item=_on_item(ctx, bar, "download"), shard=share, skip_existing=args.skip_existing,
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
        parser.add_argument("-n", "--no-clobber", "--skip-existing", dest="no_clobber", action="store_true",
                            help="skip existing destinations (reruns resume)")
        parser.add_argument("--dry-run", "--dryrun", dest="dry_run", action="store_true",
                            help="show what would be copied")
        parser.add_argument("--include", action=_FilterAction, const="include", metavar="GLOB",
                            help="copy matching relative paths (later flags win)")
        parser.add_argument("--exclude", action=_FilterAction, const="exclude", metavar="GLOB",
                            help="skip matching relative paths (later flags win)")
        parser.set_defaults(filters=[])
        add_rank_arguments(parser)

    def run(self, args: argparse.Namespace, ctx: CliContext) -> int:
        share = rank_share(args)
        def plan(src: str, dst: str) -> None:
            ctx.emit({"type": "copy", "src": src, "dest": dst, "dry_run": True},
                     f"(dryrun) copy: {src} -> {dst}")

        if args.dry_run:
            planned: list[str] = []

            def count(src: str, dst: str) -> None:
                planned.append(src)
                plan(src, dst)

            result = copy(args.src, args.dest, recursive=args.recursive, max_in_flight=args.jobs,
                          no_clobber=args.no_clobber, filters=args.filters, dry_run=True, on_plan=count,
                          shard=share)
            ctx.info(f"{len(planned)} items would be copied ({result['skipped']} skipped)")
            ctx.set_summary(would_copy=len(planned), skipped=result["skipped"])
            return EXIT_OK
        return _summarize(ctx, "COPY", lambda bar: copy(
            args.src, args.dest, recursive=args.recursive, max_in_flight=args.jobs,
            no_clobber=args.no_clobber, filters=args.filters, dry_run=args.dry_run,
            create_bucket=args.create_bucket, on_item=_on_item(ctx, bar, "copy"), on_plan=plan,
            shard=share,
        ))
