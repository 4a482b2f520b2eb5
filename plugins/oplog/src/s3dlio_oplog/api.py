"""Public op-log functions served as ``s3dlio.init_op_log`` & co. (docs/oplog.md: "From Python", "Writing").

One log is active per process at most. :func:`init_op_log` opens the sink (failing with
:class:`~s3dlio.errors.ConfigError` when the path is unwritable), starts the writer thread
and installs the recorder with :func:`s3dlio.store.recording.install_recorder`, so every store —
also those opened earlier — records from then on. :func:`finalize_op_log` drains, writes
the last frame and returns the stats; it is idempotent and also runs at exit. After
``os.fork()`` a child that inherited an active log opens its own file (``{pid}``
placeholder, else ``.pid{PID}`` before the suffixes).
"""

from __future__ import annotations

import atexit
import os
import socket
import sys
import threading
import warnings
from typing import Any

from s3dlio.errors import ConfigError, S3dlioError
from s3dlio.store import recording
from s3dlio_oplog.recorder import OpLogRecorder
from s3dlio_oplog.writer import OplogWriter

__all__ = [
    "finalize_op_log",
    "init_op_log",
    "is_op_log_active",
    "op_log_stats",
    "set_op_log_client_id",
]

_RANK_VARS = ("RANK", "OMPI_COMM_WORLD_RANK", "PMI_RANK", "SLURM_PROCID")
_SUFFIXES = (".tsv", ".zst", ".zstd", ".jsonl", ".json", ".csv", ".log", ".txt")


class _Session:
    """One open log: template path, resolved path, recorder, writer, settings."""

    def __init__(self, template: str, path: str, recorder: OpLogRecorder, writer: Any,
                 cfg: Any, client_id_arg: str | None, lossless_arg: bool | None,
                 from_settings: bool, sink_name: str) -> None:
        self.template = template
        self.path = path
        self.recorder = recorder
        self.writer = writer
        self.cfg = cfg
        self.client_id_arg = client_id_arg
        self.lossless_arg = lossless_arg
        self.from_settings = from_settings
        self.sink_name = sink_name

    def stats(self) -> dict[str, Any]:
        out = self.recorder.counters()
        out.update(self.writer.counters())
        out.update(rejected_unformattable=0, rejected_unsafe_field=0, path=self.path)
        return out


_lock = threading.RLock()
_session: _Session | None = None
_last_stats: dict[str, Any] | None = None
_client_override: str | None = None
_user_init = False


# --------------------------------------------------------------------------- helpers


def _short_host() -> str:
    return socket.gethostname().split(".")[0] or "localhost"


def _rank() -> str | None:
    for name in _RANK_VARS:
        value = os.environ.get(name)
        if value is not None and value.strip():
            return value.strip()
    return None


def expand_path(template: str) -> str:
    """Expand ``{pid}``, ``{rank}`` (0 when unknown) and ``{host}`` in an op-log path."""
    return (template.replace("{pid}", str(os.getpid()))
            .replace("{rank}", _rank() or "0")
            .replace("{host}", _short_host()))


def child_path(template: str) -> str:
    """The path a forked child logs to: the template re-expanded if it has ``{pid}``, else the
    parent's path with ``.pid{PID}`` inserted before its suffixes (``ops.pid42.tsv.zst``)."""
    if "{pid}" in template:
        return expand_path(template)
    path = expand_path(template)
    head, name = os.path.split(path)
    stem, suffix = name, ""
    while True:
        base, dot, ext = stem.rpartition(".")
        if dot and base and ("." + ext.lower()) in _SUFFIXES:
            stem, suffix = base, "." + ext + suffix
        else:
            break
    return os.path.join(head, f"{stem}.pid{os.getpid()}{suffix}")


def _default_client_id(cfg: Any) -> str:
    if _client_override:
        return _client_override
    if getattr(cfg, "client_id", ""):
        return str(cfg.client_id)
    rank = _rank()
    if rank is not None:
        return f"{_short_host()}-r{rank}"
    return f"{_short_host()}-p{os.getpid()}"


def _settings() -> Any:
    """The ``[oplog]`` settings of the process runtime (defaults + env when not composed)."""
    try:
        from s3dlio.plugin.runtime import runtime

        settings = runtime().settings
        if settings.has_section("oplog"):
            return settings.section("oplog")
    except S3dlioError as exc:
        # The plugins could not be composed (a bad setting elsewhere): the op-log still
        # starts, from its own defaults and environment, and says so.
        warnings.warn(f"op-log settings from the environment only: {exc}", stacklevel=3)
    from s3dlio.config import ConfigSchema, load_settings
    from s3dlio_oplog.plugin import OplogSettings

    schema = ConfigSchema()
    schema.add_section("oplog", OplogSettings)
    return load_settings(schema, warn_unknown=False).section("oplog")


def _sink_factory(name: str, *, registry: bool = True) -> Any:
    """The sink class registered as ``name`` (built-ins without the registry: during the
    runtime's own composition it must not be re-entered)."""
    if registry:
        try:
            from s3dlio_oplog.hookspecs import sinks as registered_sinks

            sinks_registry = registered_sinks()
        except S3dlioError as exc:
            warnings.warn(f"op-log sink registry unavailable, using built-in sinks: {exc}",
                          stacklevel=3)
        else:
            if name in sinks_registry:
                return sinks_registry.get(name).load()
    from s3dlio_oplog import sinks

    builtin = {"tsv-zstd": sinks.TsvZstdSink, "jsonl": sinks.JsonlSink}
    if name not in builtin:
        raise ConfigError(f"unknown op-log sink {name!r} (known: tsv-zstd, jsonl)")
    return builtin[name]


def _sink_name(cfg: Any, path: str) -> str:
    name = str(getattr(cfg, "sink", "auto") or "auto")
    if name == "auto":
        lower = path.lower()
        return "jsonl" if lower.endswith((".jsonl", ".jsonl.zst", ".ndjson")) else "tsv-zstd"
    return name


def _open(template: str, path: str, cfg: Any, *, client_id: str | None, lossless: bool | None,
          from_settings: bool) -> _Session:
    sink_name = _sink_name(cfg, path)
    if sink_name == "tsv-zstd" and not path.endswith(".zst"):
        warnings.warn(f"op-log path {path!r} does not end in .zst (the file is zstd-compressed)",
                      UserWarning, stacklevel=3)
    factory = _sink_factory(sink_name, registry=not from_settings)
    try:
        sink = factory(path, extended=bool(cfg.extended), level=int(cfg.level))
    except OSError as exc:
        raise ConfigError(f"cannot open op-log {path!r}: {exc.strerror or exc}") from exc
    rec = OpLogRecorder(capacity=int(cfg.buf), lossless=bool(cfg.lossless if lossless is None else lossless))
    options: dict[str, Any] = {
        "client_id": client_id or _default_client_id(cfg), "wbufcap": int(cfg.wbufcap),
        "flush_secs": float(cfg.flush_secs), "clock_offset_ns": int(cfg.clock_offset_ns),
        "extended": bool(cfg.extended),
    }
    writer: Any = None
    mode = getattr(cfg, "writer", "thread")
    if mode == "auto":
        from s3dlio.engines.pool import cpu_count

        # Formatting a row costs ~2.3 us of GIL time on a writer thread; a helper process
        # takes it off the application's interpreter (0.12 us to ship a row) when a second
        # CPU can run it (docs/performance.md, s3dlio-oplog).
        mode = "process" if cpu_count() >= 2 else "thread"
    if mode == "process" and hasattr(sink, "write_raw"):
        from s3dlio_oplog.procwriter import ProcessWriter

        try:
            writer = ProcessWriter(rec, sink, level=int(cfg.level), **options)
        except OSError as exc:
            # The sink handed its file over (or failed to): reopen for the thread writer.
            if getattr(cfg, "writer", "thread") == "process":
                warnings.warn(f"op-log helper process failed to start ({exc}); using the writer "
                              "thread", RuntimeWarning, stacklevel=3)
            sink = factory(path, extended=bool(cfg.extended), level=int(cfg.level))
    if writer is None:
        writer = OplogWriter(rec, sink, **options)
    writer.start()
    recording.install_recorder(rec)
    return _Session(template, path, rec, writer, cfg, client_id, lossless, from_settings, sink_name)


def _close_locked() -> dict[str, Any] | None:
    global _session, _last_stats
    session = _session
    if session is None:
        return _last_stats
    _session = None
    if recording.current is session.recorder:
        recording.install_recorder(None)
    session.recorder.close()
    session.writer.stop()
    session.recorder.discard_pending()
    stats = session.stats()
    if session.cfg.sort and session.sink_name == "tsv-zstd" and session.writer.writer_error is None:
        try:
            from s3dlio_oplog.merge import merge_oplogs

            merge_oplogs([session.path], session.path)
        except Exception as exc:  # the unsorted file is still complete
            warnings.warn(f"op-log sort of {session.path} failed: {exc}", RuntimeWarning, stacklevel=3)
    _last_stats = stats
    return stats


# --------------------------------------------------------------------------- public API


def init_op_log(path: str, *, client_id: str | None = None, lossless: bool | None = None) -> None:
    """Start recording every storage operation of this process to ``path``.

    ``{pid}``, ``{rank}`` and ``{host}`` in ``path`` are expanded. An active log is finalized
    first (re-init opens a new file). ``client_id`` overrides the ``client_id`` column;
    ``lossless`` overrides ``S3DLIO_OPLOG_LOSSLESS``. Raises :class:`ConfigError` when the
    file cannot be created.
    """
    global _session, _user_init
    if not isinstance(path, (str, os.PathLike)) or not os.fspath(path):
        raise ConfigError("init_op_log needs a file path")
    template = os.fspath(path)
    with _lock:
        _user_init = True
        try:
            cfg = _settings()  # may compose the runtime (which must not start its own log)
        finally:
            _user_init = False
        _close_locked()
        _session = _open(template, expand_path(template), cfg, client_id=client_id,
                         lossless=lossless, from_settings=False)


def finalize_op_log() -> dict[str, Any] | None:
    """Drain, write the last frame (and ``# dropped=N`` if any), close; return the stats.

    Idempotent: later calls return the same stats; ``None`` if no log was ever started.
    """
    with _lock:
        return _close_locked()


def is_op_log_active() -> bool:
    """Whether a log is recording now (``False`` after :func:`finalize_op_log`)."""
    return _session is not None


def set_op_log_client_id(client_id: str) -> None:
    """Set the ``client_id`` column for rows written from now on (and for later logs)."""
    global _client_override
    with _lock:
        _client_override = str(client_id)
        session = _session
        if session is not None and session.client_id_arg is None:
            session.writer.client_id = _client_override


def op_log_stats() -> dict[str, Any] | None:
    """Counters of the active log, else of the last finalized one; ``None`` before any.

    Keys: ``accepted written dropped_full rejected_closed writer_failed writer_error lossless
    rejected_unformattable rejected_unsafe_field normalized_error_text`` (+ ``frames``, ``path``).
    """
    session = _session
    if session is not None:
        return session.stats()
    return _last_stats


# --------------------------------------------------------------------------- hooks


def _start_from_settings(cfg: Any) -> None:
    """``s3dlio_configure``: ``S3DLIO_OPLOG_FILE`` is set, start logging unless a log runs."""
    global _session
    with _lock:
        if _session is not None or _user_init:
            return
        template = str(cfg.file)
        try:
            _session = _open(template, expand_path(template), cfg, client_id=None, lossless=None,
                             from_settings=True)
        except ConfigError as exc:
            warnings.warn(f"S3DLIO_OPLOG_FILE: {exc}", RuntimeWarning, stacklevel=2)


def _stop_from_settings() -> None:
    """``s3dlio_unconfigure``: stop a log that ``S3DLIO_OPLOG_FILE`` started."""
    with _lock:
        if _session is not None and _session.from_settings:
            _close_locked()


def _atexit() -> None:
    try:
        finalize_op_log()
    except Exception as exc:  # at exit nobody can catch it: say it on stderr, once
        sys.stderr.write(f"s3dlio-oplog: finalizing the op-log at exit failed: {exc}\n")


def _after_fork_in_child() -> None:
    global _lock, _session
    _lock = threading.RLock()
    old = _session
    if old is None:
        return
    _session = None  # the inherited queue and thread are the parent's
    recording.install_recorder(None)
    abandon = getattr(old.writer, "abandon", None)
    if abandon is not None:
        abandon()
    try:
        _session = _open(old.template, child_path(old.template), old.cfg, client_id=old.client_id_arg,
                         lossless=old.lossless_arg, from_settings=old.from_settings)
    except Exception as exc:
        warnings.warn(f"op-log: the forked child cannot open its own log: {exc}", RuntimeWarning,
                      stacklevel=2)


atexit.register(_atexit)
os.register_at_fork(after_in_child=_after_fork_in_child)
