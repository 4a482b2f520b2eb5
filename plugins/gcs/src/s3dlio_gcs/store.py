"""``GcsStore``: the ``gs://`` / ``gcs://`` backend on google-cloud-storage.

* Reads bypass the SDK's download helpers (which assemble ``bytes`` and copy them):
  a media GET goes through the client's authorised ``requests`` session with
  ``stream=True`` and the body is read with ``readinto`` straight into the result
  buffer (from the ``http.client`` response under urllib3: socket → caller memory,
  no intermediate copy). Large objects (``S3DLIO_RANGE_THRESHOLD_MB``) are split
  into concurrent ranged GETs into one buffer, pinned to the first response's
  generation (``ifGenerationMatch``), and whole objects are checked against their
  CRC-32C (``x-goog-hash``).
* Small writes (and every part of a large one) are one JSON-API multipart upload
  (``uploadType=multipart``) sent through the same session, not through the SDK: the
  body is ``[metadata preamble, the caller's memoryview, epilogue]`` with an exact
  ``Content-Length`` (no concatenated copy of the data, no chunked encoding); the
  metadata carries the CRC-32C (or MD5, ``[upload] checksum``), which the server checks.
  Large writes are *parallel composite uploads* driven by core's multipart writer:
  every part is a temporary object ``<key>.s3dlio-parts/<upload id>/<n>`` (hidden from
  listings), and completing composes them (32 sources per request, in a tree) into the
  key, then deletes the temporaries. Aborting deletes them. Works the same on GCS and
  fake-gcs-server (which has no XML multipart API).
* Create-only writes use ``ifGenerationMatch=0``.
* Every request runs under core's :class:`~s3dlio.store.retry.RetryPolicy`; the SDK's own
  retries are off (``retry=None``).
"""

from __future__ import annotations

import base64
import builtins
import contextlib
import contextvars
import hashlib
import io
import json
import re
import threading
import time
import uuid
import warnings
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, ClassVar, NamedTuple, TypeVar
from urllib.parse import quote

from s3dlio.errors import (
    AlreadyExistsError,
    IntegrityError,
    InvalidPathError,
    NotFoundError,
    PreconditionError,
    StoreError,
)
from s3dlio.store import ListPage, ObjectMeta, UploadPart, epoch_seconds, format_rfc3339, server_side
from s3dlio.store.clients import per_process
from s3dlio.store.network import NetworkStore, OpenGet
from s3dlio_gcs.client import ClientConfig, GcsClient, get_client
from s3dlio_gcs.errors import from_status, translate
from s3dlio_gcs.rest import LeanResponse

if TYPE_CHECKING:
    from collections.abc import Callable

    from s3dlio.config import Settings

__all__ = ["PARTS_MARK", "GcsStore", "validate_bucket_name"]

T = TypeVar("T")
MiB = 1 << 20
MAX_KEY_BYTES = 1024
COMPOSE_MAX = 32
"""Most sources of one compose request."""
PARTS_MARK = ".s3dlio-parts/"
"""Temporary part objects of a composite upload live under ``<key>.s3dlio-parts/<id>/``."""
_PART_RE = re.compile(r"^(?P<key>.+)\.s3dlio-parts/(?P<id>[co][0-9a-f]{32})/")
_IP_RE = re.compile(r"^\d{1,3}(\.\d{1,3}){3}$")
_BUCKET_CHARS = re.compile(r"^[a-z0-9][a-z0-9._\-]*[a-z0-9]$")

_create_only: contextvars.ContextVar[bool] = contextvars.ContextVar("s3dlio_gcs_create_only",
                                                                    default=False)
_uploads_lock = threading.Lock()
_upload_content_types: dict[str, str] = {}


def validate_bucket_name(bucket: str, uri: str) -> None:
    """Raise ``InvalidPathError`` for a bucket name GCS would refuse.

    GCS rules: 3–63 characters (up to 222 with dots, each dot-separated part at most
    63) of ``a-z 0-9 - _ .``, starting and ending with a letter or digit; not an IP
    address; no ``goog`` prefix and no ``google`` (or close misspellings) inside.
    """
    problem = None
    parts = bucket.split(".")
    if bucket != bucket.lower():
        problem = "must be lower case"
    elif len(bucket) < 3 or len(bucket) > 222 or ("." not in bucket and len(bucket) > 63):
        problem = "must be 3 to 63 characters long (up to 222 with dots)"
    elif not _BUCKET_CHARS.match(bucket):
        problem = "may hold only a-z, 0-9, '-', '_', '.' and must start and end with a letter or digit"
    elif any(not p or len(p) > 63 for p in parts):
        problem = "each dot-separated part must be 1 to 63 characters"
    elif _IP_RE.match(bucket):
        problem = "must not look like an IP address"
    elif bucket.startswith("goog") or "google" in bucket or "g00gle" in bucket:
        problem = "must not start with 'goog' or contain 'google'"
    if problem:
        raise InvalidPathError(f"invalid bucket name {bucket!r}: {problem}", op="parse", uri=uri,
                               backend="gcs")




def _crc32c(data: memoryview) -> int:
    import crc32c

    return int(crc32c.crc32c(data))


def _b64_crc(value: int) -> str:
    return base64.b64encode(value.to_bytes(4, "big")).decode("ascii")


def _header_crc32c(headers: Any) -> str | None:
    """The base64 CRC-32C in ``x-goog-hash: crc32c=…,md5=…`` (``None`` if absent).

    GCS sends one ``x-goog-hash`` line per digest: requests joins them with commas,
    http.client's message keeps them apart (``get`` would return only the first).
    """
    if headers is None:
        return None
    get_all = getattr(headers, "get_all", None)
    lines = (get_all("x-goog-hash") or []) if get_all is not None else [headers.get("x-goog-hash")]
    for raw in lines:
        for item in str(raw or "").split(","):
            name, _, value = item.strip().partition("=")
            if name == "crc32c" and value:
                return value
    return None


class _MultipartBody:
    """A ``multipart/related`` upload body that is never concatenated.

    Iterates ``[preamble, data, epilogue]``: ``data`` is the caller's memoryview, which
    urllib3 hands to ``socket.sendall`` as it is (no copy). ``__len__`` is the exact total,
    so requests sets ``Content-Length`` (``prepare_body`` → ``super_len``) and the adapter
    sends it unchunked; ``__iter__`` starts over on every call, so the same body can be
    sent again (google-auth re-sends a request after a 401 credential refresh). It has
    no buffer interface and no ``read`` on purpose: urllib3 2.x ``body_to_chunks`` then
    takes the iterable branch instead of reading it in 16 KiB blocks.

    Layout as google-cloud-storage's ``construct_multipart_request`` (JSON metadata part,
    then the media part), with a random 128-bit boundary.
    """

    __slots__ = ("_parts", "_size", "content_type")

    def __init__(self, metadata: dict[str, str], data: memoryview) -> None:
        boundary = "s3dlio-" + uuid.uuid4().hex
        sep = b"--" + boundary.encode("ascii")
        preamble = b"".join((
            sep, b"\r\ncontent-type: application/json; charset=UTF-8\r\n\r\n",
            json.dumps(metadata).encode("utf-8"), b"\r\n",
            sep, b"\r\ncontent-type: ", metadata["contentType"].encode("utf-8"), b"\r\n\r\n",
        ))
        epilogue = b"\r\n" + sep + b"--"
        self._parts: tuple[bytes | memoryview, ...] = (preamble, data, epilogue)
        self._size = len(preamble) + data.nbytes + len(epilogue)
        self.content_type = f'multipart/related; boundary="{boundary}"'

    def __len__(self) -> int:
        return self._size

    def __iter__(self) -> Iterator[bytes | memoryview]:
        return iter(self._parts)


class _Clients(NamedTuple):
    gc: GcsClient
    """The process's client of this store's configuration (shared by its stores)."""
    bucket: Any
    """The SDK's bucket handle (``None`` at the account root)."""


class GcsStore(NetworkStore):
    """Objects of one bucket (``gs://bucket/`` or ``gcs://bucket/``)."""

    backend: ClassVar[str] = "gcs"
    schemes: ClassVar[tuple[str, ...]] = ("gs", "gcs")
    min_part_size: ClassVar[int] = 1 * MiB
    _uri_form: ClassVar[str] = "gs://bucket/key"
    """Compose has no minimum component size; 1 MiB keeps the request count sane."""
    max_parts: ClassVar[int] = 10_000
    _split_known_sizes: ClassVar[bool] = False
    """A large GET keeps its first request: its generation pins the parts and its CRC-32C
    checks the whole object."""

    def __init__(self, root: str, settings: Settings) -> None:
        super().__init__(root, settings)
        self._gcs = settings.section("gcs")
        self.bucket = root.split("://", 1)[1].rstrip("/")
        self._cfg = ClientConfig(self._gcs, self._retry)

    # ----------------------------------------------------------------- naming
    @classmethod
    def split_uri(cls, uri: str) -> tuple[str, str]:
        scheme, sep, rest = uri.partition("://")
        if not sep or scheme not in cls.schemes:
            raise InvalidPathError("not a gs:// or gcs:// URI", op="parse", uri=uri, backend="gcs")
        if not rest:
            return f"{scheme}://", ""  # the account: list_containers only (no bucket, no key)
        bucket, _, key = rest.partition("/")
        if not bucket:
            raise InvalidPathError(f"a {scheme}:// URI needs a bucket: {scheme}://bucket/key",
                                   op="parse", uri=uri, backend="gcs")
        validate_bucket_name(bucket, uri)
        return f"{scheme}://{bucket}/", key

    @property
    def endpoint(self) -> str:
        return self._cfg.endpoint

    # --------------------------------------------------------------- plumbing
    @per_process
    def _conn(self) -> _Clients:
        """This process's clients of the store."""
        try:
            client = get_client(self._cfg)
        except StoreError as exc:
            if exc.uri is None:
                exc.uri = self.root
            raise
        return _Clients(client, client.client.bucket(self.bucket) if self.bucket else None)

    @property
    def _timeout(self) -> tuple[float, float]:
        return self._cfg.timeout

    def describe(self, *, probe: bool = False) -> dict[str, Any]:
        """The project and where the credentials come from (a file's path, ADC, anonymous)."""
        info = super().describe(probe=probe)
        cfg = self._cfg
        info.update(project=self._gcs.project or "(from the credentials)",
                    rest_data_path=self._gcs.rest_data_path)
        info["credentials"] = {
            "anonymous": "none: anonymous (an emulator or public buckets)",
            "file": f"credentials file {self._gcs.credentials_file}",
            "adc": "Application Default Credentials (resolved at the first request)",
        }[cfg.mode]
        return info

    def _translate(self, exc: BaseException, op: str, key: str) -> StoreError:
        return translate(exc, op=op, uri=self.uri(key), endpoint=self.endpoint)

    def _put_single(self, key: str, data: memoryview) -> None:
        self._upload_object("put", key, key, data)

    def _check_key(self, key: str, op: str) -> None:
        try:
            size = len(key.encode("utf-8"))
        except UnicodeEncodeError:
            raise InvalidPathError("object names must be valid UTF-8 (lone surrogate in the key)",
                                   op=op, uri=self.uri(key.encode("utf-8", "replace").decode()),
                                   backend="gcs") from None
        if size > MAX_KEY_BYTES:
            raise InvalidPathError(f"key is {size} bytes; GCS allows at most {MAX_KEY_BYTES}",
                                   op=op, uri=self.uri(key[:64]) + "…", backend="gcs")
        if "\r" in key or "\n" in key:
            raise InvalidPathError("GCS object names must not contain carriage returns or line feeds",
                                   op=op, uri=self.uri(key.replace("\r", "\\r").replace("\n", "\\n")),
                                   backend="gcs")
        if key in (".", "..") or key.startswith(".well-known/acme-challenge/"):
            raise InvalidPathError(f"GCS does not allow the object name {key!r}", op=op,
                                   uri=self.uri(key), backend="gcs")

    def _api_base(self) -> str:
        """The JSON API's base URL as the SDK resolved it: ``[gcs] endpoint_url`` (which
        ``GCS_ENDPOINT_URL`` / ``STORAGE_EMULATOR_HOST`` set, ``host:port`` normalised to
        ``http://host:port``) when given, else ``https://storage.googleapis.com`` (or the
        SDK's ``API_ENDPOINT_OVERRIDE``)."""
        return self._conn.gc.api_base

    def _media_url(self, key: str) -> str:
        return (f"{self._api_base()}/download/storage/v1/b/{quote(self.bucket, safe='')}"
                f"/o/{quote(key, safe='')}")

    def _http_error(self, resp: Any, what: str, key: str, op: str) -> StoreError:
        """The typed error of a non-2xx JSON-API answer (the response is consumed and closed)."""
        try:
            text = resp.text
        finally:
            resp.close()
        message = text
        reasons: list[str] = []
        try:
            body = resp.json() if text else {}
            error = body.get("error", {}) if isinstance(body, dict) else {}
            if isinstance(error, dict):
                message = str(error.get("message") or text)
                reasons = [str(e.get("reason")) for e in error.get("errors", ())
                           if isinstance(e, dict) and e.get("reason")]
        except ValueError:
            pass
        message = " ".join(message.split())[:600] or f"HTTP {resp.status_code}"
        return from_status(resp.status_code, f"{what}: {message}", reasons=reasons, op=op,
                           uri=self.uri(key), endpoint=self.endpoint,
                           request_id=resp.headers.get("x-guploader-uploadid"),
                           headers=resp.headers)

    # ------------------------------------------------------------------ reads
    def _open(self, key: str, *, start: int | None = None, end: int | None = None,
              generation: str | None = None, op: str = "get") -> Any:
        """A streaming media GET (a :class:`LeanResponse`, or the session's ``requests.Response``);
        non-2xx answers raise typed errors."""
        params: dict[str, str] = {"alt": "media"}
        if generation:
            params["ifGenerationMatch"] = generation
        # Stored bytes exactly as written: no decompressive transcoding of gzip objects.
        headers = {"Accept-Encoding": "gzip"}
        if start is not None:
            headers["Range"] = f"bytes={start}-{'' if end is None else end}"
        gc = self._conn.gc
        resp: Any
        if gc.lean is not None:
            resp = gc.lean.request("GET", self._media_url(key), params, headers)
        else:
            resp = gc.session.get(self._media_url(key), params=params, headers=headers,
                                  stream=True, timeout=self._timeout)
        if resp.status_code in (200, 206):
            return resp
        raise self._http_error(resp, f"GET {key!r}", key, op)

    def _checksum_of(self, data: memoryview) -> str | None:
        return _b64_crc(_crc32c(data)) if self._gcs.verify_crc32c else None

    def _open_get(self, key: str) -> OpenGet:
        resp = self._open(key)
        length = _content_length(resp)
        crc = _header_crc32c(resp.headers)
        if length is None:
            # No Content-Length (chunked): one copy of the body, never split.
            data = resp.content
            return OpenGet(len(data), io.BytesIO(data).readinto, head=len(data), checksum=crc)
        readinto, release, close = _body_reader(resp)
        return OpenGet(length, readinto, release, close, pin=resp.headers.get("x-goog-generation"),
                       checksum=crc)

    def _range_into(self, key: str, offset: int, buf: memoryview, *, pin: str | None = None) -> int:
        length = len(buf)
        if length == 0:
            return 0

        def attempt() -> int:
            try:
                resp = self._open(key, start=offset, end=offset + length - 1, generation=pin,
                                  op="get_range")
            except StoreError as exc:
                if exc.status == 416:
                    return 0  # offset at or past the end: nothing to read
                raise
            got = _content_length(resp)
            if resp.status_code == 200 and offset:
                resp.close()
                raise IntegrityError("the server ignored the Range header", op="get_range",
                                     uri=self.uri(key), backend="gcs", endpoint=self.endpoint)
            if got is None:
                data = resp.content[:length]
                buf[: len(data)] = data
                return len(data)
            readinto, release, close = _body_reader(resp)
            return self._read_response(readinto, buf[:min(got, length)], key, release=release,
                                       close=close, partial=resp.status_code == 200, op="get_range")

        return self._call("get_range", key, attempt, nbytes=length)

    def head(self, key: str) -> ObjectMeta:
        self._need_key(key, "stat")
        bucket, timeout = self._conn.bucket, self._timeout

        def attempt() -> Any:
            blob = bucket.blob(key)
            blob.reload(retry=None, timeout=timeout)
            return blob

        blob = self._call("stat", key, attempt)
        meta = _meta_from_blob(key, blob)
        self._sizes.put(self.uri(key), meta.size)
        return meta

    # ----------------------------------------------------------------- writes
    def _checksum(self) -> str | None:
        mode = self._upload.checksum
        return mode if mode in ("crc32c", "md5") else None

    def _upload_url(self) -> str:
        """The JSON API's upload endpoint of the bucket (GCS or the emulator's base URL)."""
        return f"{self._api_base()}/upload/storage/v1/b/{quote(self.bucket, safe='')}/o"

    def _upload_object(self, op: str, key: str, name: str, data: memoryview, *,
                       create_only: bool = False,
                       content_type: str | None = None) -> dict[str, Any]:
        """One multipart upload of ``data`` as ``name``; returns the object resource (JSON).

        ``POST /upload/storage/v1/b/<bucket>/o?uploadType=multipart`` through the client's
        authorised session, bypassing the SDK (whose ``construct_multipart_request``
        concatenates metadata and data into a fresh buffer: one full copy per upload).
        The body is ``[preamble, data, epilogue]`` (:class:`_MultipartBody`): the caller's
        memory goes to ``socket.sendall`` as it is, framed by ``Content-Length``. The
        metadata part carries the CRC-32C (or MD5) of ``data``, which the server checks.

        A create-only upload (``ifGenerationMatch=0``) answered 412 after a retried
        attempt is reconciled by a HEAD (docs/backends/gcs.md, "How it works"): same size and CRC-32C ⇒ our
        own earlier attempt won.
        """
        if content_type and ("\r" in content_type or "\n" in content_type):
            raise InvalidPathError(f"content type must not contain CR or LF: {content_type!r}",
                                   op=op, uri=self.uri(key), backend="gcs")
        checksum = self._checksum()
        n = data.nbytes
        metadata: dict[str, str] = {"name": name,
                                    "contentType": content_type or "application/octet-stream"}
        crc: str | None = None
        if checksum == "crc32c":
            crc = metadata["crc32c"] = _b64_crc(_crc32c(data))
        elif checksum == "md5":
            digest = hashlib.md5(data, usedforsecurity=False).digest()
            metadata["md5Hash"] = base64.b64encode(digest).decode("ascii")
        params = {"uploadType": "multipart"}
        if create_only:
            params["ifGenerationMatch"] = "0"
        url, timeout = self._upload_url(), self._timeout
        attempts = [0]

        def attempt() -> dict[str, Any]:
            attempts[0] += 1
            gc = self._conn.gc
            body = _MultipartBody(metadata, data)  # a fresh one per attempt (re-sendable)
            headers = {"Content-Type": body.content_type}
            resp: Any
            if gc.lean is not None:
                resp = gc.lean.request("POST", url, params, headers, body, len(body))
            else:
                resp = gc.session.post(url, params=params, data=body, timeout=timeout, headers=headers)
            if not 200 <= resp.status_code < 300:
                raise self._http_error(resp, f"upload {name!r}", key, op)
            try:
                resource = resp.json()
            except ValueError:
                resource = None
            return resource if isinstance(resource, dict) else {"name": name, "size": str(n)}

        try:
            return self._call(op, key, attempt, nbytes=n)
        except PreconditionError as exc:
            if not create_only:
                raise
            if attempts[0] > 1:
                meta = self._same_object(name, n, crc if crc is not None else
                                         _b64_crc(_crc32c(data)))
                if meta is not None:
                    return {"name": name, "size": str(meta.size),
                            "generation": meta.version_id, "crc32c": meta.extra.get("crc32c")}
            raise AlreadyExistsError(f"{self.uri(key)} exists and the write is create-only",
                                     op=op, uri=self.uri(key), backend="gcs",
                                     endpoint=self.endpoint, status=412) from exc

    def _same_object(self, name: str, size: int, crc: str | None) -> ObjectMeta | None:
        """The object ``name`` if it has ``size`` bytes and CRC-32C ``crc``, else ``None``."""
        try:
            meta = self.head(name)
        except StoreError:
            return None
        if meta.size == size and (crc is None or meta.extra.get("crc32c") in (None, crc)):
            return meta
        return None

    def put(self, key: str, data: memoryview, *, create_only: bool = False) -> None:
        """Store ``data``; ``create_only=True`` refuses to replace an existing object
        (``AlreadyExistsError``), atomically (``ifGenerationMatch=0``)."""
        self._need_key(key, "put")
        n = len(data)
        upload = self._upload
        if n >= upload.multipart_threshold_mb * MiB:
            from s3dlio.store.multipart import upload_buffer

            if create_only and self.exists(key):
                raise AlreadyExistsError(f"{self.uri(key)} exists and the write is create-only",
                                         op="put", uri=self.uri(key), backend="gcs")
            token = _create_only.set(create_only)
            try:
                upload_buffer(self, key, data,
                              part_size=max(upload.part_size_mb * MiB, self.min_part_size),
                              max_in_flight=upload.max_in_flight or 8)
            finally:
                _create_only.reset(token)
        else:
            self._upload_object("put", key, key, data, create_only=create_only)
            if upload.put_verify:
                self._verify_put(key, data)
        self._sizes.put(self.uri(key), n)

    def put_if_absent(self, key: str, data: memoryview) -> bool:
        """Create-only write: ``True`` if written, ``False`` if ``key`` already existed."""
        try:
            self.put(key, data, create_only=True)
        except AlreadyExistsError:
            return False
        return True

    # ------------------------------------------------- parallel composite uploads
    @staticmethod
    def _parts_prefix(key: str, upload_id: str) -> str:
        return f"{key}{PARTS_MARK}{upload_id}/"

    def create_upload(self, key: str, *, content_type: str | None = None) -> str:
        """Start a composite upload: nothing is sent; the id names the temporaries.

        The id starts with ``c`` for a create-only upload (the final compose then uses
        ``ifGenerationMatch=0``), else ``o``.
        """
        self._need_key(key, "put")
        upload_id = ("c" if _create_only.get() else "o") + uuid.uuid4().hex
        self._need_key(self._parts_prefix(key, upload_id) + "c9-00000", "put")
        if content_type:
            with _uploads_lock:
                _upload_content_types[upload_id] = content_type
        return upload_id

    def upload_part(self, key: str, upload_id: str, part_number: int, data: memoryview) -> UploadPart:
        name = f"{self._parts_prefix(key, upload_id)}{part_number:05d}"
        resource = self._upload_object("upload_part", key, name, data)
        generation = resource.get("generation")
        return UploadPart(part_number=part_number, size=len(data),
                          etag=str(generation) if generation else None,
                          checksum=resource.get("crc32c"))

    def _compose(self, key: str, dest: str, sources: builtins.list[str], *,
                 create_only: bool = False, content_type: str | None = None) -> Any:
        bucket, timeout = self._conn.bucket, self._timeout
        attempts = [0]

        def attempt() -> Any:
            attempts[0] += 1
            blob = bucket.blob(dest)
            blob.content_type = content_type or "application/octet-stream"
            blob.compose([bucket.blob(s) for s in sources], retry=None, timeout=timeout,
                         if_generation_match=0 if create_only else None)
            return blob

        try:
            return self._call("complete_upload", key, attempt)
        except PreconditionError as exc:
            if not create_only:
                raise
            if attempts[0] > 1:
                # Our own retried compose may have won: reconciled by the caller's size check.
                with contextlib.suppress(StoreError):
                    blob = bucket.blob(dest)
                    blob.reload(retry=None, timeout=timeout)
                    return blob
            raise AlreadyExistsError(f"{self.uri(key)} exists and the write is create-only",
                                     op="complete_upload", uri=self.uri(key), backend="gcs",
                                     endpoint=self.endpoint, status=412) from exc

    def complete_upload(self, key: str, upload_id: str, parts: Sequence[UploadPart]) -> str | None:
        prefix = self._parts_prefix(key, upload_id)
        sources = [f"{prefix}{p.part_number:05d}" for p in parts]
        expected = sum(p.size for p in parts)
        with _uploads_lock:
            content_type = _upload_content_types.pop(upload_id, None)
        level = 0
        # Compose is limited to 32 sources: build a tree of intermediate composites.
        while len(sources) > COMPOSE_MAX:
            groups = [sources[i : i + COMPOSE_MAX] for i in range(0, len(sources), COMPOSE_MAX)]
            names = [f"{prefix}c{level}-{i:05d}" for i in range(len(groups))]
            with ThreadPoolExecutor(max_workers=min(8, len(groups))) as pool:
                futures = [pool.submit(self._compose, key, name, group)
                           for name, group in zip(names, groups, strict=True)]
                for fut in futures:
                    fut.result()
            sources = names
            level += 1
        blob = self._compose(key, key, sources, create_only=upload_id.startswith("c"),
                             content_type=content_type)
        size = int(blob.size) if blob.size is not None else None
        if size is not None and size != expected:
            raise IntegrityError(f"composed object is {size} bytes, the parts hold {expected}",
                                 op="complete_upload", uri=self.uri(key), backend="gcs")
        failures = self._delete_raw_prefix(prefix)
        if failures:
            warnings.warn(f"{self.uri(key)} is complete but {len(failures)} temporary part objects "
                          f"under {self.uri(prefix)} could not be deleted (first: {failures[0][1]}); "
                          "abort_incomplete_uploads removes them", stacklevel=2)
        self._sizes.put(self.uri(key), expected)
        return str(blob.etag) if blob.etag else None

    def abort_upload(self, key: str, upload_id: str) -> None:
        with _uploads_lock:
            _upload_content_types.pop(upload_id, None)
        failures = self._delete_raw_prefix(self._parts_prefix(key, upload_id))
        if failures:
            key0, exc = failures[0]
            raise StoreError(f"aborting the upload left {len(failures)} temporary objects "
                             f"(first {key0!r}: {exc})", op="abort_upload", uri=self.uri(key),
                             backend="gcs", endpoint=self.endpoint) from exc

    def _delete_raw_prefix(self, prefix: str) -> builtins.list[tuple[str, BaseException]]:
        names: list[str] = []
        for blobs, _ in self._list_raw(prefix, recursive=True):
            names.extend(b.name for b in blobs)
        return self._delete_keys(names)

    def abort_incomplete(self, prefix: str, older_than_s: float) -> int:
        """Delete the temporaries of composite uploads older than ``older_than_s``."""
        self._need_container("abort_incomplete_uploads")
        cutoff = time.time() - older_than_s
        groups: dict[tuple[str, str], list[str]] = {}
        stale: set[tuple[str, str]] = set()
        for blobs, _ in self._list_raw(prefix, recursive=True):
            for blob in blobs:
                match = _PART_RE.match(blob.name)
                if match is None:
                    continue
                group = (match["key"], match["id"])
                groups.setdefault(group, []).append(blob.name)
                created = epoch_seconds(blob.time_created) or epoch_seconds(blob.updated)
                if created is None or created <= cutoff:
                    stale.add(group)
        names = [n for g in stale for n in groups[g]]
        failures = self._delete_keys(names)
        if failures:
            key0, exc = failures[0]
            raise StoreError(f"{len(failures)} temporary part objects could not be deleted "
                             f"(first {key0!r}: {exc})", op="abort_upload", uri=self.uri(prefix),
                             backend="gcs", endpoint=self.endpoint) from exc
        return len(stale)

    # ---------------------------------------------------------------- listing
    def _list_raw(self, prefix: str, *, recursive: bool) -> Iterator[tuple[builtins.list[Any],
                                                                         builtins.list[str]]]:
        """``(blobs, prefixes)`` per page, temporaries included; each page retried alone."""
        self._need_container("list")
        client, bucket, timeout = self._conn.gc.client, self._conn.bucket, self._timeout
        page_size = self._gcs.list_page_size
        delimiter = None if recursive else "/"
        token: str | None = None
        while True:
            def fetch(token: str | None = token) -> tuple[builtins.list[Any], builtins.list[str],
                                                           str | None]:
                it = client.list_blobs(bucket, prefix=prefix or None, delimiter=delimiter,
                                       page_size=page_size, page_token=token, retry=None,
                                       timeout=timeout)
                page = next(iter(it.pages), None)
                if page is None:
                    return [], [], None
                blobs = list(page)
                return blobs, sorted(page.prefixes), it.next_page_token

            blobs, prefixes, token = self._call("list", prefix, fetch)
            yield blobs, prefixes
            if not token:
                return

    def list(self, prefix: str = "", *, recursive: bool = True) -> Iterator[ListPage]:
        sizes = self._sizes
        root = self.root
        seen: set[str] = set()  # a prefix may come back on several pages: report it once
        for blobs, prefixes in self._list_raw(prefix, recursive=recursive):
            metas = [_meta_from_blob(b.name, b, listing=True) for b in blobs
                     if PARTS_MARK not in b.name]
            keys = [m.key for m in metas]
            prefixes = [p for p in prefixes if PARTS_MARK not in p and p not in seen]
            seen.update(prefixes)
            sizes.put_many([(root + m.key, m.size) for m in metas])
            if keys or prefixes:
                yield ListPage(keys=keys, prefixes=prefixes, metas=metas)

    # ---------------------------------------------------------------- deletes
    def _delete_one(self, key: str) -> None:
        bucket, timeout = self._conn.bucket, self._timeout
        try:
            self._call("delete", key, lambda: bucket.delete_blob(key, retry=None, timeout=timeout))
        except NotFoundError:
            pass  # idempotent (a retried DELETE may see its own success as 404)
        self._sizes.forget(self.uri(key))

    def delete(self, key: str) -> None:
        self._need_key(key, "delete")
        self._delete_one(key)

    def _delete_keys(self, keys: builtins.list[str]) -> builtins.list[tuple[str, BaseException]]:
        if not keys:
            return []
        results: list[BaseException | None] = [None] * len(keys)

        def one(index: int) -> None:
            try:
                self._need_key(keys[index], "delete")
                self._delete_one(keys[index])
            except Exception as exc:  # every per-key failure is reported
                results[index] = exc

        workers = min(self._gcs.delete_concurrency, len(keys))
        if workers <= 1:
            for i in range(len(keys)):
                one(i)
        else:
            with ThreadPoolExecutor(max_workers=workers) as pool:
                list(pool.map(one, range(len(keys))))
        return [(k, e) for k, e in zip(keys, results, strict=True) if e is not None]

    def delete_many(self, keys: Iterable[str]) -> builtins.list[tuple[str, BaseException]]:
        """Per-key deletes, ``delete_concurrency`` in flight; every per-key error is returned.

        (The JSON batch endpoint is not used: fake-gcs-server does not implement it, and
        per-key requests give exact per-key errors and retries.)
        """
        failures: list[tuple[str, BaseException]] = []
        batch: list[str] = []
        for key in keys:
            batch.append(key)
            if len(batch) == 1000:
                failures.extend(self._delete_keys(batch))
                batch = []
        failures.extend(self._delete_keys(batch))
        return failures

    # ------------------------------------------------------------------ copy
    @server_side  # objects.rewrite: no data through this process
    def copy(self, src_key: str, dst_key: str) -> None:
        """Server-side copy (``rewrite``, repeated until done for large objects)."""
        self._need_key(src_key, "copy")
        self._need_key(dst_key, "copy")
        bucket, timeout = self._conn.bucket, self._timeout
        token: str | None = None
        total = 0
        while True:
            def step(token: str | None = token) -> tuple[str | None, int]:
                dst = bucket.blob(dst_key)
                new_token, _done, size = dst.rewrite(bucket.blob(src_key), token=token, retry=None,
                                                     timeout=timeout)
                return new_token, int(size or 0)

            token, total = self._call("copy", dst_key, step)
            if not token:
                break
        self._sizes.put(self.uri(dst_key), total)

    # ------------------------------------------------------------- containers
    def _project(self, op: str) -> str:
        project = self._conn.gc.project
        if not project:
            raise StoreError("no Google Cloud project: set GOOGLE_CLOUD_PROJECT or [gcs] project",
                             op=op, uri=self.root, backend="gcs", endpoint=self.endpoint)
        return project

    def create_container(self, key: str = "") -> None:
        self._need_container("create_bucket")
        client, timeout = self._conn.gc.client, self._timeout
        project = self._project("create_bucket")
        try:
            self._call("create_bucket", "", lambda: client.create_bucket(
                self.bucket, project=project, retry=None, timeout=timeout))
        except AlreadyExistsError:
            # 409: fine when it is ours (reachable with these credentials).
            self._call("create_bucket", "", lambda: client.get_bucket(
                self.bucket, retry=None, timeout=timeout))
        if key:
            self.mkdir(key)

    def delete_container(self, key: str = "") -> None:
        self._need_container("delete_bucket")
        bucket, timeout = self._conn.bucket, self._timeout
        self._call("delete_bucket", "", lambda: bucket.delete(retry=None, timeout=timeout))

    def list_containers(self, key: str = "") -> builtins.list[dict[str, Any]]:
        client, timeout = self._conn.gc.client, self._timeout
        project = self._project("list_buckets")
        scheme = self.root.split("://", 1)[0]

        def fetch() -> builtins.list[Any]:
            return list(client.list_buckets(project=project, retry=None, timeout=timeout))

        out = []
        for b in self._call("list_buckets", "", fetch):
            out.append({"name": b.name, "uri": f"{scheme}://{b.name}/",
                        "creation_date": format_rfc3339(epoch_seconds(b.time_created))})
        return out


def _body_reader(resp: Any) -> tuple[Callable[[memoryview], int | None], Callable[[], object],
                                      Callable[[], object]]:
    """``(readinto, release, close)`` of a streaming response. A body read to its end hands
    its connection back to the pool: the lean path's ``release``; on the session path,
    urllib3's ``release_conn`` when reading goes past urllib3 straight to http.client."""
    if isinstance(resp, LeanResponse):
        return resp.readinto, resp.release, resp.close
    raw = resp.raw
    fp = getattr(raw, "_fp", None)
    if fp is not None and hasattr(fp, "readinto"):
        return fp.readinto, raw.release_conn, resp.close
    return raw.readinto, resp.close, resp.close


def _content_length(resp: Any) -> int | None:
    value = resp.headers.get("Content-Length")
    return None if value is None else int(value)


def _meta_from_blob(key: str, blob: Any, *, listing: bool = False) -> ObjectMeta:
    extra: dict[str, Any] = {}
    for attr, name in (("content_language", "content_language"),
                       ("content_encoding", "content_encoding"),
                       ("cache_control", "cache_control"),
                       ("content_disposition", "content_disposition"),
                       ("crc32c", "crc32c"), ("md5_hash", "md5_hash"),
                       ("metageneration", "metageneration"), ("component_count", "component_count"),
                       ("kms_key_name", "ssekms_key_id")):
        value = getattr(blob, attr, None)
        if value is not None:
            extra[name] = value
    if blob.generation is not None:
        extra["generation"] = int(blob.generation)
    created = epoch_seconds(blob.time_created)
    if created is not None:
        extra["time_created"] = format_rfc3339(created)
    return ObjectMeta(
        key=key,
        size=int(blob.size or 0),
        last_modified=epoch_seconds(blob.updated),
        etag=blob.etag,
        content_type=None if listing else blob.content_type,
        storage_class=blob.storage_class or "STANDARD",
        version_id=str(blob.generation) if blob.generation is not None else None,
        metadata=dict(blob.metadata or {}),
        extra=extra,
    )
