"""``S3Store``: the ``s3://`` backend on botocore.

Data paths are built for throughput without Python-level byte work:

* GET bodies are read with ``readinto`` straight into the result buffer (from the
  ``http.client`` response under urllib3, which reads from the socket into the
  caller's memory); large objects (``S3DLIO_RANGE_THRESHOLD_MB``) are split into
  concurrent ranged GETs into the same buffer. A GET never starts with a HEAD: the
  first request's ``Content-Length`` tells the size, and while its body fills the
  first part the other parts are fetched in parallel.
* PUT bodies are the caller's memory (a ``memoryview``), checksummed with a
  hardware CRC-32C; large ones go through core's multipart writer.
* Every request runs under core's :class:`~s3dlio.store.retry.RetryPolicy`.
"""

from __future__ import annotations

import base64
import builtins
import hashlib
import re
import time
import warnings
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, NamedTuple, TypeVar

from s3dlio.errors import (
    AlreadyExistsError,
    IntegrityError,
    InvalidPathError,
    NotFoundError,
    PreconditionError,
    StoreError,
)
from s3dlio.store import ListPage, ObjectMeta, UploadPart, epoch_seconds, server_side
from s3dlio.store.capabilities import create_only, put_if_absent_by_put
from s3dlio.store.clients import per_process
from s3dlio.store.multi_endpoint import is_endpoint_segment
from s3dlio.store.network import NetworkStore, OpenGet
from s3dlio_s3.client import DEFAULT_REGION, ClientConfig, make_client, make_rest
from s3dlio_s3.errors import translate

if TYPE_CHECKING:
    from collections.abc import Callable

    from s3dlio.config import Settings
    from s3dlio.store.httpclient import RestResponse
    from s3dlio_s3.rest import S3Rest

__all__ = ["S3Store", "validate_bucket_name"]

T = TypeVar("T")
MiB = 1 << 20
MAX_KEY_BYTES = 1024
MAX_SINGLE_COPY = 5 << 30

_BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9.\-_]{1,61}[a-z0-9]$")
_IP_RE = re.compile(r"^\d{1,3}(\.\d{1,3}){3}$")

_no_checksum_endpoints: set[str] = set()
"""Endpoints that rejected checksum headers (older gateways): checksums off there."""


def validate_bucket_name(bucket: str, uri: str) -> None:
    """Raise ``InvalidPathError`` for a bucket name S3 would refuse.

    AWS rules: 3–63 characters of ``a-z 0-9 . -``, starting and ending with a letter or
    digit, no ``..``, not an IP address. ``_`` is accepted for legacy buckets and
    S3-compatible servers that allow it.
    """
    problem = None
    if not _BUCKET_RE.match(bucket):
        if len(bucket) < 3 or len(bucket) > 63:
            problem = "must be 3 to 63 characters long"
        elif bucket != bucket.lower():
            problem = "must be lower case"
        else:
            problem = "may hold only a-z, 0-9, '.', '-' and start and end with a letter or digit"
    elif ".." in bucket:
        problem = "must not contain '..'"
    elif _IP_RE.match(bucket):
        problem = "must not look like an IP address"
    if problem:
        raise InvalidPathError(f"invalid bucket name {bucket!r}: {problem}", op="parse", uri=uri,
                               backend="s3")




def _whole_crc32c(headers: Any, etag: str | None) -> str | None:
    """The stored CRC-32C of the whole object, when the answer has one to check a full read
    against: a single-PUT object (an ETag without ``-N``) with a full-object checksum. A
    multipart object's value is composite (per part) and is not checked (docs/reliability.md)."""
    crc = headers.get("x-amz-checksum-crc32c")
    if not crc or "-" in crc or (etag and "-" in etag):
        return None
    if str(headers.get("x-amz-checksum-type") or "FULL_OBJECT").upper() != "FULL_OBJECT":
        return None
    return str(crc)


def _crc32c_b64(data: memoryview) -> str:
    # The ``crc32c`` package takes any buffer (google-crc32c insists on ``bytes``, which
    # would cost a copy per part) and releases the GIL on large inputs.
    import crc32c

    return base64.b64encode(crc32c.crc32c(data).to_bytes(4, "big")).decode("ascii")


class _Clients(NamedTuple):
    client: Any
    """The botocore client (every request but the data path's)."""
    rest: S3Rest | None
    """The lean GetObject / PutObject / UploadPart client, if usable for this store."""


class S3Store(NetworkStore):
    """Objects of one bucket (``s3://bucket/`` or ``s3://host:port/bucket/``)."""

    backend: ClassVar[str] = "s3"
    schemes: ClassVar[tuple[str, ...]] = ("s3",)
    min_part_size: ClassVar[int] = 5 * MiB
    _uri_form: ClassVar[str] = "s3://bucket/key"
    max_parts: ClassVar[int] = 10_000

    def __init__(self, root: str, settings: Settings) -> None:
        super().__init__(root, settings)
        self._s3 = settings.section("s3")
        host, self.bucket = _parse_root(root)
        endpoint_url = self._s3.endpoint_url
        if host:
            # s3://host:port/bucket/: the endpoint is in the URI. Keep the scheme of a
            # configured endpoint on the same host, else plain http (local servers).
            scheme = "http"
            if endpoint_url and endpoint_url.split("://", 1)[-1].rstrip("/") == host:
                scheme = endpoint_url.split("://", 1)[0]
            endpoint_url = f"{scheme}://{host}"
        self._endpoint_url = endpoint_url.rstrip("/") if endpoint_url else ""
        self._cfg = ClientConfig(self._s3, self._retry, self._endpoint_url or None)

    # ----------------------------------------------------------------- naming
    @classmethod
    def split_uri(cls, uri: str) -> tuple[str, str]:
        if not uri.startswith("s3://"):
            raise InvalidPathError("not an s3:// URI", op="parse", uri=uri, backend="s3")
        rest = uri[5:]
        if not rest:
            return "s3://", ""  # the account: list_containers only (no bucket, no key)
        first, _, remainder = rest.partition("/")
        if not first:
            raise InvalidPathError("an s3:// URI needs a bucket: s3://bucket/key", op="parse",
                                   uri=uri, backend="s3")
        if is_endpoint_segment(first):
            bucket, _, key = remainder.partition("/")
            if not bucket:
                if key:
                    raise InvalidPathError("an s3://host:port/ URI needs a bucket: "
                                           "s3://host:port/bucket/key", op="parse", uri=uri,
                                           backend="s3")
                return f"s3://{first}/", ""
            validate_bucket_name(bucket, uri)
            return f"s3://{first}/{bucket}/", key
        validate_bucket_name(first, uri)
        return f"s3://{first}/", remainder

    @property
    def endpoint(self) -> str:
        if self._endpoint_url:
            return self._endpoint_url
        return f"https://s3.{self._s3.region or DEFAULT_REGION}.amazonaws.com"

    # --------------------------------------------------------------- plumbing
    @per_process
    def _conn(self) -> _Clients:
        """This process's clients of the store."""
        client = make_client(self._cfg)
        if self._s3.follow_redirects or self._endpoint_url:
            from s3dlio_s3.redirects import disable_region_redirector

            disable_region_redirector(client)
        if self._s3.follow_redirects:
            from s3dlio_s3.redirects import install_redirects

            install_redirects(client, max_hops=self._s3.redirect_max)
        return _Clients(client, make_rest(self._cfg, client, self.bucket))

    def _translate(self, exc: BaseException, op: str, key: str) -> StoreError:
        return translate(exc, op=op, uri=self.uri(key), endpoint=self.endpoint)

    def _check_key(self, key: str, op: str) -> None:
        size = len(key.encode("utf-8", "surrogatepass"))
        if size > MAX_KEY_BYTES:
            raise InvalidPathError(f"key is {size} bytes; S3 allows at most {MAX_KEY_BYTES}", op=op,
                                   uri=self.uri(key[:64]) + "…", backend="s3")

    def _body(self, data: memoryview) -> Any:
        """The request body for ``data``: the memory itself, or a rewindable view of it
        when redirects are followed (a 307/308 re-sends the body)."""
        if self._s3.follow_redirects:
            from s3dlio_s3.redirects import ReplayableBody

            return ReplayableBody(data)
        return data

    def _checksums_on(self) -> bool:
        return self._upload.checksum == "crc32c" and self.endpoint not in _no_checksum_endpoints

    def _with_checksum(self, op: str, key: str, data: memoryview | None,
                       send: Callable[[dict[str, Any]], T], *, nbytes: int = 0) -> T:
        """Send with a CRC-32C header; if the endpoint rejects the header, once without."""
        if not self._checksums_on() or data is None:
            return self._call(op, key, lambda: send({}), nbytes=nbytes)
        extra = {"ChecksumCRC32C": _crc32c_b64(data)}
        try:
            return self._call(op, key, lambda: send(extra), nbytes=nbytes)
        except StoreError as exc:
            code = getattr(exc, "code", "")
            if code in ("NotImplemented", "InvalidArgument", "InvalidRequest") and \
                    "checksum" in str(exc).lower():
                _no_checksum_endpoints.add(self.endpoint)
                warnings.warn(f"{self.endpoint} rejects checksum headers; CRC-32C checksums are "
                              f"off for it (length checks stay): {exc}", stacklevel=3)
                return self._call(op, key, lambda: send({}), nbytes=nbytes)
            raise

    def _checksum_of(self, data: memoryview) -> str | None:
        # The form of x-amz-checksum-crc32c: base64 of the big-endian CRC-32C.
        return _crc32c_b64(data) if self._checksums_on() else None

    # ------------------------------------------------------------------ reads
    def _open_get(self, key: str) -> OpenGet:
        client, rest = self._conn
        if rest is not None:
            checksums = self._checksums_on()
            resp = rest.get(key, checksum_mode=checksums)
            etag = resp.headers.get("ETag")
            return OpenGet(_rest_length(resp, self.uri(key)), resp.readinto, resp.release, resp.close,
                           pin=etag, checksum=_whole_crc32c(resp.headers, etag) if checksums else None)
        got = client.get_object(Bucket=self.bucket, Key=key)
        body = got["Body"]
        readinto, release = _body_reader(body)
        return OpenGet(int(got["ContentLength"]), readinto, release, body.close, pin=got.get("ETag"))

    def _range_into(self, key: str, offset: int, buf: memoryview, *, pin: str | None = None) -> int:
        length = len(buf)
        if length == 0:
            return 0
        client, rest = self._conn
        bucket = self.bucket
        extra = {"IfMatch": pin} if pin else {}

        def attempt() -> int:
            try:
                if rest is not None:
                    part = rest.get(key, start=offset, end=offset + length - 1, if_match=pin)
                    got = min(_rest_length(part, self.uri(key)), length)
                    return self._read_response(part.readinto, buf[:got], key, release=part.release,
                                               close=part.close)
                resp = client.get_object(Bucket=bucket, Key=key,
                                         Range=f"bytes={offset}-{offset + length - 1}", **extra)
            except Exception as exc:
                if getattr(exc, "response", {}).get("Error", {}).get("Code") == "InvalidRange":
                    return 0  # offset at or past the end: nothing to read
                raise
            got = int(resp["ContentLength"])
            body = resp["Body"]
            readinto, release = _body_reader(body)
            return self._read_response(readinto, buf[:got], key, release=release, close=body.close)

        return self._call("get", key, attempt, nbytes=length)

    def head(self, key: str) -> ObjectMeta:
        self._need_key(key, "stat")
        client, bucket = self._conn.client, self.bucket
        resp = self._call("stat", key, lambda: client.head_object(Bucket=bucket, Key=key))
        meta = _meta_from_head(key, resp)
        self._sizes.put(self.uri(key), meta.size)
        return meta

    # ----------------------------------------------------------------- writes
    def _put_single(self, key: str, data: memoryview) -> None:
        if create_only.get():
            self._put_create_only(key, data)
            return
        (client, rest), bucket = self._conn, self.bucket

        def send(extra: dict[str, Any]) -> Any:
            if rest is not None:
                return rest.put(key, data, checksum_crc32c=extra.get("ChecksumCRC32C"))
            return client.put_object(Bucket=bucket, Key=key, Body=self._body(data), **extra)

        self._with_checksum("put", key, data, send, nbytes=len(data))

    # -------------------------------------------------------- create-only writes
    def put_if_absent(self, key: str, data: memoryview) -> bool:
        """Create-only write (``If-None-Match: *`` on the PUT, or on the Complete of a
        multipart upload): ``True`` if written, ``False`` if ``key`` existed."""
        self._need_key(key, "put")
        return put_if_absent_by_put(self, key, data,
                                    check_first_from=self._upload.multipart_threshold_mb * MiB)

    def _put_create_only(self, key: str, data: memoryview) -> None:
        """One PUT with ``If-None-Match: *`` (through botocore; the lean path sends no
        conditions). A 412 after a retried attempt is reconciled by a HEAD: the same size
        and MD5 ETag mean our own earlier attempt won."""
        client, bucket = self._conn.client, self.bucket
        attempts = [0]

        def send(extra: dict[str, Any]) -> Any:
            attempts[0] += 1
            return client.put_object(Bucket=bucket, Key=key, Body=self._body(data),
                                     IfNoneMatch="*", **extra)

        try:
            self._with_checksum("put", key, data, send, nbytes=len(data))
        except PreconditionError as exc:
            if exc.status != 412:
                raise  # 409 ConditionalRequestConflict: the outcome is not known
            if attempts[0] > 1 and self._is_our_object(key, data):
                return
            raise self._exists(key, "put", exc) from exc

    def _is_our_object(self, key: str, data: memoryview) -> bool:
        try:
            meta = self.head(key)
        except StoreError:
            return False
        digest = hashlib.md5(data, usedforsecurity=False).hexdigest()
        return meta.size == len(data) and (meta.etag or "").strip('"') == digest

    def _exists(self, key: str, op: str, cause: StoreError) -> AlreadyExistsError:
        return AlreadyExistsError(f"{self.uri(key)} exists and the write is create-only", op=op,
                                  uri=self.uri(key), backend="s3", endpoint=self.endpoint,
                                  status=cause.status)

    # --------------------------------------------------------------- multipart
    def create_upload(self, key: str, *, content_type: str | None = None) -> str:
        self._need_key(key, "put")
        client, bucket = self._conn.client, self.bucket
        kwargs: dict[str, Any] = {"Bucket": bucket, "Key": key}
        if content_type:
            kwargs["ContentType"] = content_type
        if self._checksums_on():
            kwargs["ChecksumAlgorithm"] = "CRC32C"
        # A retried CreateMultipartUpload whose first response was lost (reset, timeout)
        # leaves an upload the server created and nobody knows the id of (issue 16). The
        # uploads already pending for this key are noted first; after a retried create,
        # every new one but ours is aborted — only then, so a plain create costs one LIST.
        before = self._pending_upload_ids(key)
        sent = 0

        def create() -> Any:
            nonlocal sent
            sent += 1
            return client.create_multipart_upload(**kwargs)

        try:
            resp = self._call("create_upload", key, create)
        except Exception:
            self._abort_orphans(key, before, keep=None)  # what an unanswered attempt created
            raise
        upload_id = str(resp["UploadId"])
        if sent > 1:
            self._abort_orphans(key, before, keep=upload_id)
        return upload_id

    def _pending_upload_ids(self, key: str) -> set[str] | None:
        """Ids of the multipart uploads pending for exactly ``key`` (``None``: not listable)."""
        client, bucket = self._conn.client, self.bucket
        ids: set[str] = set()
        kwargs: dict[str, Any] = {"Bucket": bucket, "Prefix": key}
        try:
            while True:
                resp = self._call("list_uploads", key, lambda: client.list_multipart_uploads(**kwargs))
                ids.update(u["UploadId"] for u in resp.get("Uploads", ()) if u.get("Key") == key)
                if not resp.get("IsTruncated"):
                    return ids
                kwargs["KeyMarker"] = resp.get("NextKeyMarker")
                kwargs["UploadIdMarker"] = resp.get("NextUploadIdMarker")
        except StoreError:
            return None  # no s3:ListBucketMultipartUploads (or no answer): no orphan sweep

    def _abort_orphans(self, key: str, before: set[str] | None, *, keep: str | None) -> None:
        """Abort the uploads for ``key`` created since ``before`` was listed, except ``keep``.

        Best effort: a failure here is logged, never raised over the create's outcome.
        (A second writer starting an upload of the *same key* in that window would lose
        its upload too; its Complete then fails with a typed error, nothing is lost.)
        """
        if before is None:
            return
        now = self._pending_upload_ids(key)
        for upload_id in sorted((now or set()) - before - {keep}):
            try:
                self.abort_upload(key, upload_id)
            except StoreError as exc:  # pragma: no cover - best effort
                warnings.warn(f"could not abort the orphaned upload {upload_id} of {self.uri(key)}: "
                              f"{exc}", stacklevel=2)

    def upload_part(self, key: str, upload_id: str, part_number: int, data: memoryview) -> UploadPart:
        (client, rest), bucket = self._conn, self.bucket

        def send(extra: dict[str, Any]) -> Any:
            if rest is not None:
                headers = rest.upload_part(key, upload_id, part_number, data,
                                           checksum_crc32c=extra.get("ChecksumCRC32C"))
                return {"ETag": headers.get("ETag"),
                        "ChecksumCRC32C": headers.get("x-amz-checksum-crc32c")}
            return client.upload_part(Bucket=bucket, Key=key, UploadId=upload_id,
                                      PartNumber=part_number, Body=self._body(data), **extra)

        resp = self._with_checksum("upload_part", key, data, send, nbytes=len(data))
        return UploadPart(part_number=part_number, size=len(data), etag=resp.get("ETag"),
                          checksum=resp.get("ChecksumCRC32C"))

    def complete_upload(self, key: str, upload_id: str, parts: Sequence[UploadPart]) -> str | None:
        client, bucket = self._conn.client, self.bucket
        listed = []
        for part in parts:
            entry: dict[str, Any] = {"PartNumber": part.part_number, "ETag": part.etag}
            if part.checksum:
                entry["ChecksumCRC32C"] = part.checksum
            listed.append(entry)
        # put_if_absent: only the Complete publishes, so only it carries the condition.
        condition = {"IfNoneMatch": "*"} if create_only.get() else {}
        try:
            resp = self._call("complete_upload", key, lambda: client.complete_multipart_upload(
                Bucket=bucket, Key=key, UploadId=upload_id, MultipartUpload={"Parts": listed},
                **condition))
        except PreconditionError as exc:
            if not condition or exc.status != 412:
                raise
            raise self._exists(key, "complete_upload", exc) from exc
        self._sizes.put(self.uri(key), sum(p.size for p in parts))
        etag = resp.get("ETag")
        return str(etag) if etag else None

    def abort_upload(self, key: str, upload_id: str) -> None:
        client, bucket = self._conn.client, self.bucket
        try:
            self._call("abort_upload", key, lambda: client.abort_multipart_upload(
                Bucket=bucket, Key=key, UploadId=upload_id))
        except NotFoundError:
            pass  # already gone (aborted, or never created server-side)

    def abort_incomplete(self, prefix: str, older_than_s: float) -> int:
        self._need_container("abort_incomplete_uploads")
        client, bucket = self._conn.client, self.bucket
        cutoff = time.time() - older_than_s
        aborted = 0
        kwargs: dict[str, Any] = {"Bucket": bucket, "Prefix": prefix}
        while True:
            resp = self._call("list_uploads", prefix, lambda: client.list_multipart_uploads(**kwargs))
            for upload in resp.get("Uploads", []):
                started = epoch_seconds(upload.get("Initiated"))
                if started is None or started <= cutoff:
                    self.abort_upload(upload["Key"], upload["UploadId"])
                    aborted += 1
            if not resp.get("IsTruncated"):
                return aborted
            kwargs["KeyMarker"] = resp.get("NextKeyMarker")
            kwargs["UploadIdMarker"] = resp.get("NextUploadIdMarker")

    # ---------------------------------------------------------------- listing
    def list(self, prefix: str = "", *, recursive: bool = True) -> Iterator[ListPage]:
        self._need_container("list")
        client, bucket = self._conn.client, self.bucket
        kwargs: dict[str, Any] = {"Bucket": bucket, "Prefix": prefix,
                                  "MaxKeys": self._s3.list_page_size}
        if not recursive:
            kwargs["Delimiter"] = "/"
        sizes = self._sizes
        root = self.root
        while True:
            # A page is retried with the same continuation token (never restarted).
            resp = self._call("list", prefix, lambda: client.list_objects_v2(**kwargs))
            contents = resp.get("Contents", ())
            keys = [c["Key"] for c in contents]
            metas = [ObjectMeta(key=c["Key"], size=int(c.get("Size", 0)),
                                last_modified=epoch_seconds(c.get("LastModified")), etag=c.get("ETag"),
                                storage_class=c.get("StorageClass")) for c in contents]
            sizes.put_many([(root + m.key, m.size) for m in metas])
            prefixes = [p["Prefix"] for p in resp.get("CommonPrefixes", ())]
            if keys or prefixes:
                yield ListPage(keys=keys, prefixes=prefixes, metas=metas)
            if not resp.get("IsTruncated"):
                return
            kwargs["ContinuationToken"] = resp["NextContinuationToken"]

    # ---------------------------------------------------------------- deletes
    def delete(self, key: str) -> None:
        self._need_key(key, "delete")
        client, bucket = self._conn.client, self.bucket
        try:
            self._call("delete", key, lambda: client.delete_object(Bucket=bucket, Key=key))
        except NotFoundError:
            pass  # idempotent (a retried DELETE may see its own success as 404)
        self._sizes.forget(self.uri(key))

    _delete_batch_size = 1000  # DeleteObjects' limit

    def _delete_batch(self, keys: builtins.list[str]) -> builtins.list[tuple[str, BaseException]]:
        """One DeleteObjects request; every per-key error is returned."""
        from s3dlio_s3.errors import _client_error

        client, bucket = self._conn.client, self.bucket
        sizes = self._sizes
        failures: list[tuple[str, BaseException]] = []
        valid = []
        for key in keys:
            try:
                self._need_key(key, "delete")
                valid.append(key)
            except InvalidPathError as exc:
                failures.append((key, exc))
        if not valid:
            return failures
        try:
            resp = self._call("delete", valid[0], lambda: client.delete_objects(
                Bucket=bucket, Delete={"Objects": [{"Key": k} for k in valid], "Quiet": True}))
        except StoreError as exc:
            return failures + [(k, exc) for k in valid]
        for key in valid:
            sizes.forget(self.root + key)
        for err in resp.get("Errors", ()):
            key = err.get("Key", "")
            fake = type("E", (), {"response": {"Error": err, "ResponseMetadata": resp.get(
                "ResponseMetadata", {})}})()
            translated = _client_error(fake, "delete", self.uri(key), self.endpoint)
            if isinstance(translated, NotFoundError):
                continue
            failures.append((key, translated))
        return failures

    # ------------------------------------------------------------------ copy
    @server_side  # CopyObject / UploadPartCopy: no data through this process
    def copy(self, src_key: str, dst_key: str) -> None:
        self._need_key(src_key, "copy")
        self._need_key(dst_key, "copy")
        client, bucket = self._conn.client, self.bucket
        source = {"Bucket": bucket, "Key": src_key}
        size = self.head(src_key).size
        if size <= MAX_SINGLE_COPY:
            self._call("copy", dst_key, lambda: client.copy_object(
                Bucket=bucket, Key=dst_key, CopySource=source))
        else:
            self._copy_multipart(source, dst_key, size)
        self._sizes.put(self.uri(dst_key), size)

    def _copy_multipart(self, source: dict[str, str], dst_key: str, size: int) -> None:
        client, bucket = self._conn.client, self.bucket
        part = max(512 * MiB, -(-size // self.max_parts))
        upload_id = self.create_upload(dst_key)
        try:
            parts = []
            for number, offset in enumerate(range(0, size, part), start=1):
                end = min(size, offset + part) - 1

                def copy_part(n: int = number, first: int = offset, last: int = end) -> Any:
                    return client.upload_part_copy(
                        Bucket=bucket, Key=dst_key, UploadId=upload_id, PartNumber=n,
                        CopySource=source, CopySourceRange=f"bytes={first}-{last}")

                resp = self._call("copy", dst_key, copy_part)
                parts.append(UploadPart(number, end - offset + 1, resp["CopyPartResult"]["ETag"],
                                        resp["CopyPartResult"].get("ChecksumCRC32C")))
            self.complete_upload(dst_key, upload_id, parts)
        except BaseException:
            self.abort_upload(dst_key, upload_id)
            raise

    # ------------------------------------------------------------- containers
    def create_container(self, key: str = "") -> None:
        self._need_container("create_bucket")
        client, bucket = self._conn.client, self.bucket
        kwargs: dict[str, Any] = {"Bucket": bucket}
        region = self._s3.region or DEFAULT_REGION
        if region != "us-east-1":
            kwargs["CreateBucketConfiguration"] = {"LocationConstraint": region}
        try:
            self._call("create_bucket", "", lambda: client.create_bucket(**kwargs))
        except StoreError as exc:
            if getattr(exc, "code", "") != "BucketAlreadyOwnedByYou":
                raise
        if key:
            self.mkdir(key)

    def delete_container(self, key: str = "") -> None:
        self._need_container("delete_bucket")
        client, bucket = self._conn.client, self.bucket
        self._call("delete_bucket", "", lambda: client.delete_bucket(Bucket=bucket))

    def list_containers(self, key: str = "") -> builtins.list[dict[str, Any]]:
        client = self._conn.client
        resp = self._call("list_buckets", "", client.list_buckets)
        base = self.root[: -len(self.bucket) - 1] if self.bucket else self.root  # s3://[host:port/]
        out = []
        for b in resp.get("Buckets", ()):
            created = epoch_seconds(b.get("CreationDate"))
            from s3dlio.store import format_rfc3339

            out.append({"name": b["Name"], "uri": f"{base}{b['Name']}/",
                        "creation_date": format_rfc3339(created)})
        return out

    # -------------------------------------------------------------- diagnosis
    def describe(self, *, probe: bool = False) -> dict[str, Any]:
        """The endpoint, region, TLS settings and (with ``probe``) botocore's credential
        method; the clock skew comes from :class:`NetworkStore`."""
        info = super().describe(probe=probe)
        s3 = self._s3
        info.update(region=self._cfg.region, addressing_style=s3.addressing_style,
                    ca_bundle=s3.ca_bundle, tls_verify=not s3.insecure)
        if s3.anonymous:
            info["credentials"] = "none: anonymous (unsigned requests)"
        elif not probe:
            info["credentials"] = "the standard chain (resolved at the first request)"
        else:
            # Resolving may ask the metadata service (bounded by s3.metadata_timeout_secs):
            # only when a probe is allowed to send requests.
            from s3dlio_s3.client import _session

            creds = _session(s3.profile, s3).get_credentials()
            if creds is None:
                info["credentials"] = "none found"
                info["problems"] = [("no S3 credentials found: set AWS_ACCESS_KEY_ID and "
                                     "AWS_SECRET_ACCESS_KEY, a profile (--profile), "
                                     "or S3DLIO_S3_ANONYMOUS=1")]
            else:
                info["credentials"] = f"{creds.method} (access key {(creds.access_key or '')[:4]}****)"
        return info

    def _tls_verify(self) -> bool | str | None:
        s3 = self._s3
        return False if s3.insecure else (s3.ca_bundle or None)


def _nothing() -> None:
    """A body read through urllib3 releases its connection itself at the end."""


def _body_reader(body: Any) -> tuple[Callable[[memoryview], int | None], Callable[[], object]]:
    """``(readinto, release)`` of a botocore streaming body: past urllib3 straight from
    http.client (the fully read connection then goes back to urllib3's pool) where it can."""
    raw = getattr(body, "_raw_stream", body)
    fp = getattr(raw, "_fp", None)
    headers = getattr(raw, "headers", {}) or {}
    if fp is not None and hasattr(fp, "readinto") and not headers.get("content-encoding"):
        return fp.readinto, raw.release_conn
    return raw.readinto, _nothing


def _rest_length(resp: RestResponse, uri: str) -> int:
    if resp.length is None:
        resp.close()
        raise IntegrityError("GetObject answered without Content-Length", op="get", uri=uri,
                             backend="s3")
    return int(resp.length)


def _parse_root(root: str) -> tuple[str, str]:
    """``(host or "", bucket)`` of a store root made by :meth:`S3Store.split_uri`."""
    parts = root[5:].rstrip("/").split("/") if root != "s3://" else [""]
    if len(parts) == 2:
        return parts[0], parts[1]
    if is_endpoint_segment(parts[0]):
        return parts[0], ""
    return "", parts[0]


_HEAD_EXTRA = {
    "ContentLanguage": "content_language",
    "ContentEncoding": "content_encoding",
    "CacheControl": "cache_control",
    "ContentDisposition": "content_disposition",
    "Expires": "expires",
    "ServerSideEncryption": "server_side_encryption",
    "SSEKMSKeyId": "ssekms_key_id",
    "SSECustomerAlgorithm": "sse_customer_algorithm",
    "ReplicationStatus": "replication_status",
}


def _meta_from_head(key: str, resp: dict[str, Any]) -> ObjectMeta:
    extra = {name: resp[field] for field, name in _HEAD_EXTRA.items() if field in resp}
    if "expires" in extra and not isinstance(extra["expires"], str):
        extra["expires"] = str(extra["expires"])
    for field in ("ChecksumCRC32C", "ChecksumCRC32", "ChecksumSHA256"):
        if field in resp:
            extra[field.lower()] = resp[field]
    return ObjectMeta(
        key=key,
        size=int(resp.get("ContentLength", 0)),
        last_modified=epoch_seconds(resp.get("LastModified")),
        etag=resp.get("ETag"),
        content_type=resp.get("ContentType"),
        storage_class=resp.get("StorageClass", "STANDARD"),
        version_id=resp.get("VersionId"),
        metadata=dict(resp.get("Metadata", {})),
        extra=extra,
    )
