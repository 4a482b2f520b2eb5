"""Loader options: the validated option dict and the immutable ``LoaderOptions`` builder.

Options reach a loader either as a plain ``dict`` or as a :class:`LoaderOptions`;
:func:`normalize` turns both into one validated ``dict`` with every key filled.
An unknown key warns (``UserWarning`` naming the closest known key); a value of the
wrong type raises :class:`s3dlio.errors.ConfigError`.
"""

from __future__ import annotations

import difflib
import warnings
from collections.abc import Callable, Mapping
from typing import Any

from s3dlio.errors import ConfigError

__all__ = ["DEFAULTS", "LoaderOptions", "normalize"]

_MiB = 1 << 20

#: Every option a loader understands and its default (docs/loaders/formats.md, "Loaders").
DEFAULTS: dict[str, Any] = {
    "batch_size": 32,
    "drop_last": False,
    "shuffle": False,
    "seed": 0,
    "epoch": 0,
    "shard_rank": 0,
    "shard_world_size": 1,
    "worker_id": 0,
    "num_workers_pytorch": 1,
    "num_workers": 0,
    "prefetch": 8,
    "ordered": False,
    "reader_mode": "sequential",
    "part_size": 8 * _MiB,
    "max_inflight_parts": 4,
    "skip_head": True,
    "auto_tune": False,
    "format": None,
    "columns": None,
    "footer_cap": 4 * _MiB,
    "decode": "raw",
    "max_threads": None,
    # Accepted for compatibility with the original's LoaderOptions; no effect on reads.
    "pin_memory": False,
    "persistent_workers": False,
    "timeout_seconds": None,
    "multiprocessing_context": None,
    "random_sampling": False,
    "sampling_replacement": False,
    "memory_format": None,
    "non_blocking": False,
    "generator_seed": None,
    "enable_transforms": False,
    "collate_buffer_size": 1024,
}

_INT_KEYS = frozenset({
    "batch_size", "seed", "epoch", "shard_rank", "shard_world_size", "worker_id", "num_workers_pytorch",
    "num_workers", "prefetch", "part_size", "max_inflight_parts", "footer_cap", "max_threads",
    "generator_seed", "collate_buffer_size",
})
_BOOL_KEYS = frozenset({
    "drop_last", "shuffle", "ordered", "skip_head", "auto_tune", "pin_memory", "persistent_workers",
    "random_sampling", "sampling_replacement", "non_blocking", "enable_transforms",
})
_CHOICES: dict[str, tuple[Any, ...]] = {
    "reader_mode": ("sequential", "range"),
    "decode": ("raw", "arrow", "none"),
    "multiprocessing_context": (None, "spawn", "fork", "forkserver"),
    "memory_format": (None, "channels_last", "channels_first"),
}
_NULLABLE = frozenset({"max_threads", "generator_seed", "timeout_seconds", "format", "columns"})
_MINIMUM = {
    "batch_size": 1, "shard_world_size": 1, "num_workers_pytorch": 1, "prefetch": 1, "part_size": 1,
    "max_inflight_parts": 1, "footer_cap": 8, "max_threads": 1, "seed": 0, "epoch": 0, "shard_rank": 0,
    "worker_id": 0, "num_workers": 0, "collate_buffer_size": 1,
}


def _check(key: str, value: Any) -> Any:
    """Validate one option; return its normalized value."""
    if value is None and key in _NULLABLE:
        return None
    if key in _BOOL_KEYS:
        if not isinstance(value, bool | int) or (isinstance(value, int) and value not in (0, 1)):
            raise ConfigError(f"loader option {key!r} must be a bool, got {type(value).__name__} {value!r}")
        return bool(value)
    if key in _INT_KEYS:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"loader option {key!r} must be an int, got {type(value).__name__} {value!r}")
        value = int(value)
        minimum = _MINIMUM.get(key)
        if minimum is not None and value < minimum:
            raise ConfigError(f"loader option {key!r} must be >= {minimum}, got {value}")
        return value
    if key in _CHOICES:
        if value not in _CHOICES[key]:
            raise ConfigError(f"loader option {key!r} must be one of {_CHOICES[key]!r}, got {value!r}")
        return value
    if key == "timeout_seconds":
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise ConfigError(f"loader option 'timeout_seconds' must be a number >= 0, got {value!r}")
        return float(value)
    if key == "format":
        if not isinstance(value, str):
            raise ConfigError(f"loader option 'format' must be a str, got {type(value).__name__}")
        return value.lower()
    if key == "columns":
        if isinstance(value, str | bytes) or not isinstance(value, list | tuple):
            raise ConfigError("loader option 'columns' must be a list of column names or indices")
        return list(value)
    return value  # pragma: no cover - every key is classified above


def normalize(opts: Any = None, **overrides: Any) -> dict[str, Any]:
    """Validated option dict (every key present) from ``None``, a dict or ``LoaderOptions``.

    ``overrides`` are defaults of the caller (``create_async_loader`` uses
    ``batch_size=1``) applied before ``opts``.
    """
    if opts is None:
        given: Mapping[str, Any] = {}
    elif isinstance(opts, LoaderOptions):
        given = opts.to_dict()
    elif isinstance(opts, Mapping):
        given = opts
    else:
        raise TypeError(f"loader options must be a dict or LoaderOptions, got {type(opts).__name__}")
    out = dict(DEFAULTS)
    for key, value in overrides.items():
        out[key] = _check(key, value)
    for key, value in given.items():
        if not isinstance(key, str):
            raise ConfigError(f"loader option names must be str, got {key!r}")
        if key not in DEFAULTS:
            close = difflib.get_close_matches(key, list(DEFAULTS), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            warnings.warn(f"unknown loader option {key!r} ignored{hint}", UserWarning, stacklevel=3)
            continue
        if key == "batch_size" and value == 0 and not isinstance(value, bool):
            value = 1  # the original's convention: 0 means 1
        if key == "num_workers" and value is None:
            value = 0
        out[key] = _check(key, value)
    if out["shard_rank"] >= out["shard_world_size"]:
        raise ConfigError(
            f"shard_rank ({out['shard_rank']}) must be < shard_world_size ({out['shard_world_size']})")
    if out["worker_id"] >= out["num_workers_pytorch"]:
        raise ConfigError(
            f"worker_id ({out['worker_id']}) must be < num_workers_pytorch ({out['num_workers_pytorch']})")
    return out


class _BuilderValue(int):
    """An option value that is also its builder: ``opts.pin_memory == True`` and
    ``opts.pin_memory(True)`` both work (the original exposes both under one name)."""

    _builder: Callable[..., LoaderOptions]
    _is_bool: bool

    def __new__(cls, value: int, builder: Callable[..., LoaderOptions], is_bool: bool) -> _BuilderValue:
        obj = super().__new__(cls, int(value))
        obj._builder = builder
        obj._is_bool = is_bool
        return obj

    def __call__(self, *args: Any, **kwargs: Any) -> LoaderOptions:
        return self._builder(*args, **kwargs)

    def __repr__(self) -> str:
        return repr(bool(self)) if self._is_bool else int.__repr__(self)

    __str__ = __repr__


class LoaderOptions:
    """Immutable loader options; every builder returns a new instance.

    >>> opts = LoaderOptions().with_batch_size(64).shuffle(True, 42).prefetch(16)
    >>> opts.batch_size, opts.seed, int(opts.prefetch)
    (64, 42, 16)
    """

    __slots__ = ("_values",)
    _values: dict[str, Any]

    def __init__(self, **values: Any) -> None:
        merged = dict(DEFAULTS)
        for key, value in values.items():
            if key not in DEFAULTS:
                raise ConfigError(f"unknown loader option {key!r}")
            merged[key] = _check(key, value)
        object.__setattr__(self, "_values", merged)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("LoaderOptions is immutable; use its builder methods")

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (self._changed(),))

    def _changed(self) -> dict[str, Any]:
        return {k: v for k, v in self._values.items() if DEFAULTS[k] != v}

    def _with(self, **changes: Any) -> LoaderOptions:
        values = dict(self._values)
        values.update(changes)
        return LoaderOptions(**values)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, LoaderOptions) and other._values == self._values

    def __hash__(self) -> int:
        return hash(tuple(sorted((k, repr(v)) for k, v in self._values.items())))

    def __repr__(self) -> str:
        inner = ", ".join(f"{k}={v!r}" for k, v in self._changed().items())
        return f"LoaderOptions({inner})"

    def to_dict(self) -> dict[str, Any]:
        """Every option as a plain dict (accepted wherever options are)."""
        return dict(self._values)

    # -- plain values
    @property
    def batch_size(self) -> int:
        """Items per batch."""
        return int(self._values["batch_size"])

    @property
    def seed(self) -> int:
        """Shuffle seed."""
        return int(self._values["seed"])

    @property
    def timeout_seconds(self) -> float | None:
        """Per-read timeout hint (accepted, not enforced by local backends)."""
        value = self._values["timeout_seconds"]
        return None if value is None else float(value)

    @property
    def shard_rank(self) -> int:
        """This process's shard."""
        return int(self._values["shard_rank"])

    @property
    def shard_world_size(self) -> int:
        """Number of shards (ranks)."""
        return int(self._values["shard_world_size"])

    @property
    def reader_mode(self) -> str:
        """``sequential`` or ``range``."""
        return str(self._values["reader_mode"])

    @property
    def part_size(self) -> int:
        """Range size of ``reader_mode="range"``."""
        return int(self._values["part_size"])

    @property
    def max_inflight_parts(self) -> int:
        """Concurrent ranges per object in ``reader_mode="range"``."""
        return int(self._values["max_inflight_parts"])

    # -- builders that are also values
    def _bv(self, key: str, builder: Callable[..., LoaderOptions]) -> _BuilderValue:
        value = self._values[key]
        return _BuilderValue(int(value), builder, isinstance(DEFAULTS[key], bool))

    @property
    def drop_last(self) -> _BuilderValue:
        """Value, and builder ``drop_last(b)``."""
        return self._bv("drop_last", lambda b=True: self._with(drop_last=bool(b)))

    @property
    def shuffle(self) -> _BuilderValue:
        """Value, and builder ``shuffle(on, seed=0)``."""
        return self._bv("shuffle", lambda on=True, seed=None: self._with(
            shuffle=bool(on), **({} if seed is None else {"seed": seed})))

    @property
    def num_workers(self) -> _BuilderValue:
        """Value, and builder ``num_workers(n)`` (concurrent reads; 0 → 8)."""
        return self._bv("num_workers", lambda n: self._with(num_workers=n))

    @property
    def prefetch(self) -> _BuilderValue:
        """Value, and builder ``prefetch(n)`` (in-flight window)."""
        return self._bv("prefetch", lambda n: self._with(prefetch=n))

    @property
    def auto_tune(self) -> _BuilderValue:
        """Value, and builder ``auto_tune(b)`` (accepted; no effect)."""
        return self._bv("auto_tune", lambda b=True: self._with(auto_tune=bool(b)))

    @property
    def pin_memory(self) -> _BuilderValue:
        """Value, and builder ``pin_memory(b)``."""
        return self._bv("pin_memory", lambda b=True: self._with(pin_memory=bool(b)))

    @property
    def persistent_workers(self) -> _BuilderValue:
        """Value, and builder ``persistent_workers(b)``."""
        return self._bv("persistent_workers", lambda b=True: self._with(persistent_workers=bool(b)))

    @property
    def non_blocking(self) -> _BuilderValue:
        """Value, and builder ``non_blocking(b)``."""
        return self._bv("non_blocking", lambda b=True: self._with(non_blocking=bool(b)))

    @property
    def enable_transforms(self) -> _BuilderValue:
        """Value, and builder ``enable_transforms(b)``."""
        return self._bv("enable_transforms", lambda b=True: self._with(enable_transforms=bool(b)))

    @property
    def collate_buffer_size(self) -> _BuilderValue:
        """Value, and builder ``collate_buffer_size(n)`` (at least 64)."""
        return self._bv("collate_buffer_size", lambda n: self._with(collate_buffer_size=max(64, n)))

    # -- builders only
    def with_batch_size(self, n: int) -> LoaderOptions:
        """Items per batch (0 → 1)."""
        return self._with(batch_size=1 if n == 0 else n)

    def with_timeout(self, seconds: float) -> LoaderOptions:
        """Per-read timeout hint."""
        return self._with(timeout_seconds=seconds)

    def use_spawn(self) -> LoaderOptions:
        """Multiprocessing context hint ``spawn``."""
        return self._with(multiprocessing_context="spawn")

    def use_fork(self) -> LoaderOptions:
        """Multiprocessing context hint ``fork``."""
        return self._with(multiprocessing_context="fork")

    def use_forkserver(self) -> LoaderOptions:
        """Multiprocessing context hint ``forkserver``."""
        return self._with(multiprocessing_context="forkserver")

    def random_sampling(self, replacement: bool = False) -> LoaderOptions:
        """Shuffle (sampling without replacement; ``replacement`` is recorded only)."""
        return self._with(random_sampling=True, shuffle=True, sampling_replacement=bool(replacement))

    def distributed_sampling(self, rank: int, world_size: int) -> LoaderOptions:
        """Shard ``rank`` of ``world_size``."""
        return self._with(shard_rank=rank, shard_world_size=world_size)

    def channels_last(self) -> LoaderOptions:
        """Memory-format hint."""
        return self._with(memory_format="channels_last")

    def channels_first(self) -> LoaderOptions:
        """Memory-format hint."""
        return self._with(memory_format="channels_first")

    def with_generator_seed(self, seed: int) -> LoaderOptions:
        """Seed of the framework-side generator (recorded only)."""
        return self._with(generator_seed=seed)

    # -- presets
    def gpu_optimized(self) -> LoaderOptions:
        """Pinned memory, persistent workers, non-blocking copies, prefetch 16."""
        return self._with(pin_memory=True, persistent_workers=True, non_blocking=True, prefetch=16)

    def distributed_optimized(self, rank: int, world_size: int) -> LoaderOptions:
        """Sharded and GPU-optimized."""
        return self.gpu_optimized().distributed_sampling(rank, world_size)

    def debug_mode(self) -> LoaderOptions:
        """One read at a time, in order."""
        return self._with(num_workers=1, prefetch=1, ordered=True)


def _rebuild(values: dict[str, Any]) -> LoaderOptions:
    return LoaderOptions(**values)
