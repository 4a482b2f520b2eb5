"""fsspec's own abstract test suite (``fsspec.tests.abstract``) on file:// and on moto."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("s3dlio_posix")
abstract = pytest.importorskip("fsspec.tests.abstract")

from s3dlio_fsspec.filesystem import S3dlioFileSystem  # noqa: E402

pytestmark = pytest.mark.timeout(300)


class _FileFixtures(abstract.AbstractFixtures):  # type: ignore[misc]
    @pytest.fixture
    def fs(self) -> S3dlioFileSystem:
        return S3dlioFileSystem()

    @pytest.fixture
    def fs_path(self, tmp_path: Path) -> str:
        return tmp_path.as_uri()


class TestFileCopy(abstract.AbstractCopyTests, _FileFixtures):  # type: ignore[misc]
    pass


class TestFileGet(abstract.AbstractGetTests, _FileFixtures):  # type: ignore[misc]
    pass


class TestFilePut(abstract.AbstractPutTests, _FileFixtures):  # type: ignore[misc]
    pass


class TestFileOpen(abstract.AbstractOpenTests, _FileFixtures):  # type: ignore[misc]
    pass


class TestFilePipe(abstract.AbstractPipeTests, _FileFixtures):  # type: ignore[misc]
    pass


class _MotoFixtures(abstract.AbstractFixtures):  # type: ignore[misc]
    @pytest.fixture
    def fs(self, bucket: str) -> S3dlioFileSystem:
        return S3dlioFileSystem()

    @pytest.fixture
    def fs_path(self, bucket: str) -> str:
        return f"{bucket}/{uuid.uuid4().hex[:12]}"

    @pytest.fixture
    def fs_join(self) -> Any:
        return lambda *parts: "/".join(p.rstrip("/") for p in parts[:-1]) + "/" + parts[-1]


class TestMotoCopy(abstract.AbstractCopyTests, _MotoFixtures):  # type: ignore[misc]
    pass


class TestMotoGet(abstract.AbstractGetTests, _MotoFixtures):  # type: ignore[misc]
    pass


class TestMotoPut(abstract.AbstractPutTests, _MotoFixtures):  # type: ignore[misc]
    pass


class TestMotoOpen(abstract.AbstractOpenTests, _MotoFixtures):  # type: ignore[misc]
    pass


class TestMotoPipe(abstract.AbstractPipeTests, _MotoFixtures):  # type: ignore[misc]
    pass


class _MemoryFixtures(_MotoFixtures):
    """memory:// (core's object store: prefixes and ``key/`` markers, like S3, without a server)."""

    @pytest.fixture
    def fs(self) -> S3dlioFileSystem:
        return S3dlioFileSystem()

    @pytest.fixture
    def fs_path(self) -> str:
        return f"memory://fs-{uuid.uuid4().hex[:12]}/root"


class TestMemoryCopy(abstract.AbstractCopyTests, _MemoryFixtures):  # type: ignore[misc]
    pass


class TestMemoryPut(abstract.AbstractPutTests, _MemoryFixtures):  # type: ignore[misc]
    pass


class TestMemoryPipe(abstract.AbstractPipeTests, _MemoryFixtures):  # type: ignore[misc]
    pass
