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
import importlib.util
import os
import sys
import traceback
import warnings
from collections.abc import Callable, Sequence
from typing import Any

from s3dlio._version import __version__
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
from s3dlio.cli.registry import CommandRegistry
from s3dlio.errors import BatchError, ConfigError, NotFoundError, PluginError, S3dlioError

__all__ = ["EPILOG", "build_parser", "main"]

EPILOG = """\
global flags may be given before or after the command.

exit codes:
  0    success
  1    the operation failed
  2    usage error (bad option, value or combination)
  3    partial failure: some items of a batch failed (each is listed on stderr);
       when every item failed: 4 if all were "not found", else 1
  4    not found / nothing matched
  5    configuration or plugin error (bad setting, missing backend or plugin)
  130  interrupted (Ctrl-C)

sizes accept 4096, 64k (1000^n), 4MiB (1024^n), 1_000_000, 1,024 and 1.5k.
data goes to stdout, summaries and errors to stderr; --json prints NDJSON whose
last line is {"type": "summary", ...}.
"""

_GLOBAL_DEFAULTS: dict[str, Any] = {
    "verbose": 0,
    "quiet": False,
    "endpoint_url": None,
    "region": None,
    "profile": None,
    "ca_bundle": None,
    "insecure": False,
    "op_log": None,
    "json": False,
    "no_progress": False,
    "config": None,
}


def _global_parser() -> argparse.ArgumentParser:
    """The flags every command accepts (defaults suppressed; see the module docstring)."""
    p = argparse.ArgumentParser(
        prog="s3-cli", add_help=False, allow_abbrev=False, argument_default=argparse.SUPPRESS
    )
    g = p.add_argument_group("global options")
    g.add_argument("-v", "--verbose", action="count", help="-v: info logging, -vv: debug and tracebacks")
    g.add_argument("-q", "--quiet", action="store_true", help="no summaries or progress bars")
    g.add_argument("--endpoint-url", "--endpoint", dest="endpoint_url", metavar="URL",
                   help="S3 endpoint (sets AWS_ENDPOINT_URL)")
    g.add_argument("--region", help="region (sets AWS_DEFAULT_REGION)")
    g.add_argument("--profile", help="credentials profile (sets AWS_PROFILE)")
    g.add_argument("--ca-bundle", dest="ca_bundle", metavar="FILE",
                   help="CA certificates for TLS (sets AWS_CA_BUNDLE)")
    g.add_argument("--insecure", action="store_true", help="accepted for compatibility; warns")
    g.add_argument("--op-log", dest="op_log", metavar="FILE",
                   help="record every operation (needs s3dlio-oplog)")
    g.add_argument("--json", action="store_true", help="NDJSON output, last line a summary")
    g.add_argument("--no-progress", dest="no_progress", action="store_true", help="no progress bars")
    g.add_argument("--config", metavar="FILE", help="s3dlio.toml to use (sets S3DLIO_CONFIG)")
    return p


def _apply_environment(ns: argparse.Namespace) -> None:
    """Load ``./.env`` (never overriding) then export the environment-changing flags."""
    from s3dlio.cli.dotenv import load_dotenv

    load_dotenv(".env")
    exports = {
        "AWS_ENDPOINT_URL": getattr(ns, "endpoint_url", None),
        "AWS_DEFAULT_REGION": getattr(ns, "region", None),
        "AWS_REGION": getattr(ns, "region", None),
        "AWS_CA_BUNDLE": getattr(ns, "ca_bundle", None),
        "AWS_PROFILE": getattr(ns, "profile", None),
        "S3DLIO_CONFIG": getattr(ns, "config", None),
    }
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
    """Commands of core and every plugin; a composition failure leaves core's only."""
    registry = CommandRegistry()
    try:
        from s3dlio.plugin.runtime import runtime

        runtime().host.build_commands(registry)
    except (ConfigError, PluginError) as exc:
        from s3dlio.cli.commands import register_core_commands

        registry = CommandRegistry()
        register_core_commands(registry)
        return registry, exc
    return registry, None


def _command_name(extras: Sequence[str], registry: CommandRegistry) -> str | None:
    """The sub-command named in what the global pre-parser left over."""
    for token in extras:
        if token == "--":
            return None
        if not token.startswith("-"):
            return token if token in registry else None
    return None


def build_parser(registry: CommandRegistry, selected: str | None) -> tuple[argparse.ArgumentParser, Any]:
    """The full parser; only the selected command's arguments are added (lazy imports)."""
    parent = _global_parser()
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
    except SystemExit as exc:  # e.g. --endpoint-url without a value
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    try:
        _apply_environment(pre)
    except ConfigError as exc:
        sys.stderr.write(f"s3-cli: error: {exc}\n")
        return EXIT_CONFIG
    registry, compose_error = _load_registry()
    selected = _command_name(extras, registry)
    try:
        parser, command = build_parser(registry, selected)
        args = parser.parse_args(args_list)
    except SystemExit as exc:  # argparse: --help/--version (0) or a usage error (2)
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    except PluginError as exc:
        sys.stderr.write(f"s3-cli: error: {exc}\n")
        return EXIT_CONFIG
    for name, default in _GLOBAL_DEFAULTS.items():
        if not hasattr(args, name):
            setattr(args, name, default)
    if command is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    ctx = CliContext(
        json_mode=args.json, quiet=args.quiet, no_progress=args.no_progress,
        verbose=args.verbose, command=registry.get(args.command).name,
    )
    code = _run(command, args, ctx, compose_error)
    ctx.write_summary(code)
    return code


def _run(command: Any, args: argparse.Namespace, ctx: CliContext, compose_error: BaseException | None) -> int:
    """Run one command (with the op-log around it when asked); the exit code."""
    oplog: list[bool] = []
    code = _guarded(lambda: _setup_and_run(command, args, ctx, compose_error, oplog), ctx)
    if oplog:
        # A failure to flush the op-log is reported, and fails a run that otherwise succeeded.
        code = code or _guarded(_finish_oplog, ctx)
    return code


def _setup_and_run(command: Any, args: argparse.Namespace, ctx: CliContext,
                   compose_error: BaseException | None, oplog: list[bool]) -> int:
    if compose_error is not None:
        raise compose_error
    if args.verbose:
        from s3dlio.api.configure import init_logging

        init_logging("debug" if args.verbose > 1 else "info")
    if args.insecure:
        ctx.warn("--insecure: TLS certificate verification is not disabled by s3dlio core; "
                 "use --ca-bundle for private CAs")
    if args.op_log:
        _start_oplog(args.op_log)
        oplog.append(True)
    return int(command.run(args, ctx))


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


def _finish_oplog() -> int:
    import s3dlio

    s3dlio.finalize_op_log()
    return 0


def _start_oplog(path: str) -> None:
    if importlib.util.find_spec("s3dlio_oplog") is None:
        raise PluginError("--op-log needs the op-log plugin: pip install s3dlio-oplog")
    import s3dlio

    s3dlio.init_op_log(path)


def exit_code_for(exc: BaseException) -> int:
    """The documented exit code of an exception (see ``EPILOG``)."""
    if isinstance(exc, KeyboardInterrupt):
        return EXIT_INTERRUPTED
    if isinstance(exc, UsageError):
        return EXIT_USAGE
    if isinstance(exc, BatchError):
        if exc.succeeded:
            return EXIT_PARTIAL
        # Nothing succeeded: the batch failed as a whole, for the reason its items share.
        if exc.failures and all(isinstance(e, NotFoundError) for _, e in exc.failures):
            return EXIT_NOT_FOUND
        return EXIT_FAILED
    if isinstance(exc, NotFoundError):
        return EXIT_NOT_FOUND
    if isinstance(exc, (ConfigError, PluginError)):
        return EXIT_CONFIG
    if isinstance(exc, (ValueError, TypeError)) and not isinstance(exc, S3dlioError):
        return EXIT_USAGE  # bad input rejected by the API (name clash, bad range, …)
    return EXIT_FAILED


def report_error(exc: BaseException, ctx: CliContext) -> int:
    """Print ``exc`` on stderr (failures of a batch one per line) and return its exit code."""
    code = exit_code_for(exc)
    if isinstance(exc, BatchError):
        ctx.stderr.write(f"{exc.succeeded} ok, {len(exc.failures)} failed\n")
        for uri, err in exc.failures:
            ctx.stderr.write(f"  {uri}: {err}\n")
        ctx.set_summary(ok=exc.succeeded, failed=len(exc.failures),
                        failures=[{"uri": u, "error": str(e)} for u, e in exc.failures])
    message = str(exc) if isinstance(exc, (S3dlioError, OSError, UsageError)) else (
        f"{type(exc).__name__}: {exc}"
    )
    ctx.error(message)
    ctx.set_summary(error=message)
    if ctx.verbose > 1:
        traceback.print_exception(exc, file=ctx.stderr)
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
