"""``AzureStore``: the ``az://`` / ``azure://`` backend on azure-storage-blob.

URIs are ``az://account/container/key``; the store root is ``az://account/container/``
(``az://account/`` serves ``list_containers`` only).

* Every request runs under core's :class:`~s3dlio.store.retry.RetryPolicy` (SDK retries off).
* The requests that move data — Put Blob, Put Block, Get Blob — go through the lean
  REST client of :mod:`s3dlio_azure.rest` (≈ 0.2 ms of client CPU each instead of the
  SDK pipeline's ≈ 1.5–2 ms) whenever the credentials are a key or a SAS and no proxy
  applies; everything else, and Entra ID credentials, use azure-storage-blob.
* Small writes are one Put Blob; large ones go through core's
  :class:`~s3dlio.store.multipart.MultipartUploadWriter`: each part is a Put Block with a
  block id derived from the upload id and part number, and Put Block List publishes
  them in part order. An aborted upload commits nothing; its uncommitted blocks are
  garbage-collected by the service (after 7 days) and are never visible. A
  transactional Content-MD5 is sent only with ``[upload] checksum = "md5"``.
* Whole objects carry their CRC-32C in blob metadata ``s3dlio_crc32c`` (multipart: the
  part CRCs combined), checked on whole-object reads. With ``checksum = "md5"``,
  ranged reads up to 4 MiB ask for the range's MD5 (``x-ms-range-get-content-md5``).
* Large reads use core's range engine: the first GET (8 MiB) tells the size and is kept
  as the first part; the rest is fetched as concurrent ranged GETs (``If-Match`` the
  first ETag) into one preallocated buffer. On the REST path every body is read with
  ``readinto`` straight into that buffer; the SDK path copies each body once (the SDK
  has no ``readinto(memoryview)``).
"""

from __future__ import annotations

import base64
import builtins
import hashlib
import io
import re
import time
import uuid
import warnings
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, NamedTuple, TypeVar

from s3dlio.engines.crc32c_math import crc32c_combine
from s3dlio.errors import (
    AlreadyExistsError,
    IntegrityError,
    InvalidPathError,
    NotFoundError,
    PermissionDeniedError,
    PreconditionError,
    StoreError,
    StoreTimeoutError,
    TransientError,
)
from s3dlio.store import (
    ListPage,
    ObjectMeta,
    UploadPart,
    epoch_seconds,
    format_rfc3339,
    server_side,
)
from s3dlio.store.capabilities import create_only, put_if_absent_by_put
from s3dlio.store.clients import per_process
from s3dlio.store.network import NetworkStore, OpenGet
from s3dlio_azure.client import (
    GET_CHUNK,
    Credentials,
    account_endpoint,
    make_rest_client,
    make_service_client,
    resolve_credentials,
)
from s3dlio_azure.errors import translate

if TYPE_CHECKING:

    from s3dlio.config import Settings
    from s3dlio_azure.rest import BlobRest, RestResponse

__all__ = ["CRC_METADATA", "AzureStore", "crc32c_combine", "validate_account_name",
           "validate_container_name"]

T = TypeVar("T")
MiB = 1 << 20
MAX_KEY_CHARS = 1024
MAX_BLOCK_SIZE = 4000 * MiB
MD5_RANGE_LIMIT = 4 * MiB
"""The service returns a range's MD5 only for ranges up to 4 MiB."""
BATCH_DELETE_SIZE = 256
CRC_METADATA = "s3dlio_crc32c"

_ACCOUNT_RE = re.compile(r"^[a-z0-9]{3,24}$")
_CONTAINER_RE = re.compile(r"^[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9])){2,62}$")
_SPECIAL_CONTAINERS = ("$root", "$logs", "$web")
_URI_FORM = "az://account/container/key"

_no_batch_endpoints: set[str] = set()
"""Endpoints whose Blob Batch request failed (Azurite, proxies): per-key deletes there."""


def validate_account_name(account: str, uri: str) -> None:
    if not _ACCOUNT_RE.match(account):
        hint = ""
        if _CONTAINER_RE.match(account):
            hint = f" (URIs are {_URI_FORM}: is {account!r} a container? put the account first)"
        raise InvalidPathError(
            f"invalid storage account name {account!r}: 3 to 24 lowercase letters and digits{hint}",
            op="parse", uri=uri, backend="azure")


def validate_container_name(container: str, uri: str) -> None:
    """Raise ``InvalidPathError`` for a container name Azure would refuse.

    Rules: 3–63 characters of lowercase letters, digits and ``-``; starts and ends with a
    letter or digit; no ``--``. ``$root``, ``$logs`` and ``$web`` are allowed.
    """
    if container in _SPECIAL_CONTAINERS or _CONTAINER_RE.match(container):
        return
    if len(container) < 3 or len(container) > 63:
        problem = "must be 3 to 63 characters long"
    elif container != container.lower():
        problem = "must be lower case"
    elif "--" in container:
        problem = "must not contain consecutive hyphens"
    else:
        problem = "may hold only a-z, 0-9 and '-', and must start and end with a letter or digit"
    raise InvalidPathError(f"invalid container name {container!r}: {problem}", op="parse", uri=uri,
                           backend="azure")




# ------------------------------------------------------------------ CRC-32C helpers
def _crc32c(data: memoryview | bytes, value: int = 0) -> int:
    import crc32c

    return int(crc32c.crc32c(data, value))


def _crc_text(value: int) -> str:
    return base64.b64encode(value.to_bytes(4, "big")).decode("ascii")


class _Sink:
    """A write-only stream over a memoryview (what the SDK's ``readinto`` writes to)."""

    __slots__ = ("mv", "pos")

    def __init__(self, mv: memoryview) -> None:
        self.mv = mv
        self.pos = 0

    def write(self, data: Any) -> int:
        n = len(data)
        end = self.pos + n
        if end > len(self.mv):
            raise IntegrityError(f"the service sent more than the {len(self.mv)} bytes announced")
        self.mv[self.pos:end] = data
        self.pos = end
        return n

    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False


_CREDENTIAL_SOURCES = {
    "connection_string": "connection string (AZURE_STORAGE_CONNECTION_STRING)",
    "key": "shared key (AZURE_STORAGE_KEY / [azure] account_key)",
    "sas": "SAS token (AZURE_STORAGE_SAS_TOKEN)",
    "identity": "Entra ID (azure-identity DefaultAzureCredential)",
    "anonymous": "none: anonymous (public containers)",
}


class _Clients(NamedTuple):
    service: Any
    """The ``BlobServiceClient`` (every request but the data path's)."""
    container: Any
    """Its ``ContainerClient`` (``None`` at the account root)."""
    creds: Credentials
    rest: BlobRest | None
    """The lean REST client for Put Blob / Put Block / Get Blob, if usable here."""


class AzureStore(NetworkStore):
    """Blobs of one container (``az://account/container/``) or one account (``az://account/``)."""

    backend: ClassVar[str] = "azure"
    schemes: ClassVar[tuple[str, ...]] = ("az", "azure")
    _container_attr: ClassVar[str] = "container"
    _uri_form: ClassVar[str] = _URI_FORM
    _needs: ClassVar[tuple[str, str]] = ("a container", "a blob name")
    min_part_size: ClassVar[int] = 1
    """Blocks have no minimum size; the writer's default part size ([upload]) applies."""
    max_parts: ClassVar[int] = 50_000

    def __init__(self, root: str, settings: Settings) -> None:
        super().__init__(root, settings)
        self._az = settings.section("azure")
        self.scheme, rest = root.split("://", 1)
        account, _, container = rest.rstrip("/").partition("/")
        self.account = account
        self.container = container
        self._uploads: dict[str, str | None] = {}
        self.last_delete_path: str | None = None
        """``"batch"`` or ``"per-key"``: how the last ``delete_many`` batch was deleted."""

    # ----------------------------------------------------------------- naming
    @classmethod
    def split_uri(cls, uri: str) -> tuple[str, str]:
        scheme, sep, rest = uri.partition("://")
        if not sep or scheme not in cls.schemes:
            raise InvalidPathError(f"not an az:// URI ({_URI_FORM})", op="parse", uri=uri,
                                   backend="azure")
        account, _, remainder = rest.partition("/")
        if not account:
            raise InvalidPathError(f"an {scheme}:// URI needs a storage account: {_URI_FORM}",
                                   op="parse", uri=uri, backend="azure")
        validate_account_name(account, uri)
        container, _, key = remainder.partition("/")
        if not container:
            if key:
                raise InvalidPathError(f"an {scheme}:// URI needs a container: {_URI_FORM}",
                                       op="parse", uri=uri, backend="azure")
            return f"{scheme}://{account}/", ""
        validate_container_name(container, uri)
        return f"{scheme}://{account}/{container}/", key

    @property
    def endpoint(self) -> str:
        cached = AzureStore._conn.cached(self)
        if cached is not None:
            return str(cached.creds.endpoint)
        try:  # no network: the same choice the client will make
            return resolve_credentials(self._az, self.account).endpoint
        except Exception:
            pass
        try:
            return account_endpoint(self._az.endpoint_url, self.account, self._az.endpoint_suffix)
        except Exception:
            return f"https://{self.account}.blob.{self._az.endpoint_suffix}"

    def describe(self, *, probe: bool = False) -> dict[str, Any]:
        """The account, the data path and where the credentials come from (never their value)."""
        info = super().describe(probe=probe)
        info.update(account=self.account, rest_data_path=self._az.rest_data_path)
        try:
            kind = resolve_credentials(self._az, self.account).kind
        except StoreError as exc:
            info["credentials"] = "none found"
            info["problems"] = [exc.message]
        else:
            info["credentials"] = _CREDENTIAL_SOURCES.get(kind, kind)
        return info

    # --------------------------------------------------------------- plumbing
    @per_process
    def _conn(self) -> _Clients:
        """This process's clients of the store."""
        creds = resolve_credentials(self._az, self.account)
        try:
            service = make_service_client(creds, self.account, self._az, self._retry)
        except StoreError:
            raise
        except Exception as exc:  # the SDK refusing the credentials (token over http)
            raise self._translate(exc, "connect", "") from exc
        container = service.get_container_client(self.container) if self.container else None
        return _Clients(service, container, creds, make_rest_client(creds, self.account, self._az,
                                                                    self._retry))

    def _blob(self, key: str) -> Any:
        return self._conn.container.get_blob_client(key)

    def _uses_sas(self) -> bool:
        cached = AzureStore._conn.cached(self)
        return cached is not None and cached.creds.sas is not None

    def _translate(self, exc: BaseException, op: str, key: str) -> StoreError:
        return translate(exc, op=op, uri=self.uri(key), endpoint=self.endpoint, sas=self._uses_sas())

    def _check_key(self, key: str, op: str) -> None:
        if len(key) > MAX_KEY_CHARS:
            raise InvalidPathError(f"blob name is {len(key)} characters; Azure allows at most "
                                   f"{MAX_KEY_CHARS}", op=op, uri=self.uri(key[:64]) + "…",
                                   backend="azure")
        if "\x00" in key or key.encode("utf-8", "surrogatepass") != key.encode("utf-8", "replace"):
            raise InvalidPathError("blob names must be valid Unicode without NUL characters", op=op,
                                   uri=self.uri(repr(key)[1:-1]), backend="azure")

    def _md5_on(self) -> bool:
        # Transactional MD5 only when asked for (S3DLIO_CHECKSUM=md5): MD5 costs about
        # 1.3 s of CPU per GB, four times the whole upload, while HTTPS already protects
        # the transfer (TLS records carry a MAC) and the stored CRC-32C, computed in
        # hardware, is checked on every whole-object read (docs/performance.md).
        return bool(self._upload.checksum == "md5")

    def _crc_on(self) -> bool:
        return bool(self._upload.checksum == "crc32c")

    def _checksum_of(self, data: memoryview) -> str | None:
        return _crc_text(_crc32c(data)) if self._crc_on() else None

    # ------------------------------------------------------------------ reads
    def _open_get(self, key: str) -> OpenGet:
        """The first GET asks for ``GET_CHUNK`` bytes, which is the whole blob up to that
        size; the total size comes from ``Content-Range``, the rest from ranged GETs."""
        rest = self._conn.rest
        if rest is None:
            return self._open_sdk_get(key)
        from s3dlio_azure.rest import BlobRestError

        try:
            resp = rest.open_get(self.container, key, start=0, end=GET_CHUNK - 1)
        except BlobRestError as exc:
            if exc.status_code != 416:
                raise
            resp = rest.open_get(self.container, key)  # an empty blob refuses every range
        try:
            size = _total_size(resp)
            got = resp.length if resp.length is not None else size
            if got > size:
                raise IntegrityError(f"the service announced {got} bytes of a {size}-byte blob",
                                     op="get", uri=self.uri(key), backend="azure",
                                     endpoint=self.endpoint)
        except BaseException:
            resp.close()
            raise
        return OpenGet(size, resp.readinto, resp.release, resp.close, head=got,
                       pin=resp.headers.get("ETag"),
                       checksum=resp.headers.get(f"x-ms-meta-{CRC_METADATA}"))

    def _open_sdk_get(self, key: str) -> OpenGet:
        dl = self._blob(key).download_blob(max_concurrency=1)
        size = int(dl.size)
        # The first GET's body, already received: with max_chunk_get_size equal to
        # max_single_get_size the SDK's first chunk is exactly that body (no request).
        head = next(dl.chunks(), b"")
        return OpenGet(size, io.BytesIO(head).readinto, head=min(len(head), size),
                       pin=dl.properties.etag,
                       checksum=(dl.properties.metadata or {}).get(CRC_METADATA))

    def _range_into(self, key: str, offset: int, buf: memoryview, *, pin: str | None = None) -> int:
        length = len(buf)
        if length == 0:
            return 0
        kwargs: dict[str, Any] = {"max_concurrency": 1}
        if self._md5_on() and length <= MD5_RANGE_LIMIT:
            kwargs["validate_content"] = True
        if pin:
            from azure.core import MatchConditions

            kwargs["etag"] = pin
            kwargs["match_condition"] = MatchConditions.IfNotModified

        rest = self._conn.rest
        if rest is not None:
            return self._range_rest(rest, key, offset, buf, pin, bool(kwargs.get("validate_content")))

        def attempt() -> int:
            try:
                dl = self._blob(key).download_blob(offset=offset, length=length, **kwargs)
            except Exception as exc:
                if getattr(exc, "status_code", None) == 416:
                    return 0  # offset at or past the end: nothing to read
                raise
            got = int(dl.size)
            n = int(dl.readinto(_Sink(buf[:got])))
            if n != got:
                raise IntegrityError(f"short body: {n} of {got} bytes", op="get", uri=self.uri(key),
                                     backend="azure", endpoint=self.endpoint)
            return n

        return self._call("get", key, attempt, nbytes=length)

    def _range_rest(self, rest: BlobRest, key: str, offset: int, buf: memoryview,
                    if_match: str | None, md5: bool) -> int:
        from s3dlio_azure.rest import BlobRestError

        length = len(buf)

        def attempt() -> int:
            try:
                resp = rest.open_get(self.container, key, start=offset, end=offset + length - 1,
                                     if_match=if_match, range_md5=md5)
            except BlobRestError as exc:
                if exc.status_code == 416:
                    return 0  # offset at or past the end: nothing to read
                raise
            got = resp.length
            if got is None or got > length:
                resp.close()
                raise IntegrityError(f"the service sent {got} bytes for a {length}-byte range",
                                     op="get", uri=self.uri(key), backend="azure",
                                     endpoint=self.endpoint)
            self._read_response(resp.readinto, buf[:got], key, release=resp.release, close=resp.close)
            if md5:
                self._check_range_md5(key, buf[:got], resp)
            return got

        return self._call("get", key, attempt, nbytes=length)

    def _check_range_md5(self, key: str, data: memoryview, resp: RestResponse) -> None:
        sent = resp.headers.get("Content-MD5")
        got = base64.b64encode(hashlib.md5(data, usedforsecurity=False).digest()).decode("ascii")
        if sent != got:
            raise IntegrityError(f"MD5 mismatch on a ranged read: service {sent}, data {got}",
                                 op="get", uri=self.uri(key), backend="azure", endpoint=self.endpoint)

    def head(self, key: str) -> ObjectMeta:
        self._need_key(key, "stat")
        props = self._call("stat", key, lambda: self._blob(key).get_blob_properties())
        meta = _meta_from_props(key, props)
        self._sizes.put(self.uri(key), meta.size)
        return meta

    # ----------------------------------------------------------------- writes
    def _put_single(self, key: str, data: memoryview, *, content_type: str | None = None) -> None:
        if create_only.get():
            self._put_create_only(key, data, content_type=content_type)
            return
        rest = self._conn.rest
        if rest is not None:  # the caller's memory is the body: no copy
            metadata = {CRC_METADATA: _crc_text(_crc32c(data))} if self._crc_on() else None
            md5 = hashlib.md5(data, usedforsecurity=False).digest() if self._md5_on() else None
            self._call("put", key, lambda: rest.put_blob(self.container, key, data, metadata=metadata,
                                                         content_type=content_type, content_md5=md5),
                       nbytes=len(data))
            return
        # The SDK's Put Blob takes bytes (a memoryview would be iterated as ints): share the
        # caller's bytes object when the view covers all of it, else copy once.
        obj = data.obj
        payload = obj if isinstance(obj, bytes) and len(obj) == len(data) else data.tobytes()
        kwargs: dict[str, Any] = {"overwrite": True, "length": len(payload),
                                  "validate_content": self._md5_on()}
        if self._crc_on():
            kwargs["metadata"] = {CRC_METADATA: _crc_text(_crc32c(data))}
        if content_type:
            from azure.storage.blob import ContentSettings

            kwargs["content_settings"] = ContentSettings(content_type=content_type)
        self._call("put", key, lambda: self._blob(key).upload_blob(payload, **kwargs), nbytes=len(data))

    # -------------------------------------------------------- create-only writes
    def put_if_absent(self, key: str, data: memoryview) -> bool:
        """Create-only write (``If-None-Match: *`` on Put Blob, or on the Put Block List of
        a staged upload): ``True`` if written, ``False`` if ``key`` existed."""
        self._need_key(key, "put")
        return put_if_absent_by_put(self, key, data,
                                    check_first_from=self._upload.multipart_threshold_mb * MiB)

    def _put_create_only(self, key: str, data: memoryview, *, content_type: str | None) -> None:
        """One Put Blob through the SDK with ``overwrite=False`` (``If-None-Match: *``; the
        lean path sends no conditions). A refusal after a retried attempt is reconciled by
        a HEAD: the same size and CRC-32C mean our own earlier attempt won."""
        from azure.storage.blob import ContentSettings

        crc = _crc_text(_crc32c(data))
        kwargs: dict[str, Any] = {"overwrite": False, "length": len(data),
                                  "validate_content": self._md5_on(),
                                  "metadata": {CRC_METADATA: crc}}
        if content_type:
            kwargs["content_settings"] = ContentSettings(content_type=content_type)
        attempts = [0]

        def send() -> Any:
            attempts[0] += 1
            return self._blob(key).upload_blob(data.tobytes(), **kwargs)

        try:
            self._call("put", key, send, nbytes=len(data))
        except (AlreadyExistsError, PreconditionError) as exc:
            if attempts[0] > 1:
                try:
                    meta = self.head(key)
                except StoreError:
                    meta = None
                if meta is not None and meta.size == len(data) and meta.extra.get("crc32c") == crc:
                    return
            raise self._exists(key, "put", exc) from exc

    def _exists(self, key: str, op: str, cause: StoreError) -> AlreadyExistsError:
        return AlreadyExistsError(f"{self.uri(key)} exists and the write is create-only", op=op,
                                  uri=self.uri(key), backend="azure", endpoint=self.endpoint,
                                  status=cause.status)

    # ------------------------------------------------------ staged-block uploads
    @staticmethod
    def block_id(upload_id: str, part_number: int) -> str:
        """The (pre-base64) block id of a part: equal length for every part of an upload."""
        return f"{upload_id}-{part_number:06d}"

    def create_upload(self, key: str, *, content_type: str | None = None) -> str:
        self._need_key(key, "put")
        upload_id = uuid.uuid4().hex[:24]
        self._uploads[upload_id] = content_type
        return upload_id

    def upload_part(self, key: str, upload_id: str, part_number: int, data: memoryview) -> UploadPart:
        if not 1 <= part_number <= self.max_parts:
            raise InvalidPathError(f"part number {part_number} is outside 1..{self.max_parts}",
                                   op="upload_part", uri=self.uri(key), backend="azure")
        if len(data) > MAX_BLOCK_SIZE:
            raise InvalidPathError(f"a block holds at most {MAX_BLOCK_SIZE} bytes, got {len(data)}",
                                   op="upload_part", uri=self.uri(key), backend="azure")
        block_id = self.block_id(upload_id, part_number)
        kwargs: dict[str, Any] = {"length": len(data)}
        if self._md5_on():
            # The SDK's validate_content only hashes bytes; send the MD5 of the caller's
            # memory ourselves (the service checks it: Md5Mismatch otherwise).
            kwargs["transactional_content_md5"] = hashlib.md5(data, usedforsecurity=False).digest()
        crc = f"{_crc32c(data):08x}" if self._crc_on() else None
        rest = self._conn.rest
        if rest is not None:
            encoded = base64.b64encode(block_id.encode("utf-8")).decode("ascii")  # as the SDK does
            md5 = kwargs.get("transactional_content_md5")
            self._call("upload_part", key,
                       lambda: rest.put_block(self.container, key, encoded, data, content_md5=md5),
                       nbytes=len(data))
        else:
            self._call("upload_part", key, lambda: self._blob(key).stage_block(block_id, data, **kwargs),
                       nbytes=len(data))
        return UploadPart(part_number=part_number, size=len(data), etag=block_id, checksum=crc)

    def complete_upload(self, key: str, upload_id: str, parts: Sequence[UploadPart]) -> str | None:
        from azure.storage.blob import BlobBlock, ContentSettings

        blocks = [BlobBlock(block_id=self.block_id(upload_id, p.part_number)) for p in parts]
        kwargs: dict[str, Any] = {}
        if self._crc_on() and parts and all(p.checksum for p in parts):
            total = 0
            for p in parts:
                total = crc32c_combine(total, int(str(p.checksum), 16), p.size)
            kwargs["metadata"] = {CRC_METADATA: _crc_text(total)}
        content_type = self._uploads.pop(upload_id, None)
        if content_type:
            kwargs["content_settings"] = ContentSettings(content_type=content_type)
        if create_only.get():  # put_if_absent: only the commit publishes
            from azure.core import MatchConditions

            kwargs["match_condition"] = MatchConditions.IfMissing
        try:
            resp = self._call("complete_upload", key,
                              lambda: self._blob(key).commit_block_list(blocks, **kwargs))
        except (AlreadyExistsError, PreconditionError) as exc:
            if "match_condition" not in kwargs:
                raise
            raise self._exists(key, "complete_upload", exc) from exc
        self._sizes.put(self.uri(key), sum(p.size for p in parts))
        etag = (resp or {}).get("etag")
        return str(etag) if etag else None

    def abort_upload(self, key: str, upload_id: str) -> None:
        # Nothing to do server-side: uncommitted blocks are never visible and the service
        # discards them (after 7 days, or when the blob is next committed). Never commit.
        self._uploads.pop(upload_id, None)

    # ---------------------------------------------------------------- listing
    def list(self, prefix: str = "", *, recursive: bool = True) -> Iterator[ListPage]:
        self._need_container("list")
        sizes = self._sizes
        root = self.root
        page_size = self._az.list_page_size
        token: str | None = None
        while True:
            def fetch(tok: str | None = token) -> tuple[builtins.list[Any], str | None]:
                cc = self._conn.container
                if recursive:
                    paged = cc.list_blobs(name_starts_with=prefix or None, results_per_page=page_size)
                else:
                    paged = cc.walk_blobs(name_starts_with=prefix or None, delimiter="/",
                                          results_per_page=page_size)
                pages = paged.by_page(continuation_token=tok)
                page = next(pages, None)
                items = builtins.list(page) if page is not None else []
                return items, pages.continuation_token or None

            # A page is retried with the same continuation token (never restarted).
            items, token = self._call("list", prefix, fetch)
            keys: builtins.list[str] = []
            prefixes: builtins.list[str] = []
            metas: builtins.list[ObjectMeta] = []
            for item in items:
                if _is_prefix(item):
                    prefixes.append(item.name)
                    continue
                keys.append(item.name)
                metas.append(_meta_from_props(item.name, item, listing=True))
            sizes.put_many([(root + m.key, m.size) for m in metas])
            if keys or prefixes:
                yield ListPage(keys=keys, prefixes=prefixes, metas=metas)
            if not token:
                return

    # ---------------------------------------------------------------- deletes
    def delete(self, key: str) -> None:
        self._need_key(key, "delete")
        try:
            self._call("delete", key, lambda: self._blob(key).delete_blob())
        except NotFoundError:
            pass  # idempotent (a retried DELETE may see its own success as 404)
        self._sizes.forget(self.uri(key))

    _delete_batch_size = BATCH_DELETE_SIZE

    def _delete_batch(self, keys: builtins.list[str]) -> builtins.list[tuple[str, BaseException]]:
        """One Blob Batch delete; per-key deletes where batches fail (or are off)."""
        sizes = self._sizes
        for key in keys:
            sizes.forget(self.uri(key))
        if self._az.batch_delete and self.endpoint not in _no_batch_endpoints:
            try:
                result = self._batch_request(keys)
            except (PermissionDeniedError, NotFoundError):
                raise
            except TransientError:
                pass  # this batch only: the per-key deletes get their own retries
            except StoreError as exc:
                # The endpoint does not serve Blob Batch (an emulator, a proxy): remember it.
                _no_batch_endpoints.add(self.endpoint)
                warnings.warn(f"{self.endpoint}: Blob Batch delete failed ({exc}); deleting one "
                              "blob per request from now on", stacklevel=3)
            else:
                self.last_delete_path = "batch"
                return result
        self.last_delete_path = "per-key"
        return self._delete_each(keys)

    def _batch_request(self, keys: builtins.list[str]) -> builtins.list[tuple[str, BaseException]]:
        def attempt() -> builtins.list[Any]:
            responses = self._conn.container.delete_blobs(*keys, raise_on_any_failure=False)
            return builtins.list(responses)

        responses = self._call("delete", keys[0], attempt)
        if len(responses) != len(keys):
            raise StoreError(f"Blob Batch answered {len(responses)} of {len(keys)} sub-requests",
                             op="delete", uri=self.uri(keys[0]), backend="azure")
        failures: list[tuple[str, BaseException]] = []
        for key, resp in zip(keys, responses, strict=True):
            status = int(getattr(resp, "status_code", 0) or 0)
            if 200 <= status < 300 or status == 404:
                continue
            failures.append((key, _sub_response_error(resp, self.uri(key), self.endpoint)))
        return failures

    def _delete_each(self, keys: builtins.list[str]) -> builtins.list[tuple[str, BaseException]]:
        from concurrent.futures import ThreadPoolExecutor

        def one(key: str) -> tuple[str, BaseException] | None:
            try:
                self.delete(key)
            except Exception as exc:  # every failure is reported to the caller
                return key, exc
            return None

        with ThreadPoolExecutor(max_workers=min(16, len(keys)) or 1) as pool:
            results = builtins.list(pool.map(one, keys))
        return [r for r in results if r is not None]

    # ------------------------------------------------------------------ copy
    @server_side  # Copy Blob from URL: no data through this process
    def copy(self, src_key: str, dst_key: str) -> None:
        self._need_key(src_key, "copy")
        self._need_key(dst_key, "copy")

        def start() -> Any:
            source = self._blob(src_key).url
            return self._blob(dst_key).start_copy_from_url(source)

        resp = self._call("copy", dst_key, start)
        status = (resp or {}).get("copy_status")
        deadline = time.monotonic() + self._az.copy_timeout_secs
        delay = 0.05
        while status == "pending":
            if time.monotonic() > deadline:
                raise StoreTimeoutError(f"server-side copy from {self.uri(src_key)} still pending after "
                                        f"{self._az.copy_timeout_secs:.0f}s", op="copy",
                                        uri=self.uri(dst_key), backend="azure", endpoint=self.endpoint)
            time.sleep(delay)
            delay = min(2.0, delay * 2)
            props = self._call("copy", dst_key, lambda: self._blob(dst_key).get_blob_properties())
            status = props.copy.status
            if status in ("failed", "aborted"):
                raise StoreError(f"server-side copy from {self.uri(src_key)} {status}: "
                                 f"{props.copy.status_description}", op="copy", uri=self.uri(dst_key),
                                 backend="azure", endpoint=self.endpoint)
        if status not in (None, "success", "pending"):
            raise StoreError(f"server-side copy from {self.uri(src_key)} ended as {status!r}",
                             op="copy", uri=self.uri(dst_key), backend="azure", endpoint=self.endpoint)
        self._sizes.forget(self.uri(dst_key))

    # ------------------------------------------------------------- containers
    def create_container(self, key: str = "") -> None:
        self._need_container("create_bucket")

        def create() -> None:
            try:
                self._conn.container.create_container()
            except Exception as exc:
                if getattr(exc, "error_code", None) == "ContainerAlreadyExists":
                    return
                raise

        self._call("create_bucket", "", create)
        if key:
            self.mkdir(key)

    def delete_container(self, key: str = "") -> None:
        """Delete the container, which must be empty (Azure itself would delete its blobs)."""
        self._need_container("delete_bucket")

        def delete() -> None:
            cc = self._conn.container
            page = next(cc.list_blobs(results_per_page=1).by_page(), None)
            if page is not None and next(iter(page), None) is not None:
                raise StoreError("the container is not empty; delete its blobs first "
                                 "(s3-cli delete -r URI)", op="delete_bucket", uri=self.root,
                                 backend="azure", endpoint=self.endpoint, status=409)
            cc.delete_container()

        self._call("delete_bucket", "", delete)

    def list_containers(self, key: str = "") -> builtins.list[dict[str, Any]]:
        def fetch() -> builtins.list[Any]:
            return builtins.list(self._conn.service.list_containers())

        base = f"{self.scheme}://{self.account}/"
        return [{"name": c.name, "uri": f"{base}{c.name}/",
                 "creation_date": format_rfc3339(epoch_seconds(c.last_modified))}
                for c in self._call("list_containers", "", fetch)]


def _total_size(resp: RestResponse) -> int:
    """A Get Blob's blob size: after the ``/`` of ``Content-Range``, else ``Content-Length``."""
    content_range = resp.headers.get("Content-Range")
    if content_range and "/" in content_range:
        return int(content_range.rsplit("/", 1)[1])
    if resp.length is None:
        raise IntegrityError("Get Blob answered without Content-Length or Content-Range")
    return int(resp.length)


def _is_prefix(item: Any) -> bool:
    return type(item).__name__ == "BlobPrefix"


def _sub_response_error(resp: Any, uri: str, endpoint: str) -> StoreError:
    """A failed Blob Batch sub-response as an s3dlio error (same classes as a request)."""
    from s3dlio_azure.errors import _http_error

    headers = getattr(resp, "headers", None) or {}
    reason = getattr(resp, "reason", None) or "sub-request failed"
    fake = type("SubResponseError", (), {
        "response": resp, "status_code": getattr(resp, "status_code", None),
        "error_code": headers.get("x-ms-error-code"), "reason": reason, "message": reason,
    })()
    return _http_error(fake, "delete", uri, endpoint, False)


def _meta_from_props(key: str, props: Any, *, listing: bool = False) -> ObjectMeta:
    settings = getattr(props, "content_settings", None)
    metadata = dict(getattr(props, "metadata", None) or {})
    crc = metadata.pop(CRC_METADATA, None)
    extra: dict[str, Any] = {}
    if settings is not None:
        for name in ("content_language", "content_encoding", "cache_control", "content_disposition"):
            value = getattr(settings, name, None)
            if value:
                extra[name] = value
        md5 = getattr(settings, "content_md5", None)
        if md5:
            extra["content_md5"] = base64.b64encode(bytes(md5)).decode("ascii")
    if getattr(props, "server_encrypted", None):
        extra["server_side_encryption"] = "AES256"
    if crc:
        extra["crc32c"] = crc
    blob_type = getattr(props, "blob_type", None)
    if blob_type is not None:
        extra["blob_type"] = str(getattr(blob_type, "value", blob_type))
    tier = getattr(props, "blob_tier", None)
    return ObjectMeta(
        key=key,
        size=int(getattr(props, "size", 0) or 0),
        last_modified=epoch_seconds(getattr(props, "last_modified", None)),
        etag=getattr(props, "etag", None),
        content_type=getattr(settings, "content_type", None) if settings is not None else None,
        storage_class=str(getattr(tier, "value", tier)) if tier else None,
        version_id=getattr(props, "version_id", None),
        metadata=metadata,
        extra=extra,
    )
