"""Fixtures of the az:// tests: Azurite (the real emulator) on 127.0.0.1."""

from __future__ import annotations

from typing import Any

import pytest
from aztest_support import make_container, use_azurite

pytest_plugins = ["s3dlio.testing.pytest_servers"]


@pytest.fixture(autouse=True)
def _fresh(fresh_runtime: None) -> None:
    """Every test composes the runtime from its own environment."""


@pytest.fixture
def azurite(azurite_server: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    use_azurite(monkeypatch, azurite_server)
    return azurite_server


@pytest.fixture
def container(azurite: Any) -> str:
    """A fresh container: ``az://devstoreaccount1/name/``."""
    return make_container()
