"""The chaos suite (issue 16) runs only in ``tox -e chaos`` (``CHAOS_SUITE=1``): it is
minutes of fault injection that the ordinary s3 and all envs need not repeat."""

from __future__ import annotations

import os

import pytest


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.environ.get("CHAOS_SUITE") == "1":
        return
    skip = pytest.mark.skip(reason="chaos suite: run with tox -e chaos (CHAOS_SUITE=1)")
    here = os.path.dirname(__file__)
    for item in items:
        if str(item.path).startswith(here):
            item.add_marker(skip)
