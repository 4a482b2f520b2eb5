"""Each core setting that changes process behaviour has a test proving the effect."""

from __future__ import annotations

import logging
import subprocess
import sys
from collections.abc import Iterator

import pytest

from s3dlio.plugin import runtime as rt

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def clean_runtime() -> Iterator[None]:
    rt.reset()
    yield
    rt.reset()


def test_log_level_sends_s3dlio_records_to_stderr(
    clean_runtime: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    from s3dlio import log as _logging
    from s3dlio.api import configure  # _logging installs the library's NullHandler

    assert _logging.get_logger
    logger = logging.getLogger("s3dlio")
    before_level, before_handlers = logger.level, list(logger.handlers)
    monkeypatch.setenv("S3DLIO_LOG_LEVEL", "debug")
    try:
        rt.runtime()
        assert logger.level == logging.DEBUG
        assert configure._handler is not None and configure._handler in logger.handlers
    finally:
        if configure._handler is not None:
            logger.removeHandler(configure._handler)
            configure._handler = None
        logger.setLevel(before_level)
    assert logger.handlers == before_handlers


def test_rt_threads_sizes_the_async_executor(clean_runtime: None, monkeypatch: pytest.MonkeyPatch) -> None:
    from s3dlio.engines import pool

    monkeypatch.setenv("S3DLIO_RT_THREADS", "3")
    try:
        rt.runtime()
        assert pool.async_pool()._max_workers == 3
    finally:
        monkeypatch.setattr(pool, "_async_workers", None)
        stale = pool._pools.pop("async", None)
        if stale is not None:
            stale.shutdown(wait=False)
    assert pool.async_pool()._max_workers >= 32


_FAULTS_PROBE = r"""
import resource
from s3dlio.plugin import runtime
runtime.runtime()
def round_():
    keep = [bytearray(8 << 20) for _ in range(16)]  # 128 MiB alive at once, like a get_many result
    del keep
for _ in range(2):
    round_()
start = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(3):
    round_()
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - start)
"""


def _faults(extra_env: dict[str, str]) -> int:
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith("S3DLIO_")} | extra_env
    proc = subprocess.run([sys.executable, "-c", _FAULTS_PROBE], env=env, capture_output=True,
                          text=True, timeout=100, check=False)
    assert proc.returncode == 0, proc.stderr
    return int(proc.stdout.strip())


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="mallopt is glibc's")
def test_malloc_retain_keeps_freed_buffers_for_reuse() -> None:
    """Repeated rounds of large buffers: page faults every round by default, none when retained."""
    default = _faults({})
    retained = _faults({"S3DLIO_MALLOC_RETAIN_MB": "512"})
    assert default > 10_000, default  # 3 x 128 MiB of fresh pages would be ~98k faults
    assert retained < default // 20, (retained, default)
