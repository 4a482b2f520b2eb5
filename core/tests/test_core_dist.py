"""s3dlio.dist (world detection, shard) and the rank flags of upload/download/cp (memory://)."""

from __future__ import annotations

import sys
import types
import uuid
from pathlib import Path

import pytest

import s3dlio
from s3dlio.cli.main import main
from s3dlio.dist import World, parse_world_arg, shard, world
from s3dlio.errors import ConfigError


@pytest.mark.parametrize(("env", "expected"), [
    ({}, World(0, 1, 0, "default")),
    ({"RANK": "2", "WORLD_SIZE": "4", "LOCAL_RANK": "1"}, World(2, 4, 1, "torchrun")),
    ({"OMPI_COMM_WORLD_RANK": "1", "OMPI_COMM_WORLD_SIZE": "3", "OMPI_COMM_WORLD_LOCAL_RANK": "1"},
     World(1, 3, 1, "openmpi")),
    ({"PMI_RANK": "5", "PMI_SIZE": "8", "MPI_LOCALRANKID": "2"}, World(5, 8, 2, "pmi")),
    ({"SLURM_PROCID": "3", "SLURM_NTASKS": "4", "SLURM_LOCALID": "0"}, World(3, 4, 0, "slurm")),
    # torchrun wins over an enclosing SLURM allocation; a rank without a size is ignored
    ({"RANK": "1", "WORLD_SIZE": "2", "SLURM_PROCID": "7", "SLURM_NTASKS": "8"}, World(1, 2, 0, "torchrun")),
    ({"RANK": "1", "SLURM_PROCID": "7", "SLURM_NTASKS": "8"}, World(7, 8, 0, "slurm")),
])
def test_world_from_launcher_variables(env: dict[str, str], expected: World) -> None:
    assert world(environ=env) == expected


def test_world_explicit_and_partial() -> None:
    assert world(3, 8, environ={"RANK": "0", "WORLD_SIZE": "2"}) == World(3, 8, 0, "explicit")
    partial = world(world_size=4, environ={"RANK": "3", "WORLD_SIZE": "9"})
    assert partial == World(3, 4, 0, "explicit+torchrun")
    rank, size, local, source = world(environ={})
    assert (rank, size, local, source) == (0, 1, 0, "default")
    with pytest.raises(ConfigError, match=r"rank must be in 0\.\.1"):
        world(2, 2, environ={})
    with pytest.raises(ConfigError, match="world size"):
        world(0, 0, environ={})
    with pytest.raises(ConfigError, match="from slurm"):
        world(environ={"SLURM_PROCID": "4", "SLURM_NTASKS": "4"})


def test_world_uses_an_initialised_torch_distributed_only(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = types.ModuleType("torch.distributed")
    state = {"init": False}
    fake.is_available = lambda: True  # type: ignore[attr-defined]
    fake.is_initialized = lambda: state["init"]  # type: ignore[attr-defined]
    fake.get_rank = lambda: 5  # type: ignore[attr-defined]
    fake.get_world_size = lambda: 6  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "torch.distributed", fake)
    env = {"RANK": "1", "WORLD_SIZE": "2", "LOCAL_RANK": "1"}
    assert world(environ=env).source == "torchrun"  # imported but not initialised
    state["init"] = True
    assert world(environ=env) == World(5, 6, 1, "torch")


def test_world_never_imports_torch() -> None:
    world(environ={})
    assert "torch" not in sys.modules or "torch.distributed" in sys.modules


def test_shard_is_disjoint_and_covers() -> None:
    items = [f"k{i}" for i in range(10)]
    shares = [shard(items, (r, 3)) for r in range(3)]
    assert shares[0] == ["k0", "k3", "k6", "k9"]
    assert sorted(k for share in shares for k in share) == sorted(items)
    assert shard(iter(items), World(1, 4, 0, "explicit")) == ["k1", "k5", "k9"]
    assert shard(items, (0, 1)) == items
    with pytest.raises(ConfigError):
        shard(items, (3, 3))


def test_parse_world_arg() -> None:
    assert parse_world_arg("auto", "--rank") is None
    assert parse_world_arg(None, "--rank") is None
    assert parse_world_arg("7", "--rank") == 7
    with pytest.raises(ConfigError, match="--rank"):
        parse_world_arg("x", "--rank")
    with pytest.raises(ConfigError, match="negative"):
        parse_world_arg("-1", "--world-size")


@pytest.fixture
def mem() -> str:
    return f"memory://dist-{uuid.uuid4().hex[:8]}/"


def _keys(prefix: str) -> list[str]:
    return sorted(u.rsplit("/", 1)[1] for u in s3dlio.list(prefix, recursive=True))


def test_cli_upload_ranks_cover_and_resume(tmp_path: Path, mem: str, monkeypatch: pytest.MonkeyPatch) -> None:
    for i in range(7):
        (tmp_path / f"f{i}.bin").write_bytes(bytes([i]) * (i + 1))
    src = str(tmp_path / "*.bin")
    assert main(["upload", src, mem, "--rank", "1", "--world-size", "3"]) == 0
    assert _keys(mem) == ["f1.bin", "f4.bin"]
    # ranks from the launcher variables (torchrun here)
    for r in (0, 2):
        monkeypatch.setenv("RANK", str(r))
        monkeypatch.setenv("WORLD_SIZE", "3")
        assert main(["upload", src, mem]) == 0
    assert _keys(mem) == [f"f{i}.bin" for i in range(7)]
    s3dlio.put_bytes(mem + "f0.bin", b"sentinel")  # --skip-existing leaves it
    assert main(["upload", src, mem, "--rank", "0", "--world-size", "1", "--skip-existing"]) == 0
    assert bytes(s3dlio.get(mem + "f0.bin")) == b"sentinel"


def test_cli_download_and_cp_ranks(tmp_path: Path, mem: str) -> None:
    for i in range(5):
        s3dlio.put_bytes(f"{mem}d/o{i}", b"x" * (i + 1))
    out = tmp_path / "out"
    assert main(["download", "-r", mem + "d/", str(out), "--rank", "0", "--world-size", "2"]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["o0", "o2", "o4"]
    (out / "o0").write_bytes(b"yy")  # wrong size: a resumed download replaces it
    (out / "o2").write_bytes(b"z" * 3)  # right size: kept
    assert main(["download", "-r", mem + "d/", str(out), "--skip-existing", "--world-size", "1"]) == 0
    assert (out / "o0").read_bytes() == b"x" and (out / "o2").read_bytes() == b"zzz"
    assert sorted(p.name for p in out.iterdir()) == [f"o{i}" for i in range(5)]

    dst = mem + "copy/"
    assert main(["cp", "-r", mem + "d/", dst, "--rank", "1", "--world-size", "2"]) == 0
    assert _keys(dst) == ["o1", "o3"]
    assert main(["cp", "-r", mem + "d/", dst, "--rank", "0", "--world-size", "2", "--skip-existing"]) == 0
    assert _keys(dst) == [f"o{i}" for i in range(5)]
    # a rank with nothing to do succeeds
    assert main(["cp", "-r", mem + "d/", dst, "--rank", "6", "--world-size", "7"]) == 0


@pytest.mark.parametrize("cmd", ["upload", "download", "cp"])
def test_cli_rank_out_of_range_is_usage_error(cmd: str, tmp_path: Path, mem: str,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    argv = {"upload": ["upload", str(tmp_path), mem], "download": ["download", mem, str(tmp_path)],
            "cp": ["cp", "-r", mem, str(tmp_path)]}[cmd]
    assert main([*argv, "--rank", "2", "--world-size", "2"]) == 2
    assert "rank must be in 0..1" in capsys.readouterr().err
    assert main([*argv, "--rank", "x"]) == 2


def test_configure_tokio_threads_divides_the_cpus_by_the_world_size(monkeypatch: pytest.MonkeyPatch) -> None:
    from s3dlio.api import configure
    from s3dlio.engines.pool import cpu_count

    monkeypatch.setattr(configure, "_io_threads", None)
    # configure_tokio_threads exports S3DLIO_RT_THREADS: setenv first so it is restored after.
    monkeypatch.setenv("S3DLIO_RT_THREADS", "0")
    monkeypatch.delenv("S3DLIO_RT_THREADS")
    for name in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE",
                 "PMI_RANK", "PMI_SIZE", "SLURM_PROCID", "SLURM_NTASKS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("OMPI_COMM_WORLD_RANK", "0")
    monkeypatch.setenv("OMPI_COMM_WORLD_SIZE", "2")
    assert configure.configure_tokio_threads() == max(1, cpu_count() // 2)
    assert configure.configure_tokio_threads(7) == max(1, cpu_count() // 2)  # the first call wins
    monkeypatch.setattr(configure, "_io_threads", None)
    monkeypatch.setenv("OMPI_COMM_WORLD_RANK", "5")  # rank beyond the size: ignored here
    assert configure.configure_tokio_threads() == cpu_count()
