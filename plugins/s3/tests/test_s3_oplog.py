"""With s3dlio-oplog installed: S3 requests, retries and multipart uploads are logged."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from s3test_support import FaultProxy

import s3dlio
from s3dlio.plugin import runtime as rt
from s3dlio.store.multipart import MultipartUploadWriter

pytest.importorskip("s3dlio_s3")
pytest.importorskip("s3dlio_oplog")
pytestmark = pytest.mark.timeout(60)


def test_retries_and_multipart_are_rows(bucket: str, moto: Any, tmp_path: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    from s3dlio_oplog.testing import read_checked

    s3dlio.put_bytes(bucket + "obj", b"payload")
    with FaultProxy(moto.endpoint_url, status=503, code="SlowDown", fail=1) as proxy:
        monkeypatch.setenv("AWS_ENDPOINT_URL", proxy.endpoint_url)
        monkeypatch.setenv("AWS_ENDPOINT_URL_S3", proxy.endpoint_url)
        monkeypatch.setenv("S3DLIO_RETRY_BASE_MS", "5")
        rt.reset()
        log = tmp_path / "ops.tsv.zst"
        s3dlio.init_op_log(str(log))
        try:
            assert s3dlio.get(bucket + "obj") == b"payload"
            with MultipartUploadWriter.from_uri(bucket + "mp", part_size=5 << 20) as writer:
                writer.write(b"m" * (11 << 20))
        finally:
            s3dlio.finalize_op_log()
    rows = read_checked(str(log))
    gets = [r for r in rows if r.op == "GET"]
    assert [r.error.split(":")[0] for r in gets] == ["retry 1/3", ""]
    assert gets[1].bytes == len(b"payload")
    assert all(r.endpoint == proxy.endpoint_url for r in gets)
    puts = [r for r in rows if r.op == "PUT"]
    assert len(puts) == 1  # a multipart upload is one row (parts are not logged)
    assert puts[0].bytes == 11 << 20 and puts[0].error == ""
    assert puts[0].file == bucket[5:] + "mp"
