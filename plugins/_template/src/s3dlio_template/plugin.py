"""Entry-point module of s3dlio-template: hookimpls only, nothing heavy imported."""

# s3dlio imports this module (named by the entry point in pyproject.toml) and calls its
# hooks once, when it composes its plugins: on the first call, never at `import s3dlio`.
# The hooks only declare things: a settings section, and a backend spec whose store class
# is a lazy "module:attribute" reference, so store.py (where a real backend imports its
# SDK) is imported on the first tmpl:// URI. A hookimpl may take any subset of its
# hookspec's arguments, by name (s3dlio/plugin/hookspecs.py lists every hook). Importing
# s3dlio's own modules here is fine: they are loaded anyway when the plugins compose.

from __future__ import annotations

import attrs

from s3dlio import hookimpl
from s3dlio.config import ConfigSchema, setting
from s3dlio.plugin.registry import BackendRegistry, BackendSpec


@attrs.define
class TemplateSettings:
    """Section ``[template]`` of ``s3dlio.toml``; the environment variable overrides the file."""

    # Values are converted to the field's type and validated (minimum=, maximum=, choices=);
    # secret=True redacts one in repr and `s3-cli config show`. Environment names use the
    # plugin's own prefix: S3DLIO_* belongs to s3dlio.
    data_dir: str = setting("", env="TMPL_DATA_DIR",
                            help="directory of the buckets: tmpl://bucket/key is data_dir/bucket/key")


@hookimpl
def s3dlio_add_config(schema: ConfigSchema) -> None:
    schema.add_section("template", TemplateSettings)


@hookimpl
def s3dlio_register_backends(registry: BackendRegistry) -> None:
    registry.register(BackendSpec(
        name="template", schemes=("tmpl",), factory="s3dlio_template.store:TemplateStore",
        install_hint="pip install s3dlio-template",
        description="template backend: files under [template] data_dir (tmpl://bucket/key)",
    ))
