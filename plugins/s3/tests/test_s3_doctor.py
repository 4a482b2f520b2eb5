"""``s3-cli doctor s3://…`` against moto: endpoint, credentials (redacted), TLS, reachability,
clock skew from the ``Date`` header, the ``--write`` round trip, and what fails how."""

from __future__ import annotations

import json
import os
from typing import Any

import pytest

import s3dlio
from s3dlio.cli.main import main
from s3dlio.plugin import runtime as rt

pytestmark = pytest.mark.timeout(120)


def _doctor(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, list[dict[str, Any]], str]:
    """Run ``s3-cli --json doctor ARGV``: the exit code, the check records, the raw output."""
    capsys.readouterr()
    code = main(["--json", "doctor", *argv])
    out, err = capsys.readouterr()
    records = [json.loads(line) for line in out.splitlines()]
    assert records[-1]["type"] == "summary"
    return code, [r for r in records if r["type"] == "check"], out + err


def _by_name(checks: list[dict[str, Any]], section: str) -> dict[str, dict[str, Any]]:
    return {c["name"]: c for c in checks if c["section"] == section}


def test_doctor_of_a_bucket_with_write(bucket: str, moto: Any, capsys: pytest.CaptureFixture[str]) -> None:
    s3dlio.put_bytes(bucket + "data/one.bin", b"1")
    uri = bucket + "data/"
    code, checks, raw = _doctor(capsys, uri, "--write")
    assert code == 0, raw
    found = _by_name(checks, uri)
    assert found["backend"]["status"] == "ok" and found["backend"]["plugin"] == "s3"
    assert found["endpoint"]["detail"] == moto.endpoint_url
    assert found["endpoint"]["region"] == "us-east-1" and found["endpoint"]["local"] is False
    assert found["credentials"]["detail"] == f"env (access key {os.environ['AWS_ACCESS_KEY_ID'][:4]}****)"
    assert found["tls"]["detail"] == "no (plain http to this machine)"
    assert found["reachable"]["status"] == "ok" and found["reachable"]["entries"] == 1
    assert found["clock"]["status"] == "ok" and abs(found["clock"]["clock_skew_secs"]) < 5
    steps = _by_name(checks, uri + " (--write)")
    assert [steps[s]["status"] for s in ("put", "get", "delete")] == ["ok", "ok", "ok"]
    assert steps["put"]["key"].startswith(uri + ".s3dlio-doctor-")
    assert s3dlio.list(bucket, recursive=True) == [bucket + "data/one.bin"]  # nothing left behind
    secret = os.environ["AWS_SECRET_ACCESS_KEY"]
    assert secret not in raw and os.environ["AWS_ACCESS_KEY_ID"] not in raw


def test_doctor_of_an_object_and_of_the_account(bucket: str, capsys: pytest.CaptureFixture[str]) -> None:
    s3dlio.put_bytes(bucket + "obj.bin", b"12345")
    code, checks, raw = _doctor(capsys, bucket + "obj.bin")
    assert code == 0, raw
    reachable = _by_name(checks, bucket + "obj.bin")["reachable"]
    assert reachable["detail"].startswith("stat: an object of 5 bytes") and reachable["target"] == "object"
    code, checks, raw = _doctor(capsys, "s3://")
    reachable = _by_name(checks, "s3://")["reachable"]
    assert code == 0 and reachable["target"] == "account", raw
    assert _by_name(checks, "s3://")["clock"]["status"] == "ok"  # ListBuckets' Date header


def test_doctor_of_a_missing_bucket_fails_with_a_fix(moto: Any, capsys: pytest.CaptureFixture[str]) -> None:
    uri = "s3://no-such-bucket-for-doctor/"
    code, checks, raw = _doctor(capsys, uri, "--write")
    assert code == 1, raw
    found = _by_name(checks, uri)
    assert found["reachable"]["status"] == "fail" and "bucket" in found["reachable"]["fix"]
    assert found["clock"]["status"] == "ok"  # the 404 answer still carries a Date header
    assert {c["status"] for c in _by_name(checks, uri + " (--write)").values()} == {"skip"}


def test_doctor_of_an_unreachable_endpoint(moto: Any, monkeypatch: pytest.MonkeyPatch,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"):
        monkeypatch.setenv(name, "http://127.0.0.1:9")  # discard port: nothing listens
    monkeypatch.setenv("S3DLIO_MAX_RETRY_ATTEMPTS", "1")
    rt.reset()
    code, checks, raw = _doctor(capsys, "s3://some-bucket/")
    assert code == 1, raw
    found = _by_name(checks, "s3://some-bucket/")
    assert found["reachable"]["status"] == "fail" and "endpoint" in found["reachable"]["fix"]
    assert found["clock"]["detail"].startswith("unknown")


def test_doctor_without_credentials_is_exit_5(bucket: str, monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(name)
    rt.reset()
    code, checks, raw = _doctor(capsys, bucket)
    assert code == 5, raw
    problems = [c for c in checks if c["section"] == bucket and c["status"] == "fail"]
    assert any("no S3 credentials found" in c["detail"] for c in problems)
    assert _by_name(checks, bucket)["credentials"]["detail"] == "none found"


def test_doctor_reports_a_missing_ca_bundle_for_https(moto: Any, monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture[str],
                                                      tmp_path: Any) -> None:
    for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"):
        monkeypatch.setenv(name, "https://127.0.0.1:9")
    monkeypatch.setenv("AWS_CA_BUNDLE", str(tmp_path / "missing-ca.pem"))
    monkeypatch.setenv("S3DLIO_MAX_RETRY_ATTEMPTS", "1")
    rt.reset()
    code, checks, raw = _doctor(capsys, "s3://some-bucket/")
    tls = _by_name(checks, "s3://some-bucket/")["tls"]
    assert code == 5, raw
    assert tls["status"] == "fail" and "missing-ca.pem does not exist" in tls["detail"]
