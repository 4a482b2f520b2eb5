"""Configuration: ``s3dlio.toml`` + environment + explicit arguments.

Precedence, highest first: explicit arguments > environment > config file > the
defaults the declaring plugin gives. Each plugin declares its section as an attrs
class whose fields are made with :func:`setting`; the loader converts and validates
every value and remembers where it came from, which ``s3-cli config show`` prints.

Config file lookup: ``$S3DLIO_CONFIG``, ``./s3dlio.toml``,
``$XDG_CONFIG_HOME/s3dlio/config.toml`` (``~/.config`` when unset); the first that
exists is used.
"""

from __future__ import annotations

import difflib
import os
import tomllib
import warnings
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import attrs

from s3dlio.errors import ConfigError
from s3dlio.plugin.registry import Attributed
from s3dlio.redaction import redact

__all__ = [
    "ConfigSchema",
    "ConfigWarning",
    "CoreSettings",
    "UploadSettings",
    "PluginSettings",
    "Settings",
    "find_config_file",
    "load_settings",
    "setting",
]

_TRUE = {"1", "true", "yes", "on", "y", "t"}
_FALSE = {"0", "false", "no", "off", "n", "f", ""}
_BYTES_LIKE = 1 << 20
"""A value in MB at or above this looks like it was given in bytes (mlcommons/storage#506)."""


class ConfigWarning(UserWarning):
    """An unknown setting name or a setting that has no effect."""


def setting(
    default: Any,
    *,
    env: str | Iterable[str] = (),
    help: str = "",
    kind: type | None = None,
    secret: bool = False,
    minimum: float | None = None,
    maximum: float | None = None,
    choices: Iterable[str] | None = None,
    unit: str | None = None,
) -> Any:
    """Declare one field of a settings section.

    ``env`` names the environment variables that set it (the first one present
    wins). ``kind`` defaults to the type of ``default``; values from the
    environment and the config file are converted to it and checked against
    ``minimum``/``maximum``/``choices``. ``unit="MB"`` rejects values that look like
    bytes. ``secret`` fields are redacted in ``repr`` and in ``config show``.
    """
    env_names = (env,) if isinstance(env, str) else tuple(env)
    if kind is None:
        kind = type(default) if default is not None else str
    meta = {
        "s3dlio": {
            "env": env_names,
            "help": help,
            "kind": kind,
            "secret": secret,
            "minimum": minimum,
            "maximum": maximum,
            "choices": tuple(choices) if choices is not None else None,
            "unit": unit,
        }
    }
    if isinstance(default, (list, dict)):
        factory = type(default)
        return attrs.field(factory=lambda: factory(default), metadata=meta, repr=not secret)
    return attrs.field(default=default, metadata=meta, repr=not secret)


def _meta(field: attrs.Attribute) -> dict[str, Any]:  # type: ignore[type-arg]
    return field.metadata.get("s3dlio", {"env": (), "kind": str, "secret": False})  # type: ignore[no-any-return]


def convert_value(raw: Any, field: attrs.Attribute, *, where: str) -> Any:  # type: ignore[type-arg]
    """Convert ``raw`` (a string from the environment or a TOML value) to the field's kind.

    A value that does not convert raises ``ConfigError`` naming ``where`` (the variable,
    or the file and key), the expected type and an example, never Python's own message
    (``invalid literal for int() with base 10``).
    """
    meta = _meta(field)
    kind = meta["kind"]
    try:
        if kind is bool:
            if isinstance(raw, bool):
                value: Any = raw
            elif isinstance(raw, str) and raw.strip().lower() in _TRUE | _FALSE:
                value = raw.strip().lower() in _TRUE
            elif isinstance(raw, int) and raw in (0, 1):
                value = bool(raw)
            else:
                raise ValueError(raw)
        elif kind is int:
            if isinstance(raw, bool) or (isinstance(raw, float) and not raw.is_integer()):
                raise ValueError(raw)
            value = int(raw.strip().replace("_", "")) if isinstance(raw, str) else int(raw)
        elif kind is float:
            if isinstance(raw, bool):
                raise ValueError(raw)
            value = float(raw)
        elif kind is list:
            if isinstance(raw, str):
                value = [p.strip() for p in raw.split(",") if p.strip()]
            elif isinstance(raw, (list, tuple)):
                value = [str(v) for v in raw]
            else:
                raise ValueError(raw)
        elif kind is dict:
            if not isinstance(raw, Mapping):
                raise ValueError(raw)
            value = {str(k): str(v) for k, v in raw.items()}
        else:
            value = str(raw)
    except (ValueError, TypeError) as exc:  # TypeError: int() of a TOML array or table
        expected = {
            bool: "a boolean (1/0, true/false)", int: "an integer", float: "a number",
            list: "a comma-separated list", dict: "a table",
        }.get(kind, "a string")
        if meta.get("unit") == "MB":
            expected += " (MiB)"
        default = field.default
        if kind is bool:
            example = "true"
        elif kind in (int, float) and isinstance(default, (int, float)) and not isinstance(default, bool):
            example = str(default)
        elif kind is int:
            example = str(int(meta.get("minimum") or 1))
        elif kind is float:
            example = "1.5"
        else:
            example = "a,b" if kind is list else "name = value"
        # A variable name reads best as the assignment to write; a file key as the value.
        sample = f"{where}={example}" if where.isupper() and " " not in where else example
        raise ConfigError(f"{where}={raw!r} is not valid: expected {expected}, e.g. {sample}") from exc
    _validate(value, meta, where)
    return value


def _validate(value: Any, meta: Mapping[str, Any], where: str) -> None:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if meta.get("unit") == "MB" and value >= _BYTES_LIKE:
            raise ConfigError(
                f"{where}={value} looks like bytes; this setting is in MiB (e.g. 32 for 32 MiB)"
            )
        lo, hi = meta.get("minimum"), meta.get("maximum")
        if lo is not None and value < lo:
            raise ConfigError(f"{where}={value} is below the minimum {lo}")
        if hi is not None and value > hi:
            raise ConfigError(f"{where}={value} is above the maximum {hi}")
    choices = meta.get("choices")
    if choices is not None and value not in choices:
        raise ConfigError(f"{where}={value!r} is not one of {', '.join(choices)}")


# --------------------------------------------------------------------------- core sections


@attrs.define
class CoreSettings:
    """Settings of the core engines (section ``[core]``)."""

    range_optimization: bool = setting(
        True, env="S3DLIO_ENABLE_RANGE_OPTIMIZATION",
        help="split large GETs into concurrent ranged reads",
    )
    range_threshold_mb: int = setting(
        32, env="S3DLIO_RANGE_THRESHOLD_MB", minimum=1, unit="MB",
        help="objects at least this large (MiB) are read by the range engine",
    )
    range_concurrency: int = setting(
        0, env="S3DLIO_RANGE_CONCURRENCY", minimum=0, maximum=4096,
        help="concurrent ranges per large GET (0: by object size and CPUs)",
    )
    chunk_size: int = setting(
        0, env="S3DLIO_CHUNK_SIZE", minimum=0,
        help="range-engine part size in bytes (0: 1/4/8 MiB by object size)",
    )
    fsync: str = setting(
        "auto", env="S3DLIO_FSYNC", choices=("auto", "none", "file", "file+dir"),
        help="local durability: auto = none for put/download, file+dir for writers and checkpoints",
    )
    log_level: str = setting(
        "", env="S3DLIO_LOG_LEVEL",
        choices=("", "trace", "debug", "info", "warn", "warning", "error"),
        help="if set, s3dlio logs to stderr at this level (as init_logging)",
    )
    log_format: str = setting(
        "console", env="S3DLIO_LOG_FORMAT", choices=("console", "json"),
        help="how stderr logging renders: console lines, or one JSON object per line",
    )
    rt_threads: int = setting(
        0, env="S3DLIO_RT_THREADS", minimum=0, maximum=4096,
        help="threads the *_async twins run on (0: max(32, 4 x CPUs))",
    )
    malloc_retain_mb: int = setting(
        0, env="S3DLIO_MALLOC_RETAIN_MB", minimum=0, unit="MB",
        help="glibc only: keep up to this many MiB of freed heap for reuse, so repeated large "
             "reads skip page faults (0: allocator defaults; process-wide)",
    )
    buffer_pool_mb: int = setting(
        2048, env="S3DLIO_BUFFER_POOL_MB", minimum=0, unit="MB",
        help="keep up to this many MiB of freed result buffers (>= 64 KiB), already faulted in, "
             "for the next reads (0: no pool; process-wide)",
    )
    buffer_pool_count: int = setting(
        1024, env="S3DLIO_BUFFER_POOL_COUNT", minimum=0,
        help="most freed result buffers the pool keeps (0: no pool)",
    )
    skip_head: bool = setting(
        False, env="S3DLIO_SKIP_HEAD",
        help="never HEAD before a GET to choose the range engine (sizes only from the cache)",
    )
    size_cache_ttl_secs: float = setting(
        3600.0, env="S3DLIO_SIZE_CACHE_TTL_SECS", kind=float, minimum=0, maximum=31_536_000,
        help="how long object sizes learnt from list/stat/get are trusted (s; 0: no cache)",
    )
    middleware: list[str] = setting(
        [], kind=list, help="store middleware, innermost first (empty: every enabled one by order)"
    )


@attrs.define
class UploadSettings:
    """Writes to object stores: multipart, checksums, verification (section ``[upload]``)."""

    multipart_threshold_mb: int = setting(
        32, env="S3DLIO_MULTIPART_THRESHOLD_MB", minimum=1, maximum=5 * 1024 * 1024 - 1, unit="MB",
        help="objects at least this large (MiB) are written by multipart upload",
    )
    part_size_mb: int = setting(
        16, env="S3DLIO_PART_SIZE_MB", minimum=1, maximum=5 * 1024, unit="MB",
        help="default part size (MiB) of multipart uploads and MultipartUploadWriter",
    )
    max_in_flight: int = setting(
        0, env="S3DLIO_MPU_MAX_IN_FLIGHT", minimum=0, maximum=1024,
        help="parts uploading at once (0: max(32, 512 MiB / part size) for writers, "
             "8 for one put)",
    )
    checksum: str = setting(
        "crc32c", env="S3DLIO_CHECKSUM", choices=("crc32c", "md5", "none"),
        help="integrity checksum sent with uploads where the service supports it",
    )
    put_verify: bool = setting(
        False, env="S3DLIO_PUT_VERIFY", help="HEAD after each single PUT and compare the size",
    )
    mpu_put_verify: bool = setting(
        False, env="S3DLIO_MPU_PUT_VERIFY", help="HEAD after each multipart Complete",
    )
    put_retry_delay_ms: int = setting(
        1000, env="S3DLIO_PUT_RETRY_DELAY_MS", minimum=0, maximum=600_000,
        help="wait before re-uploading an object that failed verification (ms)",
    )
    put_max_retries: int = setting(
        3, env="S3DLIO_PUT_MAX_RETRIES", minimum=1, maximum=20,
        help="uploads of one object when verification fails",
    )


@attrs.define
class PluginSettings:
    """Which plugins load (section ``[plugins]``)."""

    disable_autoload: bool = setting(
        False, env="S3DLIO_DISABLE_PLUGIN_AUTOLOAD",
        help="load no entry points except those named in plugins",
    )
    plugins: list[str] = setting(
        [], kind=list, env="S3DLIO_PLUGINS",
        help="extra plugins to load: entry-point names or importable module names",
    )
    disabled: list[str] = setting(
        [], kind=list, env="S3DLIO_DISABLED_PLUGINS", help="entry-point names not to load"
    )
    strict: bool = setting(
        False, env="S3DLIO_STRICT_PLUGINS", help="a plugin that fails to load is an error"
    )
    prefer: dict[str, str] = setting(
        {}, kind=dict,
        help="winner for a contested scheme, registry name or entry-point name: name = plugin",
    )


# --------------------------------------------------------------------------- schema & settings

#: Variables consumed by features of plugins that may not be installed, or accepted
#: for compatibility without effect. They never trigger the "unknown" warning.
RESERVED_ENV: Mapping[str, str] = dict.fromkeys(
    (
        "S3DLIO_CONFIG",
        "S3DLIO_H2C", "S3DLIO_TOKIO_CONSOLE", "S3DLIO_UNSIGNED_PAYLOAD",
        "S3DLIO_OPLOG_FILE", "S3DLIO_OPLOG_LEVEL", "S3DLIO_OPLOG_LOSSLESS", "S3DLIO_OPLOG_BUF",
        "S3DLIO_OPLOG_WBUFCAP", "S3DLIO_OPLOG_FLUSH_SECS", "S3DLIO_OPLOG_EXTENDED",
        "S3DLIO_OPLOG_CLIENT_ID", "S3DLIO_OPLOG_CLOCK_OFFSET_NS", "S3DLIO_OPLOG_SORT",
        "S3DLIO_OPLOG_READ_BUF", "S3DLIO_OPLOG_CHUNK_SIZE",
        "S3DLIO_FOLLOW_REDIRECTS", "S3DLIO_REDIRECT_MAX", "S3DLIO_REDIRECT_PIN_CERT",
        "S3DLIO_EXPORT_QUIESCE_TIMEOUT_SECS",
        # s3dlio.testing's local servers
        "S3DLIO_WEED_BINARY", "S3DLIO_FAKE_GCS_BINARY", "S3DLIO_AZURITE_BLOB", "S3DLIO_TEST_CACHE",
        "S3DLIO_POSIX_MAX_CONCURRENCY",
    ),
    "reserved",
)


@attrs.frozen
class SectionSpec:
    name: str
    cls: type
    plugin: str


class ConfigSchema(Attributed):
    """Collects the settings sections; passed to ``s3dlio_add_config``."""

    def __init__(self) -> None:
        self.sections: dict[str, SectionSpec] = {}
        self.extra_env: dict[str, str] = dict(RESERVED_ENV)
        self._current_plugin = "s3dlio"

    def add_section(self, name: str, cls: type) -> None:
        """Declare section ``[name]`` with the attrs class ``cls`` (fields from :func:`setting`)."""
        if not attrs.has(cls):
            raise ConfigError(f"settings section {name!r} must be an attrs class")
        if name in self.sections and self.sections[name].cls is not cls:
            raise ConfigError(
                f"settings section {name!r} declared by both {self.sections[name].plugin} "
                f"and {self._current_plugin}"
            )
        self.sections[name] = SectionSpec(name, cls, self._current_plugin)

    def add_known_env(self, *names: str) -> None:
        """Declare environment variables a plugin reads itself (silences the unknown warning)."""
        for name in names:
            self.extra_env[name] = self._current_plugin

    def known_env(self) -> set[str]:
        names = set(self.extra_env)
        for spec in self.sections.values():
            for field in attrs.fields(spec.cls):
                names.update(_meta(field)["env"])
        return names


def core_schema() -> ConfigSchema:
    schema = ConfigSchema()
    schema.add_section("core", CoreSettings)
    schema.add_section("plugins", PluginSettings)
    return schema


@attrs.frozen
class SettingSource:
    """Where one resolved value came from."""

    section: str
    name: str
    value: Any
    source: str
    """``default``, ``file:/path``, ``env:NAME`` or ``explicit``."""
    env: tuple[str, ...]
    secret: bool
    help: str


class Settings:
    """Resolved settings: one attrs instance per section, plus their sources.

    ``settings.core.range_threshold_mb`` reads a value; ``settings.section("s3")``
    returns the section instance. Settings are immutable and picklable; use
    :meth:`evolve` for explicit overrides.
    """

    def __init__(
        self,
        sections: Mapping[str, Any],
        sources: Mapping[tuple[str, str], str],
        config_file: str | None = None,
        file_data: Mapping[str, Any] | None = None,
    ) -> None:
        self._sections = dict(sections)
        self._sources = dict(sources)
        self.config_file = config_file
        self.file_data = dict(file_data or {})

    def __getattr__(self, name: str) -> Any:
        try:
            return self.__dict__["_sections"][name]
        except KeyError:
            raise AttributeError(f"no settings section {name!r}") from None

    def section(self, name: str) -> Any:
        """The section instance; ``ConfigError`` if no installed plugin declares it."""
        try:
            return self._sections[name]
        except KeyError:
            raise ConfigError(f"no settings section {name!r} is declared by installed plugins") from None

    def has_section(self, name: str) -> bool:
        return name in self._sections

    def source_of(self, section: str, name: str) -> str:
        return self._sources.get((section, name), "default")

    def evolve(self, section: str, **values: Any) -> Settings:
        """Return new settings with explicit values for ``section`` (converted and validated)."""
        inst = self.section(section)
        fields = {f.name: f for f in attrs.fields(type(inst))}
        changes = {}
        for key, raw in values.items():
            if key not in fields:
                raise ConfigError(_unknown_key_message(section, key, fields))
            if raw is None:
                continue
            changes[key] = convert_value(raw, fields[key], where=f"{section}.{key}")
        sections = dict(self._sections)
        sections[section] = attrs.evolve(inst, **changes)
        sources = dict(self._sources)
        for key in changes:
            sources[(section, key)] = "explicit"
        return Settings(sections, sources, self.config_file, self.file_data)

    def describe(self) -> list[SettingSource]:
        """Every resolved value with its source (secrets not redacted here; see ``redacted``)."""
        rows = []
        for section, inst in sorted(self._sections.items()):
            for field in attrs.fields(type(inst)):
                meta = _meta(field)
                rows.append(
                    SettingSource(
                        section=section,
                        name=field.name,
                        value=getattr(inst, field.name),
                        source=self.source_of(section, field.name),
                        env=meta["env"],
                        secret=meta["secret"],
                        help=meta.get("help", ""),
                    )
                )
        return rows

    def __repr__(self) -> str:
        return f"Settings(sections={sorted(self._sections)}, config_file={self.config_file!r})"

    def __getstate__(self) -> dict[str, Any]:
        return self.__dict__.copy()

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)


def redacted_value(row: SettingSource) -> str:
    """Printable value: secrets become ``****``, other text passes through ``redact``."""
    if row.secret:
        return "****" if row.value else ""
    return redact(str(row.value))


def _unknown_key_message(section: str, key: str, fields: Iterable[str]) -> str:
    close = difflib.get_close_matches(key, list(fields), n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return f"unknown setting {section}.{key}{hint}"


def find_config_file(environ: Mapping[str, str] | None = None) -> Path | None:
    """The config file in use, if any (see the module docstring for the order)."""
    environ = os.environ if environ is None else environ
    explicit = environ.get("S3DLIO_CONFIG")
    if explicit:
        path = Path(explicit).expanduser()
        if not path.is_file():
            raise ConfigError(f"S3DLIO_CONFIG={explicit}: no such file")
        return path
    local = Path("s3dlio.toml")
    if local.is_file():
        return local.resolve()
    xdg = environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    user = Path(xdg) / "s3dlio" / "config.toml"
    return user if user.is_file() else None


def read_config_file(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from exc
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from exc


def load_settings(
    schema: ConfigSchema,
    *,
    environ: Mapping[str, str] | None = None,
    config_file: Path | str | None = None,
    file_data: Mapping[str, Any] | None = None,
    explicit: Mapping[str, Mapping[str, Any]] | None = None,
    warn_unknown: bool = True,
) -> Settings:
    """Resolve every declared section from defaults, file, environment and ``explicit``."""
    environ = os.environ if environ is None else environ
    path: Path | None
    if file_data is None:
        path = Path(config_file) if config_file is not None else find_config_file(environ)
        file_data = read_config_file(path) if path is not None else {}
    else:
        path = Path(config_file) if config_file is not None else None
    explicit = explicit or {}
    sections: dict[str, Any] = {}
    sources: dict[tuple[str, str], str] = {}
    for name, spec in schema.sections.items():
        file_section = file_data.get(name, {})
        if not isinstance(file_section, Mapping):
            raise ConfigError(f"{path}: [{name}] must be a table")
        fields = {f.name: f for f in attrs.fields(spec.cls)}
        for key in file_section:
            if key not in fields:
                warnings.warn(
                    f"{path}: {_unknown_key_message(name, key, fields)}", ConfigWarning, stacklevel=3
                )
        values: dict[str, Any] = {}
        for field in fields.values():
            meta = _meta(field)
            value: Any = attrs.NOTHING
            src = "default"
            if field.name in file_section:
                value = convert_value(
                    file_section[field.name], field, where=f"{path} [{name}] {field.name}"
                )
                src = f"file:{path}"
            for env_name in meta["env"]:
                if env_name in environ:
                    value = convert_value(environ[env_name], field, where=env_name)
                    src = f"env:{env_name}"
                    break
            if field.name in explicit.get(name, {}) and explicit[name][field.name] is not None:
                value = convert_value(explicit[name][field.name], field, where=f"{name}.{field.name}")
                src = "explicit"
            if value is not attrs.NOTHING:
                values[field.name] = value
                sources[(name, field.name)] = src
        try:
            sections[name] = spec.cls(**values)
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"[{name}]: {exc}") from exc
    if warn_unknown:
        warn_unknown_env(schema, environ)
    return Settings(sections, sources, str(path) if path else None, file_data)


def warn_unknown_env(schema: ConfigSchema, environ: Mapping[str, str]) -> list[str]:
    """Warn about ``S3DLIO_*`` variables nobody reads, naming the closest known one."""
    known = schema.known_env()
    unknown = sorted(n for n in environ if n.startswith("S3DLIO_") and n not in known)
    for name in unknown:
        close = difflib.get_close_matches(name, sorted(known), n=1, cutoff=0.6)
        hint = f"; did you mean {close[0]}?" if close else ""
        warnings.warn(f"unknown environment variable {name}{hint}", ConfigWarning, stacklevel=3)
    return unknown
