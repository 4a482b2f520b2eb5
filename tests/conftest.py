"""Cross-distribution tests: run with core and the plugins installed."""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from s3dlio.plugin import runtime as rt


@pytest.fixture(autouse=True)
def _fresh_runtime() -> Iterator[None]:
    """Tests that change the environment get a runtime composed from it; logging set up by
    an in-process ``s3-cli -v`` is undone, so it cannot leak into later tests."""
    from s3dlio.api import configure

    logger = logging.getLogger("s3dlio")
    handlers, level = list(logger.handlers), logger.level
    rt.reset()
    yield
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rt.reset()
    for handler in logger.handlers[:]:
        if handler not in handlers:
            logger.removeHandler(handler)
    logger.setLevel(level)
    if configure._handler is not None and configure._handler not in handlers:
        configure._handler = None


Run = Callable[..., tuple[int, str, str]]
"""``cli(*argv)`` → ``(exit_code, stdout, stderr)``."""


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Iterator[Run]:
    """``cli("ls", uri)`` runs ``s3-cli`` in-process → ``(exit_code, stdout, stderr)``; the
    environment (which global flags export to) is restored afterwards."""
    from s3dlio.cli.main import main

    monkeypatch.chdir(tmp_path)  # no stray ./.env or ./s3dlio.toml
    saved = dict(os.environ)

    def run(*argv: str) -> tuple[int, str, str]:
        capsys.readouterr()
        code = main(list(argv))
        out, err = capsys.readouterr()
        return code, out, err

    yield run
    if dict(os.environ) != saved:
        os.environ.clear()
        os.environ.update(saved)
        rt.reset()
