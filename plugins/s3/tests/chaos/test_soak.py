"""Soak (issue 16, item 5), scaled for CI: threads × mixed operations against moto through
the proxy at 5 % random faults. Nothing lost or corrupted, no leaked threads or descriptors,
peak RSS reported. ``SOAK_THREADS`` / ``SOAK_OPS`` scale it up (the issue's figure is 64 ×
10,000)."""

from __future__ import annotations

import os
import random
import resource
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

import s3dlio
from s3dlio.errors import S3dlioError
from s3dlio.plugin import runtime as rt
from s3dlio.testing.faults import RANDOM_KINDS, FaultProxy

boto3 = pytest.importorskip("boto3")
pytestmark = pytest.mark.timeout(300)

THREADS = int(os.environ.get("SOAK_THREADS", "16"))
OPS = int(os.environ.get("SOAK_OPS", "60"))


def _fds() -> int:
    return len(os.listdir("/proc/self/fd")) if os.path.isdir("/proc/self/fd") else 0


def test_soak(moto: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    raw = boto3.client("s3", endpoint_url=moto.endpoint_url, region_name=moto.region,
                       aws_access_key_id=moto.access_key, aws_secret_access_key=moto.secret_key)
    bucket = f"soak-{uuid.uuid4().hex[:12]}"
    raw.create_bucket(Bucket=bucket)
    threads_before = threading.active_count()
    # Without "flip": plain HTTP has no integrity check on GET or LIST bodies (see
    # docs/reliability.md); every other random kind must be survived.
    kinds = [k for k in RANDOM_KINDS if k != "flip"]
    with FaultProxy(moto.endpoint_url, rate=0.05, seed=5, random_kinds=kinds) as proxy:
        for name, value in {"AWS_ENDPOINT_URL": proxy.url, "AWS_ENDPOINT_URL_S3": proxy.url,
                            "S3DLIO_MAX_RETRY_ATTEMPTS": "6", "S3DLIO_RETRY_BASE_MS": "2",
                            "S3DLIO_RETRY_MAX_BACKOFF_MS": "50", "S3DLIO_RETRY_QUOTA": "0"}.items():
            monkeypatch.setenv(name, value)
        rt.reset()
        s3dlio.put_bytes(f"s3://{bucket}/warm", b"w")  # clients and pools exist before counting fds
        fds_before = _fds()
        written: dict[str, bytes] = {}
        lock = threading.Lock()
        counts = {"ok": 0, "typed": 0, "corrupt": 0}

        def worker(t: int) -> None:
            rng = random.Random(t)
            mine: list[str] = []
            for i in range(OPS):
                op = rng.choice(("put", "put", "get", "get", "list", "stat"))
                try:
                    if op == "put" or not mine:
                        key = f"t{t}/o{i}"
                        data = rng.randbytes(rng.randrange(0, 70_000))
                        s3dlio.put_bytes(f"s3://{bucket}/{key}", data)
                        with lock:
                            written[key] = data
                        mine.append(key)
                    elif op == "get":
                        key = rng.choice(mine)
                        if bytes(s3dlio.get(f"s3://{bucket}/{key}")) != written[key]:
                            with lock:
                                counts["corrupt"] += 1
                    elif op == "list":
                        listed = s3dlio.list(f"s3://{bucket}/t{t}/")
                        assert set(listed) >= {f"s3://{bucket}/{k}" for k in mine}
                    else:
                        assert s3dlio.stat(f"s3://{bucket}/{rng.choice(mine)}")["size"] >= 0
                    with lock:
                        counts["ok"] += 1
                except S3dlioError:
                    with lock:
                        counts["typed"] += 1

        with ThreadPoolExecutor(THREADS) as pool:
            list(pool.map(worker, range(THREADS)))
        injected = proxy.total_injected
    # Nothing lost: every acknowledged put is on the server, byte-identical.
    lost = [k for k, v in written.items() if raw.get_object(Bucket=bucket, Key=k)["Body"].read() != v]
    rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    with capsys.disabled():
        print(f"\nsoak: {THREADS}x{OPS} ops, {injected} faults injected, {counts}, lost={len(lost)}, "
              f"peak RSS {rss_mib:.0f} MiB")
    assert injected > 0
    assert lost == [] and counts["corrupt"] == 0
    assert counts["typed"] <= max(2, THREADS * OPS // 200), counts
    rt.reset()
    # Engine threads are daemons that exit when idle; sockets close with the clients.
    deadline = 50
    while threading.active_count() > threads_before + 2 and deadline:
        threading.Event().wait(0.1)
        deadline -= 1
    assert threading.active_count() <= threads_before + 2, threading.enumerate()
    assert _fds() <= fds_before + 8, (fds_before, _fds())
