"""botocore clients, one per process and endpoint, configured for s3dlio.

* SDK retries are off (``total_max_attempts=1``): core's
  :class:`~s3dlio.store.retry.RetryPolicy` retries every request, so attempts never
  multiply and each one is visible in the op-log.
* botocore's own request checksums are off (``when_required``): the store sends a
  CRC-32C computed with the ``crc32c`` package (hardware accelerated), never botocore's
  pure-Python or CRT fallbacks.
* Credentials come from the standard chain (env, profile, web identity, container,
  instance metadata) with the metadata probe bounded, so a local endpoint with no
  metadata service never hangs. ``anonymous`` sends unsigned requests.
* Sessions are cached per process and credential environment, clients per store and
  process (:mod:`s3dlio.store.clients`): a forked child builds its own.
"""

from __future__ import annotations

import os
import warnings
from typing import TYPE_CHECKING, Any

from s3dlio.store.clients import ProcessCache, ProcessLock, pool_size

if TYPE_CHECKING:
    from s3dlio.store.retry import RetrySettings
    from s3dlio_s3.plugin import S3Settings
    from s3dlio_s3.rest import S3Rest

__all__ = ["ClientConfig", "make_client", "make_rest"]

DEFAULT_REGION = "us-east-1"

_create_lock = ProcessLock()
"""botocore sessions are not thread-safe while creating clients."""
_sessions: ProcessCache[Any] = ProcessCache()
_insecure_warned = False


class ClientConfig:
    """Everything that selects a distinct client: endpoint, region, TLS, timeouts."""

    __slots__ = ("endpoint_url", "region", "retry", "s3")

    def __init__(self, s3: S3Settings, retry: RetrySettings, endpoint_url: str | None) -> None:
        self.s3 = s3
        self.retry = retry
        self.endpoint_url = endpoint_url or None
        self.region = s3.region or DEFAULT_REGION


_CREDENTIAL_ENV = (
    "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE",
    "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE", "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_EC2_METADATA_DISABLED", "AWS_EC2_METADATA_SERVICE_ENDPOINT",
)


def _session(profile: str, s3: S3Settings) -> Any:
    # A botocore session resolves credentials once and keeps them (refreshing the
    # temporary ones itself); a changed credential environment (configure_s3, tests,
    # a notebook switching accounts) needs a new session.
    def build() -> Any:
        import botocore.session

        session = botocore.session.get_session()
        if profile:
            session.set_config_variable("profile", profile)
        # Bound the instance-metadata probe (docs/backends/s3.md: listing a local endpoint on a
        # laptop must not hang on 169.254.169.254).
        session.set_config_variable("metadata_service_timeout", s3.metadata_timeout_secs)
        session.set_config_variable("metadata_service_num_attempts", s3.metadata_attempts)
        return session

    return _sessions.get((profile, *(os.environ.get(name) for name in _CREDENTIAL_ENV)), build)


def make_client(cfg: ClientConfig) -> Any:
    """A new botocore S3 client for ``cfg`` (callers cache it per process)."""
    import botocore
    from botocore.config import Config

    s3 = cfg.s3
    style = s3.addressing_style
    if style == "auto":
        # Custom endpoints (MinIO, Ceph, moto, IPs) rarely have wildcard DNS.
        style = "path" if cfg.endpoint_url else "virtual"
    s3_options: dict[str, Any] = {"addressing_style": style}
    if s3.unsigned_payload:
        s3_options["payload_signing_enabled"] = False
    config = Config(
        region_name=cfg.region,
        signature_version=botocore.UNSIGNED if s3.anonymous else None,
        s3=s3_options,
        retries={"total_max_attempts": 1, "mode": "standard"},
        connect_timeout=cfg.retry.connect_timeout_secs,
        read_timeout=cfg.retry.read_timeout_secs,
        max_pool_connections=pool_size(s3.max_connections),
        tcp_keepalive=True,
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
        user_agent_extra="s3dlio-python",
        # Our calls are built by this module; validation would also refuse memoryview
        # bodies, which is how caller memory is sent without a copy.
        parameter_validation=False,
    )
    verify: Any = None
    if s3.insecure:
        global _insecure_warned
        if not _insecure_warned:
            _insecure_warned = True
            warnings.warn(
                "S3DLIO_S3_INSECURE is set: TLS certificates are NOT verified", stacklevel=2
            )
        verify = False
    elif s3.ca_bundle:
        verify = s3.ca_bundle
    session = _session(s3.profile, s3)
    with _create_lock:
        return session.create_client(
            "s3", endpoint_url=cfg.endpoint_url, config=config, verify=verify,
        )


def make_rest(cfg: ClientConfig, client: Any, bucket: str) -> S3Rest | None:
    """The lean data-path client of ``bucket`` (``None`` where botocore must serve it)."""
    from s3dlio_s3.rest import S3Rest, rest_usable

    s3 = cfg.s3
    endpoint = str(client.meta.endpoint_url)
    if not bucket or not s3.rest_data_path or not rest_usable(endpoint,
                                                              follow_redirects=s3.follow_redirects):
        return None
    style = s3.addressing_style
    if style == "auto":
        style = "path" if cfg.endpoint_url else "virtual"
    credentials: Any
    if s3.anonymous:
        def credentials() -> None:
            return None
    else:
        session = _session(s3.profile, s3)

        def credentials() -> Any:
            # The session's credentials (the standard chain, resolved once; temporary ones
            # refresh themselves); frozen per request so a refresh is never half-seen.
            creds = session.get_credentials()
            if creds is None:
                from botocore.exceptions import NoCredentialsError

                raise NoCredentialsError()
            return creds.get_frozen_credentials()
    verify: bool | str | None = False if s3.insecure else (s3.ca_bundle or None)
    return S3Rest(endpoint, bucket, str(client.meta.region_name or cfg.region), path_style=style == "path",
                  credentials=credentials, unsigned_payload=s3.unsigned_payload,
                  connect_timeout=cfg.retry.connect_timeout_secs, read_timeout=cfg.retry.read_timeout_secs,
                  max_idle=pool_size(s3.max_connections), verify=verify)
