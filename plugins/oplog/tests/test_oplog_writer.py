"""Writer, sink and API: header, row rules, warp-readable, range rows, lossless/bounded (+ stats, errors)."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
import zstandard

import s3dlio
from s3dlio.errors import ConfigError
from s3dlio_oplog import api
from s3dlio_oplog.reader import read_oplog
from s3dlio_oplog.record import BASE_COLUMNS, OpRecord
from s3dlio_oplog.sinks import TsvZstdSink
from s3dlio_oplog.testing import TIME_RE, WarpReadError, check_warp_readable, rows_as_dicts
from s3dlio_oplog.testing import read_checked as rows

pytestmark = pytest.mark.timeout(60)

BASE = ("idx\tthread\top\tclient_id\tn_objects\tbytes\tendpoint\tfile\terror\tstart\tfirst_byte\tend\t"
        "duration_ns\n")
EXTENDED = ("idx\tthread\top\tclient_id\tn_objects\tbytes\tendpoint\tfile\terror\tstart\tfirst_byte\t"
            "last_byte\tend\tduration_ns\tcat\n")


def _text(path: str) -> str:
    with open(path, "rb") as f, zstandard.ZstdDecompressor().stream_reader(f, read_across_frames=True) as r:
        return r.read().decode()


def test_empty_log_is_header_only(log_path: str) -> None:
    s3dlio.init_op_log(log_path)
    assert s3dlio.is_op_log_active()
    stats = s3dlio.finalize_op_log()
    assert not s3dlio.is_op_log_active()
    assert stats is not None and stats["accepted"] == 0 and stats["written"] == 0
    assert _text(log_path) == BASE
    with open(log_path, "rb") as f:
        assert f.read(4) == b"\x28\xb5\x2f\xfd"
    assert check_warp_readable(log_path).rows == 0
    assert list(read_oplog(log_path)) == []


def test_extended_header(log_path: str, oplog_settings, root: str) -> None:
    oplog_settings(extended=True)
    s3dlio.put_bytes(root + "a", b"12345")
    s3dlio.init_op_log(log_path)
    s3dlio.get(root + "a")
    s3dlio.finalize_op_log()
    assert _text(log_path).startswith(EXTENDED)
    (row,) = rows(log_path)
    assert row.op == "GET" and row.last_byte_ns is not None and row.cat == 0
    assert check_warp_readable(log_path).columns == tuple(EXTENDED.strip().split("\t"))


def test_every_row_follows_the_field_rules(log_path: str, root: str) -> None:
    s3dlio.put_bytes(root + "x", b"x" * 100)
    s3dlio.init_op_log(log_path, client_id="client-7")
    for _ in range(5):
        s3dlio.get(root + "x")
        s3dlio.stat(root + "x")
    with pytest.raises(s3dlio.NotFoundError):
        s3dlio.get(root + "missing")
    s3dlio.list(root)
    s3dlio.finalize_op_log()
    raw = rows_as_dicts(log_path)
    assert len(raw) == 12
    idx = set()
    for r in raw:
        assert len(r) == len(BASE_COLUMNS)
        assert 0 <= int(r["thread"]) <= 65535
        assert TIME_RE.match(r["start"]) and TIME_RE.match(r["end"])
        assert r["first_byte"] == "" or TIME_RE.match(r["first_byte"])
        assert r["client_id"] == "client-7"
        assert r["endpoint"] == "file://"
        idx.add(r["idx"])
    assert idx == {str(i) for i in range(12)}
    for rec in rows(log_path):
        assert rec.duration_ns == rec.end_ns - rec.start_ns >= 0
        if rec.op == "GET" and not rec.error:
            assert rec.start_ns <= rec.first_byte_ns <= rec.end_ns
        else:
            assert rec.first_byte_ns is None


def test_failed_get_has_error_and_zero_bytes(log_path: str, root: str) -> None:
    s3dlio.init_op_log(log_path)
    with pytest.raises(s3dlio.NotFoundError):
        s3dlio.get(root + "nope")
    s3dlio.finalize_op_log()
    (row,) = rows(log_path)
    assert row.op == "GET" and row.bytes == 0 and row.error.startswith("NotFoundError: ")
    assert "\n" not in row.error and "\t" not in row.error


def test_get_range_row_has_clipped_length(log_path: str, root: str) -> None:
    s3dlio.put_bytes(root + "r", bytes(1000))
    s3dlio.init_op_log(log_path)
    assert len(s3dlio.get_range(root + "r", 900, 500)) == 100
    s3dlio.get_range(root + "r", 10, 20)
    s3dlio.finalize_op_log()
    assert [(r.op, r.bytes, r.n_objects) for r in rows(log_path)] == [("GET", 100, 1), ("GET", 20, 1)]


WEIRD = ["tab\there", 'quote"inside', "new\nline", " leading space", "\\.", '"', "cr\rx", "plain",
         "trailing\t", "\t", "a\"\"b\n\t c"]


@pytest.mark.parametrize("extended", [False, True])
def test_escaping_round_trip(tmp_path: Path, extended: bool) -> None:
    path = str(tmp_path / "esc.tsv.zst")
    sink = TsvZstdSink(path, extended=extended)
    recs = []
    for i, s in enumerate(WEIRD):
        recs.append(OpRecord(i, i, "GET", s, 1, i, s, s, s, 1_700_000_000_123_456_789 + i,
                             None if i % 2 else 1_700_000_000_123_456_790 + i,
                             (1_700_000_000_123_456_791 + i) if extended and not i % 2 else None,
                             1_700_000_000_223_456_789 + i, 100_000_000, 0))
    sink.write_rows(recs[:5])
    sink.flush()
    sink.write_rows(recs[5:])
    sink.close()
    assert check_warp_readable(path).rows == len(WEIRD)
    assert list(read_oplog(path)) == recs


def test_keys_with_special_characters_survive(log_path: str, root: str) -> None:
    names = ["tab\tkey", 'q"key', "nl\nkey", " lead"]
    for n in names:
        s3dlio.put_bytes(root + n, b"z")
    s3dlio.init_op_log(log_path)
    for n in names:
        s3dlio.get(root + n)
    s3dlio.finalize_op_log()
    files = [r.file for r in rows(log_path)]
    assert [f.rsplit("/", 1)[1] for f in files] == names


def test_checker_rejects_what_warp_rejects(tmp_path: Path) -> None:
    cctx = zstandard.ZstdCompressor()

    def write(name: str, text: str, compress: bool = True) -> str:
        p = tmp_path / name
        data = text.encode()
        p.write_bytes(cctx.compress(data) if compress else data)
        return str(p)

    good_row = ("0\t0\tGET\tc\t1\t5\tfile://\t/a\t\t2026-11-24T01:48:03.065143074Z\t\t"
                "2026-11-24T01:48:03.065143084Z\t10\n")
    assert check_warp_readable(write("ok.tsv.zst", BASE + good_row)).rows == 1
    with pytest.raises(WarpReadError, match="not zstd"):
        check_warp_readable(write("plain.tsv", BASE + good_row, compress=False))
    with pytest.raises(WarpReadError, match="out of range"):
        check_warp_readable(write("t.tsv.zst", BASE + good_row.replace("0\t0\t", "0\t70000\t", 1)))
    with pytest.raises(WarpReadError, match="bare"):
        check_warp_readable(write("q.tsv.zst", BASE + good_row.replace("/a", '/a"b')))
    with pytest.raises(WarpReadError, match="number of fields"):
        check_warp_readable(write("n.tsv.zst", BASE + good_row.replace("\t10\n", "\t10\textra\n")))
    with pytest.raises(WarpReadError, match="header lacks"):
        check_warp_readable(write("h.tsv.zst", BASE.replace("thread", "tid") + good_row))
    with pytest.raises(WarpReadError, match="RFC3339"):
        check_warp_readable(write("d.tsv.zst", BASE + good_row.replace("T01:48:03.065143074Z", " 01:48")))
    with pytest.raises(WarpReadError, match="duration_ns"):
        check_warp_readable(write("u.tsv.zst", BASE + good_row.replace("\t10\n", "\t11\n")))


def test_reinit_opens_a_new_file(tmp_path: Path, root: str) -> None:
    s3dlio.put_bytes(root + "a", b"1")
    first, second = str(tmp_path / "1.tsv.zst"), str(tmp_path / "2.tsv.zst")
    assert s3dlio.op_log_stats() is None or not s3dlio.is_op_log_active()
    s3dlio.init_op_log(first)
    s3dlio.get(root + "a")
    stats1 = s3dlio.finalize_op_log()
    assert s3dlio.finalize_op_log() == stats1  # idempotent
    assert not s3dlio.is_op_log_active()
    s3dlio.get(root + "a")  # not logged
    s3dlio.init_op_log(second)
    assert s3dlio.is_op_log_active()
    s3dlio.get(root + "a")
    s3dlio.stat(root + "a")
    assert s3dlio.op_log_stats()["accepted"] == 2
    s3dlio.finalize_op_log()
    assert len(rows(first)) == 1 and len(rows(second)) == 2


def test_init_while_active_switches_files(tmp_path: Path, root: str) -> None:
    s3dlio.put_bytes(root + "a", b"1")
    s3dlio.init_op_log(str(tmp_path / "1.tsv.zst"))
    s3dlio.get(root + "a")
    s3dlio.init_op_log(str(tmp_path / "2.tsv.zst"))
    s3dlio.get(root + "a")
    s3dlio.finalize_op_log()
    assert len(rows(str(tmp_path / "1.tsv.zst"))) == 1
    assert len(rows(str(tmp_path / "2.tsv.zst"))) == 1


def test_unwritable_path_is_config_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(ConfigError):
        s3dlio.init_op_log(str(blocker / "sub" / "ops.tsv.zst"))
    assert not s3dlio.is_op_log_active()


def test_placeholders_and_client_id(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, root: str) -> None:
    import os

    monkeypatch.setenv("RANK", "3")
    s3dlio.put_bytes(root + "a", b"1")
    s3dlio.init_op_log(str(tmp_path / "ops-{rank}-{pid}-{host}.tsv.zst"))
    s3dlio.get(root + "a")
    stats = s3dlio.finalize_op_log()
    path = stats["path"]
    assert path.endswith(f"ops-3-{os.getpid()}-{api._short_host()}.tsv.zst")
    (row,) = rows(path)
    assert row.client_id == f"{api._short_host()}-r3"
    s3dlio.set_op_log_client_id("custom")
    try:
        s3dlio.init_op_log(str(tmp_path / "b.tsv.zst"))
        s3dlio.get(root + "a")
        s3dlio.finalize_op_log()
        assert rows(str(tmp_path / "b.tsv.zst"))[0].client_id == "custom"
    finally:
        api._client_override = None


def test_lossless_counts_match(log_path: str, root: str, oplog_settings) -> None:
    oplog_settings(buf=4, flush_secs=0.01, wbufcap=2048)
    s3dlio.put_bytes(root + "a", b"x" * 10)
    s3dlio.init_op_log(log_path)
    n_threads, per_thread = 8, 250

    def work() -> None:
        for _ in range(per_thread):
            s3dlio.get(root + "a")

    threads = [threading.Thread(target=work) for _ in range(n_threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    stats = s3dlio.finalize_op_log()
    ops = n_threads * per_thread
    assert stats["lossless"] is True
    assert stats["accepted"] == stats["written"] == ops
    assert stats["dropped_full"] == 0 and stats["writer_failed"] == 0
    assert stats["frames"] >= 2
    got = rows(log_path)
    assert len(got) == ops
    assert sorted(r.idx for r in got) == list(range(ops))


def test_bounded_mode_reports_drops(log_path: str, root: str, oplog_settings) -> None:
    oplog_settings(buf=4)
    s3dlio.put_bytes(root + "a", b"x")
    s3dlio.init_op_log(log_path, lossless=False)
    writer = api._session.writer
    writer.gate.clear()  # a blocked writer
    try:
        ops = 50
        with pytest.warns(RuntimeWarning, match="dropped"):
            for _ in range(ops):
                s3dlio.get(root + "a")
    finally:
        writer.gate.set()
    stats = s3dlio.finalize_op_log()
    assert stats["lossless"] is False
    assert stats["dropped_full"] > 0
    assert stats["accepted"] + stats["dropped_full"] == ops
    got = rows(log_path)
    assert len(got) + stats["dropped_full"] == ops
    assert _text(log_path).endswith(f"# dropped={stats['dropped_full']}\n")
    assert check_warp_readable(log_path).comments == (f"# dropped={stats['dropped_full']}",)


def test_finish_after_finalize_is_rejected(log_path: str) -> None:
    s3dlio.init_op_log(log_path)
    rec = api._session.recorder
    span = rec.start()
    s3dlio.finalize_op_log()
    rec.finish(span, "GET", n_objects=1, nbytes=1, endpoint="file://", file="/x")
    assert rec.rejected_closed == 1


def test_write_error_stops_log_not_io(log_path: str, root: str, oplog_settings) -> None:
    oplog_settings(writer="thread")
    s3dlio.put_bytes(root + "a", b"x")
    s3dlio.init_op_log(log_path)
    session = api._session

    def broken(*_a: object, **_k: object) -> None:
        raise OSError(28, "No space left on device")

    session.writer.sink.flush = broken
    s3dlio.get(root + "a")
    session.writer.sink.close = broken
    with pytest.warns(RuntimeWarning, match="No space left"):
        stats = s3dlio.finalize_op_log()
    assert "No space left" in stats["writer_error"]
    assert stats["writer_failed"] >= 1


def test_jsonl_sink(tmp_path: Path, root: str) -> None:
    path = str(tmp_path / "ops.jsonl")
    s3dlio.put_bytes(root + "a", b"abc")
    s3dlio.init_op_log(path)
    s3dlio.get(root + "a")
    s3dlio.stat(root + "a")
    s3dlio.finalize_op_log()
    import json

    lines = [json.loads(x) for x in Path(path).read_text().splitlines()]
    assert [x["op"] for x in lines] == ["GET", "STAT"]
    assert [r.op for r in read_oplog(path)] == ["GET", "STAT"]


def test_env_file_starts_logging_in_a_fresh_process(tmp_path: Path, root: str) -> None:
    import os
    import subprocess
    import sys

    s3dlio.put_bytes(root + "a", b"abc")
    env = dict(os.environ, S3DLIO_OPLOG_FILE=str(tmp_path / "env-{pid}.tsv.zst"))
    code = (f"import os, s3dlio; s3dlio.get({root + 'a'!r}); s3dlio.stat({root + 'a'!r}); "
            "print(os.getpid())")
    out = subprocess.run([sys.executable, "-c", code], env=env, check=True, capture_output=True, text=True,
                         timeout=60)
    pid = int(out.stdout.strip())
    assert [r.op for r in rows(str(tmp_path / f"env-{pid}.tsv.zst"))] == ["GET", "STAT"]


def test_sort_at_finalize(log_path: str, root: str, oplog_settings) -> None:
    oplog_settings(sort=True)
    s3dlio.put_bytes(root + "a", b"abc")
    s3dlio.init_op_log(log_path)
    rec = api._session.recorder
    early = rec.start()
    s3dlio.get(root + "a")
    rec.finish(early, "STAT", n_objects=1, nbytes=3, endpoint="file://", file="/early")
    s3dlio.finalize_op_log()
    got = rows(log_path)
    assert [r.op for r in got] == ["STAT", "GET"]  # sorted by start, idx renumbered
    assert [r.idx for r in got] == [0, 1]


def test_set_client_id_while_active(log_path: str, root: str) -> None:
    s3dlio.put_bytes(root + "a", b"abc")
    s3dlio.init_op_log(log_path)
    try:
        s3dlio.set_op_log_client_id("late-id")
        s3dlio.get(root + "a")
    finally:
        s3dlio.finalize_op_log()
        api._client_override = None
    assert rows(log_path)[0].client_id == "late-id"


def test_clock_offset_setting(log_path: str, root: str, oplog_settings) -> None:
    import time

    oplog_settings(clock_offset_ns=3_600 * 10**9)
    s3dlio.put_bytes(root + "a", b"abc")
    s3dlio.init_op_log(log_path)
    before = time.time_ns()
    s3dlio.get(root + "a")
    s3dlio.finalize_op_log()
    (row,) = rows(log_path)
    assert row.start_ns - before >= 3_599 * 10**9
    assert row.start_ns <= row.first_byte_ns <= row.end_ns


# --------------------------------------------------------------------------- process writer


def test_process_writer_counts_and_rows(log_path: str, root: str, oplog_settings) -> None:
    oplog_settings(writer="process", buf=64, flush_secs=0.02)
    s3dlio.put_bytes(root + "a", b"x" * 10)
    s3dlio.init_op_log(log_path)
    assert api._session.writer.proc.pid > 0

    def work() -> None:
        for _ in range(300):
            s3dlio.get(root + "a")

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    stats = s3dlio.finalize_op_log()
    assert stats["writer"] == "process"
    assert stats["accepted"] == stats["written"] == 2400 and stats["writer_failed"] == 0
    got = rows(log_path)
    assert len(got) == 2400 and sorted(r.idx for r in got) == list(range(2400))


def test_process_writer_helper_killed(log_path: str, root: str, oplog_settings) -> None:
    oplog_settings(writer="process")
    s3dlio.put_bytes(root + "a", b"x")
    s3dlio.init_op_log(log_path)
    proc = api._session.writer.proc
    proc.kill()
    proc.wait()
    s3dlio.get(root + "a")  # I/O keeps working
    with pytest.warns(RuntimeWarning, match="helper process"):
        stats = s3dlio.finalize_op_log()
    assert stats["writer_error"] and stats["writer_failed"] >= 1
    assert check_warp_readable(log_path).rows == 0  # the header written at open survives


def test_process_writer_unwritable_path(tmp_path: Path, oplog_settings) -> None:
    oplog_settings(writer="process")
    (tmp_path / "f").write_text("x")
    with pytest.raises(ConfigError):
        s3dlio.init_op_log(str(tmp_path / "f" / "ops.tsv.zst"))
