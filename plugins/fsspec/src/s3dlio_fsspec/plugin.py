"""Entry-point module of s3dlio-fsspec: hookimpls only (fsspec is not imported here)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from s3dlio import hookimpl

if TYPE_CHECKING:
    from s3dlio.plugin.registry import ExportRegistry


@hookimpl
def s3dlio_register_exports(exports: ExportRegistry) -> None:
    exports.submodule("fsspec", "s3dlio_fsspec.filesystem", install_hint="pip install s3dlio-fsspec")
