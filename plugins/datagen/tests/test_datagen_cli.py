"""``s3-cli put`` / ``s3-cli generate`` through core's CLI entry point."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("s3dlio_posix")
main = pytest.importorskip("s3dlio.cli.main").main

pytestmark = pytest.mark.timeout(120)


def _files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


@pytest.mark.parametrize("size", ["0", "1", "100", "4095", "4097", "1MiB"])
def test_put_exact_sizes(tmp_path: Path, size: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["put", tmp_path.as_uri(), "-n", "4", "-s", size, "-j", "2"]) == 0
    files = _files(tmp_path)
    expected = {"0": 0, "1": 1, "100": 100, "4095": 4095, "4097": 4097, "1MiB": 1 << 20}[size]
    assert [f.name for f in files] == [f"object_{i}_of_4.dat" for i in range(4)]
    assert all(f.stat().st_size == expected for f in files)
    assert "Uploaded 4 objects" in capsys.readouterr().err


def test_put_json_unique_and_flags(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["--json", "put", tmp_path.as_uri() + "/x", "-n", "1_0", "-s", "64k", "-t", "k{}.bin",
                 "-o", "raw", "-d", "1", "-x", "1", "-c", "--seed", "7"])
    assert code == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert lines[-1]["type"] == "summary" and lines[-1]["ok"] == 10 and lines[-1]["bytes"] == 640_000
    assert sum(1 for r in lines if r["type"] == "object") == 10
    datas = [f.read_bytes() for f in _files(tmp_path / "x")]
    assert len({hashlib.sha256(d).digest() for d in datas}) == 10


def test_put_usage_errors(tmp_path: Path) -> None:
    assert main(["put", tmp_path.as_uri(), "-o", "jpeg"]) == 2
    assert main(["put", tmp_path.as_uri(), "-s", "1.5"]) == 2
    assert main(["put", tmp_path.as_uri(), "-x", "0"]) == 2
    assert main(["put", tmp_path.as_uri(), "-j", "5000"]) == 2
    assert _files(tmp_path) == []


def test_generate_dlio_layout_deterministic_resumable(tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    uri = tmp_path.as_uri() + "/train"
    assert main(["generate", uri, "-n", "8", "-s", "4KiB", "-f", "npz", "--seed", "3",
                 "--rank", "0", "--world-size", "2"]) == 0
    names = [f.name for f in _files(tmp_path / "train")]
    assert names == [f"img_{i}_of_8.npz" for i in (0, 2, 4, 6)]
    assert main(["generate", uri, "-n", "8", "-s", "4KiB", "-f", "npz", "--seed", "3",
                 "--rank", "1", "--world-size", "2"]) == 0
    first = {f.name: f.read_bytes() for f in _files(tmp_path / "train")}
    assert len(first) == 8
    with np.load(tmp_path / "train" / "img_5_of_8.npz") as z:
        assert z["x"].shape == (4096,)
    # deterministic: regenerating into another directory gives the same bytes
    assert main(["generate", tmp_path.as_uri() + "/again", "-n", "8", "-s", "4KiB", "--seed", "3",
                 "--world-size", "1", "--rank", "0"]) == 0
    again = {f.name: f.read_bytes() for f in _files(tmp_path / "again")}
    assert again == first
    # resumable
    (tmp_path / "train" / "img_3_of_8.npz").unlink()
    capsys.readouterr()
    assert main(["--json", "generate", uri, "-n", "8", "-s", "4KiB", "--seed", "3", "--skip-existing",
                 "--rank", "0", "--world-size", "1"]) == 0
    summary = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert summary["ok"] == 1 and summary["skipped"] == 7
    assert (tmp_path / "train" / "img_3_of_8.npz").read_bytes() == first["img_3_of_8.npz"]


@pytest.mark.parametrize("fmt,ext", [("raw", "dat"), ("npy", "npy"), ("tfrecord", "tfrecord")])
def test_generate_formats(tmp_path: Path, fmt: str, ext: str) -> None:
    assert main(["generate", tmp_path.as_uri(), "-n", "2", "-s", "100", "-f", fmt,
                 "--rank", "0", "--world-size", "1"]) == 0
    files = _files(tmp_path)
    assert [f.name for f in files] == [f"img_{i}_of_2.{ext}" for i in range(2)]
    if fmt == "raw":
        assert all(f.stat().st_size == 100 for f in files)
    if fmt == "tfrecord":
        assert all(f.stat().st_size == 116 for f in files)
    if fmt == "npy":
        assert np.load(files[0]).shape == (100,)


def test_rank_world_from_environment() -> None:
    from s3dlio_datagen.cli import rank_and_world

    assert rank_and_world("auto", "auto", {}) == (0, 1)
    assert rank_and_world("auto", "auto", {"RANK": "2", "WORLD_SIZE": "4"}) == (2, 4)
    env = {"OMPI_COMM_WORLD_RANK": "1", "OMPI_COMM_WORLD_SIZE": "3"}
    assert rank_and_world("auto", "auto", env) == (1, 3)
    from s3dlio.cli.context import UsageError

    with pytest.raises(UsageError):
        rank_and_world("3", "2", {})


def test_put_ranks_split_and_resume(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    uri = tmp_path.as_uri()
    assert main(["put", uri, "-n", "5", "-s", "10", "--rank", "1", "--world-size", "2"]) == 0
    assert [f.name for f in _files(tmp_path)] == ["object_1_of_5.dat", "object_3_of_5.dat"]
    (tmp_path / "object_1_of_5.dat").write_bytes(b"keep")
    assert main(["put", uri, "-n", "5", "-s", "10", "--skip-existing"]) == 0
    assert len(_files(tmp_path)) == 5
    assert (tmp_path / "object_1_of_5.dat").read_bytes() == b"keep"
    assert "2 skipped" in capsys.readouterr().err
    assert main(["put", uri, "-n", "5", "--rank", "2", "--world-size", "2"]) == 2
    assert main(["generate", uri, "-n", "5", "--rank", "4", "--world-size", "4"]) == 2
