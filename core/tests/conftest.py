"""Fixtures of the core tests: they need only s3dlio-core (no backend plugin)."""

from __future__ import annotations

import uuid
import warnings
from collections.abc import Iterator

import pytest
import s3dlio_toystore
from s3dlio_toystore import make_host

from s3dlio.plugin import runtime as rt


@pytest.fixture(autouse=True)
def _fresh_runtime() -> Iterator[None]:
    """Every test starts and ends without a composed process runtime."""
    rt.reset()
    yield
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rt.reset()


@pytest.fixture
def mem_runtime() -> Iterator[rt.Runtime]:
    """Install a runtime whose only backend is the in-memory toy store (``mem://``)."""
    s3dlio_toystore.clear()
    runtime = rt.Runtime(make_host(("toystore", s3dlio_toystore)))
    previous = rt.install(runtime)
    try:
        yield runtime
    finally:
        rt.install(previous)
        s3dlio_toystore.clear()


@pytest.fixture
def mem_root(mem_runtime: rt.Runtime) -> str:
    return f"mem://b-{uuid.uuid4().hex[:12]}/"
