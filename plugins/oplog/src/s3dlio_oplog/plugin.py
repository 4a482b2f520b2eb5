"""Entry-point module of s3dlio-oplog: hookimpls only (no zstandard import here)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import attrs

from s3dlio import hookimpl
from s3dlio.config import setting
from s3dlio.plugin.hookspecs import addhooks_from

if TYPE_CHECKING:
    from s3dlio.cli.registry import CommandRegistry
    from s3dlio.config import ConfigSchema, Settings
    from s3dlio.plugin.registry import ExportRegistry, NamedRegistry
    from s3dlio_oplog.hookspecs import OplogSinkSpec


@attrs.define
class OplogSettings:
    """Section ``[oplog]`` (docs/configuration.md)."""

    file: str = setting(
        "", env="S3DLIO_OPLOG_FILE",
        help="record every operation to this file from the first I/O on ({pid} {rank} {host} expanded)",
    )
    level: int = setting(1, env="S3DLIO_OPLOG_LEVEL", minimum=1, maximum=22, help="zstd level")
    lossless: bool = setting(
        True, env="S3DLIO_OPLOG_LOSSLESS",
        help="a full queue makes the recording thread wait (0: drop and count the row)",
    )
    buf: int = setting(65536, env="S3DLIO_OPLOG_BUF", minimum=1, help="queue capacity in rows")
    wbufcap: int = setting(
        262144, env="S3DLIO_OPLOG_WBUFCAP", minimum=1, help="bytes of text per zstd frame (at most)"
    )
    flush_secs: float = setting(
        1.0, env="S3DLIO_OPLOG_FLUSH_SECS", minimum=0.001,
        help="a frame is written at least this often while rows arrive",
    )
    extended: bool = setting(
        False, env="S3DLIO_OPLOG_EXTENDED", help="15 columns (adds last_byte and cat)"
    )
    client_id: str = setting(
        "", env="S3DLIO_OPLOG_CLIENT_ID", help="client_id column (default: {short host}-r{rank})"
    )
    clock_offset_ns: int = setting(
        0, env="S3DLIO_OPLOG_CLOCK_OFFSET_NS", help="added to every timestamp (clock-aligned runs)"
    )
    sort: bool = setting(
        False, env="S3DLIO_OPLOG_SORT", help="at finalize, rewrite the file sorted by start"
    )
    sink: str = setting(
        "auto", env="S3DLIO_OPLOG_SINK",
        help="sink name (auto: jsonl for *.jsonl[.zst], else tsv-zstd)",
    )
    writer: str = setting(
        "auto", env="S3DLIO_OPLOG_WRITER", choices=("auto", "thread", "process"),
        help="process: format+compress in a helper process (off the application's GIL; "
             "tsv-zstd only); thread: on a background thread; auto: process for tsv-zstd "
             "when 2+ CPUs are usable, else thread",
    )
    read_buf: int = setting(0, env="S3DLIO_OPLOG_READ_BUF", minimum=0, help="reader: file buffer bytes")
    chunk_size: int = setting(
        1 << 20, env="S3DLIO_OPLOG_CHUNK_SIZE", minimum=4096, help="reader: bytes read per chunk"
    )


@hookimpl
def s3dlio_add_config(schema: ConfigSchema) -> None:
    schema.add_section("oplog", OplogSettings)


s3dlio_addhooks = addhooks_from("s3dlio_oplog.hookspecs")
"""The plugin's own hooks (``s3dlio_oplog.hookspecs``), declared as it registers."""


@hookimpl
def s3dlio_register_exports(exports: ExportRegistry) -> None:
    exports.names_from(
        "s3dlio_oplog.api",
        "init_op_log finalize_op_log is_op_log_active set_op_log_client_id op_log_stats",
    )


@hookimpl
def s3dlio_register_oplog_sinks(registry: NamedRegistry[OplogSinkSpec]) -> None:
    from s3dlio_oplog.hookspecs import OplogSinkSpec

    registry.register(OplogSinkSpec(
        name="tsv-zstd", factory="s3dlio_oplog.sinks:TsvZstdSink",
        description="warp-compatible TSV in independent zstd frames",
    ))
    registry.register(OplogSinkSpec(
        name="jsonl", factory="s3dlio_oplog.sinks:JsonlSink",
        description="one JSON object per row (zstd frames for *.zst)",
    ))


@hookimpl
def s3dlio_register_commands(cli: CommandRegistry) -> None:
    from s3dlio.cli.registry import CommandSpec, GlobalOption

    cli.register(CommandSpec(
        name="oplog", factory="s3dlio_oplog.cli:OplogCommand",
        help="analyze, merge or replay op-logs",
    ))
    cli.add_global_option(GlobalOption(
        "--op-log", "op_log", metavar="FILE", session="s3dlio_oplog.cli:op_log_session",
        help="record every operation of the command to FILE (warp-compatible op-log)",
    ))


@hookimpl
def s3dlio_configure(settings: Settings) -> None:
    if settings.has_section("oplog") and settings.section("oplog").file:
        from s3dlio_oplog import api

        api._start_from_settings(settings.section("oplog"))


@hookimpl
def s3dlio_unconfigure(settings: Settings) -> None:
    import sys

    api = sys.modules.get("s3dlio_oplog.api")
    if api is not None:
        api._stop_from_settings()
