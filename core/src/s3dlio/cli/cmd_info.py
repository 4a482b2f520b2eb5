"""``s3-cli plugins`` and ``s3-cli config show``: what is installed and how it is configured."""

from __future__ import annotations

import argparse
import os
import re
from typing import Any

from s3dlio.cli.context import EXIT_CONFIG, EXIT_OK, CliContext
from s3dlio.config import redacted_value
from s3dlio.plugin.runtime import runtime
from s3dlio.redaction import redact

__all__ = ["ConfigCommand", "PluginsCommand", "shown_env_value"]

_KEY_ID = re.compile(r"(?:ACCESS_KEY_ID|KEY_ID|ACCOUNT_NAME)$")
_SECRET = re.compile(r"SECRET|TOKEN|PASSWORD|ACCOUNT_KEY|CONNECTION_STRING|SAS")


def shown_env_value(name: str, value: str) -> str:
    """A variable's value as ``config show --all`` prints it: key ids shortened, secrets hidden."""
    if _SECRET.search(name):
        return "****"
    if _KEY_ID.search(name):
        return value[:4] + "****"
    return redact(value)


def _table(ctx: CliContext, headers: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]
    ctx.out("  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip())
    for row in rows:
        ctx.out("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())


class PluginsCommand:
    """The plugin report: every plugin found, its distribution, version, status and error."""

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--hooks", action="store_true", help="also list each plugin's hooks")
        parser.add_argument("--check", action="store_true",
                            help="exit 5 if any plugin failed to load or conflicts")

    def run(self, args: argparse.Namespace, ctx: CliContext) -> int:
        reports = runtime().host.report()
        for r in reports:
            ctx.emit({"type": "plugin", **r.to_dict()})
        headers = ["NAME", "DISTRIBUTION", "VERSION", "STATUS", "ERROR"]
        rows = [[r.name, r.distribution or "-", r.version or "-", r.status, r.error] for r in reports]
        if args.hooks:
            headers.append("HOOKS")
            for row, r in zip(rows, reports, strict=True):
                row.append(",".join(h.removeprefix("s3dlio_") for h in r.hooks))
        if not ctx.json_mode:
            _table(ctx, headers, rows)
        failed = [r.name for r in reports if r.status in ("failed", "conflict")]
        ctx.set_summary(count=len(reports), failed=len(failed))
        if failed:
            message = f"plugins with problems: {', '.join(failed)}"
            if args.check:
                ctx.error(message)
                return EXIT_CONFIG
            ctx.warn(message)
        return EXIT_OK


class ConfigCommand:
    """``config show``: every resolved setting with its source; secrets redacted."""

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("action", choices=["show"], help="show: print the resolved settings")
        parser.add_argument("--all", action="store_true",
                            help="also each setting's variables and help, and the storage environment")

    def run(self, args: argparse.Namespace, ctx: CliContext) -> int:
        settings = runtime().settings
        rows = settings.describe()
        if not ctx.json_mode:
            ctx.out(f"# config file: {settings.config_file or '(none)'}")
        for row in rows:
            value = redacted_value(row)
            record: dict[str, Any] = {"type": "setting", "section": row.section, "name": row.name,
                                      "value": value, "source": row.source}
            # An empty value would print as "name =  (default)", easily misread: say it.
            text = f"{row.section}.{row.name} = {value if value != '' else '(unset)'} ({row.source})"
            if args.all:
                record.update(env=list(row.env), help=row.help)
                extra = f"  [{', '.join(row.env)}]" if row.env else ""
                text += extra + (f"  # {row.help}" if row.help else "")
            ctx.emit(record, text)
        if args.all:
            # Variables plugins read themselves (declared with schema.add_known_env), when set.
            declared = runtime().host.schema.extra_env
            for name in sorted(n for n in declared if not n.startswith("S3DLIO_") and n in os.environ):
                shown = shown_env_value(name, os.environ[name])
                ctx.emit({"type": "environment", "name": name, "value": shown, "plugin": declared[name]},
                         f"env.{name} = {shown} (env:{name}, read by {declared[name]})")
        ctx.set_summary(count=len(rows), config_file=settings.config_file)
        return EXIT_OK
