"""s3:// specifics against real servers: data paths, multipart, listing, deletes,
retries, timeouts, credentials, bad input, fork safety (moto unless marked)."""

from __future__ import annotations

import random
import time
import tracemalloc
from typing import Any

import pytest
from s3test_support import (
    FaultProxy,
    OpCounter,
    make_bucket,
    s3_store,
)

import s3dlio
from s3dlio.errors import (
    BatchError,
    IntegrityError,
    InvalidPathError,
    NotFoundError,
    PermissionDeniedError,
    StoreError,
    StoreTimeoutError,
    ThrottledError,
    TransientError,
)
from s3dlio.plugin import runtime as rt
from s3dlio.store.multipart import MultipartUploadWriter
from s3dlio.testing.servers import free_port

pytest.importorskip("s3dlio_s3")
pytestmark = pytest.mark.timeout(120)

MiB = 1 << 20


def _data(size: int, seed: int = 0) -> bytes:
    return random.Random(seed).randbytes(size)


# ----------------------------------------------------------------------------- reads


def test_small_get_is_one_request_and_no_head(bucket: str) -> None:
    uri = bucket + "small.bin"
    s3dlio.put_bytes(uri, b"x" * 1000)
    rt.reset()  # a fresh size cache would not matter: small GETs never HEAD
    ops = OpCounter(uri)
    assert s3dlio.get(uri) == b"x" * 1000
    assert ops["GetObject"] == 1
    assert ops["HeadObject"] == 0


def test_large_get_splits_into_ranges_without_head(bucket: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("S3DLIO_RANGE_THRESHOLD_MB", "1")
    monkeypatch.setenv("S3DLIO_CHUNK_SIZE", str(1 * MiB))
    rt.reset()
    uri = bucket + "big.bin"
    data = _data(5 * MiB + 17)
    s3dlio.put_bytes(uri, data)
    from s3dlio.store.sizecache import size_cache

    size_cache().clear()  # unknown size: the first GET's Content-Length decides
    ops = OpCounter(uri)
    assert s3dlio.get(uri) == data
    assert ops["HeadObject"] == 0
    assert ops["GetObject"] == 6  # part 0 from the first response, 5 more ranges
    # A known size (from a listing) goes straight to ranges: still no HEAD.
    s3dlio.list(bucket)
    ops.counts.clear()
    assert s3dlio.get(uri) == data
    assert ops["HeadObject"] == 0 and ops["GetObject"] == 6


def test_range_engine_off_reads_in_one_request(bucket: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("S3DLIO_RANGE_THRESHOLD_MB", "1")
    monkeypatch.setenv("S3DLIO_ENABLE_RANGE_OPTIMIZATION", "0")
    rt.reset()
    uri = bucket + "big-off.bin"
    data = _data(3 * MiB)
    s3dlio.put_bytes(uri, data)
    ops = OpCounter(uri)
    assert s3dlio.get(uri) == data
    assert ops["GetObject"] == 1


def test_get_many_and_stats(bucket: str) -> None:
    uris = [f"{bucket}many/{i:03d}" for i in range(40)]
    s3dlio.put_many([(u, _data(1000 + i, i)) for i, u in enumerate(uris)], max_in_flight=8)
    got = s3dlio.get_many(uris, max_in_flight=8)
    assert [u for u, _ in got] == uris
    assert all(v == _data(1000 + i, i) for i, (_, v) in enumerate(got))
    assert s3dlio.get_many_stats(uris, max_in_flight=8) == (40, sum(1000 + i for i in range(40)))


def test_get_many_reports_every_missing_object(bucket: str) -> None:
    s3dlio.put_bytes(bucket + "here", b"1")
    with pytest.raises(BatchError) as info:
        s3dlio.get_many([bucket + "here", bucket + "gone1", bucket + "gone2"])
    assert sorted(u for u, _ in info.value.failures) == [bucket + "gone1", bucket + "gone2"]
    assert all(isinstance(e, NotFoundError) for _, e in info.value.failures)


# ---------------------------------------------------------------------------- writes


def test_put_above_threshold_is_multipart_with_checked_parts(
    bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("S3DLIO_MULTIPART_THRESHOLD_MB", "5")
    monkeypatch.setenv("S3DLIO_PART_SIZE_MB", "5")
    rt.reset()
    uri = bucket + "mp.bin"
    data = _data(12 * MiB + 3)
    ops = OpCounter(uri)
    s3dlio.put_bytes(uri, data)
    assert ops["CreateMultipartUpload"] == 1
    assert ops["UploadPart"] == 3
    assert ops["CompleteMultipartUpload"] == 1
    assert ops["PutObject"] == 0
    assert s3dlio.get(uri) == data
    assert s3dlio.stat(uri)["etag"].strip('"').endswith("-3")


def test_create_only_put_sends_if_none_match(bucket: str) -> None:
    store = s3_store(bucket)
    ops = OpCounter(bucket + "lock")
    assert store.put_if_absent("lock", memoryview(b"first")) is True
    assert store.put_if_absent("lock", memoryview(b"second, longer")) is False
    assert s3dlio.get(bucket + "lock") == b"first"
    assert ops["PutObject"] == 2  # one conditional PUT each: no HEAD before a small write
    assert ops["HeadObject"] == 0


def test_large_create_only_put_conditions_the_complete(
    bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("S3DLIO_MULTIPART_THRESHOLD_MB", "5")
    monkeypatch.setenv("S3DLIO_PART_SIZE_MB", "5")
    rt.reset()
    store = s3_store(bucket)
    data = _data(11 * MiB)
    ops = OpCounter(bucket + "big")
    assert store.put_if_absent("big", memoryview(data)) is True
    assert (ops["CreateMultipartUpload"], ops["UploadPart"], ops["CompleteMultipartUpload"]) == (1, 3, 1)
    assert store.put_if_absent("big", memoryview(_data(11 * MiB, 1))) is False  # the HEAD first
    assert ops["CreateMultipartUpload"] == 1
    # Created by someone else between that check and the Complete: If-None-Match refuses it,
    # the upload is aborted and the object is the first writer's.
    monkeypatch.setattr(type(store), "exists", lambda self, key: False)
    assert store.put_if_absent("big", memoryview(_data(11 * MiB, 2))) is False
    assert ops["CompleteMultipartUpload"] == 2 and ops["AbortMultipartUpload"] == 1
    assert s3dlio.get(bucket + "big") == data
    assert store._conn.client.list_multipart_uploads(Bucket=bucket[5:-1]).get("Uploads", []) == []


def test_put_verify_heads_after_put(bucket: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("S3DLIO_PUT_VERIFY", "1")
    rt.reset()
    uri = bucket + "verified"
    ops = OpCounter(uri)
    s3dlio.put_bytes(uri, b"abc")
    assert ops["PutObject"] == 1 and ops["HeadObject"] == 1


def test_writer_streams_parts_and_reports(bucket: str) -> None:
    uri = bucket + "writer.bin"
    chunks = [_data(3 * MiB, i) for i in range(5)]
    with MultipartUploadWriter.from_uri(uri, part_size=5 * MiB, max_in_flight=2) as writer:
        for chunk in chunks:
            assert writer.write(chunk) == len(chunk)
        view = writer.reserve(1000)
        view[:] = b"z" * 1000
        assert writer.commit(1000) == 1000
        info = writer.close()
        assert writer.close() == info  # idempotent
    assert info["total_bytes"] == 15 * MiB + 1000
    assert info["parts"] == 4
    assert info["etag"].strip('"').endswith("-4")
    assert info["started_at"] <= info["completed_at"]
    assert s3dlio.get(uri) == b"".join(chunks) + b"z" * 1000


def test_small_writer_is_one_put(bucket: str) -> None:
    uri = bucket + "tiny-writer"
    ops = OpCounter(uri)
    with MultipartUploadWriter.from_uri(uri) as writer:
        writer.write(b"hello")
    assert ops["PutObject"] == 1 and ops["CreateMultipartUpload"] == 0
    assert s3dlio.get(uri) == b"hello"


def _uploads(bucket: str) -> list[Any]:
    store = s3_store(bucket)
    return list(store._conn.client.list_multipart_uploads(Bucket=store.bucket).get("Uploads", []))


def test_writer_exception_aborts_and_publishes_nothing(bucket: str) -> None:
    uri = bucket + "aborted.bin"
    with pytest.raises(RuntimeError, match="boom"), \
            MultipartUploadWriter.from_uri(uri, part_size=5 * MiB) as writer:
        writer.write(_data(11 * MiB))
        raise RuntimeError("boom")
    assert not s3dlio.exists(uri)
    assert _uploads(bucket) == []


def test_writer_abort_and_use_after_abort(bucket: str) -> None:
    uri = bucket + "abort2.bin"
    writer = MultipartUploadWriter.from_uri(uri, part_size=5 * MiB)
    writer.write(_data(6 * MiB))
    writer.abort()
    assert not s3dlio.exists(uri)
    assert _uploads(bucket) == []
    with pytest.raises(ValueError, match="aborted"):
        writer.write(b"more")


def test_writer_rejects_parts_below_5_mib(bucket: str) -> None:
    with pytest.raises(ValueError, match="minimum part size"):
        MultipartUploadWriter.from_uri(bucket + "x", part_size=4 * MiB)


def test_writer_memory_stays_bounded(bucket: str) -> None:
    part, in_flight = 5 * MiB, 2
    uri = bucket + "bounded.bin"
    chunk = _data(1 * MiB)
    tracemalloc.start()
    try:
        with MultipartUploadWriter.from_uri(uri, part_size=part, max_in_flight=in_flight) as writer:
            for _ in range(40):
                writer.write(chunk)
            writer.close()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak <= 2 * in_flight * part + 4 * MiB, peak
    assert s3dlio.stat(uri)["size"] == 40 * MiB


def test_abort_incomplete_uploads_removes_orphans(bucket: str) -> None:
    writer = MultipartUploadWriter.from_uri(bucket + "orphan.bin", part_size=5 * MiB,
                                            abort_on_drop=False)
    writer.write(_data(6 * MiB))
    writer.flush()  # a part is uploaded; then the "process dies"
    writer._state = "closed"  # simulate a crash: nothing aborts it
    assert len(_uploads(bucket)) == 1
    assert s3dlio.abort_incomplete_uploads(bucket, older_than_s=0) == 1
    assert _uploads(bucket) == []


def test_unclosed_writer_is_aborted_on_drop(bucket: str) -> None:
    writer = MultipartUploadWriter.from_uri(bucket + "dropped.bin", part_size=5 * MiB)
    writer.write(_data(6 * MiB))
    writer.flush()
    with pytest.warns(ResourceWarning, match="never closed"):
        del writer
        import gc

        gc.collect()
    assert _uploads(bucket) == []


# ------------------------------------------------------------------ listing, deletes


def test_listing_streams_pages_over_2500_keys(bucket: str) -> None:
    prefix = bucket + "many-keys/"
    keys = [f"{prefix}k{i:05d}" for i in range(2_600)]
    s3dlio.put_many([(k, b"") for k in keys], max_in_flight=32)
    store = s3_store(prefix)
    pages = store.list("many-keys/", recursive=True)
    first = next(pages)  # a generator: the first page arrives before the rest is fetched
    assert len(first.keys) == 1_000
    rest = [len(p.keys) for p in pages]
    assert rest == [1_000, 600]
    assert s3dlio.list(prefix, recursive=True) == keys
    assert sum(1 for _ in s3dlio.list_iter(prefix, recursive=True)) == 2_600
    assert s3dlio.list(prefix, recursive=True, pattern=r"k0001\d$") == keys[10:20]


def test_delimiter_listing(bucket: str) -> None:
    for key in ("d/a", "d/b/c", "d/b/d", "d/e/f"):
        s3dlio.put_bytes(bucket + key, b"1")
    assert s3dlio.list(bucket + "d/") == [bucket + "d/a", bucket + "d/b/", bucket + "d/e/"]


def test_recursive_delete_uses_batches(bucket: str) -> None:
    prefix = bucket + "del/"
    s3dlio.put_many([(f"{prefix}{i:05d}", b"x") for i in range(2_100)], max_in_flight=32)
    ops = OpCounter(prefix)
    s3dlio.delete(prefix, recursive=True)
    assert ops["DeleteObjects"] == 3  # 1,000 + 1,000 + 100
    assert ops["DeleteObject"] == 0
    assert s3dlio.list(prefix, recursive=True) == []


def test_batch_delete_reports_every_bad_key(bucket: str) -> None:
    s3dlio.put_bytes(bucket + "ok1", b"1")
    s3dlio.put_bytes(bucket + "ok2", b"1")
    store = s3_store(bucket)
    bad = "k" * 1025
    failures = store.delete_many(["ok1", bad, "ok2", ""])
    assert sorted(k for k, _ in failures) == sorted([bad, ""])
    assert all(isinstance(e, InvalidPathError) for _, e in failures)
    assert not s3dlio.exists(bucket + "ok1") and not s3dlio.exists(bucket + "ok2")


# -------------------------------------------------------------------- buckets, input


@pytest.mark.parametrize("name", ["ab", "UPPER", "bad..dots", "-lead", "trail-", "x" * 64])
def test_invalid_bucket_names(moto: Any, name: str) -> None:
    with pytest.raises(InvalidPathError, match="invalid bucket name"):
        s3dlio.create_bucket(f"s3://{name}/")


@pytest.mark.parametrize("uri", ["s3://", "s3:///key"])
def test_uri_without_bucket(moto: Any, uri: str) -> None:
    with pytest.raises(InvalidPathError, match="needs a bucket"):
        s3dlio.get(uri)


def test_bucket_without_key_where_one_is_needed(bucket: str) -> None:
    for call in (lambda: s3dlio.get(bucket), lambda: s3dlio.put_bytes(bucket, b"1"),
                 lambda: s3dlio.get(bucket.rstrip("/"))):
        with pytest.raises(InvalidPathError, match="key"):
            call()


def test_key_length_limit(bucket: str) -> None:
    ok = bucket + "k" * 1024
    s3dlio.put_bytes(ok, b"1")
    assert s3dlio.get(ok) == b"1"
    with pytest.raises(InvalidPathError, match="1025 bytes"):
        s3dlio.put_bytes(bucket + "k" * 1025, b"1")


def test_missing_object_is_not_found_with_status(bucket: str) -> None:
    with pytest.raises(NotFoundError) as info:
        s3dlio.get(bucket + "nope")
    assert info.value.status == 404
    assert info.value.uri == bucket + "nope"
    assert info.value.attempts == 1


def test_endpoint_in_uri(moto: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_ENDPOINT_URL")
    monkeypatch.delenv("AWS_ENDPOINT_URL_S3")
    rt.reset()
    host = moto.endpoint_url.split("://")[1]
    uri = f"s3://{host}/in-uri-bucket/a/b.bin"
    s3dlio.create_bucket(f"s3://{host}/in-uri-bucket/")
    s3dlio.put_bytes(uri, b"via uri")
    assert s3dlio.get(uri) == b"via uri"
    assert s3dlio.list(f"s3://{host}/in-uri-bucket/", recursive=True) == [uri]
    assert s3dlio.parse_s3_uri_full(uri) == {"endpoint": host, "bucket": "in-uri-bucket",
                                             "key": "a/b.bin"}


def test_configure_s3_sets_endpoint(moto: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    monkeypatch.delenv("AWS_ENDPOINT_URL_S3")
    s3dlio.configure_s3(endpoint_url=moto.endpoint_url, region="us-east-1")
    bucket = make_bucket()
    s3dlio.put_bytes(bucket + "k", b"v")
    assert s3dlio.get(bucket + "k") == b"v"


# ----------------------------------------------------------- retries, timeouts, faults


def test_unreachable_endpoint_fails_fast_naming_it(moto: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    monkeypatch.setenv("AWS_ENDPOINT_URL", dead)
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", dead)
    monkeypatch.setenv("S3DLIO_RETRY_BASE_MS", "10")
    rt.reset()
    start = time.monotonic()
    with pytest.raises(TransientError) as info:
        s3dlio.get("s3://some-bucket/key")
    assert time.monotonic() - start < 5
    assert dead in str(info.value)
    assert info.value.attempts == 3
    assert info.value.__cause__ is not None


def test_configure_retries_from_code(moto: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    monkeypatch.setenv("AWS_ENDPOINT_URL", dead)
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", dead)
    s3dlio.configure_retries(max_attempts=1)
    try:
        with pytest.raises(TransientError) as info:
            s3dlio.get("s3://some-bucket/key")
        assert info.value.attempts == 1
    finally:
        rt._explicit.clear()
        rt.reset()


def test_throttling_is_retried_then_succeeds(bucket: str, moto: Any,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    s3dlio.put_bytes(bucket + "t", b"payload")
    with FaultProxy(moto.endpoint_url, status=503, code="SlowDown", fail=2) as proxy:
        monkeypatch.setenv("AWS_ENDPOINT_URL", proxy.endpoint_url)
        monkeypatch.setenv("AWS_ENDPOINT_URL_S3", proxy.endpoint_url)
        monkeypatch.setenv("S3DLIO_RETRY_BASE_MS", "5")
        rt.reset()
        assert s3dlio.get(bucket + "t") == b"payload"
        assert proxy.seen == 3


def test_persistent_throttling_is_throttled_error(bucket: str, moto: Any,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    with FaultProxy(moto.endpoint_url, status=503, code="SlowDown", fail=100) as proxy:
        monkeypatch.setenv("AWS_ENDPOINT_URL", proxy.endpoint_url)
        monkeypatch.setenv("AWS_ENDPOINT_URL_S3", proxy.endpoint_url)
        monkeypatch.setenv("S3DLIO_RETRY_BASE_MS", "5")
        monkeypatch.setenv("S3DLIO_MAX_RETRY_ATTEMPTS", "4")
        rt.reset()
        with pytest.raises(ThrottledError) as info:
            s3dlio.put_bytes(bucket + "t2", b"x")
        assert info.value.attempts == 4
        assert info.value.status == 503
        assert info.value.request_id == "fault-4"
        assert proxy.seen == 4


def test_client_errors_are_not_retried(bucket: str, moto: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    with FaultProxy(moto.endpoint_url, status=403, code="AccessDenied", fail=100) as proxy:
        monkeypatch.setenv("AWS_ENDPOINT_URL", proxy.endpoint_url)
        monkeypatch.setenv("AWS_ENDPOINT_URL_S3", proxy.endpoint_url)
        rt.reset()
        with pytest.raises(PermissionDeniedError) as info:
            s3dlio.get(bucket + "x")
        assert info.value.attempts == 1 and proxy.seen == 1


def test_wrong_region_names_the_right_one(bucket: str, moto: Any,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    # moto and SeaweedFS serve any region; AWS answers a wrong one like this proxy.
    with FaultProxy(moto.endpoint_url, status=301, code="PermanentRedirect", fail=100,
                    headers={"x-amz-bucket-region": "eu-west-1"}) as proxy:
        monkeypatch.setenv("AWS_ENDPOINT_URL", proxy.endpoint_url)
        monkeypatch.setenv("AWS_ENDPOINT_URL_S3", proxy.endpoint_url)
        rt.reset()
        with pytest.raises(StoreError, match="AWS_REGION=eu-west-1") as info:
            s3dlio.get(bucket + "x")
        assert info.value.status == 301 and info.value.attempts == 1


def test_read_timeout_is_store_timeout(bucket: str, moto: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    with FaultProxy(moto.endpoint_url, hang=True, fail=100) as proxy:
        monkeypatch.setenv("AWS_ENDPOINT_URL", proxy.endpoint_url)
        monkeypatch.setenv("AWS_ENDPOINT_URL_S3", proxy.endpoint_url)
        monkeypatch.setenv("S3DLIO_READ_TIMEOUT_SECS", "0.3")
        monkeypatch.setenv("S3DLIO_MAX_RETRY_ATTEMPTS", "2")
        monkeypatch.setenv("S3DLIO_RETRY_BASE_MS", "5")
        rt.reset()
        start = time.monotonic()
        with pytest.raises(StoreTimeoutError) as info:
            s3dlio.get(bucket + "x")
        assert time.monotonic() - start < 4
        assert info.value.attempts == 2


def test_bad_timeout_setting_is_config_error(moto: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("S3DLIO_READ_TIMEOUT_SECS", "soon")
    rt.reset()
    with pytest.raises(s3dlio.ConfigError, match="S3DLIO_READ_TIMEOUT_SECS"):
        s3dlio.get("s3://abc/key")


# ------------------------------------------------------------------------ credentials


def test_missing_credentials(moto: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    rt.reset()
    with pytest.raises(PermissionDeniedError, match="no AWS credentials"):
        s3dlio.get("s3://abc/key")


def test_metadata_probe_is_bounded(moto: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    # No credentials and a metadata "service" that never answers (a loopback port
    # with nothing behind it): the lookup gives up quickly instead of hanging.
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    monkeypatch.delenv("AWS_EC2_METADATA_DISABLED")
    monkeypatch.setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", f"http://127.0.0.1:{free_port()}/")
    rt.reset()
    start = time.monotonic()
    with pytest.raises(PermissionDeniedError):
        s3dlio.list("s3://abc/")
    assert time.monotonic() - start < 10


def test_anonymous_mode_sends_unsigned_requests(bucket: str, monkeypatch: pytest.MonkeyPatch) -> None:
    s3dlio.put_bytes(bucket + "public", b"open")
    s3dlio.put_bytes(bucket + "private", b"closed")
    store = s3_store(bucket)
    store._conn.client.put_object_acl(Bucket=store.bucket, Key="public", ACL="public-read")
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    monkeypatch.setenv("S3DLIO_S3_ANONYMOUS", "1")
    rt.reset()
    # No credentials are looked up; the server sees an anonymous request.
    assert s3dlio.get(bucket + "public") == b"open"
    with pytest.raises(PermissionDeniedError):
        s3dlio.get(bucket + "private")


@pytest.mark.seaweedfs
def test_seaweedfs_refuses_anonymous_and_wrong_secret(seaweed: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    bucket = make_bucket()
    s3dlio.put_bytes(bucket + "k", b"1")
    monkeypatch.setenv("S3DLIO_S3_ANONYMOUS", "1")
    rt.reset()
    with pytest.raises(PermissionDeniedError):
        s3dlio.get(bucket + "k")
    monkeypatch.delenv("S3DLIO_S3_ANONYMOUS")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wrong-secret")
    for rest in ("1", "0"):  # the lean data path and botocore
        monkeypatch.setenv("S3DLIO_S3_REST", rest)
        rt.reset()
        assert (s3_store(bucket)._conn.rest is not None) == (rest == "1")
        with pytest.raises(PermissionDeniedError, match="SignatureDoesNotMatch") as info:
            s3dlio.get(bucket + "k")
        assert info.value.status == 403 and info.value.attempts == 1


@pytest.mark.seaweedfs
def test_seaweedfs_verifies_our_checksums(seaweed: Any) -> None:
    bucket = make_bucket()
    data = _data(2 * MiB)
    s3dlio.put_bytes(bucket + "good", data)  # our CRC-32C is accepted ...
    assert s3dlio.get(bucket + "good") == data
    store = s3_store(bucket)
    with pytest.raises(IntegrityError):  # ... and a wrong one is refused
        store._call("put", "bad", lambda: store._conn.client.put_object(
            Bucket=store.bucket, Key="bad", Body=data, ChecksumCRC32C="AAAAAA=="))
    assert not s3dlio.exists(bucket + "bad")


@pytest.mark.seaweedfs
def test_seaweedfs_multipart_with_checksums(seaweed: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("S3DLIO_MULTIPART_THRESHOLD_MB", "5")
    monkeypatch.setenv("S3DLIO_PART_SIZE_MB", "5")
    rt.reset()
    bucket = make_bucket()
    data = _data(11 * MiB)
    s3dlio.put_bytes(bucket + "mp", data)
    assert s3dlio.get(bucket + "mp") == data


# ---------------------------------------------------------------------- capabilities
# Pickling, worker pools and s3-cli: the shared checks in test_s3_conformance.py.


def test_capabilities() -> None:
    from s3dlio.store import Capability
    from s3dlio_s3.store import S3Store

    assert S3Store.capabilities == {Capability.MULTIPART, Capability.CONDITIONAL_PUT,
                                    Capability.GET_INTO, Capability.BUCKETS, Capability.SERVER_COPY}


@pytest.mark.seaweedfs
def test_profile_credentials_are_used(seaweed: Any, tmp_path: Any,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    # SeaweedFS checks signatures, so only the right profile's secret can succeed.
    bucket = make_bucket()
    s3dlio.put_bytes(bucket + "k", b"profiled")
    creds = tmp_path / "credentials"
    creds.write_text(
        f"[good]\naws_access_key_id = {seaweed.info.access_key}\n"
        f"aws_secret_access_key = {seaweed.info.secret_key}\n"
        f"[bad]\naws_access_key_id = {seaweed.info.access_key}\naws_secret_access_key = nope\n"
    )
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(creds))
    monkeypatch.setenv("AWS_PROFILE", "good")
    rt.reset()
    assert s3dlio.get(bucket + "k") == b"profiled"
    monkeypatch.setenv("AWS_PROFILE", "bad")
    rt.reset()
    with pytest.raises(PermissionDeniedError):
        s3dlio.get(bucket + "k")


def test_insecure_switch_warns(bucket: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import s3dlio_s3.client as client_module

    monkeypatch.setattr(client_module, "_insecure_warned", False)
    monkeypatch.setenv("S3DLIO_S3_INSECURE", "1")
    rt.reset()
    with pytest.warns(UserWarning, match="NOT verified"):
        s3dlio.put_bytes(bucket + "insecure", b"1")
    assert s3dlio.get(bucket + "insecure") == b"1"
