"""s3dlio: storage I/O for AI/ML — one API over S3, Azure, GCS, file:// and direct://.

``import s3dlio`` is light: it imports no SDK, numpy, pyarrow or framework, and
composes no plugins. Public names are resolved on first access (module
``__getattr__``): core's own from its modules, the rest from what the installed
plugins export (``s3dlio_register_exports``); a name or submodule of a first-party
plugin that is not installed raises :class:`~s3dlio.errors.FeatureNotInstalledError`
naming the package to install.

Quick start::

    import s3dlio
    s3dlio.put_bytes("file:///tmp/demo/a.bin", b"hello")
    assert s3dlio.get("file:///tmp/demo/a.bin") == b"hello"
    s3dlio.list("file:///tmp/demo/")          # ['file:///tmp/demo/a.bin']
"""

from __future__ import annotations

import builtins
import importlib
from typing import TYPE_CHECKING, Any

from s3dlio import errors as _errors
from s3dlio._version import __version__
from s3dlio.bytesview import BytesView as BytesView
from s3dlio.errors import (
    AlreadyExistsError as AlreadyExistsError,
)
from s3dlio.errors import (
    AmbiguousBackendError as AmbiguousBackendError,
)
from s3dlio.errors import (
    BackendNotFoundError as BackendNotFoundError,
)
from s3dlio.errors import (
    BatchError as BatchError,
)
from s3dlio.errors import (
    CheckpointError as CheckpointError,
)
from s3dlio.errors import (
    ConfigError as ConfigError,
)
from s3dlio.errors import (
    ExportStillReferencedError as ExportStillReferencedError,
)
from s3dlio.errors import (
    FeatureNotInstalledError as FeatureNotInstalledError,
)
from s3dlio.errors import (
    IntegrityError as IntegrityError,
)
from s3dlio.errors import (
    InvalidBufferError as InvalidBufferError,
)
from s3dlio.errors import (
    InvalidPathError as InvalidPathError,
)
from s3dlio.errors import (
    LengthMismatchError as LengthMismatchError,
)
from s3dlio.errors import (
    NotFoundError as NotFoundError,
)
from s3dlio.errors import (
    NotSupportedError as NotSupportedError,
)
from s3dlio.errors import (
    ObjectNotFoundError as ObjectNotFoundError,
)
from s3dlio.errors import (
    PermissionDeniedError as PermissionDeniedError,
)
from s3dlio.errors import (
    PluginError as PluginError,
)
from s3dlio.errors import (
    PluginLoadError as PluginLoadError,
)
from s3dlio.errors import (
    PreconditionError as PreconditionError,
)
from s3dlio.errors import (
    S3dlioError as S3dlioError,
)
from s3dlio.errors import (
    StoreError as StoreError,
)
from s3dlio.errors import (
    StoreTimeoutError as StoreTimeoutError,
)
from s3dlio.errors import (
    ThrottledError as ThrottledError,
)
from s3dlio.errors import (
    TransientError as TransientError,
)
from s3dlio.errors import (
    UnsupportedOperationError as UnsupportedOperationError,
)
from s3dlio.plugin.exports import install_finder, resolve_name

if TYPE_CHECKING:  # pragma: no cover - names for type checkers and IDEs
    from s3dlio.api import (
        abort_incomplete_uploads as abort_incomplete_uploads,
    )
    from s3dlio.api import (
        create_bucket as create_bucket,
    )
    from s3dlio.api import (
        delete as delete,
    )
    from s3dlio.api import (
        delete_bucket as delete_bucket,
    )
    from s3dlio.api import (
        exists as exists,
    )
    from s3dlio.api import (
        get as get,
    )
    from s3dlio.api import (
        get_by_key as get_by_key,
    )
    from s3dlio.api import (
        get_into as get_into,
    )
    from s3dlio.api import (
        get_many as get_many,
    )
    from s3dlio.api import (
        get_many_into as get_many_into,
    )
    from s3dlio.api import (
        get_many_stats as get_many_stats,
    )
    from s3dlio.api import (
        get_object as get_object,
    )
    from s3dlio.api import (
        get_range as get_range,
    )
    from s3dlio.api import (
        list as list,
    )
    from s3dlio.api import (
        list_containers as list_containers,
    )
    from s3dlio.api import (
        list_full_uris as list_full_uris,
    )
    from s3dlio.api import (
        list_iter as list_iter,
    )
    from s3dlio.api import (
        list_keys as list_keys,
    )
    from s3dlio.api import (
        mkdir as mkdir,
    )
    from s3dlio.api import (
        object_capabilities as object_capabilities,
    )
    from s3dlio.api import (
        put_bytes as put_bytes,
    )
    from s3dlio.api import (
        put_many as put_many,
    )
    from s3dlio.api import (
        stat as stat,
    )
    from s3dlio.api import (
        stat_key as stat_key,
    )
    from s3dlio.api import (
        stat_many as stat_many,
    )
    from s3dlio.api import (
        stat_object as stat_object,
    )
    from s3dlio.api.aio import (
        ObjectMetadata as ObjectMetadata,
    )
    from s3dlio.api.aio import (
        delete_async as delete_async,
    )
    from s3dlio.api.aio import (
        download_async as download_async,
    )
    from s3dlio.api.aio import (
        exists_async as exists_async,
    )
    from s3dlio.api.aio import (
        get_async as get_async,
    )
    from s3dlio.api.aio import (
        get_into_async as get_into_async,
    )
    from s3dlio.api.aio import (
        get_many_async as get_many_async,
    )
    from s3dlio.api.aio import (
        get_many_into_async as get_many_into_async,
    )
    from s3dlio.api.aio import (
        get_many_stats_async as get_many_stats_async,
    )
    from s3dlio.api.aio import (
        get_range_async as get_range_async,
    )
    from s3dlio.api.aio import (
        head_async as head_async,
    )
    from s3dlio.api.aio import (
        list_async as list_async,
    )
    from s3dlio.api.aio import (
        mkdir_async as mkdir_async,
    )
    from s3dlio.api.aio import (
        put_bytes_async as put_bytes_async,
    )
    from s3dlio.api.aio import (
        put_many_async as put_many_async,
    )
    from s3dlio.api.aio import (
        stat_async as stat_async,
    )
    from s3dlio.api.aio import (
        stat_many_async as stat_many_async,
    )
    from s3dlio.api.aio import (
        upload_async as upload_async,
    )
    from s3dlio.api.configure import (
        configure_retries as configure_retries,
    )
    from s3dlio.api.configure import (
        configure_tokio_threads as configure_tokio_threads,
    )
    from s3dlio.api.configure import (
        init_logging as init_logging,
    )
    from s3dlio.api.transfer import download as download
    from s3dlio.api.transfer import upload as upload
    from s3dlio.plugin.hookspecs import hookimpl as hookimpl
    from s3dlio.store.multi_endpoint import (
        MultiEndpointStore as MultiEndpointStore,
    )
    from s3dlio.store.multi_endpoint import (
        create_multi_endpoint_store as create_multi_endpoint_store,
    )
    from s3dlio.store.multi_endpoint import (
        create_multi_endpoint_store_from_env as create_multi_endpoint_store_from_env,
    )
    from s3dlio.store.multi_endpoint import (
        create_multi_endpoint_store_from_file as create_multi_endpoint_store_from_file,
    )
    from s3dlio.store.multi_endpoint import (
        create_multi_endpoint_store_from_template as create_multi_endpoint_store_from_template,
    )
    from s3dlio.store.multipart import MultipartUploadWriter as MultipartUploadWriter
    from s3dlio.store.multipart import ReservedBuffer as ReservedBuffer
    from s3dlio.store.writers import ObjectWriter as ObjectWriter
    from s3dlio.store.writers import PyObjectWriter as PyObjectWriter
    from s3dlio.store.writers import PyWriterOptions as PyWriterOptions
    from s3dlio.store.writers import WriterOptions as WriterOptions
    from s3dlio.store.writers import create_azure_writer as create_azure_writer
    from s3dlio.store.writers import create_direct_filesystem_writer as create_direct_filesystem_writer
    from s3dlio.store.writers import create_filesystem_writer as create_filesystem_writer
    from s3dlio.store.writers import create_gcs_writer as create_gcs_writer
    from s3dlio.store.writers import create_s3_writer as create_s3_writer
    from s3dlio.store.writers import create_writer as create_writer

_CORE: dict[str, str] = {}
for _module, _names in {
    "s3dlio.api": (
        "abort_incomplete_uploads create_bucket delete delete_bucket exists get get_by_key get_into "
        "get_many get_many_into get_many_stats get_object get_range list list_containers list_full_uris "
        "list_iter list_keys mkdir object_capabilities put_bytes put_many stat stat_key stat_many stat_object"
    ),
    "s3dlio.api.aio": (
        "ObjectMetadata delete_async download_async exists_async get_async get_into_async "
        "get_many_async get_many_into_async get_many_stats_async get_range_async head_async list_async "
        "mkdir_async put_bytes_async put_many_async stat_async stat_many_async upload_async"
    ),
    "s3dlio.api.configure": "configure_tokio_threads init_logging configure_retries",
    "s3dlio.api.transfer": "download upload",
    "s3dlio.store.multipart": "MultipartUploadWriter ReservedBuffer",
    "s3dlio.store.writers": (
        "ObjectWriter PyObjectWriter PyWriterOptions WriterOptions create_azure_writer "
        "create_direct_filesystem_writer create_filesystem_writer create_gcs_writer "
        "create_s3_writer create_writer"
    ),
    "s3dlio.store.multi_endpoint": (
        "MultiEndpointStore create_multi_endpoint_store create_multi_endpoint_store_from_env "
        "create_multi_endpoint_store_from_file create_multi_endpoint_store_from_template"
    ),
    "s3dlio.store": "ObjectStore ObjectMeta ListPage Capability",
    "s3dlio.plugin.host": "PluginHost",
    "s3dlio.plugin.hookspecs": "hookimpl",
}.items():
    for _name in _names.split():
        _CORE[_name] = _module

del _module, _names, _name

install_finder()  # ``import s3dlio.torch``: submodules served by plugins


def __getattr__(name: str) -> Any:
    module_name = _CORE.get(name)
    if module_name is not None:
        value = getattr(importlib.import_module(module_name), name)
        globals()[name] = value  # later lookups skip __getattr__
        return value
    return resolve_name(globals(), name)


def __dir__() -> builtins.list[str]:
    from s3dlio.plugin import catalog

    return sorted(set(globals()) | set(_CORE) | set(catalog.NAMES))


__all__ = [  # built from the error module's names and the lazy table
    *(name for name in _errors.__all__ if name.endswith("Error")),
    "BytesView",
    "__version__",
    *sorted(_CORE),
]
