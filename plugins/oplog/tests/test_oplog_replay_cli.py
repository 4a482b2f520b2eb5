"""replay (``--speed`` timing, ``--remap``/``--endpoint-map`` routing) and the ``s3-cli oplog`` commands."""

from __future__ import annotations

import json
import time
from collections import Counter
from pathlib import Path

import pytest

import s3dlio
from s3dlio.cli.main import main
from s3dlio_oplog.record import OpRecord
from s3dlio_oplog.replay import replay_oplog, source_uri
from s3dlio_oplog.sinks import TsvZstdSink
from s3dlio_oplog.testing import read_checked as rows

pytestmark = pytest.mark.timeout(120)


def record_run(root: str, log: str) -> Counter[tuple[str, int]]:
    s3dlio.init_op_log(log)
    for i in range(10):
        s3dlio.put_bytes(f"{root}o{i}", b"y" * (100 * (i + 1)))
    for i in range(10):
        s3dlio.get(f"{root}o{i}")
        s3dlio.get_range(f"{root}o{i}", 0, 50)
    for i in range(5):
        s3dlio.stat(f"{root}o{i}")
    s3dlio.list(root)
    s3dlio.finalize_op_log()
    return Counter((r.op, r.bytes) for r in rows(log))


def test_replay_reproduces_op_counts(tmp_path: Path, root: str) -> None:
    original = str(tmp_path / "orig.tsv.zst")
    counts = record_run(root, original)
    assert sum(counts.values()) == 36
    target_dir = tmp_path / "replay"
    replayed = str(tmp_path / "replayed.tsv.zst")
    s3dlio.init_op_log(replayed)
    # One lane recorded (sequential): lanes mode keeps each PUT before its GETs.
    summary = replay_oplog([original], target=f"file://{target_dir}/", speed=0, mode="lanes")
    s3dlio.finalize_op_log()
    assert summary["failed"] == 0 and summary["replayed"] == 36 and summary["skipped"] == {}
    got = rows(replayed)
    # Same ops and sizes (LIST entries may differ: counted by op only).
    assert Counter((r.op, r.bytes) for r in got) == counts
    assert all(r.file.startswith(str(target_dir)) for r in got)


def test_replay_speed_scales_time(tmp_path: Path, root: str) -> None:
    s3dlio.put_bytes(root + "a", b"z" * 10)
    _, _, key = root.partition("://")
    log = str(tmp_path / "timed.tsv.zst")
    t0 = 1_790_000_000_000_000_000
    sink = TsvZstdSink(log)
    sink.write_rows([
        OpRecord(i, 0, "GET", "c", 1, 10, "file://", key + "a", "", t0 + i * 100_000_000, None, None,
                 t0 + i * 100_000_000 + 1000, 1000)
        for i in range(21)  # 2.0 s of recorded time
    ])
    sink.close()
    start = time.perf_counter()
    summary = replay_oplog([log], speed=2.0)
    elapsed = time.perf_counter() - start
    assert summary["replayed"] == 21 and summary["failed"] == 0
    assert 0.95 <= summary["wall_s"] <= 1.5, summary
    assert elapsed < 3
    assert summary["lag_p99_ms"] < 50
    lanes = replay_oplog([log], speed=4.0, mode="lanes")
    assert lanes["replayed"] == 21 and 0.45 <= lanes["wall_s"] <= 1.0


def test_remap_and_endpoint_map_route_requests(tmp_path: Path, root: str) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    s3dlio.put_bytes(f"file://{a}/x", b"1")
    s3dlio.put_bytes(f"file://{b}/y", b"22")
    log = str(tmp_path / "src.tsv.zst")
    t0 = 1_790_000_000_000_000_000
    sink = TsvZstdSink(log)
    sink.write_rows([
        OpRecord(0, 0, "GET", "c", 1, 1, "file://", "/orig/a/x", "", t0, None, None, t0 + 1, 1),
        OpRecord(1, 0, "STAT", "c", 1, 2, "http://10.0.0.5:9000", "bucket/y", "", t0 + 2, None, None,
                 t0 + 3, 1),
        OpRecord(2, 0, "DELETE", "c", 1, 0, "file://", "/orig/a/x", "", t0 + 4, None, None, t0 + 5, 1),
    ])
    sink.close()
    assert source_uri("http://10.0.0.5:9000", "bucket/y") == "s3://bucket/y"
    replayed = str(tmp_path / "replayed.tsv.zst")
    s3dlio.init_op_log(replayed)
    summary = replay_oplog(
        [log], speed=0,
        remap=[f"file:///orig/a/=file://{a}/", f"file://bucket/=file://{b}/"],
        endpoint_map=["http://10.0.0.5:9000=file://"],  # the S3 row becomes a local row
    )
    s3dlio.finalize_op_log()
    assert summary["failed"] == 0, summary
    assert summary["skipped"] == {"op_DELETE": 1}
    got = rows(replayed)
    assert sorted((r.op, r.file) for r in got) == [("GET", f"{a}/x"), ("STAT", f"{b}/y")]
    dry = replay_oplog([log], remap=[f"file:///orig/a/=file://{a}/"], ops=["GET", "DELETE"], dry_run=5)
    assert [q["uri"] for q in dry["requests"]] == [f"file://{a}/x", f"file://{a}/x"]


def test_cli_analyze_merge_replay(tmp_path: Path, root: str, capsys: pytest.CaptureFixture[str]) -> None:
    log = str(tmp_path / "cli.tsv.zst")
    record_run(root, log)
    assert main(["oplog", "analyze", log]) == 0
    out = capsys.readouterr().out
    assert "== GET" in out and "== PUT" in out and "ALL" in out
    assert main(["oplog", "analyze", log, "--json", "--per-client"]) == 0
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert lines[-1]["type"] == "summary" and lines[-1]["exit_code"] == 0
    get_all = [x for x in lines if x.get("op") == "GET" and x.get("bucket") == "ALL"]
    assert get_all and get_all[0]["count"] == 20 and "client" in get_all[0]
    merged = str(tmp_path / "merged.tsv.zst")
    assert main(["oplog", "merge", "-o", merged, log, "--extended"]) == 0
    assert len(rows(merged)) == 36
    replay_log = str(tmp_path / "replay.tsv.zst")
    code = main(["oplog", "replay", log, "--speed", "0", "--mode", "lanes", "--target", f"file://{tmp_path}/r/",
                 "--op-log", replay_log])
    assert code == 0
    assert len(rows(replay_log)) == 36
    assert main(["oplog", "replay", log, "--dry-run", "2"]) == 0
    assert len(capsys.readouterr().out.strip().splitlines()) == 2


def test_cli_global_op_log_flag(tmp_path: Path, root: str) -> None:
    s3dlio.put_bytes(root + "a", b"abc")
    log = str(tmp_path / "flag.tsv.zst")
    assert main(["--op-log", log, "stat", root + "a"]) == 0
    assert not s3dlio.is_op_log_active()
    assert [r.op for r in rows(log)] == ["STAT"]


def test_cli_replay_reports_failures(tmp_path: Path, root: str) -> None:
    log = str(tmp_path / "f.tsv.zst")
    s3dlio.put_bytes(root + "gone", b"1")
    s3dlio.init_op_log(log)
    s3dlio.get(root + "gone")
    s3dlio.finalize_op_log()
    s3dlio.delete(root + "gone")
    assert main(["oplog", "replay", log, "--speed", "0"]) == 3
    assert main(["oplog", "replay", log, "--speed", "0", "--fail-fast"]) == 1
