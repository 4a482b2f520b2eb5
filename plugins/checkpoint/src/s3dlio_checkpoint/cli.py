"""``s3-cli checkpoint ls|verify|gc URI`` (docs/checkpoints.md, docs/cli.md)."""

from __future__ import annotations

import argparse
from typing import Any

__all__ = ["CheckpointCommand"]


def _parents() -> list[argparse.ArgumentParser]:
    """The global flags, so ``--json`` also works after the action."""
    try:
        from s3dlio.cli.main import global_parser

        return [global_parser()]
    except Exception:  # an older core: the flags work before the action only
        return []


class CheckpointCommand:
    """List, verify or garbage-collect the checkpoints under a URI."""

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parents = _parents()
        sub = parser.add_subparsers(dest="checkpoint_action", metavar="ACTION", title="actions")
        sub.required = True
        ls = sub.add_parser("ls", parents=parents, help="committed checkpoints by step")
        ls.add_argument("uri", metavar="URI")
        v = sub.add_parser("verify", parents=parents,
                           help="read every shard and check its size and CRC-32C (exit 1 on damage)")
        v.add_argument("uri", metavar="URI")
        v.add_argument("--step", type=int, default=None, help="only this step")
        g = sub.add_parser("gc", parents=parents,
                           help="delete shards and interrupted uploads of saves that never committed")
        g.add_argument("uri", metavar="URI")
        g.add_argument("--older-than", type=float, default=3600.0, metavar="SECONDS",
                       help="only orphans older than this (default 3600: spares saves in progress)")
        g.add_argument("--dry-run", action="store_true", help="list what would be deleted")

    def run(self, args: argparse.Namespace, ctx: Any) -> int:
        from s3dlio_checkpoint.store import CheckpointStore

        store = CheckpointStore(args.uri)
        if args.checkpoint_action == "ls":
            infos = store.list_checkpoints()
            if not ctx.json_mode:
                ctx.out(f"{'STEP':>8} {'EPOCH':>6} {'TIMESTAMP':>15} {'RANKS':>5} {'SIZE':>14}  "
                        "FRAMEWORK  MANIFEST")
            for i in infos:
                ctx.emit({"type": "checkpoint", "step": i.step, "epoch": i.epoch, "timestamp": i.timestamp,
                          "world_size": i.world_size, "total_size": i.total_size,
                          "framework": i.framework, "manifest_key": i.manifest_key,
                          "user_meta": i.user_meta},
                         f"{i.step:>8} {i.epoch:>6} {i.timestamp:>15} {i.world_size:>5} "
                         f"{i.total_size:>14,}  {i.framework or '-':<9}  {i.manifest_key}")
            ctx.set_summary(checkpoints=len(infos))
            return 0
        if args.checkpoint_action == "verify":
            results = store.verify(args.step)
            bad = [r for r in results if not r["ok"]]
            for r in results:
                ctx.emit({"type": "checkpoint_verify", **r},
                         f"{'ok ' if r['ok'] else 'BAD'} step {r['step']} {r['manifest_key']}"
                         + "".join(f"\n    {e}" for e in r["errors"]))
            ctx.set_summary(checked=len(results), damaged=len(bad))
            return 1 if bad else 0
        removed = store.gc(args.older_than, dry_run=args.dry_run)
        for key in removed:
            ctx.emit({"type": "checkpoint_gc", "key": key, "dry_run": args.dry_run},
                     ("would delete " if args.dry_run else "deleted ") + key)
        incomplete = 0 if args.dry_run else store.abort_incomplete(args.older_than)
        ctx.set_summary(removed=len(removed), incomplete=incomplete, dry_run=args.dry_run)
        ctx.info(f"{'would remove' if args.dry_run else 'removed'} {len(removed)} orphan shard(s)"
                 + (f", {incomplete} interrupted upload(s)/temp file(s)" if incomplete else ""))
        return 0
