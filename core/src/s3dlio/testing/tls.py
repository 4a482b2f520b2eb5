"""A backend's data paths against its emulator over https (a self-signed certificate).

Real object stores are https, and a lean ``http.client`` data path does its own TLS: these
checks run against the ``*_tls_server`` fixtures of :mod:`s3dlio.testing.pytest_servers`
(the server's CA trusted through the variable the backend's SDK reads)::

    assert_serves_tls(moto_tls_server, "AWS_CA_BUNDLE")
    assert_tls_round_trip("s3://bucket/")
    assert_untrusted_certificate_refused(monkeypatch, "s3://bucket/", tmp_path,
                                         ca_env="AWS_CA_BUNDLE", env={"S3DLIO_S3_REST": "1"})
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from pathlib import Path
from typing import Any

__all__ = ["assert_serves_tls", "assert_tls_round_trip", "assert_untrusted_certificate_refused"]

MiB = 1 << 20


def _payload(size: int, seed: int) -> bytes:
    return random.Random(seed).randbytes(size)


def assert_serves_tls(server: Any, ca_env: str) -> None:
    """``server`` (started with ``https=True``) is https on 127.0.0.1 and its ``env()``
    trusts its certificate through ``ca_env``."""
    from s3dlio.testing.servers import LOOPBACK

    info = server.info
    assert info.endpoint_url.startswith(f"https://{LOOPBACK}:") and info.ca_file, info.endpoint_url
    assert info.env()[ca_env] == info.ca_file


def assert_tls_round_trip(root: str, *, large: int = 3 * MiB + 11) -> None:
    """Write a small object and a ``large`` one (multipart / staged / composite with the
    ``small_parts`` fixture) under the empty ``root``, read them back whole, split and
    ranged, and list them."""
    from s3dlio import api

    small, big = _payload(70_000, 1), _payload(large, 2)
    api.put_bytes(root + "small", small)
    api.put_bytes(root + "large", big)
    assert bytes(api.get(root + "small")) == small
    assert bytes(api.get(root + "large")) == big
    assert bytes(api.get_range(root + "large", MiB, 100)) == big[MiB:MiB + 100]
    assert sorted(api.list(root)) == [root + "large", root + "small"]


def assert_untrusted_certificate_refused(monkeypatch: Any, root: str, tmp_path: Path, *, ca_env: str,
                                         env: Mapping[str, str] | None = None) -> Any:
    """With ``ca_env`` naming a CA that did not sign the server (and ``env`` set), a read
    fails with a permanent ``StoreError`` naming the TLS failure and the endpoint, after one
    attempt: retrying cannot fix a certificate. Returns the error."""
    import pytest

    from s3dlio import api
    from s3dlio.errors import StoreError, TransientError
    from s3dlio.plugin import runtime as rt
    from s3dlio.testing.servers import LOOPBACK, self_signed_certificate

    api.put_bytes(root + "k", b"secret")
    other, _ = self_signed_certificate(tmp_path, LOOPBACK)
    monkeypatch.setenv(ca_env, str(other))
    for name, value in (env or {}).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("S3DLIO_MAX_RETRY_ATTEMPTS", "2")
    monkeypatch.setenv("S3DLIO_RETRY_BASE_MS", "1")
    rt.reset()
    with pytest.raises(StoreError) as info:
        api.get(root + "k")
    err = info.value
    assert not isinstance(err, TransientError), f"a certificate failure is not retried: {err!r}"
    assert f"TLS failure talking to https://{LOOPBACK}:" in str(err), str(err)
    assert "certificate" in str(err).lower(), str(err)
    assert err.attempts == 1, err.attempts
    return err
