"""The original API's S3 set-up calls, served as ``s3dlio.configure_s3`` / ``s3dlio.parse_s3_uri_full``."""

from __future__ import annotations

import os
from typing import Any

from s3dlio.plugin import runtime
from s3dlio.store.multi_endpoint import is_endpoint_segment

__all__ = ["configure_s3", "parse_s3_uri_full"]


def configure_s3(
    endpoint_url: str | None = None, region: str | None = None, ca_bundle: str | None = None
) -> None:
    """Set the S3 endpoint, region and CA bundle; effective immediately (the store cache is reset)."""
    if endpoint_url is not None:
        os.environ["AWS_ENDPOINT_URL"] = endpoint_url
    if region is not None:
        os.environ["AWS_DEFAULT_REGION"] = region
        os.environ["AWS_REGION"] = region
    if ca_bundle is not None:
        os.environ["AWS_CA_BUNDLE"] = ca_bundle
    runtime.reset()


def parse_s3_uri_full(uri: str) -> dict[str, Any]:
    """``{"endpoint", "bucket", "key"}`` of ``s3://[host:port/]bucket/key``.

    A first segment with ``:port`` or a dotted IP is the endpoint. ``s3://bucket``
    without a ``/`` and non-s3 URIs raise ``ValueError``.
    """
    if not isinstance(uri, str) or not uri.startswith("s3://"):
        raise ValueError(f"not an s3:// URI: {uri!r}")
    rest = uri[5:]
    if "/" not in rest:
        raise ValueError(f"s3 URI needs a bucket and a '/' ({uri!r})")
    first, _, remainder = rest.partition("/")
    endpoint = None
    if is_endpoint_segment(first):
        endpoint = first
        bucket, _, key = remainder.partition("/")
    else:
        bucket, key = first, remainder
    if not bucket:
        raise ValueError(f"s3 URI has no bucket ({uri!r})")
    return {"endpoint": endpoint, "bucket": bucket, "key": key}
