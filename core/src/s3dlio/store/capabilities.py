"""Optional store features: one protocol each, capabilities derived from what a store implements.

A backend never declares what it can do; it implements it. Every optional feature is a
:class:`typing.Protocol` below. A store class has a :class:`Capability` when it provides
every member of that capability's protocol (a method, property or class attribute
defined by the class or one of its bases), so a capability cannot be claimed without
the code behind it, and a subclass that replaces the code loses the claim. A subclass
gives up an inherited capability by setting one of its members to ``None``
(``create_upload = None``).

=================  =========================  ===============================================
capability         protocol                   members
=================  =========================  ===============================================
``MULTIPART``      :class:`MultipartUpload`   ``create_upload``, ``upload_part``,
                                              ``complete_upload``, ``abort_upload``,
                                              ``min_part_size``, ``max_parts``
``CONDITIONAL_PUT``:class:`ConditionalPut`    ``put_if_absent``
``BUCKETS``        :class:`Containers`        ``create_container``, ``delete_container``,
                                              ``list_containers``
``SERVER_COPY``    :class:`ServerSideCopy`    a ``copy`` marked :func:`server_side`
``DIRECT_IO``      :class:`DirectIO`          ``alignment``
``GET_INTO``       :class:`RangeReadInto`     ``get_range_into`` (required of every store)
=================  =========================  ===============================================

:func:`capabilities_of` computes a class's set once and caches it on the class;
``store.capabilities`` (and ``StoreClass.capabilities``) read it. Middleware wrappers
report their inner store's set. Code that needs a feature asks :func:`require`, which
returns the store typed as the protocol or raises :class:`~s3dlio.errors.NotSupportedError`
naming the operation and URI. The protocols are deliberately not ``runtime_checkable``:
a wrapper forwards every optional method whatever its inner store can do, so only
``store.capabilities`` tells the truth about a wrapped store.
"""

from __future__ import annotations

import builtins
import contextvars
import enum
import inspect
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal, Protocol, TypeVar, cast, overload

from s3dlio.errors import AlreadyExistsError, NotSupportedError

if TYPE_CHECKING:
    from s3dlio.store import ObjectStore, UploadPart

__all__ = [
    "PROTOCOLS",
    "Capability",
    "ConditionalPut",
    "Containers",
    "DirectIO",
    "MultipartUpload",
    "RangeReadInto",
    "ServerSideCopy",
    "capabilities_of",
    "create_only",
    "put_if_absent_by_put",
    "require",
    "server_side",
]

F = TypeVar("F", bound=Callable[..., Any])

_SERVER_SIDE = "__s3dlio_server_side__"
_CACHE = "_s3dlio_capabilities"
_MISSING = object()


class Capability(enum.Enum):
    """Optional features of a store, derived from the protocols it implements."""

    MULTIPART = "multipart"
    """Native multipart / staged-block uploads (:class:`MultipartUpload`)."""
    CONDITIONAL_PUT = "conditional_put"
    """Create-only writes: ``If-None-Match: *`` or equivalent (:class:`ConditionalPut`)."""
    GET_INTO = "get_into"
    """``get_range_into`` reads into caller memory (every store: it is required)."""
    BUCKETS = "buckets"
    """Containers can be created, deleted and listed (:class:`Containers`)."""
    DIRECT_IO = "direct_io"
    """Reads and writes bypass the page cache (:class:`DirectIO`)."""
    SERVER_COPY = "server_copy"
    """``copy`` moves no object data through this process (:class:`ServerSideCopy`)."""

    @property
    def description(self) -> str:
        """What the capability offers, for error messages (``native multipart uploads``)."""
        return _DESCRIPTIONS[self]


_DESCRIPTIONS = {
    Capability.MULTIPART: "native multipart uploads",
    Capability.CONDITIONAL_PUT: "create-only (conditional) writes",
    Capability.GET_INTO: "reads into caller memory",
    Capability.BUCKETS: "containers (buckets)",
    Capability.DIRECT_IO: "direct I/O",
    Capability.SERVER_COPY: "server-side copies",
}


def server_side(method: F) -> F:
    """Mark a store's ``copy`` as server-side: no object data passes through this process.

    The mark belongs to the function, so a subclass that overrides ``copy`` (say, with a
    copy through aligned buffers) does not inherit :attr:`Capability.SERVER_COPY`.
    """
    setattr(method, _SERVER_SIDE, True)
    return method


# ------------------------------------------------------------------------------ protocols


class MultipartUpload(Protocol):
    """Native multipart uploads, driven by core's ``MultipartUploadWriter``.

    Parts may be uploaded concurrently and out of order; ``complete_upload`` receives
    them sorted and contiguous (checked against ``min_part_size`` and ``max_parts``);
    after ``abort_upload`` nothing is published.
    """

    min_part_size: int
    """Smallest part but the last (S3: 5 MiB)."""
    max_parts: int
    """Most parts one upload may have."""

    def create_upload(self, key: str, *, content_type: str | None = None) -> str:
        """Start a multipart upload of ``key``; return its upload id."""
        ...

    def upload_part(self, key: str, upload_id: str, part_number: int, data: memoryview) -> UploadPart:
        """Upload part ``part_number`` (1-based) of an upload started by ``create_upload``."""
        ...

    def complete_upload(self, key: str, upload_id: str, parts: Sequence[UploadPart]) -> str | None:
        """Publish the object from ``parts`` (sorted, contiguous); return its ETag."""
        ...

    def abort_upload(self, key: str, upload_id: str) -> None:
        """Abandon an upload: its parts are discarded and nothing is published."""
        ...


class ConditionalPut(Protocol):
    """Create-only writes: the object is written only if no object exists at ``key``."""

    def put_if_absent(self, key: str, data: memoryview) -> bool:
        """Store ``data`` atomically unless ``key`` exists; ``True`` if written, ``False`` if
        an object was already there (it is left untouched). Of concurrent callers on one
        key, exactly one gets ``True``."""
        ...


class Containers(Protocol):
    """Buckets / containers (or, locally, directories) can be created, deleted and listed."""

    def create_container(self, key: str = "") -> None:
        """Create the bucket / container (or, locally, the directory ``key``); existing is fine."""
        ...

    def delete_container(self, key: str = "") -> None:
        """Delete the (empty) bucket / container (or, locally, the directory ``key``)."""
        ...

    def list_containers(self, key: str = "") -> builtins.list[dict[str, Any]]:
        """``[{name, uri, creation_date}]`` of containers reachable from this root (or ``key``)."""
        ...


class ServerSideCopy(Protocol):
    """``copy`` happens inside the storage system: no object data passes through this process."""

    @server_side
    def copy(self, src_key: str, dst_key: str) -> None:
        """Copy an object within this store."""
        ...


class DirectIO(Protocol):
    """Reads and writes bypass the page cache (``O_DIRECT``)."""

    @property
    def alignment(self) -> int:
        """The device I/O's alignment: buffer addresses, offsets and lengths are multiples of it."""
        ...


class RangeReadInto(Protocol):
    """Ranged reads straight into caller memory (required of every store)."""

    def get_range_into(self, key: str, offset: int, buf: memoryview) -> int:
        """Read up to ``len(buf)`` bytes at ``offset`` into ``buf``; return the count."""
        ...


PROTOCOLS: Mapping[Capability, type] = {
    Capability.MULTIPART: MultipartUpload,
    Capability.CONDITIONAL_PUT: ConditionalPut,
    Capability.GET_INTO: RangeReadInto,
    Capability.BUCKETS: Containers,
    Capability.DIRECT_IO: DirectIO,
    Capability.SERVER_COPY: ServerSideCopy,
}
"""The protocol behind each capability."""


# ------------------------------------------------------------------------------ derivation


def _members(protocol: type) -> tuple[str, ...]:
    """Public names a protocol requires: its annotated attributes, methods and properties."""
    names = set(vars(protocol).get("__annotations__", {}))
    names.update(name for name, value in vars(protocol).items()
                 if inspect.isfunction(value) or isinstance(value, property))
    return tuple(sorted(name for name in names if not name.startswith("_")))


_MEMBERS = {cap: _members(proto) for cap, proto in PROTOCOLS.items()}


def _marked(value: object) -> bool:
    if isinstance(value, (staticmethod, classmethod)):
        value = value.__func__
    return bool(getattr(value, _SERVER_SIDE, False))


def _provides(cls: type, capability: Capability) -> bool:
    protocol = PROTOCOLS[capability]
    for name in _MEMBERS[capability]:
        found = inspect.getattr_static(cls, name, _MISSING)
        if found is _MISSING or found is None or getattr(found, "__isabstractmethod__", False):
            return False
        if _marked(inspect.getattr_static(protocol, name, None)) and not _marked(found):
            return False
    return True


def capabilities_of(cls: type) -> frozenset[Capability]:
    """The capabilities of the store class ``cls``: each protocol it fully implements.

    Computed on first use and cached on the class (a class is not expected to gain or
    lose methods afterwards).
    """
    cached = cls.__dict__.get(_CACHE)
    if cached is None:
        cached = frozenset(cap for cap in Capability if _provides(cls, cap))
        type.__setattr__(cls, _CACHE, cached)
    return cast("frozenset[Capability]", cached)


class DerivedCapabilities:
    """The descriptor behind ``ObjectStore.capabilities``: :func:`capabilities_of` the class.

    Read-only: assigning to ``store.capabilities`` raises ``AttributeError``.
    """

    def __get__(self, obj: object, owner: type) -> frozenset[Capability]:
        return capabilities_of(owner)

    def __set__(self, obj: object, value: object) -> None:
        raise AttributeError("capabilities are derived from the protocols a store implements")


# ------------------------------------------------------------------------------ require


@overload
def require(store: ObjectStore, capability: Literal[Capability.MULTIPART], *, op: str,
            key: str = "") -> MultipartUpload: ...
@overload
def require(store: ObjectStore, capability: Literal[Capability.CONDITIONAL_PUT], *, op: str,
            key: str = "") -> ConditionalPut: ...
@overload
def require(store: ObjectStore, capability: Literal[Capability.BUCKETS], *, op: str,
            key: str = "") -> Containers: ...
@overload
def require(store: ObjectStore, capability: Literal[Capability.SERVER_COPY], *, op: str,
            key: str = "") -> ServerSideCopy: ...
@overload
def require(store: ObjectStore, capability: Literal[Capability.DIRECT_IO], *, op: str,
            key: str = "") -> DirectIO: ...
@overload
def require(store: ObjectStore, capability: Capability, *, op: str, key: str = "") -> Any: ...
def require(store: ObjectStore, capability: Capability, *, op: str, key: str = "") -> Any:
    """``store`` typed as the protocol of ``capability``, or ``NotSupportedError`` naming
    ``op`` and ``store.uri(key)`` when the store (or a wrapper's inner store) lacks it."""
    if capability not in store.capabilities:
        raise NotSupportedError(
            f"{capability.description} are not supported by {store.backend or type(store).__name__}",
            op=op, uri=store.uri(key), backend=store.backend,
        )
    return store


# ------------------------------------------------------------------ helpers for backends

create_only: contextvars.ContextVar[bool] = contextvars.ContextVar("s3dlio_create_only",
                                                                   default=False)
"""``True`` while :func:`put_if_absent_by_put` runs a store's own ``put``: the backend's
single PUT and its multipart Complete then carry their create-only condition
(``If-None-Match: *``). A context variable, because the multipart writer calls back into
the store (its Complete runs in the caller's thread, its parts in pool threads, which do
not need the condition)."""


def put_if_absent_by_put(store: ObjectStore, key: str, data: memoryview, *,
                         check_first_from: int) -> bool:
    """:meth:`ConditionalPut.put_if_absent` through ``store.put`` under :data:`create_only`.

    For a backend whose PUT and multipart Complete honour :data:`create_only` and raise
    ``AlreadyExistsError`` when the key exists. Objects of at least ``check_first_from``
    bytes (the multipart threshold) are checked with a HEAD first, so that no part is
    uploaded to learn at the Complete that the key exists; the condition still decides.
    """
    if len(data) >= check_first_from and store.exists(key):
        return False
    token = create_only.set(True)
    try:
        store.put(key, data)
    except AlreadyExistsError:
        return False
    finally:
        create_only.reset(token)
    return True
