"""Core ``s3-cli`` commands, registered through the same hook a plugin uses.

Each command lives in a small module and is imported only when it runs
(``CommandSpec.factory`` is a lazy ``"module:Class"`` reference), so ``s3-cli
--help`` stays fast whatever is installed.
"""

from __future__ import annotations

from s3dlio.cli.registry import CommandRegistry, CommandSpec

__all__ = ["CORE_COMMANDS", "register_core_commands"]

_P = "s3dlio.cli."

CORE_COMMANDS: tuple[CommandSpec, ...] = (
    CommandSpec("list", _P + "cmd_list:ListCommand", "list objects under a URI (sorted; -U streams)",
                ("ls",)),
    CommandSpec("stat", _P + "cmd_list:StatCommand", "show an object's metadata"),
    CommandSpec("get", _P + "cmd_get:GetCommand", "read objects (benchmark) or save one with -o"),
    CommandSpec("upload", _P + "cmd_transfer:UploadCommand", "upload local files to a URI prefix"),
    CommandSpec("download", _P + "cmd_transfer:DownloadCommand",
                "download objects into a local directory (tree kept)"),
    CommandSpec("cp", _P + "cmd_transfer:CopyCommand", "copy between local paths and URIs"),
    CommandSpec("delete", _P + "cmd_delete:DeleteCommand", "delete objects (globs, -r, -p)", ("rm",)),
    CommandSpec("list-buckets", _P + "cmd_buckets:ListBucketsCommand", "list buckets/containers"),
    CommandSpec("create-bucket", _P + "cmd_buckets:CreateBucketCommand", "create a bucket/container"),
    CommandSpec("delete-bucket", _P + "cmd_buckets:DeleteBucketCommand", "delete a bucket/container"),
    CommandSpec("plugins", _P + "cmd_info:PluginsCommand", "show installed plugins and their status"),
    CommandSpec("config", _P + "cmd_info:ConfigCommand", "config show: every setting and its source"),
    CommandSpec("doctor", _P + "cmd_doctor:DoctorCommand",
                "check plugins, configuration and a URI's backend, credentials, TLS and reachability"),
)


def register_core_commands(cli: CommandRegistry) -> None:
    """Register core's commands (called from core's ``s3dlio_register_commands`` hookimpl)."""
    for spec in CORE_COMMANDS:
        cli.register(spec)
