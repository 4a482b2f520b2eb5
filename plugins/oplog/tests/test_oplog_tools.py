"""analyze (hand-computed percentiles, throughput) and merge (original-format input → warp-readable)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import zstandard

from s3dlio_oplog.analyze import analyze_oplogs, analyze_report, bucket_of, percentile
from s3dlio_oplog.merge import merge_oplogs
from s3dlio_oplog.record import OpRecord, format_time
from s3dlio_oplog.sinks import TsvZstdSink
from s3dlio_oplog.testing import check_warp_readable
from s3dlio_oplog.testing import read_checked as rows

pytestmark = pytest.mark.timeout(60)

T0 = 1_790_000_000_000_000_000
MS = 1_000_000


def synthetic(path: str, client: str = "c1", n: int = 100, offset: int = 0) -> list[OpRecord]:
    """GETs of 4 KiB with latencies 1..n ms, one every 10 ms; plus 3 STATs and one failed GET."""
    recs = []
    for i in range(n):
        start = T0 + offset + i * 10 * MS
        dur = (i + 1) * MS
        recs.append(OpRecord(i, 0, "GET", client, 1, 4096, "file://", f"/d/{i}", "", start,
                             start + MS // 2, None, start + dur, dur))
    for j in range(3):
        start = T0 + offset + j * MS
        recs.append(OpRecord(n + j, 1, "STAT", client, 1, 10, "file://", "/d/s", "", start, None, None,
                             start + 2 * MS, 2 * MS))
    recs.append(OpRecord(n + 3, 1, "GET", client, 1, 0, "file://", "/d/x", "NotFoundError: gone",
                         T0 + offset, None, None, T0 + offset + MS, MS))
    sink = TsvZstdSink(path)
    sink.write_rows(recs)
    sink.close()
    return recs


def test_percentile_interpolation() -> None:
    assert percentile([1, 2, 3, 4], 50) == 2.5
    assert percentile([10], 99) == 10
    assert percentile(list(range(1, 101)), 90) == pytest.approx(90.1)


def test_buckets() -> None:
    assert bucket_of("GET", 0) == "zero"
    assert bucket_of("GET", 1) == bucket_of("GET", 8192) == "1B-8KiB"
    assert bucket_of("PUT", 8193) == "8KiB-64KiB"
    assert bucket_of("GET", 3 << 30) == ">2GiB"
    assert bucket_of("STAT", 5) == "meta"


def test_analyze_reproduces_hand_computed_numbers(tmp_path: Path) -> None:
    path = str(tmp_path / "syn.tsv.zst")
    synthetic(path)
    header, table = analyze_report([path])
    assert header["rows"] == 104 and header["clients"] == ["c1"]
    assert header["top_errors"] == [("NotFoundError: gone", 1)]
    by = {(r["op"], r["bucket"]): r for r in table}
    get = by[("GET", "1B-8KiB")]
    assert get["count"] == 100 and get["bytes"] == 409600 and get["avg_size"] == 4096
    # latencies 1..100 ms: mean 50.5, p50 50.5, p90 90.1, p99 99.01, max 100
    assert get["lat_mean_ms"] == pytest.approx(50.5)
    assert get["p50_ms"] == pytest.approx(50.5)
    assert get["p90_ms"] == pytest.approx(90.1)
    assert get["p95_ms"] == pytest.approx(95.05)
    assert get["p99_ms"] == pytest.approx(99.01)
    assert get["max_ms"] == pytest.approx(100)
    assert get["ttfb_p50_ms"] == pytest.approx(0.5)
    # span: first start T0, last end T0 + 990 ms + 100 ms = 1.09 s
    assert get["span_s"] == pytest.approx(1.09)
    assert get["ops_s"] == pytest.approx(100 / 1.09)
    assert get["mib_s"] == pytest.approx(409600 / 1048576 / 1.09)
    assert get["concurrency"] == pytest.approx(5.05 / 1.09)
    assert by[("GET", "ALL")]["count"] == 100 and by[("GET", "ALL")]["errors"] == 1
    stat = by[("STAT", "meta")]
    assert stat["count"] == 3 and stat["p99_ms"] == pytest.approx(2.0)
    assert stat["span_s"] == pytest.approx(0.004)


def test_analyze_skip_and_per_client(tmp_path: Path) -> None:
    a, b = str(tmp_path / "a.tsv.zst"), str(tmp_path / "b.tsv.zst")
    synthetic(a, "c1")
    synthetic(b, "c2", n=50)
    table = analyze_oplogs([a, b], per_client=True)
    counts = {(r["op"], r["client"], r["bucket"]): r["count"] for r in table}
    assert counts[("GET", "c1", "ALL")] == 100 and counts[("GET", "c2", "ALL")] == 50
    skipped = analyze_oplogs([a], skip_s=0.5)
    assert {(r["op"], r["bucket"]): r["count"] for r in skipped}[("GET", "ALL")] == 50


ORIGINAL = (
    "idx\tthread\top\tclient_id\tn_objects\tbytes\tendpoint\tfile\terror\tstart\tfirst_byte\tend\t"
    "duration_ns\n"
)


def test_merge_of_original_format(tmp_path: Path) -> None:
    lines = [ORIGINAL]
    ops = ["GET_RANGE", "HEAD", "GET", "DELETE_BATCH", "get"]
    for i, op in enumerate(ops):
        start = format_time(T0 + (len(ops) - i) * MS)
        end = format_time(T0 + (len(ops) - i) * MS + 500)
        thread = 13_400_000_000_000_000_000 + (i % 2)
        lines.append(f"{i}\t{thread}\t{op}\thost\t1\t10\thttp://h:9000\tb/k{i}\t\t{start}\t\t{end}\t500\n")
    src = tmp_path / "orig.tsv.zst"
    src.write_bytes(zstandard.ZstdCompressor().compress("".join(lines).encode()))
    out = str(tmp_path / "merged.tsv.zst")
    assert merge_oplogs([src], out) == 5
    got = rows(out)
    assert [r.op for r in got] == ["GET", "DELETE", "GET", "STAT", "GET"]
    assert {r.thread for r in got} == {0, 1}
    assert [r.idx for r in got] == list(range(5))
    from s3dlio_oplog.replay import replay_oplog

    plan = replay_oplog([src], target="file:///tmp/replay-target/", ops=["GET", "STAT", "DELETE"], dry_run=10)
    assert [(q["op"], q["uri"]) for q in plan["requests"]] == [
        ("GET", "file:///tmp/replay-target/k4"), ("DELETE", "file:///tmp/replay-target/k3"),
        ("GET", "file:///tmp/replay-target/k2"), ("STAT", "file:///tmp/replay-target/k1"),
        ("GET", "file:///tmp/replay-target/k0")]


def test_merge_clock_offsets_and_extended(tmp_path: Path) -> None:
    a, b = str(tmp_path / "a.tsv.zst"), str(tmp_path / "b.tsv.zst")
    synthetic(a, "c1", n=5)
    synthetic(b, "c2", n=5, offset=3 * MS)
    out = str(tmp_path / "m.tsv.zst")
    assert merge_oplogs([a, b], out, clock_offsets={"c2": -3 * MS}, extended=True) == 18
    check = check_warp_readable(out)
    assert "last_byte" in check.columns
    got = rows(out)
    starts = [r.start_ns for r in got]
    assert starts == sorted(starts)
    keys = [(r.start_ns, r.end_ns, r.client_id) for r in got]
    assert keys == sorted(keys)
    assert min(r.start_ns for r in got if r.client_id == "c2") == T0  # offset applied


def test_jsonl_round_trip_through_merge(tmp_path: Path) -> None:
    a = str(tmp_path / "a.tsv.zst")
    recs = synthetic(a, n=3)
    out = str(tmp_path / "m.jsonl")
    merge_oplogs([a], out)
    objs = [json.loads(x) for x in Path(out).read_text().splitlines()]
    assert len(objs) == len(recs)


def test_plot_series(tmp_path: Path) -> None:
    from s3dlio_oplog.plot import series

    path = str(tmp_path / "syn.tsv.zst")
    synthetic(path)
    bin_s, data = series([path], bin_s=0.1)
    assert bin_s == 0.1 and set(data) == {"GET", "STAT"}
    assert sum(1 for _ in data["GET"]) >= 10


def test_merge_spills_runs_when_over_memory(tmp_path: Path) -> None:
    a, b = str(tmp_path / "a.tsv.zst"), str(tmp_path / "b.tsv.zst")
    synthetic(a, "c1", n=3000)
    synthetic(b, "c2", n=2500, offset=5 * MS)
    small, big = str(tmp_path / "small.tsv.zst"), str(tmp_path / "big.tsv.zst")
    assert merge_oplogs([a, b], small, mem_bytes=1000 * 400) == 5508  # 1,000-row runs
    assert merge_oplogs([a, b], big) == 5508
    assert [r[:14] for r in rows(small)] == [r[:14] for r in rows(big)]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".oplog-merge-")]
