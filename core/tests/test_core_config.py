"""Configuration: precedence with sources, validation, warnings, redaction."""

from __future__ import annotations

import warnings

import attrs
import pytest

from s3dlio.config import (
    ConfigSchema,
    ConfigWarning,
    core_schema,
    load_settings,
    redacted_value,
    setting,
)
from s3dlio.errors import ConfigError


@attrs.define
class DemoSettings:
    threads: int = setting(4, env="S3DLIO_DEMO_THREADS", minimum=1, maximum=64)
    buffer_mb: int = setting(8, env="S3DLIO_DEMO_BUFFER_MB", unit="MB", minimum=1)
    mode: str = setting("fast", env="S3DLIO_DEMO_MODE", choices=("fast", "safe"))
    enabled: bool = setting(False, env="S3DLIO_DEMO_ENABLED")
    token: str = setting("", env="S3DLIO_DEMO_TOKEN", secret=True)
    endpoint: str = setting("", env="S3DLIO_DEMO_ENDPOINT")


def schema() -> ConfigSchema:
    s = core_schema()
    s.add_section("demo", DemoSettings)
    return s


@pytest.fixture
def cfg_file(tmp_path):  # type: ignore[no-untyped-def]
    path = tmp_path / "s3dlio.toml"
    path.write_text('[demo]\nthreads = 8\nmode = "safe"\n[core]\nrange_concurrency = 16\n')
    return path


def test_defaults_when_nothing_set(tmp_path) -> None:  # type: ignore[no-untyped-def]
    s = load_settings(schema(), environ={}, config_file=None, file_data={})
    assert s.demo.threads == 4 and s.source_of("demo", "threads") == "default"
    assert s.core.range_concurrency == 0


def test_precedence_explicit_env_file_default(cfg_file) -> None:  # type: ignore[no-untyped-def]
    env = {"S3DLIO_DEMO_THREADS": "12", "S3DLIO_DEMO_ENABLED": "yes"}
    s = load_settings(schema(), environ=env, config_file=cfg_file, explicit={"demo": {"threads": 20}})
    assert s.demo.threads == 20 and s.source_of("demo", "threads") == "explicit"
    assert s.demo.enabled is True and s.source_of("demo", "enabled") == "env:S3DLIO_DEMO_ENABLED"
    assert s.demo.mode == "safe" and s.source_of("demo", "mode") == f"file:{cfg_file}"
    assert s.demo.buffer_mb == 8 and s.source_of("demo", "buffer_mb") == "default"
    assert s.core.range_concurrency == 16
    s2 = load_settings(schema(), environ=env, config_file=cfg_file)
    assert s2.demo.threads == 12 and s2.source_of("demo", "threads") == "env:S3DLIO_DEMO_THREADS"
    s3 = load_settings(schema(), environ={}, config_file=cfg_file)
    assert s3.demo.threads == 8
    rows = {(r.section, r.name): r for r in s.describe()}
    assert rows[("demo", "threads")].source == "explicit"
    assert rows[("demo", "mode")].source.startswith("file:")


def test_config_file_from_env_variable(cfg_file) -> None:  # type: ignore[no-untyped-def]
    s = load_settings(schema(), environ={"S3DLIO_CONFIG": str(cfg_file)})
    assert s.demo.threads == 8
    with pytest.raises(ConfigError, match="S3DLIO_CONFIG"):
        load_settings(schema(), environ={"S3DLIO_CONFIG": str(cfg_file) + ".missing"})


def test_invalid_toml_is_config_error(tmp_path) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "bad.toml"
    bad.write_text("[demo\nthreads = ")
    with pytest.raises(ConfigError, match="invalid TOML"):
        load_settings(schema(), environ={}, config_file=bad)


@pytest.mark.parametrize(
    ("env", "needle"),
    [
        ({"S3DLIO_DEMO_THREADS": "many"}, "S3DLIO_DEMO_THREADS"),
        ({"S3DLIO_DEMO_THREADS": "0"}, "minimum"),
        ({"S3DLIO_DEMO_THREADS": "65"}, "maximum"),
        ({"S3DLIO_DEMO_MODE": "turbo"}, "S3DLIO_DEMO_MODE"),
        ({"S3DLIO_DEMO_ENABLED": "maybe"}, "S3DLIO_DEMO_ENABLED"),
        ({"S3DLIO_RANGE_CONCURRENCY": "5000"}, "S3DLIO_RANGE_CONCURRENCY"),
        ({"S3DLIO_FSYNC": "always"}, "S3DLIO_FSYNC"),
        ({"S3DLIO_RANGE_THRESHOLD_MB": "x"}, "S3DLIO_RANGE_THRESHOLD_MB"),
    ],
)
def test_validation_errors_name_the_variable(env: dict[str, str], needle: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(schema(), environ=env, config_file=None, file_data={})
    assert needle in str(info.value)
    assert isinstance(info.value, ValueError)


def test_megabyte_values_that_look_like_bytes() -> None:
    with pytest.raises(ConfigError, match="looks like bytes") as info:
        load_settings(schema(), environ={"S3DLIO_RANGE_THRESHOLD_MB": "33554432"}, file_data={})
    assert "S3DLIO_RANGE_THRESHOLD_MB" in str(info.value)
    with pytest.raises(ConfigError, match="looks like bytes"):
        load_settings(schema(), environ={"S3DLIO_DEMO_BUFFER_MB": str(1 << 20)}, file_data={})
    ok = load_settings(schema(), environ={"S3DLIO_DEMO_BUFFER_MB": str((1 << 20) - 1)}, file_data={})
    assert ok.demo.buffer_mb == (1 << 20) - 1


def test_file_validation_names_section_and_key(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "c.toml"
    path.write_text('[demo]\nmode = "turbo"\n')
    with pytest.raises(ConfigError, match=r"\[demo\] mode"):
        load_settings(schema(), environ={}, config_file=path)


def test_unknown_env_variable_warns_with_closest_name() -> None:
    with pytest.warns(ConfigWarning, match="S3DLIO_DEMO_THREDS.*did you mean S3DLIO_DEMO_THREADS"):
        load_settings(schema(), environ={"S3DLIO_DEMO_THREDS": "3"}, file_data={})
    with pytest.warns(ConfigWarning, match="S3DLIO_RANGE_THRESHOLD_M\\b.*S3DLIO_RANGE_THRESHOLD_MB"):
        load_settings(schema(), environ={"S3DLIO_RANGE_THRESHOLD_M": "3"}, file_data={})


def test_known_and_reserved_variables_do_not_warn() -> None:
    s = schema()
    s.add_known_env("S3DLIO_DEMO_EXTRA")
    env = {"S3DLIO_DEMO_THREADS": "3", "S3DLIO_OPLOG_FILE": "x", "S3DLIO_DEMO_EXTRA": "1",
           "OTHER_VAR": "z"}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load_settings(s, environ=env, file_data={})


def test_unknown_file_key_warns(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "c.toml"
    path.write_text("[demo]\nthred = 3\n")
    with pytest.warns(ConfigWarning, match="did you mean 'threads'"):
        load_settings(schema(), environ={}, config_file=path)


def test_secrets_redacted_in_describe_and_repr() -> None:
    env = {"S3DLIO_DEMO_TOKEN": "tok-SECRET-123",
           "S3DLIO_DEMO_ENDPOINT": "https://user:pa55word@host:9000/"}
    s = load_settings(schema(), environ=env, file_data={})
    assert s.demo.token == "tok-SECRET-123"  # the value itself is usable
    assert "tok-SECRET-123" not in repr(s.demo)
    rows = {(r.section, r.name): r for r in s.describe()}
    token_row = rows[("demo", "token")]
    assert token_row.secret and redacted_value(token_row) == "****"
    endpoint = redacted_value(rows[("demo", "endpoint")])
    assert "pa55word" not in endpoint and "host:9000" in endpoint
    assert redacted_value(rows[("demo", "threads")]) == "4"


def test_evolve_converts_validates_and_marks_explicit() -> None:
    s = load_settings(schema(), environ={}, file_data={})
    s2 = s.evolve("demo", threads="16")
    assert s2.demo.threads == 16 and s2.source_of("demo", "threads") == "explicit"
    assert s.demo.threads == 4  # immutable
    with pytest.raises(ConfigError, match="did you mean 'threads'"):
        s.evolve("demo", thread=3)
    with pytest.raises(ConfigError):
        s.evolve("demo", threads=0)
    with pytest.raises(ConfigError, match="no settings section"):
        s.section("nope")


def test_section_conflict_and_non_attrs_rejected() -> None:
    s = schema()

    @attrs.define
    class Other:
        x: int = setting(1)

    with pytest.raises(ConfigError, match="declared by both"):
        s.add_section("demo", Other)
    with pytest.raises(ConfigError, match="attrs class"):
        s.add_section("plain", dict)


def test_settings_pickle() -> None:
    import pickle

    s = load_settings(schema(), environ={"S3DLIO_DEMO_THREADS": "9"}, file_data={})
    clone = pickle.loads(pickle.dumps(s))
    assert clone.demo.threads == 9 and clone.source_of("demo", "threads") == "env:S3DLIO_DEMO_THREADS"
