"""s3dlio-oplog: a warp-compatible trace of every storage operation, and its tools.

``s3dlio.init_op_log(path)`` starts recording (see :mod:`s3dlio_oplog.api`); the tools
are importable from here lazily: :func:`read_oplog`, :func:`merge_oplogs`,
:func:`analyze_oplogs`, :func:`replay_oplog`, and :class:`OpRecord`. Importing this
package imports nothing heavy.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_LAZY = {
    "OpRecord": "s3dlio_oplog.record",
    "read_oplog": "s3dlio_oplog.reader",
    "OplogReader": "s3dlio_oplog.reader",
    "merge_oplogs": "s3dlio_oplog.merge",
    "analyze_oplogs": "s3dlio_oplog.analyze",
    "replay_oplog": "s3dlio_oplog.replay",
    "init_op_log": "s3dlio_oplog.api",
    "finalize_op_log": "s3dlio_oplog.api",
    "is_op_log_active": "s3dlio_oplog.api",
    "set_op_log_client_id": "s3dlio_oplog.api",
    "op_log_stats": "s3dlio_oplog.api",
}

__all__ = [
    "__version__", "OpRecord", "read_oplog", "OplogReader", "merge_oplogs", "analyze_oplogs",
    "replay_oplog", "init_op_log", "finalize_op_log", "is_op_log_active", "set_op_log_client_id",
    "op_log_stats",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 's3dlio_oplog' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
