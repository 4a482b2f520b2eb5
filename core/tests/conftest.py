"""Fixtures of the core tests: they need only s3dlio-core (no backend plugin)."""

from __future__ import annotations

import uuid
import warnings
from collections.abc import Iterator

import pytest
import s3dlio_toystore
from s3dlio_toystore import make_host

from s3dlio.plugin import runtime as rt
from s3dlio.store import memory


@pytest.fixture(autouse=True)
def _fresh_runtime() -> Iterator[None]:
    """Every test starts and ends without a composed process runtime."""
    rt.reset()
    yield
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rt.reset()


@pytest.fixture
def memory_runtime() -> Iterator[rt.Runtime]:
    """Install a runtime of core alone (its own plugin serves ``memory://``)."""
    runtime = rt.Runtime(make_host())
    previous = rt.install(runtime)
    try:
        yield runtime
    finally:
        rt.install(previous)
        memory.clear()


@pytest.fixture
def memory_root(memory_runtime: rt.Runtime) -> str:
    """A fresh ``memory://`` bucket: the store core's tests use wherever any store will do."""
    return f"memory://b-{uuid.uuid4().hex[:12]}/"


@pytest.fixture
def mem_runtime() -> Iterator[rt.Runtime]:
    """Install a runtime whose backends are core's and the toy store (``mem://``): for the
    tests of plugin loading and of a store without any optional protocol."""
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
