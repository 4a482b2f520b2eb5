"""s3dlio.bulk locally and on a LocalCluster of 2 worker processes, against file://."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("s3dlio_posix")
pytest.importorskip("s3dlio_datagen")


pytestmark = pytest.mark.timeout(180)


@pytest.fixture(scope="module")
def client() -> Iterator[Any]:
    distributed = pytest.importorskip("distributed")
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       dashboard_address=None, silence_logs=40)
    with distributed.Client(cluster) as c:
        yield c
    cluster.close()


def test_served_as_s3dlio_bulk() -> None:
    import s3dlio.bulk
    from s3dlio_dask import bulk

    assert s3dlio.bulk is bulk


def test_local_run_generate_copy_get_delete(tmp_path: Path) -> None:
    import s3dlio.bulk

    src, dst = tmp_path.as_uri() + "/src", tmp_path.as_uri() + "/dst"
    rep = s3dlio.bulk.generate(src, 6, 1000, seed=3)
    assert rep["ok"] == 6 and rep["bytes"] == 6000
    assert rep["workers"] == [{"worker": "local", "ok": 6, "bytes": 6000}]
    rep = s3dlio.bulk.copy(src, dst, exclude="*_5_*", partitions=3)
    assert rep["ok"] == 5 and rep["failed"] == 0
    assert bytes(s3dlio.get(dst + "/object_0_of_6.dat")) == bytes(s3dlio.get(src + "/object_0_of_6.dat"))
    assert s3dlio.bulk.get(dst)["bytes"] == 5000
    failing = s3dlio.bulk.get([dst + "/object_0_of_6.dat", dst + "/missing"])
    assert failing["ok"] == 1 and failing["failed"] == 1 and failing["failures"][0][0] == dst + "/missing"
    assert s3dlio.bulk.delete(dst)["ok"] == 5
    assert s3dlio.list(dst + "/", recursive=True) == []


def test_cluster_two_workers(tmp_path: Path, client: Any) -> None:
    import s3dlio.bulk

    src, dst = tmp_path.as_uri() + "/src", tmp_path.as_uri() + "/dst"
    rep = s3dlio.bulk.generate(src, 20, 4096, seed=1, client=client)
    assert rep["ok"] == 20 and rep["failed"] == 0
    assert len(rep["workers"]) == 2 and sum(w["ok"] for w in rep["workers"]) == 20  # both workers wrote
    local = s3dlio.bulk.generate(tmp_path.as_uri() + "/again", 20, 4096, seed=1)
    assert bytes(s3dlio.get(src + "/object_7_of_20.dat")) == bytes(
        s3dlio.get(tmp_path.as_uri() + "/again/object_7_of_20.dat"))  # same bytes as a local run
    assert local["bytes"] == rep["bytes"]
    rep = s3dlio.bulk.copy(src, dst, client=client, no_clobber=True)
    assert rep["ok"] == 20 and rep["bytes"] == 20 * 4096
    assert s3dlio.bulk.get(dst, client=client)["bytes"] == 20 * 4096
    assert s3dlio.bulk.delete(dst, client=client)["ok"] == 20


def test_unreachable_scheduler_fails_fast() -> None:
    pytest.importorskip("distributed")
    from s3dlio_dask.bulk import SchedulerUnreachableError, connect

    with pytest.raises(SchedulerUnreachableError, match=r"127\.0\.0\.1:1"):
        connect("tcp://127.0.0.1:1", timeout=2)
