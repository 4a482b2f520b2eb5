"""Crash safety (SIGKILL keeps every complete frame) and fork (a file per process, merged)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import zstandard

import s3dlio
from s3dlio_oplog.merge import merge_oplogs
from s3dlio_oplog.reader import read_oplog
from s3dlio_oplog.testing import check_warp_readable
from s3dlio_oplog.testing import read_checked as rows

pytestmark = pytest.mark.timeout(90)


def complete_frames(path: str) -> list[bytes]:
    """Decode every complete frame (independently of the reader under test)."""
    data = Path(path).read_bytes()
    out = []
    dctx = zstandard.ZstdDecompressor()
    while data:
        dobj = dctx.decompressobj()
        try:
            piece = dobj.decompress(data)
        except zstandard.ZstdError:
            break
        if not dobj.eof:
            break
        out.append(piece)
        data = dobj.unused_data
    return out


CHILD = textwrap.dedent("""
    import sys, time
    import s3dlio
    root, log = sys.argv[1], sys.argv[2]
    s3dlio.put_bytes(root + "obj", b"x" * 512)
    s3dlio.init_op_log(log)
    i = 0
    while True:
        s3dlio.get(root + "obj")
        s3dlio.stat(root + "obj")
        i += 1
        time.sleep(0.002)
""")


@pytest.mark.parametrize("writer", ["thread", "process"])
def test_sigkill_leaves_readable_prefix(tmp_path: Path, root: str, writer: str) -> None:
    log = str(tmp_path / "crash.tsv.zst")
    env = dict(os.environ, S3DLIO_OPLOG_FLUSH_SECS="0.05", S3DLIO_OPLOG_WRITER=writer)
    proc = subprocess.Popen([sys.executable, "-c", CHILD, root, log], env=env)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if os.path.exists(log) and len(complete_frames(log)) >= 5:  # header + >= 4 row frames
                break
            time.sleep(0.02)
        else:
            pytest.fail("child did not write frames")
        # Kill while it keeps writing (likely mid-frame or between frames).
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
    if writer == "process":
        time.sleep(1.0)  # the helper sees end of input and writes what it got
    frames = complete_frames(log)
    assert len(frames) >= 4
    expected = sum(f.count(b"\n") for f in frames[1:])
    got = list(read_oplog(log))
    assert len(got) == expected >= 3
    assert [r.idx for r in got] == list(range(expected))
    assert {r.op for r in got} <= {"GET", "STAT"}
    out = str(tmp_path / "repaired.tsv.zst")
    assert merge_oplogs([log], out) == expected
    assert check_warp_readable(out).rows == expected


def test_torn_last_frame_is_tolerated(tmp_path: Path, root: str, log_path: str) -> None:
    s3dlio.put_bytes(root + "a", b"1")
    s3dlio.init_op_log(log_path)
    for _ in range(10):
        s3dlio.get(root + "a")
    s3dlio.finalize_op_log()
    good = Path(log_path).read_bytes()
    extra = zstandard.ZstdCompressor(write_checksum=True).compress(b"".join(
        b"99\t0\tGET\tc\t1\t1\tfile://\t/x\t\t2026-11-24T01:48:03.065143074Z\t\t"
        b"2026-11-24T01:48:03.065143084Z\t10\n" for _ in range(50)))
    torn = tmp_path / "torn.tsv.zst"
    torn.write_bytes(good + extra[: len(extra) // 2])
    with pytest.warns(RuntimeWarning, match="incomplete last frame"):
        got = list(read_oplog(torn))
    assert len(got) == 10


@pytest.mark.parametrize("writer", ["thread", "process"])
def test_fork_child_gets_its_own_file(tmp_path: Path, root: str, writer: str, oplog_settings) -> None:
    oplog_settings(writer=writer)
    s3dlio.put_bytes(root + "a", b"abc")
    log = str(tmp_path / "ops.tsv.zst")
    s3dlio.init_op_log(log)
    s3dlio.get(root + "a")
    pid = os.fork()
    if pid == 0:  # child
        code = 1
        try:
            for _ in range(5):
                s3dlio.stat(root + "a")
            stats = s3dlio.finalize_op_log()
            code = 0 if stats and stats["written"] == 5 else 2
        finally:
            os._exit(code)
    for _ in range(3):
        s3dlio.get(root + "a")
    _, status = os.waitpid(pid, 0)
    assert os.WEXITSTATUS(status) == 0
    s3dlio.finalize_op_log()
    child_log = str(tmp_path / f"ops.pid{pid}.tsv.zst")
    parent_rows, child_rows = rows(log), rows(child_log)
    assert [r.op for r in parent_rows] == ["GET"] * 4
    assert [r.op for r in child_rows] == ["STAT"] * 5
    merged = str(tmp_path / "merged.tsv.zst")
    assert merge_oplogs([log, child_log], merged) == 9
    got = rows(merged)
    assert [r.idx for r in got] == list(range(9))
    assert [r.start_ns for r in got] == sorted(r.start_ns for r in got)


def test_fork_with_pid_placeholder(tmp_path: Path, root: str) -> None:
    s3dlio.put_bytes(root + "a", b"abc")
    s3dlio.init_op_log(str(tmp_path / "ops-{pid}.tsv.zst"))
    pid = os.fork()
    if pid == 0:
        try:
            s3dlio.get(root + "a")
            s3dlio.finalize_op_log()
        finally:
            os._exit(0)
    os.waitpid(pid, 0)
    s3dlio.finalize_op_log()
    assert len(rows(str(tmp_path / f"ops-{pid}.tsv.zst"))) == 1
    assert len(rows(str(tmp_path / f"ops-{os.getpid()}.tsv.zst"))) == 0
