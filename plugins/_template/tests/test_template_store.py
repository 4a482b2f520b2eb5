"""What the tmpl:// backend does beyond the shared suites: its layout, settings and key rules."""

from __future__ import annotations

import importlib.metadata
import os
from pathlib import Path

import pytest

import s3dlio
from s3dlio.errors import ConfigError, InvalidPathError, NotFoundError
from s3dlio.plugin import runtime
from s3dlio.store.middleware import StoreWrapper
from s3dlio.testing import (
    assert_errors_translate,
    assert_failed_write_left_no_trace,
    put_with_file_size_limit,
)

pytest.importorskip("s3dlio_template")


def test_installed_entry_point_registers_the_scheme() -> None:
    (ep,) = importlib.metadata.entry_points(group="s3dlio", name="template")
    assert ep.value == "s3dlio_template.plugin"
    assert ep.dist is not None and ep.dist.name == "s3dlio-template"
    spec = runtime.runtime().host.backends.spec_for("tmpl")
    assert spec.factory == "s3dlio_template.store:TemplateStore"
    assert spec.install_hint == "pip install s3dlio-template"
    store, key = runtime.resolve("tmpl://bucket/k")
    while isinstance(store, StoreWrapper):  # core's middleware wraps every store
        store = store.inner
    assert type(store).__module__ + "." + type(store).__name__ == "s3dlio_template.store.TemplateStore"
    assert key == "k"
    assert store.root == "tmpl://bucket/" and store.backend == "template"


def test_objects_are_files_under_data_dir(data_dir: Path) -> None:
    s3dlio.put_bytes("tmpl://b1/dir/obj.bin", b"payload")
    assert (data_dir / "b1" / "dir" / "obj.bin").read_bytes() == b"payload"
    (data_dir / "b2").mkdir(parents=True)
    (data_dir / "b2" / "outside").write_bytes(b"written without s3dlio")
    assert s3dlio.get("tmpl://b2/outside") == b"written without s3dlio"
    assert s3dlio.list("tmpl://b1/", recursive=True) == ["tmpl://b1/dir/obj.bin"]
    assert s3dlio.list("tmpl://b2/") == ["tmpl://b2/outside"]  # buckets are separate
    assert s3dlio.list("tmpl://b3/") == []  # a bucket without a directory is empty


def test_data_dir_from_the_config_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    configured = tmp_path / "from-toml"
    config = tmp_path / "s3dlio.toml"
    config.write_text(f'[template]\ndata_dir = "{configured}"\n')
    monkeypatch.delenv("TMPL_DATA_DIR")
    monkeypatch.setenv("S3DLIO_CONFIG", str(config))
    runtime.reset()
    assert runtime.runtime().settings.section("template").data_dir == str(configured)
    s3dlio.put_bytes("tmpl://b/k", b"v")
    assert (configured / "b" / "k").read_bytes() == b"v"


def test_missing_data_dir_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TMPL_DATA_DIR")
    runtime.reset()
    with pytest.raises(ConfigError, match=r"\[template\] data_dir .*TMPL_DATA_DIR"):
        s3dlio.get("tmpl://b/k")


@pytest.mark.parametrize("uri", [
    "tmpl:///k",  # no bucket
    "tmpl://../k",
    "tmpl://b/../../escape",
    "tmpl://b/a/./c",
    "tmpl://b/a//c",
    "tmpl://b/dir//",
    "tmpl://b/nul\x00",
    "tmpl://b/.k.tmpl-tmp-1234",  # would pose as an in-progress write
])
def test_keys_that_would_leave_the_bucket_are_refused(uri: str, tmp_path: Path) -> None:
    before = sorted(tmp_path.rglob("*"))
    with pytest.raises(InvalidPathError) as info:
        s3dlio.put_bytes(uri, b"x")
    assert info.value.uri == uri
    with pytest.raises(InvalidPathError):
        s3dlio.get(uri)
    assert sorted(tmp_path.rglob("*")) == before


def test_errors_are_typed_and_name_op_and_uri(data_dir: Path) -> None:
    missing = "tmpl://b/no/such.bin"
    assert_errors_translate(lambda: s3dlio.get(missing), NotFoundError, uri=missing, op="get",
                            builtin=FileNotFoundError)
    s3dlio.put_bytes("tmpl://b/dir/obj", b"1")
    err = assert_errors_translate(lambda: s3dlio.get("tmpl://b/dir"), InvalidPathError,
                                  uri="tmpl://b/dir", op="get")
    assert isinstance(err.__cause__, IsADirectoryError)  # the OS error stays chained
    assert_errors_translate(lambda: s3dlio.stat("tmpl://b/dir"), NotFoundError, op="stat")


def test_failed_write_leaves_no_trace(data_dir: Path) -> None:
    uri = "tmpl://b/big.bin"
    s3dlio.put_bytes(uri, b"old content")
    report = put_with_file_size_limit(uri, size=(1 << 20) + 5, limit=64 * 1024)
    destination = data_dir / "b" / "big.bin"
    assert_failed_write_left_no_trace(report, uri, destination, b"old content")
    assert os.listdir(destination.parent) == ["big.bin"]  # not even our own temp name


def test_in_progress_writes_are_not_listed(data_dir: Path) -> None:
    s3dlio.put_bytes("tmpl://b/obj", b"1")
    (data_dir / "b" / ".obj.tmpl-tmp-abc123").write_bytes(b"a crashed writer's leftover")
    assert s3dlio.list("tmpl://b/", recursive=True) == ["tmpl://b/obj"]
    assert s3dlio.list("tmpl://b/") == ["tmpl://b/obj"]


def test_recursive_delete_removes_the_emptied_directories(data_dir: Path) -> None:
    s3dlio.put_many([("tmpl://b/t/a", b"1"), ("tmpl://b/t/u/v", b"2"), ("tmpl://b/keep", b"3")])
    s3dlio.mkdir("tmpl://b/made")
    assert (data_dir / "b" / "made").is_dir()  # mkdir makes a real directory, not a marker
    assert s3dlio.list("tmpl://b/") == ["tmpl://b/keep", "tmpl://b/made/", "tmpl://b/t/"]
    s3dlio.delete("tmpl://b/t", recursive=True)
    assert not (data_dir / "b" / "t").exists()
    assert s3dlio.list("tmpl://b/") == ["tmpl://b/keep", "tmpl://b/made/"]
