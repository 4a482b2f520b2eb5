"""GcsStore behaviour beyond the shared conformance suite, against fake-gcs-server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

import s3dlio
from s3dlio.errors import (
    AlreadyExistsError,
    InvalidPathError,
    NotFoundError,
    PermissionDeniedError,
    PreconditionError,
    StoreError,
    ThrottledError,
    TransientError,
)
from s3dlio.plugin import runtime as rt
from s3dlio.store.multipart import MultipartUploadWriter
from s3dlio.testing.servers import free_port

pytest.importorskip("s3dlio_gcs")

import s3dlio_gcs
from s3dlio_gcs.store import PARTS_MARK, GcsStore

pytestmark = pytest.mark.timeout(180)
MiB = 1 << 20


def _payload(size: int, seed: int = 7) -> bytes:
    import random

    return random.Random(seed).randbytes(size)


def _raw_names(store: GcsStore, prefix: str = "") -> list[str]:
    """Every object under ``prefix``, composite-upload temporaries included."""
    return [b.name for blobs, _ in store._list_raw(prefix, recursive=True) for b in blobs]


# ----------------------------------------------------------------- large objects
def test_large_put_is_composite_and_reads_back_through_range_engine(
        bucket: str, small_parts: None, monkeypatch: pytest.MonkeyPatch) -> None:
    data = _payload(5 * MiB + 123)
    uri = bucket + "big/object.bin"
    s3dlio.put_bytes(uri, data)
    store, key = s3dlio_gcs.gcs_store(uri)
    stat = store.head(key)
    assert stat.size == len(data)
    assert stat.extra.get("component_count") in (None, 6)  # fake-gcs-server may not report it
    assert stat.version_id and stat.version_id.isdigit()
    assert _raw_names(store, "big/") == ["big/object.bin"], "temporaries left behind"

    ranges: list[int] = []
    original = GcsStore._range_into

    def spy(self: GcsStore, key: str, offset: int, buf: memoryview, **kw: Any) -> int:
        ranges.append(offset)
        return original(self, key, offset, buf, **kw)

    monkeypatch.setattr(GcsStore, "_range_into", spy)
    got = s3dlio.get(uri)
    assert bytes(got) == data
    assert len(ranges) >= 4, "a large GET must be split into ranged GETs"
    assert bytes(s3dlio.get_range(uri, 3 * MiB - 5, 10)) == data[3 * MiB - 5 : 3 * MiB + 5]


def test_writer_with_more_than_32_parts_composes_in_a_tree(bucket: str) -> None:
    data = _payload(40 * MiB + 3, seed=3)
    uri = bucket + "tree.bin"
    with MultipartUploadWriter.from_uri(uri, part_size=MiB, max_in_flight=8) as writer:
        mv = memoryview(data)
        for off in range(0, len(data), 3 * MiB + 1):
            writer.write(mv[off : off + 3 * MiB + 1])
    info = writer.close() if not writer.closed else None
    assert info is None or info["total_bytes"] == len(data)
    assert bytes(s3dlio.get(uri)) == data
    store, _ = s3dlio_gcs.gcs_store(uri)
    assert _raw_names(store) == ["tree.bin"]


def test_put_file_and_download_large(bucket: str, small_parts: None, tmp_path: Path) -> None:
    src = tmp_path / "src.bin"
    data = _payload(3 * MiB + 11, seed=5)
    src.write_bytes(data)
    store, _ = s3dlio_gcs.gcs_store(bucket + "f")
    assert store.put_file("file.bin", str(src)) == len(data)
    dst = tmp_path / "dst.bin"
    assert store.get_to_file("file.bin", str(dst)) == len(data)
    assert dst.read_bytes() == data


def test_aborted_writer_leaves_no_object_and_no_temporaries(bucket: str) -> None:
    uri = bucket + "aborted.bin"
    with pytest.raises(RuntimeError, match="boom"), \
            MultipartUploadWriter.from_uri(uri, part_size=MiB) as writer:
        writer.write(_payload(3 * MiB + 1))
        writer.flush()
        raise RuntimeError("boom")
    store, _ = s3dlio_gcs.gcs_store(uri)
    assert not s3dlio.exists(uri)
    assert _raw_names(store) == []
    # An explicit abort after parts were uploaded cleans up the same way.
    w2 = MultipartUploadWriter.from_uri(uri, part_size=MiB)
    w2.write(_payload(2 * MiB + 5))
    w2.flush()
    w2.abort()
    assert _raw_names(store) == []


def test_temporaries_are_hidden_from_listings_and_abort_incomplete_removes_them(
        bucket: str) -> None:
    store, _ = s3dlio_gcs.gcs_store(bucket + "x")
    upload_id = store.create_upload("dir/obj")
    store.upload_part("dir/obj", upload_id, 1, memoryview(b"a" * 100))
    s3dlio.put_bytes(bucket + "dir/visible", b"v")
    assert s3dlio.list(bucket, recursive=True) == [bucket + "dir/visible"]
    assert s3dlio.list(bucket + "dir/", recursive=False) == [bucket + "dir/visible"]
    assert any(PARTS_MARK in n for n in _raw_names(store))
    assert store.abort_incomplete("", older_than_s=3600) == 0  # too young
    assert store.abort_incomplete("dir/", older_than_s=0) == 1
    assert _raw_names(store) == ["dir/visible"]


def test_copy_is_server_side_and_exact(bucket: str) -> None:
    data = _payload(3 * MiB + 1, seed=9)
    s3dlio.put_bytes(bucket + "src", data)
    store, _ = s3dlio_gcs.gcs_store(bucket)
    store.copy("src", "dst/copy")
    assert bytes(s3dlio.get(bucket + "dst/copy")) == data
    with pytest.raises(NotFoundError):
        store.copy("missing", "dst/x")


# ------------------------------------------------------------------ create-only
def test_create_only_write_refuses_an_existing_object(bucket: str) -> None:
    uri = bucket + "once"
    assert s3dlio_gcs.put_if_absent(uri, b"first") is True
    assert s3dlio_gcs.put_if_absent(uri, b"second") is False
    store, key = s3dlio_gcs.gcs_store(uri)
    with pytest.raises(AlreadyExistsError) as info:
        store.put(key, memoryview(b"third"), create_only=True)
    assert info.value.status == 412
    assert isinstance(info.value, FileExistsError)
    assert bytes(s3dlio.get(uri)) == b"first"


def test_create_only_composite_upload_prechecks_and_creates(bucket: str, small_parts: None) -> None:
    uri = bucket + "race.bin"
    s3dlio.put_bytes(uri, b"winner")
    store, key = s3dlio_gcs.gcs_store(uri)
    with pytest.raises(AlreadyExistsError):
        store.put(key, memoryview(_payload(3 * MiB)), create_only=True)
    assert bytes(s3dlio.get(uri)) == b"winner"
    big = _payload(3 * MiB, seed=11)
    assert store.put_if_absent("fresh.bin", memoryview(big)) is True
    assert bytes(s3dlio.get(bucket + "fresh.bin")) == big
    assert sorted(_raw_names(store)) == ["fresh.bin", "race.bin"]


def _compose_honours_generation_match(store: GcsStore) -> bool:
    bucket = store._conn.bucket
    bucket.blob("probe-src").upload_from_string(b"s", retry=None)
    bucket.blob("probe-dst").upload_from_string(b"d", retry=None)
    try:
        bucket.blob("probe-dst").compose([bucket.blob("probe-src")], retry=None,
                                         if_generation_match=0)
    except Exception:
        return True
    finally:
        store.delete_many(["probe-src", "probe-dst"])
    return False


def test_create_only_composite_upload_refuses_at_compose(
        bucket: str, small_parts: None, monkeypatch: pytest.MonkeyPatch) -> None:
    uri = bucket + "race.bin"
    store, key = s3dlio_gcs.gcs_store(uri)
    if not _compose_honours_generation_match(store):
        pytest.skip("fake-gcs-server ignores ifGenerationMatch on objects.compose (it composes "
                    "over an existing object); GCS refuses with 412, which this path maps to "
                    "AlreadyExistsError")
    s3dlio.put_bytes(uri, b"winner")
    # The object appears between the pre-check and the compose: ifGenerationMatch=0 refuses.
    monkeypatch.setattr(GcsStore, "exists", lambda self, key: False)
    with pytest.raises(AlreadyExistsError):
        store.put(key, memoryview(_payload(3 * MiB)), create_only=True)
    assert bytes(s3dlio.get(uri)) == b"winner"
    assert _raw_names(store) == ["race.bin"], "the failed upload must delete its temporaries"


def test_capabilities() -> None:
    from s3dlio.store import Capability

    assert GcsStore.capabilities == {Capability.MULTIPART, Capability.CONDITIONAL_PUT,
                                     Capability.GET_INTO, Capability.BUCKETS,
                                     Capability.SERVER_COPY}


# ---------------------------------------------------------------- head / stat
def test_head_reports_generation_crc32c_and_content_type(bucket: str) -> None:
    s3dlio.put_bytes(bucket + "h", b"hello")
    store, _ = s3dlio_gcs.gcs_store(bucket)
    meta = store.head("h")
    assert meta.size == 5
    assert meta.version_id == str(meta.extra["generation"])
    assert meta.extra["crc32c"] == "mnG7TA=="  # CRC-32C of b"hello"
    assert meta.content_type == "application/octet-stream"
    assert meta.etag and meta.last_modified


# ------------------------------------------------------------------- deletes
def test_delete_many_reports_every_per_key_failure(bucket: str) -> None:
    for i in range(5):
        s3dlio.put_bytes(bucket + f"d/{i}", b"x")
    store, _ = s3dlio_gcs.gcs_store(bucket)
    failures = store.delete_many(["d/0", "bad\nkey", "d/1", "", "d/missing", "x" * 1100, "d/2"])
    assert [k for k, _ in failures] == ["bad\nkey", "", "x" * 1100]
    assert all(isinstance(e, InvalidPathError) for _, e in failures)
    assert s3dlio.list(bucket + "d/") == [bucket + "d/3", bucket + "d/4"]


def test_delete_many_against_unreachable_endpoint_reports_each_key(
        bucket: str, monkeypatch: pytest.MonkeyPatch) -> None:
    port = free_port()
    monkeypatch.setenv("GCS_ENDPOINT_URL", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("S3DLIO_RETRY_BASE_MS", "1")
    rt.reset()
    store, _ = s3dlio_gcs.gcs_store(bucket)
    failures = store.delete_many(["a", "b", "c"])
    assert sorted(k for k, _ in failures) == ["a", "b", "c"]
    assert all(isinstance(e, TransientError) and f"127.0.0.1:{port}" in str(e) for _, e in failures)


# ----------------------------------------------------------------- bad input
@pytest.mark.parametrize("name", ["ab", "Upper", "-lead", "trail-", "goog-bucket", "my-google-data",
                                  "192.168.1.10", "a" * 64, "bad$char", "a..b"])
def test_bad_bucket_names_are_invalid_path_errors(name: str, gcs: Any) -> None:
    with pytest.raises(InvalidPathError, match="invalid bucket name"):
        s3dlio.get(f"gs://{name}/key")


def test_valid_unusual_bucket_names_parse() -> None:
    assert GcsStore.split_uri("gs://my_bucket.example-1/k") == ("gs://my_bucket.example-1/", "k")
    assert GcsStore.split_uri("gcs://abc/") == ("gcs://abc/", "")
    with pytest.raises(InvalidPathError):
        GcsStore.split_uri("gs:///key")


def test_keys_with_spaces_and_unicode_round_trip(bucket: str) -> None:
    keys = ["with space/a b.txt", "ünï/cödé ✓.bin", "percent%20+plus?q#h", "日本語/ファイル"]
    for i, key in enumerate(keys):
        s3dlio.put_bytes(bucket + key, f"v{i}".encode())
    for i, key in enumerate(keys):
        assert bytes(s3dlio.get(bucket + key)) == f"v{i}".encode()
        assert s3dlio.stat(bucket + key)["size"] == 2
    assert sorted(s3dlio.list(bucket, recursive=True)) == sorted(bucket + k for k in keys)


@pytest.mark.parametrize("key", ["line\nfeed", "carriage\rreturn", "x" * 1025, ".", "..",
                                 "lone\udc80surrogate"])
def test_invalid_keys_fail_typed_and_write_nothing(bucket: str, key: str) -> None:
    with pytest.raises(InvalidPathError):
        s3dlio.put_bytes(bucket + key, b"data")
    assert s3dlio.list(bucket, recursive=True) == []


def test_unreachable_endpoint_fails_fast_naming_it(
        bucket: str, monkeypatch: pytest.MonkeyPatch) -> None:
    port = free_port()
    monkeypatch.setenv("GCS_ENDPOINT_URL", f"127.0.0.1:{port}")
    rt.reset()
    start = time.monotonic()
    with pytest.raises(TransientError) as info:
        s3dlio.get(bucket + "k")
    assert time.monotonic() - start < 10
    assert f"127.0.0.1:{port}" in str(info.value)
    assert info.value.endpoint == f"http://127.0.0.1:{port}"


def test_missing_object_and_bucket(bucket: str) -> None:
    with pytest.raises(NotFoundError):
        s3dlio.get(bucket + "nope")
    with pytest.raises(NotFoundError):
        s3dlio.stat(f"gs://no-such-bucket-{uuid.uuid4().hex[:8]}/k")


# --------------------------------------------------------------- credentials
def _isolated_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("GOOGLE_", "GCLOUD", "GCS_", "STORAGE_EMULATOR", "GCE_", "S3DLIO_"))}
    env.update(CLOUDSDK_CONFIG=str(tmp_path / "gcloud"), NO_GCE_CHECK="true",
               GCE_METADATA_HOST=f"127.0.0.1:{free_port()}",
               GCE_METADATA_IP=f"127.0.0.1:{free_port()}", HOME=str(tmp_path))
    return env


def test_missing_credentials_is_a_clear_permission_error(tmp_path: Path) -> None:
    code = (
        "import s3dlio\n"
        "from s3dlio.errors import PermissionDeniedError\n"
        "try:\n"
        "    s3dlio.get('gs://some-bucket/key')\n"
        "except PermissionDeniedError as exc:\n"
        "    print('DENIED', exc)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], env=_isolated_env(tmp_path),
                         check=False, capture_output=True, text=True, timeout=60)
    assert "DENIED" in out.stdout, out.stdout + out.stderr
    assert "gcloud auth application-default login" in out.stdout
    assert "STORAGE_EMULATOR_HOST" in out.stdout
    assert "GOOGLE_APPLICATION_CREDENTIALS" in out.stdout


def test_bad_credentials_file_is_a_permission_error(
        bucket: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # A key file is used with a custom endpoint (GCS_ENDPOINT_URL); STORAGE_EMULATOR_HOST
    # would declare an emulator and force anonymous access.
    monkeypatch.setenv("GCS_ENDPOINT_URL", os.environ["STORAGE_EMULATOR_HOST"])
    monkeypatch.delenv("STORAGE_EMULATOR_HOST")
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(tmp_path / "missing.json"))
    rt.reset()
    with pytest.raises(PermissionDeniedError, match=r"missing\.json"):
        s3dlio.get(bucket + "k")


def test_service_account_file_is_loaded(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    path = tmp_path / "sa.json"
    path.write_text(json.dumps({
        "type": "service_account", "project_id": "sa-project", "private_key_id": "k1",
        "private_key": pem, "client_email": "svc@sa-project.iam.gserviceaccount.com",
        "client_id": "1", "token_uri": f"http://127.0.0.1:{free_port()}/token",
    }))
    for name in ("STORAGE_EMULATOR_HOST", "GCS_ENDPOINT_URL", "GOOGLE_CLOUD_PROJECT", "GCLOUD_PROJECT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(path))
    rt.reset()
    from google.oauth2 import service_account

    store, _ = s3dlio_gcs.gcs_store("gs://some-bucket/k")
    gc = store._conn.gc
    assert isinstance(gc.client._credentials, service_account.Credentials)
    assert gc.project == "sa-project"
    assert store.endpoint == "https://storage.googleapis.com"


def test_emulator_host_forces_anonymous_access(gcs: Any, monkeypatch: pytest.MonkeyPatch,
                                               tmp_path: Path) -> None:
    from google.auth.credentials import AnonymousCredentials

    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(tmp_path / "not-read.json"))
    rt.reset()
    store, _ = s3dlio_gcs.gcs_store("gs://some-bucket/k")
    assert isinstance(store._conn.gc.client._credentials, AnonymousCredentials)


def test_project_comes_from_config_or_environment(gcs: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GOOGLE_CLOUD_PROJECT", raising=False)
    monkeypatch.setenv("GCLOUD_PROJECT", "from-gcloud-env")
    rt.reset()
    store, _ = s3dlio_gcs.gcs_store("gs://some-bucket/k")
    assert store._conn.gc.project == "from-gcloud-env"


# ------------------------------------------------------------- error mapping
@pytest.mark.parametrize(("status", "reasons", "cls"), [
    (404, [], NotFoundError), (403, [], PermissionDeniedError), (401, [], PermissionDeniedError),
    (429, ["rateLimitExceeded"], ThrottledError), (503, [], ThrottledError),
    (500, ["backendError"], TransientError), (502, [], TransientError),
    (412, [], PreconditionError), (409, [], AlreadyExistsError),
])
def test_status_mapping(status: int, reasons: list[str], cls: type[StoreError]) -> None:
    from s3dlio_gcs.errors import from_status

    err = from_status(status, "conflict" if status == 409 else "m", reasons=reasons, op="get",
                      uri="gs://b/k", endpoint="e")
    assert type(err) is cls
    assert err.status == status


def test_sdk_exceptions_are_translated() -> None:
    import requests
    from google.api_core import exceptions as gexc

    from s3dlio_gcs.errors import translate

    assert isinstance(translate(gexc.TooManyRequests("slow"), op="get", uri="u", endpoint="e"),
                      ThrottledError)
    assert isinstance(translate(gexc.Forbidden("no"), op="get", uri="u", endpoint="e"),
                      PermissionDeniedError)
    err = translate(requests.ConnectionError("refused"), op="get", uri="u", endpoint="http://h:1")
    assert isinstance(err, TransientError) and "http://h:1" in str(err)


# ------------------------------------------------------------------ TLS
# (Pickling, worker pools and s3-cli: the shared checks in test_gcs_conformance.py.)
def test_tls_errors_translate() -> None:
    from s3dlio.testing.contracts import assert_tls_errors_translate
    from s3dlio_gcs.errors import translate

    assert_tls_errors_translate(translate)
