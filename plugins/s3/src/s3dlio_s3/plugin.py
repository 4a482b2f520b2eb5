"""Entry-point module of s3dlio-s3: settings and the backend registration only.

Nothing here imports boto3: the store module is loaded by the registry the first
time an ``s3://`` URI is used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import attrs

from s3dlio import hookimpl
from s3dlio.config import setting
from s3dlio.store.clients import max_connections_setting

if TYPE_CHECKING:
    from s3dlio.cli.registry import CommandRegistry
    from s3dlio.config import ConfigSchema
    from s3dlio.plugin.registry import BackendRegistry, ExportRegistry


@attrs.define
class S3Settings:
    """Section ``[s3]``: endpoint, credentials mode, transport and redirects."""

    endpoint_url: str = setting(
        "", env=("AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"),
        help="custom endpoint (MinIO, Ceph, ...); path-style addressing is then the default",
    )
    region: str = setting(
        "", env=("AWS_REGION", "AWS_DEFAULT_REGION"), help="signing region (empty: us-east-1)",
    )
    addressing_style: str = setting(
        "auto", env="AWS_S3_ADDRESSING_STYLE", choices=("auto", "path", "virtual"),
        help="auto = path-style for custom endpoints, virtual-hosted for AWS",
    )
    ca_bundle: str = setting("", env="AWS_CA_BUNDLE", help="PEM file of trusted CAs")
    insecure: bool = setting(
        False, env="S3DLIO_S3_INSECURE",
        help="skip TLS certificate verification (warns; never for production)",
    )
    anonymous: bool = setting(
        False, env=("S3DLIO_S3_ANONYMOUS", "AWS_NO_SIGN_REQUEST"),
        help="send unsigned requests (public buckets); no credential lookup",
    )
    profile: str = setting("", env="AWS_PROFILE", help="credentials profile name")
    max_connections: int = max_connections_setting("S3DLIO_S3_MAX_CONNECTIONS", per="store")
    metadata_timeout_secs: float = setting(
        1.0, env="AWS_METADATA_SERVICE_TIMEOUT", kind=float, minimum=0.05, maximum=60,
        help="bound on each instance-metadata credential probe (s)",
    )
    metadata_attempts: int = setting(
        1, env="AWS_METADATA_SERVICE_NUM_ATTEMPTS", minimum=1, maximum=10,
        help="instance-metadata credential probes",
    )
    unsigned_payload: bool = setting(
        True, env="S3DLIO_UNSIGNED_PAYLOAD",
        help="skip the SHA-256 of request bodies when a CRC-32C checksum protects them",
    )
    rest_data_path: bool = setting(
        True, env="S3DLIO_S3_REST",
        help="GetObject, PutObject and UploadPart as lean SigV4 requests on pooled connections "
             "(about 1.5 ms less client CPU each than botocore); off: every request through botocore",
    )
    follow_redirects: bool = setting(
        False, env="S3DLIO_FOLLOW_REDIRECTS", help="follow 3xx answers (AIStore proxies)",
    )
    redirect_max: int = setting(
        5, env="S3DLIO_REDIRECT_MAX", minimum=1, maximum=32, help="most redirect hops per request",
    )
    list_page_size: int = setting(
        1000, env="S3DLIO_S3_LIST_PAGE_SIZE", minimum=1, maximum=1000,
        help="keys per ListObjectsV2 page",
    )


@hookimpl
def s3dlio_add_config(schema: ConfigSchema) -> None:
    schema.add_section("s3", S3Settings)
    # Read by botocore's credential chain itself; shown (shortened) by `config show --all`.
    schema.add_known_env("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
                         "AWS_SHARED_CREDENTIALS_FILE", "AWS_CONFIG_FILE")


@hookimpl
def s3dlio_register_backends(registry: BackendRegistry) -> None:
    from s3dlio.plugin.registry import BackendSpec

    registry.register(
        BackendSpec(
            name="s3",
            schemes=("s3",),
            factory="s3dlio_s3.store:S3Store",
            serves_bare_buckets=True,
            endpoint_in_root=True,
            install_hint="pip install s3dlio-s3",
            description="AWS S3 and S3-compatible servers (s3://bucket/key, s3://host:port/bucket/key)",
        )
    )


@hookimpl
def s3dlio_register_exports(exports: ExportRegistry) -> None:
    exports.names_from("s3dlio_s3.configure", "configure_s3 parse_s3_uri_full")


@hookimpl
def s3dlio_register_commands(cli: CommandRegistry) -> None:
    from s3dlio.cli.registry import GlobalOption

    # The AWS CLI's flags, exported to the variables boto3 and [s3] read.
    for option in (
        GlobalOption(("--endpoint-url", "--endpoint"), "endpoint_url", metavar="URL",
                     env="AWS_ENDPOINT_URL", help="S3 endpoint (sets AWS_ENDPOINT_URL)"),
        GlobalOption("--region", "region", env=("AWS_DEFAULT_REGION", "AWS_REGION"),
                     help="S3 region (sets AWS_DEFAULT_REGION and AWS_REGION)"),
        GlobalOption("--profile", "profile", env="AWS_PROFILE",
                     help="AWS credentials profile (sets AWS_PROFILE)"),
        GlobalOption("--ca-bundle", "ca_bundle", metavar="FILE", env="AWS_CA_BUNDLE",
                     help="CA certificates for S3 TLS (sets AWS_CA_BUNDLE)"),
        GlobalOption("--insecure", "insecure", flag=True, env="S3DLIO_S3_INSECURE",
                     help="do not verify S3 TLS certificates (warns; sets S3DLIO_S3_INSECURE)"),
    ):
        cli.add_global_option(option)
