"""Opt-in redirect following (AIStore proxies), through a loopback redirecting server."""

from __future__ import annotations

from typing import Any, ClassVar

import pytest
from s3test_support import make_bucket, s3_store

import s3dlio
from s3dlio.errors import StoreError
from s3dlio.plugin import runtime as rt
from s3dlio.testing.servers import RedirectingProxy

pytest.importorskip("s3dlio_s3")
pytestmark = pytest.mark.timeout(60)


def _point_at(monkeypatch: pytest.MonkeyPatch, url: str, *, follow: bool, max_hops: int = 5) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", url)
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", url)
    monkeypatch.setenv("S3DLIO_FOLLOW_REDIRECTS", "1" if follow else "0")
    monkeypatch.setenv("S3DLIO_REDIRECT_MAX", str(max_hops))
    rt.reset()


@pytest.fixture
def seeded(moto: Any) -> str:
    # Cross-origin hops are sent unsigned (an AIStore target authorises the redirect
    # URL itself), so the moto bucket standing in for the target is public.
    bucket = make_bucket()
    s3dlio.put_bytes(bucket + "obj", b"redirected payload")
    store = s3_store(bucket)
    store._conn.client.put_bucket_acl(Bucket=store.bucket, ACL="public-read-write")
    store._conn.client.put_object_acl(Bucket=store.bucket, Key="obj", ACL="public-read")
    return bucket


def test_redirects_are_errors_by_default(seeded: str, moto: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    with RedirectingProxy(moto.endpoint_url) as proxy:
        _point_at(monkeypatch, proxy.endpoint_url, follow=False)
        with pytest.raises(StoreError) as info:
            s3dlio.get(seeded + "obj")
        assert info.value.status == 307
        assert "S3DLIO_FOLLOW_REDIRECTS" in str(info.value)


def test_followed_redirect_reads_and_writes(seeded: str, moto: Any,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    with RedirectingProxy(moto.endpoint_url) as proxy:
        _point_at(monkeypatch, proxy.endpoint_url, follow=True)
        assert s3dlio.get(seeded + "obj") == b"redirected payload"
        s3dlio.put_bytes(seeded + "via-redirect", b"body replayed on 307")
        assert proxy.requests[-1].method == "PUT"
        assert proxy.requests[-1].body_length == len(b"body replayed on 307")
    _point_at(monkeypatch, moto.endpoint_url, follow=False)
    assert s3dlio.get(seeded + "via-redirect") == b"body replayed on 307"


def test_cross_origin_hop_drops_credentials(seeded: str, moto: Any,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    # client -> first (signed, its own endpoint) -> second (other port: cross-origin) -> moto
    with RedirectingProxy(moto.endpoint_url) as second, \
            RedirectingProxy(second.endpoint_url) as first:
        _point_at(monkeypatch, first.endpoint_url, follow=True)
        assert s3dlio.get(seeded + "obj") == b"redirected payload"
        assert first.requests[0].has_header("Authorization")
        assert second.requests, "the second hop was not followed"
        for request in second.requests:
            assert not request.has_header("Authorization")
            assert not request.has_header("X-Amz-Security-Token")


def test_same_origin_hops_stay_signed(seeded: str, moto: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    # Two hops back to the proxy itself (same origin) before the cross-origin target.
    with RedirectingProxy(moto.endpoint_url, hops=2) as proxy:
        _point_at(monkeypatch, proxy.endpoint_url, follow=True)
        assert s3dlio.get(seeded + "obj") == b"redirected payload"
        assert [r.hop for r in proxy.requests] == [0, 1, 2]
        assert all(r.has_header("Authorization") for r in proxy.requests)


def test_hop_limit(seeded: str, moto: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    with RedirectingProxy(moto.endpoint_url, hops=4) as proxy:
        _point_at(monkeypatch, proxy.endpoint_url, follow=True, max_hops=2)
        with pytest.raises(StoreError, match="more than 2 redirects") as info:
            s3dlio.get(seeded + "obj")
        assert " -> " in str(info.value)  # the hops are listed


def _fake_response(status: int, location: str) -> Any:
    class Response:
        status_code = status
        headers: ClassVar[dict[str, str]] = {"location": location}

    return (Response(), {})


def _handler() -> Any:
    from s3dlio_s3.redirects import install_redirects

    captured: dict[str, Any] = {}

    class Events:
        def register_first(self, name: str, fn: Any, unique_id: str) -> None:
            captured[name] = fn

    class Meta:
        events = Events()

    class Client:
        meta = Meta()

    install_redirects(Client(), max_hops=5)
    return captured["needs-retry.s3"]


def test_https_to_http_downgrade_is_refused() -> None:
    needs_retry = _handler()
    request = {"url": "https://proxy.example:8443/b/k", "method": "GET", "context": {}}
    with pytest.raises(StoreError, match="https to http"):
        needs_retry(request_dict=request, response=_fake_response(307, "http://target:80/b/k"))


def test_non_http_location_is_refused() -> None:
    needs_retry = _handler()
    request = {"url": "http://proxy:8080/b/k", "method": "GET", "context": {}}
    with pytest.raises(StoreError, match="URL refused"):
        needs_retry(request_dict=request, response=_fake_response(302, "file:///etc/passwd"))


def test_see_other_becomes_get_and_relative_locations_resolve() -> None:
    needs_retry = _handler()
    request = {"url": "http://proxy:8080/b/k", "method": "PUT", "body": b"x", "context": {}}
    assert needs_retry(request_dict=request, response=_fake_response(303, "/other/k")) == 0
    assert request["method"] == "GET" and request["body"] == b""
    assert request["url"] == "http://proxy:8080/other/k"
    assert "s3dlio_redirect_unsigned" not in request["context"]  # same origin: re-signed


def test_loop_is_detected() -> None:
    needs_retry = _handler()
    request = {"url": "http://a:1/k", "method": "GET", "context": {}}
    needs_retry(request_dict=request, response=_fake_response(307, "http://b:2/k"))
    with pytest.raises(StoreError, match="loop"):
        needs_retry(request_dict=request, response=_fake_response(307, "http://a:1/k"))
