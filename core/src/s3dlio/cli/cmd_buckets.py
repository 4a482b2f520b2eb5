"""``s3-cli list-buckets``, ``create-bucket`` and ``delete-bucket``."""

from __future__ import annotations

import argparse
import sys

from s3dlio.cli.context import EXIT_FAILED, EXIT_OK, CliContext, UsageError
from s3dlio.errors import NotFoundError

__all__ = ["CreateBucketCommand", "DeleteBucketCommand", "ListBucketsCommand"]


class ListBucketsCommand:
    """Table ``Name / URI / Creation Date`` of the containers reachable from a URI."""

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("uri", nargs="?", default="s3://", metavar="URI",
                            help="s3:// (default), gs://, az://account or file:///dir")

    def run(self, args: argparse.Namespace, ctx: CliContext) -> int:
        import s3dlio

        rows = s3dlio.list_containers(args.uri)
        if not ctx.json_mode:
            width = max([len("Name"), *(len(r["name"]) for r in rows)])
            uwidth = max([len("URI"), *(len(r["uri"]) for r in rows)])
            ctx.out(f"{'Name':<{width}}  {'URI':<{uwidth}}  Creation Date")
            for r in rows:
                ctx.out(f"{r['name']:<{width}}  {r['uri']:<{uwidth}}  {r.get('creation_date') or '-'}")
        for r in rows:
            ctx.emit({"type": "bucket", **r})
        ctx.set_summary(count=len(rows))
        return EXIT_OK


class CreateBucketCommand:
    """Create a bucket/container; an existing one is fine."""

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("uri", metavar="URI", help="bucket URI or bare S3 bucket name")

    def run(self, args: argparse.Namespace, ctx: CliContext) -> int:
        import s3dlio

        s3dlio.create_bucket(args.uri)
        ctx.emit({"type": "bucket", "uri": args.uri, "created": True},
                 f"Successfully created or verified '{args.uri}'")
        return EXIT_OK


class DeleteBucketCommand:
    """Delete an empty bucket/container (``--force`` empties it first)."""

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("uri", metavar="URI", help="bucket URI or bare S3 bucket name")
        parser.add_argument("--force", action="store_true", help="delete every object first")
        parser.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")

    def run(self, args: argparse.Namespace, ctx: CliContext) -> int:
        import s3dlio

        uri = args.uri if "://" in args.uri else f"s3://{args.uri}/"
        if args.force:
            if not args.yes:
                if not sys.stdin.isatty():
                    raise UsageError("--force deletes every object: add --yes to confirm")
                ctx.stderr.write(f"Delete every object in {uri} and the bucket? [y/N] ")
                ctx.stderr.flush()
                if sys.stdin.readline().strip().lower() not in ("y", "yes"):
                    ctx.error("aborted: nothing deleted")
                    return EXIT_FAILED
            s3dlio.delete(uri.rstrip("/") + "/", recursive=True)
        try:
            s3dlio.delete_bucket(args.uri)
        except NotFoundError:
            # file:// removes directories it empties, so after --force the bucket may be gone already.
            if not args.force:
                raise
        ctx.emit({"type": "bucket", "uri": args.uri, "deleted": True}, f"Deleted bucket '{args.uri}'")
        return EXIT_OK
