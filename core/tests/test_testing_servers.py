"""Real loopback servers of :mod:`s3dlio.testing.servers`, exercised with the plain SDKs.

Each server test skips (naming what to install) when the server package or the SDK is
not installed — core's own tox env installs neither — and otherwise does a real round
trip. The RedirectingProxy and failure-path tests need only the standard library.
"""

from __future__ import annotations

import http.client
import http.server
import importlib.util
import urllib.parse
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from s3dlio.testing.servers import (
    AzuriteServer,
    FakeGcsServer,
    MotoServer,
    RedirectingProxy,
    SeaweedFSServer,
    ServerInfo,
    ServerPrerequisiteMissing,
    ServerStartError,
    find_azurite,
    find_fake_gcs_binary,
    find_weed_binary,
    process_alive,
    serve_handler,
)

pytest_plugins = ["s3dlio.testing.pytest_servers"]


def _bucket() -> str:
    return f"s3dlio-test-{uuid.uuid4().hex[:12]}"


def _need_boto3() -> None:
    # Checked before the server fixture is requested, so a missing SDK does not start a server.
    pytest.importorskip("boto3", reason="boto3 is not installed (pip install boto3)")


def _boto3_client(info: ServerInfo, *, secret_key: str | None = None) -> Any:
    boto3 = pytest.importorskip("boto3", reason="boto3 is not installed (pip install boto3)")
    from botocore.config import Config

    return boto3.client(
        "s3", endpoint_url=info.endpoint_url, region_name=info.region,
        aws_access_key_id=info.access_key, aws_secret_access_key=secret_key or info.secret_key,
        config=Config(retries={"max_attempts": 1}, s3={"addressing_style": "path"}),
    )


def _s3_round_trip(info: ServerInfo) -> None:
    s3 = _boto3_client(info)
    bucket = _bucket()
    s3.create_bucket(Bucket=bucket)
    payload = uuid.uuid4().bytes * 1000
    s3.put_object(Bucket=bucket, Key="dir/obj.bin", Body=payload)
    assert s3.get_object(Bucket=bucket, Key="dir/obj.bin")["Body"].read() == payload
    listed = s3.list_objects_v2(Bucket=bucket, Prefix="dir/")
    assert [(o["Key"], o["Size"]) for o in listed["Contents"]] == [("dir/obj.bin", len(payload))]
    assert bucket in [b["Name"] for b in s3.list_buckets()["Buckets"]]


# ----------------------------------------------------------------------------- S3 servers


def test_moto_round_trip(request: pytest.FixtureRequest) -> None:
    _need_boto3()
    moto_server: MotoServer = request.getfixturevalue("moto_server")
    assert moto_server.endpoint_url.startswith("http://127.0.0.1:")
    _s3_round_trip(moto_server.info)


def test_seaweedfs_round_trip(request: pytest.FixtureRequest) -> None:
    _need_boto3()
    seaweedfs_server: SeaweedFSServer = request.getfixturevalue("seaweedfs_server")
    assert seaweedfs_server.endpoint_url.startswith("http://127.0.0.1:")
    _s3_round_trip(seaweedfs_server.info)


def test_seaweedfs_rejects_wrong_secret(request: pytest.FixtureRequest) -> None:
    _need_boto3()
    seaweedfs_server: SeaweedFSServer = request.getfixturevalue("seaweedfs_server")
    from botocore.exceptions import ClientError

    bad = _boto3_client(seaweedfs_server.info, secret_key="not-the-secret")
    with pytest.raises(ClientError) as excinfo:
        bad.list_buckets()
    assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert excinfo.value.response["Error"]["Code"] == "SignatureDoesNotMatch"


def test_seaweedfs_rejects_wrong_content_md5(request: pytest.FixtureRequest) -> None:
    _need_boto3()
    seaweedfs_server: SeaweedFSServer = request.getfixturevalue("seaweedfs_server")
    import base64
    import hashlib

    from botocore.exceptions import ClientError

    s3 = _boto3_client(seaweedfs_server.info)
    bucket = _bucket()
    s3.create_bucket(Bucket=bucket)
    wrong = base64.b64encode(hashlib.md5(b"something else").digest()).decode()
    with pytest.raises(ClientError) as excinfo:
        s3.put_object(Bucket=bucket, Key="k", Body=b"payload", ContentMD5=wrong)
    assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_s3_env_names_the_endpoint(moto_server: MotoServer) -> None:
    env = moto_server.env()
    assert env["AWS_ENDPOINT_URL"] == moto_server.endpoint_url
    assert env["AWS_DEFAULT_REGION"] == "us-east-1"
    assert {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"} <= env.keys()


# ----------------------------------------------------------------------------- Azure, GCS


def test_azurite_round_trip(request: pytest.FixtureRequest) -> None:
    blob = pytest.importorskip("azure.storage.blob",
                               reason="azure-storage-blob is not installed (pip install azure-storage-blob)")
    azurite_server: AzuriteServer = request.getfixturevalue("azurite_server")
    info = azurite_server.info
    assert info.connection_string is not None
    assert azurite_server.env()["AZURE_STORAGE_CONNECTION_STRING"] == info.connection_string
    service = blob.BlobServiceClient.from_connection_string(info.connection_string)
    container = service.create_container(_bucket())
    payload = uuid.uuid4().bytes * 1000
    container.upload_blob("dir/obj.bin", payload)
    assert container.download_blob("dir/obj.bin").readall() == payload
    assert [b.name for b in container.list_blobs(name_starts_with="dir/")] == ["dir/obj.bin"]


def test_fake_gcs_round_trip(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    reason = "google-cloud-storage is not installed (pip install google-cloud-storage)"
    storage = pytest.importorskip("google.cloud.storage", reason=reason)
    fake_gcs_server: FakeGcsServer = request.getfixturevalue("fake_gcs_server")
    from google.auth.credentials import AnonymousCredentials

    for name, value in fake_gcs_server.env().items():
        monkeypatch.setenv(name, value)
    client = storage.Client(project="s3dlio-test", credentials=AnonymousCredentials())
    bucket = client.create_bucket(_bucket())
    payload = uuid.uuid4().bytes * 1000
    bucket.blob("dir/obj.bin").upload_from_string(payload)
    assert bucket.blob("dir/obj.bin").download_as_bytes() == payload
    assert [b.name for b in client.list_blobs(bucket.name, prefix="dir/")] == ["dir/obj.bin"]


# ----------------------------------------------------------------------------- lifecycle


def _need_moto() -> None:
    for module in ("moto", "flask", "flask_cors"):
        if importlib.util.find_spec(module) is None:
            pytest.skip(f"moto[server] is not installed (missing {module})")


def _need(finder: Callable[[], Path]) -> Callable[[], None]:
    def check() -> None:
        try:
            finder()
        except ServerPrerequisiteMissing as exc:
            pytest.skip(str(exc))
    return check


@pytest.mark.parametrize(("factory", "prerequisite"), [
    pytest.param(MotoServer, _need_moto, id="moto"),
    pytest.param(SeaweedFSServer, _need(find_weed_binary), id="seaweedfs"),
    # Only when already installed: installing needs npm's network settings, which the
    # azure and all envs pass and install before pytest starts.
    pytest.param(AzuriteServer, _need(find_azurite), id="azurite"),
    pytest.param(FakeGcsServer, _need(find_fake_gcs_binary), id="fake-gcs"),
])
def test_stop_leaves_no_process_and_no_tempdir(factory: Callable[[], Any],
                                               prerequisite: Callable[[], None]) -> None:
    prerequisite()
    sockets_before = set(Path("/tmp").glob("seaweedfs-*.sock"))
    server = factory()
    with server:
        pid, log_path = server.pid, server.log_path
        assert pid is not None and log_path is not None
        assert process_alive(pid)
        assert server.startup_seconds is not None
        port = server.info.port
    assert not process_alive(pid)
    assert not log_path.parent.exists()
    assert set(Path("/tmp").glob("seaweedfs-*.sock")) <= sockets_before  # weed's gRPC sockets
    with pytest.raises(RuntimeError, match="not running"):
        _ = server.info
    # The port is free again: nothing is still listening on it.
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
    with pytest.raises(ConnectionRefusedError):
        conn.request("GET", "/")
    conn.close()
    server.stop()  # idempotent


def test_failed_start_reports_log_tail_and_cleans_up(tmp_path: Path) -> None:
    script = tmp_path / "fake-python"
    script.write_text("#!/bin/sh\necho 'boom: cannot start' >&2\nexit 3\n")
    script.chmod(0o755)
    server = MotoServer(python=str(script), startup_timeout=10)
    with pytest.raises(ServerStartError, match=r"(?s)exited with status 3.*boom: cannot start"):
        server.start()
    assert server.pid is None and server.log_path is None


def test_start_timeout_kills_the_server(tmp_path: Path) -> None:
    script = tmp_path / "fake-python"
    script.write_text("#!/bin/sh\necho 'sleeping instead of serving'\nexec sleep 60\n")
    script.chmod(0o755)
    server = MotoServer(python=str(script), startup_timeout=0.5, stop_grace=2)
    with pytest.raises(ServerStartError, match=r"(?s)not ready within.*sleeping instead of serving"):
        server.start()
    assert server.pid is None


# ----------------------------------------------------------------------------- redirect proxy


class _Target(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        body = f"target saw {self.path}".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def target_url() -> Iterator[str]:
    with serve_handler(_Target) as url:
        yield url


def _request(url: str, method: str = "GET", headers: dict[str, str] | None = None,
             body: bytes | None = None) -> http.client.HTTPResponse:
    parts = urllib.parse.urlsplit(url)
    assert parts.hostname == "127.0.0.1"
    conn = http.client.HTTPConnection("127.0.0.1", parts.port, timeout=5)
    conn.request(method, parts.path + ("?" + parts.query if parts.query else ""), body=body,
                 headers=headers or {})
    response = conn.getresponse()
    response.read()
    conn.close()
    return response


def test_redirecting_proxy_single_hop(target_url: str) -> None:
    with RedirectingProxy(target_url) as proxy:
        response = _request(f"{proxy.endpoint_url}/bucket/key?x-id=GetObject",
                            headers={"Authorization": "AWS4-HMAC-SHA256 secret-ish"})
        assert response.status == 307
        assert response.getheader("Location") == f"{target_url}/bucket/key?x-id=GetObject"
        (seen,) = proxy.requests
        assert (seen.method, seen.path, seen.hop) == ("GET", "/bucket/key?x-id=GetObject", 0)
        assert seen.header("authorization") == "AWS4-HMAC-SHA256 secret-ish"


def test_redirecting_proxy_hops_and_body(target_url: str) -> None:
    with RedirectingProxy(target_url, status=302, hops=2) as proxy:
        url = f"{proxy.endpoint_url}/b/k"
        locations = []
        for _ in range(3):
            response = _request(url, method="PUT", body=b"x" * 1000)
            assert response.status == 302
            url = response.getheader("Location") or ""
            locations.append(url)
        assert url == f"{target_url}/b/k"
        assert locations[0].startswith(proxy.endpoint_url)
        assert [(r.method, r.path, r.hop, r.body_length) for r in proxy.requests] == [
            ("PUT", "/b/k", 0, 1000), ("PUT", "/b/k", 1, 1000), ("PUT", "/b/k", 2, 1000)]
        assert not proxy.requests[0].has_header("Authorization")
        proxy.clear()
        assert proxy.requests == []
    # urllib follows the chain to the real target
    import urllib.request

    with RedirectingProxy(target_url, hops=1) as proxy, \
            urllib.request.urlopen(f"{proxy.endpoint_url}/a/b?c=d", timeout=5) as final:
        assert final.read() == b"target saw /a/b?c=d"
        assert [r.hop for r in proxy.requests] == [0, 1]


def test_redirecting_proxy_refuses_non_loopback_target() -> None:
    with pytest.raises(ValueError, match=r"127\.0\.0\.1"):
        RedirectingProxy("http://example.com:80")
    with pytest.raises(ValueError, match="3xx"):
        RedirectingProxy("http://127.0.0.1:9", status=200)
