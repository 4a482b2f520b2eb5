"""``s3-cli plugins`` and ``s3-cli config show``: what is installed and how it is configured."""

from __future__ import annotations

import argparse
import os
from typing import Any

from s3dlio.cli.context import EXIT_CONFIG, EXIT_OK, CliContext

__all__ = ["ConfigCommand", "PluginsCommand", "STORAGE_ENV"]

STORAGE_ENV = (
    "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "S3_ENDPOINT_URIS", "AWS_REGION", "AWS_DEFAULT_REGION",
    "AWS_PROFILE", "AWS_CA_BUNDLE", "AWS_ACCESS_KEY_ID", "AWS_S3_ADDRESSING_STYLE",
    "AZURE_STORAGE_ENDPOINT", "AZURE_BLOB_ENDPOINT_URL", "STORAGE_EMULATOR_HOST", "GCS_ENDPOINT_URL",
)
"""Storage variables read by backends outside the settings schema (``config show --all``)."""


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
        from s3dlio.plugin.runtime import runtime

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
        from s3dlio.config import redacted_value
        from s3dlio.plugin.runtime import runtime
        from s3dlio.redaction import redact

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
            for name in STORAGE_ENV:
                if name in os.environ:
                    shown = redact(os.environ[name]) if name != "AWS_ACCESS_KEY_ID" else (
                        os.environ[name][:4] + "****"
                    )
                    ctx.emit({"type": "environment", "name": name, "value": shown},
                             f"env.{name} = {shown} (env:{name})")
        ctx.set_summary(count=len(rows), config_file=settings.config_file)
        return EXIT_OK
