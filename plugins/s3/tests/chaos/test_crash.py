"""Crash consistency (issue 16, item 4): a writer process killed at a random point.

A child process overwrites one object again and again (alternating two contents); the
parent SIGKILLs it after a random delay. Afterwards the final name holds one of the two
contents, whole — never a mix or a prefix — and what the kill left behind (file:// temp
files, S3 multipart uploads) is found and removed by ``abort_incomplete_uploads``.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

import s3dlio

pytestmark = pytest.mark.timeout(180)

CHILD = textwrap.dedent("""
    import sys, s3dlio
    from s3dlio.store.multipart import MultipartUploadWriter
    uri, size, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    contents = [b"A" * size, b"B" * size]
    i = 0
    while True:
        data = contents[i % 2]
        if mode == "writer":
            with MultipartUploadWriter.from_uri(uri, part_size=5 << 20) as w:
                for off in range(0, size, 1 << 20):
                    w.write(data[off:off + (1 << 20)])
        else:
            s3dlio.put_bytes(uri, data)
        if i == 0:
            print("ready", flush=True)  # one whole write done: the kill lands mid-overwrite
        i += 1
""")


def _kill_at_random(uri: str, size: int, mode: str, seed: int, env: dict[str, str] | None = None) -> None:
    child = subprocess.Popen([sys.executable, "-c", CHILD, uri, str(size), mode], stdout=subprocess.PIPE,
                             env=env, text=True)
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "ready"
        time.sleep(random.Random(seed).uniform(0.05, 0.6))
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(10)


@pytest.mark.parametrize("seed", range(4))
def test_sigkill_during_file_puts(tmp_path: Path, seed: int) -> None:
    size = 8 << 20
    target = tmp_path / "obj.bin"
    uri = f"file://{target}"
    _kill_at_random(uri, size, "put", seed)
    body = target.read_bytes()  # one whole write finished before the kill
    assert body in (b"A" * size, b"B" * size), f"torn file: {len(body)} bytes"
    os.utime(tmp_path, None)
    for temp in [p for p in tmp_path.iterdir() if p.name != "obj.bin"]:
        os.utime(temp, (0, 0))  # make what the kill left stale
    s3dlio.abort_incomplete_uploads(f"file://{tmp_path}/", older_than_s=60)
    assert sorted(p.name for p in tmp_path.iterdir()) in ([], ["obj.bin"])


@pytest.mark.parametrize("seed", range(3))
def test_sigkill_during_multipart_on_moto(moto: Any, seed: int) -> None:
    import boto3

    raw = boto3.client("s3", endpoint_url=moto.endpoint_url, region_name=moto.region,
                       aws_access_key_id=moto.access_key, aws_secret_access_key=moto.secret_key)
    bucket = f"crash-{uuid.uuid4().hex[:12]}"
    raw.create_bucket(Bucket=bucket)
    size = 11 << 20
    _kill_at_random(f"s3://{bucket}/obj", size, "writer", seed, env=dict(os.environ))
    try:
        body = raw.get_object(Bucket=bucket, Key="obj")["Body"].read()
    except raw.exceptions.NoSuchKey:
        body = None
    assert body in (b"A" * size, b"B" * size)  # the first upload completed before the kill
    # SIGKILL cannot abort: an open upload may be left; abort_incomplete_uploads removes it.
    s3dlio.abort_incomplete_uploads(f"s3://{bucket}/", older_than_s=0)
    assert raw.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []


SIGTERM_CHILD = textwrap.dedent("""
    import sys, s3dlio
    from s3dlio.store.multipart import MultipartUploadWriter
    w = MultipartUploadWriter.from_uri(sys.argv[1], part_size=5 << 20)
    w.write(b"T" * ((5 << 20) + 1))  # one part sent, the upload open
    print("ready", flush=True)
    import time
    time.sleep(60)
""")


def test_sigterm_aborts_open_multipart_uploads(moto: Any) -> None:
    import boto3

    raw = boto3.client("s3", endpoint_url=moto.endpoint_url, region_name=moto.region,
                       aws_access_key_id=moto.access_key, aws_secret_access_key=moto.secret_key)
    bucket = f"term-{uuid.uuid4().hex[:12]}"
    raw.create_bucket(Bucket=bucket)
    child = subprocess.Popen([sys.executable, "-c", SIGTERM_CHILD, f"s3://{bucket}/obj"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=dict(os.environ), text=True)
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "ready"
        assert len(raw.list_multipart_uploads(Bucket=bucket).get("Uploads", [])) == 1
        child.send_signal(signal.SIGTERM)
        child.wait(30)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(10)
    assert child.returncode == -signal.SIGTERM  # still dies of the signal
    assert raw.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
    assert "KeyError" not in (child.stderr.read() if child.stderr else "")
