"""google-cloud-storage clients, one per process and configuration, set up for s3dlio.

* Credentials: a key file (``[gcs] credentials_file`` / ``GOOGLE_APPLICATION_CREDENTIALS``,
  any type google-auth loads: service account, authorized user, external account),
  else anonymous for a custom endpoint (``STORAGE_EMULATOR_HOST`` / ``GCS_ENDPOINT_URL``)
  or ``auth = "anonymous"``, else Application Default Credentials.
* SDK retries are off: every SDK call passes ``retry=None`` and the HTTP adapter has
  ``max_retries=0``; core's :class:`~s3dlio.store.retry.RetryPolicy` retries.
* Clients are cached per process, configuration and credential and proxy environment
  (:mod:`s3dlio.store.clients`): a forked child builds its own (a requests session must
  never cross a fork).
* Media GETs and uploads go through :mod:`s3dlio_gcs.rest` (``GcsClient.lean``) unless
  ``[gcs] rest_data_path`` is off, a proxy applies or client certificates are configured.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from s3dlio.errors import PermissionDeniedError, StoreError
from s3dlio.store.clients import ProcessCache, pool_size
from s3dlio_gcs.rest import GcsRest, rest_usable

if TYPE_CHECKING:
    from s3dlio.store.retry import RetrySettings
    from s3dlio_gcs.plugin import GcsSettings

__all__ = ["DEFAULT_ENDPOINT", "ClientConfig", "GcsClient", "get_client", "normalise_endpoint"]

DEFAULT_ENDPOINT = "https://storage.googleapis.com"
SCOPE = "https://www.googleapis.com/auth/devstorage.full_control"
ANONYMOUS_PROJECT = "s3dlio-anonymous"

_CREDENTIAL_ENV = (
    "GOOGLE_APPLICATION_CREDENTIALS", "CLOUDSDK_CONFIG", "GCE_METADATA_HOST", "GCE_METADATA_IP",
    "NO_GCE_CHECK", "GOOGLE_CLOUD_PROJECT", "GCLOUD_PROJECT",
    # what decides whether the lean data path may serve the client (s3dlio_gcs.rest)
    "GOOGLE_API_USE_CLIENT_CERTIFICATE", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE",
    "http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY",
    "no_proxy", "NO_PROXY",
)

_clients: ProcessCache[GcsClient] = ProcessCache()


def normalise_endpoint(value: str) -> str:
    """``host:port`` (the ``STORAGE_EMULATOR_HOST`` form) → ``http://host:port``; no trailing ``/``."""
    value = value.strip().rstrip("/")
    if value and "://" not in value:
        value = "http://" + value
    return value


class ClientConfig:
    """Everything that selects a distinct client: endpoint, credentials, timeouts, pool."""

    __slots__ = ("endpoint_url", "gcs", "key", "mode", "retry")

    def __init__(self, gcs: GcsSettings, retry: RetrySettings) -> None:
        self.gcs = gcs
        self.retry = retry
        self.endpoint_url = normalise_endpoint(gcs.endpoint_url)
        emulator = bool(os.environ.get("STORAGE_EMULATOR_HOST"))
        if gcs.auth == "anonymous" or (gcs.auth == "auto" and emulator):
            # STORAGE_EMULATOR_HOST declares an emulator: never send (or refresh) real
            # credentials to it, even with GOOGLE_APPLICATION_CREDENTIALS exported.
            self.mode = "anonymous"
        elif gcs.credentials_file:
            self.mode = "file"
        elif gcs.auth == "auto" and self.endpoint_url:
            self.mode = "anonymous"  # an emulator (fake-gcs-server, gcp-storage-emulator)
        else:
            self.mode = "adc"
        self.key = (self.endpoint_url, self.mode, emulator, gcs.credentials_file, gcs.project,
                    gcs.max_connections, retry.connect_timeout_secs, retry.read_timeout_secs,
                    gcs.rest_data_path)

    @property
    def endpoint(self) -> str:
        return self.endpoint_url or DEFAULT_ENDPOINT

    @property
    def timeout(self) -> tuple[float, float]:
        return (self.retry.connect_timeout_secs, self.retry.read_timeout_secs)


class GcsClient:
    """A ``google.cloud.storage.Client``, the authorised session it sends through and,
    where usable, the lean client of the data requests (:mod:`s3dlio_gcs.rest`)."""

    __slots__ = ("api_base", "client", "endpoint", "lean", "project", "session")

    def __init__(self, client: Any, session: Any, project: str, endpoint: str,
                 lean: GcsRest | None = None) -> None:
        self.client = client
        self.session = session
        self.project = project
        self.endpoint = endpoint
        self.lean = lean
        self.api_base: str = str(client._connection.API_BASE_URL).rstrip("/")
        """The JSON API's base URL as the SDK resolved it (endpoint option, emulator
        variables, ``API_ENDPOINT_OVERRIDE``)."""


def _mod(name: str) -> Any:
    """Import ``name`` untyped (google-cloud-storage ships no type information)."""
    import importlib

    return importlib.import_module(name)


def _credentials(cfg: ClientConfig) -> tuple[Any, str]:
    """``(credentials, project)`` for ``cfg``; raises ``PermissionDeniedError`` with a how-to."""
    google_auth = _mod("google.auth")
    from google.auth import exceptions as auth_exc

    AnonymousCredentials = _mod("google.auth.credentials").AnonymousCredentials

    project = cfg.gcs.project
    fields = {"op": "connect", "backend": "gcs", "endpoint": cfg.endpoint}
    if cfg.mode == "anonymous":
        return AnonymousCredentials(), project or ANONYMOUS_PROJECT
    if cfg.mode == "file":
        path = cfg.gcs.credentials_file
        try:
            creds, file_project = _load_file(path)
        except (auth_exc.DefaultCredentialsError, OSError, ValueError) as exc:
            raise PermissionDeniedError(
                f"cannot load Google credentials from {path!r} (GOOGLE_APPLICATION_CREDENTIALS / "
                f"[gcs] credentials_file): {exc}", **fields) from exc
        return creds, project or file_project or ""
    try:
        creds, adc_project = google_auth.default(scopes=[SCOPE])
    except auth_exc.DefaultCredentialsError as exc:
        raise PermissionDeniedError(
            "no Google Cloud credentials found: run `gcloud auth application-default login`, "
            "set GOOGLE_APPLICATION_CREDENTIALS (or [gcs] credentials_file) to a service-account "
            "key file, run on GCP with a service account, or set STORAGE_EMULATOR_HOST for an "
            f"emulator (S3DLIO_GCS_AUTH=anonymous for public buckets) ({exc})", **fields) from exc
    return creds, project or adc_project or ""


def _load_file(path: str) -> tuple[Any, str | None]:
    """Credentials from a JSON key file, with the type-specific loaders where possible."""
    import json
    import warnings

    with open(path, encoding="utf-8") as fh:
        info = json.load(fh)
    kind = info.get("type") if isinstance(info, dict) else None
    if kind == "service_account":
        service_account = _mod("google.oauth2.service_account")
        creds = service_account.Credentials.from_service_account_info(info, scopes=[SCOPE])
        return creds, info.get("project_id")
    if kind == "authorized_user":
        user_credentials = _mod("google.oauth2.credentials")
        creds = user_credentials.Credentials.from_authorized_user_info(info, scopes=[SCOPE])
        return creds, info.get("quota_project_id")
    with warnings.catch_warnings():  # external_account & co.: the generic loader
        warnings.simplefilter("ignore", DeprecationWarning)
        creds, project = _mod("google.auth").load_credentials_from_file(path, scopes=[SCOPE])
        return creds, project


def _make(cfg: ClientConfig) -> GcsClient:
    import requests.adapters

    AuthorizedSession = _mod("google.auth.transport.requests").AuthorizedSession
    storage = _mod("google.cloud.storage")

    creds, project = _credentials(cfg)
    session = AuthorizedSession(creds)
    pool = pool_size(cfg.gcs.max_connections)
    adapter = requests.adapters.HTTPAdapter(pool_connections=4, pool_maxsize=pool, max_retries=0)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    options: dict[str, Any] = {}
    if cfg.endpoint_url:
        options["api_endpoint"] = cfg.endpoint_url
    try:
        client = storage.Client(project=project or ANONYMOUS_PROJECT, credentials=creds,
                                _http=session, client_options=options or None)
    except Exception as exc:  # construction never talks to the network; a bad option
        raise StoreError(f"cannot create the GCS client: {exc}", op="connect", backend="gcs",
                         endpoint=cfg.endpoint) from exc
    gcs_client = GcsClient(client, session, project, cfg.endpoint)
    if cfg.gcs.rest_data_path and rest_usable(gcs_client.api_base):
        gcs_client.lean = GcsRest(gcs_client.api_base, creds, session._auth_request,
                                  connect_timeout=cfg.retry.connect_timeout_secs,
                                  read_timeout=cfg.retry.read_timeout_secs, max_idle=pool)
    return gcs_client


def get_client(cfg: ClientConfig) -> GcsClient:
    """The client of ``cfg`` in this process (built on first use, then cached)."""
    key = (cfg.key, *(os.environ.get(name) for name in _CREDENTIAL_ENV))
    return _clients.get(key, lambda: _make(cfg))
