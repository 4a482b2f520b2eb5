"""Entry-point module of s3dlio-azure: settings, the backend registration and the
``https://<account>.blob.core.windows.net/…`` URL rewrite.

Nothing here imports ``azure``: the store module is loaded by the registry the first
time an ``az://`` / ``azure://`` URI is used.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import attrs

from s3dlio import hookimpl
from s3dlio.config import setting
from s3dlio.store.clients import max_connections_setting

if TYPE_CHECKING:
    from s3dlio.config import ConfigSchema, Settings
    from s3dlio.plugin.registry import BackendRegistry

AUTH_MODES = ("auto", "connection_string", "key", "sas", "identity", "anonymous")


@attrs.define
class AzureSettings:
    """Section ``[azure]``: account, credentials, endpoint and transport."""

    account: str = setting(
        "", env=("AZURE_STORAGE_ACCOUNT", "AZURE_STORAGE_ACCOUNT_NAME"),
        help="storage account the key / SAS token belong to (empty: the account of the URI)",
    )
    account_key: str = setting(
        "", env=("AZURE_STORAGE_KEY", "AZURE_STORAGE_ACCOUNT_KEY"), secret=True,
        help="shared account key (base64)",
    )
    connection_string: str = setting(
        "", env="AZURE_STORAGE_CONNECTION_STRING", secret=True,
        help="connection string (AccountName/AccountKey or SharedAccessSignature, BlobEndpoint)",
    )
    sas_token: str = setting(
        "", env="AZURE_STORAGE_SAS_TOKEN", secret=True,
        help="shared access signature (query string, with or without the leading '?')",
    )
    endpoint_url: str = setting(
        "", env=("AZURE_STORAGE_ENDPOINT", "AZURE_BLOB_ENDPOINT_URL", "AZURE_STORAGE_BLOB_ENDPOINT"),
        help="custom blob endpoint, e.g. Azurite http://127.0.0.1:10000/devstoreaccount1 "
             "('{account}' is replaced; empty: https://<account>.blob.<endpoint_suffix>)",
    )
    endpoint_suffix: str = setting(
        "core.windows.net", env="AZURE_STORAGE_ENDPOINT_SUFFIX",
        help="DNS suffix of the public endpoint (sovereign clouds: core.chinacloudapi.cn, ...)",
    )
    auth: str = setting(
        "auto", env="S3DLIO_AZURE_AUTH", choices=AUTH_MODES,
        help="auto = connection string, then SAS token, then account key, then "
             "DefaultAzureCredential (https endpoints, needs s3dlio-azure[identity])",
    )
    max_connections: int = max_connections_setting("S3DLIO_AZURE_MAX_CONNECTIONS", per="process and endpoint")
    list_page_size: int = setting(
        5000, env="S3DLIO_AZURE_LIST_PAGE_SIZE", minimum=1, maximum=5000,
        help="blobs per List Blobs page",
    )
    batch_delete: bool = setting(
        True, env="S3DLIO_AZURE_BATCH_DELETE",
        help="delete_many through Blob Batch (256 keys a request); off: one DELETE per key",
    )
    rest_data_path: bool = setting(
        True, env="S3DLIO_AZURE_REST",
        help="Put Blob, Put Block and Get Blob as lean REST requests (about 2 ms less client "
             "CPU each than the SDK's pipeline); off: every request through the SDK",
    )
    copy_timeout_secs: float = setting(
        600.0, env="S3DLIO_AZURE_COPY_TIMEOUT_SECS", kind=float, minimum=1, maximum=86_400,
        help="longest wait for an asynchronous server-side copy to finish (s)",
    )


@hookimpl
def s3dlio_add_config(schema: ConfigSchema) -> None:
    schema.add_section("azure", AzureSettings)


@hookimpl
def s3dlio_register_backends(registry: BackendRegistry) -> None:
    from s3dlio.plugin.registry import BackendSpec

    registry.register(
        BackendSpec(
            name="azure",
            schemes=("az", "azure"),
            factory="s3dlio_azure.store:AzureStore",
            install_hint="pip install s3dlio-azure",
            description="Azure Blob Storage and Azurite (az://account/container/key)",
        )
    )


_BLOB_HOST = re.compile(r"^([a-z0-9]{3,24})\.blob\.(core\.[a-z0-9.\-]+)$")


@hookimpl
def s3dlio_resolve_url(url: str, settings: Settings) -> str | None:
    """``https://<account>.blob.core.windows.net/`` → ``az://<account>/``."""
    if not url.startswith("https://"):
        return None
    host = url[len("https://"):].split("/", 1)[0].lower()
    match = _BLOB_HOST.match(host)
    if match is None:
        return None
    try:
        suffix = settings.section("azure").endpoint_suffix
    except Exception:
        suffix = "core.windows.net"
    if match.group(2) != suffix and match.group(2) != "core.windows.net":
        return None
    return f"az://{match.group(1)}/"
