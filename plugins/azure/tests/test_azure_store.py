"""AzureStore behaviour beyond the shared conformance suite, against Azurite."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import time
import zlib
from pathlib import Path
from typing import Any

import pytest
from aztest_support import ACCOUNT, azure_store, make_container, use_azurite

import s3dlio
from s3dlio.errors import (
    IntegrityError,
    InvalidPathError,
    NotFoundError,
    PermissionDeniedError,
    PreconditionError,
    StoreError,
    StoreTimeoutError,
    ThrottledError,
    TransientError,
)
from s3dlio.plugin import runtime as rt
from s3dlio.store import Capability
from s3dlio.store.multipart import MultipartUploadWriter
from s3dlio.testing.servers import free_port

pytest.importorskip("s3dlio_azure")

from s3dlio_azure.store import CRC_METADATA, AzureStore, crc32c_combine

pytestmark = pytest.mark.timeout(180)
MiB = 1 << 20


def _payload(size: int, seed: int = 7) -> bytes:
    import random

    return random.Random(seed).randbytes(size)


def _sdk_container(server: Any, container_uri: str) -> Any:
    """An independent SDK client on the test container (to look behind s3dlio's back)."""
    from azure.storage.blob import BlobServiceClient

    name = container_uri.rstrip("/").rsplit("/", 1)[1]
    svc = BlobServiceClient.from_connection_string(server.info.connection_string)
    return svc.get_container_client(name)


@pytest.fixture
def one_attempt(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("S3DLIO_MAX_RETRY_ATTEMPTS", "1")
    rt.reset()


# ----------------------------------------------------------------- URIs
def test_uri_forms_and_schemes(container: str) -> None:
    s3dlio.put_bytes(container + "dir/x.bin", b"abc")
    name = container.rstrip("/").rsplit("/", 1)[1]
    assert s3dlio.get(f"azure://{ACCOUNT}/{name}/dir/x.bin") == b"abc"
    # https://<account>.blob.core.windows.net/… is rewritten to az://<account>/…
    # (the endpoint stays the configured one: Azurite here).
    https = f"https://{ACCOUNT}.blob.core.windows.net/{name}/dir/x.bin"
    store, key = rt.resolve(https)
    assert azure_store(https).root == f"az://{ACCOUNT}/{name}/" and key == "dir/x.bin"
    assert s3dlio.get(https) == b"abc"
    assert isinstance(store, object)


@pytest.mark.parametrize("uri, fragment", [
    ("az://", "needs a storage account"),
    ("az://my-container/key", "is 'my-container' a container"),
    ("az://UPPER/c1c/k", "invalid storage account name"),
    (f"az://{ACCOUNT}/Upper/k", "must be lower case"),
    (f"az://{ACCOUNT}/a--b/k", "consecutive hyphens"),
    (f"az://{ACCOUNT}/ab/k", "3 to 63"),
    (f"az://{ACCOUNT}/{'c' * 64}/k", "3 to 63"),
    (f"az://{ACCOUNT}/-abc/k", "start and end"),
    (f"az://{ACCOUNT}/abc_d/k", "may hold only"),
])
def test_invalid_names_are_invalid_path_errors(azurite: Any, uri: str, fragment: str) -> None:
    with pytest.raises(InvalidPathError, match=fragment):
        s3dlio.get(uri)


def test_account_root_needs_container_for_objects(azurite: Any) -> None:
    with pytest.raises(InvalidPathError, match="needs a"):
        s3dlio.get(f"az://{ACCOUNT}/")
    with pytest.raises(InvalidPathError, match="needs a blob name"):
        s3dlio.get(f"az://{ACCOUNT}/somecontainer/")


def test_key_limits(container: str) -> None:
    with pytest.raises(InvalidPathError, match="1024"):
        s3dlio.put_bytes(container + "k" * 1025, b"x")
    assert s3dlio.list(container) == []


def test_keys_with_spaces_and_unicode(container: str) -> None:
    keys = ["with space.bin", "ünïcödé/日本語 ファイル.txt", "plus+and%percent", "emoji-😀", "a/b c/d"]
    for i, key in enumerate(keys):
        s3dlio.put_bytes(container + key, f"v{i}".encode())
    listed = s3dlio.list(container, recursive=True)
    assert sorted(listed) == sorted(container + k for k in keys)
    for i, key in enumerate(keys):
        assert s3dlio.get(container + key) == f"v{i}".encode()
    store = azure_store(container)
    assert store.delete_many(keys) == []
    assert s3dlio.list(container, recursive=True) == []


# ------------------------------------------------------------ large objects
def test_large_put_uses_staged_blocks_and_range_engine(container: str, small_parts: None,
                                                       azurite: Any) -> None:
    data = _payload(5 * MiB + 12345)
    s3dlio.put_bytes(container + "big.bin", data)
    blob = _sdk_container(azurite, container).get_blob_client("big.bin")
    committed, uncommitted = blob.get_block_list("all")
    assert len(committed) == 6 and not uncommitted
    raw_ids = [str(b.id) for b in committed]  # the SDK decodes the base64 wire form
    assert len({len(base64.b64encode(i.encode())) for i in raw_ids}) == 1, "equal-length block ids"
    assert [int(i.rsplit("-", 1)[1]) for i in raw_ids] == list(range(1, 7)), "part order"
    assert len({i.rsplit("-", 1)[0] for i in raw_ids}) == 1, "one upload id"
    assert [b.size for b in committed] == [MiB] * 5 + [12345]
    props = blob.get_blob_properties()
    assert props.size == len(data)
    import crc32c

    expected = base64.b64encode(crc32c.crc32c(data).to_bytes(4, "big")).decode()
    assert props.metadata[CRC_METADATA] == expected
    # Read back: first GET + concurrent ranges into one buffer.
    store = azure_store(container)
    calls: list[tuple[int, int]] = []
    original = store._range_into

    def spy(key: str, offset: int, buf: memoryview, **kw: Any) -> int:
        calls.append((offset, len(buf)))
        return original(key, offset, buf, **kw)

    store._range_into = spy
    got = s3dlio.get(container + "big.bin")
    assert bytes(got) == data
    assert len(calls) >= 2, "the range engine fetched the rest in parallel parts"
    assert s3dlio.stat(container + "big.bin")["size"] == len(data)


def test_large_get_without_known_size_keeps_first_get(container: str, small_parts: None) -> None:
    # No size cache: the first GET (8 MiB) tells the size and becomes the first part;
    # the rest is fetched by the range engine.
    data = _payload(11 * MiB + 3, seed=3)
    s3dlio.put_bytes(container + "big2.bin", data)
    from s3dlio.store.sizecache import size_cache

    size_cache().forget(container + "big2.bin")
    store = azure_store(container)
    offsets: list[int] = []
    original = store._range_into

    def spy(key: str, offset: int, buf: memoryview, **kw: Any) -> int:
        offsets.append(offset)
        return original(key, offset, buf, **kw)

    store._range_into = spy
    assert bytes(s3dlio.get(container + "big2.bin")) == data
    assert offsets and min(offsets) == 8 * MiB, "part 0 came from the first GET"


def test_writer_streams_blocks_with_content_type(container: str, small_parts: None) -> None:
    parts = [_payload(700_000, seed=i) for i in range(5)]
    with MultipartUploadWriter.from_uri(container + "w.bin", content_type="application/x-test") as w:
        for p in parts:
            w.write(p)
        info = w.close()
    assert info["total_bytes"] == sum(map(len, parts))
    assert s3dlio.get(container + "w.bin") == b"".join(parts)
    assert s3dlio.stat(container + "w.bin")["content_type"] == "application/x-test"


def test_aborted_writer_leaves_nothing_visible(container: str, small_parts: None, azurite: Any) -> None:
    with pytest.raises(RuntimeError, match="boom"), \
            MultipartUploadWriter.from_uri(container + "aborted.bin", part_size=MiB) as w:
        w.write(_payload(3 * MiB))
        w.flush()
        raise RuntimeError("boom")
    assert not s3dlio.exists(container + "aborted.bin")
    assert s3dlio.list(container, recursive=True) == []
    with pytest.raises(NotFoundError):
        s3dlio.get(container + "aborted.bin")


def test_create_only_put_refuses_an_existing_blob(container: str) -> None:
    store = azure_store(container)
    assert store.put_if_absent("lock", memoryview(b"first")) is True
    assert store.put_if_absent("lock", memoryview(b"second, longer")) is False
    assert s3dlio.get(container + "lock") == b"first"
    assert store.head("lock").extra.get("crc32c") is not None  # the reconciling checksum


def test_large_create_only_put_conditions_the_commit(container: str, small_parts: None,
                                                     azurite: Any,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    store = azure_store(container)
    data = _payload(3 * MiB + 5)
    assert store.put_if_absent("big", memoryview(data)) is True
    blob = _sdk_container(azurite, container).get_blob_client("big")
    assert len(blob.get_block_list("committed")[0]) == 4  # staged blocks, then one commit
    assert store.put_if_absent("big", memoryview(_payload(3 * MiB, seed=2))) is False
    # Created by someone else between the existence check and the commit: If-None-Match
    # refuses the Put Block List and the first writer's blob stays.
    monkeypatch.setattr(type(store), "exists", lambda self, key: False)
    assert store.put_if_absent("big", memoryview(_payload(3 * MiB, seed=3))) is False
    assert s3dlio.get(container + "big") == data


def test_staged_uncommitted_blocks_are_invisible(container: str, azurite: Any) -> None:
    store = azure_store(container)
    upload = store.create_upload("staged.bin")
    p1 = store.upload_part("staged.bin", upload, 1, memoryview(b"a" * 1000))
    p2 = store.upload_part("staged.bin", upload, 2, memoryview(b"b" * 10))
    assert not s3dlio.exists(container + "staged.bin")
    assert s3dlio.list(container, recursive=True) == []
    _, uncommitted = _sdk_container(azurite, container).get_blob_client("staged.bin").get_block_list("all")
    assert len(uncommitted) == 2
    store.complete_upload("staged.bin", upload, [p1, p2])
    assert s3dlio.get(container + "staged.bin") == b"a" * 1000 + b"b" * 10
    # An upload that is aborted never changes the committed blob.
    second = store.create_upload("staged.bin")
    store.upload_part("staged.bin", second, 1, memoryview(b"zzz"))
    store.abort_upload("staged.bin", second)
    assert s3dlio.get(container + "staged.bin") == b"a" * 1000 + b"b" * 10


def test_put_file_and_download_above_threshold(container: str, small_parts: None, tmp_path: Path) -> None:
    src = tmp_path / "src.bin"
    data = _payload(3 * MiB + 7)
    src.write_bytes(data)
    s3dlio.upload([str(src)], container + "up/")
    dest = tmp_path / "out"
    dest.mkdir()
    s3dlio.download(container + "up/src.bin", str(dest))
    assert (dest / "src.bin").read_bytes() == data


def test_crc_mismatch_is_an_integrity_error(container: str, azurite: Any, one_attempt: None) -> None:
    blob = _sdk_container(azurite, container).get_blob_client("corrupt.bin")
    blob.upload_blob(b"payload", metadata={CRC_METADATA: "AAAAAA=="})
    with pytest.raises(IntegrityError, match="CRC-32C mismatch"):
        s3dlio.get(container + "corrupt.bin")
    # Ranges are not checked against the whole-object CRC.
    assert s3dlio.get_range(container + "corrupt.bin", 0, 3) == b"pay"


def test_md5_follows_the_checksum_setting(container: str, azurite: Any,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    assert not azure_store(container)._md5_on()  # default crc32c: the stored CRC-32C only
    monkeypatch.setenv("S3DLIO_CHECKSUM", "md5")
    rt.reset()
    assert azure_store(container)._md5_on()
    s3dlio.put_bytes(container + "with-md5.bin", b"m" * 1000)  # Content-MD5 sent and accepted
    assert s3dlio.get(container + "with-md5.bin") == b"m" * 1000


def test_a_refused_transactional_md5_is_an_integrity_error(container: str, azurite: Any) -> None:
    store = azure_store(container)
    upload = store.create_upload("md5.bin")
    store.upload_part("md5.bin", upload, 1, memoryview(b"x" * 100))
    # A wrong transactional MD5 is refused by the service (Md5Mismatch → IntegrityError).
    blob = store._blob("md5.bin")
    with pytest.raises(Exception) as info:
        blob.stage_block("bad", b"data", transactional_content_md5=hashlib.md5(b"other").digest())
    from s3dlio_azure.errors import translate

    assert isinstance(translate(info.value, op="upload_part", uri="u", endpoint="e"), IntegrityError)


def test_crc32c_combine_matches_whole() -> None:
    import crc32c

    a, b = _payload(1000, 1), _payload(777, 2)
    combined = crc32c_combine(crc32c.crc32c(a), crc32c.crc32c(b), len(b))
    assert combined == crc32c.crc32c(a + b)
    assert crc32c_combine(5, 0, 0) == 5
    assert zlib  # (zlib's crc32_combine is the same algorithm with another polynomial)


# ------------------------------------------------------------------ deletes
def test_delete_many_reports_per_key_errors_batch(container: str, azurite: Any) -> None:
    store = azure_store(container)
    for k in ("ok1", "ok2", "leased"):
        s3dlio.put_bytes(container + k, b"x")
    lease = _sdk_container(azurite, container).get_blob_client("leased").acquire_lease(-1)
    try:
        failures = store.delete_many(["ok1", "missing", "leased", "ok2", ""])
        assert store.last_delete_path == "batch", "Azurite 3.35 serves Blob Batch"
        assert [k for k, _ in failures] == ["", "leased"]
        assert isinstance(failures[0][1], InvalidPathError)
        assert isinstance(failures[1][1], (PreconditionError, StoreError))
        assert failures[1][1].status == 412
        assert s3dlio.list(container, recursive=True) == [container + "leased"]
    finally:
        lease.release()


def test_delete_many_per_key_path(container: str, azurite: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("S3DLIO_AZURE_BATCH_DELETE", "0")
    rt.reset()
    store = azure_store(container)
    for k in ("p1", "p2", "held"):
        s3dlio.put_bytes(container + k, b"x")
    lease = _sdk_container(azurite, container).get_blob_client("held").acquire_lease(-1)
    try:
        failures = store.delete_many(["p1", "held", "gone", "p2"])
        assert store.last_delete_path == "per-key"
        assert [k for k, _ in failures] == ["held"]
        assert isinstance(failures[0][1], PreconditionError)
    finally:
        lease.release()
    assert s3dlio.list(container, recursive=True) == [container + "held"]


def test_delete_many_more_than_one_batch(container: str) -> None:
    keys = [f"many/{i:04d}" for i in range(300)]
    s3dlio.put_many([(container + k, b".") for k in keys])
    store = azure_store(container)
    assert store.delete_many(keys) == []
    assert s3dlio.list(container + "many/") == []


# ------------------------------------------------------------------- copy
def test_copy_is_server_side(container: str) -> None:
    data = _payload(50_000)
    s3dlio.put_bytes(container + "src", data)
    store = azure_store(container)
    store.copy("src", "dst")
    assert s3dlio.get(container + "dst") == data
    assert store.head("dst").extra.get("crc32c") == store.head("src").extra.get("crc32c")
    with pytest.raises(NotFoundError):
        store.copy("nope", "dst2")


# -------------------------------------------------------------- credentials
def test_credentials_account_and_key(azurite: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    container = make_container()
    info = azurite.info
    monkeypatch.delenv("AZURE_STORAGE_CONNECTION_STRING")
    monkeypatch.delenv("AZURE_STORAGE_ACCOUNT_NAME")
    monkeypatch.delenv("AZURE_STORAGE_ACCOUNT_KEY")
    monkeypatch.delenv("AZURE_STORAGE_BLOB_ENDPOINT")
    monkeypatch.setenv("AZURE_STORAGE_ACCOUNT", info.account_name)
    monkeypatch.setenv("AZURE_STORAGE_KEY", info.account_key)
    monkeypatch.setenv("AZURE_BLOB_ENDPOINT_URL", info.endpoint_url)  # no account path: added
    rt.reset()
    s3dlio.put_bytes(container + "k", b"key-auth")
    assert s3dlio.get(container + "k") == b"key-auth"
    assert azure_store(container)._conn.creds.kind == "key"


def test_credentials_connection_string(container: str) -> None:
    s3dlio.put_bytes(container + "k", b"cs")
    assert azure_store(container)._conn.creds.kind == "connection_string"


def _container_sas(server: Any, name: str, *, expiry: dt.datetime) -> str:
    from azure.storage.blob import ContainerSasPermissions, generate_container_sas

    return generate_container_sas(
        account_name=server.info.account_name, container_name=name,
        account_key=server.info.account_key,
        permission=ContainerSasPermissions(read=True, write=True, delete=True, list=True,
                                           create=True, add=True),
        expiry=expiry, start=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5))


def test_credentials_sas_token(container: str, azurite: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    name = container.rstrip("/").rsplit("/", 1)[1]
    sas = _container_sas(azurite, name, expiry=dt.datetime.now(dt.UTC) + dt.timedelta(hours=1))
    use_azurite(monkeypatch, azurite, credentials=False)
    monkeypatch.setenv("AZURE_STORAGE_SAS_TOKEN", "?" + sas)
    rt.reset()
    data = _payload(3000)
    s3dlio.put_bytes(container + "sas/obj", data)
    assert s3dlio.get(container + "sas/obj") == data
    assert s3dlio.list(container + "sas/") == [container + "sas/obj"]
    azure_store(container).copy("sas/obj", "sas/copy")  # the copy source carries the SAS too
    assert s3dlio.get(container + "sas/copy") == data
    assert azure_store(container)._conn.creds.kind == "sas"
    s3dlio.delete(container + "sas/obj")


def test_expired_sas_is_permission_denied(container: str, azurite: Any,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    name = container.rstrip("/").rsplit("/", 1)[1]
    sas = _container_sas(azurite, name, expiry=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1))
    use_azurite(monkeypatch, azurite, credentials=False)
    monkeypatch.setenv("AZURE_STORAGE_SAS_TOKEN", sas)
    rt.reset()
    with pytest.raises(PermissionDeniedError) as info:
        s3dlio.put_bytes(container + "never", b"x")
    assert info.value.status == 403 and "SAS" in str(info.value)
    assert info.value.attempts == 1, "a 403 is not retried"
    assert sas.split("sig=")[1][:10] not in str(info.value)


def test_config_file_section(azurite: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    container = make_container()
    info = azurite.info
    use_azurite(monkeypatch, azurite, credentials=False)
    monkeypatch.delenv("AZURE_STORAGE_ENDPOINT")
    cfg = tmp_path / "s3dlio.toml"
    cfg.write_text(f'[azure]\naccount = "{info.account_name}"\naccount_key = "{info.account_key}"\n'
                   f'endpoint_url = "{info.endpoint_url}/{{account}}"\nauth = "key"\n')
    monkeypatch.setenv("S3DLIO_CONFIG", str(cfg))
    rt.reset()
    s3dlio.put_bytes(container + "cfg", b"from-config")
    assert s3dlio.get(container + "cfg") == b"from-config"


def test_missing_credentials_name_the_variables(azurite: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    use_azurite(monkeypatch, azurite, credentials=False)
    started = time.monotonic()
    with pytest.raises(PermissionDeniedError) as info:
        s3dlio.get(f"az://{ACCOUNT}/somecontainer/k")
    assert time.monotonic() - started < 5
    text = str(info.value)
    assert "AZURE_STORAGE_CONNECTION_STRING" in text and "AZURE_STORAGE_KEY" in text
    assert "AZURE_STORAGE_SAS_TOKEN" in text


def test_credentials_for_another_account_are_not_used(container: str) -> None:
    with pytest.raises(PermissionDeniedError, match="no Azure credentials for account 'otheraccount'"):
        s3dlio.get("az://otheraccount/c1c/k")


def test_unknown_account_on_the_emulator(azurite: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AZURE_STORAGE_ACCOUNT", "nosuchacct")
    monkeypatch.setenv("AZURE_STORAGE_KEY", azurite.info.account_key)
    monkeypatch.delenv("AZURE_STORAGE_ACCOUNT_NAME")
    monkeypatch.delenv("AZURE_STORAGE_ACCOUNT_KEY")
    rt.reset()
    with pytest.raises(NotFoundError, match="does the storage account exist"):
        s3dlio.put_bytes("az://nosuchacct/c1c/k", b"x")


def test_wrong_key_is_permission_denied(azurite: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    container = make_container()
    use_azurite(monkeypatch, azurite, credentials=False)
    monkeypatch.setenv("AZURE_STORAGE_ACCOUNT", ACCOUNT)
    monkeypatch.setenv("AZURE_STORAGE_KEY", base64.b64encode(b"w" * 64).decode())
    rt.reset()
    with pytest.raises(PermissionDeniedError) as info:
        s3dlio.put_bytes(container + "x", b"x")
    assert info.value.status == 403


def test_identity_needs_https(azurite: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("azure.identity")
    use_azurite(monkeypatch, azurite, credentials=False)
    monkeypatch.setenv("S3DLIO_AZURE_AUTH", "identity")
    rt.reset()
    with pytest.raises(PermissionDeniedError, match="https"):
        s3dlio.get(f"az://{ACCOUNT}/somecontainer/k")


def test_unreachable_endpoint_fails_fast_naming_it(azurite: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}/{ACCOUNT}"
    monkeypatch.delenv("AZURE_STORAGE_CONNECTION_STRING")
    monkeypatch.setenv("AZURE_STORAGE_ENDPOINT", endpoint)
    monkeypatch.setenv("S3DLIO_MAX_RETRY_ATTEMPTS", "2")
    monkeypatch.setenv("S3DLIO_RETRY_BASE_MS", "10")
    monkeypatch.setenv("S3DLIO_CONNECT_TIMEOUT_SECS", "2")
    rt.reset()
    started = time.monotonic()
    with pytest.raises(TransientError) as info:
        s3dlio.get(f"az://{ACCOUNT}/somecontainer/k")
    assert time.monotonic() - started < 10
    assert f"127.0.0.1:{port}" in str(info.value)
    assert info.value.attempts == 2, "connection failures are retried by core's policy"


def test_sdk_retries_off_and_timeouts_from_retry_section(container: str,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("S3DLIO_CONNECT_TIMEOUT_SECS", "3.5")
    monkeypatch.setenv("S3DLIO_READ_TIMEOUT_SECS", "7")
    rt.reset()
    service = azure_store(container)._conn.service
    retry = next(p for p in service._pipeline._impl_policies if type(p).__name__ == "ExponentialRetry")
    assert retry.total_retries == 0
    transport = service._pipeline._transport
    assert transport.connection_config.timeout == 3.5
    assert transport.connection_config.read_timeout == 7


# ------------------------------------------------------------ error mapping
class _Resp:
    def __init__(self, status: int, code: str) -> None:
        self.status_code = status
        self.headers = {"x-ms-error-code": code, "x-ms-request-id": "rid-1"}
        self.reason = code
        self.request = None

    def text(self) -> str:
        return ""


@pytest.mark.parametrize("status, code, cls", [
    (503, "ServerBusy", ThrottledError),
    (500, "OperationTimedOut", TransientError),
    (500, "InternalError", TransientError),
    (404, "BlobNotFound", NotFoundError),
    (403, "AuthorizationFailure", PermissionDeniedError),
    (400, "InvalidResourceName", InvalidPathError),
    (412, "ConditionNotMet", PreconditionError),
    (400, "Md5Mismatch", IntegrityError),
])
def test_http_errors_translate(status: int, code: str, cls: type[Exception]) -> None:
    from azure.core.exceptions import HttpResponseError

    from s3dlio_azure.errors import translate

    exc = HttpResponseError(message=code, response=_Resp(status, code))
    err = translate(exc, op="get", uri="az://a/b/c", endpoint="http://e")
    assert type(err) is cls
    assert err.status == status and err.request_id == "rid-1"


def test_connect_errors_translate() -> None:
    from azure.core.exceptions import ServiceRequestError, ServiceResponseTimeoutError

    from s3dlio_azure.errors import translate

    err = translate(ServiceRequestError("Connection refused"), op="get", uri="u", endpoint="http://h:1")
    assert type(err) is TransientError and "http://h:1" in str(err)
    err = translate(ServiceResponseTimeoutError("read timed out"), op="get", uri="u", endpoint="x")
    assert isinstance(err, StoreTimeoutError)


# ------------------------------------------------------------- capabilities
# (Pickling, worker pools and s3-cli: the shared checks in test_azure_conformance.py.)
def test_capabilities() -> None:
    assert AzureStore.capabilities == {Capability.MULTIPART, Capability.CONDITIONAL_PUT,
                                       Capability.GET_INTO, Capability.BUCKETS,
                                       Capability.SERVER_COPY}


# ------------------------------------------------------------------ deletes
def test_batch_failure_falls_back_to_per_key(container: str, azurite: Any,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    from s3dlio.errors import NotSupportedError
    from s3dlio_azure import store as store_module

    store = azure_store(container)
    for k in ("f1", "f2", "kept"):
        s3dlio.put_bytes(container + k, b"x")

    def no_batch(keys: list[str]) -> Any:
        raise NotSupportedError("batch not served here", op="delete", uri=store.uri(keys[0]),
                                backend="azure", status=501)

    monkeypatch.setattr(store, "_batch_request", no_batch)
    monkeypatch.setattr(store_module, "_no_batch_endpoints", set())
    lease = _sdk_container(azurite, container).get_blob_client("kept").acquire_lease(-1)
    try:
        with pytest.warns(UserWarning, match="deleting one blob per request"):
            failures = store.delete_many(["f1", "kept", "f2"])
        assert store.last_delete_path == "per-key"
        assert [k for k, _ in failures] == ["kept"]
        assert store.endpoint in store_module._no_batch_endpoints
    finally:
        lease.release()
    assert s3dlio.list(container, recursive=True) == [container + "kept"]


def test_tls_errors_translate() -> None:
    from s3dlio.testing.contracts import assert_tls_errors_translate
    from s3dlio_azure.errors import translate

    assert_tls_errors_translate(translate)
