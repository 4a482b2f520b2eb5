"""``s3-cli put`` and ``s3-cli generate`` (docs/cli.md, docs/datagen.md), registered by the plugin's hook.

``put`` writes unique synthetic objects (a write benchmark); ``generate`` builds a
deterministic, resumable dataset (object ``i`` depends only on ``--seed`` and
``i``; rank ``r`` of ``W`` writes the objects with ``i % W == r``).
"""

from __future__ import annotations

import argparse
import threading
import time
from collections.abc import Callable
from typing import Any

from s3dlio.cli.cmd_transfer import add_rank_arguments, rank_share
from s3dlio.cli.context import EXIT_OK, CliContext, Progress, UsageError
from s3dlio.cli.sizes import count_arg, jobs_arg, size_arg

__all__ = ["GenerateCommand", "PutCommand", "rank_and_world"]

_PUT_TYPES = ("raw", "zeros", "npz", "tfrecord", "hdf5")
_GEN_FORMATS = ("raw", "npz", "npy", "tfrecord", "hdf5", "parquet")
_EXT = {"raw": "dat", "npz": "npz", "npy": "npy", "tfrecord": "tfrecord", "hdf5": "h5", "parquet": "parquet"}


def _factor_arg(text: str) -> int:
    value = size_arg(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {text!r}")
    return value


def _seed_arg(text: str) -> int:
    try:
        return int(text.replace("_", ""), 0)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"invalid seed {text!r}") from exc


def _lower_choice(choices: tuple[str, ...]) -> Callable[[str], str]:
    def parse(text: str) -> str:
        value = text.strip().lower()
        if value not in choices:
            raise argparse.ArgumentTypeError(f"invalid choice {text!r} (choose from {', '.join(choices)})")
        return value
    return parse


def _add_data_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-d", "--dedup", type=_factor_arg, default=1, metavar="N",
                        help="dedup factor: 1 MiB blocks repeat N times (default 1)")
    parser.add_argument("-x", "--compress", type=_factor_arg, default=1, metavar="N",
                        help="compression factor: each block is 1/N random, the rest zeros (default 1)")
    parser.add_argument("-j", "--jobs", type=jobs_arg, default=32, metavar="N",
                        help="objects in flight (1..4096, default 32)")


class _Tracker:
    """Counts written objects/bytes, drives the progress bar and ``--json`` records."""

    def __init__(self, ctx: CliContext, bar: Progress) -> None:
        self.ctx = ctx
        self.bar = bar
        self.objects = 0
        self.bytes = 0
        self.skipped = 0
        self._lock = threading.Lock()

    def written(self, uri: str, nbytes: int) -> None:
        with self._lock:
            self.objects += 1
            self.bytes += nbytes
            if self.ctx.json_mode:
                self.ctx.emit({"type": "object", "uri": uri, "bytes": nbytes})
        self.bar.update(nbytes)

    def skip(self, uri: str) -> None:
        with self._lock:
            self.skipped += 1
            if self.ctx.json_mode:
                self.ctx.emit({"type": "skipped", "uri": uri})
        self.bar.update(0)


def _report(ctx: CliContext, verb: str, tracker: _Tracker, elapsed: float) -> None:
    mbps = tracker.bytes / elapsed / 1e6 if elapsed > 0 else 0.0
    ops = tracker.objects / elapsed if elapsed > 0 else 0.0
    skipped = f", {tracker.skipped} skipped" if tracker.skipped else ""
    ctx.info(f"{verb} {tracker.objects} objects: {tracker.bytes} bytes in {elapsed:.3f}s "
             f"({mbps:.2f} MB/s, {ops:.1f} objects/s){skipped}")
    ctx.set_summary(ok=tracker.objects, failed=0, skipped=tracker.skipped, bytes=tracker.bytes,
                    seconds=round(elapsed, 6), mb_per_s=round(mbps, 3), objects_per_s=round(ops, 3))


class PutCommand:
    """``s3-cli put URI_PREFIX``: write ``-n`` unique synthetic objects of ``-s`` bytes."""

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("uri_prefix", metavar="URI_PREFIX", help="where to write, e.g. file:///data/put/")
        parser.add_argument("-c", "--create-bucket", action="store_true", help="create the bucket first")
        parser.add_argument("-n", "--num", type=count_arg, default=1, metavar="N",
                            help="number of objects (default 1)")
        parser.add_argument("-s", "--size", type=size_arg, default=20 << 20, metavar="SIZE",
                            help="object size, exact (e.g. 0, 100, 4KiB, 1MiB; default 20MiB)")
        parser.add_argument("-t", "--template", default="object_{}_of_{}.dat",
                            help="object names, formatted with (index, num) (default object_{}_of_{}.dat)")
        parser.add_argument("-o", "--object-type", type=_lower_choice(_PUT_TYPES), default="raw",
                            metavar="TYPE", help="RAW, NPZ, TFRECORD or HDF5 (any case; default RAW)")
        _add_data_args(parser)
        parser.add_argument("--data-gen-mode", default="streaming", choices=("streaming", "single-pass"),
                            help="generation mode (default streaming; the bytes are the same)")
        parser.add_argument("--data-gen-algorithm", default="random", metavar="NAME",
                            help="random/prand or a registered generator (default random)")
        parser.add_argument("--chunk-size", type=size_arg, default=262144, metavar="SIZE",
                            help="generation chunk size for streaming mode (default 262144)")
        parser.add_argument("--seed", type=_seed_arg, default=None,
                            help="make the payloads reproducible (default: fresh OS entropy)")
        add_rank_arguments(parser)
        parser.add_argument("--skip-existing", action="store_true",
                            help="leave objects that already exist (resume an interrupted run)")

    def run(self, args: argparse.Namespace, ctx: CliContext) -> int:
        from s3dlio_datagen.api import put

        if args.chunk_size < 1:
            raise UsageError("--chunk-size must be at least 1")
        rank, world = rank_share(args)
        bar = ctx.progress(len(range(rank, args.num, world)), "put")
        tracker = _Tracker(ctx, bar)
        start = time.perf_counter()
        try:
            put(args.uri_prefix, args.num, template=args.template, max_in_flight=args.jobs, size=args.size,
                should_create_bucket=args.create_bucket, object_type=args.object_type,
                dedup_factor=args.dedup, compress_factor=args.compress,
                data_gen_algorithm=args.data_gen_algorithm, data_gen_mode=args.data_gen_mode,
                chunk_size=args.chunk_size, seed=args.seed, on_object=tracker.written,
                shard=(rank, world), skip_existing=args.skip_existing, on_skip=tracker.skip)
        finally:
            bar.close()
        ctx.set_summary(rank=rank, world_size=world)
        _report(ctx, "Uploaded", tracker, time.perf_counter() - start)
        return EXIT_OK


def rank_and_world(rank: str, world: str, environ: dict[str, str] | None = None) -> tuple[int, int]:
    """Resolve ``--rank``/``--world-size`` (``auto``: :func:`s3dlio.dist.world`, else 0 of 1)."""
    from s3dlio.dist import parse_world_arg
    from s3dlio.dist import world as detect
    from s3dlio.errors import ConfigError

    try:
        w = detect(parse_world_arg(rank, "--rank"), parse_world_arg(world, "--world-size"), environ=environ)
    except ConfigError as exc:
        raise UsageError(str(exc)) from None
    return w.rank, w.world_size


def _payload_maker(fmt: str, size: int, dedup: int, compress: int, seed: int) -> Callable[[int], Any]:
    if fmt == "parquet":
        from s3dlio_datagen._engine import derive, resolve_entropy
        from s3dlio_datagen.formats import require_pyarrow
        from s3dlio_datagen.parquet import generate_parquet_bytes_schema

        require_pyarrow()
        rows = max(1, size // 4)
        entropy = resolve_entropy(seed)
        return lambda i: generate_parquet_bytes_schema([("data", 1)], rows, 1, seed=derive(entropy, 7, i))
    from s3dlio_datagen.api import object_payload_factory

    return object_payload_factory(size, fmt, dedup, compress, seed=seed)


class GenerateCommand:
    """``s3-cli generate URI_PREFIX``: a deterministic dataset, resumable with ``--skip-existing``."""

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("uri_prefix", metavar="URI_PREFIX",
                            help="dataset directory, e.g. file:///data/unet3d/train")
        parser.add_argument("-n", "--num", type=count_arg, default=1, metavar="N",
                            help="number of files (default 1)")
        parser.add_argument("-s", "--size", type=size_arg, default=1 << 20, metavar="SIZE",
                            help="payload bytes per file (default 1MiB)")
        parser.add_argument("-f", "--format", type=_lower_choice(_GEN_FORMATS), default="npz",
                            metavar="FMT", help="raw, npz, npy, tfrecord, hdf5 or parquet (default npz)")
        parser.add_argument("-t", "--template", default="img_{}_of_{}.{ext}",
                            help="names, formatted with (index, num, ext=...) (default img_{}_of_{}.{ext})")
        _add_data_args(parser)
        parser.add_argument("--seed", type=_seed_arg, default=0, help="dataset seed (default 0)")
        add_rank_arguments(parser)
        parser.add_argument("--skip-existing", action="store_true",
                            help="leave files that already exist (resume an interrupted run)")

    def run(self, args: argparse.Namespace, ctx: CliContext) -> int:
        import s3dlio
        from s3dlio.engines.batch import run_batch

        rank, world = rank_and_world(args.rank, args.world_size)
        ext = _EXT[args.format]
        prefix = args.uri_prefix.rstrip("/")
        try:
            args.template.format(0, args.num, ext=ext)
        except (IndexError, KeyError, ValueError) as exc:
            raise UsageError(f"bad --template {args.template!r}: {exc}") from None

        def uri_of(i: int) -> str:
            return f"{prefix}/{args.template.format(i, args.num, ext=ext)}"

        make = _payload_maker(args.format, args.size, args.dedup, args.compress, args.seed)
        mine = range(rank, args.num, world)
        bar = ctx.progress(len(mine), "generate")
        tracker = _Tracker(ctx, bar)

        def one(i: int) -> None:
            uri = uri_of(i)
            if args.skip_existing and s3dlio.exists(uri):
                tracker.skip(uri)
                return
            data = make(i)
            s3dlio.put_bytes(uri, data)
            tracker.written(uri, len(data))

        start = time.perf_counter()
        try:
            if len(mine):
                run_batch(one, mine, window=min(args.jobs, len(mine)), op="generate", label=uri_of)
        finally:
            bar.close()
        ctx.set_summary(rank=rank, world_size=world, format=args.format)
        _report(ctx, "Generated", tracker, time.perf_counter() - start)
        return EXIT_OK
