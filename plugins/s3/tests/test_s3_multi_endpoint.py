"""The multi-endpoint store against two real moto servers holding the same data set."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

import s3dlio
from s3dlio.plugin import runtime as rt
from s3dlio.testing.servers import MotoServer

pytest.importorskip("s3dlio_s3")
pytestmark = pytest.mark.timeout(90)


@pytest.fixture
def second_moto(moto: Any) -> Iterator[MotoServer]:
    with MotoServer() as server:
        yield server


def test_round_robin_over_two_servers(moto: Any, second_moto: MotoServer,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_ENDPOINT_URL")
    monkeypatch.delenv("AWS_ENDPOINT_URL_S3")
    rt.reset()
    hosts = [moto.endpoint_url.split("://")[1], second_moto.endpoint_url.split("://")[1]]
    roots = [f"s3://{h}/shared-data/" for h in hosts]
    for root in roots:
        s3dlio.create_bucket(root)
    store = s3dlio.create_multi_endpoint_store(roots)
    assert store.endpoint_count() == 2 and store.strategy() == "round_robin"

    async def scenario() -> list[bytes]:
        # One data set on both servers, then reads spread over them.
        for i in range(4):
            await store.put_all_endpoints(f"s3://shared-data/item-{i}", f"payload {i}".encode())
        return [bytes(await store.get(f"s3://shared-data/item-{i % 4}")) for i in range(8)]

    got = asyncio.run(scenario())
    assert got == [f"payload {i % 4}".encode() for i in range(8)]
    stats = store.get_endpoint_stats()
    # 4 writes to each server (put_all_endpoints), then 8 reads alternating.
    assert [s["bytes_read"] for s in stats] == [4 * len(b"payload 0")] * 2
    assert [s["total_requests"] for s in stats] == [8, 8]
    assert all(s["error_count"] == 0 and s["active_requests"] == 0 for s in stats)
    # Each server really holds the data: read it back directly.
    for root in roots:
        assert s3dlio.list(root, recursive=True) == [f"{root}item-{i}" for i in range(4)]
    listed = asyncio.run(store.list_all_endpoints("s3://shared-data/", recursive=True))
    assert sorted(listed) == [f"s3://shared-data/item-{i}" for i in range(4)]


def test_a_failing_endpoint_is_counted(moto: Any, second_moto: MotoServer,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_ENDPOINT_URL")
    monkeypatch.delenv("AWS_ENDPOINT_URL_S3")
    rt.reset()
    hosts = [moto.endpoint_url.split("://")[1], second_moto.endpoint_url.split("://")[1]]
    s3dlio.create_bucket(f"s3://{hosts[0]}/only-first/")
    store = s3dlio.create_multi_endpoint_store([f"s3://{h}/only-first/" for h in hosts])
    with pytest.raises(s3dlio.NotFoundError):
        asyncio.run(store.get_from_endpoint(1, "s3://only-first/missing"))
    stats = store.get_endpoint_stats()
    assert stats[1]["error_count"] == 1 and stats[0]["error_count"] == 0
