"""Local fault injection for backend tests: a write that hits the file-size limit.

``RLIMIT_FSIZE`` makes a write fail with ``EFBIG`` exactly like a full disk fails with
``ENOSPC``: part of the data is written, then the kernel refuses. The write runs in a
child process (the limit is per process) and reports the error it saw; the parent
checks that the error is typed and named and that nothing was published.
"""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

from s3dlio.store.localfs import is_temp_name

__all__ = ["assert_failed_write_left_no_trace", "put_with_file_size_limit"]

_CHILD = textwrap.dedent(
    """
    import json, resource, signal, sys
    import s3dlio
    from s3dlio.errors import StoreError
    uri, limit, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG instead of a core dump
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    try:
        s3dlio.put_bytes(uri, b"x" * size)
    except StoreError as exc:
        cause = exc.__cause__
        print(json.dumps({"type": type(exc).__name__, "op": exc.op, "uri": exc.uri,
                          "message": str(exc), "cause_errno": getattr(cause, "errno", None)}))
    else:
        print(json.dumps({"type": None}))
    """
)


def put_with_file_size_limit(uri: str, size: int, limit: int, *, timeout: float = 100) -> dict[str, Any]:
    """``put_bytes(uri, size bytes)`` in a child limited to ``limit`` bytes per file.

    Returns ``{"type", "op", "uri", "message", "cause_errno"}`` of the ``StoreError``
    the child caught (``type`` is ``None`` if the write succeeded).
    """
    proc = subprocess.run(
        [sys.executable, "-c", _CHILD, uri, str(limit), str(size)],
        capture_output=True, text=True, timeout=timeout, check=False,
    )
    if proc.returncode != 0:
        raise AssertionError(f"the limited writer crashed:\n{proc.stderr}")
    report: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return report


def assert_failed_write_left_no_trace(
    report: dict[str, Any], uri: str, destination: Path, previous: bytes
) -> None:
    """The write failed with a typed, named, chained EFBIG; the old content and no temp remain."""
    assert report["type"] == "StoreError", report
    assert report["op"] == "put" and report["uri"] == uri, report
    assert "EFBIG" in report["message"], report
    assert report["cause_errno"] == errno.EFBIG, report
    assert destination.read_bytes() == previous
    leftovers = [n for n in os.listdir(destination.parent) if is_temp_name(n)]
    assert not leftovers, leftovers
