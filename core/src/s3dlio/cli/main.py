"""``s3-cli`` entry point: global flags, the parser built from the command registry, exit codes.

Global flags work before or after the sub-command: every sub-parser shares one
parent parser whose defaults are ``SUPPRESS``, so a flag given on either side
lands in the namespace and nothing overwrites it with a default. Flags that
change the environment (endpoint, region, CA bundle, profile, config file) are
pre-parsed and applied *before* plugins are composed, because settings are
resolved at composition.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import traceback
import warnings
from collections.abc import Callable, Sequence
from typing import Any

from s3dlio._version import __version__
from s3dlio.api.configure import init_logging
from s3dlio.cli.context import (
    EXIT_CONFIG,
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_NOT_FOUND,
    EXIT_PARTIAL,
    EXIT_USAGE,
    CliContext,
    UsageError,
)
from s3dlio.cli.dotenv import load_dotenv
from s3dlio.cli.registry import CommandRegistry, GlobalOption
from s3dlio.errors import (
    BatchError,
    ConfigError,
    InvalidPathError,
    NotFoundError,
    PluginError,
    S3dlioError,
    StoreError,
)
from s3dlio.plugin import catalog
from s3dlio.plugin.registry import load_object
from s3dlio.redaction import redact

__all__ = ["EPILOG", "build_parser", "global_parser", "main"]

EPILOG = """\
global flags may be given before or after the command.

exit codes:
  0    success
  1    the operation failed
  2    usage error (bad option, value or combination; a path without scheme://)
  3    partial failure: some items of a batch failed (each is listed on stderr);
       when every item failed: the code their failures share (4 if all were
       "not found", 5 if all lacked a backend), else 1
  4    not found / nothing matched (a missing object, directory or prefix)
  5    configuration or plugin error (bad setting, missing backend or plugin)
  130  interrupted (Ctrl-C)

sizes accept 4096, 64k (1000^n), 4MiB (1024^n), 1_000_000, 1,024 and 1.5k.
data goes to stdout, summaries and errors to stderr; --json prints NDJSON whose
last line is {"type": "summary", ...}.
"""

_GLOBAL_DEFAULTS: dict[str, Any] = {
    "verbose": 0,
    "log_format": None,
    "quiet": False,
    "json": False,
    "no_progress": False,
    "config": None,
}


def _global_parser(options: Sequence[GlobalOption] = ()) -> argparse.ArgumentParser:
    """The flags every command accepts: core's and the plugins' ``options`` (defaults
    suppressed; see the module docstring)."""
    p = argparse.ArgumentParser(
        prog="s3-cli", add_help=False, allow_abbrev=False, argument_default=argparse.SUPPRESS
    )
    g = p.add_argument_group("global options")
    g.add_argument("-v", "--verbose", action="count", help="-v: info logging, -vv: debug and tracebacks")
    g.add_argument("--log-format", dest="log_format", choices=("console", "json"),
                   help="stderr logging as console lines or JSON objects (default: S3DLIO_LOG_FORMAT, "
                        "else console); without -v, warnings and errors only")
    g.add_argument("-q", "--quiet", action="store_true", help="no summaries or progress bars")
    g.add_argument("--json", action="store_true", help="NDJSON output, last line a summary")
    g.add_argument("--no-progress", dest="no_progress", action="store_true", help="no progress bars")
    g.add_argument("--config", metavar="FILE", help="s3dlio.toml to use (sets S3DLIO_CONFIG)")
    for option in options:
        option.add_to(g)
    return p


def _apply_environment(ns: argparse.Namespace, options: Sequence[GlobalOption] = ()) -> None:
    """Load ``./.env`` (never overriding) then export the environment-changing flags."""

    load_dotenv(".env")
    exports: dict[str, str | None] = {"S3DLIO_CONFIG": getattr(ns, "config", None)}
    for option in options:
        value = getattr(ns, option.dest, None)
        if value is not None and value is not False:
            for name in option.env:
                exports[name] = "1" if value is True else str(value)
    changed = False
    for name, value in exports.items():
        if value is not None and os.environ.get(name) != value:
            os.environ[name] = value
            changed = True
    if changed:
        # A runtime composed earlier in this process read the old environment.
        from s3dlio.plugin.runtime import reset

        reset()


def _load_registry() -> tuple[CommandRegistry, BaseException | None]:
    """Commands and global options of core and every plugin; a failure leaves core's only.

    Only the plugins are loaded (no settings resolved), so a bad setting still lets
    the command line parse and is reported by the command that needs it.
    """
    registry = CommandRegistry()
    try:
        from s3dlio.plugin.runtime import loaded_host

        loaded_host().build_commands(registry)
    except (ConfigError, PluginError) as exc:
        from s3dlio.cli.commands import register_core_commands

        registry = CommandRegistry()
        register_core_commands(registry)
        return registry, exc
    return registry, None


def _missing_plugin(args_list: Sequence[str], registry: CommandRegistry,
                    options: Sequence[GlobalOption]) -> str | None:
    """A message for a command or flag of a first-party plugin that is not installed."""

    flags = {flag for option in options for flag in option.flags}
    command_seen = False
    for token in args_list:
        if token == "--":
            break
        name = token.split("=", 1)[0]
        if name.startswith("-"):
            known = name in flags
        elif command_seen:
            continue  # an argument of the command, not a command
        else:
            command_seen = True
            known = name in registry
        dist = None if known else catalog.CLI.get(name)
        if dist is not None:
            kind = "option" if name.startswith("-") else "command"
            return (f"the {kind} {name!r} is provided by {dist}, which is not installed: "
                    f"{catalog.install_command(dist)}")
    return None


def _command_name(extras: Sequence[str], registry: CommandRegistry) -> str | None:
    """The sub-command named in what the global pre-parser left over."""
    for token in extras:
        if token == "--":
            return None
        if not token.startswith("-"):
            return token if token in registry else None
    return None


_options: Sequence[GlobalOption] = ()
"""The plugins' global options of the command line being parsed (see :func:`global_parser`)."""


def global_parser() -> argparse.ArgumentParser:
    """A parent parser with every global flag, core's and the plugins'.

    For commands with nested sub-commands (``s3-cli oplog replay``): pass it as a parent
    of each nested parser so global flags also work after the nested command.
    """
    return _global_parser(_options)


def build_parser(registry: CommandRegistry, selected: str | None) -> tuple[argparse.ArgumentParser, Any]:
    """The full parser; only the selected command's arguments are added (lazy imports)."""
    global _options
    _options = registry.global_options()
    parent = _global_parser(_options)
    parser = argparse.ArgumentParser(
        prog="s3-cli",
        description="s3dlio command line: list, read, write and copy objects on every installed backend.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=[parent],
        allow_abbrev=False,
    )
    parser.add_argument("--version", action="version", version=f"s3-cli (s3dlio) {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", title="commands")
    command = None
    for spec in registry.specs():
        helptext = spec.help + (f" [{spec.plugin}]" if spec.plugin and spec.plugin != "s3dlio" else "")
        p = sub.add_parser(
            spec.name, aliases=list(spec.aliases), help=helptext, description=spec.help,
            parents=[parent], allow_abbrev=False, epilog=EPILOG,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        if selected is not None and registry.get(selected) is spec:
            try:
                command = spec.load()
                command.add_arguments(p)
            except Exception as exc:  # a broken plugin command is a plugin error (exit 5)
                raise PluginError(
                    f"command {spec.name!r} of plugin {spec.plugin or '?'} failed to load: {exc}"
                ) from exc
    return parser, command


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``s3-cli`` with ``argv`` (default ``sys.argv[1:]``); return the exit code."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    with warnings.catch_warnings():
        # Library warnings (unknown S3DLIO_* names, unknown config keys) read as CLI
        # messages, not as Python source locations.
        warnings.formatwarning = _format_warning
        return _main(args_list)


def _format_warning(message: Warning | str, category: type[Warning], *_args: object, **_kw: object) -> str:
    return f"s3-cli: warning: {message}\n"


def _main(args_list: list[str]) -> int:
    try:
        pre, extras = _global_parser().parse_known_args(args_list)
        _apply_environment(pre)
    except SystemExit as exc:  # e.g. --config without a value
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    except ConfigError as exc:
        sys.stderr.write(f"s3-cli: error: {exc}\n")
        return EXIT_CONFIG
    _init_logging(pre)  # before the plugins load, so one that fails to is logged
    registry, compose_error = _load_registry()
    options = registry.global_options()
    missing = _missing_plugin(args_list, registry, options)
    if missing is not None:
        sys.stderr.write(f"s3-cli: error: {missing}\n")
        return EXIT_CONFIG
    try:
        pre, extras = _global_parser(options).parse_known_args(args_list)
        _apply_environment(pre, options)
    except SystemExit as exc:  # e.g. --endpoint-url without a value
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    except ConfigError as exc:
        sys.stderr.write(f"s3-cli: error: {exc}\n")
        return EXIT_CONFIG
    selected = _command_name(extras, registry)
    try:
        parser, command = build_parser(registry, selected)
        args = parser.parse_args(args_list)
    except SystemExit as exc:  # argparse: --help/--version (0) or a usage error (2)
        code = exc.code if isinstance(exc.code, int) else EXIT_USAGE
        if code and getattr(pre, "json", False):
            # --json promises the summary as the last line, usage errors included.
            CliContext(json_mode=True, command=selected or "").write_summary(code)
        return code
    except PluginError as exc:
        sys.stderr.write(f"s3-cli: error: {exc}\n")
        return EXIT_CONFIG
    for name, default in _GLOBAL_DEFAULTS.items():
        if not hasattr(args, name):
            setattr(args, name, default)
    for option in options:
        if not hasattr(args, option.dest):
            setattr(args, option.dest, False if option.flag else None)
    if command is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    ctx = CliContext(
        json_mode=args.json, quiet=args.quiet, no_progress=args.no_progress,
        verbose=args.verbose, command=registry.get(args.command).name,
    )
    sessions = [o for o in options if o.session and getattr(args, o.dest) not in (None, False)]
    code = _run(command, args, ctx, compose_error, sessions)
    ctx.write_summary(code)
    return code


def _run(command: Any, args: argparse.Namespace, ctx: CliContext, compose_error: BaseException | None,
         sessions: Sequence[GlobalOption] = ()) -> int:
    """Run one command inside the sessions of the global options given; the exit code.

    A session that fails on exit (an op-log that cannot be flushed) is reported, and
    fails a run that otherwise succeeded.
    """
    stack = contextlib.ExitStack()

    def setup_and_run() -> int:
        if compose_error is not None and not getattr(command, "reports_setup_errors", False):
            raise compose_error  # (``doctor`` runs anyway: reporting such errors is its job)
        for option in sessions:
            factory = load_object(option.session)
            stack.enter_context(factory(getattr(args, option.dest)))
        return int(command.run(args, ctx))

    code = _guarded(setup_and_run, ctx)

    def close() -> int:
        stack.close()
        return 0

    if sessions:
        closed = _guarded(close, ctx)
        code = code or closed
    return code


def _init_logging(ns: argparse.Namespace) -> None:
    """``-v``/``-vv``/``--log-format``: s3dlio logging on stderr (``--log-format`` alone:
    warnings and errors unless ``S3DLIO_LOG_LEVEL`` says otherwise).

    The flags are exported as ``S3DLIO_LOG_LEVEL``/``S3DLIO_LOG_FORMAT``, like the other
    environment flags, so the settings applied when the plugins compose agree with them.
    """
    verbose, log_format = getattr(ns, "verbose", 0) or 0, getattr(ns, "log_format", None)
    if not verbose and not log_format:
        return

    if verbose:
        os.environ["S3DLIO_LOG_LEVEL"] = "debug" if verbose > 1 else "info"
    if log_format:
        os.environ["S3DLIO_LOG_FORMAT"] = log_format
    init_logging(os.environ.get("S3DLIO_LOG_LEVEL") or "warning", log_format)


def _guarded(fn: Callable[[], int], ctx: CliContext) -> int:
    """Call ``fn``, turning every exception into a message on stderr and an exit code."""
    try:
        return fn()
    except KeyboardInterrupt:
        ctx.error("interrupted")
        ctx.set_summary(error="interrupted")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        silence_stdout()
        return EXIT_FAILED
    except Exception as exc:  # every failure becomes a message and an exit code
        return report_error(exc, ctx)


def exit_code_for(exc: BaseException) -> int:
    """The documented exit code of an exception (see ``EPILOG``)."""
    if isinstance(exc, KeyboardInterrupt):
        return EXIT_INTERRUPTED
    if isinstance(exc, UsageError) or _is_schemeless(exc):
        return EXIT_USAGE
    if isinstance(exc, BatchError):
        if exc.succeeded:
            return EXIT_PARTIAL
        # Nothing succeeded: the batch failed as a whole, for the reason its items share
        # (a missing backend is 5 for `get` of many URIs as for `ls` of one).
        codes = {exit_code_for(e) for _, e in exc.failures}
        return codes.pop() if len(codes) == 1 else EXIT_FAILED
    if isinstance(exc, NotFoundError):
        return EXIT_NOT_FOUND
    if isinstance(exc, (ConfigError, PluginError)):
        return EXIT_CONFIG
    if isinstance(exc, (ValueError, TypeError)) and not isinstance(exc, S3dlioError):
        return EXIT_USAGE  # bad input rejected by the API (name clash, bad range, …)
    return EXIT_FAILED


def _is_schemeless(exc: BaseException) -> bool:
    """A URI argument without ``scheme://`` (a bare path): the caller's mistake, exit 2."""
    return isinstance(exc, InvalidPathError) and isinstance(exc.uri, str) and "://" not in exc.uri


def _message(exc: BaseException) -> str:
    """The one-line text of ``exc`` on stderr."""
    if isinstance(exc, BatchError):
        # The items are listed above; the operation's internal name (get_many_stats) is not
        # the user's business.
        return f"{len(exc.failures)} of {exc.succeeded + len(exc.failures)} failed"
    if isinstance(exc, (S3dlioError, OSError, UsageError)):
        text = str(exc)
        if _is_schemeless(exc):
            text += _file_hint(str(getattr(exc, "uri", "")))
        return text
    return f"{type(exc).__name__}: {exc}"


def _file_hint(path: str) -> str:
    """``; did you mean file:///abs/path?`` for something that looks like a local path."""
    if path.startswith(("/", "./", "../", "~")) or os.path.exists(path):
        return f"; did you mean file://{os.path.abspath(os.path.expanduser(path))}?"
    return ""


def report_error(exc: BaseException, ctx: CliContext) -> int:
    """Print ``exc`` on stderr (failures of a batch one per line) and return its exit code.

    A batch of one item that failed (``get URI``) reads as that item's error: one
    line, the item's exit code.
    """
    code = exit_code_for(exc)
    if isinstance(exc, StoreError) and exc.op is None and ctx.command:
        exc.op = ctx.command  # a URI check has no operation of its own: name the command's
    prefix = ""
    if isinstance(exc, BatchError):
        ctx.set_summary(ok=exc.succeeded, failed=len(exc.failures),
                        failures=[{"uri": u, "error": str(e)} for u, e in exc.failures])
        if len(exc.failures) == 1 and not exc.succeeded:
            uri, exc = exc.failures[0]
            prefix = "" if uri in str(exc) else f"{uri}: "
        else:
            ctx.stderr.write(f"{exc.succeeded} ok, {len(exc.failures)} failed\n")
            for uri, err in exc.failures:
                ctx.stderr.write(f"  {uri}: {err}\n")
    message = prefix + _message(exc)
    ctx.error(message)
    ctx.set_summary(error=message)
    if ctx.verbose > 1:
        # Chained SDK causes may quote a URL with user:password@ or a signed query: the
        # traceback passes through the same redaction as every other line we print.
        ctx.stderr.write(redact("".join(traceback.format_exception(exc))))
    return code


def silence_stdout() -> None:
    """After EPIPE: point stdout at /dev/null so the interpreter's final flush cannot fail."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):
        # In-process callers (tests) may have replaced stdout with an object without a descriptor.
        pass
