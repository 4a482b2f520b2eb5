"""Entry-point module of s3dlio-dask: hookimpls only (dask is not imported here)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from s3dlio import hookimpl

if TYPE_CHECKING:
    from s3dlio.plugin.registry import ExportRegistry


@hookimpl
def s3dlio_register_exports(exports: ExportRegistry) -> None:
    exports.submodule("bulk", "s3dlio_dask.bulk", install_hint="pip install s3dlio-dask")
