"""Credentials, endpoints and ``BlobServiceClient``s, one per process and account.

* SDK retries are off (``retry_total=0``): core's :class:`~s3dlio.store.retry.RetryPolicy`
  retries every request, so attempts never multiply and each one is visible.
* Connect and read timeouts come from core's ``[retry]`` section; the connection pool
  is sized for the range engine and the multipart writer (``[azure] max_connections``).
* Credentials, per account (:func:`resolve_credentials`): a connection string, a SAS
  token, an account key, or ``DefaultAzureCredential`` (``azure-identity``, imported
  lazily, https endpoints only); ``anonymous`` for public containers.
* Clients are cached per store and process, ``DefaultAzureCredential`` per process
  (:mod:`s3dlio.store.clients`): a forked child builds its own.
"""

from __future__ import annotations

import ipaddress
import urllib.parse
from typing import TYPE_CHECKING, Any

import attrs

from s3dlio.errors import ConfigError, FeatureNotInstalledError, PermissionDeniedError
from s3dlio.store.clients import ProcessCache, pool_size

if TYPE_CHECKING:
    from s3dlio.store.retry import RetrySettings
    from s3dlio_azure.plugin import AzureSettings
    from s3dlio_azure.rest import BlobRest

__all__ = ["Credentials", "make_rest_client", "make_service_client", "parse_connection_string",
           "resolve_credentials"]

MiB = 1 << 20
GET_CHUNK = 8 * MiB
"""First GET and SDK chunk size: a range-engine part (1-8 MiB) is one request."""

CREDENTIAL_HELP = (
    "set AZURE_STORAGE_CONNECTION_STRING, or AZURE_STORAGE_ACCOUNT with AZURE_STORAGE_KEY or "
    "AZURE_STORAGE_SAS_TOKEN (or the [azure] section of s3dlio.toml); for Microsoft Entra ID "
    "install s3dlio-azure[identity] (DefaultAzureCredential)"
)

_identity: ProcessCache[Any] = ProcessCache()
"""``DefaultAzureCredential``, one per process (it caches tokens)."""


def parse_connection_string(text: str) -> dict[str, str]:
    """``Key=Value;…`` → ``{key.lower(): value}`` (values may hold ``=``)."""
    out: dict[str, str] = {}
    for item in text.split(";"):
        item = item.strip()
        if not item:
            continue
        name, sep, value = item.partition("=")
        if not sep:
            raise ConfigError("AZURE_STORAGE_CONNECTION_STRING: malformed item (expected Key=Value): "
                              f"{name.split('=')[0][:20]!r}")
        out[name.strip().lower()] = value.strip()
    return out


def is_local_host(host: str) -> bool:
    """Loopback, IP literal or ``localhost``: an emulator with path-style account URLs."""
    if host in ("localhost", "host.docker.internal") or host.endswith(".localhost"):
        return True
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def account_endpoint(template: str, account: str, suffix: str) -> str:
    """The blob endpoint of ``account`` from a configured endpoint (or the public one).

    ``{account}`` in ``template`` is replaced; an emulator endpoint (loopback/IP host)
    addresses accounts by the first path segment, so ``http://127.0.0.1:10000`` and
    ``http://127.0.0.1:10000/devstoreaccount1`` both serve any account of the emulator.
    """
    if not template:
        return f"https://{account}.blob.{suffix}"
    template = template.strip().rstrip("/")
    if "{account}" in template:
        return template.replace("{account}", account)
    parts = urllib.parse.urlsplit(template)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(f"AZURE_STORAGE_ENDPOINT: not an http(s) URL: {template!r}")
    host = parts.hostname or ""
    segments = [s for s in parts.path.split("/") if s]
    if is_local_host(host) and len(segments) <= 1:
        return f"{parts.scheme}://{parts.netloc}/{account}"
    return template


@attrs.frozen
class Credentials:
    """What authenticates requests to one account (``kind`` says where it came from)."""

    kind: str
    """``connection_string`` | ``key`` | ``sas`` | ``identity`` | ``anonymous`` | ``none``."""
    endpoint: str
    account_key: str | None = attrs.field(default=None, repr=False)
    sas: str | None = attrs.field(default=None, repr=False)

    @property
    def key(self) -> tuple[Any, ...]:
        return (self.kind, self.endpoint, self.account_key, self.sas)


def resolve_credentials(az: AzureSettings, account: str) -> Credentials:
    """Pick the credentials and endpoint for ``account`` (no network, no SDK import)."""
    mode = az.auth
    endpoint = account_endpoint(az.endpoint_url, account, az.endpoint_suffix)
    if mode in ("auto", "connection_string") and az.connection_string:
        fields = parse_connection_string(az.connection_string)
        name = fields.get("accountname", "")
        if not name or name == account:
            if fields.get("blobendpoint") and not az.endpoint_url:
                endpoint = account_endpoint(fields["blobendpoint"], account, az.endpoint_suffix)
            elif not az.endpoint_url and fields.get("endpointsuffix"):
                proto = fields.get("defaultendpointsprotocol", "https")
                endpoint = f"{proto}://{account}.blob.{fields['endpointsuffix']}"
            elif not az.endpoint_url and fields.get("defaultendpointsprotocol") == "http":
                endpoint = f"http://{account}.blob.{az.endpoint_suffix}"
            if fields.get("accountkey"):
                return Credentials("connection_string", endpoint, account_key=fields["accountkey"])
            if fields.get("sharedaccesssignature"):
                return Credentials("connection_string", endpoint,
                                   sas=fields["sharedaccesssignature"].lstrip("?"))
            if mode == "connection_string":
                raise PermissionDeniedError(
                    "AZURE_STORAGE_CONNECTION_STRING holds neither AccountKey nor "
                    "SharedAccessSignature", op="connect", uri=f"az://{account}/", backend="azure")
        elif mode == "connection_string":
            raise PermissionDeniedError(
                f"AZURE_STORAGE_CONNECTION_STRING is for account {name!r}, not {account!r}",
                op="connect", uri=f"az://{account}/", backend="azure")
    same_account = not az.account or az.account == account
    if mode in ("auto", "sas") and az.sas_token and same_account:
        return Credentials("sas", endpoint, sas=az.sas_token.strip().lstrip("?"))
    if mode in ("auto", "key") and az.account_key and same_account:
        return Credentials("key", endpoint, account_key=az.account_key.strip())
    if mode == "anonymous":
        return Credentials("anonymous", endpoint)
    if mode == "identity" or (mode == "auto" and endpoint.startswith("https://")
                              and _identity_installed()):
        return Credentials("identity", endpoint)
    if mode != "auto":
        raise PermissionDeniedError(
            f"[azure] auth = {mode!r} but no such credential is configured for account "
            f"{account!r}: {CREDENTIAL_HELP}", op="connect", uri=f"az://{account}/", backend="azure")
    other = f" (the configured credentials are for account {az.account!r})" if not same_account else ""
    raise PermissionDeniedError(
        f"no Azure credentials for account {account!r}{other}: {CREDENTIAL_HELP}",
        op="connect", uri=f"az://{account}/", backend="azure", endpoint=endpoint)


def _identity_installed() -> bool:
    import importlib.util

    try:
        return importlib.util.find_spec("azure.identity") is not None
    except (ImportError, ValueError):
        return False


def _default_credential() -> Any:
    def build() -> Any:
        try:
            from azure.identity import DefaultAzureCredential
        except ImportError as exc:
            raise FeatureNotInstalledError(
                "DefaultAzureCredential needs azure-identity: pip install "
                "'s3dlio-azure[identity]'") from exc
        return DefaultAzureCredential()

    return _identity.get("default", build)


def make_service_client(creds: Credentials, account: str, az: AzureSettings,
                        retry: RetrySettings) -> Any:
    """A new ``BlobServiceClient`` (callers cache it per process)."""
    import requests
    from azure.core.pipeline.transport import RequestsTransport
    from azure.storage.blob import BlobServiceClient

    pool = pool_size(az.max_connections)
    session = requests.Session()
    adapter = requests.adapters.HTTPAdapter(pool_connections=4, pool_maxsize=pool, max_retries=0)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    transport = RequestsTransport(
        session=session, session_owner=True,
        connection_timeout=retry.connect_timeout_secs, read_timeout=retry.read_timeout_secs,
        # azure-core reads bodies in 4 KiB blocks unless told otherwise (the SDK sets
        # 4 MiB only for a transport it builds itself): 2,048 GIL round trips per 8 MiB.
        connection_data_block_size=4 << 20,
    )
    credential: Any
    if creds.account_key is not None:
        credential = {"account_name": account, "account_key": creds.account_key}
    elif creds.sas is not None:
        # A plain string: the SDK appends it to every URL, so a copy source carries it too.
        credential = creds.sas
    elif creds.kind == "identity":
        credential = _default_credential()
    else:
        credential = None
    return BlobServiceClient(
        creds.endpoint, credential=credential, transport=transport,
        retry_total=0, retry_connect=0, retry_read=0, retry_status=0,
        max_single_get_size=GET_CHUNK, max_chunk_get_size=GET_CHUNK,
        max_single_put_size=64 * MiB, max_block_size=16 * MiB,
        user_agent="s3dlio-python",
    )


def make_rest_client(creds: Credentials, account: str, az: AzureSettings,
                     retry: RetrySettings) -> BlobRest | None:
    """The lean REST client for the data-moving requests, or ``None`` where the SDK must
    serve them (``[azure] rest_data_path`` off, Entra ID credentials, a proxy)."""
    from s3dlio_azure.rest import BlobRest, rest_usable

    if not az.rest_data_path or not rest_usable(creds.endpoint, creds.kind):
        return None
    return BlobRest(creds.endpoint, account, account_key=creds.account_key, sas=creds.sas,
                    connect_timeout=retry.connect_timeout_secs, read_timeout=retry.read_timeout_secs,
                    max_idle=pool_size(az.max_connections))
