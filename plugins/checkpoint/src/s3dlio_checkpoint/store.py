"""Checkpoints on any backend: ``CheckpointStore``, its writer and reader, and the functions.

Layout under the store URI (``ts`` = UTC ``YYYYMMDD-HHMMSS``; docs/checkpoints.md)::

    shards/ckpt-{step}-{ts}/rank-{r}.bin[.zst]                          flat
    shards/rr/{r % 16:02x}/ckpt-{step}-{ts}/rank-{r}.bin[.zst]          round_robin
    shards/bin/{(r % 256) >> 4:04b}/ckpt-{step}-{ts}/rank-{r}.bin[.zst] binary
    manifests/ckpt-{step}-{ts}.json
    latest.json

Commit order is shards → manifest → ``latest.json``, each an atomic put: a save that
fails or is killed at any point leaves either no manifest (its shards are orphans that
``s3-cli checkpoint gc`` removes) or a complete one, and the previous checkpoint is
untouched. Readers follow manifest keys only; a missing or dangling ``latest.json``
falls back to the newest complete manifest by ``(global_step, ts)``.

Every byte moves through ``s3dlio``'s stores (the streaming writers, ``get``), so every
request appears in the op-log; on local stores every commit step is fsynced (file and
directory) before the next, so the order also holds across a power loss.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import attrs

import s3dlio
from s3dlio.bytesview import BytesView
from s3dlio.errors import CheckpointError, IntegrityError, NotFoundError
from s3dlio.store import as_buffer
from s3dlio.store.writers import ObjectWriter, WriterOptions, crc32c, create_writer, format_checksum

if TYPE_CHECKING:
    from types import TracebackType

__all__ = [
    "STRATEGIES",
    "CheckpointInfo",
    "CheckpointReader",
    "CheckpointStore",
    "CheckpointWriter",
    "ShardStream",
    "finalize_distributed_checkpoint",
    "load_checkpoint",
    "load_checkpoint_with_validation",
    "load_checkpoint_with_validation_view",
    "save_checkpoint",
    "save_distributed_shard",
]

MiB = 1 << 20
FORMAT_VERSION = 1
DEFAULT_MULTIPART_THRESHOLD = 100 * MiB
STRATEGIES: Mapping[str, str] = {
    "flat": "flat", "round_robin": "round_robin", "roundrobin": "round_robin", "binary": "binary",
}
_MANIFEST = re.compile(r"^ckpt-(-?\d+)-(\d{8}-\d{6})\.json$")
_SLICE = 16 * MiB
"""Bytes handed to a streaming writer at once (zero-copy slices of the caller's buffer)."""


def _ts() -> str:
    return datetime.now(UTC).strftime("%Y%m%d-%H%M%S")


def _rfc3339(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat().replace("+00:00", "Z")


def _put_durable(uri: str, data: object) -> None:
    """One atomic put that is durable on local stores before it returns (file and directory
    fsynced, ``S3DLIO_FSYNC=auto``): each commit step lands only after the one it names."""
    with create_writer(uri) as w:
        w.write_chunk(data, stable=True)


def _check_int(name: str, value: object, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {value!r}")
    return value


def parse_strategy(strategy: str | None) -> str:
    """The canonical strategy name (``ValueError`` listing the valid ones)."""
    if strategy is None:
        return "flat"
    found = STRATEGIES.get(str(strategy).lower())
    if found is None:
        raise ValueError(f"unknown checkpoint strategy {strategy!r}: expected one of "
                         f"{', '.join(STRATEGIES)}")
    return found


@attrs.frozen
class CheckpointInfo:
    """One committed checkpoint, as :meth:`CheckpointStore.list_checkpoints` reports it."""

    step: int
    epoch: int
    timestamp: str
    """The save's ``ts`` (UTC ``YYYYMMDD-HHMMSS``)."""
    status: str
    framework: str
    world_size: int
    total_size: int
    """Bytes stored over every shard."""
    user_meta: Any
    manifest_key: str

    @property
    def size_mb(self) -> float:
        return self.total_size / MiB

    @property
    def size_gb(self) -> float:
        return self.total_size / (1 << 30)

    @property
    def is_complete(self) -> bool:
        return self.status == "complete"

    @property
    def is_single_rank(self) -> bool:
        return self.world_size == 1


def validate_manifest(manifest: Mapping[str, Any], where: str) -> None:
    """``CheckpointError`` unless ``manifest`` is complete: ranks unique and exactly ``0..world_size-1``."""
    try:
        world = int(manifest["world_size"])
        shards = manifest["shards"]
        ranks = [int(s["rank"]) for s in shards]
        for s in shards:
            str(s["key"])
            int(s["size"])
    except (KeyError, TypeError, ValueError) as exc:
        raise CheckpointError(f"malformed manifest: {exc!r}", op="load_manifest", uri=where) from exc
    if manifest.get("status", "complete") != "complete":
        raise CheckpointError(f"manifest status is {manifest.get('status')!r}", op="load_manifest",
                              uri=where)
    if sorted(ranks) != list(range(world)):
        raise CheckpointError(f"manifest shards have ranks {sorted(ranks)}, expected 0..{world - 1}",
                              op="load_manifest", uri=where)


class CheckpointStore:
    """Checkpoints under ``uri`` (any scheme) — see the module doc for the layout.

    ``strategy``: ``flat`` (default), ``round_robin``/``roundrobin``, ``binary`` (the
    latter two spread shard prefixes to avoid hot partitions); ``multipart_threshold``
    (100 MiB): shards above it stream through a multipart writer; ``compression_level``
    (1–22): shards are stored zstd-compressed as ``rank-{r}.bin.zst`` and decompressed
    on load.
    """

    def __init__(
        self,
        uri: str,
        strategy: str | None = None,
        multipart_threshold: int | None = None,
        compression_level: int | None = None,
    ) -> None:
        if not isinstance(uri, str) or "://" not in uri:
            raise s3dlio.InvalidPathError("a checkpoint store needs a URI such as file:///ckpt or "
                                          "s3://bucket/prefix", op="checkpoint", uri=str(uri))
        self.uri = uri if uri.endswith("/") else uri + "/"
        self.strategy = parse_strategy(strategy)
        self.multipart_threshold = (DEFAULT_MULTIPART_THRESHOLD if multipart_threshold is None
                                    else _check_int("multipart_threshold", multipart_threshold, 0))
        if compression_level is not None:
            WriterOptions().with_compression("zstd", compression_level)  # validates 1..22
        self.compression_level = compression_level

    # ------------------------------------------------------------------ keys
    def shard_key(self, step: int, ts: str, rank: int) -> str:
        """The key (relative to the store) of ``rank``'s shard of a save."""
        name = f"ckpt-{step}-{ts}/rank-{rank}.bin"
        if self.strategy == "round_robin":
            return f"shards/rr/{rank % 16:02x}/{name}"
        if self.strategy == "binary":
            return f"shards/bin/{format((rank % 256) >> 4, '04b')}/{name}"
        return f"shards/{name}"

    @staticmethod
    def manifest_key(step: int, ts: str) -> str:
        return f"manifests/ckpt-{step}-{ts}.json"

    def _options(self) -> WriterOptions:
        opts = WriterOptions()
        if self.compression_level is not None:
            opts.with_compression("zstd", self.compression_level)
        return opts

    # ---------------------------------------------------------------- shards
    def _write_shard(self, step: int, ts: str, rank: int, data: object) -> dict[str, Any]:
        key = self.shard_key(step, ts, rank)
        mv = as_buffer(data, op="save", uri=self.uri + key)
        if self.compression_level is None and len(mv) <= self.multipart_threshold:
            _put_durable(self.uri + key, mv)
            return self._shard_meta(step, rank, key, len(mv), format_checksum(crc32c(mv)))
        # Zero-copy slices (stable=True): the caller's buffer is not used past this call.
        with create_writer(self.uri + key, self._options()) as w:
            for i in range(0, len(mv), _SLICE):
                w.write_chunk(mv[i:i + _SLICE], stable=True)
            _, stored = w.finalize()
        return self._shard_meta(step, rank, key + (".zst" if self.compression_level else ""),
                                stored, w.stored_checksum())

    @staticmethod
    def _shard_meta(step: int, rank: int, key: str, size: int, checksum: str) -> dict[str, Any]:
        return {"step": step, "timestamp": time.time(), "rank": rank, "key": key, "size": size,
                "etag": None, "checksum": checksum}

    # -------------------------------------------------------------- manifests
    def _commit(self, step: int, epoch: int, framework: str, ts: str, world_size: int,
                shards: Sequence[Mapping[str, Any]], user_meta: Any) -> str:
        manifest = {
            "format_version": FORMAT_VERSION,
            "framework": framework,
            "global_step": step,
            "epoch": epoch,
            "wall_time": _rfc3339(time.time()),
            "world_size": world_size,
            "status": "complete",
            "shards": [{"rank": int(s["rank"]), "key": s["key"], "size": int(s["size"]),
                        "etag": s.get("etag"), "checksum": s.get("checksum")}
                       for s in sorted(shards, key=lambda s: int(s["rank"]))],
            "user_meta": user_meta,
        }
        mkey = self.manifest_key(step, ts)
        try:
            body = json.dumps(manifest, indent=2).encode()
        except TypeError as exc:
            raise ValueError(f"user_meta must be JSON-serializable: {exc}") from exc
        _put_durable(self.uri + mkey, body)
        latest = {"manifest_key": mkey, "global_step": step, "ts": ts}
        _put_durable(self.uri + "latest.json", json.dumps(latest, indent=2).encode())
        return mkey

    def save(self, step: int, epoch: int, framework: str, data: object, user_meta: Any = None) -> str:
        """Save a single-rank checkpoint; return its manifest key."""
        _check_int("step", step, 0)
        ts = _ts()
        while s3dlio.exists(self.uri + self.manifest_key(step, ts)):
            # The same step saved twice within a second: never overwrite a committed shard.
            time.sleep(0.2)
            ts = _ts()
        shard = self._write_shard(step, ts, 0, data)
        return self._commit(step, epoch, framework, ts, 1, [shard], user_meta)

    def _manifest_names(self) -> list[tuple[int, str, str]]:
        """``(step, ts, key)`` of every manifest, oldest first."""
        found = []
        for uri in s3dlio.list(self.uri + "manifests/"):
            name = uri.rsplit("/", 1)[-1]
            m = _MANIFEST.match(name)
            if m:
                found.append((int(m.group(1)), m.group(2), "manifests/" + name))
        return sorted(found)

    def _read_manifest(self, key: str) -> dict[str, Any] | None:
        """The manifest at ``key`` if it exists and is complete, else ``None``."""
        try:
            raw = s3dlio.get(self.uri + key)
        except NotFoundError:
            return None
        try:
            manifest = json.loads(bytes(raw))
            validate_manifest(manifest, self.uri + key)
        except (ValueError, CheckpointError):
            return None
        manifest.setdefault("manifest_key", key)
        return dict(manifest)

    def latest_manifest(self) -> dict[str, Any] | None:
        """The manifest ``latest.json`` names, else the newest complete one, else ``None``."""
        try:
            latest = json.loads(bytes(s3dlio.get(self.uri + "latest.json")))
            key = latest.get("manifest_key") if isinstance(latest, dict) else None
        except (NotFoundError, ValueError):
            key = None
        if isinstance(key, str):
            manifest = self._read_manifest(key)
            if manifest is not None:
                return manifest
        for _step, _stamp, mkey in reversed(self._manifest_names()):
            manifest = self._read_manifest(mkey)
            if manifest is not None:
                return manifest
        return None

    def list_checkpoints(self) -> list[CheckpointInfo]:
        """Every committed checkpoint by step (incomplete saves never appear)."""
        out = []
        for step, ts, key in self._manifest_names():
            m = self._read_manifest(key)
            if m is None:
                continue
            out.append(CheckpointInfo(
                step=int(m.get("global_step", step)), epoch=int(m.get("epoch", 0)), timestamp=ts,
                status=str(m.get("status", "complete")), framework=str(m.get("framework", "")),
                world_size=int(m["world_size"]), total_size=sum(int(s["size"]) for s in m["shards"]),
                user_meta=m.get("user_meta"), manifest_key=key,
            ))
        return out

    def load_latest(self) -> BytesView | None:
        """The newest single-rank checkpoint's data (``CheckpointError`` if multi-rank)."""
        manifest = self.latest_manifest()
        if manifest is None:
            return None
        if int(manifest["world_size"]) != 1:
            raise CheckpointError(
                f"the latest checkpoint has {manifest['world_size']} ranks: use "
                "reader().read_shard_by_rank(manifest, rank)", op="load_latest", uri=self.uri,
            )
        return self.reader().read_shard_by_rank(manifest, 0)

    def delete_checkpoint(self, step: int) -> bool:
        """Delete every save of ``step``: shards, manifest, then repoint/remove ``latest.json``."""
        removed = False
        for mstep, _stamp, key in self._manifest_names():
            if mstep != step:
                continue
            m = self._read_manifest(key)
            if m is not None:
                for shard in m["shards"]:
                    try:
                        s3dlio.delete(self.uri + str(shard["key"]))
                    except NotFoundError:
                        pass
            try:
                s3dlio.delete(self.uri + key)
            except NotFoundError:
                pass
            removed = True
        if removed:
            self._repoint_latest()
        return removed

    def _repoint_latest(self) -> None:
        for step, ts, key in reversed(self._manifest_names()):
            if self._read_manifest(key) is not None:
                latest = {"manifest_key": key, "global_step": step, "ts": ts}
                _put_durable(self.uri + "latest.json", json.dumps(latest, indent=2).encode())
                return
        try:
            s3dlio.delete(self.uri + "latest.json")
        except NotFoundError:
            pass

    # ------------------------------------------------------------ maintenance
    def _referenced(self) -> set[str]:
        keys: set[str] = set()
        for _step, _stamp, mkey in self._manifest_names():
            m = self._read_manifest(mkey)
            if m is not None:
                keys.update(str(s["key"]) for s in m["shards"])
        return keys

    def orphan_shards(self) -> list[str]:
        """Keys under ``shards/`` that no committed manifest names (saves that never committed)."""
        referenced = self._referenced()
        prefix = len(self.uri)
        return [k for k in (u[prefix:] for u in s3dlio.list(self.uri + "shards/", recursive=True))
                if k not in referenced]

    def gc(self, older_than: float = 3600.0, *, dry_run: bool = False) -> list[str]:
        """Delete orphan shards last modified over ``older_than`` seconds ago; return their keys.

        The age guard keeps the shards of a distributed save still in progress (written,
        not yet committed by rank 0).
        """
        from s3dlio.plugin.runtime import resolve

        now = time.time()
        removed = []
        for key in self.orphan_shards():
            store, skey = resolve(self.uri + key)
            modified = store.head(skey).last_modified
            if older_than > 0 and modified is not None and now - modified < older_than:
                continue
            if not dry_run:
                try:
                    s3dlio.delete(self.uri + key)
                except NotFoundError:
                    continue
            removed.append(key)
        return removed

    def abort_incomplete(self, older_than: float = 3600.0) -> int:
        """Remove what killed saves left below the store: stale multipart uploads (object
        stores), hidden temp files (local stores); return how many."""
        return int(s3dlio.abort_incomplete_uploads(self.uri, older_than))

    def verify(self, step: int | None = None) -> list[dict[str, Any]]:
        """Read every shard of every committed checkpoint (or of ``step``) and check size and
        CRC-32C; one ``{step, manifest_key, ok, errors}`` per checkpoint."""
        results = []
        reader = self.reader()
        for mstep, _stamp, mkey in self._manifest_names():
            if step is not None and mstep != step:
                continue
            errors: list[str] = []
            m = self._read_manifest(mkey)
            if m is None:
                errors.append("manifest is missing, malformed or incomplete")
            else:
                for shard in m["shards"]:
                    try:
                        reader.read_shard_by_rank(m, int(shard["rank"]))
                    except (IntegrityError, CheckpointError, NotFoundError) as exc:
                        errors.append(str(exc))
            results.append({"step": mstep, "manifest_key": mkey, "ok": not errors, "errors": errors})
        return results

    def writer(self, world_size: int, rank: int) -> CheckpointWriter:
        """The writer of one rank of a distributed save."""
        return CheckpointWriter(self, world_size, rank)

    def reader(self) -> CheckpointReader:
        return CheckpointReader(self)

    def __repr__(self) -> str:
        return f"CheckpointStore({self.uri!r}, strategy={self.strategy!r})"


class ShardStream:
    """A shard written in chunks; :meth:`finalize` → the shard dict, :meth:`cancel` leaves nothing."""

    def __init__(self, store: CheckpointStore, step: int, ts: str, rank: int) -> None:
        self._store = store
        self._step = step
        self._rank = rank
        self._key = store.shard_key(step, ts, rank)
        self._writer: ObjectWriter = create_writer(store.uri + self._key, store._options())
        self._meta: dict[str, Any] | None = None

    def write_chunk(self, data: object) -> int:
        return self._writer.write_chunk(data)

    def bytes_written(self) -> int:
        return self._writer.bytes_written()

    def finalize(self) -> dict[str, Any]:
        if self._meta is not None:
            raise ValueError(f"finalize: the shard stream of rank {self._rank} is already finalized")
        _, stored = self._writer.finalize()
        key = self._key + (".zst" if self._store.compression_level else "")
        self._meta = self._store._shard_meta(self._step, self._rank, key, stored,
                                             self._writer.stored_checksum())
        return dict(self._meta)

    def cancel(self) -> None:
        self._writer.abort()

    def __enter__(self) -> ShardStream:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if exc is not None:
            self.cancel()
        elif self._meta is None and not self._writer.closed:
            self.finalize()


class CheckpointWriter:
    """One rank's side of a distributed save (``world_size`` ranks, this is ``rank``)."""

    def __init__(self, store: CheckpointStore, world_size: int, rank: int) -> None:
        self.world_size = _check_int("world_size", world_size, 1)
        self.rank = _check_int("rank", rank, 0)
        if rank >= world_size:
            raise ValueError(f"rank {rank} is outside 0..{world_size - 1} (world_size {world_size})")
        self._store = store

    def save_distributed_shard(self, step: int, epoch: int, framework: str, data: object) -> dict[str, Any]:
        """Write this rank's shard; return ``{step, timestamp, rank, key, size, etag, checksum}``."""
        _check_int("step", step, 0)
        return self._store._write_shard(step, _ts(), self.rank, data)

    def get_distributed_shard_stream(self, step: int, epoch: int, framework: str) -> ShardStream:
        """A streaming shard of this rank (``write_chunk`` …, ``finalize``)."""
        _check_int("step", step, 0)
        return ShardStream(self._store, step, _ts(), self.rank)

    def finalize_distributed_checkpoint(
        self, step: int, epoch: int, framework: str, shard_metas: Sequence[Mapping[str, Any]],
        user_meta: Any = None,
    ) -> str:
        """Rank 0: check every shard and commit the manifest; return its key ('' on other ranks)."""
        if self.rank != 0:
            return ""
        ranks = [int(m["rank"]) for m in shard_metas]
        dupes = sorted({r for r in ranks if ranks.count(r) > 1})
        if dupes:
            raise ValueError(f"shard_metas has duplicate ranks {dupes}")
        missing = sorted(set(range(self.world_size)) - set(ranks))
        extra = sorted(set(ranks) - set(range(self.world_size)))
        if missing or extra:
            raise ValueError(f"shard_metas must hold ranks 0..{self.world_size - 1}: "
                             f"missing {missing}, unexpected {extra}")
        store = self._store
        for meta in shard_metas:
            uri = store.uri + str(meta["key"])
            try:
                size = int(s3dlio.stat(uri)["size"])
            except NotFoundError as exc:
                raise CheckpointError(f"shard of rank {meta['rank']} is missing", op="finalize",
                                      uri=uri) from exc
            if size != int(meta["size"]):
                raise CheckpointError(f"shard of rank {meta['rank']} is {size} bytes, its meta says "
                                      f"{meta['size']}", op="finalize", uri=uri)
        return store._commit(step, epoch, framework, _ts(), self.world_size, shard_metas, user_meta)


class CheckpointReader:
    """Reads manifests and verified shards of a :class:`CheckpointStore`."""

    def __init__(self, store: CheckpointStore) -> None:
        self._store = store

    def load_latest_manifest(self) -> dict[str, Any] | None:
        return self._store.latest_manifest()

    def load_manifest(self, step: int) -> dict[str, Any] | None:
        """The newest complete manifest of ``step``, or ``None``."""
        for mstep, _stamp, key in reversed(self._store._manifest_names()):
            if mstep == step:
                manifest = self._store._read_manifest(key)
                if manifest is not None:
                    return manifest
        return None

    def read_shard_by_rank(self, manifest: Mapping[str, Any], rank: int,
                           validate: bool = True) -> BytesView:
        """``rank``'s shard, checked against the manifest's size and CRC-32C, decompressed."""
        shard = next((s for s in manifest.get("shards", ()) if int(s["rank"]) == rank), None)
        if shard is None:
            raise CheckpointError(f"manifest has no shard of rank {rank}", op="read_shard",
                                  uri=self._store.uri + str(manifest.get("manifest_key", "")))
        key = str(shard["key"])
        uri = self._store.uri + key
        data = s3dlio.get(uri)
        if validate:
            if len(data) != int(shard["size"]):
                raise IntegrityError(f"shard of rank {rank} ({key}) is {len(data)} bytes, the manifest "
                                     f"says {shard['size']}", op="read_shard", uri=uri)
            expected = shard.get("checksum")
            if expected:  # the original wrote ``null``: nothing to check
                got = format_checksum(crc32c(data))
                if got != expected:
                    raise IntegrityError(f"shard of rank {rank} ({key}) has checksum {got}, the "
                                         f"manifest says {expected}", op="read_shard", uri=uri)
        if key.endswith(".zst"):
            import zstandard

            try:
                out = zstandard.ZstdDecompressor().decompressobj().decompress(data)
            except zstandard.ZstdError as exc:
                raise IntegrityError(f"shard of rank {rank} ({key}) is not valid zstd: {exc}",
                                     op="read_shard", uri=uri) from exc
            return BytesView.wrap(out)
        return data


# ---------------------------------------------------------------- functions
def save_checkpoint(uri: str, step: int, epoch: int, framework: str, data: object,
                    user_meta: Any = None) -> str:
    """``CheckpointStore(uri).save(...)``."""
    return CheckpointStore(uri).save(step, epoch, framework, data, user_meta)


def load_checkpoint(uri: str) -> BytesView | None:
    """``CheckpointStore(uri).load_latest()``."""
    return CheckpointStore(uri).load_latest()


def load_checkpoint_with_validation_view(uri: str, validate_integrity: bool = True) -> BytesView:
    """The latest single-rank checkpoint, verified; ``CheckpointError`` when there is none."""
    store = CheckpointStore(uri)
    manifest = store.latest_manifest()
    if manifest is None:
        raise CheckpointError("no complete checkpoint", op="load_checkpoint", uri=store.uri)
    if int(manifest["world_size"]) != 1:
        raise CheckpointError(f"the latest checkpoint has {manifest['world_size']} ranks",
                              op="load_checkpoint", uri=store.uri)
    return store.reader().read_shard_by_rank(manifest, 0, validate=validate_integrity)


def load_checkpoint_with_validation(uri: str, validate_integrity: bool = True) -> bytes:
    """Like :func:`load_checkpoint_with_validation_view`, as ``bytes``."""
    return bytes(load_checkpoint_with_validation_view(uri, validate_integrity))


def save_distributed_shard(uri: str, step: int, epoch: int, framework: str, data: object,
                           world_size: int, rank: int) -> dict[str, Any]:
    return CheckpointStore(uri).writer(world_size, rank).save_distributed_shard(step, epoch, framework, data)


def finalize_distributed_checkpoint(uri: str, step: int, epoch: int, framework: str,
                                    shard_metas: Sequence[Mapping[str, Any]], world_size: int,
                                    rank: int, user_meta: Any = None) -> str:
    return CheckpointStore(uri).writer(world_size, rank).finalize_distributed_checkpoint(
        step, epoch, framework, shard_metas, user_meta)


PyCheckpointStore = CheckpointStore
PyCheckpointInfo = CheckpointInfo
PyCheckpointWriter = CheckpointWriter
PyCheckpointReader = CheckpointReader
