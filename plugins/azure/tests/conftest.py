"""Fixtures of the az:// tests: Azurite (the real emulator) on 127.0.0.1."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from typing import Any

import pytest
from aztest_support import make_container, use_azurite

from s3dlio import runtime as rt

pytest_plugins = ["s3dlio.testing.pytest_servers"]


@pytest.fixture(autouse=True)
def _fresh_runtime() -> Iterator[None]:
    rt.reset()
    yield
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rt.reset()


@pytest.fixture
def azurite(azurite_server: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    use_azurite(monkeypatch, azurite_server)
    return azurite_server


@pytest.fixture
def container(azurite: Any) -> str:
    """A fresh container: ``az://devstoreaccount1/name/``."""
    return make_container()
