"""Cross-distribution tests: run with core and the plugins installed."""

from __future__ import annotations

import warnings
from collections.abc import Iterator

import pytest

from s3dlio.plugin import runtime as rt


@pytest.fixture(autouse=True)
def _fresh_runtime() -> Iterator[None]:
    """Tests that change the environment get a runtime composed from it."""
    rt.reset()
    yield
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rt.reset()
