"""The lean REST data path (Put Blob / Put Block / Get Blob), against Azurite.

The conformance suite and test_azure_store.py already run on this path (it is the
default for key, connection-string and SAS credentials); these tests pin what is
particular to it: when it is used, that it agrees byte for byte with the SDK path,
keep-alive reuse, stale connections, and error answers.
"""

from __future__ import annotations

import hashlib
import socket
from typing import Any

import pytest
from aztest_support import azure_store

import s3dlio
from s3dlio.errors import NotFoundError, PermissionDeniedError, PreconditionError
from s3dlio.plugin import runtime as rt
from s3dlio.testing import assert_paths_agree, use_proxy

pytest.importorskip("s3dlio_azure")

from s3dlio_azure.rest import BlobRest, BlobRestError, rest_usable
from s3dlio_azure.store import CRC_METADATA

pytestmark = pytest.mark.timeout(180)
MiB = 1 << 20


def _payload(size: int, seed: int) -> bytes:
    import random

    return random.Random(seed).randbytes(size)


def test_rest_is_the_default_data_path_and_can_be_turned_off(container: str,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    rest = azure_store(container)._conn.rest
    assert isinstance(rest, BlobRest)
    monkeypatch.setenv("S3DLIO_AZURE_REST", "0")
    rt.reset()
    assert azure_store(container)._conn.rest is None
    s3dlio.put_bytes(container + "sdk", b"through the SDK")
    assert s3dlio.get(container + "sdk") == b"through the SDK"


def test_rest_is_not_used_with_tokens() -> None:
    assert rest_usable("http://127.0.0.1:10000/devstoreaccount1", "connection_string")
    assert rest_usable("https://acct.blob.core.windows.net", "sas")
    assert not rest_usable("https://acct.blob.core.windows.net", "identity")


def test_a_store_behind_a_proxy_uses_the_sdk(container: str, monkeypatch: pytest.MonkeyPatch) -> None:
    use_proxy(monkeypatch, "http://127.0.0.1:9")
    assert azure_store(container)._conn.rest is None
    use_proxy(monkeypatch, "http://127.0.0.1:9", no_proxy="127.0.0.1")
    assert azure_store(container)._conn.rest is not None, "NO_PROXY lets the REST path back in"


@pytest.mark.parametrize("path", ["rest", "sdk"])
@pytest.mark.parametrize("checksum", ["crc32c", "md5"])
def test_both_paths_store_and_read_the_same_bytes(container: str, small_parts: None, path: str,
                                                  checksum: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Written by one path, read by the other: single puts, staged blocks, split and
    ranged reads, empty blobs; the stored CRC-32C is the same either way."""
    monkeypatch.setenv("S3DLIO_CHECKSUM", checksum)
    objects = {"empty": b"", "one": b"1", "small.bin": _payload(100_000, 1),
               "large.bin": _payload(5 * MiB + 17, 2), "dir/ü n i.bin": _payload(3000, 3)}
    assert_paths_agree(monkeypatch, container, objects, env="S3DLIO_AZURE_REST",
                       writer="1" if path == "rest" else "0")
    if checksum == "crc32c":
        import crc32c

        props = azure_store(container)._blob("small.bin").get_blob_properties()
        expected = crc32c.crc32c(objects["small.bin"]).to_bytes(4, "big")
        import base64

        assert props.metadata[CRC_METADATA] == base64.b64encode(expected).decode()


def test_put_sends_the_callers_memory_without_a_copy(container: str,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """A bytearray slice (not ``bytes``) goes to the socket as the caller's own memory."""
    from s3dlio.store.httpclient import ConnectionPool

    bodies: list[object] = []
    original = ConnectionPool.request

    def request(self: ConnectionPool, method: str, target: str, headers: Any,
                body: Any = None) -> Any:
        bodies.append(body)
        return original(self, method, target, headers, body)

    monkeypatch.setattr(ConnectionPool, "request", request)
    owner = bytearray(b"q" * 10_000)
    store = azure_store(container)
    store.put("zero-copy", memoryview(owner)[100:9_100])
    (body,) = bodies
    assert isinstance(body, memoryview) and body.obj is owner, "the body is the caller's buffer"
    assert s3dlio.get(container + "zero-copy") == bytes(owner[100:9_100])


def test_connections_are_reused(container: str) -> None:
    rest = azure_store(container)._conn.rest
    assert rest is not None
    for i in range(20):
        s3dlio.put_bytes(container + f"k{i}", b"x" * i)
        assert s3dlio.get(container + f"k{i}") == b"x" * i
    assert rest.pool.idle_count() == 1, "sequential requests share one keep-alive connection"


def test_a_connection_closed_by_the_server_is_replaced_without_a_retry(
        container: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("S3DLIO_MAX_RETRY_ATTEMPTS", "1")
    rt.reset()
    s3dlio.put_bytes(container + "stale", b"still here")
    rest = azure_store(container)._conn.rest
    assert rest is not None and rest.pool.idle_count()
    for conn in rest.pool._idle:  # what an idle timeout on the server side leaves behind
        assert conn.sock is not None
        conn.sock.shutdown(socket.SHUT_RDWR)
    assert s3dlio.get(container + "stale") == b"still here"
    s3dlio.put_bytes(container + "stale2", b"and this")
    assert s3dlio.get(container + "stale2") == b"and this"


def test_error_answers_are_typed_with_status_and_request_id(container: str) -> None:
    with pytest.raises(NotFoundError) as info:
        s3dlio.get(container + "missing")
    assert info.value.status == 404 and info.value.request_id
    assert "BlobNotFound" in str(info.value) and container + "missing" in str(info.value)
    assert isinstance(info.value.__cause__, BlobRestError)
    rest = azure_store(container)._conn.rest
    assert rest is not None
    s3dlio.put_bytes(container + "etag", b"abc")
    with pytest.raises(BlobRestError) as raw:
        rest.open_get(container.rstrip("/").rsplit("/", 1)[1], "etag", start=0, end=1,
                      if_match='"0x0000"')
    assert raw.value.status_code == 412 and raw.value.error_code == "ConditionNotMet"
    store = azure_store(container)
    with pytest.raises(PreconditionError):
        store._range_into("etag", 0, memoryview(bytearray(2)), pin='"0x0000"')


def test_a_wrong_key_is_refused_on_the_rest_path(azurite: Any, container: str,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    import base64

    info = azurite.info
    wrong = base64.b64encode(hashlib.sha256(b"not the key").digest()).decode()
    monkeypatch.setenv("AZURE_STORAGE_CONNECTION_STRING",
                       info.connection_string.replace(info.account_key, wrong))
    rt.reset()
    assert azure_store(container)._conn.rest is not None
    with pytest.raises(PermissionDeniedError) as err:
        s3dlio.put_bytes(container + "nope", b"x")
    assert err.value.status == 403 and err.value.attempts == 1
