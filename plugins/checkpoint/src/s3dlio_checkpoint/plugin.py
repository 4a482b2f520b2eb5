"""Entry-point module of s3dlio-checkpoint: hookimpls only (nothing heavy imported here)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from s3dlio import hookimpl

if TYPE_CHECKING:
    from s3dlio.cli.registry import CommandRegistry
    from s3dlio.plugin.registry import ExportRegistry

NAMES = (
    "CheckpointStore PyCheckpointStore CheckpointInfo PyCheckpointInfo CheckpointWriter "
    "PyCheckpointWriter CheckpointReader PyCheckpointReader save_checkpoint load_checkpoint "
    "load_checkpoint_with_validation load_checkpoint_with_validation_view save_distributed_shard "
    "finalize_distributed_checkpoint"
)


@hookimpl
def s3dlio_register_exports(exports: ExportRegistry) -> None:
    exports.names_from("s3dlio_checkpoint.store", NAMES)
    exports.submodule("dcp", "s3dlio_checkpoint.dcp")


@hookimpl
def s3dlio_register_commands(cli: CommandRegistry) -> None:
    from s3dlio.cli.registry import CommandSpec

    cli.register(CommandSpec(
        name="checkpoint", factory="s3dlio_checkpoint.cli:CheckpointCommand",
        help="list, verify or garbage-collect checkpoints",
    ))
