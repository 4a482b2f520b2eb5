"""Entry-point module of s3dlio-gcs: settings and the backend registration only.

Nothing here imports ``google``: the store module is loaded by the registry the first
time a ``gs://`` / ``gcs://`` URI is used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import attrs

from s3dlio import hookimpl
from s3dlio.config import setting
from s3dlio.store.clients import max_connections_setting

if TYPE_CHECKING:
    from s3dlio.config import ConfigSchema
    from s3dlio.plugin.registry import BackendRegistry, ExportRegistry


@attrs.define
class GcsSettings:
    """Section ``[gcs]``: project, credentials, endpoint and transport."""

    project: str = setting(
        "", env=("GOOGLE_CLOUD_PROJECT", "GCLOUD_PROJECT"),
        help="project for bucket create/list (empty: the project of the credentials)",
    )
    credentials_file: str = setting(
        "", env="GOOGLE_APPLICATION_CREDENTIALS",
        help="service-account (or other google-auth) JSON key file; empty: ADC",
    )
    endpoint_url: str = setting(
        "", env=("GCS_ENDPOINT_URL", "STORAGE_EMULATOR_HOST"),
        help="custom endpoint (an emulator such as fake-gcs-server); empty: storage.googleapis.com",
    )
    auth: str = setting(
        "auto", env="S3DLIO_GCS_AUTH", choices=("auto", "adc", "anonymous"),
        help="auto = a key file if set, else anonymous for a custom endpoint, else ADC",
    )
    max_connections: int = max_connections_setting("S3DLIO_GCS_MAX_CONNECTIONS", per="process and endpoint")
    list_page_size: int = setting(
        1000, env="S3DLIO_GCS_LIST_PAGE_SIZE", minimum=1, maximum=5000,
        help="objects per list page",
    )
    delete_concurrency: int = setting(
        16, env="S3DLIO_GCS_DELETE_CONCURRENCY", minimum=1, maximum=256,
        help="deletes in flight for delete_many / recursive deletes",
    )
    rest_data_path: bool = setting(
        True, env="S3DLIO_GCS_REST",
        help="media GETs and uploads as lean requests on pooled connections (about 0.4 ms less "
             "client CPU each than the authorised requests session); off: every request through it",
    )
    verify_crc32c: bool = setting(
        True, env="S3DLIO_GCS_VERIFY_CRC32C",
        help="check whole-object downloads against the object's CRC-32C",
    )


@hookimpl
def s3dlio_add_config(schema: ConfigSchema) -> None:
    schema.add_section("gcs", GcsSettings)


@hookimpl
def s3dlio_register_backends(registry: BackendRegistry) -> None:
    from s3dlio.plugin.registry import BackendSpec

    registry.register(
        BackendSpec(
            name="gcs",
            schemes=("gs", "gcs"),
            factory="s3dlio_gcs.store:GcsStore",
            install_hint="pip install s3dlio-gcs",
            description="Google Cloud Storage and its emulators (gs://bucket/key, gcs://bucket/key)",
        )
    )


@hookimpl
def s3dlio_register_exports(exports: ExportRegistry) -> None:
    exports.names_from(
        "s3dlio_gcs.configure",
        "gcs_get_channel_count gcs_get_rapid_mode gcs_query_rapid_bucket gcs_set_channel_count "
        "gcs_set_rapid_mode",
    )
