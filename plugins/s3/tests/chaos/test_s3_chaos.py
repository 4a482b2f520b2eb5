"""Chaos suite, S3 on moto through :class:`s3dlio.testing.FaultProxy` (issue 16, item 2).

Every operation runs under each scripted fault kind and under seeded random faults. The
rule checked after each call: it succeeded with byte-identical data, or it raised a typed
s3dlio error — never a short or wrong buffer, never a partial object under the final name,
and no multipart upload left pending (read back through boto3 straight from moto, past
the proxy).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import s3dlio
from s3dlio.errors import S3dlioError
from s3dlio.plugin import runtime as rt
from s3dlio.store.multipart import MultipartUploadWriter
from s3dlio.testing.faults import RANDOM_KINDS, Fault, FaultProxy

pytest.importorskip("s3dlio_s3")
boto3 = pytest.importorskip("boto3")
pytestmark = pytest.mark.timeout(120)

MiB = 1 << 20
PART = 5 * MiB


def _payload(n: int, salt: str) -> bytes:
    seed = uuid.uuid5(uuid.NAMESPACE_OID, salt).bytes
    return (seed * (n // len(seed) + 1))[:n]


@pytest.fixture
def raw(moto: Any) -> Any:
    """A boto3 client straight to moto (never through the proxy)."""
    return boto3.client("s3", endpoint_url=moto.endpoint_url, region_name=moto.region,
                        aws_access_key_id=moto.access_key, aws_secret_access_key=moto.secret_key)


@pytest.fixture
def chaos_bucket(moto: Any, raw: Any) -> str:
    name = f"chaos-{uuid.uuid4().hex[:16]}"
    raw.create_bucket(Bucket=name)
    return name


ProxyFactory = Callable[..., FaultProxy]


@pytest.fixture
def proxied(moto: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[ProxyFactory]:
    """``proxied(faults, rate=, seed=)``: a proxy in front of moto, the store pointed at it."""
    proxies: list[FaultProxy] = []

    def start(faults: list[Fault] | tuple[Fault, ...] = (), **kw: Any) -> FaultProxy:
        proxy = FaultProxy(moto.endpoint_url, faults, **kw)
        proxies.append(proxy)
        for name, value in {
            "AWS_ENDPOINT_URL": proxy.url, "AWS_ENDPOINT_URL_S3": proxy.url,
            "S3DLIO_MAX_RETRY_ATTEMPTS": "6", "S3DLIO_RETRY_BASE_MS": "2",
            "S3DLIO_RETRY_MAX_BACKOFF_MS": "50", "S3DLIO_READ_TIMEOUT_SECS": "1",
            "S3DLIO_CONNECT_TIMEOUT_SECS": "1", "S3DLIO_RETRY_QUOTA": "0",
            "S3DLIO_MULTIPART_THRESHOLD_MB": "5", "S3DLIO_PART_SIZE_MB": "5",
            "S3DLIO_RANGE_THRESHOLD_MB": "1", "S3DLIO_S3_LIST_PAGE_SIZE": "7",
        }.items():
            monkeypatch.setenv(name, value)
        rt.reset()
        return proxy

    yield start
    for proxy in proxies:
        proxy.close()


# ------------------------------------------------------------------------- operations
# Each takes (bucket, raw boto3 client, tag) and returns a check to run after a success;
# the call itself is the returned tuple's first item.

Case = tuple[Callable[[], Any], Callable[[Any], None], list[str]]
"""(the call, a check of its result, the keys it writes)."""
Op = Callable[[str, Any, str], Case]


def op_small_put(bucket: str, raw: Any, tag: str) -> Case:
    key, data = f"small-{tag}", _payload(3000, tag)

    def check(_: Any) -> None:
        assert raw.get_object(Bucket=bucket, Key=key)["Body"].read() == data

    return (lambda: s3dlio.put_bytes(f"s3://{bucket}/{key}", data)), check, [key]


def op_multipart_put(bucket: str, raw: Any, tag: str) -> Case:
    key, data = f"mp-{tag}", _payload(PART + 4096, tag)

    def check(_: Any) -> None:
        assert raw.get_object(Bucket=bucket, Key=key)["Body"].read() == data

    return (lambda: s3dlio.put_bytes(f"s3://{bucket}/{key}", data)), check, [key]


def op_writer(bucket: str, raw: Any, tag: str) -> Case:
    key, data = f"writer-{tag}", _payload(PART + 1000, tag)

    def run() -> None:
        with MultipartUploadWriter.from_uri(f"s3://{bucket}/{key}", part_size=PART) as w:
            w.write(data[: PART // 2])
            w.write(data[PART // 2 :])

    def check(_: Any) -> None:
        assert raw.get_object(Bucket=bucket, Key=key)["Body"].read() == data

    return run, check, [key]


def _preloaded(bucket: str, raw: Any, key: str, n: int) -> bytes:
    data = _payload(n, key)
    # With a stored CRC-32C, as s3dlio's own puts have: whole reads are checked against it.
    import base64

    import crc32c

    crc = base64.b64encode(crc32c.crc32c(data).to_bytes(4, "big")).decode()
    raw.put_object(Bucket=bucket, Key=key, Body=data, ChecksumCRC32C=crc)
    return data


def op_get(bucket: str, raw: Any, tag: str) -> Case:
    data = _preloaded(bucket, raw, f"get-{tag}", 200_000)

    def check(got: Any) -> None:
        assert bytes(got) == data

    return (lambda: s3dlio.get(f"s3://{bucket}/get-{tag}")), check, []


def op_split_get(bucket: str, raw: Any, tag: str) -> Case:
    data = _preloaded(bucket, raw, f"split-{tag}", 3 * MiB + 17)  # above the 1 MiB range threshold

    def check(got: Any) -> None:
        assert len(got) == len(data) and bytes(got) == data

    return (lambda: s3dlio.get(f"s3://{bucket}/split-{tag}")), check, []


def op_ranged_get(bucket: str, raw: Any, tag: str) -> Case:
    data = _preloaded(bucket, raw, f"range-{tag}", 100_000)

    def check(got: Any) -> None:
        assert bytes(got) == data[1234 : 1234 + 50_000]

    return (lambda: s3dlio.get_range(f"s3://{bucket}/range-{tag}", 1234, 50_000)), check, []


def op_get_many(bucket: str, raw: Any, tag: str) -> Case:
    datas = {f"many-{tag}-{i}": _preloaded(bucket, raw, f"many-{tag}-{i}", 5000 + i) for i in range(6)}
    uris = [f"s3://{bucket}/{k}" for k in datas]

    def check(got: Any) -> None:
        assert [(u, bytes(d)) for u, d in got] == [(f"s3://{bucket}/{k}", v) for k, v in datas.items()]

    return (lambda: s3dlio.get_many(uris, max_in_flight=4)), check, []


def op_list(bucket: str, raw: Any, tag: str) -> Case:
    keys = [f"ls-{tag}/k{i:03d}" for i in range(23)]  # 4 pages of 7
    for k in keys:
        raw.put_object(Bucket=bucket, Key=k, Body=b"x")

    def check(got: Any) -> None:
        assert got == [f"s3://{bucket}/{k}" for k in keys]

    return (lambda: s3dlio.list(f"s3://{bucket}/ls-{tag}/", recursive=True)), check, []


def op_batch_delete(bucket: str, raw: Any, tag: str) -> Case:
    keys = [f"del-{tag}/k{i}" for i in range(12)]
    for k in keys:
        raw.put_object(Bucket=bucket, Key=k, Body=b"x")

    def check(_: Any) -> None:
        left = raw.list_objects_v2(Bucket=bucket, Prefix=f"del-{tag}/").get("KeyCount", 0)
        assert left == 0

    return (lambda: s3dlio.delete(f"s3://{bucket}/del-{tag}/", recursive=True)), check, []


OPS: dict[str, Op] = {
    "small_put": op_small_put, "multipart_put": op_multipart_put, "writer": op_writer,
    "get": op_get, "split_get": op_split_get, "ranged_get": op_ranged_get,
    "get_many": op_get_many, "list": op_list, "batch_delete": op_batch_delete,
}
WRITES = {"small_put", "multipart_put", "writer"}


def _pending_uploads(raw: Any, bucket: str) -> list[Any]:
    return list(raw.list_multipart_uploads(Bucket=bucket).get("Uploads", []))


def _run_checked(name: str, bucket: str, raw: Any, tag: str) -> BaseException | None:
    """Run one operation; assert the invariants; return the typed error it raised, if any."""
    call, check, written = OPS[name](bucket, raw, tag)
    before = {k: _object_or_none(raw, bucket, k) for k in written}
    try:
        result = call()
    except S3dlioError as exc:
        error: BaseException | None = exc
    else:
        check(result)
        error = None
    if error is not None:
        # A failed write leaves the old object (here: none) or the whole new one, never a part.
        for key in written:
            now = _object_or_none(raw, bucket, key)
            assert now is None or now == before[key] or _complete(now, name, tag), (name, key)
    assert _pending_uploads(raw, bucket) == [], f"{name}: multipart upload left pending"
    return error


def _complete(body: bytes, name: str, tag: str) -> bool:
    sizes = {"small_put": 3000, "multipart_put": PART + 4096, "writer": PART + 1000}
    return body == _payload(sizes[name], tag)


def _object_or_none(raw: Any, bucket: str, key: str) -> bytes | None:
    try:
        return bytes(raw.get_object(Bucket=bucket, Key=key)["Body"].read())
    except raw.exceptions.NoSuchKey:
        return None


# ------------------------------------------------------------------------- scripted faults

SCRIPTED: dict[str, Fault] = {
    "drop": Fault("drop"),
    "reset": Fault("reset"),
    "reset_mid_body": Fault("reset_mid_body"),
    "truncate": Fault("truncate"),
    "lost_response": Fault("lost_response"),
    "drip": Fault("drip", delay=0.02),
    "stall": Fault("stall", delay=1.5),
    "500": Fault("status", status=500, code="InternalError"),
    "502": Fault("status", status=502, code="BadGateway"),
    "503": Fault("status", status=503, code="ServiceUnavailable"),
    "504": Fault("status", status=504, code="GatewayTimeout"),
    "slowdown": Fault("status", status=503, code="SlowDown", retry_after=0.2),
    "429": Fault("status", status=429, code="TooManyRequests", retry_after=0.2),
    "flip": Fault("flip"),
}
"""Each must end in a retried success."""

BODY_FAULTS = {"reset_mid_body", "truncate", "drip", "flip"}
"""Faults that damage a response body: a single PUT's response has none to damage."""

UNDETECTED = {("get", "flip"), ("ranged_get", "flip"), ("get_many", "flip")}
"""Known gap (docs/reliability.md): moto returns no stored checksum, so whole GETs can only be
length-checked here, and ranged reads are never checksummed; a byte flipped in transit reaches
the caller. Strict xfails: detecting it turns them red."""


def _cases() -> list[Any]:
    cases = []
    for op in OPS:
        for fault in SCRIPTED:
            if op == "small_put" and fault in BODY_FAULTS:
                continue
            reason = "no checksum to validate GET bodies against on moto"
            marks = [pytest.mark.xfail(strict=True, reason=reason)] if (op, fault) in UNDETECTED else []
            cases.append(pytest.param(op, fault, marks=marks, id=f"{op}-{fault}"))
    return cases


@pytest.mark.parametrize(("op", "fault"), _cases())
def test_scripted_fault_is_retried_to_success(op: str, fault: str, chaos_bucket: str, raw: Any,
                                              proxied: ProxyFactory) -> None:
    proxy = proxied([SCRIPTED[fault]])
    error = _run_checked(op, chaos_bucket, raw, uuid.uuid4().hex[:8])
    assert proxy.injected[SCRIPTED[fault].kind] == 1, proxy.requests
    assert error is None, f"{op} under {fault}: {error!r}"


@pytest.mark.parametrize("op", sorted(WRITES - {"small_put"}))
@pytest.mark.parametrize("stage", ["create", "part", "complete"])
@pytest.mark.parametrize("fault", ["lost_response", "reset", "503"])
def test_multipart_stages(op: str, stage: str, fault: str, chaos_bucket: str, raw: Any,
                          proxied: ProxyFactory) -> None:
    """Each stage of a multipart upload under a fault: success, and no orphaned upload."""
    base = SCRIPTED[fault]
    where = {"create": ("POST", r"\?uploads"), "part": ("PUT", r"partNumber="),
             "complete": ("POST", r"uploadId=")}[stage]
    proxy = proxied([Fault(base.kind, method=where[0], path=where[1], status=base.status, code=base.code)])
    error = _run_checked(op, chaos_bucket, raw, uuid.uuid4().hex[:8])
    assert proxy.total_injected == 1
    assert error is None, f"{op}/{stage} under {fault}: {error!r}"


@pytest.mark.parametrize("op", sorted(WRITES - {"small_put"}))
def test_error_inside_200_on_complete(op: str, chaos_bucket: str, raw: Any, proxied: ProxyFactory) -> None:
    proxy = proxied([Fault("error_200", method="POST", path=r"uploadId=")])
    error = _run_checked(op, chaos_bucket, raw, uuid.uuid4().hex[:8])
    assert proxy.injected["error_200"] == 1
    assert error is None, repr(error)


@pytest.mark.parametrize("op", ["small_put", "writer", "get", "list"])
def test_connection_refused_briefly_is_retried(op: str, chaos_bucket: str, raw: Any,
                                              proxied: ProxyFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    proxy = proxied([Fault("refuse", delay=0.15)])
    monkeypatch.setenv("S3DLIO_RETRY_BASE_MS", "100")
    monkeypatch.setenv("S3DLIO_RETRY_MAX_BACKOFF_MS", "400")
    monkeypatch.setenv("S3DLIO_MAX_RETRY_ATTEMPTS", "10")
    rt.reset()
    error = _run_checked(op, chaos_bucket, raw, uuid.uuid4().hex[:8])
    assert proxy.injected["refuse"] == 1
    assert error is None, repr(error)


def test_connection_refused_for_good_is_a_typed_error_naming_the_endpoint(
        chaos_bucket: str, raw: Any, proxied: ProxyFactory) -> None:
    proxy = proxied()
    url = proxy.url
    proxy.close()
    from s3dlio.errors import TransientError

    with pytest.raises(TransientError) as info:
        s3dlio.get(f"s3://{chaos_bucket}/x")
    assert url in str(info.value) and info.value.attempts == 6


@pytest.mark.parametrize(("status", "code", "times"), [
    (403, "AccessDenied", 0), (403, "ExpiredToken", 1), (401, "Unauthorized", 1),
])
def test_credentials_rejected_is_a_typed_error(status: int, code: str, times: int, chaos_bucket: str,
                                               raw: Any, proxied: ProxyFactory) -> None:
    """Rejected credentials are not retried (no credential refresh exists yet: an
    ``ExpiredToken`` once is reported, typed, rather than retried after a refresh)."""
    from s3dlio.errors import PermissionDeniedError

    raw.put_object(Bucket=chaos_bucket, Key="anything", Body=b"x")
    proxy = proxied([Fault("status", status=status, code=code, times=times)])
    with pytest.raises(PermissionDeniedError) as info:
        s3dlio.get(f"s3://{chaos_bucket}/anything")
    assert info.value.status == status
    assert proxy.injected["status"] == 1  # one request: not retried


def test_persistent_faults_end_in_a_typed_error(chaos_bucket: str, raw: Any, proxied: ProxyFactory) -> None:
    for op in OPS:
        proxied([Fault("reset", times=0)])
        error = _run_checked(op, chaos_bucket, raw, uuid.uuid4().hex[:8])
        assert isinstance(error, S3dlioError), op


# ------------------------------------------------------------------------- random faults

RANDOM_SEEDS = int(os.environ.get("CHAOS_SEEDS", "3"))


@pytest.mark.parametrize("seed", range(RANDOM_SEEDS))
def test_random_faults(seed: int, chaos_bucket: str, raw: Any, proxied: ProxyFactory) -> None:
    """15% of the requests get a random fault: everything succeeds or fails typed, nothing lost."""
    # "flip" is left out: GET and LIST bodies carry no checksum on S3 (docs/reliability.md).
    proxy = proxied(rate=0.15, seed=seed, random_kinds=[k for k in RANDOM_KINDS if k != "flip"])
    failures = []
    for round_ in range(2):
        for op in OPS:
            error = _run_checked(op, chaos_bucket, raw, f"r{seed}-{round_}-{op}")
            if error is not None:
                failures.append((op, error))
    assert proxy.total_injected > 0
    # 6 attempts against 15%: a typed failure is allowed but must stay rare.
    assert len(failures) <= 1, failures


# ------------------------------------------------------------------------- redirects


def test_redirect_is_a_typed_error_unless_followed(chaos_bucket: str, raw: Any, proxied: ProxyFactory,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    raw.put_object(Bucket=chaos_bucket, Key="moved", Body=b"here")
    proxy = proxied([Fault("redirect")])
    with pytest.raises(S3dlioError) as info:
        s3dlio.get(f"s3://{chaos_bucket}/moved")
    assert getattr(info.value, "status", None) == 307
    monkeypatch.setenv("S3DLIO_FOLLOW_REDIRECTS", "1")
    rt.reset()
    # 307 to another URL of the same origin: followed (re-signed), then served.
    proxy.add(Fault("redirect", location=f"{proxy.url}/{chaos_bucket}/moved?hop=1"))
    assert bytes(s3dlio.get(f"s3://{chaos_bucket}/moved")) == b"here"
    assert proxy.injected["redirect"] == 2
