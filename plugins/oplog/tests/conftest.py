"""Fixtures of the op-log tests (file:// through s3dlio-posix)."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest

from s3dlio.plugin import runtime as rt
from s3dlio_oplog import api

pytest.importorskip("s3dlio_posix")


@pytest.fixture(autouse=True)
def _clean_state() -> Iterator[None]:
    """No log and a fresh runtime around every test."""
    api.finalize_op_log()
    rt.reset()
    yield
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        api.finalize_op_log()
        rt.reset()


@pytest.fixture
def root(tmp_path: Path) -> str:
    """A file:// prefix (with trailing slash) for the test's objects."""
    data = tmp_path / "data"
    data.mkdir()
    return f"file://{data}/"


@pytest.fixture
def log_path(tmp_path: Path) -> str:
    return str(tmp_path / "ops.tsv.zst")


@pytest.fixture
def oplog_settings(monkeypatch: pytest.MonkeyPatch) -> Callable[..., None]:
    """Override ``[oplog]`` settings for the next ``init_op_log`` (e.g. ``buf=4``)."""

    def apply(**values: Any) -> None:
        original = api._settings

        def patched() -> Any:
            return attrs.evolve(original(), **values)

        monkeypatch.setattr(api, "_settings", patched)

    return apply
