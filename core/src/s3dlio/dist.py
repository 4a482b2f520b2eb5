"""Rank-aware work splitting: who am I in a multi-process job, and which items are mine.

``world()`` answers ``(rank, world_size, local_rank, source)`` from, in order:

1. explicit arguments (``world(rank=3, world_size=8)``);
2. ``torch.distributed`` — only when the application has already imported *and*
   initialised it (this module never imports torch);
3. torchrun / ``torch.distributed.launch``: ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``;
4. Open MPI (``mpirun``): ``OMPI_COMM_WORLD_RANK``, ``OMPI_COMM_WORLD_SIZE``,
   ``OMPI_COMM_WORLD_LOCAL_RANK``;
5. PMI (MPICH, Intel MPI, Cray): ``PMI_RANK``, ``PMI_SIZE``, local rank from
   ``MPI_LOCALRANKID`` or ``PMI_LOCAL_RANK``;
6. SLURM (``srun``): ``SLURM_PROCID``, ``SLURM_NTASKS``, ``SLURM_LOCALID``;
7. otherwise one process: ``(0, 1, 0, "default")``.

``shard(items, world)`` keeps the items whose index ``i`` satisfies
``i % world_size == rank``, so every rank of one job, given the same ordered
items, takes a disjoint share and together they cover all of them. Pair it with a
skip-existing check and a rerun of the same job resumes where it stopped.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Mapping, Sequence
from typing import NamedTuple, TypeVar

from s3dlio.errors import ConfigError

__all__ = ["LAUNCHERS", "World", "parse_world_arg", "shard", "world"]

T = TypeVar("T")


class World(NamedTuple):
    """This process's place in a job. A tuple, so ``rank, size, local, src = world()`` works."""

    rank: int
    world_size: int
    local_rank: int
    source: str
    """Where the answer came from: ``explicit``, ``torch``, ``torchrun``, ``openmpi``,
    ``pmi``, ``slurm`` or ``default``."""


# (source, rank variable, size variable, local-rank variables): read in this order.
LAUNCHERS: tuple[tuple[str, str, str, tuple[str, ...]], ...] = (
    ("torchrun", "RANK", "WORLD_SIZE", ("LOCAL_RANK",)),
    ("openmpi", "OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE", ("OMPI_COMM_WORLD_LOCAL_RANK",)),
    ("pmi", "PMI_RANK", "PMI_SIZE", ("MPI_LOCALRANKID", "PMI_LOCAL_RANK")),
    ("slurm", "SLURM_PROCID", "SLURM_NTASKS", ("SLURM_LOCALID",)),
)


def _int_env(env: Mapping[str, str], name: str) -> int | None:
    text = env.get(name, "").strip()
    return int(text) if text.isdigit() else None


def _from_torch(env: Mapping[str, str]) -> World | None:
    # Only a torch.distributed the application already set up: importing torch here
    # would cost seconds and gigabytes for a question the environment can answer.
    td = sys.modules.get("torch.distributed")
    if td is None:
        return None
    try:
        if not (td.is_available() and td.is_initialized()):
            return None
        rank, size = int(td.get_rank()), int(td.get_world_size())
    except Exception:  # a half-initialised process group: fall back to the launcher variables
        return None
    return World(rank, size, _int_env(env, "LOCAL_RANK") or 0, "torch")


def _from_env(env: Mapping[str, str]) -> World | None:
    for source, rank_var, size_var, local_vars in LAUNCHERS:
        rank, size = _int_env(env, rank_var), _int_env(env, size_var)
        if rank is None or size is None:
            continue
        local = next((v for v in (_int_env(env, n) for n in local_vars) if v is not None), 0)
        return World(rank, size, local, source)
    return None


def _check(w: World) -> World:
    if w.world_size < 1:
        raise ConfigError(f"world size must be at least 1, got {w.world_size} (from {w.source})")
    if not 0 <= w.rank < w.world_size:
        raise ConfigError(f"rank must be in 0..{w.world_size - 1}, got rank {w.rank} of "
                          f"{w.world_size} (from {w.source})")
    return w


def world(
    rank: int | None = None,
    world_size: int | None = None,
    *,
    local_rank: int | None = None,
    environ: Mapping[str, str] | None = None,
) -> World:
    """This process's ``World``: explicit arguments first, then the running launcher.

    Either of ``rank``/``world_size`` may be given alone; the other comes from the
    detected launcher (``source`` then says ``explicit`` only when both were given).
    ``environ`` replaces ``os.environ`` (tests). Raises ``ConfigError`` when the
    result is not ``0 <= rank < world_size``.
    """
    env = os.environ if environ is None else environ
    if rank is not None and world_size is not None:
        detected = World(rank, world_size, local_rank if local_rank is not None else 0, "explicit")
        return _check(detected)
    found = _from_torch(env) or _from_env(env) or World(0, 1, 0, "default")
    if rank is not None or world_size is not None:
        found = World(found.rank if rank is None else rank,
                      found.world_size if world_size is None else world_size,
                      found.local_rank, f"explicit+{found.source}")
    if local_rank is not None:
        found = found._replace(local_rank=local_rank)
    return _check(found)


_detect = world  # ``shard``'s parameter shadows the function's name


def shard(items: Iterable[T], world: World | tuple[int, int] | None = None) -> list[T]:
    """The items of this rank: index ``i`` with ``i % world_size == rank``.

    ``world`` is a ``World``, a ``(rank, world_size)`` pair or ``None`` (detect with
    :func:`world`). The order of ``items`` must be the same on every rank (sort a
    listing first); the shares are disjoint and cover every item.
    """
    if world is None:
        rank, size = _detect()[:2]
    else:
        rank, size = int(world[0]), int(world[1])
        _check(World(rank, size, 0, "explicit"))
    seq: Sequence[T] = items if isinstance(items, Sequence) else list(items)
    if size == 1:
        return list(seq)
    return list(seq[rank::size])


def parse_world_arg(text: str | int | None, flag: str) -> int | None:
    """``--rank``/``--world-size`` values: ``auto`` (or ``None``) → ``None``, else a non-negative int."""
    if text is None or (isinstance(text, str) and text.strip().lower() == "auto"):
        return None
    try:
        value = int(text)
    except ValueError:
        raise ConfigError(f"{flag} must be an integer or 'auto', got {text!r}") from None
    if value < 0:
        raise ConfigError(f"{flag} must not be negative, got {value}")
    return value
