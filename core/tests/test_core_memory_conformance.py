"""The conformance suite against core's own backends, in the ``core`` tox env where no
backend plugin is installed.

* ``memory://`` implements every optional protocol but direct I/O, so every capability
  test of the suite runs; the shared pickling, pool and CLI checks run too (the CLI in
  this process, pools forked only: contents are per process).
* The toy ``mem://`` store (``s3dlio_toystore``) implements none: the suite's capability
  tests skip and container calls must raise ``NotSupportedError``.
"""

from __future__ import annotations

import pytest

from s3dlio.store import Capability
from s3dlio.store.memory import MemoryStore
from s3dlio.testing import CliRoundTripChecks, ObjectStoreConformance, PicklingChecks


class TestMemoryConformance(ObjectStoreConformance, PicklingChecks, CliRoundTripChecks):
    cross_process = False  # contents are per process
    pool_start_methods = ("fork",)  # a fork child starts with a snapshot; spawn starts empty
    cli_in_process = True

    @pytest.fixture
    def store_root(self, memory_root: str) -> str:
        return memory_root

    @pytest.fixture
    def container_parent(self) -> str:
        return "memory://"

    def test_every_capability_but_direct_io(self) -> None:
        assert MemoryStore.capabilities == frozenset(Capability) - {Capability.DIRECT_IO}


class TestBareStoreConformance(ObjectStoreConformance):
    cross_process = False  # the toy store's data lives in this process
    paged_listing_count = 250  # > 2 toy pages

    @pytest.fixture
    def store_root(self, mem_root: str) -> str:
        return mem_root

    def test_no_optional_capability(self) -> None:
        from s3dlio_toystore import MemoryStore as ToyStore

        assert ToyStore.capabilities == frozenset({Capability.GET_INTO})
