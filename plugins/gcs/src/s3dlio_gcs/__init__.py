"""s3dlio-gcs: the ``gs://`` / ``gcs://`` backend of s3dlio (Google Cloud Storage).

Importing this package imports nothing heavy; google-cloud-storage is imported when
the first ``gs://`` store is used.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

__all__ = ["__version__", "gcs_store", "put_if_absent"]


def gcs_store(uri: str) -> tuple[Any, str]:
    """``(GcsStore, key)`` serving ``uri`` (the backend store, middleware unwrapped)."""
    from s3dlio.plugin.runtime import resolve
    from s3dlio_gcs.store import GcsStore

    store, key = resolve(uri)
    while not isinstance(store, GcsStore) and hasattr(store, "inner"):
        store = store.inner
    if not isinstance(store, GcsStore):
        raise TypeError(f"{uri} is not served by s3dlio-gcs")
    return store, key


def put_if_absent(uri: str, data: Any) -> bool:
    """Create-only write of ``data`` to a ``gs://`` URI (``ifGenerationMatch=0``).

    Returns ``True`` if the object was written, ``False`` if it already existed.
    """
    from s3dlio.store import as_buffer

    store, key = gcs_store(uri)
    return bool(store.put_if_absent(key, as_buffer(data, uri=uri)))
