"""Opt-in following of 3xx answers (AIStore proxies redirect to targets).

botocore never follows redirects itself (urllib3 is called with ``Retry(False)``),
so the answer reaches its ``needs-retry`` event; this handler — the same
mechanism botocore's own region redirector uses — rewrites the request URL and
asks for an immediate re-send, under these rules (docs/backends/s3.md, "Redirects"):

* at most ``max_hops`` hops; a URL seen before is a loop; both fail listing the hops;
* only http/https locations; https → http is refused on every hop;
* 303 turns the request into a GET without body, as do 301/302 on POST;
* a cross-origin hop (scheme, host or port differ) is sent **unsigned**, so no
  ``Authorization`` or ``X-Amz-Security-Token`` reaches the other host; a
  same-origin hop is re-signed for the new URL.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urljoin, urlsplit

from s3dlio.errors import StoreError

__all__ = ["ReplayableBody", "disable_region_redirector", "install_redirects"]


class ReplayableBody:
    """A seekable, zero-copy file view of a request body, so a 307/308 can resend it.

    botocore rewinds the previous request's body before re-sending (``seek(0)``),
    which a plain ``memoryview`` cannot do; ``read`` returns slices of the caller's
    memory, which the socket sends without a copy.
    """

    __slots__ = ("_mv", "_pos")

    def __init__(self, data: memoryview) -> None:
        self._mv = data
        self._pos = 0

    def read(self, size: int = -1) -> memoryview:
        end = len(self._mv) if size is None or size < 0 else min(len(self._mv), self._pos + size)
        chunk = self._mv[self._pos : end]
        self._pos = end
        return chunk

    def seek(self, offset: int, whence: int = 0) -> int:
        base = {0: 0, 1: self._pos, 2: len(self._mv)}[whence]
        self._pos = max(0, min(len(self._mv), base + offset))
        return self._pos

    def tell(self) -> int:
        return self._pos

    def __len__(self) -> int:
        return len(self._mv)

_FOLLOWED = {301, 302, 303, 307, 308}
_HOPS = "s3dlio_redirect_hops"
_UNSIGNED = "s3dlio_redirect_unsigned"


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return parts.scheme, (parts.hostname or "").lower(), port


def disable_region_redirector(client: Any) -> None:
    """Remove botocore's S3 region redirector from ``client``.

    It answers *every* 301/302/307 by asking the same endpoint for the bucket's
    region (HeadBucket), which a redirecting proxy answers with another 307: an
    endless recursion. Custom endpoints have no regions to discover, and with
    following on, :func:`install_redirects` owns 3xx handling.
    """
    from botocore.utils import S3RegionRedirector, S3RegionRedirectorv2

    events = client.meta.events
    emitter = getattr(events, "_emitter", events)
    for event in ("needs-retry.s3", "before-parameter-build.s3", "before-endpoint-resolution.s3"):
        for handler in list(emitter._handlers.prefix_search(event)):
            owner = getattr(handler, "__self__", None)
            if isinstance(owner, (S3RegionRedirector, S3RegionRedirectorv2)):
                events.unregister(event, handler)


def install_redirects(client: Any, *, max_hops: int) -> None:
    """Register the redirect handlers on ``client``'s event system."""
    events = client.meta.events

    def needs_retry(request_dict: dict[str, Any], response: Any, **_: Any) -> int | None:
        if response is None:
            return None
        http_response = response[0]
        status = getattr(http_response, "status_code", None)
        if status not in _FOLLOWED:
            return None
        location = http_response.headers.get("location")
        if not location:
            return None
        context = request_dict.setdefault("context", {})
        current = request_dict["url"]
        hops: list[str] = context.setdefault(_HOPS, [current])
        target = urljoin(current, location)
        scheme = urlsplit(target).scheme
        trail = " -> ".join([*hops, target])
        if scheme not in ("http", "https"):
            raise StoreError(f"redirect to a {scheme or 'relative'}: URL refused ({trail})",
                             op="redirect", uri=current, status=status)
        if urlsplit(current).scheme == "https" and scheme == "http":
            raise StoreError(f"redirect from https to http refused ({trail})",
                             op="redirect", uri=current, status=status)
        if target in hops:
            raise StoreError(f"redirect loop ({trail})", op="redirect", uri=current, status=status)
        if len(hops) > max_hops:
            raise StoreError(f"more than {max_hops} redirects ({trail})", op="redirect",
                             uri=current, status=status)
        hops.append(target)
        method = request_dict.get("method", "GET").upper()
        if status == 303 or (status in (301, 302) and method == "POST"):
            request_dict["method"] = "GET"
            request_dict["body"] = b""
        if _origin(target) != _origin(hops[0]):
            context[_UNSIGNED] = True
        request_dict["url"] = target
        return 0  # re-send now; not an attempt of the retry policy

    def choose_signer(context: dict[str, Any] | None = None, **_: Any) -> Any:
        if context and context.get(_UNSIGNED):
            import botocore

            return botocore.UNSIGNED
        return None

    events.register_first("needs-retry.s3", needs_retry, unique_id="s3dlio-redirects")
    events.register_first("choose-signer.s3", choose_signer, unique_id="s3dlio-redirect-signer")
